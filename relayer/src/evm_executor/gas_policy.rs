//! Holding back releases that their route's `when_profitable` policy finds unprofitable now
//! ([`crate::profit`]): `source_final → awaiting_gas` with the verdict's reason, and back to
//! `source_final` once the fee covers the gas (or the route's longest wait is over), in the
//! same step that signs them. Transfers to sign again are never held: a release of theirs may
//! already be on its way, and only a new signature can settle it.

use std::collections::HashMap;
use std::time::Duration;

use atoll_core::settings::ReleasePolicy;
use atoll_core::{Address, Reason, TransferId, TransferStatus};
use atoll_store::release_txs::ReleaseWrite;
use atoll_store::transfers::QueuedRelease;

use super::{Releaser, age_ms};
use crate::profit::{self, GasCost, Verdict};
use crate::{ExecutorReport, RelayerError};

/// What a release's route says of it: its policy, and its fee's token and decimals.
struct RouteOf {
    policy: ReleasePolicy,
    symbol: String,
    fee_decimals: u8,
}

impl Releaser<'_, '_> {
    /// `queue` less the releases held back for gas; moves into and out of `awaiting_gas` are
    /// added to `writes`. Weighed: `source_final`, `awaiting_liquidity` and `awaiting_gas`
    /// releases; transfers to sign again never are.
    pub(super) async fn weigh_gas(
        &self,
        queue: Vec<QueuedRelease>,
        writes: &mut Vec<ReleaseWrite>,
        report: &mut ExecutorReport,
    ) -> Result<Vec<QueuedRelease>, RelayerError> {
        use TransferStatus::*;
        // The common case costs one pass over the settings: no route into this chain weighs
        // gas and nothing waits for it.
        let weighing = self
            .settings
            .relayer
            .routes
            .iter()
            .any(|r| r.to == self.name && r.policy != ReleasePolicy::Always);
        if !weighing && !queue.iter().any(|t| t.status == AwaitingGas) {
            return Ok(queue);
        }
        // Looked up once per source chain and token, not once per release.
        let mut known: HashMap<(u64, Address), Option<RouteOf>> = HashMap::new();
        for t in &queue {
            known
                .entry((t.source_chain_id, t.source_token))
                .or_insert_with(|| self.route_of(t));
        }
        let prices = profit::symbol_prices(self.settings, self.store, &self.name).await?;
        // A node that cannot say its gas price holds only what weighs gas; the rest goes.
        let cost = match self.gas_cost(queue.len(), &prices).await {
            Ok(cost) => Ok(cost),
            Err(e) => {
                tracing::warn!(chain = %self.name, error = %e, "gas price unreadable: releases that weigh gas wait");
                Err("gas price unreadable now".to_string())
            }
        };
        if let Some(usd) = cost.as_ref().ok().and_then(GasCost::usd) {
            metrics::gauge!("atoll_relayer_release_gas_usd", "chain" => self.name.clone()).set(usd);
        }
        let mut go = Vec::with_capacity(queue.len());
        let mut back = Vec::new();
        for mut t in queue {
            let weighed = [SourceFinal, AwaitingGas, AwaitingLiquidity].contains(&t.status);
            let route = known
                .get(&(t.source_chain_id, t.source_token))
                .and_then(Option::as_ref);
            if !weighed {
                go.push(t);
                continue;
            }
            let held = t.status == AwaitingGas;
            match weigh_one(&t, route, &prices, &cost) {
                Verdict::Go => {
                    if held {
                        back.push(t.id);
                        t.status = SourceFinal;
                    }
                    go.push(t);
                }
                Verdict::GoAfterWaiting(why) => {
                    tracing::warn!(chain = %self.name, transfer = %t.id, %why, "released at a loss");
                    if held {
                        writes.push(move_one(t.id, AwaitingGas, SourceFinal, why));
                        t.status = SourceFinal;
                    }
                    go.push(t);
                }
                Verdict::Wait(_) if held => {}
                Verdict::Wait(why) => {
                    // From `source_final`, or from `awaiting_liquidity`: gas is what it waits
                    // for now, and the vault is checked again when it goes back.
                    let from = if t.status == AwaitingLiquidity {
                        AwaitingLiquidity
                    } else {
                        SourceFinal
                    };
                    tracing::info!(chain = %self.name, transfer = %t.id, %why, "release waits for gas");
                    writes.push(move_one(t.id, from, AwaitingGas, why));
                    report.awaiting_gas.push(t.id.to_string());
                }
            }
        }
        if !back.is_empty() {
            let now = cost.as_ref().map_or_else(Clone::clone, GasCost::describe);
            writes.push(ReleaseWrite::Move {
                ids: back,
                from: AwaitingGas,
                to: SourceFinal,
                reason: Reason::FeeCoversGas { now },
                tx_hash: None,
            });
        }
        Ok(go)
    }

    /// What one release costs here now, its batch as full as `queued` allows.
    async fn gas_cost(
        &self,
        queued: usize,
        prices: &HashMap<String, f64>,
    ) -> Result<GasCost, RelayerError> {
        let batch = queued.min(self.batch_max());
        let per_release = self.gas_model.map(|m| m.per_release);
        let native = self
            .settings
            .chain(&self.name)
            .and_then(|c| c.native_token.clone());
        let native_usd = native.as_ref().and_then(|s| prices.get(s).copied());
        Ok(GasCost {
            price: self.chain.gas_price().await?,
            gas: profit::release_gas_share(per_release, u64::try_from(batch).unwrap_or(1)),
            fixed_native: 0,
            native_decimals: 18,
            native_usd,
            native_symbol: native.unwrap_or_else(|| "the chain's native_token (unset)".into()),
        })
    }

    /// The route `t` travels: looked up from its source chain and token.
    fn route_of(&self, t: &QueuedRelease) -> Option<RouteOf> {
        let settings = self.settings;
        let source = settings
            .chains
            .iter()
            .find(|c| c.chain_id.0 == t.source_chain_id)?;
        let (symbol, fee_decimals) = settings.tokens.iter().find_map(|token| {
            token
                .deployments
                .iter()
                .find(|d| d.chain == source.name && d.address == t.source_token)
                .map(|d| (token.symbol.clone(), d.decimals))
        })?;
        let route = settings.relayer.route(&source.name, &self.name, &symbol)?;
        Some(RouteOf {
            policy: route.policy,
            symbol,
            fee_decimals,
        })
    }
}

/// The verdict on one weighed release: its route's policy, its fee priced on this chain, and
/// how long it has waited in `awaiting_gas`. A release without a stored fee counts as unpriced;
/// one on a route the config no longer has goes (as under `always`).
fn weigh_one(
    t: &QueuedRelease,
    route: Option<&RouteOf>,
    prices: &HashMap<String, f64>,
    cost: &Result<GasCost, String>,
) -> Verdict {
    let Some(route) = route else {
        return Verdict::Go;
    };
    let fee = t.fee.and_then(|raw| {
        profit::fee_usd(raw, route.fee_decimals, prices.get(&route.symbol).copied())
    });
    let waited = if t.status == TransferStatus::AwaitingGas {
        Duration::from_millis(u64::try_from(age_ms(t.updated_at_ms)).unwrap_or(0))
    } else {
        Duration::ZERO
    };
    match cost {
        Ok(cost) => profit::verdict(route.policy, fee, cost, waited),
        Err(_) if route.policy == ReleasePolicy::Always => Verdict::Go,
        Err(why) => Verdict::Wait(why.clone()),
    }
}

/// A gas verdict's text (the figures it weighed) is the reason.
fn move_one(id: TransferId, from: TransferStatus, to: TransferStatus, why: String) -> ReleaseWrite {
    ReleaseWrite::Move {
        ids: vec![id],
        from,
        to,
        reason: Reason::Text(why),
        tx_hash: None,
    }
}
