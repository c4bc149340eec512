//! The lending markets of one EVM chain (stream [`LENDING_STREAM`]): every reserve of each
//! configured Aave v3 market and the base asset of each Compound v3 Comet ([`super::comet`]),
//! read behind a checkpoint of its own, apart from pools and deposits.
//!
//! A batch reads the markets' `ReserveDataUpdated` logs. Each block holding one becomes a
//! history row per reserve: the block's last event (its rates and indexes), with the reserve's
//! totals at that block. Rows depend only on the chain, never on where batches start or end.
//! Then every reserve's state at the batch's last block gives its current row and the figures
//! on its `pools` row: supply and borrow APY, utilisation, totals in tokens and USD, TVL as
//! supplied − borrowed (DefiLlama's rule for lending), and the realised supply yield over 1, 7
//! and 30 days, from the liquidity index ([`realised`]). Everything is committed with the
//! checkpoint in one transaction.
//!
//! A batch that does not extend the checkpoint is a reorg: the history above the common
//! ancestor goes ([`Store::rollback_lending_above`]) and the current rows are read again at the
//! ancestor. Read it when a reserve's figures or history look wrong.

use std::collections::{BTreeMap, HashMap};

use futures::StreamExt;
use std::time::Instant;

use alloy::primitives::{Address, U256};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use atoll_adapters::evm::aave_abi::IAavePool::ReserveDataUpdated;
use atoll_adapters::evm::comet::CometState;
use atoll_adapters::evm::discovery::evm_address;
use atoll_adapters::evm::lending::{
    AaveMarketAddresses, AaveReserveState, ReserveAmounts, ReserveTokens, ray,
};
use atoll_adapters::evm::{BlockRef, EvmChain, RetryPolicy};
use atoll_core::lending::{apy_of_apr, index_after, realised_apy};
use atoll_core::settings::{ChainSettings, LendingMarketEntry, LendingMarketSettings, Settings};
use atoll_core::{PoolId, Protocol};
use atoll_store::ingest::{IngestTxn, PoolEntry, PoolStateRow, YieldFigures};
use atoll_store::lending::{LendingHistoryRow, LendingReserveRow};
use atoll_store::{Checkpoint, Store};

use super::comet;
use super::fork::{self, BLOCK_HASHES_KEPT, Cursor, Step, Stream, block_row, checkpoint_at};
use crate::prices::TokenMeta;
use crate::{ChainProgress, IndexerError, Mode, ProgressSink};

/// The checkpoint stream of a chain's lending markets.
pub const LENDING_STREAM: &str = "lending";

/// Blocks whose history reads (totals and price, one JSON-RPC batch each) are in flight at once.
const HISTORY_READS_IN_FLIGHT: usize = 16;

/// What a chain's lending stream did in one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LendingSummary {
    /// Reserve updates read (Aave's `ReserveDataUpdated` logs, Comet's accruing ones).
    pub updates: u64,
    pub reorgs: u64,
    pub batches: u64,
    pub reserves: usize,
}

/// A reserve being indexed.
#[derive(Debug, Clone)]
struct TrackedReserve {
    pool_id: String,
    market: usize,
    tokens: ReserveTokens,
}

enum Market {
    Aave(AaveMarketAddresses),
    Comet {
        comet: Address,
        rewards: Option<Address>,
    },
}

impl Market {
    /// The contract whose logs the market's history is read from.
    fn emitter(&self) -> Address {
        match self {
            Market::Aave(a) => a.pool,
            Market::Comet { comet, .. } => *comet,
        }
    }
}

/// A reserve's state at one block, by protocol.
enum ReserveState {
    Aave(Box<AaveReserveState>),
    Comet(Box<CometState>),
}

/// The lending stream of one EVM chain.
pub struct EvmLending {
    chain: EvmChain,
    store: Store,
    markets: Vec<Market>,
    reserves: Vec<TrackedReserve>,
    tokens: HashMap<Address, TokenMeta>,
    cursor: Cursor,
    progress: ProgressSink,
    summary: LendingSummary,
    started: Instant,
}

impl EvmLending {
    /// The chain's lending stream, where it stopped last; `None` when no market is configured
    /// on the chain. Reads each market's contracts and reserves at the head and registers the
    /// reserves as pools (protocol `aave_v3`, address the aToken).
    pub async fn start(
        settings: &Settings,
        chain_settings: &ChainSettings,
        store: Store,
        progress: ProgressSink,
    ) -> Result<Option<EvmLending>, IndexerError> {
        let configured: Vec<&LendingMarketSettings> = settings
            .lending_markets
            .iter()
            .filter(|m| m.chain == chain_settings.name)
            .collect();
        if configured.is_empty() {
            return Ok(None);
        }
        let chain = EvmChain::new(chain_settings, RetryPolicy::default())?;
        chain.verify_chain_id().await?;
        let head = chain.head().await?.number;
        let mut markets = Vec::new();
        for m in &configured {
            markets.push(match m.entry {
                LendingMarketEntry::Aave { addresses_provider } => {
                    let Some(provider) = evm_address(&addresses_provider) else {
                        continue;
                    };
                    Market::Aave(chain.aave_market(provider, head).await?)
                }
                LendingMarketEntry::Comet { comet, rewards } => {
                    let Some(comet) = evm_address(&comet) else {
                        continue;
                    };
                    let rewards = rewards.as_ref().and_then(evm_address);
                    chain.verify_comet(comet, rewards, head).await?;
                    Market::Comet { comet, rewards }
                }
            });
        }
        let start_block = configured
            .iter()
            .map(|m| m.start_block.unwrap_or(chain_settings.start_block))
            .min()
            .unwrap_or(chain_settings.start_block);
        let checkpoint = store
            .checkpoint(chain_settings.chain_id.0, LENDING_STREAM)
            .await?;
        let mut cursor = Cursor::new(&settings.indexer, start_block, checkpoint);
        cursor.head = head;
        let mut me = EvmLending {
            cursor,
            chain,
            store,
            markets,
            reserves: Vec::new(),
            tokens: crate::evm::token_metas(settings, &chain_settings.name),
            progress,
            summary: LendingSummary::default(),
            started: Instant::now(),
        };
        let listed = me.listed_at(head).await?;
        me.track_new_reserves(head, &listed).await?;
        Ok(Some(me))
    }

    /// Follows the markets until caught up (`Once`) or forever (`Follow`).
    pub async fn run(&mut self, mode: Mode) -> Result<LendingSummary, IndexerError> {
        self.started = Instant::now();
        fork::drive(self, mode).await?;
        self.summary.reserves = self.reserves.len();
        Ok(self.summary)
    }

    /// Registers the reserves the markets list at `block` that are not tracked yet.
    async fn track_new_reserves(
        &mut self,
        block: u64,
        listed: &[Vec<Address>],
    ) -> Result<(), IndexerError> {
        let mut new_pools = Vec::new();
        for (m, listed) in listed.iter().enumerate() {
            let fresh: Vec<Address> = listed
                .iter()
                .copied()
                .filter(|a| {
                    !self
                        .reserves
                        .iter()
                        .any(|r| r.market == m && r.tokens.asset == *a)
                })
                .collect();
            if fresh.is_empty() {
                continue;
            }
            let described: Vec<(Protocol, ReserveTokens)> = match &self.markets[m] {
                Market::Aave(addresses) => self
                    .chain
                    .aave_reserves(addresses, &fresh, block)
                    .await?
                    .iter()
                    .map(|s| (Protocol::AaveV3, aave_tokens(s)))
                    .collect(),
                // The Comet is the pool, its own "aToken" and "debt token".
                Market::Comet { comet, .. } => fresh
                    .iter()
                    .map(|asset| {
                        let tokens = ReserveTokens {
                            asset: *asset,
                            a_token: *comet,
                            variable_debt_token: *comet,
                            stable_debt_token: Address::ZERO,
                        };
                        (Protocol::CompoundV3, tokens)
                    })
                    .collect(),
            };
            for (protocol, tokens) in described {
                let (reserve, entry) = self.describe(m, protocol, tokens, block).await?;
                self.reserves.push(reserve);
                new_pools.push(entry);
            }
        }
        self.store.register_pools(&new_pools).await?;
        Ok(())
    }

    /// A reserve as tracked and as registered in `pools`: one "pool" per reserve, its token on
    /// both sides, its address the aToken's (the Comet's).
    async fn describe(
        &mut self,
        market: usize,
        protocol: Protocol,
        tokens: ReserveTokens,
        block: u64,
    ) -> Result<(TrackedReserve, PoolEntry), IndexerError> {
        let asset = tokens.asset;
        if !self.tokens.contains_key(&asset) {
            let info = self.chain.token_infos(&[asset], block).await?;
            if let Some(i) = info.into_iter().next() {
                self.tokens.insert(
                    asset,
                    TokenMeta {
                        symbol: i.symbol,
                        decimals: i.decimals,
                        stable: false,
                        pinned_usd: None,
                    },
                );
            }
        }
        let meta = self.tokens.get(&asset);
        let id = PoolId::new(
            &self.chain.name,
            protocol,
            &atoll_core::Address::Evm(tokens.a_token.into_array()),
        )
        .0;
        let lower = |a: Address| format!("{a:#x}");
        let entry = PoolEntry {
            id: id.clone(),
            chain_id: self.chain.chain_id,
            protocol: protocol.as_str().to_string(),
            address: lower(tokens.a_token),
            token0: lower(asset),
            token1: lower(asset),
            symbol: meta.map_or_else(|| "?".to_string(), |m| m.symbol.clone()),
            fee_ppm: 0,
            lp_fee_ppm: 0,
            stablecoin: meta.is_some_and(|m| m.stable),
            discovered_at_block: None,
        };
        let reserve = TrackedReserve {
            pool_id: id,
            market,
            tokens,
        };
        Ok((reserve, entry))
    }

    /// The markets' logs of `from..=to` that change a reserve: Aave's `ReserveDataUpdated`,
    /// the Comets' accruing events. In chain order.
    async fn update_logs(&mut self, from: u64, to: u64) -> Result<Vec<Log>, IndexerError> {
        let (pools, comets): (Vec<&Market>, Vec<&Market>) = self
            .markets
            .iter()
            .partition(|m| matches!(m, Market::Aave(_)));
        let mut filters = Vec::new();
        if !pools.is_empty() {
            filters.push(
                Filter::new()
                    .address(pools.iter().map(|m| m.emitter()).collect::<Vec<_>>())
                    .event_signature(ReserveDataUpdated::SIGNATURE_HASH),
            );
        }
        if !comets.is_empty() {
            filters.push(
                Filter::new()
                    .address(comets.iter().map(|m| m.emitter()).collect::<Vec<_>>())
                    .event_signature(comet::accruing_events()),
            );
        }
        let mut logs = Vec::new();
        for filter in filters {
            logs.extend(
                self.chain
                    .logs(&filter, from, to, &mut self.cursor.window)
                    .await?,
            );
        }
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        Ok(logs)
    }

    /// One history row per (reserve, block) among `logs`: the block's last update, with the
    /// reserve's totals read at that block.
    async fn history_rows(&self, logs: &[Log]) -> Result<Vec<LendingHistoryRow>, IndexerError> {
        // (block, reserve index) → (log index, event); logs come in chain order, so the last
        // one written is the block's last.
        let mut last: BTreeMap<(u64, usize), (u64, ReserveDataUpdated)> = BTreeMap::new();
        for log in logs {
            let Some(m) = self
                .markets
                .iter()
                .position(|m| matches!(m, Market::Aave(a) if a.pool == log.address()))
            else {
                continue;
            };
            let event =
                ReserveDataUpdated::decode_log(&log.inner).map_err(|e| IndexerError::BadLog {
                    chain: self.chain.name.clone(),
                    tx: format!("{:#x}", log.transaction_hash.unwrap_or_default()),
                    log_index: log.log_index.unwrap_or_default(),
                    reason: e.to_string(),
                })?;
            let Some(r) = self
                .reserves
                .iter()
                .position(|r| r.market == m && r.tokens.asset == event.reserve)
            else {
                continue;
            };
            let block = log.block_number.unwrap_or_default();
            last.insert((block, r), (log.log_index.unwrap_or_default(), event.data));
        }
        // (block, market) → its reserves' updates: one batch of reads each.
        type Updates = Vec<(usize, u64, ReserveDataUpdated)>;
        let mut by_block: BTreeMap<(u64, usize), Updates> = BTreeMap::new();
        for ((block, r), (log_index, event)) in last {
            by_block
                .entry((block, self.reserves[r].market))
                .or_default()
                .push((r, log_index, event));
        }
        // Each block's reads are one JSON-RPC batch at that block; several blocks are read at
        // once (the node answers historical calls one state lookup each).
        let reads =
            futures::stream::iter(by_block.into_iter().map(|((block, market), updates)| {
                let tokens: Vec<ReserveTokens> = updates
                    .iter()
                    .map(|(r, ..)| self.reserves[*r].tokens)
                    .collect();
                let oracle = match &self.markets[market] {
                    Market::Aave(a) => a.oracle,
                    Market::Comet { .. } => Address::ZERO,
                };
                async move {
                    let totals = self.chain.aave_totals_at(oracle, &tokens, block).await?;
                    let time_ms = self.block_time_ms(block, logs).await?;
                    Ok::<_, IndexerError>((block, updates, totals, time_ms))
                }
            }))
            .buffered(HISTORY_READS_IN_FLIGHT)
            .collect::<Vec<_>>();
        // The Comets' rows are read beside Aave's, not after them.
        let (reads, comet_rows) = futures::join!(reads, self.comet_history_rows(logs));
        let mut rows = comet_rows?;
        for read in reads {
            let (block, updates, totals, time_ms) = read?;
            for ((r, log_index, e), t) in updates.into_iter().zip(totals) {
                rows.push(history_row(
                    &self.reserves[r].pool_id,
                    self.chain.chain_id,
                    block,
                    log_index,
                    time_ms,
                    &e,
                    &t,
                )?);
            }
        }
        Ok(rows)
    }

    /// One history row per (Comet, block) among `logs`, from the Comet's state at that block.
    async fn comet_history_rows(
        &self,
        logs: &[Log],
    ) -> Result<Vec<LendingHistoryRow>, IndexerError> {
        // (block, reserve index) → the block's last accruing log index.
        let mut last: BTreeMap<(u64, usize), u64> = BTreeMap::new();
        for log in logs {
            let Some(r) = self.reserves.iter().position(|r| {
                matches!(self.markets[r.market], Market::Comet { comet, .. } if comet == log.address())
            }) else {
                continue;
            };
            let block = log.block_number.unwrap_or_default();
            last.insert((block, r), log.log_index.unwrap_or_default());
        }
        let reads = futures::stream::iter(last.into_iter().map(|((block, r), log_index)| {
            let tokens = self.reserves[r].tokens;
            async move {
                let state = self
                    .chain
                    .comet_totals_at(tokens.a_token, tokens.asset, block)
                    .await?;
                let usd_feeds = self.usd_feeds(tokens.asset);
                let time_ms = self.block_time_ms(block, logs).await?;
                Ok::<_, IndexerError>(comet::history_row(
                    &self.reserves[r].pool_id,
                    self.chain.chain_id,
                    block,
                    log_index,
                    time_ms,
                    &state,
                    usd_feeds,
                ))
            }
        }))
        .buffered(HISTORY_READS_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
        reads.into_iter().collect()
    }

    /// Whether a Comet with base asset `base` prices in USD: its base is a configured stable
    /// token (every USD-based Comet's feeds are USD; the others' are the base asset).
    fn usd_feeds(&self, base: Address) -> bool {
        self.tokens.get(&base).is_some_and(|m| m.stable)
    }

    /// A block's timestamp in ms: from its logs when they carry it, else read.
    async fn block_time_ms(&self, block: u64, logs: &[Log]) -> Result<i64, IndexerError> {
        let seconds = match logs
            .iter()
            .find(|l| l.block_number == Some(block))
            .and_then(|l| l.block_timestamp)
        {
            Some(t) => t,
            None => self.chain.block(block).await?.timestamp,
        };
        Ok(i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX))
    }

    /// Each market's reserves (its `getReservesList`) at `at`, by market.
    async fn listed_at(&self, at: u64) -> Result<Vec<Vec<Address>>, IndexerError> {
        let mut out = Vec::with_capacity(self.markets.len());
        for market in &self.markets {
            out.push(match market {
                Market::Aave(a) => self.chain.aave_reserve_list(a.pool, at).await?,
                Market::Comet { comet, .. } => self
                    .chain
                    .comet_base_token(*comet, at)
                    .await?
                    .into_iter()
                    .collect(),
            });
        }
        Ok(out)
    }

    /// The state at `at` of every tracked reserve its market lists there (`listed`, from
    /// [`Self::listed_at`]; a reserve listed later, or only on an abandoned fork, is not read:
    /// it has no state at that block).
    async fn states_at(
        &self,
        at: u64,
        listed: &[Vec<Address>],
    ) -> Result<Vec<(usize, ReserveState)>, IndexerError> {
        let mut out = Vec::with_capacity(self.reserves.len());
        for (m, (market, listed)) in self.markets.iter().zip(listed).enumerate() {
            let mine: Vec<usize> = (0..self.reserves.len())
                .filter(|r| {
                    let r = &self.reserves[*r];
                    r.market == m && listed.contains(&r.tokens.asset)
                })
                .collect();
            if mine.is_empty() {
                continue;
            }
            let assets: Vec<Address> = mine
                .iter()
                .map(|r| self.reserves[*r].tokens.asset)
                .collect();
            match market {
                Market::Aave(addresses) => {
                    let states = self.chain.aave_reserves(addresses, &assets, at).await?;
                    out.extend(
                        mine.into_iter()
                            .zip(states.into_iter().map(|s| ReserveState::Aave(Box::new(s)))),
                    );
                }
                Market::Comet { comet, rewards } => {
                    let state = self.chain.comet_state(*comet, *rewards, at).await?;
                    out.extend(
                        mine.into_iter()
                            .map(|r| (r, ReserveState::Comet(Box::new(state.clone())))),
                    );
                }
            }
        }
        Ok(out)
    }

    /// Writes every reserve's current row and its `pools` figures at block `at` into `txn`,
    /// after the batch's history (the realised yields read it).
    async fn write_current(
        &self,
        txn: &IngestTxn,
        at: &BlockRef,
        states: &[(usize, ReserveState)],
        pool_prices: &HashMap<String, f64>,
    ) -> Result<(), IndexerError> {
        let time_ms = i64::try_from(at.timestamp.saturating_mul(1000)).unwrap_or(i64::MAX);
        let mut rows = Vec::with_capacity(states.len());
        let own = |t: Address| {
            self.tokens
                .get(&t)
                .and_then(|m| m.pinned_usd)
                .or_else(|| pool_prices.get(&format!("{t:#x}")).copied())
        };
        for (r, s) in states {
            let reserve = &self.reserves[*r];
            let now_index = match s {
                ReserveState::Aave(s) => f64::from(s.normalized_income),
                ReserveState::Comet(s) => comet::index_now(s, at.timestamp),
            };
            let realised = realised(txn, &reserve.pool_id, now_index, time_ms).await?;
            let (chain_id, block) = (self.chain.chain_id, at.number);
            let row = match (s, &self.markets[reserve.market]) {
                (ReserveState::Aave(s), Market::Aave(addresses)) => {
                    current_row(reserve, addresses, chain_id, s, block, time_ms, realised)?
                }
                (ReserveState::Comet(s), _) => {
                    let pricing = comet::CometPricing::of(s, self.usd_feeds(s.base_token), own);
                    let id = &reserve.pool_id;
                    comet::current_row(id, chain_id, s, &pricing, block, time_ms, realised)
                }
                (ReserveState::Aave(_), Market::Comet { .. }) => continue,
            };
            let figures = pool_figures(&row);
            let state = PoolStateRow {
                block: at.number,
                block_time_ms: time_ms,
                ..PoolStateRow::default()
            };
            txn.update_pool(&reserve.pool_id, &state, &figures).await?;
            rows.push(row);
        }
        txn.upsert_lending_reserves(&rows).await?;
        Ok(())
    }

    /// Atoll's own token prices (from the chain's pools), read only when a Comet needs them
    /// ([`comet::CometPricing`]). Read before the ingest transaction opens: the store may have one connection.
    async fn pool_prices(
        &self,
        states: &[(usize, ReserveState)],
    ) -> Result<HashMap<String, f64>, IndexerError> {
        // A Comet needs them for a base its feeds do not price in USD, or a reward token that
        // is neither the base nor one of its assets.
        let needs = |c: &CometState| {
            !self.usd_feeds(c.base_token)
                || c.reward
                    .as_ref()
                    .is_some_and(|r| r.price.is_zero() && r.token != c.base_token)
        };
        if states
            .iter()
            .any(|(_, s)| matches!(s, ReserveState::Comet(c) if needs(c)))
        {
            Ok(self.store.token_prices_usd(self.chain.chain_id).await?)
        } else {
            Ok(HashMap::new())
        }
    }

    async fn commit(
        &mut self,
        first: BlockRef,
        last: BlockRef,
        history: Vec<LendingHistoryRow>,
        states: Vec<(usize, ReserveState)>,
        updates: u64,
    ) -> Result<(), IndexerError> {
        let checkpoint = checkpoint_at(&last);
        let prices = self.pool_prices(&states).await?;
        let txn = self
            .store
            .begin_ingest(
                self.chain.chain_id,
                LENDING_STREAM,
                self.cursor.checkpoint.as_ref(),
            )
            .await?;
        txn.upsert_lending_history(&history).await?;
        self.write_current(&txn, &last, &states, &prices).await?;
        txn.record_block_hashes(&[block_row(&first), block_row(&last)], BLOCK_HASHES_KEPT)
            .await?;
        txn.commit(&checkpoint).await?;
        self.summary.updates += updates;
        self.summary.batches += 1;
        self.cursor.checkpoint = Some(checkpoint);
        (self.progress)(&ChainProgress {
            chain: self.chain.name.clone(),
            stream: LENDING_STREAM.to_string(),
            start_block: self.cursor.start_block,
            block: last.number,
            head: self.cursor.head.max(last.number),
            events: self.summary.updates,
            reorgs: self.summary.reorgs,
            elapsed: self.started.elapsed(),
        });
        Ok(())
    }

    /// Rolls back to the newest stored block still on the chain, then rewrites the current
    /// rows from the chain at that block.
    async fn roll_back_to_ancestor(&mut self, below_or_at: u64) -> Result<(), IndexerError> {
        self.summary.reorgs += 1;
        let ancestor =
            fork::common_ancestor(&self.chain, &self.store, LENDING_STREAM, below_or_at).await?;
        let above = ancestor
            .as_ref()
            .map_or(self.cursor.start_block.saturating_sub(1), |a| {
                a.block_number
            });
        let removed = self
            .store
            .rollback_lending_above(
                self.chain.chain_id,
                LENDING_STREAM,
                above,
                ancestor.as_ref(),
            )
            .await?;
        tracing::warn!(
            chain = %self.chain.name,
            from = below_or_at,
            ancestor = ?ancestor.as_ref().map(|a| a.block_number),
            history_removed = removed,
            "reorg: lending history rolled back to the common ancestor"
        );
        self.cursor.checkpoint = ancestor.clone();
        if let Some(cp) = ancestor
            && let Err(e) = self.rewrite_current(&cp).await
        {
            // The chain moved again under the rewrite: the next batch writes them.
            tracing::warn!(chain = %self.chain.name, error = %e, "lending rows not rewritten at the ancestor");
        }
        Ok(())
    }

    /// The current rows as of the checkpoint `cp` (after a rollback to it).
    async fn rewrite_current(&self, cp: &Checkpoint) -> Result<(), IndexerError> {
        let at = self.chain.block(cp.block_number).await?;
        let listed = self.listed_at(at.number).await?;
        let states = self.states_at(at.number, &listed).await?;
        let prices = self.pool_prices(&states).await?;
        let txn = self
            .store
            .begin_ingest(self.chain.chain_id, LENDING_STREAM, Some(cp))
            .await?;
        self.write_current(&txn, &at, &states, &prices).await?;
        txn.commit(cp).await?;
        Ok(())
    }
}

impl Stream for EvmLending {
    fn chain(&self) -> &EvmChain {
        &self.chain
    }

    fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    fn cursor_mut(&mut self) -> &mut Cursor {
        &mut self.cursor
    }

    async fn batch(&mut self, first: BlockRef, last: BlockRef) -> Result<Step, IndexerError> {
        let read = async {
            let listed = self.listed_at(last.number).await?;
            self.track_new_reserves(last.number, &listed).await?;
            let logs = self.update_logs(first.number, last.number).await?;
            let history = self.history_rows(&logs).await?;
            let states = self.states_at(last.number, &listed).await?;
            Ok::<_, IndexerError>((logs, history, states))
        };
        let (logs, history, states) = match read.await {
            Ok(r) => r,
            // A read at a block the chain just dropped fails like a bad contract would: a
            // reorg under the batch, if `last` is gone.
            Err(e) if !fork::unchanged(&self.chain, &last, &[]).await? => {
                tracing::debug!(chain = %self.chain.name, error = %e, "lending batch read across a reorg");
                return Ok(Step::Reorged);
            }
            Err(e) => return Err(e),
        };
        if !fork::unchanged(&self.chain, &last, &logs).await? {
            return Ok(Step::Reorged);
        }
        self.commit(first, last, history, states, logs.len() as u64)
            .await?;
        Ok(Step::Advanced)
    }

    async fn roll_back(&mut self, below_or_at: u64) -> Result<(), IndexerError> {
        self.roll_back_to_ancestor(below_or_at).await
    }
}

fn history_row(
    pool_id: &str,
    chain_id: u64,
    block: u64,
    log_index: u64,
    time_ms: i64,
    e: &ReserveDataUpdated,
    t: &ReserveAmounts,
) -> Result<LendingHistoryRow, IndexerError> {
    let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    Ok(LendingHistoryRow {
        pool_id: pool_id.to_string(),
        block: int(block),
        chain_id: int(chain_id),
        log_index: int(log_index),
        time_ms,
        liquidity_rate_ray: e.liquidityRate.to_string(),
        variable_borrow_rate_ray: e.variableBorrowRate.to_string(),
        stable_borrow_rate_ray: e.stableBorrowRate.to_string(),
        liquidity_index_ray: e.liquidityIndex.to_string(),
        variable_borrow_index_ray: e.variableBorrowIndex.to_string(),
        supplied: t.supplied.to_string(),
        available: t.available.to_string(),
        variable_debt: t.variable_debt.to_string(),
        stable_debt: t.stable_debt.to_string(),
        price_usd: t.price_usd,
    })
}

/// The realised supply APY over 1, 7 and 30 days ending at `now_ms`: the reserve's liquidity
/// index now (`now_index`: Aave's `getReserveNormalizedIncome`, Comet's accrued supply index) over its value at the window's start,
/// carried forward from the last update before it at that update's rate, exactly as the
/// chain computes it between updates. `None` for a window older than the reserve's history.
async fn realised(
    txn: &IngestTxn,
    pool_id: &str,
    now_index: f64,
    now_ms: i64,
) -> Result<[Option<f64>; 3], IndexerError> {
    let mut out = [None; 3];
    for (slot, days) in out.iter_mut().zip([1i64, 7, 30]) {
        let span_ms = days * 86_400_000;
        let start_ms = now_ms - span_ms;
        let Some(row) = txn.lending_row_at(pool_id, start_ms).await? else {
            continue;
        };
        let index = parse_ray(&row.liquidity_index_ray);
        let rate = ray(parse_u256(&row.liquidity_rate_ray));
        let then = index_after(index, rate, (start_ms - row.time_ms) as f64 / 1000.0);
        *slot = realised_apy(then, now_index, span_ms as f64 / 1000.0);
    }
    Ok(out)
}

/// A reserve's tokens from its Aave state.
fn aave_tokens(s: &AaveReserveState) -> ReserveTokens {
    ReserveTokens {
        asset: s.asset,
        a_token: s.a_token,
        variable_debt_token: s.variable_debt_token,
        stable_debt_token: s.stable_debt_token,
    }
}

fn parse_u256(s: &str) -> U256 {
    s.parse().unwrap_or_default()
}

fn parse_ray(s: &str) -> f64 {
    f64::from(parse_u256(s))
}

/// A reserve's current row from its state at block `block`.
fn current_row(
    reserve: &TrackedReserve,
    market: &AaveMarketAddresses,
    chain_id: u64,
    s: &AaveReserveState,
    block: u64,
    time_ms: i64,
    realised: [Option<f64>; 3],
) -> Result<LendingReserveRow, IndexerError> {
    let config = s.config();
    let unit = 10f64.powi(i32::from(config.decimals));
    let price = s.price_usd();
    let totals = s.totals();
    let supplied = f64::from(s.supplied) / unit;
    let incentives = Incentives::of(s, price.map(|p| supplied * p), time_ms);
    let lower = |a: Address| format!("{a:#x}");
    let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    Ok(LendingReserveRow {
        pool_id: reserve.pool_id.clone(),
        chain_id: int(chain_id),
        market: lower(market.pool),
        asset: lower(s.asset),
        a_token: lower(s.a_token),
        variable_debt_token: lower(s.variable_debt_token),
        stable_debt_token: lower(s.stable_debt_token),
        strategy: lower(s.strategy),
        decimals: i32::from(config.decimals),
        accepts_supply: config.accepts_supply(),
        borrowing_enabled: config.borrowing_enabled,
        accrued_to_treasury: s.accrued_to_treasury.to_string(),
        ltv_bps: config.ltv_bps as i32,
        liquidation_threshold_bps: config.liquidation_threshold_bps as i32,
        reserve_factor_bps: config.reserve_factor_bps as i32,
        supply_cap: config.supply_cap.to_string(),
        borrow_cap: config.borrow_cap.to_string(),
        optimal_usage_ray: s.optimal_usage.to_string(),
        base_rate_ray: s.base_rate.to_string(),
        slope1_ray: s.slope1.to_string(),
        slope2_ray: s.slope2.to_string(),
        supply_kink_ray: None,
        supply_base_rate_ray: None,
        supply_slope1_ray: None,
        supply_slope2_ray: None,
        liquidity_rate_ray: s.liquidity_rate.to_string(),
        variable_borrow_rate_ray: s.variable_borrow_rate.to_string(),
        liquidity_index_ray: s.liquidity_index.to_string(),
        normalized_income_ray: s.normalized_income.to_string(),
        supplied: s.supplied.to_string(),
        available: s.available.to_string(),
        variable_debt: s.variable_debt.to_string(),
        stable_debt: s.stable_debt.to_string(),
        price_usd: price,
        supply_apy: Some(apy_of_apr(ray(s.liquidity_rate))),
        borrow_apy: Some(apy_of_apr(ray(s.variable_borrow_rate))),
        utilization: Some(totals.utilization()),
        supplied_usd: price.map(|p| supplied * p),
        borrowed_usd: price.map(|p| totals.debt() * p),
        realised_apy1d: realised[0],
        realised_apy7d: realised[1],
        realised_apy30d: realised[2],
        apy_reward: incentives.apy,
        reward_tokens: incentives.tokens,
        reward_ends_ms: incentives.ends_ms,
        state_block: int(block),
        state_time_ms: time_ms,
    })
}

/// A reserve's incentives at a block: the reward APY (`None` when the reserve has none, 0 once
/// every emission has ended: an emission counts only before its on-chain end), the live
/// rewards' tokens and the first of their ends.
pub(super) struct Incentives {
    pub(super) apy: Option<f64>,
    pub(super) tokens: Option<String>,
    pub(super) ends_ms: Option<i64>,
}

impl Incentives {
    fn of(s: &AaveReserveState, supplied_usd: Option<f64>, time_ms: i64) -> Incentives {
        let now_s = u64::try_from(time_ms / 1000).unwrap_or(0);
        let live: Vec<_> = s
            .rewards
            .iter()
            .filter(|e| !e.emission_per_second.is_zero() && e.distribution_end > now_s)
            .collect();
        let apy = match supplied_usd {
            _ if s.rewards.is_empty() => None,
            Some(total) if total > 0.0 => {
                Some(live.iter().filter_map(|e| e.usd_per_year()).sum::<f64>() / total)
            }
            _ => None,
        };
        let tokens = (!live.is_empty()).then(|| {
            live.iter()
                .map(|e| format!("{:#x}", e.reward))
                .collect::<Vec<_>>()
                .join(",")
        });
        let ends_ms = live
            .iter()
            .map(|e| i64::try_from(e.distribution_end.saturating_mul(1000)).unwrap_or(i64::MAX))
            .min();
        Incentives {
            apy,
            tokens,
            ends_ms,
        }
    }
}

/// What a reserve shows on its `pools` row: TVL is supplied − borrowed (DefiLlama's rule for
/// lending), the base APY the supply APY, the 7-day base APY the realised one, and "fees" what
/// suppliers earn at the current rate (a day's and a week's), which is what the router reads
/// as the reserve's income.
fn pool_figures(row: &LendingReserveRow) -> YieldFigures {
    let apr = parse_ray(&row.liquidity_rate_ray) / atoll_core::lending::RAY;
    let daily = row.supplied_usd.map_or(0.0, |s| s * apr / 365.0);
    YieldFigures {
        fees_usd_1d: daily,
        fees_usd_7d: daily * 7.0,
        price0_usd: row.price_usd,
        price1_usd: row.price_usd,
        tvl_usd: row
            .supplied_usd
            .zip(row.borrowed_usd)
            .map(|(s, b)| (s - b).max(0.0)),
        apr_base: Some(apr),
        apy_base: row.supply_apy,
        apy_base_7d: row.realised_apy7d,
        apy_reward: row.apy_reward,
        apy: row
            .supply_apy
            .map(|base| base + row.apy_reward.unwrap_or(0.0)),
        ..YieldFigures::default()
    }
}
