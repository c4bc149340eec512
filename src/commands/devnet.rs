//! `atoll devnet up|down|status|traffic`.

use std::path::PathBuf;

use anyhow::Context;
use atoll_devnet::network::{self, DEFAULT_BASE_PORT};
use atoll_devnet::process::StopOutcome;
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_devnet::{Devnet, DevnetState, PortChoice, UpOptions, tools};
use clap::{Args, Subcommand};

#[derive(Args)]
pub struct DirArg {
    /// The devnet's folder (state, logs, keys, devnet.toml); default $ATOLL_HOME/devnet.
    #[arg(long)]
    dir: Option<PathBuf>,
}

impl DirArg {
    fn resolve(&self) -> anyhow::Result<PathBuf> {
        match &self.dir {
            Some(d) => Ok(d.clone()),
            None => Ok(tools::atoll_home()?.join("devnet")),
        }
    }
}

#[derive(Subcommand)]
pub enum DevnetCommand {
    /// Start the chains, deploy and seed everything, write devnet.toml, and leave them running.
    Up {
        #[command(flatten)]
        dir: DirArg,
        /// Ethereum on PORT, BSC on PORT+1, Solana RPC on PORT+354.
        #[arg(long, default_value_t = DEFAULT_BASE_PORT)]
        base_port: u16,
        /// Only the two EVM chains.
        #[arg(long)]
        no_solana: bool,
    },
    /// Stop exactly the processes `up` started.
    Down {
        #[command(flatten)]
        dir: DirArg,
    },
    /// What runs where.
    Status {
        #[command(flatten)]
        dir: DirArg,
    },
    /// Deterministic swaps on the EVM pools and bridge deposits in every direction.
    Traffic {
        #[command(flatten)]
        dir: DirArg,
        #[arg(long, default_value_t = 100)]
        swaps: u32,
        #[arg(long, default_value_t = 12)]
        deposits: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Load mode: make the swaps on the V2 pairs, this many to a transaction (no deposits).
        #[arg(long, value_name = "SWAPS_PER_TX")]
        burst: Option<u32>,
        /// Print every swap and deposit as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: DevnetCommand) -> anyhow::Result<()> {
    match cmd {
        DevnetCommand::Up {
            dir,
            base_port,
            no_solana,
        } => up(&dir, base_port, no_solana).await,
        DevnetCommand::Down { dir } => down(&dir),
        DevnetCommand::Status { dir } => status(&dir),
        DevnetCommand::Traffic {
            dir,
            swaps,
            deposits,
            seed,
            burst,
            json,
        } => {
            let dir = dir.resolve()?;
            let state = DevnetState::load(&dir)?;
            match burst {
                Some(per_tx) => traffic_burst(&state, swaps, per_tx, seed, json).await,
                None => {
                    let options = TrafficOptions {
                        swaps,
                        deposits,
                        seed,
                    };
                    traffic_mix(&state, options, json).await
                }
            }
        }
    }
}

/// `devnet up`: starts the devnet on fixed ports and leaves it running.
async fn up(dir: &DirArg, base_port: u16, no_solana: bool) -> anyhow::Result<()> {
    let dir = dir.resolve()?;
    let tools = tools::Tools::locate(!no_solana)?;
    eprintln!("starting devnet in {} …", dir.display());
    let opts = UpOptions {
        dir: dir.clone(),
        ports: PortChoice::Fixed { base: base_port },
        solana: !no_solana,
        block_gas_limit: None,
        validator_niceness: None,
    };
    let devnet = Devnet::up(&opts, &tools).await?;
    devnet_detached_summary(devnet)?;
    Ok(())
}

/// `devnet down`: stops the recorded processes and says how each went.
fn down(dir: &DirArg) -> anyhow::Result<()> {
    let dir = dir.resolve()?;
    let stopped = network::down(&dir);
    if stopped.is_empty() {
        crate::out!("no devnet processes recorded in {}", dir.display());
    }
    for (p, outcome) in stopped {
        let what = match outcome {
            StopOutcome::Stopped => "stopped",
            StopOutcome::Killed => "killed (did not stop on SIGTERM)",
            StopOutcome::NotRunning => "was not running",
        };
        crate::out!("{:<22} pid {:<8} {what}", p.name, p.pid);
    }
    Ok(())
}

/// `devnet status`: each recorded node, whether it runs, and its RPC URL.
fn status(dir: &DirArg) -> anyhow::Result<()> {
    let dir = dir.resolve()?;
    let nodes = network::status(&dir);
    if nodes.is_empty() {
        crate::out!("no devnet in {}", dir.display());
    }
    for n in nodes {
        let state = if n.running { "running" } else { "stopped" };
        crate::out!(
            "{:<22} pid {:<8} {state:<8} {}",
            n.process.name,
            n.process.pid,
            n.rpc_url.unwrap_or_default()
        );
    }
    if let Ok(state) = DevnetState::load(&dir) {
        crate::out!("config: {}", state.config_path.display());
    }
    Ok(())
}

/// `devnet traffic --burst`: the swaps on the V2 pairs, `per_tx` to a transaction, and
/// their rate.
async fn traffic_burst(
    state: &DevnetState,
    swaps: u32,
    per_tx: u32,
    seed: u64,
    json: bool,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let records = traffic::burst(state, swaps, per_tx, seed)
        .await
        .context("devnet traffic --burst")?;
    let elapsed = started.elapsed().as_secs_f64();
    if json {
        crate::out!("{}", serde_json::to_string_pretty(&records)?);
    } else {
        for r in &records {
            crate::out!(
                "  {:>8} swaps in {:>5} txs  {} {}",
                r.swaps,
                r.txs,
                r.chain,
                r.pool
            );
        }
        crate::out!(
            "{swaps} swaps in {elapsed:.1}s ({:.0} swaps/s, {per_tx} per transaction)",
            f64::from(swaps) / elapsed.max(1e-9)
        );
    }
    Ok(())
}

/// `devnet traffic`: deterministic swaps and bridge deposits, counted per pool and listed.
async fn traffic_mix(
    state: &DevnetState,
    options: TrafficOptions,
    json: bool,
) -> anyhow::Result<()> {
    let seed = options.seed;
    let report = traffic::run(state, options)
        .await
        .context("devnet traffic")?;
    if json {
        crate::out!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let mut per_pool = std::collections::BTreeMap::<String, usize>::new();
    for s in &report.swaps {
        *per_pool
            .entry(format!("{} {} {}", s.chain, s.protocol, s.pool))
            .or_default() += 1;
    }
    crate::out!("{} swaps (seed {seed}):", report.swaps.len());
    for (pool, n) in per_pool {
        crate::out!("  {n:>5}  {pool}");
    }
    crate::out!("{} deposits:", report.deposits.len());
    for d in &report.deposits {
        crate::out!(
            "  {:>8} → {:<8} {} {} to {} (tx {})",
            d.from,
            d.to,
            atoll_core::Amount::new(atoll_core::U256::from(d.amount), d.decimals),
            d.token,
            d.recipient,
            d.tx
        );
    }
    Ok(())
}

/// Leaves the nodes running, then prints where everything is.
fn devnet_detached_summary(devnet: Devnet) -> Result<(), crate::StdoutClosed> {
    let state = devnet.state.clone();
    devnet.detach();
    print_summary(&state)
}

fn print_summary(state: &DevnetState) -> Result<(), crate::StdoutClosed> {
    for c in &state.evm {
        crate::out!("{} (chain {}): {}", c.name, c.chain_id, c.rpc_url);
        crate::out!(
            "  BridgeVault {}  UniswapV2Factory {} ({} pairs)  UniswapV3Factory {} ({} pools)",
            c.bridge_vault,
            c.v2_factory,
            c.v2_pairs.len(),
            c.v3_factory,
            c.v3_pools.len()
        );
    }
    if let Some(s) = &state.solana {
        crate::out!("solana: {}", s.rpc_url);
        for p in &s.pools {
            crate::out!("  {} {}", p.protocol, p.address);
        }
    }
    crate::out!("config: {}", state.config_path.display());
    crate::out!("next: atoll devnet traffic; atoll devnet status; atoll devnet down");
    Ok(())
}
