//! `atoll audit`: proves the bridge's books from the chains (see `atoll_relayer::audit`). Exit 0
//! when clean; 1 with every discrepancy named, by transfer id and transaction; 2 for bad input.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub struct AuditArgs {
    /// Config file (chains, vaults, tokens, database).
    #[arg(long)]
    config: PathBuf,
    /// Overrides the config's database URL.
    #[arg(long, env = "ATOLL_DATABASE_URL")]
    database_url: Option<String>,
    /// The whole report as one JSON document on stdout.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: AuditArgs) -> anyhow::Result<()> {
    let settings = super::config::load(&args.config)?;
    let store = super::config::open_store(&settings, args.database_url.as_deref()).await?;
    let report = atoll_relayer::audit::run(&settings, &store).await?;
    if args.json {
        crate::out!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report)?;
    }
    if report.clean {
        Ok(())
    } else {
        anyhow::bail!(
            "audit: {} discrepanc{} (listed above)",
            report.discrepancies.len(),
            if report.discrepancies.len() == 1 {
                "y"
            } else {
                "ies"
            }
        )
    }
}

fn print_report(r: &atoll_relayer::audit::AuditReport) -> anyhow::Result<()> {
    crate::out!(
        "read {} deposits and {} releases from the chains, {} transfers from the database, in {} ms",
        r.deposits_read,
        r.releases_read,
        r.transfers,
        r.took_ms
    );
    crate::out!(
        "deposits per source chain and token (raw units): deposited = released + fees + pending + failed + unrecorded"
    );
    for b in &r.books {
        crate::out!(
            "  chain {} {}: {} deposits, {} = {} + {} + {} + {} + {}",
            b.chain_id,
            b.token,
            b.deposits,
            b.deposited,
            b.released,
            b.fees,
            b.pending,
            b.failed,
            b.unrecorded
        );
    }
    crate::out!("vaults (raw units): balance = opening + deposited − released + added − withdrawn");
    for v in &r.vaults {
        crate::out!(
            "  {} {}: {} = {} + {} − {} + {} − {}",
            v.chain,
            v.token,
            v.balance,
            v.opening.as_deref().unwrap_or("?"),
            v.deposited,
            v.released,
            v.added,
            v.withdrawn
        );
    }
    if r.clean {
        crate::out!("clean: every deposit maps to one release or a visible reason");
    } else {
        for d in &r.discrepancies {
            crate::out!("DISCREPANCY {d}");
        }
    }
    Ok(())
}
