//! The quote request as users write it (JSON), and its validation into a [`Problem`]: every
//! mistake is reported with the path of the field (`pools[3].tvl_usd: must be > 0`), all of
//! them at once, and nothing invalid reaches the solver.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteInput {
    pub capital: Vec<CapitalInput>,
    pub horizon_days: f64,
    #[serde(default)]
    pub pools: Vec<PoolInput>,
    #[serde(default)]
    pub bridges: Vec<BridgeInput>,
    #[serde(default)]
    pub gas_usd: BTreeMap<String, f64>,
    #[serde(default)]
    pub constraints: ConstraintsInput,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapitalInput {
    pub chain: String,
    pub usd: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolInput {
    pub id: String,
    pub chain: String,
    pub protocol: String,
    #[serde(default)]
    pub tokens: Vec<String>,
    pub tvl_usd: f64,
    pub fees_usd_year: f64,
    #[serde(default)]
    pub rewards_usd_year: f64,
    /// Most of the pool's TVL we may hold (0..=1); none: no share limit.
    pub max_share_of_tvl: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeInput {
    pub from: String,
    pub to: String,
    pub fee_bps: f64,
    #[serde(default)]
    pub fixed_usd: f64,
    #[serde(default)]
    pub eta_s: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintsInput {
    pub max_per_pool_usd: Option<f64>,
    pub max_chain_share: Option<f64>,
    pub min_tvl_usd: Option<f64>,
    pub min_gain_usd: Option<f64>,
    pub allowed_chains: Option<Vec<String>>,
    pub allowed_protocols: Option<Vec<String>>,
    pub allowed_tokens: Option<Vec<String>>,
}

/// One thing wrong with the input, at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for InputProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A validated request: chains by index, amounts finite and in range. Borrows the pools' ids
/// from the request (100,000 pools should not mean 100,000 copies).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem<'a> {
    pub chains: Vec<String>,
    pub capital: Vec<f64>,
    pub horizon_days: f64,
    pub pools: Vec<Pool<'a>>,
    pub bridges: Vec<Bridge>,
    /// Gas per move touching the chain (USD).
    pub gas_usd: Vec<f64>,
    pub max_per_pool_usd: f64,
    pub max_chain_share: f64,
    pub min_tvl_usd: f64,
    pub min_gain_usd: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pool<'a> {
    pub id: &'a str,
    pub chain: usize,
    pub protocol: &'a str,
    pub tvl_usd: f64,
    /// Fees plus rewards per year (USD).
    pub income_usd_year: f64,
    pub max_share_of_tvl: Option<f64>,
    /// Left out by a constraint (chain, protocol, token, min TVL): gets nothing.
    pub excluded: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bridge {
    pub from: usize,
    pub to: usize,
    pub fee_bps: f64,
    pub fixed_usd: f64,
    pub eta_s: f64,
}

/// The largest amount (USD, days, bps) the request may carry.
pub const MAX_AMOUNT: f64 = 1e15;

struct Problems(Vec<InputProblem>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(InputProblem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// `v` must be finite and `>= 0` (or `> 0` when `positive`). The path is only built when
    /// something is wrong (a request may hold 100,000 pools).
    fn amount<P: Into<String>>(&mut self, path: impl FnOnce() -> P, v: f64, positive: bool) -> f64 {
        let path = || path().into();
        if !v.is_finite() {
            self.push(path(), format!("must be a finite number (got {v})"));
            0.0
        } else if positive && v <= 0.0 {
            self.push(path(), format!("must be > 0 (got {v})"));
            0.0
        } else if v < 0.0 {
            self.push(path(), format!("must be >= 0 (got {v})"));
            0.0
        } else if v > MAX_AMOUNT {
            // Past this, products of amounts lose the precision the solver works to.
            self.push(path(), format!("must be at most {MAX_AMOUNT:e} (got {v})"));
            0.0
        } else {
            v
        }
    }

    fn share<P: Into<String>>(&mut self, path: impl FnOnce() -> P, v: f64) -> f64 {
        if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
            self.push(path(), format!("must be a share in [0, 1] (got {v})"));
            0.0
        } else {
            v
        }
    }
}

/// The request's chains, sorted, each found by bisection (a request may name a chain per
/// entry).
struct Chains(Vec<String>);

impl Chains {
    fn index(&self, name: &str) -> Option<usize> {
        self.0.binary_search_by(|c| c.as_str().cmp(name)).ok()
    }
}

/// The request's limits (`constraints`), with their defaults.
struct Limits {
    max_per_pool_usd: f64,
    max_chain_share: f64,
    min_tvl_usd: f64,
    min_gain_usd: f64,
}

fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_whitespace())
}

impl QuoteInput {
    /// Checks everything; returns every problem found, each with its path.
    pub fn validate(&self) -> Result<Problem<'_>, Vec<InputProblem>> {
        let mut p = Problems(Vec::new());
        let chains = self.chains();
        let capital = self.validate_capital(&mut p, &chains);
        let horizon_days = p.amount(|| "horizon_days", self.horizon_days, true);
        if horizon_days > 36_500.0 {
            p.push(
                "horizon_days",
                format!("must be at most 36500 (got {horizon_days})"),
            );
        }
        let limits = self.constraints.validate(&mut p);
        let pools = self.validate_pools(&mut p, &chains, limits.min_tvl_usd);
        let bridges = self.validate_bridges(&mut p, &chains);
        let gas_usd = self.validate_gas(&mut p, &chains);
        if self.capital.is_empty() {
            p.push("capital", "must list at least one chain's capital");
        }

        if !p.0.is_empty() {
            return Err(p.0);
        }
        Ok(Problem {
            chains: chains.0,
            capital,
            horizon_days,
            pools,
            bridges,
            gas_usd,
            max_per_pool_usd: limits.max_per_pool_usd,
            max_chain_share: limits.max_chain_share,
            min_tvl_usd: limits.min_tvl_usd,
            min_gain_usd: limits.min_gain_usd,
        })
    }

    /// Chains are named by capital, pools, bridges and gas; each gets an index.
    fn chains(&self) -> Chains {
        let mut names: BTreeSet<&str> = BTreeSet::new();
        names.extend(self.capital.iter().map(|c| c.chain.as_str()));
        names.extend(self.pools.iter().map(|c| c.chain.as_str()));
        names.extend(self.gas_usd.keys().map(String::as_str));
        // Sorted (from the set): found by bisection.
        Chains(names.iter().map(|s| s.to_string()).collect())
    }

    /// Capital per chain (entries naming the same chain add up).
    fn validate_capital(&self, p: &mut Problems, chains: &Chains) -> Vec<f64> {
        let mut capital = vec![0.0; chains.0.len()];
        for (i, c) in self.capital.iter().enumerate() {
            if is_blank(&c.chain) {
                p.push(format!("capital[{i}].chain"), "must name a chain");
            }
            let usd = p.amount(|| format!("capital[{i}].usd"), c.usd, false);
            if let Some(k) = chains.index(&c.chain) {
                capital[k] += usd;
            }
        }
        capital
    }

    /// The pools, each with the constraint that leaves it out, if any.
    fn validate_pools(&self, p: &mut Problems, chains: &Chains, min_tvl_usd: f64) -> Vec<Pool<'_>> {
        let k = &self.constraints;
        // FxHash: the ids are ours to check, not attacker-chosen keys of a long-lived map, and
        // SipHash was a sixth of a 100,000-pool solve.
        let mut seen: rustc_hash::FxHashMap<&str, usize> = rustc_hash::FxHashMap::default();
        seen.reserve(self.pools.len());
        let mut pools = Vec::with_capacity(self.pools.len());
        for (i, x) in self.pools.iter().enumerate() {
            let at = |f: &str| format!("pools[{i}].{f}");
            if is_blank(&x.id) {
                p.push(at("id"), "must not be empty");
            } else if let Some(first) = seen.insert(x.id.as_str(), i) {
                p.push(
                    at("id"),
                    format!("duplicate of pools[{first}].id ({:?})", x.id),
                );
            }
            if is_blank(&x.chain) {
                p.push(at("chain"), "must name a chain");
            }
            let tvl_usd = p.amount(|| at("tvl_usd"), x.tvl_usd, true);
            let fees = p.amount(|| at("fees_usd_year"), x.fees_usd_year, false);
            let rewards = p.amount(|| at("rewards_usd_year"), x.rewards_usd_year, false);
            let max_share_of_tvl = x
                .max_share_of_tvl
                .map(|s| p.share(|| at("max_share_of_tvl"), s));
            pools.push(Pool {
                id: &x.id,
                chain: chains.index(&x.chain).unwrap_or_default(),
                protocol: &x.protocol,
                tvl_usd,
                income_usd_year: fees + rewards,
                max_share_of_tvl,
                excluded: k.exclusion(x, tvl_usd, min_tvl_usd),
            });
        }
        pools
    }

    /// The bridges between known chains (a bridge naming an unknown chain is a problem).
    fn validate_bridges(&self, p: &mut Problems, chains: &Chains) -> Vec<Bridge> {
        let mut bridges = Vec::with_capacity(self.bridges.len());
        for (i, b) in self.bridges.iter().enumerate() {
            let at = |f: &str| format!("bridges[{i}].{f}");
            let from = chains.index(&b.from);
            let to = chains.index(&b.to);
            if from.is_none() {
                p.push(
                    at("from"),
                    format!(
                        "unknown chain {:?} (no capital, pool or gas names it)",
                        b.from
                    ),
                );
            }
            if to.is_none() {
                p.push(
                    at("to"),
                    format!(
                        "unknown chain {:?} (no capital, pool or gas names it)",
                        b.to
                    ),
                );
            }
            if b.from == b.to {
                p.push(at("to"), "a bridge joins two different chains");
            }
            let fee_bps = p.amount(|| at("fee_bps"), b.fee_bps, false);
            if fee_bps > 10_000.0 {
                p.push(at("fee_bps"), format!("must be <= 10000 (got {fee_bps})"));
            }
            let fixed_usd = p.amount(|| at("fixed_usd"), b.fixed_usd, false);
            let eta_s = p.amount(|| at("eta_s"), b.eta_s, false);
            if let (Some(from), Some(to)) = (from, to) {
                bridges.push(Bridge {
                    from,
                    to,
                    fee_bps,
                    fixed_usd,
                    eta_s,
                });
            }
        }
        bridges
    }

    /// Gas per move touching each chain (0 where the request names none).
    fn validate_gas(&self, p: &mut Problems, chains: &Chains) -> Vec<f64> {
        let mut gas_usd = vec![0.0; chains.0.len()];
        for (name, v) in &self.gas_usd {
            let usd = p.amount(|| format!("gas_usd.{name}"), *v, false);
            if let Some(k) = chains.index(name) {
                gas_usd[k] = usd;
            }
        }
        gas_usd
    }
}

impl ConstraintsInput {
    /// The limits, each checked, with its default when absent; and no blank allowed names.
    fn validate(&self, p: &mut Problems) -> Limits {
        let max_per_pool_usd = self.max_per_pool_usd.map_or(f64::INFINITY, |v| {
            p.amount(|| "constraints.max_per_pool_usd", v, true)
        });
        let max_chain_share = self
            .max_chain_share
            .map_or(1.0, |v| p.share(|| "constraints.max_chain_share", v));
        let min_tvl_usd = self
            .min_tvl_usd
            .map_or(0.0, |v| p.amount(|| "constraints.min_tvl_usd", v, false));
        let min_gain_usd = self
            .min_gain_usd
            .map_or(0.0, |v| p.amount(|| "constraints.min_gain_usd", v, false));
        for (field, list) in [
            ("allowed_chains", &self.allowed_chains),
            ("allowed_protocols", &self.allowed_protocols),
            ("allowed_tokens", &self.allowed_tokens),
        ] {
            if let Some(list) = list
                && list.iter().any(|s| is_blank(s))
            {
                p.push(format!("constraints.{field}"), "names must not be empty");
            }
        }
        Limits {
            max_per_pool_usd,
            max_chain_share,
            min_tvl_usd,
            min_gain_usd,
        }
    }

    /// The constraint that leaves pool `x` out (its checked TVL is `tvl_usd`), if any.
    fn exclusion(&self, x: &PoolInput, tvl_usd: f64, min_tvl_usd: f64) -> Option<&'static str> {
        let allowed = |list: &Option<Vec<String>>, v: &str| {
            list.as_ref().is_none_or(|l| l.iter().any(|a| a == v))
        };
        if !allowed(&self.allowed_chains, &x.chain) {
            Some("chain not allowed")
        } else if !allowed(&self.allowed_protocols, &x.protocol) {
            Some("protocol not allowed")
        } else if !x.tokens.iter().all(|t| allowed(&self.allowed_tokens, t)) {
            Some("token not allowed")
        } else if tvl_usd < min_tvl_usd {
            Some("below min_tvl_usd")
        } else {
            None
        }
    }
}
