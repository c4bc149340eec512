//! The pool record as users read it: a superset of DefiLlama's yields record (`chain`,
//! `project`, `symbol`, `tvl_usd`, `apy_base`, `apy_reward`, `apy`, `apy_base_7d`,
//! `underlying_tokens`, `volume_usd_1d/7d`, `stablecoin`, …) with snake_case names, plus the chain
//! id, fees, APR next to APY, the outlier flag and `dropped_reason`, and the raw state the
//! figures came from. Every rate is a fraction (0.05 = 5 %), never a percent. A lending
//! reserve (`kind: "lending"`) carries DefiLlama's lending fields too (`total_supply_usd`,
//! `total_borrow_usd`, `apy_base_borrow`, `ltv`) and Atoll's (utilisation, caps, the rate
//! curve, realised yields), flattened into the record.

use sea_orm::{EntityTrait, QueryOrder};
use serde::Serialize;

use crate::entities::{chains, lending_reserves, pools};
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolRecord {
    pub pool: String,
    pub chain: String,
    pub chain_id: i64,
    pub project: String,
    /// `dex` (an AMM pool) or `lending` (a lending market's reserve).
    pub kind: &'static str,
    pub symbol: String,
    pub address: String,
    pub underlying_tokens: Vec<String>,
    pub tvl_usd: Option<f64>,
    pub apy_base: Option<f64>,
    pub apy_reward: Option<f64>,
    pub apy: Option<f64>,
    pub apy_base_7d: Option<f64>,
    pub apr_base: Option<f64>,
    pub apr_base_7d: Option<f64>,
    pub volume_usd_1d: Option<f64>,
    pub volume_usd_7d: Option<f64>,
    pub fees_usd_1d: Option<f64>,
    pub fees_usd_7d: Option<f64>,
    pub fee_ppm: i32,
    pub lp_fee_ppm: i32,
    pub stablecoin: bool,
    pub outlier: bool,
    pub dropped_reason: Option<String>,
    pub price0_usd: Option<f64>,
    pub price1_usd: Option<f64>,
    pub reserve0: Option<String>,
    pub reserve1: Option<String>,
    pub sqrt_price_x96: Option<String>,
    pub tick: Option<i32>,
    pub liquidity: Option<String>,
    pub block: Option<i64>,
    pub block_time_ms: Option<i64>,
    /// A lending reserve's own figures; `None` for a DEX pool.
    #[serde(flatten)]
    pub lending: Option<LendingFigures>,
}

/// A lending reserve's figures in its record. Amounts in tokens are decimal strings of the
/// smallest unit; rates are fractions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LendingFigures {
    /// DefiLlama: what suppliers hold, in USD.
    pub total_supply_usd: Option<f64>,
    /// DefiLlama: what borrowers owe, in USD.
    pub total_borrow_usd: Option<f64>,
    /// DefiLlama: the variable borrow APY.
    pub apy_base_borrow: Option<f64>,
    /// DefiLlama: loan to value, a fraction.
    pub ltv: f64,
    pub liquidation_threshold: f64,
    pub reserve_factor: f64,
    pub utilization: Option<f64>,
    pub available_liquidity_usd: Option<f64>,
    /// Whole tokens; `None` when uncapped.
    pub supply_cap: Option<String>,
    pub borrow_cap: Option<String>,
    pub supplied: String,
    pub variable_debt: String,
    pub stable_debt: String,
    pub available: String,
    pub decimals: i32,
    /// The realised supply APY over the last 1, 7, 30 days (liquidity index growth).
    pub realised_apy_1d: Option<f64>,
    pub realised_apy_7d: Option<f64>,
    pub realised_apy_30d: Option<f64>,
    /// The variable rate curve: `base + slope1 · U / optimal` up to `optimal`, then slope 2.
    pub optimal_utilization: f64,
    pub base_rate: f64,
    pub slope1: f64,
    pub slope2: f64,
    pub liquidity_index: String,
    /// Tokens of the incentives paying now (DefiLlama's `rewardTokens`); empty when none.
    pub reward_tokens: Vec<String>,
    /// When the first of those emissions ends (Unix ms).
    pub reward_ends_ms: Option<i64>,
    /// Active, neither frozen nor paused: a supply would be accepted.
    pub accepts_supply: bool,
    /// DefiLlama's `borrowable`.
    pub borrowable: bool,
    /// Room under the supply cap in tokens, as Aave checks it (supply plus what the treasury
    /// is owed); `None` when uncapped.
    pub supply_cap_room: Option<f64>,
    /// The supply rate's own curve (Compound v3); `None` where the supply rate is the borrow
    /// rate × utilisation × (1 − reserve factor) (Aave v3).
    pub supply_curve: Option<SupplyCurve>,
}

/// A supply-rate curve of its own (Compound v3): `base + slope1 · U / kink` up to `kink`, then
/// `+ slope2 · (U − kink) / (1 − kink)`, per year.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SupplyCurve {
    pub kink: f64,
    pub base_rate: f64,
    pub slope1: f64,
    pub slope2: f64,
}

impl LendingFigures {
    fn of(r: &lending_reserves::Model) -> LendingFigures {
        let ray = |s: &str| s.parse::<f64>().unwrap_or(0.0) / atoll_core::lending::RAY;
        let cap = |c: &str| (c != "0").then(|| c.to_string());
        let tokens = |s: &str| s.parse::<f64>().unwrap_or(0.0) / 10f64.powi(r.decimals);
        LendingFigures {
            total_supply_usd: r.supplied_usd,
            total_borrow_usd: r.borrowed_usd,
            apy_base_borrow: r.borrow_apy,
            ltv: f64::from(r.ltv_bps) / 10_000.0,
            liquidation_threshold: f64::from(r.liquidation_threshold_bps) / 10_000.0,
            reserve_factor: f64::from(r.reserve_factor_bps) / 10_000.0,
            utilization: r.utilization,
            available_liquidity_usd: r.price_usd.map(|p| tokens(&r.available) * p),
            supply_cap: cap(&r.supply_cap),
            borrow_cap: cap(&r.borrow_cap),
            supplied: r.supplied.clone(),
            variable_debt: r.variable_debt.clone(),
            stable_debt: r.stable_debt.clone(),
            available: r.available.clone(),
            decimals: r.decimals,
            realised_apy_1d: r.realised_apy1d,
            realised_apy_7d: r.realised_apy7d,
            realised_apy_30d: r.realised_apy30d,
            optimal_utilization: ray(&r.optimal_usage_ray),
            base_rate: ray(&r.base_rate_ray),
            slope1: ray(&r.slope1_ray),
            slope2: ray(&r.slope2_ray),
            liquidity_index: r.normalized_income_ray.clone(),
            reward_tokens: r
                .reward_tokens
                .as_deref()
                .map(|t| t.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
            reward_ends_ms: r.reward_ends_ms,
            accepts_supply: r.accepts_supply,
            borrowable: r.borrowing_enabled,
            supply_cap_room: cap(&r.supply_cap)
                .and_then(|c| c.parse::<f64>().ok())
                .map(|cap| {
                    let owed = tokens(&r.accrued_to_treasury) * ray(&r.normalized_income_ray);
                    (cap - tokens(&r.supplied) - owed).max(0.0)
                }),
            supply_curve: SupplyCurve::of(r),
        }
    }
}

impl SupplyCurve {
    fn of(r: &lending_reserves::Model) -> Option<SupplyCurve> {
        let ray = |s: &Option<String>| {
            s.as_deref()?
                .parse::<f64>()
                .ok()
                .map(|v| v / atoll_core::lending::RAY)
        };
        Some(SupplyCurve {
            kink: ray(&r.supply_kink_ray)?,
            base_rate: ray(&r.supply_base_rate_ray)?,
            slope1: ray(&r.supply_slope1_ray)?,
            slope2: ray(&r.supply_slope2_ray)?,
        })
    }
}

impl Store {
    /// Every pool's record, by TVL (largest first; unpriced last). `include_dropped: false`
    /// leaves out pools with a `dropped_reason`, as a results page would.
    pub async fn pool_records(&self, include_dropped: bool) -> Result<Vec<PoolRecord>, StoreError> {
        let names: std::collections::HashMap<i64, String> = chains::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.chain_id, c.name))
            .collect();
        let lending: std::collections::HashMap<String, LendingFigures> =
            lending_reserves::Entity::find()
                .all(&self.db)
                .await?
                .iter()
                .map(|r| (r.pool_id.clone(), LendingFigures::of(r)))
                .collect();
        let rows: Vec<(pools::Model, Option<String>)> = pools::Entity::find()
            .order_by_asc(pools::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| {
                let name = names.get(&p.chain_id).cloned();
                (p, name)
            })
            .collect();
        let mut out: Vec<PoolRecord> = rows
            .into_iter()
            .filter(|(p, _)| include_dropped || p.dropped_reason.is_none())
            .map(|(p, c)| PoolRecord {
                chain: c.unwrap_or_else(|| p.chain_id.to_string()),
                chain_id: p.chain_id,
                kind: kind_of(&p.protocol),
                lending: lending.get(&p.id).cloned(),
                underlying_tokens: if kind_of(&p.protocol) == "lending" {
                    vec![p.token0]
                } else {
                    vec![p.token0, p.token1]
                },
                project: p.protocol,
                symbol: p.symbol,
                tvl_usd: p.tvl_usd,
                apy_base: p.apy_base,
                apy_reward: p.apy_reward,
                apy: p.apy,
                apy_base_7d: p.apy_base7d,
                apr_base: p.apr_base,
                apr_base_7d: p.apr_base7d,
                volume_usd_1d: p.volume_usd1d,
                volume_usd_7d: p.volume_usd7d,
                fees_usd_1d: p.fees_usd1d,
                fees_usd_7d: p.fees_usd7d,
                fee_ppm: p.fee_ppm,
                lp_fee_ppm: p.lp_fee_ppm,
                stablecoin: p.stablecoin,
                outlier: p.outlier,
                dropped_reason: p.dropped_reason,
                price0_usd: p.price0_usd,
                price1_usd: p.price1_usd,
                reserve0: p.reserve0,
                reserve1: p.reserve1,
                sqrt_price_x96: p.sqrt_price,
                tick: p.tick,
                liquidity: p.liquidity,
                block: p.state_block,
                block_time_ms: p.state_time_ms,
                pool: p.id,
                address: p.address,
            })
            .collect();
        out.sort_by(|a, b| {
            b.tvl_usd
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.tvl_usd.unwrap_or(f64::NEG_INFINITY))
        });
        Ok(out)
    }
}

/// `dex` or `lending`, from the stored protocol name (an unknown one reads as `dex`).
fn kind_of(protocol: &str) -> &'static str {
    protocol
        .parse::<atoll_core::Protocol>()
        .map_or("dex", |p| p.pool_kind().api_kind())
}

impl Store {
    /// The USD price of every token the chain's pools price, keyed by the token's address as
    /// stored; where several pools price a token, the deepest (highest TVL) one's.
    pub async fn token_prices_usd(
        &self,
        chain_id: u64,
    ) -> Result<std::collections::HashMap<String, f64>, StoreError> {
        use sea_orm::{ColumnTrait, QueryFilter};
        let chain = crate::queries::to_i64("chain id", chain_id)?;
        let mut best: std::collections::HashMap<String, (f64, f64)> = Default::default();
        for p in pools::Entity::find()
            .filter(pools::Column::ChainId.eq(chain))
            .all(self.connection())
            .await?
        {
            // Lending rows carry an oracle price as of the lending stream's checkpoint, which
            // may lag (a backfill); prices come from the pools' own state.
            if kind_of(&p.protocol) == "lending" {
                continue;
            }
            let depth = p.tvl_usd.unwrap_or(0.0);
            for (token, price) in [(p.token0, p.price0_usd), (p.token1, p.price1_usd)] {
                let Some(price) = price.filter(|x| x.is_finite() && *x > 0.0) else {
                    continue;
                };
                let entry = best.entry(token).or_insert((price, depth));
                if depth > entry.1 {
                    *entry = (price, depth);
                }
            }
        }
        Ok(best.into_iter().map(|(t, (p, _))| (t, p)).collect())
    }
}
