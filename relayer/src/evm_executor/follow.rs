//! Pending release transactions, nonce by nonce against the account's mined nonce: settling
//! the used nonces from the vault's logs (receipts for what the logs do not show), sending
//! again what the node lost, replacing what waited too long with bounded fee bumps, and filling
//! nonce gaps nobody else fills. Receipts and pool checks go out concurrently; the settlements
//! of a step are one database transaction.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use alloy::primitives::B256;
use atoll_adapters::evm::releases::{ReleaseReceipt, SendOutcome};
use atoll_core::{Reason, TransferId, TransferStatus};
use atoll_store::release_txs::{CarriedTransfer, ReleaseTxStatus, ReleaseWrite, TrackedReleaseTx};
use futures::future::try_join_all;

use super::{
    Follower, MAX_GAP_NOOPS, MAX_LOG_BLOCKS, MIN_BUMP_PCT, age_ms, ids_in, rejected, release_of,
    signed_fees,
};
use crate::{ExecutorReport, RelayerError};

type Carried = HashMap<B256, Vec<CarriedTransfer>>;

fn carried_by<'c>(carried: &'c Carried, tx: &TrackedReleaseTx) -> &'c [CarriedTransfer] {
    carried.get(&tx.tx_hash).map_or(&[], Vec::as_slice)
}

impl Follower<'_, '_> {
    /// Follows `pending` (every pending transaction of the chain); returns how many nonces
    /// are still open afterwards.
    pub(super) async fn follow_pending(
        &mut self,
        mined: u64,
        pending: Vec<TrackedReleaseTx>,
        report: &mut ExecutorReport,
    ) -> Result<usize, RelayerError> {
        if pending.is_empty() && self.settled_block.is_none() {
            // Nothing of ours is pending: whatever is signed from now on is mined after the
            // current head, so the logs from there on show it.
            *self.settled_block = Some(self.chain.block_number().await?);
        }
        let mut by_nonce: BTreeMap<u64, Vec<TrackedReleaseTx>> = BTreeMap::new();
        for tx in pending {
            by_nonce.entry(tx.nonce).or_default().push(tx);
        }
        if let Some((&lowest, group)) = by_nonce.iter().next() {
            let oldest = group
                .iter()
                .map(|t| t.created_at_ms)
                .min()
                .unwrap_or_default();
            if lowest > mined && age_ms(oldest) > self.replace_after_ms() {
                self.fill_nonce_gap(mined, lowest).await?;
            }
        }
        let (used, open): (Vec<_>, Vec<_>) = by_nonce.into_iter().partition(|(n, _)| *n < mined);
        let open: Vec<TrackedReleaseTx> = open
            .into_iter()
            .filter_map(|(_, g)| g.last().cloned())
            .collect();

        // Every transaction at a used nonce: which of them was mined?
        let started = Instant::now();
        let used_txs: Vec<&TrackedReleaseTx> = used.iter().flat_map(|(_, g)| g).collect();
        let receipts = self.used_receipts(&used_txs).await?;
        let receipts_ms = started.elapsed().as_millis();
        let used = self.readable_nonces(used, &receipts).await?;
        let used_txs: Vec<&TrackedReleaseTx> = used.iter().flat_map(|(_, g)| g).collect();
        // What an open transaction carries is read only when it may be acted on: this process
        // did not just see it in the node's pool (after a restart nothing is fresh), or it is
        // due for replacement. At thousands of releases in flight, reading every carried
        // transfer at every step would cost more than the releases themselves.
        let now = Instant::now();
        let hashes: Vec<B256> = used_txs
            .iter()
            .map(|t| t.tx_hash)
            .chain(
                open.iter()
                    .filter(|t| !self.fresh_in_pool(t, now) || self.due_for_replacement(t))
                    .map(|t| t.tx_hash),
            )
            .collect();
        let carried = self.store.transfers_carried_by_each(&hashes).await?;
        let carried_ms = started.elapsed().as_millis();

        let mut writes = Vec::new();
        for (nonce, group) in &used {
            self.settle_used_nonce(*nonce, group, &receipts, &carried, &mut writes, report);
        }
        self.store.apply_release_writes(&writes).await?;
        tracing::debug!(chain = %self.chain.name, receipts_ms, carried_ms, written_ms = started.elapsed().as_millis(), "used nonces settled");
        self.follow_open(&open, &carried, report).await?;
        Ok(open.len())
    }

    /// The used nonces that can be settled now. A used nonce with no receipt for any of our
    /// transactions at it usually means another transaction took it, but a node can answer
    /// the account's new nonce a moment before the block that used it can be read: anvil
    /// commits a block's state before it stores the block and its receipts. Until then the
    /// node still holds our transaction (in its pool), so a nonce whose transaction the node
    /// knows waits for the next step; only one the node has never heard of was taken.
    async fn readable_nonces(
        &self,
        used: Vec<(u64, Vec<TrackedReleaseTx>)>,
        receipts: &HashMap<B256, ReleaseReceipt>,
    ) -> Result<Vec<(u64, Vec<TrackedReleaseTx>)>, RelayerError> {
        let chain = self.chain;
        let checked = try_join_all(used.into_iter().map(|(nonce, group)| async move {
            if group.iter().any(|t| receipts.contains_key(&t.tx_hash)) {
                return Ok::<_, RelayerError>(Some((nonce, group)));
            }
            for tx in &group {
                if chain.knows_transaction(tx.tx_hash).await? {
                    tracing::debug!(chain = %chain.name, nonce, tx = %tx.tx_hash, "nonce used, its transaction not readable yet; waiting a step");
                    return Ok(None);
                }
            }
            Ok(Some((nonce, group)))
        }))
        .await?;
        Ok(checked.into_iter().flatten().collect())
    }

    /// What the transactions at used nonces did: from the vault's logs since the block of the
    /// last settled nonce (one request), then one receipt each for those the logs do not show
    /// (reverted, a replacement whose predecessor was mined, a nonce taken by another
    /// transaction, or no settled block known yet).
    async fn used_receipts(
        &mut self,
        used_txs: &[&TrackedReleaseTx],
    ) -> Result<HashMap<B256, ReleaseReceipt>, RelayerError> {
        let mut found: HashMap<B256, ReleaseReceipt> = HashMap::new();
        if used_txs.is_empty() {
            return Ok(found);
        }
        if let Some(from) = *self.settled_block {
            let to = self.chain.block_number().await?;
            if to >= from && to - from < MAX_LOG_BLOCKS {
                let logged = self.chain.release_logs(self.vault, from, to).await?;
                for tx in used_txs {
                    if let Some(r) = logged.get(&tx.tx_hash) {
                        found.insert(tx.tx_hash, r.clone());
                    }
                }
            }
        }
        let (chain, vault) = (self.chain, self.vault);
        let missing = used_txs.iter().filter(|t| !found.contains_key(&t.tx_hash));
        let read = try_join_all(missing.map(|tx| async move {
            let receipt = chain.release_receipt(tx.tx_hash, vault).await?;
            Ok::<_, RelayerError>(receipt.map(|r| (tx.tx_hash, r)))
        }))
        .await?;
        found.extend(read.into_iter().flatten());
        if let Some(block) = used_txs
            .iter()
            .filter_map(|t| found.get(&t.tx_hash).map(|r| (t.nonce, r.block_number)))
            .max()
            .map(|(_, block)| block)
        {
            *self.settled_block = Some(block);
        }
        Ok(found)
    }

    /// Seen in the node's pool (sent, or asked) less than `pool_recheck` ago.
    fn fresh_in_pool(&self, tx: &TrackedReleaseTx, now: Instant) -> bool {
        self.in_pool_at
            .get(&tx.tx_hash)
            .is_some_and(|at| now.duration_since(*at) < self.relayer.pool_recheck)
    }

    fn due_for_replacement(&self, tx: &TrackedReleaseTx) -> bool {
        age_ms(tx.created_at_ms) > self.replace_after_ms()
    }

    /// The nonce is used: by one of ours (its receipt settles it) or by a transaction we did
    /// not sign (ours can never be mined: its transfers are signed again).
    fn settle_used_nonce(
        &mut self,
        nonce: u64,
        group: &[TrackedReleaseTx],
        receipts: &HashMap<B256, ReleaseReceipt>,
        carried: &Carried,
        writes: &mut Vec<ReleaseWrite>,
        report: &mut ExecutorReport,
    ) {
        if let Some((tx, receipt)) = group
            .iter()
            .rev()
            .find_map(|t| receipts.get(&t.tx_hash).map(|r| (t, r)))
        {
            // Routine: a fee bump's predecessors (no error to show an operator).
            for other in group.iter().filter(|o| o.id != tx.id) {
                writes.push(tx_write(
                    other.tx_hash,
                    ReleaseTxStatus::Replaced,
                    None,
                    None,
                ));
            }
            self.settle(tx, receipt, carried_by(carried, tx), writes, report);
            return;
        }
        let Some(newest) = group.last() else {
            return;
        };
        let why = Reason::NonceTaken { nonce };
        tracing::warn!(chain = %self.chain.name, nonce, tx = %newest.tx_hash, "{why}; its releases are signed again");
        writes.push(ReleaseWrite::Move {
            ids: ids_in(carried_by(carried, newest), TransferStatus::Signed),
            from: TransferStatus::Signed,
            to: TransferStatus::Broadcast,
            reason: Reason::NeverSentOn { nonce },
            tx_hash: Some(newest.tx_hash),
        });
        for tx in group {
            writes.push(tx_write(
                tx.tx_hash,
                ReleaseTxStatus::Replaced,
                None,
                Some(why.clone()),
            ));
        }
        // Its transfers stay `broadcast` behind a transaction that cannot be mined (stage
        // `BroadcastStage::ToSignAgain`): the next queue phase derives them from the store and
        // signs them again.
        self.findings.unminable = true;
        report.failed_txs.push((newest.tx_hash, why.to_string()));
    }

    /// Applies a mined transaction's receipt to the transfers it carries.
    fn settle(
        &mut self,
        tx: &TrackedReleaseTx,
        receipt: &ReleaseReceipt,
        carried: &[CarriedTransfer],
        writes: &mut Vec<ReleaseWrite>,
        report: &mut ExecutorReport,
    ) {
        use TransferStatus::*;
        writes.push(ReleaseWrite::Move {
            ids: ids_in(carried, Signed),
            from: Signed,
            to: Broadcast,
            reason: Reason::Sent {
                tx: tx.tx_hash.to_string(),
            },
            tx_hash: Some(tx.tx_hash),
        });
        let block = receipt.block_number;
        if !receipt.success {
            // Out of gas is one way to revert: estimate afresh (keeping the dearer figure).
            self.findings.reverted = true;
            let why = Reason::Reverted {
                tx: tx.tx_hash,
                block,
            };
            writes.push(tx_write(
                tx.tx_hash,
                ReleaseTxStatus::Reverted,
                Some(block),
                Some(why.clone()),
            ));
            self.findings.unminable = true;
            report.failed_txs.push((tx.tx_hash, why.to_string()));
            return;
        }
        let live: Vec<&CarriedTransfer> = carried
            .iter()
            .filter(|t| matches!(t.status, Signed | Broadcast))
            .collect();
        let pick = |logged: &[B256]| -> Vec<TransferId> {
            let logged: HashSet<&B256> = logged.iter().collect();
            live.iter()
                .filter(|t| logged.contains(&B256::from(t.id.0)))
                .map(|t| t.id)
                .collect()
        };
        let (released, skipped, failed) = (
            pick(&receipt.released),
            pick(&receipt.skipped),
            pick(&receipt.failed),
        );
        let seen = released.len() + skipped.len() + failed.len();
        if seen != live.len() {
            tracing::error!(tx = %tx.tx_hash, carried = live.len(), seen, "a mined release does not account for every transfer it carried");
        }
        let hash = tx.tx_hash;
        writes.push(ReleaseWrite::Move {
            ids: released.clone(),
            from: Broadcast,
            to: Included,
            reason: Reason::ReleasedBy { tx: hash, block },
            tx_hash: Some(hash),
        });
        writes.push(ReleaseWrite::Move {
            ids: skipped.clone(),
            from: Broadcast,
            to: Included,
            reason: Reason::SkippedAsReleased { tx: hash, block },
            tx_hash: Some(hash),
        });
        writes.push(ReleaseWrite::Move {
            ids: failed.clone(),
            from: Broadcast,
            to: AwaitingLiquidity,
            reason: Reason::PayoutFailed { tx: hash, block },
            tx_hash: Some(hash),
        });
        writes.push(tx_write(hash, ReleaseTxStatus::Mined, Some(block), None));
        let text = |ids: Vec<TransferId>| ids.into_iter().map(|id| id.to_string());
        report.included.extend(text(released));
        report.included.extend(text(skipped));
        report.awaiting_liquidity.extend(text(failed));
    }

    /// Pending transactions at nonces not yet used: send again what the node lost (asking it
    /// at most every `pool_recheck` per transaction), replace what waited too long.
    async fn follow_open(
        &mut self,
        open: &[TrackedReleaseTx],
        carried: &Carried,
        report: &mut ExecutorReport,
    ) -> Result<(), RelayerError> {
        let unsent = |tx: &TrackedReleaseTx| {
            carried_by(carried, tx)
                .iter()
                .any(|t| t.status == TransferStatus::Signed)
        };
        // Forget transactions no longer pending (mined, replaced).
        let still: HashSet<B256> = open.iter().map(|t| t.tx_hash).collect();
        self.in_pool_at.retain(|h, _| still.contains(h));
        let now = Instant::now();
        let ask: Vec<&TrackedReleaseTx> = open
            .iter()
            .filter(|tx| !unsent(tx) && !self.fresh_in_pool(tx, now))
            .collect();
        let chain = self.chain;
        let known = try_join_all(ask.iter().map(|tx| chain.knows_transaction(tx.tx_hash))).await?;
        let mut lost: HashSet<B256> = HashSet::new();
        for (tx, known) in ask.iter().zip(known) {
            if known {
                self.in_pool_at.insert(tx.tx_hash, now);
            } else {
                lost.insert(tx.tx_hash);
            }
        }
        let mut writes = Vec::new();
        for tx in open {
            let list = carried_by(carried, tx);
            if unsent(tx) || lost.contains(&tx.tx_hash) {
                if self.relayer.dry_run {
                    continue;
                }
                let raw = self
                    .store
                    .release_tx_bytes(tx.tx_hash)
                    .await?
                    .ok_or_else(|| rejected(tx.tx_hash, "its signed bytes are not stored"))?;
                let outcome = self.chain.send_raw(&raw).await?;
                tracing::info!(chain = %self.chain.name, tx = %tx.tx_hash, nonce = tx.nonce, ?outcome, "sent stored release again");
                writes.push(ReleaseWrite::Move {
                    ids: ids_in(list, TransferStatus::Signed),
                    from: TransferStatus::Signed,
                    to: TransferStatus::Broadcast,
                    reason: Reason::SentAgain {
                        tx: tx.tx_hash,
                        outcome: format!("{outcome:?}"),
                    },
                    tx_hash: Some(tx.tx_hash),
                });
                self.in_pool_at.insert(tx.tx_hash, Instant::now());
                report.resent.extend(list.iter().map(|t| t.id.to_string()));
            } else if self.due_for_replacement(tx) {
                self.replace(tx, list, report).await?;
            }
        }
        self.store.apply_release_writes(&writes).await?;
        Ok(())
    }

    /// Waited too long: the same releases at the same nonce, paying more (bounded).
    async fn replace(
        &mut self,
        tx: &TrackedReleaseTx,
        carried: &[CarriedTransfer],
        report: &mut ExecutorReport,
    ) -> Result<(), RelayerError> {
        let last = signed_fees(tx);
        let estimate = self.chain.fee_estimate(self.eip1559).await?;
        // Capped at the chain's ceiling, a bump must still be one the node accepts as a
        // replacement (every component ≥ 10% over the last), or nothing is signed.
        let Some(fees) = last
            .bumped(estimate, MIN_BUMP_PCT, self.relayer.max_fee_multiple)
            .map(|f| f.capped(self.max_gas_price))
            .filter(|f| f.replaces(&last, MIN_BUMP_PCT))
        else {
            tracing::warn!(chain = %self.chain.name, tx = %tx.tx_hash, max_gas_price_wei = self.max_gas_price, "not mined after the timeout, and the fee is at its ceiling ({}× the estimate, or the chain's max_gas_price_gwei): waiting", self.relayer.max_fee_multiple);
            return Ok(());
        };
        let live_ids = ids_in(carried, TransferStatus::Broadcast);
        if live_ids.is_empty() {
            return Ok(());
        }
        let rows = self.store.releases_by_ids(&live_ids).await?;
        let live: Vec<_> = live_ids.iter().filter_map(|id| rows.get(id)).collect();
        let Some(releases) = live
            .iter()
            .map(|t| release_of(t))
            .collect::<Option<Vec<_>>>()
        else {
            // The gate approves nothing without them; replacing the transaction with fewer
            // entries than it carries would strand the rest.
            tracing::error!(chain = %self.chain.name, tx = %tx.tx_hash, "a transfer it carries has no EVM release: not replaced");
            return Ok(());
        };
        let nonce = tx.nonce;
        let gas_limit = tx.gas_limit;
        let signed = self
            .chain
            .sign_release_batch(&self.signer, self.vault, &releases, nonce, gas_limit, fees)
            .await?;
        let ids: Vec<(TransferId, TransferStatus)> = live
            .iter()
            .map(|t| (t.id, TransferStatus::Broadcast))
            .collect();
        tracing::info!(chain = %self.chain.name, old = %tx.tx_hash, new = %signed.hash, nonce, from = last.ceiling(), to = fees.ceiling(), "replacing a release not mined in time");
        if self.relayer.dry_run {
            report
                .dry_run
                .extend(ids.into_iter().map(|(id, _)| id.to_string()));
            return Ok(());
        }
        self.store
            .apply_release_writes(&[ReleaseWrite::Signed {
                tx: self.new_release_tx(&signed),
                carried: ids.clone(),
            }])
            .await?;
        let hash = signed.hash;
        match self.chain.send_raw(&signed.raw).await {
            Ok(SendOutcome::Accepted | SendOutcome::AlreadyKnown) => {
                self.store
                    .apply_release_writes(&[ReleaseWrite::Move {
                        ids: ids.iter().map(|(id, _)| *id).collect(),
                        from: TransferStatus::Signed,
                        to: TransferStatus::Broadcast,
                        reason: Reason::SentAtNonce {
                            tx: hash,
                            nonce,
                            replacing: Some(tx.tx_hash),
                        },
                        tx_hash: Some(hash),
                    }])
                    .await?;
                self.in_pool_at.insert(hash, Instant::now());
            }
            Ok(outcome) => {
                tracing::warn!(chain = %self.chain.name, tx = %hash, nonce, ?outcome, "replacement refused; the next step reconciles the nonce");
            }
            Err(e) => {
                // Persisted: the next step sends the same bytes again.
                tracing::warn!(chain = %self.chain.name, tx = %hash, error = %e, "send failed; will resend the stored transaction");
                report.failed_txs.push((hash, e.to_string()));
            }
        }
        report
            .replaced
            .extend(ids.into_iter().map(|(id, _)| id.to_string()));
        Ok(())
    }

    /// Sends gap no-ops at nonces `from..to` nobody uses, so our pending transactions above
    /// them can be mined.
    async fn fill_nonce_gap(&self, from: u64, to: u64) -> Result<(), RelayerError> {
        if self.relayer.dry_run {
            return Ok(());
        }
        let fees = self
            .chain
            .fee_estimate(self.eip1559)
            .await?
            .capped(self.max_gas_price);
        let to = if to.saturating_sub(from) > MAX_GAP_NOOPS {
            tracing::warn!(chain = %self.chain.name, from, to, "a nonce gap of {} below pending releases: filling {MAX_GAP_NOOPS} this step", to.saturating_sub(from));
            from + MAX_GAP_NOOPS
        } else {
            to
        };
        for nonce in from..to {
            let noop = self.chain.sign_gap_noop(&self.signer, nonce, fees).await?;
            let outcome = self.chain.send_raw(&noop.raw).await?;
            tracing::warn!(chain = %self.chain.name, nonce, ?outcome, "filled a nonce gap below pending releases with a no-op");
        }
        Ok(())
    }
}

pub(super) fn tx_write(
    tx_hash: B256,
    status: ReleaseTxStatus,
    block_number: Option<u64>,
    error: Option<Reason>,
) -> ReleaseWrite {
    ReleaseWrite::TxStatus {
        tx_hash,
        status,
        block_number,
        error,
    }
}
