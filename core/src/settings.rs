//! Atoll's configuration: one TOML file, `ATOLL_*` environment overrides, parsed once at start-up
//! into typed settings. Parsing collects *every* problem with its key path
//! (`chains[1].rpc[0]: not a URL`) instead of stopping at the first.
//!
//! Stages: TOML text → [`toml::Table`] → environment overrides → [`RawSettings`] (serde, shape
//! only: unknown keys and wrong types are refused here with their line) → [`Settings`] (every
//! value checked: URLs, addresses per chain kind, references between sections, duplicates).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::{Address, ChainId, ChainKind, PoolId, Protocol, SecretRef};

mod relayer;
pub use relayer::{
    BridgeRoute, FinalityPolicy, FinalityRule, FinalityTier, RawBridgeRoute, RawFinality,
    RawFinalityTier, RawRelayer, RelayerSettings, ReleasePolicy,
};

/// One thing wrong with a config: where (`chains[1].rpc`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in a config; displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigProblem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Raw shape, as written in TOML
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    #[serde(default)]
    pub database: RawDatabase,
    #[serde(default)]
    pub api: RawApi,
    #[serde(default)]
    pub chains: Vec<RawChain>,
    #[serde(default)]
    pub tokens: Vec<RawToken>,
    #[serde(default)]
    pub pools: Vec<RawPool>,
    #[serde(default)]
    pub factories: Vec<RawFactory>,
    /// Per-protocol fee overrides, keyed by protocol name.
    #[serde(default)]
    pub protocol_fees: BTreeMap<String, RawProtocolFee>,
    #[serde(default)]
    pub indexer: RawIndexer,
    #[serde(default)]
    pub relayer: RawRelayer,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIndexer {
    /// Pools whose TVL is below this are kept but left out of results (`dropped_reason`).
    pub min_tvl_usd: Option<f64>,
    /// Blocks asked for in the first `eth_getLogs` of a backfill (the window then adapts).
    pub log_window_blocks: Option<u64>,
    /// Upper bound of one batch (and of the log window), in blocks.
    pub max_batch_blocks: Option<u64>,
    /// How often a caught-up indexer polls the head.
    pub poll_interval_ms: Option<u64>,
    /// Solana: how often a following indexer samples pool accounts (state changes every slot;
    /// one sample per interval is what yields need). Deposits are scanned every poll.
    pub solana_sample_interval_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub url: Option<String>,
}

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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChain {
    pub name: String,
    pub kind: String,
    pub chain_id: u64,
    pub rpc: Vec<String>,
    /// Blocks (EVM) or slots behind head that count as final when the node has no `finalized`.
    pub confirmations: Option<u64>,
    pub use_finalized_tag: Option<bool>,
    /// EVM only: `eip1559` or `legacy`.
    pub fee_model: Option<String>,
    pub rate_limit_rps: Option<u32>,
    pub start_block: Option<u64>,
    /// EVM: the BridgeVault contract. Solana: the vault owner (token accounts are per token).
    pub bridge_vault: Option<String>,
    pub relayer_key: Option<String>,
    pub treasury_key: Option<String>,
    pub multicall3: Option<String>,
    /// Solana only: compute-unit price in micro-lamports for our own sends.
    pub priority_fee_micro_lamports: Option<u64>,
    /// EVM only: the most the relayer ever offers per gas, in gwei (default 1000), whatever
    /// the node's estimate or a fee bump asks: above it, releases wait.
    pub max_gas_price_gwei: Option<u64>,
    /// The `[[tokens]]` symbol whose price is this chain's gas token's (the wrapped native:
    /// WETH on Ethereum, WBNB on BSC, wSOL on Solana): what a release's gas costs in USD.
    /// Routes into this chain with `release_policy = "when_profitable"` need it.
    pub native_token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToken {
    pub symbol: String,
    #[serde(default)]
    pub stable: bool,
    /// A pinned USD price, used when no pool prices the token.
    pub price_usd: Option<f64>,
    #[serde(default)]
    pub on: Vec<RawTokenDeployment>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTokenDeployment {
    pub chain: String,
    pub address: String,
    pub decimals: u8,
    /// Solana only: the relayer's vault token account for this mint.
    pub vault: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    pub chain: String,
    pub protocol: String,
    pub address: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFactory {
    pub chain: String,
    pub protocol: String,
    pub address: String,
    pub start_block: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProtocolFee {
    pub fee_bps: u32,
    pub lp_fee_bps: u32,
}

// ---------------------------------------------------------------------------------------------
// Typed settings
// ---------------------------------------------------------------------------------------------

pub const DEFAULT_DATABASE_URL: &str = "sqlite://atoll.db?mode=rwc";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8000";

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub database_url: String,
    pub api: ApiSettings,
    pub chains: Vec<ChainSettings>,
    pub tokens: Vec<TokenSettings>,
    pub pools: Vec<PoolSettings>,
    pub factories: Vec<FactorySettings>,
    /// (fee, LP share) in bps for protocols with a fixed fee, defaults merged with overrides.
    pub protocol_fees: BTreeMap<Protocol, (u32, u32)>,
    pub indexer: IndexerSettings,
    pub relayer: RelayerSettings,
}

pub const DEFAULT_MIN_TVL_USD: f64 = 1_000.0;

#[derive(Debug, Clone, PartialEq)]
pub struct IndexerSettings {
    pub min_tvl_usd: f64,
    pub log_window_blocks: u64,
    pub max_batch_blocks: u64,
    pub poll_interval: std::time::Duration,
    pub solana_sample_interval: std::time::Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiSettings {
    pub listen: std::net::SocketAddr,
    pub operator_tokens: Vec<SecretRef>,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub ipv6_prefix: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeModel {
    Eip1559,
    Legacy,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChainSettings {
    pub name: String,
    pub kind: ChainKind,
    pub chain_id: ChainId,
    pub rpc: Vec<Url>,
    pub confirmations: u64,
    pub use_finalized_tag: bool,
    pub fee_model: Option<FeeModel>,
    pub rate_limit_rps: u32,
    pub start_block: u64,
    pub bridge_vault: Option<Address>,
    pub relayer_key: Option<SecretRef>,
    pub treasury_key: Option<SecretRef>,
    pub multicall3: Option<Address>,
    pub priority_fee_micro_lamports: u64,
    /// EVM: the ceiling on any fee per gas the relayer signs, in wei.
    pub max_gas_price_wei: u128,
    /// The token symbol that prices this chain's gas (checked to be deployed on it).
    pub native_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenSettings {
    pub symbol: String,
    pub stable: bool,
    pub price_usd: Option<f64>,
    pub deployments: Vec<TokenDeployment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenDeployment {
    pub chain: String,
    pub address: Address,
    pub decimals: u8,
    pub vault: Option<Address>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoolSettings {
    pub id: PoolId,
    pub chain: String,
    pub protocol: Protocol,
    pub address: Address,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FactorySettings {
    pub chain: String,
    pub protocol: Protocol,
    pub address: Address,
    pub start_block: u64,
}

impl Settings {
    pub fn chain(&self, name: &str) -> Option<&ChainSettings> {
        self.chains.iter().find(|c| c.name == name)
    }

    /// Parses a config file's text. `env` supplies `ATOLL_*` overrides (pass `std::env::vars()`);
    /// `base_dir` anchors relative `file:` secret paths (the config file's folder).
    pub fn parse(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        base_dir: &Path,
    ) -> Result<Settings, ConfigErrors> {
        // Shape errors are first looked for in the text itself, where they have a line number.
        let located = |e: toml::de::Error| {
            let line = e.span().map(|span| {
                text.as_bytes()[..span.start.min(text.len())]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1
            });
            let path = line.map_or_else(|| "<toml>".to_string(), |l| format!("line {l}"));
            ConfigErrors(vec![ConfigProblem {
                path,
                message: e.message().trim().to_string(),
            }])
        };
        toml::from_str::<RawSettings>(text).map_err(located)?;
        let mut table: toml::Table = text.parse().map_err(located)?;
        apply_env_overrides(&mut table, env)?;
        let raw: RawSettings = table.try_into().map_err(|e: toml::de::Error| {
            ConfigErrors(vec![ConfigProblem {
                path: "<environment overrides>".into(),
                message: e.message().trim().to_string(),
            }])
        })?;
        raw.validate(base_dir)
    }
}

// ---------------------------------------------------------------------------------------------
// Environment overrides
// ---------------------------------------------------------------------------------------------

/// Prefix of environment variables that override config keys.
pub const ENV_PREFIX: &str = "ATOLL_";

/// Applies `ATOLL_<SECTION>__<KEY>…` overrides: segments separated by `__`, lower-cased; an
/// array of tables (`chains`, `tokens`) is indexed by the entry's `name` or `symbol`, e.g.
/// `ATOLL_CHAINS__ETHEREUM__RPC='["http://10.0.0.1:8545"]'` or `ATOLL_DATABASE__URL=postgres://…`.
/// Values parse as TOML values when they can (numbers, booleans, arrays), else as strings.
/// Variables without `__` (like `ATOLL_HOME`, `ATOLL_OPERATOR_TOKEN`) are not overrides.
fn apply_env_overrides(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigErrors> {
    let mut problems = Vec::new();
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX) && k.contains("__"))
        .collect();
    vars.sort();
    for (key, value) in vars {
        let segments: Vec<String> = key[ENV_PREFIX.len()..]
            .split("__")
            .map(|s| s.to_ascii_lowercase())
            .collect();
        if let Err(message) = set_path(table, &segments, parse_env_value(&value)) {
            problems.push(ConfigProblem {
                path: key.clone(),
                message,
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors(problems))
    }
}

fn parse_env_value(value: &str) -> toml::Value {
    let doc = format!("v = {value}");
    doc.parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()))
}

fn set_path(
    table: &mut toml::Table,
    segments: &[String],
    value: toml::Value,
) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        return Err("empty override path".into());
    };
    if first.is_empty() {
        return Err("empty segment in override path".into());
    }
    if rest.is_empty() {
        table.insert(first.clone(), value);
        return Ok(());
    }
    let entry = table
        .entry(first.clone())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    match entry {
        toml::Value::Table(t) => set_path(t, rest, value),
        toml::Value::Array(items) => {
            let (selector, rest) = rest.split_first().ok_or("missing entry name")?;
            let found = items.iter_mut().find_map(|item| match item {
                toml::Value::Table(t)
                    if ["name", "symbol"].iter().any(|k| {
                        t.get(*k)
                            .and_then(|v| v.as_str())
                            .map(|v| v.eq_ignore_ascii_case(selector))
                            == Some(true)
                    }) =>
                {
                    Some(t)
                }
                _ => None,
            });
            match found {
                Some(t) if !rest.is_empty() => set_path(t, rest, value),
                Some(_) => Err("cannot replace a whole entry; name one of its keys".into()),
                None => Err(format!("no entry named {selector:?} in {first}")),
            }
        }
        _ => Err(format!("{first} is not a table")),
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

struct Problems(Vec<ConfigProblem>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigProblem {
            path: path.into(),
            message: message.into(),
        });
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn secret(
    p: &mut Problems,
    path: &str,
    raw: &Option<String>,
    base_dir: &Path,
) -> Option<SecretRef> {
    let s = raw.as_ref()?;
    match s.parse::<SecretRef>() {
        Ok(SecretRef::File(f)) if f.is_relative() => Some(SecretRef::File(base_dir.join(f))),
        Ok(r) => Some(r),
        Err(e) => {
            p.push(path, e.to_string());
            None
        }
    }
}

fn address(p: &mut Problems, path: &str, kind: Option<ChainKind>, raw: &str) -> Option<Address> {
    let kind = kind?;
    match Address::parse(kind, raw) {
        Ok(a) => Some(a),
        Err(e) => {
            p.push(path, e.to_string());
            None
        }
    }
}

impl RawSettings {
    pub fn validate(&self, base_dir: &Path) -> Result<Settings, ConfigErrors> {
        let mut p = Problems(Vec::new());

        let database_url = self
            .database
            .url
            .clone()
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            p.push(
                "database.url",
                "must start with sqlite:, postgres:// or postgresql://",
            );
        }

        let listen_raw = self.api.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = listen_raw.parse().unwrap_or_else(|_| {
            p.push(
                "api.listen",
                format!("not a socket address (host:port): {listen_raw:?}"),
            );
            std::net::SocketAddr::from(([127, 0, 0, 1], 8000))
        });
        let operator_tokens = self
            .api
            .operator_tokens
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                secret(
                    &mut p,
                    &format!("api.operator_tokens[{i}]"),
                    &Some(t.clone()),
                    base_dir,
                )
            })
            .collect();

        let trusted_proxies = self
            .api
            .trusted_proxies
            .iter()
            .enumerate()
            .filter_map(|(i, cidr)| match cidr.parse::<ipnet::IpNet>() {
                Ok(net) => Some(net),
                // A bare address is a /32 or /128.
                Err(_) => match cidr.parse::<std::net::IpAddr>() {
                    Ok(ip) => Some(ipnet::IpNet::from(ip)),
                    Err(_) => {
                        p.push(
                            format!("api.trusted_proxies[{i}]"),
                            format!("not an address or CIDR (10.0.0.0/8, fd00::/8): {cidr:?}"),
                        );
                        None
                    }
                },
            })
            .collect();
        let ipv6_prefix = self.api.ipv6_prefix.unwrap_or(64);
        if !(16..=128).contains(&ipv6_prefix) {
            p.push(
                "api.ipv6_prefix",
                format!("must be between 16 and 128 (got {ipv6_prefix})"),
            );
        }

        let chains = self.validate_chains(&mut p, base_dir);
        let kind_of = |name: &str| chains.iter().find(|c| c.name == name).map(|c| c.kind);
        let check_chain = |p: &mut Problems, path: &str, chain: &str| -> Option<ChainKind> {
            let k = kind_of(chain);
            if k.is_none() {
                p.push(path, format!("unknown chain {chain:?} (not in [[chains]])"));
            }
            k
        };

        let mut tokens = Vec::new();
        let mut symbols = HashSet::new();
        for (i, t) in self.tokens.iter().enumerate() {
            let path = format!("tokens[{i}]");
            if t.symbol.is_empty() {
                p.push(format!("{path}.symbol"), "must not be empty");
            } else if !symbols.insert(t.symbol.clone()) {
                p.push(
                    format!("{path}.symbol"),
                    format!("duplicate token {:?}", t.symbol),
                );
            }
            if let Some(price) = t.price_usd
                && !(price.is_finite() && price > 0.0)
            {
                p.push(format!("{path}.price_usd"), "must be a finite number > 0");
            }
            let mut deployments = Vec::new();
            let mut seen_chains = HashSet::new();
            for (j, d) in t.on.iter().enumerate() {
                let dpath = format!("{path}.on[{j}]");
                let kind = check_chain(&mut p, &format!("{dpath}.chain"), &d.chain);
                if !seen_chains.insert(d.chain.clone()) {
                    p.push(
                        format!("{dpath}.chain"),
                        format!("token {} listed twice on {}", t.symbol, d.chain),
                    );
                }
                if d.decimals > crate::amount::MAX_DECIMALS {
                    p.push(
                        format!("{dpath}.decimals"),
                        format!("must be at most {}", crate::amount::MAX_DECIMALS),
                    );
                }
                let addr = address(&mut p, &format!("{dpath}.address"), kind, &d.address);
                let vault = match (&d.vault, kind) {
                    (Some(v), Some(ChainKind::Solana)) => {
                        address(&mut p, &format!("{dpath}.vault"), kind, v)
                    }
                    (Some(_), Some(ChainKind::Evm)) => {
                        p.push(format!("{dpath}.vault"), "only Solana tokens have a vault account (EVM uses the chain's bridge_vault)");
                        None
                    }
                    _ => None,
                };
                if let Some(address) = addr {
                    deployments.push(TokenDeployment {
                        chain: d.chain.clone(),
                        address,
                        decimals: d.decimals,
                        vault,
                    });
                }
            }
            tokens.push(TokenSettings {
                symbol: t.symbol.clone(),
                stable: t.stable,
                price_usd: t.price_usd,
                deployments,
            });
        }

        let mut pools = Vec::new();
        let mut pool_ids = HashSet::new();
        for (i, pool) in self.pools.iter().enumerate() {
            let path = format!("pools[{i}]");
            let kind = check_chain(&mut p, &format!("{path}.chain"), &pool.chain);
            let protocol = protocol_for(&mut p, &format!("{path}.protocol"), &pool.protocol, kind);
            let addr = address(&mut p, &format!("{path}.address"), kind, &pool.address);
            if let (Some(protocol), Some(address)) = (protocol, addr) {
                let id = PoolId::new(&pool.chain, protocol, &address);
                if !pool_ids.insert(id.clone()) {
                    p.push(format!("{path}.address"), format!("duplicate pool {id}"));
                }
                pools.push(PoolSettings {
                    id,
                    chain: pool.chain.clone(),
                    protocol,
                    address,
                });
            }
        }

        let mut factories = Vec::new();
        for (i, f) in self.factories.iter().enumerate() {
            let path = format!("factories[{i}]");
            let kind = check_chain(&mut p, &format!("{path}.chain"), &f.chain);
            let protocol = protocol_for(&mut p, &format!("{path}.protocol"), &f.protocol, kind);
            let addr = address(&mut p, &format!("{path}.address"), kind, &f.address);
            if let (Some(protocol), Some(address)) = (protocol, addr) {
                factories.push(FactorySettings {
                    chain: f.chain.clone(),
                    protocol,
                    address,
                    start_block: f.start_block.unwrap_or(0),
                });
            }
        }

        let mut protocol_fees: BTreeMap<Protocol, (u32, u32)> = Protocol::ALL
            .into_iter()
            .filter_map(|pr| pr.default_fee_bps().map(|f| (pr, f)))
            .collect();
        for (name, fee) in &self.protocol_fees {
            let path = format!("protocol_fees.{name}");
            match name.parse::<Protocol>() {
                Err(e) => p.push(path, e.to_string()),
                Ok(pr) if fee.fee_bps > 10_000 || fee.lp_fee_bps > fee.fee_bps => {
                    p.push(
                        path,
                        format!(
                            "need lp_fee_bps <= fee_bps <= 10000 (got {} and {}) for {pr}",
                            fee.lp_fee_bps, fee.fee_bps
                        ),
                    );
                }
                Ok(pr) => {
                    protocol_fees.insert(pr, (fee.fee_bps, fee.lp_fee_bps));
                }
            }
        }

        let min_tvl_usd = self.indexer.min_tvl_usd.unwrap_or(DEFAULT_MIN_TVL_USD);
        if !(min_tvl_usd.is_finite() && min_tvl_usd >= 0.0) {
            p.push(
                "indexer.min_tvl_usd",
                format!("must be a finite number >= 0 (got {min_tvl_usd})"),
            );
        }
        let log_window_blocks = self.indexer.log_window_blocks.unwrap_or(2_000);
        if !(1..=1_000_000).contains(&log_window_blocks) {
            p.push(
                "indexer.log_window_blocks",
                format!("must be between 1 and 1000000 (got {log_window_blocks})"),
            );
        }
        let max_batch_blocks = self.indexer.max_batch_blocks.unwrap_or(100_000);
        if !(1..=1_000_000).contains(&max_batch_blocks) {
            p.push(
                "indexer.max_batch_blocks",
                format!("must be between 1 and 1000000 (got {max_batch_blocks})"),
            );
        }
        let poll_ms = self.indexer.poll_interval_ms.unwrap_or(1_000);
        if poll_ms == 0 {
            p.push("indexer.poll_interval_ms", "must be > 0");
        }
        let sample_ms = self.indexer.solana_sample_interval_ms.unwrap_or(10_000);

        let chain_names: HashSet<String> = self.chains.iter().map(|c| c.name.clone()).collect();
        for (i, c) in self.chains.iter().enumerate() {
            let Some(symbol) = &c.native_token else {
                continue;
            };
            let deployed = tokens
                .iter()
                .any(|t| &t.symbol == symbol && t.deployments.iter().any(|d| d.chain == c.name));
            if !deployed {
                p.push(
                    format!("chains[{i}].native_token"),
                    format!(
                        "{symbol:?} is not a [[tokens]] entry deployed on {}",
                        c.name
                    ),
                );
            }
        }
        let priced_gas: HashSet<String> = chains
            .iter()
            .filter(|c| c.native_token.is_some())
            .map(|c| c.name.clone())
            .collect();
        let relayer = self
            .relayer
            .validate(&mut p, &chain_names, &priced_gas, &tokens);

        if !p.0.is_empty() {
            return Err(ConfigErrors(p.0));
        }
        Ok(Settings {
            relayer,
            indexer: IndexerSettings {
                min_tvl_usd,
                log_window_blocks: log_window_blocks.min(max_batch_blocks),
                max_batch_blocks,
                poll_interval: std::time::Duration::from_millis(poll_ms),
                solana_sample_interval: std::time::Duration::from_millis(sample_ms),
            },
            database_url,
            api: ApiSettings {
                listen,
                operator_tokens,
                trusted_proxies,
                ipv6_prefix,
            },
            chains,
            tokens,
            pools,
            factories,
            protocol_fees,
        })
    }

    fn validate_chains(&self, p: &mut Problems, base_dir: &Path) -> Vec<ChainSettings> {
        let mut out = Vec::new();
        let mut names = HashSet::new();
        let mut ids = HashSet::new();
        for (i, c) in self.chains.iter().enumerate() {
            let path = format!("chains[{i}]");
            if !valid_name(&c.name) {
                p.push(
                    format!("{path}.name"),
                    format!("{:?} must be 1-32 characters of a-z, 0-9, _ or -", c.name),
                );
            } else if !names.insert(c.name.clone()) {
                p.push(
                    format!("{path}.name"),
                    format!("duplicate chain name {:?}", c.name),
                );
            }
            let kind = match c.kind.parse::<ChainKind>() {
                Ok(k) => Some(k),
                Err(e) => {
                    p.push(format!("{path}.kind"), e.to_string());
                    None
                }
            };
            if !ids.insert(c.chain_id) {
                p.push(
                    format!("{path}.chain_id"),
                    format!("duplicate chain id {}", c.chain_id),
                );
            }
            if c.rpc.is_empty() {
                p.push(format!("{path}.rpc"), "needs at least one RPC URL");
            }
            let mut rpc = Vec::new();
            for (j, u) in c.rpc.iter().enumerate() {
                match Url::parse(u) {
                    Ok(url) if matches!(url.scheme(), "http" | "https" | "ws" | "wss") => {
                        rpc.push(url)
                    }
                    Ok(url) => p.push(
                        format!("{path}.rpc[{j}]"),
                        format!(
                            "unsupported scheme {:?} (http, https, ws or wss)",
                            url.scheme()
                        ),
                    ),
                    Err(e) => p.push(
                        format!("{path}.rpc[{j}]"),
                        format!("not a URL: {u:?} ({e})"),
                    ),
                }
            }
            if c.rate_limit_rps == Some(0) {
                p.push(format!("{path}.rate_limit_rps"), "must be > 0");
            }
            let fee_model = match (c.fee_model.as_deref(), kind) {
                (None, Some(ChainKind::Evm)) => Some(if c.chain_id == 56 {
                    FeeModel::Legacy
                } else {
                    FeeModel::Eip1559
                }),
                (Some("eip1559"), Some(ChainKind::Evm)) => Some(FeeModel::Eip1559),
                (Some("legacy"), Some(ChainKind::Evm)) => Some(FeeModel::Legacy),
                (Some(other), Some(ChainKind::Evm)) => {
                    p.push(
                        format!("{path}.fee_model"),
                        format!("unknown fee model {other:?} (eip1559 or legacy)"),
                    );
                    None
                }
                (Some(_), Some(ChainKind::Solana)) => {
                    p.push(
                        format!("{path}.fee_model"),
                        "only EVM chains have a fee model (Solana: priority_fee_micro_lamports)",
                    );
                    None
                }
                _ => None,
            };
            if c.priority_fee_micro_lamports.is_some() && kind == Some(ChainKind::Evm) {
                p.push(
                    format!("{path}.priority_fee_micro_lamports"),
                    "only Solana chains take a priority fee",
                );
            }
            let bridge_vault = c
                .bridge_vault
                .as_ref()
                .and_then(|v| address(p, &format!("{path}.bridge_vault"), kind, v));
            let multicall3 = match (&c.multicall3, kind) {
                (Some(_), Some(ChainKind::Solana)) => {
                    p.push(
                        format!("{path}.multicall3"),
                        "Multicall3 is an EVM contract",
                    );
                    None
                }
                (Some(m), _) => address(p, &format!("{path}.multicall3"), kind, m),
                (None, _) => None,
            };
            let relayer_key = secret(p, &format!("{path}.relayer_key"), &c.relayer_key, base_dir);
            if c.bridge_vault.is_some() && c.relayer_key.is_none() {
                p.push(
                    format!("{path}.relayer_key"),
                    "required when bridge_vault is set (the relayer signs releases with it)",
                );
            }
            let treasury_key = secret(
                p,
                &format!("{path}.treasury_key"),
                &c.treasury_key,
                base_dir,
            );
            if c.treasury_key.is_some() && c.treasury_key == c.relayer_key {
                p.push(
                    format!("{path}.treasury_key"),
                    "must not be the relayer's key: the treasury's deposits and the relayer's releases would share nonces and funds",
                );
            }
            if c.max_gas_price_gwei.is_some() && kind == Some(ChainKind::Solana) {
                p.push(
                    format!("{path}.max_gas_price_gwei"),
                    "only EVM chains pay gas per unit (Solana: priority_fee_micro_lamports)",
                );
            }
            let max_gas_price_gwei = c.max_gas_price_gwei.unwrap_or(1_000);
            if max_gas_price_gwei == 0 {
                p.push(format!("{path}.max_gas_price_gwei"), "must be at least 1");
            }
            if let Some(kind) = kind {
                out.push(ChainSettings {
                    name: c.name.clone(),
                    kind,
                    chain_id: ChainId(c.chain_id),
                    rpc,
                    confirmations: c.confirmations.unwrap_or(match kind {
                        ChainKind::Evm => 12,
                        ChainKind::Solana => 32,
                    }),
                    use_finalized_tag: c.use_finalized_tag.unwrap_or(true),
                    fee_model,
                    rate_limit_rps: c.rate_limit_rps.unwrap_or(50),
                    start_block: c.start_block.unwrap_or(0),
                    bridge_vault,
                    relayer_key,
                    treasury_key,
                    multicall3,
                    priority_fee_micro_lamports: c.priority_fee_micro_lamports.unwrap_or(0),
                    max_gas_price_wei: u128::from(max_gas_price_gwei) * 1_000_000_000,
                    native_token: c.native_token.clone(),
                });
            }
        }
        out
    }
}

fn protocol_for(
    p: &mut Problems,
    path: &str,
    raw: &str,
    chain_kind: Option<ChainKind>,
) -> Option<Protocol> {
    match raw.parse::<Protocol>() {
        Err(e) => {
            p.push(path, e.to_string());
            None
        }
        Ok(pr) => match chain_kind {
            Some(k) if k != pr.chain_kind() => {
                p.push(
                    path,
                    format!("{pr} runs on {} chains, not {k}", pr.chain_kind()),
                );
                None
            }
            _ => Some(pr),
        },
    }
}

/// The folder relative `file:` paths of a config file at `config_path` resolve against.
pub fn base_dir_of(config_path: &Path) -> PathBuf {
    match config_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[database]
url = "sqlite://atoll.db?mode=rwc"

[[chains]]
name = "ethereum"
kind = "evm"
chain_id = 1
rpc = ["http://127.0.0.1:8545"]
bridge_vault = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
relayer_key = "file:keys/relayer.key"

[[chains]]
name = "solana"
kind = "solana"
chain_id = 1151111081099710
rpc = ["http://127.0.0.1:8899"]

[[tokens]]
symbol = "USDC"
stable = true
on = [
  { chain = "ethereum", address = "0x5FbDB2315678afecb367f032d93F642f64180aa3", decimals = 6 },
  { chain = "solana", address = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", decimals = 6, vault = "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc" },
]

[[pools]]
chain = "ethereum"
protocol = "uniswap_v2"
address = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
"#;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
        Settings::parse(
            text,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            Path::new("/etc/atoll"),
        )
    }

    #[test]
    fn good_config_parses_with_defaults() {
        let s = parse(GOOD, &[]).unwrap();
        assert_eq!(s.chains.len(), 2);
        let eth = s.chain("ethereum").unwrap();
        assert_eq!(eth.fee_model, Some(FeeModel::Eip1559));
        assert_eq!(
            eth.relayer_key,
            Some(SecretRef::File("/etc/atoll/keys/relayer.key".into()))
        );
        assert_eq!(s.protocol_fees[&Protocol::PancakeswapV2], (25, 17));
        assert_eq!(
            s.pools[0].id.0,
            "ethereum:uniswap_v2:0x5fbdb2315678afecb367f032d93f642f64180aa3"
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let bad = GOOD
            .replace("rpc = [\"http://127.0.0.1:8545\"]", "rpc = [\"not a url\"]")
            .replace("kind = \"solana\"", "kind = \"cosmos\"")
            .replace(
                "relayer_key = \"file:keys/relayer.key\"",
                "relayer_key = \"0xdeadbeefdeadbeefdeadbeef\"",
            )
            .replace("protocol = \"uniswap_v2\"", "protocol = \"sushiswap\"");
        let errs = parse(&bad, &[]).unwrap_err();
        let text = errs.to_string();
        for needle in [
            "chains[0].rpc[0]: not a URL",
            "chains[1].kind: unknown chain kind",
            "chains[0].relayer_key",
            "pools[0].protocol: unknown protocol",
            "tokens[0].on[1].chain: unknown chain \"solana\"",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert!(!text.contains("deadbeefdeadbeef"), "secret echoed:\n{text}");
    }

    #[test]
    fn bad_address_is_named() {
        let bad = GOOD.replace(
            "bridge_vault = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"",
            "bridge_vault = \"0x5FbD\"",
        );
        let text = parse(&bad, &[]).unwrap_err().to_string();
        assert!(
            text.starts_with("chains[0].bridge_vault: not a valid evm address"),
            "{text}"
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let text = parse(&format!("{GOOD}\n[api]\nlisen = \"x\"\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(text.starts_with("line 33: unknown field `lisen`"), "{text}");
    }

    #[test]
    fn env_overrides_by_entry_name() {
        let s = parse(
            GOOD,
            &[
                ("ATOLL_CHAINS__ETHEREUM__RPC", "[\"http://10.1.1.1:8545\"]"),
                ("ATOLL_DATABASE__URL", "postgres://u@h/db"),
                ("ATOLL_HOME", "/x"),
            ],
        )
        .unwrap();
        assert_eq!(
            s.chain("ethereum").unwrap().rpc[0].as_str(),
            "http://10.1.1.1:8545/"
        );
        assert_eq!(s.database_url, "postgres://u@h/db");
        let e = parse(GOOD, &[("ATOLL_CHAINS__ARBITRUM__RPC", "x")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ATOLL_CHAINS__ARBITRUM__RPC: no entry named \"arbitrum\""),
            "{e}"
        );
    }

    #[test]
    fn the_treasury_never_shares_the_relayers_key() {
        let bad = GOOD.replace(
            "relayer_key = \"file:keys/relayer.key\"\n",
            "relayer_key = \"file:keys/relayer.key\"\ntreasury_key = \"file:keys/relayer.key\"\nmax_gas_price_gwei = 0\n",
        );
        let text = parse(&bad, &[]).unwrap_err().to_string();
        assert!(
            text.contains("chains[0].treasury_key: must not be the relayer's key"),
            "{text}"
        );
        assert!(
            text.contains("chains[0].max_gas_price_gwei: must be at least 1"),
            "{text}"
        );
        let s = parse(GOOD, &[]).unwrap();
        assert_eq!(
            s.chains[0].max_gas_price_wei,
            1_000 * 1_000_000_000,
            "the default"
        );
    }

    #[test]
    fn a_vault_without_a_relayer_key_is_named() {
        let bad = GOOD.replace("relayer_key = \"file:keys/relayer.key\"\n", "");
        let text = parse(&bad, &[]).unwrap_err().to_string();
        assert!(
            text.contains("chains[0].relayer_key: required when bridge_vault is set"),
            "{text}"
        );
    }

    #[test]
    fn protocol_on_wrong_chain_kind() {
        let bad = GOOD.replace("protocol = \"uniswap_v2\"", "protocol = \"orca_whirlpool\"");
        let text = parse(&bad, &[]).unwrap_err().to_string();
        assert!(
            text.contains("pools[0].protocol: orca_whirlpool runs on solana chains, not evm"),
            "{text}"
        );
    }
}

#[cfg(test)]
mod relayer_tests {
    use super::*;

    const BASE: &str = r#"
[[chains]]
name = "ethereum"
kind = "evm"
chain_id = 1
rpc = ["http://127.0.0.1:8545"]

[[chains]]
name = "solana"
kind = "solana"
chain_id = 1151111081099710
rpc = ["http://127.0.0.1:8899"]

[[tokens]]
symbol = "WETH"
on = [
  { chain = "ethereum", address = "0x5FbDB2315678afecb367f032d93F642f64180aa3", decimals = 18 },
  { chain = "solana", address = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", decimals = 8, vault = "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc" },
]
"#;

    fn parse(extra: &str) -> Result<Settings, ConfigErrors> {
        Settings::parse(
            &format!("{BASE}{extra}"),
            Vec::<(String, String)>::new(),
            Path::new("/etc/atoll"),
        )
    }

    #[test]
    fn defaults_without_a_relayer_section() {
        let s = parse("").unwrap();
        assert_eq!(s.relayer.max_in_flight, 4);
        assert!(!s.relayer.dry_run);
        assert!(s.relayer.routes.is_empty());
        // A chain without a policy waits for finality, and releases nothing ahead of it.
        let f = s.relayer.finality_of("ethereum");
        assert_eq!(f.rule_for(Some(1.0)), FinalityRule::Finalized);
        assert_eq!(f.max_unfinalized_usd, 0.0);
    }

    #[test]
    fn routes_and_finality_tiers() {
        let s = parse(
            r#"
[relayer]
max_in_flight = 8

[[relayer.routes]]
from = "ethereum"
to = "solana"
token = "WETH"
fee_bps = 5
fee_fixed = "0.0001"
min_amount = "0.01"

[[relayer.finality]]
chain = "ethereum"
max_unfinalized_usd = 50000
tiers = [
  { up_to_usd = 1000, confirmations = 2 },
  { up_to_usd = 100000, confirmations = 4 },
]
"#,
        )
        .unwrap();
        assert_eq!(s.relayer.max_in_flight, 8);
        let r = s.relayer.route("ethereum", "solana", "WETH").unwrap();
        assert_eq!((r.fee_bps, r.fee_fixed.as_str()), (5, "0.0001"));
        assert!(s.relayer.route("solana", "ethereum", "WETH").is_none());
        let f = s.relayer.finality_of("ethereum");
        assert_eq!(f.rule_for(Some(999.0)), FinalityRule::Confirmations(2));
        assert_eq!(f.rule_for(Some(1_000.0)), FinalityRule::Confirmations(2));
        assert_eq!(f.rule_for(Some(50_000.0)), FinalityRule::Confirmations(4));
        // Above the last cap, and unpriced deposits, wait for finality.
        assert_eq!(f.rule_for(Some(1e6)), FinalityRule::Finalized);
        assert_eq!(f.rule_for(None), FinalityRule::Finalized);
        assert_eq!(f.max_unfinalized_usd, 50_000.0);
    }

    #[test]
    fn a_route_into_solana_needs_the_tokens_vault() {
        let base = BASE.replace(
            ", vault = \"whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc\"",
            "",
        );
        let route = |from: &str, to: &str| {
            format!("[[relayer.routes]]\nfrom = \"{from}\"\nto = \"{to}\"\ntoken = \"WETH\"\n")
        };
        let parse = |extra: &str| {
            Settings::parse(
                &format!("{base}{extra}"),
                Vec::<(String, String)>::new(),
                Path::new("/etc/atoll"),
            )
        };
        let err = parse(&route("ethereum", "solana")).unwrap_err().to_string();
        assert!(
            err.contains("relayer.routes[0].to: WETH on solana has no vault"),
            "{err}"
        );
        // Out of Solana, deposits go to the vault owner's accounts: no vault needed to pay.
        assert!(parse(&route("solana", "ethereum")).is_ok());
    }

    #[test]
    fn bad_routes_name_the_field() {
        let err = parse(
            r#"
[[relayer.routes]]
from = "ethereum"
to = "polygon"
token = "WETH"
fee_bps = 10000
min_amount = "5"
max_amount = "1"

[[relayer.routes]]
from = "ethereum"
to = "solana"
token = "WETH"
fee_fixed = "0.000000001"

[[relayer.finality]]
chain = "ethereum"
tiers = [{ up_to_usd = 10, confirmations = 0 }, { up_to_usd = 5, finalized = true }]
"#,
        )
        .unwrap_err()
        .to_string();
        for want in [
            "relayer.routes[0].to: no chain named \"polygon\"",
            "relayer.routes[0].fee_bps: must be below 10000",
            // 9 fractional digits do not fit WETH's 8 decimals on Solana.
            "relayer.routes[1].fee_fixed:",
            "(WETH has 8 decimals)",
            "relayer.routes[0].max_amount: must be at least min_amount",
            "relayer.finality[0].tiers[0]: needs exactly one of confirmations",
            "relayer.finality[0].tiers[1].up_to_usd: tiers must rise",
        ] {
            assert!(err.contains(want), "missing {want:?} in:\n{err}");
        }
    }

    #[test]
    fn release_policies_are_checked() {
        let route = |to: &str, extra: &str| {
            format!(
                "[[relayer.routes]]\nfrom = \"{}\"\nto = \"{to}\"\ntoken = \"WETH\"\n{extra}\n",
                if to == "ethereum" {
                    "solana"
                } else {
                    "ethereum"
                }
            )
        };
        // Defaults: always.
        let s = parse(&route("ethereum", "")).unwrap();
        assert_eq!(s.relayer.routes[0].policy, ReleasePolicy::Always);

        let err = parse(&route(
            "ethereum",
            "release_policy = \"when_profitable\"\nprofit_margin_pct = -1",
        ))
        .unwrap_err()
        .to_string();
        for want in [
            "relayer.routes[0].release_policy: when_profitable prices ethereum's gas: set native_token",
            "relayer.routes[0].profit_margin_pct: must be between 0 and 1000 (got -1)",
        ] {
            assert!(err.contains(want), "missing {want:?} in:\n{err}");
        }
        let priced = BASE.replacen(
            "rpc = [\"http://127.0.0.1:8545\"]",
            "rpc = [\"http://127.0.0.1:8545\"]\nnative_token = \"WETH\"",
            1,
        );
        let parse_priced = |extra: &str| {
            Settings::parse(
                &format!("{priced}{extra}"),
                Vec::<(String, String)>::new(),
                Path::new("/etc/atoll"),
            )
        };
        let s = parse_priced(&route(
            "ethereum",
            "release_policy = \"when_profitable\"\nmax_wait_s = 600",
        ))
        .unwrap();
        assert_eq!(
            s.relayer.routes[0].policy,
            ReleasePolicy::WhenProfitable {
                margin_pct: 10.0,
                max_wait: Some(std::time::Duration::from_secs(600)),
            }
        );
        for (extra, want) in [
            (
                route("ethereum", "release_policy = \"cheap\""),
                "relayer.routes[0].release_policy: must be \"always\" or \"when_profitable\" (got \"cheap\")",
            ),
            (
                route("ethereum", "max_wait_s = 5"),
                "relayer.routes[0].release_policy: profit_margin_pct and max_wait_s need",
            ),
            (
                route("solana", "release_policy = \"when_profitable\""),
                "when_profitable is not supported on routes into Solana yet",
            ),
        ] {
            let err = parse_priced(&extra).unwrap_err().to_string();
            assert!(err.contains(want), "missing {want:?} in:\n{err}");
        }
        let err = Settings::parse(
            &BASE.replace(
                "kind = \"solana\"",
                "kind = \"solana\"\nnative_token = \"SOL\"",
            ),
            Vec::<(String, String)>::new(),
            Path::new("/etc/atoll"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(
                "chains[1].native_token: \"SOL\" is not a [[tokens]] entry deployed on solana"
            ),
            "{err}"
        );
    }
}
