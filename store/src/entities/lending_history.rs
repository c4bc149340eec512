//! `lending_history`: a reserve's rates, indexes and totals at each block where it was updated.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "lending_history")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub pool_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub block: i64,
    pub chain_id: i64,
    pub log_index: i64,
    pub time_ms: i64,
    pub liquidity_rate_ray: String,
    pub variable_borrow_rate_ray: String,
    pub stable_borrow_rate_ray: String,
    pub liquidity_index_ray: String,
    pub variable_borrow_index_ray: String,
    pub supplied: String,
    pub available: String,
    pub variable_debt: String,
    pub stable_debt: String,
    pub price_usd: Option<f64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
