//! The indexer's write path: one [`IngestTxn`] per batch of blocks writes the batch's new pools,
//! raw events (multi-row upserts keyed `(chain, tx, log_index)`), exact hourly volumes, state
//! snapshots, pool records, block hashes and the checkpoint, and commits them together. The
//! checkpoint is compared and set in that transaction, so a batch is applied at most once even
//! if two indexers of one chain race. After a reorg, `store/src/reorg.rs` undoes what a stream
//! wrote above a block.

use std::collections::{BTreeMap, BTreeSet};

use atoll_core::U256;
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};

use crate::entities::{block_hashes, pool_events, pool_hourly, pool_snapshots, pools};
pub use crate::ingest_txn::IngestTxn;
use crate::queries::{now_ms, to_i64};
pub use crate::reorg::RollbackSummary;
use crate::{Checkpoint, Store, StoreError};

/// One decoded log, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub tx_hash: String,
    pub log_index: u64,
    pub block_number: u64,
    pub block_hash: String,
    pub block_time_ms: i64,
    pub pool_id: String,
    pub kind: &'static str,
    pub payload: String,
    /// Swap inputs (token0, token1); `None` for events that are not swaps.
    pub volume: Option<(U256, U256)>,
}

/// Swaps of one pool in one hour bucket within a batch, added to what is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct HourlyDelta {
    pub pool_id: String,
    pub bucket_start_ms: i64,
    pub swaps: u64,
    pub volume0: U256,
    pub volume1: U256,
    pub first_block: u64,
    pub last_block: u64,
    /// LP fees earned, when known directly (Solana pools, from their fee counters); `None`
    /// derives them from the bucket's total volume and the pool's `lp_fee_ppm` (EVM swaps).
    pub lp_fees: Option<(U256, U256)>,
}

/// Stored hourly volume of a pool.
#[derive(Debug, Clone, PartialEq)]
pub struct HourlyVolume {
    pub pool_id: String,
    pub bucket_start_ms: i64,
    pub swaps: u64,
    pub volume0: U256,
    pub volume1: U256,
    pub lp_fees0: U256,
    pub lp_fees1: U256,
    pub first_block: u64,
    pub last_block: u64,
}

/// A pool as registered (from config or a factory event) and read back.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolEntry {
    pub id: String,
    pub chain_id: u64,
    pub protocol: String,
    pub address: String,
    pub token0: String,
    pub token1: String,
    pub symbol: String,
    pub fee_ppm: u32,
    pub lp_fee_ppm: u32,
    pub stablecoin: bool,
    /// Set for pools found from factory events: a rollback below it forgets the pool.
    pub discovered_at_block: Option<u64>,
}

/// Raw state of a pool at a block (V2 reserves, V3 price, tick and liquidity; V3 "reserves"
/// are the pool's token balances).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolStateRow {
    pub block: u64,
    pub block_time_ms: i64,
    pub reserve0: Option<U256>,
    pub reserve1: Option<U256>,
    pub sqrt_price_x96: Option<U256>,
    pub tick: Option<i32>,
    pub liquidity: Option<u128>,
}

/// Yield figures of a pool. Rates are fractions (0.05 = 5 %), signed and unclipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct YieldFigures {
    pub price0_usd: Option<f64>,
    pub price1_usd: Option<f64>,
    pub tvl_usd: Option<f64>,
    pub volume_usd_1d: f64,
    pub volume_usd_7d: f64,
    pub fees_usd_1d: f64,
    pub fees_usd_7d: f64,
    pub apr_base: Option<f64>,
    pub apr_base_7d: Option<f64>,
    pub apy_base: Option<f64>,
    pub apy_base_7d: Option<f64>,
    pub apy_reward: Option<f64>,
    pub apy: Option<f64>,
    pub outlier: bool,
    pub dropped_reason: Option<String>,
}

/// The hour-bucket sample of a pool.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotRow {
    pub pool_id: String,
    pub bucket_start_ms: i64,
    pub state: PoolStateRow,
    pub volume_usd: f64,
    pub fees_usd: f64,
    pub figures: YieldFigures,
}

/// Earlier samples, for the outlier rule.
#[derive(Debug, Clone, PartialEq)]
pub struct PastSample {
    pub pool_id: String,
    pub bucket_start_ms: i64,
    pub tvl_usd: Option<f64>,
    pub apy: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHashRow {
    pub number: u64,
    pub hash: String,
    pub parent_hash: String,
}

pub(crate) fn u256(what: &str, s: &str) -> Result<U256, StoreError> {
    s.parse()
        .map_err(|_| StoreError::OutOfRange(format!("{what}: not a decimal amount: {s:?}")))
}

pub(crate) fn u64_of(what: &str, v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::OutOfRange(format!("{what}: negative ({v})")))
}

/// `amount · ppm / 1e6`, floored: the LP fee on a swap volume.
pub fn lp_fee(volume: U256, lp_fee_ppm: u32) -> U256 {
    volume.saturating_mul(U256::from(lp_fee_ppm)) / U256::from(1_000_000u32)
}

/// Rows per multi-row INSERT: below SQLite's 32766 bound variables (and PostgreSQL's 65535)
/// with the 11 columns of `pool_events`.
const EVENT_ROWS_PER_STATEMENT: usize = 2_000;

const EVENT_COLUMNS: [&str; 11] = [
    "chain_id",
    "tx_hash",
    "log_index",
    "block_number",
    "block_hash",
    "block_time_ms",
    "pool_id",
    "kind",
    "payload",
    "volume0",
    "volume1",
];

/// `INSERT … VALUES (…) × rows ON CONFLICT (chain_id, tx_hash, log_index) DO UPDATE`, in the
/// placeholder style of `backend` (the same upsert syntax runs on SQLite and PostgreSQL). Full
/// chunks come from a per-backend cache.
fn upsert_events_sql(backend: sea_orm::DatabaseBackend, rows: usize) -> String {
    use std::fmt::Write;
    use std::sync::OnceLock;
    static FULL: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    let postgres = backend == sea_orm::DatabaseBackend::Postgres;
    let build = |rows: usize| {
        let cols = EVENT_COLUMNS.len();
        let mut sql = format!(
            "INSERT INTO pool_events ({}) VALUES ",
            EVENT_COLUMNS.join(", ")
        );
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..cols {
                if c > 0 {
                    sql.push_str(", ");
                }
                if postgres {
                    let _ = write!(sql, "${}", r * cols + c + 1);
                } else {
                    sql.push('?');
                }
            }
            sql.push(')');
        }
        let updates: Vec<String> = EVENT_COLUMNS[3..]
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let _ = write!(
            sql,
            " ON CONFLICT (chain_id, tx_hash, log_index) DO UPDATE SET {}",
            updates.join(", ")
        );
        sql
    };
    if rows == EVENT_ROWS_PER_STATEMENT {
        FULL[usize::from(postgres)]
            .get_or_init(|| build(rows))
            .clone()
    } else {
        build(rows)
    }
}

impl Store {
    /// Opens the transaction of one batch. Fails with [`StoreError::CheckpointMoved`] when the
    /// stored checkpoint is not `expected`: someone else already ingested this range.
    pub async fn begin_ingest(
        &self,
        chain_id: u64,
        stream: &str,
        expected: Option<&Checkpoint>,
    ) -> Result<IngestTxn, StoreError> {
        let turn = self.write_turn().await;
        let txn = self.db.begin().await?;
        let w = IngestTxn {
            txn,
            _turn: turn,
            chain_id: to_i64("chain id", chain_id)?,
            stream: stream.to_string(),
        };
        let current = crate::entities::index_checkpoints::Entity::find_by_id((
            w.chain_id,
            stream.to_string(),
        ))
        .one(&w.txn)
        .await?
        .map(|r| Checkpoint {
            block_number: u64::try_from(r.block_number).unwrap_or_default(),
            block_hash: r.block_hash,
        });
        if current.as_ref() != expected {
            return Err(StoreError::CheckpointMoved {
                chain_id,
                stream: stream.to_string(),
                expected: expected.map(|c| c.block_number),
                found: current.map(|c| c.block_number),
            });
        }
        Ok(w)
    }

    /// Registers pools outside a batch (configured pools, at start-up); known ones are kept.
    pub async fn register_pools(&self, new: &[PoolEntry]) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let txn = self.db.begin().await?;
        insert_pools(&txn, new).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Every pool registered on a chain.
    pub async fn pools_of_chain(&self, chain_id: u64) -> Result<Vec<PoolEntry>, StoreError> {
        pools::Entity::find()
            .filter(pools::Column::ChainId.eq(to_i64("chain id", chain_id)?))
            .order_by_asc(pools::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(pool_entry)
            .collect()
    }

    /// The fee counters last stored per pool of a chain (pools without any are left out).
    pub async fn fee_counters(
        &self,
        chain_id: u64,
    ) -> Result<BTreeMap<String, (String, String)>, StoreError> {
        Ok(pools::Entity::find()
            .filter(pools::Column::ChainId.eq(to_i64("chain id", chain_id)?))
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(|p| Some((p.id, (p.fee_counter0?, p.fee_counter1?))))
            .collect())
    }

    /// A pool's full stored record, by id.
    pub async fn pool_record(&self, id: &str) -> Result<Option<pools::Model>, StoreError> {
        Ok(pools::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?)
    }

    /// Hourly volumes of the given pools from `since_ms` on, oldest first.
    pub async fn hourly_volumes(
        &self,
        pool_ids: &[String],
        since_ms: i64,
    ) -> Result<Vec<HourlyVolume>, StoreError> {
        hourly_since(&self.db, pool_ids, since_ms).await
    }

    /// Number of events stored for a chain (for summaries and tests).
    pub async fn event_count(&self, chain_id: u64) -> Result<u64, StoreError> {
        let n = pool_events::Entity::find()
            .filter(pool_events::Column::ChainId.eq(to_i64("chain id", chain_id)?))
            .count(&self.db)
            .await?;
        Ok(n)
    }
}

fn pool_entry(m: pools::Model) -> Result<PoolEntry, StoreError> {
    Ok(PoolEntry {
        chain_id: u64_of("chain id", m.chain_id)?,
        fee_ppm: u32::try_from(m.fee_ppm)
            .map_err(|_| StoreError::OutOfRange(format!("{}: fee_ppm {}", m.id, m.fee_ppm)))?,
        lp_fee_ppm: u32::try_from(m.lp_fee_ppm)
            .map_err(|_| StoreError::OutOfRange(format!("{}: lp_fee_ppm", m.id)))?,
        discovered_at_block: m
            .discovered_at_block
            .map(|b| u64_of("discovered_at_block", b))
            .transpose()?,
        id: m.id,
        protocol: m.protocol,
        address: m.address,
        token0: m.token0,
        token1: m.token1,
        symbol: m.symbol,
        stablecoin: m.stablecoin,
    })
}

async fn hourly_since<C: ConnectionTrait>(
    conn: &C,
    pool_ids: &[String],
    since_ms: i64,
) -> Result<Vec<HourlyVolume>, StoreError> {
    pool_hourly::Entity::find()
        .filter(pool_hourly::Column::PoolId.is_in(pool_ids.to_vec()))
        .filter(pool_hourly::Column::BucketStartMs.gte(since_ms))
        .order_by_asc(pool_hourly::Column::BucketStartMs)
        .all(conn)
        .await?
        .into_iter()
        .map(hourly_volume)
        .collect()
}

pub(crate) fn hourly_volume(m: pool_hourly::Model) -> Result<HourlyVolume, StoreError> {
    Ok(HourlyVolume {
        swaps: u64_of("swaps", m.swaps)?,
        volume0: u256("volume0", &m.volume0)?,
        volume1: u256("volume1", &m.volume1)?,
        lp_fees0: u256("lp_fees0", &m.lp_fees0)?,
        lp_fees1: u256("lp_fees1", &m.lp_fees1)?,
        first_block: u64_of("first_block", m.first_block)?,
        last_block: u64_of("last_block", m.last_block)?,
        pool_id: m.pool_id,
        bucket_start_ms: m.bucket_start_ms,
    })
}

/// Registers pools; a pool already known keeps its row.
async fn insert_pools<C: ConnectionTrait>(conn: &C, new: &[PoolEntry]) -> Result<(), StoreError> {
    let now = now_ms();
    for p in new {
        pools::Entity::insert(pools::ActiveModel {
            id: Set(p.id.clone()),
            chain_id: Set(to_i64("chain id", p.chain_id)?),
            protocol: Set(p.protocol.clone()),
            address: Set(p.address.clone()),
            token0: Set(p.token0.clone()),
            token1: Set(p.token1.clone()),
            symbol: Set(p.symbol.clone()),
            fee_ppm: Set(i32::try_from(p.fee_ppm).unwrap_or(i32::MAX)),
            lp_fee_ppm: Set(i32::try_from(p.lp_fee_ppm).unwrap_or(i32::MAX)),
            stablecoin: Set(p.stablecoin),
            outlier: Set(false),
            discovered_at_block: Set(p
                .discovered_at_block
                .map(|b| to_i64("block", b))
                .transpose()?),
            updated_at_ms: Set(now),
            ..Default::default()
        })
        .on_conflict_do_nothing()
        .exec(conn)
        .await?;
    }
    Ok(())
}

fn opt_str<T: ToString>(v: &Option<T>) -> Option<String> {
    v.as_ref().map(ToString::to_string)
}

impl IngestTxn {
    /// Registers pools; a pool already known keeps its row.
    pub async fn insert_pools(&self, new: &[PoolEntry]) -> Result<(), StoreError> {
        insert_pools(&self.txn, new).await
    }

    /// Upserts events, many rows per statement. The SQL of a full chunk is built once per
    /// backend and reused (the driver caches its prepared statement); values are bound, never
    /// spliced into the text. Takes the rows by value: their strings move into the statement.
    pub async fn insert_events(&self, events: Vec<EventRow>) -> Result<(), StoreError> {
        let backend = self.txn.get_database_backend();
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() {
            let chunk: Vec<EventRow> = events.by_ref().take(EVENT_ROWS_PER_STATEMENT).collect();
            let rows = chunk.len();
            let mut values: Vec<sea_orm::Value> = Vec::with_capacity(rows * EVENT_COLUMNS.len());
            for e in chunk {
                let (v0, v1) = match e.volume {
                    Some((a, b)) => (Some(a.to_string()), Some(b.to_string())),
                    None => (None, None),
                };
                values.extend([
                    self.chain_id.into(),
                    e.tx_hash.into(),
                    to_i64("log index", e.log_index)?.into(),
                    to_i64("block", e.block_number)?.into(),
                    e.block_hash.into(),
                    e.block_time_ms.into(),
                    e.pool_id.into(),
                    e.kind.into(),
                    e.payload.into(),
                    v0.into(),
                    v1.into(),
                ]);
            }
            let sql = upsert_events_sql(backend, rows);
            self.txn
                .execute_raw(sea_orm::Statement::from_sql_and_values(
                    backend, sql, values,
                ))
                .await?;
        }
        Ok(())
    }

    /// The benchmark baseline: the same rows written the straightforward way, one sea-orm
    /// `insert` per event. Not used by the indexer.
    pub async fn insert_events_one_by_one(&self, events: &[EventRow]) -> Result<(), StoreError> {
        use sea_orm::ActiveModelTrait;
        for e in events {
            let (v0, v1) = match e.volume {
                Some((a, b)) => (Some(a.to_string()), Some(b.to_string())),
                None => (None, None),
            };
            pool_events::ActiveModel {
                chain_id: Set(self.chain_id),
                tx_hash: Set(e.tx_hash.clone()),
                log_index: Set(to_i64("log index", e.log_index)?),
                block_number: Set(to_i64("block", e.block_number)?),
                block_hash: Set(e.block_hash.clone()),
                block_time_ms: Set(e.block_time_ms),
                pool_id: Set(e.pool_id.clone()),
                kind: Set(e.kind.to_string()),
                payload: Set(e.payload.clone()),
                volume0: Set(v0),
                volume1: Set(v1),
            }
            .insert(&self.txn)
            .await?;
        }
        Ok(())
    }

    /// Adds swap volume to the hourly rows (LP fees follow from the summed volume and the
    /// pool's `lp_fee_ppm`).
    pub async fn add_hourly(
        &self,
        deltas: &[HourlyDelta],
        lp_fee_ppm: &BTreeMap<String, u32>,
    ) -> Result<(), StoreError> {
        if deltas.is_empty() {
            return Ok(());
        }
        let ids: BTreeSet<String> = deltas.iter().map(|d| d.pool_id.clone()).collect();
        let since = deltas
            .iter()
            .map(|d| d.bucket_start_ms)
            .min()
            .unwrap_or_default();
        let existing: BTreeMap<(String, i64), HourlyVolume> =
            hourly_since(&self.txn, &ids.into_iter().collect::<Vec<_>>(), since)
                .await?
                .into_iter()
                .map(|h| ((h.pool_id.clone(), h.bucket_start_ms), h))
                .collect();
        for d in deltas {
            let ppm = lp_fee_ppm.get(&d.pool_id).copied().unwrap_or(0);
            let old = existing.get(&(d.pool_id.clone(), d.bucket_start_ms));
            let v0 = old
                .map_or(U256::ZERO, |h| h.volume0)
                .saturating_add(d.volume0);
            let v1 = old
                .map_or(U256::ZERO, |h| h.volume1)
                .saturating_add(d.volume1);
            let (fees0, fees1) = match d.lp_fees {
                Some((f0, f1)) => (
                    old.map_or(U256::ZERO, |h| h.lp_fees0).saturating_add(f0),
                    old.map_or(U256::ZERO, |h| h.lp_fees1).saturating_add(f1),
                ),
                None => (lp_fee(v0, ppm), lp_fee(v1, ppm)),
            };
            let swaps = old.map_or(0, |h| h.swaps).saturating_add(d.swaps);
            let first = old.map_or(d.first_block, |h| h.first_block.min(d.first_block));
            let last = old.map_or(d.last_block, |h| h.last_block.max(d.last_block));
            pool_hourly::Entity::insert(pool_hourly::ActiveModel {
                pool_id: Set(d.pool_id.clone()),
                bucket_start_ms: Set(d.bucket_start_ms),
                chain_id: Set(self.chain_id),
                swaps: Set(to_i64("swaps", swaps)?),
                volume0: Set(v0.to_string()),
                volume1: Set(v1.to_string()),
                lp_fees0: Set(fees0.to_string()),
                lp_fees1: Set(fees1.to_string()),
                first_block: Set(to_i64("block", first)?),
                last_block: Set(to_i64("block", last)?),
            })
            .on_conflict(
                OnConflict::columns([
                    pool_hourly::Column::PoolId,
                    pool_hourly::Column::BucketStartMs,
                ])
                .update_columns([
                    pool_hourly::Column::Swaps,
                    pool_hourly::Column::Volume0,
                    pool_hourly::Column::Volume1,
                    pool_hourly::Column::LpFees0,
                    pool_hourly::Column::LpFees1,
                    pool_hourly::Column::FirstBlock,
                    pool_hourly::Column::LastBlock,
                ])
                .to_owned(),
            )
            .exec(&self.txn)
            .await?;
        }
        Ok(())
    }

    /// Hourly volumes as this transaction sees them (its own additions included).
    pub async fn hourly_volumes(
        &self,
        pool_ids: &[String],
        since_ms: i64,
    ) -> Result<Vec<HourlyVolume>, StoreError> {
        hourly_since(&self.txn, pool_ids, since_ms).await
    }

    /// Samples of the given pools in buckets `[since_ms, before_ms)`.
    pub async fn past_samples(
        &self,
        pool_ids: &[String],
        since_ms: i64,
        before_ms: i64,
    ) -> Result<Vec<PastSample>, StoreError> {
        Ok(pool_snapshots::Entity::find()
            .filter(pool_snapshots::Column::PoolId.is_in(pool_ids.to_vec()))
            .filter(pool_snapshots::Column::BucketStartMs.gte(since_ms))
            .filter(pool_snapshots::Column::BucketStartMs.lt(before_ms))
            .order_by_asc(pool_snapshots::Column::BucketStartMs)
            .all(&self.txn)
            .await?
            .into_iter()
            .map(|s| PastSample {
                pool_id: s.pool_id,
                bucket_start_ms: s.bucket_start_ms,
                tvl_usd: s.tvl_usd,
                apy: s.apy,
            })
            .collect())
    }

    pub async fn upsert_snapshots(&self, rows: &[SnapshotRow]) -> Result<(), StoreError> {
        use pool_snapshots::Column as C;
        for r in rows {
            let f = &r.figures;
            pool_snapshots::Entity::insert(pool_snapshots::ActiveModel {
                pool_id: Set(r.pool_id.clone()),
                bucket_start_ms: Set(r.bucket_start_ms),
                block: Set(to_i64("block", r.state.block)?),
                reserve0: Set(opt_str(&r.state.reserve0)),
                reserve1: Set(opt_str(&r.state.reserve1)),
                sqrt_price: Set(opt_str(&r.state.sqrt_price_x96)),
                tick: Set(r.state.tick),
                liquidity: Set(opt_str(&r.state.liquidity)),
                tvl_usd: Set(f.tvl_usd),
                volume_usd: Set(r.volume_usd),
                fees_usd: Set(r.fees_usd),
                apy_base: Set(f.apy_base),
                apy_base7d: Set(f.apy_base_7d),
                apy_reward: Set(f.apy_reward),
                apy: Set(f.apy),
                outlier: Set(f.outlier),
                apr_base: Set(f.apr_base),
                apr_base7d: Set(f.apr_base_7d),
            })
            .on_conflict(
                OnConflict::columns([C::PoolId, C::BucketStartMs])
                    .update_columns([
                        C::Block,
                        C::Reserve0,
                        C::Reserve1,
                        C::SqrtPrice,
                        C::Tick,
                        C::Liquidity,
                        C::TvlUsd,
                        C::VolumeUsd,
                        C::FeesUsd,
                        C::ApyBase,
                        C::ApyBase7d,
                        C::ApyReward,
                        C::Apy,
                        C::Outlier,
                        C::AprBase,
                        C::AprBase7d,
                    ])
                    .to_owned(),
            )
            .exec(&self.txn)
            .await?;
        }
        Ok(())
    }

    /// Writes a pool's current state and yield figures onto its record.
    pub async fn update_pool(
        &self,
        pool_id: &str,
        state: &PoolStateRow,
        f: &YieldFigures,
    ) -> Result<(), StoreError> {
        use pools::Column as C;
        let stmt = Query::update()
            .table(pools::Entity)
            .values([
                (C::Reserve0, opt_str(&state.reserve0).into()),
                (C::Reserve1, opt_str(&state.reserve1).into()),
                (C::SqrtPrice, opt_str(&state.sqrt_price_x96).into()),
                (C::Tick, state.tick.into()),
                (C::Liquidity, opt_str(&state.liquidity).into()),
                (C::StateBlock, Some(to_i64("block", state.block)?).into()),
                (C::StateTimeMs, Some(state.block_time_ms).into()),
                (C::Price0Usd, f.price0_usd.into()),
                (C::Price1Usd, f.price1_usd.into()),
                (C::TvlUsd, f.tvl_usd.into()),
                (C::VolumeUsd1d, Some(f.volume_usd_1d).into()),
                (C::VolumeUsd7d, Some(f.volume_usd_7d).into()),
                (C::FeesUsd1d, Some(f.fees_usd_1d).into()),
                (C::FeesUsd7d, Some(f.fees_usd_7d).into()),
                (C::AprBase, f.apr_base.into()),
                (C::AprBase7d, f.apr_base_7d.into()),
                (C::ApyBase, f.apy_base.into()),
                (C::ApyBase7d, f.apy_base_7d.into()),
                (C::ApyReward, f.apy_reward.into()),
                (C::Apy, f.apy.into()),
                (C::Outlier, f.outlier.into()),
                (C::DroppedReason, f.dropped_reason.clone().into()),
                (C::UpdatedAtMs, now_ms().into()),
            ])
            .and_where(C::Id.eq(pool_id))
            .to_owned();
        self.txn.execute(&stmt).await?;
        Ok(())
    }

    /// Stores the cumulative fee counters read with a pool's state (Solana pools), so the next
    /// batch's difference is the fees earned in between.
    pub async fn set_fee_counters(
        &self,
        pool_id: &str,
        counter0: &str,
        counter1: &str,
    ) -> Result<(), StoreError> {
        use pools::Column as C;
        let stmt = Query::update()
            .table(pools::Entity)
            .values([
                (C::FeeCounter0, counter0.into()),
                (C::FeeCounter1, counter1.into()),
            ])
            .and_where(C::Id.eq(pool_id))
            .to_owned();
        self.txn.execute(&stmt).await?;
        Ok(())
    }

    /// Records block hashes for reorg detection, and forgets those more than `keep` blocks
    /// below the newest (a reorg deeper than that re-ingests from the oldest kept).
    pub async fn record_block_hashes(
        &self,
        rows: &[BlockHashRow],
        keep: u64,
    ) -> Result<(), StoreError> {
        let mut newest = 0;
        for r in rows {
            newest = newest.max(r.number);
            block_hashes::Entity::insert(block_hashes::ActiveModel {
                chain_id: Set(self.chain_id),
                stream: Set(self.stream.clone()),
                block_number: Set(to_i64("block", r.number)?),
                block_hash: Set(r.hash.clone()),
                parent_hash: Set(r.parent_hash.clone()),
            })
            .on_conflict(
                OnConflict::columns([
                    block_hashes::Column::ChainId,
                    block_hashes::Column::Stream,
                    block_hashes::Column::BlockNumber,
                ])
                .update_columns([
                    block_hashes::Column::BlockHash,
                    block_hashes::Column::ParentHash,
                ])
                .to_owned(),
            )
            .exec(&self.txn)
            .await?;
        }
        if newest > keep {
            block_hashes::Entity::delete_many()
                .filter(block_hashes::Column::ChainId.eq(self.chain_id))
                .filter(block_hashes::Column::Stream.eq(self.stream.as_str()))
                .filter(block_hashes::Column::BlockNumber.lt(to_i64("block", newest - keep)?))
                .exec(&self.txn)
                .await?;
        }
        Ok(())
    }

    /// Moves the checkpoint and commits everything written in this transaction.
    pub async fn commit(self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        Store::save_checkpoint(
            &self.txn,
            u64::try_from(self.chain_id).unwrap_or_default(),
            &self.stream,
            checkpoint,
        )
        .await?;
        self.txn.commit().await?;
        Ok(())
    }
}
