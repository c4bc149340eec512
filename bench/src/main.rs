//! `atoll-bench`: the throughput benchmarks whose results go to BENCHMARKS.md. A binary of its
//! own so that the shipped `atoll` links none of it; each benchmark drives the product's own
//! crates (the indexer's decode and ingest, the relayer's executors, `atoll up`'s
//! [`atoll_service::stack::Stack`]) on a devnet it starts itself.
//!
//! `cargo run --release -p atoll-bench -- <benchmark> [options]`, or `atoll-bench` after
//! `cargo install --path bench`.

mod api;
mod deposits;
mod flood;
mod ingest;
mod lending;
mod relayer;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use atoll_service::{BadInput, out, shutdown_signal};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "atoll-bench",
    version,
    about = "Atoll's throughput benchmarks (results go to BENCHMARKS.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// Decode + persist throughput of Swap events, and the one-insert-per-event baseline.
    Ingest(ingest::IngestArgs),
    /// Deposits scanned per second from solana-test-validator (starts its own devnet).
    Deposits(deposits::DepositsArgs),
    /// Releases per second on an EVM destination: the relayer batched, the sequential
    /// baseline and the node's ceiling (starts its own devnet).
    Relayer(relayer::RelayerBenchArgs),
    /// Lending reserve updates indexed per second (Aave v3 on an EVM devnet).
    Lending(lending::LendingArgs),
    /// GraphQL requests per second and latency of `topYields` and `pools` (10,000 pools);
    /// `--flood`: does a flood on the API slow the relayer?
    Api(api::ApiBenchArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Bench::Ingest(args) => ingest::run(args).await,
            Bench::Deposits(args) => deposits::run(args).await,
            Bench::Relayer(args) => relayer::run(args).await,
            Bench::Api(args) => api::run(args).await,
            Bench::Lending(args) => lending::run(args).await,
        }
    });
    atoll_service::exit_code(result)
}
