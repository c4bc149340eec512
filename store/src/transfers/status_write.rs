//! The two writes under every status change of a single transfer: [`move_status_in`], the
//! compare-and-set along the state machine's edges, and [`record_history`], the
//! `transfer_history` row written in the same transaction as the change. Moves of a release
//! transaction's whole batch write their own (`release_txs`). Read it when a move is refused
//! (`IllegalTransition`, `TransferMoved`) or a history row looks wrong.

use atoll_core::{Reason, TransferId, TransferStatus};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait};

use crate::StoreError;
use crate::entities::{transfer_history, transfers};
use crate::queries::now_ms;

/// `from → to` on transfer `id` inside `conn`'s transaction: refused off the state machine's
/// edges, and when the transfer is no longer in `from` (compare-and-set); the history row with
/// `reason` is written with it. `extra` sets more columns in the same update.
pub(super) async fn move_status_in<C: ConnectionTrait>(
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
        .and_where(status_is(from))
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
pub(super) async fn record_history<C: ConnectionTrait>(
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

/// `status = from`, written so no index can serve it (`status || ''`): the rows are found by
/// their ids (primary key) and only checked against the status. Without table statistics
/// SQLite's planner otherwise walks every transfer in `from` through a status index for an
/// update of a few hundred ids: 2-3x the cost of the whole update at 50,000 queued.
pub(crate) fn status_is(from: TransferStatus) -> sea_orm::sea_query::SimpleExpr {
    Expr::col(transfers::Column::Status)
        .binary(sea_orm::sea_query::BinOper::Custom("||"), "")
        .eq(from.as_str())
}
