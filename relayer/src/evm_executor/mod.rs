//! Releases on one EVM chain, exactly once, many at a time. The overview (each rule, and the
//! test that pins it) is docs/relayer.md, "The EVM executor"; this is the map of the code. One
//! [`EvmExecutor::step`] runs three phases; each reads the chain with concurrent requests and
//! writes the store once, so a step's cost barely grows with the transactions it follows.
//!
//! 1. [`follow`]: every pending release transaction, nonce by nonce against the account's mined
//!    nonce (this is also the whole of restart reconciliation: everything is in the store).
//!    - A used nonce is settled from the vault's logs (one `eth_getLogs` from the block of the
//!      last settled nonce, at most `MAX_LOG_BLOCKS` wide), and by receipt for what the logs do
//!      not show; the other transactions at it become `replaced`. A nonce another transaction
//!      took sends its transfers to be signed again (while the node still knows ours, it waits
//!      a step instead).
//!    - An open nonce: bytes the node lost are sent again; a transaction older than
//!      `replace_after` is replaced with fees at least `MIN_BUMP_PCT` over the last, never above
//!      `max_fee_multiple` × the estimate nor the chain's `max_gas_price_gwei`; a nonce gap
//!      below our lowest pending transaction is filled with no-ops, at most `MAX_GAP_NOOPS` a
//!      step.
//! 2. [`queue`], while fewer than `max_in_flight` transactions are pending: the transfers to
//!    sign again (derived from the store, so a restart loses none; after [`MAX_ATTEMPTS`] they
//!    are `stuck`), then `source_final` and `awaiting_liquidity` ones the vault can pay, in
//!    `releaseBatch` transactions of at most `batch_max_releases` entries and `batch_max_gas`,
//!    nothing signed while the fee is above `max_gas_price_gwei`. Each batch is simulated with
//!    `eth_call` and signed on consecutive nonces; all are persisted in one database
//!    transaction, then sent in one JSON-RPC batch.
//! 3. [`confirm`]: a mined transaction whose block is final is looked for in that block's
//!    transaction list (by receipt if it is not there): still there → its transfers are
//!    `confirmed`; gone or mined in another block (a reorg) → back to `broadcast`, for phase 1
//!    to settle again.
//!
//! A paused chain signs nothing new (pending transactions are still followed). In dry-run mode
//! releases are simulated and signed but neither persisted nor sent.

pub mod bisect;
mod confirm;
mod follow;
mod gas_policy;
mod queue;

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use alloy::primitives::{Address as EvmAddress, B256};
use alloy::signers::local::PrivateKeySigner;
use atoll_adapters::evm::EvmChain;
use atoll_adapters::evm::releases::{EvmRelease, GasFees, SignedReleaseTx};
use atoll_core::settings::{FeeModel, RelayerSettings, Settings};
use atoll_core::{Address, TransferId, TransferStatus};
use atoll_store::Store;
use atoll_store::release_txs::{CarriedTransfer, NewReleaseTx, ReleaseTxStatus, TrackedReleaseTx};
use atoll_store::transfers::QueuedRelease;

use crate::{ExecutorReport, MAX_ATTEMPTS, RelayerError};

/// Gap no-ops sent per step, at most: a nonce gap wider than this is filled over several steps
/// (and logged), never in one unbounded burst of transactions.
const MAX_GAP_NOOPS: u64 = 16;
/// Nodes refuse a replacement paying less than 10% more.
const MIN_BUMP_PCT: u128 = 10;
/// Gas estimates are raised by this share (percent) for the limit: state may change between
/// estimate and inclusion.
const GAS_MARGIN_PCT: u64 = 20;
/// A transaction's own cost and a batch's loop, beside its releases.
pub(crate) const BATCH_BASE_GAS: u64 = 60_000;
/// Widest block range read as one `eth_getLogs` request; wider (a long pause, a restart after
/// hours) and mined transactions are read receipt by receipt. Public providers commonly refuse
/// ranges of a few thousand blocks.
const MAX_LOG_BLOCKS: u64 = 1_000;

fn rejected(what: impl std::fmt::Display, reason: impl Into<String>) -> RelayerError {
    RelayerError::Config(format!("{what}: {}", reason.into()))
}

/// What every phase of a step reads: the chain, the store, the account, the settings.
struct Ctx<'a> {
    /// Routes and tokens, for a release's `release_policy` and its fee's price.
    settings: &'a Settings,
    /// This chain's name in the config.
    name: String,
    store: &'a Store,
    chain: &'a EvmChain,
    chain_id: u64,
    vault: EvmAddress,
    signer: PrivateKeySigner,
    eip1559: bool,
    relayer: RelayerSettings,
    /// No fee per gas above this is ever signed (the chain's `max_gas_price_gwei`).
    max_gas_price: u128,
}

impl Ctx<'_> {
    fn account(&self) -> EvmAddress {
        self.signer.address()
    }

    fn batch_max(&self) -> usize {
        usize::try_from(self.relayer.batch_max_releases.max(1)).unwrap_or(1)
    }

    fn replace_after_ms(&self) -> i64 {
        i64::try_from(self.relayer.replace_after.as_millis()).unwrap_or(i64::MAX)
    }

    /// The row a signed transaction is stored as.
    fn new_release_tx(&self, signed: &SignedReleaseTx) -> NewReleaseTx {
        NewReleaseTx {
            chain_id: self.chain_id,
            nonce: signed.nonce,
            tx_hash: signed.hash,
            raw_tx: signed.raw.clone(),
            gas_limit: signed.gas_limit,
            max_fee_per_gas: signed.fees.ceiling(),
            priority_fee: signed.fees.priority(),
        }
    }
}

pub struct EvmExecutor<'a> {
    ctx: Ctx<'a>,
    /// When this executor last knew each pending transaction to be in the node's pool (it
    /// sent it, or asked). A cache only: after a restart it is empty, and the first step asks
    /// the node about every pending transaction.
    in_pool_at: HashMap<B256, Instant>,
    /// The next nonce to sign at, once known; never below what the chain and the store say.
    next_nonce: Option<u64>,
    /// Transfers to sign again, as last derived from the store; `None` until the first step
    /// and after any step that found a transaction that can never be mined.
    sign_again: Option<Vec<QueuedRelease>>,
    /// Gas a batch costs per release, learned from `eth_estimateGas` (the dearest seen). Once
    /// known, a batch's limit comes from it and the node runs each batch once before it is
    /// sent (the simulation), not twice.
    gas_model: Option<GasModel>,
    /// Where the next page of releases held for gas starts (`None`: from the first).
    gas_cursor: Option<TransferId>,
    /// The block of the highest nonce settled so far. A later nonce of the same account can
    /// only be mined at or after it, so the next transactions to settle are read from the
    /// vault's logs from there on. `None` after a restart with transactions pending: those
    /// are read receipt by receipt once.
    settled_block: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
struct GasModel {
    per_release: u64,
    /// A release reverted (out of gas, perhaps): estimate the next batch again.
    stale: bool,
}

/// What following pending transactions found that the other phases act on next step.
#[derive(Debug, Default)]
struct Findings {
    /// A transaction reverted or lost its nonce: transfers wait to be signed again.
    unminable: bool,
    /// A transaction reverted: the gas model may be too low.
    reverted: bool,
}

/// Following pending transactions ([`follow`]).
struct Follower<'e, 'a> {
    ctx: &'e Ctx<'a>,
    in_pool_at: &'e mut HashMap<B256, Instant>,
    settled_block: &'e mut Option<u64>,
    findings: Findings,
}

/// Releasing queued transfers into free in-flight slots ([`queue`]). Nothing to do with
/// alloy's `TxFiller`s (the provider fills nothing: transactions are built and signed here), nor
/// with the no-ops that fill a nonce gap (`Follower::fill_nonce_gap`).
struct Releaser<'e, 'a> {
    ctx: &'e Ctx<'a>,
    next_nonce: &'e mut Option<u64>,
    sign_again: &'e mut Option<Vec<QueuedRelease>>,
    gas_model: &'e mut Option<GasModel>,
    gas_cursor: &'e mut Option<TransferId>,
    /// Hashes sent this step, to remember as in the node's pool.
    sent: Vec<B256>,
}

impl<'a> std::ops::Deref for Follower<'_, 'a> {
    type Target = Ctx<'a>;
    fn deref(&self) -> &Ctx<'a> {
        self.ctx
    }
}

impl<'a> std::ops::Deref for Releaser<'_, 'a> {
    type Target = Ctx<'a>;
    fn deref(&self) -> &Ctx<'a> {
        self.ctx
    }
}

impl<'a> EvmExecutor<'a> {
    pub fn new(
        settings: &'a Settings,
        store: &'a Store,
        chain: &'a EvmChain,
        chain_name: &str,
    ) -> Result<EvmExecutor<'a>, RelayerError> {
        let c = settings
            .chain(chain_name)
            .ok_or_else(|| rejected(chain_name, "no such chain in the config"))?;
        let key = c
            .relayer_key
            .as_ref()
            .ok_or_else(|| rejected(chain_name, "relayer_key is not set"))?;
        let signer = atoll_adapters::secrets::evm_signer(key)?;
        let vault = match &c.bridge_vault {
            Some(Address::Evm(a)) => EvmAddress::from(*a),
            _ => return Err(rejected(chain_name, "bridge_vault is not set")),
        };
        Ok(EvmExecutor {
            ctx: Ctx {
                settings,
                name: c.name.clone(),
                store,
                chain,
                chain_id: c.chain_id.0,
                vault,
                signer,
                eip1559: !matches!(c.fee_model, Some(FeeModel::Legacy)),
                relayer: settings.relayer.clone(),
                max_gas_price: c.max_gas_price_wei,
            },
            in_pool_at: HashMap::new(),
            next_nonce: None,
            sign_again: None,
            gas_model: None,
            gas_cursor: None,
            settled_block: None,
        })
    }

    /// The relayer account on this chain.
    pub fn account(&self) -> EvmAddress {
        self.ctx.account()
    }

    /// One pass: follow pending transactions, release what is queued, and confirm final ones,
    /// in that order (each phase writes the store in turn; the node mines what was sent while
    /// the confirmations are written).
    pub async fn step(&mut self) -> Result<ExecutorReport, RelayerError> {
        let ctx = &self.ctx;
        let started = Instant::now();
        let mined = ctx.chain.mined_nonce(ctx.account()).await?;
        let pending = ctx
            .store
            .release_txs(ctx.chain_id, ReleaseTxStatus::Pending)
            .await?;
        // Slots are counted before the pending transactions are followed: following settles
        // used nonces only, so the open ones are the same before and after.
        let open: BTreeSet<u64> = pending
            .iter()
            .filter(|t| t.nonce >= mined)
            .map(|t| t.nonce)
            .collect();
        let paused = ctx
            .store
            .chain_states()
            .await?
            .iter()
            .any(|c| u64::try_from(c.chain_id).ok() == Some(ctx.chain_id) && c.paused);
        let mut follower = Follower {
            ctx,
            in_pool_at: &mut self.in_pool_at,
            settled_block: &mut self.settled_block,
            findings: Findings::default(),
        };
        let mut releaser = Releaser {
            ctx,
            next_nonce: &mut self.next_nonce,
            sign_again: &mut self.sign_again,
            gas_model: &mut self.gas_model,
            gas_cursor: &mut self.gas_cursor,
            sent: Vec::new(),
        };
        // The store is one writer: what goes first is what the node gets first. Following
        // settles the last step's transactions (so the vault's balance and what is on its way
        // agree), then new releases are signed, stored and sent, and the node mines them
        // while this step's confirmations are written.
        let mut r = ExecutorReport::default();
        let followed = follower
            .follow_pending(mined, pending, &mut r)
            .await
            .map(|_| r);
        let followed_ms = started.elapsed().as_millis();
        let mut r = ExecutorReport::default();
        let queued = if paused {
            Ok(r)
        } else {
            releaser
                .release_queued(mined, open.len(), &mut r)
                .await
                .map(|()| r)
        };
        let released_ms = started.elapsed().as_millis();
        let confirmed = confirm::confirm_final(ctx).await;
        let findings = follower.findings;
        let sent = releaser.sent;
        // Only once their move to `broadcast` is stored: a transaction counted as in the pool
        // is not checked for transfers still `signed` until `pool_recheck` has passed.
        if queued.is_ok() {
            let now = Instant::now();
            self.in_pool_at.extend(sent.into_iter().map(|h| (h, now)));
        }
        if findings.unminable {
            self.sign_again = None;
        }
        if findings.reverted
            && let Some(model) = &mut self.gas_model
        {
            model.stale = true;
        }
        let mut report = followed?;
        report.absorb(confirmed?);
        report.absorb(queued?);
        tracing::debug!(
            chain = %ctx.chain.name,
            ms = started.elapsed().as_millis(),
            followed_ms,
            released_ms,
            sent = report.sent.len(),
            included = report.included.len(),
            confirmed = report.confirmed.len(),
            "executor step"
        );
        Ok(report)
    }
}

/// Milliseconds since a stored `created_at_ms`.
fn age_ms(created_at_ms: i64) -> i64 {
    atoll_core::now_ms().saturating_sub(created_at_ms)
}

/// A queued transfer and the `releaseBatch` entry it is: what is simulated and signed.
#[derive(Debug, Clone)]
struct Ready {
    t: QueuedRelease,
    release: EvmRelease,
}

/// The `releaseBatch` entry of `t`, from its approved release. `None` when it was approved
/// without a destination token or amount, or with addresses that are not EVM addresses
/// (intake approves neither for an EVM destination).
fn release_of(t: &QueuedRelease) -> Option<EvmRelease> {
    match (t.dest_token, t.recipient, t.amount_out) {
        (Some(Address::Evm(token)), Address::Evm(recipient), Some(amount)) => Some(EvmRelease {
            id: B256::from(t.id.0),
            token: EvmAddress::from(token),
            recipient: EvmAddress::from(recipient),
            amount,
        }),
        _ => None,
    }
}

/// The fees a release transaction was signed with.
fn signed_fees(tx: &TrackedReleaseTx) -> GasFees {
    match tx.priority_fee {
        Some(priority_fee) => GasFees::Eip1559 {
            max_fee: tx.max_fee_per_gas,
            priority_fee,
        },
        None => GasFees::Legacy {
            gas_price: tx.max_fee_per_gas,
        },
    }
}

/// Ids of `carried` in `status`.
fn ids_in(carried: &[CarriedTransfer], status: TransferStatus) -> Vec<TransferId> {
    carried
        .iter()
        .filter(|t| t.status == status)
        .map(|t| t.id)
        .collect()
}
