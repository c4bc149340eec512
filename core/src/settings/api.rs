//! The `[api]` section: where the GraphQL API listens, who operates it, and whose forwarding
//! headers it believes.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::env::secret;
use super::{Problems, defaults};
use crate::SecretRef;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    pub listen: Option<String>,
    #[serde(default)]
    pub operator_tokens: Vec<String>,
    /// Proxies (CIDRs) whose `X-Forwarded-For` / `Forwarded` header names the client; nobody
    /// else's is believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// IPv6 clients are rate-limited per prefix of this length (default 64: one customer).
    pub ipv6_prefix: Option<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiSettings {
    pub listen: SocketAddr,
    pub operator_tokens: Vec<SecretRef>,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub ipv6_prefix: u8,
}

impl RawApi {
    /// `path` is this section's key (`api`); relative `file:` tokens resolve against `base_dir`.
    pub(super) fn validate(&self, path: &str, base_dir: &Path, p: &mut Problems) -> ApiSettings {
        let listen_raw = self.listen.as_deref().unwrap_or(defaults::DEFAULT_LISTEN);
        let listen = listen_raw.parse().unwrap_or_else(|_| {
            p.push(
                format!("{path}.listen"),
                format!("not a socket address (host:port): {listen_raw:?}"),
            );
            defaults::LISTEN_PLACEHOLDER
        });
        let operator_tokens = self
            .operator_tokens
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                secret(
                    p,
                    &format!("{path}.operator_tokens[{i}]"),
                    &Some(t.clone()),
                    base_dir,
                )
            })
            .collect();
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .enumerate()
            .filter_map(|(i, cidr)| trusted_proxy(p, &format!("{path}.trusted_proxies[{i}]"), cidr))
            .collect();
        let ipv6_prefix = self.ipv6_prefix.unwrap_or(defaults::IPV6_PREFIX);
        if !(16..=128).contains(&ipv6_prefix) {
            p.push(
                format!("{path}.ipv6_prefix"),
                format!("must be between 16 and 128 (got {ipv6_prefix})"),
            );
        }
        ApiSettings {
            listen,
            operator_tokens,
            trusted_proxies,
            ipv6_prefix,
        }
    }
}

/// A CIDR, or a bare address (a /32 or /128).
fn trusted_proxy(p: &mut Problems, path: &str, cidr: &str) -> Option<ipnet::IpNet> {
    match cidr.parse::<ipnet::IpNet>() {
        Ok(net) => Some(net),
        Err(_) => match cidr.parse::<IpAddr>() {
            Ok(ip) => Some(ipnet::IpNet::from(ip)),
            Err(_) => {
                p.push(
                    path,
                    format!("not an address or CIDR (10.0.0.0/8, fd00::/8): {cidr:?}"),
                );
                None
            }
        },
    }
}
