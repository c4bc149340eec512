//! Table `pools`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pools")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub chain_id: i64,
    pub protocol: String,
    pub address: String,
    pub token0: String,
    pub token1: String,
    pub symbol: String,
    /// Total swap fee in millionths (3000 = 0.30%).
    pub fee_ppm: i32,
    /// The part of the fee paid to LPs, in millionths of the traded amount.
    pub lp_fee_ppm: i32,
    pub reserve0: Option<String>,
    pub reserve1: Option<String>,
    pub sqrt_price: Option<String>,
    pub tick: Option<i32>,
    pub liquidity: Option<String>,
    pub state_block: Option<i64>,
    pub tvl_usd: Option<f64>,
    pub volume_usd1d: Option<f64>,
    pub volume_usd7d: Option<f64>,
    pub fees_usd1d: Option<f64>,
    pub fees_usd7d: Option<f64>,
    /// Fractions, never percent (0.05 = 5%).
    pub apy_base: Option<f64>,
    pub apy_base7d: Option<f64>,
    pub apy_reward: Option<f64>,
    pub apy: Option<f64>,
    pub stablecoin: bool,
    pub outlier: bool,
    pub dropped_reason: Option<String>,
    pub discovered_at_block: Option<i64>,
    pub updated_at_ms: i64,
    pub apr_base: Option<f64>,
    pub apr_base7d: Option<f64>,
    pub price0_usd: Option<f64>,
    pub price1_usd: Option<f64>,
    pub state_time_ms: Option<i64>,
    /// Cumulative fee counters last read (Solana pools): see migration 3.
    pub fee_counter0: Option<String>,
    pub fee_counter1: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
