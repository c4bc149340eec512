//! The transfer state machine (docs/relayer.md, "The state machine"). Every transition is
//! persisted before its side effect, so the allowed transitions below are also what recovery
//! may find in the database after a crash. Stored names are never renamed: a new state is a new
//! name. It lives in core because the indexer records deposits (`Observed`, or `Failed` when a
//! deposit cannot be released) and the relayer moves them on.

use std::fmt;
use std::str::FromStr;

/// Where a transfer stands. The names are its stored text (`as_str`), never renamed.
///
/// Words the EVM release transactions (`release_txs.status`, `atoll_store`'s
/// `ReleaseTxStatus`) use for the same moments: a transfer is `included` when the transaction
/// carrying it is `mined` (and the vault paid it), and `confirmed` when that transaction is
/// `final` (its block finalized). A transaction `replaced` or `reverted` leaves its transfers
/// in `broadcast`, waiting to be signed again (see [`TransferStatus::Broadcast`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferStatus {
    /// The deposit is seen on the source chain, not yet final.
    Observed,
    /// The deposit is final on the source chain; validated; ready to sign.
    SourceFinal,
    /// A release is signed and stored (raw tx, nonce or blockhash, hash), not yet sent.
    Signed,
    /// The stored release was sent to the destination, and its fate is not settled yet. One
    /// stored name for three situations, told apart in code from what lies beside it:
    /// - **in flight**: its newest release may still land, or landed and is being settled
    ///   (EVM: its newest transaction is neither `reverted` nor `replaced`; Solana: its
    ///   signature neither failed nor expired);
    /// - **to sign again**: its newest release can never land (EVM: `reverted`, or `replaced`
    ///   by a transaction that is not ours; Solana: failed on chain, or expired unlanded). The
    ///   next attempt moves it `broadcast → signed`, or `broadcast → stuck` once its attempts
    ///   are used up. Named by `atoll_store::release_txs::BroadcastStage` (EVM, from the
    ///   newest transaction's status) and `atoll_relayer::solana_executor::BroadcastVerdict`
    ///   (Solana, from the cluster);
    /// - **left for an operator** (EVM): to sign again, but the vault shows it released by a
    ///   transaction this database has no record of. Nothing is signed for it; the executor
    ///   logs it each time it looks (`SignAgain::ReleasedElsewhere` in the EVM executor).
    ///
    /// A new stored status for either of the last two would touch every reader of the status
    /// (the gate, the audit, the reorg guard, GraphQL's enum, `status`); they are derived
    /// instead.
    Broadcast,
    /// The release is in a destination block, not yet final (EVM: its transaction is `mined`).
    Included,
    /// The release is final on the destination (EVM: its transaction is `final`). Terminal.
    Confirmed,
    /// Valid, but the destination vault lacks the tokens; retried when liquidity arrives.
    AwaitingLiquidity,
    /// Meant for "the destination chain is paused by an operator", but **nothing writes it**:
    /// a pause is `chains.paused` (`atoll relayer pause`), and a paused chain's executor just
    /// signs nothing, leaving its transfers where they are (`source_final`, …). Kept, with
    /// its edges, because it is a stored name (a row may hold it: it must still parse, count
    /// as waiting, be failed by a reorg and leave through `source_final` or `failed`), and the
    /// store's tests move transfers through it.
    Paused,
    /// Refused (validation) or given up; the reason is stored beside it. Terminal until an
    /// operator retries it.
    Failed,
    /// Its release attempts are used up (each reverted, failed on chain or expired) and none
    /// can still land: nothing more is signed until an operator, having fixed the cause,
    /// retries it (the retry checks the chain again first). The reason is in its history.
    Stuck,
    /// Valid, but its route's `when_profitable` policy holds it: the fee does not cover its
    /// gas at the destination's current price. Goes when gas falls (or its longest wait ends).
    AwaitingGas,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("unknown transfer status {0:?}")]
    UnknownStatus(String),
    #[error("transfer cannot go from {from} to {to}")]
    IllegalTransition {
        from: TransferStatus,
        to: TransferStatus,
    },
}

impl TransferStatus {
    pub const ALL: [TransferStatus; 11] = [
        TransferStatus::Observed,
        TransferStatus::SourceFinal,
        TransferStatus::Signed,
        TransferStatus::Broadcast,
        TransferStatus::Included,
        TransferStatus::Confirmed,
        TransferStatus::AwaitingLiquidity,
        TransferStatus::Paused,
        TransferStatus::Failed,
        TransferStatus::Stuck,
        TransferStatus::AwaitingGas,
    ];

    /// The name stored in `transfers.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Observed => "observed",
            TransferStatus::SourceFinal => "source_final",
            TransferStatus::Signed => "signed",
            TransferStatus::Broadcast => "broadcast",
            TransferStatus::Included => "included",
            TransferStatus::Confirmed => "confirmed",
            TransferStatus::AwaitingLiquidity => "awaiting_liquidity",
            TransferStatus::Paused => "paused",
            TransferStatus::Failed => "failed",
            TransferStatus::Stuck => "stuck",
            TransferStatus::AwaitingGas => "awaiting_gas",
        }
    }

    /// Whether a release may already exist on the destination chain. From these states a
    /// transfer is never signed afresh without proving the earlier release cannot land.
    pub fn release_may_exist(self) -> bool {
        matches!(
            self,
            TransferStatus::Signed
                | TransferStatus::Broadcast
                | TransferStatus::Included
                | TransferStatus::Confirmed
        )
    }

    /// Whether the stored transfer row carries the reason it is in this state (`failure_reason`):
    /// failed, stuck, or held back by the vault or the gas price. Other states clear it.
    pub fn carries_reason(self) -> bool {
        matches!(
            self,
            TransferStatus::Failed
                | TransferStatus::Stuck
                | TransferStatus::AwaitingLiquidity
                | TransferStatus::AwaitingGas
        )
    }

    /// Whether `self → to` is a legal transition.
    pub fn can_become(self, to: TransferStatus) -> bool {
        use TransferStatus::*;
        match (self, to) {
            (Observed, SourceFinal | Failed) => true,
            (SourceFinal, Signed | AwaitingLiquidity | AwaitingGas | Paused | Failed) => true,
            (AwaitingLiquidity | AwaitingGas | Paused, SourceFinal | Failed) => true,
            // Short of liquidity and, weighed again, not paying its gas: gas is what it waits
            // for now (the vault is checked again when it goes back to `source_final`).
            (AwaitingLiquidity, AwaitingGas) => true,
            (Signed, Broadcast | Failed) => true,
            // A replacement (fee bump, fresh blockhash) is signed again at the same step.
            (Broadcast, Included | Signed) => true,
            // Mined, but the vault could not pay (a batch entry's payout failed): nothing
            // moved, and the release waits for liquidity like one never sent.
            (Broadcast, AwaitingLiquidity) => true,
            // An inclusion reorged out goes back to waiting on the stored transaction.
            (Included, Confirmed | Broadcast) => true,
            // Attempts used up, none able to land: an operator's to resolve. Their retry (after
            // the chain shows no release) signs again; a source reorg fails it.
            (Broadcast, Stuck) => true,
            // Refused again after earlier attempts (one mined but unpaid for liquidity): the
            // operator's retry, which reads the chain, is the way on; `failed` would refuse it.
            (SourceFinal, Stuck) => true,
            (Stuck, SourceFinal | Failed) => true,
            // An operator's retry (or a reorged-out deposit seen again) goes back through
            // validation and finality. The store allows it only when nothing was ever signed.
            (Failed, Observed) => true,
            _ => false,
        }
    }

    pub fn transition(self, to: TransferStatus) -> Result<TransferStatus, StateError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(StateError::IllegalTransition { from: self, to })
        }
    }
}

impl fmt::Display for TransferStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TransferStatus {
    type Err = StateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TransferStatus::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| StateError::UnknownStatus(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::TransferStatus::*;
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        for s in TransferStatus::ALL {
            assert_eq!(s.as_str().parse::<TransferStatus>().unwrap(), s);
        }
        assert!("done".parse::<TransferStatus>().is_err());
    }

    #[test]
    fn a_stuck_transfer_leaves_only_through_the_operator() {
        assert!(Broadcast.can_become(Stuck));
        assert!(Stuck.can_become(SourceFinal), "the operator's retry");
        assert!(Stuck.can_become(Failed), "its source reorged out");
        for to in [Signed, Broadcast, Included, Confirmed] {
            assert!(!Stuck.can_become(to), "stuck -> {to} skips the operator");
        }
        assert!(!Signed.can_become(Stuck) && !Included.can_become(Stuck));
    }

    #[test]
    fn happy_path_is_legal() {
        let path = [
            Observed,
            SourceFinal,
            Signed,
            Broadcast,
            Included,
            Confirmed,
        ];
        for w in path.windows(2) {
            assert!(w[0].can_become(w[1]), "{} -> {}", w[0], w[1]);
        }
    }

    #[test]
    fn confirmed_is_terminal_and_nothing_skips_signing() {
        for to in TransferStatus::ALL {
            assert!(!Confirmed.can_become(to), "confirmed -> {to}");
        }
        assert!(Observed.transition(Broadcast).is_err());
        assert!(SourceFinal.transition(Broadcast).is_err());
        // A transfer whose release may exist cannot fail back into signing blindly.
        for from in TransferStatus::ALL
            .into_iter()
            .filter(|s| s.release_may_exist())
        {
            assert!(
                !from.can_become(SourceFinal),
                "{from} -> source_final would allow a second release"
            );
        }
    }
}
