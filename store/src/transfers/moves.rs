//! One transfer's moves along the state machine, each in its own database transaction with
//! its history row: the gate's [`Store::transition`] and [`Store::approve_releases`], the
//! executors' [`Store::record_signed`] (the attempt is stored before it is sent), the
//! operator's [`Store::retry`] and [`Store::release_stuck`]; and pausing releases to a chain
//! ([`Store::set_paused`]). Moves of a release transaction's whole batch are in `release_txs`.
//! Read it to see which single-transfer moves exist and what each one writes.

use atoll_core::{Reason, TransferId, TransferStatus};
use sea_orm::sea_query::Query;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, TransactionTrait};

use super::rows::{PlannedRelease, SignedAttempt};
use super::status_write::move_status_in;
use crate::entities::{chains, transfer_attempts, transfers};
use crate::queries::{now_ms, to_i64};
use crate::{Store, StoreError};

impl Store {
    /// Moves transfer `id` from `from` to `to`, recording `reason` (the failure reason when
    /// `to` carries one, else why it moved) in its history, in one transaction. Fails
    /// without writing when the edge is not in the state machine, or when the transfer is no
    /// longer in `from` (another worker moved it first).
    pub async fn transition(
        &self,
        id: TransferId,
        from: TransferStatus,
        to: TransferStatus,
        reason: Option<&Reason>,
    ) -> Result<(), StoreError> {
        self.move_status(id, from, to, reason, Vec::new()).await
    }

    /// `observed → source_final` with the release the deposit becomes (its destination token,
    /// the amount out in the destination's decimals, the fee in the source's), written together.
    pub async fn approve_release(
        &self,
        id: TransferId,
        reason: &Reason,
        release: &PlannedRelease,
    ) -> Result<(), StoreError> {
        self.approve_releases(&[(id, reason.clone(), release.clone())])
            .await
    }

    /// [`Store::approve_release`] for many deposits in one database transaction (all or none):
    /// `(id, reason, release)` each.
    pub async fn approve_releases(
        &self,
        approvals: &[(TransferId, Reason, PlannedRelease)],
    ) -> Result<(), StoreError> {
        if approvals.is_empty() {
            return Ok(());
        }
        use transfers::Column as C;
        let _turn = self.write_turn().await;
        let txn = self.connection().begin().await?;
        for (id, reason, release) in approvals {
            move_status_in(
                &txn,
                *id,
                TransferStatus::Observed,
                TransferStatus::SourceFinal,
                Some(reason),
                vec![
                    (C::DestToken, Some(release.dest_token.to_string()).into()),
                    (C::AmountOut, Some(release.amount_out.to_string()).into()),
                    (C::Fee, Some(release.fee.to_string()).into()),
                ],
            )
            .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    async fn move_status(
        &self,
        id: TransferId,
        from: TransferStatus,
        to: TransferStatus,
        reason: Option<&Reason>,
        extra: Vec<(transfers::Column, sea_orm::Value)>,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let txn = self.connection().begin().await?;
        move_status_in(&txn, id, from, to, reason, extra).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Persists a signed release **before** it is sent: the attempt (raw transaction, nonce or
    /// blockhash, hash or signature, fee) and `from → signed`, in one transaction. `from` is
    /// `source_final`, or `broadcast` for a replacement (fee bump, fresh blockhash).
    pub async fn record_signed(
        &self,
        id: TransferId,
        from: TransferStatus,
        attempt: &SignedAttempt,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let txn = self.connection().begin().await?;
        let reason = Reason::Signed {
            tx: attempt.tx_hash.clone(),
        };
        move_status_in(
            &txn,
            id,
            from,
            TransferStatus::Signed,
            Some(&reason),
            Vec::new(),
        )
        .await?;
        transfer_attempts::Entity::insert(transfer_attempts::ActiveModel {
            transfer_id: Set(id.to_string()),
            chain_id: Set(to_i64("chain id", attempt.chain_id)?),
            nonce: Set(attempt.nonce.map(|n| to_i64("nonce", n)).transpose()?),
            blockhash: Set(attempt.blockhash.clone()),
            last_valid_block_height: Set(attempt
                .last_valid_block_height
                .map(|h| to_i64("block height", h))
                .transpose()?),
            tx_hash: Set(attempt.tx_hash.clone()),
            raw_tx: Set(attempt.raw_tx.clone()),
            max_fee_per_gas: Set(attempt.max_fee_per_gas.map(|f| f.to_string())),
            priority_fee: Set(attempt.priority_fee.map(|f| f.to_string())),
            status: Set(TransferStatus::Signed.as_str().to_string()),
            error: Set(None),
            created_at_ms: Set(now_ms()),
            ..Default::default()
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// An operator's retry of a `failed` transfer, after fixing its cause: back to `observed`,
    /// so validation and finality run again. Refused when a release was ever signed for it:
    /// a second one may only follow proof that the first cannot land (reconciliation's job).
    pub async fn retry(&self, id: TransferId, note: &str) -> Result<(), StoreError> {
        let signed = self.attempt_count(id).await?;
        if signed > 0 {
            return Err(StoreError::RetryRefused {
                id,
                reason: format!(
                    "{signed} release attempt(s) were signed for it; it is reconciled, not retried"
                ),
            });
        }
        self.move_status(
            id,
            TransferStatus::Failed,
            TransferStatus::Observed,
            Some(&Reason::OperatorRetry {
                note: note.to_string(),
            }),
            Vec::new(),
        )
        .await
    }

    /// A `stuck` transfer released to be signed again (`stuck → source_final`, keeping its
    /// approved release): for the relayer's retry, after the destination showed no release.
    pub async fn release_stuck(&self, id: TransferId, note: &str) -> Result<(), StoreError> {
        self.move_status(
            id,
            TransferStatus::Stuck,
            TransferStatus::SourceFinal,
            Some(&Reason::OperatorRetryNoRelease {
                note: note.to_string(),
            }),
            Vec::new(),
        )
        .await
    }

    /// Pauses (or resumes) releases to a chain; kept across restarts.
    pub async fn set_paused(
        &self,
        chain_id: u64,
        paused: bool,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        use chains::Column as C;
        let stmt = Query::update()
            .table(chains::Entity)
            .values([
                (C::Paused, paused.into()),
                (
                    C::PausedReason,
                    reason.filter(|_| paused).map(str::to_string).into(),
                ),
            ])
            .and_where(C::ChainId.eq(to_i64("chain id", chain_id)?))
            .to_owned();
        let changed = self.connection().execute(&stmt).await?.rows_affected();
        if changed == 0 {
            return Err(StoreError::OutOfRange(format!(
                "chain {chain_id} is not registered (run a command with the config first)"
            )));
        }
        Ok(())
    }
}
