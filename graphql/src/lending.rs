//! Lending reserves in the API: `Pool.lending` (a reserve's own figures, [`LendingReserve`]),
//! the `kind` filter's values ([`PoolKindFilter`]), a reserve's history in `poolHistory` and
//! `/chart/{pool}` (from its update rows, [`lending_buckets`]), and what the router is given
//! for a reserve ([`router_lending`]). Read it when a lending field is missing or wrong in the
//! API; the figures themselves are computed by the indexer (`indexer/src/evm/lending.rs`).

use std::collections::BTreeMap;

use async_graphql::{Enum, Object};
use atoll_core::lending::{RAY, apy_of_apr};
use atoll_store::Store;
use atoll_store::records::{LendingFigures, PoolRecord};

use crate::error::ApiError;
use crate::types::{PoolHistoryBucket, time_of_ms};

/// Which kind of pool a filter wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum PoolKindFilter {
    /// AMM pools (Uniswap V2/V3, PancakeSwap, Orca, Raydium).
    Dex,
    /// Lending markets' reserves (Aave v3, Compound v3).
    Lending,
}

impl PoolKindFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            PoolKindFilter::Dex => "dex",
            PoolKindFilter::Lending => "lending",
        }
    }
}

/// A lending reserve's figures (DefiLlama's lending fields and Atoll's).
pub struct LendingReserve {
    supply_apy: Option<f64>,
    f: LendingFigures,
}

impl LendingReserve {
    /// The reserve's figures, when `record` is a reserve.
    pub fn of(record: &PoolRecord) -> Option<LendingReserve> {
        record.lending.clone().map(|f| LendingReserve {
            supply_apy: record.apy_base,
            f,
        })
    }
}

#[Object]
impl LendingReserve {
    /// Supply APY (the reserve's current liquidity rate, compounded per second).
    async fn supply_apy(&self) -> Option<f64> {
        self.supply_apy
    }
    /// Variable borrow APY; DefiLlama's `apyBaseBorrow`.
    async fn borrow_apy(&self) -> Option<f64> {
        self.f.apy_base_borrow
    }
    /// Borrowed over supplied (Aave: over available + borrowed; Compound v3: its own
    /// `getUtilization`).
    async fn utilization(&self) -> Option<f64> {
        self.f.utilization
    }
    /// What suppliers hold, in USD; DefiLlama's `totalSupplyUsd`.
    async fn total_supply_usd(&self) -> Option<f64> {
        self.f.total_supply_usd
    }
    /// What borrowers owe, in USD; DefiLlama's `totalBorrowUsd`.
    async fn total_borrow_usd(&self) -> Option<f64> {
        self.f.total_borrow_usd
    }
    async fn available_liquidity_usd(&self) -> Option<f64> {
        self.f.available_liquidity_usd
    }
    /// Supplied, borrowed and available in the token's smallest unit.
    async fn supplied(&self) -> &str {
        &self.f.supplied
    }
    async fn variable_debt(&self) -> &str {
        &self.f.variable_debt
    }
    async fn stable_debt(&self) -> &str {
        &self.f.stable_debt
    }
    async fn available(&self) -> &str {
        &self.f.available
    }
    async fn decimals(&self) -> i32 {
        self.f.decimals
    }
    /// Loan to value, a fraction.
    async fn ltv(&self) -> f64 {
        self.f.ltv
    }
    async fn liquidation_threshold(&self) -> f64 {
        self.f.liquidation_threshold
    }
    async fn reserve_factor(&self) -> f64 {
        self.f.reserve_factor
    }
    /// Whole tokens; null when uncapped.
    async fn supply_cap(&self) -> Option<&str> {
        self.f.supply_cap.as_deref()
    }
    async fn borrow_cap(&self) -> Option<&str> {
        self.f.borrow_cap.as_deref()
    }
    /// The supply APY realised over the last day, from the liquidity index's growth.
    #[graphql(name = "realisedApy1d")]
    async fn realised_apy_1d(&self) -> Option<f64> {
        self.f.realised_apy_1d
    }
    #[graphql(name = "realisedApy7d")]
    async fn realised_apy_7d(&self) -> Option<f64> {
        self.f.realised_apy_7d
    }
    #[graphql(name = "realisedApy30d")]
    async fn realised_apy_30d(&self) -> Option<f64> {
        self.f.realised_apy_30d
    }
    /// The variable borrow rate curve's kink.
    async fn optimal_utilization(&self) -> f64 {
        self.f.optimal_utilization
    }
    async fn base_rate(&self) -> f64 {
        self.f.base_rate
    }
    async fn slope1(&self) -> f64 {
        self.f.slope1
    }
    async fn slope2(&self) -> f64 {
        self.f.slope2
    }
    /// The liquidity index now (ray): income per unit supplied since the reserve began.
    async fn liquidity_index(&self) -> &str {
        &self.f.liquidity_index
    }
    /// Tokens of the incentives paying suppliers now (their rate is the pool's `apyReward`).
    async fn reward_tokens(&self) -> &[String] {
        &self.f.reward_tokens
    }
    /// When the first of those emissions ends (null when the protocol sets no end: a
    /// Compound v3 emission runs until its speed is set to 0 or its rewards contract is empty).
    async fn rewards_end(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.f.reward_ends_ms.map(time_of_ms)
    }
    /// The supply rate's own curve where the protocol has one (Compound v3); null where the
    /// supply rate is the borrow rate × utilisation × (1 − reserve factor) (Aave v3).
    async fn supply_curve(&self) -> Option<SupplyRateCurve> {
        self.f.supply_curve.map(SupplyRateCurve)
    }
}

/// A supply-rate curve, per year: `baseRate + slope1 · U / kink` up to `kink`, then
/// `+ slope2 · (U − kink) / (1 − kink)`.
pub struct SupplyRateCurve(atoll_store::records::SupplyCurve);

#[Object]
impl SupplyRateCurve {
    async fn kink(&self) -> f64 {
        self.0.kink
    }
    async fn base_rate(&self) -> f64 {
        self.0.base_rate
    }
    async fn slope1(&self) -> f64 {
        self.0.slope1
    }
    async fn slope2(&self) -> f64 {
        self.0.slope2
    }
}

/// A reserve's history in buckets of `width` ms from its update rows: each bucket shows its
/// last update (supply APY, TVL as supplied − borrowed at that block's oracle price). Swap
/// fields are 0. At most [`MAX_HISTORY_ROWS`] updates are read, the newest of the range.
pub async fn lending_buckets(
    reader: &Store,
    id: &str,
    from_ms: i64,
    to_ms: i64,
    width: i64,
) -> Result<Vec<PoolHistoryBucket>, ApiError> {
    let decimals = reader
        .lending_reserve(id)
        .await?
        .map_or(0, |r| r.decimals.clamp(0, 77));
    let unit = 10f64.powi(decimals);
    let rows = reader
        .lending_history(id, from_ms, to_ms - 1, MAX_HISTORY_ROWS)
        .await?;
    let mut buckets: BTreeMap<i64, PoolHistoryBucket> = BTreeMap::new();
    // Oldest first, so each bucket keeps its last update.
    for r in rows {
        let start = r.time_ms.div_euclid(width) * width;
        let num = |s: &str| s.parse::<f64>().unwrap_or(0.0);
        let supplied = num(&r.supplied) / unit;
        let borrowed = (num(&r.variable_debt) + num(&r.stable_debt)) / unit;
        let available = num(&r.available) / unit;
        let apy = apy_of_apr(num(&r.liquidity_rate_ray) / RAY);
        buckets.insert(
            start,
            PoolHistoryBucket {
                start: time_of_ms(start),
                swaps: 0,
                volume0: "0".into(),
                volume1: "0".into(),
                lp_fees0: "0".into(),
                lp_fees1: "0".into(),
                volume_usd: None,
                fees_usd: None,
                tvl_usd: r.price_usd.map(|p| p * (supplied - borrowed).max(0.0)),
                apy: Some(apy),
                apy_base: Some(apy),
                utilization: (available + borrowed > 0.0)
                    .then(|| borrowed / (available + borrowed)),
                borrow_apy: Some(apy_of_apr(num(&r.variable_borrow_rate_ray) / RAY)),
                liquidity_index: Some(r.liquidity_index_ray.clone()),
            },
        );
    }
    Ok(buckets.into_values().collect())
}

/// The most update rows one history request reads (an anonymous client's work is bounded;
/// a busy reserve updates about once a block, so this is a few days at most).
const MAX_HISTORY_ROWS: u64 = 20_000;

/// A reserve as the router takes it: the curve, supply as available + debt (the strategy's
/// denominator), variable debt, stable debt's income (it does not move with supply), and the
/// room under the supply cap, all in USD at the reserve's price.
pub fn router_lending(r: &PoolRecord) -> Option<atoll_router::input::LendingInput> {
    use atoll_router::input::{LendingInput, RateModelInput};
    let f = r.lending.as_ref()?;
    let price = r.price0_usd.filter(|p| p.is_finite() && *p > 0.0)?;
    // The curve the router moves along: Compound v3's own supply curve where the reserve has
    // one, else Aave's borrow curve with the reserve factor.
    let (model, optimal, base, slope1, slope2, reserve_factor) = match &f.supply_curve {
        Some(c) => (
            RateModelInput::SupplyCurve,
            c.kink,
            c.base_rate,
            c.slope1,
            c.slope2,
            0.0,
        ),
        None => (
            RateModelInput::BorrowShare,
            f.optimal_utilization,
            f.base_rate,
            f.slope1,
            f.slope2,
            f.reserve_factor,
        ),
    };
    // A reserve that would refuse a supply, or whose figures the router would refuse (and with
    // them the whole quote), is left out.
    let curve_ok = (1e-4..=1.0 - 1e-4).contains(&optimal) && (0.0..1.0).contains(&reserve_factor);
    if !f.accepts_supply || !curve_ok {
        return None;
    }
    let unit = 10f64.powi(f.decimals.clamp(0, 77));
    let tokens = |s: &str| s.parse::<f64>().unwrap_or(0.0) / unit;
    let (available, variable, stable) = (
        tokens(&f.available),
        tokens(&f.variable_debt),
        tokens(&f.stable_debt),
    );
    // Aave: supplied = what the reserve holds + what it lent. Comet: its own total supply
    // (the present value of every supply), which `available + debt` is not (reserves).
    let supplied = if f.supply_curve.is_some() {
        tokens(&f.supplied)
    } else {
        available + variable + stable
    };
    let supplied_usd = supplied * price;
    if !(supplied_usd > 0.0 && supplied_usd <= atoll_router::input::MAX_AMOUNT) {
        return None;
    }
    // Stable debt pays its own average rate, which the record does not keep: its income is
    // taken at the variable borrow rate (Aave has retired stable borrowing; none on the devnet).
    let borrow_apr = f.apy_base_borrow.map_or(0.0, |apy| apy.ln_1p().max(0.0));
    Some(LendingInput {
        rate_model: model,
        supplied_usd,
        borrowed_usd: variable.min(supplied) * price,
        // Comet has no stable debt; the router refuses stable income on a supply curve.
        stable_income_usd_year: if f.supply_curve.is_some() {
            0.0
        } else {
            stable * borrow_apr * price
        },
        base_rate: base,
        slope1,
        slope2,
        optimal_utilization: optimal,
        reserve_factor,
        supply_cap_room_usd: f.supply_cap_room.map(|room| room * price),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reserve(f: impl FnOnce(&mut LendingFigures)) -> PoolRecord {
        let mut figures = LendingFigures {
            total_supply_usd: Some(1_000_000.0),
            total_borrow_usd: Some(600_000.0),
            apy_base_borrow: Some(0.03),
            ltv: 0.77,
            liquidation_threshold: 0.8,
            reserve_factor: 0.1,
            utilization: Some(0.6),
            available_liquidity_usd: Some(400_000.0),
            supply_cap: Some("2000000".into()),
            borrow_cap: None,
            supplied: "1000000000000".into(),
            variable_debt: "600000000000".into(),
            stable_debt: "0".into(),
            available: "400000000000".into(),
            decimals: 6,
            realised_apy_1d: None,
            realised_apy_7d: None,
            realised_apy_30d: None,
            optimal_utilization: 0.9,
            base_rate: 0.0,
            slope1: 0.04,
            slope2: 0.6,
            liquidity_index: "1000000000000000000000000000".into(),
            reward_tokens: Vec::new(),
            reward_ends_ms: None,
            accepts_supply: true,
            borrowable: true,
            supply_cap_room: Some(1_000_000.0),
            supply_curve: None,
        };
        f(&mut figures);
        PoolRecord {
            pool: "ethereum:aave_v3:0xa".into(),
            chain: "ethereum".into(),
            chain_id: 1,
            project: "aave_v3".into(),
            kind: "lending",
            symbol: "USDC".into(),
            address: "0xa".into(),
            underlying_tokens: vec!["0xb".into()],
            tvl_usd: Some(400_000.0),
            apy_base: Some(0.02),
            apy_reward: None,
            apy: Some(0.02),
            apy_base_7d: None,
            apr_base: Some(0.02),
            apr_base_7d: None,
            volume_usd_1d: Some(0.0),
            volume_usd_7d: Some(0.0),
            fees_usd_1d: Some(50.0),
            fees_usd_7d: Some(350.0),
            fee_ppm: 0,
            lp_fee_ppm: 0,
            stablecoin: true,
            outlier: false,
            dropped_reason: None,
            price0_usd: Some(1.0),
            price1_usd: Some(1.0),
            reserve0: None,
            reserve1: None,
            sqrt_price_x96: None,
            tick: None,
            liquidity: None,
            block: Some(1),
            block_time_ms: Some(1),
            lending: Some(figures),
        }
    }

    #[test]
    fn a_live_reserve_goes_to_the_router_in_usd() {
        let input = router_lending(&reserve(|_| {})).unwrap();
        assert_eq!(input.supplied_usd, 1_000_000.0);
        assert_eq!(input.borrowed_usd, 600_000.0);
        assert_eq!(input.supply_cap_room_usd, Some(1_000_000.0));
        assert_eq!(input.optimal_utilization, 0.9);
    }

    #[test]
    fn a_comet_goes_to_the_router_on_its_supply_curve() {
        let input = router_lending(&reserve(|f| {
            f.supply_curve = Some(atoll_store::records::SupplyCurve {
                kink: 0.9,
                base_rate: 0.0,
                slope1: 0.059 * 0.9,
                slope2: 2.9 * 0.1,
            });
            // Comet's total supply, not available + debt.
            f.supplied = "1100000000000".into();
            f.supply_cap_room = None;
        }))
        .unwrap();
        assert_eq!(
            input.rate_model,
            atoll_router::input::RateModelInput::SupplyCurve
        );
        assert_eq!(input.supplied_usd, 1_100_000.0);
        assert_eq!(input.borrowed_usd, 600_000.0);
        assert_eq!(input.reserve_factor, 0.0);
        assert_eq!(input.slope1, 0.059 * 0.9);
        assert_eq!(input.supply_cap_room_usd, None);
    }

    /// The router refuses a whole quote over one invalid reserve: such reserves, and those
    /// that would refuse a supply, are left out instead.
    #[test]
    fn reserves_the_router_would_refuse_are_left_out() {
        let cases: [fn(&mut LendingFigures); 5] = [
            |f| f.accepts_supply = false,
            |f| f.optimal_utilization = 1.0,
            |f| f.reserve_factor = 1.0,
            |f| {
                f.available = "0".into();
                f.variable_debt = "0".into();
            },
            |f| f.available = "1e40".into(),
        ];
        for case in cases {
            assert!(router_lending(&reserve(case)).is_none());
        }
        let mut unpriced = reserve(|_| {});
        unpriced.price0_usd = None;
        assert!(router_lending(&unpriced).is_none());
    }
}
