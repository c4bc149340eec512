//! What an executor reads each step: a destination chain's release queue, with only the
//! columns a release needs ([`QueuedRelease`]; oldest first, by cursor, or by id), and the
//! release attempts signed for its transfers. Read it when an executor takes, skips or
//! re-reads the wrong transfers.

use std::collections::HashMap;

use atoll_core::{TransferId, TransferStatus};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use super::rows::{Attempt, QueuedRelease, QueuedRow, queued, status_texts};
use crate::cells::id_texts;
use crate::entities::{transfer_attempts, transfers};
use crate::queries::{IDS_PER_STATEMENT, to_i64};
use crate::{Store, StoreError};

impl Store {
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
}
