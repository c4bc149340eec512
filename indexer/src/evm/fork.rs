//! What both EVM streams (pools in [`super::EvmIndexer`], deposits in
//! [`super::deposits::EvmDeposits`]) share: the loop and the step that drive a stream batch by
//! batch, how a batch is known to extend the stored checkpoint and to be read from one fork,
//! and how the common ancestor is found after a reorg. Each stream rolls back only what it wrote, and finds its common ancestor among the
//! block hashes it recorded itself: the other stream may already have read the new chain at
//! heights where this one still holds the old chain's rows, so its hashes prove nothing here.
//!
//! Read it when a stream stops advancing, or rolls back further than it should.

use std::time::Duration;

use alloy::rpc::types::Log;
use atoll_adapters::evm::{BlockRef, EvmChain, LogWindow};
use atoll_core::settings::IndexerSettings;
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

/// Where a stream stands: its checkpoint, the first block it reads without one, its log
/// window, the head it reads up to and its retry wait. Every stream keeps one; [`Stream`]'s
/// accessors read it.
#[derive(Debug)]
pub(super) struct Cursor {
    pub checkpoint: Option<Checkpoint>,
    pub start_block: u64,
    pub window: LogWindow,
    pub head: u64,
    pub poll_interval: Duration,
}

impl Cursor {
    /// A stream's cursor from the indexer settings, where `checkpoint` left it.
    pub fn new(
        settings: &IndexerSettings,
        start_block: u64,
        checkpoint: Option<Checkpoint>,
    ) -> Self {
        Cursor {
            checkpoint,
            start_block,
            window: LogWindow::new(settings.log_window_blocks, settings.max_batch_blocks, 2_000),
            head: 0,
            poll_interval: settings.poll_interval,
        }
    }
}

/// A stream of one EVM chain, indexed batch by batch behind its own checkpoint. [`drive`]
/// and [`step`] do what every stream does (reading the head, the checks at the head and at a
/// batch's first block, the rollback they call for); a stream says how it reads and commits a
/// batch and how it rolls back.
pub(super) trait Stream {
    fn chain(&self) -> &EvmChain;
    fn cursor(&self) -> &Cursor;
    fn cursor_mut(&mut self) -> &mut Cursor;
    /// The wait before a failed step is tried again.
    fn poll_interval(&self) -> Duration {
        self.cursor().poll_interval
    }
    /// The wait once caught up, before the head is read again.
    fn idle_interval(&self) -> Duration {
        self.poll_interval()
    }
    fn checkpoint(&self) -> Option<&Checkpoint> {
        self.cursor().checkpoint.as_ref()
    }
    /// The first block to read when there is no checkpoint.
    fn start_block(&self) -> u64 {
        self.cursor().start_block
    }
    /// The most blocks one batch spans.
    fn window_blocks(&self) -> u64 {
        self.cursor().window.blocks
    }
    /// The head the next steps read up to.
    fn head(&self) -> u64 {
        self.cursor().head
    }
    fn set_head(&mut self, head: u64) {
        self.cursor_mut().head = head;
    }
    /// One batch from `first` (which extends the checkpoint) to `last` (read before `first`):
    /// its logs, checked with [`unchanged`], then committed with the checkpoint at `last`.
    async fn batch(&mut self, first: BlockRef, last: BlockRef) -> Result<Step, IndexerError>;
    /// Rolls the stream back to its newest stored block at or below `below_or_at` still on
    /// the chain ([`common_ancestor`]).
    async fn roll_back(&mut self, below_or_at: u64) -> Result<(), IndexerError>;
}

/// Runs `stream` until it reaches the head seen at start (`Once`) or forever (`Follow`). A
/// following stream waits out transient errors (an RPC or the database that does not answer)
/// and tries the step again after the poll interval.
pub(super) async fn drive(stream: &mut impl Stream, mode: Mode) -> Result<(), IndexerError> {
    let target = refresh_head(stream).await?;
    loop {
        let step = match step(stream, mode == Mode::Once).await {
            Ok(s) => s,
            Err(e) if mode == Mode::Follow && e.is_transient() => {
                tracing::warn!(chain = %stream.chain().name, error = %e, "indexing step failed; retrying");
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
        let reached = stream.checkpoint().map(|c| c.block_number);
        if mode == Mode::Once && reached.is_some_and(|b| b >= target) {
            return Ok(());
        }
    }
}

async fn refresh_head(stream: &mut impl Stream) -> Result<u64, IndexerError> {
    let head = stream.chain().head().await?.number;
    stream.set_head(head);
    Ok(head)
}

/// One step: the next window of blocks as one batch, or, at the head, a check that the newest
/// committed block is still the chain's (a reorg to a chain no longer than ours, as after
/// `evm_revert`).
///
/// The batch's last block is read first, and read again after the logs ([`unchanged`]): the
/// same hash vouches for everything read in between (the first block, the logs: one chain,
/// hash-linked); another hash means a reorg ran through the batch (logs of one fork, the
/// checkpoint of another, a log between them never seen), and the batch is read again.
async fn step(stream: &mut impl Stream, once: bool) -> Result<Step, IndexerError> {
    let from = stream
        .checkpoint()
        .map_or(stream.start_block(), |c| c.block_number + 1);
    if from > stream.head() && !once {
        refresh_head(stream).await?;
    }
    if from > stream.head() {
        if let Some(cp) = stream.checkpoint().cloned()
            && !still_on_chain(stream.chain(), &cp).await?
        {
            stream.roll_back(cp.block_number).await?;
            return Ok(Step::Reorged);
        }
        return Ok(Step::CaughtUp);
    }
    let to = stream
        .head()
        .min(from.saturating_add(stream.window_blocks().max(1) - 1));
    let last = stream.chain().block(to).await?;
    let first = stream.chain().block(from).await?;
    if !extends(stream.checkpoint(), &first) {
        let below = stream.checkpoint().map_or(0, |c| c.block_number);
        stream.roll_back(below).await?;
        return Ok(Step::Reorged);
    }
    stream.batch(first, last).await
}

/// Whether the chain still has `last` at its height and every log of that height carries its
/// hash: read after a batch's logs, it says they and the blocks read before them are one fork.
pub(super) async fn unchanged(
    chain: &EvmChain,
    last: &BlockRef,
    logs: &[Log],
) -> Result<bool, IndexerError> {
    Ok(chain.block(last.number).await?.hash == last.hash
        && logs
            .iter()
            .all(|l| l.block_number != Some(last.number) || l.block_hash == Some(last.hash)))
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
