//! Bridge transfers as the indexer records them: one row per deposit seen on a source chain,
//! keyed by its `TransferId` (and unique on source chain, tx and index), so scanning the same
//! range again inserts nothing twice. A transfer into a vault that cannot be released (missing
//! or malformed memo) is stored as `failed` with its reason, so the operator sees the funds.
//!
//! A deposit whose block leaves the canonical chain while it waits for its release (`observed`,
//! `source_final`, `awaiting_liquidity`, `awaiting_gas`, `paused`) becomes `failed` with the
//! reason [`Reason::ReorgedOut`](atoll_core::Reason::ReorgedOut); when the new chain holds a
//! deposit with the same id, recording it revives the row (`failed → observed`, the one move
//! outside the state machine's edges, allowed only here: nothing was ever signed for it).
//!
//! Every status a transfer takes is also a row of `transfer_history` with its reason, written
//! in the transaction of the change itself; [`Store::transition`](crate::Store::transition)
//! moves a transfer only from the status its caller saw (compare-and-set) and only along the
//! state machine's edges.
//!
//! This file only names the parts and keeps their public paths (`atoll_store::transfers::…`);
//! read the one that answers the question at hand:
//! - `transfers/rows.rs`: the types ([`Transfer`], [`QueuedRelease`], [`Attempt`],
//!   [`DepositRow`], …) and how a stored row reads as them;
//! - `transfers/deposits.rs`: deposits recorded by the indexer, orphaned by a reorg's rollback
//!   and revived when the new chain has them again;
//! - `transfers/moves.rs`: one transfer's moves (transition, approval, signing, retry, releasing
//!   a stuck transfer) and pausing a chain;
//! - `transfers/status_write.rs`: the compare-and-set and the history row under those moves, and
//!   `status_is`, the status check of every compare-and-set (batch moves in `release_txs` too);
//! - `transfers/queue.rs`: what executors read (the release queue, release attempts);
//! - `transfers/reads.rs`: whole transfers, counts per route and status, chain states.
//!
//! Batch moves of a release transaction are in [`crate::release_txs`], history reads in
//! [`crate::history`].
//!
//! Dependencies go one way: `deposits`, `moves`, `queue` and `reads` use `rows` (and the first
//! two `status_write`); none of them uses this file or another of them.

mod deposits;
mod moves;
mod queue;
mod reads;
mod rows;
mod status_write;

pub(crate) use deposits::orphan_deposits_above;
pub use rows::{
    Attempt, DepositRow, PlannedRelease, QueuedRelease, SignedAttempt, Transfer, TransferCount,
};
pub(crate) use rows::{QueuedRow, typed};
pub(crate) use status_write::status_is;
