//! `FaultProxy`: a test double for RPC faults that cannot be produced on demand by a real node.
//! It sits in front of a real node on a free loopback port and forwards JSON-RPC, except that it
//! can refuse wide `eth_getLogs` ranges the way hosted providers do, answer HTTP 429 and 502 for
//! a deterministic share of requests, forward a request and then cut the connection before the
//! answer arrives (the client cannot know whether it took effect), add a fixed round-trip
//! latency, answer `getSignatureStatuses` as an endpoint that has seen none of them (a lagging
//! or pruned Solana node), or play dead. It counts what it did, so tests can assert
//! the faults really happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

use crate::DevnetError;

/// Which faults to inject.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    /// Refuse `eth_getLogs` spanning more than this many blocks, with the error hosted
    /// providers return ("query returned more than 10000 results", code -32005).
    pub max_log_blocks: Option<u64>,
    /// Answer every n-th request with an HTTP error, alternating 429 and 502.
    pub http_error_every: Option<u64>,
    /// Forward every n-th request, then drop the connection instead of answering (counted
    /// after the HTTP errors, on the requests those leave through).
    pub drop_every: Option<u64>,
    /// Hold every forwarded request this long first: a remote provider's round trip, for
    /// measurements that depend on it (the node itself is on loopback).
    pub latency: Option<std::time::Duration>,
    /// Answer every `getSignatureStatuses` with `null` for each signature (forwarded, so the
    /// context slot is the node's): a Solana endpoint behind the others, or one that pruned its
    /// status cache, disagreeing with a current one.
    pub forget_signatures: bool,
}

/// What the proxy did so far.
#[derive(Debug, Default)]
pub struct FaultStats {
    pub requests: AtomicU64,
    pub forwarded: AtomicU64,
    pub refused_ranges: AtomicU64,
    pub http_errors: AtomicU64,
    pub dead_answers: AtomicU64,
    pub dropped: AtomicU64,
    pub forgotten: AtomicU64,
}

struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    plan: FaultPlan,
    dead: AtomicBool,
    stats: Arc<FaultStats>,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    pub url: String,
    pub stats: Arc<FaultStats>,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: &str, plan: FaultPlan) -> Result<FaultProxy, DevnetError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(DevnetError::io("127.0.0.1:0"))?;
        let addr = listener
            .local_addr()
            .map_err(DevnetError::io("127.0.0.1:0"))?;
        let stats = Arc::new(FaultStats::default());
        let state = Arc::new(ProxyState {
            upstream: upstream.to_string(),
            client: reqwest::Client::new(),
            plan,
            dead: AtomicBool::new(false),
            stats: stats.clone(),
        });
        let app = Router::new()
            .route("/", post(handle))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FaultProxy {
            url: format!("http://{addr}"),
            stats,
            state,
            task,
        })
    }

    /// While dead, every request is answered with HTTP 503 and nothing is forwarded.
    pub fn set_dead(&self, dead: bool) {
        self.state.dead.store(dead, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const RANGE_ERROR: &str = "query returned more than 10000 results";

async fn handle(State(state): State<Arc<ProxyState>>, body: Bytes) -> Response {
    let n = state
        .stats
        .requests
        .fetch_add(1, Ordering::SeqCst)
        .saturating_add(1);
    if state.dead.load(Ordering::SeqCst) {
        state.stats.dead_answers.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::SERVICE_UNAVAILABLE, "upstream unavailable").into_response();
    }
    if let Some(every) = state.plan.http_error_every
        && every > 0
        && n.is_multiple_of(every)
    {
        state.stats.http_errors.fetch_add(1, Ordering::SeqCst);
        let status = if (n / every).is_multiple_of(2) {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        return (status, "injected fault").into_response();
    }
    if let Some(latency) = state.plan.latency {
        tokio::time::sleep(latency).await;
    }
    if let (Some(max), Ok(request)) = (
        state.plan.max_log_blocks,
        serde_json::from_slice::<Value>(&body),
    ) && let Some(span) = log_range_span(&request)
        && span > max
    {
        state.stats.refused_ranges.fetch_add(1, Ordering::SeqCst);
        let error = serde_json::json!({
            "jsonrpc": "2.0",
            "id": request.get("id").cloned().unwrap_or(Value::Null),
            "error": { "code": -32005, "message": RANGE_ERROR },
        });
        return (
            StatusCode::OK,
            [("content-type", "application/json")],
            error.to_string(),
        )
            .into_response();
    }
    state.stats.forwarded.fetch_add(1, Ordering::SeqCst);
    let body_method = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|r| Some(r.get("method")?.as_str()?.to_string()))
        .unwrap_or_default();
    let upstream = state
        .client
        .post(&state.upstream)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    match upstream {
        Ok(resp)
            if state
                .plan
                .drop_every
                .is_some_and(|every| every > 0 && n % every == every / 2) =>
        {
            // The node did the work; the client never hears of it.
            drop(resp);
            state.stats.dropped.fetch_add(1, Ordering::SeqCst);
            let cut = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "connection dropped by the fault proxy",
                ))
            });
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                axum::body::Body::from_stream(cut),
            )
                .into_response()
        }
        Ok(resp) => {
            let status =
                StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            match resp.bytes().await {
                Ok(bytes) => {
                    let bytes = if state.plan.forget_signatures {
                        forget_statuses(&body_method, bytes, &state.stats)
                    } else {
                        bytes
                    };
                    (status, [("content-type", "application/json")], bytes).into_response()
                }
                Err(_) => StatusCode::BAD_GATEWAY.into_response(),
            }
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// A `getSignatureStatuses` answer with every status `null`; other answers as they are.
fn forget_statuses(method: &str, bytes: Bytes, stats: &FaultStats) -> Bytes {
    if method != "getSignatureStatuses" {
        return bytes;
    }
    let Ok(mut answer) = serde_json::from_slice::<Value>(&bytes) else {
        return bytes;
    };
    let Some(Value::Array(statuses)) = answer.pointer_mut("/result/value") else {
        return bytes;
    };
    statuses.iter_mut().for_each(|s| *s = Value::Null);
    stats.forgotten.fetch_add(1, Ordering::SeqCst);
    Bytes::from(answer.to_string())
}

/// Blocks spanned by an `eth_getLogs` request with numeric bounds.
fn log_range_span(request: &Value) -> Option<u64> {
    if request.get("method")?.as_str()? != "eth_getLogs" {
        return None;
    }
    let filter = request.get("params")?.get(0)?;
    let block = |key: &str| {
        u64::from_str_radix(filter.get(key)?.as_str()?.trim_start_matches("0x"), 16).ok()
    };
    let (from, to) = (block("fromBlock")?, block("toBlock")?);
    Some(to.saturating_sub(from).saturating_add(1))
}
