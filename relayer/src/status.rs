//! The operator's view of the relayer per chain: paused or not, transfers by stage, the oldest
//! pending one's age, the next nonce, the last error and the vault's balance of every configured
//! token (read from the chain). `atoll relayer status` prints it; GraphQL's `relayer` serves it.

use std::collections::BTreeMap;
use std::time::Duration;

use atoll_core::settings::{ChainSettings, Settings, TokenDeployment};
use atoll_core::{Address, Amount, ChainKind, TransferStatus, U256};
use atoll_store::Store;

use crate::RelayerError;

/// One chain as the relayer sees it. Counts of deposits waiting on their source (`observed`)
/// are on the source chain; every later stage is counted on the destination.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainStatus {
    pub name: String,
    pub kind: ChainKind,
    pub chain_id: u64,
    pub paused: bool,
    pub paused_reason: Option<String>,
    pub observed: u64,
    /// `source_final`, `awaiting_liquidity` and `paused`: waiting for the executor.
    pub queued: u64,
    /// `signed`, `broadcast` and `included`.
    pub in_flight: u64,
    pub confirmed: u64,
    pub failed: u64,
    /// Release attempts used up: each needs an operator's `retry` once its cause is fixed.
    pub stuck: u64,
    /// Held by a `when_profitable` route: the fee does not cover the gas now.
    pub awaiting_gas: u64,
    /// Why the newest of them waits (`fee $0.50 < gas $3.20 at 80 gwei (+10 % margin)`).
    pub awaiting_gas_reason: Option<String>,
    pub oldest_pending_age_s: Option<u64>,
    /// EVM: one above the highest nonce the relayer signed; `None` before its first release,
    /// and always on Solana (its releases take no nonce).
    pub next_nonce: Option<u64>,
    pub last_error: Option<LastError>,
    pub balances: Vec<VaultBalance>,
    /// Why `balances` is empty or partial (RPC down, no vault configured).
    pub balances_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LastError {
    pub tx: String,
    pub error: String,
    pub age_s: u64,
}

/// The vault's balance of one token; `raw` in the token's smallest unit.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultBalance {
    pub symbol: String,
    pub token: String,
    pub decimals: u8,
    pub raw: Option<U256>,
    pub error: Option<String>,
}

impl VaultBalance {
    /// `12.5 USDC`, or why it could not be read.
    pub fn display(&self) -> String {
        match (&self.raw, &self.error) {
            (Some(raw), _) => format!("{} {}", Amount::new(*raw, self.decimals), self.symbol),
            (None, Some(e)) => format!("{}: {e}", self.symbol),
            (None, None) => format!("{}: unknown", self.symbol),
        }
    }
}

/// The stage a status counts in.
pub fn stage(status: TransferStatus) -> &'static str {
    use TransferStatus::*;
    match status {
        Observed => "observed",
        SourceFinal | AwaitingLiquidity | Paused => "queued",
        Signed | Broadcast | Included => "in_flight",
        Confirmed => "confirmed",
        Stuck => "stuck",
        AwaitingGas => "awaiting_gas",
        Failed => "failed",
    }
}

/// Every configured chain's status. Balances are read from each chain concurrently, each given
/// at most `balance_timeout`: a dead RPC shows as `balances_error`, never as a stalled answer.
pub async fn chain_statuses(
    settings: &Settings,
    store: &Store,
    balance_timeout: Duration,
) -> Result<Vec<ChainStatus>, RelayerError> {
    let balances = futures::future::join_all(
        settings
            .chains
            .iter()
            .map(|c| balances_within(settings, c, balance_timeout)),
    )
    .await;
    let mut out = chain_statuses_from_store(settings, store).await?;
    for (status, (b, err)) in out.iter_mut().zip(balances) {
        status.balances = b;
        status.balances_error = err;
    }
    Ok(out)
}

/// The status of the chain named `name` (only its own balances are read from its chain).
pub async fn chain_status(
    settings: &Settings,
    store: &Store,
    name: &str,
    balance_timeout: Duration,
) -> Result<Option<ChainStatus>, RelayerError> {
    let Some(c) = settings.chain(name) else {
        return Ok(None);
    };
    let Some(mut status) = chain_statuses_from_store(settings, store)
        .await?
        .into_iter()
        .find(|s| s.name == name)
    else {
        return Ok(None);
    };
    (status.balances, status.balances_error) = balances_within(settings, c, balance_timeout).await;
    Ok(Some(status))
}

/// A chain's vault balances, or why there are none, within `timeout`.
async fn balances_within(
    settings: &Settings,
    c: &ChainSettings,
    timeout: Duration,
) -> (Vec<VaultBalance>, Option<String>) {
    match tokio::time::timeout(timeout, vault_balances(settings, c)).await {
        Ok(Ok(b)) if b.is_empty() => (b, Some("no vault configured".to_string())),
        Ok(Ok(b)) => (b, None),
        Ok(Err(e)) => (Vec::new(), Some(format!("unreadable: {e}"))),
        Err(_) => (
            Vec::new(),
            Some(format!("no answer within {} ms", timeout.as_millis())),
        ),
    }
}

/// `chain_statuses` without the chains: everything the store knows (balances left empty).
pub async fn chain_statuses_from_store(
    settings: &Settings,
    store: &Store,
) -> Result<Vec<ChainStatus>, RelayerError> {
    let counts = store.transfer_counts().await?;
    let states = store.chain_states().await?;
    let now = atoll_core::now_ms();
    let mut out = Vec::with_capacity(settings.chains.len());
    for c in &settings.chains {
        let id = i64::try_from(c.chain_id.0).unwrap_or(i64::MAX);
        let state = states.iter().find(|s| s.chain_id == id);
        let mut by_stage: BTreeMap<&str, u64> = BTreeMap::new();
        let mut oldest: Option<i64> = None;
        for n in &counts {
            let st = stage(n.status);
            let mine = match st {
                "observed" => n.source_chain_id == c.chain_id.0,
                _ => n.dest_chain_id == c.chain_id.0,
            };
            if !mine {
                continue;
            }
            *by_stage.entry(st).or_default() += n.count;
            if matches!(st, "observed" | "queued" | "in_flight" | "awaiting_gas") {
                oldest =
                    Some(oldest.map_or(n.oldest_created_at_ms, |o| o.min(n.oldest_created_at_ms)));
            }
        }
        // Only EVM releases are sent in nonce-ordered release transactions (`release_txs`);
        // Solana's take a recent blockhash instead and record none, so theirs stays `None`.
        let next_nonce = store
            .highest_release_nonce(c.chain_id.0)
            .await?
            .map(|n| n + 1);
        let last_error = store
            .last_release_error(c.chain_id.0)
            .await?
            .map(|(tx, error, at)| LastError {
                tx: tx.to_string(),
                error: error.to_string(),
                age_s: u64::try_from((now - at).max(0) / 1000).unwrap_or(0),
            });
        let count = |s: &str| by_stage.get(s).copied().unwrap_or(0);
        let awaiting_gas_reason = if count("awaiting_gas") > 0 {
            store
                .newest_reason_to(c.chain_id.0, TransferStatus::AwaitingGas)
                .await?
                .map(|r| r.to_string())
        } else {
            None
        };
        out.push(ChainStatus {
            awaiting_gas: count("awaiting_gas"),
            awaiting_gas_reason,
            name: c.name.clone(),
            kind: c.kind,
            chain_id: c.chain_id.0,
            paused: state.is_some_and(|s| s.paused),
            paused_reason: state.and_then(|s| s.paused_reason.clone()),
            observed: count("observed"),
            queued: count("queued"),
            in_flight: count("in_flight"),
            confirmed: count("confirmed"),
            failed: count("failed"),
            stuck: count("stuck"),
            oldest_pending_age_s: oldest
                .map(|o| u64::try_from((now - o).max(0) / 1000).unwrap_or(0)),
            next_nonce,
            last_error,
            balances: Vec::new(),
            balances_error: None,
        });
    }
    Ok(out)
}

/// The relayer vault's balance of every token configured on `chain`, read from the chain.
pub async fn vault_balances(
    settings: &Settings,
    chain: &ChainSettings,
) -> Result<Vec<VaultBalance>, RelayerError> {
    let quick = atoll_adapters::evm::RetryPolicy {
        rounds: 1,
        ..Default::default()
    };
    let tokens: Vec<(&str, &TokenDeployment)> = settings
        .tokens
        .iter()
        .flat_map(|t| {
            t.deployments
                .iter()
                .filter(|d| d.chain == chain.name)
                .map(|d| (t.symbol.as_str(), d))
        })
        .collect();
    let balance = |symbol: &str, d: &TokenDeployment, raw: Option<U256>, error: Option<String>| {
        VaultBalance {
            symbol: symbol.to_string(),
            token: d.address.to_string(),
            decimals: d.decimals,
            raw,
            error,
        }
    };
    let adapter = atoll_adapters::capability::connect(chain, quick)?;
    let held: Vec<(Address, Option<Address>)> =
        tokens.iter().map(|(_, d)| (d.address, d.vault)).collect();
    let read = adapter
        .vault_balances(chain.bridge_vault.as_ref(), &held)
        .await?;
    Ok(tokens
        .iter()
        .zip(read)
        .filter_map(|((symbol, d), read)| {
            Some(match read? {
                Ok(raw) => balance(symbol, d, Some(raw), None),
                Err(why) => balance(symbol, d, None, Some(why)),
            })
        })
        .collect())
}
