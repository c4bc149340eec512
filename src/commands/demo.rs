//! `atoll demo`: the whole product on this machine in one command: the devnet (two anvil chains
//! and solana-test-validator with real Uniswap V2/V3 pools, Solana pools and the bridge), a
//! fresh SQLite database, `atoll up`'s stack (indexer, relayer, API) and swap and bridge
//! traffic. What it starts where, its flags, the operator token and how it stops: docs/api.md,
//! "`atoll demo`".

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use alloy::providers::Provider;
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_devnet::{Devnet, DevnetState, PortChoice, UpOptions, tools};
use clap::Args;

#[derive(Args)]
pub struct DemoArgs {
    /// The devnet's folder; default $ATOLL_HOME/demo.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Where the API listens.
    #[arg(long, default_value = "127.0.0.1:8000")]
    listen: SocketAddr,
    /// Only the two EVM chains (no solana-test-validator).
    #[arg(long)]
    no_solana: bool,
    /// Seconds between traffic rounds.
    #[arg(long, default_value_t = 10)]
    traffic_every_s: u64,
}

const EXAMPLES: &str = r#"  { topYields(limit: 5) { id chain protocol symbol tvlUsd apy } }

  { pools(first: 3, orderBy: TVL_DESC, filter: {chain: "bsc"}) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id symbol tvlUsd apy volumeUsd1d } } } }

  { transfers(first: 5) { edges { node { id sourceChain destChain amountIn amountOut status
      history { to reason } } } }
    relayer { chains { name queued inFlight confirmed nextNonce balances { symbol amount } } } }"#;

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let dir = match args.dir {
        Some(d) => d,
        None => tools::atoll_home()?.join("demo"),
    };
    std::fs::create_dir_all(&dir)?;
    let (token_note, token_file) = operator_token(&dir)?;
    let tools = tools::Tools::locate(!args.no_solana)?;
    // A demo left running in this folder is stopped first (only the processes it recorded).
    atoll_devnet::network::down(&dir);
    crate::out!("starting the devnet in {} …", dir.display());
    let devnet = Devnet::up(
        &UpOptions {
            dir: dir.clone(),
            ports: PortChoice::Free,
            solana: !args.no_solana,
            block_gas_limit: None,
            validator_niceness: None,
        },
        &tools,
    )
    .await?;
    let result = demo(
        &devnet,
        &dir,
        args.listen,
        args.traffic_every_s,
        &token_note,
        token_file,
    )
    .await;
    crate::out!("stopping the devnet");
    devnet.down();
    result
}

/// The token in the environment, or a new one in `operator.token`: what to tell the user, and
/// the file when the demo made one.
fn operator_token(dir: &std::path::Path) -> anyhow::Result<(String, Option<PathBuf>)> {
    if std::env::var("ATOLL_OPERATOR_TOKEN").is_ok_and(|t| !t.trim().is_empty()) {
        return Ok(("the operator token is ATOLL_OPERATOR_TOKEN's".into(), None));
    }
    use rand::Rng;
    let token: String = (0..32)
        .map(|_| format!("{:02x}", rand::rng().random::<u8>()))
        .collect();
    let path = dir.join("operator.token");
    std::fs::write(&path, &token)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok((
        format!(
            "operator token for mutations: in {} (Authorization: Bearer $(cat {}))",
            path.display(),
            path.display()
        ),
        Some(path),
    ))
}

/// Runs `atoll up`'s stack on the running devnet, with a fresh database and traffic every
/// `every_s` seconds, until Ctrl-C.
async fn demo(
    devnet: &Devnet,
    dir: &std::path::Path,
    listen: SocketAddr,
    every_s: u64,
    token_note: &str,
    token_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let settings = demo_settings(devnet, dir, token_file)?;
    let stack = atoll_service::stack::Stack {
        url: fresh_database(dir),
        listen,
        api_only: false,
        poll: Duration::from_millis(250),
        options: atoll_graphql::ApiOptions::default(),
    };
    let traffic = traffic_rounds(devnet.state.clone(), every_s);
    let note = token_note.to_string();
    let config = devnet.state.config_path.clone();
    let stop = async move {
        tokio::select! {
            () = traffic => {}
            () = crate::shutdown_signal() => {}
        }
    };
    stack
        .run(
            settings,
            move |bound| Ok(print_welcome(bound, &config, &note)?),
            stop,
        )
        .await
}

/// The devnet's config, with the demo's operator token file when it made one.
fn demo_settings(
    devnet: &Devnet,
    dir: &std::path::Path,
    token_file: Option<PathBuf>,
) -> anyhow::Result<atoll_core::settings::Settings> {
    let text = std::fs::read_to_string(&devnet.state.config_path)?;
    let mut settings = atoll_core::settings::Settings::parse(
        &text,
        std::env::vars(),
        devnet.state.config_path.parent().unwrap_or(dir),
    )
    .map_err(|e| anyhow::anyhow!("devnet config: {e}"))?;
    if let Some(file) = token_file {
        settings.api.operator_tokens = vec![atoll_core::SecretRef::File(file)];
    }
    Ok(settings)
}

/// Removes the last demo's SQLite database (and its WAL files) in `dir`; returns the URL of
/// the new one.
fn fresh_database(dir: &std::path::Path) -> String {
    let db = dir.join("atoll.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    format!("sqlite://{}?mode=rwc", db.display())
}

/// Swaps and deposits on the devnet every `every_s` seconds (a larger first round), each
/// round followed by a few empty blocks; never ends.
async fn traffic_rounds(state: DevnetState, every_s: u64) {
    let mut seed = 1u64;
    loop {
        let (swaps, deposits) = if seed == 1 { (100, 12) } else { (20, 6) };
        match traffic::run(
            &state,
            TrafficOptions {
                swaps,
                deposits,
                seed,
            },
        )
        .await
        {
            Ok(r) => tracing::info!(
                swaps = r.swaps.len(),
                deposits = r.deposits.len(),
                seed,
                "demo traffic"
            ),
            Err(e) => tracing::warn!(error = %e, "demo traffic round failed"),
        }
        // A few empty blocks so deposits and releases gather their confirmations.
        for c in &state.evm {
            if let Ok(p) =
                atoll_devnet::evm::provider_for(&c.rpc_url, atoll_devnet::evm::Role::Deployer)
            {
                let _: Result<serde_json::Value, _> =
                    p.raw_request("anvil_mine".into(), (6u64,)).await;
            }
        }
        seed += 1;
        tokio::time::sleep(Duration::from_secs(every_s)).await;
    }
}

/// Where everything is, once the stack listens on `bound`.
fn print_welcome(
    bound: SocketAddr,
    config: &std::path::Path,
    note: &str,
) -> Result<(), crate::StdoutClosed> {
    crate::out!("");
    crate::out!(
        "Atoll is running on the devnet (config {}).",
        config.display()
    );
    crate::out!("  GraphiQL:  http://{bound}/");
    crate::out!("  GraphQL:   http://{bound}/graphql   (subscriptions: ws://{bound}/graphql)");
    crate::out!("  DefiLlama: http://{bound}/pools   http://{bound}/chart/{{pool}}");
    crate::out!("  Metrics:   http://{bound}/metrics   Ready: http://{bound}/readyz");
    crate::out!("  {note}");
    crate::out!("");
    crate::out!("Try these in GraphiQL (traffic arrives every few seconds):");
    crate::out!("{EXAMPLES}");
    crate::out!("");
    crate::out!("Ctrl-C stops everything the demo started.");
    Ok(())
}
