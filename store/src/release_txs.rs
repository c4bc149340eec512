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
use std::fmt;
use std::str::FromStr;

use alloy_primitives::Bytes;
use atoll_core::{Address, B256, Reason, TransferId, TransferStatus, U256};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait, JoinType,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait, TransactionTrait,
};

use crate::cells::{Cells, id_texts};
use crate::entities::{release_txs, transfer_attempts, transfer_history, transfers};
use crate::queries::{IDS_PER_STATEMENT, now_ms, to_i64};
use crate::transfers::{QueuedRelease, QueuedRow, Transfer, status_is, typed};
use crate::{Store, StoreError};

/// A release transaction's state (`release_txs.status`). Stored names are never renamed.
///
/// The transfers it carries say the same moments in their own words
/// ([`TransferStatus`]): `mined` here is `included` there, `final` here is `confirmed` there.
/// While it is `pending` they are `signed` (stored, maybe not sent) or `broadcast`; once it is
/// `replaced` (by a transaction that is not ours) or `reverted`, the ones still `broadcast`
/// wait to be signed again ([`BroadcastStage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReleaseTxStatus {
    /// Signed and maybe on the network; not yet seen mined.
    Pending,
    /// Mined; the transfers it released are `included` (those the vault could not pay are
    /// `awaiting_liquidity`).
    Mined,
    /// Mined in a finalized block; its transfers are `confirmed`.
    Final,
    /// Its nonce went to another transaction (its replacement, or one we did not sign).
    Replaced,
    /// Mined and reverted: nothing moved; its transfers are signed again.
    Reverted,
}

/// What a transfer stored as `broadcast` is doing on an EVM chain, read from the status of the
/// transaction of its newest attempt. The stored status is one name for both stages (stored
/// names are never renamed, and a new one would touch every reader of the status); this is
/// the name code uses. See [`TransferStatus::Broadcast`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastStage {
    /// Its newest transaction may still be mined (`pending`), or was (`mined`, `final`): the
    /// executor follows it and settles the transfer from what it did.
    InFlight,
    /// Its newest transaction can never be mined (`reverted`, or `replaced`: its nonce went to
    /// a transaction we did not sign): the transfer waits to be signed again
    /// (`broadcast → signed`), or `stuck` once its attempts are used up.
    /// [`Store::releases_to_sign_again`] lists these.
    ToSignAgain,
}

impl BroadcastStage {
    /// The stage of a `broadcast` transfer whose newest attempt's transaction is in `newest`.
    pub fn of(newest: ReleaseTxStatus) -> BroadcastStage {
        match newest {
            ReleaseTxStatus::Pending | ReleaseTxStatus::Mined | ReleaseTxStatus::Final => {
                BroadcastStage::InFlight
            }
            ReleaseTxStatus::Replaced | ReleaseTxStatus::Reverted => BroadcastStage::ToSignAgain,
        }
    }
}

impl ReleaseTxStatus {
    pub const ALL: [ReleaseTxStatus; 5] = [
        ReleaseTxStatus::Pending,
        ReleaseTxStatus::Mined,
        ReleaseTxStatus::Final,
        ReleaseTxStatus::Replaced,
        ReleaseTxStatus::Reverted,
    ];

    /// The name stored in `release_txs.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseTxStatus::Pending => "pending",
            ReleaseTxStatus::Mined => "mined",
            ReleaseTxStatus::Final => "final",
            ReleaseTxStatus::Replaced => "replaced",
            ReleaseTxStatus::Reverted => "reverted",
        }
    }
}

impl fmt::Display for ReleaseTxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReleaseTxStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReleaseTxStatus::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown release transaction status {s:?}"))
    }
}

/// A release transaction as persisted before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReleaseTx {
    pub chain_id: u64,
    pub nonce: u64,
    pub tx_hash: B256,
    /// The signed EIP-2718 envelope.
    pub raw_tx: Bytes,
    pub gas_limit: u64,
    /// EIP-1559 max fee per gas, or the legacy gas price (wei).
    pub max_fee_per_gas: u128,
    /// EIP-1559 priority fee (wei); none on legacy chains.
    pub priority_fee: Option<u128>,
}

/// A release transaction as an executor follows it: its row without the signed bytes, which
/// are read by hash only to send it again ([`Store::release_tx_bytes`]). Every step reads all
/// pending and mined transactions, and at 256 releases a transaction the bytes are some 66 kB
/// of hex each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedReleaseTx {
    pub id: i32,
    pub chain_id: u64,
    pub nonce: u64,
    pub tx_hash: B256,
    pub gas_limit: u64,
    /// EIP-1559 max fee per gas, or the legacy gas price (wei).
    pub max_fee_per_gas: u128,
    /// EIP-1559 priority fee (wei); none on legacy chains.
    pub priority_fee: Option<u128>,
    /// How many transfers the transaction releases.
    pub releases: u32,
    pub status: ReleaseTxStatus,
    pub block_number: Option<u64>,
    /// Why it stopped, or left its block.
    pub error: Option<Reason>,
    pub created_at_ms: i64,
}

/// The columns of a [`TrackedReleaseTx`], as stored.
#[derive(Debug, Clone, PartialEq, DerivePartialModel)]
#[sea_orm(entity = "release_txs::Entity", from_query_result)]
struct TrackedRow {
    id: i32,
    chain_id: i64,
    nonce: i64,
    tx_hash: String,
    gas_limit: i64,
    max_fee_per_gas: String,
    priority_fee: Option<String>,
    releases: i32,
    status: String,
    block_number: Option<i64>,
    error: Option<String>,
    created_at_ms: i64,
}

impl TryFrom<TrackedRow> for TrackedReleaseTx {
    type Error = StoreError;
    fn try_from(t: TrackedRow) -> Result<TrackedReleaseTx, StoreError> {
        let key = t.id.to_string();
        let row = Cells::of("release_txs", &key);
        Ok(TrackedReleaseTx {
            id: t.id,
            chain_id: row.u64("chain_id", t.chain_id)?,
            nonce: row.u64("nonce", t.nonce)?,
            tx_hash: row.parse("tx_hash", &t.tx_hash, "a 32-byte hash")?,
            gas_limit: row.u64("gas_limit", t.gas_limit)?,
            max_fee_per_gas: row.parse("max_fee_per_gas", &t.max_fee_per_gas, "a decimal fee")?,
            priority_fee: row.parse_opt(
                "priority_fee",
                t.priority_fee.as_deref(),
                "a decimal fee",
            )?,
            releases: u32::try_from(t.releases)
                .map_err(|_| row.unreadable("releases", t.releases, "a non-negative count"))?,
            status: row.parse("status", &t.status, "a release transaction status")?,
            block_number: row.u64_opt("block_number", t.block_number)?,
            error: Cells::reason(t.error.as_deref()),
            created_at_ms: t.created_at_ms,
        })
    }
}

fn tracked(rows: Vec<TrackedRow>) -> Result<Vec<TrackedReleaseTx>, StoreError> {
    rows.into_iter().map(TrackedReleaseTx::try_from).collect()
}

/// A transfer a release transaction carries, as it stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarriedTransfer {
    pub id: TransferId,
    pub status: TransferStatus,
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
        carried: Vec<(TransferId, TransferStatus)>,
    },
    /// Transfers moved along one edge of the state machine, with the reason in their history:
    /// one row for the lot when the move is about release transaction `tx_hash` (whose
    /// attempts name each of them), else one row per transfer.
    Move {
        ids: Vec<TransferId>,
        from: TransferStatus,
        to: TransferStatus,
        reason: Reason,
        tx_hash: Option<B256>,
    },
    /// A release transaction's state, the block it was mined in, or why it stopped.
    TxStatus {
        tx_hash: B256,
        status: ReleaseTxStatus,
        block_number: Option<u64>,
        error: Option<Reason>,
    },
}

async fn insert_signed_in<C: ConnectionTrait>(
    conn: &C,
    tx: &NewReleaseTx,
    carried: &[(TransferId, TransferStatus)],
) -> Result<(), StoreError> {
    if let Some((id, s)) = carried
        .iter()
        .find(|(_, s)| !matches!(s, TransferStatus::SourceFinal | TransferStatus::Broadcast))
    {
        return Err(StoreError::IllegalTransition {
            id: *id,
            from: *s,
            to: TransferStatus::Signed,
        });
    }
    let now = now_ms();
    let hash = tx.tx_hash.to_string();
    let max_fee = tx.max_fee_per_gas.to_string();
    let priority_fee = tx.priority_fee.map(|f| f.to_string());
    release_txs::Entity::insert(release_txs::ActiveModel {
        chain_id: Set(to_i64("chain id", tx.chain_id)?),
        nonce: Set(to_i64("nonce", tx.nonce)?),
        tx_hash: Set(hash.clone()),
        raw_tx: Set(tx.raw_tx.to_string()),
        gas_limit: Set(to_i64("gas limit", tx.gas_limit)?),
        max_fee_per_gas: Set(max_fee.clone()),
        priority_fee: Set(priority_fee.clone()),
        releases: Set(i32::try_from(carried.len()).unwrap_or(i32::MAX)),
        status: Set(ReleaseTxStatus::Pending.as_str().to_string()),
        block_number: Set(None),
        error: Set(None),
        created_at_ms: Set(now),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    let reason = Reason::SignedAtNonce {
        tx: tx.tx_hash,
        nonce: tx.nonce,
    };
    for from in [TransferStatus::SourceFinal, TransferStatus::Broadcast] {
        let ids: Vec<TransferId> = carried
            .iter()
            .filter(|(_, s)| *s == from)
            .map(|(id, _)| *id)
            .collect();
        move_many_in(
            conn,
            &ids,
            from,
            TransferStatus::Signed,
            Some(&reason),
            Some(tx.tx_hash),
        )
        .await?;
    }
    let nonce = Some(to_i64("nonce", tx.nonce)?);
    let chain_id = to_i64("chain id", tx.chain_id)?;
    for chunk in carried.chunks(IDS_PER_STATEMENT) {
        transfer_attempts::Entity::insert_many(chunk.iter().map(|(id, _)| {
            transfer_attempts::ActiveModel {
                transfer_id: Set(id.to_string()),
                chain_id: Set(chain_id),
                nonce: Set(nonce),
                blockhash: Set(None),
                last_valid_block_height: Set(None),
                tx_hash: Set(hash.clone()),
                // The bytes are stored once, with the transaction (`release_txs`).
                raw_tx: Set(String::new()),
                max_fee_per_gas: Set(Some(max_fee.clone())),
                priority_fee: Set(priority_fee.clone()),
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
    tx_hash: B256,
    status: ReleaseTxStatus,
    block_number: Option<u64>,
    error: Option<&Reason>,
) -> Result<(), StoreError> {
    use release_txs::Column as C;
    let stmt = Query::update()
        .table(release_txs::Entity)
        .values([
            (C::Status, status.as_str().into()),
            (
                C::BlockNumber,
                block_number.map(|b| to_i64("block", b)).transpose()?.into(),
            ),
            (C::Error, error.map(Reason::to_string).into()),
        ])
        .and_where(C::TxHash.eq(tx_hash.to_string()))
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
    ids: &[TransferId],
    from: TransferStatus,
    to: TransferStatus,
    reason: Option<&Reason>,
    tx_hash: Option<B256>,
) -> Result<(), StoreError> {
    let Some(first) = ids.first().copied() else {
        return Ok(());
    };
    if !from.can_become(to) {
        return Err(StoreError::IllegalTransition {
            id: first,
            from,
            to,
        });
    }
    let now = now_ms();
    let reason = reason.map(Reason::to_string);
    let failure = to.carries_reason().then(|| reason.clone()).flatten();
    let tx_hash = tx_hash.map(|h| h.to_string());
    use transfers::Column as C;
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let keys = id_texts(chunk);
        let stmt = Query::update()
            .table(transfers::Entity)
            .values([
                (C::Status, to.as_str().into()),
                (C::FailureReason, failure.clone().into()),
                (C::UpdatedAtMs, now.into()),
            ])
            .and_where(C::Id.is_in(keys.iter().cloned()))
            .and_where(status_is(from))
            .to_owned();
        let moved = conn.execute(&stmt).await?.rows_affected();
        if usize::try_from(moved).ok() != Some(chunk.len()) {
            let found = transfers::Entity::find()
                .filter(C::Id.is_in(keys.iter().cloned()))
                .filter(C::Status.ne(to.as_str()))
                .one(conn)
                .await?;
            return Err(StoreError::TransferMoved {
                id: found
                    .as_ref()
                    .and_then(|t| t.id.parse().ok())
                    .unwrap_or(first),
                expected: from,
                found: found.map_or_else(|| "no such transfer".to_string(), |t| t.status),
            });
        }
        let row =
            |transfer_id: &String, transfer_ids: Option<String>| transfer_history::ActiveModel {
                transfer_id: Set(transfer_id.clone()),
                from_status: Set(Some(from.as_str().to_string())),
                to_status: Set(to.as_str().to_string()),
                reason: Set(reason.clone()),
                at_ms: Set(now),
                tx_hash: Set(tx_hash.clone()),
                transfer_ids: Set(transfer_ids),
                ..Default::default()
            };
        match tx_hash {
            Some(_) => {
                transfer_history::Entity::insert(row(&keys[0], Some(keys.join(","))))
                    .exec_without_returning(conn)
                    .await?;
            }
            None => {
                transfer_history::Entity::insert_many(keys.iter().map(|id| row(id, None)))
                    .exec_without_returning(conn)
                    .await?;
            }
        }
    }
    Ok(())
}

impl Store {
    /// `from → to` for many transfers in one database transaction (all or none).
    pub async fn transition_many(
        &self,
        ids: &[TransferId],
        from: TransferStatus,
        to: TransferStatus,
        reason: Option<&Reason>,
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
        carried: &[(TransferId, TransferStatus)],
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
                } => move_many_in(&txn, ids, *from, *to, Some(reason), *tx_hash).await?,
                ReleaseWrite::TxStatus {
                    tx_hash,
                    status,
                    block_number,
                    error,
                } => {
                    set_tx_status_in(&txn, *tx_hash, *status, *block_number, error.as_ref()).await?
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
        status: ReleaseTxStatus,
    ) -> Result<Vec<TrackedReleaseTx>, StoreError> {
        tracked(
            release_txs::Entity::find()
                .filter(release_txs::Column::ChainId.eq(to_i64("chain id", chain_id)?))
                .filter(release_txs::Column::Status.eq(status.as_str()))
                .order_by_asc(release_txs::Column::Nonce)
                .order_by_asc(release_txs::Column::Id)
                .into_partial_model::<TrackedRow>()
                .all(self.connection())
                .await?,
        )
    }

    /// The signed bytes (the EIP-2718 envelope) of a release transaction, by hash.
    pub async fn release_tx_bytes(&self, tx_hash: B256) -> Result<Option<Bytes>, StoreError> {
        let hash = tx_hash.to_string();
        let raw: Option<String> = release_txs::Entity::find()
            .select_only()
            .column(release_txs::Column::RawTx)
            .filter(release_txs::Column::TxHash.eq(hash.as_str()))
            .into_tuple()
            .one(self.connection())
            .await?;
        raw.map(|r| Cells::of("release_txs", &hash).parse("raw_tx", &r, "0x-hex bytes"))
            .transpose()
    }

    /// One release transaction by hash (without its signed bytes).
    pub async fn release_tx(&self, tx_hash: B256) -> Result<Option<TrackedReleaseTx>, StoreError> {
        release_txs::Entity::find()
            .filter(release_txs::Column::TxHash.eq(tx_hash.to_string()))
            .into_partial_model::<TrackedRow>()
            .one(self.connection())
            .await?
            .map(TrackedReleaseTx::try_from)
            .transpose()
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
    ) -> Result<Option<(B256, Reason, i64)>, StoreError> {
        let Some(t) = release_txs::Entity::find()
            .filter(release_txs::Column::ChainId.eq(to_i64("chain id", chain_id)?))
            .filter(release_txs::Column::Error.is_not_null())
            .order_by_desc(release_txs::Column::Id)
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        let key = t.id.to_string();
        let hash = Cells::of("release_txs", &key).parse("tx_hash", &t.tx_hash, "a 32-byte hash")?;
        Ok(Cells::reason(t.error.as_deref()).map(|e| (hash, e, t.created_at_ms)))
    }

    /// Why the newest transfer to `dest_chain_id` in `status` is there (its stored reason):
    /// what `status` shows beside a count of releases waiting for gas.
    pub async fn newest_reason_to(
        &self,
        dest_chain_id: u64,
        status: TransferStatus,
    ) -> Result<Option<Reason>, StoreError> {
        Ok(transfers::Entity::find()
            .filter(transfers::Column::DestChainId.eq(to_i64("chain id", dest_chain_id)?))
            .filter(transfers::Column::Status.eq(status.as_str()))
            .order_by_desc(transfers::Column::UpdatedAtMs)
            .one(self.connection())
            .await?
            .and_then(|t| Cells::reason(t.failure_reason.as_deref())))
    }

    /// The transfers a release transaction carries, with their current status.
    pub async fn transfers_carried_by(&self, tx_hash: B256) -> Result<Vec<Transfer>, StoreError> {
        let ids: Vec<String> = transfer_attempts::Entity::find()
            .select_only()
            .column(transfer_attempts::Column::TransferId)
            .filter(transfer_attempts::Column::TxHash.eq(tx_hash.to_string()))
            .into_tuple()
            .all(self.connection())
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            out.extend(typed(
                transfers::Entity::find()
                    .filter(transfers::Column::Id.is_in(chunk.iter().cloned()))
                    .all(self.connection())
                    .await?,
            )?);
        }
        Ok(out)
    }

    /// The transfers each of `tx_hashes` carries (id and current status): two queries for
    /// any number of transactions.
    pub async fn transfers_carried_by_each(
        &self,
        tx_hashes: &[B256],
    ) -> Result<HashMap<B256, Vec<CarriedTransfer>>, StoreError> {
        // One join per chunk of hashes: the attempts by hash, each transfer's status by its
        // key. Two passes (the ids, then their statuses by id) cost twice the statements and
        // rows at thousands of transfers a step.
        let mut out: HashMap<B256, Vec<CarriedTransfer>> =
            tx_hashes.iter().map(|h| (*h, Vec::new())).collect();
        for chunk in tx_hashes.chunks(IDS_PER_STATEMENT) {
            let asked: HashMap<String, B256> = chunk.iter().map(|h| (h.to_string(), *h)).collect();
            let rows: Vec<(String, String, String)> = transfer_attempts::Entity::find()
                .select_only()
                .column(transfer_attempts::Column::TxHash)
                .column(transfer_attempts::Column::TransferId)
                .column(transfers::Column::Status)
                .join(
                    JoinType::InnerJoin,
                    transfer_attempts::Relation::Transfer.def(),
                )
                .filter(transfer_attempts::Column::TxHash.is_in(asked.keys().cloned()))
                .into_tuple()
                .all(self.connection())
                .await?;
            for (hash, id, status) in rows {
                if let Some(list) = asked.get(&hash).and_then(|h| out.get_mut(h)) {
                    let row = Cells::of("transfers", &id);
                    list.push(CarriedTransfer {
                        id: row.id("id", &id)?,
                        status: row.status("status", &status)?,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Transfers by id (missing ones are left out).
    pub async fn transfers_by_ids(
        &self,
        ids: &[TransferId],
    ) -> Result<HashMap<TransferId, Transfer>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            for t in typed(
                transfers::Entity::find()
                    .filter(transfers::Column::Id.is_in(id_texts(chunk)))
                    .all(self.connection())
                    .await?,
            )? {
                out.insert(t.id, t);
            }
        }
        Ok(out)
    }

    /// Transfers bound for `chain_id` in `broadcast` at stage [`BroadcastStage::ToSignAgain`]:
    /// their newest release transaction can never be mined (it reverted, or its nonce went to
    /// another transaction while none of ours at that nonce was mined). Each comes with how
    /// many releases were signed for it. This is what an executor signs again; it is read from
    /// the store, so a restart loses none.
    pub async fn releases_to_sign_again(
        &self,
        chain_id: u64,
    ) -> Result<Vec<(QueuedRelease, u64)>, StoreError> {
        let waiting: Vec<QueuedRow> = transfers::Entity::find()
            .filter(transfers::Column::DestChainId.eq(to_i64("chain id", chain_id)?))
            .filter(transfers::Column::Status.eq(TransferStatus::Broadcast.as_str()))
            .into_partial_model::<QueuedRow>()
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
        // The transaction statuses that leave a `broadcast` transfer to be signed again.
        let to_sign_again: Vec<&str> = ReleaseTxStatus::ALL
            .into_iter()
            .filter(|s| BroadcastStage::of(*s) == BroadcastStage::ToSignAgain)
            .map(ReleaseTxStatus::as_str)
            .collect();
        let mut unminable: HashSet<String> = HashSet::new();
        for chunk in hashes.chunks(IDS_PER_STATEMENT) {
            let rows: Vec<String> = release_txs::Entity::find()
                .select_only()
                .column(release_txs::Column::TxHash)
                .filter(release_txs::Column::TxHash.is_in(chunk.iter().cloned()))
                .filter(release_txs::Column::Status.is_in(to_sign_again.iter().copied()))
                .into_tuple()
                .all(self.connection())
                .await?;
            unminable.extend(rows);
        }
        let mut out: Vec<(QueuedRow, u64)> = waiting
            .into_iter()
            .filter_map(|t| {
                let (_, hash, count) = newest.get(&t.id)?;
                let count = *count;
                unminable.contains(hash).then_some((t, count))
            })
            .collect();
        out.sort_by(|a, b| (a.0.created_at_ms, &a.0.id).cmp(&(b.0.created_at_ms, &b.0.id)));
        out.into_iter()
            .map(|(t, n)| Ok((QueuedRelease::try_from(t)?, n)))
            .collect()
    }

    /// `(transfer, destination token, amount out)` of every transfer bound for `chain_id` in
    /// any of `statuses`: what releases on their way will take from the vault.
    pub async fn amounts_out_to(
        &self,
        chain_id: u64,
        statuses: &[TransferStatus],
    ) -> Result<Vec<(TransferId, Option<Address>, Option<U256>)>, StoreError> {
        let rows: Vec<(String, Option<String>, Option<String>)> = transfers::Entity::find()
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
            .await?;
        rows.into_iter()
            .map(|(id, token, amount)| {
                let row = Cells::of("transfers", &id);
                Ok((
                    row.id("id", &id)?,
                    row.parse_opt("dest_token", token.as_deref(), "an address")?,
                    row.amount_opt("amount_out", amount.as_deref())?,
                ))
            })
            .collect()
    }

    /// Sets a release transaction's state (and the block it was mined in, or why it stopped).
    pub async fn set_release_tx_status(
        &self,
        tx_hash: B256,
        status: ReleaseTxStatus,
        block_number: Option<u64>,
        error: Option<&Reason>,
    ) -> Result<(), StoreError> {
        self.apply_release_writes(&[ReleaseWrite::TxStatus {
            tx_hash,
            status,
            block_number,
            error: error.cloned(),
        }])
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::{BroadcastStage, ReleaseTxStatus};

    #[test]
    fn only_a_transaction_that_can_never_be_mined_leaves_its_transfers_to_sign_again() {
        for status in ReleaseTxStatus::ALL {
            let expected = match status {
                ReleaseTxStatus::Reverted | ReleaseTxStatus::Replaced => {
                    BroadcastStage::ToSignAgain
                }
                _ => BroadcastStage::InFlight,
            };
            assert_eq!(BroadcastStage::of(status), expected, "{status}");
        }
    }
}
