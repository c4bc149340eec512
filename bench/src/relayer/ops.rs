//! What the relayer benchmark does to the devnet around the clock: deposits made in bulk,
//! indexed and passed through the finality gate; an executor stepped until its releases are
//! confirmed; and what is read back from the chains and the nodes (release logs, blocks, CPU).

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
use atoll_core::settings::Settings;
use atoll_devnet::evm::Role;
use atoll_relayer::evm_executor::EvmExecutor;
use atoll_relayer::solana_executor::SolanaExecutor;
use atoll_store::Store;
use atoll_store::release_txs::ReleaseTxStatus;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;

/// How long the head may stand still, with transactions in anvil's pool, before the bench asks
/// for a block: in the relayer's run and in the ceiling alike.
const STRANDED_AFTER: Duration = Duration::from_millis(20);

/// Anvil's automine leaves a transaction that did not fit the block being mined in the pool
/// until another one arrives; when none will, the bench asks for the block itself. It asks
/// once per head (a block being mined also leaves the head still, and a second request could
/// only mine an empty block), and only while the pool holds transactions.
pub(crate) struct StrandWatch {
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

/// CPU time a process used so far (user + system), from /proc (Linux): this one, or a node.
pub(crate) fn cpu_of(pid: Option<u32>) -> Option<Duration> {
    let path = pid.map_or("/proc/self/stat".to_string(), |p| format!("/proc/{p}/stat"));
    let stat = std::fs::read_to_string(path).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

pub(crate) fn process_cpu() -> Option<Duration> {
    cpu_of(None)
}

/// The pid of the devnet node named `name` (`anvil-bsc`, …).
pub(crate) fn node_pid(dir: &std::path::Path, name: &str) -> Option<u32> {
    atoll_devnet::process::recorded(dir)
        .into_iter()
        .find(|p| p.name == name)
        .map(|p| p.pid)
}

pub(crate) fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub(crate) fn provider(url: &str, role: Role) -> anyhow::Result<(DynProvider, PrivateKeySigner)> {
    let signer = role.signer()?;
    let p = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer.clone()))
        .connect_http(url.parse()?)
        .erased();
    Ok((p, signer))
}

/// Signs `calls` (to, input) from `signer` at consecutive nonces from its next one, at twice
/// the node's gas price: the setup's deposits and approvals (a release is signed by the
/// adapter, as the relayer signs it).
pub(crate) async fn sign_calls(
    p: &DynProvider,
    signer: &PrivateKeySigner,
    chain_id: u64,
    calls: Vec<(Address, Bytes)>,
    gas: u64,
) -> anyhow::Result<Vec<(B256, Bytes)>> {
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
    Ok(raws)
}

/// Sends signed transactions (hash, bytes) of `from`, in nonce order, and waits for the last
/// receipt.
pub(crate) async fn send_all(
    p: &DynProvider,
    from: Address,
    raws: Vec<(B256, Bytes)>,
    bulk: bool,
    nudges: &mut u32,
) -> anyhow::Result<()> {
    let nonce = p.get_transaction_count(from).await?;
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
                let mined = p.get_transaction_count(from).await?;
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
pub(crate) fn recipient(i: u64) -> [u8; 32] {
    let h = keccak256(i.to_be_bytes());
    let mut b = [0u8; 32];
    b[12..].copy_from_slice(&h[12..]);
    b
}

/// Where a bench's deposits go: the destination chain and who receives each one.
#[derive(Clone, Copy)]
pub(crate) enum Payee {
    /// A fresh EVM account per deposit, numbered from the offset.
    FreshEvm { offset: u64 },
    /// One Solana owner (its USDC account exists on the devnet).
    Solana([u8; 32]),
}

/// `count` deposits of 2 USDC on `from`, bound for `to_chain_id`.
pub(crate) async fn make_deposits(
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
    let raws = sign_calls(&p, &signer, src.chain_id, calls, 200_000).await?;
    send_all(&p, signer.address(), raws, true, &mut 0).await
}

/// Index `source` once and pass its deposits through the gate. Returns (index s, gate s).
pub(crate) async fn approve_all(
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
pub(crate) async fn release_all(
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
            r.failed.is_empty() && r.failed_txs.is_empty() && r.awaiting_liquidity.is_empty(),
            "release problems on {dest}: {:?} {:?}",
            r.failed,
            r.failed_txs
        );
        confirmed += r.confirmed.len();
        // Finality needs blocks after the last release: anvil mines only on transactions, so
        // a block is mined whenever a step found nothing to do. The baseline waits for each
        // release's confirmation before the next.
        let waiting = sequential && !r.included.is_empty() || r.is_idle();
        if waiting
            && store
                .release_txs(chain_id, ReleaseTxStatus::Pending)
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
pub(crate) async fn blocks_since(node: &DynProvider, from: u64) -> anyhow::Result<(u64, u64)> {
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
pub(crate) async fn release_all_solana(
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
            r.failed.is_empty() && r.failed_txs.is_empty() && r.awaiting_liquidity.is_empty(),
            "release problems on solana: {:?} {:?}",
            r.failed,
            r.failed_txs
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
pub(crate) async fn released_on_chain(
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
pub(crate) struct Released {
    pub(crate) logs: usize,
    pub(crate) distinct: usize,
    pub(crate) blocks: usize,
}

/// The Solana user's USDC balance (raw units), read at `finalized`.
pub(crate) async fn solana_usdc(chain: &SolanaChain, account: &str) -> anyhow::Result<u64> {
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
