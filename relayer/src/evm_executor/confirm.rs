//! Confirmation at finality: a mined release transaction whose block is at or below the
//! chain's finalized block is read again (a destination reorg may have taken it out), and its
//! transfers become `confirmed`, or go back to waiting on the same transaction. Each block's
//! transaction list is read once; the step's confirmations are one database transaction.

use std::collections::{BTreeSet, HashMap};

use alloy::primitives::B256;

use atoll_core::TransferStatus;
use atoll_store::release_txs::{ReleaseWrite, TrackedReleaseTx, tx_status};
use futures::future::try_join_all;

use super::follow::tx_write;
use super::{Ctx, ids_in, parse_hash};
use crate::{ExecutorReport, RelayerError};

/// Mined transactions whose block is final confirm their transfers.
pub(super) async fn confirm_final(ctx: &Ctx<'_>) -> Result<ExecutorReport, RelayerError> {
    let mut report = ExecutorReport::default();
    ctx.confirm_into(&mut report).await?;
    Ok(report)
}

impl Ctx<'_> {
    async fn confirm_into(&self, report: &mut ExecutorReport) -> Result<(), RelayerError> {
        let mined = self
            .store
            .release_txs(self.chain_id, tx_status::MINED)
            .await?;
        if mined.is_empty() {
            return Ok(());
        }
        let finalized = self.chain.finalized().await?.number;
        let block_of = |b: Option<i64>| b.and_then(|b| u64::try_from(b).ok()).unwrap_or(u64::MAX);
        let due: Vec<_> = mined
            .into_iter()
            .filter(|tx| block_of(tx.block_number) <= finalized)
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let blocks = self.blocks_of(&due).await?;
        let located_ms = started.elapsed().as_millis();
        let hashes: Vec<String> = due.iter().map(|t| t.tx_hash.clone()).collect();
        let carried = self.store.transfers_carried_by_each(&hashes).await?;
        let carried_ms = started.elapsed().as_millis();
        let mut writes = Vec::new();
        for (tx, block) in due.iter().zip(blocks) {
            let included = carried
                .get(&tx.tx_hash)
                .map(|c| ids_in(c, TransferStatus::Included))
                .unwrap_or_default();
            match block {
                Some(number) if number <= finalized => {
                    writes.push(ReleaseWrite::Move {
                        ids: included.clone(),
                        from: TransferStatus::Included,
                        to: TransferStatus::Confirmed,
                        reason: format!("block {number} final"),
                        tx_hash: Some(tx.tx_hash.clone()),
                    });
                    writes.push(tx_write(&tx.tx_hash, tx_status::FINAL, Some(number), None));
                    report.confirmed.extend(included);
                }
                // Gone from its block (a reorg): followed again, from the same transaction.
                Some(_) | None => {
                    let why = format!(
                        "release {} left block {} (reorg); waiting on it again",
                        tx.tx_hash,
                        block_of(tx.block_number)
                    );
                    tracing::warn!(chain = %self.chain.name, "{why}");
                    writes.push(ReleaseWrite::Move {
                        ids: included,
                        from: TransferStatus::Included,
                        to: TransferStatus::Broadcast,
                        reason: why.clone(),
                        tx_hash: Some(tx.tx_hash.clone()),
                    });
                    writes.push(tx_write(&tx.tx_hash, tx_status::PENDING, None, Some(why)));
                }
            }
        }
        self.store.apply_release_writes(&writes).await?;
        tracing::debug!(chain = %self.chain.name, located_ms, carried_ms, written_ms = started.elapsed().as_millis(), "final transactions confirmed");
        Ok(())
    }

    /// The block each of `due` is in now, in order: from the transaction lists of the blocks
    /// they were mined in (one request a block), then the receipt of each not found there
    /// (moved by a reorg, or gone). The logs were read when the transactions were settled;
    /// finality only needs to know they are still there.
    async fn blocks_of(&self, due: &[TrackedReleaseTx]) -> Result<Vec<Option<u64>>, RelayerError> {
        let numbers: BTreeSet<u64> = due
            .iter()
            .filter_map(|t| t.block_number.and_then(|b| u64::try_from(b).ok()))
            .collect();
        let lists = try_join_all(numbers.iter().map(|&number| async move {
            let hashes = self.chain.block_transaction_hashes(number).await?;
            Ok::<_, RelayerError>((number, hashes.unwrap_or_default()))
        }))
        .await?;
        let found: HashMap<B256, u64> = lists
            .into_iter()
            .flat_map(|(number, hashes)| hashes.into_iter().map(move |h| (h, number)))
            .collect();
        try_join_all(due.iter().map(|tx| {
            let found = &found;
            async move {
                let hash = parse_hash(&tx.tx_hash)?;
                if let Some(&number) = found.get(&hash) {
                    return Ok::<_, RelayerError>(Some(number));
                }
                Ok(self
                    .chain
                    .release_receipt(hash, self.vault)
                    .await?
                    .map(|r| r.block_number))
            }
        }))
        .await
    }
}
