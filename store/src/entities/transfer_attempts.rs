//! Table `transfer_attempts`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "transfer_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub transfer_id: String,
    pub chain_id: i64,
    pub nonce: Option<i64>,
    pub blockhash: Option<String>,
    pub last_valid_block_height: Option<i64>,
    pub tx_hash: String,
    #[sea_orm(column_type = "Text")]
    pub raw_tx: String,
    pub max_fee_per_gas: Option<String>,
    pub priority_fee: Option<String>,
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub created_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The transfer the attempt released (`transfer_id`).
    #[sea_orm(
        belongs_to = "super::transfers::Entity",
        from = "Column::TransferId",
        to = "super::transfers::Column::Id"
    )]
    Transfer,
}

impl ActiveModelBehavior for ActiveModel {}
