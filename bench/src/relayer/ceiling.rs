//! The node's own ceiling on an EVM destination: the same kind of `releaseBatch` transactions
//! the relayer sends, signed beforehand by the adapter's own `sign_release_batch` and sent
//! straight to anvil, on the state the relayer started from; and the bound the CPU per release
//! puts on any schedule on this machine's cores.

use std::time::Instant;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use atoll_adapters::evm::releases::{EvmRelease, GasFees, batch_call};
use atoll_adapters::evm::{EvmChain, RetryPolicy};

use super::Lane;
use super::ops::{
    Released, blocks_since, cpu_of, node_pid, provider, recipient, released_on_chain, send_all,
};
use atoll_core::settings::Settings;
use atoll_devnet::evm::Role;

/// The node's ceiling on one EVM chain: `n` releases in batches like the relayer's, fresh ids
/// and recipients, pre-signed and sent straight to anvil. Checks every one was logged once.
/// Returns the seconds the node took to simulate them all (`eth_call`, nothing mined) and
/// the seconds it took to mine them.
pub(crate) async fn ceiling(
    settings: &Settings,
    net: &atoll_devnet::Devnet,
    chain: &str,
    n: usize,
    batch: usize,
) -> anyhow::Result<Ceiling> {
    let c = net
        .state
        .evm_chain(chain)
        .with_context(|| format!("no {chain}"))?;
    let evm = EvmChain::new(
        settings
            .chain(chain)
            .with_context(|| format!("no {chain}"))?,
        RetryPolicy::default(),
    )?;
    let (node, key) = provider(&c.rpc_url, Role::Relayer)?;
    let from_block = node.get_block_number().await? + 1;
    let usdc = c.token("USDC").context("no USDC")?.address;
    let batches = release_batches(chain, usdc, n, batch);
    let inputs: Vec<Bytes> = batches.iter().map(|b| batch_call(b)).collect();
    let raws = sign_batches(&evm, &node, &key, c.bridge_vault, &batches).await?;
    let target = Target {
        node: &node,
        chain,
        vault: c.bridge_vault,
        from: key.address(),
        pid: node_pid(&net.dir, &format!("anvil-{chain}")),
        n,
    };
    let simulation_s = target.simulate(&inputs).await?;
    let (seconds, nudges) = target.mine(raws).await?;
    target.check_released(from_block, nudges).await?;
    Ok(Ceiling {
        simulation_s,
        seconds,
    })
}

/// `n` releases of 1.499 USDC on `chain` with fresh ids and recipients, `batch` to a
/// transaction.
fn release_batches(chain: &str, usdc: Address, n: usize, batch: usize) -> Vec<Vec<EvmRelease>> {
    (0..n)
        .collect::<Vec<_>>()
        .chunks(batch)
        .map(|chunk| {
            chunk
                .iter()
                .map(|i| EvmRelease {
                    id: keccak256(format!("ceiling-{chain}-{i}")),
                    token: usdc,
                    recipient: Address::from_slice(&recipient(2_000_000 + *i as u64)[12..]),
                    amount: U256::from(1_499_000u64),
                })
                .collect()
        })
        .collect()
}

/// Every batch signed before the clock, by the adapter as the relayer signs, at twice the gas
/// price and consecutive nonces; returns each transaction's hash and raw bytes.
async fn sign_batches(
    evm: &EvmChain,
    node: &DynProvider,
    key: &PrivateKeySigner,
    vault: Address,
    batches: &[Vec<EvmRelease>],
) -> anyhow::Result<Vec<(B256, Bytes)>> {
    // The relayer's own rule for the limit: the estimate plus 20% (a limit far above it is
    // refused by nodes that cap a transaction's gas, EIP-7825).
    let first = batches.first().context("no batch")?;
    let gas = evm
        .estimate_release_batch_gas(vault, key.address(), first)
        .await?;
    // Signed before the clock, by the adapter as the relayer signs, at twice the gas price.
    let nonce = node.get_transaction_count(key.address()).await?;
    let fees = GasFees::Legacy {
        gas_price: node.get_gas_price().await? * 2,
    };
    let mut raws = Vec::with_capacity(batches.len());
    for (i, releases) in batches.iter().enumerate() {
        let signed = evm
            .sign_release_batch(key, vault, releases, nonce + i as u64, gas + gas / 5, fees)
            .await?;
        raws.push((signed.hash, signed.raw));
    }
    Ok(raws)
}

/// The node a ceiling runs on: its chain, the vault the releases call, their sender, the
/// node's pid (for its CPU time) and the number of releases.
struct Target<'a> {
    node: &'a DynProvider,
    chain: &'a str,
    vault: Address,
    from: Address,
    pid: Option<u32>,
    n: usize,
}

impl Target<'_> {
    /// The node's CPU time so far, when it can be read.
    fn cpu(&self) -> Option<std::time::Duration> {
        self.pid.and_then(|p| cpu_of(Some(p)))
    }

    /// The node's CPU seconds since `before`, when both readings exist.
    fn cpu_since(&self, before: Option<std::time::Duration>) -> Option<f64> {
        match (before, self.cpu()) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before).as_secs_f64()),
            _ => None,
        }
    }

    /// What the simulation rule costs the node: every batch run once with `eth_call`
    /// (as the relayer does before signing, all of a step's at once), on the same state. It
    /// mines nothing, so the ceiling starts from the same state. Returns the seconds taken.
    async fn simulate(&self, inputs: &[Bytes]) -> anyhow::Result<f64> {
        let (chain, n) = (self.chain, self.n);
        let cpu0 = self.cpu();
        let t = Instant::now();
        let simulated = futures::future::try_join_all(inputs.iter().map(|input| {
            self.node
                .call(
                    TransactionRequest::default()
                        .with_from(self.from)
                        .with_to(self.vault)
                        .with_input(input.clone()),
                )
                .into_future()
        }))
        .await?;
        let simulation_s = t.elapsed().as_secs_f64();
        anyhow::ensure!(
            simulated.len() == inputs.len(),
            "simulation on {chain}: {} answers for {} batches",
            simulated.len(),
            inputs.len()
        );
        if let Some(cpu) = self.cpu_since(cpu0) {
            crate::out!(
                "  node anvil-{chain} simulating the same batches (eth_call each, all at once): {simulation_s:.2} s, {cpu:.2} s CPU = {:.1} µs per release",
                cpu * 1e6 / n as f64
            );
        }
        Ok(simulation_s)
    }

    /// Sends the signed batches and waits until all are mined. Returns the seconds taken and
    /// how many blocks were asked for with `evm_mine`.
    async fn mine(&self, raws: Vec<(B256, Bytes)>) -> anyhow::Result<(f64, u32)> {
        let (chain, n) = (self.chain, self.n);
        let cpu0 = self.cpu();
        let t = Instant::now();
        let mut nudges = 0;
        send_all(self.node, self.from, raws, false, &mut nudges).await?;
        let seconds = t.elapsed().as_secs_f64();
        if let Some(cpu) = self.cpu_since(cpu0) {
            crate::out!(
                "  node anvil-{chain} during its ceiling: {cpu:.2} s CPU = {:.1} µs per release",
                cpu * 1e6 / n as f64
            );
        }
        Ok((seconds, nudges))
    }

    /// Checks every release was logged once since `from_block`, and prints how the blocks
    /// were filled.
    async fn check_released(&self, from_block: u64, nudges: u32) -> anyhow::Result<()> {
        let (chain, n) = (self.chain, self.n);
        let Released {
            logs,
            distinct,
            blocks,
        } = released_on_chain(self.node, self.vault, from_block).await?;
        anyhow::ensure!(
            logs == distinct && logs == n,
            "ceiling on {chain}: {logs} releases logged, {distinct} distinct, {n} expected"
        );
        let (mined, empty) = blocks_since(self.node, from_block - 1).await?;
        crate::out!(
            "  node anvil-{chain} during its ceiling: {blocks} blocks with releases, {:.0} releases per block, {mined} mined in all, {empty} of them empty ({nudges} blocks asked for with evm_mine: automine strands what did not fit a block)",
            n as f64 / blocks.max(1) as f64
        );
        Ok(())
    }
}

/// The node's own times for `n` releases on one chain.
#[derive(Clone, Copy)]
pub(crate) struct Ceiling {
    /// Every batch simulated once with `eth_call`.
    pub(crate) simulation_s: f64,
    /// Every batch pre-signed, sent and mined.
    pub(crate) seconds: f64,
}

/// The goal: the relayer at this share of the node's ceiling.
const CEILING_GOAL: f64 = 0.8;

/// What the machine's cores allow: the relayer and the nodes together spent so much CPU per
/// release, and no schedule of that work, however well it overlaps, releases faster than the
/// cores can do it. Printed beside the ceiling, whose rate the node reaches alone.
pub(crate) fn print_cpu_budget(
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
