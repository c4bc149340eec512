//! Table `pool_hourly`: exact swap volume and LP fees per pool and hour bucket.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pool_hourly")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub pool_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub bucket_start_ms: i64,
    pub chain_id: i64,
    pub swaps: i64,
    /// Sum of token0 swap inputs, in token0's smallest unit (decimal string).
    pub volume0: String,
    pub volume1: String,
    /// LP share of the fee on `volume0`, floored, in token0's smallest unit.
    pub lp_fees0: String,
    pub lp_fees1: String,
    pub first_block: i64,
    pub last_block: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
