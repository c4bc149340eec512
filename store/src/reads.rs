//! Reads for the API: a read-only connection pool (so dashboards never queue behind the
//! relayer's writer on SQLite), keyset pages of transfers, a transfer's attempts, a pool's history
//! in a time range, and every index checkpoint (freshness for `_meta`).

use std::time::Duration;

use atoll_core::{TransferId, TransferStatus};
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectOptions, Database, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::entities::{
    index_checkpoints, pool_hourly, pool_snapshots, transfer_attempts, transfers,
};
use crate::ingest::{HourlyVolume, hourly_volume};
use crate::queries::to_i64;
use crate::transfers::{Attempt, Transfer, typed};
use crate::{Store, StoreError, redact};

/// Which transfers a page holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferFilter {
    pub status: Option<TransferStatus>,
    pub source_chain_id: Option<u64>,
    pub dest_chain_id: Option<u64>,
}

/// Where a page of transfers (newest first, then by id) resumes: after this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferCursor {
    pub created_at_ms: i64,
    pub id: TransferId,
}

/// One page of transfers and how many match the filter in all.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferPage {
    pub transfers: Vec<Transfer>,
    pub has_next: bool,
    /// Transfers matching the filter, when asked for (a count reads every matching row).
    pub total: Option<u64>,
}

impl Store {
    /// A pool for reads only. On SQLite: its own read-only connections to the file (WAL lets
    /// them read while the writer writes). On PostgreSQL: a pool like `connect`'s.
    pub async fn connect_reader(url: &str, connections: u32) -> Result<Store, StoreError> {
        if !url.starts_with("sqlite:") {
            return Store::connect(url).await;
        }
        crate::check_sqlite_url(url)?;
        let mut opts = ConnectOptions::new(url.to_string());
        opts.sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(10))
            .max_connections(Ord::max(connections, 1))
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| {
                o.read_only(true)
                    .busy_timeout(Duration::from_secs(10))
                    .pragma("cache_size", "-16384")
            });
        let db = Database::connect(opts)
            .await
            .map_err(|e| StoreError::Connect {
                url: redact(url),
                reason: e.to_string(),
            })?;
        Ok(Store {
            db,
            write_lock: None,
        })
    }

    /// At most `first` transfers matching `filter` after `after`, newest first.
    pub async fn transfers_page(
        &self,
        filter: &TransferFilter,
        after: Option<&TransferCursor>,
        first: u64,
        count_total: bool,
    ) -> Result<TransferPage, StoreError> {
        let mut q = transfers::Entity::find();
        if let Some(s) = filter.status {
            q = q.filter(transfers::Column::Status.eq(s.as_str()));
        }
        if let Some(c) = filter.source_chain_id {
            q = q.filter(transfers::Column::SourceChainId.eq(to_i64("chain id", c)?));
        }
        if let Some(c) = filter.dest_chain_id {
            q = q.filter(transfers::Column::DestChainId.eq(to_i64("chain id", c)?));
        }
        let total = if count_total {
            Some(q.clone().count(&self.db).await?)
        } else {
            None
        };
        if let Some(a) = after {
            q = q.filter(
                Condition::any()
                    .add(transfers::Column::CreatedAtMs.lt(a.created_at_ms))
                    .add(
                        Condition::all()
                            .add(transfers::Column::CreatedAtMs.eq(a.created_at_ms))
                            .add(transfers::Column::Id.gt(a.id.to_string())),
                    ),
            );
        }
        let mut rows = q
            .order_by_desc(transfers::Column::CreatedAtMs)
            .order_by_asc(transfers::Column::Id)
            .limit(crate::queries::row_limit(first.saturating_add(1)))
            .all(&self.db)
            .await?;
        let has_next = rows.len() as u64 > first;
        rows.truncate(usize::try_from(first).unwrap_or(usize::MAX));
        Ok(TransferPage {
            transfers: typed(rows)?,
            has_next,
            total,
        })
    }

    /// Every attempt made for transfer `id` (signed transactions or messages), oldest first.
    pub async fn transfer_attempts(&self, id: TransferId) -> Result<Vec<Attempt>, StoreError> {
        transfer_attempts::Entity::find()
            .filter(transfer_attempts::Column::TransferId.eq(id.to_string()))
            .order_by_asc(transfer_attempts::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Attempt::try_from)
            .collect()
    }

    /// A pool's hourly swap volumes with `from_ms <= bucket start < to_ms`, oldest first.
    pub async fn pool_hourly_between(
        &self,
        pool_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<HourlyVolume>, StoreError> {
        pool_hourly::Entity::find()
            .filter(pool_hourly::Column::PoolId.eq(pool_id))
            .filter(pool_hourly::Column::BucketStartMs.gte(from_ms))
            .filter(pool_hourly::Column::BucketStartMs.lt(to_ms))
            .order_by_asc(pool_hourly::Column::BucketStartMs)
            .all(&self.db)
            .await?
            .into_iter()
            .map(hourly_volume)
            .collect()
    }

    /// A pool's snapshots (state, TVL, yields per bucket) with `from_ms <= start < to_ms`.
    pub async fn pool_snapshots_between(
        &self,
        pool_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<pool_snapshots::Model>, StoreError> {
        Ok(pool_snapshots::Entity::find()
            .filter(pool_snapshots::Column::PoolId.eq(pool_id))
            .filter(pool_snapshots::Column::BucketStartMs.gte(from_ms))
            .filter(pool_snapshots::Column::BucketStartMs.lt(to_ms))
            .order_by_asc(pool_snapshots::Column::BucketStartMs)
            .all(&self.db)
            .await?)
    }

    /// Every stream's checkpoint, by chain.
    pub async fn checkpoints(&self) -> Result<Vec<index_checkpoints::Model>, StoreError> {
        Ok(index_checkpoints::Entity::find()
            .order_by_asc(index_checkpoints::Column::ChainId)
            .order_by_asc(index_checkpoints::Column::Stream)
            .all(&self.db)
            .await?)
    }

    /// The newest `updated_at_ms` over all pools: changes whenever the indexer writes a pool.
    pub async fn pools_version(&self) -> Result<(i64, u64), StoreError> {
        let row: Option<(Option<i64>, i64)> = crate::entities::pools::Entity::find()
            .select_only()
            .column_as(
                Expr::col(crate::entities::pools::Column::UpdatedAtMs).max(),
                "v",
            )
            .column_as(Expr::col(crate::entities::pools::Column::Id).count(), "n")
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(row.map_or((0, 0), |(v, n)| {
            (v.unwrap_or(0), u64::try_from(n).unwrap_or(0))
        }))
    }

    /// The transfer a deposit transaction on `source_chain_id` made (the first, by index).
    pub async fn transfer_by_source_tx(
        &self,
        source_chain_id: u64,
        tx: &str,
    ) -> Result<Option<Transfer>, StoreError> {
        transfers::Entity::find()
            .filter(transfers::Column::SourceChainId.eq(to_i64("chain id", source_chain_id)?))
            .filter(transfers::Column::SourceTx.eq(tx))
            .order_by_asc(transfers::Column::SourceIndex)
            .one(&self.db)
            .await?
            .map(Transfer::try_from)
            .transpose()
    }
}
