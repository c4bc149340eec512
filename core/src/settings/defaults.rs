//! Every default of the settings in one place: what a key left out of the config means.
//!
//! Two defaults live with what they describe instead: the fixed fees of protocols
//! (`Protocol::default_fee_bps`, in `pool.rs`), and the finality policy of a chain without a
//! `[[relayer.finality]]` entry ([`FinalityPolicy::finalized_only`](super::FinalityPolicy)).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use super::FeeModel;
use crate::ChainKind;

// `[database]` --------------------------------------------------------------------------------

pub const DEFAULT_DATABASE_URL: &str = "sqlite://atoll.db?mode=rwc";

// `[api]` -------------------------------------------------------------------------------------

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8000";
/// [`DEFAULT_LISTEN`], typed: stands in for an `api.listen` that does not parse (the settings
/// are refused then, so it is never used).
pub(super) const LISTEN_PLACEHOLDER: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 8000));
/// IPv6 clients are rate-limited per /64: one customer.
pub(super) const IPV6_PREFIX: u8 = 64;

// `[[chains]]` --------------------------------------------------------------------------------

/// Blocks (EVM) or slots (Solana) behind head that count as final without a `finalized` tag.
pub(super) const fn confirmations(kind: ChainKind) -> u64 {
    match kind {
        ChainKind::Evm => 12,
        ChainKind::Solana => 32,
    }
}
pub(super) const USE_FINALIZED_TAG: bool = true;
pub(super) const RATE_LIMIT_RPS: u32 = 50;
pub(super) const START_BLOCK: u64 = 0;
pub(super) const PRIORITY_FEE_MICRO_LAMPORTS: u64 = 0;
pub(super) const MAX_GAS_PRICE_GWEI: u64 = 1_000;

/// The fee model of an EVM chain whose config names none. The one chain-id literal of the
/// settings: BSC (56) prices gas the legacy way, every other EVM chain by EIP-1559.
pub(super) const fn fee_model(chain_id: u64) -> FeeModel {
    if chain_id == 56 {
        FeeModel::Legacy
    } else {
        FeeModel::Eip1559
    }
}

// `[[factories]]` -----------------------------------------------------------------------------

pub(super) const FACTORY_START_BLOCK: u64 = 0;

// `[indexer]` ---------------------------------------------------------------------------------

pub const DEFAULT_MIN_TVL_USD: f64 = 1_000.0;
pub(super) const LOG_WINDOW_BLOCKS: u64 = 2_000;
pub(super) const MAX_BATCH_BLOCKS: u64 = 100_000;
pub(super) const POLL_INTERVAL_MS: u64 = 1_000;
pub(super) const SOLANA_SAMPLE_INTERVAL_MS: u64 = 10_000;

// `[relayer]` ---------------------------------------------------------------------------------

pub(super) const DRY_RUN: bool = false;
pub(super) const MAX_IN_FLIGHT: u32 = 4;
pub(super) const BATCH_MAX_RELEASES: u32 = 16;
pub(super) const BATCH_MAX_GAS: u64 = 5_000_000;
pub(super) const REPLACE_AFTER_S: u64 = 60;
pub(super) const MAX_FEE_MULTIPLE: f64 = 3.0;
pub(super) const POOL_RECHECK_MS: u64 = 2_000;

// `[[relayer.routes]]` ------------------------------------------------------------------------

pub(super) const ROUTE_FEE_FIXED: &str = "0";
pub(super) const RELEASE_POLICY: &str = "always";
pub(super) const PROFIT_MARGIN_PCT: f64 = 10.0;

// `[[relayer.finality]]` ----------------------------------------------------------------------

pub(super) const MAX_UNFINALIZED_USD: f64 = 0.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listen_placeholder_is_the_default_listen() {
        assert_eq!(DEFAULT_LISTEN.parse::<SocketAddr>(), Ok(LISTEN_PLACEHOLDER));
    }
}
