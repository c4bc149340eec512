//! Confirmation at finality: a mined release transaction whose block is at or below the
//! chain's finalized block is read again (a destination reorg may have taken it out), and its
//! transfers become `confirmed`, or go back to waiting on the same transaction. Each block's
//! transaction list is read once; the step's confirmations are one database transaction.

use std::collections::{BTreeSet, HashMap};

use alloy::primitives::B256;

use atoll_core::{Reason, TransferStatus};
use atoll_store::release_txs::{ReleaseTxStatus, ReleaseWrite, TrackedReleaseTx};
use futures::future::try_join_all;

use super::follow::tx_write;
use super::{Ctx, ids_in};
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
            .release_txs(self.chain_id, ReleaseTxStatus::Mined)
            .await?;
        if mined.is_empty() {
            return Ok(());
        }
        let finalized = self.chain.finalized().await?.number;
        let block_of = |b: Option<u64>| b.unwrap_or(u64::MAX);
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
        let hashes: Vec<B256> = due.iter().map(|t| t.tx_hash).collect();
        let carried = self.store.transfers_carried_by_each(&hashes).await?;
        let carried_ms = started.elapsed().as_millis();
        let mut writes = Vec::new();
        for (tx, block) in due.iter().zip(blocks) {
            let included = carried
                .get(&tx.tx_hash)
                .map(|c| ids_in(c, TransferStatus::Included))
                .unwrap_or_default();
            match confirm_verdict(block, tx.block_number, finalized) {
                ConfirmVerdict::Final(number) => {
                    writes.push(ReleaseWrite::Move {
                        ids: included.clone(),
                        from: TransferStatus::Included,
                        to: TransferStatus::Confirmed,
                        reason: Reason::BlockFinal { block: number },
                        tx_hash: Some(tx.tx_hash),
                    });
                    writes.push(tx_write(
                        tx.tx_hash,
                        ReleaseTxStatus::Final,
                        Some(number),
                        None,
                    ));
                    report
                        .confirmed
                        .extend(included.iter().map(ToString::to_string));
                }
                ConfirmVerdict::NotYet => {}
                // Gone from its block, or mined again in another one (a reorg): followed
                // again from the same transaction, so what it did in the block it is in now
                // (each entry's `TransferReleased` or `ReleaseFailed`) settles its transfers.
                ConfirmVerdict::Moved(now) => {
                    let why = Reason::LeftBlock {
                        tx: tx.tx_hash,
                        block: block_of(tx.block_number),
                        now,
                    };
                    tracing::warn!(chain = %self.chain.name, "{why}");
                    writes.push(ReleaseWrite::Move {
                        ids: included,
                        from: TransferStatus::Included,
                        to: TransferStatus::Broadcast,
                        reason: why.clone(),
                        tx_hash: Some(tx.tx_hash),
                    });
                    writes.push(tx_write(
                        tx.tx_hash,
                        ReleaseTxStatus::Pending,
                        None,
                        Some(why),
                    ));
                }
            }
        }
        self.store.apply_release_writes(&writes).await?;
        tracing::debug!(chain = %self.chain.name, located_ms, carried_ms, written_ms = started.elapsed().as_millis(), "final transactions confirmed");
        Ok(())
    }
}

/// What confirmation does with a mined release transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConfirmVerdict {
    /// Still in the block it was settled from, and that block is final.
    Final(u64),
    /// In the block it was settled from, not final yet (it moved below finality meanwhile).
    NotYet,
    /// Not in the block it was settled from: in another (`Some`) or none. Its transfers were
    /// settled from logs that are no longer the chain's.
    Moved(Option<u64>),
}

/// `now`: the block the transaction is in now (`None`: in none); `settled_in`: the block its
/// transfers were settled from; `finalized`: the chain's finalized block.
pub(crate) fn confirm_verdict(
    now: Option<u64>,
    settled_in: Option<u64>,
    finalized: u64,
) -> ConfirmVerdict {
    match now {
        Some(n) if Some(n) != settled_in => ConfirmVerdict::Moved(Some(n)),
        Some(n) if n <= finalized => ConfirmVerdict::Final(n),
        Some(_) => ConfirmVerdict::NotYet,
        None => ConfirmVerdict::Moved(None),
    }
}

impl Ctx<'_> {
    /// The block each of `due` is in now, in order: from the transaction lists of the blocks
    /// they were mined in (one request a block), then the receipt of each not found there
    /// (moved by a reorg, or gone). The logs were read when the transactions were settled;
    /// finality only needs to know they are still there.
    async fn blocks_of(&self, due: &[TrackedReleaseTx]) -> Result<Vec<Option<u64>>, RelayerError> {
        let numbers: BTreeSet<u64> = due.iter().filter_map(|t| t.block_number).collect();
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
                let hash = tx.tx_hash;
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

#[cfg(test)]
mod tests {
    use super::{ConfirmVerdict, confirm_verdict};

    #[test]
    fn only_the_block_it_was_settled_from_confirms() {
        assert_eq!(
            confirm_verdict(Some(10), Some(10), 12),
            ConfirmVerdict::Final(10)
        );
        assert_eq!(
            confirm_verdict(Some(10), Some(10), 9),
            ConfirmVerdict::NotYet
        );
        // Mined again in block 11 after a reorg, even below finality: settled again first.
        assert_eq!(
            confirm_verdict(Some(11), Some(10), 20),
            ConfirmVerdict::Moved(Some(11))
        );
        assert_eq!(
            confirm_verdict(None, Some(10), 20),
            ConfirmVerdict::Moved(None)
        );
    }
}
