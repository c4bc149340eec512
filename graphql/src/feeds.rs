//! What subscriptions stream. `transferUpdated` follows `transfer_history` by row id, so a
//! subscriber sees every status a transfer takes, in order, even when several happen between two
//! polls. `poolUpdated` forwards the pools whose record changed in a catalog reload.

use std::collections::VecDeque;
use std::sync::Arc;

use async_graphql::Object;
use atoll_store::entities::transfer_history;
use atoll_store::records::PoolRecord;
use futures::Stream;

use crate::ApiState;
use crate::schema::TRANSFER_POLL;
use crate::types::{Pool, Transfer, time_of_ms};

/// One status change and the transfer as it is now.
pub struct TransferUpdate {
    change: transfer_history::Model,
    transfer: Option<Transfer>,
}

#[Object]
impl TransferUpdate {
    async fn id(&self) -> &str {
        &self.change.transfer_id
    }
    /// The status it left (null for a new transfer).
    async fn from(&self) -> Option<&str> {
        self.change.from_status.as_deref()
    }
    /// The status it took.
    async fn to(&self) -> &str {
        &self.change.to_status
    }
    async fn reason(&self) -> Option<&str> {
        self.change.reason.as_deref()
    }
    async fn at(&self) -> chrono::DateTime<chrono::Utc> {
        time_of_ms(self.change.at_ms)
    }
    /// The transfer as stored when this update was read.
    async fn transfer(&self) -> Option<&Transfer> {
        self.transfer.as_ref()
    }
}

struct Follow {
    state: ApiState,
    id: Option<String>,
    last: i32,
    pending: VecDeque<TransferUpdate>,
    started: bool,
}

/// Status changes from now on (of `id` only when given; its current history comes first).
pub fn transfer_updates(state: ApiState, id: Option<String>) -> impl Stream<Item = TransferUpdate> {
    let follow = Follow {
        state,
        id,
        last: 0,
        pending: VecDeque::new(),
        started: false,
    };
    futures::stream::unfold(follow, |mut f| async move {
        loop {
            if let Some(u) = f.pending.pop_front() {
                return Some((u, f));
            }
            if f.started {
                tokio::time::sleep(TRANSFER_POLL).await;
            } else {
                f.started = true;
                // One transfer: replay its whole history. All transfers: from now on.
                if f.id.is_none() {
                    match f.state.reader.last_history_id().await {
                        Ok(l) => f.last = l,
                        Err(e) => {
                            tracing::warn!(error = %e, "transferUpdated: cannot read history")
                        }
                    }
                }
            }
            let rows = match f
                .state
                .reader
                .history_after(f.last, f.id.as_deref(), 500)
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "transferUpdated: cannot read history");
                    continue;
                }
            };
            let ids: Vec<String> = rows.iter().map(|r| r.transfer_id.clone()).collect();
            let current = f
                .state
                .reader
                .transfers_by_ids(&ids)
                .await
                .unwrap_or_default();
            for change in rows {
                f.last = f.last.max(change.id);
                // Several changes of one transfer in a batch share its current row.
                let transfer = current.get(&change.transfer_id).cloned().map(Transfer);
                f.pending.push_back(TransferUpdate { change, transfer });
            }
        }
    })
}

/// Pools whose record changed from now on (of `id` only when given).
pub fn pool_updates(state: ApiState, id: Option<String>) -> impl Stream<Item = Pool> {
    let rx = state.pool_changes.subscribe();
    futures::stream::unfold((rx, id), |(mut rx, id)| async move {
        loop {
            match rx.recv().await {
                Ok(p) if id.as_deref().is_none_or(|i| i == p.pool) => {
                    return Some((Pool(p), (rx, id)));
                }
                Ok(_) => {}
                // A slow subscriber skips what it missed; the next change still arrives.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

pub type PoolChanges = tokio::sync::broadcast::Sender<Arc<PoolRecord>>;
