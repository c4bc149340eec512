//! Confirmation at finality: a mined release transaction whose block is at or below the
//! chain's finalized block is read again (a destination reorg may have taken it out), and its
//! transfers become `confirmed`, or go back to waiting on the same transaction. Receipts are
//! read concurrently; the step's confirmations are one database transaction.

use std::collections::HashMap;

use atoll_adapters::evm::releases::ReleaseReceipt;
use atoll_core::TransferStatus;
use atoll_store::release_txs::{ReleaseWrite, TrackedReleaseTx, tx_status};
use futures::future::try_join_all;

use super::follow::tx_write;
use super::{Ctx, MAX_LOG_BLOCKS, ids_in, parse_hash};
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
        let receipts = self.receipts_of(&due).await?;
        let hashes: Vec<String> = due.iter().map(|t| t.tx_hash.clone()).collect();
        let carried = self.store.transfers_carried_by_each(&hashes).await?;
        let mut writes = Vec::new();
        for (tx, receipt) in due.iter().zip(receipts) {
            let included = carried
                .get(&tx.tx_hash)
                .map(|c| ids_in(c, TransferStatus::Included))
                .unwrap_or_default();
            match receipt {
                Some(r) if r.block_number <= finalized => {
                    writes.push(ReleaseWrite::Move {
                        ids: included.clone(),
                        from: TransferStatus::Included,
                        to: TransferStatus::Confirmed,
                        reason: format!("block {} final", r.block_number),
                        tx_hash: Some(tx.tx_hash.clone()),
                    });
                    writes.push(tx_write(
                        &tx.tx_hash,
                        tx_status::FINAL,
                        Some(r.block_number),
                        None,
                    ));
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
        Ok(())
    }

    /// What each of `due` shows on chain now, in order: from the vault's logs over the blocks
    /// they were mined in (one request), then the receipt of each the logs do not show where
    /// it was (moved by a reorg, or gone).
    async fn receipts_of(
        &self,
        due: &[TrackedReleaseTx],
    ) -> Result<Vec<Option<ReleaseReceipt>>, RelayerError> {
        let blocks = due
            .iter()
            .filter_map(|t| t.block_number.and_then(|b| u64::try_from(b).ok()));
        let (low, high) = (blocks.clone().min(), blocks.max());
        let mut logged = HashMap::new();
        if let (Some(low), Some(high)) = (low, high)
            && high - low < MAX_LOG_BLOCKS
        {
            logged = self.chain.release_logs(self.vault, low, high).await?;
        }
        try_join_all(due.iter().map(|tx| {
            let logged = &logged;
            async move {
                let hash = parse_hash(&tx.tx_hash)?;
                if let Some(r) = logged.get(&hash) {
                    return Ok::<_, RelayerError>(Some(r.clone()));
                }
                Ok(self.chain.release_receipt(hash, self.vault).await?)
            }
        }))
        .await
    }
}
