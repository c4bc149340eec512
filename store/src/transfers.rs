//! Bridge transfers as the indexer records them: one row per deposit seen on a source chain,
//! keyed by its `TransferId` (and unique on source chain, tx and index), so scanning the same
//! range again inserts nothing twice. A transfer into a vault that cannot be released (missing
//! or malformed memo) is stored as `failed` with its reason, so the operator sees the funds.
//!
//! A deposit whose block leaves the canonical chain while it waits for its release (`observed`,
//! `source_final`, `awaiting_liquidity`, `awaiting_gas`, `paused`) becomes `failed` with a
//! reason starting [`REORGED_OUT`]; when the new chain holds a deposit with the
//! same id, recording it revives the row (`failed → observed`, the one move outside the state
//! machine's edges, allowed only here: nothing was ever signed for it).
//!
//! Every status a transfer takes is also a row of `transfer_history` with its reason, written
//! in the transaction of the change itself; [`Store::transition`] moves a transfer only from
//! the status its caller saw (compare-and-set) and only along the state machine's edges.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use atoll_core::TransferStatus;
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait, TryInsertResult,
};

use crate::entities::{chains, transfer_attempts, transfer_history, transfers};
use crate::ingest::IngestTxn;
use crate::queries::{IDS_PER_STATEMENT, now_ms, to_i64};
use crate::{Store, StoreError};

/// A transfer as an EVM executor releases it: the columns a release needs and no more. The
/// queue is read thousands of rows a step, and decoding all of each row's columns took about a
/// tenth of the step.
#[derive(Debug, Clone, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "transfers::Entity", from_query_result)]
pub struct QueuedRelease {
    pub id: String,
    pub status: String,
    pub dest_token: Option<String>,
    pub recipient: String,
    pub amount_out: Option<String>,
    /// Its route (source chain and token) and fee (source token units): what a
    /// `when_profitable` policy weighs against the release's gas.
    pub source_chain_id: i64,
    pub source_token: String,
    pub fee: Option<String>,
    /// When it entered its status: how long it has waited in `awaiting_gas`.
    pub updated_at_ms: i64,
}

impl From<transfers::Model> for QueuedRelease {
    fn from(t: transfers::Model) -> QueuedRelease {
        QueuedRelease {
            id: t.id,
            status: t.status,
            dest_token: t.dest_token,
            recipient: t.recipient,
            amount_out: t.amount_out,
            source_chain_id: t.source_chain_id,
            source_token: t.source_token,
            fee: t.fee,
            updated_at_ms: t.updated_at_ms,
        }
    }
}

/// How the failure reason of a deposit orphaned by a reorg starts.
pub const REORGED_OUT: &str = "reorged out";

/// One signed release, as persisted before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAttempt {
    pub chain_id: u64,
    /// EVM.
    pub nonce: Option<u64>,
    /// Solana: the blockhash and the last block height it is valid at.
    pub blockhash: Option<String>,
    pub last_valid_block_height: Option<u64>,
    /// Transaction hash (EVM) or signature (Solana).
    pub tx_hash: String,
    /// The signed transaction as sent (EVM: 0x-hex of the envelope; Solana: base64 bincode).
    pub raw_tx: String,
    pub max_fee_per_gas: Option<String>,
    pub priority_fee: Option<String>,
}

/// Transfers of one (source, destination, status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferCount {
    pub source_chain_id: i64,
    pub dest_chain_id: i64,
    pub status: String,
    pub count: u64,
    pub oldest_created_at_ms: i64,
}

/// What an approved deposit releases, as stored (decimal strings, addresses as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRelease {
    pub dest_token: String,
    pub amount_out: String,
    pub fee: String,
}

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
                &r.id,
                None,
                r.status,
                r.failure_reason.as_deref(),
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
        let mut legacy: Vec<&transfers::Model> = same_tx
            .iter()
            .filter(|t| t.id != r.id)
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
        let status: TransferStatus = same.status.parse().map_err(|_| {
            StoreError::OutOfRange(format!("transfer {}: status {:?}", same.id, same.status))
        })?;
        let reason = format!(
            "seen again under the reorg-stable id {}; kept under its legacy id",
            r.id
        );
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
        let Some(existing) = transfers::Entity::find_by_id(r.id.clone())
            .one(self.connection())
            .await?
        else {
            return Ok(0);
        };
        let orphaned = existing.status == TransferStatus::Failed.as_str()
            && existing
                .failure_reason
                .as_deref()
                .is_some_and(|f| f.starts_with(REORGED_OUT));
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
                (C::AmountIn, r.amount_in.clone().into()),
                (C::Status, r.status.as_str().into()),
                (C::FailureReason, r.failure_reason.clone().into()),
                (C::UpdatedAtMs, now.into()),
            ])
            .and_where(C::Id.eq(r.id.as_str()))
            .and_where(C::Status.eq(TransferStatus::Failed.as_str()))
            .to_owned();
        self.connection().execute(&stmt).await?;
        let reason = format!(
            "seen again on the new chain: block {}, tx {}",
            r.source_block, r.source_tx
        );
        record_history(
            self.connection(),
            &r.id,
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
        let recorded = (
            existing.dest_chain_id,
            existing.source_token.as_str(),
            existing.recipient.as_str(),
            existing.amount_in.as_str(),
        );
        let seen = (
            to_i64("chain id", r.dest_chain_id)?,
            r.source_token.as_str(),
            r.recipient.as_str(),
            r.amount_in.as_str(),
        );
        if recorded == seen {
            return Ok(());
        }
        let reason = format!(
            "conflict: the source chain now shows this deposit (block {}, tx {}) as {} of {} to {} on chain {}; recorded as {} of {} to {} on chain {}",
            r.source_block,
            r.source_tx,
            r.amount_in,
            r.source_token,
            r.recipient,
            r.dest_chain_id,
            existing.amount_in,
            existing.source_token,
            existing.recipient,
            existing.dest_chain_id,
        );
        tracing::error!(transfer = %existing.id, status = %existing.status, "{reason}");
        let status: TransferStatus = existing.status.parse().map_err(|_| {
            StoreError::OutOfRange(format!(
                "transfer {}: status {:?}",
                existing.id, existing.status
            ))
        })?;
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
/// ([`REORGED_OUT`]): a deposit no longer on its source chain is never paid, whatever it waited
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
        let status: TransferStatus = t.status.parse().map_err(|_| {
            StoreError::OutOfRange(format!("transfer {}: status {:?}", t.id, t.status))
        })?;
        // `stuck` had releases signed: one may have landed (the audit would say), so it is at
        // risk like any transfer whose release may exist.
        if status.release_may_exist() || status == TransferStatus::Stuck {
            let reason = format!(
                "source block {} left the canonical chain after the transfer moved on: check its release",
                t.source_block
            );
            tracing::error!(transfer = %t.id, status = %t.status, "{reason}");
            record_history(conn, &t.id, Some(status), status, Some(&reason), now).await?;
            at_risk += 1;
            continue;
        }
        let reason = format!(
            "{REORGED_OUT}: block {} left the canonical chain while the deposit was {status}; nothing was paid",
            t.source_block
        );
        use transfers::Column as C;
        let stmt = Query::update()
            .table(transfers::Entity)
            .values([
                (C::Status, TransferStatus::Failed.as_str().into()),
                (C::FailureReason, Some(reason.clone()).into()),
                (C::UpdatedAtMs, now.into()),
            ])
            .and_where(C::Id.eq(t.id.as_str()))
            .and_where(C::Status.eq(status.as_str()))
            .to_owned();
        if conn.execute(&stmt).await?.rows_affected() == 0 {
            // An executor moved it meanwhile (signed it, on PostgreSQL's concurrent writers):
            // its release may exist now. Never "nothing was paid": at risk, said loudly.
            let reason = format!(
                "source block {} left the canonical chain while its release was being signed: check its release",
                t.source_block
            );
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
    id: &str,
    from: TransferStatus,
    to: TransferStatus,
    reason: Option<&str>,
    extra: Vec<(transfers::Column, sea_orm::Value)>,
) -> Result<(), StoreError> {
    if !from.can_become(to) {
        return Err(StoreError::IllegalTransition {
            id: id.to_string(),
            from,
            to,
        });
    }
    let now = now_ms();
    let failure = if to.carries_reason() {
        reason.map(str::to_string)
    } else {
        None
    };
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
        .and_where(C::Id.eq(id))
        .and_where(crate::release_txs::status_is(from))
        .to_owned();
    if conn.execute(&stmt).await?.rows_affected() == 0 {
        let found = transfers::Entity::find_by_id(id.to_string())
            .one(conn)
            .await?
            .map_or_else(|| "no such transfer".to_string(), |t| t.status);
        return Err(StoreError::TransferMoved {
            id: id.to_string(),
            expected: from,
            found,
        });
    }
    record_history(conn, id, Some(from), to, reason, now).await
}

async fn record_history<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    from: Option<TransferStatus>,
    to: TransferStatus,
    reason: Option<&str>,
    at_ms: i64,
) -> Result<(), StoreError> {
    transfer_history::Entity::insert(transfer_history::ActiveModel {
        transfer_id: Set(id.to_string()),
        from_status: Set(from.map(|s| s.as_str().to_string())),
        to_status: Set(to.as_str().to_string()),
        reason: Set(reason.map(str::to_string)),
        at_ms: Set(at_ms),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Moves transfer `id` from `from` to `to`, recording `reason` (the failure reason when
    /// `to` is `Failed`, else why it moved or waits) in its history, in one transaction. Fails
    /// without writing when the edge is not in the state machine, or when the transfer is no
    /// longer in `from` (another worker moved it first).
    pub async fn transition(
        &self,
        id: &str,
        from: TransferStatus,
        to: TransferStatus,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.move_status(id, from, to, reason, Vec::new()).await
    }

    /// `observed → source_final` with the release the deposit becomes (its destination token,
    /// the amount out in the destination's decimals, the fee in the source's), written together.
    pub async fn approve_release(
        &self,
        id: &str,
        reason: &str,
        release: &PlannedRelease,
    ) -> Result<(), StoreError> {
        self.approve_releases(&[(id.to_string(), reason.to_string(), release.clone())])
            .await
    }

    /// [`Store::approve_release`] for many deposits in one database transaction (all or none):
    /// `(id, reason, release)` each.
    pub async fn approve_releases(
        &self,
        approvals: &[(String, String, PlannedRelease)],
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
                id,
                TransferStatus::Observed,
                TransferStatus::SourceFinal,
                Some(reason),
                vec![
                    (C::DestToken, Some(release.dest_token.clone()).into()),
                    (C::AmountOut, Some(release.amount_out.clone()).into()),
                    (C::Fee, Some(release.fee.clone()).into()),
                ],
            )
            .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    async fn move_status(
        &self,
        id: &str,
        from: TransferStatus,
        to: TransferStatus,
        reason: Option<&str>,
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
        id: &str,
        from: TransferStatus,
        attempt: &SignedAttempt,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let txn = self.connection().begin().await?;
        let reason = format!("signed {}", attempt.tx_hash);
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
            max_fee_per_gas: Set(attempt.max_fee_per_gas.clone()),
            priority_fee: Set(attempt.priority_fee.clone()),
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
    pub async fn attempt_count(&self, id: &str) -> Result<u64, StoreError> {
        Ok(transfer_attempts::Entity::find()
            .filter(transfer_attempts::Column::TransferId.eq(id))
            .count(self.connection())
            .await?)
    }

    /// The newest release attempt of a transfer.
    pub async fn latest_attempt(
        &self,
        id: &str,
    ) -> Result<Option<transfer_attempts::Model>, StoreError> {
        Ok(transfer_attempts::Entity::find()
            .filter(transfer_attempts::Column::TransferId.eq(id))
            .order_by_desc(transfer_attempts::Column::Id)
            .one(self.connection())
            .await?)
    }

    /// The newest release attempt of each of `ids` (transfers without one are left out): one
    /// query per 500 ids (`IDS_PER_STATEMENT`), for an executor following many transfers in one
    /// pass.
    pub async fn latest_attempts(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, transfer_attempts::Model>, StoreError> {
        let mut newest: std::collections::HashMap<String, transfer_attempts::Model> =
            std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            for attempt in transfer_attempts::Entity::find()
                .filter(transfer_attempts::Column::TransferId.is_in(chunk.iter().cloned()))
                .order_by_asc(transfer_attempts::Column::Id)
                .all(self.connection())
                .await?
            {
                // Ascending ids: the last one seen per transfer is its newest.
                newest.insert(attempt.transfer_id.clone(), attempt);
            }
        }
        Ok(newest)
    }

    /// Transfers bound for `dest_chain_id` in any of `statuses`, oldest first.
    pub async fn transfers_to(
        &self,
        dest_chain_id: u64,
        statuses: &[TransferStatus],
    ) -> Result<Vec<transfers::Model>, StoreError> {
        Ok(transfers::Entity::find()
            .filter(transfers::Column::DestChainId.eq(to_i64("chain id", dest_chain_id)?))
            .filter(
                transfers::Column::Status
                    .is_in(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
            )
            .order_by_asc(transfers::Column::CreatedAtMs)
            .order_by_asc(transfers::Column::Id)
            .all(self.connection())
            .await?)
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
        Ok(transfers::Entity::find()
            .filter(transfers::Column::DestChainId.eq(to_i64("chain id", dest_chain_id)?))
            .filter(transfers::Column::Status.eq(status.as_str()))
            .order_by_asc(transfers::Column::CreatedAtMs)
            .order_by_asc(transfers::Column::Id)
            .limit(crate::queries::row_limit(limit))
            .into_partial_model::<QueuedRelease>()
            .all(self.connection())
            .await?)
    }

    /// Up to `limit` transfers bound for `dest_chain_id` in `status` whose id is above `after`,
    /// in id order: a cursor that walks the whole set a page per step and wraps around, so a
    /// long line of transfers that keep waiting never hides the ones behind it.
    pub async fn queued_releases_after(
        &self,
        dest_chain_id: u64,
        status: TransferStatus,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<QueuedRelease>, StoreError> {
        use sea_orm::QuerySelect;
        let mut q = transfers::Entity::find()
            .filter(transfers::Column::DestChainId.eq(to_i64("chain id", dest_chain_id)?))
            .filter(transfers::Column::Status.eq(status.as_str()));
        if let Some(after) = after {
            q = q.filter(transfers::Column::Id.gt(after));
        }
        Ok(q.order_by_asc(transfers::Column::Id)
            .limit(crate::queries::row_limit(limit))
            .into_partial_model::<QueuedRelease>()
            .all(self.connection())
            .await?)
    }

    /// An operator's retry of a `failed` transfer, after fixing its cause: back to `observed`,
    /// so validation and finality run again. Refused when a release was ever signed for it:
    /// a second one may only follow proof that the first cannot land (reconciliation's job).
    pub async fn retry(&self, id: &str, note: &str) -> Result<(), StoreError> {
        let signed = self.attempt_count(id).await?;
        if signed > 0 {
            return Err(StoreError::RetryRefused {
                id: id.to_string(),
                reason: format!(
                    "{signed} release attempt(s) were signed for it; it is reconciled, not retried"
                ),
            });
        }
        self.move_status(
            id,
            TransferStatus::Failed,
            TransferStatus::Observed,
            Some(&format!("operator retry: {note}")),
            Vec::new(),
        )
        .await
    }

    /// A `stuck` transfer released to be signed again (`stuck → source_final`, keeping its
    /// approved release): for the relayer's retry, after the destination showed no release.
    pub async fn release_stuck(&self, id: &str, note: &str) -> Result<(), StoreError> {
        self.move_status(
            id,
            TransferStatus::Stuck,
            TransferStatus::SourceFinal,
            Some(&format!(
                "operator retry, the destination showing no release: {note}"
            )),
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
        Ok(rows
            .into_iter()
            .map(|(source, dest, status, n, oldest)| TransferCount {
                source_chain_id: source,
                dest_chain_id: dest,
                status,
                count: u64::try_from(n).unwrap_or_default(),
                oldest_created_at_ms: oldest,
            })
            .collect())
    }

    /// Transfers from `source_chain_id` in any of `statuses`, oldest block first.
    pub async fn transfers_in(
        &self,
        source_chain_id: u64,
        statuses: &[TransferStatus],
    ) -> Result<Vec<transfers::Model>, StoreError> {
        Ok(transfers::Entity::find()
            .filter(transfers::Column::SourceChainId.eq(to_i64("chain id", source_chain_id)?))
            .filter(
                transfers::Column::Status
                    .is_in(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
            )
            .order_by_asc(transfers::Column::SourceBlock)
            .order_by_asc(transfers::Column::SourceIndex)
            .all(self.connection())
            .await?)
    }

    /// Every transfer, in no particular order: what `atoll audit` compares with the chains.
    pub async fn all_transfers(&self) -> Result<Vec<transfers::Model>, StoreError> {
        Ok(transfers::Entity::find().all(self.connection()).await?)
    }

    /// Transfers from `source_chain_id` in one of `statuses` whose source block is above
    /// `above`: what the finality gate counts as released against deposits not final yet.
    pub async fn transfers_above(
        &self,
        source_chain_id: u64,
        statuses: &[TransferStatus],
        above: u64,
    ) -> Result<Vec<transfers::Model>, StoreError> {
        Ok(transfers::Entity::find()
            .filter(transfers::Column::SourceChainId.eq(to_i64("chain id", source_chain_id)?))
            .filter(transfers::Column::SourceBlock.gt(to_i64("block", above)?))
            .filter(
                transfers::Column::Status
                    .is_in(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
            )
            .all(self.connection())
            .await?)
    }

    /// Transfers, newest first, optionally of one status and one source chain, at most `limit`.
    pub async fn transfers(
        &self,
        status: Option<TransferStatus>,
        source_chain_id: Option<u64>,
        limit: u64,
    ) -> Result<Vec<transfers::Model>, StoreError> {
        use sea_orm::QuerySelect;
        let mut q = transfers::Entity::find();
        if let Some(s) = status {
            q = q.filter(transfers::Column::Status.eq(s.as_str()));
        }
        if let Some(c) = source_chain_id {
            q = q.filter(transfers::Column::SourceChainId.eq(to_i64("chain id", c)?));
        }
        Ok(q.order_by_desc(transfers::Column::CreatedAtMs)
            .order_by_desc(transfers::Column::SourceBlock)
            .order_by_asc(transfers::Column::Id)
            .limit(crate::queries::row_limit(limit))
            .all(self.connection())
            .await?)
    }

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
