//! `atoll index`: index pools on the configured chains into the database (and, on Solana, the
//! bridge deposits into the relayer's vaults), with a progress bar per chain (blocks or slots,
//! events, events/s, ETA). `--once` catches up to the head, prints a
//! summary and exits; without it the indexer follows the head until Ctrl-C.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use atoll_indexer::{ChainProgress, ChainSummary, Mode};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::BadInput;

#[derive(Args)]
pub struct IndexArgs {
    /// Config file (TOML).
    #[arg(long)]
    config: PathBuf,
    /// Index only this chain (repeatable); default: every chain in the config.
    #[arg(long = "chain", value_name = "NAME")]
    chains: Vec<String>,
    /// Catch up to the current head, print a summary and exit.
    #[arg(long)]
    once: bool,
    /// Overrides the config's database URL.
    #[arg(long, env = "ATOLL_DATABASE_URL")]
    database_url: Option<String>,
}

pub async fn run(args: IndexArgs) -> anyhow::Result<()> {
    let settings = super::config::load(&args.config)?;
    for name in &args.chains {
        if settings.chain(name).is_none() {
            let known: Vec<&str> = settings.chains.iter().map(|c| c.name.as_str()).collect();
            return Err(BadInput(format!(
                "--chain {name}: no such chain in {} (known: {})",
                args.config.display(),
                known.join(", ")
            ))
            .into());
        }
    }
    let store = super::config::open_store(&settings, args.database_url.as_deref()).await?;
    store.register_settings(&settings).await?;

    let bars = Bars::default();
    let sink_bars = bars.clone();
    let progress: atoll_indexer::ProgressSink = Arc::new(move |p: &ChainProgress| {
        sink_bars.update(p);
    });
    let mode = if args.once { Mode::Once } else { Mode::Follow };
    let work = atoll_indexer::run(&settings, &store, &args.chains, mode, progress);
    let results = tokio::select! {
        r = work => r,
        _ = tokio::signal::ctrl_c() => {
            // Whatever batch was in flight rolls back with its transaction; the next run
            // resumes at the last committed checkpoint.
            bars.finish();
            crate::out!("interrupted; the next run resumes at the last committed checkpoint");
            return Ok(());
        }
    };
    bars.finish();
    let mut failed = Vec::new();
    for (chain, result) in results {
        match result {
            Ok(s) => print_summary(&s)?,
            Err(e) => {
                crate::out!("{chain}: FAILED: {e}");
                failed.push(chain);
            }
        }
    }
    if !failed.is_empty() {
        anyhow::bail!("indexing failed on: {}", failed.join(", "));
    }
    Ok(())
}

fn print_summary(s: &ChainSummary) -> anyhow::Result<()> {
    if s.by_slot {
        crate::out!(
            "{}: pools read at slot {} ({} samples), {} deposits recorded (rejected ones included) in {:.2}s; {} pools",
            s.chain,
            s.to_block,
            s.events,
            s.deposits,
            s.elapsed.as_secs_f64(),
            s.pools
        );
        for p in &s.pool_problems {
            crate::out!("{}: {p}", s.chain);
        }
        return Ok(());
    }
    crate::out!(
        "{}: blocks {}..={} ({} blocks), {} events in {:.2}s = {:.0} events/s, {:.0} blocks/s; {} batches, {} reorgs, {} pools, {} deposits recorded",
        s.chain,
        s.from_block,
        s.to_block,
        s.blocks,
        s.events,
        s.elapsed.as_secs_f64(),
        s.events_per_s(),
        s.blocks_per_s(),
        s.batches,
        s.reorgs,
        s.pools,
        s.deposits
    );
    for p in &s.pool_problems {
        crate::out!("{}: {p}", s.chain);
    }
    Ok(())
}

/// One progress bar per chain and stream (an EVM chain's pools and its deposits advance
/// apart), created on its first report.
#[derive(Clone, Default)]
struct Bars {
    multi: MultiProgress,
    bars: Arc<Mutex<HashMap<(String, String), ProgressBar>>>,
}

impl Bars {
    fn update(&self, p: &ChainProgress) {
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let pools = p.stream == atoll_indexer::POOLS_STREAM;
        let key = (p.chain.clone(), p.stream.clone());
        let bar = bars.entry(key).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(0));
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix:>18} [{bar:30}] block {pos}/{len} {msg} ETA {eta}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(if pools {
                p.chain.clone()
            } else {
                format!("{} deposits", p.chain)
            });
            bar
        });
        bar.set_length(p.head.saturating_sub(p.start_block) + 1);
        bar.set_position(p.block.saturating_sub(p.start_block) + 1);
        let rate = p.events as f64 / p.elapsed.as_secs_f64().max(1e-3);
        let what = if pools { "events" } else { "deposits" };
        bar.set_message(format!("| {} {what} | {rate:.0} {what}/s", p.events));
    }

    fn finish(&self) {
        if let Ok(bars) = self.bars.lock() {
            for bar in bars.values() {
                bar.finish();
            }
        }
    }
}
