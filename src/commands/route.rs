//! `atoll route`: allocation quotes from the router. `quote --input FILE.json` solves a request
//! (see README, "Router"); `--from-db` takes the pools and yields the indexer stored instead of
//! the file's `pools`, and gives chains the request's `gas_usd` leaves out what a release costs
//! there now (the relayer's live figures); `instance` writes a reproducible random request (benchmarks).

use std::path::PathBuf;

use anyhow::Context;
use atoll_router::{QuoteInput, RouterError};
use clap::{Args, Subcommand};

use crate::BadInput;

#[derive(Subcommand)]
pub enum RouteCommand {
    /// Target allocation, moves and net gain for a request.
    Quote(QuoteArgs),
    /// A deterministic random request with N pools over 3 chains, as JSON on stdout.
    Instance {
        #[arg(long, default_value_t = 1_000)]
        pools: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

#[derive(Args)]
pub struct QuoteArgs {
    /// The request (JSON): capital, horizon_days, pools, bridges, gas_usd, constraints.
    #[arg(long)]
    input: PathBuf,
    /// Use the indexed pools (those not dropped) from the config's database instead of the
    /// request's `pools`.
    #[arg(long, requires = "config")]
    from_db: bool,
    /// Config file (for --from-db).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print the quote as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(cmd: RouteCommand) -> anyhow::Result<()> {
    match cmd {
        RouteCommand::Instance { pools, seed } => {
            crate::out!("{}", atoll_router::instance::json(pools, seed));
            Ok(())
        }
        RouteCommand::Quote(args) => quote(args).await,
    }
}

/// `route quote`: reads the request (its pools from the database with `--from-db`), solves
/// it and prints the quote.
async fn quote(args: QuoteArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let mut input: QuoteInput = serde_json::from_str(&text).map_err(|e| {
        BadInput(format!(
            "{}: line {} column {}: {e}",
            args.input.display(),
            e.line(),
            e.column()
        ))
    })?;
    let mut live_notes = Vec::new();
    if args.from_db {
        let Some(config) = &args.config else {
            return Err(BadInput("--from-db needs --config".into()).into());
        };
        live_notes = pools_from_db(config, &mut input).await?;
    }
    let mut quote = atoll_router::quote(&input).map_err(|e| match e {
        RouterError::Input(problems) => anyhow::Error::from(BadInput(format!(
            "{}: {} problem(s)\n{}",
            args.input.display(),
            problems.len(),
            problems
                .iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        ))),
        other => other.into(),
    })?;
    quote.notes.extend(live_notes);
    if args.json {
        crate::out!("{}", serde_json::to_string_pretty(&quote)?);
        return Ok(());
    }
    print_quote(&quote)?;
    Ok(())
}

/// `--from-db`: replaces the request's pools with the indexed ones of `config`'s database,
/// and fills the gas the request leaves out with what a release costs there now. Returns the
/// notes saying which gas figures are live.
async fn pools_from_db(
    config: &std::path::Path,
    input: &mut QuoteInput,
) -> anyhow::Result<Vec<String>> {
    let settings = super::config::load(config)?;
    let store = super::config::open_store(&settings, None).await?;
    let records = store.pool_records(false).await?;
    input.pools = atoll_graphql::router_pools(records.iter());
    // Chains the request's gas_usd leaves out: what a release costs there now.
    let live = std::sync::Arc::new(
        atoll_relayer::profit::live_gas_usd(&settings, &store, std::time::Duration::from_secs(5))
            .await,
    );
    let live_notes = atoll_graphql::schema::fill_live_gas(input, &live);
    if input.pools.is_empty() {
        return Err(BadInput(format!(
            "no priced pools in the database of {}: run `atoll index --config {}` first",
            config.display(),
            config.display()
        ))
        .into());
    }
    Ok(live_notes)
}

/// The quote as text: its summary, the allocations and moves as tables, then what was
/// excluded and the notes.
fn print_quote(quote: &atoll_router::Quote) -> Result<(), crate::StdoutClosed> {
    crate::out!(
        "status: {:?}   net gain over {} days: {:.2} USD (gain {:.2} − cost {:.2}), unallocated {:.2} USD",
        quote.status,
        quote.horizon_days,
        quote.objective_usd,
        quote.gain_usd,
        quote.cost_usd,
        quote.unallocated_usd
    );
    if !quote.allocations.is_empty() {
        crate::out!(
            "\n{:<58} {:>14} {:>14} {:>12}",
            "pool",
            "usd",
            "marginal_apy",
            "gain_usd"
        );
        for a in &quote.allocations {
            crate::out!(
                "{:<58} {:>14.2} {:>13.3}% {:>12.2}",
                a.pool,
                a.usd,
                a.marginal_apy * 100.0,
                a.gain_usd
            );
        }
    }
    if !quote.moves.is_empty() {
        crate::out!(
            "\n{:<10} {:<10} {:>14} {:>10} {:>8}  route",
            "from",
            "to",
            "usd",
            "cost_usd",
            "eta_s"
        );
        for m in &quote.moves {
            crate::out!(
                "{:<10} {:<10} {:>14.2} {:>10.2} {:>8.0}  {}",
                m.from,
                m.to,
                m.usd,
                m.cost_usd,
                m.eta_s,
                m.route.join(" → ")
            );
        }
    }
    for e in &quote.excluded {
        crate::out!("excluded {}: {}", e.pool, e.reason);
    }
    for n in &quote.notes {
        crate::out!("note: {n}");
    }
    Ok(())
}
