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

use atoll_core::B256;

/// Release attempts signed for one transfer, at most, while none of the earlier ones can land
/// (EVM: reverted, or their nonce taken; Solana: failed on chain); then the transfer is `stuck`
/// until an operator retries it. Solana's expiries have their own, larger bound.
pub const MAX_ATTEMPTS: u64 = 3;

/// What one executor step did. Every list holds transfer ids, except `failed_txs`, which holds
/// release transaction hashes.
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
    /// Transfers refused, set aside (`failed` or `stuck`), found released elsewhere, failed on
    /// chain, or not signed this step, each with why: `(transfer id, why)`.
    pub failed: Vec<(String, String)>,
    /// Release transactions that failed as a whole (EVM: not sent, reverted, or their nonce
    /// taken by another transaction), each with why: `(transaction hash, why)`. The transfers
    /// they carry are followed through the transaction, not listed in `failed`.
    pub failed_txs: Vec<(B256, String)>,
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
        self.failed_txs.extend(other.failed_txs);
        self.dry_run.extend(other.dry_run);
    }
}

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
