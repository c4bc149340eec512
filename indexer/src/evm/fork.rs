//! What both EVM streams (pools in [`super::EvmIndexer`], deposits in
//! [`super::deposits::EvmDeposits`]) share: the loop that drives a stream batch by batch, how a
//! batch is known to extend the stored checkpoint, and how the common ancestor is found after a
//! reorg. Each stream rolls back only what it wrote, and finds its common ancestor among the
//! block hashes it recorded itself: the other stream may already have read the new chain at
//! heights where this one still holds the old chain's rows, so its hashes prove nothing here.
//!
//! Read it when a stream stops advancing, or rolls back further than it should.

use std::time::Duration;

use atoll_adapters::evm::{BlockRef, EvmChain};
use atoll_store::ingest::BlockHashRow;
use atoll_store::{Checkpoint, Store};

use crate::{IndexerError, Mode};

/// Stored block hashes kept per chain: a reorg deeper than this re-ingests from the oldest.
pub(super) const BLOCK_HASHES_KEPT: u64 = 4_096;

/// One step of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Advanced,
    Reorged,
    CaughtUp,
}

/// A stream of one EVM chain, indexed batch by batch behind its own checkpoint.
pub(super) trait Stream {
    /// The chain's name, for logs.
    fn chain_name(&self) -> &str;
    /// The wait before a failed step is tried again.
    fn poll_interval(&self) -> Duration;
    /// The wait once caught up, before the head is read again.
    fn idle_interval(&self) -> Duration {
        self.poll_interval()
    }
    /// The newest block committed, if any.
    fn reached(&self) -> Option<u64>;
    /// Reads the chain's head and remembers it as the target of the next steps.
    async fn refresh_head(&mut self) -> Result<u64, IndexerError>;
    /// One batch: read, checked against reorgs, committed with the checkpoint.
    async fn step(&mut self, once: bool) -> Result<Step, IndexerError>;
}

/// Runs `stream` until it reaches the head seen at start (`Once`) or forever (`Follow`). A
/// following stream waits out transient errors (an RPC or the database that does not answer)
/// and tries the step again after the poll interval.
pub(super) async fn drive(stream: &mut impl Stream, mode: Mode) -> Result<(), IndexerError> {
    let target = stream.refresh_head().await?;
    loop {
        let step = match stream.step(mode == Mode::Once).await {
            Ok(s) => s,
            Err(e) if mode == Mode::Follow && e.is_transient() => {
                tracing::warn!(chain = %stream.chain_name(), error = %e, "indexing step failed; retrying");
                tokio::time::sleep(stream.poll_interval()).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        match step {
            Step::Advanced | Step::Reorged => {}
            Step::CaughtUp if mode == Mode::Once => return Ok(()),
            Step::CaughtUp => tokio::time::sleep(stream.idle_interval()).await,
        }
        if mode == Mode::Once && stream.reached().is_some_and(|b| b >= target) {
            return Ok(());
        }
    }
}

/// Whether `first`, a batch's first block, extends the stored checkpoint (always, when there
/// is none yet).
pub(super) fn extends(checkpoint: Option<&Checkpoint>, first: &BlockRef) -> bool {
    checkpoint.is_none_or(|cp| format!("{:#x}", first.parent_hash) == cp.block_hash)
}

/// Whether the checkpoint's block is still the chain's block at its height (nothing new to
/// read, but the chain may have replaced our newest block, as after `evm_revert`).
pub(super) async fn still_on_chain(
    chain: &EvmChain,
    checkpoint: &Checkpoint,
) -> Result<bool, IndexerError> {
    Ok(block_hash_at(chain, checkpoint.block_number)
        .await?
        .as_deref()
        == Some(checkpoint.block_hash.as_str()))
}

/// The newest block `stream` stored at or below `below_or_at` that the chain still has: where
/// the stream rolls back to. `None` when none of its stored blocks is still on the chain.
pub(super) async fn common_ancestor(
    chain: &EvmChain,
    store: &Store,
    stream: &str,
    below_or_at: u64,
) -> Result<Option<Checkpoint>, IndexerError> {
    let stored = store
        .block_hashes_below(chain.chain_id, stream, below_or_at, BLOCK_HASHES_KEPT)
        .await?;
    for row in stored {
        if block_hash_at(chain, row.number).await?.as_deref() == Some(row.hash.as_str()) {
            return Ok(Some(Checkpoint {
                block_number: row.number,
                block_hash: row.hash,
            }));
        }
    }
    Ok(None)
}

/// The hash of block `number` as the chain has it now; `None` when the chain is shorter.
async fn block_hash_at(chain: &EvmChain, number: u64) -> Result<Option<String>, IndexerError> {
    match chain.block(number).await {
        Ok(b) => Ok(Some(format!("{:#x}", b.hash))),
        Err(atoll_adapters::AdapterError::BlockNotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn block_row(b: &BlockRef) -> BlockHashRow {
    BlockHashRow {
        number: b.number,
        hash: format!("{:#x}", b.hash),
        parent_hash: format!("{:#x}", b.parent_hash),
    }
}

/// The checkpoint a batch ending at `last` commits.
pub(super) fn checkpoint_at(last: &BlockRef) -> Checkpoint {
    Checkpoint {
        block_number: last.number,
        block_hash: format!("{:#x}", last.hash),
    }
}
