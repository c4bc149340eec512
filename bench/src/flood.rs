//! `atoll-bench api --flood`: does a flood on the API slow the relayer? The whole stack of
//! `atoll up` (indexer, relayer, API, in one process) runs on a devnet of two anvils with a
//! block mined every `--block-ms` on each; deposits Ethereum → BSC are made in a burst with
//! releases to BSC paused, and once the finality gate has passed them all releases resume and
//! the clock runs until the last transfer is `confirmed`, twice in the same run: once with the API idle, once while `--clients` clients loop the most expensive queries
//! the API allows. Each client has its own address (it is a trusted proxy's
//! `X-Forwarded-For`), so each has its own rate-limit bucket, as 64 real clients would. The
//! clients stand for other machines: they run on threads at nice 19, so on a small machine
//! they take the CPU the server leaves rather than the relayer's.
//!
//! The flood's mix, one request each in turn:
//! - 2 `quoteAllocation` + 2 `positions` + 2 `relayer` (the per-request caps on router
//!   solves and chain reads, at the limit);
//! - a 500-pool page with every field and a random `minTvlUsd` (no two alike: the answer cache
//!   never helps);
//! - a 500-transfer page (the table the relayer writes);
//! - `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use atoll_core::settings::Settings;
use atoll_store::Store;
use clap::Args;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::BadInput;
use crate::relayer::{Payee, make_deposits};

#[derive(Args, Clone)]
pub struct FloodArgs {
    /// Deposits per phase (one burst, Ethereum → BSC).
    #[arg(long, default_value_t = 1_000)]
    pub deposits: u32,
    /// Clients flooding the API in the second phase.
    #[arg(long, default_value_t = 64)]
    pub clients: u32,
    /// A block is mined on each chain this often (the devnet's anvils mine on demand).
    #[arg(long, default_value_t = 250)]
    pub block_ms: u64,
    /// The flood's requests: each kind in turn, or one kind alone.
    #[arg(long, value_enum, default_value_t = Mix::All)]
    pub mix: Mix,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Mix {
    All,
    /// Router solves and chain reads at their per-request caps.
    Heaviest,
    Pools,
    Transfers,
    Metrics,
}

/// One kind of flood request.
#[derive(Clone, Copy)]
enum Request {
    Metrics,
    Heaviest,
    PoolPage,
    TransferPage,
}

impl Mix {
    fn requests(self) -> &'static [Request] {
        match self {
            Mix::All => &[
                Request::Metrics,
                Request::Heaviest,
                Request::PoolPage,
                Request::TransferPage,
            ],
            Mix::Heaviest => &[Request::Heaviest],
            Mix::Pools => &[Request::PoolPage],
            Mix::Transfers => &[Request::TransferPage],
            Mix::Metrics => &[Request::Metrics],
        }
    }
}

/// The flood clients' nice value: the lowest priority there is.
const CLIENT_NICE: i32 = 19;

/// Requests the flood made, by outcome.
#[derive(Default)]
struct FloodCounts {
    served: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
    latency_us: std::sync::Mutex<Vec<u64>>,
}

struct Phase {
    seconds: f64,
    made_s: f64,
}

/// Runs both phases on one devnet and stack, the API idle and then flooded, and prints the
/// relayer's rate in each, the flood's own figures and whether the goal is met.
pub async fn run(args: FloodArgs) -> anyhow::Result<()> {
    if args.deposits == 0 || args.clients == 0 || args.block_ms == 0 {
        return Err(
            BadInput("--deposits, --clients and --block-ms must be at least 1".into()).into(),
        );
    }
    let tmp = tempfile::tempdir()?;
    let net = start_devnet(tmp.path()).await?;
    let settings = flood_settings(&net, tmp.path())?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        tmp.path().join("bench.db").display()
    );
    let stack = RunningStack::start(&url, settings).await?;
    let base = stack.base.clone();
    // The bench's own connection: pauses and resumes releases, counts transfers.
    let control = Store::connect(&url).await?;
    let miner = net.mine_every(Duration::from_millis(args.block_ms))?;
    let bsc = net.state.evm_chain("bsc").context("no bsc")?.chain_id;

    crate::out!(
        "  stack up on {base}; {} deposits per phase, a block every {} ms; flood mix: {:?}",
        args.deposits,
        args.block_ms,
        args.mix
    );
    let idle = phase(&net, &control, bsc, args.deposits, 0).await?;
    crate::out!(
        "  idle API: {} released and confirmed in {:.2} s (deposits made and through the gate in {:.1} s): {:.0} transfers/s",
        args.deposits,
        idle.seconds,
        idle.made_s,
        f64::from(args.deposits) / idle.seconds
    );

    let counts = Arc::new(FloodCounts::default());
    let (loaded, flood_s) = flooded_phase(&args, &base, &counts, &net, &control, bsc).await?;
    miner.abort();
    stack.stop().await?;

    let ratio = idle.seconds / loaded.seconds;
    crate::out!(
        "  flooded API: {} released and confirmed in {:.2} s (deposits made and through the gate in {:.1} s): {:.0} transfers/s",
        args.deposits,
        loaded.seconds,
        loaded.made_s,
        f64::from(args.deposits) / loaded.seconds
    );
    report_flood(&counts, flood_s, args.clients)?;
    crate::out!(
        "  relayer under flood: {:.0} % of its idle rate (goal >= 90 %): {}",
        ratio * 100.0,
        if ratio >= 0.9 { "met" } else { "NOT met" }
    );
    Ok(())
}

/// A devnet of two anvils in `dir`, with a few swaps so the router has priced pools to
/// solve over.
async fn start_devnet(dir: &std::path::Path) -> anyhow::Result<atoll_devnet::Devnet> {
    crate::out!("atoll-bench api --flood: starting a devnet (two anvils)");
    let tools = atoll_devnet::tools::Tools::locate(false)?;
    let net = atoll_devnet::Devnet::up(
        &atoll_devnet::network::UpOptions {
            dir: dir.to_path_buf(),
            ports: atoll_devnet::network::PortChoice::Free,
            solana: false,
            block_gas_limit: None,
            validator_niceness: None,
        },
        &tools,
    )
    .await?;
    // Swaps, so the router has priced pools to solve over.
    atoll_devnet::traffic::run(
        &net.state,
        atoll_devnet::traffic::TrafficOptions {
            swaps: 40,
            deposits: 0,
            seed: 1,
        },
    )
    .await?;
    Ok(net)
}

/// The devnet's config, with loopback as a trusted proxy (each client's `X-Forwarded-For` is
/// its address) and no operator (the flood is anonymous).
fn flood_settings(net: &atoll_devnet::Devnet, dir: &std::path::Path) -> anyhow::Result<Settings> {
    let text = std::fs::read_to_string(&net.state.config_path)?;
    let mut settings = Settings::parse(&text, std::env::vars(), dir)
        .map_err(|e| anyhow::anyhow!("devnet config: {e}"))?;
    settings.api.trusted_proxies = vec!["127.0.0.1/32".parse()?];
    // No operator here: the flood is anonymous.
    settings.api.operator_tokens.clear();
    Ok(settings)
}

/// `atoll up`'s whole stack, running on its own task until [`RunningStack::stop`].
struct RunningStack {
    /// `http://` and the address it listens on.
    base: String,
    stop_tx: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningStack {
    /// Starts the stack on `url`'s database and a free loopback port, with the API's default
    /// rate limits, and waits until it listens.
    async fn start(url: &str, settings: Settings) -> anyhow::Result<RunningStack> {
        let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let stack = atoll_service::stack::Stack {
            url: url.to_string(),
            listen: "127.0.0.1:0".parse()?,
            api_only: false,
            poll: Duration::from_millis(250),
            options: atoll_graphql::ApiOptions {
                // As `atoll up` runs by default.
                rate_limit_rps: 200,
                rate_limit_burst: 400,
                audit_interval: None,
                ..Default::default()
            },
        };
        let task = tokio::spawn(stack.run(
            settings,
            move |bound| {
                let _ = bound_tx.send(bound);
                Ok(())
            },
            async move {
                let _ = stop_rx.await;
            },
        ));
        let Ok(bound) = bound_rx.await else {
            // It stopped before listening: its own error says why.
            task.await.context("the stack")??;
            anyhow::bail!("the stack stopped before listening");
        };
        Ok(RunningStack {
            base: format!("http://{bound}"),
            stop_tx,
            task,
        })
    }

    /// Stops the stack and waits for it; its error, if it failed.
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop_tx.send(());
        self.task.await.context("the stack")??;
        Ok(())
    }
}

/// The second phase: `--clients` clients flood the API from low-priority threads while the
/// deposits are made and released. Returns the phase and how long the flood lasted (s).
async fn flooded_phase(
    args: &FloodArgs,
    base: &str,
    counts: &Arc<FloodCounts>,
    net: &atoll_devnet::Devnet,
    control: &Store,
    bsc: u64,
) -> anyhow::Result<(Phase, f64)> {
    let flooding = Arc::new(AtomicBool::new(true));
    // The clients stand for machines elsewhere: on this one they run on threads at the lowest
    // priority, so the CPU they take is what the server's threads leave.
    let client_threads = atoll_service::priority::LoweredRuntime::new("flood-client", CLIENT_NICE)
        .context("flood threads")?;
    let on = client_threads.handle().context("flood threads")?.clone();
    let clients: Vec<_> = (0..args.clients)
        .map(|c| {
            on.spawn(flood_client(
                base.to_string(),
                c,
                args.mix.requests(),
                counts.clone(),
                flooding.clone(),
            ))
        })
        .collect();
    let flood_started = Instant::now();
    let loaded = phase(net, control, bsc, args.deposits, u64::from(args.deposits)).await?;
    flooding.store(false, Ordering::SeqCst);
    let flood_s = flood_started.elapsed().as_secs_f64();
    for c in clients {
        let _ = c.await;
    }
    Ok((loaded, flood_s))
}

/// Makes `n` deposits to `dest` with releases to it paused, waits until the finality gate has
/// passed them all, then resumes releases and times them until all are confirmed: the clock
/// sees the relayer's work only (not the bench making deposits, which shares the CPU too).
async fn phase(
    net: &atoll_devnet::Devnet,
    control: &Store,
    dest: u64,
    n: u32,
    offset: u64,
) -> anyhow::Result<Phase> {
    let before = counted(control, "confirmed").await?;
    control
        .set_paused(dest, true, Some("bench: deposits being made"))
        .await?;
    let t = Instant::now();
    make_deposits(
        net,
        "ethereum",
        dest,
        n,
        Payee::FreshEvm {
            offset: 3_000_000 + offset,
        },
    )
    .await?;
    wait_for(control, "source_final", u64::from(n), t).await?;
    let made_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    control.set_paused(dest, false, None).await?;
    wait_for(control, "confirmed", before + u64::from(n), t).await?;
    Ok(Phase {
        seconds: t.elapsed().as_secs_f64(),
        made_s,
    })
}

/// Waits until `at_least` transfers have `status` (15 minutes at most).
async fn wait_for(
    store: &Store,
    status: &str,
    at_least: u64,
    since: Instant,
) -> anyhow::Result<()> {
    loop {
        let now = counted(store, status).await?;
        if now >= at_least {
            return Ok(());
        }
        anyhow::ensure!(
            since.elapsed() < Duration::from_secs(900),
            "{now} of {at_least} transfers {status} after 900 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn counted(store: &Store, status: &str) -> anyhow::Result<u64> {
    Ok(store
        .transfer_counts()
        .await?
        .iter()
        .filter(|c| c.status.as_str() == status)
        .map(|c| c.count)
        .sum())
}

const HEAVIEST: &str = "query($i: JSON!) { q1: quoteAllocation(input: $i) q2: quoteAllocation(input: $i) \
     p1: positions { chain pools { pool usd } error } p2: positions { chain error } \
     r1: relayer { chains { name balancesError } } r2: relayer { chains { name } } }";

const POOL_PAGE: &str = "query($t: Float) { pools(filter: { minTvlUsd: $t }, first: 500, orderBy: APY_DESC) { totalCount edges { node { id chain chainId protocol address symbol underlyingTokens tvlUsd apy apyBase apyReward apyBase7d aprBase aprBase7d volumeUsd1d volumeUsd7d feesUsd1d feesUsd7d feePpm lpFeePpm stablecoin outlier } } } }";

const TRANSFER_PAGE: &str =
    "{ transfers(first: 500) { edges { node { id status amountIn amountOut } } } }";

/// One flooding client: its own address (as a trusted proxy forwards it) and connection,
/// looping the mix until told to stop.
async fn flood_client(
    base: String,
    c: u32,
    requests: &'static [Request],
    counts: Arc<FloodCounts>,
    go: Arc<AtomicBool>,
) {
    let http = reqwest::Client::new();
    let from = format!("10.77.{}.{}", c / 250, c % 250 + 1);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(u64::from(c));
    let input = json!({
        "capital": [{ "chain": "ethereum", "usd": 100000 }, { "chain": "bsc", "usd": 50000 }],
        "horizon_days": 365,
        "bridges": [
            { "from": "ethereum", "to": "bsc", "fee_bps": 5, "fixed_usd": 1, "eta_s": 60 },
            { "from": "bsc", "to": "ethereum", "fee_bps": 5, "fixed_usd": 1, "eta_s": 60 }
        ]
    });
    let mut i = u64::from(c);
    while go.load(Ordering::SeqCst) {
        i += 1;
        let t = Instant::now();
        let graphql = |body: serde_json::Value| http.post(format!("{base}/graphql")).json(&body);
        let request = match requests[usize::try_from(i).unwrap_or(0) % requests.len()] {
            Request::Metrics => http.get(format!("{base}/metrics")),
            Request::Heaviest => graphql(json!({ "query": HEAVIEST, "variables": { "i": input } })),
            Request::PoolPage => graphql(json!({ "query": POOL_PAGE,
                "variables": { "t": rng.random_range(0.0..1_000.0) } })),
            Request::TransferPage => graphql(json!({ "query": TRANSFER_PAGE })),
        };
        let outcome = match request.header("x-forwarded-for", &from).send().await {
            Ok(r) if r.status() == 429 => Outcome::Refused,
            Ok(r) if r.status().is_success() => match r.text().await {
                Ok(text) if text.contains("\"errors\"") => Outcome::Refused,
                Ok(_) => Outcome::Served,
                Err(_) => Outcome::Failed,
            },
            _ => Outcome::Failed,
        };
        let counter = match outcome {
            Outcome::Served => &counts.served,
            Outcome::Refused => &counts.refused,
            Outcome::Failed => &counts.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if matches!(outcome, Outcome::Served)
            && let Ok(mut l) = counts.latency_us.lock()
        {
            l.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
        }
    }
}

enum Outcome {
    Served,
    Refused,
    Failed,
}

fn report_flood(counts: &FloodCounts, seconds: f64, clients: u32) -> anyhow::Result<()> {
    let served = counts.served.load(Ordering::Relaxed);
    let refused = counts.refused.load(Ordering::Relaxed);
    let failed = counts.failed.load(Ordering::Relaxed);
    let mut l = counts
        .latency_us
        .lock()
        .map_err(|_| anyhow::anyhow!("latency lock poisoned"))?
        .clone();
    l.sort_unstable();
    let pct = |p: f64| {
        l.get(((l.len() as f64 - 1.0) * p).round() as usize)
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    crate::out!(
        "  the flood: {clients} clients, {served} requests served ({:.0}/s, p50 {:.1} ms, p99 {:.1} ms), {refused} refused or answered with errors, {failed} failed",
        served as f64 / seconds,
        pct(0.5),
        pct(0.99)
    );
    Ok(())
}
