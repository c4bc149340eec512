//! Releases on Solana: `transfer_checked` from the relayer's vault to the recipient's associated
//! token account (created idempotently when missing), with the memo
//! `atoll:v1:release=<transfer id>` and a compute-unit price. Preparing a release signs it and
//! returns the signature, the blockhash's `last_valid_block_height` and the raw transaction, so
//! the relayer persists them **before** [`SolanaChain::broadcast`]; resending the same signed
//! bytes can only land once (one signature). [`SolanaChain::release_statuses`] tells landed,
//! failed, or not found, and whether the blockhash has expired: only an expired, never-landed
//! release is safe to sign again.
//!
//! **The on-chain guard.** Every release also claims an account whose address is derived from
//! the relayer's key and the transfer id ([`claim_address`]): the system program's
//! `allocate_with_seed` gives it one byte of data, which it accepts only for an account without
//! data. A second release of the same id therefore fails on chain, atomically and whatever the
//! database says (a restored backup, an empty database, a lagging endpoint's verdict). Only the
//! relayer's key can allocate at that address; lamports sent there first by anyone do not stop
//! it (allocation needs no empty balance, unlike `create_account`). The claim stays funded at
//! the rent-exempt minimum for one byte of data ([`CLAIM_SPACE`]): 897,840 lamports on
//! today's clusters, the price of the guard per release. Wormhole's per-message claim accounts
//! are the same idea.

use atoll_core::TransferId;
use solana_client::rpc_config::RpcSendTransactionConfig;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::hash::Hash;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signature};
use solana_sdk::signer::Signer;
use solana_sdk::transaction::Transaction;

use solana_transaction_status_client_types::TransactionStatus;

use super::SolanaChain;
use super::deposits::MEMO_PROGRAM_V3;
use crate::AdapterError;

/// Signatures per `getSignatureStatuses` request: the node refuses more.
const STATUSES_PER_REQUEST: usize = 256;

/// Data bytes of a claim account: any non-zero size makes a second allocation fail.
pub const CLAIM_SPACE: u64 = 1;

/// Lamports every Solana transaction pays per signature. Beside it a release pays its priority
/// fee and the rent of its claim account (1 byte, rent-exempt: 897,840 lamports on today's
/// clusters, asked of the cluster), which stays as the on-chain guard against a second payout
/// and is never recovered.
pub const SIGNATURE_LAMPORTS: u128 = 5_000;

/// Compute units a release pays its priority fee on. It sets no limit, so the runtime's default
/// applies: 200,000 per non-builtin instruction (the recipient's token account created if
/// missing, `transfer_checked`, the memo) and 3,000 per builtin (the compute-unit price, the
/// claim's two system instructions).
pub const RELEASE_COMPUTE_UNITS: u32 = 3 * 200_000 + 3 * 3_000;

/// The seed of a transfer's claim account: the id's first 16 bytes in hex, 32 characters (the
/// system program's longest seed). 128 bits: ids are hashes the depositor cannot choose.
pub fn claim_seed(id: &TransferId) -> String {
    id.0[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The address of `id`'s claim account under the relayer's key `relayer`.
pub fn claim_address(relayer: &Pubkey, id: &TransferId) -> Pubkey {
    // A 32-character seed and the system program's id (not a program-derived-address marker)
    // are the only ways `create_with_seed` fails; neither can happen here.
    Pubkey::create_with_seed(
        relayer,
        &claim_seed(id),
        &solana_system_interface::program::ID,
    )
    .unwrap_or_default()
}

/// What a cluster looked like at one moment, from one endpoint: reads that must agree (is this
/// blockhash expired, did its release land) are taken at this slot or later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterView {
    pub slot: u64,
    pub block_height: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRequest {
    pub transfer_id: TransferId,
    pub mint: Pubkey,
    pub decimals: u8,
    /// The mint's token program (Token or Token-2022).
    pub token_program: Pubkey,
    /// The relayer's vault token account (the signer's associated account for `mint`).
    pub vault: Pubkey,
    /// The wallet receiving: its associated token account gets the tokens.
    pub recipient: Pubkey,
    pub amount: u64,
    pub priority_fee_micro_lamports: u64,
    /// Lamports the claim account is funded with (rent-exempt for [`CLAIM_SPACE`]).
    pub claim_lamports: u64,
}

/// A signed release, ready to persist and then broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRelease {
    pub signature: Signature,
    pub blockhash: Hash,
    /// After this block height the transaction can no longer land.
    pub last_valid_block_height: u64,
    /// The transaction as sent (bincode), so a restart can resend the very same bytes.
    pub transaction: Transaction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseStatus {
    /// Seen in `slot` but not yet confirmed (can still be rolled back): not landed, and not
    /// safe to sign again either.
    Processed { slot: u64 },
    /// Executed successfully in `slot`, confirmed or finalized.
    Landed { slot: u64 },
    /// Included but failed (fees paid, no transfer): the reason as the node gives it.
    Failed { slot: u64, reason: String },
    /// Not seen. `expired`: the blockhash is past its last valid block height, so this
    /// signature can never land and the release may be signed again.
    NotFound { expired: bool },
}

impl SolanaChain {
    /// Builds and signs a release with a fresh blockhash. Nothing is sent.
    pub async fn prepare_release(
        &self,
        relayer: &Keypair,
        req: &ReleaseRequest,
    ) -> Result<SignedRelease, AdapterError> {
        let (blockhash, last_valid_block_height) = self
            .call("getLatestBlockhash", |c| async move {
                c.rpc()
                    .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
                    .await
            })
            .await?;
        let recipient_account =
            spl_associated_token_account_interface::address::get_associated_token_address_with_program_id(
                &req.recipient,
                &req.mint,
                &req.token_program,
            );
        let transfer = spl_token_interface::instruction::transfer_checked(
            &req.token_program,
            &req.vault,
            &req.mint,
            &recipient_account,
            &relayer.pubkey(),
            &[],
            req.amount,
            req.decimals,
        )
        .map_err(|e| AdapterError::RpcRejected {
            chain: self.name.clone(),
            method: "transfer_checked",
            endpoint: String::new(),
            reason: e.to_string(),
        })?;
        let memo = format!("atoll:v1:release={}", req.transfer_id);
        let claim = claim_address(&relayer.pubkey(), &req.transfer_id);
        let instructions = [
            solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_price(
                req.priority_fee_micro_lamports,
            ),
            // The guard first: a second release of this id stops here, before any token moves.
            solana_system_interface::instruction::transfer(
                &relayer.pubkey(),
                &claim,
                req.claim_lamports,
            ),
            solana_system_interface::instruction::allocate_with_seed(
                &claim,
                &relayer.pubkey(),
                &claim_seed(&req.transfer_id),
                CLAIM_SPACE,
                &solana_system_interface::program::ID,
            ),
            spl_associated_token_account_interface::instruction::create_associated_token_account_idempotent(
                &relayer.pubkey(),
                &req.recipient,
                &req.mint,
                &req.token_program,
            ),
            transfer,
            spl_memo_interface::instruction::build_memo(
                &MEMO_PROGRAM_V3,
                memo.as_bytes(),
                &[&relayer.pubkey()],
            ),
        ];
        let transaction = Transaction::new_signed_with_payer(
            &instructions,
            Some(&relayer.pubkey()),
            &[relayer],
            blockhash,
        );
        Ok(SignedRelease {
            signature: transaction.signatures.first().copied().unwrap_or_default(),
            blockhash,
            last_valid_block_height,
            transaction,
        })
    }

    /// Lamports a claim account needs to be rent-exempt, as the cluster says.
    pub async fn claim_lamports(&self) -> Result<u64, AdapterError> {
        self.call("getMinimumBalanceForRentExemption", |c| async move {
            c.rpc()
                .get_minimum_balance_for_rent_exemption(CLAIM_SPACE as usize)
                .await
        })
        .await
    }

    /// The slot and block height at `commitment`, both from one answer of one endpoint.
    pub async fn view(&self, commitment: CommitmentConfig) -> Result<ClusterView, AdapterError> {
        let info = self
            .call("getEpochInfo", |c| async move {
                c.rpc().get_epoch_info_with_commitment(commitment).await
            })
            .await?;
        Ok(ClusterView {
            slot: info.absolute_slot,
            block_height: info.block_height,
        })
    }

    /// Whether each transfer's claim account exists (allocated, so released), in order, read
    /// at `commitment` and at slot `at_least` or later: an endpoint behind that slot refuses
    /// the read, and another answers. A balance without data at the address (lamports anyone
    /// sent there) is not a claim.
    pub async fn claimed(
        &self,
        relayer: &Pubkey,
        ids: &[TransferId],
        commitment: CommitmentConfig,
        at_least: Option<u64>,
    ) -> Result<Vec<bool>, AdapterError> {
        let keys: Vec<Pubkey> = ids.iter().map(|id| claim_address(relayer, id)).collect();
        let (_, accounts) = self.accounts_from_slot(&keys, commitment, at_least).await?;
        Ok(accounts
            .iter()
            .map(|a| {
                a.as_ref().is_some_and(|a| {
                    !a.data.is_empty() && a.owner == solana_system_interface::program::ID
                })
            })
            .collect())
    }

    /// Runs a prepared release without sending it (`simulateTransaction`, signatures checked):
    /// `Some(reason)` when it would fail (vault short, wrong owner, bad account), with the
    /// program's last log lines.
    pub async fn simulate_release(
        &self,
        release: &SignedRelease,
    ) -> Result<Option<String>, AdapterError> {
        let result = self
            .call("simulateTransaction", |c| {
                let tx = release.transaction.clone();
                async move {
                    c.rpc()
                        .simulate_transaction_with_config(
                            &tx,
                            solana_client::rpc_config::RpcSimulateTransactionConfig {
                                sig_verify: true,
                                commitment: Some(CommitmentConfig::confirmed()),
                                ..Default::default()
                            },
                        )
                        .await
                }
            })
            .await?;
        Ok(result.value.err.map(|e| {
            let logs = result
                .value
                .logs
                .unwrap_or_default()
                .into_iter()
                .rev()
                .take(3)
                .collect::<Vec<_>>();
            format!("{e} ({})", logs.join(" | "))
        }))
    }

    /// Sends a prepared release (again, after a restart: the same bytes land at most once).
    pub async fn broadcast(&self, release: &SignedRelease) -> Result<Signature, AdapterError> {
        self.call("sendTransaction", |c| {
            let tx = release.transaction.clone();
            async move {
                c.rpc()
                    .send_transaction_with_config(
                        &tx,
                        RpcSendTransactionConfig {
                            preflight_commitment: Some(
                                solana_commitment_config::CommitmentLevel::Confirmed,
                            ),
                            ..RpcSendTransactionConfig::default()
                        },
                    )
                    .await
            }
        })
        .await
    }

    /// What became of a release signature.
    pub async fn release_status(
        &self,
        signature: &Signature,
        last_valid_block_height: u64,
    ) -> Result<ReleaseStatus, AdapterError> {
        let mut statuses = self
            .release_statuses(&[(*signature, last_valid_block_height)])
            .await?;
        statuses.pop().ok_or_else(|| AdapterError::RpcRejected {
            chain: self.name.clone(),
            method: "getSignatureStatuses",
            endpoint: String::new(),
            reason: "no status returned for the one signature asked".into(),
        })
    }

    /// What became of each release signature (with its blockhash's last valid block height),
    /// in order: one `getSignatureStatuses` per 256 signatures (the node's limit), and for
    /// those not seen one block height and one more status request, as in
    /// [`SolanaChain::release_status`]. An executor following hundreds of releases at once
    /// asks the node a few times a pass, not hundreds.
    pub async fn release_statuses(
        &self,
        releases: &[(Signature, u64)],
    ) -> Result<Vec<ReleaseStatus>, AdapterError> {
        let signatures: Vec<Signature> = releases.iter().map(|(s, _)| *s).collect();
        let mut out = Vec::with_capacity(releases.len());
        let mut unseen = Vec::new();
        for (i, status) in self
            .signature_statuses(&signatures)
            .await?
            .iter()
            .enumerate()
        {
            match status {
                Some(s) => out.push(status_of(s)),
                None => {
                    unseen.push(i);
                    out.push(ReleaseStatus::NotFound { expired: false });
                }
            }
        }
        if !unseen.is_empty() {
            // Not seen: asked after the height check, a landing in between would be missed,
            // so the height first and those signatures once more.
            let height = self
                .call("getBlockHeight", |c| async move {
                    c.rpc()
                        .get_block_height_with_commitment(CommitmentConfig::confirmed())
                        .await
                })
                .await?;
            let again_sigs: Vec<Signature> = unseen.iter().map(|i| releases[*i].0).collect();
            let again = self.signature_statuses(&again_sigs).await?;
            for (i, status) in unseen.into_iter().zip(again) {
                out[i] = match status {
                    Some(s) => status_of(&s),
                    None => ReleaseStatus::NotFound {
                        expired: height > releases[i].1,
                    },
                };
            }
        }
        Ok(out)
    }

    /// The node's status of each signature (with history), in order; `None` for one it has
    /// not seen. One request per 256 signatures.
    pub async fn signature_statuses(
        &self,
        signatures: &[Signature],
    ) -> Result<Vec<Option<TransactionStatus>>, AdapterError> {
        let mut out = Vec::with_capacity(signatures.len());
        for chunk in signatures.chunks(STATUSES_PER_REQUEST) {
            let sigs = chunk.to_vec();
            let statuses = self
                .call("getSignatureStatuses", |c| {
                    let sigs = sigs.clone();
                    async move { c.rpc().get_signature_statuses_with_history(&sigs).await }
                })
                .await?;
            if statuses.value.len() != chunk.len() {
                return Err(AdapterError::RpcRejected {
                    chain: self.name.clone(),
                    method: "getSignatureStatuses",
                    endpoint: String::new(),
                    reason: format!(
                        "{} statuses for {} signatures",
                        statuses.value.len(),
                        chunk.len()
                    ),
                });
            }
            out.extend(statuses.value);
        }
        Ok(out)
    }
}

/// What a signature's status says of its release.
pub fn status_of(s: &TransactionStatus) -> ReleaseStatus {
    use solana_transaction_status_client_types::TransactionConfirmationStatus as Level;
    // No confirmation level and no count means rooted (old nodes report it that way).
    let confirmed = match &s.confirmation_status {
        Some(Level::Confirmed | Level::Finalized) => true,
        Some(Level::Processed) => false,
        None => s.confirmations.is_none(),
    };
    match (&s.err, confirmed) {
        (_, false) => ReleaseStatus::Processed { slot: s.slot },
        (None, true) => ReleaseStatus::Landed { slot: s.slot },
        (Some(e), true) => ReleaseStatus::Failed {
            slot: s.slot,
            reason: e.to_string(),
        },
    }
}

/// The associated token account of `owner` for `mint` under the token `program` (Token or
/// Token-2022).
pub fn associated_token_account_of(
    owner: &solana_sdk::pubkey::Pubkey,
    mint: &solana_sdk::pubkey::Pubkey,
    program: &solana_sdk::pubkey::Pubkey,
) -> solana_sdk::pubkey::Pubkey {
    spl_associated_token_account_interface::address::get_associated_token_address_with_program_id(
        owner, mint, program,
    )
}

/// The associated token account of `owner` for `mint` under the SPL Token program.
pub fn associated_token_account(
    owner: &solana_sdk::pubkey::Pubkey,
    mint: &solana_sdk::pubkey::Pubkey,
) -> solana_sdk::pubkey::Pubkey {
    spl_associated_token_account_interface::address::get_associated_token_address_with_program_id(
        owner,
        mint,
        &spl_token_interface::ID,
    )
}
