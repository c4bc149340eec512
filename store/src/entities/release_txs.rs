//! Table `release_txs`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "release_txs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub chain_id: i64,
    pub nonce: i64,
    #[sea_orm(unique)]
    pub tx_hash: String,
    #[sea_orm(column_type = "Text")]
    pub raw_tx: String,
    pub gas_limit: i64,
    /// EIP-1559 max fee per gas, or the legacy gas price (wei, decimal).
    pub max_fee_per_gas: String,
    /// EIP-1559 priority fee (wei, decimal); none on legacy chains.
    pub priority_fee: Option<String>,
    /// How many transfers the transaction releases.
    pub releases: i32,
    /// `pending`, `mined`, `replaced` (another transaction took its nonce) or `abandoned`.
    pub status: String,
    pub block_number: Option<i64>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub created_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
