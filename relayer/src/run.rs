//! The relayer as a service: for every configured chain, a gate task (its deposits, as the
//! source) and an executor task (releases bound for it), each on its own tokio task, so a
//! chain whose RPC is dead slows only its own tasks. Each task steps until there is nothing to
//! do, then polls; an error is logged and retried with backoff, never fatal to the others.
//! Shutdown lets every task finish its current step (all state is persisted at each step, so
//! being killed instead is safe too: that is what restart reconciliation is for).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use atoll_adapters::evm::{EvmChain, RetryPolicy};
use atoll_adapters::solana::SolanaChain;
use atoll_core::settings::Settings;
use atoll_core::{Address, ChainKind};
use atoll_store::Store;
use tokio::sync::watch;

use crate::evm_executor::EvmExecutor;
use crate::solana_executor::SolanaExecutor;
use crate::{ExecutorReport, RelayerError};

/// How often idle tasks look again, and the longest backoff after errors.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub poll_interval: Duration,
    pub max_backoff: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            poll_interval: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// Waits `d`, or less when shutdown is asked; true when it was.
async fn pause(d: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}

fn backoff(options: &RunOptions, errors: u32) -> Duration {
    options
        .poll_interval
        .saturating_mul(1u32 << errors.min(8))
        .min(options.max_backoff)
}

fn log_step(chain: &str, r: &ExecutorReport) {
    if r.is_idle() {
        return;
    }
    tracing::info!(
        chain,
        sent = r.sent.len(),
        resent = r.resent.len(),
        replaced = r.replaced.len(),
        included = r.included.len(),
        confirmed = r.confirmed.len(),
        awaiting_liquidity = r.awaiting_liquidity.len(),
        awaiting_gas = r.awaiting_gas.len(),
        failed = r.failed.len(),
        failed_txs = r.failed_txs.len(),
        dry_run = r.dry_run.len(),
        "executor step"
    );
    for (transfer, why) in &r.failed {
        tracing::warn!(chain, %transfer, %why, "release problem");
    }
    for (tx, why) in &r.failed_txs {
        tracing::warn!(chain, %tx, %why, "release transaction problem");
    }
}

/// Runs gates and executors for every configured chain until `shutdown` turns true.
pub async fn run(
    settings: Arc<Settings>,
    store: Store,
    options: RunOptions,
    shutdown: watch::Receiver<bool>,
) -> Result<(), RelayerError> {
    for chain in &settings.chains {
        keys_apart(chain)?;
    }
    decimals_agree(&settings).await?;
    let mut tasks = tokio::task::JoinSet::new();
    for chain in &settings.chains {
        let name = chain.name.clone();
        let source = atoll_adapters::capability::connect(chain, RetryPolicy::default())?;
        tasks.spawn(gate_task(
            settings.clone(),
            store.clone(),
            name.clone(),
            source,
            options,
            shutdown.clone(),
        ));
        match release_task(&settings, &store, chain, options, &shutdown)? {
            Some(task) => {
                tasks.spawn(task);
            }
            None => {
                tracing::warn!(chain = %name, "no relayer_key (or, on EVM, no bridge_vault): nothing is released on this chain");
            }
        }
    }
    let mut first_error = None;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "relayer task stopped");
                first_error.get_or_insert(e);
            }
            Err(e) => {
                tracing::error!(error = %e, "relayer task panicked");
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// The relayer's and the treasury's keys of a chain are different keys: two references (an
/// `env:` and a `file:`) may hold the same one, which `config check` cannot see. Sharing one
/// key would mix the treasury's deposits into the relayer's nonces and funds.
fn keys_apart(chain: &atoll_core::settings::ChainSettings) -> Result<(), RelayerError> {
    let (Some(relayer), Some(treasury)) = (&chain.relayer_key, &chain.treasury_key) else {
        return Ok(());
    };
    let adapter = atoll_adapters::capability::connect(chain, RetryPolicy::default())?;
    let same = adapter.address_of(relayer)? == adapter.address_of(treasury)?;
    if same {
        return Err(RelayerError::Config(format!(
            "chains.{}: relayer_key and treasury_key hold the same key; give the treasury its own",
            chain.name
        )));
    }
    Ok(())
}

/// Every configured token's decimals are what its chain says (`decimals()`, the mint's): a
/// wrong figure would scale every amount out by a power of ten. A mismatch refuses to start; a
/// chain that does not answer now is only logged (it must not stop the others), and its
/// tokens are checked at the next start.
async fn decimals_agree(settings: &Settings) -> Result<(), RelayerError> {
    let mut wrong = Vec::new();
    for chain in &settings.chains {
        let configured: Vec<(&str, &Address, u8)> = settings
            .tokens
            .iter()
            .flat_map(|t| {
                t.deployments
                    .iter()
                    .filter(|d| d.chain == chain.name)
                    .map(|d| (t.symbol.as_str(), &d.address, d.decimals))
            })
            .collect();
        if configured.is_empty() {
            continue;
        }
        let addresses: Vec<Address> = configured.iter().map(|(_, a, _)| **a).collect();
        let adapter = atoll_adapters::capability::connect(chain, RetryPolicy::default())?;
        let on_chain = match adapter.decimals(&addresses).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(chain = %chain.name, error = %e, "token decimals not checked: the chain did not answer");
                continue;
            }
        };
        for ((symbol, address, set), read) in configured.iter().zip(on_chain) {
            match read {
                Some(read) if read != *set => wrong.push(format!(
                    "{symbol} ({address}) on {}: decimals {set} in the config, {read} on chain",
                    chain.name
                )),
                Some(_) => {}
                None => {
                    tracing::warn!(chain = %chain.name, token = %symbol, %address, "decimals not checked: the token did not answer decimals()");
                }
            }
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(RelayerError::Config(format!(
            "token decimals differ from the chains': {}",
            wrong.join("; ")
        )))
    }
}

async fn gate_task(
    settings: Arc<Settings>,
    store: Store,
    name: String,
    chain: Arc<dyn atoll_adapters::capability::Chain>,
    options: RunOptions,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), RelayerError> {
    let mut errors = 0u32;
    loop {
        let result = crate::gate::pass(&settings, &store, &name, chain.as_ref()).await;
        let wait = match result {
            Ok(r) => {
                errors = 0;
                if !r.approved.is_empty() || !r.refused.is_empty() {
                    tracing::info!(chain = %name, approved = r.approved.len(), refused = r.refused.len(), waiting = r.waiting.len(), "finality gate");
                }
                for (id, why) in &r.refused {
                    tracing::warn!(chain = %name, transfer = %id, %why, "deposit refused");
                }
                options.poll_interval
            }
            Err(e) => {
                errors = errors.saturating_add(1);
                tracing::warn!(chain = %name, error = %e, "finality gate failed; retrying");
                backoff(&options, errors)
            }
        };
        if pause(wait, &mut shutdown).await {
            return Ok(());
        }
    }
}

/// One destination chain's executor, as the run loop drives it.
trait Executor {
    fn step(&mut self) -> impl Future<Output = Result<ExecutorReport, RelayerError>> + Send;
}

impl Executor for EvmExecutor<'_> {
    fn step(&mut self) -> impl Future<Output = Result<ExecutorReport, RelayerError>> + Send {
        EvmExecutor::step(self)
    }
}

impl Executor for SolanaExecutor<'_> {
    fn step(&mut self) -> impl Future<Output = Result<ExecutorReport, RelayerError>> + Send {
        SolanaExecutor::step(self)
    }
}

/// Steps an executor until shutdown: at once again after a step that sent or included
/// something (more may be ready), after the poll interval when idle, with backoff on errors.
async fn step_until_shutdown<E: Executor>(
    name: &str,
    executor: &mut E,
    options: RunOptions,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), RelayerError> {
    let mut errors = 0u32;
    loop {
        let wait = match executor.step().await {
            Ok(r) => {
                errors = 0;
                log_step(name, &r);
                if r.sent.is_empty() && r.included.is_empty() {
                    options.poll_interval
                } else {
                    Duration::ZERO
                }
            }
            Err(e) => {
                errors = errors.saturating_add(1);
                tracing::warn!(chain = %name, error = %e, "executor step failed; retrying");
                backoff(&options, errors)
            }
        };
        if pause(wait, &mut shutdown).await {
            return Ok(());
        }
    }
}

/// The task that releases into `chain`, `None` when it has nothing to release with (no
/// relayer key; on EVM no vault either). The one place the relayer looks at a chain's kind:
/// each kind has its executor (nonces and batches on EVM, claim accounts on Solana), and the
/// task drives either through [`Executor`].
fn release_task(
    settings: &Arc<Settings>,
    store: &Store,
    chain: &atoll_core::settings::ChainSettings,
    options: RunOptions,
    shutdown: &watch::Receiver<bool>,
) -> Result<Option<ReleaseTask>, RelayerError> {
    if chain.relayer_key.is_none() {
        return Ok(None);
    }
    let (settings, store, name) = (settings.clone(), store.clone(), chain.name.clone());
    let shutdown = shutdown.clone();
    Ok(match chain.kind {
        ChainKind::Evm if chain.bridge_vault.is_none() => None,
        ChainKind::Evm => {
            let adapter = EvmChain::new(chain, RetryPolicy::default())?;
            Some(Box::pin(async move {
                let mut executor = EvmExecutor::new(&settings, &store, &adapter, &name)?;
                step_until_shutdown(&name, &mut executor, options, shutdown).await
            }))
        }
        ChainKind::Solana => {
            let adapter = SolanaChain::new(chain, RetryPolicy::default())?;
            Some(Box::pin(async move {
                let mut executor = SolanaExecutor::new(&settings, &store, &adapter, &name)?;
                step_until_shutdown(&name, &mut executor, options, shutdown).await
            }))
        }
    })
}

/// A destination's release loop, ready to spawn.
type ReleaseTask =
    std::pin::Pin<Box<dyn Future<Output = Result<(), RelayerError>> + Send + 'static>>;
