//! Treasury moves: the treasury's own deposits into the bridge, one row per request keyed by
//! the caller's idempotency key, with the signed transaction stored before it is sent.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::Bytes;
use atoll_core::{B256, U256};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::cells::Cells;
use crate::entities::treasury_moves;
use crate::queries::{now_ms, to_i64};
use crate::{Store, StoreError};

/// Where a treasury move stands (`treasury_moves.status`). Stored names are never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TreasuryMoveStatus {
    /// Signed and stored, maybe not sent.
    Signed,
    /// Sent; not yet seen mined.
    Broadcast,
    /// The deposit is on chain: the relayer takes it from there.
    Included,
    /// Nothing was deposited (reverted, or its nonce went to another transaction).
    Failed,
}

impl TreasuryMoveStatus {
    pub const ALL: [TreasuryMoveStatus; 4] = [
        TreasuryMoveStatus::Signed,
        TreasuryMoveStatus::Broadcast,
        TreasuryMoveStatus::Included,
        TreasuryMoveStatus::Failed,
    ];

    /// The name stored in `treasury_moves.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            TreasuryMoveStatus::Signed => "signed",
            TreasuryMoveStatus::Broadcast => "broadcast",
            TreasuryMoveStatus::Included => "included",
            TreasuryMoveStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for TreasuryMoveStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TreasuryMoveStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TreasuryMoveStatus::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown treasury move status {s:?}"))
    }
}

/// A signed treasury deposit, as persisted before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTreasuryMove {
    pub id: String,
    pub source_chain_id: u64,
    pub dest_chain_id: u64,
    pub token: String,
    pub symbol: String,
    /// In the source token's smallest unit.
    pub amount: U256,
    /// The treasury's address on the destination, as the deposit's `bytes32`.
    pub recipient: B256,
    pub nonce: Option<u64>,
    pub tx_hash: B256,
    /// The signed EIP-2718 envelope.
    pub raw_tx: Bytes,
}

/// A treasury move as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreasuryMove {
    /// The caller's idempotency key.
    pub id: String,
    pub source_chain_id: u64,
    pub dest_chain_id: u64,
    /// Source token address.
    pub token: String,
    pub symbol: String,
    /// In the source token's smallest unit.
    pub amount: U256,
    /// The treasury's address on the destination, as the deposit's `bytes32`.
    pub recipient: B256,
    pub nonce: Option<u64>,
    pub tx_hash: B256,
    /// The signed EIP-2718 envelope.
    pub raw_tx: Bytes,
    pub status: TreasuryMoveStatus,
    pub error: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl TryFrom<treasury_moves::Model> for TreasuryMove {
    type Error = StoreError;
    fn try_from(m: treasury_moves::Model) -> Result<TreasuryMove, StoreError> {
        let row = Cells::of("treasury_moves", &m.id);
        Ok(TreasuryMove {
            source_chain_id: row.u64("source_chain_id", m.source_chain_id)?,
            dest_chain_id: row.u64("dest_chain_id", m.dest_chain_id)?,
            amount: row.amount("amount", &m.amount)?,
            recipient: row.parse("recipient", &m.recipient, "a bytes32")?,
            nonce: row.u64_opt("nonce", m.nonce)?,
            tx_hash: row.parse("tx_hash", &m.tx_hash, "a 32-byte hash")?,
            raw_tx: row.parse("raw_tx", &m.raw_tx, "0x-hex bytes")?,
            status: row.parse("status", &m.status, "a treasury move status")?,
            id: m.id,
            token: m.token,
            symbol: m.symbol,
            error: m.error,
            created_at_ms: m.created_at_ms,
            updated_at_ms: m.updated_at_ms,
        })
    }
}

fn moves(rows: Vec<treasury_moves::Model>) -> Result<Vec<TreasuryMove>, StoreError> {
    rows.into_iter().map(TreasuryMove::try_from).collect()
}

impl Store {
    /// The move with this idempotency key, if one was recorded.
    pub async fn treasury_move(&self, id: &str) -> Result<Option<TreasuryMove>, StoreError> {
        treasury_moves::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .map(TreasuryMove::try_from)
            .transpose()
    }

    /// Records a signed move (status `signed`). Returns the stored row and whether it is new: a
    /// key already used returns the move made for it and records nothing.
    pub async fn record_treasury_move(
        &self,
        m: &NewTreasuryMove,
    ) -> Result<(TreasuryMove, bool), StoreError> {
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
            amount: Set(m.amount.to_string()),
            recipient: Set(m.recipient.to_string()),
            nonce: Set(m.nonce.map(|n| to_i64("nonce", n)).transpose()?),
            tx_hash: Set(m.tx_hash.to_string()),
            raw_tx: Set(m.raw_tx.to_string()),
            status: Set(TreasuryMoveStatus::Signed.as_str().to_string()),
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
        status: TreasuryMoveStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        treasury_moves::Entity::update_many()
            .col_expr(treasury_moves::Column::Status, status.as_str().into())
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
    ) -> Result<Vec<TreasuryMove>, StoreError> {
        moves(
            treasury_moves::Entity::find()
                .filter(treasury_moves::Column::SourceChainId.eq(to_i64("chain id", chain_id)?))
                .filter(treasury_moves::Column::Status.is_in([
                    TreasuryMoveStatus::Signed.as_str(),
                    TreasuryMoveStatus::Broadcast.as_str(),
                ]))
                .order_by_asc(treasury_moves::Column::CreatedAtMs)
                .all(&self.db)
                .await?,
        )
    }

    /// The newest moves, newest first.
    pub async fn treasury_moves(&self, limit: u64) -> Result<Vec<TreasuryMove>, StoreError> {
        moves(
            treasury_moves::Entity::find()
                .order_by_desc(treasury_moves::Column::CreatedAtMs)
                .limit(crate::queries::row_limit(limit))
                .all(&self.db)
                .await?,
        )
    }
}
