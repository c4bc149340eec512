//! atoll-devnet: a real local devnet. anvil as Ethereum (chain 1) and BSC (chain 56) with the
//! real Uniswap V2/V3 bytecode and Atoll's BridgeVault; solana-test-validator with SPL mints,
//! the relayer's vault token accounts and pool accounts in Orca Whirlpool and Raydium CPMM
//! layouts. Used by `atoll devnet`, the demo and every integration test.

pub mod aave;
pub mod aave_rewards;
pub mod comet;
pub mod config;
pub mod contracts;
mod error;
pub mod evm;
pub mod fault_proxy;
pub mod network;
pub mod ports;
pub mod process;
pub mod solana;
pub mod state;
pub mod tools;
pub mod traffic;

pub use error::DevnetError;
pub use network::{Devnet, PortChoice, UpOptions};
pub use state::DevnetState;

/// Writes a secret (a key) to `path` with mode 0600.
pub(crate) fn write_secret(path: &std::path::Path, text: &str) -> Result<(), DevnetError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(DevnetError::io(parent))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(DevnetError::io(path))?;
    f.write_all(text.as_bytes()).map_err(DevnetError::io(path))
}
