//! Table `pool_events`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pool_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub chain_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub tx_hash: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub log_index: i64,
    pub block_number: i64,
    pub block_hash: String,
    pub block_time_ms: i64,
    pub pool_id: String,
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// Swap input of token0 / token1 (decimal), for rebuilding hourly volumes.
    pub volume0: Option<String>,
    pub volume1: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
