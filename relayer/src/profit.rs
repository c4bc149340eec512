//! Whether a release pays for itself. A route's `release_policy` (`always`, or
//! `when_profitable` with a margin and an optional longest wait) weighed against what the
//! release costs on its destination now: its share of its batch's gas at the chain's current
//! price, in USD through the chain's `native_token`. The verdict is a pure function
//! ([`verdict`]); the executor feeds it live figures and holds a release back in `awaiting_gas`
//! with the verdict's reason (`fee $0.50 < gas $3.20 at 80 gwei`), which `status`, `show` and
//! GraphQL show. The same figures price a release for the router's quotes ([`release_cost`]).
//!
//! Read this before changing what a release is assumed to cost, or how fees are priced.

use std::collections::HashMap;
use std::time::Duration;

use atoll_core::U256;
use atoll_core::settings::{ReleasePolicy, Settings};
use atoll_store::Store;

use crate::RelayerError;

/// What one release costs on its destination chain now.
#[derive(Debug, Clone, PartialEq)]
pub struct GasCost {
    /// Per unit of gas, in the chain's smallest native unit (wei). Solana: lamports per
    /// release in `fixed_native` instead, `price` 0.
    pub price: u128,
    /// Gas units one release takes (its share of its batch's).
    pub gas: u64,
    /// Native units every release pays beside gas (Solana: signature fee and claim rent).
    pub fixed_native: u128,
    /// Decimals of the chain's native unit (18 on EVM, 9 on Solana).
    pub native_decimals: u8,
    /// USD per whole native token, when the chain's `native_token` is priced.
    pub native_usd: Option<f64>,
    /// The token that prices it, for the reason text.
    pub native_symbol: String,
}

impl GasCost {
    /// In native units.
    pub fn native(&self) -> u128 {
        self.price
            .saturating_mul(u128::from(self.gas))
            .saturating_add(self.fixed_native)
    }

    /// In USD, when the native token is priced.
    pub fn usd(&self) -> Option<f64> {
        let whole = self.native() as f64 / 10f64.powi(i32::from(self.native_decimals));
        self.native_usd.map(|p| whole * p)
    }

    /// `gas $3.20 at 80 gwei` (EVM) or `gas $0.14 (905000 lamports)` (Solana).
    pub fn describe(&self) -> String {
        let usd = self.usd().map_or_else(
            || format!("unpriced ({} has no USD price yet)", self.native_symbol),
            dollars,
        );
        if self.price > 0 {
            format!("gas {usd} at {} gwei", gwei(self.price))
        } else {
            format!("gas {usd} ({} lamports)", self.native())
        }
    }
}

/// What to do with one approved release now.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Go,
    /// Unprofitable still, but it waited its route's `max_wait_s`: it goes, and says so.
    GoAfterWaiting(String),
    /// Held back, with why.
    Wait(String),
}

/// The verdict on a release whose fee is worth `fee_usd` (None: unpriced), costing `cost`
/// now, after waiting `waited` for gas.
pub fn verdict(
    policy: ReleasePolicy,
    fee_usd: Option<f64>,
    cost: &GasCost,
    waited: Duration,
) -> Verdict {
    let ReleasePolicy::WhenProfitable {
        margin_pct,
        max_wait,
    } = policy
    else {
        return Verdict::Go;
    };
    let why = match (fee_usd, cost.usd()) {
        (Some(fee), Some(gas)) if fee >= gas * (1.0 + margin_pct / 100.0) => return Verdict::Go,
        (Some(fee), Some(_)) => format!(
            "fee {} < {} (+{margin_pct} % margin)",
            dollars(fee),
            cost.describe()
        ),
        (None, _) => "fee unpriced: its token has no USD price yet".to_string(),
        (Some(_), None) => cost.describe(),
    };
    match max_wait {
        Some(longest) if waited >= longest => Verdict::GoAfterWaiting(format!(
            "{why}; waited {}s, its route's max_wait_s: released anyway",
            waited.as_secs()
        )),
        _ => Verdict::Wait(why),
    }
}

/// `$3.20`, or four decimals below a cent.
fn dollars(usd: f64) -> String {
    if usd.abs() >= 0.01 {
        format!("${usd:.2}")
    } else {
        format!("${usd:.4}")
    }
}

/// `80`, `0.25`: wei per gas in gwei, without trailing zeros.
fn gwei(wei: u128) -> String {
    let whole = wei / 1_000_000_000;
    let frac = wei % 1_000_000_000;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:09}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// USD per whole token of each `[[tokens]]` symbol deployed on `chain`: the deepest pool's
/// price on that chain, else the token's pinned `price_usd`.
pub async fn symbol_prices(
    settings: &Settings,
    store: &Store,
    chain: &str,
) -> Result<HashMap<String, f64>, RelayerError> {
    let Some(c) = settings.chain(chain) else {
        return Ok(HashMap::new());
    };
    let by_address = store.token_prices_usd(c.chain_id.0).await?;
    Ok(settings
        .tokens
        .iter()
        .filter_map(|t| {
            let d = t.deployments.iter().find(|d| d.chain == chain)?;
            let price = by_address
                .get(&d.address.to_string())
                .copied()
                .or(t.price_usd)?;
            Some((t.symbol.clone(), price))
        })
        .collect())
}

/// A fee of `raw` units with `decimals`, in USD at `price`.
pub fn fee_usd(raw: U256, decimals: u8, price: Option<f64>) -> Option<f64> {
    let whole = raw.to_string().parse::<f64>().ok()? / 10f64.powi(i32::from(decimals));
    price.map(|p| whole * p)
}

/// Lamports every Solana transaction pays per signature: the Solana adapter's, which prices a
/// release there ([`atoll_adapters::capability::Fees::release_cost`]).
pub use atoll_adapters::solana::releases::SIGNATURE_LAMPORTS;

/// What one bridge transaction costs on `chain` now, for the router's `gas_usd` per chain: EVM,
/// a release's share of a full batch at `eth_gasPrice` (the learned per-release gas is the
/// executor's; this uses the 60,000 guess, close to a deposit's own gas); Solana, the signature
/// fee, the claim rent and the priority fee (the recipient's token account, 2,039,280 lamports
/// when the relayer has to create it, is left out: most recipients hold one), as the chain's
/// [`Fees`](atoll_adapters::capability::Fees) says. None when the chain has no priced
/// `native_token`.
pub async fn release_cost(
    settings: &Settings,
    store: &Store,
    chain: &str,
) -> Result<Option<GasCost>, RelayerError> {
    let Some(c) = settings.chain(chain) else {
        return Ok(None);
    };
    let Some(native) = c.native_token.clone() else {
        return Ok(None);
    };
    let prices = symbol_prices(settings, store, chain).await?;
    let node = atoll_adapters::capability::connect(c, atoll_adapters::evm::RetryPolicy::default())?;
    let batch = u64::from(settings.relayer.batch_max_releases.max(1));
    let native_cost = node.release_cost(release_gas_share(None, batch)).await?;
    let cost = GasCost {
        price: native_cost.price,
        gas: native_cost.gas,
        fixed_native: native_cost.fixed,
        native_decimals: native_cost.decimals,
        native_usd: prices.get(&native).copied(),
        native_symbol: native,
    };
    Ok(Some(cost))
}

/// A release's cost in USD now on every chain with a priced `native_token`, each chain read
/// within `timeout`: the router's `gas_usd` for chains a request leaves out. A chain that
/// cannot be read or priced is left out and named in the second list.
pub async fn live_gas_usd(
    settings: &Settings,
    store: &Store,
    timeout: Duration,
) -> (std::collections::BTreeMap<String, f64>, Vec<String>) {
    let reads = futures::future::join_all(settings.chains.iter().map(|c| async move {
        let cost = tokio::time::timeout(timeout, release_cost(settings, store, &c.name)).await;
        (c.name.clone(), cost)
    }))
    .await;
    let mut usd = std::collections::BTreeMap::new();
    let mut notes = Vec::new();
    for (chain, cost) in reads {
        match cost {
            Ok(Ok(Some(cost))) => match cost.usd() {
                Some(v) => {
                    notes.push(format!(
                        "gas_usd.{chain} = {} live: {}",
                        dollars(v),
                        cost.describe()
                    ));
                    usd.insert(chain, v);
                }
                None => notes.push(format!("gas_usd.{chain}: {}", cost.describe())),
            },
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                // Adapter errors name endpoints redacted; the client gets no error text at all.
                tracing::warn!(%chain, error = %e, "live gas unreadable");
                notes.push(format!("gas_usd.{chain}: unreadable now"));
            }
            Err(_) => notes.push(format!(
                "gas_usd.{chain}: no answer within {} ms",
                timeout.as_millis()
            )),
        }
    }
    (usd, notes)
}

/// Gas one release takes when its batch carries `batch` releases: the learned cost per release
/// (or a plain ERC-20 transfer's, before any is learned) plus its share of the batch's base.
pub fn release_gas_share(per_release: Option<u64>, batch: u64) -> u64 {
    /// A transfer to a fresh holder, its event and the vault's bookkeeping.
    const PER_RELEASE_GUESS: u64 = 60_000;
    per_release
        .unwrap_or(PER_RELEASE_GUESS)
        .saturating_add(crate::evm_executor::BATCH_BASE_GAS / batch.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GWEI: u128 = 1_000_000_000;

    fn bsc_at(gwei: u128) -> GasCost {
        GasCost {
            price: gwei * GWEI,
            gas: 70_000,
            fixed_native: 0,
            native_decimals: 18,
            native_usd: Some(600.0),
            native_symbol: "WBNB".into(),
        }
    }

    fn profitable(max_wait_s: Option<u64>) -> ReleasePolicy {
        ReleasePolicy::WhenProfitable {
            margin_pct: 10.0,
            max_wait: max_wait_s.map(Duration::from_secs),
        }
    }

    #[test]
    fn always_goes_whatever_gas_costs() {
        let v = verdict(
            ReleasePolicy::Always,
            Some(0.01),
            &bsc_at(500),
            Duration::ZERO,
        );
        assert_eq!(v, Verdict::Go);
    }

    #[test]
    fn a_fee_below_gas_and_margin_waits_with_the_figures() {
        // 70,000 gas × 80 gwei × $600 = $3.36.
        let v = verdict(profitable(None), Some(0.5), &bsc_at(80), Duration::ZERO);
        assert_eq!(
            v,
            Verdict::Wait("fee $0.50 < gas $3.36 at 80 gwei (+10 % margin)".into())
        );
        // At 1 gwei the same release costs $0.042: it goes.
        assert_eq!(
            verdict(profitable(None), Some(0.5), &bsc_at(1), Duration::ZERO),
            Verdict::Go
        );
    }

    #[test]
    fn the_margin_counts() {
        // $0.042 of gas: a $0.045 fee covers it but not with 10 % on top.
        let v = verdict(profitable(None), Some(0.045), &bsc_at(1), Duration::ZERO);
        assert!(matches!(v, Verdict::Wait(_)), "{v:?}");
        assert_eq!(
            verdict(profitable(None), Some(0.047), &bsc_at(1), Duration::ZERO),
            Verdict::Go
        );
    }

    #[test]
    fn past_its_longest_wait_it_goes_and_says_so() {
        let cost = bsc_at(80);
        let early = verdict(
            profitable(Some(600)),
            Some(0.5),
            &cost,
            Duration::from_secs(599),
        );
        assert!(matches!(early, Verdict::Wait(_)));
        match verdict(
            profitable(Some(600)),
            Some(0.5),
            &cost,
            Duration::from_secs(600),
        ) {
            Verdict::GoAfterWaiting(why) => assert!(why.contains("released anyway"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unpriced_fee_or_gas_waits_naming_what_is_missing() {
        let v = verdict(profitable(None), None, &bsc_at(1), Duration::ZERO);
        assert_eq!(
            v,
            Verdict::Wait("fee unpriced: its token has no USD price yet".into())
        );
        let mut cost = bsc_at(1);
        cost.native_usd = None;
        let v = verdict(profitable(None), Some(5.0), &cost, Duration::ZERO);
        assert_eq!(
            v,
            Verdict::Wait("gas unpriced (WBNB has no USD price yet) at 1 gwei".into())
        );
    }

    #[test]
    fn figures_read_as_an_operator_writes_them() {
        assert_eq!(gwei(80 * GWEI), "80");
        assert_eq!(gwei(GWEI / 4), "0.25");
        assert_eq!(dollars(3.2), "$3.20");
        assert_eq!(dollars(0.0042), "$0.0042");
        assert_eq!(fee_usd(U256::from(500_250u64), 6, Some(1.0)), Some(0.50025));
        // A fee is a U256 read by the store (an unreadable one never gets here); unpriced
        // is the one way to have no value.
        assert_eq!(fee_usd(U256::from(500_250u64), 6, None), None);
        let solana = GasCost {
            price: 0,
            gas: 0,
            fixed_native: SIGNATURE_LAMPORTS + 897_840,
            native_decimals: 9,
            native_usd: Some(150.0),
            native_symbol: "wSOL".into(),
        };
        assert_eq!(solana.describe(), "gas $0.14 (902840 lamports)");
    }

    #[test]
    fn a_release_shares_its_batch_base() {
        assert_eq!(release_gas_share(Some(40_000), 16), 40_000 + 3_750);
        assert_eq!(release_gas_share(None, 0), 60_000 + 60_000);
    }
}
