//! `atoll-bench lending` starts an EVM devnet (Aave v3 and a Compound v3 test double on both
//! chains), makes N lending actions on one protocol's markets (`--protocol`; supply, withdraw,
//! borrow, repay: each emits one `ReserveDataUpdated` on Aave, one or two accruing events on a
//! Comet), then indexes that protocol's markets alone (pools, factories, vaults and the other
//! protocol left out of the config) into a fresh SQLite file and reports reserve updates and
//! history rows per second. An Aave history row costs one batched read of the reserve's totals
//! and price at its block, a Comet's two or three (its state, then the rates at its
//! utilisation), so the figure is bound by the node's `eth_call` rate, not by decoding.

use std::time::Instant;

use atoll_core::settings::Settings;
use clap::Args;

#[derive(Args)]
pub struct LendingArgs {
    /// Lending actions to make over the two chains' markets.
    #[arg(long, default_value_t = 2_000)]
    actions: u32,
    /// Traffic seed (the same seed makes the same actions).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Which markets: `aave_v3` or `compound_v3`.
    #[arg(long, default_value = "aave_v3", value_parser = ["aave_v3", "compound_v3"])]
    protocol: String,
}

pub async fn run(args: LendingArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.actions > 0, "--actions: must be at least 1");
    let tmp = tempfile::tempdir()?;
    crate::out!(
        "atoll-bench lending: starting an EVM devnet; {} markets on both chains",
        args.protocol
    );
    let net = atoll_devnet::Devnet::up_on_free_ports(tmp.path(), false).await?;
    let made = Instant::now();
    let records = if args.protocol == "compound_v3" {
        atoll_devnet::comet::traffic(&net.state, args.actions, args.seed).await?
    } else {
        atoll_devnet::aave::traffic(&net.state, args.actions, args.seed).await?
    };
    crate::out!(
        "  made {} lending actions in {:.1} s",
        records.len(),
        made.elapsed().as_secs_f64()
    );
    let text = std::fs::read_to_string(&net.state.config_path)?;
    let mut settings = Settings::parse(&text, std::env::vars(), tmp.path())
        .map_err(|e| anyhow::anyhow!("devnet config: {e}"))?;
    // The lending stream alone, on the protocol's markets.
    settings
        .lending_markets
        .retain(|m| m.protocol.as_str() == args.protocol);
    settings.pools.clear();
    settings.factories.clear();
    for c in &mut settings.chains {
        c.bridge_vault = None;
    }
    settings.chains.retain(|c| c.name != "solana");
    let store = atoll_store::Store::connect(&format!(
        "sqlite://{}?mode=rwc",
        tmp.path().join("bench.db").display()
    ))
    .await?;
    store.migrate_up().await?;
    store.register_settings(&settings).await?;
    let started = Instant::now();
    let results = atoll_indexer::run(
        &settings,
        &store,
        &[],
        atoll_indexer::Mode::Once,
        std::sync::Arc::new(|_| {}),
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut updates = 0;
    for (chain, r) in results {
        let s = r.map_err(|e| anyhow::anyhow!("indexing {chain}: {e}"))?;
        updates += s.lending_updates;
    }
    let mut rows = 0;
    for r in store.lending_reserves(None).await? {
        rows += store
            .lending_history(&r.pool_id, 0, i64::MAX, u64::MAX)
            .await?
            .len();
    }
    crate::out!(
        "  indexed {updates} reserve updates ({rows} history rows) in {elapsed:.2} s: \
         {:.0} updates/s, {:.0} history rows/s",
        updates as f64 / elapsed,
        rows as f64 / elapsed
    );
    net.down();
    Ok(())
}
