//! `atoll transfers`: the bridge transfers the store knows, for operators. `list` shows them
//! newest first (deposits rejected for a missing or malformed memo included, with their reason:
//! those funds sit in the vault and need a human); `show ID` prints one transfer with every
//! status it took and why.

use std::path::PathBuf;

use atoll_core::settings::Settings;
use atoll_core::{Address, Amount, ChainKind, TransferStatus, U256};
use atoll_store::Store;
use atoll_store::entities::transfers;
use clap::{Args, Subcommand};

use crate::BadInput;

#[derive(Subcommand)]
pub enum TransfersCommand {
    /// Transfers, newest first.
    List(ListArgs),
    /// One transfer and its status history.
    Show(ShowArgs),
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

pub async fn run(cmd: TransfersCommand) -> anyhow::Result<()> {
    match cmd {
        TransfersCommand::List(args) => list(args).await,
        TransfersCommand::Show(args) => show(args).await,
    }
}

async fn open(common: &Common) -> anyhow::Result<(Settings, Store)> {
    let settings = super::config::load(&common.config)?;
    let store = super::config::open_store(&settings, common.database_url.as_deref()).await?;
    Ok((settings, store))
}

fn chain_name(settings: &Settings, id: i64) -> String {
    settings
        .chains
        .iter()
        .find(|c| i64::try_from(c.chain_id.0).ok() == Some(id))
        .map_or_else(
            || if id == 0 { "?".into() } else { id.to_string() },
            |c| c.name.clone(),
        )
}

/// The amount in token units with its symbol when the token is configured, else raw.
fn amount(settings: &Settings, t: &transfers::Model) -> String {
    let chain = settings
        .chains
        .iter()
        .find(|c| i64::try_from(c.chain_id.0).ok() == Some(t.source_chain_id));
    let token = chain.and_then(|c| {
        let address = Address::parse(c.kind, &t.source_token).ok()?;
        settings.tokens.iter().find_map(|tok| {
            tok.deployments
                .iter()
                .find(|d| d.chain == c.name && d.address == address)
                .map(|d| (tok.symbol.clone(), d.decimals))
        })
    });
    match (token, t.amount_in.parse::<U256>()) {
        (Some((symbol, decimals)), Ok(raw)) => format!("{} {symbol}", Amount::new(raw, decimals)),
        _ => format!("{} (raw) of {}", t.amount_in, t.source_token),
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
                    "amount_in": t.amount_in,
                    "sender": t.sender,
                    "recipient": t.recipient,
                    "status": t.status,
                    "failure_reason": t.failure_reason,
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
            format!("{}…", t.id.chars().take(16).collect::<String>()),
            chain_name(&settings, t.source_chain_id),
            chain_name(&settings, t.dest_chain_id),
            amount(&settings, t),
            t.status,
            t.failure_reason.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

async fn show(args: ShowArgs) -> anyhow::Result<()> {
    let (settings, store) = open(&args.common).await?;
    let id: atoll_core::TransferId = args
        .id
        .parse()
        .map_err(|e| BadInput(format!("transfer id: {e}")))?;
    let id = id.to_string();
    let Some(t) = store.transfer(&id).await? else {
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
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    );
    crate::out!("  history:");
    for h in store.transfer_history(&id).await? {
        crate::out!(
            "    {}  {} → {}{}",
            h.at_ms,
            h.from_status.as_deref().unwrap_or("(new)"),
            h.to_status,
            h.reason.map(|r| format!("  ({r})")).unwrap_or_default()
        );
    }
    Ok(())
}
