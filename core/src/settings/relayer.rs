//! The `[relayer]` section: what the bridge charges and accepts per route, how long it waits for
//! a deposit's finality by its USD value, how much it releases against deposits not yet final,
//! and how its executors send (in-flight bound, batch bounds, replacement timing, fee cap).
//! Amounts in config are human decimal strings in the token's units ("0.5" USDC); each is
//! checked against the decimals of the token on both ends of its route.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::references::References;
use super::{Problems, defaults};
use crate::Amount;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRelayer {
    /// Runs the whole pipeline without broadcasting anything.
    pub dry_run: Option<bool>,
    /// Release transactions in flight per destination chain (consecutive nonces on EVM).
    pub max_in_flight: Option<u32>,
    /// Releases in one EVM `releaseBatch`.
    pub batch_max_releases: Option<u32>,
    /// Gas limit of one `releaseBatch`.
    pub batch_max_gas: Option<u64>,
    /// A transaction not included after this long is replaced with a bumped fee.
    pub replace_after_s: Option<u64>,
    /// Replacement fees never exceed this multiple of the current estimate.
    pub max_fee_multiple: Option<f64>,
    /// A transaction sent (or seen in the node's pool) is trusted to still be there for this
    /// long before the node is asked again; one it lost is sent again.
    pub pool_recheck_ms: Option<u64>,
    #[serde(default)]
    pub routes: Vec<RawBridgeRoute>,
    #[serde(default)]
    pub finality: Vec<RawFinality>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBridgeRoute {
    pub from: String,
    pub to: String,
    /// Token symbol (from `[[tokens]]`), deployed on both chains.
    pub token: String,
    #[serde(default)]
    pub fee_bps: u32,
    /// Fixed fee in token units, taken after the bps fee.
    pub fee_fixed: Option<String>,
    /// Smallest deposit accepted, in token units.
    pub min_amount: Option<String>,
    /// Largest deposit accepted, in token units.
    pub max_amount: Option<String>,
    /// `always` (the default): every approved release goes out whatever gas costs.
    /// `when_profitable`: a release waits (`awaiting_gas`) while its fee in USD is below its
    /// share of its batch's gas at the destination's current price, plus `profit_margin_pct`.
    pub release_policy: Option<String>,
    /// `when_profitable` only: the fee must exceed the gas cost by this much (default 10).
    pub profit_margin_pct: Option<f64>,
    /// `when_profitable` only: after waiting this long a release goes anyway (default: never).
    pub max_wait_s: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFinality {
    pub chain: String,
    /// Ordered by `up_to_usd`; the last tier has none (it covers everything above).
    #[serde(default)]
    pub tiers: Vec<RawFinalityTier>,
    /// USD released against this chain's deposits that are not final yet, at most.
    pub max_unfinalized_usd: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFinalityTier {
    pub up_to_usd: Option<f64>,
    /// Blocks (EVM) or slots (Solana) on top of the deposit's.
    pub confirmations: Option<u64>,
    /// Wait for the chain's finalized block (EVM `finalized` tag, Solana `finalized`).
    pub finalized: Option<bool>,
}

/// How long a deposit waits on its source chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FinalityRule {
    Confirmations(u64),
    Finalized,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FinalityTier {
    /// `None`: every value above the previous tier.
    pub up_to_usd: Option<f64>,
    pub rule: FinalityRule,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FinalityPolicy {
    pub tiers: Vec<FinalityTier>,
    pub max_unfinalized_usd: f64,
}

impl FinalityPolicy {
    /// Everything waits for finality: the default for a chain without a `[[relayer.finality]]`.
    pub fn finalized_only() -> FinalityPolicy {
        FinalityPolicy {
            tiers: vec![FinalityTier {
                up_to_usd: None,
                rule: FinalityRule::Finalized,
            }],
            max_unfinalized_usd: 0.0,
        }
    }

    /// The rule for a deposit worth `usd` (an unpriced deposit, `None`, waits for finality).
    pub fn rule_for(&self, usd: Option<f64>) -> FinalityRule {
        let Some(usd) = usd else {
            return FinalityRule::Finalized;
        };
        self.tiers
            .iter()
            .find(|t| t.up_to_usd.is_none_or(|cap| usd <= cap))
            .map_or(FinalityRule::Finalized, |t| t.rule)
    }
}

/// When an approved release goes out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReleasePolicy {
    /// At once, whatever the gas costs.
    Always,
    /// While the fee (USD) is below the release's gas cost (USD) × (1 + margin), it waits;
    /// past `max_wait` (when set) it goes anyway.
    WhenProfitable {
        margin_pct: f64,
        max_wait: Option<Duration>,
    },
}

/// What one route charges and accepts. Amounts are decimal strings already checked against
/// the token's decimals on both chains.
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeRoute {
    pub from: String,
    pub to: String,
    pub token: String,
    pub fee_bps: u32,
    pub fee_fixed: String,
    pub min_amount: Option<String>,
    pub max_amount: Option<String>,
    pub policy: ReleasePolicy,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelayerSettings {
    pub dry_run: bool,
    pub max_in_flight: u32,
    pub batch_max_releases: u32,
    pub batch_max_gas: u64,
    pub replace_after: Duration,
    pub max_fee_multiple: f64,
    /// How long a transaction sent or seen in the node's pool is trusted to still be there.
    pub pool_recheck: Duration,
    pub routes: Vec<BridgeRoute>,
    /// Per source chain name; chains not listed wait for finality.
    pub finality: BTreeMap<String, FinalityPolicy>,
}

impl RelayerSettings {
    /// The route for `token` from `from` to `to`, if the bridge serves it.
    pub fn route(&self, from: &str, to: &str, token: &str) -> Option<&BridgeRoute> {
        self.routes
            .iter()
            .find(|r| r.from == from && r.to == to && r.token == token)
    }

    pub fn finality_of(&self, chain: &str) -> FinalityPolicy {
        self.finality
            .get(chain)
            .cloned()
            .unwrap_or_else(FinalityPolicy::finalized_only)
    }
}

impl RawRelayer {
    /// `path` is this section's key (`relayer`); `refs` knows the chains and tokens.
    pub(super) fn validate(
        &self,
        path: &str,
        refs: &References<'_>,
        p: &mut Problems,
    ) -> RelayerSettings {
        let at = |f: &str| format!("{path}.{f}");
        let max_in_flight = self.max_in_flight.unwrap_or(defaults::MAX_IN_FLIGHT);
        if !(1..=256).contains(&max_in_flight) {
            p.push(
                at("max_in_flight"),
                format!("must be between 1 and 256 (got {max_in_flight})"),
            );
        }
        let batch_max_releases = self
            .batch_max_releases
            .unwrap_or(defaults::BATCH_MAX_RELEASES);
        if !(1..=512).contains(&batch_max_releases) {
            p.push(
                at("batch_max_releases"),
                format!("must be between 1 and 512 (got {batch_max_releases})"),
            );
        }
        let batch_max_gas = self.batch_max_gas.unwrap_or(defaults::BATCH_MAX_GAS);
        if batch_max_gas < 100_000 {
            p.push(
                at("batch_max_gas"),
                format!("must be at least 100000 (got {batch_max_gas})"),
            );
        }
        let replace_after_s = self.replace_after_s.unwrap_or(defaults::REPLACE_AFTER_S);
        if replace_after_s == 0 {
            p.push(at("replace_after_s"), "must be > 0");
        }
        let max_fee_multiple = self.max_fee_multiple.unwrap_or(defaults::MAX_FEE_MULTIPLE);
        if !(max_fee_multiple.is_finite() && max_fee_multiple >= 1.1) {
            p.push(
                at("max_fee_multiple"),
                format!(
                    "must be at least 1.1 (a replacement bumps the fee by 10 %) (got {max_fee_multiple})"
                ),
            );
        }
        let mut seen = HashSet::new();
        let routes = self
            .routes
            .iter()
            .enumerate()
            .map(|(i, r)| r.validate(&format!("{path}.routes[{i}]"), &mut seen, refs, p))
            .collect();
        let mut finality = BTreeMap::new();
        for (i, f) in self.finality.iter().enumerate() {
            let path = format!("{path}.finality[{i}]");
            let policy = f.validate(&path, refs, p);
            if finality.insert(f.chain.clone(), policy).is_some() {
                p.push(
                    format!("{path}.chain"),
                    format!("{} has two finality policies", f.chain),
                );
            }
        }
        RelayerSettings {
            dry_run: self.dry_run.unwrap_or(defaults::DRY_RUN),
            max_in_flight,
            batch_max_releases,
            batch_max_gas,
            replace_after: Duration::from_secs(replace_after_s),
            max_fee_multiple,
            pool_recheck: Duration::from_millis(
                self.pool_recheck_ms.unwrap_or(defaults::POOL_RECHECK_MS),
            ),
            routes,
            finality,
        }
    }
}

/// (from, to, token) of the routes before the one being checked: each is configured once.
type SeenRoutes = HashSet<(String, String, String)>;

impl RawBridgeRoute {
    /// `path` is the route's key (`relayer.routes[0]`).
    fn validate(
        &self,
        path: &str,
        seen: &mut SeenRoutes,
        refs: &References<'_>,
        p: &mut Problems,
    ) -> BridgeRoute {
        let at = |f: &str| format!("{path}.{f}");
        for (field, chain) in [("from", &self.from), ("to", &self.to)] {
            refs.require_chain(p, at(field), chain);
        }
        if self.from == self.to {
            p.push(at("to"), "a route joins two different chains");
        }
        if !seen.insert((self.from.clone(), self.to.clone(), self.token.clone())) {
            p.push(
                at("token"),
                format!(
                    "{} → {} {} is configured twice",
                    self.from, self.to, self.token
                ),
            );
        }
        if self.fee_bps >= 10_000 {
            p.push(
                at("fee_bps"),
                format!("must be below 10000 (got {})", self.fee_bps),
            );
        }
        self.check_amounts(path, refs, p);
        let policy = self.policy(path, refs, p);
        if refs.pays_out_on_solana(&self.token, &self.to) && policy != ReleasePolicy::Always {
            // Its release cost (signature, claim rent, priority fee) is in the router's
            // quotes; the Solana executor does not weigh it yet.
            p.push(
                at("release_policy"),
                "when_profitable is not supported on routes into Solana yet (use always)",
            );
        }
        BridgeRoute {
            policy,
            from: self.from.clone(),
            to: self.to.clone(),
            token: self.token.clone(),
            fee_bps: self.fee_bps,
            fee_fixed: self
                .fee_fixed
                .clone()
                .unwrap_or_else(|| defaults::ROUTE_FEE_FIXED.into()),
            min_amount: self.min_amount.clone(),
            max_amount: self.max_amount.clone(),
        }
    }

    /// The fixed fee and the bounds are exact in the token's decimals on both ends, and in order
    /// (compared at the finer of the two precisions).
    fn check_amounts(&self, path: &str, refs: &References<'_>, p: &mut Problems) {
        let at = |f: &str| format!("{path}.{f}");
        let decimals = refs.route_token_decimals(p, path, &self.token, &self.from, &self.to);
        let finest = decimals.iter().copied().max();
        let mut amount = |field: &str, value: &Option<String>| -> Option<Amount> {
            let v = value.as_ref()?;
            for d in &decimals {
                if let Err(e) = Amount::parse_units(v, *d) {
                    p.push(at(field), format!("{e} ({} has {d} decimals)", self.token));
                    return None;
                }
            }
            Amount::parse_units(v, finest?).ok()
        };
        let fee_fixed = amount("fee_fixed", &self.fee_fixed);
        let min = amount("min_amount", &self.min_amount);
        let max = amount("max_amount", &self.max_amount);
        if let (Some(lo), Some(hi)) = (min, max)
            && lo.raw > hi.raw
        {
            p.push(at("max_amount"), "must be at least min_amount");
        }
        if let (Some(fee), Some(lo)) = (fee_fixed, min)
            && fee.raw > lo.raw
        {
            p.push(
                at("min_amount"),
                "must be at least fee_fixed (a deposit must cover the fixed fee)",
            );
        }
    }

    /// The route's `release_policy` and its knobs, checked.
    fn policy(&self, path: &str, refs: &References<'_>, p: &mut Problems) -> ReleasePolicy {
        let at = |f: &str| format!("{path}.{f}");
        let knobs = self.profit_margin_pct.is_some() || self.max_wait_s.is_some();
        match self
            .release_policy
            .as_deref()
            .unwrap_or(defaults::RELEASE_POLICY)
        {
            "always" => {
                if knobs {
                    p.push(
                        at("release_policy"),
                        "profit_margin_pct and max_wait_s need release_policy = \"when_profitable\"",
                    );
                }
                ReleasePolicy::Always
            }
            "when_profitable" => {
                let margin_pct = self
                    .profit_margin_pct
                    .unwrap_or(defaults::PROFIT_MARGIN_PCT);
                if !(margin_pct.is_finite() && (0.0..=1_000.0).contains(&margin_pct)) {
                    p.push(
                        at("profit_margin_pct"),
                        format!("must be between 0 and 1000 (got {margin_pct})"),
                    );
                }
                refs.check_gas_priced(p, at("release_policy"), &self.to);
                if self.max_wait_s == Some(0) {
                    p.push(
                        at("max_wait_s"),
                        "must be at least 1 (0 would release everything at once: use always)",
                    );
                }
                ReleasePolicy::WhenProfitable {
                    margin_pct,
                    max_wait: self.max_wait_s.map(Duration::from_secs),
                }
            }
            other => {
                p.push(
                    at("release_policy"),
                    format!("must be \"always\" or \"when_profitable\" (got {other:?})"),
                );
                ReleasePolicy::Always
            }
        }
    }
}

impl RawFinality {
    /// `path` is the policy's key (`relayer.finality[0]`). Values above the last tier's cap
    /// wait for finality.
    fn validate(&self, path: &str, refs: &References<'_>, p: &mut Problems) -> FinalityPolicy {
        refs.require_chain(p, format!("{path}.chain"), &self.chain);
        let mut tiers = Vec::new();
        let mut last_cap = f64::NEG_INFINITY;
        for (j, t) in self.tiers.iter().enumerate() {
            let is_last = j + 1 == self.tiers.len();
            tiers.push(t.validate(&format!("{path}.tiers[{j}]"), is_last, &mut last_cap, p));
        }
        if tiers.last().is_some_and(|t| t.up_to_usd.is_some()) || tiers.is_empty() {
            tiers.push(FinalityTier {
                up_to_usd: None,
                rule: FinalityRule::Finalized,
            });
        }
        let max_unfinalized_usd = self
            .max_unfinalized_usd
            .unwrap_or(defaults::MAX_UNFINALIZED_USD);
        if !(max_unfinalized_usd.is_finite() && max_unfinalized_usd >= 0.0) {
            p.push(
                format!("{path}.max_unfinalized_usd"),
                "must be a finite number >= 0",
            );
        }
        FinalityPolicy {
            tiers,
            max_unfinalized_usd,
        }
    }
}

impl RawFinalityTier {
    /// `path` is the tier's key (`relayer.finality[0].tiers[1]`); `last_cap` is the highest
    /// `up_to_usd` of the tiers before it, raised to this one's.
    fn validate(
        &self,
        path: &str,
        is_last: bool,
        last_cap: &mut f64,
        p: &mut Problems,
    ) -> FinalityTier {
        let rule = match (self.confirmations, self.finalized.unwrap_or(false)) {
            (Some(n), false) if n > 0 => FinalityRule::Confirmations(n),
            (None, true) => FinalityRule::Finalized,
            _ => {
                p.push(
                    path,
                    "needs exactly one of confirmations = N (N > 0) or finalized = true",
                );
                FinalityRule::Finalized
            }
        };
        match self.up_to_usd {
            Some(cap) if !(cap.is_finite() && cap > *last_cap && cap >= 0.0) => {
                p.push(
                    format!("{path}.up_to_usd"),
                    "tiers must rise: each up_to_usd finite, >= 0 and above the last",
                );
            }
            Some(cap) => *last_cap = cap,
            None if !is_last => {
                p.push(
                    format!("{path}.up_to_usd"),
                    "only the last tier may leave up_to_usd out",
                );
            }
            None => {}
        }
        FinalityTier {
            up_to_usd: self.up_to_usd,
            rule,
        }
    }
}
