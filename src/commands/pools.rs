//! `atoll pools`: the indexed pool records (DefiLlama-shaped, rates as fractions), DEX pools and
//! lending reserves, as a table or as JSON.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub struct PoolsArgs {
    /// Config file (for the database URL).
    #[arg(long)]
    config: PathBuf,
    /// Overrides the config's database URL.
    #[arg(long, env = "ATOLL_DATABASE_URL")]
    database_url: Option<String>,
    /// Include pools left out of results (they carry `dropped_reason`).
    #[arg(long)]
    all: bool,
    /// One JSON array of records.
    #[arg(long)]
    json: bool,
    /// Only AMM pools (`dex`) or only lending reserves (`lending`).
    #[arg(long, value_parser = ["dex", "lending"])]
    kind: Option<String>,
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{:.3}%", v * 100.0))
}

pub async fn run(args: PoolsArgs) -> anyhow::Result<()> {
    let settings = super::config::load(&args.config)?;
    let store = super::config::open_store(&settings, args.database_url.as_deref()).await?;
    let mut records = store.pool_records(args.all).await?;
    if let Some(kind) = &args.kind {
        records.retain(|r| r.kind == kind.as_str());
    }
    if args.json {
        crate::out!("{}", serde_json::to_string_pretty(&records)?);
        return Ok(());
    }
    crate::out!(
        "{:<10} {:<8} {:<16} {:<12} {:>14} {:>14} {:>10} {:>10} {:>10}  {}",
        "chain",
        "kind",
        "project",
        "symbol",
        "tvl_usd",
        "volume_1d/util",
        "apr_base",
        "apy_base",
        "apy_7d",
        "pool / dropped"
    );
    for r in &records {
        // A reserve has no volume: its utilisation stands there; its 7-day figure is the
        // realised APY.
        let middle = match &r.lending {
            Some(l) => pct(l.utilization),
            None => format!("{:.2}", r.volume_usd_1d.unwrap_or(0.0)),
        };
        crate::out!(
            "{:<10} {:<8} {:<16} {:<12} {:>14.2} {:>14} {:>10} {:>10} {:>10}  {}{}",
            r.chain,
            r.kind,
            r.project,
            r.symbol,
            r.tvl_usd.unwrap_or(0.0),
            middle,
            pct(r.apr_base),
            pct(r.apy_base),
            pct(r.apy_base_7d),
            r.address,
            r.dropped_reason
                .as_ref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        );
    }
    if records.is_empty() {
        crate::out!(
            "no pools indexed yet: run `atoll index --config {}`",
            args.config.display()
        );
    }
    Ok(())
}
