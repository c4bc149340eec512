//! atoll-relayer: bridge transfers executed exactly once. Built so far: `intake`, what a deposit
//! must satisfy before anything is signed and the release it becomes. The transfer state
//! machine it drives is `atoll_core::transfer` (the indexer records deposits in it too).

pub mod intake;

pub use atoll_core::transfer as state;
