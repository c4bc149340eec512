//! Atoll's configuration: one TOML file, `ATOLL_*` environment overrides, parsed once at start-up
//! into typed settings. Parsing collects *every* problem with its key path
//! (`chains[1].rpc[0]: not a URL`) instead of stopping at the first.
//!
//! Stages: TOML text → [`toml::Table`] → environment overrides → [`RawSettings`] (serde, shape
//! only: unknown keys and wrong types are refused here with their line) → [`Settings`] (every
//! value checked: URLs, addresses per chain kind, references between sections, duplicates).
//!
//! One file per section, each with its raw (as written) and typed shapes and its checks, each
//! check told the key path it lives at: `database`, `api`, `chains`, `tokens`, `pools` (with
//! factories and protocol fees), `indexer`, `relayer`. Beside them: `env` (environment
//! overrides, secret references), `defaults` (every default value), and `references` (every
//! check from one section into another).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Protocol;

mod api;
mod chains;
mod database;
mod defaults;
mod env;
mod indexer;
mod pools;
mod references;
mod relayer;
mod tokens;

pub use api::{ApiSettings, RawApi};
pub use chains::{ChainSettings, FeeModel, RawChain};
pub use database::RawDatabase;
pub use defaults::{DEFAULT_DATABASE_URL, DEFAULT_LISTEN, DEFAULT_MIN_TVL_USD};
pub use env::{ENV_PREFIX, base_dir_of};
pub use indexer::{IndexerSettings, RawIndexer};
pub use pools::{
    FactorySettings, LendingMarketEntry, LendingMarketSettings, PoolSettings, RawFactory,
    RawLendingMarket, RawPool, RawProtocolFee,
};
pub use relayer::{
    BridgeRoute, FinalityPolicy, FinalityRule, FinalityTier, RawBridgeRoute, RawFinality,
    RawFinalityTier, RawRelayer, RelayerSettings, ReleasePolicy,
};
pub use tokens::{RawToken, RawTokenDeployment, TokenDeployment, TokenSettings};

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

/// The problems found so far, in the order of the config's keys.
#[derive(Default)]
struct Problems(Vec<ConfigProblem>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigProblem {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// The whole config as written in TOML: shape only.
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
    #[serde(default)]
    pub lending_markets: Vec<RawLendingMarket>,
    /// Per-protocol fee overrides, keyed by protocol name.
    #[serde(default)]
    pub protocol_fees: BTreeMap<String, RawProtocolFee>,
    #[serde(default)]
    pub indexer: RawIndexer,
    #[serde(default)]
    pub relayer: RawRelayer,
}

/// The whole config, every value checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub database_url: String,
    pub api: ApiSettings,
    pub chains: Vec<ChainSettings>,
    pub tokens: Vec<TokenSettings>,
    pub pools: Vec<PoolSettings>,
    pub factories: Vec<FactorySettings>,
    pub lending_markets: Vec<LendingMarketSettings>,
    /// (fee, LP share) in bps for protocols with a fixed fee, defaults merged with overrides.
    pub protocol_fees: BTreeMap<Protocol, (u32, u32)>,
    pub indexer: IndexerSettings,
    pub relayer: RelayerSettings,
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
        env::apply_env_overrides(&mut table, env)?;
        let raw: RawSettings = table.try_into().map_err(|e: toml::de::Error| {
            ConfigErrors(vec![ConfigProblem {
                path: "<environment overrides>".into(),
                message: e.message().trim().to_string(),
            }])
        })?;
        raw.validate(base_dir)
    }
}

impl RawSettings {
    /// Checks every section, each at its key path, in the order of the keys above: a section
    /// that names another (a token's chain, a route's token) is checked after it, through
    /// `references::References`. `base_dir` anchors relative `file:` secret paths.
    pub fn validate(&self, base_dir: &Path) -> Result<Settings, ConfigErrors> {
        let mut p = Problems::default();
        let database_url = self.database.validate("database", &mut p);
        let api = self.api.validate("api", base_dir, &mut p);
        let chains = chains::validate_chains(&self.chains, "chains", base_dir, &mut p);
        let refs = references::References::new(&self.chains, &chains);
        let tokens = tokens::validate_tokens(&self.tokens, "tokens", &refs, &mut p);
        let pools = pools::validate_pools(&self.pools, "pools", &refs, &mut p);
        let factories = pools::validate_factories(&self.factories, "factories", &refs, &mut p);
        let lending_markets = pools::validate_lending_markets(
            &self.lending_markets,
            "lending_markets",
            &refs,
            &mut p,
        );
        let protocol_fees =
            pools::validate_protocol_fees(&self.protocol_fees, "protocol_fees", &mut p);
        let indexer = self.indexer.validate("indexer", &mut p);
        let refs = refs.with_tokens(&tokens);
        refs.check_native_tokens("chains", &mut p);
        let relayer = self.relayer.validate("relayer", &refs, &mut p);

        if !p.0.is_empty() {
            return Err(ConfigErrors(p.0));
        }
        Ok(Settings {
            database_url,
            api,
            chains,
            tokens,
            pools,
            factories,
            lending_markets,
            protocol_fees,
            indexer,
            relayer,
        })
    }
}

#[cfg(test)]
mod relayer_tests;
#[cfg(test)]
mod tests;
