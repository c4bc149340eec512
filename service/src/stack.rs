//! [`Stack`]: the whole service in one process: the indexer following every chain, the
//! relayer (finality gate and an executor per destination chain) and the HTTP API (GraphQL,
//! the DefiLlama mirror, probes, metrics). `atoll up` and `atoll demo` run it, and so does the
//! API flood benchmark, so the benchmark measures what operators run. A stop signal drains it:
//! the API stops accepting, finishes the requests it has, the relayer's tasks finish their step.
//! The indexer is stopped where it is: each of its batches commits in one transaction, so a
//! batch cut short is simply indexed again on the next start.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::BadInput;

/// The database of `settings` (or `override_url`), opened and migrated to the current schema.
pub async fn open_store(
    settings: &atoll_core::settings::Settings,
    override_url: Option<&str>,
) -> anyhow::Result<atoll_store::Store> {
    let url = override_url.unwrap_or(&settings.database_url);
    let store = atoll_store::Store::connect(url)
        .await
        .with_context(|| format!("opening {}", atoll_store::redact(url)))?;
    store.migrate_up().await?;
    Ok(store)
}

/// Indexer, relayer and API in one process (what `atoll up` and `atoll demo` run).
pub struct Stack {
    pub url: String,
    pub listen: SocketAddr,
    pub api_only: bool,
    pub poll: Duration,
    pub options: atoll_graphql::ApiOptions,
}

impl Stack {
    /// Runs until `stop` resolves, then drains. `ready` is called with the bound address once
    /// the API listens.
    pub async fn run(
        self,
        settings: atoll_core::settings::Settings,
        ready: impl FnOnce(SocketAddr) -> anyhow::Result<()>,
        stop_signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let url = self.url;
        let store = open_store(&settings, Some(&url)).await?;
        store.register_settings(&settings).await?;
        // The API on threads of its own at a lower priority: a flood of requests gets the CPU
        // the indexer and the relayer leave (src/priority.rs). Its read connections are opened
        // there too, so their threads (SQLite runs each connection on one) inherit the lower
        // priority. Alone (`--api-only`) it has nothing to yield to.
        let api_runtime = if self.api_only {
            None
        } else {
            Some(
                crate::priority::LoweredRuntime::new("atoll-api", crate::priority::API_NICE)
                    .context("starting the API's threads")?,
            )
        };
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .map_err(|e| BadInput(format!("--listen {}: cannot bind: {e}", self.listen)))?;
        let bound = listener.local_addr()?;
        let settings = Arc::new(settings);
        let state = api_state(
            settings.clone(),
            &store,
            &url,
            api_runtime.as_ref(),
            self.options,
        )
        .await?;
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        ready(bound)?;
        tracing::info!(%bound, chains = settings.chains.len(), api_only = self.api_only, "atoll up");

        let api = serve_on(api_runtime.as_ref(), listener, state, shutdown.clone())?;
        let relayer = async {
            if self.api_only {
                return Ok(());
            }
            let options = atoll_relayer::run::RunOptions {
                poll_interval: self.poll,
                ..Default::default()
            };
            atoll_relayer::run::run(settings.clone(), store.clone(), options, shutdown.clone())
                .await
        };
        let indexer = follow_chains(
            (!self.api_only).then(|| (settings.clone(), store.clone())),
            shutdown.clone(),
        );
        tokio::pin!(api, relayer, indexer);
        let mut relayer_done = self.api_only;
        tokio::select! {
            r = &mut api => {
                r.context("API server")?;
                return Err(anyhow::anyhow!("the API server stopped"));
            }
            r = &mut relayer, if !relayer_done => {
                r?;
                relayer_done = true;
            }
            () = &mut indexer => {}
            () = stop_signal => {}
        }
        crate::out!(
            "stopping: the API finishes its requests, every relayer task its step, the indexer stops where it is"
        );
        let _ = stop.send(true);
        // Subscriptions hold their connections open: give them a bounded time to close.
        let drained = tokio::time::timeout(Duration::from_secs(10), async {
            let (served, relayed, ()) = tokio::join!(
                &mut api,
                async {
                    if relayer_done {
                        Ok(())
                    } else {
                        (&mut relayer).await
                    }
                },
                &mut indexer
            );
            served.context("API server")?;
            relayed?;
            anyhow::Ok(())
        })
        .await;
        match drained {
            Ok(r) => r?,
            Err(_) => tracing::warn!("open connections did not close within 10 s; exiting anyway"),
        }
        crate::out!("stopped");
        Ok(())
    }
}

/// The API's state: its read connections (opened on the API's runtime, so that their threads
/// run at its priority), the operator tokens, and treasury deposits a crash left unsent sent
/// again (the same bytes) before new ones.
async fn api_state(
    settings: Arc<atoll_core::settings::Settings>,
    store: &atoll_store::Store,
    url: &str,
    api_runtime: Option<&crate::priority::LoweredRuntime>,
    options: atoll_graphql::ApiOptions,
) -> anyhow::Result<atoll_graphql::ApiState> {
    let reader = {
        let for_reads = url.to_string();
        on(api_runtime, async move {
            atoll_store::Store::connect_reader(&for_reads, 4).await
        })
        .await?
        .with_context(|| format!("opening {} for reads", atoll_store::redact(url)))?
    };
    let tokens = atoll_graphql::auth::OperatorTokens::load(&settings.api.operator_tokens)
        .map_err(BadInput)?;
    if tokens.is_empty() {
        tracing::warn!("no api.operator_tokens configured: GraphQL mutations are disabled");
    }
    let state = on(
        api_runtime,
        atoll_graphql::ApiState::new(settings, store.clone(), reader, tokens, options),
    )
    .await?
    .map_err(|e| anyhow::anyhow!("starting the API: {e}"))?;
    match state.treasury.settle().await {
        Ok(settled) if !settled.is_empty() => {
            tracing::info!(
                moves = settled.len(),
                "treasury moves left by the last run settled"
            );
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "settling earlier treasury moves failed; retried on request")
        }
    }
    Ok(state)
}

/// Every chain's indexer, following its head until `shutdown` (none with `None`: the API
/// alone). Resolves only once the stop is asked: chains that end on their own (each failed,
/// logged) leave the API and the relayer serving what is indexed.
async fn follow_chains(
    chains: Option<(Arc<atoll_core::settings::Settings>, atoll_store::Store)>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if let Some((settings, store)) = chains {
        for (chain, result) in atoll_indexer::run_until(
            &settings,
            &store,
            &[],
            atoll_indexer::Mode::Follow,
            Arc::new(|_| {}),
            shutdown.clone(),
        )
        .await
        {
            if let Err(e) = result {
                tracing::error!(%chain, error = %e, "indexer stopped");
            }
        }
    }
    let mut stopping = shutdown;
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// Runs `work` on `runtime` (here when `None`).
async fn on<F>(
    runtime: Option<&crate::priority::LoweredRuntime>,
    work: F,
) -> anyhow::Result<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    match runtime.and_then(crate::priority::LoweredRuntime::handle) {
        Some(h) => Ok(h.spawn(work).await?),
        None => Ok(work.await),
    }
}

/// Serves the API on `runtime` (this one when `None`); the listener moves to its reactor.
fn serve_on(
    runtime: Option<&crate::priority::LoweredRuntime>,
    listener: tokio::net::TcpListener,
    state: atoll_graphql::ApiState,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<impl std::future::Future<Output = std::io::Result<()>>> {
    let handle = match runtime.and_then(crate::priority::LoweredRuntime::handle) {
        Some(h) => h.clone(),
        None => tokio::runtime::Handle::current(),
    };
    let listener = listener.into_std()?;
    let task = handle.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        atoll_graphql::serve(listener, state, shutdown).await
    });
    Ok(async move { task.await.map_err(std::io::Error::other)? })
}
