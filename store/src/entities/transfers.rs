//! Table `transfers`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "transfers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub source_chain_id: i64,
    pub source_tx: String,
    pub source_index: i64,
    pub source_block: i64,
    pub dest_chain_id: i64,
    pub source_token: String,
    pub dest_token: Option<String>,
    pub sender: String,
    pub recipient: String,
    pub amount_in: String,
    pub amount_out: Option<String>,
    pub fee: Option<String>,
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub failure_reason: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
