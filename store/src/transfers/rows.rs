//! The transfer rows as other crates see them: [`Transfer`], [`QueuedRelease`] (with `QueuedRow`,
//! its columns as stored), [`Attempt`], [`SignedAttempt`], [`TransferCount`], [`PlannedRelease`]
//! and [`DepositRow`], and how a stored row reads as them (a cell that does not parse is
//! `StoreError::Unreadable`, naming table, column and row). Read it to see what a field holds;
//! the statements that write and read these rows are in the sibling modules.

use atoll_core::{Address, Reason, TransferId, TransferStatus, U256};
use sea_orm::DerivePartialModel;

use crate::StoreError;
use crate::cells::Cells;
use crate::entities::{transfer_attempts, transfers};

/// A bridge transfer as stored, read as the domain's types. Addresses and the source
/// transaction stay text: their format is the chain's (EVM hex, Solana base58), and a deposit
/// refused at intake may name no readable recipient at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: TransferId,
    pub source_chain_id: u64,
    /// Transaction hash (EVM) or signature (Solana).
    pub source_tx: String,
    /// Position among the vault's deposits in its transaction (EVM) or instruction index.
    pub source_index: u64,
    /// Block (EVM) or slot (Solana).
    pub source_block: u64,
    /// 0 when the deposit names no readable destination.
    pub dest_chain_id: u64,
    pub source_token: String,
    /// Set when the gate approves it.
    pub dest_token: Option<String>,
    pub sender: String,
    /// Empty when the deposit names no readable recipient.
    pub recipient: String,
    /// In the source token's smallest unit.
    pub amount_in: U256,
    /// In the destination token's smallest unit (after the fee); set when approved.
    pub amount_out: Option<U256>,
    /// In the source token's smallest unit; set when approved.
    pub fee: Option<U256>,
    pub status: TransferStatus,
    /// Why it is failed, stuck or waiting (none in other states).
    pub failure_reason: Option<Reason>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl TryFrom<transfers::Model> for Transfer {
    type Error = StoreError;
    fn try_from(t: transfers::Model) -> Result<Transfer, StoreError> {
        let row = Cells::of("transfers", &t.id);
        Ok(Transfer {
            id: row.id("id", &t.id)?,
            source_chain_id: row.u64("source_chain_id", t.source_chain_id)?,
            source_index: row.u64("source_index", t.source_index)?,
            source_block: row.u64("source_block", t.source_block)?,
            dest_chain_id: row.u64("dest_chain_id", t.dest_chain_id)?,
            amount_in: row.amount("amount_in", &t.amount_in)?,
            amount_out: row.amount_opt("amount_out", t.amount_out.as_deref())?,
            fee: row.amount_opt("fee", t.fee.as_deref())?,
            status: row.status("status", &t.status)?,
            failure_reason: Cells::reason(t.failure_reason.as_deref()),
            source_tx: t.source_tx,
            source_token: t.source_token,
            dest_token: t.dest_token,
            sender: t.sender,
            recipient: t.recipient,
            created_at_ms: t.created_at_ms,
            updated_at_ms: t.updated_at_ms,
        })
    }
}

/// Rows read as [`Transfer`]s; the first that does not read is the error.
pub(crate) fn typed(rows: Vec<transfers::Model>) -> Result<Vec<Transfer>, StoreError> {
    rows.into_iter().map(Transfer::try_from).collect()
}

/// A transfer as an executor releases it: approved by the gate (queued, waiting, or in flight),
/// with the columns a release needs and no more. The queue is read thousands of rows a step,
/// and decoding all of each row's columns took about a tenth of the step. Its addresses were
/// validated at intake, so they are read as addresses (`0x…` EVM, else Solana base58).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRelease {
    pub id: TransferId,
    pub status: TransferStatus,
    /// What the gate approved: none only for a row approved without one (failed, not sent).
    pub dest_token: Option<Address>,
    pub recipient: Address,
    pub amount_out: Option<U256>,
    /// Its route (source chain and token) and fee (source token units): what a
    /// `when_profitable` policy weighs against the release's gas.
    pub source_chain_id: u64,
    pub source_token: Address,
    pub fee: Option<U256>,
    /// When it entered its status: how long it has waited in `awaiting_gas`.
    pub updated_at_ms: i64,
}

/// The columns of a [`QueuedRelease`], as stored.
#[derive(Debug, Clone, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "transfers::Entity", from_query_result)]
pub(crate) struct QueuedRow {
    pub id: String,
    pub status: String,
    pub dest_token: Option<String>,
    pub recipient: String,
    pub amount_out: Option<String>,
    pub source_chain_id: i64,
    pub source_token: String,
    pub fee: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl TryFrom<QueuedRow> for QueuedRelease {
    type Error = StoreError;
    fn try_from(t: QueuedRow) -> Result<QueuedRelease, StoreError> {
        let row = Cells::of("transfers", &t.id);
        Ok(QueuedRelease {
            id: row.id("id", &t.id)?,
            status: row.status("status", &t.status)?,
            dest_token: row.parse_opt("dest_token", t.dest_token.as_deref(), "an address")?,
            recipient: row.parse("recipient", &t.recipient, "an address")?,
            amount_out: row.amount_opt("amount_out", t.amount_out.as_deref())?,
            source_chain_id: row.u64("source_chain_id", t.source_chain_id)?,
            source_token: row.parse("source_token", &t.source_token, "an address")?,
            fee: row.amount_opt("fee", t.fee.as_deref())?,
            updated_at_ms: t.updated_at_ms,
        })
    }
}

pub(crate) fn queued(rows: Vec<QueuedRow>) -> Result<Vec<QueuedRelease>, StoreError> {
    rows.into_iter().map(QueuedRelease::try_from).collect()
}

/// A release attempt as stored: a signed transaction (EVM: one of a release transaction's
/// transfers) or a signed Solana message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub id: i32,
    pub transfer_id: TransferId,
    pub chain_id: u64,
    /// EVM.
    pub nonce: Option<u64>,
    /// Solana: the blockhash and the last block height it is valid at.
    pub blockhash: Option<String>,
    pub last_valid_block_height: Option<u64>,
    /// Transaction hash (EVM) or signature (Solana): the chain's own text form.
    pub tx_hash: String,
    /// Solana: base64 bincode of the signed transaction. EVM: empty (the bytes are stored
    /// once, with the release transaction).
    pub raw_tx: String,
    /// Wei per gas (EVM).
    pub max_fee_per_gas: Option<u128>,
    /// Wei per gas (EVM) or micro-lamports per compute unit (Solana).
    pub priority_fee: Option<u128>,
    pub status: TransferStatus,
    pub error: Option<String>,
    pub created_at_ms: i64,
}

impl TryFrom<transfer_attempts::Model> for Attempt {
    type Error = StoreError;
    fn try_from(a: transfer_attempts::Model) -> Result<Attempt, StoreError> {
        let key = a.id.to_string();
        let row = Cells::of("transfer_attempts", &key);
        Ok(Attempt {
            id: a.id,
            transfer_id: row.id("transfer_id", &a.transfer_id)?,
            chain_id: row.u64("chain_id", a.chain_id)?,
            nonce: row.u64_opt("nonce", a.nonce)?,
            last_valid_block_height: row
                .u64_opt("last_valid_block_height", a.last_valid_block_height)?,
            max_fee_per_gas: row.parse_opt(
                "max_fee_per_gas",
                a.max_fee_per_gas.as_deref(),
                "a decimal fee",
            )?,
            priority_fee: row.parse_opt(
                "priority_fee",
                a.priority_fee.as_deref(),
                "a decimal fee",
            )?,
            status: row.status("status", &a.status)?,
            blockhash: a.blockhash,
            tx_hash: a.tx_hash,
            raw_tx: a.raw_tx,
            error: a.error,
            created_at_ms: a.created_at_ms,
        })
    }
}

/// One signed release, as persisted before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAttempt {
    pub chain_id: u64,
    /// EVM.
    pub nonce: Option<u64>,
    /// Solana: the blockhash and the last block height it is valid at.
    pub blockhash: Option<String>,
    pub last_valid_block_height: Option<u64>,
    /// Transaction hash (EVM) or signature (Solana), in the chain's own text form.
    pub tx_hash: String,
    /// The signed transaction as sent (EVM: 0x-hex of the envelope; Solana: base64 bincode).
    pub raw_tx: String,
    /// Wei per gas (EVM).
    pub max_fee_per_gas: Option<u128>,
    /// Wei per gas (EVM) or micro-lamports per compute unit (Solana).
    pub priority_fee: Option<u128>,
}

/// Transfers of one (source, destination, status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferCount {
    pub source_chain_id: u64,
    pub dest_chain_id: u64,
    pub status: TransferStatus,
    pub count: u64,
    pub oldest_created_at_ms: i64,
}

/// What an approved deposit releases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRelease {
    pub dest_token: Address,
    /// In the destination token's smallest unit.
    pub amount_out: U256,
    /// In the source token's smallest unit.
    pub fee: U256,
}

/// A deposit as found on its source chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositRow {
    pub id: TransferId,
    pub source_chain_id: u64,
    /// Transaction hash (EVM) or signature (Solana).
    pub source_tx: String,
    /// Log index (EVM) or instruction index (Solana).
    pub source_index: u64,
    /// Block (EVM) or slot (Solana).
    pub source_block: u64,
    /// 0 when the deposit names no readable destination.
    pub dest_chain_id: u64,
    pub source_token: String,
    pub sender: String,
    /// Empty when the deposit names no readable recipient.
    pub recipient: String,
    /// In the source token's smallest unit.
    pub amount_in: U256,
    /// `Observed`, or `Failed` with `failure_reason`.
    pub status: TransferStatus,
    pub failure_reason: Option<Reason>,
}

/// `statuses` as the text `transfers.status` stores.
pub(super) fn status_texts(statuses: &[TransferStatus]) -> Vec<&'static str> {
    statuses.iter().map(|s| s.as_str()).collect()
}
