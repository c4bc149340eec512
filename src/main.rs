//! `atoll`: the command line. Parses arguments, sets up logging, runs one command, and turns
//! its error into a message and an exit code (2 for bad input, 1 for everything else).

mod commands;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// The command-line plumbing shared with the benchmark harness (`atoll-bench`).
pub use atoll_service::{BadInput, StdoutClosed, out, shutdown_signal};

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "atoll",
    version,
    about = "Cross-chain LP yields, allocation and a bridge relayer"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// The whole stack on a local devnet with traffic: prints the GraphiQL URL and example
    /// queries; Ctrl-C stops everything it started.
    Demo(commands::demo::DemoArgs),
    /// Everything in one process: indexer, relayer and the API (GraphQL, REST, metrics).
    Up(commands::up::UpArgs),
    /// The rebalancing bot: moves treasury capital where the router says it earns most (speaks
    /// only GraphQL).
    Rebalance(commands::rebalance::RebalanceArgs),
    /// Local devnet: anvil (chains 1 and 56) and solana-test-validator with pools and the bridge.
    #[command(subcommand)]
    Devnet(commands::devnet::DevnetCommand),
    /// Configuration files.
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Apply (or roll back) database migrations on SQLite or PostgreSQL.
    Migrate(commands::migrate::MigrateArgs),
    /// Index pools (events, state, yields) and bridge deposits of the configured chains.
    Index(commands::index::IndexArgs),
    /// The indexed pools and their yields (DefiLlama-shaped records; rates as fractions in JSON).
    Pools(commands::pools::PoolsArgs),
    /// The bridge, for operators: status per chain, transfers and their history, retry,
    /// pause and resume.
    #[command(subcommand)]
    Relayer(commands::relayer::RelayerCommand),
    /// Allocation quotes: where capital should sit, the moves to get there, and whether it pays.
    #[command(subcommand)]
    Route(commands::route::RouteCommand),
    /// Prove the bridge's books from the chains: every deposit maps to one release or a visible
    /// reason, no id paid twice, vault balances reconcile (exit 1 on any discrepancy).
    Audit(commands::audit::AuditArgs),
    /// Install the pinned external tools (anvil, solc, Uniswap artifacts, solana-test-validator).
    #[command(subcommand)]
    Tools(commands::tools::ToolsCommand),
}

/// Targets whose own spans and events quote full request URLs (an RPC provider's API key
/// among them): held at `info` whatever `RUST_LOG` asks, since operators turn debug on exactly
/// when something is wrong and ship the logs elsewhere. Atoll's own events name endpoints by
/// label only.
const URL_QUOTING_TARGETS: [&str; 5] = [
    "alloy_transport_http",
    "alloy_rpc_client",
    "reqwest",
    "hyper_util",
    "solana_rpc_client",
];

fn init_logging(format: LogFormat) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for target in URL_QUOTING_TARGETS {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Up(args) => commands::up::run(args).await,
            Command::Demo(args) => commands::demo::run(args).await,
            Command::Rebalance(args) => commands::rebalance::run(args).await,
            Command::Devnet(cmd) => commands::devnet::run(cmd).await,
            Command::Config(cmd) => commands::config::run(cmd),
            Command::Migrate(args) => commands::migrate::run(args).await,
            Command::Tools(cmd) => commands::tools::run(cmd),
            Command::Index(args) => commands::index::run(args).await,
            Command::Audit(args) => commands::audit::run(args).await,
            Command::Pools(args) => commands::pools::run(args).await,
            Command::Relayer(cmd) => commands::relayer::run(cmd).await,
            Command::Route(cmd) => commands::route::run(cmd).await,
        }
    });
    atoll_service::exit_code(result)
}
