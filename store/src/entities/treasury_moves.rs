//! Table `treasury_moves` (migration 7).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "treasury_moves")]
pub struct Model {
    /// The caller's idempotency key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub source_chain_id: i64,
    pub dest_chain_id: i64,
    /// Source token address.
    pub token: String,
    pub symbol: String,
    /// In the source token's smallest unit.
    pub amount: String,
    /// The treasury's address on the destination.
    pub recipient: String,
    pub nonce: Option<i64>,
    #[sea_orm(unique)]
    pub tx_hash: String,
    #[sea_orm(column_type = "Text")]
    pub raw_tx: String,
    /// `signed`, `broadcast`, `included` (the deposit is on chain), `failed`.
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
