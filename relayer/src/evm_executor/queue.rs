//! Releasing queued transfers into free in-flight slots: which transfers go out (those to sign
//! again first, then the queue), whether the vault can pay them, `releaseBatch` transactions
//! simulated with `eth_call` and signed on consecutive nonces, all persisted in one database
//! transaction, then sent in one JSON-RPC batch, highest nonce first
//! (`EvmChain::send_raw_batch`).

use std::collections::{HashMap, HashSet};

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address as EvmAddress, B256, U256};
use atoll_adapters::evm::releases::{EvmRelease, SendOutcome, SignedReleaseTx};
use atoll_core::reason::RetryCheck;
use atoll_core::{Address, Reason, TransferId, TransferStatus};
use atoll_store::release_txs::ReleaseWrite;
use atoll_store::transfers::QueuedRelease;
use futures::future::try_join_all;

use super::bisect::split_refused;
use super::{BATCH_BASE_GAS, GAS_MARGIN_PCT, GasModel, MAX_ATTEMPTS, Ready, Releaser, release_of};
use crate::{ExecutorReport, RelayerError};

/// What the simulation said of one batch.
struct CheckedBatch {
    /// What pays out as simulated.
    keep: Vec<Ready>,
    /// Already released on chain by a transaction we have no record of.
    released_elsewhere: Vec<Ready>,
    /// Refused by the token (the simulation pays them nothing and the token says why): they
    /// are taken out alone ([`Releaser::set_aside`]), and the rest of the batch goes.
    refused: Vec<(Ready, Reason)>,
    /// Paid nothing by the simulation, the token naming no reason (the vault just emptied,
    /// say): they wait for liquidity, as a short vault's releases do.
    unpaid: Vec<(Ready, Reason)>,
}

/// Why a transfer is `stuck`, with the operator's way out.
pub(crate) fn stuck_reason(attempts: u64, id: TransferId) -> Reason {
    Reason::AttemptsUsedUp {
        attempts,
        id,
        last: None,
        checks: RetryCheck::Chain,
    }
}

const RELEASED_ELSEWHERE: Reason = Reason::AlreadyReleasedOnChain {
    claim_account: false,
};

/// What becomes of a transfer waiting to be signed again (stage
/// [`BroadcastStage::ToSignAgain`](atoll_store::release_txs::BroadcastStage::ToSignAgain)).
/// Its stored status is `broadcast` in each case until it is acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignAgain {
    /// Its attempts are used up: `broadcast → stuck`, nothing signed until an operator
    /// retries it.
    AttemptsUsedUp,
    /// The vault shows it released by a transaction this database has no record of: nothing
    /// is signed, and it is left in `broadcast` for an operator (logged each time it is
    /// looked at).
    ReleasedElsewhere,
    /// Signed again, this step or a later one with a free slot (`broadcast → signed`).
    Sign,
}

impl SignAgain {
    /// Decided before the chain is asked: used up after `attempts` releases signed, or
    /// `None` while attempts are left.
    fn by_attempts(attempts: u64) -> Option<SignAgain> {
        (attempts >= MAX_ATTEMPTS).then_some(SignAgain::AttemptsUsedUp)
    }

    /// With attempts left: whether the vault shows it `released` already decides.
    fn by_vault(released: bool) -> SignAgain {
        if released {
            SignAgain::ReleasedElsewhere
        } else {
            SignAgain::Sign
        }
    }
}

/// The entries of a batch, as the vault takes them.
fn entries(batch: &[Ready]) -> Vec<EvmRelease> {
    batch.iter().map(|r| r.release).collect()
}

/// The EVM tokens `queue` releases.
fn tokens_of(queue: &[QueuedRelease]) -> HashSet<EvmAddress> {
    queue
        .iter()
        .filter_map(|t| match t.dest_token {
            Some(Address::Evm(token)) => Some(EvmAddress::from(token)),
            _ => None,
        })
        .collect()
}

/// What [`place_by_liquidity`] placed.
struct Placed {
    /// Releases the vault can pay, at most `cap` of them, in queue order.
    ready: Vec<Ready>,
    /// Transfers to sign again that wait for the next step.
    kept_back: Vec<QueuedRelease>,
}

/// Places `queue` in order against what the vault can pay (`left`, taken from as releases
/// are placed), at most `cap` releases: one without a release fails, one the vault is short
/// for waits for liquidity, one that was waiting and now fits is `source_final` again. Their
/// moves go to `writes`, the refilled ones last, together.
fn place_by_liquidity(
    queue: Vec<QueuedRelease>,
    left: &mut HashMap<EvmAddress, U256>,
    cap: usize,
    writes: &mut Vec<ReleaseWrite>,
    report: &mut ExecutorReport,
) -> Placed {
    use TransferStatus::*;
    let mut ready: Vec<Ready> = Vec::new();
    let mut kept_back: Vec<QueuedRelease> = Vec::new();
    let mut refilled = Vec::new();
    for t in queue {
        let again = t.status == Broadcast;
        if ready.len() >= cap {
            // No room this step: a transfer to sign again keeps its place for the next.
            if again {
                kept_back.push(t);
            }
            continue;
        }
        let Some(release) = release_of(&t) else {
            let why = Reason::ApprovedWithoutRelease;
            if t.status == SourceFinal {
                writes.push(ReleaseWrite::Move {
                    ids: vec![t.id],
                    from: SourceFinal,
                    to: Failed,
                    reason: why.clone(),
                    tx_hash: None,
                });
            }
            report.failed.push((t.id.to_string(), why.to_string()));
            continue;
        };
        let (token, amount) = (release.token, release.amount);
        let holds = left.get(&token).copied().unwrap_or_default();
        if holds < amount {
            if t.status == SourceFinal {
                writes.push(ReleaseWrite::Move {
                    ids: vec![t.id],
                    from: SourceFinal,
                    to: AwaitingLiquidity,
                    reason: Reason::VaultShort {
                        token: token.to_string().to_lowercase(),
                        holds,
                        needs: amount,
                    },
                    tx_hash: None,
                });
                report.awaiting_liquidity.push(t.id.to_string());
            }
            if again {
                kept_back.push(t);
            }
            continue;
        }
        left.insert(token, holds - amount);
        let mut t = t;
        if t.status == AwaitingLiquidity {
            refilled.push(t.id);
            t.status = SourceFinal;
        }
        ready.push(Ready { t, release });
    }
    writes.push(ReleaseWrite::Move {
        ids: refilled,
        from: AwaitingLiquidity,
        to: SourceFinal,
        reason: Reason::VaultHoldsEnough,
        tx_hash: None,
    });
    Placed { ready, kept_back }
}

impl Releaser<'_, '_> {
    /// Releases what the free in-flight slots allow: the transfers to sign again, then the
    /// queue, placed against what the vault can pay, simulated, signed, persisted and sent.
    /// Every state change is persisted before its side effect.
    pub(super) async fn release_queued(
        &mut self,
        mined: u64,
        open_nonces: usize,
        report: &mut ExecutorReport,
    ) -> Result<(), RelayerError> {
        let slots = usize::try_from(self.relayer.max_in_flight)
            .unwrap_or(usize::MAX)
            .saturating_sub(open_nonces);
        if slots == 0 {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let sign_again = match self.sign_again.take() {
            Some(list) => list,
            None => self.derive_sign_again().await?,
        };
        let again_ids: HashSet<TransferId> = sign_again.iter().map(|t| t.id).collect();
        let cap = slots.saturating_mul(self.batch_max());
        let queue = self.collect_queue(sign_again, cap).await?;
        if queue.is_empty() {
            *self.sign_again = Some(Vec::new());
            return Ok(());
        }
        // Routes that release only when profitable hold back what does not pay its gas now.
        let mut writes = Vec::new();
        let queue = self.weigh_gas(queue, &mut writes, report).await?;
        let mut left = self.liquidity(&tokens_of(&queue), &again_ids).await?;
        let Placed {
            ready,
            mut kept_back,
        } = place_by_liquidity(queue, &mut left, cap, &mut writes, report);

        let batches: Vec<Vec<Ready>> = ready
            .chunks(self.batch_max())
            .map(<[Ready]>::to_vec)
            .collect();
        let read_ms = started.elapsed().as_millis();
        let checked = try_join_all(batches.into_iter().map(|b| self.check_batch(b))).await?;
        let simulated_ms = started.elapsed().as_millis();
        let work = self
            .act_on_simulation(checked, &mut writes, &mut kept_back, report)
            .await?;
        self.store.apply_release_writes(&writes).await?;
        if work.is_empty() {
            *self.sign_again = Some(kept_back);
            return Ok(());
        }

        let signed = self
            .sign_work(mined, slots, work, &mut kept_back, report)
            .await?;
        tracing::debug!(chain = %self.chain.name, read_ms, simulated_ms, signed_ms = started.elapsed().as_millis(), txs = signed.len(), "release batches prepared");
        *self.sign_again = Some(kept_back);
        if self.relayer.dry_run {
            for (tx, ids) in signed {
                tracing::info!(chain = %self.chain.name, tx = %tx.hash, nonce = tx.nonce, releases = ids.len(), "dry run: signed, not sent");
                report
                    .dry_run
                    .extend(ids.into_iter().map(|(id, _)| id.to_string()));
            }
            return Ok(());
        }
        self.persist_then_send(signed, report).await
    }

    /// The transfers this step may release, in order: `sign_again` first, then a page (`cap`)
    /// each of those waiting for liquidity and the fresh ones, then the next page of those
    /// held for gas (advancing `gas_cursor`).
    async fn collect_queue(
        &mut self,
        sign_again: Vec<QueuedRelease>,
        cap: usize,
    ) -> Result<Vec<QueuedRelease>, RelayerError> {
        use TransferStatus::*;
        // Fresh releases and those waiting for liquidity are read apart, so a long line of
        // unpayable ones never hides payable ones behind it.
        let mut queue = sign_again;
        let page = u64::try_from(cap).unwrap_or(u64::MAX);
        for status in [AwaitingLiquidity, SourceFinal] {
            queue.extend(
                self.store
                    .queued_releases_to(self.chain_id, status, page)
                    .await?,
            );
        }
        // Releases held for gas are weighed a page per step, walking all of them in turn.
        let held = self
            .store
            .queued_releases_after(self.chain_id, AwaitingGas, *self.gas_cursor, page)
            .await?;
        *self.gas_cursor = if (held.len() as u64) < page {
            None
        } else {
            held.last().map(|t| t.id)
        };
        queue.extend(held);
        Ok(queue)
    }

    /// Acts on what the simulation said of each batch: releases already made elsewhere fail
    /// (or stay for an operator), refused ones are set aside, unpaid ones wait for liquidity;
    /// their moves go to `writes`. Returns the batches that pay out as simulated.
    async fn act_on_simulation(
        &self,
        checked: Vec<CheckedBatch>,
        writes: &mut Vec<ReleaseWrite>,
        kept_back: &mut Vec<QueuedRelease>,
        report: &mut ExecutorReport,
    ) -> Result<Vec<Vec<Ready>>, RelayerError> {
        use TransferStatus::*;
        let mut work: Vec<Vec<Ready>> = Vec::new();
        for c in checked {
            for Ready { t, .. } in c.released_elsewhere {
                tracing::error!(transfer = %t.id, "{RELEASED_ELSEWHERE}");
                if t.status == SourceFinal {
                    writes.push(ReleaseWrite::Move {
                        ids: vec![t.id],
                        from: SourceFinal,
                        to: Failed,
                        reason: RELEASED_ELSEWHERE,
                        tx_hash: None,
                    });
                }
                report
                    .failed
                    .push((t.id.to_string(), RELEASED_ELSEWHERE.to_string()));
            }
            for (r, why) in c.refused {
                tracing::warn!(transfer = %r.t.id, %why, "payout refused; taken out alone");
                self.set_aside(r.t, why, writes, report).await?;
            }
            for (Ready { t, .. }, why) in c.unpaid {
                if t.status == SourceFinal {
                    writes.push(ReleaseWrite::Move {
                        ids: vec![t.id],
                        from: SourceFinal,
                        to: AwaitingLiquidity,
                        reason: why,
                        tx_hash: None,
                    });
                    report.awaiting_liquidity.push(t.id.to_string());
                } else {
                    kept_back.push(t);
                }
            }
            if !c.keep.is_empty() {
                work.push(c.keep);
            }
        }
        Ok(work)
    }

    /// Signs `work` ([`Releaser::sign_batches`]), then sets aside, persisted at once, the
    /// releases too dear to sign.
    async fn sign_work(
        &mut self,
        mined: u64,
        slots: usize,
        work: Vec<Vec<Ready>>,
        kept_back: &mut Vec<QueuedRelease>,
        report: &mut ExecutorReport,
    ) -> Result<Vec<(SignedReleaseTx, Vec<(TransferId, TransferStatus)>)>, RelayerError> {
        let mut too_dear = Vec::new();
        let signed = self
            .sign_batches(mined, slots, work, kept_back, &mut too_dear)
            .await?;
        let mut dear_writes = Vec::new();
        for (r, why) in too_dear {
            tracing::error!(chain = %self.chain.name, transfer = %r.t.id, %why);
            self.set_aside(r.t, why, &mut dear_writes, report).await?;
        }
        self.store.apply_release_writes(&dear_writes).await?;
        Ok(signed)
    }

    /// Signs `work` (largest first off the end) on consecutive nonces, at most `slots`
    /// transactions; a batch over `batch_max_gas` is halved. Transfers to sign again that did
    /// not fit go back to `kept_back`.
    async fn sign_batches(
        &mut self,
        mined: u64,
        slots: usize,
        mut work: Vec<Vec<Ready>>,
        kept_back: &mut Vec<QueuedRelease>,
        too_dear: &mut Vec<(Ready, Reason)>,
    ) -> Result<Vec<(SignedReleaseTx, Vec<(TransferId, TransferStatus)>)>, RelayerError> {
        let fees = self.chain.fee_estimate(self.eip1559).await?;
        if fees.ceiling() > self.max_gas_price {
            // Bounded absolutely: nothing is signed above the chain's ceiling; the work waits.
            tracing::warn!(chain = %self.chain.name, fee_per_gas = fees.ceiling(), max_gas_price_wei = self.max_gas_price, "gas price above max_gas_price_gwei: releases wait");
            kept_back.extend(
                work.into_iter()
                    .flatten()
                    .map(|r| r.t)
                    .filter(|t| t.status == TransferStatus::Broadcast),
            );
            return Ok(Vec::new());
        }
        let mut nonce = match *self.next_nonce {
            Some(n) => n.max(mined),
            None => {
                let highest = self.store.highest_release_nonce(self.chain_id).await?;
                highest.map_or(mined, |h| (h + 1).max(mined))
            }
        };
        work.reverse();
        let mut signed = Vec::new();
        while signed.len() < slots {
            let Some(batch) = work.pop() else {
                break;
            };
            let releases = entries(&batch);
            let gas_limit = self.gas_limit(&releases).await?;
            if gas_limit > self.relayer.batch_max_gas && batch.len() > 1 {
                // Too heavy for one transaction: halve it.
                let (a, b) = batch.split_at(batch.len() / 2);
                work.push(b.to_vec());
                work.push(a.to_vec());
                continue;
            }
            if gas_limit > self.relayer.batch_max_gas {
                // One release dearer than a whole batch may be (a token that burns gas):
                // never signed; an operator raises the bound and retries, or looks closer.
                let why = Reason::GasAboveBatchMax {
                    gas: gas_limit,
                    max: self.relayer.batch_max_gas,
                };
                too_dear.extend(batch.into_iter().map(|r| (r, why.clone())));
                continue;
            }
            let tx = self
                .chain
                .sign_release_batch(&self.signer, self.vault, &releases, nonce, gas_limit, fees)
                .await?;
            let ids = batch
                .iter()
                .map(|r| {
                    let from = if r.t.status == TransferStatus::Broadcast {
                        TransferStatus::Broadcast
                    } else {
                        TransferStatus::SourceFinal
                    };
                    (r.t.id, from)
                })
                .collect();
            signed.push((tx, ids));
            nonce += 1;
        }
        // Batches not signed this step: transfers to sign again keep their place.
        kept_back.extend(
            work.into_iter()
                .flatten()
                .map(|r| r.t)
                .filter(|t| t.status == TransferStatus::Broadcast),
        );
        if !self.relayer.dry_run {
            *self.next_nonce = Some(nonce);
        }
        Ok(signed)
    }

    /// The gas limit of a batch: from the learned cost per release, or from `eth_estimateGas`
    /// when none is known yet (or a revert made it stale); plus the margin.
    async fn gas_limit(&mut self, releases: &[EvmRelease]) -> Result<u64, RelayerError> {
        let n = u64::try_from(releases.len()).unwrap_or(u64::MAX);
        let estimate = match *self.gas_model {
            Some(model) if !model.stale => {
                BATCH_BASE_GAS.saturating_add(model.per_release.saturating_mul(n))
            }
            known => {
                let estimate = self
                    .chain
                    .estimate_release_batch_gas(self.vault, self.account(), releases)
                    .await?;
                let per_release = estimate
                    .saturating_sub(BATCH_BASE_GAS)
                    .div_ceil(n.max(1))
                    .max(known.map_or(0, |m| m.per_release));
                *self.gas_model = Some(GasModel {
                    per_release,
                    stale: false,
                });
                estimate
            }
        };
        Ok(estimate.saturating_add(estimate * GAS_MARGIN_PCT / 100))
    }

    /// Every signed transaction and its transfers' move to `signed` in one database
    /// transaction, then all sent in one JSON-RPC batch, highest nonce first (the lowest,
    /// arriving last, makes the run executable at once); those the node took move to
    /// `broadcast` together. A send that fails is already persisted: the next step sends the
    /// same bytes.
    async fn persist_then_send(
        &mut self,
        signed: Vec<(SignedReleaseTx, Vec<(TransferId, TransferStatus)>)>,
        report: &mut ExecutorReport,
    ) -> Result<(), RelayerError> {
        let writes: Vec<ReleaseWrite> = signed
            .iter()
            .map(|(tx, ids)| ReleaseWrite::Signed {
                tx: self.new_release_tx(tx),
                carried: ids.clone(),
            })
            .collect();
        let started = std::time::Instant::now();
        self.store.apply_release_writes(&writes).await?;
        let persisted_ms = started.elapsed().as_millis();
        let mut moves = Vec::new();
        // One request for the step's transactions: a node that mines on arrival takes them
        // into one block, not one block each.
        let raws: Vec<_> = signed.iter().map(|(tx, _)| tx.raw.clone()).collect();
        let outcomes: Vec<Result<SendOutcome, String>> =
            match self.chain.send_raw_batch(&raws).await {
                Ok(outcomes) => outcomes
                    .into_iter()
                    .map(|o| o.map_err(|e| e.to_string()))
                    .collect(),
                Err(e) => {
                    let reason = e.to_string();
                    raws.iter().map(|_| Err(reason.clone())).collect()
                }
            };
        for ((tx, ids), outcome) in signed.into_iter().zip(outcomes) {
            let hash = tx.hash;
            let carried: Vec<TransferId> = ids.into_iter().map(|(id, _)| id).collect();
            match outcome {
                Ok(SendOutcome::Accepted | SendOutcome::AlreadyKnown) => {
                    moves.push(ReleaseWrite::Move {
                        ids: carried.clone(),
                        from: TransferStatus::Signed,
                        to: TransferStatus::Broadcast,
                        reason: Reason::SentAtNonce {
                            tx: hash,
                            nonce: tx.nonce,
                            replacing: None,
                        },
                        tx_hash: Some(hash),
                    });
                    self.sent.push(hash);
                }
                Ok(outcome) => {
                    // Nonce taken: the next step settles that nonce; start again from the chain.
                    tracing::warn!(chain = %self.chain.name, tx = %hash, nonce = tx.nonce, ?outcome, "nonce taken; reconciling");
                    *self.next_nonce = None;
                }
                Err(e) => {
                    tracing::warn!(chain = %self.chain.name, tx = %hash, error = %e, "send failed; will resend the stored transaction");
                    report.failed_txs.push((hash, e));
                }
            }
            report
                .sent
                .extend(carried.iter().map(TransferId::to_string));
        }
        let sent_ms = started.elapsed().as_millis();
        self.store.apply_release_writes(&moves).await?;
        tracing::debug!(chain = %self.chain.name, persisted_ms, sent_ms, broadcast_ms = started.elapsed().as_millis(), "release batches sent");
        Ok(())
    }

    /// Transfers to sign again, from the store: `broadcast` behind a transaction that can
    /// never be mined (stage `BroadcastStage::ToSignAgain`). What becomes of each is a
    /// [`SignAgain`]: those signed `MAX_ATTEMPTS` times already become `stuck`, those released
    /// on chain anyway by a transaction we have no record of are left for an operator, the
    /// rest are returned.
    async fn derive_sign_again(&self) -> Result<Vec<QueuedRelease>, RelayerError> {
        let found = self.store.releases_to_sign_again(self.chain_id).await?;
        let (exhausted, retry): (Vec<_>, Vec<_>) = found
            .into_iter()
            .partition(|(_, n)| SignAgain::by_attempts(*n) == Some(SignAgain::AttemptsUsedUp));
        for (t, n) in &exhausted {
            // None of its transactions can be mined (that is what listed it): nothing is
            // signed again until an operator, having fixed the cause, retries it.
            let why = stuck_reason(*n, t.id);
            tracing::error!(chain = %self.chain.name, transfer = %t.id, attempts = n, "{why}");
            self.store
                .transition(
                    t.id,
                    TransferStatus::Broadcast,
                    TransferStatus::Stuck,
                    Some(&why),
                )
                .await?;
        }
        let released = try_join_all(retry.iter().map(|(t, _)| {
            self.chain
                .processed(self.vault, B256::from(t.id.0), BlockNumberOrTag::Latest)
        }))
        .await?;
        let mut out = Vec::new();
        for ((t, _), released) in retry.into_iter().zip(released) {
            if SignAgain::by_vault(released) == SignAgain::ReleasedElsewhere {
                tracing::error!(chain = %self.chain.name, transfer = %t.id, "{RELEASED_ELSEWHERE}; left in broadcast for an operator");
            } else {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// What the vault can pay now per token: its balance minus what releases on their way
    /// will take (transfers to sign again are counted once, when they are placed).
    async fn liquidity(
        &self,
        tokens: &HashSet<EvmAddress>,
        sign_again: &HashSet<TransferId>,
    ) -> Result<HashMap<EvmAddress, U256>, RelayerError> {
        let balances = try_join_all(tokens.iter().map(|&token| async move {
            let balance = self.chain.token_balance(token, self.vault).await?;
            Ok::<_, RelayerError>((token, balance))
        }))
        .await?;
        let mut left: HashMap<EvmAddress, U256> = balances.into_iter().collect();
        let on_their_way = self
            .store
            .amounts_out_to(
                self.chain_id,
                &[TransferStatus::Signed, TransferStatus::Broadcast],
            )
            .await?;
        for (id, token, amount) in on_their_way {
            if sign_again.contains(&id) {
                continue;
            }
            if let (Some(Address::Evm(token)), Some(amount)) = (token, amount)
                && let Some(v) = left.get_mut(&EvmAddress::from(token))
            {
                *v = v.saturating_sub(amount);
            }
        }
        Ok(left)
    }

    /// Simulates a batch; entries that would not pay out are taken out with their reason.
    async fn check_batch(&self, batch: Vec<Ready>) -> Result<CheckedBatch, RelayerError> {
        let releases = entries(&batch);
        let pays = self
            .chain
            .simulate_release_batch(self.vault, self.account(), &releases)
            .await?;
        if usize::try_from(pays).ok() == Some(batch.len()) {
            return Ok(CheckedBatch {
                keep: batch,
                released_elsewhere: Vec::new(),
                refused: Vec::new(),
                unpaid: Vec::new(),
            });
        }
        let processed = try_join_all(releases.iter().map(|r| {
            self.chain
                .processed(self.vault, r.id, BlockNumberOrTag::Latest)
        }))
        .await?;
        let (mut keep, mut released_elsewhere) = (Vec::new(), Vec::new());
        for (t, done) in batch.into_iter().zip(processed) {
            if done {
                released_elsewhere.push(t);
            } else {
                keep.push(t);
            }
        }
        let (mut refused, mut unpaid) = (Vec::new(), Vec::new());
        if !keep.is_empty() {
            let releases = entries(&keep);
            let pays = self
                .chain
                .simulate_release_batch(self.vault, self.account(), &releases)
                .await?;
            let pays = usize::try_from(pays).unwrap_or(usize::MAX);
            let (paid, not_paid) = split_refused(keep, pays, |group: Vec<Ready>| async move {
                let releases = entries(&group);
                let pays = self
                    .chain
                    .simulate_release_batch(self.vault, self.account(), &releases)
                    .await?;
                Ok::<_, RelayerError>(usize::try_from(pays).unwrap_or(usize::MAX))
            })
            .await?;
            keep = paid;
            for ready in not_paid {
                let r = ready.release;
                match self
                    .chain
                    .transfer_refusal(r.token, self.vault, r.recipient, r.amount)
                    .await?
                {
                    Some(said) => refused.push((
                        ready,
                        Reason::TokenRefused {
                            recipient: r.recipient.to_string(),
                            said,
                        },
                    )),
                    None => unpaid.push((ready, Reason::UnpaidInSimulation)),
                }
            }
        }
        Ok(CheckedBatch {
            keep,
            released_elsewhere,
            refused,
            unpaid,
        })
    }

    /// Takes a release the token refuses (or one too dear to sign) out alone: `failed` when
    /// nothing was ever signed for it (the operator's `retry` sends it through validation
    /// again), `stuck` when earlier attempts exist (a transfer to sign again, or one back from
    /// a mined batch that could not pay it), so the retry reads the chain before signing.
    async fn set_aside(
        &self,
        t: QueuedRelease,
        why: Reason,
        writes: &mut Vec<ReleaseWrite>,
        report: &mut ExecutorReport,
    ) -> Result<(), RelayerError> {
        use TransferStatus::*;
        let from = if t.status == Broadcast {
            Broadcast
        } else {
            SourceFinal
        };
        let to = if from == Broadcast || self.store.attempt_count(t.id).await? > 0 {
            Stuck
        } else {
            Failed
        };
        report.failed.push((t.id.to_string(), why.to_string()));
        writes.push(ReleaseWrite::Move {
            ids: vec![t.id],
            from,
            to,
            reason: why,
            tx_hash: None,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_ATTEMPTS, SignAgain};

    #[test]
    fn a_transfer_to_sign_again_is_signed_only_with_attempts_left_and_no_release_on_chain() {
        assert_eq!(SignAgain::by_attempts(0), None);
        assert_eq!(SignAgain::by_attempts(MAX_ATTEMPTS - 1), None);
        assert_eq!(
            SignAgain::by_attempts(MAX_ATTEMPTS),
            Some(SignAgain::AttemptsUsedUp)
        );
        assert_eq!(SignAgain::by_vault(false), SignAgain::Sign);
        assert_eq!(SignAgain::by_vault(true), SignAgain::ReleasedElsewhere);
    }
}
