//! Lending reserves in the store: their current rows (`lending_reserves`, written by the
//! indexer's lending stream each batch in its ingest transaction) and their history
//! (`lending_history`, a row per block a reserve was updated in), and the reads the API and
//! the realised-yield computation make. A reorg's rollback is in `reorg.rs`
//! ([`Store::rollback_lending_above`]).

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, EntityTrait, IntoActiveModel, Iterable, QueryFilter, QueryOrder, QuerySelect,
};

use crate::entities::{lending_history, lending_reserves};
use crate::ingest::IngestTxn;
use crate::queries::to_i64;
use crate::{Store, StoreError};

/// A reserve's current row, as stored.
pub type LendingReserveRow = lending_reserves::Model;
/// A reserve's row of one block.
pub type LendingHistoryRow = lending_history::Model;

impl IngestTxn {
    /// Writes the reserves' current rows (inserted the first time, replaced after).
    pub async fn upsert_lending_reserves(
        &self,
        rows: &[LendingReserveRow],
    ) -> Result<(), StoreError> {
        use lending_reserves::Column as C;
        for r in rows {
            lending_reserves::Entity::insert(r.clone().into_active_model())
                .on_conflict(
                    OnConflict::column(C::PoolId)
                        .update_columns(C::iter().filter(|c| !matches!(c, C::PoolId)))
                        .to_owned(),
                )
                .exec(&self.txn)
                .await?;
        }
        Ok(())
    }

    /// Records history rows; a row of a block already recorded is replaced (a batch read
    /// again after a failure writes the same values).
    pub async fn upsert_lending_history(
        &self,
        rows: &[LendingHistoryRow],
    ) -> Result<(), StoreError> {
        use lending_history::Column as C;
        for r in rows {
            lending_history::Entity::insert(r.clone().into_active_model())
                .on_conflict(
                    OnConflict::columns([C::PoolId, C::Block])
                        .update_columns(C::iter().filter(|c| !matches!(c, C::PoolId | C::Block)))
                        .to_owned(),
                )
                .exec(&self.txn)
                .await?;
        }
        Ok(())
    }

    /// The newest history row of `pool_id` at or before `time_ms` (read inside the batch, so
    /// rows the batch just wrote count).
    pub async fn lending_row_at(
        &self,
        pool_id: &str,
        time_ms: i64,
    ) -> Result<Option<LendingHistoryRow>, StoreError> {
        row_at(&self.txn, pool_id, time_ms).await
    }
}

async fn row_at<C: sea_orm::ConnectionTrait>(
    conn: &C,
    pool_id: &str,
    time_ms: i64,
) -> Result<Option<LendingHistoryRow>, StoreError> {
    use lending_history::Column as C;
    Ok(lending_history::Entity::find()
        .filter(C::PoolId.eq(pool_id))
        .filter(C::TimeMs.lte(time_ms))
        .order_by_desc(C::Block)
        .one(conn)
        .await?)
}

impl Store {
    /// The lending reserves, of one chain or of all, by pool id.
    pub async fn lending_reserves(
        &self,
        chain_id: Option<u64>,
    ) -> Result<Vec<LendingReserveRow>, StoreError> {
        let mut q = lending_reserves::Entity::find();
        if let Some(c) = chain_id {
            q = q.filter(lending_reserves::Column::ChainId.eq(to_i64("chain id", c)?));
        }
        Ok(q.order_by_asc(lending_reserves::Column::PoolId)
            .all(&self.db)
            .await?)
    }

    pub async fn lending_reserve(
        &self,
        pool_id: &str,
    ) -> Result<Option<LendingReserveRow>, StoreError> {
        Ok(lending_reserves::Entity::find_by_id(pool_id.to_string())
            .one(&self.db)
            .await?)
    }

    /// A reserve's history between two times (inclusive): its newest `limit` rows, oldest
    /// first (a bounded history request keeps the newest, not the oldest).
    pub async fn lending_history(
        &self,
        pool_id: &str,
        from_ms: i64,
        to_ms: i64,
        limit: u64,
    ) -> Result<Vec<LendingHistoryRow>, StoreError> {
        use lending_history::Column as C;
        let mut rows = lending_history::Entity::find()
            .filter(C::PoolId.eq(pool_id))
            .filter(C::TimeMs.gte(from_ms))
            .filter(C::TimeMs.lte(to_ms))
            .order_by_desc(C::Block)
            .limit(crate::queries::row_limit(limit))
            .all(&self.db)
            .await?;
        rows.reverse();
        Ok(rows)
    }

    /// The newest history row of `pool_id` at or before `time_ms`.
    pub async fn lending_row_at(
        &self,
        pool_id: &str,
        time_ms: i64,
    ) -> Result<Option<LendingHistoryRow>, StoreError> {
        row_at(&self.db, pool_id, time_ms).await
    }
}
