//! Starting and stopping a whole devnet: ports, node processes, readiness, deployments, and the
//! state (`state.json`) and config (`devnet.toml`) it leaves in its folder.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use crate::evm;
use crate::process::{self, NodeProcess, StopOutcome};
use crate::solana::{self, ValidatorPorts};
use crate::state::DevnetState;
use crate::tools::Tools;
use crate::{DevnetError, ports};

/// Where the CLI puts its nodes by default; `--base-port` moves all three.
pub const DEFAULT_BASE_PORT: u16 = 8545;
/// Offsets from the base port: Ethereum 8545, BSC 8546, Solana 8899.
const BSC_OFFSET: u16 = 1;
const SOLANA_OFFSET: u16 = 354;
const SOLANA_DYNAMIC_PORTS: u16 = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortChoice {
    /// Ethereum on `base`, BSC on `base + 1`, Solana RPC on `base + 354` (CLI default 8545).
    Fixed { base: u16 },
    /// Free ports picked at start (tests).
    Free,
}

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub dir: PathBuf,
    pub ports: PortChoice,
    pub solana: bool,
    /// Block gas limit of both anvils; `None` keeps anvil's default (30,000,000).
    pub block_gas_limit: Option<u64>,
    /// Runs solana-test-validator at this nice value (1 to 19, through coreutils' `nice`);
    /// `None` runs it at the caller's priority. Agave's banking-stage scheduler thread polls
    /// the clock in a busy loop and takes a whole core even on an idle devnet: on a machine
    /// with few cores a benchmark gives the nodes it measures the first claim on the CPU.
    pub validator_niceness: Option<u8>,
}

/// A devnet started by this process. Dropping it stops its nodes unless it was `detach`ed (the
/// CLI's `up`, which leaves them running for `down`).
pub struct Devnet {
    pub dir: PathBuf,
    pub state: DevnetState,
    children: Vec<Child>,
    detached: bool,
}

struct Ports {
    ethereum: u16,
    bsc: u16,
    solana: Option<ValidatorPorts>,
}

fn choose_ports(choice: PortChoice, solana: bool) -> Result<Ports, DevnetError> {
    match choice {
        PortChoice::Fixed { base } => {
            let ethereum = base;
            let bsc = base
                .checked_add(BSC_OFFSET)
                .ok_or(DevnetError::NoFreePorts { len: 1 })?;
            ports::ensure_free(ethereum, "ethereum anvil RPC")?;
            ports::ensure_free(bsc, "bsc anvil RPC")?;
            let solana = if solana {
                let rpc = base
                    .checked_add(SOLANA_OFFSET)
                    .ok_or(DevnetError::NoFreePorts { len: 2 })?;
                ports::ensure_free(rpc, "solana-test-validator RPC")?;
                ports::ensure_free(rpc.saturating_add(1), "solana-test-validator WebSocket")?;
                let extra = ports::free_range(SOLANA_DYNAMIC_PORTS + 2)?;
                Some(ValidatorPorts {
                    rpc,
                    faucet: extra,
                    gossip: extra + 1,
                    dynamic_start: extra + 2,
                    dynamic_len: SOLANA_DYNAMIC_PORTS,
                })
            } else {
                None
            };
            Ok(Ports {
                ethereum,
                bsc,
                solana,
            })
        }
        PortChoice::Free => {
            // One contiguous free block, so our own choices cannot collide with each other.
            let base = ports::free_range(6 + SOLANA_DYNAMIC_PORTS)?;
            let solana = solana.then_some(ValidatorPorts {
                rpc: base + 2,
                faucet: base + 4,
                gossip: base + 5,
                dynamic_start: base + 6,
                dynamic_len: SOLANA_DYNAMIC_PORTS,
            });
            Ok(Ports {
                ethereum: base,
                bsc: base + 1,
                solana,
            })
        }
    }
}

/// The validator's niceness, when given, must be 1 to 19.
fn check_niceness(niceness: Option<u8>) -> Result<(), DevnetError> {
    if let Some(n) = niceness
        && !(1..=19).contains(&n)
    {
        return Err(DevnetError::Config(format!(
            "validator niceness {n}: must be 1 to 19"
        )));
    }
    Ok(())
}

/// Makes `dir` this devnet's: refused while nodes it records still run; else the pid files
/// and `state.json` a previous devnet left there are removed.
fn claim_dir(dir: &Path) -> Result<(), DevnetError> {
    std::fs::create_dir_all(dir).map_err(DevnetError::io(dir))?;
    let running: Vec<NodeProcess> = process::recorded(dir)
        .into_iter()
        .filter(process::is_ours_and_alive)
        .collect();
    if !running.is_empty() {
        let names = running
            .iter()
            .map(|p| format!("{} pid {}", p.name, p.pid))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(DevnetError::AlreadyRunning {
            dir: dir.to_path_buf(),
            names,
        });
    }
    let _ = std::fs::remove_dir_all(process::pids_dir(dir));
    let _ = std::fs::remove_file(dir.join("state.json"));
    Ok(())
}

impl Devnet {
    /// Mines a block on every EVM chain each `every` (the devnet's anvils mine only on
    /// demand), so deposits and releases gather confirmations as on a chain with that block
    /// time; abort the handle to stop.
    pub fn mine_every(
        &self,
        every: std::time::Duration,
    ) -> Result<tokio::task::JoinHandle<()>, DevnetError> {
        use alloy::providers::Provider;
        let nodes = self
            .state
            .evm
            .iter()
            .map(|c| crate::evm::provider_for(&c.rpc_url, crate::evm::Role::Deployer))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                for node in &nodes {
                    // A node that misses one block gets the next.
                    let _: Result<serde_json::Value, _> =
                        node.raw_request("anvil_mine".into(), (1u64,)).await;
                }
            }
        }))
    }

    /// Starts anvil ×2 (and solana-test-validator), deploys and seeds everything, and writes
    /// `state.json`, `devnet.toml` and the key files into `opts.dir`.
    pub async fn up(opts: &UpOptions, tools: &Tools) -> Result<Devnet, DevnetError> {
        let dir = &opts.dir;
        check_niceness(opts.validator_niceness)?;
        claim_dir(dir)?;

        let ports = choose_ports(opts.ports, opts.solana)?;
        let mut devnet = Devnet {
            dir: dir.clone(),
            state: DevnetState {
                evm: Vec::new(),
                solana: None,
                solana_ports: ports.solana,
                config_path: dir.join("devnet.toml"),
            },
            children: Vec::new(),
            detached: false,
        };

        let plans = [(evm::ETHEREUM, ports.ethereum), (evm::BSC, ports.bsc)];
        let mut procs = devnet.spawn_anvils(&plans, opts, tools)?;
        let solana_deployment = devnet.spawn_validator(ports.solana, opts, tools, &mut procs)?;
        devnet.deploy_evm(&plans, &procs, tools).await?;
        if let Some(deployment) = solana_deployment {
            devnet.seed_solana(deployment, &procs).await?;
        }
        devnet.write_records()?;
        Ok(devnet)
    }

    /// Starts one anvil per plan (chain, port); each child is this devnet's as soon as it
    /// runs, so a later failure stops it.
    fn spawn_anvils(
        &mut self,
        plans: &[(evm::EvmChainPlan, u16)],
        opts: &UpOptions,
        tools: &Tools,
    ) -> Result<Vec<NodeProcess>, DevnetError> {
        let mut procs = Vec::new();
        // anvil spills old block states to `$HOME/.foundry/anvil/tmp` and leaves them behind
        // when it is killed: tens of GB after a day of test runs. Its home is the devnet's own
        // directory, so they go with it.
        let home = self.dir.join("anvil-home");
        std::fs::create_dir_all(&home).map_err(DevnetError::io(&home))?;
        let home = home.display().to_string();
        let mut envs = evm::ANVIL_ENV.to_vec();
        envs.push(("HOME", home.as_str()));
        for (plan, port) in plans {
            let (p, child) = process::spawn(
                &self.dir,
                &format!("anvil-{}", plan.name),
                &tools.anvil,
                &evm::anvil_args(plan.chain_id, *port, opts.block_gas_limit),
                &envs,
                None,
            )?;
            self.children.push(child);
            procs.push(p);
        }
        Ok(procs)
    }

    /// Writes the Solana accounts and starts solana-test-validator on them when the devnet
    /// has Solana ports; returns what it deploys (recorded once the validator is ready).
    fn spawn_validator(
        &mut self,
        ports: Option<ValidatorPorts>,
        opts: &UpOptions,
        tools: &Tools,
        procs: &mut Vec<NodeProcess>,
    ) -> Result<Option<solana::SolanaDeployment>, DevnetError> {
        let dir = &self.dir;
        match (ports, &tools.solana_test_validator) {
            (Some(vp), Some(validator)) => {
                let rpc_url = format!("http://127.0.0.1:{}", vp.rpc);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let (accounts, deployment) = solana::build_accounts(&rpc_url, now);
                let account_args = solana::write_account_files(dir, &accounts)?;
                let (p, child) = process::spawn(
                    dir,
                    "solana-test-validator",
                    validator,
                    &solana::validator_args(dir, vp, account_args),
                    &[],
                    opts.validator_niceness,
                )?;
                self.children.push(child);
                procs.push(p);
                Ok(Some(deployment))
            }
            (Some(_), None) => Err(DevnetError::ToolMissing {
                tool: "solana-test-validator",
                hint: "run `atoll tools install`".into(),
            }),
            _ => Ok(None),
        }
    }

    /// Waits for both anvils, then deploys and seeds both EVM chains at once.
    async fn deploy_evm(
        &mut self,
        plans: &[(evm::EvmChainPlan, u16); 2],
        procs: &[NodeProcess],
        tools: &Tools,
    ) -> Result<(), DevnetError> {
        for (i, (plan, port)) in plans.iter().enumerate() {
            let url = format!("http://127.0.0.1:{port}");
            let ready = evm::wait_ready(&url, plan.chain_id, Duration::from_secs(30)).await;
            self.check_ready(i, &procs[i], ready, 30)?;
        }
        let (eth_url, bsc_url) = (
            format!("http://127.0.0.1:{}", plans[0].1),
            format!("http://127.0.0.1:{}", plans[1].1),
        );
        let (eth, bsc) = tokio::try_join!(
            evm::deploy_chain(&plans[0].0, &eth_url, &tools.node_modules),
            evm::deploy_chain(&plans[1].0, &bsc_url, &tools.node_modules),
        )?;
        self.state.evm = vec![eth, bsc];
        Ok(())
    }

    /// Waits for the validator (the third node), writes the Solana key files and records the
    /// Solana deployment.
    async fn seed_solana(
        &mut self,
        deployment: solana::SolanaDeployment,
        procs: &[NodeProcess],
    ) -> Result<(), DevnetError> {
        let ready = solana::wait_ready(&deployment.rpc_url, Duration::from_secs(180)).await;
        self.check_ready(2, &procs[2], ready, 180)?;
        for label in ["relayer", "treasury", "user"] {
            solana::write_keypair(
                &self.dir.join("keys").join(format!("solana-{label}.json")),
                &solana::devnet_keypair(label),
            )?;
        }
        self.state.solana = Some(deployment);
        Ok(())
    }

    /// Writes the EVM key files, `devnet.toml` and `state.json`.
    fn write_records(&self) -> Result<(), DevnetError> {
        let dir = &self.dir;
        for role in [evm::Role::Relayer, evm::Role::Treasury] {
            crate::write_secret(
                &dir.join("keys").join(format!("evm-{}.key", role.as_str())),
                role.anvil_key(),
            )?;
        }
        crate::config::write_devnet_toml(&self.state)?;
        let state_path = dir.join("state.json");
        let text = serde_json::to_string_pretty(&self.state)
            .map_err(|e| DevnetError::Config(e.to_string()))?;
        std::fs::write(&state_path, text).map_err(DevnetError::io(&state_path))?;
        Ok(())
    }

    fn check_ready(
        &mut self,
        index: usize,
        proc: &NodeProcess,
        ready: Result<(), String>,
        seconds: u64,
    ) -> Result<(), DevnetError> {
        // Our node exited, yet its port answered: another node holds the port.
        let ready = match (ready, self.children.get_mut(index).map(Child::try_wait)) {
            (Ok(()), Some(Ok(Some(status)))) => {
                Err(format!("exited ({status}) while its port answered"))
            }
            (r, _) => r,
        };
        let Err(reason) = ready else { return Ok(()) };
        if let Some(child) = self.children.get_mut(index)
            && let Ok(Some(status)) = child.try_wait()
        {
            let validator_log = self.dir.join("solana-ledger").join("validator.log");
            let log = if validator_log.is_file() && proc.name.starts_with("solana") {
                validator_log
            } else {
                proc.log.clone()
            };
            return Err(DevnetError::ProcessExited {
                name: proc.name.clone(),
                status: status.to_string(),
                tail: process::log_tail(&log, 15),
                log,
            });
        }
        tracing::warn!(node = %proc.name, %reason, "node not ready");
        Err(DevnetError::NotReady {
            name: proc.name.clone(),
            seconds,
            log: proc.log.clone(),
        })
    }

    /// A devnet in `dir` on free ports, with the installed tools: what every integration test
    /// starts. Only EVM chains unless `solana`.
    ///
    /// A port is checked free, then bound by the node a moment later; another process on this
    /// machine (a second test run) can take it in between, and the node then exits at once.
    /// That one failure starts the devnet again on other ports, at most three times in all.
    pub async fn up_on_free_ports(dir: &Path, solana: bool) -> Result<Devnet, DevnetError> {
        let tools = Tools::locate(solana)?;
        let opts = UpOptions {
            dir: dir.to_path_buf(),
            ports: PortChoice::Free,
            solana,
            block_gas_limit: None,
            validator_niceness: None,
        };
        let mut tries = 1;
        loop {
            match Devnet::up(&opts, &tools).await {
                Err(DevnetError::ProcessExited { name, tail, .. })
                    if tries < 3 && tail.contains("in use") =>
                {
                    tracing::warn!(node = %name, "a port was taken before the node bound it; other ports");
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    /// Leaves the nodes running after this handle is gone (`atoll devnet up`).
    pub fn detach(mut self) {
        self.detached = true;
        self.children.clear();
    }

    /// Stops this devnet's nodes and reaps them.
    pub fn down(mut self) -> Vec<(NodeProcess, StopOutcome)> {
        let stopped = process::stop_all(&self.dir, Duration::from_secs(10));
        for child in &mut self.children {
            let _ = child.wait();
        }
        self.children.clear();
        stopped
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if self.detached || self.children.is_empty() {
            return;
        }
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(process::pids_dir(&self.dir));
    }
}

/// Stops the devnet recorded in `dir` (from any process): exactly the pids `up` wrote.
pub fn down(dir: &Path) -> Vec<(NodeProcess, StopOutcome)> {
    process::stop_all(dir, Duration::from_secs(10))
}

/// One node's status line.
#[derive(Debug, Clone)]
pub struct NodeStatus {
    pub process: NodeProcess,
    pub running: bool,
    pub rpc_url: Option<String>,
}

pub fn status(dir: &Path) -> Vec<NodeStatus> {
    let state = DevnetState::load(dir).ok();
    process::recorded(dir)
        .into_iter()
        .map(|p| {
            let rpc_url = state.as_ref().and_then(|s| {
                if let Some(chain) = p.name.strip_prefix("anvil-") {
                    s.evm_chain(chain).map(|c| c.rpc_url.clone())
                } else {
                    s.solana.as_ref().map(|sol| sol.rpc_url.clone())
                }
            });
            NodeStatus {
                running: process::is_ours_and_alive(&p),
                process: p,
                rpc_url,
            }
        })
        .collect()
}
