//! `atoll migrate`: bring a database (SQLite file or PostgreSQL) to the current schema, roll
//! back, or show which migrations have run.

use std::path::PathBuf;

use anyhow::Context;
use atoll_store::{Store, redact};
use clap::Args;

#[derive(Args)]
pub struct MigrateArgs {
    /// Database URL (sqlite://FILE?mode=rwc or postgres://…); default: the config's, else sqlite://atoll.db.
    #[arg(long, env = "ATOLL_DATABASE_URL")]
    database_url: Option<String>,
    /// Take the database URL from this config file.
    #[arg(long, conflicts_with = "database_url")]
    config: Option<PathBuf>,
    /// Roll back instead: the last N migrations (all when N is omitted).
    #[arg(long, num_args = 0..=1, default_missing_value = "0")]
    down: Option<u32>,
    /// Only list migrations and whether they have run.
    #[arg(long)]
    status: bool,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let url = match (&args.database_url, &args.config) {
        (Some(url), _) => url.clone(),
        (None, Some(file)) => super::config::load(file)?.database_url,
        (None, None) => atoll_core::settings::DEFAULT_DATABASE_URL.to_string(),
    };
    let shown = redact(&url);
    let store = Store::connect(&url).await?;
    if args.status {
        for m in store.migration_status().await? {
            crate::out!(
                "{} {}",
                if m.applied { "applied" } else { "pending" },
                m.name
            );
        }
        return Ok(());
    }
    match args.down {
        Some(n) => {
            let steps = (n > 0).then_some(n);
            let rolled = store
                .migrate_down(steps)
                .await
                .with_context(|| format!("rolling back {shown}"))?;
            crate::out!("{shown}: rolled back {rolled} migration(s)");
        }
        None => {
            let applied = store
                .migrate_up()
                .await
                .with_context(|| format!("migrating {shown}"))?;
            crate::out!("{shown}: applied {applied} migration(s), schema is current");
        }
    }
    Ok(())
}
