//! `atoll audit`: the books proven from the chains. Read this before trusting a balance.
//!
//! Each chain's adapter reads its vaults ([`atoll_adapters::capability::VaultAudit`]). From each
//! EVM chain: the vault's `TransferInitiated`, `TransferReleased`, `LiquidityAdded`
//! and `LiquidityWithdrawn` logs from the chain's `start_block` to the head, and the vault's
//! balance of every token at that head. From each Solana vault token account: every
//! transaction that touched it (finalized), its transfers in (deposits, with their memos) and
//! out (releases, named by their `atoll:v1:release=<id>` memo, and withdrawals), and its
//! balance. Then [`ledger::reconcile`] compares those with every transfer in the database:
//! each deposit maps to one release or to a visible reason (pending with its state, failed
//! with its cause), no release lacks a transfer, no id is paid twice, what was paid is what was
//! approved, and each EVM vault's balance is exactly its deposits less its releases plus its
//! top-ups less its withdrawals. Deposits newer than the indexer's checkpoint are not judged.

pub mod ledger;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use atoll_adapters::capability::{Chain, HistoryScope, TokenFlows, VaultToken, connect};
use atoll_adapters::evm::RetryPolicy;
use atoll_core::settings::{ChainSettings, Settings};
use atoll_core::{TransferId, U256};
use atoll_store::Store;
use serde::Serialize;

pub use ledger::{ChainFacts, Discrepancy, TokenBook, VaultBook};

use crate::RelayerError;

/// What `atoll audit` found.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// No discrepancy.
    pub clean: bool,
    pub transfers: usize,
    pub deposits_read: usize,
    pub releases_read: usize,
    pub took_ms: u128,
    pub books: Vec<TokenBook>,
    pub vaults: Vec<VaultBook>,
    pub discrepancies: Vec<Discrepancy>,
}

/// Reads every configured chain's vaults and compares them with the database.
pub async fn run(settings: &Settings, store: &Store) -> Result<AuditReport, RelayerError> {
    let started = Instant::now();
    let mut facts = ChainFacts {
        read_started_ms: atoll_core::now_ms(),
        ..ChainFacts::default()
    };
    let mut chains: HashMap<u64, Arc<dyn Chain>> = HashMap::new();
    for c in &settings.chains {
        let chain = connect(c, RetryPolicy::default())?;
        read_vaults(settings, store, c, chain.as_ref(), &mut facts).await?;
        chains.insert(c.chain_id.0, chain);
    }
    let transfers = store.all_transfers().await?;
    // A release may pay an account other than the recipient (on Solana its associated token
    // account, Token or Token-2022): the chain names them.
    let by_id: HashMap<TransferId, &atoll_store::transfers::Transfer> =
        transfers.iter().map(|t| (t.id, t)).collect();
    for r in &facts.releases {
        let (Some(chain), Some(t)) = (chains.get(&r.chain_id), by_id.get(&r.id)) else {
            continue;
        };
        if let Some(accounts) = chain.paid_accounts(&t.recipient, &r.token) {
            facts.paid_accounts.insert(r.id, accounts);
        }
    }
    let verdict = ledger::reconcile(&facts, &transfers);
    Ok(AuditReport {
        clean: verdict.discrepancies.is_empty(),
        transfers: transfers.len(),
        deposits_read: facts.deposits.len(),
        releases_read: facts.releases.len(),
        took_ms: started.elapsed().as_millis(),
        books: verdict.books,
        vaults: facts.vaults,
        discrepancies: verdict.discrepancies,
    })
}

/// One chain's vaults into the facts: what the chain shows (a chain without a vault to read,
/// an EVM chain without `bridge_vault`, is skipped), and how far the indexer's checkpoints
/// covering its deposits reached, read after the chain: what the indexer reached meanwhile is
/// above what was read, and not judged.
async fn read_vaults(
    settings: &Settings,
    store: &Store,
    c: &ChainSettings,
    chain: &dyn Chain,
    facts: &mut ChainFacts,
) -> Result<(), RelayerError> {
    let tokens: Vec<VaultToken> = settings
        .tokens
        .iter()
        .flat_map(|t| {
            t.deployments
                .iter()
                .filter(|d| d.chain == c.name)
                .map(|d| VaultToken {
                    symbol: t.symbol.clone(),
                    token: d.address,
                    account: d.vault,
                })
        })
        .collect();
    let scope = HistoryScope {
        tokens: &tokens,
        from_height: c.start_block,
        log_window_blocks: settings.indexer.log_window_blocks,
        max_batch_blocks: settings.indexer.max_batch_blocks,
    };
    let Some(history) = chain.vault_history(&scope).await? else {
        return Ok(());
    };
    let chain_id = c.chain_id.0;
    facts
        .deposits
        .extend(history.deposits.into_iter().map(|d| ledger::SeenDeposit {
            id: d.id,
            chain_id,
            tx: d.tx,
            block: d.height,
            token: d.token,
            amount: d.amount,
        }));
    facts
        .releases
        .extend(history.releases.into_iter().map(|r| ledger::SeenRelease {
            id: r.id,
            chain_id,
            tx: r.tx,
            token: r.token,
            recipient: r.recipient,
            amount: r.amount,
        }));
    for f in &history.tokens {
        let balance = f.balance.clone().map_err(RelayerError::Config)?;
        facts.vaults.push(vault_book(&c.name, balance, f));
    }
    let mut indexed_up_to = history.height;
    for stream in &history.deposit_streams {
        let reached = store
            .checkpoint(chain_id, stream)
            .await?
            .map_or(0, |k| k.block_number);
        indexed_up_to = indexed_up_to.min(reached);
    }
    facts.indexed_up_to.insert(chain_id, indexed_up_to);
    facts.destinations_read.push(chain_id);
    Ok(())
}

fn vault_book(chain: &str, balance: U256, f: &TokenFlows) -> VaultBook {
    let credited = balance
        .saturating_add(f.released)
        .saturating_add(f.withdrawn);
    let debited = f.deposited.saturating_add(f.added);
    VaultBook {
        chain: chain.to_string(),
        token: f.symbol.clone(),
        balance: balance.to_string(),
        deposited: f.deposited.to_string(),
        released: f.released.to_string(),
        added: f.added.to_string(),
        withdrawn: f.withdrawn.to_string(),
        opening: credited.checked_sub(debited).map(|o| o.to_string()),
        every_movement_is_an_event: f.every_movement_is_an_event,
    }
}
