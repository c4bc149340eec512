//! atoll-graphql: the HTTP surface users touch. `schema`: the GraphQL schema (queries,
//! operator mutations, subscriptions) and its limits; `catalog`: the pools served from memory;
//! `heads`: every chain's head, for freshness; `auth`: operator tokens; `rest`: the DefiLlama
//! mirror; `metrics`: `/metrics`. This file wires them into one axum router:
//! GraphiQL at `/`, `/graphql` (POST; WebSocket subscriptions over graphql-transport-ws on GET),
//! `/pools`, `/chart/{pool}`, `/healthz`, `/readyz`, `/metrics`.

pub mod audit;
pub mod auth;
pub mod cache;
pub mod catalog;
mod cursor;
pub mod error;
pub mod feeds;
pub mod heads;
pub mod lending;
pub mod limits;
pub mod live_gas;
pub mod metrics;
mod rest;
pub mod schema;
pub mod shared;
pub mod types;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::{BatchRequest, BatchResponse};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use atoll_core::settings::Settings;
use atoll_store::Store;
use atoll_store::records::PoolRecord;
use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::auth::OperatorTokens;
use crate::catalog::PoolCatalog;
use crate::error::ApiError;
use crate::heads::ChainHeads;
use crate::schema::AtollSchema;

/// Limits and intervals of the server; `Default` is what `atoll up` runs with.
#[derive(Debug, Clone, Copy)]
pub struct ApiOptions {
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// Requests per second per client address, and the burst above it.
    pub rate_limit_rps: u32,
    pub rate_limit_burst: u32,
    /// How long `relayer` waits for each chain's vault balances.
    pub balance_timeout: Duration,
    /// `/readyz` fails when a chain's index lags its head by more than this.
    pub max_lag: Duration,
    /// How often the pool catalog checks the store for changes.
    pub refresh_interval: Duration,
    /// How often each chain's head is polled (`None`: not followed, e.g. no RPC reachable).
    pub head_interval: Option<Duration>,
    /// Requests in one batch.
    pub max_batch: usize,
    /// Cache answers to catalog-only queries until the catalog reloads (see `cache`).
    pub response_cache: bool,
    /// The longest query text accepted. Parsing and validating a huge query costs the server
    /// more than sending it costs a client, so it is refused before parsing.
    pub max_query_bytes: usize,
    /// How often the server audits the bridge's books from the chains for `/metrics`
    /// (`None`: only when an operator asks).
    pub audit_interval: Option<Duration>,
    /// `quoteAllocation` fields per request (each a router solve over the whole catalog).
    pub max_router_solves: usize,
    /// `relayer`, `positions` and `audit` fields per request (each reads the chains; their
    /// answers are shared between clients for a second, the audit's for 30 s).
    pub max_chain_reads: usize,
    /// The largest WebSocket message accepted.
    pub max_ws_message_bytes: usize,
    pub ws_connections_per_client: usize,
    pub ws_subscriptions_per_connection: usize,
    pub ws_subscriptions_per_client: usize,
}

impl ApiOptions {
    pub fn ws_caps(&self) -> limits::WsCaps {
        limits::WsCaps {
            connections_per_client: self.ws_connections_per_client,
            subscriptions_per_connection: self.ws_subscriptions_per_connection,
            subscriptions_per_client: self.ws_subscriptions_per_client,
        }
    }

    pub fn budgets(&self) -> limits::Budgets {
        limits::Budgets {
            max_router_solves: self.max_router_solves,
            max_chain_reads: self.max_chain_reads,
            max_query_bytes: self.max_query_bytes,
        }
    }
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            max_body_bytes: 2 * 1024 * 1024,
            rate_limit_rps: 200,
            rate_limit_burst: 400,
            balance_timeout: Duration::from_secs(2),
            max_lag: Duration::from_secs(120),
            refresh_interval: Duration::from_secs(1),
            head_interval: Some(Duration::from_secs(2)),
            max_batch: 10,
            max_query_bytes: 64 * 1024,
            response_cache: true,
            audit_interval: None,
            max_router_solves: 2,
            max_chain_reads: 4,
            // A query at its 64 KiB limit, its variables and the protocol's envelope.
            max_ws_message_bytes: 96 * 1024,
            ws_connections_per_client: 16,
            ws_subscriptions_per_connection: 32,
            ws_subscriptions_per_client: 100,
        }
    }
}

/// What every request handler reads. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    pub settings: Arc<Settings>,
    /// For operator mutations (writes).
    pub store: Store,
    /// For every read: on SQLite its own read-only connections.
    pub reader: Store,
    pub catalog: Arc<PoolCatalog>,
    pub heads: ChainHeads,
    pub tokens: OperatorTokens,
    pub options: ApiOptions,
    pub pool_changes: feeds::PoolChanges,
    /// The treasury's positions and moves (mutations need the operator token).
    pub treasury: Arc<atoll_relayer::treasury::Treasury>,
    /// The last audit of the books, shared by the `audit` query and the periodic run.
    pub audit: Arc<audit::AuditCache>,
    /// Release costs per chain read from the chains, for quotes (reused for 30 s).
    pub live_gas: Arc<live_gas::LiveGasCache>,
    /// The relayer's view per chain (vault balances read from the chains), shared for 1 s.
    pub relayer_view: Arc<shared::Shared<Vec<atoll_relayer::status::ChainStatus>>>,
    /// The treasury's positions (read from the chains), shared for 1 s.
    pub positions: Arc<shared::Shared<Vec<atoll_relayer::treasury::ChainPosition>>>,
    /// `/metrics` as last rendered (its gauges read the store), shared for 1 s.
    pub metrics_text: Arc<shared::Shared<String>>,
    /// The one poller behind every `transferUpdated` subscription.
    pub transfer_feed: Arc<feeds::TransferFeed>,
    /// Open WebSocket connections and subscriptions per client.
    pub ws_clients: Arc<limits::WsClients>,
    pub(crate) limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl ApiState {
    /// Loads the pool catalog once; the server keeps it fresh from then on.
    pub async fn new(
        settings: Arc<Settings>,
        store: Store,
        reader: Store,
        tokens: OperatorTokens,
        options: ApiOptions,
    ) -> Result<ApiState, ApiError> {
        let per_second = NonZeroU32::new(options.rate_limit_rps)
            .ok_or_else(|| ApiError::BadInput("rate limit: must be at least 1 request/s".into()))?;
        let burst = NonZeroU32::new(options.rate_limit_burst.max(options.rate_limit_rps))
            .unwrap_or(per_second);
        let catalog = Arc::new(PoolCatalog::default());
        catalog.refresh(&reader).await?;
        let treasury = Arc::new(atoll_relayer::treasury::Treasury::new(
            settings.clone(),
            store.clone(),
        ));
        Ok(ApiState {
            treasury,
            audit: Arc::default(),
            live_gas: Arc::default(),
            relayer_view: Arc::default(),
            positions: Arc::default(),
            metrics_text: Arc::default(),
            transfer_feed: Arc::default(),
            ws_clients: Arc::default(),
            settings,
            store,
            reader,
            catalog,
            heads: ChainHeads::default(),
            tokens,
            options,
            pool_changes: tokio::sync::broadcast::channel(1024).0,
            limiter: Arc::new(RateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(burst),
            )),
        })
    }
}

/// The router's pools from indexed records: priced, not dropped.
pub fn router_pools<'a>(
    records: impl Iterator<Item = &'a PoolRecord>,
) -> Vec<atoll_router::input::PoolInput> {
    records
        .filter(|r| r.dropped_reason.is_none())
        .filter_map(|r| {
            let lending = crate::lending::router_lending(r);
            if r.kind == "lending" && lending.is_none() {
                return None;
            }
            Some(atoll_router::input::PoolInput {
                id: r.pool.clone(),
                chain: r.chain.clone(),
                protocol: r.project.clone(),
                tokens: r.underlying_tokens.clone(),
                tvl_usd: r.tvl_usd?,
                fees_usd_year: r.fees_usd_7d? * 365.0 / 7.0,
                // A reserve's incentives, shared by its suppliers pro rata.
                rewards_usd_year: r
                    .lending
                    .as_ref()
                    .and_then(|l| Some(r.apy_reward? * l.total_supply_usd?))
                    .unwrap_or(0.0),
                max_share_of_tvl: None,
                kind: if lending.is_some() {
                    atoll_router::input::PoolKind::Lending
                } else {
                    atoll_router::input::PoolKind::Dex
                },
                lending,
            })
        })
        .collect()
}

#[derive(Clone)]
struct Server {
    api: ApiState,
    schema: AtollSchema,
    cache: Arc<cache::ResponseCache>,
}

/// Every route, with rate limits on the API routes and latency metrics on all.
pub fn app(state: ApiState) -> Router {
    metrics::install();
    let schema = schema::build(state.clone());
    let server = Server {
        api: state.clone(),
        schema: schema.clone(),
        cache: Arc::default(),
    };
    let limited = Router::new()
        .route("/graphql", post(graphql).get(graphql_ws))
        .route("/pools", get(rest::pools))
        .route("/chart/{pool}", get(rest::chart))
        // Rate-limited like the rest, and rendered at most once a second (`metrics_text`).
        .route("/metrics", get(metrics_text))
        .layer(axum::middleware::from_fn_with_state(
            server.clone(),
            rate_limit,
        ));
    let open = Router::new()
        .route("/", get(graphiql))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    limited
        .merge(open)
        .layer(axum::middleware::from_fn(track))
        .with_state(server)
}

impl axum::extract::FromRef<Server> for ApiState {
    fn from_ref(s: &Server) -> ApiState {
        s.api.clone()
    }
}

/// Serves `app(state)` on `listener` until `shutdown` turns true, with the background work
/// (catalog reloads, head polling) running beside it. In-flight requests finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let background = background(state.clone(), shutdown.clone());
    let app = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = shutdown.wait_for(|s| *s).await;
    });
    let (served, ()) = tokio::join!(server.into_future(), background);
    served
}

/// Keeps the catalog and the heads fresh until shutdown.
async fn background(state: ApiState, shutdown: tokio::sync::watch::Receiver<bool>) {
    let heads = async {
        if let Some(interval) = state.options.head_interval {
            state
                .heads
                .follow(state.settings.clone(), interval, shutdown.clone())
                .await;
        }
    };
    let catalog = async {
        let mut stop = shutdown.clone();
        let mut tick = tokio::time::interval(state.options.refresh_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            match state.catalog.refresh(&state.reader).await {
                Ok(changed) => {
                    for p in changed {
                        // No subscriber is not an error.
                        let _ = state.pool_changes.send(p);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "pool catalog reload failed"),
            }
            state.limiter.retain_recent();
        }
    };
    let audit = async {
        let Some(interval) = state.options.audit_interval else {
            return;
        };
        let mut stop = shutdown.clone();
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if let Err(e) = state
                .audit
                .report(&state.settings, &state.reader, Duration::ZERO)
                .await
            {
                tracing::warn!(error = %e, "periodic audit failed; tried again next interval");
            }
        }
    };
    let feed = state.transfer_feed.poll(&state, shutdown.clone());
    tokio::join!(heads, catalog, audit, feed);
}

/// The client a request stands for ([`limits::client_key`]): its peer, or who a trusted proxy
/// forwarded for; IPv6 per prefix.
fn client_of(state: &ApiState, extensions: &axum::http::Extensions, headers: &HeaderMap) -> IpAddr {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), |c| c.0);
    limits::client_key(
        peer,
        headers,
        &state.settings.api.trusted_proxies,
        state.settings.api.ipv6_prefix,
    )
}

fn json_error(status: StatusCode, e: &ApiError) -> Response {
    (status, Json(e.json_body())).into_response()
}

async fn rate_limit(State(server): State<Server>, req: Request, next: Next) -> Response {
    let client = client_of(&server.api, req.extensions(), req.headers());
    if server.api.limiter.check_key(&client).is_err() {
        let mut resp = json_error(StatusCode::TOO_MANY_REQUESTS, &ApiError::RateLimited);
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return resp;
    }
    next.run(req).await
}

async fn track(req: Request, next: Next) -> Response {
    let route: &'static str = match req.extensions().get::<MatchedPath>().map(|m| m.as_str()) {
        Some("/graphql") => "/graphql",
        Some("/pools") => "/pools",
        Some("/chart/{pool}") => "/chart",
        Some("/metrics") => "/metrics",
        Some("/healthz") => "/healthz",
        Some("/readyz") => "/readyz",
        Some("/") => "/",
        _ => "other",
    };
    let started = Instant::now();
    let resp = next.run(req).await;
    metrics::http_request(route, resp.status().as_u16(), started.elapsed());
    resp
}

async fn graphql(State(server): State<Server>, req: Request) -> Response {
    let access = server.api.tokens.check(
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    let limit = server.api.options.max_body_bytes;
    let body = match axum::body::to_bytes(req.into_body(), limit).await {
        Ok(b) => b,
        Err(_) => {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &ApiError::BadInput(format!("request body: larger than {limit} bytes")),
            );
        }
    };
    // Catalog-only answers are the same for everyone (operator or not) until the next reload.
    let generation = server.api.catalog.snapshot().generation;
    if server.api.options.response_cache
        && let Some(answer) = server.cache.get(&body, generation)
    {
        return (
            [(header::CONTENT_TYPE, "application/json")],
            Body::from(answer),
        )
            .into_response();
    }
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &ApiError::BadInput(format!(
                    "request body: not a GraphQL request ({{\"query\": …}}): {e}"
                )),
            );
        }
    };
    let cache_this = server.api.options.response_cache
        && matches!(&batch, BatchRequest::Single(r) if cache::cacheable(&r.query));
    let longest = match &batch {
        BatchRequest::Single(r) => r.query.len(),
        BatchRequest::Batch(v) => v.iter().map(|r| r.query.len()).max().unwrap_or(0),
    };
    if longest > server.api.options.max_query_bytes {
        return json_error(
            StatusCode::BAD_REQUEST,
            &ApiError::BadInput(format!(
                "query: {longest} bytes; at most {} are accepted (use variables and fewer aliases)",
                server.api.options.max_query_bytes
            )),
        );
    }
    let batch = match batch {
        BatchRequest::Single(r) => BatchRequest::Single(r.data(access)),
        BatchRequest::Batch(v) if v.len() > server.api.options.max_batch => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &ApiError::BadInput(format!(
                    "request body: a batch of {} requests; at most {} are accepted",
                    v.len(),
                    server.api.options.max_batch
                )),
            );
        }
        BatchRequest::Batch(v) => {
            // One budget of router solves and chain reads for the whole batch.
            let budget = Arc::new(limits::BatchBudget::default());
            BatchRequest::Batch(
                v.into_iter()
                    .map(|r| r.data(access).data(budget.clone()))
                    .collect(),
            )
        }
    };
    let mut resp = server.schema.execute_batch(batch).await;
    match &mut resp {
        BatchResponse::Single(r) => with_codes(r),
        BatchResponse::Batch(rs) => rs.iter_mut().for_each(with_codes),
    }
    let clean = match &resp {
        BatchResponse::Single(r) => r.errors.is_empty(),
        BatchResponse::Batch(_) => false,
    };
    match serde_json::to_vec(&resp) {
        Ok(bytes) => {
            let bytes = axum::body::Bytes::from(bytes);
            if cache_this && clean {
                server.cache.put(body.clone(), generation, bytes.clone());
            }
            (
                [(header::CONTENT_TYPE, "application/json")],
                Body::from(bytes),
            )
                .into_response()
        }
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &ApiError::internal(e)),
    }
}

/// GraphQL over WebSocket (graphql-transport-ws and graphql-ws), held to HTTP's limits: the
/// upgrade is rate-limited with the route; a client holds at most `ws_connections_per_client`
/// connections, each message at most `max_ws_message_bytes`; every operation on it goes
/// through the same extension as HTTP's ([`limits::RequestLimits`]: rate limit, query size,
/// budgets, error codes) and subscriptions are capped per connection and per client.
async fn graphql_ws(State(server): State<Server>, req: Request) -> Response {
    let client = client_of(&server.api, req.extensions(), req.headers());
    let (mut parts, _body) = req.into_parts();
    let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &()).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let options = server.api.options;
    let Some(connection) = server.api.ws_clients.open(client, options.ws_caps()) else {
        let mut resp = json_error(
            StatusCode::TOO_MANY_REQUESTS,
            &ApiError::BadInput(format!(
                "WebSocket: at most {} open connections per client address",
                options.ws_connections_per_client
            )),
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return resp;
    };
    let schema = server.schema.clone();
    upgrade
        .max_message_size(options.max_ws_message_bytes)
        .max_frame_size(options.max_ws_message_bytes)
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            let mut data = async_graphql::Data::default();
            data.insert(connection);
            GraphQLWebSocket::new(stream, schema, protocol)
                .with_data(data)
                .serve()
        })
}

/// Sets `extensions.code` on every error: an `ApiError`'s own code; errors raised by
/// async-graphql itself (parse, validation, depth and complexity limits, argument coercion)
/// are the caller's: `BAD_USER_INPUT`.
pub fn with_codes(resp: &mut async_graphql::Response) {
    for e in &mut resp.errors {
        let code = e
            .source::<ApiError>()
            .map_or("BAD_USER_INPUT", ApiError::code);
        let ext = e.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", code);
        }
    }
}

async fn graphiql() -> Html<String> {
    Html(
        async_graphql::http::GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql")
            .title("Atoll")
            .finish(),
    )
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Ready when the database answers and every followed chain's index is within `max_lag`.
async fn readyz(State(state): State<ApiState>) -> Response {
    if let Err(e) = state.reader.ping().await {
        // The label names the backend problem, never the URL's credentials.
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "not_ready", "database": e.metric_label() })),
        )
            .into_response();
    }
    let mut ready = true;
    let mut chains = serde_json::Map::new();
    if state.options.head_interval.is_some() {
        let indexed = match schema::indexed_blocks(&state.reader).await {
            Ok(i) => i,
            Err(e) => return json_error(StatusCode::SERVICE_UNAVAILABLE, &e),
        };
        for c in &state.settings.chains {
            let id = c.chain_id.0;
            let lag = state.heads.lag_s(id, indexed.get(&id).copied());
            let verdict = match lag {
                Some(l) if l <= state.options.max_lag.as_secs_f64() => "ok".to_string(),
                Some(l) => format!("lagging {l:.0}s behind its head"),
                None => format!(
                    "head unknown{}",
                    state
                        .heads
                        .last_error(id)
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
            };
            ready &= verdict == "ok";
            chains.insert(c.name.clone(), verdict.into());
        }
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({
            "status": if ready { "ready" } else { "not_ready" },
            "database": "ok",
            "chains": chains,
        })),
    )
        .into_response()
}

/// At most one render per second whatever the scrape rate: the gauges read the store.
async fn metrics_text(State(state): State<ApiState>) -> Response {
    let shared = state.metrics_text.clone();
    match shared
        .get(Duration::from_secs(1), || metrics::render(&state))
        .await
    {
        Ok(text) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            text.as_str().to_owned(),
        )
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e).into_response(),
    }
}
