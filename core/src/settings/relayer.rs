//! The `[relayer]` section: what the bridge charges and accepts per route, how long it waits for
//! a deposit's finality by its USD value, how much it releases against deposits not yet final,
//! and how its executors send (in-flight bound, batch bounds, replacement timing, fee cap).
//! Amounts in config are human decimal strings in the token's units ("0.5" USDC); each is
//! checked against the decimals of the token on both ends of its route.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Problems, TokenSettings};
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

/// A route's `release_policy` and its knobs, checked.
fn route_policy(
    r: &RawBridgeRoute,
    chain_names: &HashSet<String>,
    priced_gas: &HashSet<String>,
    at: &dyn Fn(&str) -> String,
    p: &mut Problems,
) -> ReleasePolicy {
    let knobs = r.profit_margin_pct.is_some() || r.max_wait_s.is_some();
    match r.release_policy.as_deref().unwrap_or("always") {
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
            let margin_pct = r.profit_margin_pct.unwrap_or(10.0);
            if !(margin_pct.is_finite() && (0.0..=1_000.0).contains(&margin_pct)) {
                p.push(
                    at("profit_margin_pct"),
                    format!("must be between 0 and 1000 (got {margin_pct})"),
                );
            }
            if chain_names.contains(&r.to) && !priced_gas.contains(&r.to) {
                p.push(
                    at("release_policy"),
                    format!(
                        "when_profitable prices {}'s gas: set native_token on that chain ([[chains]])",
                        r.to
                    ),
                );
            }
            if r.max_wait_s == Some(0) {
                p.push(
                    at("max_wait_s"),
                    "must be at least 1 (0 would release everything at once: use always)",
                );
            }
            ReleasePolicy::WhenProfitable {
                margin_pct,
                max_wait: r.max_wait_s.map(Duration::from_secs),
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

impl RawRelayer {
    pub(super) fn validate(
        &self,
        p: &mut Problems,
        chain_names: &HashSet<String>,
        priced_gas: &HashSet<String>,
        tokens: &[TokenSettings],
    ) -> RelayerSettings {
        let max_in_flight = self.max_in_flight.unwrap_or(4);
        if !(1..=256).contains(&max_in_flight) {
            p.push(
                "relayer.max_in_flight",
                format!("must be between 1 and 256 (got {max_in_flight})"),
            );
        }
        let batch_max_releases = self.batch_max_releases.unwrap_or(16);
        if !(1..=512).contains(&batch_max_releases) {
            p.push(
                "relayer.batch_max_releases",
                format!("must be between 1 and 512 (got {batch_max_releases})"),
            );
        }
        let batch_max_gas = self.batch_max_gas.unwrap_or(5_000_000);
        if batch_max_gas < 100_000 {
            p.push(
                "relayer.batch_max_gas",
                format!("must be at least 100000 (got {batch_max_gas})"),
            );
        }
        let replace_after_s = self.replace_after_s.unwrap_or(60);
        if replace_after_s == 0 {
            p.push("relayer.replace_after_s", "must be > 0");
        }
        let max_fee_multiple = self.max_fee_multiple.unwrap_or(3.0);
        if !(max_fee_multiple.is_finite() && max_fee_multiple >= 1.1) {
            p.push(
                "relayer.max_fee_multiple",
                format!(
                    "must be at least 1.1 (a replacement bumps the fee by 10 %) (got {max_fee_multiple})"
                ),
            );
        }

        let mut routes = Vec::new();
        let mut seen = HashSet::new();
        for (i, r) in self.routes.iter().enumerate() {
            let at = |f: &str| format!("relayer.routes[{i}].{f}");
            for (field, chain) in [("from", &r.from), ("to", &r.to)] {
                if !chain_names.contains(chain) {
                    p.push(at(field), format!("no chain named {chain:?} in [[chains]]"));
                }
            }
            if r.from == r.to {
                p.push(at("to"), "a route joins two different chains");
            }
            if !seen.insert((r.from.clone(), r.to.clone(), r.token.clone())) {
                p.push(
                    at("token"),
                    format!("{} → {} {} is configured twice", r.from, r.to, r.token),
                );
            }
            if r.fee_bps >= 10_000 {
                p.push(
                    at("fee_bps"),
                    format!("must be below 10000 (got {})", r.fee_bps),
                );
            }
            // Decimals of the token on both ends: every amount must be exact on both.
            let decimals: Vec<u8> = match tokens.iter().find(|t| t.symbol == r.token) {
                None => {
                    p.push(at("token"), format!("no token {:?} in [[tokens]]", r.token));
                    Vec::new()
                }
                Some(t) => [&r.from, &r.to]
                    .into_iter()
                    .filter_map(|chain| {
                        let d = t.deployments.iter().find(|d| &d.chain == chain);
                        if d.is_none() && chain_names.contains(chain) {
                            p.push(
                                at("token"),
                                format!("{} is not deployed on {chain} ([[tokens]].on)", r.token),
                            );
                        }
                        // Releases on Solana are paid from the relayer's token account.
                        if let Some(d) = d
                            && chain == &r.to
                            && matches!(d.address, crate::Address::Solana(_))
                            && d.vault.is_none()
                        {
                            p.push(
                                at("to"),
                                format!(
                                    "{} on {chain} has no vault ([[tokens]].on vault): nothing could pay this route's releases",
                                    r.token
                                ),
                            );
                        }
                        d.map(|d| d.decimals)
                    })
                    .collect(),
            };
            // Exact on both ends; compared with each other at the finer of the two precisions.
            let finest = decimals.iter().copied().max();
            let mut amount = |field: &str, value: &Option<String>| -> Option<Amount> {
                let v = value.as_ref()?;
                for d in &decimals {
                    if let Err(e) = Amount::parse_units(v, *d) {
                        p.push(at(field), format!("{e} ({} has {d} decimals)", r.token));
                        return None;
                    }
                }
                Amount::parse_units(v, finest?).ok()
            };
            let fee_fixed = amount("fee_fixed", &r.fee_fixed);
            let min = amount("min_amount", &r.min_amount);
            let max = amount("max_amount", &r.max_amount);
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
            let policy = route_policy(r, chain_names, priced_gas, &at, p);
            let into_solana = tokens
                .iter()
                .filter(|t| t.symbol == r.token)
                .flat_map(|t| &t.deployments)
                .any(|d| d.chain == r.to && matches!(d.address, crate::Address::Solana(_)));
            if into_solana && policy != ReleasePolicy::Always {
                // Its release cost (signature, claim rent, priority fee) is in the router's
                // quotes; the Solana executor does not weigh it yet.
                p.push(
                    at("release_policy"),
                    "when_profitable is not supported on routes into Solana yet (use always)",
                );
            }
            routes.push(BridgeRoute {
                policy,
                from: r.from.clone(),
                to: r.to.clone(),
                token: r.token.clone(),
                fee_bps: r.fee_bps,
                fee_fixed: r.fee_fixed.clone().unwrap_or_else(|| "0".into()),
                min_amount: r.min_amount.clone(),
                max_amount: r.max_amount.clone(),
            });
        }

        let mut finality = BTreeMap::new();
        for (i, f) in self.finality.iter().enumerate() {
            let at = |field: &str| format!("relayer.finality[{i}].{field}");
            if !chain_names.contains(&f.chain) {
                p.push(
                    at("chain"),
                    format!("no chain named {:?} in [[chains]]", f.chain),
                );
            }
            let mut tiers = Vec::new();
            let mut last_cap = f64::NEG_INFINITY;
            for (j, t) in f.tiers.iter().enumerate() {
                let tat = format!("relayer.finality[{i}].tiers[{j}]");
                let rule = match (t.confirmations, t.finalized.unwrap_or(false)) {
                    (Some(n), false) if n > 0 => FinalityRule::Confirmations(n),
                    (None, true) => FinalityRule::Finalized,
                    _ => {
                        p.push(
                            tat.clone(),
                            "needs exactly one of confirmations = N (N > 0) or finalized = true",
                        );
                        FinalityRule::Finalized
                    }
                };
                match t.up_to_usd {
                    Some(cap) if !(cap.is_finite() && cap > last_cap && cap >= 0.0) => {
                        p.push(
                            format!("{tat}.up_to_usd"),
                            "tiers must rise: each up_to_usd finite, >= 0 and above the last",
                        );
                    }
                    Some(cap) => last_cap = cap,
                    None if j + 1 != f.tiers.len() => {
                        p.push(
                            format!("{tat}.up_to_usd"),
                            "only the last tier may leave up_to_usd out",
                        );
                    }
                    None => {}
                }
                tiers.push(FinalityTier {
                    up_to_usd: t.up_to_usd,
                    rule,
                });
            }
            if tiers.last().is_some_and(|t| t.up_to_usd.is_some()) || tiers.is_empty() {
                // Values above the last cap wait for finality.
                tiers.push(FinalityTier {
                    up_to_usd: None,
                    rule: FinalityRule::Finalized,
                });
            }
            let max_unfinalized_usd = f.max_unfinalized_usd.unwrap_or(0.0);
            if !(max_unfinalized_usd.is_finite() && max_unfinalized_usd >= 0.0) {
                p.push(at("max_unfinalized_usd"), "must be a finite number >= 0");
            }
            if finality
                .insert(
                    f.chain.clone(),
                    FinalityPolicy {
                        tiers,
                        max_unfinalized_usd,
                    },
                )
                .is_some()
            {
                p.push(
                    at("chain"),
                    format!("{} has two finality policies", f.chain),
                );
            }
        }

        RelayerSettings {
            dry_run: self.dry_run.unwrap_or(false),
            max_in_flight,
            batch_max_releases,
            batch_max_gas,
            replace_after: Duration::from_secs(replace_after_s),
            max_fee_multiple,
            pool_recheck: Duration::from_millis(self.pool_recheck_ms.unwrap_or(2_000)),
            routes,
            finality,
        }
    }
}
