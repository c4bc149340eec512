//! `atoll relayer`: the operator's view and levers over bridge transfers.
//! - `status`: per chain, whether releases to it are paused, transfers by stage and the oldest
//!   pending one's age, and the vault's balance of every configured token (read from the chain).
//! - `list`: transfers newest first (deposits rejected for a missing or malformed memo
//!   included, with their reason: those funds sit in the vault and need a human).
//! - `show ID`: one transfer with every status it took and why.
//! - `retry ID`: after the operator fixed its cause, a `failed` transfer nothing was signed for
//!   goes back through validation and finality; a `stuck` one is signed again once its
//!   destination shows no release of it; refused otherwise, saying why
//!   (`atoll_relayer::retry`).
//! - `pause CHAIN` / `resume CHAIN`: stop or restart releases to a chain (kept in the store).
//! - `run`: the relayer itself: the indexer following every chain (deposits, pools), the
//!   finality gate per source chain and an executor per destination chain, until Ctrl-C or
//!   SIGTERM; each task finishes its step, and a kill at any point is safe too.

use std::path::PathBuf;

use atoll_core::settings::Settings;
use atoll_core::{Address, Amount, ChainKind, TransferStatus};
use atoll_store::Store;
use atoll_store::transfers::Transfer;
use clap::{Args, Subcommand};

use crate::BadInput;

#[derive(Subcommand)]
pub enum RelayerCommand {
    /// Relay: index deposits, wait for their finality, release them on their destination.
    Run(RunArgs),
    /// Per chain: paused or not, transfers by stage, oldest pending, vault balances.
    Status(Common),
    /// Transfers, newest first.
    List(ListArgs),
    /// One transfer and its status history.
    Show(ShowArgs),
    /// After fixing its cause: a failed transfer back through validation and finality, or a
    /// stuck one signed again if its destination shows no release of it.
    Retry(RetryArgs),
    /// Stop releases to a chain (kept across restarts).
    Pause(PauseArgs),
    /// Restart releases to a paused chain.
    Resume(ResumeArgs),
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    common: Common,
    /// Simulate and sign releases, but neither persist nor send them (overrides the config).
    #[arg(long)]
    dry_run: bool,
    /// Do not run the indexer in this process (another `atoll index` records deposits).
    #[arg(long)]
    no_index: bool,
    /// How often idle tasks poll their chain, in milliseconds.
    #[arg(long, default_value_t = 250)]
    poll_ms: u64,
}

#[derive(Args)]
pub struct RetryArgs {
    #[command(flatten)]
    common: Common,
    /// The transfer id (0x + 64 hex digits).
    id: String,
    /// What was fixed (kept in the transfer's history).
    #[arg(long, default_value = "cause fixed")]
    note: String,
}

#[derive(Args)]
pub struct PauseArgs {
    #[command(flatten)]
    common: Common,
    /// Chain name from the config.
    chain: String,
    /// Why (shown by `relayer status`).
    #[arg(long)]
    reason: Option<String>,
}

#[derive(Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    common: Common,
    /// Chain name from the config.
    chain: String,
}

#[derive(Args)]
pub struct Common {
    /// Config file (database URL, chain and token names).
    #[arg(long)]
    config: PathBuf,
    /// Overrides the config's database URL.
    #[arg(long, env = "ATOLL_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    common: Common,
    /// Only this status (observed, source_final, …, failed).
    #[arg(long)]
    status: Option<String>,
    /// Only deposits made on this chain.
    #[arg(long = "from", value_name = "CHAIN")]
    from: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    limit: u64,
    /// One JSON array.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ShowArgs {
    #[command(flatten)]
    common: Common,
    /// The transfer id (0x + 64 hex digits).
    id: String,
}

pub async fn run(cmd: RelayerCommand) -> anyhow::Result<()> {
    match cmd {
        RelayerCommand::Run(args) => relay(args).await,
        RelayerCommand::Status(common) => status(common).await,
        RelayerCommand::List(args) => list(args).await,
        RelayerCommand::Show(args) => show(args).await,
        RelayerCommand::Retry(args) => retry(args).await,
        RelayerCommand::Pause(args) => pause(&args.common, &args.chain, true, args.reason).await,
        RelayerCommand::Resume(args) => pause(&args.common, &args.chain, false, None).await,
    }
}

async fn relay(args: RunArgs) -> anyhow::Result<()> {
    let (mut settings, store) = open(&args.common).await?;
    if args.dry_run {
        settings.relayer.dry_run = true;
    }
    if args.poll_ms == 0 {
        return Err(BadInput("--poll-ms must be at least 1".into()).into());
    }
    store.register_settings(&settings).await?;
    let settings = std::sync::Arc::new(settings);
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let options = atoll_relayer::run::RunOptions {
        poll_interval: std::time::Duration::from_millis(args.poll_ms),
        ..Default::default()
    };
    tracing::info!(
        dry_run = settings.relayer.dry_run,
        chains = settings.chains.len(),
        "relayer starting"
    );
    crate::out!(
        "relaying between {} chain(s){}; Ctrl-C stops",
        settings.chains.len(),
        if settings.relayer.dry_run {
            " (dry run: nothing is sent)"
        } else {
            ""
        }
    );
    let relayer = atoll_relayer::run::run(settings.clone(), store.clone(), options, shutdown);
    let indexer = async {
        if args.no_index {
            return std::future::pending::<()>().await;
        }
        let results = atoll_indexer::run(
            &settings,
            &store,
            &[],
            atoll_indexer::Mode::Follow,
            std::sync::Arc::new(|_| {}),
        )
        .await;
        for (chain, result) in results {
            if let Err(e) = result {
                tracing::error!(%chain, error = %e, "indexer stopped");
            }
        }
        std::future::pending::<()>().await
    };
    tokio::pin!(relayer);
    tokio::select! {
        r = &mut relayer => r?,
        () = indexer => {}
        () = crate::shutdown_signal() => {
            crate::out!("stopping: every task finishes its step");
            let _ = stop.send(true);
            relayer.await?;
        }
    }
    Ok(())
}

fn transfer_id(input: &str) -> anyhow::Result<atoll_core::TransferId> {
    Ok(input
        .parse()
        .map_err(|e| BadInput(format!("transfer id: {e}")))?)
}

async fn retry(args: RetryArgs) -> anyhow::Result<()> {
    let (settings, store) = open(&args.common).await?;
    let id = transfer_id(&args.id)?;
    use atoll_relayer::RelayerError;
    use atoll_relayer::retry::Retried;
    match atoll_relayer::retry::retry(&settings, &store, id, &args.note).await {
        Ok(Retried::Revalidated) => {
            crate::out!("{id}: failed → observed; validation and finality run again");
            Ok(())
        }
        Ok(Retried::SignedAgain) => {
            crate::out!(
                "{id}: stuck → source_final; its destination shows no release, so it is signed again"
            );
            Ok(())
        }
        Err(
            e @ (RelayerError::Refused(_)
            | RelayerError::Store(
                atoll_store::StoreError::RetryRefused { .. }
                | atoll_store::StoreError::TransferMoved { .. },
            )),
        ) => Err(BadInput(e.to_string()).into()),
        Err(e) => Err(e.into()),
    }
}

async fn pause(
    common: &Common,
    chain: &str,
    paused: bool,
    reason: Option<String>,
) -> anyhow::Result<()> {
    let (settings, store) = open(common).await?;
    let c = settings
        .chain(chain)
        .ok_or_else(|| BadInput(format!("{chain}: no such chain in the config")))?;
    store.register_settings(&settings).await?;
    store
        .set_paused(c.chain_id.0, paused, reason.as_deref())
        .await?;
    crate::out!(
        "{chain}: releases {}",
        if paused { "paused" } else { "resumed" }
    );
    Ok(())
}

async fn status(common: Common) -> anyhow::Result<()> {
    let (settings, store) = open(&common).await?;
    store.register_settings(&settings).await?;
    let statuses =
        atoll_relayer::status::chain_statuses(&settings, &store, std::time::Duration::from_secs(5))
            .await?;
    for c in &statuses {
        crate::out!(
            "{} ({}){}",
            c.name,
            c.kind.as_str(),
            if c.paused {
                format!(
                    ": PAUSED{}",
                    c.paused_reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                )
            } else {
                String::new()
            }
        );
        crate::out!(
            "  deposits observed {}, releases queued {}, in flight {}, confirmed {}, failed {}, stuck {}; oldest pending {}",
            c.observed,
            c.queued,
            c.in_flight,
            c.confirmed,
            c.failed,
            c.stuck,
            c.oldest_pending_age_s
                .map_or_else(|| "-".to_string(), |s| format!("{s}s ago"))
        );
        if c.awaiting_gas > 0 {
            crate::out!(
                "  awaiting gas {} (newest: {})",
                c.awaiting_gas,
                c.awaiting_gas_reason.as_deref().unwrap_or("-")
            );
        }
        if c.kind == ChainKind::Evm {
            crate::out!(
                "  next nonce {}",
                c.next_nonce
                    .map_or_else(|| "- (nothing signed yet)".to_string(), |n| n.to_string())
            );
        }
        if let Some(e) = &c.last_error {
            crate::out!("  last error ({}s ago, {}): {}", e.age_s, e.tx, e.error);
        }
        let shown: Vec<String> = c.balances.iter().map(|b| b.display()).collect();
        match (&c.balances_error, shown.is_empty()) {
            (Some(e), true) if e == "no vault configured" => {
                crate::out!("  vault: none configured")
            }
            (Some(e), true) => crate::out!("  vault: {e}"),
            _ => crate::out!("  vault: {}", shown.join(", ")),
        }
    }
    Ok(())
}

async fn open(common: &Common) -> anyhow::Result<(Settings, Store)> {
    let settings = super::config::load(&common.config)?;
    let store = super::config::open_store(&settings, common.database_url.as_deref()).await?;
    Ok((settings, store))
}

fn chain_name(settings: &Settings, id: u64) -> String {
    settings
        .chains
        .iter()
        .find(|c| c.chain_id.0 == id)
        .map_or_else(
            || if id == 0 { "?".into() } else { id.to_string() },
            |c| c.name.clone(),
        )
}

/// The amount in token units with its symbol when the token is configured, else raw.
fn amount(settings: &Settings, t: &Transfer) -> String {
    let chain = settings
        .chains
        .iter()
        .find(|c| c.chain_id.0 == t.source_chain_id);
    let token = chain.and_then(|c| {
        let address = Address::parse(c.kind, &t.source_token).ok()?;
        settings.tokens.iter().find_map(|tok| {
            tok.deployments
                .iter()
                .find(|d| d.chain == c.name && d.address == address)
                .map(|d| (tok.symbol.clone(), d.decimals))
        })
    });
    match token {
        Some((symbol, decimals)) => format!("{} {symbol}", Amount::new(t.amount_in, decimals)),
        None => format!("{} (raw) of {}", t.amount_in, t.source_token),
    }
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let (settings, store) = open(&args.common).await?;
    let status = args
        .status
        .as_deref()
        .map(|s| {
            s.parse::<TransferStatus>()
                .map_err(|e| BadInput(format!("--status: {e}")))
        })
        .transpose()?;
    let from = match &args.from {
        None => None,
        Some(name) => Some(
            settings
                .chain(name)
                .ok_or_else(|| BadInput(format!("--from {name}: no such chain in the config")))?
                .chain_id
                .0,
        ),
    };
    let rows = store.transfers(status, from, args.limit).await?;
    if args.json {
        let out: Vec<serde_json::Value> = rows
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id,
                    "from": chain_name(&settings, t.source_chain_id),
                    "to": chain_name(&settings, t.dest_chain_id),
                    "source_tx": t.source_tx,
                    "source_index": t.source_index,
                    "source_block": t.source_block,
                    "token": t.source_token,
                    "amount_in": t.amount_in.to_string(),
                    "sender": t.sender,
                    "recipient": t.recipient,
                    "status": t.status.as_str(),
                    "failure_reason": t.failure_reason.as_ref().map(ToString::to_string),
                })
            })
            .collect();
        crate::out!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if rows.is_empty() {
        crate::out!("no transfers");
        return Ok(());
    }
    crate::out!(
        "{:<18} {:<9} {:<9} {:>24} {:<19}  {}",
        "id",
        "from",
        "to",
        "amount",
        "status",
        "reason"
    );
    for t in &rows {
        crate::out!(
            "{:<18} {:<9} {:<9} {:>24} {:<19}  {}",
            format!("{}…", t.id.to_string().chars().take(16).collect::<String>()),
            chain_name(&settings, t.source_chain_id),
            chain_name(&settings, t.dest_chain_id),
            amount(&settings, t),
            t.status,
            t.failure_reason
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        );
    }
    Ok(())
}

async fn show(args: ShowArgs) -> anyhow::Result<()> {
    let (settings, store) = open(&args.common).await?;
    let id = transfer_id(&args.id)?;
    let Some(t) = store.transfer(id).await? else {
        return Err(BadInput(format!("no transfer {id} in the database")).into());
    };
    let from = chain_name(&settings, t.source_chain_id);
    let tx_label = match settings.chain(&from).map(|c| c.kind) {
        Some(ChainKind::Solana) => "signature",
        _ => "tx",
    };
    crate::out!("transfer {}", t.id);
    crate::out!("  {from} → {}", chain_name(&settings, t.dest_chain_id));
    crate::out!(
        "  source {tx_label} {} (index {}, block/slot {})",
        t.source_tx,
        t.source_index,
        t.source_block
    );
    crate::out!("  amount {}", amount(&settings, &t));
    crate::out!("  sender {}", t.sender);
    crate::out!(
        "  recipient {}",
        if t.recipient.is_empty() {
            "(none)"
        } else {
            &t.recipient
        }
    );
    crate::out!(
        "  status {}{}",
        t.status,
        t.failure_reason
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    );
    crate::out!("  history:");
    for h in store.transfer_history(id).await? {
        crate::out!(
            "    {}  {} → {}{}",
            h.at_ms,
            h.from_status.map_or("(new)", TransferStatus::as_str),
            h.to_status,
            h.reason.map(|r| format!("  ({r})")).unwrap_or_default()
        );
    }
    Ok(())
}
