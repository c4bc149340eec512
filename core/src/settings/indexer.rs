//! The `[indexer]` section: what the indexer keeps, and how much it reads at a time and how
//! often.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Problems, defaults};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIndexer {
    /// Pools whose TVL is below this are kept but left out of results (`dropped_reason`).
    pub min_tvl_usd: Option<f64>,
    /// Blocks asked for in the first `eth_getLogs` of a backfill (the window then adapts).
    pub log_window_blocks: Option<u64>,
    /// Upper bound of one batch (and of the log window), in blocks.
    pub max_batch_blocks: Option<u64>,
    /// How often a caught-up indexer polls the head (EVM: for deposits; Solana: deposit scans).
    pub poll_interval_ms: Option<u64>,
    /// EVM: how often a following indexer commits a pool batch (the swaps since the last one,
    /// every pool sampled at its end) once caught up; the vault's deposits are read every
    /// poll all the same. Defaults to `poll_interval_ms`.
    pub evm_pool_batch_interval_ms: Option<u64>,
    /// Solana: how often a following indexer samples pool accounts (state changes every slot;
    /// one sample per interval is what yields need). Deposits are scanned every poll.
    pub solana_sample_interval_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexerSettings {
    pub min_tvl_usd: f64,
    pub log_window_blocks: u64,
    pub max_batch_blocks: u64,
    pub poll_interval: Duration,
    pub evm_pool_batch_interval: Duration,
    pub solana_sample_interval: Duration,
}

impl RawIndexer {
    /// `path` is this section's key (`indexer`).
    pub(super) fn validate(&self, path: &str, p: &mut Problems) -> IndexerSettings {
        let min_tvl_usd = self.min_tvl_usd.unwrap_or(defaults::DEFAULT_MIN_TVL_USD);
        if !(min_tvl_usd.is_finite() && min_tvl_usd >= 0.0) {
            p.push(
                format!("{path}.min_tvl_usd"),
                format!("must be a finite number >= 0 (got {min_tvl_usd})"),
            );
        }
        let log_window_blocks = self
            .log_window_blocks
            .unwrap_or(defaults::LOG_WINDOW_BLOCKS);
        if !(1..=1_000_000).contains(&log_window_blocks) {
            p.push(
                format!("{path}.log_window_blocks"),
                format!("must be between 1 and 1000000 (got {log_window_blocks})"),
            );
        }
        let max_batch_blocks = self.max_batch_blocks.unwrap_or(defaults::MAX_BATCH_BLOCKS);
        if !(1..=1_000_000).contains(&max_batch_blocks) {
            p.push(
                format!("{path}.max_batch_blocks"),
                format!("must be between 1 and 1000000 (got {max_batch_blocks})"),
            );
        }
        let poll_ms = self.poll_interval_ms.unwrap_or(defaults::POLL_INTERVAL_MS);
        if poll_ms == 0 {
            p.push(format!("{path}.poll_interval_ms"), "must be > 0");
        }
        let pool_batch_ms = self.evm_pool_batch_interval_ms.unwrap_or(poll_ms);
        if pool_batch_ms == 0 {
            p.push(format!("{path}.evm_pool_batch_interval_ms"), "must be > 0");
        }
        let sample_ms = self
            .solana_sample_interval_ms
            .unwrap_or(defaults::SOLANA_SAMPLE_INTERVAL_MS);
        IndexerSettings {
            min_tvl_usd,
            // The window never exceeds a batch.
            log_window_blocks: log_window_blocks.min(max_batch_blocks),
            max_batch_blocks,
            poll_interval: Duration::from_millis(poll_ms),
            evm_pool_batch_interval: Duration::from_millis(pool_batch_ms),
            solana_sample_interval: Duration::from_millis(sample_ms),
        }
    }
}
