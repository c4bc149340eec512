//! Bridge transfers as the indexer records them: one row per deposit seen on a source chain,
//! keyed by its `TransferId` (and unique on source chain, tx and index), so scanning the same
//! range again inserts nothing twice. A transfer into a vault that cannot be released (missing
//! or malformed memo) is stored as `failed` with its reason, so the operator sees the funds.

use atoll_core::TransferStatus;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TryInsertResult,
};

use crate::entities::transfers;
use crate::ingest::IngestTxn;
use crate::queries::{now_ms, to_i64};
use crate::{Store, StoreError};

/// A deposit as found on its source chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositRow {
    pub id: String,
    pub source_chain_id: u64,
    /// Transaction hash (EVM) or signature (Solana).
    pub source_tx: String,
    /// Log index (EVM) or instruction index (Solana).
    pub source_index: u64,
    /// Block (EVM) or slot (Solana).
    pub source_block: u64,
    /// 0 when the deposit names no readable destination.
    pub dest_chain_id: u64,
    pub source_token: String,
    pub sender: String,
    /// Empty when the deposit names no readable recipient.
    pub recipient: String,
    /// In the source token's smallest unit, as a decimal string.
    pub amount_in: String,
    /// `Observed`, or `Failed` with `failure_reason`.
    pub status: TransferStatus,
    pub failure_reason: Option<String>,
}

impl IngestTxn {
    /// Records deposits; one already recorded (same id) is left as it is, whatever its status
    /// by now. Returns how many were new.
    pub async fn insert_deposits(&self, rows: &[DepositRow]) -> Result<u64, StoreError> {
        let now = now_ms();
        let mut inserted = 0;
        for r in rows {
            let outcome = transfers::Entity::insert(transfers::ActiveModel {
                id: Set(r.id.clone()),
                source_chain_id: Set(to_i64("chain id", r.source_chain_id)?),
                source_tx: Set(r.source_tx.clone()),
                source_index: Set(to_i64("source index", r.source_index)?),
                source_block: Set(to_i64("source block", r.source_block)?),
                dest_chain_id: Set(to_i64("chain id", r.dest_chain_id)?),
                source_token: Set(r.source_token.clone()),
                dest_token: Set(None),
                sender: Set(r.sender.clone()),
                recipient: Set(r.recipient.clone()),
                amount_in: Set(r.amount_in.clone()),
                amount_out: Set(None),
                fee: Set(None),
                status: Set(r.status.as_str().to_string()),
                failure_reason: Set(r.failure_reason.clone()),
                claimed_by: Set(None),
                claimed_at_ms: Set(None),
                created_at_ms: Set(now),
                updated_at_ms: Set(now),
            })
            .on_conflict_do_nothing()
            .exec_without_returning(self.connection())
            .await?;
            if let TryInsertResult::Inserted(n) = outcome {
                inserted += n;
            }
        }
        Ok(inserted)
    }
}

impl Store {
    /// Transfers from one source chain, oldest block first.
    pub async fn transfers_from(
        &self,
        source_chain_id: u64,
    ) -> Result<Vec<transfers::Model>, StoreError> {
        Ok(transfers::Entity::find()
            .filter(transfers::Column::SourceChainId.eq(to_i64("chain id", source_chain_id)?))
            .order_by_asc(transfers::Column::SourceBlock)
            .order_by_asc(transfers::Column::SourceTx)
            .order_by_asc(transfers::Column::SourceIndex)
            .all(self.connection())
            .await?)
    }

    /// One transfer by id.
    pub async fn transfer(&self, id: &str) -> Result<Option<transfers::Model>, StoreError> {
        Ok(transfers::Entity::find_by_id(id.to_string())
            .one(self.connection())
            .await?)
    }
}
