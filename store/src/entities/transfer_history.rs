//! Table `transfer_history`: every status a transfer took, with why. A move of a whole
//! release transaction's batch is one row naming the transaction and its transfers.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "transfer_history")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub transfer_id: String,
    /// `None` for the row that records the transfer's first status.
    pub from_status: Option<String>,
    pub to_status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    pub at_ms: i64,
    /// The release transaction a batch move belongs to; `None` for a move of one transfer.
    pub tx_hash: Option<String>,
    /// A batch move: every transfer that moved, comma-separated (`transfer_id` is the first).
    /// `None` when the row is about `transfer_id` alone. Rows handed out by the store's
    /// history reads are always about one transfer, with this `None`.
    #[sea_orm(column_type = "Text", nullable)]
    pub transfer_ids: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
