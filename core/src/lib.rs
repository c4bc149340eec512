//! Atoll's domain types: chains, addresses, tokens, exact amounts, pool and transfer ids, and the
//! typed settings every other crate reads. No I/O happens here beyond reading the clock
//! (`time::now_ms`).

pub mod address;
pub mod amount;
pub mod chain;
pub mod error;
pub mod ids;
pub mod lending;
pub mod pool;
pub mod reason;
pub mod secret;
pub mod settings;
pub mod time;
pub mod transfer;

pub use address::Address;
pub use amount::Amount;
pub use chain::{ChainId, ChainKind};
pub use error::CoreError;
pub use ids::{PoolId, TransferId};
pub use pool::{PoolKind, Protocol};
pub use reason::Reason;
pub use secret::SecretRef;
pub use time::now_ms;
pub use transfer::TransferStatus;

/// 256-bit unsigned integer used for every on-chain amount.
pub use alloy_primitives::U256;

/// A 32-byte hash (an EVM transaction's, say).
pub use alloy_primitives::B256;
