//! Why a transfer is where it is: the reason stored beside a failed, stuck or waiting transfer
//! (`transfers.failure_reason`), on each row of its history (`transfer_history.reason`) and on a
//! release transaction that stopped (`release_txs.error`).
//!
//! Each variant has one text form, written to the database and read back by
//! [`Reason::from_stored`]. The text forms are stable: rows written by earlier versions read
//! as the same variants, and a text form is never changed (a new wording is a new variant). Text
//! that matches no variant (an intake refusal, a gas verdict, a node's message, or a form some
//! other version wrote) reads back as [`Reason::Text`], so reading never fails: the reason
//! explains, the status decides.

use std::fmt;

use alloy_primitives::B256;

use crate::{TransferId, TransferStatus, U256};

/// The terms of a deposit as a conflict names them: amount in (raw units), source token,
/// recipient (as the destination writes it; empty when unreadable) and destination chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositTerms {
    pub amount: U256,
    pub token: String,
    pub recipient: String,
    pub chain: u64,
}

/// What an operator's retry checks on the destination before a stuck transfer is signed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryCheck {
    /// EVM: the vault's `processed(id)`.
    Chain,
    /// Solana: the transfer's claim account.
    Claim,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    // The indexer and the store: deposits and reorgs.
    /// `rejected deposit: {0}`: a vault transfer that cannot be released (no or a bad memo).
    RejectedDeposit(String),
    /// `reorged out: block {block} left the canonical chain while the deposit was {was}; nothing
    /// was paid`. Revived when the new chain holds a deposit with the same id. `was: None` is
    /// the form versions before every waiting state was covered wrote (of an `observed`
    /// deposit): `reorged out: block {block} left the canonical chain before the deposit was
    /// final; nothing was sent`.
    ReorgedOut {
        block: u64,
        was: Option<TransferStatus>,
    },
    /// `source block {block} left the canonical chain after the transfer moved on: check its
    /// release`: its release may exist.
    ReorgedAfterRelease { block: u64 },
    /// `source block {block} left the canonical chain while its release was being signed: check
    /// its release`.
    ReorgedWhileSigning { block: u64 },
    /// `seen again on the new chain: block {block}, tx {tx}`: a reorged-out deposit revived.
    SeenAgain { block: u64, tx: String },
    /// `seen again under the reorg-stable id {id}; kept under its legacy id`.
    SeenUnderStableId { id: TransferId },
    /// `conflict: the source chain now shows this deposit (block {block}, tx {tx}) as {seen};
    /// recorded as {recorded}`, each as `{amount} of {token} to {recipient} on chain {chain}`.
    DepositConflict {
        block: u64,
        tx: String,
        seen: Box<DepositTerms>,
        recorded: Box<DepositTerms>,
    },

    // The finality gate.
    /// `source final ({value})`, the value being `≈ $1.23` or `unpriced`.
    SourceFinal { value: String },
    /// `{have} confirmations, not final yet ({value})`.
    Confirmations { have: u64, value: String },

    // Executors: signing and sending.
    /// `signed {tx}`: one release (a Solana signature).
    Signed { tx: String },
    /// `signed {tx} (nonce {nonce})`: an EVM release transaction.
    SignedAtNonce { tx: B256, nonce: u64 },
    /// `sent {tx}`.
    Sent { tx: String },
    /// `sent {tx} (nonce {nonce})`, or `sent {tx} (nonce {nonce}, replacing {old})`.
    SentAtNonce {
        tx: B256,
        nonce: u64,
        replacing: Option<B256>,
    },
    /// `sent {tx} again ({outcome})`: stored bytes the node had lost, sent again.
    SentAgain { tx: B256, outcome: String },
    /// `send of {tx} refused ({error}); its status decides`.
    SendRefused { tx: String, error: String },
    /// `nonce {nonce} was used by a transaction this relayer did not sign`: a release
    /// transaction that can never be mined.
    NonceTaken { nonce: u64 },
    /// `nonce {nonce} was used by a transaction this relayer did not sign: never sent on`: its
    /// transfers, to be signed again.
    NeverSentOn { nonce: u64 },

    // Executors: what the destination did.
    /// `released by {tx} in block {block}`.
    ReleasedBy { tx: B256, block: u64 },
    /// `already released before {tx} (skipped in block {block})`.
    SkippedAsReleased { tx: B256, block: u64 },
    /// `payout failed in {tx} (block {block}): the vault could not pay; nothing moved`.
    PayoutFailed { tx: B256, block: u64 },
    /// `release {tx} reverted in block {block}`.
    Reverted { tx: B256, block: u64 },
    /// `release {tx} left block {block} (reorg) for block {now}; settled again from there`, or,
    /// in no block now, `release {tx} left block {block} (reorg); waiting on it again`.
    LeftBlock {
        tx: B256,
        block: u64,
        now: Option<u64>,
    },
    /// `block {block} final`.
    BlockFinal { block: u64 },
    /// `finalized` (Solana).
    Finalized,
    /// `released: its claim account exists` (Solana).
    ClaimExists,
    /// `landed in slot {slot}` (Solana).
    LandedInSlot { slot: u64 },
    /// `release {tx} failed on chain: {reason}` (Solana).
    FailedOnChain { tx: String, reason: String },
    /// `release {tx} expired unlanded` (Solana).
    ExpiredUnlanded { tx: String },

    // Executors: why a release waits or was set aside.
    /// `vault holds {holds} of {token}, the release needs {needs} (raw units)` (EVM).
    VaultShort {
        token: String,
        holds: U256,
        needs: U256,
    },
    /// `vault {account} holds {holds}, the release needs {needs} (raw units)` (Solana).
    VaultAccountShort {
        account: String,
        holds: U256,
        needs: U256,
    },
    /// `vault holds enough again`.
    VaultHoldsEnough,
    /// `vault topped up`.
    VaultToppedUp,
    /// `approved without a destination token or amount`.
    ApprovedWithoutRelease,
    /// `already released on chain, by a transaction this relayer has no record of`, or with
    /// ` (its claim account exists)` after `on chain` (Solana's proof).
    AlreadyReleasedOnChain { claim_account: bool },
    /// `the token refused the payout to {recipient}: {said}; retry once the cause is fixed`.
    TokenRefused { recipient: String, said: String },
    /// `the batch's simulation paid it nothing and the token names no reason: waiting as for
    /// liquidity`.
    UnpaidInSimulation,
    /// `its release needs {gas} gas, above relayer.batch_max_gas {max}; raise it and retry`.
    GasAboveBatchMax { gas: u64, max: u64 },
    /// `the fee covers its gas again ({now})`.
    FeeCoversGas { now: String },
    /// `{attempts} release attempts used up, none can land; fix the cause, then `atoll relayer
    /// retry {id}` (it checks the chain first)`; on Solana preceded by the last attempt's fate
    /// (`{last}; …`) and ending `(it checks the claim first)`.
    AttemptsUsedUp {
        attempts: u64,
        id: TransferId,
        last: Option<Box<Reason>>,
        checks: RetryCheck,
    },

    // Operators.
    /// `operator retry: {note}`.
    OperatorRetry { note: String },
    /// `operator retry, the destination showing no release: {note}`.
    OperatorRetryNoRelease { note: String },

    /// Any other text: an intake refusal, a gas verdict, a node's message, an operator's note.
    Text(String),
}

const REORGED_OUT: &str = "reorged out: block ";
const RELEASED_ELSEWHERE_TAIL: &str = ", by a transaction this relayer has no record of";
const ATTEMPTS_USED_UP: &str =
    " release attempts used up, none can land; fix the cause, then `atoll relayer retry ";

impl Reason {
    /// A free-text reason.
    pub fn text(s: impl Into<String>) -> Reason {
        Reason::Text(s.into())
    }

    /// The reason a stored text is: a variant when the text is exactly that variant's form,
    /// else [`Reason::Text`]. `Reason::from_stored(&r.to_string()) == r` for every reason whose
    /// fields render back as they were (numbers and hashes always do).
    pub fn from_stored(s: &str) -> Reason {
        match parse(s) {
            // Only a form that renders back to the same text is that variant: the text in the
            // database is never reinterpreted.
            Some(r) if r.to_string() == s => r,
            _ => Reason::Text(s.to_string()),
        }
    }
}

impl From<&str> for Reason {
    fn from(s: &str) -> Reason {
        Reason::from_stored(s)
    }
}

impl fmt::Display for DepositTerms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} to {} on chain {}",
            self.amount, self.token, self.recipient, self.chain
        )
    }
}

impl fmt::Display for Reason {
    /// Each variant's one stored form. One arm per variant, in the enum's order: a catalog,
    /// longer than a screen because splitting it would hide a form from the others it must
    /// not collide with.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Reason::*;
        match self {
            RejectedDeposit(why) => write!(f, "rejected deposit: {why}"),
            ReorgedOut {
                block,
                was: Some(was),
            } => write!(
                f,
                "{REORGED_OUT}{block} left the canonical chain while the deposit was {was}; nothing was paid"
            ),
            ReorgedOut { block, was: None } => write!(
                f,
                "{REORGED_OUT}{block} left the canonical chain before the deposit was final; nothing was sent"
            ),
            ReorgedAfterRelease { block } => write!(
                f,
                "source block {block} left the canonical chain after the transfer moved on: check its release"
            ),
            ReorgedWhileSigning { block } => write!(
                f,
                "source block {block} left the canonical chain while its release was being signed: check its release"
            ),
            SeenAgain { block, tx } => {
                write!(f, "seen again on the new chain: block {block}, tx {tx}")
            }
            SeenUnderStableId { id } => write!(
                f,
                "seen again under the reorg-stable id {id}; kept under its legacy id"
            ),
            DepositConflict {
                block,
                tx,
                seen,
                recorded,
            } => write!(
                f,
                "conflict: the source chain now shows this deposit (block {block}, tx {tx}) as {seen}; recorded as {recorded}"
            ),
            SourceFinal { value } => write!(f, "source final ({value})"),
            Confirmations { have, value } => {
                write!(f, "{have} confirmations, not final yet ({value})")
            }
            Signed { tx } => write!(f, "signed {tx}"),
            SignedAtNonce { tx, nonce } => write!(f, "signed {tx} (nonce {nonce})"),
            Sent { tx } => write!(f, "sent {tx}"),
            SentAtNonce {
                tx,
                nonce,
                replacing: None,
            } => write!(f, "sent {tx} (nonce {nonce})"),
            SentAtNonce {
                tx,
                nonce,
                replacing: Some(old),
            } => write!(f, "sent {tx} (nonce {nonce}, replacing {old})"),
            SentAgain { tx, outcome } => write!(f, "sent {tx} again ({outcome})"),
            SendRefused { tx, error } => {
                write!(f, "send of {tx} refused ({error}); its status decides")
            }
            NonceTaken { nonce } => write!(
                f,
                "nonce {nonce} was used by a transaction this relayer did not sign"
            ),
            NeverSentOn { nonce } => write!(
                f,
                "nonce {nonce} was used by a transaction this relayer did not sign: never sent on"
            ),
            ReleasedBy { tx, block } => write!(f, "released by {tx} in block {block}"),
            SkippedAsReleased { tx, block } => write!(
                f,
                "already released before {tx} (skipped in block {block})"
            ),
            PayoutFailed { tx, block } => write!(
                f,
                "payout failed in {tx} (block {block}): the vault could not pay; nothing moved"
            ),
            Reverted { tx, block } => write!(f, "release {tx} reverted in block {block}"),
            LeftBlock {
                tx,
                block,
                now: Some(now),
            } => write!(
                f,
                "release {tx} left block {block} (reorg) for block {now}; settled again from there"
            ),
            LeftBlock {
                tx,
                block,
                now: None,
            } => write!(
                f,
                "release {tx} left block {block} (reorg); waiting on it again"
            ),
            BlockFinal { block } => write!(f, "block {block} final"),
            Finalized => f.write_str("finalized"),
            ClaimExists => f.write_str("released: its claim account exists"),
            LandedInSlot { slot } => write!(f, "landed in slot {slot}"),
            FailedOnChain { tx, reason } => write!(f, "release {tx} failed on chain: {reason}"),
            ExpiredUnlanded { tx } => write!(f, "release {tx} expired unlanded"),
            VaultShort {
                token,
                holds,
                needs,
            } => write!(
                f,
                "vault holds {holds} of {token}, the release needs {needs} (raw units)"
            ),
            VaultAccountShort {
                account,
                holds,
                needs,
            } => write!(
                f,
                "vault {account} holds {holds}, the release needs {needs} (raw units)"
            ),
            VaultHoldsEnough => f.write_str("vault holds enough again"),
            VaultToppedUp => f.write_str("vault topped up"),
            ApprovedWithoutRelease => {
                f.write_str("approved without a destination token or amount")
            }
            AlreadyReleasedOnChain {
                claim_account: false,
            } => write!(f, "already released on chain{RELEASED_ELSEWHERE_TAIL}"),
            AlreadyReleasedOnChain {
                claim_account: true,
            } => write!(
                f,
                "already released on chain (its claim account exists){RELEASED_ELSEWHERE_TAIL}"
            ),
            TokenRefused { recipient, said } => write!(
                f,
                "the token refused the payout to {recipient}: {said}; retry once the cause is fixed"
            ),
            UnpaidInSimulation => f.write_str(
                "the batch's simulation paid it nothing and the token names no reason: waiting as for liquidity",
            ),
            GasAboveBatchMax { gas, max } => write!(
                f,
                "its release needs {gas} gas, above relayer.batch_max_gas {max}; raise it and retry"
            ),
            FeeCoversGas { now } => write!(f, "the fee covers its gas again ({now})"),
            AttemptsUsedUp {
                attempts,
                id,
                last,
                checks,
            } => {
                if let Some(last) = last {
                    write!(f, "{last}; ")?;
                }
                let checks = match checks {
                    RetryCheck::Chain => "chain",
                    RetryCheck::Claim => "claim",
                };
                write!(f, "{attempts}{ATTEMPTS_USED_UP}{id}` (it checks the {checks} first)")
            }
            OperatorRetry { note } => write!(f, "operator retry: {note}"),
            OperatorRetryNoRelease { note } => {
                write!(f, "operator retry, the destination showing no release: {note}")
            }
            Text(s) => f.write_str(s),
        }
    }
}

/// `s` between `prefix` and `suffix`.
fn between<'a>(s: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    s.strip_prefix(prefix)?.strip_suffix(suffix)
}

fn num(s: &str) -> Option<u64> {
    s.parse().ok()
}

fn hash(s: &str) -> Option<B256> {
    s.starts_with("0x").then(|| s.parse().ok()).flatten()
}

/// A transaction hash or signature as written in a reason: one word.
fn word(s: &str) -> Option<String> {
    (!s.is_empty() && !s.contains(char::is_whitespace)).then(|| s.to_string())
}

fn terms(s: &str) -> Option<DepositTerms> {
    let (amount, rest) = s.split_once(" of ")?;
    let (token, rest) = rest.split_once(" to ")?;
    let (recipient, chain) = rest.rsplit_once(" on chain ")?;
    Some(DepositTerms {
        amount: amount.parse().ok()?,
        token: token.to_string(),
        recipient: recipient.to_string(),
        chain: num(chain)?,
    })
}

/// The variant whose form `s` has, if any (its fields as `s` writes them).
///
/// One branch per text form, in the order that keeps longer forms ahead of their prefixes:
/// longer than a screen because the catalog is one list, read beside [`Reason`]'s `Display`
/// (which writes the same forms) and checked by the round-trip test over every variant.
fn parse(s: &str) -> Option<Reason> {
    use Reason::*;
    let fixed = [
        Finalized,
        ClaimExists,
        VaultHoldsEnough,
        VaultToppedUp,
        ApprovedWithoutRelease,
        UnpaidInSimulation,
        AlreadyReleasedOnChain {
            claim_account: false,
        },
        AlreadyReleasedOnChain {
            claim_account: true,
        },
    ];
    if let Some(r) = fixed.into_iter().find(|r| r.to_string() == s) {
        return Some(r);
    }
    // First: it ends a Solana attempt's own reason, which has forms of its own.
    if let Some((head, tail)) = s.rsplit_once(ATTEMPTS_USED_UP) {
        let (id, checks) = tail.split_once("` (it checks the ")?;
        let checks = match checks {
            "chain first)" => RetryCheck::Chain,
            "claim first)" => RetryCheck::Claim,
            _ => return None,
        };
        let (last, attempts) = match head.rsplit_once("; ") {
            Some((last, attempts)) => (Some(Box::new(Reason::from_stored(last))), attempts),
            None => (None, head),
        };
        return Some(AttemptsUsedUp {
            attempts: num(attempts)?,
            id: id.parse().ok()?,
            last,
            checks,
        });
    }
    if let Some(why) = s.strip_prefix("rejected deposit: ") {
        return Some(RejectedDeposit(why.to_string()));
    }
    if let Some(block) = between(
        s,
        REORGED_OUT,
        " left the canonical chain before the deposit was final; nothing was sent",
    ) {
        return Some(ReorgedOut {
            block: num(block)?,
            was: None,
        });
    }
    if let Some(rest) = between(s, REORGED_OUT, "; nothing was paid") {
        let (block, was) = rest.split_once(" left the canonical chain while the deposit was ")?;
        return Some(ReorgedOut {
            block: num(block)?,
            was: Some(was.parse().ok()?),
        });
    }
    if let Some(rest) = between(s, "source block ", ": check its release") {
        if let Some(block) =
            rest.strip_suffix(" left the canonical chain after the transfer moved on")
        {
            return Some(ReorgedAfterRelease { block: num(block)? });
        }
        let block =
            rest.strip_suffix(" left the canonical chain while its release was being signed")?;
        return Some(ReorgedWhileSigning { block: num(block)? });
    }
    if let Some(rest) = s.strip_prefix("seen again on the new chain: block ") {
        let (block, tx) = rest.split_once(", tx ")?;
        return Some(SeenAgain {
            block: num(block)?,
            tx: word(tx)?,
        });
    }
    if let Some(id) = between(
        s,
        "seen again under the reorg-stable id ",
        "; kept under its legacy id",
    ) {
        return Some(SeenUnderStableId {
            id: id.parse().ok()?,
        });
    }
    if let Some(rest) = s.strip_prefix("conflict: the source chain now shows this deposit (block ")
    {
        let (block, rest) = rest.split_once(", tx ")?;
        let (tx, rest) = rest.split_once(") as ")?;
        let (seen, recorded) = rest.split_once("; recorded as ")?;
        return Some(DepositConflict {
            block: num(block)?,
            tx: word(tx)?,
            seen: Box::new(terms(seen)?),
            recorded: Box::new(terms(recorded)?),
        });
    }
    if let Some(value) = between(s, "source final (", ")") {
        return Some(SourceFinal {
            value: value.to_string(),
        });
    }
    if let Some((have, value)) = s
        .strip_suffix(')')
        .and_then(|r| r.split_once(" confirmations, not final yet ("))
    {
        return Some(Confirmations {
            have: num(have)?,
            value: value.to_string(),
        });
    }
    if let Some(rest) = s.strip_prefix("signed ") {
        return Some(match rest.split_once(" (nonce ") {
            Some((tx, nonce)) => SignedAtNonce {
                tx: hash(tx)?,
                nonce: num(nonce.strip_suffix(')')?)?,
            },
            None => Signed { tx: word(rest)? },
        });
    }
    if let Some(rest) = s.strip_prefix("sent ") {
        if let Some((tx, outcome)) = rest
            .strip_suffix(')')
            .and_then(|r| r.split_once(" again ("))
        {
            return Some(SentAgain {
                tx: hash(tx)?,
                outcome: outcome.to_string(),
            });
        }
        return Some(match rest.split_once(" (nonce ") {
            Some((tx, rest)) => {
                let rest = rest.strip_suffix(')')?;
                let (nonce, replacing) = match rest.split_once(", replacing ") {
                    Some((n, old)) => (n, Some(hash(old)?)),
                    None => (rest, None),
                };
                SentAtNonce {
                    tx: hash(tx)?,
                    nonce: num(nonce)?,
                    replacing,
                }
            }
            None => Sent { tx: word(rest)? },
        });
    }
    if let Some(rest) = between(s, "send of ", "); its status decides") {
        let (tx, error) = rest.split_once(" refused (")?;
        return Some(SendRefused {
            tx: word(tx)?,
            error: error.to_string(),
        });
    }
    if let Some(rest) = s.strip_prefix("nonce ") {
        let (nonce, rest) =
            rest.split_once(" was used by a transaction this relayer did not sign")?;
        let nonce = num(nonce)?;
        return match rest {
            "" => Some(NonceTaken { nonce }),
            ": never sent on" => Some(NeverSentOn { nonce }),
            _ => None,
        };
    }
    if let Some(rest) = s.strip_prefix("released by ") {
        let (tx, block) = rest.split_once(" in block ")?;
        return Some(ReleasedBy {
            tx: hash(tx)?,
            block: num(block)?,
        });
    }
    if let Some(rest) = between(s, "already released before ", ")") {
        let (tx, block) = rest.split_once(" (skipped in block ")?;
        return Some(SkippedAsReleased {
            tx: hash(tx)?,
            block: num(block)?,
        });
    }
    if let Some(rest) = between(
        s,
        "payout failed in ",
        "): the vault could not pay; nothing moved",
    ) {
        let (tx, block) = rest.split_once(" (block ")?;
        return Some(PayoutFailed {
            tx: hash(tx)?,
            block: num(block)?,
        });
    }
    if let Some(rest) = s.strip_prefix("release ") {
        let (tx, rest) = rest.split_once(' ')?;
        if let Some(block) = rest.strip_prefix("reverted in block ") {
            return Some(Reverted {
                tx: hash(tx)?,
                block: num(block)?,
            });
        }
        if let Some(rest) = rest.strip_prefix("left block ") {
            if let Some(block) = rest.strip_suffix(" (reorg); waiting on it again") {
                return Some(LeftBlock {
                    tx: hash(tx)?,
                    block: num(block)?,
                    now: None,
                });
            }
            let rest = rest.strip_suffix("; settled again from there")?;
            let (block, now) = rest.split_once(" (reorg) for block ")?;
            return Some(LeftBlock {
                tx: hash(tx)?,
                block: num(block)?,
                now: Some(num(now)?),
            });
        }
        if let Some(reason) = rest.strip_prefix("failed on chain: ") {
            return Some(FailedOnChain {
                tx: word(tx)?,
                reason: reason.to_string(),
            });
        }
        if rest == "expired unlanded" {
            return Some(ExpiredUnlanded { tx: word(tx)? });
        }
        return None;
    }
    if let Some(block) = between(s, "block ", " final") {
        return Some(BlockFinal { block: num(block)? });
    }
    if let Some(slot) = s.strip_prefix("landed in slot ") {
        return Some(LandedInSlot { slot: num(slot)? });
    }
    if let Some(rest) = between(s, "vault ", " (raw units)") {
        let (held, needs) = rest.split_once(", the release needs ")?;
        let needs = needs.parse().ok()?;
        if let Some(rest) = held.strip_prefix("holds ") {
            let (holds, token) = rest.split_once(" of ")?;
            return Some(VaultShort {
                token: word(token)?,
                holds: holds.parse().ok()?,
                needs,
            });
        }
        let (account, holds) = held.split_once(" holds ")?;
        return Some(VaultAccountShort {
            account: word(account)?,
            holds: holds.parse().ok()?,
            needs,
        });
    }
    if let Some(rest) = between(
        s,
        "the token refused the payout to ",
        "; retry once the cause is fixed",
    ) {
        let (recipient, said) = rest.split_once(": ")?;
        return Some(TokenRefused {
            recipient: word(recipient)?,
            said: said.to_string(),
        });
    }
    if let Some(rest) = between(s, "its release needs ", "; raise it and retry") {
        let (gas, max) = rest.split_once(" gas, above relayer.batch_max_gas ")?;
        return Some(GasAboveBatchMax {
            gas: num(gas)?,
            max: num(max)?,
        });
    }
    if let Some(now) = between(s, "the fee covers its gas again (", ")") {
        return Some(FeeCoversGas {
            now: now.to_string(),
        });
    }
    if let Some(note) = s.strip_prefix("operator retry, the destination showing no release: ") {
        return Some(OperatorRetryNoRelease {
            note: note.to_string(),
        });
    }
    if let Some(note) = s.strip_prefix("operator retry: ") {
        return Some(OperatorRetry {
            note: note.to_string(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> B256 {
        B256::repeat_byte(n)
    }

    /// Every variant, each as the code writes it.
    fn all() -> Vec<Reason> {
        use Reason::*;
        let id = TransferId([7; 32]);
        vec![
            RejectedDeposit("memo missing".into()),
            ReorgedOut {
                block: 12,
                was: Some(TransferStatus::AwaitingGas),
            },
            ReorgedOut {
                block: 12,
                was: None,
            },
            ReorgedAfterRelease { block: 12 },
            ReorgedWhileSigning { block: 12 },
            SeenAgain {
                block: 14,
                tx: "0xabc".into(),
            },
            SeenUnderStableId { id },
            DepositConflict {
                block: 9,
                tx: "5sig".into(),
                seen: Box::new(DepositTerms {
                    amount: U256::from(10u8),
                    token: "0xaa".into(),
                    recipient: String::new(),
                    chain: 0,
                }),
                recorded: Box::new(DepositTerms {
                    amount: U256::from(11u8),
                    token: "0xaa".into(),
                    recipient: "0xbb".into(),
                    chain: 56,
                }),
            },
            SourceFinal {
                value: "≈ $1.50".into(),
            },
            Confirmations {
                have: 3,
                value: "unpriced".into(),
            },
            Signed { tx: "5sig".into() },
            SignedAtNonce { tx: h(1), nonce: 4 },
            Sent { tx: "5sig".into() },
            SentAtNonce {
                tx: h(1),
                nonce: 4,
                replacing: None,
            },
            SentAtNonce {
                tx: h(1),
                nonce: 4,
                replacing: Some(h(2)),
            },
            SentAgain {
                tx: h(1),
                outcome: "AlreadyKnown".into(),
            },
            SendRefused {
                tx: "5sig".into(),
                error: "rpc: blockhash not found (x); y".into(),
            },
            NonceTaken { nonce: 3 },
            NeverSentOn { nonce: 3 },
            ReleasedBy {
                tx: h(1),
                block: 20,
            },
            SkippedAsReleased {
                tx: h(1),
                block: 20,
            },
            PayoutFailed {
                tx: h(1),
                block: 20,
            },
            Reverted {
                tx: h(1),
                block: 20,
            },
            LeftBlock {
                tx: h(1),
                block: 20,
                now: Some(21),
            },
            LeftBlock {
                tx: h(1),
                block: u64::MAX,
                now: None,
            },
            BlockFinal { block: 20 },
            Finalized,
            ClaimExists,
            LandedInSlot { slot: 99 },
            FailedOnChain {
                tx: "5sig".into(),
                reason: "custom program error: 0x1; again".into(),
            },
            ExpiredUnlanded { tx: "5sig".into() },
            VaultShort {
                token: "0xdd".into(),
                holds: U256::from(1u8),
                needs: U256::from(2u8),
            },
            VaultAccountShort {
                account: "Vau1t".into(),
                holds: U256::from(1u8),
                needs: U256::from(2u8),
            },
            VaultHoldsEnough,
            VaultToppedUp,
            ApprovedWithoutRelease,
            AlreadyReleasedOnChain {
                claim_account: false,
            },
            AlreadyReleasedOnChain {
                claim_account: true,
            },
            TokenRefused {
                recipient: "0xee".into(),
                said: "blacklisted: yes".into(),
            },
            UnpaidInSimulation,
            GasAboveBatchMax {
                gas: 900_000,
                max: 500_000,
            },
            FeeCoversGas {
                now: "gas $0.10 at 1 gwei".into(),
            },
            AttemptsUsedUp {
                attempts: 3,
                id,
                last: None,
                checks: RetryCheck::Chain,
            },
            AttemptsUsedUp {
                attempts: 8,
                id,
                last: Some(Box::new(FailedOnChain {
                    tx: "5sig".into(),
                    reason: "insufficient funds; really".into(),
                })),
                checks: RetryCheck::Claim,
            },
            AttemptsUsedUp {
                attempts: 8,
                id,
                last: Some(Box::new(ExpiredUnlanded { tx: "5sig".into() })),
                checks: RetryCheck::Claim,
            },
            OperatorRetry {
                note: "fixed: the memo".into(),
            },
            OperatorRetryNoRelease {
                note: "topped up".into(),
            },
            Text("fee $0.50 < gas $3.36 at 80 gwei (+10 % margin)".into()),
        ]
    }

    #[test]
    fn every_reason_reads_back_as_itself() {
        for r in all() {
            let text = r.to_string();
            assert_eq!(Reason::from_stored(&text), r, "{text}");
        }
    }

    #[test]
    fn stored_texts_are_the_ones_earlier_versions_wrote() {
        let id: TransferId = format!("0x{}", "07".repeat(32)).parse().unwrap();
        let tx = format!("0x{}", "01".repeat(32));
        for (text, want) in [
            (
                "reorged out: block 12 left the canonical chain while the deposit was source_final; nothing was paid".to_string(),
                Reason::ReorgedOut {
                    block: 12,
                    was: Some(TransferStatus::SourceFinal),
                },
            ),
            (
                "reorged out: block 12 left the canonical chain before the deposit was final; nothing was sent".into(),
                Reason::ReorgedOut {
                    block: 12,
                    was: None,
                },
            ),
            (
                "already released on chain, by a transaction this relayer has no record of".into(),
                Reason::AlreadyReleasedOnChain {
                    claim_account: false,
                },
            ),
            (
                "already released on chain (its claim account exists), by a transaction this relayer has no record of".into(),
                Reason::AlreadyReleasedOnChain { claim_account: true },
            ),
            (
                format!("3 release attempts used up, none can land; fix the cause, then `atoll relayer retry {id}` (it checks the chain first)"),
                Reason::AttemptsUsedUp {
                    attempts: 3,
                    id,
                    last: None,
                    checks: RetryCheck::Chain,
                },
            ),
            (
                format!("released by {tx} in block 20"),
                Reason::ReleasedBy {
                    tx: h(1),
                    block: 20,
                },
            ),
        ] {
            assert_eq!(Reason::from_stored(&text), want, "{text}");
            assert_eq!(want.to_string(), text);
        }
    }

    #[test]
    fn text_that_is_no_form_stays_text() {
        for text in [
            "",
            "destination chain 137 is not configured",
            "reorged out: block x left the canonical chain while the deposit was done; nothing was paid",
            "sent two words",
            "signed 0x12 (nonce 1)",
            "block 007 final",
            "released by 0xAB in block 1",
        ] {
            assert_eq!(
                Reason::from_stored(text),
                Reason::Text(text.into()),
                "{text}"
            );
        }
    }
}
