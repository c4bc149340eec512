//! Indexing of one Solana cluster: its configured Orca Whirlpool and Raydium CPMM pools, read
//! as account state at the `finalized` commitment (no rollback is ever needed), and the bridge
//! deposits into the relayer's vault token accounts.
//!
//! Pools (stream `pools`, checkpoint = the slot the accounts were read at): every step reads
//! all pool, vault and config accounts in `getMultipleAccounts` batches, values the pools,
//! takes the fees earned since the previous read from the pools' cumulative fee counters
//! (Whirlpool `fee_growth_global`, CPMM protocol + fund fees), and commits state, hourly
//! fees, the hour-bucket snapshot and the checkpoint in one transaction. No swap events are
//! read on Solana, so swap counts stay 0 and volume is derived from the fees.
//!
//! Deposits (stream `deposits:<vault>`, checkpoint = slot and signature of the newest
//! transaction scanned): the vault's transactions since the checkpoint, oldest first, in
//! chunks; each chunk's transfers and the checkpoint commit together, and transfers are keyed
//! by `TransferId`, so a re-scan inserts nothing twice.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use atoll_adapters::capability::Heights;
use atoll_adapters::evm::RetryPolicy;
use atoll_adapters::solana::SolanaChain;
use atoll_adapters::solana::accounts::{
    self, AccountError, CpmmConfig, CpmmPool, Whirlpool, whirlpool_fees_between,
};
use atoll_adapters::solana::deposits::{VaultTransfer, Verdict};
use atoll_core::settings::{ChainSettings, Settings};
use atoll_core::time::{HOUR_MS, now_ms};
use atoll_core::{PoolId, Protocol, Reason, TransferStatus, U256};
use atoll_store::ingest::{HourlyDelta, PoolEntry, PoolStateRow, SnapshotRow};
use atoll_store::transfers::DepositRow;
use atoll_store::{Checkpoint, Store};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::account::Account;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signature;

use crate::prices::{self, PriceSource, TokenMeta};
use crate::yields::{self, hour_bucket};
use crate::{ChainProgress, ChainSummary, IndexerError, Mode, POOLS_STREAM, ProgressSink};

/// Vault transactions committed per deposit batch.
const DEPOSIT_CHUNK: usize = 500;
/// Whirlpool `protocol_fee_rate` is in basis points of the fee.
const WHIRLPOOL_PROTOCOL_FEE_DENOMINATOR: u64 = 10_000;
/// Whirlpool `fee_rate` and every CPMM rate are in millionths.
const PPM: u64 = 1_000_000;

/// What kind of Solana pool, with what its fees need.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Whirlpool,
    Cpmm { config: Pubkey },
}

#[derive(Debug, Clone, PartialEq)]
struct TrackedPool {
    id: String,
    address: Pubkey,
    kind: Kind,
    mint0: Pubkey,
    mint1: Pubkey,
    vault0: Pubkey,
    vault1: Pubkey,
}

/// A pool's state as read in one step.
#[derive(Debug, Clone, PartialEq)]
pub enum SolanaPoolState {
    Whirlpool(Whirlpool),
    Cpmm(CpmmPool, CpmmConfig),
}

/// Fees a pool earned between two reads of its counters, in each token's smallest unit, and
/// the swap volume they imply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EarnedFees {
    pub lp_fees: (U256, U256),
    pub volume: (U256, U256),
}

impl SolanaPoolState {
    /// The cumulative fee counters of this state (see the module doc).
    pub fn fee_counters(&self) -> (u128, u128) {
        match self {
            SolanaPoolState::Whirlpool(w) => (w.fee_growth_global_a, w.fee_growth_global_b),
            SolanaPoolState::Cpmm(p, _) => (
                u128::from(p.protocol_fees.0) + u128::from(p.fund_fees.0),
                u128::from(p.protocol_fees.1) + u128::from(p.fund_fees.1),
            ),
        }
    }

    /// Total fee and LP share in millionths of the traded amount.
    pub fn fee_ppm(&self) -> (u32, u32) {
        match self {
            SolanaPoolState::Whirlpool(w) => {
                let fee = u64::from(w.fee_rate);
                let protocol =
                    u64::from(w.protocol_fee_rate).min(WHIRLPOOL_PROTOCOL_FEE_DENOMINATOR);
                let lp = fee * (WHIRLPOOL_PROTOCOL_FEE_DENOMINATOR - protocol)
                    / WHIRLPOOL_PROTOCOL_FEE_DENOMINATOR;
                (ppm_u32(fee), ppm_u32(lp))
            }
            SolanaPoolState::Cpmm(_, c) => (ppm_u32(c.trade_fee_rate), ppm_u32(c.lp_fee_ppm())),
        }
    }

    /// The fees earned since counters `before` were read, up to this state.
    ///
    /// Whirlpool: `Δfee_growth · liquidity / 2^64` per token (the growth counts the LPs' part
    /// only), at the current in-range liquidity: liquidity moved in between is not seen, as
    /// with any snapshot-based reading. CPMM: the counters are the protocol and fund shares of
    /// the trade fee, so the LP share is `Δ · (1 − p − f) / (p + f)`. A CPMM counter that went
    /// down was collected by the admin: the fees since then (its current value) are counted,
    /// those before the collection are not seen.
    pub fn fees_since(&self, before: (u128, u128)) -> EarnedFees {
        let (now0, now1) = self.fee_counters();
        match self {
            SolanaPoolState::Whirlpool(w) => {
                let lp0 = whirlpool_fees_between(before.0, now0, w.liquidity);
                let lp1 = whirlpool_fees_between(before.1, now1, w.liquidity);
                let (_, lp_ppm) = self.fee_ppm();
                EarnedFees {
                    lp_fees: (U256::from(lp0), U256::from(lp1)),
                    volume: (volume_from_lp(lp0, lp_ppm), volume_from_lp(lp1, lp_ppm)),
                }
            }
            SolanaPoolState::Cpmm(_, c) => {
                let delta = |now: u128, was: u128| if now >= was { now - was } else { now };
                let (d0, d1) = (delta(now0, before.0), delta(now1, before.1));
                let taken = u128::from(c.protocol_fee_rate) + u128::from(c.fund_fee_rate);
                if taken == 0 || c.trade_fee_rate == 0 {
                    // Nothing flows to the counters: the fees cannot be seen from state.
                    return EarnedFees::default();
                }
                let lp_share = u128::from(PPM).saturating_sub(taken);
                let lp = |d: u128| U256::from(d) * U256::from(lp_share) / U256::from(taken);
                // trade fee = Δ / (p + f) · 1e6; volume = trade fee / trade_fee_rate · 1e6.
                let volume = |d: u128| {
                    U256::from(d) * U256::from(PPM) * U256::from(PPM)
                        / (U256::from(taken) * U256::from(c.trade_fee_rate))
                };
                EarnedFees {
                    lp_fees: (lp(d0), lp(d1)),
                    volume: (volume(d0), volume(d1)),
                }
            }
        }
    }
}

fn ppm_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// The traded amount that pays `lp_fee` at `lp_ppm` millionths.
fn volume_from_lp(lp_fee: u128, lp_ppm: u32) -> U256 {
    if lp_ppm == 0 {
        return U256::ZERO;
    }
    U256::from(lp_fee) * U256::from(PPM) / U256::from(lp_ppm)
}

/// Token1 per token0 (human units) from a Whirlpool's `sqrt_price` (Q64.64).
pub fn price_from_sqrt_x64(sqrt_price_x64: u128, decimals0: u8, decimals1: u8) -> f64 {
    let s = sqrt_price_x64 as f64 / 2f64.powi(64);
    s * s * 10f64.powi(i32::from(decimals0) - i32::from(decimals1))
}

/// A vault whose deposits are scanned.
#[derive(Debug, Clone, PartialEq)]
struct DepositVault {
    vault: Pubkey,
    stream: String,
    checkpoint: Option<Checkpoint>,
}

pub struct SolanaIndexer {
    chain: SolanaChain,
    chain_id: u64,
    store: Store,
    tokens: HashMap<Pubkey, TokenMeta>,
    pools: Vec<TrackedPool>,
    vaults: Vec<DepositVault>,
    checkpoint: Option<Checkpoint>,
    min_tvl_usd: f64,
    poll_interval: std::time::Duration,
    sample_interval: std::time::Duration,
    last_sample: Option<Instant>,
    progress: ProgressSink,
    summary: ChainSummary,
    started: Instant,
}

fn pubkey(a: &atoll_core::Address) -> Option<Pubkey> {
    match a {
        atoll_core::Address::Solana(b) => Some(Pubkey::new_from_array(*b)),
        atoll_core::Address::Evm(_) => None,
    }
}

impl SolanaIndexer {
    /// Connects to the cluster, reads the configured pools (a pool that does not decode is
    /// reported in the summary and skipped) and the deposit checkpoints.
    pub async fn start(
        settings: &Settings,
        chain_settings: &ChainSettings,
        store: Store,
        progress: ProgressSink,
    ) -> Result<SolanaIndexer, IndexerError> {
        let name = chain_settings.name.clone();
        let chain = SolanaChain::new(chain_settings, RetryPolicy::default())?;
        let chain_id = chain_settings.chain_id.0;
        let mut tokens = HashMap::new();
        let mut vaults = Vec::new();
        for t in &settings.tokens {
            for d in t.deployments.iter().filter(|d| d.chain == name) {
                let Some(mint) = pubkey(&d.address) else {
                    continue;
                };
                tokens.insert(
                    mint,
                    TokenMeta {
                        symbol: t.symbol.clone(),
                        decimals: d.decimals,
                        stable: t.stable,
                        pinned_usd: t.price_usd,
                    },
                );
                if let Some(vault) = d.vault.as_ref().and_then(pubkey) {
                    let stream = atoll_adapters::capability::deposit_stream(&vault);
                    vaults.push(DepositVault {
                        vault,
                        checkpoint: store.checkpoint(chain_id, &stream).await?,
                        stream,
                    });
                }
            }
        }
        let mut me = SolanaIndexer {
            chain,
            chain_id,
            store: store.clone(),
            tokens,
            pools: Vec::new(),
            vaults,
            checkpoint: store.checkpoint(chain_id, POOLS_STREAM).await?,
            min_tvl_usd: settings.indexer.min_tvl_usd,
            poll_interval: settings.indexer.poll_interval,
            sample_interval: settings.indexer.solana_sample_interval,
            last_sample: None,
            progress,
            summary: ChainSummary {
                chain: name.clone(),
                by_slot: true,
                ..ChainSummary::default()
            },
            started: Instant::now(),
        };
        let configured: Vec<(Pubkey, Protocol)> = settings
            .pools
            .iter()
            .filter(|p| p.chain == name)
            .filter_map(|p| Some((pubkey(&p.address)?, p.protocol)))
            .collect();
        let keys: Vec<Pubkey> = configured.iter().map(|c| c.0).collect();
        let found = me
            .chain
            .accounts(&keys, CommitmentConfig::confirmed())
            .await?;
        let mut entries = Vec::new();
        for ((address, protocol), account) in configured.iter().zip(found) {
            match me.describe_pool(*address, *protocol, account).await {
                Ok((tracked, entry)) => {
                    me.pools.push(tracked);
                    entries.push(entry);
                }
                Err(reason) => {
                    let problem = format!("pool {address} ({protocol}): {reason}; skipped");
                    tracing::error!(chain = %name, "{problem}");
                    me.summary.pool_problems.push(problem);
                }
            }
        }
        store.register_pools(&entries).await?;
        me.summary.pools = me.pools.len();
        Ok(me)
    }

    /// Decodes a configured pool and what its record needs (token decimals, fee tier).
    async fn describe_pool(
        &mut self,
        address: Pubkey,
        protocol: Protocol,
        account: Option<Account>,
    ) -> Result<(TrackedPool, PoolEntry), String> {
        let account =
            account.ok_or_else(|| AccountError::Missing { account: address }.to_string())?;
        let (kind, mint0, mint1, vault0, vault1, state) = match protocol {
            Protocol::OrcaWhirlpool => {
                let w = accounts::decode_whirlpool(&address, &account.owner, &account.data)
                    .map_err(|e| e.to_string())?;
                (
                    Kind::Whirlpool,
                    w.mint_a,
                    w.mint_b,
                    w.vault_a,
                    w.vault_b,
                    SolanaPoolState::Whirlpool(w),
                )
            }
            Protocol::RaydiumCpmm => self.decode_cpmm(&address, &account).await?,
            other => return Err(format!("{other} is not a Solana protocol")),
        };
        for mint in [mint0, mint1] {
            if !self.tokens.contains_key(&mint) {
                let decimals = self.mint_decimals(&mint).await?;
                self.tokens.insert(
                    mint,
                    TokenMeta {
                        symbol: short(&mint),
                        decimals,
                        stable: false,
                        pinned_usd: None,
                    },
                );
            }
        }
        let (symbol, stablecoin) =
            prices::pool_symbol(self.tokens.get(&mint0), self.tokens.get(&mint1));
        let id = PoolId::new(
            &self.summary.chain,
            protocol,
            &atoll_core::Address::Solana(address.to_bytes()),
        )
        .0;
        let (fee_ppm, lp_fee_ppm) = state.fee_ppm();
        Ok((
            TrackedPool {
                id: id.clone(),
                address,
                kind,
                mint0,
                mint1,
                vault0,
                vault1,
            },
            PoolEntry {
                id,
                chain_id: self.chain_id,
                protocol: protocol.as_str().to_string(),
                address: address.to_string(),
                token0: mint0.to_string(),
                token1: mint1.to_string(),
                symbol,
                fee_ppm,
                lp_fee_ppm,
                stablecoin,
                discovered_at_block: None,
            },
        ))
    }

    /// A Raydium CPMM pool and its AMM config (the fees), and its mints' decimals as the pool
    /// states them.
    async fn decode_cpmm(
        &mut self,
        address: &Pubkey,
        account: &Account,
    ) -> Result<DecodedPool, String> {
        let p = accounts::decode_cpmm_pool(address, &account.owner, &account.data)
            .map_err(|e| e.to_string())?;
        let config = self
            .chain
            .accounts(&[p.amm_config], CommitmentConfig::confirmed())
            .await
            .map_err(|e| e.to_string())?
            .pop()
            .flatten()
            .ok_or_else(|| {
                AccountError::Missing {
                    account: p.amm_config,
                }
                .to_string()
            })?;
        let c = accounts::decode_cpmm_config(&p.amm_config, &config.owner, &config.data)
            .map_err(|e| e.to_string())?;
        for (mint, decimals) in [(p.mint_0, p.mint_0_decimals), (p.mint_1, p.mint_1_decimals)] {
            self.tokens.entry(mint).or_insert_with(|| TokenMeta {
                symbol: short(&mint),
                decimals,
                stable: false,
                pinned_usd: None,
            });
        }
        Ok((
            Kind::Cpmm {
                config: p.amm_config,
            },
            p.mint_0,
            p.mint_1,
            p.vault_0,
            p.vault_1,
            SolanaPoolState::Cpmm(p, c),
        ))
    }

    async fn mint_decimals(&self, mint: &Pubkey) -> Result<u8, String> {
        let account = self
            .chain
            .accounts(&[*mint], CommitmentConfig::confirmed())
            .await
            .map_err(|e| e.to_string())?
            .pop()
            .flatten()
            .ok_or_else(|| AccountError::Missing { account: *mint }.to_string())?;
        accounts::decode_mint_decimals(mint, &account.owner, &account.data)
            .map_err(|e| e.to_string())
    }

    /// Indexes pools and deposits until caught up (`Once`) or forever (`Follow`).
    pub async fn run(&mut self, mode: Mode) -> Result<ChainSummary, IndexerError> {
        self.started = Instant::now();
        self.summary.from_block = self.checkpoint.as_ref().map_or(0, |c| c.block_number);
        loop {
            // Following, pools are sampled once per sample interval; deposits every poll.
            let sample = mode == Mode::Once
                || self
                    .last_sample
                    .is_none_or(|t| t.elapsed() >= self.sample_interval);
            let outcome = async {
                if sample {
                    self.pools_step().await?;
                    self.last_sample = Some(Instant::now());
                }
                self.deposits_step().await
            }
            .await;
            match outcome {
                Ok(()) => {}
                Err(e) if mode == Mode::Follow && e.is_transient() => {
                    tracing::warn!(chain = %self.summary.chain, error = %e, "indexing step failed; retrying");
                }
                Err(e) => return Err(e),
            }
            self.summary.elapsed = self.started.elapsed();
            if mode == Mode::Once {
                break;
            }
            tokio::time::sleep(self.poll_interval).await;
        }
        self.summary.to_block = self.checkpoint.as_ref().map_or(0, |c| c.block_number);
        self.summary.pools = self.pools.len();
        self.summary.elapsed = self.started.elapsed();
        Ok(self.summary.clone())
    }

    /// Reads every pool at the finalized slot and commits one sample, unless the finalized
    /// slot has not moved since the checkpoint.
    async fn pools_step(&mut self) -> Result<(), IndexerError> {
        if self.pools.is_empty() {
            return Ok(());
        }
        let finalized = self.chain.finalized_height().await?;
        if self
            .checkpoint
            .as_ref()
            .is_some_and(|c| c.block_number >= finalized)
        {
            return Ok(());
        }
        let (slot, time_ms, live) = self.read_pools().await?;
        let sampled = live.len() as u64;
        let checkpoint = self.commit_sample(slot, time_ms, &live).await?;
        let from = self
            .checkpoint
            .as_ref()
            .map_or(slot, |c| c.block_number + 1);
        self.summary.blocks += slot.saturating_sub(from) + 1;
        self.summary.events += sampled;
        self.summary.batches += 1;
        self.checkpoint = Some(checkpoint);
        (self.progress)(&ChainProgress {
            chain: self.summary.chain.clone(),
            stream: POOLS_STREAM.to_string(),
            start_block: self.summary.from_block,
            block: slot,
            head: finalized.max(slot),
            events: self.summary.events,
            reorgs: 0,
            elapsed: self.started.elapsed(),
        });
        Ok(())
    }

    /// Every pool's accounts at one finalized slot, in one read: the slot, its time, and the
    /// pools that decode there (an unreadable one is logged and gets no sample).
    async fn read_pools(&self) -> Result<(u64, i64, Vec<LivePool<'_>>), IndexerError> {
        let mut keys = Vec::with_capacity(self.pools.len() * 4);
        for p in &self.pools {
            keys.extend([p.address, p.vault0, p.vault1]);
            if let Kind::Cpmm { config } = p.kind {
                keys.push(config);
            }
        }
        let (slot, found) = self
            .chain
            .accounts_with_slot(&keys, CommitmentConfig::finalized())
            .await?;
        let by_key: HashMap<Pubkey, Option<Account>> = keys.into_iter().zip(found).collect();
        let time_ms = match self.chain.block_time(slot).await? {
            Some(t) => t.saturating_mul(1000),
            // A skipped slot has no time of its own: the read happened now.
            None => now_ms(),
        };
        let mut live = Vec::new();
        for p in &self.pools {
            match read_pool(p, &by_key) {
                Ok((state, reserves)) => live.push((p, state, reserves)),
                Err(e) => {
                    tracing::warn!(chain = %self.summary.chain, pool = %p.id, error = %e, "pool unreadable at this slot; no sample");
                }
            }
        }
        Ok((slot, time_ms, live))
    }

    /// Each live pool as a price source: its reserves in token units and its price.
    fn price_sources(&self, live: &[LivePool<'_>]) -> Vec<PriceSource<Pubkey>> {
        live.iter()
            .map(|(p, state, (r0, r1))| {
                let d0 = self.decimals(&p.mint0);
                let d1 = self.decimals(&p.mint1);
                let amount0 = prices::human(U256::from(*r0), d0);
                let amount1 = prices::human(U256::from(*r1), d1);
                let price0_in_1 = match state {
                    SolanaPoolState::Whirlpool(w) => price_from_sqrt_x64(w.sqrt_price_x64, d0, d1),
                    SolanaPoolState::Cpmm(..) if amount0 > 0.0 => amount1 / amount0,
                    SolanaPoolState::Cpmm(..) => f64::NAN,
                };
                PriceSource {
                    token0: p.mint0,
                    token1: p.mint1,
                    amount0,
                    amount1,
                    price0_in_1,
                }
            })
            .collect()
    }

    /// Writes one sample of the live pools at `slot` (fees earned since the stored counters,
    /// states, yield figures, snapshots) with its checkpoint, in one transaction.
    async fn commit_sample(
        &self,
        slot: u64,
        time_ms: i64,
        live: &[LivePool<'_>],
    ) -> Result<Checkpoint, IndexerError> {
        let sources = self.price_sources(live);
        let token_prices = prices::token_prices(&self.tokens, &sources);
        let stored_counters = self.store.fee_counters(self.chain_id).await?;
        let bucket = hour_bucket(time_ms);
        let ids: Vec<String> = live.iter().map(|(p, ..)| p.id.clone()).collect();
        let deltas = fee_deltas(live, &stored_counters, bucket, slot);
        let checkpoint = Checkpoint {
            block_number: slot,
            block_hash: format!("slot:{slot}"),
        };
        let txn = self
            .store
            .begin_ingest(self.chain_id, POOLS_STREAM, self.checkpoint.as_ref())
            .await?;
        txn.add_hourly(&deltas, &BTreeMap::new()).await?;
        let hourly = txn.hourly_volumes(&ids, bucket - 7 * 24 * HOUR_MS).await?;
        let past = txn
            .past_samples(&ids, bucket - yields::OUTLIER_WINDOW_MS, bucket)
            .await?;
        let mut snapshots = Vec::with_capacity(live.len());
        for ((p, state, (r0, r1)), source) in live.iter().zip(&sources) {
            let (figures, volume_usd, fees_usd) = yields::pool_figures(
                &p.id,
                (self.decimals(&p.mint0), self.decimals(&p.mint1)),
                (source.amount0, source.amount1),
                source.price0_in_1,
                (
                    token_prices.get(&p.mint0).copied(),
                    token_prices.get(&p.mint1).copied(),
                ),
                &hourly,
                &past,
                bucket,
                self.min_tvl_usd,
            );
            let row = state_row(state, slot, time_ms, *r0, *r1);
            txn.update_pool(&p.id, &row, &figures).await?;
            let (c0, c1) = state.fee_counters();
            txn.set_fee_counters(&p.id, &c0.to_string(), &c1.to_string())
                .await?;
            snapshots.push(SnapshotRow {
                pool_id: p.id.clone(),
                bucket_start_ms: bucket,
                state: row,
                volume_usd,
                fees_usd,
                figures,
            });
        }
        txn.upsert_snapshots(&snapshots).await?;
        txn.commit(&checkpoint).await?;
        Ok(checkpoint)
    }

    /// Scans every vault for transfers since its checkpoint and records them.
    async fn deposits_step(&mut self) -> Result<(), IndexerError> {
        for i in 0..self.vaults.len() {
            let vault = self.vaults[i].clone();
            let until = vault
                .checkpoint
                .as_ref()
                .map(|c| {
                    c.block_hash
                        .parse::<Signature>()
                        .map_err(|_| IndexerError::Config {
                            chain: self.summary.chain.clone(),
                            reason: format!(
                                "stored checkpoint of {}: {:?} is not a signature",
                                vault.stream, c.block_hash
                            ),
                        })
                })
                .transpose()?;
            let signatures = self
                .chain
                .signatures_since(&vault.vault, until, CommitmentConfig::confirmed())
                .await?;
            let mut checkpoint = vault.checkpoint.clone();
            for chunk in signatures.chunks(DEPOSIT_CHUNK) {
                let transfers = self
                    .chain
                    .transfers_in(
                        &vault.vault,
                        chunk,
                        CommitmentConfig::confirmed(),
                        atoll_adapters::solana::deposits::TX_FETCH_CONCURRENCY,
                    )
                    .await?;
                let rows: Vec<DepositRow> = transfers
                    .iter()
                    .map(|t| deposit_row(self.chain_id, t))
                    .collect();
                let Some(&(last_sig, last_slot)) = chunk.last() else {
                    continue;
                };
                let next = Checkpoint {
                    block_number: last_slot,
                    block_hash: last_sig.to_string(),
                };
                let txn = self
                    .store
                    .begin_ingest(self.chain_id, &vault.stream, checkpoint.as_ref())
                    .await?;
                let inserted = txn.insert_deposits(&rows).await?;
                txn.commit(&next).await?;
                let rejected = rows
                    .iter()
                    .filter(|r| r.status == TransferStatus::Failed)
                    .count();
                if rejected > 0 {
                    tracing::warn!(chain = %self.summary.chain, vault = %vault.vault, rejected, "transfers into the vault without a valid memo: recorded as failed");
                }
                self.summary.deposits += inserted;
                checkpoint = Some(next);
            }
            self.vaults[i].checkpoint = checkpoint;
        }
        Ok(())
    }

    fn decimals(&self, mint: &Pubkey) -> u8 {
        self.tokens.get(mint).map_or(0, |t| t.decimals)
    }
}

/// The row a vault transfer becomes: `observed` with its destination, or `failed` with why.
pub fn deposit_row(chain_id: u64, t: &VaultTransfer) -> DepositRow {
    let (dest_chain_id, recipient, status, failure_reason) = match &t.verdict {
        Verdict::Deposit(m) => (
            m.dst_chain.0,
            m.recipient.clone(),
            TransferStatus::Observed,
            None,
        ),
        Verdict::Rejected(reason) => (
            0,
            String::new(),
            TransferStatus::Failed,
            Some(Reason::RejectedDeposit(reason.to_string())),
        ),
    };
    DepositRow {
        id: t.transfer_id,
        source_chain_id: chain_id,
        source_tx: t.signature.to_string(),
        source_index: u64::from(t.instruction_index),
        source_block: t.slot,
        dest_chain_id,
        source_token: t.mint.to_string(),
        sender: t.authority.to_string(),
        recipient,
        amount_in: U256::from(t.amount),
        status,
        failure_reason,
    }
}

/// Decodes one pool and its reserves from the accounts read this step.
fn read_pool(
    p: &TrackedPool,
    by_key: &HashMap<Pubkey, Option<Account>>,
) -> Result<(SolanaPoolState, (u64, u64)), AccountError> {
    let get = |k: &Pubkey| {
        by_key
            .get(k)
            .and_then(Option::as_ref)
            .ok_or(AccountError::Missing { account: *k })
    };
    let balance = |k: &Pubkey| -> Result<u64, AccountError> {
        let a = get(k)?;
        Ok(accounts::decode_token_account(k, &a.owner, &a.data)?.amount)
    };
    let account = get(&p.address)?;
    let (v0, v1) = (balance(&p.vault0)?, balance(&p.vault1)?);
    match p.kind {
        Kind::Whirlpool => {
            let w = accounts::decode_whirlpool(&p.address, &account.owner, &account.data)?;
            Ok((SolanaPoolState::Whirlpool(w), (v0, v1)))
        }
        Kind::Cpmm { config } => {
            let pool = accounts::decode_cpmm_pool(&p.address, &account.owner, &account.data)?;
            let c = get(&config)?;
            let cfg = accounts::decode_cpmm_config(&config, &c.owner, &c.data)?;
            let reserves = pool.reserves(v0, v1);
            Ok((SolanaPoolState::Cpmm(pool, cfg), reserves))
        }
    }
}

/// The stored state of a Solana pool. A Whirlpool's `sqrt_price` is Q64.64 (EVM V3 pools
/// store Q64.96 in the same column); its reserves are the vault balances.
fn state_row(state: &SolanaPoolState, slot: u64, time_ms: i64, r0: u64, r1: u64) -> PoolStateRow {
    let mut row = PoolStateRow {
        block: slot,
        block_time_ms: time_ms,
        reserve0: Some(U256::from(r0)),
        reserve1: Some(U256::from(r1)),
        ..PoolStateRow::default()
    };
    if let SolanaPoolState::Whirlpool(w) = state {
        row.sqrt_price_x96 = Some(U256::from(w.sqrt_price_x64));
        row.tick = Some(w.tick_current_index);
        row.liquidity = Some(w.liquidity);
    }
    row
}

fn short(mint: &Pubkey) -> String {
    mint.to_string().chars().take(6).collect()
}

/// A pool account decoded: its kind, mints, vaults and state.
type DecodedPool = (Kind, Pubkey, Pubkey, Pubkey, Pubkey, SolanaPoolState);

/// A pool read at a slot: its tracking, its decoded state and its reserves (raw units).
type LivePool<'p> = (&'p TrackedPool, SolanaPoolState, (u64, u64));

/// Fees each live pool earned since its stored fee counters, as hourly deltas. A pool read for
/// the first time has no counters yet: they become its baseline, nothing earned.
fn fee_deltas(
    live: &[LivePool<'_>],
    stored_counters: &BTreeMap<String, (String, String)>,
    bucket: i64,
    slot: u64,
) -> Vec<HourlyDelta> {
    let mut deltas = Vec::new();
    for (p, state, _) in live {
        let Some(before) = stored_counters
            .get(&p.id)
            .and_then(|(a, b)| Some((a.parse::<u128>().ok()?, b.parse::<u128>().ok()?)))
        else {
            continue;
        };
        let earned = state.fees_since(before);
        if earned == EarnedFees::default() {
            continue;
        }
        deltas.push(HourlyDelta {
            pool_id: p.id.clone(),
            bucket_start_ms: bucket,
            swaps: 0,
            volume0: earned.volume.0,
            volume1: earned.volume.1,
            first_block: slot,
            last_block: slot,
            lp_fees: Some(earned.lp_fees),
        });
    }
    deltas
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whirlpool(growth_a: u128, growth_b: u128, liquidity: u128) -> SolanaPoolState {
        SolanaPoolState::Whirlpool(Whirlpool {
            config: Pubkey::default(),
            tick_spacing: 64,
            fee_rate: 3_000,
            protocol_fee_rate: 1_300,
            liquidity,
            sqrt_price_x64: 1 << 64,
            tick_current_index: 0,
            mint_a: Pubkey::default(),
            vault_a: Pubkey::default(),
            fee_growth_global_a: growth_a,
            mint_b: Pubkey::default(),
            vault_b: Pubkey::default(),
            fee_growth_global_b: growth_b,
            reward_last_updated_timestamp: 0,
            rewards: Vec::new(),
        })
    }

    #[test]
    fn whirlpool_fees_from_two_snapshots_of_fee_growth() {
        // Growth of 0.25 token A and 2 token B per unit of liquidity (Q64.64), on 1e9 units.
        let before = (5u128 << 64, 7u128 << 64);
        let after = whirlpool((5 << 64) + (1 << 62), 9 << 64, 1_000_000_000);
        let earned = after.fees_since(before);
        assert_eq!(
            earned.lp_fees,
            (U256::from(250_000_000u64), U256::from(2_000_000_000u64))
        );
        // LPs get 0.30 % × (1 − 13 %) = 0.261 % of the volume.
        assert_eq!(after.fee_ppm(), (3_000, 2_610));
        assert_eq!(
            earned.volume.0,
            U256::from(250_000_000u128 * 1_000_000 / 2_610)
        );
        // No growth, no fees.
        assert_eq!(
            after.fees_since(after.fee_counters()),
            EarnedFees::default()
        );
    }

    #[test]
    fn cpmm_fees_from_protocol_and_fund_counters() {
        let pool = |protocol: u64, fund: u64| CpmmPool {
            amm_config: Pubkey::default(),
            vault_0: Pubkey::default(),
            vault_1: Pubkey::default(),
            lp_mint: Pubkey::default(),
            mint_0: Pubkey::default(),
            mint_1: Pubkey::default(),
            token_program_0: Pubkey::default(),
            token_program_1: Pubkey::default(),
            status: 0,
            lp_mint_decimals: 9,
            mint_0_decimals: 6,
            mint_1_decimals: 6,
            lp_supply: 0,
            protocol_fees: (protocol, 0),
            fund_fees: (fund, 0),
            open_time: 0,
            creator_fees: (0, 0),
        };
        // Trade fee 0.25 %; protocol 12 % and fund 4 % of it: LPs keep 84 %.
        let config = CpmmConfig {
            index: 0,
            trade_fee_rate: 2_500,
            protocol_fee_rate: 120_000,
            fund_fee_rate: 40_000,
            creator_fee_rate: 0,
        };
        let before = SolanaPoolState::Cpmm(pool(1_000, 400), config).fee_counters();
        // A swap of 1,000,000 units pays 2,500 in fees: 300 protocol, 100 fund, 2,100 LPs.
        let after = SolanaPoolState::Cpmm(pool(1_300, 500), config);
        let earned = after.fees_since(before);
        assert_eq!(earned.lp_fees.0, U256::from(2_100u64));
        assert_eq!(earned.volume.0, U256::from(1_000_000u64));
        assert_eq!(earned.lp_fees.1, U256::ZERO);
        // Counters collected by the admin (went down): only what accrued since counts.
        let collected = SolanaPoolState::Cpmm(pool(30, 10), config).fees_since(before);
        assert_eq!(collected.lp_fees.0, U256::from(210u64));
    }

    #[test]
    fn whirlpool_price_from_q64() {
        // sqrt = 2 (Q64.64) → price 4 in raw units; 8 vs 6 decimals → ×100.
        assert!((price_from_sqrt_x64(2 << 64, 8, 6) - 400.0).abs() < 1e-9);
    }
}
