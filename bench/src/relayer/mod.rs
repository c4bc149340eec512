//! `atoll-bench relayer`: releases per second on an EVM destination, end to end through the
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

mod ceiling;
mod ops;

pub(crate) use ops::{Payee, make_deposits};

use std::collections::HashMap;

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use anyhow::Context;
use atoll_adapters::evm::{EvmChain, RetryPolicy};
use atoll_adapters::solana::SolanaChain;
use atoll_core::settings::Settings;
use atoll_core::{TransferId, TransferStatus};
use atoll_devnet::evm::Role;
use atoll_store::Store;
use clap::Args;
use solana_sdk::pubkey::Pubkey;

use ceiling::{Ceiling, ceiling, print_cpu_budget};
use ops::{
    Released, approve_all, blocks_since, cpu_of, node_pid, percentile, process_cpu, provider,
    release_all, release_all_solana, released_on_chain, solana_usdc,
};

/// At most EIP-7825's cap of a transaction's gas (2^24), which mainnet nodes enforce.
pub(crate) const BATCH_MAX_GAS: u64 = 16_777_216;

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

/// What one destination did under the clock.
pub(crate) struct Lane {
    pub(crate) dest: &'static str,
    pub(crate) count: usize,
    pub(crate) seconds: f64,
    /// EVM: blocks the bench asked for on idle steps (finality needs blocks after the last
    /// release; anvil mines only on transactions).
    pub(crate) nudges: u64,
}

impl Lane {
    pub(crate) fn rate(&self) -> f64 {
        self.count as f64 / self.seconds
    }
}

impl RelayerBenchArgs {
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.deposits > 0, "--deposits: must be at least 1");
        anyhow::ensure!(self.batch > 0, "--batch: must be at least 1");
        anyhow::ensure!(self.in_flight > 0, "--in-flight: must be at least 1");
        anyhow::ensure!(self.baseline > 0, "--baseline: must be at least 1");
        anyhow::ensure!(
            self.block_gas_limit.is_none_or(|g| g >= 1_000_000),
            "--block-gas-limit: at least 1,000,000"
        );
        anyhow::ensure!(
            !self.all_chains || self.solana_deposits > 0,
            "--solana-deposits: must be at least 1"
        );
        anyhow::ensure!(
            self.all_chains || self.validator_nice.is_none(),
            "--validator-nice: only with --all-chains (no validator runs otherwise)"
        );
        Ok(())
    }
}

/// One EVM chain of the devnet as the bench drives it.
struct EvmLane {
    name: &'static str,
    chain_id: u64,
    vault: Address,
    /// The deployer's connection: mines blocks, takes snapshots, reads logs.
    node: DynProvider,
    chain: EvmChain,
}

/// The devnet, the relayer's settings and database, and the chains, as the run uses them.
struct Bench {
    net: atoll_devnet::Devnet,
    settings: Settings,
    store: Store,
    bsc: EvmLane,
    eth: EvmLane,
    solana: Option<SolanaChain>,
    /// Deposits per EVM lane, and into Solana.
    n: usize,
    s: usize,
}

/// The state at the clock's start: snapshots the ceiling reverts to, the first block of
/// the run on each chain, CPU counters.
struct Clock {
    snapshots: [U256; 2],
    from: [u64; 2],
    heads: [u64; 2],
    started_ms: i64,
    cpu: std::time::Duration,
    nodes: [Option<std::time::Duration>; 3],
}

/// What the relayer did under the clock.
struct Relayed {
    lanes: Vec<Lane>,
    cpu_s: f64,
    nodes: [Option<std::time::Duration>; 3],
    /// Blocks mined and empty ones under the clock on BSC and (all chains) Ethereum.
    blocks: [Option<(u64, u64)>; 2],
}

const NODE_NAMES: [&str; 3] = ["anvil-bsc", "anvil-ethereum", "solana-test-validator"];

/// The phases in order, each its own function below: the devnet and the deposits (before the
/// clock), the relayer under the clock, what it did per lane, the proof from the chains (no
/// duplicate, `atoll audit` clean), the sequential baseline, and the node's ceiling.
pub async fn run(args: RelayerBenchArgs) -> anyhow::Result<()> {
    args.check()?;
    let tmp = tempfile::tempdir()?;
    let bench = Bench::start(&args, tmp.path()).await?;
    let sol_user = bench.deposit_and_approve(&args).await?;
    let sol_before = match (&bench.solana, &sol_user) {
        (Some(c), Some((_, account))) => Some(solana_usdc(c, account).await?),
        _ => None,
    };
    let clock = bench.start_clock().await?;
    crate::out!("  the clock starts now");
    let relayed = bench.relay(&args, &clock).await?;
    let largest_batch = bench.report_lanes(&relayed.lanes, clock.started_ms).await?;
    let batch_on = |dest: &str| {
        largest_batch
            .get(dest)
            .copied()
            .filter(|&b| b > 0)
            .unwrap_or(args.batch as usize)
    };
    let bsc_batch = batch_on("bsc");
    if bsc_batch < args.batch as usize && bench.n > bsc_batch {
        crate::out!(
            "  --batch {} asked, but the largest transaction the relayer sent carried {bsc_batch} releases (a transaction's gas is capped at {BATCH_MAX_GAS}); the ceiling below sends batches of that size",
            args.batch
        );
    }
    let total: usize = relayed.lanes.iter().map(|l| l.count).sum();
    crate::out!(
        "  batched ({bsc_batch} per tx, {} in flight); relayer CPU: {:.1} µs per release ({:.2} s CPU in this process for {total}; the nodes' is apart)",
        args.in_flight,
        relayed.cpu_s * 1e6 / total as f64,
        relayed.cpu_s
    );
    let nodes_cpu_s = report_nodes_cpu(&clock, &relayed)?;
    bench
        .check_paid_once(&clock, &relayed, sol_user.as_ref(), sol_before)
        .await?;
    bench.audit().await?;
    let seq_rate = bench.baseline(&args).await?;
    let ceilings = bench
        .ceilings(&clock, batch_on("bsc"), batch_on("ethereum"))
        .await?;
    bench.report_ceilings(&relayed, &ceilings, nodes_cpu_s)?;
    let bsc_lane = relayed.lanes.first().context("bsc lane")?;
    crate::out!(
        "  batched vs sequential on bsc: {:.1}x",
        bsc_lane.rate() / seq_rate
    );
    Ok(())
}

/// Every node's CPU under the clock, printed per lane; their sum in seconds (`None` where
/// /proc is missing: not Linux). The nodes share this machine's cores with the relayer.
fn report_nodes_cpu(clock: &Clock, relayed: &Relayed) -> anyhow::Result<Option<f64>> {
    let nodes_cpu: Vec<(&str, f64)> = NODE_NAMES
        .iter()
        .zip(clock.nodes.iter().zip(&relayed.nodes))
        .filter_map(|(name, (before, after))| {
            Some((
                *name,
                after.as_ref()?.saturating_sub((*before)?).as_secs_f64(),
            ))
        })
        .collect();
    for &(name, cpu) in &nodes_cpu {
        let dest = name
            .trim_start_matches("anvil-")
            .trim_end_matches("-test-validator");
        let Some(lane) = relayed.lanes.iter().find(|l| l.dest == dest) else {
            continue;
        };
        crate::out!(
            "  node {name}: {cpu:.2} s CPU under the clock = {:.1} µs per release bound for it ({:.0}% of one core)",
            cpu * 1e6 / lane.count as f64,
            100.0 * cpu / lane.seconds
        );
    }
    let known = relayed.cpu_s > 0.0 && !nodes_cpu.is_empty();
    Ok(known.then(|| nodes_cpu.iter().map(|(_, cpu)| cpu).sum()))
}

impl Bench {
    /// The devnet (two anvils, and the validator with `--all-chains`), the relayer's settings
    /// for the run, and a fresh database.
    async fn start(args: &RelayerBenchArgs, dir: &std::path::Path) -> anyhow::Result<Bench> {
        crate::out!(
            "atoll-bench relayer: starting a devnet (two anvils{}, block gas limit {})",
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
                dir: dir.to_path_buf(),
                ports: atoll_devnet::network::PortChoice::Free,
                solana: args.all_chains,
                block_gas_limit: args.block_gas_limit,
                validator_niceness: args.validator_nice,
            },
            &tools,
        )
        .await?;
        let text = std::fs::read_to_string(&net.state.config_path)?;
        let mut settings = Settings::parse(&text, std::env::vars(), dir)
            .map_err(|e| anyhow::anyhow!("devnet config: {e}"))?;
        settings.relayer.batch_max_releases = args.batch;
        settings.relayer.max_in_flight = args.in_flight;
        settings.relayer.batch_max_gas = BATCH_MAX_GAS;
        // Every deposit is worth $2: the tiers let them through on confirmations.
        let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
        let store = Store::connect(&url).await?;
        store.migrate_up().await?;
        store.register_settings(&settings).await?;
        let lane = |name: &'static str| -> anyhow::Result<EvmLane> {
            let c = net
                .state
                .evm_chain(name)
                .with_context(|| format!("no {name}"))?;
            Ok(EvmLane {
                name,
                chain_id: c.chain_id,
                vault: c.bridge_vault,
                node: provider(&c.rpc_url, Role::Deployer)?.0,
                chain: EvmChain::new(
                    settings.chain(name).with_context(|| format!("no {name}"))?,
                    RetryPolicy::default(),
                )?,
            })
        };
        let (bsc, eth) = (lane("bsc")?, lane("ethereum")?);
        let solana = if args.all_chains {
            let c = settings
                .chain("solana")
                .context("no solana in the devnet")?;
            Some(SolanaChain::new(c, RetryPolicy::default())?)
        } else {
            None
        };
        Ok(Bench {
            net,
            settings,
            store,
            bsc,
            eth,
            solana,
            n: args.deposits as usize,
            s: if args.all_chains {
                args.solana_deposits as usize
            } else {
                0
            },
        })
    }

    /// Deposits, indexed and through the finality gate, before the clock. The Solana user
    /// (owner, USDC account) with `--all-chains`.
    async fn deposit_and_approve(
        &self,
        args: &RelayerBenchArgs,
    ) -> anyhow::Result<Option<(Pubkey, String)>> {
        let t = std::time::Instant::now();
        let fresh = |offset| Payee::FreshEvm { offset };
        make_deposits(
            &self.net,
            "ethereum",
            self.bsc.chain_id,
            args.deposits,
            fresh(0),
        )
        .await?;
        let sol_user = match &self.net.state.solana {
            Some(d) => {
                let owner: Pubkey = d.user.parse().context("the devnet's solana user")?;
                let usdc = d.token("USDC").context("no USDC on the devnet's solana")?;
                Some((owner, usdc.user_account.clone()))
            }
            None => None,
        };
        if args.all_chains {
            make_deposits(
                &self.net,
                "bsc",
                self.eth.chain_id,
                args.deposits,
                fresh(500_000),
            )
            .await?;
            let (owner, _) = sol_user.clone().context("no solana user")?;
            let solana_id = self.solana_id()?;
            let payee = Payee::Solana(owner.to_bytes());
            make_deposits(
                &self.net,
                "ethereum",
                solana_id,
                args.solana_deposits,
                payee,
            )
            .await?;
        }
        let made = t.elapsed().as_secs_f64();
        let all = if args.all_chains {
            2 * self.n + self.s
        } else {
            self.n
        };
        crate::out!("  {all} deposits made in {made:.1} s");
        let mut sources = vec!["ethereum"];
        if args.all_chains {
            sources.push("bsc");
        }
        for source in sources {
            let (index_s, gate_s) =
                approve_all(&self.settings, &self.store, &self.net, source).await?;
            crate::out!(
                "  {source}: indexed in {index_s:.1} s, through the finality gate in {gate_s:.1} s"
            );
        }
        Ok(sol_user)
    }

    fn solana_id(&self) -> anyhow::Result<u64> {
        Ok(self
            .settings
            .chain("solana")
            .context("no solana")?
            .chain_id
            .0)
    }

    /// The ceiling runs later on this very state (reverted to it), so both see the same
    /// storage size: anvil's cost per block grows with its state.
    async fn start_clock(&self) -> anyhow::Result<Clock> {
        let (bsc, eth) = (&self.bsc.node, &self.eth.node);
        let snapshots = [
            bsc.raw_request("evm_snapshot".into(), ()).await?,
            eth.raw_request("evm_snapshot".into(), ()).await?,
        ];
        let heads = [bsc.get_block_number().await?, eth.get_block_number().await?];
        Ok(Clock {
            snapshots,
            from: [heads[0] + 1, heads[1] + 1],
            heads,
            started_ms: i64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_millis(),
            )?,
            cpu: process_cpu().unwrap_or_default(),
            nodes: self.nodes_cpu(),
        })
    }

    fn nodes_cpu(&self) -> [Option<std::time::Duration>; 3] {
        NODE_NAMES.map(|name| node_pid(&self.net.dir, name).and_then(|pid| cpu_of(Some(pid))))
    }

    /// Steps the executor of one EVM destination until its `n` releases are confirmed.
    async fn release_lane(&self, l: &EvmLane) -> anyhow::Result<Lane> {
        let (seconds, nudges) = release_all(
            &self.settings,
            &self.store,
            &l.chain,
            l.name,
            &l.node,
            self.n,
            false,
        )
        .await?;
        Ok(Lane {
            dest: l.name,
            count: self.n,
            seconds,
            nudges,
        })
    }

    /// The relayer, every destination at once, each executor on its own task.
    async fn relay(&self, args: &RelayerBenchArgs, clock: &Clock) -> anyhow::Result<Relayed> {
        let to_bsc = self.release_lane(&self.bsc);
        let to_eth = async {
            if !args.all_chains {
                return anyhow::Ok(None);
            }
            Ok(Some(self.release_lane(&self.eth).await?))
        };
        let to_solana = async {
            let Some(chain) = &self.solana else {
                return anyhow::Ok(None);
            };
            let seconds = release_all_solana(&self.settings, &self.store, chain, self.s).await?;
            Ok(Some(Lane {
                dest: "solana",
                count: self.s,
                seconds,
                nudges: 0,
            }))
        };
        let (to_bsc, to_eth, to_solana) = tokio::join!(to_bsc, to_eth, to_solana);
        let cpu_s = process_cpu()
            .unwrap_or_default()
            .saturating_sub(clock.cpu)
            .as_secs_f64();
        let nodes = self.nodes_cpu();
        // Read before the baseline and the ceiling mine more.
        let bsc_blocks = blocks_since(&self.bsc.node, clock.heads[0]).await?;
        let eth_blocks = if args.all_chains {
            Some(blocks_since(&self.eth.node, clock.heads[1]).await?)
        } else {
            None
        };
        Ok(Relayed {
            lanes: [Some(to_bsc?), to_eth?, to_solana?]
                .into_iter()
                .flatten()
                .collect(),
            cpu_s,
            nodes,
            blocks: [Some(bsc_blocks), eth_blocks],
        })
    }

    /// Per lane: releases per second, transactions, and `source_final` → `confirmed`
    /// latencies from the store. Returns the most releases one transaction carried, per EVM
    /// destination: `--batch` may ask for more than the per-transaction gas cap lets through,
    /// and the ceiling must send the same transactions the relayer sent.
    async fn report_lanes(
        &self,
        lanes: &[Lane],
        clock_ms: i64,
    ) -> anyhow::Result<HashMap<&'static str, usize>> {
        let store = &self.store;
        let started: HashMap<TransferId, i64> = store
            .reached(TransferStatus::SourceFinal)
            .await?
            .into_iter()
            .collect();
        let dest_of: HashMap<TransferId, u64> = store
            .transfers(None, None, u64::MAX)
            .await?
            .into_iter()
            .map(|t| (t.id, t.dest_chain_id))
            .collect();
        let confirmed_at = store.reached(TransferStatus::Confirmed).await?;
        let mut largest_batch = HashMap::new();
        for lane in lanes {
            let chain = self.settings.chain(lane.dest).context("lane chain")?;
            let chain_id = chain.chain_id.0;
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
                        chain.chain_id.0,
                        atoll_store::release_txs::ReleaseTxStatus::Final,
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
        Ok(largest_batch)
    }

    /// Zero duplicates, from the chains: every `TransferReleased` id once; on Solana the
    /// user's balance grew by exactly what the store says was released (a second payout would
    /// show).
    async fn check_paid_once(
        &self,
        clock: &Clock,
        relayed: &Relayed,
        sol_user: Option<&(Pubkey, String)>,
        sol_before: Option<u64>,
    ) -> anyhow::Result<()> {
        let n = self.n;
        let mut checked = Vec::new();
        let mut evm_lanes = vec![(&self.bsc, clock.from[0], relayed.blocks[0])];
        if self.solana.is_some() || relayed.blocks[1].is_some() {
            evm_lanes.push((&self.eth, clock.from[1], relayed.blocks[1]));
        }
        for (lane, from, mined) in evm_lanes {
            let dest = lane.name;
            let Released {
                logs,
                distinct,
                blocks,
            } = released_on_chain(&lane.node, lane.vault, from).await?;
            anyhow::ensure!(
                logs == distinct && logs == n,
                "{dest}: {logs} releases logged, {distinct} distinct, {n} expected"
            );
            crate::out!(
                "  → {dest}: {blocks} blocks with releases, {:.0} releases per block",
                n as f64 / blocks.max(1) as f64
            );
            if let Some((mined, empty)) = mined {
                let nudges = relayed
                    .lanes
                    .iter()
                    .find(|l| l.dest == dest)
                    .map_or(0, |l| l.nudges);
                // Every block costs anvil a state root over the whole state, empty or not.
                // Automine mines one block per wake-up of its miner while a block is being
                // built, each with the same ready set: the first holds it, the rest come out
                // empty.
                crate::out!(
                    "  → {dest}: {mined} blocks mined under the clock, {empty} of them empty; {nudges} asked for by the bench on idle steps"
                );
            }
            checked.push(format!("{dest} {logs}"));
        }
        let mut checked = checked.join(", ");
        if let (Some(chain), Some((_, account)), Some(before)) =
            (&self.solana, sol_user, sol_before)
        {
            let after = solana_usdc(chain, account).await?;
            let solana_id = self.solana_id()?;
            let owed: u64 = self
                .store
                .transfers(Some(TransferStatus::Confirmed), None, u64::MAX)
                .await?
                .iter()
                .filter(|t| t.dest_chain_id == solana_id)
                .map(|t| t.amount_out.and_then(|a| u64::try_from(a).ok()))
                .sum::<Option<u64>>()
                .context("an amount out on solana is missing or above a u64")?;
            anyhow::ensure!(
                after - before == owed,
                "solana: the user's USDC grew by {} raw units, the store released {owed}",
                after - before
            );
            checked.push_str(&format!(
                ", solana {} (balance +{owed} raw units, as released)",
                self.s
            ));
        }
        crate::out!("  duplicates: 0 (TransferReleased logs, all distinct: {checked})");
        Ok(())
    }

    /// The operator's proof over the same traffic, and what it costs to run.
    async fn audit(&self) -> anyhow::Result<()> {
        let audit = atoll_relayer::audit::run(&self.settings, &self.store).await?;
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
        Ok(())
    }

    /// Sequential baseline on BSC: one release per transaction, each confirmed before the
    /// next. Its rate.
    async fn baseline(&self, args: &RelayerBenchArgs) -> anyhow::Result<f64> {
        let payee = Payee::FreshEvm { offset: 1_000_000 };
        make_deposits(
            &self.net,
            "ethereum",
            self.bsc.chain_id,
            args.baseline,
            payee,
        )
        .await?;
        approve_all(&self.settings, &self.store, &self.net, "ethereum").await?;
        let mut sequential = self.settings.clone();
        sequential.relayer.batch_max_releases = 1;
        sequential.relayer.max_in_flight = 1;
        let m = args.baseline as usize;
        let bsc = &self.bsc;
        let (seq_s, _) = release_all(
            &sequential,
            &self.store,
            &bsc.chain,
            bsc.name,
            &bsc.node,
            m,
            true,
        )
        .await?;
        let seq_rate = m as f64 / seq_s;
        crate::out!(
            "  sequential baseline on bsc: {m} releases in {seq_s:.2} s = {seq_rate:.0} releases/s"
        );
        Ok(seq_rate)
    }

    /// The node's ceiling on each EVM destination, on the state the relayer started from,
    /// all at once as the relayer ran.
    async fn ceilings(
        &self,
        clock: &Clock,
        bsc_batch: usize,
        eth_batch: usize,
    ) -> anyhow::Result<Vec<(&'static str, Ceiling)>> {
        let nodes = [&self.bsc.node, &self.eth.node];
        for (node, snapshot) in nodes.into_iter().zip(clock.snapshots) {
            let reverted: bool = node.raw_request("evm_revert".into(), (snapshot,)).await?;
            anyhow::ensure!(reverted, "anvil did not revert to the snapshot");
        }
        let all_chains = self.solana.is_some();
        let (net, settings, n) = (&self.net, &self.settings, self.n);
        let (bsc_ceiling, eth_ceiling) =
            tokio::join!(ceiling(settings, net, "bsc", n, bsc_batch), async {
                if all_chains {
                    ceiling(settings, net, "ethereum", n, eth_batch)
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
        Ok(ceilings)
    }

    /// Each ceiling beside the relayer's rate, and (one lane) the CPU bound of this machine.
    fn report_ceilings(
        &self,
        relayed: &Relayed,
        ceilings: &[(&'static str, Ceiling)],
        nodes_cpu_s: Option<f64>,
    ) -> anyhow::Result<()> {
        let n = self.n;
        for &(dest, ceiling) in ceilings {
            let Ceiling {
                simulation_s,
                seconds,
            } = ceiling;
            let rate = n as f64 / seconds;
            let lane = relayed
                .lanes
                .iter()
                .find(|l| l.dest == dest)
                .context("lane")?;
            crate::out!(
                "  node ceiling on {dest} (same batches pre-signed, sent straight to anvil, on the state the relayer started from): {n} releases in {seconds:.2} s = {rate:.0} releases/s; the relayer reached {:.0}% of it",
                100.0 * lane.rate() / rate
            );
            // A relayer that simulates every batch before it signs makes the node do both.
            // On a node that runs them one after the other, this is the most it can reach at
            // no cost of its own.
            let simulated_rate = n as f64 / (simulation_s + seconds);
            crate::out!(
                "  node ceiling on {dest} with each batch simulated first (simulation + mining, {:.2} s): {simulated_rate:.0} releases/s; the relayer reached {:.0}% of it",
                simulation_s + seconds,
                100.0 * lane.rate() / simulated_rate
            );
        }
        if let ([lane], [(_, ceiling)], Some(nodes_cpu_s)) =
            (relayed.lanes.as_slice(), ceilings, nodes_cpu_s)
        {
            print_cpu_budget(lane, n as f64 / ceiling.seconds, relayed.cpu_s, nodes_cpu_s)?;
        }
        Ok(())
    }
}
