//! Releases on an EVM chain through `BridgeVault.releaseBatch`: simulation (`eth_call`) and gas
//! estimation before signing, fees (EIP-1559 or a legacy gas price), signing offline so the
//! bytes can be persisted before they are sent, sending those exact bytes (again, after a
//! restart or a drop), and reading what a mined transaction did to each transfer from its logs.
//!
//! Send errors are sorted into what the nonce manager acts on: the node already has the
//! transaction, the nonce is already used, or a transaction at that nonce pays more.

use alloy::eips::{BlockId, BlockNumberOrTag, Encodable2718};
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent};

use super::EvmChain;
use super::abi::{BridgeVault, IERC20};
use super::rpc::Fault;
use crate::AdapterError;

/// One entry of a `releaseBatch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvmRelease {
    pub id: B256,
    pub token: Address,
    pub recipient: Address,
    pub amount: U256,
}

/// What a transaction pays for gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GasFees {
    Eip1559 { max_fee: u128, priority_fee: u128 },
    Legacy { gas_price: u128 },
}

impl GasFees {
    /// The most a unit of gas may cost (max fee, or the gas price).
    pub fn ceiling(&self) -> u128 {
        match *self {
            GasFees::Eip1559 { max_fee, .. } => max_fee,
            GasFees::Legacy { gas_price } => gas_price,
        }
    }

    /// Whether these fees may replace `last` at its nonce: every component at least
    /// `min_bump_pct` % (and 1 wei) over the last's, what nodes require.
    pub fn replaces(&self, last: &GasFees, min_bump_pct: u128) -> bool {
        let enough = |new: u128, old: u128| {
            new >= old
                .saturating_mul(100 + min_bump_pct)
                .div_ceil(100)
                .max(old.saturating_add(1))
        };
        match (*self, *last) {
            (
                GasFees::Eip1559 {
                    max_fee,
                    priority_fee,
                },
                GasFees::Eip1559 {
                    max_fee: last_fee,
                    priority_fee: last_tip,
                },
            ) => enough(max_fee, last_fee) && enough(priority_fee, last_tip),
            (GasFees::Legacy { gas_price }, GasFees::Legacy { gas_price: last }) => {
                enough(gas_price, last)
            }
            _ => false,
        }
    }

    /// The same fees, no component above `cap` per gas.
    pub fn capped(&self, cap: u128) -> GasFees {
        match *self {
            GasFees::Eip1559 {
                max_fee,
                priority_fee,
            } => GasFees::Eip1559 {
                max_fee: max_fee.min(cap),
                priority_fee: priority_fee.min(cap),
            },
            GasFees::Legacy { gas_price } => GasFees::Legacy {
                gas_price: gas_price.min(cap),
            },
        }
    }

    pub fn priority(&self) -> Option<u128> {
        match *self {
            GasFees::Eip1559 { priority_fee, .. } => Some(priority_fee),
            GasFees::Legacy { .. } => None,
        }
    }

    /// A replacement's fees: at least `min_bump_pct` % over `self` on every component (what
    /// nodes require to replace at the same nonce), at least the current estimate, and never
    /// over `max_multiple` × the current estimate. `None` when the ceiling does not leave room
    /// for the minimum bump: the transaction keeps waiting rather than running the fee away.
    pub fn bumped(
        &self,
        estimate: GasFees,
        min_bump_pct: u128,
        max_multiple: f64,
    ) -> Option<GasFees> {
        let up = |v: u128| {
            v.saturating_mul(100 + min_bump_pct)
                .div_ceil(100)
                .max(v.saturating_add(1))
        };
        let cap = |v: u128| {
            // f64 holds wei amounts to 2^53 exactly; fee caps beyond that are not precise
            // anyway and the ceiling only needs to bound.
            (v as f64 * max_multiple) as u128
        };
        match (*self, estimate) {
            (
                GasFees::Eip1559 {
                    max_fee,
                    priority_fee,
                },
                GasFees::Eip1559 {
                    max_fee: est_fee,
                    priority_fee: est_tip,
                },
            ) => {
                let new_fee = up(max_fee).max(est_fee);
                let new_tip = up(priority_fee).max(est_tip).min(new_fee);
                (new_fee <= cap(est_fee) && new_tip >= up(priority_fee)).then_some(
                    GasFees::Eip1559 {
                        max_fee: new_fee,
                        priority_fee: new_tip,
                    },
                )
            }
            (GasFees::Legacy { gas_price }, GasFees::Legacy { gas_price: est }) => {
                let new = up(gas_price).max(est);
                (new <= cap(est)).then_some(GasFees::Legacy { gas_price: new })
            }
            // The chain's fee model changed under a pending transaction: start from the estimate.
            (_, estimate) => Some(estimate),
        }
    }
}

/// A signed release transaction, not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedReleaseTx {
    pub hash: B256,
    pub nonce: u64,
    pub gas_limit: u64,
    pub fees: GasFees,
    /// The EIP-2718 envelope, as sent.
    pub raw: Bytes,
}

/// How a node took a raw transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Accepted,
    /// It already has this very transaction (a resend).
    AlreadyKnown,
    /// The nonce is used by a mined transaction (ours or not).
    NonceTooLow,
    /// Another transaction waits at this nonce and pays as much or more.
    Underpriced,
}

/// What a mined release transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseReceipt {
    pub block_number: u64,
    pub block_hash: B256,
    /// False when the whole transaction reverted: nothing moved.
    pub success: bool,
    pub released: Vec<B256>,
    /// Already processed before this transaction (released earlier).
    pub skipped: Vec<B256>,
    /// The payout failed (e.g. the vault lacked the token): not processed, nothing moved.
    pub failed: Vec<B256>,
}

impl ReleaseReceipt {
    /// A transaction's outcome before any of its logs is sorted in.
    fn new(block_number: u64, block_hash: B256, success: bool) -> ReleaseReceipt {
        ReleaseReceipt {
            block_number,
            block_hash,
            success,
            released: Vec::new(),
            skipped: Vec::new(),
            failed: Vec::new(),
        }
    }

    /// Sorts one of the vault's logs into what it says of its transfer; other events are
    /// left out.
    fn record(&mut self, log: &alloy::primitives::Log) {
        if let Ok(e) = BridgeVault::TransferReleased::decode_log(log) {
            self.released.push(e.data.id);
        } else if let Ok(e) = BridgeVault::ReleaseSkipped::decode_log(log) {
            self.skipped.push(e.data.id);
        } else if let Ok(e) = BridgeVault::ReleaseFailed::decode_log(log) {
            self.failed.push(e.data.id);
        }
    }
}

/// The `releaseBatch` calldata for these entries (what the relayer signs and simulates).
pub fn batch_call(releases: &[EvmRelease]) -> Bytes {
    let entries = releases
        .iter()
        .map(|r| BridgeVault::Release {
            id: r.id,
            token: r.token,
            recipient: r.recipient,
            amount: r.amount,
        })
        .collect();
    BridgeVault::releaseBatchCall { releases: entries }
        .abi_encode()
        .into()
}

fn request(from: Address, vault: Address, releases: &[EvmRelease]) -> TransactionRequest {
    TransactionRequest::default()
        .with_from(from)
        .with_to(vault)
        .with_input(batch_call(releases))
}

impl EvmChain {
    /// Runs the batch as `from` without sending it: how many entries would pay out. A revert
    /// (vault paused, `from` not a relayer) is `RpcRejected` with the node's reason.
    pub async fn simulate_release_batch(
        &self,
        vault: Address,
        from: Address,
        releases: &[EvmRelease],
    ) -> Result<u64, AdapterError> {
        let tx = request(from, vault, releases);
        let out = self
            .rpc
            .call("eth_call", |p| {
                let tx = tx.clone();
                async move { p.call(tx).await }
            })
            .await?;
        let released = BridgeVault::releaseBatchCall::abi_decode_returns(&out).map_err(|e| {
            AdapterError::RpcRejected {
                chain: self.name.clone(),
                method: "eth_call",
                endpoint: String::new(),
                reason: format!("releaseBatch returned undecodable data: {e}"),
            }
        })?;
        Ok(u64::try_from(released).unwrap_or(u64::MAX))
    }

    pub async fn estimate_release_batch_gas(
        &self,
        vault: Address,
        from: Address,
        releases: &[EvmRelease],
    ) -> Result<u64, AdapterError> {
        let tx = request(from, vault, releases);
        self.rpc
            .call("eth_estimateGas", |p| {
                let tx = tx.clone();
                async move { p.estimate_gas(tx).await }
            })
            .await
    }

    /// The fees a transaction should offer now.
    pub async fn fee_estimate(&self, eip1559: bool) -> Result<GasFees, AdapterError> {
        if eip1559 {
            let e = self
                .rpc
                .call("eth_feeHistory", |p| async move {
                    p.estimate_eip1559_fees().await
                })
                .await?;
            Ok(GasFees::Eip1559 {
                max_fee: e.max_fee_per_gas,
                priority_fee: e.max_priority_fee_per_gas,
            })
        } else {
            let gas_price = self
                .rpc
                .call("eth_gasPrice", |p| async move { p.get_gas_price().await })
                .await?;
            Ok(GasFees::Legacy { gas_price })
        }
    }

    /// The node's price per gas now (`eth_gasPrice`: base fee plus a tip on EIP-1559 chains):
    /// what a release is expected to pay per unit, for weighing it against its fee.
    pub async fn gas_price(&self) -> Result<u128, AdapterError> {
        self.rpc
            .call("eth_gasPrice", |p| async move { p.get_gas_price().await })
            .await
    }

    /// Signs a `releaseBatch` offline.
    pub async fn sign_release_batch(
        &self,
        signer: &PrivateKeySigner,
        vault: Address,
        releases: &[EvmRelease],
        nonce: u64,
        gas_limit: u64,
        fees: GasFees,
    ) -> Result<SignedReleaseTx, AdapterError> {
        let tx = request(signer.address(), vault, releases);
        self.sign(signer, tx, nonce, gas_limit, fees).await
    }

    /// Signs a gap no-op (0 value to itself) at `nonce`: a transaction that takes a nonce
    /// nobody else uses, so later transactions can be mined.
    pub async fn sign_gap_noop(
        &self,
        signer: &PrivateKeySigner,
        nonce: u64,
        fees: GasFees,
    ) -> Result<SignedReleaseTx, AdapterError> {
        let tx = TransactionRequest::default()
            .with_from(signer.address())
            .with_to(signer.address())
            .with_value(U256::ZERO);
        self.sign(signer, tx, nonce, 21_000, fees).await
    }

    pub(crate) async fn sign(
        &self,
        signer: &PrivateKeySigner,
        tx: TransactionRequest,
        nonce: u64,
        gas_limit: u64,
        fees: GasFees,
    ) -> Result<SignedReleaseTx, AdapterError> {
        let mut tx = tx
            .with_chain_id(self.chain_id)
            .with_nonce(nonce)
            .with_gas_limit(gas_limit);
        match fees {
            GasFees::Eip1559 {
                max_fee,
                priority_fee,
            } => {
                tx = tx
                    .with_max_fee_per_gas(max_fee)
                    .with_max_priority_fee_per_gas(priority_fee);
            }
            GasFees::Legacy { gas_price } => tx = tx.with_gas_price(gas_price),
        }
        let wallet = EthereumWallet::from(signer.clone());
        let envelope = tx
            .build(&wallet)
            .await
            .map_err(|e| AdapterError::RpcRejected {
                chain: self.name.clone(),
                method: "sign",
                endpoint: String::new(),
                reason: format!("building the release transaction: {e}"),
            })?;
        Ok(SignedReleaseTx {
            hash: *envelope.tx_hash(),
            nonce,
            gas_limit,
            fees,
            raw: envelope.encoded_2718().into(),
        })
    }

    /// Sends signed bytes. Sending the same bytes twice is harmless (one hash, one nonce), so
    /// transient faults are retried like any call.
    pub async fn send_raw(&self, raw: &Bytes) -> Result<SendOutcome, AdapterError> {
        let result = self
            .rpc
            .call("eth_sendRawTransaction", |p| {
                let raw = raw.clone();
                async move { p.send_raw_transaction(&raw).await.map(|_| ()) }
            })
            .await;
        match result {
            Ok(()) => Ok(SendOutcome::Accepted),
            Err(AdapterError::RpcRejected {
                reason, endpoint, ..
            }) => self.sort_refusal(endpoint, reason),
            Err(e) => Err(e),
        }
    }

    /// Sends signed transactions (given in nonce order) in one JSON-RPC batch, highest nonce
    /// first, and sorts each answer like [`EvmChain::send_raw`], returned in the order given.
    /// One request instead of one per transaction, and the node takes them into its pool
    /// together: a node that mines on arrival then puts them in one block instead of one block
    /// each. A node that refuses batches gets them one at a time, in nonce order.
    pub async fn send_raw_batch(
        &self,
        raws: &[Bytes],
    ) -> Result<Vec<Result<SendOutcome, AdapterError>>, AdapterError> {
        if raws.len() <= 1 {
            let mut out = Vec::with_capacity(raws.len());
            for raw in raws {
                out.push(self.send_raw(raw).await);
            }
            return Ok(out);
        }
        let weight = u32::try_from(raws.len()).unwrap_or(u32::MAX);
        let answered = self
            .rpc
            .call_weighted("eth_sendRawTransaction", weight, |p| async move {
                let mut batch = alloy::rpc::client::BatchRequest::new(p.client());
                // Highest nonce first: each waits in the pool until the lowest arrives, last,
                // and makes the whole run executable at once.
                let waiters = raws
                    .iter()
                    .rev()
                    .map(|raw| batch.add_call::<_, B256>("eth_sendRawTransaction", &(raw,)))
                    .collect::<Result<Vec<_>, _>>()?;
                batch.send().await?;
                let mut answers = Vec::with_capacity(waiters.len());
                for waiter in waiters {
                    answers.push(waiter.await.map(|_| ()));
                }
                answers.reverse();
                Ok(answers)
            })
            .await;
        let answers = match answered {
            Ok(answers) => answers,
            Err(AdapterError::RpcRejected { reason, .. }) => {
                tracing::debug!(chain = %self.name, %reason, "batch refused; sending one at a time");
                let mut out = Vec::with_capacity(raws.len());
                for raw in raws {
                    out.push(self.send_raw(raw).await);
                }
                return Ok(out);
            }
            Err(e) => return Err(e),
        };
        let endpoint = self.rpc.last_answered();
        Ok(answers
            .into_iter()
            .map(|answer| match answer {
                Ok(()) => Ok(SendOutcome::Accepted),
                Err(e) => match super::rpc::classify(&e) {
                    Fault::Permanent(reason) => self.sort_refusal(endpoint.clone(), reason),
                    Fault::Transient(last) => Err(AdapterError::RpcUnavailable {
                        chain: self.name.clone(),
                        method: "eth_sendRawTransaction",
                        attempts: 1,
                        last,
                    }),
                    Fault::RangeTooLarge { .. } => {
                        self.sort_refusal(endpoint.clone(), e.to_string())
                    }
                },
            })
            .collect())
    }

    /// What a node's refusal of a sent transaction means to the nonce manager.
    fn sort_refusal(&self, endpoint: String, reason: String) -> Result<SendOutcome, AdapterError> {
        if is_already_known(&reason) {
            Ok(SendOutcome::AlreadyKnown)
        } else if is_nonce_too_low(&reason) {
            Ok(SendOutcome::NonceTooLow)
        } else if is_underpriced(&reason) {
            Ok(SendOutcome::Underpriced)
        } else {
            Err(AdapterError::RpcRejected {
                chain: self.name.clone(),
                method: "eth_sendRawTransaction",
                endpoint,
                reason,
            })
        }
    }

    /// Transactions of `account` mined so far (its next nonce on chain, pending ones aside).
    pub async fn mined_nonce(&self, account: Address) -> Result<u64, AdapterError> {
        self.rpc
            .call("eth_getTransactionCount", move |p| async move {
                p.get_transaction_count(account)
                    .block_id(BlockId::Number(BlockNumberOrTag::Latest))
                    .await
            })
            .await
    }

    /// Whether the node knows the transaction (in its pool or mined).
    pub async fn knows_transaction(&self, hash: B256) -> Result<bool, AdapterError> {
        Ok(self
            .rpc
            .call("eth_getTransactionByHash", move |p| async move {
                p.get_transaction_by_hash(hash).await
            })
            .await?
            .is_some())
    }

    /// The receipt of a mined release transaction, read per transfer from the vault's logs.
    pub async fn release_receipt(
        &self,
        hash: B256,
        vault: Address,
    ) -> Result<Option<ReleaseReceipt>, AdapterError> {
        let Some(receipt) = self
            .rpc
            .call("eth_getTransactionReceipt", move |p| async move {
                p.get_transaction_receipt(hash).await
            })
            .await?
        else {
            return Ok(None);
        };
        let (Some(block_number), Some(block_hash)) = (receipt.block_number, receipt.block_hash)
        else {
            return Ok(None);
        };
        let mut out = ReleaseReceipt::new(block_number, block_hash, receipt.status());
        for log in receipt.inner.logs() {
            if log.address() == vault {
                out.record(&log.inner);
            }
        }
        Ok(Some(out))
    }

    /// What each release transaction mined in blocks `from..=to` did, read from the vault's
    /// logs in one request: keyed by transaction hash, `success` always true (a reverted
    /// transaction logs nothing, so it is absent here and its receipt tells).
    ///
    /// Cheaper than a receipt per transaction for the node as well as for us: anvil, for one,
    /// copies the whole block and every receipt in it to answer a single receipt, so reading
    /// a block of N batches receipt by receipt costs it N² copies.
    pub async fn release_logs(
        &self,
        vault: Address,
        from: u64,
        to: u64,
    ) -> Result<std::collections::HashMap<B256, ReleaseReceipt>, AdapterError> {
        let filter = alloy::rpc::types::Filter::new()
            .address(vault)
            .event_signature(vec![
                BridgeVault::TransferReleased::SIGNATURE_HASH,
                BridgeVault::ReleaseSkipped::SIGNATURE_HASH,
                BridgeVault::ReleaseFailed::SIGNATURE_HASH,
            ])
            .from_block(from)
            .to_block(to);
        let logs = self
            .rpc
            .call("eth_getLogs", move |p| {
                let filter = filter.clone();
                async move { p.get_logs(&filter).await }
            })
            .await?;
        let mut out: std::collections::HashMap<B256, ReleaseReceipt> =
            std::collections::HashMap::new();
        for log in logs {
            let (Some(tx), Some(block_number), Some(block_hash)) =
                (log.transaction_hash, log.block_number, log.block_hash)
            else {
                continue;
            };
            if log.removed || log.address() != vault {
                continue;
            }
            out.entry(tx)
                .or_insert_with(|| ReleaseReceipt::new(block_number, block_hash, true))
                .record(&log.inner);
        }
        Ok(out)
    }

    /// The hashes of the transactions in block `number`; `None` when the node has no such
    /// block. Enough to tell that a transaction is still where it was mined, at a fraction of
    /// the block's logs (which at thousands of releases a block are megabytes of JSON).
    pub async fn block_transaction_hashes(
        &self,
        number: u64,
    ) -> Result<Option<Vec<B256>>, AdapterError> {
        let block = self
            .rpc
            .call("eth_getBlockByNumber", move |p| async move {
                p.get_block_by_number(BlockNumberOrTag::Number(number))
                    .await
            })
            .await?;
        Ok(block.map(|b| b.transactions.hashes().collect()))
    }

    /// The number of the chain's latest block.
    pub async fn block_number(&self) -> Result<u64, AdapterError> {
        self.rpc
            .call(
                "eth_blockNumber",
                |p| async move { p.get_block_number().await },
            )
            .await
    }

    /// `processed(id)` on the vault at `block`: whether a release for `id` was executed.
    pub async fn processed(
        &self,
        vault: Address,
        id: B256,
        block: BlockNumberOrTag,
    ) -> Result<bool, AdapterError> {
        let tx = TransactionRequest::default()
            .with_to(vault)
            .with_input(Bytes::from(
                BridgeVault::processedCall::new((id,)).abi_encode(),
            ));
        let out = self
            .rpc
            .call("eth_call", |p| {
                let tx = tx.clone();
                async move { p.call(tx).block(BlockId::Number(block)).await }
            })
            .await?;
        BridgeVault::processedCall::abi_decode_returns(&out).map_err(|e| {
            AdapterError::RpcRejected {
                chain: self.name.clone(),
                method: "eth_call",
                endpoint: String::new(),
                reason: format!("processed() returned undecodable data: {e}"),
            }
        })
    }

    /// An ERC-20 balance.
    pub async fn token_balance(
        &self,
        token: Address,
        holder: Address,
    ) -> Result<U256, AdapterError> {
        self.view(
            token,
            IERC20::balanceOfCall { account: holder },
            "balanceOf",
        )
        .await
    }

    /// Why `token` would refuse to pay `amount` to `recipient` out of `vault` now, in the
    /// token's own words: an `eth_call` of `transfer` as the vault. `None` when it would pay.
    /// What names a refused batch entry to the operator (a blacklisted recipient, a balance
    /// that would overflow), since `releaseBatch` only counts what it paid.
    pub async fn transfer_refusal(
        &self,
        token: Address,
        vault: Address,
        recipient: Address,
        amount: U256,
    ) -> Result<Option<String>, AdapterError> {
        let tx = TransactionRequest::default()
            .with_from(vault)
            .with_to(token)
            .with_input(Bytes::from(
                IERC20::transferCall {
                    to: recipient,
                    amount,
                }
                .abi_encode(),
            ));
        let out = self
            .rpc
            .call("eth_call", |p| {
                let tx = tx.clone();
                async move { p.call(tx).await }
            })
            .await;
        match out {
            // Tokens that return nothing (USDT) pay when they do not revert.
            Ok(out) if out.is_empty() => Ok(None),
            Ok(out) => Ok(match IERC20::transferCall::abi_decode_returns(&out) {
                Ok(true) => None,
                Ok(false) => Some("the token's transfer returned false".into()),
                Err(_) => Some(format!("the token's transfer returned {out}")),
            }),
            Err(AdapterError::RpcRejected { reason, .. }) => Ok(Some(reason)),
            Err(e) => Err(e),
        }
    }

    /// A token's `decimals()` (the only call: a token whose `symbol()` is a bytes32 still
    /// answers this).
    pub async fn token_decimals(&self, token: Address) -> Result<u8, AdapterError> {
        self.view(token, IERC20::decimalsCall {}, "decimals").await
    }

    /// `eth_call` of a view function at the latest block, its return decoded.
    pub(crate) async fn view<C: SolCall>(
        &self,
        to: Address,
        call: C,
        what: &str,
    ) -> Result<C::Return, AdapterError> {
        let tx = TransactionRequest::default()
            .with_to(to)
            .with_input(Bytes::from(call.abi_encode()));
        let out = self
            .rpc
            .call("eth_call", |p| {
                let tx = tx.clone();
                async move { p.call(tx).await }
            })
            .await?;
        C::abi_decode_returns(&out).map_err(|e| AdapterError::RpcRejected {
            chain: self.name.clone(),
            method: "eth_call",
            endpoint: String::new(),
            reason: format!("{what} returned undecodable data: {e}"),
        })
    }
}

fn is_already_known(reason: &str) -> bool {
    let r = reason.to_lowercase();
    r.contains("already known") || r.contains("already imported") || r.contains("known transaction")
}

fn is_nonce_too_low(reason: &str) -> bool {
    let r = reason.to_lowercase();
    r.contains("nonce too low")
        || r.contains("nonce has already been used")
        || r.contains("oldnonce")
}

fn is_underpriced(reason: &str) -> bool {
    let r = reason.to_lowercase();
    r.contains("replacement transaction underpriced") || r.contains("underpriced")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capped_bump_replaces_only_when_still_ten_percent_over() {
        let last = GasFees::Legacy {
            gas_price: 45_000_000_000,
        };
        let bumped = GasFees::Legacy {
            gas_price: 49_500_000_000,
        };
        assert!(bumped.replaces(&last, 10));
        // The chain's ceiling at 48 gwei leaves a 6.7% bump: no replacement, it waits.
        assert!(!bumped.capped(48_000_000_000).replaces(&last, 10));
        let last = GasFees::Eip1559 {
            max_fee: 100,
            priority_fee: 10,
        };
        let next = GasFees::Eip1559 {
            max_fee: 110,
            priority_fee: 11,
        };
        assert!(next.replaces(&last, 10));
        assert!(!next.capped(105).replaces(&last, 10));
    }

    #[test]
    fn bumps_are_at_least_ten_percent_and_at_most_the_multiple() {
        let est = GasFees::Eip1559 {
            max_fee: 100,
            priority_fee: 10,
        };
        let last = GasFees::Eip1559 {
            max_fee: 100,
            priority_fee: 10,
        };
        assert_eq!(
            last.bumped(est, 10, 3.0),
            Some(GasFees::Eip1559 {
                max_fee: 110,
                priority_fee: 11
            })
        );
        // A rising market: the estimate wins over +10%.
        let risen = GasFees::Eip1559 {
            max_fee: 200,
            priority_fee: 20,
        };
        assert_eq!(last.bumped(risen, 10, 3.0), Some(risen));
        // Already at 3× the estimate: no further bump.
        let high = GasFees::Eip1559 {
            max_fee: 290,
            priority_fee: 29,
        };
        assert_eq!(high.bumped(est, 10, 3.0), None);
        // Repeated bumps stop at the ceiling.
        let mut fees = last;
        let mut bumps = 0;
        while let Some(next) = fees.bumped(est, 10, 3.0) {
            assert!(next.ceiling() >= fees.ceiling() * 110 / 100);
            assert!(next.ceiling() <= 300);
            fees = next;
            bumps += 1;
        }
        assert!(bumps > 5 && bumps < 20, "{bumps}");
        let legacy = GasFees::Legacy { gas_price: 1_000 };
        assert_eq!(
            legacy.bumped(legacy, 10, 3.0),
            Some(GasFees::Legacy { gas_price: 1_100 })
        );
    }

    #[test]
    fn send_errors_are_sorted() {
        assert!(is_nonce_too_low("nonce too low: next nonce 5, tx nonce 3"));
        assert!(is_underpriced("replacement transaction underpriced"));
        assert!(is_already_known("already known"));
        assert!(!is_nonce_too_low("execution reverted"));
    }
}
