//! The quote request as users write it (JSON), and its validation into a [`Problem`]: every
//! mistake is reported with the path of the field (`pools[3].tvl_usd: must be > 0`), all of
//! them at once, and nothing invalid reaches the solver.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::lending::{RateModel, RateStrategy, Reserve};

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

/// A pool entry: a DEX pool by default; with `kind: "lending"` a lending reserve, whose
/// `tvl_usd` is what DefiLlama reports (supplied − borrowed: the filters and the share cap read
/// it), whose `fees_usd_year` is informational (the income comes from `lending`), and whose
/// `rewards_usd_year` are incentives paid to suppliers pro rata.
#[derive(Debug, Clone, Default, Deserialize)]
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
    #[serde(default)]
    pub kind: PoolKind,
    /// The reserve, when `kind` is `lending` (and only then).
    pub lending: Option<LendingInput>,
}

/// How a pool pays: fees shared pro rata (`dex`), or interest under a kinked rate curve
/// (`lending`: Aave v3, Compound v3; docs/router.md, "Lending reserves").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    #[default]
    Dex,
    Lending,
}

/// A lending reserve's state and interest-rate strategy: amounts in USD, rates per year as
/// fractions. With `rate_model` `borrow_share` (the default), Aave v3's variable borrow curve
/// (`baseVariableBorrowRate`, `variableRateSlope1`, `variableRateSlope2`, `optimalUsageRatio`);
/// with `supply_curve`, Compound v3's supply curve (`base_rate` its base, `slope1` =
/// slopeLow·kink, `slope2` = slopeHigh·(1 − kink), `optimal_utilization` its supply kink).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LendingInput {
    /// Which curve `base_rate`, `slope1`, `slope2` and `optimal_utilization` describe.
    #[serde(default)]
    pub rate_model: RateModelInput,
    pub supplied_usd: f64,
    /// Variable-rate debt.
    pub borrowed_usd: f64,
    /// Interest on stable-rate debt (it does not move with supply).
    #[serde(default)]
    pub stable_income_usd_year: f64,
    pub base_rate: f64,
    pub slope1: f64,
    pub slope2: f64,
    pub optimal_utilization: f64,
    pub reserve_factor: f64,
    /// Supply cap minus supplied; none: no supply cap.
    pub supply_cap_room_usd: Option<f64>,
}

/// How a lending reserve pays its suppliers (docs/router.md, "Lending reserves").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateModelInput {
    /// Aave v3: the curve is the variable borrow rate; suppliers share `1 − reserve_factor` of
    /// all interest pro rata.
    #[default]
    BorrowShare,
    /// Compound v3 (Comet): the curve is the supply rate each supplied dollar earns, already
    /// net of the reserve's share: `reserve_factor` and `stable_income_usd_year` must be 0.
    SupplyCurve,
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
    /// The lending pools' reserves (see [`Pool::lending`]).
    pub reserves: Vec<LendingPool>,
}

impl Problem<'_> {
    /// `pool`'s reserve, when it is a lending pool.
    pub fn reserve(&self, pool: &Pool<'_>) -> Option<&LendingPool> {
        pool.lending.and_then(|i| self.reserves.get(i as usize))
    }
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
    /// For a lending pool (whose `income_usd_year` is what suppliers earn now), its reserve's
    /// index in [`Problem::reserves`]: kept out of the pool, so that 100,000 DEX pools carry
    /// neither 100,000 empty reserves nor a destructor to run over them.
    pub lending: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LendingPool {
    pub reserve: Reserve,
    /// Most that can still be supplied (USD, ∞: no supply cap).
    pub supply_cap_room_usd: f64,
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
        let (pools, reserves) = self.validate_pools(&mut p, &chains, limits.min_tvl_usd);
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
            reserves,
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

    /// The pools, each with the constraint that leaves it out, if any, and the lending pools'
    /// reserves.
    fn validate_pools(
        &self,
        p: &mut Problems,
        chains: &Chains,
        min_tvl_usd: f64,
    ) -> (Vec<Pool<'_>>, Vec<LendingPool>) {
        let k = &self.constraints;
        // FxHash: the ids are ours to check, not attacker-chosen keys of a long-lived map, and
        // SipHash was a sixth of a 100,000-pool solve.
        let mut seen: rustc_hash::FxHashMap<&str, usize> = rustc_hash::FxHashMap::default();
        seen.reserve(self.pools.len());
        let mut pools = Vec::with_capacity(self.pools.len());
        let mut reserves = Vec::new();
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
            let lending = x.kind == PoolKind::Lending;
            // A reserve's TVL (supplied − borrowed) is 0 when it is fully borrowed.
            let tvl_usd = p.amount(|| at("tvl_usd"), x.tvl_usd, !lending);
            let fees = p.amount(|| at("fees_usd_year"), x.fees_usd_year, false);
            let rewards = p.amount(|| at("rewards_usd_year"), x.rewards_usd_year, false);
            let max_share_of_tvl = x
                .max_share_of_tvl
                .map(|s| p.share(|| at("max_share_of_tvl"), s));
            let reserve = match (&x.lending, lending) {
                (Some(l), true) => l.validate(p, || at("lending"), rewards),
                (None, true) => {
                    p.push(at("lending"), "required when kind is \"lending\"");
                    None
                }
                (Some(_), false) => {
                    p.push(at("lending"), "only for kind \"lending\"");
                    None
                }
                (None, false) => None,
            };
            pools.push(Pool {
                id: &x.id,
                chain: chains.index(&x.chain).unwrap_or_default(),
                protocol: &x.protocol,
                tvl_usd,
                income_usd_year: reserve
                    .as_ref()
                    .map_or(fees + rewards, |r| r.reserve.supplier_income(0.0)),
                max_share_of_tvl,
                excluded: k.exclusion(x, tvl_usd, min_tvl_usd),
                lending: reserve.map(|r| {
                    reserves.push(r);
                    (reserves.len() - 1) as u32
                }),
            });
        }
        (pools, reserves)
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

/// Optimal utilisation must stay this far from 0 and 1: the rate divides by it and by 1 − it.
const UTILIZATION_MARGIN: f64 = 1e-4;

impl LendingInput {
    /// The reserve, or `None` after reporting what is wrong under `path` (`pools[3].lending`).
    fn validate(
        &self,
        p: &mut Problems,
        path: impl Fn() -> String,
        rewards: f64,
    ) -> Option<LendingPool> {
        let at = |f: &str| format!("{}.{f}", path());
        let before = p.0.len();
        let supplied = p.amount(|| at("supplied_usd"), self.supplied_usd, true);
        let borrowed = p.amount(|| at("borrowed_usd"), self.borrowed_usd, false);
        if borrowed > supplied && supplied > 0.0 {
            p.push(
                at("borrowed_usd"),
                format!("must be <= supplied_usd ({supplied}) (got {borrowed})"),
            );
        }
        let stable_income = p.amount(
            || at("stable_income_usd_year"),
            self.stable_income_usd_year,
            false,
        );
        let base = p.amount(|| at("base_rate"), self.base_rate, false);
        let slope1 = p.amount(|| at("slope1"), self.slope1, false);
        let slope2 = p.amount(|| at("slope2"), self.slope2, false);
        let optimal = self.optimal_utilization;
        if !(optimal > 0.0 && optimal < 1.0) {
            p.push(
                at("optimal_utilization"),
                format!("must be in (0, 1) (got {optimal})"),
            );
        } else if !(UTILIZATION_MARGIN..=1.0 - UTILIZATION_MARGIN).contains(&optimal) {
            p.push(
                at("optimal_utilization"),
                format!(
                    "must be in [{UTILIZATION_MARGIN}, {}] (got {optimal})",
                    1.0 - UTILIZATION_MARGIN
                ),
            );
        }
        let model = match self.rate_model {
            RateModelInput::BorrowShare => RateModel::BorrowShare,
            RateModelInput::SupplyCurve => RateModel::SupplyCurve,
        };
        let supply_curve = model == RateModel::SupplyCurve;
        let reserve_factor = self.reserve_factor;
        if !(0.0..1.0).contains(&reserve_factor) {
            p.push(
                at("reserve_factor"),
                format!("must be in [0, 1) (got {reserve_factor})"),
            );
        } else if supply_curve && reserve_factor != 0.0 {
            p.push(
                at("reserve_factor"),
                format!(
                    "must be 0 with rate_model supply_curve (got {reserve_factor}): Compound v3's supply curve already nets the reserve's share"
                ),
            );
        }
        // `amount` reported (and zeroed) a bad number already.
        if supply_curve && stable_income != 0.0 {
            p.push(
                at("stable_income_usd_year"),
                format!(
                    "must be 0 with rate_model supply_curve (got {stable_income}): Compound v3 has no stable-rate debt"
                ),
            );
        }
        let room = self.supply_cap_room_usd.map_or(f64::INFINITY, |v| {
            p.amount(|| at("supply_cap_room_usd"), v, false)
        });
        (p.0.len() == before).then_some(LendingPool {
            reserve: Reserve {
                supplied,
                borrowed,
                stable_income,
                rewards,
                reserve_factor,
                rates: RateStrategy {
                    base,
                    slope1,
                    slope2,
                    optimal,
                },
                model,
            },
            supply_cap_room_usd: room,
        })
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
