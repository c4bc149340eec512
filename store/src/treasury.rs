//! Treasury moves: the treasury's own deposits into the bridge, one row per request keyed by
//! the caller's idempotency key, with the signed transaction stored before it is sent.

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entities::treasury_moves;
use crate::queries::{now_ms, to_i64};
use crate::{Store, StoreError};

/// A signed treasury deposit, as persisted before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTreasuryMove {
    pub id: String,
    pub source_chain_id: u64,
    pub dest_chain_id: u64,
    pub token: String,
    pub symbol: String,
    pub amount: String,
    pub recipient: String,
    pub nonce: Option<u64>,
    pub tx_hash: String,
    pub raw_tx: String,
}

impl Store {
    /// The move with this idempotency key, if one was recorded.
    pub async fn treasury_move(
        &self,
        id: &str,
    ) -> Result<Option<treasury_moves::Model>, StoreError> {
        Ok(treasury_moves::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?)
    }

    /// Records a signed move (status `signed`). Returns the stored row and whether it is new: a
    /// key already used returns the move made for it and records nothing.
    pub async fn record_treasury_move(
        &self,
        m: &NewTreasuryMove,
    ) -> Result<(treasury_moves::Model, bool), StoreError> {
        let _turn = self.write_turn().await;
        if let Some(existing) = self.treasury_move(&m.id).await? {
            return Ok((existing, false));
        }
        let now = now_ms();
        let row = treasury_moves::ActiveModel {
            id: Set(m.id.clone()),
            source_chain_id: Set(to_i64("chain id", m.source_chain_id)?),
            dest_chain_id: Set(to_i64("chain id", m.dest_chain_id)?),
            token: Set(m.token.clone()),
            symbol: Set(m.symbol.clone()),
            amount: Set(m.amount.clone()),
            recipient: Set(m.recipient.clone()),
            nonce: Set(m.nonce.map(|n| to_i64("nonce", n)).transpose()?),
            tx_hash: Set(m.tx_hash.clone()),
            raw_tx: Set(m.raw_tx.clone()),
            status: Set("signed".into()),
            error: Set(None),
            created_at_ms: Set(now),
            updated_at_ms: Set(now),
        };
        treasury_moves::Entity::insert(row).exec(&self.db).await?;
        let stored = self
            .treasury_move(&m.id)
            .await?
            .ok_or_else(|| StoreError::OutOfRange(format!("treasury move {} vanished", m.id)))?;
        Ok((stored, true))
    }

    pub async fn set_treasury_move_status(
        &self,
        id: &str,
        status: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        treasury_moves::Entity::update_many()
            .col_expr(treasury_moves::Column::Status, status.into())
            .col_expr(
                treasury_moves::Column::Error,
                error.map(str::to_string).into(),
            )
            .col_expr(treasury_moves::Column::UpdatedAtMs, now_ms().into())
            .filter(treasury_moves::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Moves from `chain_id` whose deposit is not known to be on chain yet, oldest first.
    pub async fn unsettled_treasury_moves(
        &self,
        chain_id: u64,
    ) -> Result<Vec<treasury_moves::Model>, StoreError> {
        Ok(treasury_moves::Entity::find()
            .filter(treasury_moves::Column::SourceChainId.eq(to_i64("chain id", chain_id)?))
            .filter(treasury_moves::Column::Status.is_in(["signed", "broadcast"]))
            .order_by_asc(treasury_moves::Column::CreatedAtMs)
            .all(&self.db)
            .await?)
    }

    /// The newest moves, newest first.
    pub async fn treasury_moves(
        &self,
        limit: u64,
    ) -> Result<Vec<treasury_moves::Model>, StoreError> {
        Ok(treasury_moves::Entity::find()
            .order_by_desc(treasury_moves::Column::CreatedAtMs)
            .limit(crate::queries::row_limit(limit))
            .all(&self.db)
            .await?)
    }
}
