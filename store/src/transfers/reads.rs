//! Reads of whole transfers (by id, source chain, destination chain, status or block), the
//! counts per route and status, and the chains' pause state: what the gate, the audit and the
//! operator's commands read. The API's pages of transfers are in `crate::reads`, a transfer's
//! history in `crate::history`. Read it to find the query behind a listing.

use atoll_core::{TransferId, TransferStatus};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::rows::{Transfer, TransferCount, status_texts, typed};
use crate::cells::Cells;
use crate::entities::{chains, transfers};
use crate::queries::to_i64;
use crate::{Store, StoreError};

impl Store {
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
