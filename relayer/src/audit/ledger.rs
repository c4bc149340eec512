//! The audit's verdict, as a pure function: what the chains show (deposits, releases, vault
//! balances and their movements) against what the database says of every transfer. No I/O,
//! so each discrepancy is pinned by a unit test below.

use std::collections::{BTreeMap, HashMap};

use atoll_core::{Reason, TransferId, TransferStatus, U256};
use atoll_store::transfers::Transfer;
use serde::Serialize;

/// A deposit as its source chain shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenDeposit {
    pub id: TransferId,
    pub chain_id: u64,
    pub tx: String,
    /// Block (EVM) or slot (Solana).
    pub block: u64,
    pub token: String,
    pub amount: U256,
}

/// A release as its destination chain shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRelease {
    pub id: TransferId,
    pub chain_id: u64,
    pub tx: String,
    pub token: String,
    /// The recipient as the destination writes it (EVM address; on Solana the token account).
    pub recipient: String,
    pub amount: U256,
}

/// One vault's balance of one token, against what its movements add up to. On EVM every
/// movement is a vault event, so `opening` must be zero; on Solana the vault account can be
/// funded without a transaction of ours (at genesis), so its opening balance is reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VaultBook {
    pub chain: String,
    pub token: String,
    pub balance: String,
    pub deposited: String,
    pub released: String,
    pub added: String,
    pub withdrawn: String,
    /// What the balance holds beyond its movements (`balance − deposited + released − added +
    /// withdrawn`), or `None` when the movements exceed the balance.
    pub opening: Option<String>,
    /// Whether a non-zero opening balance is a discrepancy (EVM).
    pub every_movement_is_an_event: bool,
}

/// Where one source chain's deposits of one token went, in the source token's raw units:
/// `deposited = released + fees + pending + failed + unrecorded`, in exact integers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TokenBook {
    pub chain_id: u64,
    pub token: String,
    pub deposits: u64,
    pub deposited: String,
    /// What reached recipients, in source units (amount in less the fee).
    pub released: String,
    pub fees: String,
    pub pending: String,
    pub failed: String,
    pub unrecorded: String,
}

/// What the chains and the database disagree on; each names the transfer and transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Discrepancy {
    /// A deposit on its chain, below what the indexer covered, with no transfer.
    DepositNotRecorded {
        id: String,
        chain_id: u64,
        tx: String,
    },
    /// A transfer whose deposit its source chain does not show (and that is not failed as
    /// reorged out).
    DepositNotOnChain {
        id: String,
        status: String,
        tx: String,
    },
    /// The deposit's amount or token differ from the transfer's.
    DepositDiffers {
        id: String,
        tx: String,
        what: String,
    },
    /// One id paid more than once.
    ReleasedTwice {
        id: String,
        chain_id: u64,
        txs: Vec<String>,
    },
    /// A release for an id no transfer has.
    ReleaseWithoutTransfer {
        id: String,
        chain_id: u64,
        tx: String,
    },
    /// A release paid other than the transfer says (token, recipient or amount).
    ReleaseDiffers {
        id: String,
        tx: String,
        what: String,
    },
    /// A transfer `confirmed` with no release on its destination.
    ConfirmedWithoutRelease { id: String },
    /// A release on chain for a transfer the database holds as not released.
    ReleasedButRecordedAs {
        id: String,
        status: String,
        tx: String,
    },
    /// A vault holding less than its movements leave it (money gone without our event).
    VaultUnexplained {
        chain: String,
        token: String,
        balance: String,
        expected: String,
    },
}

impl std::fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Discrepancy::DepositNotRecorded { id, chain_id, tx } => write!(
                f,
                "deposit {id} (chain {chain_id}, tx {tx}) is on its chain but not recorded: is the indexer running?"
            ),
            Discrepancy::DepositNotOnChain { id, status, tx } => write!(
                f,
                "transfer {id} ({status}) has no deposit on its source chain (tx {tx})"
            ),
            Discrepancy::DepositDiffers { id, tx, what } => {
                write!(
                    f,
                    "deposit {id} (tx {tx}) differs from its transfer: {what}"
                )
            }
            Discrepancy::ReleasedTwice { id, chain_id, txs } => write!(
                f,
                "transfer {id} was released {} times on chain {chain_id}: {}",
                txs.len(),
                txs.join(", ")
            ),
            Discrepancy::ReleaseWithoutTransfer { id, chain_id, tx } => write!(
                f,
                "release of {id} on chain {chain_id} (tx {tx}) matches no transfer"
            ),
            Discrepancy::ReleaseDiffers { id, tx, what } => {
                write!(
                    f,
                    "release of {id} (tx {tx}) differs from its transfer: {what}"
                )
            }
            Discrepancy::ConfirmedWithoutRelease { id } => write!(
                f,
                "transfer {id} is confirmed but its destination shows no release"
            ),
            Discrepancy::ReleasedButRecordedAs { id, status, tx } => write!(
                f,
                "transfer {id} is recorded as {status} but was released (tx {tx})"
            ),
            Discrepancy::VaultUnexplained {
                chain,
                token,
                balance,
                expected,
            } => write!(
                f,
                "vault on {chain} holds {balance} of {token}; its deposits, releases, top-ups and withdrawals give {expected}"
            ),
        }
    }
}

/// What the chains show, per chain the audit read.
#[derive(Debug, Clone, Default)]
pub struct ChainFacts {
    pub deposits: Vec<SeenDeposit>,
    pub releases: Vec<SeenRelease>,
    pub vaults: Vec<VaultBook>,
    /// Deposits above this block (slot) are newer than the indexer: not judged. Per chain id.
    pub indexed_up_to: HashMap<u64, u64>,
    /// Chains whose releases were read (a transfer to another chain is not judged on them).
    pub destinations_read: Vec<u64>,
    /// Recipients as a destination writes them, per transfer id, when that differs from the
    /// database's (Solana pays a token account, not the wallet). Computed by the reader.
    pub paid_accounts: HashMap<TransferId, Vec<String>>,
    /// When the chains' reading began (ms since the epoch): a transfer the database changed
    /// since then may have moved on beyond what was read (confirmed by a release mined after
    /// the read), so it is not judged missing.
    pub read_started_ms: i64,
}

/// The verdict: each source chain's books per token, and every discrepancy.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdict {
    pub books: Vec<TokenBook>,
    pub discrepancies: Vec<Discrepancy>,
}

/// Statuses that say nothing was paid yet (or could be paid, for `failed`).
fn not_released(status: TransferStatus) -> bool {
    use TransferStatus::*;
    matches!(
        status,
        Observed | SourceFinal | AwaitingLiquidity | AwaitingGas | Paused | Failed | Stuck
    )
}

/// Compares what the chains show with the transfers in the database.
pub fn reconcile(facts: &ChainFacts, transfers: &[Transfer]) -> Verdict {
    let mut out = Verdict::default();
    let by_id: HashMap<TransferId, &Transfer> = transfers.iter().map(|t| (t.id, t)).collect();
    let mut releases: HashMap<TransferId, Vec<&SeenRelease>> = HashMap::new();
    for r in &facts.releases {
        releases.entry(r.id).or_default().push(r);
    }
    check_releases(facts, &by_id, &releases, &mut out.discrepancies);
    check_transfers(facts, transfers, &releases, &mut out.discrepancies);
    out.books = books(facts, &by_id, &releases, &mut out.discrepancies);
    // A surplus (tokens sent to the vault outside `addLiquidity`) is shown in the vault's
    // book, not judged: anyone can send a vault tokens. A deficit is money gone without an
    // event of ours.
    for v in &facts.vaults {
        if v.every_movement_is_an_event && v.opening.is_none() {
            let expected = sum_of(&v.deposited)
                .saturating_add(sum_of(&v.added))
                .saturating_sub(sum_of(&v.released))
                .saturating_sub(sum_of(&v.withdrawn));
            out.discrepancies.push(Discrepancy::VaultUnexplained {
                chain: v.chain.clone(),
                token: v.token.clone(),
                balance: v.balance.clone(),
                expected: expected.to_string(),
            });
        }
    }
    out
}

fn sum_of(s: &str) -> U256 {
    s.parse().unwrap_or_default()
}

/// Every release on chain: once per id, for a transfer, paid as the transfer says.
fn check_releases(
    facts: &ChainFacts,
    by_id: &HashMap<TransferId, &Transfer>,
    releases: &HashMap<TransferId, Vec<&SeenRelease>>,
    out: &mut Vec<Discrepancy>,
) {
    let mut ids: Vec<&TransferId> = releases.keys().collect();
    ids.sort();
    for id in ids {
        let seen = &releases[id];
        let first = seen[0];
        if seen.len() > 1 {
            out.push(Discrepancy::ReleasedTwice {
                id: id.to_string(),
                chain_id: first.chain_id,
                txs: seen.iter().map(|r| r.tx.clone()).collect(),
            });
        }
        let Some(t) = by_id.get(id) else {
            out.push(Discrepancy::ReleaseWithoutTransfer {
                id: id.to_string(),
                chain_id: first.chain_id,
                tx: first.tx.clone(),
            });
            continue;
        };
        let mut differs = Vec::new();
        if t.dest_chain_id != first.chain_id {
            differs.push(format!(
                "chain {} (transfer: {})",
                first.chain_id, t.dest_chain_id
            ));
        }
        if t.dest_token.as_deref().map(str::to_lowercase) != Some(first.token.to_lowercase()) {
            differs.push(format!(
                "token {} (transfer: {:?})",
                first.token, t.dest_token
            ));
        }
        let recipients = facts
            .paid_accounts
            .get(id)
            .cloned()
            .unwrap_or_else(|| vec![t.recipient.to_lowercase()]);
        if !recipients.contains(&first.recipient.to_lowercase()) {
            differs.push(format!(
                "recipient {} (transfer: {})",
                first.recipient, t.recipient
            ));
        }
        if t.amount_out != Some(first.amount) {
            differs.push(format!(
                "amount {} (transfer: {:?})",
                first.amount,
                t.amount_out.map(|a| a.to_string())
            ));
        }
        if !differs.is_empty() {
            out.push(Discrepancy::ReleaseDiffers {
                id: id.to_string(),
                tx: first.tx.clone(),
                what: differs.join("; "),
            });
        }
        let released_elsewhere = matches!(
            t.failure_reason,
            Some(Reason::AlreadyReleasedOnChain { .. })
        );
        if not_released(t.status) && !released_elsewhere {
            out.push(Discrepancy::ReleasedButRecordedAs {
                id: id.to_string(),
                status: t.status.to_string(),
                tx: first.tx.clone(),
            });
        }
    }
}

/// Every transfer: its deposit is on its chain as recorded, and a confirmed one was paid.
fn check_transfers(
    facts: &ChainFacts,
    transfers: &[Transfer],
    releases: &HashMap<TransferId, Vec<&SeenRelease>>,
    out: &mut Vec<Discrepancy>,
) {
    let deposits: HashMap<TransferId, &SeenDeposit> =
        facts.deposits.iter().map(|d| (d.id, d)).collect();
    for t in transfers {
        let judged = facts
            .indexed_up_to
            .get(&t.source_chain_id)
            .is_some_and(|up_to| t.source_block <= *up_to);
        let reorged_out = matches!(t.failure_reason, Some(Reason::ReorgedOut { .. }));
        match deposits.get(&t.id) {
            None if judged && !reorged_out => out.push(Discrepancy::DepositNotOnChain {
                id: t.id.to_string(),
                status: t.status.to_string(),
                tx: t.source_tx.clone(),
            }),
            None => {}
            Some(d) => {
                let mut differs = Vec::new();
                if d.amount != t.amount_in {
                    differs.push(format!("amount {} (transfer: {})", d.amount, t.amount_in));
                }
                if d.token.to_lowercase() != t.source_token.to_lowercase() {
                    differs.push(format!("token {} (transfer: {})", d.token, t.source_token));
                }
                if !differs.is_empty() {
                    out.push(Discrepancy::DepositDiffers {
                        id: t.id.to_string(),
                        tx: d.tx.clone(),
                        what: differs.join("; "),
                    });
                }
            }
        }
        if t.status == TransferStatus::Confirmed
            && t.updated_at_ms < facts.read_started_ms
            && facts.destinations_read.contains(&t.dest_chain_id)
            && !releases.contains_key(&t.id)
        {
            out.push(Discrepancy::ConfirmedWithoutRelease {
                id: t.id.to_string(),
            });
        }
    }
}

/// Each source chain's deposits per token, by where they went.
fn books(
    facts: &ChainFacts,
    by_id: &HashMap<TransferId, &Transfer>,
    releases: &HashMap<TransferId, Vec<&SeenRelease>>,
    out: &mut Vec<Discrepancy>,
) -> Vec<TokenBook> {
    #[derive(Default)]
    struct Sums {
        deposits: u64,
        deposited: U256,
        released: U256,
        fees: U256,
        pending: U256,
        failed: U256,
        unrecorded: U256,
    }
    let mut sums: BTreeMap<(u64, String), Sums> = BTreeMap::new();
    for d in &facts.deposits {
        let judged = facts
            .indexed_up_to
            .get(&d.chain_id)
            .is_some_and(|up_to| d.block <= *up_to);
        if !judged {
            continue;
        }
        let s = sums
            .entry((d.chain_id, d.token.to_lowercase()))
            .or_default();
        s.deposits += 1;
        s.deposited = s.deposited.saturating_add(d.amount);
        let Some(t) = by_id.get(&d.id) else {
            s.unrecorded = s.unrecorded.saturating_add(d.amount);
            out.push(Discrepancy::DepositNotRecorded {
                id: d.id.to_string(),
                chain_id: d.chain_id,
                tx: d.tx.clone(),
            });
            continue;
        };
        if releases.contains_key(&d.id) {
            let fee = t.fee.unwrap_or_default();
            s.fees = s.fees.saturating_add(fee);
            s.released = s.released.saturating_add(d.amount.saturating_sub(fee));
        } else if t.status == TransferStatus::Failed {
            s.failed = s.failed.saturating_add(d.amount);
        } else {
            s.pending = s.pending.saturating_add(d.amount);
        }
    }
    sums.into_iter()
        .map(|((chain_id, token), s)| TokenBook {
            chain_id,
            token,
            deposits: s.deposits,
            deposited: s.deposited.to_string(),
            released: s.released.to_string(),
            fees: s.fees.to_string(),
            pending: s.pending.to_string(),
            failed: s.failed.to_string(),
            unrecorded: s.unrecorded.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The transfer id a test names `name`.
    fn tid(name: &str) -> TransferId {
        TransferId::derive(atoll_core::ChainId(1), name.as_bytes(), 0)
    }

    fn transfer(id: &str, status: TransferStatus) -> Transfer {
        Transfer {
            id: tid(id),
            source_chain_id: 1,
            source_tx: format!("0xtx{id}"),
            source_index: 0,
            source_block: 10,
            dest_chain_id: 56,
            source_token: "0xaaa".into(),
            dest_token: Some("0xbbb".into()),
            sender: "0xsender".into(),
            recipient: "0xccc".into(),
            amount_in: U256::from(1000u64),
            amount_out: Some(U256::from(990u64)),
            fee: Some(U256::from(10u64)),
            status,
            failure_reason: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    fn deposit(id: &str) -> SeenDeposit {
        SeenDeposit {
            id: tid(id),
            chain_id: 1,
            tx: format!("0xtx{id}"),
            block: 10,
            token: "0xAAA".into(),
            amount: U256::from(1000u64),
        }
    }

    fn release(id: &str, tx: &str) -> SeenRelease {
        SeenRelease {
            id: tid(id),
            chain_id: 56,
            tx: tx.into(),
            token: "0xBBB".into(),
            recipient: "0xCCC".into(),
            amount: U256::from(990u64),
        }
    }

    fn facts(deposits: Vec<SeenDeposit>, releases: Vec<SeenRelease>) -> ChainFacts {
        ChainFacts {
            deposits,
            releases,
            indexed_up_to: HashMap::from([(1, 100)]),
            destinations_read: vec![56],
            read_started_ms: 1,
            ..ChainFacts::default()
        }
    }

    #[test]
    fn clean_books_balance_in_exact_integers() {
        let db = [
            transfer("a", TransferStatus::Confirmed),
            transfer("b", TransferStatus::SourceFinal),
            transfer("c", TransferStatus::Failed),
        ];
        let v = reconcile(
            &facts(
                vec![deposit("a"), deposit("b"), deposit("c")],
                vec![release("a", "0xr1")],
            ),
            &db,
        );
        assert!(v.discrepancies.is_empty(), "{:?}", v.discrepancies);
        let book = &v.books[0];
        assert_eq!(
            (
                book.deposited.as_str(),
                book.released.as_str(),
                book.fees.as_str(),
                book.pending.as_str(),
                book.failed.as_str()
            ),
            ("3000", "990", "10", "1000", "1000")
        );
    }

    #[test]
    fn every_discrepancy_is_named() {
        let mut wrong = transfer("d", TransferStatus::Confirmed);
        wrong.amount_out = Some(U256::from(991u64));
        let db = [
            transfer("a", TransferStatus::Confirmed),
            transfer("b", TransferStatus::SourceFinal),
            transfer("c", TransferStatus::Confirmed),
            wrong,
            transfer("gone", TransferStatus::Observed),
        ];
        let v = reconcile(
            &facts(
                vec![
                    deposit("a"),
                    deposit("b"),
                    deposit("c"),
                    deposit("d"),
                    deposit("new"),
                ],
                vec![
                    release("a", "0xr1"),
                    release("a", "0xr2"),
                    release("b", "0xr3"),
                    release("d", "0xr4"),
                    release("stray", "0xr5"),
                ],
            ),
            &db,
        );
        let kinds: Vec<String> = v
            .discrepancies
            .iter()
            .map(|d| {
                serde_json::to_value(d).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        for want in [
            "released_twice",
            "released_but_recorded_as",
            "release_differs",
            "release_without_transfer",
            "confirmed_without_release",
            "deposit_not_on_chain",
            "deposit_not_recorded",
        ] {
            assert!(kinds.iter().any(|k| k == want), "{want} in {kinds:?}");
        }
        let text: Vec<String> = v.discrepancies.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|t| t.contains("0xr1, 0xr2")), "{text:?}");
    }

    #[test]
    fn a_release_on_chain_for_a_waiting_transfer_is_named() {
        for waiting in [
            TransferStatus::AwaitingGas,
            TransferStatus::AwaitingLiquidity,
            TransferStatus::Paused,
            TransferStatus::Stuck,
        ] {
            let v = reconcile(
                &facts(vec![deposit("a")], vec![release("a", "0xr1")]),
                &[transfer("a", waiting)],
            );
            let text: Vec<String> = v.discrepancies.iter().map(ToString::to_string).collect();
            assert!(
                text.iter()
                    .any(|t| t.contains("recorded as") && t.contains(waiting.as_str())),
                "{waiting}: {text:?}"
            );
        }
    }

    #[test]
    fn newer_than_the_indexer_and_reorged_out_are_not_judged() {
        let mut reorged = transfer("r", TransferStatus::Failed);
        reorged.failure_reason = Some(Reason::ReorgedOut {
            block: 10,
            was: Some(TransferStatus::Observed),
        });
        let mut late = deposit("late");
        late.block = 101;
        let v = reconcile(&facts(vec![late], vec![]), &[reorged]);
        assert!(v.discrepancies.is_empty(), "{:?}", v.discrepancies);
    }

    #[test]
    fn released_elsewhere_is_explained_and_an_evm_vault_must_balance() {
        let mut elsewhere = transfer("a", TransferStatus::Failed);
        elsewhere.failure_reason = Some(Reason::AlreadyReleasedOnChain {
            claim_account: false,
        });
        let mut f = facts(vec![deposit("a")], vec![release("a", "0xr1")]);
        f.vaults.push(VaultBook {
            chain: "bsc".into(),
            token: "USDC".into(),
            balance: "3".into(),
            deposited: "10".into(),
            released: "6".into(),
            added: "0".into(),
            withdrawn: "0".into(),
            opening: None,
            every_movement_is_an_event: true,
        });
        // A surplus is shown, not judged: anyone can send the vault tokens.
        f.vaults.push(VaultBook {
            chain: "ethereum".into(),
            token: "USDC".into(),
            balance: "5".into(),
            deposited: "4".into(),
            released: "0".into(),
            added: "0".into(),
            withdrawn: "0".into(),
            opening: Some("1".into()),
            every_movement_is_an_event: true,
        });
        let v = reconcile(&f, &[elsewhere]);
        assert_eq!(v.discrepancies.len(), 1, "{:?}", v.discrepancies);
        assert!(
            v.discrepancies[0].to_string().contains(
                "holds 3 of USDC; its deposits, releases, top-ups and withdrawals give 4"
            )
        );
    }
}
