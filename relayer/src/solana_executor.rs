//! Releases on Solana, exactly once; the guard on chain is each transfer's claim account. The
//! overview (why the claim holds, its cost, the tests) is docs/relayer.md, "The Solana
//! executor". One [`SolanaExecutor::step`], for transfers bound for the cluster:
//! - **in flight first** (also the restart reconciliation: the state is all in the store).
//!   Claims and signature statuses are asked of the cluster in batches, not per transfer.
//!   `signed` → the stored bytes are sent, `broadcast`; `broadcast` → [`broadcast_verdict`]:
//!   claim exists or signature landed → `included`; not found, not expired → the same bytes
//!   again; failed on chain, or expired unlanded → signed again (`broadcast → signed`) while
//!   the transfer has fewer than [`MAX_ATTEMPTS`] attempts (`MAX_EXPIRED_ATTEMPTS` for an
//!   expiry), else `stuck`; `included` → `confirmed` once its claim (or signature) is
//!   finalized.
//! - **then new releases**: a queued transfer whose claim exists is `failed` (released by a
//!   transaction this database does not know); the rest, oldest first, while the vault holds
//!   enough (else `awaiting_liquidity`), are signed, simulated, persisted with their signature
//!   and blockhash expiry, and only then sent. A paused cluster gets none.

use std::collections::HashMap;

use atoll_adapters::solana::SolanaChain;
use atoll_adapters::solana::accounts::decode_token_account;
use atoll_adapters::solana::releases::{ReleaseRequest, ReleaseStatus, SignedRelease, status_of};
use atoll_core::reason::RetryCheck;
use atoll_core::settings::Settings;
use atoll_core::{Address, Reason, TransferId, TransferStatus, U256};
use atoll_store::Store;
use atoll_store::transfers::{Attempt, QueuedRelease, SignedAttempt};
use base64::Engine;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signature};
use solana_sdk::signer::Signer;
use solana_sdk::transaction::Transaction;

use crate::{MAX_ATTEMPTS, RelayerError};

/// Releases signed for one transfer whose earlier ones expired unlanded, at most: a congested
/// cluster drops transactions, so more of those are expected than failures.
const MAX_EXPIRED_ATTEMPTS: u64 = 8;

pub use crate::ExecutorReport;

/// A vault token account as the executor needs it.
#[derive(Debug, Clone, Copy)]
pub struct Vault {
    pub account: Pubkey,
    pub mint: Pubkey,
    pub decimals: u8,
    pub token_program: Pubkey,
}

pub struct SolanaExecutor<'a> {
    store: &'a Store,
    chain: &'a SolanaChain,
    chain_id: u64,
    relayer: Keypair,
    priority_fee: u64,
    max_fee_multiple: f64,
    /// Vault and decimals per mint, from the config.
    vaults: HashMap<Pubkey, (Pubkey, u8)>,
    claim_lamports: tokio::sync::OnceCell<u64>,
}

fn rejected(what: impl std::fmt::Display, reason: impl Into<String>) -> RelayerError {
    RelayerError::Config(format!("{what}: {}", reason.into()))
}

impl<'a> SolanaExecutor<'a> {
    pub fn new(
        settings: &'a Settings,
        store: &'a Store,
        chain: &'a SolanaChain,
        chain_name: &str,
    ) -> Result<SolanaExecutor<'a>, RelayerError> {
        let c = settings
            .chain(chain_name)
            .ok_or_else(|| rejected(chain_name, "no such chain in the config"))?;
        let key = c
            .relayer_key
            .as_ref()
            .ok_or_else(|| rejected(chain_name, "relayer_key is not set"))?;
        let relayer = atoll_adapters::secrets::solana_keypair(key)?;
        let mut vaults = HashMap::new();
        for t in &settings.tokens {
            for d in t.deployments.iter().filter(|d| d.chain == chain_name) {
                if let (Address::Solana(mint), Some(Address::Solana(vault))) =
                    (&d.address, &d.vault)
                {
                    vaults.insert(
                        Pubkey::new_from_array(*mint),
                        (Pubkey::new_from_array(*vault), d.decimals),
                    );
                }
            }
        }
        Ok(SolanaExecutor {
            store,
            chain,
            chain_id: c.chain_id.0,
            relayer,
            priority_fee: c.priority_fee_micro_lamports,
            max_fee_multiple: settings.relayer.max_fee_multiple,
            vaults,
            claim_lamports: tokio::sync::OnceCell::new(),
        })
    }

    /// One pass: follow what is in flight, then sign and send what is queued.
    pub async fn step(&self) -> Result<ExecutorReport, RelayerError> {
        let mut report = ExecutorReport::default();
        self.follow_in_flight(&mut report).await?;
        let paused = self
            .store
            .chain_states()
            .await?
            .iter()
            .any(|c| u64::try_from(c.chain_id).ok() == Some(self.chain_id) && c.paused);
        if !paused {
            self.release_queued(&mut report).await?;
        }
        Ok(report)
    }

    async fn follow_in_flight(&self, report: &mut ExecutorReport) -> Result<(), RelayerError> {
        use TransferStatus::*;
        let in_flight = self
            .store
            .releases_to(self.chain_id, &[Signed, Broadcast, Included])
            .await?;
        if in_flight.is_empty() {
            return Ok(());
        }
        // The node is asked about every in-flight release a few times a pass (one request per
        // 100 claims or 256 signatures), not once per transfer: hundreds wait for finality at
        // once, and per-transfer requests took a core's worth of the relayer's and the
        // validator's time beside busy EVM lanes.
        let ids: Vec<TransferId> = in_flight.iter().map(|t| t.id).collect();
        let mut attempts = self.store.latest_attempts(&ids).await?;
        let mut followed = Vec::with_capacity(in_flight.len());
        for t in in_flight {
            let Some(attempt) = attempts.remove(&t.id) else {
                // Signed without an attempt cannot happen (written together); say so loudly.
                tracing::error!(transfer = %t.id, status = %t.status, "in flight without an attempt");
                continue;
            };
            // The signature's text is Solana's own (base58): the store keeps it as written.
            let signature: Signature = attempt
                .tx_hash
                .parse()
                .map_err(|_| rejected(t.id, format!("stored signature {:?}", attempt.tx_hash)))?;
            followed.push((t, attempt, signature));
        }
        let mut broadcast = Vec::new();
        let mut included = Vec::new();
        for (t, attempt, signature) in followed {
            match t.status {
                Signed => {
                    self.send_signed(&t, &attempt.raw_tx, signature, report)
                        .await?
                }
                Broadcast => broadcast.push((t, attempt, signature)),
                _ => included.push((t, signature)),
            }
        }
        self.follow_broadcast(broadcast, report).await?;
        self.follow_included(included, report).await
    }

    /// `signed`: persisted before sending, and the process may have died in between. A node
    /// refusing it (blockhash gone) is no proof it never landed: the next pass decides.
    async fn send_signed(
        &self,
        t: &QueuedRelease,
        raw_tx: &str,
        signature: Signature,
        report: &mut ExecutorReport,
    ) -> Result<(), RelayerError> {
        let tx = signature.to_string();
        let note = match self.send_stored(raw_tx, t.id).await {
            Ok(()) => Reason::Sent { tx },
            Err(RelayerError::Adapter(e @ atoll_adapters::AdapterError::RpcRejected { .. })) => {
                Reason::SendRefused {
                    tx,
                    error: e.to_string(),
                }
            }
            Err(e) => return Err(e),
        };
        self.store
            .transition(
                t.id,
                TransferStatus::Signed,
                TransferStatus::Broadcast,
                Some(&note),
            )
            .await?;
        report.resent.push(t.id.to_string());
        Ok(())
    }

    /// `broadcast`: one view of the cluster (slot and block height from one answer), then the
    /// claim accounts read at that slot or later, then the signatures' statuses; the verdict is
    /// [`broadcast_verdict`]'s.
    async fn follow_broadcast(
        &self,
        broadcast: Vec<(QueuedRelease, Attempt, Signature)>,
        report: &mut ExecutorReport,
    ) -> Result<(), RelayerError> {
        if broadcast.is_empty() {
            return Ok(());
        }
        let view = self.chain.view(CommitmentConfig::confirmed()).await?;
        let claimed = self
            .claims(
                broadcast.iter().map(|(t, _, _)| t),
                CommitmentConfig::confirmed(),
                Some(view.slot),
            )
            .await?;
        let signatures: Vec<Signature> = broadcast.iter().map(|(_, _, s)| *s).collect();
        let statuses = self.chain.signature_statuses(&signatures).await?;
        for (((t, attempt, signature), claimed), status) in
            broadcast.into_iter().zip(claimed).zip(statuses)
        {
            let last_valid = attempt.last_valid_block_height.unwrap_or_default();
            let status = status.as_ref().map(status_of);
            match broadcast_verdict(claimed, status, last_valid, view.block_height) {
                BroadcastVerdict::Released(why) => {
                    self.store
                        .transition(
                            t.id,
                            TransferStatus::Broadcast,
                            TransferStatus::Included,
                            Some(&why),
                        )
                        .await?;
                    report.included.push(t.id.to_string());
                }
                BroadcastVerdict::Wait => {}
                BroadcastVerdict::Resend => match self.send_stored(&attempt.raw_tx, t.id).await {
                    Ok(())
                    | Err(RelayerError::Adapter(atoll_adapters::AdapterError::RpcRejected {
                        ..
                    })) => {}
                    Err(e) => return Err(e),
                },
                BroadcastVerdict::FailedOnChain(reason) => {
                    // Executed but failed: nothing moved, and this signature is spent. Signed
                    // again a bounded number of times; then an operator looks.
                    let why = Reason::FailedOnChain {
                        tx: signature.to_string(),
                        reason,
                    };
                    let attempts = self.store.attempt_count(t.id).await?;
                    if attempts < MAX_ATTEMPTS {
                        tracing::warn!(transfer = %t.id, %why, "signing the release again");
                        let vault = self.vault_of(&t).await?;
                        self.sign_and_send(&t, vault, TransferStatus::Broadcast, report)
                            .await?;
                    } else {
                        self.stuck(t.id, attempts, why.clone()).await?;
                    }
                    report.failed.push((t.id.to_string(), why.to_string()));
                }
                BroadcastVerdict::Expired => {
                    // Provably never landing, and not released by any other signature (no
                    // claim): a new release may be signed, and the claim stops it on chain
                    // should this verdict ever be wrong. Expiries count too, more of them.
                    let attempts = self.store.attempt_count(t.id).await?;
                    if attempts < MAX_EXPIRED_ATTEMPTS {
                        let vault = self.vault_of(&t).await?;
                        self.sign_and_send(&t, vault, TransferStatus::Broadcast, report)
                            .await?;
                    } else {
                        let why = Reason::ExpiredUnlanded {
                            tx: signature.to_string(),
                        };
                        self.stuck(t.id, attempts, why.clone()).await?;
                        report.failed.push((t.id.to_string(), why.to_string()));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether each transfer's claim account exists (in order), read at `commitment` and at
    /// slot `at_least` or later.
    async fn claims<'t>(
        &self,
        transfers: impl Iterator<Item = &'t QueuedRelease>,
        commitment: CommitmentConfig,
        at_least: Option<u64>,
    ) -> Result<Vec<bool>, RelayerError> {
        let ids: Vec<TransferId> = transfers.map(|t| t.id).collect();
        Ok(self
            .chain
            .claimed(&self.relayer.pubkey(), &ids, commitment, at_least)
            .await?)
    }

    /// Attempts used up, none able to land: `stuck` until an operator retries it.
    async fn stuck(&self, id: TransferId, attempts: u64, last: Reason) -> Result<(), RelayerError> {
        let why = Reason::AttemptsUsedUp {
            attempts,
            id,
            last: Some(Box::new(last)),
            checks: RetryCheck::Claim,
        };
        tracing::error!(transfer = %id, "{why}");
        self.store
            .transition(
                id,
                TransferStatus::Broadcast,
                TransferStatus::Stuck,
                Some(&why),
            )
            .await?;
        Ok(())
    }

    /// `included` → `confirmed` once its claim account (or, for a release signed before claims
    /// existed, its signature) is finalized.
    async fn follow_included(
        &self,
        included: Vec<(QueuedRelease, Signature)>,
        report: &mut ExecutorReport,
    ) -> Result<(), RelayerError> {
        if included.is_empty() {
            return Ok(());
        }
        let claimed = self
            .claims(
                included.iter().map(|(t, _)| t),
                CommitmentConfig::finalized(),
                None,
            )
            .await?;
        let signatures: Vec<Signature> = included.iter().map(|(_, s)| *s).collect();
        let statuses = self.chain.signature_statuses(&signatures).await?;
        let mut finalized = Vec::new();
        for (((t, _), claimed), status) in included.into_iter().zip(claimed).zip(statuses) {
            let landed_final = status.is_some_and(|s| {
                s.err.is_none() && s.satisfies_commitment(CommitmentConfig::finalized())
            });
            if claimed || landed_final {
                finalized.push(t.id);
            }
        }
        self.store
            .transition_many(
                &finalized,
                TransferStatus::Included,
                TransferStatus::Confirmed,
                Some(&Reason::Finalized),
            )
            .await?;
        report
            .confirmed
            .extend(finalized.iter().map(TransferId::to_string));
        Ok(())
    }

    async fn release_queued(&self, report: &mut ExecutorReport) -> Result<(), RelayerError> {
        use TransferStatus::*;
        let queued = self
            .store
            .releases_to(self.chain_id, &[SourceFinal, AwaitingLiquidity])
            .await?;
        let queued = self.without_released(queued, report).await?;
        // What each vault holds now, minus what this pass commits.
        let mut left: HashMap<Pubkey, u64> = HashMap::new();
        for t in queued {
            let vault = self.vault_of(&t).await?;
            let amount = amount_out(&t)?;
            let holds = match left.get(&vault.account) {
                Some(v) => *v,
                None => self.balance(&vault).await?,
            };
            if holds < amount {
                if t.status == SourceFinal {
                    let why = Reason::VaultAccountShort {
                        account: vault.account.to_string(),
                        holds: U256::from(holds),
                        needs: U256::from(amount),
                    };
                    self.store
                        .transition(t.id, SourceFinal, AwaitingLiquidity, Some(&why))
                        .await?;
                    report.awaiting_liquidity.push(t.id.to_string());
                }
                left.insert(vault.account, holds);
                continue;
            }
            left.insert(vault.account, holds - amount);
            if t.status == AwaitingLiquidity {
                self.store
                    .transition(
                        t.id,
                        AwaitingLiquidity,
                        SourceFinal,
                        Some(&Reason::VaultToppedUp),
                    )
                    .await?;
            }
            self.sign_and_send(&t, vault, SourceFinal, report).await?;
        }
        Ok(())
    }

    /// Queued transfers whose claim account already exists were released by a transaction
    /// this database has no record of (an empty or restored one): they move to `failed` with
    /// that reason, as on EVM, and are never signed. The rest are returned.
    async fn without_released(
        &self,
        queued: Vec<QueuedRelease>,
        report: &mut ExecutorReport,
    ) -> Result<Vec<QueuedRelease>, RelayerError> {
        if queued.is_empty() {
            return Ok(queued);
        }
        let claimed = self
            .claims(queued.iter(), CommitmentConfig::confirmed(), None)
            .await?;
        let mut rest = Vec::with_capacity(queued.len());
        for (t, claimed) in queued.into_iter().zip(claimed) {
            if !claimed {
                rest.push(t);
                continue;
            }
            tracing::error!(transfer = %t.id, "{RELEASED_ELSEWHERE}");
            self.store
                .transition(
                    t.id,
                    t.status,
                    TransferStatus::Failed,
                    Some(&RELEASED_ELSEWHERE),
                )
                .await?;
            report
                .failed
                .push((t.id.to_string(), RELEASED_ELSEWHERE.to_string()));
        }
        Ok(rest)
    }

    /// Signs a release, persists it (attempt + `signed`), then sends it (`broadcast`).
    async fn sign_and_send(
        &self,
        t: &QueuedRelease,
        vault: Vault,
        from: TransferStatus,
        report: &mut ExecutorReport,
    ) -> Result<(), RelayerError> {
        // A release signed again (its blockhash expired unlanded, or it failed) offers a
        // higher priority fee: +10% over the last, at most `max_fee_multiple` × the configured
        // fee, so a congested cluster cannot run it away.
        let fee = if from == TransferStatus::Broadcast {
            let last = self
                .store
                .latest_attempt(t.id)
                .await?
                .and_then(|a| a.priority_fee)
                .and_then(|f| u64::try_from(f).ok())
                .unwrap_or(self.priority_fee);
            bumped_priority_fee(last, self.priority_fee, self.max_fee_multiple)
        } else {
            self.priority_fee
        };
        let signed = self.sign_with_fee(t, vault, fee).await?;
        if let Some(reason) = self.chain.simulate_release(&signed).await? {
            // Nothing persisted, nothing sent: the transfer stays where it is and is tried
            // again next step; the reason is reported.
            let why = format!("simulation refused the release: {reason}");
            tracing::warn!(transfer = %t.id, %why);
            report.failed.push((t.id.to_string(), why));
            return Ok(());
        }
        self.persist_with_fee(t, from, &signed, fee).await?;
        self.chain.broadcast(&signed).await?;
        self.store
            .transition(
                t.id,
                TransferStatus::Signed,
                TransferStatus::Broadcast,
                Some(&Reason::Sent {
                    tx: signed.signature.to_string(),
                }),
            )
            .await?;
        report.sent.push(t.id.to_string());
        Ok(())
    }

    /// Signs the release of `t` at the configured priority fee (nothing is sent).
    pub async fn sign(
        &self,
        t: &QueuedRelease,
        vault: Vault,
    ) -> Result<SignedRelease, RelayerError> {
        self.sign_with_fee(t, vault, self.priority_fee).await
    }

    async fn sign_with_fee(
        &self,
        t: &QueuedRelease,
        vault: Vault,
        priority_fee: u64,
    ) -> Result<SignedRelease, RelayerError> {
        let Address::Solana(recipient) = t.recipient else {
            return Err(rejected(
                t.id,
                format!("recipient {} is not a Solana address", t.recipient),
            ));
        };
        let request = ReleaseRequest {
            transfer_id: t.id,
            mint: vault.mint,
            decimals: vault.decimals,
            token_program: vault.token_program,
            vault: vault.account,
            recipient: Pubkey::new_from_array(recipient),
            amount: amount_out(t)?,
            priority_fee_micro_lamports: priority_fee,
            claim_lamports: self.claim_lamports().await?,
        };
        Ok(self.chain.prepare_release(&self.relayer, &request).await?)
    }

    /// Persists a signed release (at the configured priority fee) before anything is sent.
    pub async fn persist(
        &self,
        t: &QueuedRelease,
        from: TransferStatus,
        signed: &SignedRelease,
    ) -> Result<(), RelayerError> {
        self.persist_with_fee(t, from, signed, self.priority_fee)
            .await
    }

    async fn persist_with_fee(
        &self,
        t: &QueuedRelease,
        from: TransferStatus,
        signed: &SignedRelease,
        priority_fee: u64,
    ) -> Result<(), RelayerError> {
        let raw = bincode::serialize(&signed.transaction)
            .map_err(|e| rejected(t.id, format!("serialising the release: {e}")))?;
        self.store
            .record_signed(
                t.id,
                from,
                &SignedAttempt {
                    chain_id: self.chain_id,
                    nonce: None,
                    blockhash: Some(signed.blockhash.to_string()),
                    last_valid_block_height: Some(signed.last_valid_block_height),
                    tx_hash: signed.signature.to_string(),
                    raw_tx: base64::engine::general_purpose::STANDARD.encode(raw),
                    max_fee_per_gas: None,
                    priority_fee: Some(u128::from(priority_fee)),
                },
            )
            .await?;
        Ok(())
    }

    /// Sends a stored release again, byte for byte. Its bytes are Solana's own encoding
    /// (base64 of bincode), which the store keeps as written.
    async fn send_stored(&self, raw_tx: &str, id: TransferId) -> Result<(), RelayerError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw_tx)
            .map_err(|e| rejected(id, format!("stored release: {e}")))?;
        let transaction: Transaction = bincode::deserialize(&bytes)
            .map_err(|e| rejected(id, format!("stored release: {e}")))?;
        let release = SignedRelease {
            signature: transaction.signatures.first().copied().unwrap_or_default(),
            blockhash: transaction.message.recent_blockhash,
            last_valid_block_height: 0,
            transaction,
        };
        match self.chain.broadcast(&release).await {
            Ok(_) => Ok(()),
            // Already processed: the status check decides what it became.
            Err(atoll_adapters::AdapterError::RpcRejected { reason, .. })
                if reason.contains("already been processed") =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The claim account's rent, asked of the cluster once.
    async fn claim_lamports(&self) -> Result<u64, RelayerError> {
        Ok(*self
            .claim_lamports
            .get_or_try_init(|| self.chain.claim_lamports())
            .await?)
    }

    /// The vault holding `t`'s destination token, with its token program.
    pub async fn vault_of(&self, t: &QueuedRelease) -> Result<Vault, RelayerError> {
        let id = t.id;
        let mint = match t.dest_token {
            Some(Address::Solana(mint)) => Pubkey::new_from_array(mint),
            Some(other) => {
                return Err(rejected(
                    id,
                    format!("destination token {other} is not a mint"),
                ));
            }
            None => {
                return Err(rejected(
                    id,
                    "no destination token (not approved by the gate)",
                ));
            }
        };
        let (account, decimals) = *self
            .vaults
            .get(&mint)
            .ok_or_else(|| rejected(id, format!("no vault configured for mint {mint}")))?;
        let found = self
            .chain
            .accounts(&[account], CommitmentConfig::confirmed())
            .await?
            .pop()
            .flatten()
            .ok_or_else(|| rejected(id, format!("vault account {account} does not exist")))?;
        Ok(Vault {
            account,
            mint,
            decimals,
            token_program: found.owner,
        })
    }

    async fn balance(&self, vault: &Vault) -> Result<u64, RelayerError> {
        let found = self
            .chain
            .accounts(&[vault.account], CommitmentConfig::confirmed())
            .await?
            .pop()
            .flatten()
            .ok_or_else(|| rejected("vault", format!("{} does not exist", vault.account)))?;
        let account = decode_token_account(&vault.account, &found.owner, &found.data)
            .map_err(|e| rejected("vault", e.to_string()))?;
        Ok(account.amount)
    }
}

/// The priority fee of a release signed again: at least 10% (and 1 µlamport) over the last,
/// at least the configured fee, never over `max_multiple` × the configured fee.
fn bumped_priority_fee(last: u64, configured: u64, max_multiple: f64) -> u64 {
    let ceiling = (configured as f64 * max_multiple) as u64;
    let bumped = last
        .saturating_mul(110)
        .div_ceil(100)
        .max(last.saturating_add(1))
        .max(configured);
    bumped.min(ceiling.max(configured))
}

const RELEASED_ELSEWHERE: Reason = Reason::AlreadyReleasedOnChain {
    claim_account: true,
};

/// What to do with a release in `broadcast`: the Solana names of what that one stored status
/// covers (`TransferStatus::Broadcast`). `Wait` and `Resend` are in flight; `FailedOnChain`
/// and `Expired` are to sign again (`broadcast → signed`, or `stuck` once attempts are used up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BroadcastVerdict {
    /// Released on chain: move to `included`, with why.
    Released(Reason),
    /// Seen, not yet confirmed: neither landed nor safe to sign again.
    Wait,
    /// Not seen, its blockhash still valid: send the same bytes again.
    Resend,
    /// Executed and failed (fees paid, nothing moved), with the node's reason.
    FailedOnChain(String),
    /// Not seen, no claim, and its blockhash expired: it can never land; sign again.
    Expired,
}

/// The verdict on one release in `broadcast`. `claimed`: its claim account exists, read at the
/// view's slot or later; `status`: its signature's status (`None`: not seen);
/// `last_valid`: its blockhash's last valid block height; `height`: the view's block height.
/// The claim decides first: a release can land under no other signature than the one stored,
/// but a claim is proof whatever signature made it. Expiry is judged from the view alone, so a
/// lagging endpoint's "not seen" beside a current endpoint's height cannot make it.
pub fn broadcast_verdict(
    claimed: bool,
    status: Option<ReleaseStatus>,
    last_valid: u64,
    height: u64,
) -> BroadcastVerdict {
    match (claimed, status) {
        (true, _) => BroadcastVerdict::Released(Reason::ClaimExists),
        // A release signed before claims existed has only its signature to show.
        (false, Some(ReleaseStatus::Landed { slot })) => {
            BroadcastVerdict::Released(Reason::LandedInSlot { slot })
        }
        (false, Some(ReleaseStatus::Failed { reason, .. })) => {
            BroadcastVerdict::FailedOnChain(reason)
        }
        (false, Some(ReleaseStatus::Processed { .. })) => BroadcastVerdict::Wait,
        (false, Some(ReleaseStatus::NotFound { .. }) | None) if height > last_valid => {
            BroadcastVerdict::Expired
        }
        (false, Some(ReleaseStatus::NotFound { .. }) | None) => BroadcastVerdict::Resend,
    }
}

/// What `t` pays out, in the mint's units: a token account holds a u64 (intake refuses more).
fn amount_out(t: &QueuedRelease) -> Result<u64, RelayerError> {
    let amount = t
        .amount_out
        .ok_or_else(|| rejected(t.id, "no amount out (not approved by the gate)"))?;
    u64::try_from(amount).map_err(|_| rejected(t.id, format!("amount out {amount} exceeds u64")))
}

#[cfg(test)]
mod tests {
    use super::{BroadcastVerdict, ReleaseStatus, broadcast_verdict, bumped_priority_fee};

    #[test]
    fn a_claim_is_proof_of_release_whatever_the_signature_says() {
        for status in [
            None,
            Some(ReleaseStatus::NotFound { expired: true }),
            Some(ReleaseStatus::Failed {
                slot: 9,
                reason: "x".into(),
            }),
        ] {
            assert!(matches!(
                broadcast_verdict(true, status, 100, 500),
                BroadcastVerdict::Released(_)
            ));
        }
    }

    #[test]
    fn expiry_is_judged_from_the_view_alone() {
        // Not seen, height past the blockhash's last valid height: sign again.
        assert_eq!(
            broadcast_verdict(false, None, 100, 101),
            BroadcastVerdict::Expired
        );
        // Not seen at the last valid height itself: it may still land.
        assert_eq!(
            broadcast_verdict(false, None, 100, 100),
            BroadcastVerdict::Resend
        );
        // An endpoint's own "expired" means nothing unless the view agrees.
        assert_eq!(
            broadcast_verdict(
                false,
                Some(ReleaseStatus::NotFound { expired: true }),
                100,
                90
            ),
            BroadcastVerdict::Resend
        );
        assert_eq!(
            broadcast_verdict(false, Some(ReleaseStatus::Processed { slot: 7 }), 100, 900),
            BroadcastVerdict::Wait
        );
        assert_eq!(
            broadcast_verdict(
                false,
                Some(ReleaseStatus::Failed {
                    slot: 7,
                    reason: "custom program error: 0x1".into()
                }),
                100,
                50
            ),
            BroadcastVerdict::FailedOnChain("custom program error: 0x1".into())
        );
    }

    #[test]
    fn priority_fee_bumps_are_bounded() {
        assert_eq!(bumped_priority_fee(1_000, 1_000, 3.0), 1_100);
        assert_eq!(bumped_priority_fee(2_900, 1_000, 3.0), 3_000);
        assert_eq!(bumped_priority_fee(3_000, 1_000, 3.0), 3_000);
        assert_eq!(bumped_priority_fee(0, 0, 3.0), 0);
    }
}
