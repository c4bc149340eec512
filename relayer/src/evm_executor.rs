//! Releases on one EVM chain, exactly once, many at a time. One [`EvmExecutor::step`]:
//!
//! 1. **Follows every release transaction still pending** (also the whole of restart
//!    reconciliation: everything is in the store), nonce by nonce, against the account's mined
//!    nonce on chain:
//!    - nonce already used: the receipt of one of our transactions at that nonce settles its
//!      transfers from the vault's logs (`TransferReleased` → `included`, `ReleaseSkipped` →
//!      `included`, it was released before, `ReleaseFailed` → `awaiting_liquidity`), the other
//!      transactions at the nonce are `replaced`. When none of ours holds the nonce, another
//!      transaction took it: ours can never be mined, and its transfers are signed again at a
//!      new nonce unless `processed(id)` says they were released anyway.
//!    - nonce still open: bytes the node does not know (dropped, or the process died between
//!      persisting and sending) are sent again, byte for byte; a transaction older than
//!      `replace_after` is replaced at its nonce with fees bumped by at least 10% and at most
//!      `max_fee_multiple` × the current estimate; a nonce gap below our lowest pending
//!      transaction is filled with a no-op so the rest can be mined.
//! 2. **Confirms**: a mined transaction whose block is final (re-read: a receipt gone means it
//!    was reorganised out, and its transfers wait on the same transaction again) confirms its
//!    transfers.
//! 3. **Releases what is queued** while fewer than `max_in_flight` transactions are pending:
//!    `source_final` (and `awaiting_liquidity`) transfers the vault can pay, in `releaseBatch`
//!    transactions of at most `batch_max_releases` entries and `batch_max_gas`, each simulated
//!    with `eth_call` first, on consecutive nonces. The gas limit comes from `eth_estimateGas`
//!    on the first batch (per release, plus 20%), again after any revert: the node runs each
//!    later batch once before it is sent, not twice. A transaction and its transfers' move to
//!    `signed` are persisted before it is sent.
//!
//! A paused chain signs nothing new (pending transactions are still followed). In dry-run mode
//! releases are simulated and signed but neither persisted nor sent.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address as EvmAddress, B256, Bytes, U256};
use alloy::signers::local::PrivateKeySigner;
use atoll_adapters::evm::EvmChain;
use atoll_adapters::evm::releases::{
    EvmRelease, GasFees, ReleaseReceipt, SendOutcome, SignedReleaseTx,
};
use atoll_core::settings::{FeeModel, RelayerSettings, Settings};
use atoll_core::{Address, TransferStatus};
use atoll_store::Store;
use atoll_store::entities::{release_txs, transfers};
use atoll_store::release_txs::{NewReleaseTx, tx_status};

use crate::{ExecutorReport, RelayerError};

/// Transactions signed for one transfer whose earlier ones reverted, at most.
const MAX_ATTEMPTS: u64 = 3;
/// Nodes refuse a replacement paying less than 10% more.
const MIN_BUMP_PCT: u128 = 10;
/// Gas estimates are raised by this share (percent) for the limit: state may change between
/// estimate and inclusion.
const GAS_MARGIN_PCT: u64 = 20;

fn rejected(what: &str, reason: impl Into<String>) -> RelayerError {
    RelayerError::Config(format!("{what}: {}", reason.into()))
}

pub struct EvmExecutor<'a> {
    store: &'a Store,
    chain: &'a EvmChain,
    chain_id: u64,
    vault: EvmAddress,
    signer: PrivateKeySigner,
    eip1559: bool,
    relayer: RelayerSettings,
    /// The next nonce to sign at, once known; never below what the chain and the store say.
    next_nonce: Option<u64>,
    /// Transfers whose transaction provably cannot be mined (`broadcast`), to sign again.
    requeue: Vec<String>,
    /// Gas a batch costs: fixed part and per release, learned from `eth_estimateGas` (the
    /// dearest seen). Once known, a batch's limit comes from it and the node runs each batch
    /// once before it is sent (the simulation), not twice.
    gas_model: Option<GasModel>,
}

#[derive(Debug, Clone, Copy)]
struct GasModel {
    per_release: u64,
    /// A release reverted (out of gas, perhaps): estimate the next batch again.
    stale: bool,
}

/// A transaction's own cost and a batch's loop, beside its releases.
const BATCH_BASE_GAS: u64 = 60_000;

impl<'a> EvmExecutor<'a> {
    pub fn new(
        settings: &'a Settings,
        store: &'a Store,
        chain: &'a EvmChain,
        chain_name: &str,
    ) -> Result<EvmExecutor<'a>, RelayerError> {
        let c = settings
            .chain(chain_name)
            .ok_or_else(|| rejected(chain_name, "no such chain in the config"))?;
        let key = c
            .relayer_key
            .as_ref()
            .ok_or_else(|| rejected(chain_name, "relayer_key is not set"))?;
        let signer = atoll_adapters::secrets::evm_signer(key)?;
        let vault = match &c.bridge_vault {
            Some(Address::Evm(a)) => EvmAddress::from(*a),
            _ => return Err(rejected(chain_name, "bridge_vault is not set")),
        };
        Ok(EvmExecutor {
            store,
            chain,
            chain_id: c.chain_id.0,
            vault,
            signer,
            eip1559: !matches!(c.fee_model, Some(FeeModel::Legacy)),
            relayer: settings.relayer.clone(),
            next_nonce: None,
            requeue: Vec::new(),
            gas_model: None,
        })
    }

    /// The relayer account on this chain.
    pub fn account(&self) -> EvmAddress {
        self.signer.address()
    }

    /// One pass: follow pending transactions, confirm final ones, then release what is queued.
    pub async fn step(&mut self) -> Result<ExecutorReport, RelayerError> {
        let mut report = ExecutorReport::default();
        let mined = self.chain.mined_nonce(self.account()).await?;
        self.follow_pending(mined, &mut report).await?;
        self.confirm_final(&mut report).await?;
        let paused = self
            .store
            .chain_states()
            .await?
            .iter()
            .any(|c| u64::try_from(c.chain_id).ok() == Some(self.chain_id) && c.paused);
        if !paused {
            self.release_queued(mined, &mut report).await?;
        }
        Ok(report)
    }

    async fn follow_pending(
        &mut self,
        mined: u64,
        report: &mut ExecutorReport,
    ) -> Result<(), RelayerError> {
        let pending = self
            .store
            .release_txs(self.chain_id, tx_status::PENDING)
            .await?;
        let mut by_nonce: BTreeMap<u64, Vec<release_txs::Model>> = BTreeMap::new();
        for tx in pending {
            by_nonce
                .entry(u64::try_from(tx.nonce).unwrap_or_default())
                .or_default()
                .push(tx);
        }
        if let Some((&lowest, group)) = by_nonce.iter().next() {
            let oldest = group
                .iter()
                .map(|t| t.created_at_ms)
                .min()
                .unwrap_or_default();
            if lowest > mined && age_ms(oldest) > self.replace_after_ms() {
                self.fill_gap(mined, lowest).await?;
            }
        }
        for (nonce, group) in by_nonce {
            if nonce < mined {
                self.settle_used_nonce(nonce, &group, report).await?;
            } else if let Some(newest) = group.last() {
                self.follow_open_nonce(newest, report).await?;
            }
        }
        Ok(())
    }

    fn replace_after_ms(&self) -> i64 {
        i64::try_from(self.relayer.replace_after.as_millis()).unwrap_or(i64::MAX)
    }

    /// The nonce is used: by one of ours (its receipt settles it) or by a transaction we did
    /// not sign (ours can never be mined).
    async fn settle_used_nonce(
        &mut self,
        nonce: u64,
        group: &[release_txs::Model],
        report: &mut ExecutorReport,
    ) -> Result<(), RelayerError> {
        for tx in group.iter().rev() {
            let hash = parse_hash(&tx.tx_hash)?;
            if let Some(receipt) = self.chain.release_receipt(hash, self.vault).await? {
                // Routine: a fee bump's predecessors (no error to show an operator).
                for other in group.iter().filter(|o| o.id != tx.id) {
                    self.store
                        .set_release_tx_status(&other.tx_hash, tx_status::REPLACED, None, None)
                        .await?;
                }
                return self.settle(tx, &receipt, report).await;
            }
        }
        // None of ours was mined at this nonce.
        let Some(newest) = group.last() else {
            return Ok(());
        };
        let why = format!("nonce {nonce} was used by a transaction this relayer did not sign");
        tracing::warn!(chain = %self.chain.name, nonce, tx = %newest.tx_hash, "{why}; its releases are signed again");
        let carried = self.store.transfers_carried_by(&newest.tx_hash).await?;
        self.mark_broadcast(&carried, &format!("{why}: never sent on"))
            .await?;
        for t in carried
            .iter()
            .filter(|t| matches!(t.status.as_str(), "signed" | "broadcast"))
        {
            let id = parse_hash(&t.id)?;
            if self
                .chain
                .processed(self.vault, id, BlockNumberOrTag::Latest)
                .await?
            {
                // Released by a transaction we have no record of: nothing to sign; loud.
                tracing::error!(transfer = %t.id, "released on chain by a transaction this relayer has no record of; left in broadcast for an operator");
                continue;
            }
            self.requeue.push(t.id.clone());
        }
        for tx in group {
            self.store
                .set_release_tx_status(&tx.tx_hash, tx_status::REPLACED, None, Some(&why))
                .await?;
        }
        report.failed.push((newest.tx_hash.clone(), why));
        Ok(())
    }

    /// Moves the transfers of a transaction that may never have been sent to `broadcast`.
    async fn mark_broadcast(
        &self,
        carried: &[transfers::Model],
        reason: &str,
    ) -> Result<(), RelayerError> {
        let signed: Vec<String> = carried
            .iter()
            .filter(|t| t.status == TransferStatus::Signed.as_str())
            .map(|t| t.id.clone())
            .collect();
        self.store
            .transition_many(
                &signed,
                TransferStatus::Signed,
                TransferStatus::Broadcast,
                Some(reason),
            )
            .await?;
        Ok(())
    }

    /// Applies a mined transaction's receipt to its transfers.
    async fn settle(
        &mut self,
        tx: &release_txs::Model,
        receipt: &ReleaseReceipt,
        report: &mut ExecutorReport,
    ) -> Result<(), RelayerError> {
        let carried = self.store.transfers_carried_by(&tx.tx_hash).await?;
        self.mark_broadcast(&carried, &format!("sent {}", tx.tx_hash))
            .await?;
        let block = receipt.block_number;
        if !receipt.success {
            // Out of gas is one way to revert: estimate afresh (keeping the dearer figure).
            if let Some(model) = &mut self.gas_model {
                model.stale = true;
            }
            let why = format!("release {} reverted in block {block}", tx.tx_hash);
            self.store
                .set_release_tx_status(&tx.tx_hash, tx_status::REVERTED, Some(block), Some(&why))
                .await?;
            for t in &carried {
                if self.store.attempt_count(&t.id).await? < MAX_ATTEMPTS {
                    self.requeue.push(t.id.clone());
                } else {
                    tracing::error!(transfer = %t.id, %why, "release keeps reverting; left for an operator");
                }
            }
            report.failed.push((tx.tx_hash.clone(), why));
            return Ok(());
        }
        let released: HashSet<String> = receipt.released.iter().map(B256::to_string).collect();
        let skipped: HashSet<String> = receipt.skipped.iter().map(B256::to_string).collect();
        let failed: HashSet<String> = receipt.failed.iter().map(B256::to_string).collect();
        let pick = |set: &HashSet<String>| -> Vec<String> {
            carried
                .iter()
                .filter(|t| set.contains(&t.id))
                .map(|t| t.id.clone())
                .collect()
        };
        let (released_ids, skipped_ids, failed_ids) =
            (pick(&released), pick(&skipped), pick(&failed));
        self.store
            .transition_many(
                &released_ids,
                TransferStatus::Broadcast,
                TransferStatus::Included,
                Some(&format!("released by {} in block {block}", tx.tx_hash)),
            )
            .await?;
        self.store
            .transition_many(
                &skipped_ids,
                TransferStatus::Broadcast,
                TransferStatus::Included,
                Some(&format!(
                    "already released before {} (skipped in block {block})",
                    tx.tx_hash
                )),
            )
            .await?;
        self.store
            .transition_many(
                &failed_ids,
                TransferStatus::Broadcast,
                TransferStatus::AwaitingLiquidity,
                Some(&format!(
                    "payout failed in {} (block {block}): the vault could not pay; nothing moved",
                    tx.tx_hash
                )),
            )
            .await?;
        let seen = released_ids.len() + skipped_ids.len() + failed_ids.len();
        if seen != carried.len() {
            tracing::error!(tx = %tx.tx_hash, carried = carried.len(), seen, "a mined release does not account for every transfer it carried");
        }
        self.store
            .set_release_tx_status(&tx.tx_hash, tx_status::MINED, Some(block), None)
            .await?;
        report.included.extend(released_ids);
        report.included.extend(skipped_ids);
        report.awaiting_liquidity.extend(failed_ids);
        Ok(())
    }

    /// A pending transaction at a nonce not yet used: resend what the node lost, replace what
    /// waited too long.
    async fn follow_open_nonce(
        &mut self,
        newest: &release_txs::Model,
        report: &mut ExecutorReport,
    ) -> Result<(), RelayerError> {
        let hash = parse_hash(&newest.tx_hash)?;
        let carried = self.store.transfers_carried_by(&newest.tx_hash).await?;
        let unsent = carried
            .iter()
            .any(|t| t.status == TransferStatus::Signed.as_str());
        if unsent || !self.chain.knows_transaction(hash).await? {
            if self.relayer.dry_run {
                return Ok(());
            }
            let raw = parse_raw(&newest.raw_tx, &newest.tx_hash)?;
            let outcome = self.chain.send_raw(&raw).await?;
            tracing::info!(chain = %self.chain.name, tx = %newest.tx_hash, nonce = newest.nonce, ?outcome, "sent stored release again");
            self.mark_broadcast(
                &carried,
                &format!("sent {} again ({outcome:?})", newest.tx_hash),
            )
            .await?;
            report.resent.extend(carried.iter().map(|t| t.id.clone()));
            return Ok(());
        }
        if age_ms(newest.created_at_ms) <= self.replace_after_ms() {
            return Ok(());
        }
        // Waited too long: the same releases at the same nonce, paying more.
        let last = stored_fees(newest)?;
        let estimate = self.chain.fee_estimate(self.eip1559).await?;
        let Some(fees) = last.bumped(estimate, MIN_BUMP_PCT, self.relayer.max_fee_multiple) else {
            tracing::warn!(chain = %self.chain.name, tx = %newest.tx_hash, "not mined after the timeout, and the fee is at its ceiling ({}× the estimate): waiting", self.relayer.max_fee_multiple);
            return Ok(());
        };
        let live: Vec<&transfers::Model> = carried
            .iter()
            .filter(|t| t.status == TransferStatus::Broadcast.as_str())
            .collect();
        if live.is_empty() {
            return Ok(());
        }
        let releases = live
            .iter()
            .map(|t| release_of(t))
            .collect::<Result<Vec<_>, _>>()?;
        let nonce = u64::try_from(newest.nonce).unwrap_or_default();
        let gas_limit = u64::try_from(newest.gas_limit).unwrap_or_default();
        let signed = self
            .chain
            .sign_release_batch(&self.signer, self.vault, &releases, nonce, gas_limit, fees)
            .await?;
        let ids: Vec<(String, TransferStatus)> = live
            .iter()
            .map(|t| (t.id.clone(), TransferStatus::Broadcast))
            .collect();
        tracing::info!(chain = %self.chain.name, old = %newest.tx_hash, new = %signed.hash, nonce, from = last.ceiling(), to = fees.ceiling(), "replacing a release not mined in time");
        self.persist_and_send(&signed, &ids, report).await?;
        report.replaced.extend(ids.into_iter().map(|(id, _)| id));
        Ok(())
    }

    /// Sends no-ops at nonces `from..to` nobody fills, so our pending transactions above them
    /// can be mined.
    async fn fill_gap(&self, from: u64, to: u64) -> Result<(), RelayerError> {
        if self.relayer.dry_run {
            return Ok(());
        }
        let fees = self.chain.fee_estimate(self.eip1559).await?;
        for nonce in from..to {
            let filler = self
                .chain
                .sign_gap_filler(&self.signer, nonce, fees)
                .await?;
            let outcome = self.chain.send_raw(&filler.raw).await?;
            tracing::warn!(chain = %self.chain.name, nonce, ?outcome, "filled a nonce gap below pending releases with a no-op");
        }
        Ok(())
    }

    /// Mined transactions whose block is final confirm their transfers.
    async fn confirm_final(&self, report: &mut ExecutorReport) -> Result<(), RelayerError> {
        let mined = self
            .store
            .release_txs(self.chain_id, tx_status::MINED)
            .await?;
        if mined.is_empty() {
            return Ok(());
        }
        let finalized = self.chain.finalized().await?.number;
        for tx in mined {
            let block = tx
                .block_number
                .and_then(|b| u64::try_from(b).ok())
                .unwrap_or(u64::MAX);
            if block > finalized {
                continue;
            }
            let carried = self.store.transfers_carried_by(&tx.tx_hash).await?;
            let included: Vec<String> = carried
                .iter()
                .filter(|t| t.status == TransferStatus::Included.as_str())
                .map(|t| t.id.clone())
                .collect();
            match self
                .chain
                .release_receipt(parse_hash(&tx.tx_hash)?, self.vault)
                .await?
            {
                Some(r) if r.block_number <= finalized => {
                    self.store
                        .transition_many(
                            &included,
                            TransferStatus::Included,
                            TransferStatus::Confirmed,
                            Some(&format!("block {} final", r.block_number)),
                        )
                        .await?;
                    self.store
                        .set_release_tx_status(
                            &tx.tx_hash,
                            tx_status::FINAL,
                            Some(r.block_number),
                            None,
                        )
                        .await?;
                    report.confirmed.extend(included);
                }
                // Re-mined elsewhere after a reorg: followed again from the new receipt.
                Some(_) | None => {
                    let why = format!(
                        "release {} left block {block} (reorg); waiting on it again",
                        tx.tx_hash
                    );
                    tracing::warn!(chain = %self.chain.name, "{why}");
                    self.store
                        .transition_many(
                            &included,
                            TransferStatus::Included,
                            TransferStatus::Broadcast,
                            Some(&why),
                        )
                        .await?;
                    self.store
                        .set_release_tx_status(&tx.tx_hash, tx_status::PENDING, None, Some(&why))
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// What the vault can pay now per token: its balance minus what pending releases take.
    async fn liquidity(
        &self,
        tokens: &HashSet<String>,
        requeued: &HashSet<String>,
    ) -> Result<HashMap<String, U256>, RelayerError> {
        let mut left = HashMap::new();
        for token in tokens {
            let address = parse_address(token, "token")?;
            left.insert(
                token.clone(),
                self.chain.token_balance(address, self.vault).await?,
            );
        }
        let in_flight = self
            .store
            .transfers_to(
                self.chain_id,
                &[TransferStatus::Signed, TransferStatus::Broadcast],
            )
            .await?;
        // Transfers signed again are counted once, when they are placed in a batch.
        for t in in_flight.iter().filter(|t| !requeued.contains(&t.id)) {
            if let (Some(token), Ok(amount)) = (t.dest_token.as_ref(), amount_out(t))
                && let Some(v) = left.get_mut(token)
            {
                *v = v.saturating_sub(amount);
            }
        }
        Ok(left)
    }

    async fn release_queued(
        &mut self,
        mined: u64,
        report: &mut ExecutorReport,
    ) -> Result<(), RelayerError> {
        use TransferStatus::*;
        let pending = self
            .store
            .release_txs(self.chain_id, tx_status::PENDING)
            .await?;
        let open: HashSet<i64> = pending.iter().map(|t| t.nonce).collect();
        let slots = usize::try_from(self.relayer.max_in_flight)
            .unwrap_or(usize::MAX)
            .saturating_sub(open.len());
        if slots == 0 {
            return Ok(());
        }
        // Signed again first (their transactions cannot be mined), then the queue.
        let mut queue: Vec<transfers::Model> = Vec::new();
        let requeued: HashSet<String> = self.requeue.iter().cloned().collect();
        for id in std::mem::take(&mut self.requeue) {
            if let Some(t) = self.store.transfer(&id).await?
                && t.status == Broadcast.as_str()
            {
                queue.push(t);
            }
        }
        // Fresh releases and those waiting for liquidity are read apart, so a long line of
        // unpayable ones never hides payable ones behind it.
        let cap = slots.saturating_mul(self.batch_max());
        for status in [AwaitingLiquidity, SourceFinal] {
            queue.extend(
                self.store
                    .next_transfers_to(
                        self.chain_id,
                        &[status],
                        u64::try_from(cap).unwrap_or(u64::MAX),
                    )
                    .await?,
            );
        }
        if queue.is_empty() {
            return Ok(());
        }
        let tokens: HashSet<String> = queue.iter().filter_map(|t| t.dest_token.clone()).collect();
        let mut left = self.liquidity(&tokens, &requeued).await?;
        let mut ready: Vec<transfers::Model> = Vec::new();
        let (mut short, mut refilled) = (Vec::new(), Vec::new());
        for t in queue {
            if ready.len() >= cap {
                // No room this step: a transfer to sign again keeps its place for the next.
                if t.status == Broadcast.as_str() {
                    self.requeue.push(t.id.clone());
                }
                continue;
            }
            let (Some(token), Ok(amount)) = (t.dest_token.clone(), amount_out(&t)) else {
                let why = "approved without a destination token or amount".to_string();
                if t.status == SourceFinal.as_str() {
                    self.store
                        .transition(&t.id, SourceFinal, Failed, Some(&why))
                        .await?;
                }
                report.failed.push((t.id.clone(), why));
                continue;
            };
            let holds = left.get(&token).copied().unwrap_or_default();
            if holds < amount {
                if t.status == Broadcast.as_str() {
                    self.requeue.push(t.id.clone());
                }
                if t.status == SourceFinal.as_str() {
                    short.push((
                        t.id.clone(),
                        format!(
                            "vault holds {holds} of {token}, the release needs {amount} (raw units)"
                        ),
                    ));
                }
                continue;
            }
            left.insert(token, holds - amount);
            if t.status == AwaitingLiquidity.as_str() {
                refilled.push(t.id.clone());
            }
            ready.push(t);
        }
        for (id, why) in &short {
            self.store
                .transition(id, SourceFinal, AwaitingLiquidity, Some(why))
                .await?;
            report.awaiting_liquidity.push(id.clone());
        }
        self.store
            .transition_many(
                &refilled,
                AwaitingLiquidity,
                SourceFinal,
                Some("vault holds enough again"),
            )
            .await?;
        for t in &mut ready {
            if t.status == AwaitingLiquidity.as_str() {
                t.status = SourceFinal.as_str().to_string();
            }
        }
        if ready.is_empty() {
            return Ok(());
        }

        let fees = self.chain.fee_estimate(self.eip1559).await?;
        let highest = self.store.highest_release_nonce(self.chain_id).await?;
        let mut nonce = [Some(mined), highest.map(|h| h + 1), self.next_nonce]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(mined);
        let mut batches: Vec<Vec<transfers::Model>> = ready
            .chunks(self.batch_max())
            .map(<[transfers::Model]>::to_vec)
            .collect();
        batches.reverse();
        let mut sent = 0usize;
        while sent < slots {
            let Some(batch) = batches.pop() else {
                break;
            };
            let Some(batch) = self.checked_batch(batch, report).await? else {
                continue;
            };
            let releases = batch
                .iter()
                .map(release_of)
                .collect::<Result<Vec<_>, _>>()?;
            let n = u64::try_from(releases.len()).unwrap_or(u64::MAX);
            let estimate = match self.gas_model {
                Some(model) if !model.stale => {
                    BATCH_BASE_GAS.saturating_add(model.per_release.saturating_mul(n))
                }
                known => {
                    let estimate = self
                        .chain
                        .estimate_release_batch_gas(self.vault, self.account(), &releases)
                        .await?;
                    let per_release = estimate
                        .saturating_sub(BATCH_BASE_GAS)
                        .div_ceil(n.max(1))
                        .max(known.map_or(0, |m| m.per_release));
                    self.gas_model = Some(GasModel {
                        per_release,
                        stale: false,
                    });
                    estimate
                }
            };
            let gas_limit = estimate.saturating_add(estimate * GAS_MARGIN_PCT / 100);
            if gas_limit > self.relayer.batch_max_gas && batch.len() > 1 {
                // Too heavy for one transaction: halve it.
                let (a, b) = batch.split_at(batch.len() / 2);
                batches.push(b.to_vec());
                batches.push(a.to_vec());
                continue;
            }
            let signed = self
                .chain
                .sign_release_batch(&self.signer, self.vault, &releases, nonce, gas_limit, fees)
                .await?;
            let ids: Vec<(String, TransferStatus)> = batch
                .iter()
                .map(|t| {
                    let from = if t.status == Broadcast.as_str() {
                        Broadcast
                    } else {
                        SourceFinal
                    };
                    (t.id.clone(), from)
                })
                .collect();
            if self.relayer.dry_run {
                tracing::info!(chain = %self.chain.name, tx = %signed.hash, nonce, releases = ids.len(), "dry run: signed, not sent");
                report.dry_run.extend(ids.into_iter().map(|(id, _)| id));
            } else {
                let accepted = self.persist_and_send(&signed, &ids, report).await?;
                report.sent.extend(ids.into_iter().map(|(id, _)| id));
                if !accepted {
                    // Nonce taken: the next step settles that nonce; start again from the chain.
                    self.next_nonce = None;
                    break;
                }
            }
            nonce += 1;
            self.next_nonce = Some(nonce);
            sent += 1;
        }
        // Batches not sent this step: transfers to sign again keep their place.
        for t in batches.iter().flatten() {
            if t.status == Broadcast.as_str() {
                self.requeue.push(t.id.clone());
            }
        }
        Ok(())
    }

    fn batch_max(&self) -> usize {
        usize::try_from(self.relayer.batch_max_releases.max(1)).unwrap_or(1)
    }

    /// Simulates a batch; entries that would not pay out are taken out with their reason.
    async fn checked_batch(
        &self,
        batch: Vec<transfers::Model>,
        report: &mut ExecutorReport,
    ) -> Result<Option<Vec<transfers::Model>>, RelayerError> {
        use TransferStatus::*;
        let releases = batch
            .iter()
            .map(release_of)
            .collect::<Result<Vec<_>, _>>()?;
        let pays = self
            .chain
            .simulate_release_batch(self.vault, self.account(), &releases)
            .await?;
        if usize::try_from(pays).ok() == Some(batch.len()) {
            return Ok(Some(batch));
        }
        let mut keep = Vec::new();
        for (t, r) in batch.into_iter().zip(&releases) {
            if !self
                .chain
                .processed(self.vault, r.id, BlockNumberOrTag::Latest)
                .await?
            {
                keep.push(t);
                continue;
            }
            let why = "already released on chain, by a transaction this relayer has no record of";
            tracing::error!(transfer = %t.id, "{why}");
            if t.status == SourceFinal.as_str() {
                self.store
                    .transition(&t.id, SourceFinal, Failed, Some(why))
                    .await?;
            }
            report.failed.push((t.id.clone(), why.to_string()));
        }
        if keep.is_empty() {
            return Ok(None);
        }
        let releases = keep.iter().map(release_of).collect::<Result<Vec<_>, _>>()?;
        let pays = self
            .chain
            .simulate_release_batch(self.vault, self.account(), &releases)
            .await?;
        if usize::try_from(pays).ok() != Some(keep.len()) {
            // Payouts would fail for reasons the liquidity check did not see (a token that
            // refuses the transfer): nothing is signed, an operator looks.
            let why = format!("simulation pays {pays} of {} releases", keep.len());
            tracing::error!(chain = %self.chain.name, "{why}; batch held back");
            report
                .failed
                .extend(keep.iter().map(|t| (t.id.clone(), why.clone())));
            return Ok(None);
        }
        Ok(Some(keep))
    }

    /// Persists a signed transaction with its transfers, then sends it. False when the node
    /// refused it because its nonce is taken (the next step reconciles).
    async fn persist_and_send(
        &self,
        signed: &SignedReleaseTx,
        ids: &[(String, TransferStatus)],
        report: &mut ExecutorReport,
    ) -> Result<bool, RelayerError> {
        let hash = signed.hash.to_string();
        self.store
            .record_release_tx(
                &NewReleaseTx {
                    chain_id: self.chain_id,
                    nonce: signed.nonce,
                    tx_hash: hash.clone(),
                    raw_tx: signed.raw.to_string(),
                    gas_limit: signed.gas_limit,
                    max_fee_per_gas: signed.fees.ceiling().to_string(),
                    priority_fee: signed.fees.priority().map(|p| p.to_string()),
                },
                ids,
            )
            .await?;
        let outcome = match self.chain.send_raw(&signed.raw).await {
            Ok(o) => o,
            Err(e) => {
                // Persisted: the next step sends the same bytes again.
                tracing::warn!(chain = %self.chain.name, tx = %hash, error = %e, "send failed; will resend the stored transaction");
                report.failed.push((hash, e.to_string()));
                return Ok(true);
            }
        };
        match outcome {
            SendOutcome::Accepted | SendOutcome::AlreadyKnown => {
                let carried: Vec<String> = ids.iter().map(|(id, _)| id.clone()).collect();
                self.store
                    .transition_many(
                        &carried,
                        TransferStatus::Signed,
                        TransferStatus::Broadcast,
                        Some(&format!("sent {hash} (nonce {})", signed.nonce)),
                    )
                    .await?;
                Ok(true)
            }
            SendOutcome::NonceTooLow | SendOutcome::Underpriced => {
                tracing::warn!(chain = %self.chain.name, tx = %hash, nonce = signed.nonce, ?outcome, "nonce taken; reconciling");
                Ok(false)
            }
        }
    }
}

fn age_ms(created_at_ms: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    now.saturating_sub(created_at_ms)
}

fn parse_hash(text: &str) -> Result<B256, RelayerError> {
    B256::from_str(text).map_err(|_| rejected(text, "not a 32-byte hash"))
}

fn parse_address(text: &str, what: &str) -> Result<EvmAddress, RelayerError> {
    EvmAddress::from_str(text).map_err(|_| rejected(text, format!("not an EVM {what} address")))
}

fn parse_raw(text: &str, hash: &str) -> Result<Bytes, RelayerError> {
    Bytes::from_str(text).map_err(|_| rejected(hash, "stored raw transaction is not hex"))
}

fn amount_out(t: &transfers::Model) -> Result<U256, RelayerError> {
    t.amount_out
        .as_deref()
        .ok_or_else(|| rejected(&t.id, "no amount out (not approved by the gate)"))?
        .parse()
        .map_err(|_| rejected(&t.id, format!("amount out {:?}", t.amount_out)))
}

fn release_of(t: &transfers::Model) -> Result<EvmRelease, RelayerError> {
    let token = t
        .dest_token
        .as_deref()
        .ok_or_else(|| rejected(&t.id, "no destination token (not approved by the gate)"))?;
    Ok(EvmRelease {
        id: parse_hash(&t.id)?,
        token: parse_address(token, "token")?,
        recipient: parse_address(&t.recipient, "recipient")?,
        amount: amount_out(t)?,
    })
}

fn stored_fees(tx: &release_txs::Model) -> Result<GasFees, RelayerError> {
    let num = |s: &str| {
        s.parse::<u128>()
            .map_err(|_| rejected(&tx.tx_hash, format!("stored fee {s:?}")))
    };
    Ok(match &tx.priority_fee {
        Some(p) => GasFees::Eip1559 {
            max_fee: num(&tx.max_fee_per_gas)?,
            priority_fee: num(p)?,
        },
        None => GasFees::Legacy {
            gas_price: num(&tx.max_fee_per_gas)?,
        },
    })
}
