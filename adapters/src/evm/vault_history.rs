//! A `BridgeVault`'s whole history, for `atoll audit`: its `TransferInitiated`,
//! `TransferReleased`, `LiquidityAdded` and `LiquidityWithdrawn` logs from the chain's
//! `start_block` to the head, and its balance of every token at that head. The chain-neutral
//! shape is [`crate::capability::VaultHistory`]; the audit's verdict is the relayer's.

use std::collections::HashMap;

use alloy::primitives::{Address, U256};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use atoll_core::TransferId;

use super::EvmChain;
use super::abi::BridgeVault;
use super::events::{DepositPositions, deposit_id};
use super::logs::LogWindow;
use crate::AdapterError;
use crate::capability::{
    HistoryScope, TokenFlows, VaultDeposit, VaultHistory, VaultRelease, deposit_stream,
};

/// Per token, what moved through the vault.
#[derive(Default)]
struct Flows {
    deposited: U256,
    released: U256,
    added: U256,
    withdrawn: U256,
}

impl EvmChain {
    /// The vault's history (see the module); `None` without a `bridge_vault`.
    pub(crate) async fn read_vault_history(
        &self,
        scope: &HistoryScope<'_>,
    ) -> Result<Option<VaultHistory>, AdapterError> {
        let Some(vault) = self.bridge_vault else {
            return Ok(None);
        };
        let head = self.head().await?.number;
        let filter = Filter::new().address(vault).event_signature(vec![
            BridgeVault::TransferInitiated::SIGNATURE_HASH,
            BridgeVault::TransferReleased::SIGNATURE_HASH,
            BridgeVault::LiquidityAdded::SIGNATURE_HASH,
            BridgeVault::LiquidityWithdrawn::SIGNATURE_HASH,
        ]);
        let mut window = LogWindow::new(scope.log_window_blocks, scope.max_batch_blocks, 2_000);
        let logs = self
            .logs(&filter, scope.from_height, head, &mut window)
            .await?;
        let mut history = VaultHistory {
            height: head,
            deposit_streams: vec![deposit_stream(&vault)],
            deposits: Vec::new(),
            releases: Vec::new(),
            tokens: Vec::new(),
        };
        let mut flows: HashMap<Address, Flows> = HashMap::new();
        let mut positions = DepositPositions::default();
        for log in &logs {
            read_vault_log(self.chain_id, log, &mut positions, &mut flows, &mut history);
        }
        let mut tokens: Vec<(String, Address)> = scope
            .tokens
            .iter()
            .filter_map(|t| match t.token {
                atoll_core::Address::Evm(a) => Some((t.symbol.clone(), Address::from(a))),
                atoll_core::Address::Solana(_) => None,
            })
            .collect();
        for token in flows.keys() {
            if !tokens.iter().any(|(_, a)| a == token) {
                tokens.push((format!("{token:#x}"), *token));
            }
        }
        let pairs: Vec<(Address, Address)> = tokens.iter().map(|(_, a)| (*a, vault)).collect();
        let balances = self.balances(&pairs, head).await?;
        for ((symbol, token), balance) in tokens.into_iter().zip(balances) {
            let f = flows.remove(&token).unwrap_or_default();
            history.tokens.push(TokenFlows {
                symbol,
                balance: Ok(balance),
                deposited: f.deposited,
                released: f.released,
                added: f.added,
                withdrawn: f.withdrawn,
                every_movement_is_an_event: true,
            });
        }
        Ok(Some(history))
    }
}

/// One vault log into the history and the token's flows.
fn read_vault_log(
    chain_id: u64,
    log: &Log,
    positions: &mut DepositPositions,
    flows: &mut HashMap<Address, Flows>,
    history: &mut VaultHistory,
) {
    let tx = log.transaction_hash.unwrap_or_default();
    let block = log.block_number.unwrap_or_default();
    if let Ok(e) = BridgeVault::TransferInitiated::decode_log(&log.inner) {
        let id = deposit_id(chain_id, tx, positions.next(tx));
        let f = flows.entry(e.token).or_default();
        f.deposited = f.deposited.saturating_add(e.amount);
        history.deposits.push(VaultDeposit {
            id,
            tx: format!("{tx:#x}"),
            height: block,
            token: format!("{:#x}", e.token),
            amount: e.amount,
        });
    } else if let Ok(e) = BridgeVault::TransferReleased::decode_log(&log.inner) {
        let f = flows.entry(e.token).or_default();
        f.released = f.released.saturating_add(e.amount);
        history.releases.push(VaultRelease {
            id: TransferId(e.id.0),
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
