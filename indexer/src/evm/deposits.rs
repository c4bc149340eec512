//! The deposits of one EVM chain: the `TransferInitiated` logs of its `BridgeVault`, read in
//! windows of blocks behind a checkpoint of their own (stream [`deposit_stream`] of the vault),
//! apart from the pools. A deposit is recorded as soon as its block is read, whatever the pool
//! batches are doing (sampling every pool's state, pricing, yields); the relayer's finality gate
//! decides when it may be released.
//!
//! Each batch commits its deposits, the hashes of its first and last blocks and of every block
//! holding a deposit, and the checkpoint, in one transaction. A batch that does not extend the
//! checkpoint is a reorg: the stream rolls back to the newest stored block still on the chain,
//! which fails the deposits above it that were not acted on yet (`reorged out`) and flags those
//! that were ([`atoll_store::ingest::RollbackSummary`]); pool events are the pool stream's.
//!
//! Read it when a deposit is not recorded, recorded late, or reorged out.

use std::collections::HashMap;
use std::time::Instant;

use alloy::primitives::Address;
use alloy::rpc::types::{Filter, Log};
use atoll_adapters::capability::deposit_stream;
use atoll_adapters::evm::discovery::evm_address;
use atoll_adapters::evm::events;
use atoll_adapters::evm::{BlockRef, EvmChain, RetryPolicy};
use atoll_core::settings::{ChainSettings, Settings};
use atoll_core::{ChainKind, TransferStatus};
use atoll_store::Store;
use atoll_store::ingest::BlockHashRow;
use atoll_store::transfers::DepositRow;

use super::fork::{self, BLOCK_HASHES_KEPT, Cursor, Step, Stream, block_row, checkpoint_at};
use crate::{ChainProgress, IndexerError, Mode, POOLS_STREAM, ProgressSink};

/// What a chain's deposit stream did in one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DepositsSummary {
    /// Deposits recorded (new rows; one seen again is not counted).
    pub deposits: u64,
    pub reorgs: u64,
    pub batches: u64,
}

/// The deposit stream of one EVM chain's vault.
pub struct EvmDeposits {
    chain: EvmChain,
    store: Store,
    vault: Address,
    stream: String,
    cursor: Cursor,
    /// Kind of every configured chain by id: how a deposit's bytes32 recipient is written.
    chain_kinds: HashMap<u64, ChainKind>,
    progress: ProgressSink,
    summary: DepositsSummary,
    started: Instant,
}

impl EvmDeposits {
    /// The chain's deposit stream, where it stopped last; `None` when the chain has no
    /// `bridge_vault` (nothing to follow). Checks the chain id like the pool indexer does. A
    /// database from before this stream existed hands its deposits over from the pool stream
    /// ([`Store::hand_over_deposits`]).
    pub async fn start(
        settings: &Settings,
        chain_settings: &ChainSettings,
        store: Store,
        progress: ProgressSink,
    ) -> Result<Option<EvmDeposits>, IndexerError> {
        let Some(vault) = chain_settings.bridge_vault.as_ref().and_then(evm_address) else {
            return Ok(None);
        };
        let chain = EvmChain::new(chain_settings, RetryPolicy::default())?;
        chain.verify_chain_id().await?;
        let stream = deposit_stream(&vault);
        let checkpoint = store
            .hand_over_deposits(chain_settings.chain_id.0, POOLS_STREAM, &stream)
            .await?;
        Ok(Some(EvmDeposits {
            chain,
            store,
            vault,
            stream,
            cursor: Cursor::new(&settings.indexer, chain_settings.start_block, checkpoint),
            chain_kinds: settings
                .chains
                .iter()
                .map(|c| (c.chain_id.0, c.kind))
                .collect(),
            progress,
            summary: DepositsSummary::default(),
            started: Instant::now(),
        }))
    }

    /// Follows the vault until caught up (`Once`) or forever (`Follow`).
    pub async fn run(&mut self, mode: Mode) -> Result<DepositsSummary, IndexerError> {
        self.started = Instant::now();
        fork::drive(self, mode).await?;
        Ok(self.summary)
    }

    /// The vault's `TransferInitiated` logs of `from..=to`.
    async fn vault_logs(&mut self, from: u64, to: u64) -> Result<Vec<Log>, IndexerError> {
        let filter = Filter::new()
            .address(self.vault)
            .event_signature(events::EvmEvent::deposit_topic());
        Ok(self
            .chain
            .logs(&filter, from, to, &mut self.cursor.window)
            .await?)
    }

    /// The deposits among `logs`, each with its reorg-stable id ([`events::deposit_id`]):
    /// `positions` numbers the deposits within each transaction, and that position is also
    /// the row's `source_index`.
    fn deposit_rows(&self, logs: &[Log]) -> Result<Vec<DepositRow>, IndexerError> {
        let mut positions = events::DepositPositions::default();
        let mut rows = Vec::new();
        for log in logs {
            if let Some(row) = self.deposit_row(log, &mut positions)? {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    /// A `TransferInitiated` log as a deposit (`observed`; the relayer decides whether it can
    /// be released). Other logs give `None`.
    fn deposit_row(
        &self,
        log: &Log,
        positions: &mut events::DepositPositions,
    ) -> Result<Option<DepositRow>, IndexerError> {
        let Some(decoded) = events::decode(log) else {
            return Ok(None);
        };
        let (pos, event) = decoded.map_err(|e| IndexerError::BadLog {
            chain: self.chain.name.clone(),
            tx: format!("{:#x}", e.tx_hash),
            log_index: e.log_index,
            reason: e.to_string(),
        })?;
        let events::EvmEvent::TransferInitiated {
            token,
            sender,
            amount,
            dst_chain_id,
            recipient,
            ..
        } = event
        else {
            return Ok(None);
        };
        // The recipient as its destination chain writes addresses (a pure format rule of the
        // kind, core's `Address::from_bytes32`). An EVM recipient must be 12 zero bytes and an
        // address: anything else, like an unknown chain's, keeps the raw bytes32, which is no
        // address anywhere, so the relayer refuses it rather than pay a truncated one.
        let recipient = self
            .chain_kinds
            .get(&dst_chain_id)
            .and_then(|kind| atoll_core::Address::from_bytes32(*kind, recipient.0).ok())
            .map_or_else(|| format!("{recipient:#x}"), |a| a.to_string());
        let index_in_tx = positions.next(pos.tx_hash);
        Ok(Some(DepositRow {
            id: events::deposit_id(self.chain.chain_id, pos.tx_hash, index_in_tx),
            source_chain_id: self.chain.chain_id,
            source_tx: format!("{:#x}", pos.tx_hash),
            source_index: u64::from(index_in_tx),
            source_block: pos.block_number,
            dest_chain_id: dst_chain_id,
            source_token: format!("{token:#x}"),
            sender: format!("{sender:#x}"),
            recipient,
            amount_in: amount,
            status: TransferStatus::Observed,
            failure_reason: None,
        }))
    }

    /// The blocks holding deposits, to be remembered too: a later reorg then rolls back no
    /// deeper than the newest of them still on the chain, so a deposit is orphaned only when
    /// its own block left the chain. `None` when one of them already changed (a reorg under
    /// way).
    async fn deposit_blocks(
        &self,
        deposits: &[DepositRow],
        logs: &[Log],
    ) -> Result<Option<Vec<BlockHashRow>>, IndexerError> {
        let mut numbers: Vec<u64> = deposits.iter().map(|d| d.source_block).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let mut blocks = Vec::with_capacity(numbers.len());
        for n in numbers {
            let b = self.chain.block(n).await?;
            let seen = logs
                .iter()
                .find(|l| l.block_number == Some(n))
                .and_then(|l| l.block_hash);
            if seen.is_some_and(|h| h != b.hash) {
                return Ok(None);
            }
            blocks.push(block_row(&b));
        }
        Ok(Some(blocks))
    }

    async fn commit(
        &mut self,
        first: BlockRef,
        last: BlockRef,
        deposits: Vec<DepositRow>,
        deposit_blocks: Vec<BlockHashRow>,
    ) -> Result<(), IndexerError> {
        let checkpoint = checkpoint_at(&last);
        let txn = self
            .store
            .begin_ingest(
                self.chain.chain_id,
                &self.stream,
                self.cursor.checkpoint.as_ref(),
            )
            .await?;
        let recorded = txn.insert_deposits(&deposits).await?;
        let mut hashes = vec![block_row(&first), block_row(&last)];
        hashes.extend(deposit_blocks);
        txn.record_block_hashes(&hashes, BLOCK_HASHES_KEPT).await?;
        txn.commit(&checkpoint).await?;
        self.summary.deposits += recorded;
        self.summary.batches += 1;
        self.cursor.checkpoint = Some(checkpoint);
        tracing::debug!(chain = %self.chain.name, block = last.number, recorded, "deposits committed");
        (self.progress)(&ChainProgress {
            chain: self.chain.name.clone(),
            stream: self.stream.clone(),
            start_block: self.cursor.start_block,
            block: last.number,
            head: self.cursor.head.max(last.number),
            events: self.summary.deposits,
            reorgs: self.summary.reorgs,
            elapsed: self.started.elapsed(),
        });
        Ok(())
    }

    /// Rolls the stream back to the newest stored block still on the chain.
    async fn roll_back_to_ancestor(&mut self, below_or_at: u64) -> Result<(), IndexerError> {
        self.summary.reorgs += 1;
        let ancestor =
            fork::common_ancestor(&self.chain, &self.store, &self.stream, below_or_at).await?;
        let above = ancestor
            .as_ref()
            .map_or(self.cursor.start_block.saturating_sub(1), |a| {
                a.block_number
            });
        let summary = self
            .store
            .rollback_deposits_above(self.chain.chain_id, &self.stream, above, ancestor.as_ref())
            .await?;
        tracing::warn!(
            chain = %self.chain.name,
            from = below_or_at,
            ancestor = ?ancestor.as_ref().map(|a| a.block_number),
            deposits_reorged_out = summary.deposits_reorged_out,
            deposits_at_risk = summary.deposits_at_risk,
            "reorg: deposits rolled back to the common ancestor"
        );
        self.cursor.checkpoint = ancestor;
        Ok(())
    }
}

impl Stream for EvmDeposits {
    fn chain(&self) -> &EvmChain {
        &self.chain
    }

    fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    fn cursor_mut(&mut self) -> &mut Cursor {
        &mut self.cursor
    }

    async fn batch(&mut self, first: BlockRef, last: BlockRef) -> Result<Step, IndexerError> {
        let logs = self.vault_logs(first.number, last.number).await?;
        if !fork::unchanged(&self.chain, &last, &logs).await? {
            return Ok(Step::Reorged);
        }
        let deposits = self.deposit_rows(&logs)?;
        let Some(blocks) = self.deposit_blocks(&deposits, &logs).await? else {
            return Ok(Step::Reorged);
        };
        self.commit(first, last, deposits, blocks).await?;
        Ok(Step::Advanced)
    }

    async fn roll_back(&mut self, below_or_at: u64) -> Result<(), IndexerError> {
        self.roll_back_to_ancestor(below_or_at).await
    }
}
