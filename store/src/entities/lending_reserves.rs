//! `lending_reserves`: one row per lending reserve, its tokens, parameters and current figures.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "lending_reserves")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub pool_id: String,
    pub chain_id: i64,
    pub market: String,
    pub asset: String,
    pub a_token: String,
    pub variable_debt_token: String,
    pub stable_debt_token: String,
    pub strategy: String,
    pub decimals: i32,
    pub ltv_bps: i32,
    pub liquidation_threshold_bps: i32,
    pub reserve_factor_bps: i32,
    pub supply_cap: String,
    pub borrow_cap: String,
    pub optimal_usage_ray: String,
    pub base_rate_ray: String,
    pub slope1_ray: String,
    pub slope2_ray: String,
    /// The supply rate's own curve (Compound v3), per year; `None` where the supply rate
    /// follows from the borrow curve (Aave v3).
    pub supply_kink_ray: Option<String>,
    pub supply_base_rate_ray: Option<String>,
    pub supply_slope1_ray: Option<String>,
    pub supply_slope2_ray: Option<String>,
    pub liquidity_rate_ray: String,
    pub variable_borrow_rate_ray: String,
    pub liquidity_index_ray: String,
    pub normalized_income_ray: String,
    pub supplied: String,
    pub available: String,
    pub variable_debt: String,
    pub stable_debt: String,
    pub price_usd: Option<f64>,
    pub supply_apy: Option<f64>,
    pub borrow_apy: Option<f64>,
    pub utilization: Option<f64>,
    pub supplied_usd: Option<f64>,
    pub borrowed_usd: Option<f64>,
    pub realised_apy1d: Option<f64>,
    pub realised_apy7d: Option<f64>,
    pub realised_apy30d: Option<f64>,
    pub apy_reward: Option<f64>,
    /// The live rewards' token addresses, comma-separated.
    pub reward_tokens: Option<String>,
    pub reward_ends_ms: Option<i64>,
    /// Active, neither frozen nor paused: a supply would be accepted.
    pub accepts_supply: bool,
    pub borrowing_enabled: bool,
    /// Scaled, owed to the treasury: counts against the supply cap.
    pub accrued_to_treasury: String,
    pub state_block: i64,
    pub state_time_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
