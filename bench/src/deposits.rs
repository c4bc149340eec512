//! `atoll-bench deposits` starts a devnet with solana-test-validator, makes N deposits into the
//! relayer's USDC vault, and measures how fast they are scanned back: one `getTransaction` at a
//! time (the baseline), the adapter's concurrent scan, and the indexer's whole path (scan,
//! decode, memo verdicts, transfers committed to SQLite with the checkpoint).

use std::time::Instant;

use anyhow::Context;
use atoll_core::settings::{ChainSettings, Settings};
use atoll_devnet::fault_proxy::{FaultPlan, FaultProxy};
use clap::Args;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;
#[derive(Args)]
pub struct DepositsArgs {
    /// Deposits to make and scan.
    #[arg(long, default_value_t = 2_000)]
    count: u32,
    /// `getTransaction` calls in flight for the concurrent scan.
    #[arg(long, default_value_t = atoll_adapters::solana::deposits::TX_FETCH_CONCURRENCY)]
    concurrency: usize,
    /// Scan through a loopback proxy that holds each request this long (a remote provider's
    /// round trip; the validator itself answers in about a millisecond). 0: straight to it.
    #[arg(long, default_value_t = 0)]
    rpc_latency_ms: u64,
}

/// Makes `--count` deposits on a devnet, then times the scans and the indexer over them.
pub async fn run(args: DepositsArgs) -> anyhow::Result<()> {
    use atoll_adapters::evm::RetryPolicy;
    use atoll_adapters::solana::SolanaChain;

    anyhow::ensure!(args.count > 0, "--count: must be at least 1");
    anyhow::ensure!(args.concurrency > 0, "--concurrency: must be at least 1");
    let tmp = tempfile::tempdir()?;
    crate::out!("atoll-bench deposits: starting a devnet with solana-test-validator");
    let net = atoll_devnet::Devnet::up_on_free_ports(tmp.path(), true).await?;
    let made = Instant::now();
    let signatures = atoll_devnet::traffic::solana_deposit_burst(&net.state, args.count).await?;
    crate::out!(
        "  made {} deposits in {:.1} s",
        signatures.len(),
        made.elapsed().as_secs_f64()
    );
    let text = std::fs::read_to_string(&net.state.config_path)?;
    let settings = Settings::parse(&text, std::env::vars(), tmp.path())
        .map_err(|e| anyhow::anyhow!("devnet config: {e}"))?;
    let target = ScanTarget::new(&settings, args.rpc_latency_ms).await?;
    let chain = SolanaChain::new(&target.solana, RetryPolicy::default())?;
    let vault: Pubkey = net
        .state
        .solana
        .as_ref()
        .and_then(|s| s.token("USDC"))
        .context("devnet has no Solana USDC")?
        .vault
        .parse()?;
    let rates = scan_rates(&chain, &vault, signatures.len(), args.concurrency).await?;
    index_once(&target.settings, tmp.path()).await?;
    if let [sequential, concurrent] = rates[..] {
        crate::out!(
            "  concurrent scan vs one at a time: {:.1}x",
            concurrent / sequential
        );
    }
    Ok(())
}

/// What the scans and the indexer read: the devnet's settings and its Solana chain's, both
/// pointed at a latency proxy when `--rpc-latency-ms` asks for one (it runs while this
/// lives).
struct ScanTarget {
    settings: Settings,
    solana: ChainSettings,
    _proxy: Option<FaultProxy>,
}

impl ScanTarget {
    async fn new(settings: &Settings, rpc_latency_ms: u64) -> anyhow::Result<ScanTarget> {
        let chain_settings = settings
            .chain("solana")
            .context("devnet config has no solana chain")?;
        // With a simulated round trip, the scan (not the deposits) goes through the proxy.
        let proxy = if rpc_latency_ms > 0 {
            Some(
                FaultProxy::start(
                    chain_settings
                        .rpc
                        .first()
                        .context("devnet solana has no RPC")?
                        .as_str(),
                    FaultPlan {
                        latency: Some(std::time::Duration::from_millis(rpc_latency_ms)),
                        ..Default::default()
                    },
                )
                .await?,
            )
        } else {
            None
        };
        let mut scanned = chain_settings.clone();
        let mut settings = settings.clone();
        if let Some(p) = &proxy {
            scanned.rpc = vec![p.url.parse()?];
            crate::out!(
                "  scanning through a proxy adding {} ms per request ({})",
                rpc_latency_ms,
                p.url
            );
            if let Some(c) = settings.chains.iter_mut().find(|c| c.name == "solana") {
                c.rpc = scanned.rpc.clone();
            }
        }
        Ok(ScanTarget {
            settings,
            solana: scanned,
            _proxy: proxy,
        })
    }
}

/// Lists the vault's signatures, then fetches their transactions one at a time and
/// `concurrency` at a time, checking each scan finds the `made` deposits. Prints each and
/// returns the two rates (deposits per second, the listing included).
async fn scan_rates(
    chain: &atoll_adapters::solana::SolanaChain,
    vault: &Pubkey,
    made: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<f64>> {
    let commitment = CommitmentConfig::confirmed();
    let t = Instant::now();
    let listed = chain.signatures_since(vault, None, commitment).await?;
    let list_s = t.elapsed().as_secs_f64();
    let n = listed.len() as f64;
    crate::out!(
        "  getSignaturesForAddress: {} signatures in {list_s:.2} s = {:.0}/s",
        listed.len(),
        n / list_s
    );
    let mut rates = Vec::new();
    for concurrency in [1, concurrency] {
        let t = Instant::now();
        let found = chain
            .transfers_in(vault, &listed, commitment, concurrency)
            .await?;
        let s = t.elapsed().as_secs_f64();
        anyhow::ensure!(
            found.len() >= made,
            "scan found {} transfers, {} were made",
            found.len(),
            made
        );
        let rate = found.len() as f64 / (s + list_s);
        crate::out!(
            "  scan, {concurrency:>2} getTransaction in flight: {} deposits in {:.2} s = {rate:.0} deposits/s",
            found.len(),
            s + list_s
        );
        rates.push(rate);
    }
    Ok(rates)
}

/// The indexer's whole path once (scan, decode, memo verdicts, transfers committed to a fresh
/// SQLite database in `dir`), timed.
async fn index_once(settings: &Settings, dir: &std::path::Path) -> anyhow::Result<()> {
    let store = crate::ingest::fresh_store(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("deposits.db").display()
    ))
    .await?;
    store.register_settings(settings).await?;
    let t = Instant::now();
    let results = atoll_indexer::run(
        settings,
        &store,
        &["solana".to_string()],
        atoll_indexer::Mode::Once,
        std::sync::Arc::new(|_| {}),
    )
    .await;
    let s = t.elapsed().as_secs_f64();
    let mut recorded = 0;
    for (_, r) in results {
        recorded += r?.deposits;
    }
    let stored = store
        .transfers_from(atoll_core::ChainId::SOLANA.0)
        .await?
        .len();
    crate::out!(
        "  indexer (scan + store, SQLite): {recorded} deposits recorded in {s:.2} s = {:.0} deposits/s ({stored} rows)",
        recorded as f64 / s
    );
    Ok(())
}
