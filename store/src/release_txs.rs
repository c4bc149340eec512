//! EVM release transactions (`release_txs`) and the transfers they carry, and status changes
//! of many transfers at once.
//!
//! A `releaseBatch` transaction releases many transfers; signing it writes, in one database
//! transaction, the transaction's row (raw bytes, nonce, fees) and for each transfer its move
//! to `signed` with an attempt row naming the hash. A batch's moves (`signed`, `broadcast`,
//! `included`, `confirmed`) are one statement per status for the whole batch, not one per
//! transfer, and one history row naming the transaction and its transfers: at thousands of
//! releases a second, per-row writes would be the bottleneck.
//! An executor step collects its changes as [`ReleaseWrite`]s and applies each phase's in one
//! database transaction ([`Store::apply_release_writes`]): all or none.

use std::collections::{HashMap, HashSet};

use atoll_core::TransferStatus;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait, JoinType,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait, TransactionTrait,
};

use crate::entities::{release_txs, transfer_attempts, transfer_history, transfers};
use crate::queries::{IDS_PER_STATEMENT, now_ms, to_i64};
use crate::{Store, StoreError};

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

/// A release transaction as an executor follows it: its row without the signed bytes, which
/// are read by hash only to send it again ([`Store::release_tx_bytes`]). Every step reads all
/// pending and mined transactions, and at 256 releases a transaction the bytes are some 66 kB
/// of hex each.
#[derive(Debug, Clone, PartialEq, DerivePartialModel)]
#[sea_orm(entity = "release_txs::Entity", from_query_result)]
pub struct TrackedReleaseTx {
    pub id: i32,
    pub chain_id: i64,
    pub nonce: i64,
    pub tx_hash: String,
    pub gas_limit: i64,
    /// EIP-1559 max fee per gas, or the legacy gas price (wei, decimal).
    pub max_fee_per_gas: String,
    /// EIP-1559 priority fee (wei, decimal); none on legacy chains.
    pub priority_fee: Option<String>,
    /// How many transfers the transaction releases.
    pub releases: i32,
    /// One of [`tx_status`].
    pub status: String,
    pub block_number: Option<i64>,
    pub error: Option<String>,
    pub created_at_ms: i64,
}

/// A transfer a release transaction carries, as it stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedTransfer {
    pub id: String,
    pub status: String,
}

/// One change an EVM executor makes to its bookkeeping; a step applies many at once
/// ([`Store::apply_release_writes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseWrite {
    /// A signed transaction, stored before it is sent, and its transfers' move to `signed`
    /// (from the status each is in: `source_final`, or `broadcast` when signed again), each
    /// with an attempt row.
    Signed {
        tx: NewReleaseTx,
        carried: Vec<(String, TransferStatus)>,
    },
    /// Transfers moved along one edge of the state machine, with the reason in their history:
    /// one row for the lot when the move is about release transaction `tx_hash` (whose
    /// attempts name each of them), else one row per transfer.
    Move {
        ids: Vec<String>,
        from: TransferStatus,
        to: TransferStatus,
        reason: String,
        tx_hash: Option<String>,
    },
    /// A release transaction's state, the block it was mined in, or why it stopped.
    TxStatus {
        tx_hash: String,
        status: &'static str,
        block_number: Option<u64>,
        error: Option<String>,
    },
}

async fn insert_signed_in<C: ConnectionTrait>(
    conn: &C,
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
    .exec_without_returning(conn)
    .await?;
    let reason = format!("signed {} (nonce {})", tx.tx_hash, tx.nonce);
    for from in [TransferStatus::SourceFinal, TransferStatus::Broadcast] {
        let ids: Vec<String> = carried
            .iter()
            .filter(|(_, s)| *s == from)
            .map(|(id, _)| id.clone())
            .collect();
        move_many_in(
            conn,
            &ids,
            from,
            TransferStatus::Signed,
            Some(&reason),
            Some(&tx.tx_hash),
        )
        .await?;
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
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

async fn set_tx_status_in<C: ConnectionTrait>(
    conn: &C,
    tx_hash: &str,
    status: &str,
    block_number: Option<u64>,
    error: Option<&str>,
) -> Result<(), StoreError> {
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
    conn.execute(&stmt).await?;
    Ok(())
}

/// `from → to` for every id in `ids`, inside `conn`'s transaction. The history gets one row
/// per transfer, or, for a move of release transaction `tx_hash`'s batch, one row per
/// statement naming the transaction and every transfer that moved. Refused (nothing kept, the
/// caller's transaction rolls back) when the edge is illegal or any transfer is no longer in
/// `from`.
pub(crate) async fn move_many_in<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
    from: TransferStatus,
    to: TransferStatus,
    reason: Option<&str>,
    tx_hash: Option<&str>,
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
    let failure = to
        .carries_reason()
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
            .and_where(status_is(from))
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
        let row =
            |transfer_id: &String, transfer_ids: Option<String>| transfer_history::ActiveModel {
                transfer_id: Set(transfer_id.clone()),
                from_status: Set(Some(from.as_str().to_string())),
                to_status: Set(to.as_str().to_string()),
                reason: Set(reason.map(str::to_string)),
                at_ms: Set(now),
                tx_hash: Set(tx_hash.map(str::to_string)),
                transfer_ids: Set(transfer_ids),
                ..Default::default()
            };
        match tx_hash {
            Some(_) => {
                transfer_history::Entity::insert(row(&chunk[0], Some(chunk.join(","))))
                    .exec_without_returning(conn)
                    .await?;
            }
            None => {
                transfer_history::Entity::insert_many(chunk.iter().map(|id| row(id, None)))
                    .exec_without_returning(conn)
                    .await?;
            }
        }
    }
    Ok(())
}

/// `status = from`, written so no index can serve it (`status || ''`): the rows are found by
/// their ids (primary key) and only checked against the status. Without table statistics
/// SQLite's planner otherwise walks every transfer in `from` through a status index for an
/// update of a few hundred ids: 2-3x the cost of the whole update at 50,000 queued.
pub(crate) fn status_is(from: TransferStatus) -> sea_orm::sea_query::SimpleExpr {
    Expr::col(transfers::Column::Status)
        .binary(sea_orm::sea_query::BinOper::Custom("||"), "")
        .eq(from.as_str())
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
        move_many_in(&txn, ids, from, to, reason, None).await?;
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
        self.apply_release_writes(&[ReleaseWrite::Signed {
            tx: tx.clone(),
            carried: carried.to_vec(),
        }])
        .await
    }

    /// Applies `writes` in order, in one database transaction: all of them or none (a
    /// transfer found in another status than a move expects rolls everything back).
    pub async fn apply_release_writes(&self, writes: &[ReleaseWrite]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let _turn = self.write_turn().await;
        let txn = self.connection().begin().await?;
        for w in writes {
            match w {
                ReleaseWrite::Signed { tx, carried } => insert_signed_in(&txn, tx, carried).await?,
                ReleaseWrite::Move {
                    ids,
                    from,
                    to,
                    reason,
                    tx_hash,
                } => move_many_in(&txn, ids, *from, *to, Some(reason), tx_hash.as_deref()).await?,
                ReleaseWrite::TxStatus {
                    tx_hash,
                    status,
                    block_number,
                    error,
                } => {
                    set_tx_status_in(&txn, tx_hash, status, *block_number, error.as_deref()).await?
                }
            }
        }
        txn.commit().await?;
        Ok(())
    }

    /// Release transactions of a chain in `status`, by nonce, then oldest first, without their
    /// signed bytes.
    pub async fn release_txs(
        &self,
        chain_id: u64,
        status: &str,
    ) -> Result<Vec<TrackedReleaseTx>, StoreError> {
        Ok(release_txs::Entity::find()
            .filter(release_txs::Column::ChainId.eq(to_i64("chain id", chain_id)?))
            .filter(release_txs::Column::Status.eq(status))
            .order_by_asc(release_txs::Column::Nonce)
            .order_by_asc(release_txs::Column::Id)
            .into_partial_model::<TrackedReleaseTx>()
            .all(self.connection())
            .await?)
    }

    /// The signed bytes (0x-hex EIP-2718 envelope) of a release transaction, by hash.
    pub async fn release_tx_bytes(&self, tx_hash: &str) -> Result<Option<String>, StoreError> {
        Ok(release_txs::Entity::find()
            .select_only()
            .column(release_txs::Column::RawTx)
            .filter(release_txs::Column::TxHash.eq(tx_hash))
            .into_tuple()
            .one(self.connection())
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

    /// Why the newest transfer to `dest_chain_id` in `status` is there (its stored reason):
    /// what `status` shows beside a count of releases waiting for gas.
    pub async fn newest_reason_to(
        &self,
        dest_chain_id: u64,
        status: TransferStatus,
    ) -> Result<Option<String>, StoreError> {
        Ok(transfers::Entity::find()
            .filter(transfers::Column::DestChainId.eq(to_i64("chain id", dest_chain_id)?))
            .filter(transfers::Column::Status.eq(status.as_str()))
            .order_by_desc(transfers::Column::UpdatedAtMs)
            .one(self.connection())
            .await?
            .and_then(|t| t.failure_reason))
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

    /// The transfers each of `tx_hashes` carries (id and current status): two queries for
    /// any number of transactions.
    pub async fn transfers_carried_by_each(
        &self,
        tx_hashes: &[String],
    ) -> Result<HashMap<String, Vec<CarriedTransfer>>, StoreError> {
        // One join per chunk of hashes: the attempts by hash, each transfer's status by its
        // key. Two passes (the ids, then their statuses by id) cost twice the statements and
        // rows at thousands of transfers a step.
        let mut out: HashMap<String, Vec<CarriedTransfer>> =
            tx_hashes.iter().map(|h| (h.clone(), Vec::new())).collect();
        for chunk in tx_hashes.chunks(IDS_PER_STATEMENT) {
            let rows: Vec<(String, String, String)> = transfer_attempts::Entity::find()
                .select_only()
                .column(transfer_attempts::Column::TxHash)
                .column(transfer_attempts::Column::TransferId)
                .column(transfers::Column::Status)
                .join(
                    JoinType::InnerJoin,
                    transfer_attempts::Relation::Transfer.def(),
                )
                .filter(transfer_attempts::Column::TxHash.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(self.connection())
                .await?;
            for (hash, id, status) in rows {
                if let Some(list) = out.get_mut(&hash) {
                    list.push(CarriedTransfer { id, status });
                }
            }
        }
        Ok(out)
    }

    /// Transfers by id (missing ones are left out).
    pub async fn transfers_by_ids(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, transfers::Model>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            for t in transfers::Entity::find()
                .filter(transfers::Column::Id.is_in(chunk.iter().cloned()))
                .all(self.connection())
                .await?
            {
                out.insert(t.id.clone(), t);
            }
        }
        Ok(out)
    }

    /// Transfers bound for `chain_id` waiting in `broadcast` whose newest release transaction
    /// can never be mined: it reverted, or its nonce went to another transaction while none of
    /// ours at that nonce was mined. Each comes with how many releases were signed for it.
    /// This is what an executor signs again; it is read from the store, so a restart loses none.
    pub async fn releases_to_sign_again(
        &self,
        chain_id: u64,
    ) -> Result<Vec<(transfers::Model, u64)>, StoreError> {
        let waiting: Vec<transfers::Model> = transfers::Entity::find()
            .filter(transfers::Column::DestChainId.eq(to_i64("chain id", chain_id)?))
            .filter(transfers::Column::Status.eq(TransferStatus::Broadcast.as_str()))
            .all(self.connection())
            .await?;
        if waiting.is_empty() {
            return Ok(Vec::new());
        }
        // Newest attempt (highest id) per transfer, and how many there were.
        let mut newest: HashMap<String, (i32, String, u64)> = HashMap::new();
        let ids: Vec<String> = waiting.iter().map(|t| t.id.clone()).collect();
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let rows: Vec<(i32, String, String)> = transfer_attempts::Entity::find()
                .select_only()
                .column(transfer_attempts::Column::Id)
                .column(transfer_attempts::Column::TransferId)
                .column(transfer_attempts::Column::TxHash)
                .filter(transfer_attempts::Column::TransferId.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(self.connection())
                .await?;
            for (attempt, transfer, hash) in rows {
                let entry = newest.entry(transfer).or_insert((attempt, hash.clone(), 0));
                entry.2 += 1;
                if attempt >= entry.0 {
                    entry.0 = attempt;
                    entry.1 = hash;
                }
            }
        }
        let hashes: Vec<String> = newest
            .values()
            .map(|(_, h, _)| h.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut dead: HashSet<String> = HashSet::new();
        for chunk in hashes.chunks(IDS_PER_STATEMENT) {
            let rows: Vec<String> = release_txs::Entity::find()
                .select_only()
                .column(release_txs::Column::TxHash)
                .filter(release_txs::Column::TxHash.is_in(chunk.iter().cloned()))
                .filter(
                    release_txs::Column::Status.is_in([tx_status::REVERTED, tx_status::REPLACED]),
                )
                .into_tuple()
                .all(self.connection())
                .await?;
            dead.extend(rows);
        }
        let mut out: Vec<(transfers::Model, u64)> = waiting
            .into_iter()
            .filter_map(|t| {
                let (_, hash, count) = newest.get(&t.id)?;
                dead.contains(hash).then_some((t.clone(), *count))
            })
            .collect();
        out.sort_by(|a, b| (a.0.created_at_ms, &a.0.id).cmp(&(b.0.created_at_ms, &b.0.id)));
        Ok(out)
    }

    /// `(destination token, amount out)` of every transfer bound for `chain_id` in any of
    /// `statuses`: what releases on their way will take from the vault.
    pub async fn amounts_out_to(
        &self,
        chain_id: u64,
        statuses: &[TransferStatus],
    ) -> Result<Vec<(String, Option<String>, Option<String>)>, StoreError> {
        Ok(transfers::Entity::find()
            .select_only()
            .column(transfers::Column::Id)
            .column(transfers::Column::DestToken)
            .column(transfers::Column::AmountOut)
            .filter(transfers::Column::DestChainId.eq(to_i64("chain id", chain_id)?))
            .filter(
                transfers::Column::Status
                    .is_in(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
            )
            .into_tuple()
            .all(self.connection())
            .await?)
    }

    /// Sets a release transaction's state (and the block it was mined in, or why it stopped).
    pub async fn set_release_tx_status(
        &self,
        tx_hash: &str,
        status: &'static str,
        block_number: Option<u64>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.apply_release_writes(&[ReleaseWrite::TxStatus {
            tx_hash: tx_hash.to_string(),
            status,
            block_number,
            error: error.map(str::to_string),
        }])
        .await
    }
}
