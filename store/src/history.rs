//! A transfer's status history as readers see it: one row per status change of one transfer.
//!
//! Stored, a move of a whole release transaction's batch is one `transfer_history` row naming
//! the transaction (`tx_hash`) and every transfer that moved (`transfer_ids`); see the
//! `m20261204_000008_history_by_release_tx` migration. The reads here expand those rows, so
//! `relayer show`, the API and subscriptions keep seeing each transfer's own changes. Row ids
//! give the order: a batch row and a transfer's own rows share one sequence.

use std::collections::{HashMap, HashSet};

use atoll_core::{B256, Reason, TransferId, TransferStatus};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::cells::Cells;
use crate::entities::{transfer_attempts, transfer_history};
use crate::{Store, StoreError};

use transfer_history::Column as H;

/// One status change of one transfer, as readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The history row's id: changes of one batch row share it. Gives the order.
    pub id: i32,
    pub transfer_id: TransferId,
    /// `None` for the change that records the transfer's first status.
    pub from_status: Option<TransferStatus>,
    pub to_status: TransferStatus,
    pub reason: Option<Reason>,
    pub at_ms: i64,
    /// The release transaction a batch move belongs to.
    pub tx_hash: Option<B256>,
}

impl TryFrom<transfer_history::Model> for HistoryEntry {
    type Error = StoreError;
    /// `row`, already about one transfer (expanded).
    fn try_from(row: transfer_history::Model) -> Result<HistoryEntry, StoreError> {
        let key = row.id.to_string();
        let cells = Cells::of("transfer_history", &key);
        Ok(HistoryEntry {
            id: row.id,
            transfer_id: cells.id("transfer_id", &row.transfer_id)?,
            from_status: row
                .from_status
                .as_deref()
                .map(|s| cells.status("from_status", s))
                .transpose()?,
            to_status: cells.status("to_status", &row.to_status)?,
            reason: Cells::reason(row.reason.as_deref()),
            at_ms: row.at_ms,
            tx_hash: cells.parse_opt("tx_hash", row.tx_hash.as_deref(), "a 32-byte hash")?,
        })
    }
}

fn entries(rows: Vec<transfer_history::Model>) -> Result<Vec<HistoryEntry>, StoreError> {
    rows.into_iter().map(HistoryEntry::try_from).collect()
}

/// The ids a batch row moved (`None` for a row about `transfer_id` alone).
fn moved_ids(row: &transfer_history::Model) -> Option<std::str::Split<'_, char>> {
    row.transfer_ids.as_deref().map(|ids| ids.split(','))
}

/// `row` as the change of `transfer_id` alone.
fn change_of(row: &transfer_history::Model, transfer_id: &str) -> transfer_history::Model {
    transfer_history::Model {
        transfer_id: transfer_id.to_string(),
        transfer_ids: None,
        ..row.clone()
    }
}

/// Every row expanded into one change per transfer, in row order.
fn expand(rows: Vec<transfer_history::Model>) -> Vec<transfer_history::Model> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        match moved_ids(&row) {
            Some(ids) => out.extend(ids.map(|id| change_of(&row, id))),
            None => out.push(row),
        }
    }
    out
}

/// The changes of transfer `id` in rows after `after_id`, oldest first, at most `limit`.
async fn changes_of<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    after_id: i32,
    limit: Option<u64>,
) -> Result<Vec<transfer_history::Model>, StoreError> {
    let mut own = transfer_history::Entity::find()
        .filter(H::TransferId.eq(id))
        .filter(H::TransferIds.is_null())
        .filter(H::Id.gt(after_id))
        .order_by_asc(H::Id);
    if let Some(l) = limit {
        own = own.limit(crate::queries::row_limit(l));
    }
    let mut rows = own.all(conn).await?;
    // Batch rows: of the transactions the transfer's attempts name.
    let hashes: Vec<String> = transfer_attempts::Entity::find()
        .select_only()
        .column(transfer_attempts::Column::TxHash)
        .filter(transfer_attempts::Column::TransferId.eq(id))
        .into_tuple::<String>()
        .all(conn)
        .await?
        .into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !hashes.is_empty() {
        let batch = transfer_history::Entity::find()
            .filter(H::TxHash.is_in(hashes))
            .filter(H::TransferIds.is_not_null())
            .filter(H::Id.gt(after_id))
            .order_by_asc(H::Id)
            .all(conn)
            .await?;
        rows.extend(
            batch
                .iter()
                .filter(|r| moved_ids(r).is_some_and(|mut ids| ids.any(|m| m == id)))
                .map(|r| change_of(r, id)),
        );
        rows.sort_by_key(|r| r.id);
    }
    if let Some(l) = limit {
        rows.truncate(usize::try_from(l).unwrap_or(usize::MAX));
    }
    Ok(rows)
}

impl Store {
    /// Every status transfer `id` took, oldest first.
    pub async fn transfer_history(&self, id: TransferId) -> Result<Vec<HistoryEntry>, StoreError> {
        entries(changes_of(self.connection(), &id.to_string(), 0, None).await?)
    }

    /// Status changes recorded after history row `after_id`, oldest first, from at most `limit`
    /// rows (of one transfer when `transfer_id` is given): what subscriptions stream. The
    /// changes of one batch row share its id, and come together.
    pub async fn history_after(
        &self,
        after_id: i32,
        transfer_id: Option<TransferId>,
        limit: u64,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        entries(match transfer_id {
            Some(t) => changes_of(self.connection(), &t.to_string(), after_id, Some(limit)).await?,
            None => expand(
                transfer_history::Entity::find()
                    .filter(H::Id.gt(after_id))
                    .order_by_asc(H::Id)
                    .limit(crate::queries::row_limit(limit))
                    .all(self.connection())
                    .await?,
            ),
        })
    }

    /// The newest history row's id (0 when there is none).
    pub async fn last_history_id(&self) -> Result<i32, StoreError> {
        let row: Option<Option<i32>> = transfer_history::Entity::find()
            .select_only()
            .column_as(Expr::col(H::Id).max(), "m")
            .into_tuple()
            .one(self.connection())
            .await?;
        Ok(row.flatten().unwrap_or(0))
    }

    /// When each transfer first reached `status` (from its history): `(id, at_ms)`.
    pub async fn reached(
        &self,
        status: TransferStatus,
    ) -> Result<Vec<(TransferId, i64)>, StoreError> {
        let own: Vec<(String, i64)> = transfer_history::Entity::find()
            .select_only()
            .column(H::TransferId)
            .column_as(Expr::col(H::AtMs).min(), "at")
            .filter(H::ToStatus.eq(status.as_str()))
            .filter(H::TransferIds.is_null())
            .group_by(H::TransferId)
            .into_tuple()
            .all(self.connection())
            .await?;
        let batches: Vec<(String, i64)> = transfer_history::Entity::find()
            .select_only()
            .column(H::TransferIds)
            .column(H::AtMs)
            .filter(H::ToStatus.eq(status.as_str()))
            .filter(H::TransferIds.is_not_null())
            .into_tuple()
            .all(self.connection())
            .await?;
        let mut first: HashMap<String, i64> = own.into_iter().collect();
        for (ids, at) in &batches {
            for id in ids.split(',') {
                first
                    .entry(id.to_string())
                    .and_modify(|t| *t = std::cmp::min(*t, *at))
                    .or_insert(*at);
            }
        }
        first
            .into_iter()
            .map(|(id, at)| {
                let id = Cells::of("transfer_history", &id).id("transfer_id", &id)?;
                Ok((id, at))
            })
            .collect()
    }
}
