//! atoll-adapters: everything that talks to a chain. `evm` is the alloy adapter for every EVM
//! chain (RPC with failover, rate limits and retries; heads, finality, adaptive logs);
//! `solana` the solana-client adapter (accounts, deposits, releases); `capability` the traits
//! both implement; `secrets` loads the keys adapters sign with from the settings' secret
//! references.

pub mod capability;
mod error;
pub mod evm;
pub mod metrics;
pub mod redact;
pub mod secrets;
pub mod solana;

pub use error::AdapterError;

/// The indexer's checkpoint stream of the deposits into `vault` (an EVM `BridgeVault`, a Solana
/// vault token account): the name the indexer writes and the audit reads, so both say which
/// blocks have been scanned for deposits.
pub fn deposit_stream(vault: &impl std::fmt::Display) -> String {
    format!("deposits:{vault}")
}
