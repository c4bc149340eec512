//! atoll-relayer: bridge transfers executed exactly once. So far it holds no module of its own:
//! the transfer state machine it drives is `atoll_core::transfer` (the indexer records deposits
//! in it too).

pub use atoll_core::transfer as state;
