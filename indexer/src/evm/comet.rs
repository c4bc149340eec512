//! The Compound v3 side of the lending stream ([`super::lending`]): a Comet is one reserve (its
//! base asset), registered as a pool with the Comet's address. Comet emits no rate event, so a
//! history row is written per block in which the Comet emitted anything that accrues it
//! (`Supply`, `Withdraw`, `Transfer`, `AbsorbDebt`), from its state at that block: the rates
//! `getSupplyRate` / `getBorrowRate` give at `getUtilization`, `baseSupplyIndex` (as the
//! liquidity index, rescaled to a ray so both protocols share the columns and the realised
//! yield's arithmetic: Comet accrues linearly between accruals, as Aave does between updates),
//! totals and price. Current rows add the supply curve (Comet's own, not derived from the
//! borrow curve) and the incentive its `CometRewards` pays.
//!
//! Prices ([`CometPricing`]): Comet's feeds are in the market's own unit. On a market whose
//! base is a configured stable token they are USD (every USD-based Comet prices in USD); on
//! the others they are the base asset (cWETHv3's base feed is a constant 1), so the base's USD
//! price is Atoll's own (pinned, or from the chain's pools) and history rows stay unpriced.

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::SolEvent;
use atoll_adapters::evm::comet::{CometState, CometTotals};
use atoll_adapters::evm::comet_abi::IComet;
use atoll_core::lending::{COMET_FACTOR_SCALE, CometCurve, SECONDS_PER_YEAR, apy_of_apr};
use atoll_store::lending::{LendingHistoryRow, LendingReserveRow};

use super::lending::Incentives;

/// The events after which a Comet's state is recorded (each accrues it).
pub(super) fn accruing_events() -> Vec<B256> {
    vec![
        IComet::Supply::SIGNATURE_HASH,
        IComet::Withdraw::SIGNATURE_HASH,
        IComet::Transfer::SIGNATURE_HASH,
        IComet::AbsorbDebt::SIGNATURE_HASH,
    ]
}

/// 1e27 / 1e15: a Comet index as a ray.
const INDEX_TO_RAY: u128 = 1_000_000_000_000;

/// A per-second 1e18 rate as a per-year ray (exact: the year in seconds × 1e9).
fn rate_ray(per_second: u128) -> U256 {
    U256::from(per_second) * U256::from(SECONDS_PER_YEAR as u64) * U256::from(1_000_000_000u64)
}

fn index_ray(index: u128) -> U256 {
    U256::from(index) * U256::from(INDEX_TO_RAY)
}

/// What a Comet's figures are priced with, in USD.
pub(super) struct CometPricing {
    pub(super) base_usd: Option<f64>,
    pub(super) reward_usd: Option<f64>,
}

impl CometPricing {
    /// `usd_feeds`: the base is a configured stable token, so the Comet's feeds are in USD;
    /// otherwise they are in the base asset and `own` gives Atoll's USD price of a token.
    pub(super) fn of(
        s: &CometState,
        usd_feeds: bool,
        own: impl Fn(Address) -> Option<f64>,
    ) -> CometPricing {
        let feed = s.feed_price();
        let base_usd = if usd_feeds { feed } else { own(s.base_token) };
        // USD per unit of the market's feeds.
        let unit_usd = base_usd.zip(feed).map(|(usd, f)| usd / f);
        let reward_usd = s.reward.as_ref().and_then(|r| {
            if r.token == s.base_token {
                base_usd
            } else if !r.price.is_zero() {
                unit_usd.map(|u| f64::from(r.price) / 1e8 * u)
            } else {
                own(r.token)
            }
        });
        CometPricing {
            base_usd,
            reward_usd,
        }
    }
}

/// A history row of the Comet's reserve at `block` (its last accruing log: `log_index`),
/// priced at that block only where the Comet's feeds are in USD (`usd_feeds`).
pub(super) fn history_row(
    pool_id: &str,
    chain_id: u64,
    block: u64,
    log_index: u64,
    time_ms: i64,
    s: &CometTotals,
    usd_feeds: bool,
) -> LendingHistoryRow {
    let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    LendingHistoryRow {
        pool_id: pool_id.to_string(),
        block: int(block),
        chain_id: int(chain_id),
        log_index: int(log_index),
        time_ms,
        liquidity_rate_ray: rate_ray(s.supply_rate).to_string(),
        variable_borrow_rate_ray: rate_ray(s.borrow_rate).to_string(),
        stable_borrow_rate_ray: "0".into(),
        liquidity_index_ray: index_ray(s.supply_index).to_string(),
        variable_borrow_index_ray: index_ray(s.borrow_index).to_string(),
        supplied: s.total_supply.to_string(),
        available: s.available.to_string(),
        variable_debt: s.total_borrow.to_string(),
        stable_debt: "0".into(),
        price_usd: s.feed_price().filter(|_| usd_feeds),
    }
}

/// The supply index accrued to `time_s`, as a ray: what the realised yield ends on.
pub(super) fn index_now(s: &CometState, time_s: u64) -> f64 {
    f64::from(index_ray(s.supply_index_at(time_s)))
}

/// A per-year curve's four parameters as rays, from Comet's per-second curve.
fn curve_rays(c: &CometCurve) -> [String; 4] {
    let kink = U256::from(c.kink) * U256::from(1_000_000_000u64);
    // slope1 = slopeLow · kink, slope2 = slopeHigh · (1 − kink), per year (RateCurve's terms).
    let scale = U256::from(COMET_FACTOR_SCALE);
    let slope1 = rate_ray(c.slope_low) * U256::from(c.kink) / scale;
    let slope2 =
        rate_ray(c.slope_high) * U256::from(COMET_FACTOR_SCALE.saturating_sub(c.kink)) / scale;
    [
        kink.to_string(),
        rate_ray(c.base).to_string(),
        slope1.to_string(),
        slope2.to_string(),
    ]
}

/// The incentive at the state's block: its APY over the supply (0 once the emission stops;
/// `None` without a rewards contract, or while a running emission's token is unpriced), the
/// token while the emission runs. A Comet emission has no end time on chain: it ends when the
/// speed goes to 0 or the rewards contract is empty.
fn incentives(s: &CometState, reward_usd: Option<f64>, supplied_usd: Option<f64>) -> Incentives {
    let apy = match (s.reward_tokens_per_year(), reward_usd, supplied_usd) {
        (Some(0.0), _, _) => Some(0.0),
        (Some(tokens), Some(price), Some(total)) if total > 0.0 => Some(tokens * price / total),
        _ => None,
    };
    let tokens = s
        .reward
        .as_ref()
        .filter(|_| s.emission_runs())
        .map(|r| format!("{:#x}", r.token));
    Incentives {
        apy,
        tokens,
        ends_ms: None,
    }
}

/// The Comet reserve's current row from its state at `block` (`realised`: 1, 7, 30 days).
#[allow(clippy::too_many_arguments)]
pub(super) fn current_row(
    pool_id: &str,
    chain_id: u64,
    s: &CometState,
    pricing: &CometPricing,
    block: u64,
    time_ms: i64,
    realised: [Option<f64>; 3],
) -> LendingReserveRow {
    let unit = 10f64.powi(i32::from(s.decimals));
    let price = pricing.base_usd;
    let supplied = f64::from(s.total_supply) / unit;
    let borrowed = f64::from(s.total_borrow) / unit;
    let incentives = incentives(s, pricing.reward_usd, price.map(|p| supplied * p));
    let lower = |a: Address| format!("{a:#x}");
    let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let [optimal, base, slope1, slope2] = curve_rays(&s.borrow_curve);
    let [s_kink, s_base, s_slope1, s_slope2] = curve_rays(&s.supply_curve);
    LendingReserveRow {
        pool_id: pool_id.to_string(),
        chain_id: int(chain_id),
        market: lower(s.comet),
        asset: lower(s.base_token),
        a_token: lower(s.comet),
        variable_debt_token: lower(s.comet),
        stable_debt_token: lower(Address::ZERO),
        strategy: lower(s.comet),
        decimals: i32::from(s.decimals),
        accepts_supply: s.accepts_supply(),
        borrowing_enabled: s.borrowable(),
        accrued_to_treasury: "0".into(),
        // The base asset is not collateral, has no reserve factor (Comet's reserves are what
        // borrowers pay over what suppliers earn) and no supply or borrow cap.
        ltv_bps: 0,
        liquidation_threshold_bps: 0,
        reserve_factor_bps: 0,
        supply_cap: "0".into(),
        borrow_cap: "0".into(),
        optimal_usage_ray: optimal,
        base_rate_ray: base,
        slope1_ray: slope1,
        slope2_ray: slope2,
        supply_kink_ray: Some(s_kink),
        supply_base_rate_ray: Some(s_base),
        supply_slope1_ray: Some(s_slope1),
        supply_slope2_ray: Some(s_slope2),
        liquidity_rate_ray: rate_ray(s.supply_rate).to_string(),
        variable_borrow_rate_ray: rate_ray(s.borrow_rate).to_string(),
        liquidity_index_ray: index_ray(s.supply_index).to_string(),
        normalized_income_ray: index_ray(
            s.supply_index_at(u64::try_from(time_ms / 1000).unwrap_or(0)),
        )
        .to_string(),
        supplied: s.total_supply.to_string(),
        available: s.available.to_string(),
        variable_debt: s.total_borrow.to_string(),
        stable_debt: "0".into(),
        price_usd: price,
        supply_apy: Some(apy_of_apr(s.supply_apr())),
        borrow_apy: Some(apy_of_apr(s.borrow_apr())),
        utilization: Some(s.utilization_fraction()),
        supplied_usd: price.map(|p| supplied * p),
        borrowed_usd: price.map(|p| borrowed * p),
        realised_apy1d: realised[0],
        realised_apy7d: realised[1],
        realised_apy30d: realised[2],
        apy_reward: incentives.apy,
        reward_tokens: incentives.tokens,
        reward_ends_ms: incentives.ends_ms,
        state_block: int(block),
        state_time_ms: time_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atoll_adapters::evm::comet::CometReward;

    fn weth_comet(reward_token: Address, reward_feed: u64) -> CometState {
        let base = Address::repeat_byte(0xee);
        CometState {
            comet: Address::repeat_byte(0xc0),
            base_token: base,
            decimals: 18,
            supply_index: 1_000_000_000_000_000,
            borrow_index: 1_000_000_000_000_000,
            total_supply_base: 0,
            last_accrual: 0,
            pause_flags: 0,
            total_supply: U256::ZERO,
            total_borrow: U256::ZERO,
            available: U256::ZERO,
            utilization: 0,
            supply_rate: 0,
            borrow_rate: 0,
            supply_curve: CometCurve::default(),
            borrow_curve: CometCurve::default(),
            // cWETHv3: the base feed is a constant 1 (in WETH).
            price: U256::from(100_000_000u64),
            tracking_supply_speed: U256::ZERO,
            tracking_index_scale: U256::from(1_000_000_000_000_000u64),
            base_min_for_rewards: U256::ZERO,
            reward: Some(CometReward {
                token: reward_token,
                multiplier: U256::from(1_000_000_000_000_000_000u128),
                price: U256::from(reward_feed),
                funded: U256::from(1u8),
            }),
        }
    }

    #[test]
    fn a_comet_priced_in_its_base_asset_takes_the_bases_usd_price_from_atoll() {
        let comp = Address::repeat_byte(0xc3);
        // COMP's feed on a WETH market: 0.02 WETH.
        let s = weth_comet(comp, 2_000_000);
        let own = |t: Address| (t == s.base_token).then_some(3_000.0);
        let p = CometPricing::of(&s, false, own);
        assert_eq!(p.base_usd, Some(3_000.0));
        assert!((p.reward_usd.unwrap() - 60.0).abs() < 1e-9);
        // The same feeds read as USD would price WETH at $1: only for a stable base.
        let as_usd = CometPricing::of(&s, true, own);
        assert_eq!(as_usd.base_usd, Some(1.0));
        // A reward in the base itself; one the Comet does not list, priced by Atoll.
        let s = weth_comet(s.base_token, 0);
        assert_eq!(CometPricing::of(&s, false, own).reward_usd, Some(3_000.0));
        let other = Address::repeat_byte(0x77);
        let s = weth_comet(other, 0);
        let own = |t: Address| (t == other).then_some(5.0);
        assert_eq!(CometPricing::of(&s, false, own).reward_usd, Some(5.0));
        assert_eq!(CometPricing::of(&s, false, own).base_usd, None);
    }

    #[test]
    fn history_rows_carry_a_price_only_where_the_feeds_are_usd() {
        let t = CometTotals {
            supply_index: 1_000_000_000_000_000,
            borrow_index: 1_000_000_000_000_000,
            total_supply: U256::ZERO,
            total_borrow: U256::ZERO,
            available: U256::ZERO,
            supply_rate: 1,
            borrow_rate: 2,
            price: U256::from(100_000_000u64),
        };
        assert_eq!(history_row("p", 1, 1, 0, 0, &t, true).price_usd, Some(1.0));
        assert_eq!(history_row("p", 1, 1, 0, 0, &t, false).price_usd, None);
        assert_eq!(
            history_row("p", 1, 1, 0, 0, &t, true).liquidity_rate_ray,
            "31536000000000000"
        );
    }
}
