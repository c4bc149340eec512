//! What subscriptions stream. `transferUpdated` follows `transfer_history` by row id, so a
//! subscriber sees every status a transfer takes, in order, even when several happen between two
//! polls. `poolUpdated` forwards the pools whose record changed in a catalog reload.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Object;
use atoll_core::TransferId;
use atoll_store::history::HistoryEntry;
use atoll_store::records::PoolRecord;
use atoll_store::transfers::Transfer as StoredTransfer;
use futures::Stream;

use crate::ApiState;
use crate::error::ApiError;
use crate::types::{Pool, Transfer, time_of_ms};

/// How often subscriptions look for changed transfers.
pub const TRANSFER_POLL: Duration = Duration::from_millis(250);

/// One status change and the transfer as it is now.
pub struct TransferUpdate {
    change: HistoryEntry,
    transfer: Option<Transfer>,
}

#[Object]
impl TransferUpdate {
    async fn id(&self) -> String {
        self.change.transfer_id.to_string()
    }
    /// The status it left (null for a new transfer).
    async fn from(&self) -> Option<&str> {
        self.change
            .from_status
            .map(atoll_core::TransferStatus::as_str)
    }
    /// The status it took.
    async fn to(&self) -> &str {
        self.change.to_status.as_str()
    }
    async fn reason(&self) -> Option<String> {
        self.change.reason.as_ref().map(ToString::to_string)
    }
    async fn at(&self) -> chrono::DateTime<chrono::Utc> {
        time_of_ms(self.change.at_ms)
    }
    /// The transfer as stored when this update was read.
    async fn transfer(&self) -> Option<&Transfer> {
        self.transfer.as_ref()
    }
}

/// One batch of status changes as the poller read them, each with its transfer as stored.
type Batch = Arc<Vec<(HistoryEntry, Option<StoredTransfer>)>>;

/// The one poller behind every `transferUpdated` subscriber: while anyone listens it reads the
/// history rows after the last one it saw every `TRANSFER_POLL` and broadcasts them; nobody
/// listening, it reads nothing. Subscribers filter what they asked for, so a thousand of them
/// cost the store what one does.
pub struct TransferFeed {
    tx: tokio::sync::broadcast::Sender<Batch>,
    /// Where the poller starts again after an idle spell: the oldest start of the subscribers
    /// that arrived meanwhile.
    resume_from: std::sync::Mutex<Option<i32>>,
}

impl Default for TransferFeed {
    fn default() -> Self {
        TransferFeed {
            tx: tokio::sync::broadcast::channel(256).0,
            resume_from: std::sync::Mutex::new(None),
        }
    }
}

/// Rows read per poll, at most.
const ROWS_PER_POLL: u64 = 500;

impl TransferFeed {
    /// Runs the poller until `shutdown`.
    pub async fn poll(&self, state: &ApiState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut last: Option<i32> = None;
        loop {
            tokio::select! {
                () = tokio::time::sleep(TRANSFER_POLL) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            if self.tx.receiver_count() == 0 {
                last = None;
                continue;
            }
            let from = match last {
                Some(l) => {
                    // While the poller runs, a new subscriber's "now" is at or past `l` (it
                    // listens before it reads it): nothing to resume from later.
                    if let Ok(mut r) = self.resume_from.lock() {
                        r.take();
                    }
                    l
                }
                None => {
                    let resume = self.resume_from.lock().ok().and_then(|mut r| r.take());
                    match resume {
                        Some(r) => r,
                        None => continue,
                    }
                }
            };
            match self.read(state, from).await {
                Ok((batch, newest)) => {
                    last = Some(newest);
                    if !batch.is_empty() {
                        // No subscriber left is not an error.
                        let _ = self.tx.send(Arc::new(batch));
                    }
                }
                Err(e) => {
                    last = Some(from);
                    tracing::warn!(error = %e, "transferUpdated: cannot read history");
                }
            }
        }
    }

    async fn read(
        &self,
        state: &ApiState,
        after: i32,
    ) -> Result<(Vec<(HistoryEntry, Option<StoredTransfer>)>, i32), atoll_store::StoreError> {
        let rows = state
            .reader
            .history_after(after, None, ROWS_PER_POLL)
            .await?;
        let ids: Vec<TransferId> = rows.iter().map(|r| r.transfer_id).collect();
        let current = state.reader.transfers_by_ids(&ids).await?;
        let newest = rows.iter().map(|r| r.id).max().unwrap_or(after).max(after);
        let batch = rows
            .into_iter()
            .map(|change| {
                let t = current.get(&change.transfer_id).cloned();
                (change, t)
            })
            .collect();
        Ok((batch, newest))
    }

    /// A new subscriber: it listens before it reads where "now" is, so nothing committed after
    /// that is missed; an idle poller starts again from the oldest such "now".
    async fn subscribe(
        &self,
        state: &ApiState,
    ) -> Result<(tokio::sync::broadcast::Receiver<Batch>, i32), ApiError> {
        let rx = self.tx.subscribe();
        let now = state.reader.last_history_id().await?;
        if let Ok(mut r) = self.resume_from.lock() {
            *r = Some(r.map_or(now, |old| old.min(now)));
        }
        Ok((rx, now))
    }
}

struct Follow {
    state: ApiState,
    id: Option<TransferId>,
    last: i32,
    pending: VecDeque<TransferUpdate>,
    rx: tokio::sync::broadcast::Receiver<Batch>,
}

impl Follow {
    /// The changes of a broadcast batch this subscriber follows and has not seen.
    fn take(&mut self, batch: &Batch) {
        for (change, t) in batch.iter() {
            if change.id > self.last && self.id.is_none_or(|id| id == change.transfer_id) {
                self.pending.push_back(TransferUpdate {
                    change: change.clone(),
                    transfer: t.clone().map(Transfer),
                });
            }
        }
        if let Some(newest) = batch.iter().map(|(c, _)| c.id).max() {
            self.last = self.last.max(newest);
        }
    }

    /// Rows after `last` straight from the store: the start of one transfer's history, or
    /// catching up after falling behind the broadcast.
    async fn catch_up(&mut self) {
        loop {
            let rows = match self
                .state
                .reader
                .history_after(self.last, self.id, ROWS_PER_POLL)
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "transferUpdated: cannot read history");
                    return;
                }
            };
            let ids: Vec<TransferId> = rows.iter().map(|r| r.transfer_id).collect();
            let current = self
                .state
                .reader
                .transfers_by_ids(&ids)
                .await
                .unwrap_or_default();
            let full = rows.len() as u64 >= ROWS_PER_POLL;
            let newest = rows.iter().map(|r| r.id).max().unwrap_or(self.last);
            for change in rows {
                let t = current.get(&change.transfer_id).cloned();
                self.pending.push_back(TransferUpdate {
                    change,
                    transfer: t.map(Transfer),
                });
            }
            self.last = self.last.max(newest);
            if !full {
                return;
            }
        }
    }
}

/// Status changes from now on (of `id` only when given; its current history comes first),
/// from the shared poller ([`TransferFeed`]). A subscriber to every transfer that falls more
/// than the broadcast's buffer behind is ended with `FELL_BEHIND` (catching it up from the
/// store would be one unbounded read per slow client); one following a single transfer
/// catches up from that transfer's history.
pub fn transfer_updates(
    state: ApiState,
    id: Option<TransferId>,
) -> impl Stream<Item = Result<TransferUpdate, ApiError>> {
    enum Step {
        Start(ApiState, Option<TransferId>),
        Following(Follow),
        Ended,
    }
    futures::stream::unfold(Step::Start(state, id), |step| async move {
        let mut f = match step {
            Step::Ended => return None,
            Step::Following(f) => f,
            Step::Start(state, id) => {
                let feed = state.transfer_feed.clone();
                let (rx, now) = match feed.subscribe(&state).await {
                    Ok(s) => s,
                    Err(e) => return Some((Err(e), Step::Ended)),
                };
                // One transfer: its whole history first. All transfers: from now on.
                let mut f = Follow {
                    state,
                    last: if id.is_some() { 0 } else { now },
                    id,
                    pending: VecDeque::new(),
                    rx,
                };
                if f.id.is_some() {
                    f.catch_up().await;
                }
                f
            }
        };
        loop {
            if let Some(u) = f.pending.pop_front() {
                return Some((Ok(u), Step::Following(f)));
            }
            match f.rx.recv().await {
                Ok(batch) => f.take(&batch),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) if f.id.is_some() => {
                    f.catch_up().await;
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    return Some((Err(ApiError::FellBehind(n)), Step::Ended));
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
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
