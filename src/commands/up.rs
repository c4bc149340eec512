//! `atoll up`: the whole service in one process ([`atoll_service::stack::Stack`]); SIGINT or
//! SIGTERM drains it and the process exits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::BadInput;

#[derive(Args)]
pub struct UpArgs {
    /// Config file.
    #[arg(long)]
    config: PathBuf,
    /// Address the API listens on (overrides the config's `api.listen`; default 127.0.0.1:8000).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Overrides the config's database URL.
    #[arg(long, env = "ATOLL_DATABASE_URL")]
    database_url: Option<String>,
    /// Serve the API only: no indexer, no relayer (another process runs them).
    #[arg(long)]
    api_only: bool,
    /// Simulate and sign releases, but neither persist nor send them.
    #[arg(long)]
    dry_run: bool,
    /// API requests per second per client address.
    #[arg(long, default_value_t = 200)]
    rate_limit_rps: u32,
    /// `/readyz` fails when a chain's index is further behind its head than this (seconds).
    #[arg(long, default_value_t = 120)]
    max_lag_s: u64,
    /// How often idle relayer tasks poll their chain, in milliseconds.
    #[arg(long, default_value_t = 250)]
    poll_ms: u64,
    /// How often the bridge's books are audited from the chains for `/metrics`
    /// (`atoll_audit_*`), in seconds; 0: only when an operator asks (`audit` over GraphQL).
    #[arg(long, default_value_t = 300)]
    audit_every_s: u64,
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let mut settings = super::config::load(&args.config)?;
    if args.dry_run {
        settings.relayer.dry_run = true;
    }
    if args.poll_ms == 0 {
        return Err(BadInput("--poll-ms must be at least 1".into()).into());
    }
    if args.rate_limit_rps == 0 {
        return Err(BadInput("--rate-limit-rps must be at least 1".into()).into());
    }
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| settings.database_url.clone());
    let listen = args.listen.unwrap_or(settings.api.listen);
    let stack = atoll_service::stack::Stack {
        url,
        listen,
        api_only: args.api_only,
        poll: Duration::from_millis(args.poll_ms),
        options: atoll_graphql::ApiOptions {
            rate_limit_rps: args.rate_limit_rps,
            rate_limit_burst: args.rate_limit_rps.saturating_mul(2),
            max_lag: Duration::from_secs(args.max_lag_s),
            audit_interval: (args.audit_every_s > 0)
                .then(|| Duration::from_secs(args.audit_every_s)),
            ..Default::default()
        },
    };
    stack
        .run(
            settings,
            |bound| {
                crate::out!(
                    "API on http://{bound}/ (GraphiQL), http://{bound}/graphql; Ctrl-C stops"
                );
                Ok(())
            },
            crate::shutdown_signal(),
        )
        .await
}
