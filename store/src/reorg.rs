//! Reorgs in the store: where a stream's common ancestor can be (its own block hashes,
//! [`Store::block_hashes_below`]), and undoing what a stream wrote above it, in one transaction
//! each: [`Store::rollback_pools_above`] (events, snapshots, discovered pools, hourly volumes
//! rebuilt), [`Store::rollback_deposits_above`] (deposits failed as reorged out, or flagged
//! at risk) and [`Store::rollback_lending_above`] (lending reserves' history). [`Store::hand_over_deposits`] gives a database from before EVM deposits had a
//! stream of their own its deposit stream. Read it when a rollback undid too much or too little.

use atoll_core::U256;
use atoll_core::time::HOUR_MS;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

use crate::entities::{block_hashes, pool_events, pool_hourly, pool_snapshots, pools};
use crate::ingest::{BlockHashRow, lp_fee, u64_of, u256};
use crate::queries::to_i64;
use crate::{Checkpoint, Store, StoreError};

impl Store {
    /// The block hashes `stream` of a chain stored at or below `at_or_below`, newest first. A
    /// stream's reorg is resolved with its own hashes only: another stream may already have
    /// read the new chain at heights where this one still holds the old chain's rows.
    pub async fn block_hashes_below(
        &self,
        chain_id: u64,
        stream: &str,
        at_or_below: u64,
        limit: u64,
    ) -> Result<Vec<BlockHashRow>, StoreError> {
        block_hashes::Entity::find()
            .filter(block_hashes::Column::ChainId.eq(to_i64("chain id", chain_id)?))
            .filter(block_hashes::Column::Stream.eq(stream))
            .filter(block_hashes::Column::BlockNumber.lte(to_i64("block", at_or_below)?))
            .order_by_desc(block_hashes::Column::BlockNumber)
            .limit(crate::queries::row_limit(limit))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| {
                Ok(BlockHashRow {
                    number: u64_of("block", r.block_number)?,
                    hash: r.block_hash,
                    parent_hash: r.parent_hash,
                })
            })
            .collect()
    }

    /// Undoes everything a chain's pool indexing wrote above block `above` (a reorg's common
    /// ancestor): events, snapshots, pools discovered above it, block hashes; hourly volumes of
    /// the buckets it touched are rebuilt from the events that remain. The checkpoint of `stream`
    /// becomes `ancestor`. All in one transaction. Deposits are their own stream's
    /// ([`Store::rollback_deposits_above`]).
    /// `ancestor: None` (no stored block is still on the chain) forgets the checkpoint as well,
    /// so indexing restarts from the configured start block.
    pub async fn rollback_pools_above(
        &self,
        chain_id: u64,
        stream: &str,
        above: u64,
        ancestor: Option<&Checkpoint>,
    ) -> Result<RollbackSummary, StoreError> {
        let _turn = self.write_turn().await;
        let txn = self.db.begin().await?;
        let chain = to_i64("chain id", chain_id)?;
        let above = to_i64("block", above)?;
        let chain_pools: Vec<pools::Model> = pools::Entity::find()
            .filter(pools::Column::ChainId.eq(chain))
            .all(&txn)
            .await?;
        let pool_ids: Vec<String> = chain_pools.iter().map(|p| p.id.clone()).collect();
        let touched = hourly_buckets_above(&txn, chain, above).await?;
        let events = delete_events_above(&txn, chain, above).await?;
        for bucket in &touched {
            rebuild_hourly_bucket(&txn, chain, &chain_pools, bucket).await?;
        }
        let snapshots = delete_snapshots_above(&txn, pool_ids, above).await?;
        let forgotten = forget_pools_above(&txn, chain, above).await?;
        delete_block_hashes_above(&txn, chain, stream, above).await?;
        rewind_checkpoint(&txn, chain_id, chain, stream, ancestor).await?;
        txn.commit().await?;
        Ok(RollbackSummary {
            events_removed: events,
            snapshots_removed: snapshots,
            hourly_rebuilt: touched.len() as u64,
            pools_forgotten: forgotten,
            ..RollbackSummary::default()
        })
    }

    /// Undoes what a chain's lending stream wrote above block `above`: its reserves' history
    /// rows, its block hashes, and the current rows read above it (deleted, and their `pools`
    /// figures cleared, so nothing of the abandoned fork is shown); its checkpoint becomes
    /// `ancestor` (or is forgotten). One transaction. The stream then reads the current rows
    /// again at the ancestor. Returns the history rows removed.
    pub async fn rollback_lending_above(
        &self,
        chain_id: u64,
        stream: &str,
        above: u64,
        ancestor: Option<&Checkpoint>,
    ) -> Result<u64, StoreError> {
        let _turn = self.write_turn().await;
        let txn = self.db.begin().await?;
        let chain = to_i64("chain id", chain_id)?;
        let removed = crate::entities::lending_history::Entity::delete_many()
            .filter(crate::entities::lending_history::Column::ChainId.eq(chain))
            .filter(crate::entities::lending_history::Column::Block.gt(to_i64("block", above)?))
            .exec(&txn)
            .await?
            .rows_affected;
        clear_lending_rows_above(&txn, chain, to_i64("block", above)?).await?;
        delete_block_hashes_above(&txn, chain, stream, to_i64("block", above)?).await?;
        rewind_checkpoint(&txn, chain_id, chain, stream, ancestor).await?;
        txn.commit().await?;
        Ok(removed)
    }

    /// Hands a chain's deposits over from stream `from` to the new stream `to` where `from`
    /// stopped: for a database written before EVM deposits had a stream of their own, when the
    /// pool stream (`from`) recorded them. Only when `to` has no checkpoint, `from` has one and
    /// deposits from this chain are already recorded (a chain without any, like a vault added
    /// later, is better scanned from its start). `to` gets `from`'s checkpoint and a copy of its
    /// block hashes, which include every deposit block, so a reorg below the hand-over still
    /// finds its ancestor and orphans what it must. One transaction; returns `to`'s checkpoint
    /// after, if any.
    pub async fn hand_over_deposits(
        &self,
        chain_id: u64,
        from: &str,
        to: &str,
    ) -> Result<Option<Checkpoint>, StoreError> {
        let _turn = self.write_turn().await;
        let txn = self.db.begin().await?;
        let chain = to_i64("chain id", chain_id)?;
        let checkpoint_of = |stream: &str| {
            crate::entities::index_checkpoints::Entity::find_by_id((chain, stream.to_string()))
        };
        if let Some(own) = checkpoint_of(to).one(&txn).await? {
            return Ok(Some(Checkpoint {
                block_number: u64_of("block", own.block_number)?,
                block_hash: own.block_hash,
            }));
        }
        let Some(theirs) = checkpoint_of(from).one(&txn).await? else {
            return Ok(None);
        };
        let recorded = crate::entities::transfers::Entity::find()
            .filter(crate::entities::transfers::Column::SourceChainId.eq(chain))
            .one(&txn)
            .await?;
        if recorded.is_none() {
            return Ok(None);
        }
        let hashes = block_hashes::Entity::find()
            .filter(block_hashes::Column::ChainId.eq(chain))
            .filter(block_hashes::Column::Stream.eq(from))
            .all(&txn)
            .await?;
        for chunk in hashes.chunks(1_000) {
            block_hashes::Entity::insert_many(chunk.iter().map(|h| block_hashes::ActiveModel {
                chain_id: Set(chain),
                stream: Set(to.to_string()),
                block_number: Set(h.block_number),
                block_hash: Set(h.block_hash.clone()),
                parent_hash: Set(h.parent_hash.clone()),
            }))
            .on_conflict_do_nothing()
            .exec_without_returning(&txn)
            .await?;
        }
        let checkpoint = Checkpoint {
            block_number: u64_of("block", theirs.block_number)?,
            block_hash: theirs.block_hash,
        };
        Store::save_checkpoint(&txn, chain_id, to, &checkpoint).await?;
        txn.commit().await?;
        Ok(Some(checkpoint))
    }

    /// Undoes what a chain's deposit stream `stream` saw above block `above` (a reorg's common
    /// ancestor): deposits there not yet acted on become `failed` (reorged out), those that
    /// moved on are flagged at risk ([`RollbackSummary`]), block hashes above go, and the
    /// stream's checkpoint becomes `ancestor` (`None` forgets it). All in one transaction.
    pub async fn rollback_deposits_above(
        &self,
        chain_id: u64,
        stream: &str,
        above: u64,
        ancestor: Option<&Checkpoint>,
    ) -> Result<RollbackSummary, StoreError> {
        let _turn = self.write_turn().await;
        let txn = self.db.begin().await?;
        let chain = to_i64("chain id", chain_id)?;
        let above = to_i64("block", above)?;
        delete_block_hashes_above(&txn, chain, stream, above).await?;
        let (deposits_reorged_out, deposits_at_risk) =
            crate::transfers::orphan_deposits_above(&txn, chain, above).await?;
        rewind_checkpoint(&txn, chain_id, chain, stream, ancestor).await?;
        txn.commit().await?;
        Ok(RollbackSummary {
            deposits_reorged_out,
            deposits_at_risk,
            ..RollbackSummary::default()
        })
    }
}

// The steps of `Store::rollback_pools_above` and `rollback_deposits_above`, in the order they
// take them, each inside its transaction.

/// The hourly buckets of `chain` whose last swap is above block `above`: the ones the rollback
/// rebuilds.
async fn hourly_buckets_above<C: ConnectionTrait>(
    conn: &C,
    chain: i64,
    above: i64,
) -> Result<Vec<pool_hourly::Model>, StoreError> {
    Ok(pool_hourly::Entity::find()
        .filter(pool_hourly::Column::ChainId.eq(chain))
        .filter(pool_hourly::Column::LastBlock.gt(above))
        .all(conn)
        .await?)
}

/// Deletes the events of `chain` above block `above`; returns how many.
async fn delete_events_above<C: ConnectionTrait>(
    conn: &C,
    chain: i64,
    above: i64,
) -> Result<u64, StoreError> {
    Ok(pool_events::Entity::delete_many()
        .filter(pool_events::Column::ChainId.eq(chain))
        .filter(pool_events::Column::BlockNumber.gt(above))
        .exec(conn)
        .await?
        .rows_affected)
}

/// Replaces `bucket` with the sums of the swaps still stored in its hour (after the events
/// above the ancestor are gone); deleted, not rewritten, when none is left.
async fn rebuild_hourly_bucket<C: ConnectionTrait>(
    conn: &C,
    chain: i64,
    chain_pools: &[pools::Model],
    bucket: &pool_hourly::Model,
) -> Result<(), StoreError> {
    let lp_ppm = chain_pools
        .iter()
        .find(|p| p.id == bucket.pool_id)
        .map_or(0, |p| u32::try_from(p.lp_fee_ppm).unwrap_or(0));
    let remaining: Vec<(String, Option<String>, Option<String>, i64)> = pool_events::Entity::find()
        .select_only()
        .column(pool_events::Column::PoolId)
        .column(pool_events::Column::Volume0)
        .column(pool_events::Column::Volume1)
        .column(pool_events::Column::BlockNumber)
        .filter(pool_events::Column::PoolId.eq(bucket.pool_id.clone()))
        .filter(pool_events::Column::BlockTimeMs.gte(bucket.bucket_start_ms))
        .filter(pool_events::Column::BlockTimeMs.lt(bucket.bucket_start_ms + HOUR_MS))
        .filter(pool_events::Column::Volume0.is_not_null())
        .into_tuple()
        .all(conn)
        .await?;
    pool_hourly::Entity::delete_by_id((bucket.pool_id.clone(), bucket.bucket_start_ms))
        .exec(conn)
        .await?;
    if remaining.is_empty() {
        return Ok(());
    }
    let mut v0 = U256::ZERO;
    let mut v1 = U256::ZERO;
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for (_, a, b, block) in &remaining {
        v0 = v0.saturating_add(u256("volume0", a.as_deref().unwrap_or("0"))?);
        v1 = v1.saturating_add(u256("volume1", b.as_deref().unwrap_or("0"))?);
        first = first.min(*block);
        last = last.max(*block);
    }
    pool_hourly::Entity::insert(pool_hourly::ActiveModel {
        pool_id: Set(bucket.pool_id.clone()),
        bucket_start_ms: Set(bucket.bucket_start_ms),
        chain_id: Set(chain),
        swaps: Set(i64::try_from(remaining.len()).unwrap_or(i64::MAX)),
        volume0: Set(v0.to_string()),
        volume1: Set(v1.to_string()),
        lp_fees0: Set(lp_fee(v0, lp_ppm).to_string()),
        lp_fees1: Set(lp_fee(v1, lp_ppm).to_string()),
        first_block: Set(first),
        last_block: Set(last),
    })
    .exec(conn)
    .await?;
    Ok(())
}

/// Deletes the snapshots of `pool_ids` (the chain's pools) above block `above`; returns how
/// many.
async fn delete_snapshots_above<C: ConnectionTrait>(
    conn: &C,
    pool_ids: Vec<String>,
    above: i64,
) -> Result<u64, StoreError> {
    Ok(pool_snapshots::Entity::delete_many()
        .filter(pool_snapshots::Column::PoolId.is_in(pool_ids))
        .filter(pool_snapshots::Column::Block.gt(above))
        .exec(conn)
        .await?
        .rows_affected)
}

/// Deletes the pools of `chain` discovered above block `above`; returns how many.
async fn forget_pools_above<C: ConnectionTrait>(
    conn: &C,
    chain: i64,
    above: i64,
) -> Result<u64, StoreError> {
    Ok(pools::Entity::delete_many()
        .filter(pools::Column::ChainId.eq(chain))
        .filter(pools::Column::DiscoveredAtBlock.gt(above))
        .exec(conn)
        .await?
        .rows_affected)
}

/// Deletes the lending reserves' current rows of `chain` read above block `above` and clears
/// the figures of their `pools` rows.
async fn clear_lending_rows_above<C: ConnectionTrait>(
    conn: &C,
    chain: i64,
    above: i64,
) -> Result<(), StoreError> {
    use crate::entities::lending_reserves as lr;
    let stale: Vec<String> = lr::Entity::find()
        .filter(lr::Column::ChainId.eq(chain))
        .filter(lr::Column::StateBlock.gt(above))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| r.pool_id)
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    lr::Entity::delete_many()
        .filter(lr::Column::PoolId.is_in(stale.clone()))
        .exec(conn)
        .await?;
    let none = sea_orm::sea_query::Value::Double(None);
    pools::Entity::update_many()
        .col_expr(pools::Column::TvlUsd, none.clone().into())
        .col_expr(pools::Column::ApyBase, none.clone().into())
        .col_expr(pools::Column::ApyBase7d, none.clone().into())
        .col_expr(pools::Column::ApyReward, none.clone().into())
        .col_expr(pools::Column::Apy, none.clone().into())
        .col_expr(pools::Column::AprBase, none.clone().into())
        .col_expr(pools::Column::Price0Usd, none.clone().into())
        .col_expr(pools::Column::Price1Usd, none.into())
        .filter(pools::Column::Id.is_in(stale))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes the block hashes `stream` of `chain` recorded above block `above`.
async fn delete_block_hashes_above<C: ConnectionTrait>(
    conn: &C,
    chain: i64,
    stream: &str,
    above: i64,
) -> Result<(), StoreError> {
    block_hashes::Entity::delete_many()
        .filter(block_hashes::Column::ChainId.eq(chain))
        .filter(block_hashes::Column::Stream.eq(stream))
        .filter(block_hashes::Column::BlockNumber.gt(above))
        .exec(conn)
        .await?;
    Ok(())
}

/// The checkpoint of (`chain_id`, `stream`) becomes `ancestor`, or is deleted when there is
/// none. `chain` is `chain_id` as stored.
async fn rewind_checkpoint<C: ConnectionTrait>(
    conn: &C,
    chain_id: u64,
    chain: i64,
    stream: &str,
    ancestor: Option<&Checkpoint>,
) -> Result<(), StoreError> {
    match ancestor {
        Some(cp) => Store::save_checkpoint(conn, chain_id, stream, cp).await?,
        None => {
            crate::entities::index_checkpoints::Entity::delete_by_id((chain, stream.to_string()))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RollbackSummary {
    pub events_removed: u64,
    pub snapshots_removed: u64,
    pub hourly_rebuilt: u64,
    pub pools_forgotten: u64,
    /// Deposits seen only in the abandoned blocks, not yet acted on: now `failed` with
    /// [`atoll_core::Reason::ReorgedOut`] (revived if the new chain has them again).
    pub deposits_reorged_out: u64,
    /// Deposits in the abandoned blocks that had already moved on (their release may exist):
    /// left as they are, with a history row saying so, for an operator.
    pub deposits_at_risk: u64,
}
