//! atoll-indexer: per-chain ingestion of pool events and state into the store, with checkpoints
//! written in the same transaction as the data, reorg rollback to the common ancestor, token
//! prices and the yield figures of docs/indexer.md ("Yield figures"). One task per chain: a
//! chain whose RPC or config is wrong fails alone, the others keep indexing.

pub mod evm;
pub mod prices;
pub mod rows;
pub mod solana;
pub mod yields;

use std::sync::Arc;
use std::time::Duration;

use atoll_adapters::AdapterError;
use atoll_core::ChainKind;
use atoll_core::settings::Settings;
use atoll_store::{Store, StoreError};
use tokio::sync::watch;

/// The checkpoint stream pool indexing writes.
pub const POOLS_STREAM: &str = "pools";

#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    #[error(transparent)]
    Adapter(#[from] AdapterError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{chain}: {reason}")]
    Config { chain: String, reason: String },
    #[error("{chain}: log {log_index} of tx {tx}: {reason}")]
    BadLog {
        chain: String,
        tx: String,
        log_index: u64,
        reason: String,
    },
}

impl IndexerError {
    /// Whether the step that failed may succeed when tried again (a following indexer retries
    /// it after the poll interval; a one-shot run reports it).
    pub fn is_transient(&self) -> bool {
        match self {
            IndexerError::Adapter(a) => a.is_retryable(),
            IndexerError::Store(s) => s.is_retryable(),
            _ => false,
        }
    }
}

/// Where one chain's indexing stands, reported after every committed batch.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainProgress {
    pub chain: String,
    /// The checkpoint stream that advanced: [`POOLS_STREAM`], or an EVM chain's deposit stream
    /// (`atoll_adapters::capability::deposit_stream`, whose `events` are deposits recorded).
    pub stream: String,
    pub start_block: u64,
    pub block: u64,
    pub head: u64,
    pub events: u64,
    pub reorgs: u64,
    pub elapsed: Duration,
}

/// Receives progress (the CLI draws bars from it).
pub type ProgressSink = Arc<dyn Fn(&ChainProgress) + Send + Sync>;

/// What one chain's run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChainSummary {
    pub chain: String,
    /// Solana: blocks are slots, events are pool samples.
    pub by_slot: bool,
    pub from_block: u64,
    pub to_block: u64,
    pub blocks: u64,
    /// Pool events (EVM) or pool samples (Solana).
    pub events: u64,
    /// Bridge deposits recorded (new rows; on Solana rejected ones included).
    pub deposits: u64,
    /// Lending reserve updates read (EVM `ReserveDataUpdated` logs).
    pub lending_updates: u64,
    /// Pool batches committed.
    pub batches: u64,
    /// Reorgs rolled back, by the pool and the deposit streams.
    pub reorgs: u64,
    pub pools: usize,
    /// Configured pools that could not be read, each with its reason; they are skipped.
    pub pool_problems: Vec<String>,
    pub elapsed: Duration,
}

impl ChainSummary {
    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn blocks_per_s(&self) -> f64 {
        self.blocks as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Catch up to the head seen at start, then return.
    Once,
    /// Catch up, then follow the head until the process stops.
    Follow,
}

/// Longest wait between two attempts to start a chain whose endpoints do not answer.
const START_RETRY_MAX: Duration = Duration::from_secs(30);

/// Starts one chain's indexer. When following, endpoints that do not answer yet (a transient
/// error) are waited out, with backoff up to [`START_RETRY_MAX`]: a provider down when the
/// service starts must not leave its chain unindexed, and its deposits unseen, until the next
/// restart. A wrong chain id or a bad config still fails at once.
async fn start_patiently<T, F, Fut>(
    mode: Mode,
    chain: &str,
    mut start: F,
) -> Result<T, IndexerError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, IndexerError>>,
{
    let mut wait = Duration::from_millis(500);
    loop {
        match start().await {
            Err(e) if mode == Mode::Follow && e.is_transient() => {
                tracing::warn!(
                    chain,
                    error = %e,
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "cannot start indexing yet; trying again"
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(START_RETRY_MAX);
            }
            r => return r,
        }
    }
}

/// Indexes the named chains (all when `only` is empty), each in its own task. Returns one
/// result per chain: an error on one chain does not stop the others. Runs until done (`Once`)
/// or forever (`Follow`); [`run_until`] takes a stop signal.
pub async fn run(
    settings: &Settings,
    store: &Store,
    only: &[String],
    mode: Mode,
    progress: ProgressSink,
) -> Vec<(String, Result<ChainSummary, IndexerError>)> {
    // A sender kept alive for the whole run: the signal never comes.
    let (_never, shutdown) = watch::channel(false);
    run_until(settings, store, only, mode, progress, shutdown).await
}

/// [`run`], stopping every chain when `shutdown` turns `true` (as the relayer's tasks and the
/// API stop). A chain is stopped where it is: each batch commits with its checkpoint in one
/// transaction, so a batch cut short is indexed again on the next start, never half-written.
/// A stopped chain reports an empty summary.
pub async fn run_until(
    settings: &Settings,
    store: &Store,
    only: &[String],
    mode: Mode,
    progress: ProgressSink,
    shutdown: watch::Receiver<bool>,
) -> Vec<(String, Result<ChainSummary, IndexerError>)> {
    let mut tasks = Vec::new();
    for chain in &settings.chains {
        if !only.is_empty() && !only.contains(&chain.name) {
            continue;
        }
        let name = chain.name.clone();
        let work = index_chain(
            settings.clone(),
            chain.clone(),
            store.clone(),
            progress.clone(),
            mode,
        );
        let mut shutdown = shutdown.clone();
        let stopped = ChainSummary {
            chain: name.clone(),
            ..Default::default()
        };
        let task = tokio::spawn(async move {
            tokio::select! {
                r = work => r,
                _ = shutdown.wait_for(|stop| *stop) => Ok(stopped),
            }
        });
        tasks.push((name, task));
    }
    let mut out = Vec::new();
    for (name, task) in tasks {
        let result = match task.await {
            Ok(r) => r,
            Err(e) => Err(IndexerError::Config {
                chain: name.clone(),
                reason: format!("indexer task ended abnormally: {e}"),
            }),
        };
        if let Err(e) = &result {
            tracing::error!(chain = %name, error = %e, "chain indexing stopped");
        }
        out.push((name, result));
    }
    out
}

/// One chain's indexer, started patiently and run in `mode`. The one place the indexer looks
/// at a chain's kind: pool events and deposits come from logs on EVM chains (two streams, run
/// side by side: deposits never wait for a pool batch), from accounts and vault transactions on
/// Solana.
async fn index_chain(
    settings: Settings,
    chain: atoll_core::settings::ChainSettings,
    store: Store,
    progress: ProgressSink,
    mode: Mode,
) -> Result<ChainSummary, IndexerError> {
    match chain.kind {
        ChainKind::Evm => index_evm_chain(&settings, &chain, &store, &progress, mode).await,
        ChainKind::Solana => {
            let mut indexer = start_patiently(mode, &chain.name, || {
                solana::SolanaIndexer::start(&settings, &chain, store.clone(), progress.clone())
            })
            .await?;
            indexer.run(mode).await
        }
    }
}

/// An EVM chain's three streams, pools, deposits and lending markets, side by side. Each
/// starts and fails alone: a pool batch (or a stored pool) that cannot be indexed must not stop
/// the chain's deposits, nor the other way round; a failure is logged when it happens. The
/// summary is the pools', with the deposits recorded, the lending updates read, the reserves
/// among the pools and the reorgs of all three.
async fn index_evm_chain(
    settings: &Settings,
    chain: &atoll_core::settings::ChainSettings,
    store: &Store,
    progress: &ProgressSink,
    mode: Mode,
) -> Result<ChainSummary, IndexerError> {
    let index_pools = async {
        let r = async {
            start_patiently(mode, &chain.name, || {
                evm::EvmIndexer::start(settings, chain, store.clone(), progress.clone())
            })
            .await?
            .run(mode)
            .await
        }
        .await;
        if let Err(e) = &r {
            tracing::error!(chain = %chain.name, error = %e, "pool indexing stopped");
        }
        r
    };
    let follow_deposits = async {
        let r = async {
            let started = start_patiently(mode, &chain.name, || {
                evm::deposits::EvmDeposits::start(settings, chain, store.clone(), progress.clone())
            })
            .await?;
            match started {
                Some(mut d) => d.run(mode).await,
                None => Ok(evm::deposits::DepositsSummary::default()),
            }
        }
        .await;
        if let Err(e) = &r {
            tracing::error!(chain = %chain.name, error = %e, "deposit indexing stopped");
        }
        r
    };
    let follow_lending = async {
        let r = async {
            let started = start_patiently(mode, &chain.name, || {
                evm::lending::EvmLending::start(settings, chain, store.clone(), progress.clone())
            })
            .await?;
            match started {
                Some(mut l) => l.run(mode).await,
                None => Ok(evm::lending::LendingSummary::default()),
            }
        }
        .await;
        if let Err(e) = &r {
            tracing::error!(chain = %chain.name, error = %e, "lending indexing stopped");
        }
        r
    };
    let (summary, deposits, lending) = tokio::join!(index_pools, follow_deposits, follow_lending);
    let (mut summary, deposits, lending) = (summary?, deposits?, lending?);
    summary.deposits = deposits.deposits;
    summary.reorgs += deposits.reorgs + lending.reorgs;
    summary.lending_updates = lending.updates;
    summary.pools += lending.reserves;
    Ok(summary)
}
