//! `atoll bench relayer`: releases per second on an EVM destination, end to end through the
//! relayer's EVM executor (simulate, sign, persist, send, receipts, finality), against the
//! sequential baseline (one release per transaction, each confirmed before the next) and the
//! node's own ceiling (the same kind of `releaseBatch` transactions pre-signed and sent
//! straight to anvil, on the state the relayer started from: anvil is reverted to a snapshot
//! taken at the clock's start), all in one run on one devnet. The same batches are also
//! simulated with `eth_call` on that state, as the relayer simulates each batch before it signs,
//! and the node's ceiling with that simulation is printed beside the plain one, and so is the
//! bound the measured CPU per release (relayer and nodes) puts on any schedule on this
//! machine's cores. The deposits are made, indexed and passed through the finality gate before
//! the clock starts; the clock measures `source_final` to `confirmed`. With `--all-chains` the
//! three destinations run at once: Ethereum → BSC and BSC → Ethereum (the same number of
//! deposits each) and Ethereum → Solana, each executor on its own task, as `atoll relayer run`
//! drives them.

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
use atoll_adapters::solana::SolanaChain;
use atoll_adapters::solana::accounts::decode_token_account;
use atoll_core::TransferStatus;
use atoll_core::settings::Settings;
use atoll_devnet::evm::Role;
use atoll_relayer::evm_executor::EvmExecutor;
use atoll_relayer::solana_executor::SolanaExecutor;
use atoll_store::Store;
use atoll_store::release_txs::tx_status;
use clap::Args;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;

/// At most EIP-7825's cap of a transaction's gas (2^24), which mainnet nodes enforce.
const BATCH_MAX_GAS: u64 = 16_777_216;
/// How long the head may stand still, with transactions in anvil's pool, before the bench asks
/// for a block: in the relayer's run and in the ceiling alike.
const STRANDED_AFTER: Duration = Duration::from_millis(20);

/// Anvil's automine leaves a transaction that did not fit the block being mined in the pool
/// until another one arrives; when none will, the bench asks for the block itself. It asks
/// once per head (a block being mined also leaves the head still, and a second request could
/// only mine an empty block), and only while the pool holds transactions.
struct StrandWatch {
    head: u64,
    since: Instant,
    asked: bool,
    /// When the head was last read: at most every `STRANDED_AFTER / 2`, so that waiting does
    /// not load the node it waits for.
    read: Instant,
}

impl StrandWatch {
    fn new(head: u64) -> StrandWatch {
        StrandWatch {
            head,
            since: Instant::now(),
            asked: false,
            read: Instant::now(),
        }
    }

    /// Reads the head and asks for a block when transactions are stranded. Whether it asked.
    async fn nudge(&mut self, node: &DynProvider) -> anyhow::Result<bool> {
        if self.read.elapsed() < STRANDED_AFTER / 2 {
            return Ok(false);
        }
        self.read = Instant::now();
        let head = node.get_block_number().await?;
        if head != self.head {
            *self = StrandWatch::new(head);
            return Ok(false);
        }
        if self.asked || self.since.elapsed() < STRANDED_AFTER {
            return Ok(false);
        }
        let pool: serde_json::Value = node.raw_request("txpool_status".into(), ()).await?;
        let pending = pool
            .get("pending")
            .and_then(|v| v.as_str())
            .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
            .context("txpool_status: no pending count")?;
        if pending == 0 {
            return Ok(false);
        }
        let _: serde_json::Value = node.raw_request("evm_mine".into(), ()).await?;
        self.asked = true;
        Ok(true)
    }
}

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
    /// Block gas limit of both anvils (anvil's default: 30,000,000). The relayer and the
    /// node's ceiling run on the same limit.
    #[arg(long)]
    block_gas_limit: Option<u64>,
    /// All three destinations at once: also BSC → Ethereum (as many deposits) and Ethereum →
    /// Solana (`--solana-deposits`), released concurrently with Ethereum → BSC.
    #[arg(long)]
    all_chains: bool,
    /// Deposits released on Solana with `--all-chains` (one transaction each).
    #[arg(long, default_value_t = 500)]
    solana_deposits: u32,
    /// With `--all-chains`: runs solana-test-validator at this nice value (1 to 19). Its
    /// banking-stage scheduler busy-polls the clock and takes a core even when idle; niced, it
    /// gets the CPU the anvils and the relayer leave.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=19))]
    validator_nice: Option<u8>,
}

/// CPU time a process used so far (user + system), from /proc (Linux): this one, or a node.
fn cpu_of(pid: Option<u32>) -> Option<Duration> {
    let path = pid.map_or("/proc/self/stat".to_string(), |p| format!("/proc/{p}/stat"));
    let stat = std::fs::read_to_string(path).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

fn process_cpu() -> Option<Duration> {
    cpu_of(None)
}

/// The pid of the devnet node named `name` (`anvil-bsc`, …).
fn node_pid(dir: &std::path::Path, name: &str) -> Option<u32> {
    atoll_devnet::process::recorded(dir)
        .into_iter()
        .find(|p| p.name == name)
        .map(|p| p.pid)
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
    nudges: &mut u32,
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
    // mined at once. The ceiling's transactions are mined on arrival, as the relayer's are.
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
        if bulk {
            for (_, raw) in window {
                drop(p.send_raw_transaction(raw).await?);
            }
        } else {
            // The ceiling's best: a window in one JSON-RPC batch. Sent one request each, anvil
            // mines every transaction in its own block (a send waits out the block being
            // mined, then the miner takes it alone), and a block's cost grows with the state.
            let mut batch = alloy::rpc::client::BatchRequest::new(p.client());
            let waiters = window
                .iter()
                .map(|(_, raw)| batch.add_call::<_, B256>("eth_sendRawTransaction", &(raw,)))
                .collect::<Result<Vec<_>, _>>()?;
            batch.send().await?;
            for waiter in waiters {
                waiter.await?;
            }
        }
        let Some((last, _)) = window.last() else {
            continue;
        };
        let waiting = Instant::now();
        let mut strands = StrandWatch::new(p.get_block_number().await?);
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
                tokio::time::sleep(Duration::from_millis(2)).await;
                if strands.nudge(p).await? {
                    *nudges += 1;
                }
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

/// Where a bench's deposits go: the destination chain and who receives each one.
#[derive(Clone, Copy)]
pub(super) enum Payee {
    /// A fresh EVM account per deposit, numbered from the offset.
    FreshEvm { offset: u64 },
    /// One Solana owner (its USDC account exists on the devnet).
    Solana([u8; 32]),
}

/// `count` deposits of 2 USDC on `from`, bound for `to_chain_id`.
pub(super) async fn make_deposits(
    net: &atoll_devnet::Devnet,
    from: &str,
    to_chain_id: u64,
    count: u32,
    payee: Payee,
) -> anyhow::Result<()> {
    let src = net
        .state
        .evm_chain(from)
        .with_context(|| format!("no {from}"))?;
    let usdc = src.token("USDC").context("no USDC")?.address;
    let (p, signer) = provider(&src.rpc_url, Role::User)?;
    let calls = (0..u64::from(count))
        .map(|i| {
            let to = match payee {
                Payee::FreshEvm { offset } => recipient(offset + i),
                Payee::Solana(owner) => owner,
            };
            let call = BridgeVault::depositCall {
                token: usdc,
                amount: U256::from(2_000_000u64),
                dstChainId: to_chain_id,
                recipient: FixedBytes::from(to),
            };
            (src.bridge_vault, Bytes::from(call.abi_encode()))
        })
        .collect();
    send_all(&p, &signer, src.chain_id, calls, 200_000, true, &mut 0).await
}

/// Index `source` once and pass its deposits through the gate. Returns (index s, gate s).
async fn approve_all(
    settings: &Settings,
    store: &Store,
    net: &atoll_devnet::Devnet,
    source: &str,
) -> anyhow::Result<(f64, f64)> {
    let src = net
        .state
        .evm_chain(source)
        .with_context(|| format!("no {source}"))?;
    let (p, _) = provider(&src.rpc_url, Role::Deployer)?;
    let _: serde_json::Value = p.raw_request("anvil_mine".into(), (4,)).await?;
    let t = Instant::now();
    for (chain, r) in atoll_indexer::run(
        settings,
        store,
        &[source.to_string()],
        atoll_indexer::Mode::Once,
        std::sync::Arc::new(|_| {}),
    )
    .await
    {
        r.with_context(|| format!("indexing {chain}"))?;
    }
    let index_s = t.elapsed().as_secs_f64();
    let chain = EvmChain::new(
        settings
            .chain(source)
            .with_context(|| format!("no {source}"))?,
        RetryPolicy::default(),
    )?;
    let t = Instant::now();
    let r = atoll_relayer::gate::pass(settings, store, source, &chain).await?;
    anyhow::ensure!(
        r.refused.is_empty() && r.waiting.is_empty(),
        "gate on {source}: {} refused, {} waiting",
        r.refused.len(),
        r.waiting.len()
    );
    Ok((index_s, t.elapsed().as_secs_f64()))
}

/// Steps the EVM executor of `dest` until `count` transfers are confirmed; a miner keeps
/// blocks coming so releases reach finality. Returns the seconds it took and the blocks it
/// asked the node for.
async fn release_all(
    settings: &Settings,
    store: &Store,
    chain: &EvmChain,
    dest: &str,
    miner: &DynProvider,
    count: usize,
    sequential: bool,
) -> anyhow::Result<(f64, u64)> {
    let mut executor = EvmExecutor::new(settings, store, chain, dest)?;
    let chain_id = settings
        .chain(dest)
        .map(|c| c.chain_id.0)
        .ok_or_else(|| anyhow::anyhow!("no chain {dest} in the bench's settings"))?;
    let t = Instant::now();
    let mut confirmed = 0usize;
    let mut idle_rounds = 0u32;
    let mut nudges = 0u64;
    // The ceiling's rule for stranded transactions, applied here too.
    let mut strands = StrandWatch::new(miner.get_block_number().await?);
    while confirmed < count {
        let r = executor.step().await?;
        anyhow::ensure!(
            r.failed.is_empty() && r.awaiting_liquidity.is_empty(),
            "release problems on {dest}: {:?}",
            r.failed
        );
        confirmed += r.confirmed.len();
        // Finality needs blocks after the last release: anvil mines only on transactions, so
        // a block is mined whenever a step found nothing to do. The baseline waits for each
        // release's confirmation before the next.
        let waiting = sequential && !r.included.is_empty() || r.is_idle();
        if waiting
            && store
                .release_txs(chain_id, tx_status::PENDING)
                .await?
                .is_empty()
        {
            let _: serde_json::Value = miner.raw_request("anvil_mine".into(), (1,)).await?;
            nudges += 1;
            idle_rounds += 1;
        } else if waiting {
            // Idle while the node is still mining what was sent: a block mined now would
            // come before those transactions, cost the node a state root, and prove nothing.
            // Unless they are stranded (`StrandWatch`).
            if strands.nudge(miner).await? {
                nudges += 1;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            idle_rounds += 1;
        }
        anyhow::ensure!(idle_rounds < 1_000_000, "no progress on {dest}");
    }
    Ok((t.elapsed().as_secs_f64(), nudges))
}

/// The blocks a node mined after `from`, and how many of them hold no transaction.
async fn blocks_since(node: &DynProvider, from: u64) -> anyhow::Result<(u64, u64)> {
    let head = node.get_block_number().await?;
    let mut empty = 0;
    for number in from + 1..=head {
        let block = node
            .get_block_by_number(number.into())
            .await?
            .with_context(|| format!("block {number} is gone"))?;
        if block.transactions.is_empty() {
            empty += 1;
        }
    }
    Ok((head.saturating_sub(from), empty))
}

/// Steps the Solana executor until `count` transfers are confirmed (the validator makes its
/// own slots; an idle step waits a slot). Returns the seconds it took.
async fn release_all_solana(
    settings: &Settings,
    store: &Store,
    chain: &SolanaChain,
    count: usize,
) -> anyhow::Result<f64> {
    let executor = SolanaExecutor::new(settings, store, chain, "solana")?;
    let t = Instant::now();
    let mut confirmed = 0usize;
    while confirmed < count {
        let r = executor.step().await?;
        anyhow::ensure!(
            r.failed.is_empty() && r.awaiting_liquidity.is_empty(),
            "release problems on solana: {:?}",
            r.failed
        );
        confirmed += r.confirmed.len();
        if r.is_idle() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(3_600),
            "solana: {confirmed} of {count} confirmed after an hour"
        );
    }
    Ok(t.elapsed().as_secs_f64())
}

/// Every `TransferReleased` log of `vault` from `from_block`: (logs, distinct ids).
async fn released_on_chain(
    node: &DynProvider,
    vault: Address,
    from_block: u64,
) -> anyhow::Result<Released> {
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
    let blocks: std::collections::HashSet<u64> =
        logs.iter().filter_map(|l| l.block_number).collect();
    Ok(Released {
        logs: logs.len(),
        distinct: ids.len(),
        blocks: blocks.len(),
    })
}

/// `TransferReleased` logs on a vault from a block on: how many, how many distinct ids, and in
/// how many blocks (anvil's cost per block grows with its state, so releases per block matter).
struct Released {
    logs: usize,
    distinct: usize,
    blocks: usize,
}

/// The node's ceiling on one EVM chain: `n` releases in batches like the relayer's, fresh ids
/// and recipients, pre-signed and sent straight to anvil. Checks every one was logged once.
/// Returns the seconds the node took to simulate them all (`eth_call`, nothing mined) and
/// the seconds it took to mine them.
async fn ceiling(
    net: &atoll_devnet::Devnet,
    chain: &str,
    n: usize,
    batch: usize,
) -> anyhow::Result<Ceiling> {
    let c = net
        .state
        .evm_chain(chain)
        .with_context(|| format!("no {chain}"))?;
    let (node, key) = provider(&c.rpc_url, Role::Relayer)?;
    let from_block = node.get_block_number().await? + 1;
    let usdc = c.token("USDC").context("no USDC")?.address;
    let batches: Vec<(Address, Bytes)> = (0..n)
        .collect::<Vec<_>>()
        .chunks(batch)
        .map(|chunk| {
            let releases = chunk
                .iter()
                .map(|i| BridgeVault::Release {
                    id: keccak256(format!("ceiling-{chain}-{i}")),
                    token: usdc,
                    recipient: Address::from_slice(&recipient(2_000_000 + *i as u64)[12..]),
                    amount: U256::from(1_499_000u64),
                })
                .collect();
            (
                c.bridge_vault,
                Bytes::from(BridgeVault::releaseBatchCall { releases }.abi_encode()),
            )
        })
        .collect();
    // The relayer's own rule for the limit: the estimate plus 20% (a limit far above it is
    // refused by nodes that cap a transaction's gas, EIP-7825).
    let (first_to, first_input) = batches.first().cloned().context("no batch")?;
    let gas = node
        .estimate_gas(
            TransactionRequest::default()
                .with_from(key.address())
                .with_to(first_to)
                .with_input(first_input),
        )
        .await?;
    let pid = node_pid(&net.dir, &format!("anvil-{chain}"));
    // What the simulation rule costs the node: every batch run once with `eth_call`
    // (as the relayer does before signing, all of a step's at once), on the same state. It
    // mines nothing, so the ceiling below starts from the same state.
    let cpu0 = pid.and_then(|p| cpu_of(Some(p)));
    let t = Instant::now();
    let simulated = futures::future::try_join_all(batches.iter().map(|(to, input)| {
        node.call(
            TransactionRequest::default()
                .with_from(key.address())
                .with_to(*to)
                .with_input(input.clone()),
        )
        .into_future()
    }))
    .await?;
    let simulation_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        simulated.len() == batches.len(),
        "simulation on {chain}: {} answers for {} batches",
        simulated.len(),
        batches.len()
    );
    if let (Some(before), Some(after)) = (cpu0, pid.and_then(|p| cpu_of(Some(p)))) {
        let cpu = after.saturating_sub(before).as_secs_f64();
        crate::out!(
            "  node anvil-{chain} simulating the same batches (eth_call each, all at once): {simulation_s:.2} s, {cpu:.2} s CPU = {:.1} µs per release",
            cpu * 1e6 / n as f64
        );
    }
    let cpu0 = pid.and_then(|p| cpu_of(Some(p)));
    let t = Instant::now();
    let mut nudges = 0;
    send_all(
        &node,
        &key,
        c.chain_id,
        batches,
        gas + gas / 5,
        false,
        &mut nudges,
    )
    .await?;
    let seconds = t.elapsed().as_secs_f64();
    if let (Some(before), Some(after)) = (cpu0, pid.and_then(|p| cpu_of(Some(p)))) {
        let cpu = after.saturating_sub(before).as_secs_f64();
        crate::out!(
            "  node anvil-{chain} during its ceiling: {cpu:.2} s CPU = {:.1} µs per release",
            cpu * 1e6 / n as f64
        );
    }
    let Released {
        logs,
        distinct,
        blocks,
    } = released_on_chain(&node, c.bridge_vault, from_block).await?;
    anyhow::ensure!(
        logs == distinct && logs == n,
        "ceiling on {chain}: {logs} releases logged, {distinct} distinct, {n} expected"
    );
    let (mined, empty) = blocks_since(&node, from_block - 1).await?;
    crate::out!(
        "  node anvil-{chain} during its ceiling: {blocks} blocks with releases, {:.0} releases per block, {mined} mined in all, {empty} of them empty ({nudges} blocks asked for with evm_mine: automine strands what did not fit a block)",
        n as f64 / blocks.max(1) as f64
    );
    Ok(Ceiling {
        simulation_s,
        seconds,
    })
}

/// The node's own times for `n` releases on one chain.
#[derive(Clone, Copy)]
struct Ceiling {
    /// Every batch simulated once with `eth_call`.
    simulation_s: f64,
    /// Every batch pre-signed, sent and mined.
    seconds: f64,
}

/// What one destination did under the clock.
struct Lane {
    dest: &'static str,
    count: usize,
    seconds: f64,
    /// EVM: blocks the bench asked for on idle steps (finality needs blocks after the last
    /// release; anvil mines only on transactions).
    nudges: u64,
}

impl Lane {
    fn rate(&self) -> f64 {
        self.count as f64 / self.seconds
    }
}

/// The Solana user's USDC balance (raw units), read at `finalized`.
async fn solana_usdc(chain: &SolanaChain, account: &str) -> anyhow::Result<u64> {
    let key: Pubkey = account.parse().context("devnet USDC account")?;
    let found = chain
        .accounts(&[key], CommitmentConfig::finalized())
        .await?
        .into_iter()
        .next()
        .flatten()
        .context("the devnet user's USDC account does not exist")?;
    Ok(decode_token_account(&key, &found.owner, &found.data)?.amount)
}

pub async fn run(args: RelayerBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.deposits > 0, "--deposits: must be at least 1");
    anyhow::ensure!(args.batch > 0, "--batch: must be at least 1");
    anyhow::ensure!(args.in_flight > 0, "--in-flight: must be at least 1");
    anyhow::ensure!(args.baseline > 0, "--baseline: must be at least 1");
    anyhow::ensure!(
        args.block_gas_limit.is_none_or(|g| g >= 1_000_000),
        "--block-gas-limit: at least 1,000,000"
    );
    anyhow::ensure!(
        !args.all_chains || args.solana_deposits > 0,
        "--solana-deposits: must be at least 1"
    );
    anyhow::ensure!(
        args.all_chains || args.validator_nice.is_none(),
        "--validator-nice: only with --all-chains (no validator runs otherwise)"
    );
    let tmp = tempfile::tempdir()?;
    crate::out!(
        "atoll bench relayer: starting a devnet (two anvils{}, block gas limit {})",
        if args.all_chains {
            " and solana-test-validator"
        } else {
            ""
        },
        args.block_gas_limit
            .map_or("30,000,000 (anvil's default)".to_string(), |g| g
                .to_string())
    );
    let tools = atoll_devnet::tools::Tools::locate(args.all_chains)?;
    let net = atoll_devnet::Devnet::up(
        &atoll_devnet::network::UpOptions {
            dir: tmp.path().to_path_buf(),
            ports: atoll_devnet::network::PortChoice::Free,
            solana: args.all_chains,
            block_gas_limit: args.block_gas_limit,
            validator_niceness: args.validator_nice,
        },
        &tools,
    )
    .await?;
    let text = std::fs::read_to_string(&net.state.config_path)?;
    let mut settings = Settings::parse(&text, std::env::vars(), tmp.path())
        .map_err(|e| anyhow::anyhow!("devnet config: {e}"))?;
    settings.relayer.batch_max_releases = args.batch;
    settings.relayer.max_in_flight = args.in_flight;
    settings.relayer.batch_max_gas = BATCH_MAX_GAS;
    // Every deposit is worth $2: the tiers let them through on confirmations.
    let url = format!(
        "sqlite://{}?mode=rwc",
        tmp.path().join("bench.db").display()
    );
    let store = Store::connect(&url).await?;
    store.migrate_up().await?;
    store.register_settings(&settings).await?;
    let evm_net = |name: &str| {
        net.state
            .evm_chain(name)
            .with_context(|| format!("no {name}"))
    };
    let evm_chain = |name: &str| -> anyhow::Result<EvmChain> {
        Ok(EvmChain::new(
            settings.chain(name).with_context(|| format!("no {name}"))?,
            RetryPolicy::default(),
        )?)
    };
    let bsc_net = evm_net("bsc")?;
    let eth_net = evm_net("ethereum")?;
    let (bsc_node, _) = provider(&bsc_net.rpc_url, Role::Deployer)?;
    let (eth_node, _) = provider(&eth_net.rpc_url, Role::Deployer)?;
    let (bsc, eth) = (evm_chain("bsc")?, evm_chain("ethereum")?);
    let solana = if args.all_chains {
        let c = settings
            .chain("solana")
            .context("no solana in the devnet")?;
        Some(SolanaChain::new(c, RetryPolicy::default())?)
    } else {
        None
    };
    let n = args.deposits as usize;
    let s = if args.all_chains {
        args.solana_deposits as usize
    } else {
        0
    };

    // 1. Deposits, indexed and through the finality gate, before the clock.
    let t = Instant::now();
    make_deposits(
        &net,
        "ethereum",
        bsc_net.chain_id,
        args.deposits,
        Payee::FreshEvm { offset: 0 },
    )
    .await?;
    let sol_user = match &net.state.solana {
        Some(d) => {
            let owner: Pubkey = d.user.parse().context("the devnet's solana user")?;
            let usdc = d.token("USDC").context("no USDC on the devnet's solana")?;
            Some((owner, usdc.user_account.clone()))
        }
        None => None,
    };
    if args.all_chains {
        make_deposits(
            &net,
            "bsc",
            eth_net.chain_id,
            args.deposits,
            Payee::FreshEvm { offset: 500_000 },
        )
        .await?;
        let (owner, _) = sol_user.clone().context("no solana user")?;
        let solana_id = settings.chain("solana").context("no solana")?.chain_id.0;
        make_deposits(
            &net,
            "ethereum",
            solana_id,
            args.solana_deposits,
            Payee::Solana(owner.to_bytes()),
        )
        .await?;
    }
    let made = t.elapsed().as_secs_f64();
    crate::out!(
        "  {} deposits made in {made:.1} s",
        if args.all_chains { 2 * n + s } else { n }
    );
    let mut sources = vec!["ethereum"];
    if args.all_chains {
        sources.push("bsc");
    }
    for source in sources {
        let (index_s, gate_s) = approve_all(&settings, &store, &net, source).await?;
        crate::out!(
            "  {source}: indexed in {index_s:.1} s, through the finality gate in {gate_s:.1} s"
        );
    }
    let sol_before = match (&solana, &sol_user) {
        (Some(c), Some((_, account))) => Some(solana_usdc(c, account).await?),
        _ => None,
    };
    // The ceiling runs later on this very state (reverted to it), so both see the same
    // storage size: anvil's cost per block grows with its state.
    let bsc_snapshot: U256 = bsc_node.raw_request("evm_snapshot".into(), ()).await?;
    let eth_snapshot: U256 = eth_node.raw_request("evm_snapshot".into(), ()).await?;
    let bsc_from = bsc_node.get_block_number().await? + 1;
    let eth_from = eth_node.get_block_number().await? + 1;
    crate::out!("  the clock starts now");

    // 2. The relayer, every destination at once.
    let clock_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?;
    let cpu0 = process_cpu().unwrap_or_default();
    let node_names = ["anvil-bsc", "anvil-ethereum", "solana-test-validator"];
    let nodes_cpu =
        || node_names.map(|name| node_pid(&net.dir, name).and_then(|pid| cpu_of(Some(pid))));
    let nodes0 = nodes_cpu();
    let heads0 = (
        bsc_node.get_block_number().await?,
        eth_node.get_block_number().await?,
    );
    let to_bsc = async {
        let (seconds, nudges) =
            release_all(&settings, &store, &bsc, "bsc", &bsc_node, n, false).await?;
        anyhow::Ok(Lane {
            dest: "bsc",
            count: n,
            seconds,
            nudges,
        })
    };
    let to_eth = async {
        if !args.all_chains {
            return anyhow::Ok(None);
        }
        let (seconds, nudges) =
            release_all(&settings, &store, &eth, "ethereum", &eth_node, n, false).await?;
        Ok(Some(Lane {
            dest: "ethereum",
            count: n,
            seconds,
            nudges,
        }))
    };
    let to_solana = async {
        let Some(chain) = &solana else {
            return anyhow::Ok(None);
        };
        let seconds = release_all_solana(&settings, &store, chain, s).await?;
        Ok(Some(Lane {
            dest: "solana",
            count: s,
            seconds,
            nudges: 0,
        }))
    };
    let (to_bsc, to_eth, to_solana) = tokio::join!(to_bsc, to_eth, to_solana);
    let cpu_s = process_cpu()
        .unwrap_or_default()
        .saturating_sub(cpu0)
        .as_secs_f64();
    let nodes1 = nodes_cpu();
    // Read before the baseline and the ceiling mine more.
    let bsc_blocks = blocks_since(&bsc_node, heads0.0).await?;
    let eth_blocks = if args.all_chains {
        Some(blocks_since(&eth_node, heads0.1).await?)
    } else {
        None
    };
    let lanes: Vec<Lane> = [Some(to_bsc?), to_eth?, to_solana?]
        .into_iter()
        .flatten()
        .collect();

    let started: HashMap<String, i64> = store
        .reached(TransferStatus::SourceFinal)
        .await?
        .into_iter()
        .collect();
    let dest_of: HashMap<String, i64> = store
        .transfers(None, None, u64::MAX)
        .await?
        .into_iter()
        .map(|t| (t.id, t.dest_chain_id))
        .collect();
    let confirmed_at = store.reached(TransferStatus::Confirmed).await?;
    let total: usize = lanes.iter().map(|l| l.count).sum();
    // The most releases one transaction carried, per EVM destination: `--batch` may ask for
    // more than the per-transaction gas cap lets through, and the ceiling must send the same
    // transactions the relayer sent.
    let mut largest_batch: HashMap<&str, usize> = HashMap::new();
    for lane in &lanes {
        let chain_id = i64::try_from(settings.chain(lane.dest).context("lane chain")?.chain_id.0)?;
        let mut latencies: Vec<i64> = confirmed_at
            .iter()
            .filter(|(id, _)| dest_of.get(id) == Some(&chain_id))
            // Approved before the clock: a release's wait counts from the clock's start.
            .filter_map(|(id, at)| started.get(id).map(|s| at - (*s).max(clock_ms)))
            .collect();
        latencies.sort_unstable();
        let txs = if lane.dest == "solana" {
            lane.count
        } else {
            let sent = store
                .release_txs(
                    u64::try_from(chain_id)?,
                    atoll_store::release_txs::tx_status::FINAL,
                )
                .await?;
            let largest = sent.iter().map(|tx| tx.releases).max().unwrap_or(0);
            largest_batch.insert(lane.dest, usize::try_from(largest)?);
            sent.len()
        };
        crate::out!(
            "  → {}: {} releases in {:.2} s = {:.0} releases/s over {txs} transactions; source_final → confirmed p50 {} ms, p99 {} ms (from the clock's start: all were queued at once)",
            lane.dest,
            lane.count,
            lane.seconds,
            lane.rate(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }
    let batch_on = |dest: &str| {
        largest_batch
            .get(dest)
            .copied()
            .filter(|&b| b > 0)
            .unwrap_or(args.batch as usize)
    };
    let bsc_batch = batch_on("bsc");
    if bsc_batch < args.batch as usize && n > bsc_batch {
        crate::out!(
            "  --batch {} asked, but the largest transaction the relayer sent carried {bsc_batch} releases (a transaction's gas is capped at {BATCH_MAX_GAS}); the ceiling below sends batches of that size",
            args.batch
        );
    }
    crate::out!(
        "  batched ({bsc_batch} per tx, {} in flight); relayer CPU: {:.1} µs per release ({cpu_s:.2} s CPU in this process for {total}; the nodes' is apart)",
        args.in_flight,
        cpu_s * 1e6 / total as f64
    );

    // Every node's CPU under the clock (seconds), the source chain's too: they share this
    // machine's cores with the relayer.
    let nodes_cpu: Vec<(&str, f64)> = node_names
        .iter()
        .zip(nodes0.iter().zip(&nodes1))
        .filter_map(|(name, (before, after))| {
            Some((
                *name,
                after.as_ref()?.saturating_sub((*before)?).as_secs_f64(),
            ))
        })
        .collect();
    // Without /proc (not Linux) neither figure is known, and no bound is printed.
    let cpu_known = cpu_s > 0.0 && !nodes_cpu.is_empty();
    let nodes_cpu_s: f64 = nodes_cpu.iter().map(|(_, cpu)| cpu).sum();
    for &(name, cpu) in &nodes_cpu {
        let dest = name
            .trim_start_matches("anvil-")
            .trim_end_matches("-test-validator");
        let Some(lane) = lanes.iter().find(|l| l.dest == dest) else {
            continue;
        };
        crate::out!(
            "  node {name}: {cpu:.2} s CPU under the clock = {:.1} µs per release bound for it ({:.0}% of one core)",
            cpu * 1e6 / lane.count as f64,
            100.0 * cpu / lane.seconds
        );
    }

    // Zero duplicates, from the chains: every TransferReleased id once; on Solana the user's
    // balance grew by exactly what the store says was released (a second payout would show).
    let mut checked = Vec::new();
    let mut evm_lanes = vec![(
        "bsc",
        &bsc_node,
        bsc_net.bridge_vault,
        bsc_from,
        Some(bsc_blocks),
    )];
    if args.all_chains {
        evm_lanes.push((
            "ethereum",
            &eth_node,
            eth_net.bridge_vault,
            eth_from,
            eth_blocks,
        ));
    }
    for (dest, node, vault, from, mined) in evm_lanes {
        let Released {
            logs,
            distinct,
            blocks,
        } = released_on_chain(node, vault, from).await?;
        anyhow::ensure!(
            logs == distinct && logs == n,
            "{dest}: {logs} releases logged, {distinct} distinct, {n} expected"
        );
        crate::out!(
            "  → {dest}: {blocks} blocks with releases, {:.0} releases per block",
            n as f64 / blocks.max(1) as f64
        );
        if let Some((mined, empty)) = mined {
            let nudges = lanes
                .iter()
                .find(|l| l.dest == dest)
                .map_or(0, |l| l.nudges);
            // Every block costs anvil a state root over the whole state, empty or not. Automine
            // mines one block per wake-up of its miner while a block is being built, each with
            // the same ready set: the first holds it, the rest come out empty.
            crate::out!(
                "  → {dest}: {mined} blocks mined under the clock, {empty} of them empty; {nudges} asked for by the bench on idle steps"
            );
        }
        checked.push(format!("{dest} {logs}"));
    }
    let mut checked = checked.join(", ");
    if let (Some(chain), Some((_, account)), Some(before)) = (&solana, &sol_user, sol_before) {
        let after = solana_usdc(chain, account).await?;
        let solana_id = i64::try_from(settings.chain("solana").context("no solana")?.chain_id.0)?;
        let owed: u64 = store
            .transfers(Some(TransferStatus::Confirmed), None, u64::MAX)
            .await?
            .iter()
            .filter(|t| t.dest_chain_id == solana_id)
            .map(|t| t.amount_out.as_deref().and_then(|a| a.parse::<u64>().ok()))
            .sum::<Option<u64>>()
            .context("an amount out on solana is not a number")?;
        anyhow::ensure!(
            after - before == owed,
            "solana: the user's USDC grew by {} raw units, the store released {owed}",
            after - before
        );
        checked.push_str(&format!(
            ", solana {s} (balance +{owed} raw units, as released)"
        ));
    }
    crate::out!("  duplicates: 0 (TransferReleased logs, all distinct: {checked})");
    // The operator's proof over the same traffic, and what it costs to run.
    let audit = atoll_relayer::audit::run(&settings, &store).await?;
    crate::out!(
        "  audit: {} ({} deposits and {} releases read from the chains, {} transfers) in {:.2} s",
        if audit.clean {
            "clean".to_string()
        } else {
            format!("{} discrepancies", audit.discrepancies.len())
        },
        audit.deposits_read,
        audit.releases_read,
        audit.transfers,
        audit.took_ms as f64 / 1_000.0
    );
    anyhow::ensure!(
        audit.clean,
        "audit: {}",
        audit
            .discrepancies
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );

    // 3. Sequential baseline on BSC: one release per transaction, each confirmed before the
    // next.
    make_deposits(
        &net,
        "ethereum",
        bsc_net.chain_id,
        args.baseline,
        Payee::FreshEvm { offset: 1_000_000 },
    )
    .await?;
    approve_all(&settings, &store, &net, "ethereum").await?;
    let mut sequential = settings.clone();
    sequential.relayer.batch_max_releases = 1;
    sequential.relayer.max_in_flight = 1;
    let m = args.baseline as usize;
    let (seq_s, _) = release_all(&sequential, &store, &bsc, "bsc", &bsc_node, m, true).await?;
    let seq_rate = m as f64 / seq_s;
    crate::out!(
        "  sequential baseline on bsc: {m} releases in {seq_s:.2} s = {seq_rate:.0} releases/s"
    );

    // 4. The node's ceiling on each EVM destination, on the state the relayer started from,
    // all at once as the relayer ran.
    for (node, snapshot) in [(&bsc_node, bsc_snapshot), (&eth_node, eth_snapshot)] {
        let reverted: bool = node.raw_request("evm_revert".into(), (snapshot,)).await?;
        anyhow::ensure!(reverted, "anvil did not revert to the snapshot");
    }
    let (bsc_ceiling, eth_ceiling) =
        tokio::join!(ceiling(&net, "bsc", n, batch_on("bsc")), async {
            if args.all_chains {
                ceiling(&net, "ethereum", n, batch_on("ethereum"))
                    .await
                    .map(Some)
            } else {
                Ok(None)
            }
        });
    let mut ceilings = vec![("bsc", bsc_ceiling?)];
    if let Some(e) = eth_ceiling? {
        ceilings.push(("ethereum", e));
    }
    for &(dest, ceiling) in &ceilings {
        let Ceiling {
            simulation_s,
            seconds,
        } = ceiling;
        let rate = n as f64 / seconds;
        let lane = lanes.iter().find(|l| l.dest == dest).context("lane")?;
        crate::out!(
            "  node ceiling on {dest} (same batches pre-signed, sent straight to anvil, on the state the relayer started from): {n} releases in {seconds:.2} s = {rate:.0} releases/s; the relayer reached {:.0}% of it",
            100.0 * lane.rate() / rate
        );
        // A relayer that simulates every batch before it signs makes the node do both. On a
        // node that runs them one after the other, this is the most it can reach at no cost
        // of its own.
        let simulated_rate = n as f64 / (simulation_s + seconds);
        crate::out!(
            "  node ceiling on {dest} with each batch simulated first (simulation + mining, {:.2} s): {simulated_rate:.0} releases/s; the relayer reached {:.0}% of it",
            simulation_s + seconds,
            100.0 * lane.rate() / simulated_rate
        );
    }
    if let ([lane], [(_, ceiling)], true) = (lanes.as_slice(), ceilings.as_slice(), cpu_known) {
        print_cpu_budget(lane, n as f64 / ceiling.seconds, cpu_s, nodes_cpu_s)?;
    }
    let bsc_lane = lanes.first().context("bsc lane")?;
    crate::out!(
        "  batched vs sequential on bsc: {:.1}x",
        bsc_lane.rate() / seq_rate
    );
    Ok(())
}

/// The goal: the relayer at this share of the node's ceiling.
const CEILING_GOAL: f64 = 0.8;

/// What the machine's cores allow: the relayer and the nodes together spent so much CPU per
/// release, and no schedule of that work, however well it overlaps, releases faster than the
/// cores can do it. Printed beside the ceiling, whose rate the node reaches alone.
fn print_cpu_budget(
    lane: &Lane,
    ceiling_rate: f64,
    relayer_cpu_s: f64,
    nodes_cpu_s: f64,
) -> anyhow::Result<()> {
    let Some(cores) = std::thread::available_parallelism()
        .ok()
        .map(|c| c.get() as f64)
    else {
        return Ok(());
    };
    let count = lane.count as f64;
    let (relayer_us, nodes_us) = (relayer_cpu_s * 1e6 / count, nodes_cpu_s * 1e6 / count);
    let bound = cores * 1e6 / (relayer_us + nodes_us);
    let budget_us = cores * 1e6 / (CEILING_GOAL * ceiling_rate);
    crate::out!(
        "  CPU bound on this machine ({cores:.0} cores): the relayer took {relayer_us:.1} µs and the nodes {nodes_us:.1} µs of CPU per release, so no schedule of this work releases more than {bound:.0}/s ({:.0}% of the node's ceiling; the relayer reached {:.0}% of this bound); {:.0}% of the ceiling needs the relayer and the nodes within {budget_us:.1} µs of CPU per release together",
        100.0 * bound / ceiling_rate,
        100.0 * lane.rate() / bound,
        100.0 * CEILING_GOAL
    );
    Ok(())
}
