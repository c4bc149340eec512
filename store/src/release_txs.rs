//! EVM release transactions (`release_txs`) and the transfers they carry, and status changes
//! of many transfers at once.
//!
//! A `releaseBatch` transaction releases many transfers; signing it writes, in one database
//! transaction, the transaction's row (raw bytes, nonce, fees) and for each transfer its move
//! to `signed` with an attempt row naming the hash. A batch's later moves (`broadcast`,
//! `included`, `confirmed`) are one statement per status for the whole batch, not one per
//! transfer: at thousands of releases a second, per-row commits would be the bottleneck.

use atoll_core::TransferStatus;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

use crate::entities::{release_txs, transfer_attempts, transfer_history, transfers};
use crate::queries::{now_ms, to_i64};
use crate::{Store, StoreError};

/// Ids per statement: far below SQLite's and PostgreSQL's parameter limits.
const IDS_PER_STATEMENT: usize = 500;

/// Release transaction states (`release_txs.status`).
pub mod tx_status {
    /// Signed and maybe on the network; not yet seen mined.
    pub const PENDING: &str = "pending";
    /// Mined; its transfers are `included`.
    pub const MINED: &str = "mined";
    /// Mined in a finalized block; its transfers are `confirmed`.
    pub const FINAL: &str = "final";
    /// Its nonce went to another transaction (its replacement, or one we did not sign).
    pub const REPLACED: &str = "replaced";
    /// Mined and reverted: nothing moved; its transfers were signed again.
    pub const REVERTED: &str = "reverted";
}

/// A release transaction as persisted before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReleaseTx {
    pub chain_id: u64,
    pub nonce: u64,
    pub tx_hash: String,
    /// 0x-hex of the signed EIP-2718 envelope.
    pub raw_tx: String,
    pub gas_limit: u64,
    pub max_fee_per_gas: String,
    pub priority_fee: Option<String>,
}

/// `from → to` for every id in `ids`, with one history row each, inside `conn`'s transaction.
/// Refused (nothing kept, the caller's transaction rolls back) when the edge is illegal or any
/// transfer is no longer in `from`.
pub(crate) async fn move_many_in<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
    from: TransferStatus,
    to: TransferStatus,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    let Some(first) = ids.first() else {
        return Ok(());
    };
    if !from.can_become(to) {
        return Err(StoreError::IllegalTransition {
            id: first.clone(),
            from,
            to,
        });
    }
    let now = now_ms();
    let failure = (to == TransferStatus::Failed)
        .then(|| reason.map(str::to_string))
        .flatten();
    use transfers::Column as C;
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let stmt = Query::update()
            .table(transfers::Entity)
            .values([
                (C::Status, to.as_str().into()),
                (C::FailureReason, failure.clone().into()),
                (C::UpdatedAtMs, now.into()),
            ])
            .and_where(C::Id.is_in(chunk.iter().cloned()))
            .and_where(C::Status.eq(from.as_str()))
            .to_owned();
        let moved = conn.execute(&stmt).await?.rows_affected();
        if usize::try_from(moved).ok() != Some(chunk.len()) {
            let found = transfers::Entity::find()
                .filter(C::Id.is_in(chunk.iter().cloned()))
                .filter(C::Status.ne(to.as_str()))
                .one(conn)
                .await?;
            return Err(StoreError::TransferMoved {
                id: found
                    .as_ref()
                    .map_or_else(|| first.clone(), |t| t.id.clone()),
                expected: from,
                found: found.map_or_else(|| "no such transfer".to_string(), |t| t.status),
            });
        }
        transfer_history::Entity::insert_many(chunk.iter().map(|id| {
            transfer_history::ActiveModel {
                transfer_id: Set(id.clone()),
                from_status: Set(Some(from.as_str().to_string())),
                to_status: Set(to.as_str().to_string()),
                reason: Set(reason.map(str::to_string)),
                at_ms: Set(now),
                ..Default::default()
            }
        }))
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// `from → to` for many transfers in one database transaction (all or none).
    pub async fn transition_many(
        &self,
        ids: &[String],
        from: TransferStatus,
        to: TransferStatus,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let _turn = self.write_turn().await;
        let txn = self.connection().begin().await?;
        move_many_in(&txn, ids, from, to, reason).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Persists a signed release transaction **before** it is sent: its row, and for each
    /// transfer it carries (`(id, status it is in now)`: `source_final`, or `broadcast` for a
    /// replacement) the move to `signed` and an attempt row naming the hash and nonce.
    pub async fn record_release_tx(
        &self,
        tx: &NewReleaseTx,
        carried: &[(String, TransferStatus)],
    ) -> Result<(), StoreError> {
        if let Some((id, s)) = carried
            .iter()
            .find(|(_, s)| !matches!(s, TransferStatus::SourceFinal | TransferStatus::Broadcast))
        {
            return Err(StoreError::IllegalTransition {
                id: id.clone(),
                from: *s,
                to: TransferStatus::Signed,
            });
        }
        let _turn = self.write_turn().await;
        let txn = self.connection().begin().await?;
        let now = now_ms();
        release_txs::Entity::insert(release_txs::ActiveModel {
            chain_id: Set(to_i64("chain id", tx.chain_id)?),
            nonce: Set(to_i64("nonce", tx.nonce)?),
            tx_hash: Set(tx.tx_hash.clone()),
            raw_tx: Set(tx.raw_tx.clone()),
            gas_limit: Set(to_i64("gas limit", tx.gas_limit)?),
            max_fee_per_gas: Set(tx.max_fee_per_gas.clone()),
            priority_fee: Set(tx.priority_fee.clone()),
            releases: Set(i32::try_from(carried.len()).unwrap_or(i32::MAX)),
            status: Set(tx_status::PENDING.to_string()),
            block_number: Set(None),
            error: Set(None),
            created_at_ms: Set(now),
            ..Default::default()
        })
        .exec_without_returning(&txn)
        .await?;
        let reason = format!("signed {} (nonce {})", tx.tx_hash, tx.nonce);
        for from in [TransferStatus::SourceFinal, TransferStatus::Broadcast] {
            let ids: Vec<String> = carried
                .iter()
                .filter(|(_, s)| *s == from)
                .map(|(id, _)| id.clone())
                .collect();
            move_many_in(&txn, &ids, from, TransferStatus::Signed, Some(&reason)).await?;
        }
        let nonce = Some(to_i64("nonce", tx.nonce)?);
        let chain_id = to_i64("chain id", tx.chain_id)?;
        for chunk in carried.chunks(IDS_PER_STATEMENT) {
            transfer_attempts::Entity::insert_many(chunk.iter().map(|(id, _)| {
                transfer_attempts::ActiveModel {
                    transfer_id: Set(id.clone()),
                    chain_id: Set(chain_id),
                    nonce: Set(nonce),
                    blockhash: Set(None),
                    last_valid_block_height: Set(None),
                    tx_hash: Set(tx.tx_hash.clone()),
                    // The bytes are stored once, with the transaction (`release_txs`).
                    raw_tx: Set(String::new()),
                    max_fee_per_gas: Set(Some(tx.max_fee_per_gas.clone())),
                    priority_fee: Set(tx.priority_fee.clone()),
                    status: Set(TransferStatus::Signed.as_str().to_string()),
                    error: Set(None),
                    created_at_ms: Set(now),
                    ..Default::default()
                }
            }))
            .exec_without_returning(&txn)
            .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Release transactions of a chain in `status`, by nonce, then oldest first.
    pub async fn release_txs(
        &self,
        chain_id: u64,
        status: &str,
    ) -> Result<Vec<release_txs::Model>, StoreError> {
        Ok(release_txs::Entity::find()
            .filter(release_txs::Column::ChainId.eq(to_i64("chain id", chain_id)?))
            .filter(release_txs::Column::Status.eq(status))
            .order_by_asc(release_txs::Column::Nonce)
            .order_by_asc(release_txs::Column::Id)
            .all(self.connection())
            .await?)
    }

    /// One release transaction by hash.
    pub async fn release_tx(
        &self,
        tx_hash: &str,
    ) -> Result<Option<release_txs::Model>, StoreError> {
        Ok(release_txs::Entity::find()
            .filter(release_txs::Column::TxHash.eq(tx_hash))
            .one(self.connection())
            .await?)
    }

    /// The highest nonce the relayer ever signed on a chain.
    pub async fn highest_release_nonce(&self, chain_id: u64) -> Result<Option<u64>, StoreError> {
        let top: Option<Option<i64>> = release_txs::Entity::find()
            .select_only()
            .column_as(Expr::col(release_txs::Column::Nonce).max(), "n")
            .filter(release_txs::Column::ChainId.eq(to_i64("chain id", chain_id)?))
            .into_tuple()
            .one(self.connection())
            .await?;
        Ok(top.flatten().and_then(|n| u64::try_from(n).ok()))
    }

    /// The newest problem recorded on a chain's release transactions (replaced by a foreign
    /// transaction, reverted, reorganised out): `(tx hash, error, at ms)`.
    pub async fn last_release_error(
        &self,
        chain_id: u64,
    ) -> Result<Option<(String, String, i64)>, StoreError> {
        Ok(release_txs::Entity::find()
            .filter(release_txs::Column::ChainId.eq(to_i64("chain id", chain_id)?))
            .filter(release_txs::Column::Error.is_not_null())
            .order_by_desc(release_txs::Column::Id)
            .one(self.connection())
            .await?
            .and_then(|t| t.error.map(|e| (t.tx_hash, e, t.created_at_ms))))
    }

    /// The transfers a release transaction carries, with their current status.
    pub async fn transfers_carried_by(
        &self,
        tx_hash: &str,
    ) -> Result<Vec<transfers::Model>, StoreError> {
        let ids: Vec<String> = transfer_attempts::Entity::find()
            .select_only()
            .column(transfer_attempts::Column::TransferId)
            .filter(transfer_attempts::Column::TxHash.eq(tx_hash))
            .into_tuple()
            .all(self.connection())
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            out.extend(
                transfers::Entity::find()
                    .filter(transfers::Column::Id.is_in(chunk.iter().cloned()))
                    .all(self.connection())
                    .await?,
            );
        }
        Ok(out)
    }

    /// Sets a release transaction's state (and the block it was mined in, or why it stopped).
    pub async fn set_release_tx_status(
        &self,
        tx_hash: &str,
        status: &str,
        block_number: Option<u64>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        use release_txs::Column as C;
        let stmt = Query::update()
            .table(release_txs::Entity)
            .values([
                (C::Status, status.into()),
                (
                    C::BlockNumber,
                    block_number.map(|b| to_i64("block", b)).transpose()?.into(),
                ),
                (C::Error, error.map(str::to_string).into()),
            ])
            .and_where(C::TxHash.eq(tx_hash))
            .to_owned();
        self.connection().execute(&stmt).await?;
        Ok(())
    }
}
