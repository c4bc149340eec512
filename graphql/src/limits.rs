//! What one client may make the server do, the same over HTTP and WebSocket. Read this before
//! adding a field that reads the chains, runs the router or streams. Every limit, its default,
//! where it is set and who counts as one client: docs/api.md, "Limits"; here, what enforces it:
//!
//! - **Who a client is**: [`client_key`] (IPv6 masked to `ipv6_prefix` bits, default /64: one
//!   customer holds a whole /64).
//! - **Per request** ([`RequestLimits`], an async-graphql extension, so HTTP and WebSocket
//!   alike): at most `max_router_solves` `quoteAllocation` and `max_chain_reads` chain-reading
//!   fields (`relayer`, `positions`, `audit`) however many aliases ask; over WebSocket also the
//!   query-size limit and the per-client rate limit on every operation (HTTP checks both before
//!   parsing). Every error leaves with its `extensions.code`.
//! - **Per WebSocket** ([`WsClients`]): connections per client, subscriptions per connection
//!   and per client; messages are capped in size at the upgrade.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::ValidationResult;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest, NextResolve,
    NextSubscribe, NextValidation, ResolveInfo,
};
use async_graphql::{Request, Response, ServerError, ServerResult, Value};
use axum::http::HeaderMap;
use futures::StreamExt;
use futures::stream::BoxStream;
use governor::DefaultKeyedRateLimiter;

use crate::error::ApiError;

/// The client an address stands for: `peer`, or who a trusted proxy forwarded for; IPv6
/// masked to `ipv6_prefix` bits.
pub fn client_key(
    peer: SocketAddr,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
    ipv6_prefix: u8,
) -> IpAddr {
    // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; the CIDRs say a.b.c.d.
    let mut ip = peer.ip().to_canonical();
    if is_trusted(ip, trusted)
        && let Some(forwarded) = forwarded_for(headers, trusted)
    {
        ip = forwarded;
    }
    match ip {
        IpAddr::V6(v6) => ipnet::Ipv6Net::new(v6, ipv6_prefix.min(128))
            .map_or(ip, |net| IpAddr::V6(net.trunc().addr())),
        v4 => v4,
    }
}

fn is_trusted(ip: IpAddr, trusted: &[ipnet::IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// The nearest hop in `X-Forwarded-For` (or, when there is none, `Forwarded: for=`) that is
/// not itself a trusted proxy: proxies append, so walking from the right, the first untrusted
/// hop is the one a trusted proxy saw; anything left of it the client could have written.
/// `None` (the peer counts) when that hop is not an address (`unknown`, an obfuscated
/// name, garbage): skipping it would let the client pick the next one.
fn forwarded_for(headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> Option<IpAddr> {
    let mut hops: Vec<&str> = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let Ok(text) = v.to_str() else { return None };
        hops.extend(text.split(',').map(str::trim));
    }
    if hops.is_empty() {
        for v in headers.get_all("forwarded") {
            let Ok(text) = v.to_str() else { return None };
            for element in text.split(',') {
                let node = element.split(';').find_map(|pair| {
                    let (key, value) = pair.trim().split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| value.trim().trim_matches('"'))
                });
                hops.push(node.unwrap_or(""));
            }
        }
    }
    for hop in hops.into_iter().rev() {
        let ip = parse_hop(hop)?.to_canonical();
        if !is_trusted(ip, trusted) {
            return Some(ip);
        }
    }
    None
}

/// One hop: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:5678`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    hop.parse::<SocketAddr>().ok().map(|a| a.ip())
}

/// Per-request budgets of the expensive fields.
#[derive(Debug, Clone, Copy)]
pub struct Budgets {
    pub max_router_solves: usize,
    pub max_chain_reads: usize,
    pub max_query_bytes: usize,
}

/// The extension factory: one [`RequestBudget`] per request.
pub struct RequestLimits {
    pub budgets: Budgets,
    pub limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestBudget {
            budgets: self.budgets,
            limiter: self.limiter.clone(),
            solves: AtomicUsize::new(0),
            reads: AtomicUsize::new(0),
        })
    }
}

struct RequestBudget {
    budgets: Budgets,
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    solves: AtomicUsize,
    reads: AtomicUsize,
}

/// The budget every request of one HTTP batch draws on (put in each request's data): the caps
/// hold per HTTP request, not per batch element.
#[derive(Default)]
pub struct BatchBudget {
    solves: AtomicUsize,
    reads: AtomicUsize,
}

fn refused(e: ApiError) -> ServerError {
    let mut err = ServerError::new(e.to_string(), None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", e.code());
    err.extensions = Some(ext);
    err
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestBudget {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut resp = next.run(ctx).await;
        crate::with_codes(&mut resp);
        resp
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream)
            .map(|mut r| {
                crate::with_codes(&mut r);
                r
            })
            .boxed()
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // Over WebSocket, each operation is held to what HTTP checks before parsing.
        if let Some(client) = ctx.data_opt::<WsClient>() {
            if self.limiter.check_key(&client.key).is_err() {
                return Err(refused(ApiError::RateLimited));
            }
            if request.query.len() > self.budgets.max_query_bytes {
                return Err(refused(ApiError::BadInput(format!(
                    "query: {} bytes; at most {} are accepted (use variables and fewer aliases)",
                    request.query.len(),
                    self.budgets.max_query_bytes
                ))));
            }
        }
        next.run(ctx, request).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        // async-graphql's own words name neither the limit nor what to do about it.
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| match e.message.as_str() {
                    "Query is too complex." => refused(ApiError::BadInput(format!(
                        "query: costs more than {} complexity points (each alias counts in full; \
                         docs/api.md lists each field's cost); split it",
                        crate::schema::MAX_COMPLEXITY
                    ))),
                    "Query is nested too deep." => refused(ApiError::BadInput(format!(
                        "query: nested deeper than {} levels",
                        crate::schema::MAX_DEPTH
                    ))),
                    _ => e,
                })
                .collect()
        })
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.parent_type == "Query" {
            let shared = ctx.data_opt::<Arc<BatchBudget>>();
            let (solves, reads) = match shared {
                Some(b) => (&b.solves, &b.reads),
                None => (&self.solves, &self.reads),
            };
            let (count, cap, what) = match info.name {
                "quoteAllocation" => (
                    solves,
                    self.budgets.max_router_solves,
                    "router solves (quoteAllocation)",
                ),
                "relayer" | "positions" | "audit" => (
                    reads,
                    self.budgets.max_chain_reads,
                    "chain-reading fields (relayer, positions, audit)",
                ),
                _ => return next.run(ctx, info).await,
            };
            if count.fetch_add(1, Ordering::SeqCst) >= cap {
                let mut e = refused(ApiError::BadInput(format!(
                    "{}: at most {cap} {what} per request; send the others in another request",
                    info.alias.unwrap_or(info.name)
                )));
                e.path = vec![async_graphql::PathSegment::Field(
                    info.alias.unwrap_or(info.name).to_string(),
                )];
                return Err(e);
            }
        }
        next.run(ctx, info).await
    }
}

/// Caps on WebSocket use per client.
#[derive(Debug, Clone, Copy)]
pub struct WsCaps {
    pub connections_per_client: usize,
    pub subscriptions_per_connection: usize,
    pub subscriptions_per_client: usize,
}

/// Open WebSocket connections and subscriptions, per client.
#[derive(Default)]
pub struct WsClients {
    connections: Mutex<HashMap<IpAddr, usize>>,
    subscriptions: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection's data, seen by every operation on it (async-graphql session data).
pub struct WsClient {
    pub key: IpAddr,
    caps: WsCaps,
    subscriptions: Arc<AtomicUsize>,
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
    _connection: ConnectionSlot,
}

/// Held for as long as the connection is open.
struct ConnectionSlot {
    key: IpAddr,
    clients: Arc<WsClients>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Ok(mut c) = self.clients.connections.lock()
            && let Some(n) = c.get_mut(&self.key)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.remove(&self.key);
            }
        }
    }
}

impl WsClients {
    /// A new connection for `key`, or `None` when it already holds its share.
    pub fn open(self: &Arc<Self>, key: IpAddr, caps: WsCaps) -> Option<WsClient> {
        let mut c = self.connections.lock().ok()?;
        let n = c.entry(key).or_default();
        if *n >= caps.connections_per_client {
            return None;
        }
        *n += 1;
        Some(WsClient {
            key,
            caps,
            subscriptions: Arc::default(),
            per_client: self.subscriptions.clone(),
            _connection: ConnectionSlot {
                key,
                clients: self.clone(),
            },
        })
    }
}

/// One open subscription; dropped with its stream.
pub struct SubscriptionSlot {
    key: IpAddr,
    on_connection: Arc<AtomicUsize>,
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for SubscriptionSlot {
    fn drop(&mut self) {
        self.on_connection.fetch_sub(1, Ordering::SeqCst);
        if let Ok(mut c) = self.per_client.lock()
            && let Some(n) = c.get_mut(&self.key)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.remove(&self.key);
            }
        }
    }
}

impl WsClient {
    /// A slot for one more subscription, or why not. Both counts move under the per-client
    /// lock, so two operations on one connection cannot pass the cap together.
    pub fn subscribe(&self) -> Result<SubscriptionSlot, ApiError> {
        let caps = self.caps;
        let mut per_client = self.per_client.lock().map_err(ApiError::internal)?;
        if self.subscriptions.load(Ordering::SeqCst) >= caps.subscriptions_per_connection {
            return Err(ApiError::BadInput(format!(
                "subscriptions: at most {} per connection",
                caps.subscriptions_per_connection
            )));
        }
        let n = per_client.entry(self.key).or_default();
        if *n >= caps.subscriptions_per_client {
            return Err(ApiError::BadInput(format!(
                "subscriptions: at most {} per client address",
                caps.subscriptions_per_client
            )));
        }
        *n += 1;
        self.subscriptions.fetch_add(1, Ordering::SeqCst);
        Ok(SubscriptionSlot {
            key: self.key,
            on_connection: self.subscriptions.clone(),
            per_client: self.per_client.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn ipv6_clients_count_per_prefix() {
        let a: SocketAddr = "[2001:db8:1:2:aaaa::1]:5000".parse().unwrap();
        let b: SocketAddr = "[2001:db8:1:2:ffff::9]:5001".parse().unwrap();
        let other: SocketAddr = "[2001:db8:1:3::1]:5000".parse().unwrap();
        let none = HeaderMap::new();
        let key = |p| client_key(p, &none, &[], 64);
        assert_eq!(key(a), key(b));
        assert_ne!(key(a), key(other));
        assert_eq!(key(a).to_string(), "2001:db8:1:2::");
        let mapped: SocketAddr = "[::ffff:192.0.2.7]:1".parse().unwrap();
        assert_eq!(key(mapped).to_string(), "192.0.2.7");
    }

    #[test]
    fn only_trusted_proxies_say_who_the_client_is() {
        let proxy: SocketAddr = "10.0.0.5:443".parse().unwrap();
        let stranger: SocketAddr = "198.51.100.9:443".parse().unwrap();
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // The client wrote 1.1.1.1 itself; the proxy appended what it saw.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.4")]);
        assert_eq!(
            client_key(proxy, &h, &trusted, 64).to_string(),
            "203.0.113.4"
        );
        assert_eq!(
            client_key(stranger, &h, &trusted, 64).to_string(),
            "198.51.100.9",
            "an untrusted peer's header is ignored"
        );
        // A chain of trusted proxies is skipped.
        let h = headers(&[("x-forwarded-for", "203.0.113.4, 10.0.0.7")]);
        assert_eq!(
            client_key(proxy, &h, &trusted, 64).to_string(),
            "203.0.113.4"
        );
        let h = headers(&[("forwarded", "for=\"[2001:db8::1]:443\";proto=https")]);
        assert_eq!(
            client_key(proxy, &h, &trusted, 64).to_string(),
            "2001:db8::"
        );
        // Nothing usable: the proxy itself.
        let h = headers(&[("x-forwarded-for", "not an address")]);
        assert_eq!(client_key(proxy, &h, &trusted, 64).to_string(), "10.0.0.5");
        // The hop the proxy saw is not an address: the client's own entries left of it are
        // not believed either (else each request could pick a fresh bucket).
        let h = headers(&[("x-forwarded-for", "1.1.1.1, unknown")]);
        assert_eq!(client_key(proxy, &h, &trusted, 64).to_string(), "10.0.0.5");
        // Ports and brackets, as some proxies write them.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.4:51234")]);
        assert_eq!(
            client_key(proxy, &h, &trusted, 64).to_string(),
            "203.0.113.4"
        );
        let h = headers(&[("x-forwarded-for", "[2001:db8:1:2::9]:443")]);
        assert_eq!(
            client_key(proxy, &h, &trusted, 64).to_string(),
            "2001:db8:1:2::"
        );
        // A dual-stack listener's view of an IPv4 proxy is still the trusted proxy.
        let mapped: SocketAddr = "[::ffff:10.0.0.5]:443".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "203.0.113.4")]);
        assert_eq!(
            client_key(mapped, &h, &trusted, 64).to_string(),
            "203.0.113.4"
        );
    }

    #[test]
    fn websocket_caps_hold_and_free_on_drop() {
        let clients: Arc<WsClients> = Arc::default();
        let key: IpAddr = "192.0.2.1".parse().unwrap();
        let caps = WsCaps {
            connections_per_client: 2,
            subscriptions_per_connection: 2,
            subscriptions_per_client: 3,
        };
        let c1 = clients.open(key, caps).unwrap();
        let c2 = clients.open(key, caps).unwrap();
        assert!(clients.open(key, caps).is_none(), "third connection");
        let s1 = c1.subscribe().unwrap();
        let _s2 = c1.subscribe().unwrap();
        assert!(c1.subscribe().is_err(), "per connection");
        let _s3 = c2.subscribe().unwrap();
        assert!(c2.subscribe().is_err(), "per client");
        drop(s1);
        assert!(
            c2.subscribe().is_ok(),
            "a closed subscription frees its slot"
        );
        drop(c1);
        assert!(
            clients.open(key, caps).is_some(),
            "a closed connection frees its slot"
        );
    }
}
