//! `atoll-bench api`: requests per second and latency of the API's two hottest queries,
//! `topYields(limit: 20)` and `pools(first: 100)`, with N pools in a real SQLite database.
//! The pools are synthetic (a seeded mix of chains, protocols, TVLs and APYs) but are written
//! through the indexer's own store path; the server is the one `atoll up` runs, on a free
//! loopback port. The load comes from `wrk` when it is on PATH (a C load generator that costs
//! the server little CPU), else from a built-in closed loop of keep-alive connections.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use atoll_core::settings::Settings;
use atoll_store::ingest::{PoolEntry, PoolStateRow, YieldFigures};
use atoll_store::{Checkpoint, Store};
use clap::Args;
use rand::{Rng, SeedableRng};

use crate::BadInput;

#[derive(Args)]
pub struct ApiBenchArgs {
    /// Pools in the database.
    #[arg(long, default_value_t = 10_000)]
    pools: u32,
    /// Seconds of load per query.
    #[arg(long, default_value_t = 10)]
    duration_s: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// Load generator threads (wrk) or tasks per connection group (built-in).
    #[arg(long, default_value_t = 1)]
    threads: u32,
    /// `wrk` (when on PATH) or `builtin`.
    #[arg(long, default_value = "auto")]
    load: String,
    /// Execute every request (no answer cache): the server's raw cost per query.
    #[arg(long)]
    no_response_cache: bool,
    /// Only fill the database and serve it, printing the URL, until Ctrl-C (for another load
    /// generator).
    #[arg(long)]
    serve_only: bool,
    /// Instead: the whole stack on a devnet, and transfers confirmed per second with the API
    /// idle and then flooded by `--clients` clients (`flood.rs`).
    #[arg(long)]
    flood: bool,
    #[command(flatten)]
    flood_args: crate::flood::FloodArgs,
}

const QUERIES: [(&str, &str); 2] = [
    (
        "topYields(limit: 20)",
        "{ topYields(limit: 20) { id chain protocol symbol tvlUsd apy apyBase volumeUsd1d } }",
    ),
    (
        "pools(first: 100)",
        "{ pools(first: 100, orderBy: TVL_DESC) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id chain protocol symbol tvlUsd apy apyBase volumeUsd1d } } } }",
    ),
];

fn settings(db_url: &str) -> anyhow::Result<Settings> {
    let text = format!(
        r#"
[database]
url = "{db_url}"

[[chains]]
name = "ethereum"
kind = "evm"
chain_id = 1
rpc = ["http://127.0.0.1:9"]

[[chains]]
name = "bsc"
kind = "evm"
chain_id = 56
rpc = ["http://127.0.0.1:9"]

[[chains]]
name = "solana"
kind = "solana"
chain_id = 1151111081099710
rpc = ["http://127.0.0.1:9"]
"#
    );
    Settings::parse(
        &text,
        Vec::<(String, String)>::new(),
        std::path::Path::new("."),
    )
    .map_err(|e| anyhow::anyhow!("bench settings: {e}"))
}

/// `n` pools spread over the three chains, each with a state and yield figures.
async fn fill(store: &Store, n: u32) -> anyhow::Result<()> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let chains = [
        (1u64, "ethereum"),
        (56, "bsc"),
        (1_151_111_081_099_710, "solana"),
    ];
    let protocols = ["uniswap_v2", "uniswap_v3", "orca_whirlpool"];
    let symbols = [
        "USDC-WETH",
        "USDT-WETH",
        "USDC-USDT",
        "WBTC-WETH",
        "USDC-SOL",
    ];
    for (chain_id, chain) in chains {
        let slot = match chain {
            "ethereum" => 0,
            "bsc" => 1,
            _ => 2,
        };
        let mine: Vec<u32> = (0..n).filter(|i| i % 3 == slot).collect();
        let entries: Vec<PoolEntry> = mine
            .iter()
            .map(|i| {
                let protocol = protocols[(*i as usize / 3) % protocols.len()];
                let address = format!("0x{:040x}", u64::from(*i) + 1);
                PoolEntry {
                    id: format!("{chain}:{protocol}:{address}"),
                    chain_id,
                    protocol: protocol.to_string(),
                    address,
                    token0: format!("0x{:040x}", 0xa0 + u64::from(*i % 7)),
                    token1: format!("0x{:040x}", 0xb0 + u64::from(*i % 11)),
                    symbol: symbols[*i as usize % symbols.len()].to_string(),
                    fee_ppm: 3000,
                    lp_fee_ppm: 3000,
                    stablecoin: false,
                    discovered_at_block: None,
                }
            })
            .collect();
        store.register_pools(&entries).await?;
        let txn = store.begin_ingest(chain_id, "bench", None).await?;
        for e in &entries {
            let tvl: f64 = 10f64.powf(rng.random_range(3.0..8.0));
            let apy: f64 = rng.random_range(0.0..0.4);
            let volume = tvl * rng.random_range(0.0..0.5);
            let figures = YieldFigures {
                tvl_usd: Some(tvl),
                volume_usd_1d: volume,
                volume_usd_7d: volume * 7.0,
                fees_usd_1d: volume * 0.003,
                fees_usd_7d: volume * 0.021,
                apr_base: Some(apy),
                apy_base: Some(apy),
                apy: Some(apy),
                // A few pools are dropped, as the indexer drops pools under its TVL floor.
                dropped_reason: (tvl < 2_000.0).then(|| "tvl_usd under 10000".to_string()),
                ..Default::default()
            };
            txn.update_pool(&e.id, &PoolStateRow::default(), &figures)
                .await?;
        }
        txn.commit(&Checkpoint {
            block_number: 1,
            block_hash: "0x00".into(),
        })
        .await?;
    }
    Ok(())
}

/// Fills a database, serves it as `atoll up` does, and measures each query (or only serves
/// it with `--serve-only`; `--flood` runs [`crate::flood`] instead).
pub async fn run(args: ApiBenchArgs) -> anyhow::Result<()> {
    if args.flood {
        return crate::flood::run(args.flood_args).await;
    }
    if args.pools == 0 || args.connections == 0 || args.duration_s == 0 {
        return Err(
            BadInput("--pools, --connections and --duration-s must be at least 1".into()).into(),
        );
    }
    let dir = tempfile::tempdir()?;
    let state = filled_api(&args, dir.path()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(atoll_graphql::serve(listener, state, shutdown));
    if args.serve_only {
        crate::out!("serving {base}/graphql; Ctrl-C stops");
        crate::shutdown_signal().await;
    } else {
        measure_queries(&args, &base, dir.path()).await?;
    }
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    Ok(())
}

/// A new SQLite database in `dir` with `--pools` pools, and the API's state over it (the
/// answer cache as `--no-response-cache` says; no effective rate limit).
async fn filled_api(
    args: &ApiBenchArgs,
    dir: &std::path::Path,
) -> anyhow::Result<atoll_graphql::ApiState> {
    let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let settings = settings(&url)?;
    let store = Store::connect(&url).await?;
    store.migrate_up().await?;
    store.register_settings(&settings).await?;
    let started = Instant::now();
    fill(&store, args.pools)
        .await
        .context("filling the bench database")?;
    crate::out!(
        "{} pools written to {} in {:.1} s",
        args.pools,
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    let reader = Store::connect_reader(&url, 4).await?;
    atoll_graphql::ApiState::new(
        Arc::new(settings),
        store,
        reader,
        atoll_graphql::auth::OperatorTokens::default(),
        atoll_graphql::ApiOptions {
            head_interval: None,
            // One client address makes all the load: the limiter still runs on every request.
            rate_limit_rps: u32::MAX / 2,
            rate_limit_burst: u32::MAX / 2,
            response_cache: !args.no_response_cache,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("starting the API: {e}"))
}

/// Loads each of [`QUERIES`] for `--duration-s` with `wrk` or the built-in loop, after
/// checking it answers, and prints a table row per query.
async fn measure_queries(
    args: &ApiBenchArgs,
    base: &str,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let use_wrk = match args.load.as_str() {
        "wrk" => true,
        "builtin" => false,
        "auto" => which_wrk().is_some(),
        other => {
            return Err(BadInput(format!("--load {other}: expected wrk, builtin or auto")).into());
        }
    };
    crate::out!(
        "load: {}, {} connections, {} s per query, on {}; answer cache {}",
        if use_wrk { "wrk" } else { "built-in" },
        args.connections,
        args.duration_s,
        base,
        if args.no_response_cache { "off" } else { "on" }
    );
    crate::out!(
        "{:<22} {:>10} {:>9} {:>9} {:>9}",
        "query",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors"
    );
    for (name, query) in QUERIES {
        let body = serde_json::json!({ "query": query }).to_string();
        check_once(base, &body)
            .await
            .with_context(|| format!("{name} answers"))?;
        let r = if use_wrk {
            wrk(base, &body, args, dir)?
        } else {
            builtin(base, &body, args).await?
        };
        crate::out!(
            "{:<22} {:>10.0} {:>9.3} {:>9.3} {:>9}",
            name,
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.errors
        );
    }
    Ok(())
}

struct LoadResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn which_wrk() -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("wrk"))
            .find(|f| f.is_file())
    })
}

async fn check_once(base: &str, body: &str) -> anyhow::Result<()> {
    let resp = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?;
    let text = resp.text().await?;
    if text.contains("\"errors\"") {
        anyhow::bail!("the query failed: {text}");
    }
    Ok(())
}

fn wrk(
    base: &str,
    body: &str,
    args: &ApiBenchArgs,
    dir: &std::path::Path,
) -> anyhow::Result<LoadResult> {
    let script = dir.join("post.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = {}\n\
             done = function(summary, latency, requests)\n  io.write(string.format(\"ATOLL %f %f %f %d\\n\", \
             summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, \
             summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))\nend\n",
            serde_json::to_string(body)?
        ),
    )?;
    let out = std::process::Command::new("wrk")
        .arg(format!("-t{}", args.threads))
        .arg(format!("-c{}", args.connections))
        .arg(format!("-d{}s", args.duration_s))
        .arg("-s")
        .arg(&script)
        .arg(format!("{base}/graphql"))
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("ATOLL "))
        .ok_or_else(|| anyhow::anyhow!("wrk printed no summary: {text}"))?;
    let f: Vec<f64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    anyhow::ensure!(f.len() == 4, "wrk summary unreadable: {line}");
    Ok(LoadResult {
        rps: f[0],
        p50_ms: f[1],
        p99_ms: f[2],
        errors: f[3] as u64,
    })
}

async fn builtin(base: &str, body: &str, args: &ApiBenchArgs) -> anyhow::Result<LoadResult> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections as usize)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(args.duration_s);
    let url = format!("{base}/graphql");
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.clone(), body.to_string());
            tokio::spawn(async move {
                let mut latencies: Vec<u32> = Vec::with_capacity(100_000);
                let mut errors = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let ok = match client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                    {
                        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                        _ => false,
                    };
                    if ok {
                        latencies.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                    } else {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |us| f64::from(*us) / 1000.0)
    };
    Ok(LoadResult {
        rps: all.len() as f64 / secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        errors,
    })
}
