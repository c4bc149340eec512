//! Table `pool_snapshots`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pool_snapshots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub pool_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub bucket_start_ms: i64,
    pub block: i64,
    pub reserve0: Option<String>,
    pub reserve1: Option<String>,
    pub sqrt_price: Option<String>,
    pub tick: Option<i32>,
    pub liquidity: Option<String>,
    pub tvl_usd: Option<f64>,
    pub volume_usd: f64,
    pub fees_usd: f64,
    pub apy_base: Option<f64>,
    pub apy_base7d: Option<f64>,
    pub apy_reward: Option<f64>,
    pub apy: Option<f64>,
    pub outlier: bool,
    pub apr_base: Option<f64>,
    pub apr_base7d: Option<f64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
