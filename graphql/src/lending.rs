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
    /// Lending markets' reserves (Aave v3).
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

    fn f(&self) -> &LendingFigures {
        &self.f
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
        self.f().apy_base_borrow
    }
    /// Borrowed over available + borrowed.
    async fn utilization(&self) -> Option<f64> {
        self.f().utilization
    }
    /// What suppliers hold, in USD; DefiLlama's `totalSupplyUsd`.
    async fn total_supply_usd(&self) -> Option<f64> {
        self.f().total_supply_usd
    }
    /// What borrowers owe, in USD; DefiLlama's `totalBorrowUsd`.
    async fn total_borrow_usd(&self) -> Option<f64> {
        self.f().total_borrow_usd
    }
    async fn available_liquidity_usd(&self) -> Option<f64> {
        self.f().available_liquidity_usd
    }
    /// Supplied, borrowed and available in the token's smallest unit.
    async fn supplied(&self) -> &str {
        &self.f().supplied
    }
    async fn variable_debt(&self) -> &str {
        &self.f().variable_debt
    }
    async fn stable_debt(&self) -> &str {
        &self.f().stable_debt
    }
    async fn available(&self) -> &str {
        &self.f().available
    }
    async fn decimals(&self) -> i32 {
        self.f().decimals
    }
    /// Loan to value, a fraction.
    async fn ltv(&self) -> f64 {
        self.f().ltv
    }
    async fn liquidation_threshold(&self) -> f64 {
        self.f().liquidation_threshold
    }
    async fn reserve_factor(&self) -> f64 {
        self.f().reserve_factor
    }
    /// Whole tokens; null when uncapped.
    async fn supply_cap(&self) -> Option<&str> {
        self.f().supply_cap.as_deref()
    }
    async fn borrow_cap(&self) -> Option<&str> {
        self.f().borrow_cap.as_deref()
    }
    /// The supply APY realised over the last day, from the liquidity index's growth.
    #[graphql(name = "realisedApy1d")]
    async fn realised_apy_1d(&self) -> Option<f64> {
        self.f().realised_apy_1d
    }
    #[graphql(name = "realisedApy7d")]
    async fn realised_apy_7d(&self) -> Option<f64> {
        self.f().realised_apy_7d
    }
    #[graphql(name = "realisedApy30d")]
    async fn realised_apy_30d(&self) -> Option<f64> {
        self.f().realised_apy_30d
    }
    /// The variable rate curve's kink.
    async fn optimal_utilization(&self) -> f64 {
        self.f().optimal_utilization
    }
    async fn base_rate(&self) -> f64 {
        self.f().base_rate
    }
    async fn slope1(&self) -> f64 {
        self.f().slope1
    }
    async fn slope2(&self) -> f64 {
        self.f().slope2
    }
    /// The liquidity index now (ray): income per unit supplied since the reserve began.
    async fn liquidity_index(&self) -> &str {
        &self.f().liquidity_index
    }
}

/// A reserve's history in buckets of `width` ms from its update rows: each bucket shows its
/// last update (supply APY, TVL as supplied − borrowed at that block's oracle price). Swap
/// fields are 0.
pub async fn lending_buckets(
    reader: &Store,
    id: &str,
    from_ms: i64,
    to_ms: i64,
    width: i64,
) -> Result<Vec<PoolHistoryBucket>, ApiError> {
    let rows = reader
        .lending_history(id, from_ms, to_ms - 1, MAX_HISTORY_ROWS)
        .await?;
    let mut buckets: BTreeMap<i64, PoolHistoryBucket> = BTreeMap::new();
    for r in rows {
        let start = r.time_ms.div_euclid(width) * width;
        let num = |s: &str| s.parse::<f64>().unwrap_or(0.0);
        let supplied = num(&r.supplied);
        let borrowed = num(&r.variable_debt) + num(&r.stable_debt);
        let apy = apy_of_apr(num(&r.liquidity_rate_ray) / RAY);
        let tvl = r.price_usd.map(|p| p * (supplied - borrowed).max(0.0));
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
                tvl_usd: tvl,
                apy: Some(apy),
                apy_base: Some(apy),
                utilization: (supplied > 0.0).then(|| borrowed / (num(&r.available) + borrowed)),
                borrow_apy: Some(apy_of_apr(num(&r.variable_borrow_rate_ray) / RAY)),
                liquidity_index: Some(r.liquidity_index_ray.clone()),
            },
        );
    }
    Ok(buckets.into_values().collect())
}

/// The most update rows one history request reads.
const MAX_HISTORY_ROWS: u64 = 100_000;

/// A reserve as the router takes it: the curve, supply as available + debt (the strategy's
/// denominator), variable debt, stable debt's income (it does not move with supply), and the
/// room under the supply cap, all in USD at the reserve's price.
pub fn router_lending(r: &PoolRecord) -> Option<atoll_router::input::LendingInput> {
    let f = r.lending.as_ref()?;
    let price = r.price0_usd?;
    let unit = 10f64.powi(f.decimals);
    let tokens = |s: &str| s.parse::<f64>().unwrap_or(0.0) / unit;
    let (available, variable, stable) = (
        tokens(&f.available),
        tokens(&f.variable_debt),
        tokens(&f.stable_debt),
    );
    let supplied = available + variable + stable;
    // Stable debt pays its own average rate, which the record does not keep: its income is
    // taken at the variable borrow APY (Aave has retired stable borrowing; none on the devnet).
    let stable_income = stable * f.apy_base_borrow.unwrap_or(0.0);
    let supply_cap_room_usd = f
        .supply_cap
        .as_deref()
        .and_then(|c| c.parse::<f64>().ok())
        .map(|cap| ((cap - tokens(&f.supplied)).max(0.0)) * price);
    Some(atoll_router::input::LendingInput {
        supplied_usd: supplied * price,
        borrowed_usd: variable * price,
        stable_income_usd_year: stable_income * price,
        base_rate: f.base_rate,
        slope1: f.slope1,
        slope2: f.slope2,
        optimal_utilization: f.optimal_utilization,
        reserve_factor: f.reserve_factor,
        supply_cap_room_usd,
    })
}
