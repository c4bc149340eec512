//! Bridge transfers as the indexer records them: one row per deposit seen on a source chain,
//! keyed by its `TransferId` (and unique on source chain, tx and index), so scanning the same
//! range again inserts nothing twice. A transfer into a vault that cannot be released (missing
//! or malformed memo) is stored as `failed` with its reason, so the operator sees the funds.
//!
//! A deposit whose block leaves the canonical chain while it waits for its release (`observed`,
//! `source_final`, `awaiting_liquidity`, `awaiting_gas`, `paused`) becomes `failed` with the
//! reason [`Reason::ReorgedOut`]; when the new chain holds a deposit with the
//! same id, recording it revives the row (`failed → observed`, the one move outside the state
//! machine's edges, allowed only here: nothing was ever signed for it).
//!
//! Every status a transfer takes is also a row of `transfer_history` with its reason, written
//! in the transaction of the change itself; [`Store::transition`] moves a transfer only from
//! the status its caller saw (compare-and-set) and only along the state machine's edges.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use atoll_core::reason::DepositTerms;
use atoll_core::{Address, Reason, TransferId, TransferStatus, U256};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait, TryInsertResult,
};

use crate::cells::{Cells, id_texts};
use crate::entities::{chains, transfer_attempts, transfer_history, transfers};
use crate::ingest_txn::IngestTxn;
use crate::queries::{IDS_PER_STATEMENT, now_ms, to_i64};
use crate::{Store, StoreError};

/// A bridge transfer as stored, read as the domain's types. Addresses and the source
/// transaction stay text: their format is the chain's (EVM hex, Solana base58), and a deposit
/// refused at intake may name no readable recipient at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: TransferId,
    pub source_chain_id: u64,
    /// Transaction hash (EVM) or signature (Solana).
    pub source_tx: String,
    /// Position among the vault's deposits in its transaction (EVM) or instruction index.
    pub source_index: u64,
    /// Block (EVM) or slot (Solana).
    pub source_block: u64,
    /// 0 when the deposit names no readable destination.
    pub dest_chain_id: u64,
    pub source_token: String,
    /// Set when the gate approves it.
    pub dest_token: Option<String>,
    pub sender: String,
    /// Empty when the deposit names no readable recipient.
    pub recipient: String,
    /// In the source token's smallest unit.
    pub amount_in: U256,
    /// In the destination token's smallest unit (after the fee); set when approved.
    pub amount_out: Option<U256>,
    /// In the source token's smallest unit; set when approved.
    pub fee: Option<U256>,
    pub status: TransferStatus,
    /// Why it is failed, stuck or waiting (none in other states).
    pub failure_reason: Option<Reason>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl TryFrom<transfers::Model> for Transfer {
    type Error = StoreError;
    fn try_from(t: transfers::Model) -> Result<Transfer, StoreError> {
        let row = Cells::of("transfers", &t.id);
        Ok(Transfer {
            id: row.id("id", &t.id)?,
            source_chain_id: row.u64("source_chain_id", t.source_chain_id)?,
            source_index: row.u64("source_index", t.source_index)?,
            source_block: row.u64("source_block", t.source_block)?,
            dest_chain_id: row.u64("dest_chain_id", t.dest_chain_id)?,
            amount_in: row.amount("amount_in", &t.amount_in)?,
            amount_out: row.amount_opt("amount_out", t.amount_out.as_deref())?,
            fee: row.amount_opt("fee", t.fee.as_deref())?,
            status: row.status("status", &t.status)?,
            failure_reason: Cells::reason(t.failure_reason.as_deref()),
            source_tx: t.source_tx,
            source_token: t.source_token,
            dest_token: t.dest_token,
            sender: t.sender,
            recipient: t.recipient,
            created_at_ms: t.created_at_ms,
            updated_at_ms: t.updated_at_ms,
        })
    }
}

/// Rows read as [`Transfer`]s; the first that does not read is the error.
pub(crate) fn typed(rows: Vec<transfers::Model>) -> Result<Vec<Transfer>, StoreError> {
    rows.into_iter().map(Transfer::try_from).collect()
}

/// A transfer as an executor releases it: approved by the gate (queued, waiting, or in flight),
/// with the columns a release needs and no more. The queue is read thousands of rows a step,
/// and decoding all of each row's columns took about a tenth of the step. Its addresses were
/// validated at intake, so they are read as addresses (`0x…` EVM, else Solana base58).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRelease {
    pub id: TransferId,
    pub status: TransferStatus,
    /// What the gate approved: none only for a row approved without one (failed, not sent).
    pub dest_token: Option<Address>,
    pub recipient: Address,
    pub amount_out: Option<U256>,
    /// Its route (source chain and token) and fee (source token units): what a
    /// `when_profitable` policy weighs against the release's gas.
    pub source_chain_id: u64,
    pub source_token: Address,
    pub fee: Option<U256>,
    /// When it entered its status: how long it has waited in `awaiting_gas`.
    pub updated_at_ms: i64,
}

/// The columns of a [`QueuedRelease`], as stored.
#[derive(Debug, Clone, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "transfers::Entity", from_query_result)]
pub(crate) struct QueuedRow {
    pub id: String,
    pub status: String,
    pub dest_token: Option<String>,
    pub recipient: String,
    pub amount_out: Option<String>,
    pub source_chain_id: i64,
    pub source_token: String,
    pub fee: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl TryFrom<QueuedRow> for QueuedRelease {
    type Error = StoreError;
    fn try_from(t: QueuedRow) -> Result<QueuedRelease, StoreError> {
        let row = Cells::of("transfers", &t.id);
        Ok(QueuedRelease {
            id: row.id("id", &t.id)?,
            status: row.status("status", &t.status)?,
            dest_token: row.parse_opt("dest_token", t.dest_token.as_deref(), "an address")?,
            recipient: row.parse("recipient", &t.recipient, "an address")?,
            amount_out: row.amount_opt("amount_out", t.amount_out.as_deref())?,
            source_chain_id: row.u64("source_chain_id", t.source_chain_id)?,
            source_token: row.parse("source_token", &t.source_token, "an address")?,
            fee: row.amount_opt("fee", t.fee.as_deref())?,
            updated_at_ms: t.updated_at_ms,
        })
    }
}

pub(crate) fn queued(rows: Vec<QueuedRow>) -> Result<Vec<QueuedRelease>, StoreError> {
    rows.into_iter().map(QueuedRelease::try_from).collect()
}

/// A release attempt as stored: a signed transaction (EVM: one of a release transaction's
/// transfers) or a signed Solana message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub id: i32,
    pub transfer_id: TransferId,
    pub chain_id: u64,
    /// EVM.
    pub nonce: Option<u64>,
    /// Solana: the blockhash and the last block height it is valid at.
    pub blockhash: Option<String>,
    pub last_valid_block_height: Option<u64>,
    /// Transaction hash (EVM) or signature (Solana): the chain's own text form.
    pub tx_hash: String,
    /// Solana: base64 bincode of the signed transaction. EVM: empty (the bytes are stored
    /// once, with the release transaction).
    pub raw_tx: String,
    /// Wei per gas (EVM).
    pub max_fee_per_gas: Option<u128>,
    /// Wei per gas (EVM) or micro-lamports per compute unit (Solana).
    pub priority_fee: Option<u128>,
    pub status: TransferStatus,
    pub error: Option<String>,
    pub created_at_ms: i64,
}

impl TryFrom<transfer_attempts::Model> for Attempt {
    type Error = StoreError;
    fn try_from(a: transfer_attempts::Model) -> Result<Attempt, StoreError> {
        let key = a.id.to_string();
        let row = Cells::of("transfer_attempts", &key);
        Ok(Attempt {
            id: a.id,
            transfer_id: row.id("transfer_id", &a.transfer_id)?,
            chain_id: row.u64("chain_id", a.chain_id)?,
            nonce: row.u64_opt("nonce", a.nonce)?,
            last_valid_block_height: row
                .u64_opt("last_valid_block_height", a.last_valid_block_height)?,
            max_fee_per_gas: row.parse_opt(
                "max_fee_per_gas",
                a.max_fee_per_gas.as_deref(),
                "a decimal fee",
            )?,
            priority_fee: row.parse_opt(
                "priority_fee",
                a.priority_fee.as_deref(),
                "a decimal fee",
            )?,
            status: row.status("status", &a.status)?,
            blockhash: a.blockhash,
            tx_hash: a.tx_hash,
            raw_tx: a.raw_tx,
            error: a.error,
            created_at_ms: a.created_at_ms,
        })
    }
}

/// One signed release, as persisted before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAttempt {
    pub chain_id: u64,
    /// EVM.
    pub nonce: Option<u64>,
    /// Solana: the blockhash and the last block height it is valid at.
    pub blockhash: Option<String>,
    pub last_valid_block_height: Option<u64>,
    /// Transaction hash (EVM) or signature (Solana), in the chain's own text form.
    pub tx_hash: String,
    /// The signed transaction as sent (EVM: 0x-hex of the envelope; Solana: base64 bincode).
    pub raw_tx: String,
    /// Wei per gas (EVM).
    pub max_fee_per_gas: Option<u128>,
    /// Wei per gas (EVM) or micro-lamports per compute unit (Solana).
    pub priority_fee: Option<u128>,
}

/// Transfers of one (source, destination, status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferCount {
    pub source_chain_id: u64,
    pub dest_chain_id: u64,
    pub status: TransferStatus,
    pub count: u64,
    pub oldest_created_at_ms: i64,
}

/// What an approved deposit releases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRelease {
    pub dest_token: Address,
    /// In the destination token's smallest unit.
    pub amount_out: U256,
    /// In the source token's smallest unit.
    pub fee: U256,
}

/// A deposit as found on its source chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositRow {
    pub id: TransferId,
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
    /// In the source token's smallest unit.
    pub amount_in: U256,
    /// `Observed`, or `Failed` with `failure_reason`.
    pub status: TransferStatus,
    pub failure_reason: Option<Reason>,
}

impl IngestTxn {
    /// Records deposits; one already recorded (same id) is left as it is, whatever its status
    /// by now, unless a reorg orphaned it (then the deposit seen now replaces it). Returns how
    /// many were new or revived.
    pub async fn insert_deposits(&self, rows: &[DepositRow]) -> Result<u64, StoreError> {
        let now = now_ms();
        let mut inserted = 0;
        let recorded = self.rows_of_source_txs(rows).await?;
        for r in rows {
            let same_tx = recorded
                .get(&(r.source_chain_id, r.source_tx.as_str()))
                .map_or(&[][..], Vec::as_slice);
            if self.recorded_under_legacy_id(r, same_tx, now).await? {
                continue;
            }
            let outcome = transfers::Entity::insert(transfers::ActiveModel {
                id: Set(r.id.to_string()),
                source_chain_id: Set(to_i64("chain id", r.source_chain_id)?),
                source_tx: Set(r.source_tx.clone()),
                source_index: Set(to_i64("source index", r.source_index)?),
                source_block: Set(to_i64("source block", r.source_block)?),
                dest_chain_id: Set(to_i64("chain id", r.dest_chain_id)?),
                source_token: Set(r.source_token.clone()),
                dest_token: Set(None),
                sender: Set(r.sender.clone()),
                recipient: Set(r.recipient.clone()),
                amount_in: Set(r.amount_in.to_string()),
                amount_out: Set(None),
                fee: Set(None),
                status: Set(r.status.as_str().to_string()),
                failure_reason: Set(r.failure_reason.as_ref().map(Reason::to_string)),
                created_at_ms: Set(now),
                updated_at_ms: Set(now),
            })
            .on_conflict_do_nothing()
            .exec_without_returning(self.connection())
            .await?;
            // A conflict shows as nothing inserted (no RETURNING: `Inserted(0)`).
            let added = match outcome {
                TryInsertResult::Inserted(n) => n,
                TryInsertResult::Conflicted | TryInsertResult::Empty => 0,
            };
            if added == 0 {
                inserted += self.revive_reorged(r, now).await?;
                continue;
            }
            inserted += added;
            record_history(
                self.connection(),
                &r.id.to_string(),
                None,
                r.status,
                r.failure_reason.as_ref(),
                now,
            )
            .await?;
        }
        Ok(inserted)
    }
}

impl IngestTxn {
    /// Whether `r`, an EVM deposit, was recorded before ids were derived from the deposit's
    /// transaction: then its row carries the vault's counter id (not `derive(chain, tx,
    /// source_index)`) and a log index as `source_index`. The `r.source_index`-th such row of
    /// the same transaction (in log order) is the same deposit: it is kept, with a history row
    /// saying so, and nothing new is recorded, so a re-scan across the upgrade (a reorg's
    /// rollback) cannot make a paid deposit a second transfer.
    /// `same_tx`: the rows already recorded for `r`'s source transaction (read once per batch
    /// by [`Store::rows_of_source_txs`], not once per deposit).
    async fn recorded_under_legacy_id(
        &self,
        r: &DepositRow,
        same_tx: &[transfers::Model],
        now: i64,
    ) -> Result<bool, StoreError> {
        if same_tx.is_empty() {
            return Ok(false);
        }
        let Some(tx_hex) = r.source_tx.strip_prefix("0x") else {
            return Ok(false);
        };
        let Ok(tx) = hex::decode(tx_hex) else {
            return Ok(false);
        };
        let id = r.id.to_string();
        let mut legacy: Vec<&transfers::Model> = same_tx
            .iter()
            .filter(|t| t.id != id)
            .filter(|t| {
                let index = u32::try_from(t.source_index).unwrap_or(u32::MAX);
                t.id != atoll_core::TransferId::derive(
                    atoll_core::ChainId(r.source_chain_id),
                    &tx,
                    index,
                )
                .to_string()
            })
            .collect();
        legacy.sort_by_key(|t| t.source_index);
        let Some(same) = usize::try_from(r.source_index)
            .ok()
            .and_then(|i| legacy.get(i))
        else {
            return Ok(false);
        };
        let status = Cells::of("transfers", &same.id).status("status", &same.status)?;
        let reason = Reason::SeenUnderStableId { id: r.id };
        tracing::warn!(transfer = %same.id, "{reason}");
        record_history(
            self.connection(),
            &same.id,
            Some(status),
            status,
            Some(&reason),
            now,
        )
        .await?;
        Ok(true)
    }

    /// The rows already recorded for the source transactions of `rows`, by (chain, tx): one
    /// query per chain and `IDS_PER_STATEMENT` transactions (the index on the source leads
    /// with the chain).
    async fn rows_of_source_txs<'r>(
        &self,
        rows: &'r [DepositRow],
    ) -> Result<HashMap<(u64, &'r str), Vec<transfers::Model>>, StoreError> {
        let mut by_chain: BTreeMap<u64, BTreeSet<&'r str>> = BTreeMap::new();
        for r in rows {
            by_chain
                .entry(r.source_chain_id)
                .or_default()
                .insert(r.source_tx.as_str());
        }
        let mut out: HashMap<(u64, &'r str), Vec<transfers::Model>> = HashMap::new();
        for (chain, txs) in by_chain {
            let txs: Vec<&'r str> = txs.into_iter().collect();
            for chunk in txs.chunks(IDS_PER_STATEMENT) {
                let asked: HashMap<&str, &'r str> = chunk.iter().map(|t| (*t, *t)).collect();
                let found = transfers::Entity::find()
                    .filter(transfers::Column::SourceChainId.eq(to_i64("chain id", chain)?))
                    .filter(transfers::Column::SourceTx.is_in(chunk.iter().map(|t| t.to_string())))
                    .all(self.connection())
                    .await?;
                for t in found {
                    if let Some(tx) = asked.get(t.source_tx.as_str()).copied() {
                        out.entry((chain, tx)).or_default().push(t);
                    }
                }
            }
        }
        Ok(out)
    }

    /// A deposit already recorded under `r.id`: when that row was orphaned by a reorg, the
    /// deposit seen now (same id on the new chain) takes its place. Returns 1 when revived.
    async fn revive_reorged(&self, r: &DepositRow, now: i64) -> Result<u64, StoreError> {
        let id = r.id.to_string();
        let Some(existing) = transfers::Entity::find_by_id(id.clone())
            .one(self.connection())
            .await?
        else {
            return Ok(0);
        };
        let orphaned = existing.status == TransferStatus::Failed.as_str()
            && matches!(
                Cells::reason(existing.failure_reason.as_deref()),
                Some(Reason::ReorgedOut { .. })
            );
        if !orphaned {
            self.note_conflict(&existing, r, now).await?;
            return Ok(0);
        }
        use transfers::Column as C;
        let stmt = Query::update()
            .table(transfers::Entity)
            .values([
                (C::SourceTx, r.source_tx.clone().into()),
                (
                    C::SourceIndex,
                    to_i64("source index", r.source_index)?.into(),
                ),
                (
                    C::SourceBlock,
                    to_i64("source block", r.source_block)?.into(),
                ),
                (C::DestChainId, to_i64("chain id", r.dest_chain_id)?.into()),
                (C::SourceToken, r.source_token.clone().into()),
                (C::Sender, r.sender.clone().into()),
                (C::Recipient, r.recipient.clone().into()),
                (C::AmountIn, r.amount_in.to_string().into()),
                (C::Status, r.status.as_str().into()),
                (
                    C::FailureReason,
                    r.failure_reason.as_ref().map(Reason::to_string).into(),
                ),
                (C::UpdatedAtMs, now.into()),
            ])
            .and_where(C::Id.eq(id.as_str()))
            .and_where(C::Status.eq(TransferStatus::Failed.as_str()))
            .to_owned();
        self.connection().execute(&stmt).await?;
        let reason = Reason::SeenAgain {
            block: r.source_block,
            tx: r.source_tx.clone(),
        };
        record_history(
            self.connection(),
            &id,
            Some(TransferStatus::Failed),
            r.status,
            Some(&reason),
            now,
        )
        .await?;
        Ok(1)
    }
}

impl IngestTxn {
    /// The deposit `r` carries the id of `existing`, which keeps its status. Seen again as it
    /// was (a re-scan, or its transaction re-included after a reorg), that is nothing. Seen
    /// with other terms (its transaction executed differently in its new block), it is a
    /// conflict an operator must see: an error log and a history row on the transfer, never a
    /// silent skip. A second deposit cannot take the id: ids are derived from the deposit's
    /// own transaction and position in it.
    async fn note_conflict(
        &self,
        existing: &transfers::Model,
        r: &DepositRow,
        now: i64,
    ) -> Result<(), StoreError> {
        let row = Cells::of("transfers", &existing.id);
        let recorded = DepositTerms {
            amount: row.amount("amount_in", &existing.amount_in)?,
            token: existing.source_token.clone(),
            recipient: existing.recipient.clone(),
            chain: row.u64("dest_chain_id", existing.dest_chain_id)?,
        };
        let seen = DepositTerms {
            amount: r.amount_in,
            token: r.source_token.clone(),
            recipient: r.recipient.clone(),
            chain: r.dest_chain_id,
        };
        if recorded == seen {
            return Ok(());
        }
        let reason = Reason::DepositConflict {
            block: r.source_block,
            tx: r.source_tx.clone(),
            seen: Box::new(seen),
            recorded: Box::new(recorded),
        };
        tracing::error!(transfer = %existing.id, status = %existing.status, "{reason}");
        let status = row.status("status", &existing.status)?;
        record_history(
            self.connection(),
            &existing.id,
            Some(status),
            status,
            Some(&reason),
            now,
        )
        .await
    }
}

/// After a reorg to `above` on `chain`: every deposit above it that waits for its release
/// (`observed`, `source_final`, `awaiting_liquidity`, `awaiting_gas`, `paused`) becomes `failed`
/// ([`Reason::ReorgedOut`]): a deposit no longer on its source chain is never paid, whatever it waited
/// in (revived if the new chain has it again). Those whose release may already exist keep their
/// status and get a history row for the operator. Returns (orphaned, at risk).
pub(crate) async fn orphan_deposits_above<C: ConnectionTrait>(
    conn: &C,
    chain: i64,
    above: i64,
) -> Result<(u64, u64), StoreError> {
    let now = now_ms();
    let hit = transfers::Entity::find()
        .filter(transfers::Column::SourceChainId.eq(chain))
        .filter(transfers::Column::SourceBlock.gt(above))
        .filter(transfers::Column::Status.ne(TransferStatus::Failed.as_str()))
        .all(conn)
        .await?;
    let (mut orphaned, mut at_risk) = (0, 0);
    for t in hit {
        let row = Cells::of("transfers", &t.id);
        let status = row.status("status", &t.status)?;
        let block = row.u64("source_block", t.source_block)?;
        // `stuck` had releases signed: one may have landed (the audit would say), so it is at
        // risk like any transfer whose release may exist.
        if status.release_may_exist() || status == TransferStatus::Stuck {
            let reason = Reason::ReorgedAfterRelease { block };
            tracing::error!(transfer = %t.id, status = %t.status, "{reason}");
            record_history(conn, &t.id, Some(status), status, Some(&reason), now).await?;
            at_risk += 1;
            continue;
        }
        let reason = Reason::ReorgedOut {
            block,
            was: Some(status),
        };
        use transfers::Column as C;
        let stmt = Query::update()
            .table(transfers::Entity)
            .values([
                (C::Status, TransferStatus::Failed.as_str().into()),
                (C::FailureReason, Some(reason.to_string()).into()),
                (C::UpdatedAtMs, now.into()),
            ])
            .and_where(C::Id.eq(t.id.as_str()))
            .and_where(C::Status.eq(status.as_str()))
            .to_owned();
        if conn.execute(&stmt).await?.rows_affected() == 0 {
            // An executor moved it meanwhile (signed it, on PostgreSQL's concurrent writers):
            // its release may exist now. Never "nothing was paid": at risk, said loudly.
            let reason = Reason::ReorgedWhileSigning { block };
            tracing::error!(transfer = %t.id, "{reason}");
            record_history(conn, &t.id, Some(status), status, Some(&reason), now).await?;
            at_risk += 1;
            continue;
        }
        record_history(
            conn,
            &t.id,
            Some(status),
            TransferStatus::Failed,
            Some(&reason),
            now,
        )
        .await?;
        orphaned += 1;
    }
    Ok((orphaned, at_risk))
}

/// `from → to` on transfer `id` inside `conn`'s transaction: refused off the state machine's
/// edges, and when the transfer is no longer in `from` (compare-and-set); the history row with
/// `reason` is written with it. `extra` sets more columns in the same update.
async fn move_status_in<C: ConnectionTrait>(
    conn: &C,
    id: TransferId,
    from: TransferStatus,
    to: TransferStatus,
    reason: Option<&Reason>,
    extra: Vec<(transfers::Column, sea_orm::Value)>,
) -> Result<(), StoreError> {
    if !from.can_become(to) {
        return Err(StoreError::IllegalTransition { id, from, to });
    }
    let now = now_ms();
    let failure = if to.carries_reason() {
        reason.map(Reason::to_string)
    } else {
        None
    };
    let key = id.to_string();
    use transfers::Column as C;
    let mut values: Vec<(C, sea_orm::sea_query::SimpleExpr)> = vec![
        (C::Status, to.as_str().into()),
        (C::FailureReason, failure.into()),
        (C::UpdatedAtMs, now.into()),
    ];
    values.extend(extra.into_iter().map(|(c, v)| (c, v.into())));
    let stmt = Query::update()
        .table(transfers::Entity)
        .values(values)
        .and_where(C::Id.eq(key.as_str()))
        .and_where(crate::release_txs::status_is(from))
        .to_owned();
    if conn.execute(&stmt).await?.rows_affected() == 0 {
        let found = transfers::Entity::find_by_id(key)
            .one(conn)
            .await?
            .map_or_else(|| "no such transfer".to_string(), |t| t.status);
        return Err(StoreError::TransferMoved {
            id,
            expected: from,
            found,
        });
    }
    record_history(conn, &key, Some(from), to, reason, now).await
}

/// A history row of transfer `id` (its key as stored: a row recorded under a legacy id is
/// named by it).
async fn record_history<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    from: Option<TransferStatus>,
    to: TransferStatus,
    reason: Option<&Reason>,
    at_ms: i64,
) -> Result<(), StoreError> {
    transfer_history::Entity::insert(transfer_history::ActiveModel {
        transfer_id: Set(id.to_string()),
        from_status: Set(from.map(|s| s.as_str().to_string())),
        to_status: Set(to.as_str().to_string()),
        reason: Set(reason.map(Reason::to_string)),
        at_ms: Set(at_ms),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// `statuses` as the text `transfers.status` stores.
fn status_texts(statuses: &[TransferStatus]) -> Vec<&'static str> {
    statuses.iter().map(|s| s.as_str()).collect()
}

impl Store {
    /// Moves transfer `id` from `from` to `to`, recording `reason` (the failure reason when
    /// `to` carries one, else why it moved) in its history, in one transaction. Fails
    /// without writing when the edge is not in the state machine, or when the transfer is no
    /// longer in `from` (another worker moved it first).
    pub async fn transition(
        &self,
        id: TransferId,
        from: TransferStatus,
        to: TransferStatus,
        reason: Option<&Reason>,
    ) -> Result<(), StoreError> {
        self.move_status(id, from, to, reason, Vec::new()).await
    }

    /// `observed → source_final` with the release the deposit becomes (its destination token,
    /// the amount out in the destination's decimals, the fee in the source's), written together.
    pub async fn approve_release(
        &self,
        id: TransferId,
        reason: &Reason,
        release: &PlannedRelease,
    ) -> Result<(), StoreError> {
        self.approve_releases(&[(id, reason.clone(), release.clone())])
            .await
    }

    /// [`Store::approve_release`] for many deposits in one database transaction (all or none):
    /// `(id, reason, release)` each.
    pub async fn approve_releases(
        &self,
        approvals: &[(TransferId, Reason, PlannedRelease)],
    ) -> Result<(), StoreError> {
        if approvals.is_empty() {
            return Ok(());
        }
        use transfers::Column as C;
        let _turn = self.write_turn().await;
        let txn = self.connection().begin().await?;
        for (id, reason, release) in approvals {
            move_status_in(
                &txn,
                *id,
                TransferStatus::Observed,
                TransferStatus::SourceFinal,
                Some(reason),
                vec![
                    (C::DestToken, Some(release.dest_token.to_string()).into()),
                    (C::AmountOut, Some(release.amount_out.to_string()).into()),
                    (C::Fee, Some(release.fee.to_string()).into()),
                ],
            )
            .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    async fn move_status(
        &self,
        id: TransferId,
        from: TransferStatus,
        to: TransferStatus,
        reason: Option<&Reason>,
        extra: Vec<(transfers::Column, sea_orm::Value)>,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let txn = self.connection().begin().await?;
        move_status_in(&txn, id, from, to, reason, extra).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Persists a signed release **before** it is sent: the attempt (raw transaction, nonce or
    /// blockhash, hash or signature, fee) and `from → signed`, in one transaction. `from` is
    /// `source_final`, or `broadcast` for a replacement (fee bump, fresh blockhash).
    pub async fn record_signed(
        &self,
        id: TransferId,
        from: TransferStatus,
        attempt: &SignedAttempt,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let txn = self.connection().begin().await?;
        let reason = Reason::Signed {
            tx: attempt.tx_hash.clone(),
        };
        move_status_in(
            &txn,
            id,
            from,
            TransferStatus::Signed,
            Some(&reason),
            Vec::new(),
        )
        .await?;
        transfer_attempts::Entity::insert(transfer_attempts::ActiveModel {
            transfer_id: Set(id.to_string()),
            chain_id: Set(to_i64("chain id", attempt.chain_id)?),
            nonce: Set(attempt.nonce.map(|n| to_i64("nonce", n)).transpose()?),
            blockhash: Set(attempt.blockhash.clone()),
            last_valid_block_height: Set(attempt
                .last_valid_block_height
                .map(|h| to_i64("block height", h))
                .transpose()?),
            tx_hash: Set(attempt.tx_hash.clone()),
            raw_tx: Set(attempt.raw_tx.clone()),
            max_fee_per_gas: Set(attempt.max_fee_per_gas.map(|f| f.to_string())),
            priority_fee: Set(attempt.priority_fee.map(|f| f.to_string())),
            status: Set(TransferStatus::Signed.as_str().to_string()),
            error: Set(None),
            created_at_ms: Set(now_ms()),
            ..Default::default()
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// How many releases were signed for a transfer.
    pub async fn attempt_count(&self, id: TransferId) -> Result<u64, StoreError> {
        Ok(transfer_attempts::Entity::find()
            .filter(transfer_attempts::Column::TransferId.eq(id.to_string()))
            .count(self.connection())
            .await?)
    }

    /// The newest release attempt of a transfer.
    pub async fn latest_attempt(&self, id: TransferId) -> Result<Option<Attempt>, StoreError> {
        transfer_attempts::Entity::find()
            .filter(transfer_attempts::Column::TransferId.eq(id.to_string()))
            .order_by_desc(transfer_attempts::Column::Id)
            .one(self.connection())
            .await?
            .map(Attempt::try_from)
            .transpose()
    }

    /// The newest release attempt of each of `ids` (transfers without one are left out): one
    /// query per 500 ids (`IDS_PER_STATEMENT`), for an executor following many transfers in one
    /// pass.
    pub async fn latest_attempts(
        &self,
        ids: &[TransferId],
    ) -> Result<HashMap<TransferId, Attempt>, StoreError> {
        let mut newest: HashMap<TransferId, Attempt> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            for attempt in transfer_attempts::Entity::find()
                .filter(transfer_attempts::Column::TransferId.is_in(id_texts(chunk)))
                .order_by_asc(transfer_attempts::Column::Id)
                .all(self.connection())
                .await?
            {
                // Ascending ids: the last one seen per transfer is its newest.
                let attempt = Attempt::try_from(attempt)?;
                newest.insert(attempt.transfer_id, attempt);
            }
        }
        Ok(newest)
    }

    /// Transfers bound for `dest_chain_id` in any of `statuses`, oldest first.
    pub async fn transfers_to(
        &self,
        dest_chain_id: u64,
        statuses: &[TransferStatus],
    ) -> Result<Vec<Transfer>, StoreError> {
        typed(
            transfers::Entity::find()
                .filter(transfers::Column::DestChainId.eq(to_i64("chain id", dest_chain_id)?))
                .filter(transfers::Column::Status.is_in(status_texts(statuses)))
                .order_by_asc(transfers::Column::CreatedAtMs)
                .order_by_asc(transfers::Column::Id)
                .all(self.connection())
                .await?,
        )
    }

    /// [`Store::transfers_to`] with only what a release needs: for an executor, whose transfers
    /// in these states were all approved by the gate.
    pub async fn releases_to(
        &self,
        dest_chain_id: u64,
        statuses: &[TransferStatus],
    ) -> Result<Vec<QueuedRelease>, StoreError> {
        queued(
            transfers::Entity::find()
                .filter(transfers::Column::DestChainId.eq(to_i64("chain id", dest_chain_id)?))
                .filter(transfers::Column::Status.is_in(status_texts(statuses)))
                .order_by_asc(transfers::Column::CreatedAtMs)
                .order_by_asc(transfers::Column::Id)
                .into_partial_model::<QueuedRow>()
                .all(self.connection())
                .await?,
        )
    }

    /// The `limit` oldest transfers bound for `dest_chain_id` in `status`, with only what a
    /// release needs (what an executor can take in one pass; the queue may be far longer).
    pub async fn queued_releases_to(
        &self,
        dest_chain_id: u64,
        status: TransferStatus,
        limit: u64,
    ) -> Result<Vec<QueuedRelease>, StoreError> {
        use sea_orm::QuerySelect;
        queued(
            transfers::Entity::find()
                .filter(transfers::Column::DestChainId.eq(to_i64("chain id", dest_chain_id)?))
                .filter(transfers::Column::Status.eq(status.as_str()))
                .order_by_asc(transfers::Column::CreatedAtMs)
                .order_by_asc(transfers::Column::Id)
                .limit(crate::queries::row_limit(limit))
                .into_partial_model::<QueuedRow>()
                .all(self.connection())
                .await?,
        )
    }

    /// Up to `limit` transfers bound for `dest_chain_id` in `status` whose id is above `after`,
    /// in id order: a cursor that walks the whole set a page per step and wraps around, so a
    /// long line of transfers that keep waiting never hides the ones behind it.
    pub async fn queued_releases_after(
        &self,
        dest_chain_id: u64,
        status: TransferStatus,
        after: Option<TransferId>,
        limit: u64,
    ) -> Result<Vec<QueuedRelease>, StoreError> {
        use sea_orm::QuerySelect;
        let mut q = transfers::Entity::find()
            .filter(transfers::Column::DestChainId.eq(to_i64("chain id", dest_chain_id)?))
            .filter(transfers::Column::Status.eq(status.as_str()));
        if let Some(after) = after {
            q = q.filter(transfers::Column::Id.gt(after.to_string()));
        }
        queued(
            q.order_by_asc(transfers::Column::Id)
                .limit(crate::queries::row_limit(limit))
                .into_partial_model::<QueuedRow>()
                .all(self.connection())
                .await?,
        )
    }

    /// The transfers of `ids` with only what a release needs, by id (missing ones are left
    /// out): transfers an executor already follows.
    pub async fn releases_by_ids(
        &self,
        ids: &[TransferId],
    ) -> Result<HashMap<TransferId, QueuedRelease>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            for row in transfers::Entity::find()
                .filter(transfers::Column::Id.is_in(id_texts(chunk)))
                .into_partial_model::<QueuedRow>()
                .all(self.connection())
                .await?
            {
                let t = QueuedRelease::try_from(row)?;
                out.insert(t.id, t);
            }
        }
        Ok(out)
    }

    /// An operator's retry of a `failed` transfer, after fixing its cause: back to `observed`,
    /// so validation and finality run again. Refused when a release was ever signed for it:
    /// a second one may only follow proof that the first cannot land (reconciliation's job).
    pub async fn retry(&self, id: TransferId, note: &str) -> Result<(), StoreError> {
        let signed = self.attempt_count(id).await?;
        if signed > 0 {
            return Err(StoreError::RetryRefused {
                id,
                reason: format!(
                    "{signed} release attempt(s) were signed for it; it is reconciled, not retried"
                ),
            });
        }
        self.move_status(
            id,
            TransferStatus::Failed,
            TransferStatus::Observed,
            Some(&Reason::OperatorRetry {
                note: note.to_string(),
            }),
            Vec::new(),
        )
        .await
    }

    /// A `stuck` transfer released to be signed again (`stuck → source_final`, keeping its
    /// approved release): for the relayer's retry, after the destination showed no release.
    pub async fn release_stuck(&self, id: TransferId, note: &str) -> Result<(), StoreError> {
        self.move_status(
            id,
            TransferStatus::Stuck,
            TransferStatus::SourceFinal,
            Some(&Reason::OperatorRetryNoRelease {
                note: note.to_string(),
            }),
            Vec::new(),
        )
        .await
    }

    /// Pauses (or resumes) releases to a chain; kept across restarts.
    pub async fn set_paused(
        &self,
        chain_id: u64,
        paused: bool,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        use chains::Column as C;
        let stmt = Query::update()
            .table(chains::Entity)
            .values([
                (C::Paused, paused.into()),
                (
                    C::PausedReason,
                    reason.filter(|_| paused).map(str::to_string).into(),
                ),
            ])
            .and_where(C::ChainId.eq(to_i64("chain id", chain_id)?))
            .to_owned();
        let changed = self.connection().execute(&stmt).await?.rows_affected();
        if changed == 0 {
            return Err(StoreError::OutOfRange(format!(
                "chain {chain_id} is not registered (run a command with the config first)"
            )));
        }
        Ok(())
    }

    /// Every registered chain with its pause state.
    pub async fn chain_states(&self) -> Result<Vec<chains::Model>, StoreError> {
        Ok(chains::Entity::find()
            .order_by_asc(chains::Column::ChainId)
            .all(self.connection())
            .await?)
    }

    /// How many transfers sit in each (source chain, destination chain, status), with the
    /// creation time of the oldest: what `relayer status` summarises.
    pub async fn transfer_counts(&self) -> Result<Vec<TransferCount>, StoreError> {
        use sea_orm::QuerySelect;
        use sea_orm::sea_query::{Expr, ExprTrait};
        let rows: Vec<(i64, i64, String, i64, i64)> = transfers::Entity::find()
            .select_only()
            .column(transfers::Column::SourceChainId)
            .column(transfers::Column::DestChainId)
            .column(transfers::Column::Status)
            .column_as(Expr::col(transfers::Column::Id).count(), "n")
            .column_as(Expr::col(transfers::Column::CreatedAtMs).min(), "oldest")
            .group_by(transfers::Column::SourceChainId)
            .group_by(transfers::Column::DestChainId)
            .group_by(transfers::Column::Status)
            .into_tuple()
            .all(self.connection())
            .await?;
        rows.into_iter()
            .map(|(source, dest, status, n, oldest)| {
                let key = format!("{source}→{dest} {status}");
                let row = Cells::of("transfers (counted)", &key);
                Ok(TransferCount {
                    source_chain_id: row.u64("source_chain_id", source)?,
                    dest_chain_id: row.u64("dest_chain_id", dest)?,
                    status: row.status("status", &status)?,
                    count: u64::try_from(n).unwrap_or_default(),
                    oldest_created_at_ms: oldest,
                })
            })
            .collect()
    }

    /// Transfers from `source_chain_id` in any of `statuses`, oldest block first.
    pub async fn transfers_in(
        &self,
        source_chain_id: u64,
        statuses: &[TransferStatus],
    ) -> Result<Vec<Transfer>, StoreError> {
        typed(
            transfers::Entity::find()
                .filter(transfers::Column::SourceChainId.eq(to_i64("chain id", source_chain_id)?))
                .filter(transfers::Column::Status.is_in(status_texts(statuses)))
                .order_by_asc(transfers::Column::SourceBlock)
                .order_by_asc(transfers::Column::SourceIndex)
                .all(self.connection())
                .await?,
        )
    }

    /// Every transfer, in no particular order: what `atoll audit` compares with the chains.
    pub async fn all_transfers(&self) -> Result<Vec<Transfer>, StoreError> {
        typed(transfers::Entity::find().all(self.connection()).await?)
    }

    /// Transfers from `source_chain_id` in one of `statuses` whose source block is above
    /// `above`: what the finality gate counts as released against deposits not final yet.
    pub async fn transfers_above(
        &self,
        source_chain_id: u64,
        statuses: &[TransferStatus],
        above: u64,
    ) -> Result<Vec<Transfer>, StoreError> {
        typed(
            transfers::Entity::find()
                .filter(transfers::Column::SourceChainId.eq(to_i64("chain id", source_chain_id)?))
                .filter(transfers::Column::SourceBlock.gt(to_i64("block", above)?))
                .filter(transfers::Column::Status.is_in(status_texts(statuses)))
                .all(self.connection())
                .await?,
        )
    }

    /// Transfers, newest first, optionally of one status and one source chain, at most `limit`.
    pub async fn transfers(
        &self,
        status: Option<TransferStatus>,
        source_chain_id: Option<u64>,
        limit: u64,
    ) -> Result<Vec<Transfer>, StoreError> {
        use sea_orm::QuerySelect;
        let mut q = transfers::Entity::find();
        if let Some(s) = status {
            q = q.filter(transfers::Column::Status.eq(s.as_str()));
        }
        if let Some(c) = source_chain_id {
            q = q.filter(transfers::Column::SourceChainId.eq(to_i64("chain id", c)?));
        }
        typed(
            q.order_by_desc(transfers::Column::CreatedAtMs)
                .order_by_desc(transfers::Column::SourceBlock)
                .order_by_asc(transfers::Column::Id)
                .limit(crate::queries::row_limit(limit))
                .all(self.connection())
                .await?,
        )
    }

    /// Transfers from one source chain, oldest block first.
    pub async fn transfers_from(&self, source_chain_id: u64) -> Result<Vec<Transfer>, StoreError> {
        typed(
            transfers::Entity::find()
                .filter(transfers::Column::SourceChainId.eq(to_i64("chain id", source_chain_id)?))
                .order_by_asc(transfers::Column::SourceBlock)
                .order_by_asc(transfers::Column::SourceTx)
                .order_by_asc(transfers::Column::SourceIndex)
                .all(self.connection())
                .await?,
        )
    }

    /// One transfer by id.
    pub async fn transfer(&self, id: TransferId) -> Result<Option<Transfer>, StoreError> {
        transfers::Entity::find_by_id(id.to_string())
            .one(self.connection())
            .await?
            .map(Transfer::try_from)
            .transpose()
    }
}
