//! `atoll-bench ingest` decodes and persists synthetic Uniswap V2 `Swap` logs (real ABI
//! encoding, the indexer's own decode → rows → batch transaction path) into a fresh database,
//! and measures the straightforward baseline (one sea-orm `insert` per event) in the same run.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use alloy::primitives::{Address, B256, LogData, U256};
use alloy::rpc::types::Log;
use alloy::sol_types::SolEvent;
use anyhow::Context;
use atoll_adapters::evm::abi::IUniswapV2Pair;
use atoll_adapters::evm::events;
use atoll_core::settings::Settings;
use atoll_indexer::rows::BatchRows;
use atoll_store::ingest::PoolEntry;
use atoll_store::{Checkpoint, Store, redact};
use clap::Args;
#[derive(Args)]
pub struct IngestArgs {
    /// Events for the indexer's path.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Events for the one-insert-per-event baseline (it is slow; its rate is what counts).
    #[arg(long, default_value_t = 50_000)]
    baseline_events: u64,
    /// Events per batch transaction (the indexer commits one per log window).
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Database: sqlite://FILE?mode=rwc or postgres://… (an empty database: the run writes to it).
    /// Default: a new SQLite file in a temporary directory.
    #[arg(long)]
    database_url: Option<String>,
}
const POOLS: usize = 5;
const LOGS_PER_BLOCK: u64 = 100;

fn pool_address(i: usize) -> Address {
    Address::with_last_byte(0xa0 + i as u8)
}

/// The `i`-th synthetic swap log: a real `Swap` encoding, 100 logs per block, one block per
/// 12 s, pools in turn, alternating direction.
fn swap_log(i: u64) -> Log {
    let pool = (i % POOLS as u64) as usize;
    let block = 1 + i / LOGS_PER_BLOCK;
    let amount = U256::from(1_000_000 + (i % 997) * 1_000);
    let (a0, a1) = if i.is_multiple_of(2) {
        (amount, U256::ZERO)
    } else {
        (U256::ZERO, amount)
    };
    let event = IUniswapV2Pair::Swap {
        sender: Address::with_last_byte(1),
        amount0In: a0,
        amount1In: a1,
        amount0Out: a1,
        amount1Out: a0,
        to: Address::with_last_byte(2),
    };
    let data: LogData = event.encode_log_data();
    Log {
        inner: alloy::primitives::Log {
            address: pool_address(pool),
            data,
        },
        block_hash: Some(B256::from(U256::from(block))),
        block_number: Some(block),
        block_timestamp: Some(1_700_000_000 + block * 12),
        transaction_hash: Some(B256::from(U256::from(i))),
        transaction_index: Some(i % LOGS_PER_BLOCK),
        log_index: Some(i % LOGS_PER_BLOCK),
        removed: false,
    }
}

pub(crate) async fn fresh_store(url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(url)
        .await
        .with_context(|| format!("opening {}", redact(url)))?;
    store.migrate_up().await?;
    let settings = Settings::parse(
        "[[chains]]\nname = \"bench\"\nkind = \"evm\"\nchain_id = 31337\nrpc = [\"http://127.0.0.1:1\"]\n",
        Vec::<(String, String)>::new(),
        std::path::Path::new("."),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.register_settings(&settings).await?;
    if store.event_count(31337).await? > 0 {
        anyhow::bail!(
            "{} already holds events of the bench chain: give an empty database",
            redact(url)
        );
    }
    Ok(store)
}

fn pool_id(i: usize) -> String {
    format!("bench:uniswap_v2:{:#x}", pool_address(i))
}

/// Decodes `logs` into rows the way the indexer does.
fn decode(logs: &[Log]) -> anyhow::Result<BatchRows> {
    let mut rows = BatchRows::with_capacity(logs.len());
    for log in logs {
        let (pos, event) = events::decode(log)
            .context("not a known event")?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let pool = (log.address().0[19] - 0xa0) as usize;
        let time_ms = (log.block_timestamp.unwrap_or_default() * 1000) as i64;
        rows.push(&pos, &event, &pool_id(pool), time_ms);
    }
    Ok(rows)
}

/// Persists `--events` logs through the indexer's path, then `--baseline-events` of them one
/// insert per event into a second fresh database of the same kind, and prints both rates.
pub async fn run(args: IngestArgs) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let url = args.database_url.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            tmp.path().join("bench.db").display()
        )
    });
    let backend = if url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let store = fresh_store(&url).await?;
    let lp = register_pools(&store).await?;

    crate::out!(
        "atoll-bench ingest: {} Swap events on {backend} ({}), batches of {}",
        args.events,
        redact(&url),
        args.batch
    );
    // Logs are made before the clock starts: they stand for what eth_getLogs returned.
    let logs: Vec<Log> = (0..args.events).map(swap_log).collect();
    let started = Instant::now();
    let decode_s = ingest_batched(&store, &logs, args.batch, &lp).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let stored = store.event_count(31337).await?;
    anyhow::ensure!(
        stored == args.events,
        "stored {stored} events, expected {}",
        args.events
    );
    let rate = args.events as f64 / elapsed;
    crate::out!(
        "  indexer path : {:>9} events in {elapsed:>7.2} s = {rate:>9.0} events/s (decode {:.2} s, persist {:.2} s)",
        args.events,
        decode_s,
        elapsed - decode_s
    );

    // Baseline on a second fresh database of the same kind.
    let base_tmp = tempfile::tempdir()?;
    let (base_store, base_chain) = baseline_store(&url, &store, base_tmp.path()).await?;
    let base_logs = &logs[..(args.baseline_events.min(args.events)) as usize];
    let started = Instant::now();
    ingest_one_by_one(&base_store, base_chain, base_logs, args.batch, &lp).await?;
    let base_elapsed = started.elapsed().as_secs_f64();
    let base_rate = base_logs.len() as f64 / base_elapsed;
    crate::out!(
        "  one insert per event (sea-orm ActiveModel::insert): {:>9} events in {base_elapsed:>7.2} s = {base_rate:>9.0} events/s",
        base_logs.len()
    );
    crate::out!("  ratio: {:.1}x", rate / base_rate);
    store.close().await?;
    Ok(())
}

/// Registers the bench's pools; returns their LP fees (ppm) by pool id.
async fn register_pools(store: &Store) -> anyhow::Result<BTreeMap<String, u32>> {
    let lp: BTreeMap<String, u32> = (0..POOLS).map(|i| (pool_id(i), 3_000)).collect();
    let new_pools: Vec<PoolEntry> = (0..POOLS)
        .map(|i| PoolEntry {
            id: pool_id(i),
            chain_id: 31337,
            protocol: "uniswap_v2".into(),
            address: format!("{:#x}", pool_address(i)),
            token0: format!("{:#x}", Address::with_last_byte(0x10)),
            token1: format!("{:#x}", Address::with_last_byte(0x11)),
            symbol: "T0-T1".into(),
            fee_ppm: 3_000,
            lp_fee_ppm: 3_000,
            stablecoin: false,
            discovered_at_block: None,
        })
        .collect();
    store.register_pools(&new_pools).await?;
    Ok(lp)
}

/// The checkpoint after `chunk`: its last block.
fn checkpoint_after(chunk: &[Log]) -> Checkpoint {
    let last = chunk
        .last()
        .and_then(|l| l.block_number)
        .unwrap_or_default();
    Checkpoint {
        block_number: last,
        block_hash: format!("{:#x}", B256::from(U256::from(last))),
    }
}

/// The indexer's path: each batch of `logs` decoded, then its events and hourly figures
/// written in one transaction with the checkpoint. Returns the seconds spent decoding.
async fn ingest_batched(
    store: &Store,
    logs: &[Log],
    batch: usize,
    lp: &BTreeMap<String, u32>,
) -> anyhow::Result<f64> {
    let mut decode_s = 0.0;
    let mut checkpoint: Option<Checkpoint> = None;
    for chunk in logs.chunks(batch.max(1)) {
        let t = Instant::now();
        let rows = decode(chunk)?;
        decode_s += t.elapsed().as_secs_f64();
        let txn = store
            .begin_ingest(31337, "pools", checkpoint.as_ref())
            .await?;
        let hourly = rows.hourly();
        txn.insert_events(rows.events).await?;
        txn.add_hourly(&hourly, lp).await?;
        let next = checkpoint_after(chunk);
        txn.commit(&next).await?;
        checkpoint = Some(next);
    }
    Ok(decode_s)
}

/// The baseline's database and chain id: with SQLite a second fresh file in `tmp`; with
/// PostgreSQL the same database, the baseline writing under another chain id.
async fn baseline_store(url: &str, store: &Store, tmp: &Path) -> anyhow::Result<(Store, u64)> {
    if url.starts_with("sqlite:") {
        let base_url = format!("sqlite://{}?mode=rwc", tmp.join("baseline.db").display());
        return Ok((fresh_store(&base_url).await?, 31337));
    }
    // Same PostgreSQL database: the baseline writes under another chain id.
    let base_store = store.clone();
    let settings = Settings::parse(
        "[[chains]]\nname = \"baseline\"\nkind = \"evm\"\nchain_id = 31338\nrpc = [\"http://127.0.0.1:1\"]\n",
        Vec::<(String, String)>::new(),
        std::path::Path::new("."),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    base_store.register_settings(&settings).await?;
    Ok((base_store, 31338))
}

/// The baseline: the same batches and transactions, but one sea-orm `insert` per event.
async fn ingest_one_by_one(
    store: &Store,
    chain: u64,
    logs: &[Log],
    batch: usize,
    lp: &BTreeMap<String, u32>,
) -> anyhow::Result<()> {
    let mut checkpoint: Option<Checkpoint> = None;
    for chunk in logs.chunks(batch.max(1)) {
        let rows = decode(chunk)?;
        let txn = store
            .begin_ingest(chain, "pools", checkpoint.as_ref())
            .await?;
        txn.insert_events_one_by_one(&rows.events).await?;
        txn.add_hourly(&rows.hourly(), lp).await?;
        let next = checkpoint_after(chunk);
        txn.commit(&next).await?;
        checkpoint = Some(next);
    }
    Ok(())
}
