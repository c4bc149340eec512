//! atoll-relayer: bridge transfers executed exactly once. Built so far: `intake`, what a deposit
//! must satisfy before anything is signed and the release it becomes; `gate`, which moves
//! recorded deposits to `source_final` once their source is final enough for their value;
//! `solana_executor`, which releases on Solana exactly once (the EVM executor is next). The
//! transfer state machine it drives is `atoll_core::transfer` (the indexer records deposits in
//! it too).

pub mod gate;
pub mod intake;
pub mod solana_executor;

pub use atoll_core::transfer as state;

#[derive(Debug, thiserror::Error)]
pub enum RelayerError {
    #[error(transparent)]
    Adapter(#[from] atoll_adapters::AdapterError),
    #[error(transparent)]
    Store(#[from] atoll_store::StoreError),
    #[error("config: {0}")]
    Config(String),
}
