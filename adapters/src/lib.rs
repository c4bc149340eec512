//! atoll-adapters: everything that talks to a chain. `evm` is the alloy adapter for every EVM
//! chain (RPC with failover, rate limits and retries; heads, finality, adaptive logs);
//! `secrets` loads the keys adapters sign with from the settings' secret references.

mod error;
pub mod evm;
pub mod secrets;
pub mod solana;

pub use error::AdapterError;
