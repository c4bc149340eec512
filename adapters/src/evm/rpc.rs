//! Calls to a chain's JSON-RPC endpoints: a governor rate limit per endpoint, failover to the
//! next endpoint on a transient fault, jittered exponential backoff after each full round, and
//! no retry at all for permanent errors (bad parameters, reverted calls), which would only fail
//! again.

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::transports::{RpcError, TransportErrorKind};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use url::Url;

use crate::AdapterError;

/// How hard to try before giving up on a call.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Rounds over all endpoints.
    pub rounds: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            rounds: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// "Full jitter": a random delay up to `base · 2^round`, capped, so many clients retrying
    /// at once do not hit the node in lockstep.
    pub fn delay(&self, round: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << round.min(16))
            .min(self.max_delay);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// How an RPC error should be handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Rate limits, gateway errors, dropped connections, a node briefly behind: try again.
    Transient(String),
    /// `eth_getLogs` asked for too much: split the range (the node may suggest a size).
    RangeTooLarge { suggested: Option<u64> },
    /// The request itself is wrong or reverted: retrying cannot help.
    Permanent(String),
}

/// Messages hosted providers use to refuse a log range.
const RANGE_MESSAGES: [&str; 7] = [
    "query returned more than",
    "block range is too large",
    "block range too large",
    "exceed maximum block range",
    "range is too large",
    "log response size exceeded",
    "too many results",
];

pub fn classify(err: &RpcError<TransportErrorKind>) -> Fault {
    match err {
        RpcError::ErrorResp(payload) => {
            let message = payload.message.to_lowercase();
            if RANGE_MESSAGES.iter().any(|m| message.contains(m)) {
                return Fault::RangeTooLarge {
                    suggested: suggested_range(&message),
                };
            }
            // -32005 is also "limit exceeded" (rate) on several providers; 429-like in body.
            let rate_limited = payload.code == -32005
                || message.contains("rate limit")
                || message.contains("too many requests");
            let node_busy = message.contains("header not found")
                || message.contains("timeout")
                || message.contains("busy");
            if rate_limited || node_busy || payload.code == -32603 && message.contains("internal") {
                Fault::Transient(format!("{} (code {})", payload.message, payload.code))
            } else {
                Fault::Permanent(format!("{} (code {})", payload.message, payload.code))
            }
        }
        RpcError::Transport(kind) => match kind {
            TransportErrorKind::HttpError(http) if http.status == 429 || http.status >= 500 => {
                Fault::Transient(format!("HTTP {}", http.status))
            }
            TransportErrorKind::HttpErrorWithRetryAfter { error, .. }
                if error.status == 429 || error.status >= 500 =>
            {
                Fault::Transient(format!("HTTP {}", error.status))
            }
            TransportErrorKind::HttpError(http) => {
                Fault::Permanent(format!("HTTP {}", http.status))
            }
            // Connection refused or reset, timeouts: the network, not the request.
            other => Fault::Transient(other.to_string()),
        },
        // A null or unparsable body is what a restarting node or a proxy error page gives.
        RpcError::NullResp | RpcError::DeserError { .. } => Fault::Transient(err.to_string()),
        other => Fault::Permanent(other.to_string()),
    }
}

/// Alchemy-style hints: "… this block range should work: [0x10, 0x2f]".
fn suggested_range(message: &str) -> Option<u64> {
    let hint = message.split_once("should work: [")?.1;
    let (from, to) = hint.split_once(',')?;
    let parse = |s: &str| {
        u64::from_str_radix(s.trim().trim_end_matches(']').trim_start_matches("0x"), 16).ok()
    };
    let (from, to) = (parse(from)?, parse(to)?);
    to.checked_sub(from).map(|d| d.saturating_add(1))
}

/// An endpoint's name for logs and errors: scheme, host and port only (paths carry API keys).
pub fn endpoint_label(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
        (Some(host), None) => format!("{}://{host}", url.scheme()),
        _ => url.scheme().to_string(),
    }
}

struct Endpoint {
    label: String,
    url: Url,
    provider: DynProvider,
    limiter: DefaultDirectRateLimiter,
    per_second: NonZeroU32,
}

impl Endpoint {
    /// Waits for `weight` permits, at most a second's worth (the limit's burst): a heavier
    /// request could never be let through otherwise.
    async fn take_permits(&self, weight: u32) {
        let n = NonZeroU32::new(weight.min(self.per_second.get())).unwrap_or(NonZeroU32::MIN);
        if self.limiter.until_n_ready(n).await.is_err() {
            self.limiter.until_ready().await;
        }
    }

    /// Transport errors quote the full URL: only the label may remain ([`crate::redact`]).
    fn redact(&self, reason: String) -> String {
        crate::redact::redact_url(&reason, &self.url, &self.label)
    }
}

/// The endpoints of one chain, tried in turn.
pub struct RpcPool {
    chain: String,
    endpoints: Vec<Endpoint>,
    /// The endpoint that answered last: tried first next time.
    preferred: AtomicUsize,
    policy: RetryPolicy,
}

impl RpcPool {
    pub fn new(
        chain: &str,
        urls: &[Url],
        requests_per_second: u32,
        policy: RetryPolicy,
    ) -> Result<RpcPool, AdapterError> {
        if urls.is_empty() {
            return Err(AdapterError::NoEndpoints {
                chain: chain.to_string(),
            });
        }
        let rps = NonZeroU32::new(requests_per_second).unwrap_or(NonZeroU32::MIN);
        let endpoints = urls
            .iter()
            .map(|url| Endpoint {
                label: endpoint_label(url),
                url: url.clone(),
                provider: ProviderBuilder::new()
                    .disable_recommended_fillers()
                    .connect_http(url.clone())
                    .erased(),
                limiter: RateLimiter::direct(Quota::per_second(rps)),
                per_second: rps,
            })
            .collect();
        Ok(RpcPool {
            chain: chain.to_string(),
            endpoints,
            preferred: AtomicUsize::new(0),
            policy,
        })
    }

    pub fn chain(&self) -> &str {
        &self.chain
    }

    /// The label of the endpoint that answered last.
    pub fn last_answered(&self) -> String {
        let n = self.endpoints.len().max(1);
        self.endpoints
            .get(self.preferred.load(Ordering::Relaxed) % n)
            .map(|e| e.label.clone())
            .unwrap_or_default()
    }

    /// Requests a call may make before it gives up.
    pub fn max_attempts(&self) -> u32 {
        self.policy
            .rounds
            .max(1)
            .saturating_mul(u32::try_from(self.endpoints.len()).unwrap_or(u32::MAX))
    }

    /// Runs `request` against the endpoints until one answers, per the retry policy.
    pub async fn call<T, F, Fut>(&self, method: &'static str, request: F) -> Result<T, AdapterError>
    where
        F: Fn(DynProvider) -> Fut,
        Fut: Future<Output = Result<T, RpcError<TransportErrorKind>>>,
    {
        self.call_weighted(method, 1, request).await
    }

    /// Like `call`, for a request that carries `weight` calls (a JSON-RPC batch): it takes as
    /// many permits from each endpoint's rate limit, since providers count every call in a
    /// batch.
    pub async fn call_weighted<T, F, Fut>(
        &self,
        method: &'static str,
        weight: u32,
        request: F,
    ) -> Result<T, AdapterError>
    where
        F: Fn(DynProvider) -> Fut,
        Fut: Future<Output = Result<T, RpcError<TransportErrorKind>>>,
    {
        self.attempt(method, weight, request)
            .await
            .map_err(|(fault, endpoint)| match fault {
                // Only `EvmChain::logs` knows the range (and splits it); elsewhere a refusal of
                // this kind is a plain rejection.
                Fault::RangeTooLarge { .. } => AdapterError::RpcRejected {
                    chain: self.chain.clone(),
                    method,
                    endpoint,
                    reason: "the node refused the request as too large".into(),
                },
                Fault::Permanent(reason) => AdapterError::RpcRejected {
                    chain: self.chain.clone(),
                    method,
                    endpoint,
                    reason,
                },
                Fault::Transient(last) => AdapterError::RpcUnavailable {
                    chain: self.chain.clone(),
                    method,
                    attempts: self.max_attempts(),
                    last: format!("{endpoint}: {last}"),
                },
            })
    }

    /// Like `call`, but hands back the final fault and the endpoint that gave it.
    pub async fn call_classified<T, F, Fut>(
        &self,
        method: &'static str,
        request: F,
    ) -> Result<T, (Fault, String)>
    where
        F: Fn(DynProvider) -> Fut,
        Fut: Future<Output = Result<T, RpcError<TransportErrorKind>>>,
    {
        self.attempt(method, 1, request).await
    }

    async fn attempt<T, F, Fut>(
        &self,
        method: &'static str,
        weight: u32,
        request: F,
    ) -> Result<T, (Fault, String)>
    where
        F: Fn(DynProvider) -> Fut,
        Fut: Future<Output = Result<T, RpcError<TransportErrorKind>>>,
    {
        let n = self.endpoints.len();
        let start = self.preferred.load(Ordering::Relaxed);
        let mut last = (Fault::Transient("no attempt made".into()), String::new());
        for round in 0..self.policy.rounds.max(1) {
            for k in 0..n {
                let index = start.wrapping_add(k) % n;
                let Some(endpoint) = self.endpoints.get(index) else {
                    continue;
                };
                endpoint.take_permits(weight).await;
                let started = std::time::Instant::now();
                let result = request(endpoint.provider.clone()).await;
                crate::metrics::rpc_request(
                    &self.chain,
                    &endpoint.label,
                    method,
                    started.elapsed(),
                    result.is_ok(),
                );
                match result {
                    Ok(value) => {
                        self.preferred.store(index, Ordering::Relaxed);
                        return Ok(value);
                    }
                    Err(e) => match classify(&e) {
                        Fault::Transient(reason) => {
                            let reason = endpoint.redact(reason);
                            tracing::debug!(chain = %self.chain, endpoint = %endpoint.label, method, %reason, round, "transient RPC fault");
                            last = (Fault::Transient(reason), endpoint.label.clone());
                        }
                        Fault::Permanent(reason) => {
                            return Err((
                                Fault::Permanent(endpoint.redact(reason)),
                                endpoint.label.clone(),
                            ));
                        }
                        fault => return Err((fault, endpoint.label.clone())),
                    },
                }
            }
            if round.saturating_add(1) < self.policy.rounds {
                tokio::time::sleep(self.policy.delay(round)).await;
            }
        }
        tracing::warn!(chain = %self.chain, method, reason = ?last.0, "RPC call failed on every endpoint");
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_drop_paths_and_credentials() {
        let url = Url::parse("https://user:pw@mainnet.example.io/v3/SECRETKEY").unwrap();
        assert_eq!(endpoint_label(&url), "https://mainnet.example.io");
        assert_eq!(
            endpoint_label(&Url::parse("http://127.0.0.1:8545").unwrap()),
            "http://127.0.0.1:8545"
        );
    }

    #[test]
    fn range_hints_are_read() {
        assert_eq!(
            suggested_range(
                "log response size exceeded. this block range should work: [0x10, 0x2f]"
            ),
            Some(32)
        );
        assert_eq!(
            suggested_range("query returned more than 10000 results"),
            None
        );
    }

    #[test]
    fn backoff_stays_under_its_cap() {
        let p = RetryPolicy {
            rounds: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
        };
        for round in 0..20 {
            assert!(p.delay(round) <= Duration::from_millis(40));
        }
    }
}
