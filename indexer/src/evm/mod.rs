//! Indexing of one EVM chain's pools (stream `pools`): pools from config and factories, their
//! events over adaptive log windows, their state at the end of every batch, prices and yield
//! figures, all committed with the checkpoint in one transaction. A batch whose first block does
//! not extend the stored checkpoint is a reorg: the pool rows are rolled back to the newest
//! stored block still on the chain ([`fork`]), and indexing goes on from there. The bridge
//! vault's deposits are a stream of their own ([`deposits`]).

mod comet;
pub mod deposits;
mod fork;
pub mod lending;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use alloy::rpc::types::{Filter, Log};
use atoll_adapters::evm::discovery::evm_address;
use atoll_adapters::evm::events;
use atoll_adapters::evm::state::{PoolFamily, PoolState};
use atoll_adapters::evm::{BlockRef, EvmChain, LogWindow, RetryPolicy};
use atoll_core::settings::{ChainSettings, FactorySettings, Settings};
use atoll_core::time::HOUR_MS;
use atoll_core::{PoolId, Protocol};
use atoll_store::Store;
use atoll_store::ingest::{PoolEntry, PoolStateRow, SnapshotRow};

use crate::prices::{self, PriceSource, TokenMeta};
use crate::rows::{BatchRows, is_pool_event};
use crate::yields::{self, hour_bucket};
use crate::{ChainProgress, ChainSummary, IndexerError, Mode, POOLS_STREAM, ProgressSink};
use fork::{Cursor, Step, Stream};

/// A pool being indexed.
#[derive(Debug, Clone, PartialEq)]
struct TrackedPool {
    id: String,
    address: Address,
    family: PoolFamily,
    token0: Address,
    token1: Address,
    lp_fee_ppm: u32,
}

/// The configured tokens deployed on chain `name`, by address.
pub(crate) fn token_metas(settings: &Settings, name: &str) -> HashMap<Address, TokenMeta> {
    let mut tokens = HashMap::new();
    for t in &settings.tokens {
        for d in t.deployments.iter().filter(|d| d.chain == name) {
            if let Some(a) = evm_address(&d.address) {
                tokens.insert(
                    a,
                    TokenMeta {
                        symbol: t.symbol.clone(),
                        decimals: d.decimals,
                        stable: t.stable,
                        pinned_usd: t.price_usd,
                    },
                );
            }
        }
    }
    tokens
}

fn family(protocol: Protocol) -> Option<PoolFamily> {
    match protocol {
        Protocol::UniswapV2 | Protocol::PancakeswapV2 => Some(PoolFamily::V2),
        Protocol::UniswapV3 => Some(PoolFamily::V3),
        Protocol::OrcaWhirlpool
        | Protocol::RaydiumCpmm
        | Protocol::AaveV3
        | Protocol::CompoundV3 => None,
    }
}

pub struct EvmIndexer {
    chain: EvmChain,
    store: Store,
    cursor: Cursor,
    factories: Vec<FactorySettings>,
    protocol_fees: BTreeMap<Protocol, (u32, u32)>,
    allowed: HashSet<Address>,
    tokens: HashMap<Address, TokenMeta>,
    pools: Vec<TrackedPool>,
    min_tvl_usd: f64,
    batch_interval: Duration,
    progress: ProgressSink,
    summary: ChainSummary,
    started: Instant,
}

impl EvmIndexer {
    /// Connects to the chain (checking its id), loads what earlier runs stored, and registers
    /// the configured pools. A configured pool that cannot be read is reported in the summary
    /// and skipped; a wrong chain id or an unreachable RPC fails this chain.
    pub async fn start(
        settings: &Settings,
        chain_settings: &ChainSettings,
        store: Store,
        progress: ProgressSink,
    ) -> Result<EvmIndexer, IndexerError> {
        let name = chain_settings.name.clone();
        let chain = EvmChain::new(chain_settings, RetryPolicy::default())?;
        chain.verify_chain_id().await?;
        let tokens = token_metas(settings, &name);
        let allowed: HashSet<Address> = tokens.keys().copied().collect();
        let checkpoint = store
            .checkpoint(chain_settings.chain_id.0, POOLS_STREAM)
            .await?;
        let mut me = EvmIndexer {
            chain,
            store: store.clone(),
            cursor: Cursor::new(&settings.indexer, chain_settings.start_block, checkpoint),
            factories: settings
                .factories
                .iter()
                .filter(|f| f.chain == name && family(f.protocol).is_some())
                .cloned()
                .collect(),
            protocol_fees: settings.protocol_fees.clone(),
            allowed,
            tokens,
            pools: Vec::new(),
            min_tvl_usd: settings.indexer.min_tvl_usd,
            batch_interval: settings.indexer.evm_pool_batch_interval,
            progress,
            summary: ChainSummary {
                chain: name.clone(),
                ..ChainSummary::default()
            },
            started: Instant::now(),
        };
        // Lending reserves are in `pools` too; they are the lending stream's.
        for stored in store.pools_of_chain(chain_settings.chain_id.0).await? {
            let lending = stored
                .protocol
                .parse::<Protocol>()
                .is_ok_and(|p| p.pool_kind() == atoll_core::PoolKind::Lending);
            if !lending {
                me.track_stored(&stored)?;
            }
        }
        let head = me.chain.head().await?.number;
        let mut new = Vec::new();
        for p in settings.pools.iter().filter(|p| p.chain == name) {
            let Some(address) = evm_address(&p.address) else {
                continue;
            };
            if me.pools.iter().any(|t| t.address == address) {
                continue;
            }
            let Some(fam) = family(p.protocol) else {
                continue;
            };
            match me.describe_pool(address, p.protocol, fam, None, head).await {
                Ok((tracked, row)) => {
                    me.pools.push(tracked);
                    new.push(row);
                }
                Err(reason) => {
                    let problem = format!("pool {} ({}): {reason}; skipped", p.id, p.protocol);
                    tracing::error!(chain = %name, "{problem}");
                    me.summary.pool_problems.push(problem);
                }
            }
        }
        store.register_pools(&new).await?;
        me.summary.pools = me.pools.len();
        Ok(me)
    }

    fn track_stored(&mut self, p: &PoolEntry) -> Result<(), IndexerError> {
        let bad = |what: &str| IndexerError::Config {
            chain: self.chain.name.clone(),
            reason: format!("stored pool {}: {what}", p.id),
        };
        let protocol: Protocol = p.protocol.parse().map_err(|_| bad("unknown protocol"))?;
        let parse = |s: &str| s.parse::<Address>().map_err(|_| bad("bad address"));
        self.pools.push(TrackedPool {
            id: p.id.clone(),
            address: parse(&p.address)?,
            family: family(protocol).ok_or_else(|| bad("not an EVM protocol"))?,
            token0: parse(&p.token0)?,
            token1: parse(&p.token1)?,
            lp_fee_ppm: p.lp_fee_ppm,
        });
        Ok(())
    }

    /// Reads a pool's tokens and fee at `block`, proving it is a pool of its family.
    async fn describe_pool(
        &mut self,
        address: Address,
        protocol: Protocol,
        fam: PoolFamily,
        discovered_at: Option<u64>,
        block: u64,
    ) -> Result<(TrackedPool, PoolEntry), String> {
        let state = self
            .chain
            .pool_states(&[(address, fam)], block)
            .await
            .map_err(|e| match e {
                atoll_adapters::AdapterError::RpcRejected { reason, .. } => reason,
                other => other.to_string(),
            })?;
        let Some(state) = state.into_iter().next() else {
            return Err("no state returned".into());
        };
        let (token0, token1, fee_ppm, lp_fee_ppm) = match state {
            PoolState::V2 { token0, token1, .. } => {
                let (fee, lp) = self.protocol_fees.get(&protocol).copied().ok_or_else(|| {
                    format!("no fee configured for {protocol} (protocol_fees.{protocol})")
                })?;
                (token0, token1, fee * 100, lp * 100)
            }
            // The V3 protocol fee (slot0.feeProtocol) is off on these pools: LPs get the tier.
            PoolState::V3 {
                token0,
                token1,
                fee_ppm,
                ..
            } => (token0, token1, fee_ppm, fee_ppm),
        };
        for t in [token0, token1] {
            if !self.tokens.contains_key(&t) {
                let info = self
                    .chain
                    .token_infos(&[t], block)
                    .await
                    .map_err(|e| format!("token {t}: {e}"))?;
                if let Some(i) = info.into_iter().next() {
                    self.tokens.insert(
                        t,
                        TokenMeta {
                            symbol: i.symbol,
                            decimals: i.decimals,
                            stable: false,
                            pinned_usd: None,
                        },
                    );
                }
            }
        }
        let (symbol, stablecoin) =
            prices::pool_symbol(self.tokens.get(&token0), self.tokens.get(&token1));
        let id = PoolId::new(
            &self.chain.name,
            protocol,
            &atoll_core::Address::Evm(address.into_array()),
        )
        .0;
        let lower = |a: Address| format!("{a:#x}");
        Ok((
            TrackedPool {
                id: id.clone(),
                address,
                family: fam,
                token0,
                token1,
                lp_fee_ppm,
            },
            PoolEntry {
                id,
                chain_id: self.chain.chain_id,
                protocol: protocol.as_str().to_string(),
                address: lower(address),
                token0: lower(token0),
                token1: lower(token1),
                symbol,
                fee_ppm,
                lp_fee_ppm,
                stablecoin,
                discovered_at_block: discovered_at,
            },
        ))
    }

    /// Indexes until caught up (`Once`) or forever (`Follow`).
    pub async fn run(&mut self, mode: Mode) -> Result<ChainSummary, IndexerError> {
        self.started = Instant::now();
        self.summary.from_block = self
            .cursor
            .checkpoint
            .as_ref()
            .map_or(self.cursor.start_block, |c| c.block_number + 1);
        fork::drive(self, mode).await?;
        self.summary.to_block = self
            .cursor
            .checkpoint
            .as_ref()
            .map_or(0, |c| c.block_number);
        self.summary.pools = self.pools.len();
        self.summary.elapsed = self.started.elapsed();
        Ok(self.summary.clone())
    }

    /// One batch from `first` to `last` ([`Stream::batch`]): the logs of every tracked pool and
    /// live factory, pools the factories created in it, and everything committed with the
    /// checkpoint in one transaction.
    async fn pool_batch(&mut self, first: BlockRef, last: BlockRef) -> Result<Step, IndexerError> {
        let (from, to) = (first.number, last.number);
        let factory_addresses: Vec<Address> = self
            .factories
            .iter()
            .filter(|f| f.start_block <= to)
            .filter_map(|f| evm_address(&f.address))
            .collect();
        let mut logs = self.window_logs(&factory_addresses, from, to).await?;
        if !fork::unchanged(&self.chain, &last, &logs).await? {
            return Ok(Step::Reorged);
        }
        let new_pools = self
            .discover_pools(&mut logs, &factory_addresses, from, to)
            .await?;
        let times = self.block_times(&logs).await?;
        let rows = self.rows_of(&logs, &times)?;
        self.commit(first, last, rows, new_pools).await?;
        Ok(Step::Advanced)
    }

    /// The window's logs of every tracked pool and the factories live by `to`.
    async fn window_logs(
        &mut self,
        factory_addresses: &[Address],
        from: u64,
        to: u64,
    ) -> Result<Vec<Log>, IndexerError> {
        let mut filter_addresses: Vec<Address> = self.pools.iter().map(|p| p.address).collect();
        filter_addresses.extend(factory_addresses);
        if filter_addresses.is_empty() {
            return Ok(Vec::new());
        }
        let filter = Filter::new()
            .address(filter_addresses)
            .event_signature(pool_topics());
        Ok(self
            .chain
            .logs(&filter, from, to, &mut self.cursor.window)
            .await?)
    }

    /// Pools the factories created in this window (both tokens allowed): registered, and
    /// their own logs from their creation on added to `logs`. Their rows for the store.
    async fn discover_pools(
        &mut self,
        logs: &mut Vec<Log>,
        factory_addresses: &[Address],
        from: u64,
        to: u64,
    ) -> Result<Vec<PoolEntry>, IndexerError> {
        let mut new_pools = Vec::new();
        let mut created = Vec::new();
        let creations: Vec<_> = logs
            .iter()
            .filter(|l| factory_addresses.contains(&l.address()))
            .filter_map(|log| match events::decode(log) {
                Some(Ok(decoded)) => Some(decoded),
                _ => None,
            })
            .collect();
        for (pos, event) in creations {
            let (address, t0, t1) = match event {
                events::EvmEvent::PairCreated {
                    token0,
                    token1,
                    pair,
                    ..
                } => (pair, token0, token1),
                events::EvmEvent::PoolCreated {
                    token0,
                    token1,
                    pool,
                    ..
                } => (pool, token0, token1),
                _ => continue,
            };
            let protocol = self.factory_protocol(pos.address);
            let (Some(protocol), true) = (
                protocol,
                self.allowed.contains(&t0) && self.allowed.contains(&t1),
            ) else {
                continue;
            };
            if self.pools.iter().any(|p| p.address == address) {
                continue;
            }
            let Some(fam) = family(protocol) else {
                continue;
            };
            match self
                .describe_pool(address, protocol, fam, Some(pos.block_number), to)
                .await
            {
                Ok((tracked, row)) => {
                    created.push((address, pos.block_number));
                    self.pools.push(tracked);
                    new_pools.push(row);
                }
                Err(reason) => {
                    tracing::warn!(chain = %self.chain.name, pool = %address, %reason, "discovered pool unreadable; skipped")
                }
            }
        }
        if !created.is_empty() {
            let since = created.iter().map(|c| c.1).min().unwrap_or(from);
            let filter = Filter::new()
                .address(created.iter().map(|c| c.0).collect::<Vec<_>>())
                .event_signature(pool_topics());
            let mut window = LogWindow::new(to - since + 1, 100_000, 2_000);
            logs.extend(self.chain.logs(&filter, since, to, &mut window).await?);
            logs.sort_by_key(|l| (l.block_number, l.log_index));
        }
        Ok(new_pools)
    }

    /// The window's pool events as rows.
    fn rows_of(&self, logs: &[Log], times: &HashMap<u64, i64>) -> Result<BatchRows, IndexerError> {
        let by_address: HashMap<Address, &TrackedPool> =
            self.pools.iter().map(|p| (p.address, p)).collect();
        let mut rows = BatchRows::with_capacity(logs.len());
        for log in logs {
            let Some(pool) = by_address.get(&log.address()) else {
                continue;
            };
            let Some(decoded) = events::decode(log) else {
                continue;
            };
            let (pos, event) = decoded.map_err(|e| IndexerError::BadLog {
                chain: self.chain.name.clone(),
                tx: format!("{:#x}", e.tx_hash),
                log_index: e.log_index,
                reason: e.to_string(),
            })?;
            if !is_pool_event(&event) {
                continue;
            }
            let time_ms = times.get(&pos.block_number).copied().unwrap_or_default();
            rows.push(&pos, &event, &pool.id, time_ms);
        }
        Ok(rows)
    }

    fn factory_protocol(&self, address: Address) -> Option<Protocol> {
        self.factories
            .iter()
            .find(|f| evm_address(&f.address) == Some(address))
            .map(|f| f.protocol)
    }

    /// Block time (ms) of every block holding a log: from the logs where the node includes
    /// `blockTimestamp`, else from the blocks.
    async fn block_times(&self, logs: &[Log]) -> Result<HashMap<u64, i64>, IndexerError> {
        let mut times = HashMap::new();
        let mut missing = Vec::new();
        for l in logs {
            let Some(n) = l.block_number else { continue };
            match l.block_timestamp {
                Some(t) => {
                    times.insert(n, ms(t));
                }
                None if !times.contains_key(&n) => missing.push(n),
                None => {}
            }
        }
        missing.sort_unstable();
        missing.dedup();
        for n in missing {
            let b = self.chain.block(n).await?;
            times.insert(n, ms(b.timestamp));
        }
        Ok(times)
    }

    async fn commit(
        &mut self,
        first: BlockRef,
        last: BlockRef,
        rows: BatchRows,
        new_pools: Vec<PoolEntry>,
    ) -> Result<(), IndexerError> {
        let chain_id = self.chain.chain_id;
        let time_ms = ms(last.timestamp);
        let (live, state_rows, sources) = self.sample_pools(&last).await?;
        let token_prices = prices::token_prices(&self.tokens, &sources);

        let bucket = hour_bucket(time_ms);
        let ids: Vec<String> = self.pools.iter().map(|p| p.id.clone()).collect();
        let lp_ppm: BTreeMap<String, u32> = self
            .pools
            .iter()
            .map(|p| (p.id.clone(), p.lp_fee_ppm))
            .collect();
        let events = rows.events.len() as u64;
        let checkpoint = fork::checkpoint_at(&last);

        let txn = self
            .store
            .begin_ingest(chain_id, POOLS_STREAM, self.cursor.checkpoint.as_ref())
            .await?;
        txn.insert_pools(&new_pools).await?;
        let hourly = rows.hourly();
        txn.insert_events(rows.events).await?;
        txn.add_hourly(&hourly, &lp_ppm).await?;
        let hourly = txn.hourly_volumes(&ids, bucket - 7 * 24 * HOUR_MS).await?;
        let past = txn
            .past_samples(&ids, bucket - yields::OUTLIER_WINDOW_MS, bucket)
            .await?;
        let mut snapshots = Vec::with_capacity(self.pools.len());
        for (((pool, _), state), source) in live.iter().zip(&state_rows).zip(&sources) {
            let (figures, volume_usd, fees_usd) = yields::pool_figures(
                &pool.id,
                (self.decimals(&pool.token0), self.decimals(&pool.token1)),
                (source.amount0, source.amount1),
                source.price0_in_1,
                (
                    token_prices.get(&pool.token0).copied(),
                    token_prices.get(&pool.token1).copied(),
                ),
                &hourly,
                &past,
                bucket,
                self.min_tvl_usd,
            );
            txn.update_pool(&pool.id, state, &figures).await?;
            snapshots.push(SnapshotRow {
                pool_id: pool.id.clone(),
                bucket_start_ms: bucket,
                state: state.clone(),
                volume_usd,
                fees_usd,
                figures,
            });
        }
        txn.upsert_snapshots(&snapshots).await?;
        let hashes = [fork::block_row(&first), fork::block_row(&last)];
        txn.record_block_hashes(&hashes, fork::BLOCK_HASHES_KEPT)
            .await?;
        txn.commit(&checkpoint).await?;

        self.summary.blocks += last.number - first.number + 1;
        self.summary.events += events;
        self.summary.batches += 1;
        self.cursor.checkpoint = Some(checkpoint);
        tracing::debug!(chain = %self.chain.name, block = last.number, events, "batch committed");
        (self.progress)(&ChainProgress {
            chain: self.chain.name.clone(),
            stream: POOLS_STREAM.to_string(),
            start_block: self.summary.from_block,
            block: last.number,
            head: self.cursor.head.max(last.number),
            events: self.summary.events,
            reorgs: self.summary.reorgs,
            elapsed: self.started.elapsed(),
        });
        Ok(())
    }

    /// Every pool's state at the batch's last block, as a row for the store and as a price
    /// source. A pool that does not read at this block does not exist yet (a backfill starts
    /// before the pools it knows from config were created): no sample for it this batch.
    async fn sample_pools(&self, last: &BlockRef) -> Result<Sampled<'_>, IndexerError> {
        let keys: Vec<(Address, PoolFamily)> =
            self.pools.iter().map(|p| (p.address, p.family)).collect();
        let states: Vec<Option<PoolState>> = if keys.is_empty() {
            Vec::new()
        } else {
            self.chain
                .pool_states_each(&keys, last.number)
                .await?
                .into_iter()
                .map(Result::ok)
                .collect()
        };
        let live: Vec<(&TrackedPool, PoolState)> = self
            .pools
            .iter()
            .zip(states)
            .filter_map(|(p, s)| s.map(|s| (p, s)))
            .collect();
        // A V3 pool's reserves are its token balances.
        let v3_holdings: Vec<(Address, Address)> = live
            .iter()
            .filter(|(p, _)| p.family == PoolFamily::V3)
            .flat_map(|(p, _)| [(p.token0, p.address), (p.token1, p.address)])
            .collect();
        let balances = if v3_holdings.is_empty() {
            Vec::new()
        } else {
            self.chain.balances(&v3_holdings, last.number).await?
        };
        let mut balance = balances.iter();
        let time_ms = ms(last.timestamp);
        let mut state_rows = Vec::with_capacity(live.len());
        let mut sources = Vec::with_capacity(live.len());
        for (pool, state) in &live {
            let row = state_row(state, last.number, time_ms, &mut balance);
            sources.push(self.price_source(pool, state, &row));
            state_rows.push(row);
        }
        Ok((live, state_rows, sources))
    }

    /// A sampled pool as a price source: its reserves in token units and its price.
    fn price_source(
        &self,
        pool: &TrackedPool,
        state: &PoolState,
        row: &PoolStateRow,
    ) -> PriceSource<Address> {
        let d0 = self.decimals(&pool.token0);
        let d1 = self.decimals(&pool.token1);
        let amount0 = prices::human(row.reserve0.unwrap_or_default(), d0);
        let amount1 = prices::human(row.reserve1.unwrap_or_default(), d1);
        let price0_in_1 = match state {
            PoolState::V2 { .. } if amount0 > 0.0 => amount1 / amount0,
            PoolState::V2 { .. } => f64::NAN,
            PoolState::V3 { sqrt_price_x96, .. } => {
                prices::price_from_sqrt_x96(*sqrt_price_x96, d0, d1)
            }
        };
        PriceSource {
            token0: pool.token0,
            token1: pool.token1,
            amount0,
            amount1,
            price0_in_1,
        }
    }

    fn decimals(&self, token: &Address) -> u8 {
        self.tokens.get(token).map_or(18, |t| t.decimals)
    }

    /// Finds the newest stored block still on the chain and rolls the pool rows back to it.
    async fn roll_back_to_ancestor(&mut self, below_or_at: u64) -> Result<(), IndexerError> {
        self.summary.reorgs += 1;
        let ancestor =
            fork::common_ancestor(&self.chain, &self.store, POOLS_STREAM, below_or_at).await?;
        let above = ancestor
            .as_ref()
            .map_or(self.cursor.start_block.saturating_sub(1), |a| {
                a.block_number
            });
        let summary = self
            .store
            .rollback_pools_above(self.chain.chain_id, POOLS_STREAM, above, ancestor.as_ref())
            .await?;
        tracing::warn!(
            chain = %self.chain.name,
            from = below_or_at,
            ancestor = ?ancestor.as_ref().map(|a| a.block_number),
            events_removed = summary.events_removed,
            "reorg: pools rolled back to the common ancestor"
        );
        // Pools discovered above the ancestor are forgotten with their rows.
        let kept = self.store.pools_of_chain(self.chain.chain_id).await?;
        self.pools.retain(|p| kept.iter().any(|k| k.id == p.id));
        self.cursor.checkpoint = ancestor;
        Ok(())
    }
}

impl Stream for EvmIndexer {
    fn chain(&self) -> &EvmChain {
        &self.chain
    }

    fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    fn cursor_mut(&mut self) -> &mut Cursor {
        &mut self.cursor
    }

    /// Caught up, the next batch waits for `indexer.evm_pool_batch_interval_ms`: sampling every
    /// pool per block is more than yields need, and deposits do not wait for it.
    fn idle_interval(&self) -> Duration {
        self.batch_interval
    }

    async fn batch(&mut self, first: BlockRef, last: BlockRef) -> Result<Step, IndexerError> {
        self.pool_batch(first, last).await
    }

    async fn roll_back(&mut self, below_or_at: u64) -> Result<(), IndexerError> {
        self.roll_back_to_ancestor(below_or_at).await
    }
}

/// Pools sampled at a block: each with its state, its row for the store, its price source.
type Sampled<'p> = (
    Vec<(&'p TrackedPool, PoolState)>,
    Vec<PoolStateRow>,
    Vec<PriceSource<Address>>,
);

/// A pool's state at `block` as a row: V2 reserves as the pair reports them; a V3 pool's
/// reserves are its two token balances, taken in order from `balances`.
fn state_row<'b>(
    state: &PoolState,
    block: u64,
    time_ms: i64,
    balances: &mut impl Iterator<Item = &'b alloy::primitives::U256>,
) -> PoolStateRow {
    match state {
        PoolState::V2 {
            reserve0, reserve1, ..
        } => PoolStateRow {
            block,
            block_time_ms: time_ms,
            reserve0: Some(*reserve0),
            reserve1: Some(*reserve1),
            ..PoolStateRow::default()
        },
        PoolState::V3 {
            sqrt_price_x96,
            tick,
            liquidity,
            ..
        } => PoolStateRow {
            block,
            block_time_ms: time_ms,
            reserve0: balances.next().copied(),
            reserve1: balances.next().copied(),
            sqrt_price_x96: Some(*sqrt_price_x96),
            tick: Some(*tick),
            liquidity: Some(*liquidity),
        },
    }
}

fn ms(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// The first topics the filter asks for: pool events and factory creations.
fn pool_topics() -> Vec<B256> {
    let mut topics = events::EvmEvent::pool_topics();
    topics.extend(events::EvmEvent::factory_topics());
    topics
}
