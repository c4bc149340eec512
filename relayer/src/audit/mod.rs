//! `atoll audit`: the books proven from the chains. Read this before trusting a balance.
//!
//! From each EVM chain: the vault's `TransferInitiated`, `TransferReleased`, `LiquidityAdded`
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
use std::time::Instant;

use alloy::primitives::{Address as EvmAddress, U256};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use atoll_adapters::evm::abi::BridgeVault;
use atoll_adapters::evm::events::{DepositPositions, deposit_id};
use atoll_adapters::evm::logs::LogWindow;
use atoll_adapters::evm::{EvmChain, RetryPolicy};
use atoll_adapters::solana::SolanaChain;
use atoll_adapters::solana::accounts::{TOKEN_2022_PROGRAM, TOKEN_PROGRAM, decode_token_account};
use atoll_adapters::solana::releases::associated_token_account_of;
use atoll_core::settings::{ChainSettings, Settings};
use atoll_core::{Address, ChainKind, TransferId};
use atoll_store::Store;
use serde::Serialize;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;

pub use ledger::{ChainFacts, Discrepancy, TokenBook, VaultBook};

use crate::RelayerError;

/// The indexer's checkpoint stream that covers EVM deposits (they are written with the pools'
/// batches).
const EVM_DEPOSITS_STREAM: &str = "pools";

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
    for c in &settings.chains {
        match c.kind {
            ChainKind::Evm if c.bridge_vault.is_some() => {
                read_evm(settings, store, c, &mut facts).await?;
            }
            ChainKind::Solana => read_solana(settings, store, c, &mut facts).await?,
            ChainKind::Evm => {}
        }
    }
    let transfers = store.all_transfers().await?;
    // Solana pays the recipient's associated token account (Token or Token-2022).
    let by_id: HashMap<TransferId, &atoll_store::transfers::Transfer> =
        transfers.iter().map(|t| (t.id, t)).collect();
    for r in &facts.releases {
        let on_solana = settings
            .chains
            .iter()
            .any(|c| c.kind == ChainKind::Solana && c.chain_id.0 == r.chain_id);
        let Some(t) = by_id.get(&r.id) else {
            continue;
        };
        if let (true, Ok(owner), Ok(mint)) = (
            on_solana,
            t.recipient.parse::<Pubkey>(),
            r.token.parse::<Pubkey>(),
        ) {
            let accounts = [TOKEN_PROGRAM, TOKEN_2022_PROGRAM]
                .iter()
                .map(|program| {
                    associated_token_account_of(&owner, &mint, program)
                        .to_string()
                        .to_lowercase()
                })
                .collect();
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

/// Per token, what moved through an EVM vault.
#[derive(Default)]
struct Flows {
    deposited: U256,
    released: U256,
    added: U256,
    withdrawn: U256,
}

async fn read_evm(
    settings: &Settings,
    store: &Store,
    c: &ChainSettings,
    facts: &mut ChainFacts,
) -> Result<(), RelayerError> {
    let chain = EvmChain::new(c, RetryPolicy::default())?;
    let Some(Address::Evm(vault)) = c.bridge_vault else {
        return Ok(());
    };
    let vault = EvmAddress::from(vault);
    let head = chain.head().await?.number;
    let filter = Filter::new().address(vault).event_signature(vec![
        BridgeVault::TransferInitiated::SIGNATURE_HASH,
        BridgeVault::TransferReleased::SIGNATURE_HASH,
        BridgeVault::LiquidityAdded::SIGNATURE_HASH,
        BridgeVault::LiquidityWithdrawn::SIGNATURE_HASH,
    ]);
    let mut window = LogWindow::new(
        settings.indexer.log_window_blocks,
        settings.indexer.max_batch_blocks,
        2_000,
    );
    let logs = chain
        .logs(&filter, c.start_block, head, &mut window)
        .await?;
    let mut flows: HashMap<EvmAddress, Flows> = HashMap::new();
    let mut positions = DepositPositions::default();
    for log in &logs {
        read_vault_log(c.chain_id.0, log, &mut positions, &mut flows, facts);
    }
    let mut tokens: Vec<(String, EvmAddress)> = settings
        .tokens
        .iter()
        .flat_map(|t| {
            t.deployments
                .iter()
                .filter(|d| d.chain == c.name)
                .filter_map(|d| match d.address {
                    Address::Evm(a) => Some((t.symbol.clone(), EvmAddress::from(a))),
                    Address::Solana(_) => None,
                })
        })
        .collect();
    for token in flows.keys() {
        if !tokens.iter().any(|(_, a)| a == token) {
            tokens.push((format!("{token:#x}"), *token));
        }
    }
    let pairs: Vec<(EvmAddress, EvmAddress)> = tokens.iter().map(|(_, a)| (*a, vault)).collect();
    let balances = chain.balances(&pairs, head).await?;
    for ((symbol, token), balance) in tokens.iter().zip(balances) {
        let f = flows.remove(token).unwrap_or_default();
        facts
            .vaults
            .push(vault_book(&c.name, symbol, balance, &f, true));
    }
    // Read after the logs: what the indexer reached meanwhile is above `head` and unread.
    let indexed = store.checkpoint(c.chain_id.0, EVM_DEPOSITS_STREAM).await?;
    facts.indexed_up_to.insert(
        c.chain_id.0,
        indexed.map_or(0, |k| k.block_number.min(head)),
    );
    facts.destinations_read.push(c.chain_id.0);
    Ok(())
}

/// One vault log into the facts and the token's flows.
fn read_vault_log(
    chain_id: u64,
    log: &Log,
    positions: &mut DepositPositions,
    flows: &mut HashMap<EvmAddress, Flows>,
    facts: &mut ChainFacts,
) {
    let tx = log.transaction_hash.unwrap_or_default();
    let block = log.block_number.unwrap_or_default();
    if let Ok(e) = BridgeVault::TransferInitiated::decode_log(&log.inner) {
        let id = deposit_id(chain_id, tx, positions.next(tx));
        let f = flows.entry(e.token).or_default();
        f.deposited = f.deposited.saturating_add(e.amount);
        facts.deposits.push(ledger::SeenDeposit {
            id,
            chain_id,
            tx: format!("{tx:#x}"),
            block,
            token: format!("{:#x}", e.token),
            amount: e.amount,
        });
    } else if let Ok(e) = BridgeVault::TransferReleased::decode_log(&log.inner) {
        let f = flows.entry(e.token).or_default();
        f.released = f.released.saturating_add(e.amount);
        facts.releases.push(ledger::SeenRelease {
            id: TransferId(e.id.0),
            chain_id,
            tx: format!("{tx:#x}"),
            token: format!("{:#x}", e.token),
            recipient: format!("{:#x}", e.recipient),
            amount: e.amount,
        });
    } else if let Ok(e) = BridgeVault::LiquidityAdded::decode_log(&log.inner) {
        let f = flows.entry(e.token).or_default();
        f.added = f.added.saturating_add(e.amount);
    } else if let Ok(e) = BridgeVault::LiquidityWithdrawn::decode_log(&log.inner) {
        let f = flows.entry(e.token).or_default();
        f.withdrawn = f.withdrawn.saturating_add(e.amount);
    }
}

fn vault_book(
    chain: &str,
    token: &str,
    balance: U256,
    f: &Flows,
    every_movement_is_an_event: bool,
) -> VaultBook {
    let credited = balance
        .saturating_add(f.released)
        .saturating_add(f.withdrawn);
    let debited = f.deposited.saturating_add(f.added);
    VaultBook {
        chain: chain.to_string(),
        token: token.to_string(),
        balance: balance.to_string(),
        deposited: f.deposited.to_string(),
        released: f.released.to_string(),
        added: f.added.to_string(),
        withdrawn: f.withdrawn.to_string(),
        opening: credited.checked_sub(debited).map(|o| o.to_string()),
        every_movement_is_an_event,
    }
}

async fn read_solana(
    settings: &Settings,
    store: &Store,
    c: &ChainSettings,
    facts: &mut ChainFacts,
) -> Result<(), RelayerError> {
    let chain = SolanaChain::new(c, RetryPolicy::default())?;
    let finalized = CommitmentConfig::finalized();
    // Deposits are recorded at `confirmed` and read here at `finalized`: only what is both
    // indexed and finalized is judged.
    let mut indexed_up_to: Option<u64> = Some(chain.slot(finalized).await?);
    for t in &settings.tokens {
        for d in t.deployments.iter().filter(|d| d.chain == c.name) {
            let Some(Address::Solana(vault)) = d.vault else {
                continue;
            };
            let vault = Pubkey::new_from_array(vault);
            let flows = chain.vault_flows(&vault, finalized).await?;
            let mut f = Flows::default();
            for i in &flows.inflows {
                f.deposited = f.deposited.saturating_add(U256::from(i.amount));
                facts.deposits.push(ledger::SeenDeposit {
                    id: i.transfer_id,
                    chain_id: c.chain_id.0,
                    tx: i.signature.to_string(),
                    block: i.slot,
                    token: i.mint.to_string(),
                    amount: U256::from(i.amount),
                });
            }
            for o in &flows.outflows {
                let Some(id) = o.released else {
                    f.withdrawn = f.withdrawn.saturating_add(U256::from(o.amount));
                    continue;
                };
                f.released = f.released.saturating_add(U256::from(o.amount));
                facts.releases.push(ledger::SeenRelease {
                    id,
                    chain_id: c.chain_id.0,
                    tx: o.signature.to_string(),
                    token: o.mint.to_string(),
                    recipient: o.destination.to_string(),
                    amount: U256::from(o.amount),
                });
            }
            let balance = match chain.accounts(&[vault], finalized).await?.pop().flatten() {
                Some(a) => {
                    decode_token_account(&vault, &a.owner, &a.data)
                        .map_err(|e| RelayerError::Config(format!("vault {vault}: {e}")))?
                        .amount
                }
                None => 0,
            };
            facts.vaults.push(vault_book(
                &c.name,
                &t.symbol,
                U256::from(balance),
                &f,
                false,
            ));
            let stream = format!("deposits:{vault}");
            let slot = store
                .checkpoint(c.chain_id.0, &stream)
                .await?
                .map_or(0, |k| k.block_number);
            indexed_up_to = Some(indexed_up_to.map_or(slot, |s| s.min(slot)));
        }
    }
    facts
        .indexed_up_to
        .insert(c.chain_id.0, indexed_up_to.unwrap_or(0));
    facts.destinations_read.push(c.chain_id.0);
    Ok(())
}
