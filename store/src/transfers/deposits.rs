//! Deposits coming in from the indexer, and going away with a reorg.
//!
//! [`IngestTxn::insert_deposits`] records what a source chain shows: one row per deposit, keyed
//! by its `TransferId`, so a re-scan inserts nothing twice. A deposit already recorded under a
//! pre-upgrade (legacy) id, or seen again with other terms, gets a history row instead of a
//! second transfer. [`orphan_deposits_above`], called by `Store::rollback_deposits_above` in its
//! transaction, fails the deposits a reorg removed while they waited for their release
//! ([`Reason::ReorgedOut`]); recording the same id again from the new chain revives the row
//! (`failed → observed`, the one move outside the state machine's edges, allowed only here:
//! nothing was ever signed for it).
//!
//! Read it when a deposit is missing, recorded twice, failed as reorged out, or has a conflict
//! or legacy-id row in its history.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use atoll_core::reason::DepositTerms;
use atoll_core::{Reason, TransferStatus};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TryInsertResult,
};

use super::rows::DepositRow;
use super::status_write::record_history;
use crate::StoreError;
use crate::cells::Cells;
use crate::entities::transfers;
use crate::ingest_txn::IngestTxn;
use crate::queries::{IDS_PER_STATEMENT, now_ms, to_i64};

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

    /// Whether `r`, an EVM deposit, was recorded before ids were derived from the deposit's
    /// transaction: then its row carries the vault's counter id (not `derive(chain, tx,
    /// source_index)`) and a log index as `source_index`. The `r.source_index`-th such row of
    /// the same transaction (in log order) is the same deposit: it is kept, with a history row
    /// saying so, and nothing new is recorded, so a re-scan across the upgrade (a reorg's
    /// rollback) cannot make a paid deposit a second transfer.
    /// `same_tx`: the rows already recorded for `r`'s source transaction (read once per batch
    /// by [`IngestTxn::rows_of_source_txs`], not once per deposit).
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
