//! `atoll bench relayer`: releases per second on an EVM destination, end to end through the
//! relayer's EVM executor (simulate, sign, persist, send, receipts, finality), against the
//! sequential baseline (one release per transaction, each confirmed before the next) and the
//! node's own ceiling (the same kind of `releaseBatch` transactions pre-signed and sent
//! straight to anvil, on the state the relayer started from: anvil is reverted to a snapshot
//! taken at the clock's start), all in one run on one devnet. The deposits are made, indexed and
//! passed through the finality gate before the clock starts; the clock measures `source_final`
//! to `confirmed`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use alloy::eips::Encodable2718;
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes, FixedBytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent};
use anyhow::Context;
use atoll_adapters::evm::abi::BridgeVault;
use atoll_adapters::evm::{EvmChain, RetryPolicy};
use atoll_core::TransferStatus;
use atoll_core::settings::Settings;
use atoll_devnet::evm::Role;
use atoll_relayer::evm_executor::EvmExecutor;
use atoll_store::Store;
use clap::Args;

#[derive(Args)]
pub struct RelayerBenchArgs {
    /// Deposits made on Ethereum (chain 1) and released on BSC (chain 56).
    #[arg(long, default_value_t = 50_000)]
    deposits: u32,
    /// Releases per `releaseBatch` transaction.
    #[arg(long, default_value_t = 128)]
    batch: u32,
    /// Release transactions in flight.
    #[arg(long, default_value_t = 4)]
    in_flight: u32,
    /// Releases in the sequential baseline.
    #[arg(long, default_value_t = 300)]
    baseline: u32,
}

/// CPU time this process used so far (user + system), from /proc (Linux).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn provider(url: &str, role: Role) -> anyhow::Result<(DynProvider, PrivateKeySigner)> {
    let signer = role.signer()?;
    let p = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer.clone()))
        .connect_http(url.parse()?)
        .erased();
    Ok((p, signer))
}

/// Signs `calls` (to, input) from `signer` at consecutive nonces, sends them in order, and
/// waits for the last receipt.
async fn send_all(
    p: &DynProvider,
    signer: &PrivateKeySigner,
    chain_id: u64,
    calls: Vec<(Address, Bytes)>,
    gas: u64,
    bulk: bool,
) -> anyhow::Result<()> {
    let wallet = EthereumWallet::from(signer.clone());
    let nonce = p.get_transaction_count(signer.address()).await?;
    let gas_price = p.get_gas_price().await? * 2;
    let mut raws = Vec::with_capacity(calls.len());
    for (i, (to, input)) in calls.into_iter().enumerate() {
        let tx = TransactionRequest::default()
            .with_to(to)
            .with_input(input)
            .with_chain_id(chain_id)
            .with_nonce(nonce + i as u64)
            .with_gas_limit(gas)
            .with_gas_price(gas_price);
        let envelope = tx.build(&wallet).await?;
        raws.push((*envelope.tx_hash(), Bytes::from(envelope.encoded_2718())));
    }
    // Setup traffic (`bulk`): mining paused, a window sent, then blocks of as many as fit
    // mined at once. The ceiling's transactions go as the relayer's do: each mined on arrival.
    // Either way in nonce order and at most a window ahead of what is mined (anvil's pool
    // silently loses transactions far ahead of mining).
    // Setup blocks are full: left alone, the base fee would grow 12.5% a block, past what the
    // signed transactions pay within a few dozen blocks. It is held where it started.
    let base_fee = p
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .and_then(|b| b.header.base_fee_per_gas)
        .unwrap_or_default();
    if bulk {
        let _: serde_json::Value = p.raw_request("evm_setAutomine".into(), (false,)).await?;
    }
    let window_size = if bulk { 500 } else { 256 };
    for window in raws.chunks(window_size) {
        for (_, raw) in window {
            drop(p.send_raw_transaction(raw).await?);
        }
        let Some((last, _)) = window.last() else {
            continue;
        };
        let waiting = Instant::now();
        while p.get_transaction_receipt(*last).await?.is_none() {
            if waiting.elapsed() > Duration::from_secs(120) {
                let mined = p.get_transaction_count(signer.address()).await?;
                let pool: serde_json::Value = p
                    .raw_request("txpool_status".into(), ())
                    .await
                    .unwrap_or_default();
                anyhow::bail!(
                    "transaction {last} not mined after 120 s: account nonce {mined} (sent from {nonce} to {}), pool {pool}",
                    nonce + raws.len() as u64
                );
            }
            if bulk {
                let _: serde_json::Value = p
                    .raw_request(
                        "anvil_setNextBlockBaseFeePerGas".into(),
                        (U256::from(base_fee),),
                    )
                    .await?;
                let _: serde_json::Value = p.raw_request("evm_mine".into(), ()).await?;
            } else {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    if bulk {
        let _: serde_json::Value = p.raw_request("evm_setAutomine".into(), (true,)).await?;
    }
    Ok(())
}

/// Distinct recipients, as a deposit's bytes32: a fresh account each (the costlier, honest
/// case: every payout creates a balance).
fn recipient(i: u64) -> [u8; 32] {
    let h = keccak256(i.to_be_bytes());
    let mut b = [0u8; 32];
    b[12..].copy_from_slice(&h[12..]);
    b
}

async fn make_deposits(net: &atoll_devnet::Devnet, count: u32, offset: u64) -> anyhow::Result<()> {
    let eth = net.state.evm_chain("ethereum").context("no ethereum")?;
    let bsc = net.state.evm_chain("bsc").context("no bsc")?;
    let usdc = eth.token("USDC").context("no USDC")?.address;
    let (p, signer) = provider(&eth.rpc_url, Role::User)?;
    let calls = (0..u64::from(count))
        .map(|i| {
            let call = BridgeVault::depositCall {
                token: usdc,
                amount: U256::from(2_000_000u64),
                dstChainId: bsc.chain_id,
                recipient: FixedBytes::from(recipient(offset + i)),
            };
            (eth.bridge_vault, Bytes::from(call.abi_encode()))
        })
        .collect();
    send_all(&p, &signer, eth.chain_id, calls, 200_000, true).await
}

/// Index Ethereum once and pass its deposits through the gate.
async fn approve_all(
    settings: &Settings,
    store: &Store,
    net: &atoll_devnet::Devnet,
) -> anyhow::Result<(f64, f64)> {
    let eth = net.state.evm_chain("ethereum").context("no ethereum")?;
    let (p, _) = provider(&eth.rpc_url, Role::Deployer)?;
    let _: serde_json::Value = p.raw_request("anvil_mine".into(), (4,)).await?;
    let t = Instant::now();
    for (chain, r) in atoll_indexer::run(
        settings,
        store,
        &["ethereum".to_string()],
        atoll_indexer::Mode::Once,
        std::sync::Arc::new(|_| {}),
    )
    .await
    {
        r.with_context(|| format!("indexing {chain}"))?;
    }
    let index_s = t.elapsed().as_secs_f64();
    let chain = EvmChain::new(
        settings.chain("ethereum").context("no ethereum")?,
        RetryPolicy::default(),
    )?;
    let t = Instant::now();
    let r = atoll_relayer::gate::pass(settings, store, "ethereum", &chain).await?;
    anyhow::ensure!(
        r.refused.is_empty() && r.waiting.is_empty(),
        "gate: {} refused, {} waiting",
        r.refused.len(),
        r.waiting.len()
    );
    Ok((index_s, t.elapsed().as_secs_f64()))
}

/// Steps the executor until `count` transfers are confirmed; a miner keeps blocks coming so
/// releases reach finality. Returns (seconds, CPU seconds of this process).
async fn release_all(
    settings: &Settings,
    store: &Store,
    chain: &EvmChain,
    miner: &DynProvider,
    count: usize,
    sequential: bool,
) -> anyhow::Result<(f64, f64)> {
    let mut executor = EvmExecutor::new(settings, store, chain, "bsc")?;
    let cpu0 = process_cpu().unwrap_or_default();
    let t = Instant::now();
    let mut confirmed = 0usize;
    let mut idle_rounds = 0u32;
    while confirmed < count {
        let r = executor.step().await?;
        anyhow::ensure!(
            r.failed.is_empty() && r.awaiting_liquidity.is_empty(),
            "release problems: {:?}",
            r.failed
        );
        confirmed += r.confirmed.len();
        // Finality needs blocks after the last release: anvil mines only on transactions, so
        // a block is mined whenever a step found nothing to do. The baseline waits for each
        // release's confirmation before the next.
        let waiting = sequential && !r.included.is_empty() || r.is_idle();
        if waiting {
            let _: serde_json::Value = miner.raw_request("anvil_mine".into(), (1,)).await?;
            idle_rounds += 1;
        }
        anyhow::ensure!(idle_rounds < 1_000_000, "no progress");
    }
    let cpu = process_cpu().unwrap_or_default().saturating_sub(cpu0);
    Ok((t.elapsed().as_secs_f64(), cpu.as_secs_f64()))
}

pub async fn run(args: RelayerBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.deposits > 0, "--deposits: must be at least 1");
    anyhow::ensure!(args.batch > 0, "--batch: must be at least 1");
    anyhow::ensure!(args.in_flight > 0, "--in-flight: must be at least 1");
    anyhow::ensure!(args.baseline > 0, "--baseline: must be at least 1");
    let tmp = tempfile::tempdir()?;
    crate::out!("atoll bench relayer: starting a devnet (two anvils)");
    let net = atoll_devnet::Devnet::up_on_free_ports(tmp.path(), false).await?;
    let text = std::fs::read_to_string(&net.state.config_path)?;
    let mut settings = Settings::parse(&text, std::env::vars(), tmp.path())
        .map_err(|e| anyhow::anyhow!("devnet config: {e}"))?;
    settings.relayer.batch_max_releases = args.batch;
    settings.relayer.max_in_flight = args.in_flight;
    settings.relayer.batch_max_gas = 30_000_000;
    // Every deposit is worth $2: the tiers let them through on confirmations.
    let url = format!(
        "sqlite://{}?mode=rwc",
        tmp.path().join("bench.db").display()
    );
    let store = Store::connect(&url).await?;
    store.migrate_up().await?;
    store.register_settings(&settings).await?;
    let bsc_net = net.state.evm_chain("bsc").context("no bsc")?;
    let (bsc_node, _) = provider(&bsc_net.rpc_url, Role::Deployer)?;
    let bsc = EvmChain::new(
        settings.chain("bsc").context("no bsc")?,
        RetryPolicy::default(),
    )?;
    let n = args.deposits as usize;

    // 1. Batched, through the relayer.
    let t = Instant::now();
    make_deposits(&net, args.deposits, 0).await?;
    crate::out!(
        "  {} deposits made on ethereum in {:.1} s",
        args.deposits,
        t.elapsed().as_secs_f64()
    );
    let (index_s, gate_s) = approve_all(&settings, &store, &net).await?;
    crate::out!(
        "  indexed in {index_s:.1} s ({:.0}/s), through the finality gate in {gate_s:.1} s ({:.0}/s); the clock starts now",
        n as f64 / index_s,
        n as f64 / gate_s
    );
    // The ceiling runs later on this very state (reverted to it), so both see the same
    // storage size: anvil's cost per block grows with its state.
    let before_relayer: U256 = bsc_node.raw_request("evm_snapshot".into(), ()).await?;
    let clock_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?;
    let (batched_s, cpu_s) = release_all(&settings, &store, &bsc, &bsc_node, n, false).await?;
    let batched_rate = n as f64 / batched_s;
    let started: HashMap<String, i64> = store
        .reached(TransferStatus::SourceFinal)
        .await?
        .into_iter()
        .collect();
    let mut latencies: Vec<i64> = store
        .reached(TransferStatus::Confirmed)
        .await?
        .into_iter()
        // Approved before the clock: a release's wait counts from the clock's start.
        .filter_map(|(id, at)| started.get(&id).map(|s| at - (*s).max(clock_ms)))
        .collect();
    latencies.sort_unstable();
    let txs = store
        .release_txs(56, atoll_store::release_txs::tx_status::FINAL)
        .await?
        .len();
    crate::out!(
        "  batched ({} per tx, {} in flight): {n} releases in {batched_s:.2} s = {batched_rate:.0} releases/s over {txs} transactions",
        args.batch,
        args.in_flight
    );
    crate::out!(
        "    source_final → confirmed: p50 {} ms, p99 {} ms (from the clock's start: all {n} were queued at once)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    crate::out!(
        "    relayer CPU: {:.1} µs per release ({cpu_s:.2} s CPU in this process; the node's is apart)",
        cpu_s * 1e6 / n as f64
    );

    // Zero duplicates, from the chain: every TransferReleased id once.
    let released = |from_block: u64| {
        let node = bsc_node.clone();
        let vault = bsc_net.bridge_vault;
        async move {
            let logs = node
                .get_logs(
                    &Filter::new()
                        .address(vault)
                        .event_signature(BridgeVault::TransferReleased::SIGNATURE_HASH)
                        .from_block(from_block),
                )
                .await?;
            let ids: std::collections::HashSet<B256> = logs
                .iter()
                .filter_map(|l| l.topics().get(1).copied())
                .collect();
            anyhow::Ok((logs.len(), ids.len()))
        }
    };

    // 2. Sequential baseline: one release per transaction, each confirmed before the next.
    make_deposits(&net, args.baseline, 1_000_000).await?;
    approve_all(&settings, &store, &net).await?;
    let mut sequential = settings.clone();
    sequential.relayer.batch_max_releases = 1;
    sequential.relayer.max_in_flight = 1;
    let m = args.baseline as usize;
    let (seq_s, _) = release_all(&sequential, &store, &bsc, &bsc_node, m, true).await?;
    let seq_rate = m as f64 / seq_s;
    crate::out!("  sequential baseline: {m} releases in {seq_s:.2} s = {seq_rate:.0} releases/s");
    let (logs, distinct) = released(0).await?;
    anyhow::ensure!(
        logs == distinct && logs == n + m,
        "{logs} releases logged, {distinct} distinct, {} expected",
        n + m
    );
    crate::out!("  duplicates: 0 ({logs} TransferReleased logs of the relayer, all distinct)");

    // 3. The node's ceiling: the same kind of batches, pre-signed, sent straight to anvil,
    // on the state the relayer started from.
    let reverted: bool = bsc_node
        .raw_request("evm_revert".into(), (before_relayer,))
        .await?;
    anyhow::ensure!(reverted, "anvil did not revert to the snapshot");
    let ceiling_from = bsc_node.get_block_number().await? + 1;
    let (relayer_p, relayer_key) = provider(&bsc_net.rpc_url, Role::Relayer)?;
    let usdc = bsc_net.token("USDC").context("no USDC")?.address;
    let batches: Vec<(Address, Bytes)> = (0..n)
        .collect::<Vec<_>>()
        .chunks(args.batch as usize)
        .map(|chunk| {
            let releases = chunk
                .iter()
                .map(|i| BridgeVault::Release {
                    id: B256::from(keccak256(format!("ceiling-{i}"))),
                    token: usdc,
                    recipient: Address::from_slice(&recipient(2_000_000 + *i as u64)[12..]),
                    amount: U256::from(1_499_000u64),
                })
                .collect();
            (
                bsc_net.bridge_vault,
                Bytes::from(BridgeVault::releaseBatchCall { releases }.abi_encode()),
            )
        })
        .collect();
    // The relayer's own rule for the limit: the estimate plus 20% (a limit far above it is
    // refused by nodes that cap a transaction's gas, EIP-7825).
    let (first_to, first_input) = batches.first().cloned().context("no batch")?;
    let gas = relayer_p
        .estimate_gas(
            TransactionRequest::default()
                .with_from(relayer_key.address())
                .with_to(first_to)
                .with_input(first_input),
        )
        .await?;
    let t = Instant::now();
    send_all(
        &relayer_p,
        &relayer_key,
        bsc_net.chain_id,
        batches,
        gas + gas / 5,
        false,
    )
    .await?;
    let ceiling_s = t.elapsed().as_secs_f64();
    let ceiling_rate = n as f64 / ceiling_s;
    crate::out!(
        "  node ceiling (same batches pre-signed, sent straight to anvil, on the state the relayer started from): {n} releases in {ceiling_s:.2} s = {ceiling_rate:.0} releases/s"
    );

    let (logs, distinct) = released(ceiling_from).await?;
    anyhow::ensure!(
        logs == distinct && logs == n,
        "ceiling: {logs} releases logged, {distinct} distinct, {n} expected"
    );
    crate::out!(
        "  batched vs sequential: {:.1}x; batched vs node ceiling: {:.0}%",
        batched_rate / seq_rate,
        100.0 * batched_rate / ceiling_rate
    );
    Ok(())
}
