//! atoll-relayer: bridge transfers executed exactly once. `intake`: what a deposit must satisfy
//! before anything is signed and the release it becomes; `gate`: recorded deposits move to
//! `source_final` once their source is final enough for their value; `evm_executor` and
//! `solana_executor`: one per destination chain, releasing exactly once; `run`: all of them as
//! concurrent tasks until shutdown; `status`: the operator's view per chain. The transfer state machine it drives is
//! `atoll_core::transfer` (the indexer records deposits in it too).

pub mod audit;
pub mod evm_executor;
pub mod gate;
pub mod intake;
pub mod profit;
pub mod retry;
pub mod run;
pub mod solana_executor;
pub mod status;
pub mod treasury;

/// Release attempts signed for one transfer, at most, while none of the earlier ones can land
/// (EVM: reverted, or their nonce taken; Solana: failed on chain); then the transfer is `stuck`
/// until an operator retries it. Solana's expiries have their own, larger bound.
pub const MAX_ATTEMPTS: u64 = 3;

/// What one executor step did, by transfer id (transaction hash for whole-transaction
/// failures).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutorReport {
    pub sent: Vec<String>,
    pub resent: Vec<String>,
    /// Replaced at the same nonce (EVM) with a higher fee.
    pub replaced: Vec<String>,
    pub included: Vec<String>,
    pub confirmed: Vec<String>,
    pub awaiting_liquidity: Vec<String>,
    /// Held back by a `when_profitable` route: the fee does not cover the gas now.
    pub awaiting_gas: Vec<String>,
    pub failed: Vec<(String, String)>,
    /// Signed in dry-run mode: neither persisted nor sent.
    pub dry_run: Vec<String>,
}

impl ExecutorReport {
    pub fn is_idle(&self) -> bool {
        *self == ExecutorReport::default()
    }

    /// Adds what `other` did to this report.
    pub fn absorb(&mut self, other: ExecutorReport) {
        self.sent.extend(other.sent);
        self.resent.extend(other.resent);
        self.replaced.extend(other.replaced);
        self.included.extend(other.included);
        self.confirmed.extend(other.confirmed);
        self.awaiting_liquidity.extend(other.awaiting_liquidity);
        self.awaiting_gas.extend(other.awaiting_gas);
        self.failed.extend(other.failed);
        self.dry_run.extend(other.dry_run);
    }
}

pub use atoll_core::transfer as state;

#[derive(Debug, thiserror::Error)]
pub enum RelayerError {
    #[error(transparent)]
    Adapter(#[from] atoll_adapters::AdapterError),
    #[error(transparent)]
    Store(#[from] atoll_store::StoreError),
    #[error("config: {0}")]
    Config(String),
    /// A request that cannot be carried out as asked (the message names the argument).
    #[error("{0}")]
    Refused(String),
}
