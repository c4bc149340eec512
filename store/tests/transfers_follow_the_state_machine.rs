//! Transfers in the store, on SQLite and PostgreSQL: deposits are recorded once (a re-scan
//! inserts nothing), each with its first history row; transitions follow the state machine's
//! edges only, move a transfer only from the status the caller saw, and leave a history with
//! every reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atoll_core::TransferStatus::*;
use atoll_core::{Reason, TransferId, U256};
use atoll_store::entities::{chains, transfer_attempts};
use atoll_store::test_support::{deposit_row as deposit, exercise_on_postgres, sqlite_in};
use atoll_store::transfers::DepositRow;
use atoll_store::{Checkpoint, Store, StoreError};
use sea_orm::{ActiveValue::Set, EntityTrait};

async fn exercise(store: &Store) {
    store.migrate_up().await.unwrap();
    let rows = [
        deposit(1, Observed, None),
        deposit(2, Failed, Some("rejected deposit: missing memo")),
    ];
    let mut checkpoint = None;
    for round in 0..2u64 {
        let txn = store
            .begin_ingest(1, "deposits:test", checkpoint.as_ref())
            .await
            .unwrap();
        let inserted = txn.insert_deposits(&rows).await.unwrap();
        assert_eq!(inserted, if round == 0 { 2 } else { 0 }, "round {round}");
        let next = Checkpoint {
            block_number: 12 + round,
            block_hash: format!("sig{round}"),
        };
        txn.commit(&next).await.unwrap();
        checkpoint = Some(next);
    }
    assert_eq!(store.transfers_from(1).await.unwrap().len(), 2);
    let id = rows[0].id;
    assert_eq!(store.transfer_history(id).await.unwrap().len(), 1);
    let why = |s: &str| Some(Reason::from_stored(s));

    // Along the edges, with reasons.
    store
        .transition(id, Observed, SourceFinal, why("32 confirmations").as_ref())
        .await
        .unwrap();
    store
        .transition(
            id,
            SourceFinal,
            AwaitingLiquidity,
            why("vault holds 5, needs 10").as_ref(),
        )
        .await
        .unwrap();
    // Not an edge: refused, nothing written.
    let err = store
        .transition(id, AwaitingLiquidity, Broadcast, None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::IllegalTransition { .. }), "{err}");
    // Not the status it is in (someone moved it): refused, nothing written.
    let err = store
        .transition(id, SourceFinal, Signed, None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("expected status source_final, found awaiting_liquidity"),
        "{err}"
    );
    store
        .transition(
            id,
            AwaitingLiquidity,
            Failed,
            why("route removed from config").as_ref(),
        )
        .await
        .unwrap();
    let t = store.transfer(id).await.unwrap().unwrap();
    assert_eq!(t.status, Failed);
    assert_eq!(
        t.failure_reason.map(|r| r.to_string()).as_deref(),
        Some("route removed from config")
    );
    // An operator's retry clears the failure reason.
    store.retry(id, "route restored").await.unwrap();
    assert_eq!(
        store.transfer(id).await.unwrap().unwrap().failure_reason,
        None
    );

    let history: Vec<(Option<String>, String, Option<String>)> = store
        .transfer_history(id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| {
            (
                h.from_status.map(|s| s.to_string()),
                h.to_status.to_string(),
                h.reason.map(|r| r.to_string()),
            )
        })
        .collect();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        history,
        vec![
            (None, "observed".into(), None),
            (s("observed"), "source_final".into(), s("32 confirmations")),
            (
                s("source_final"),
                "awaiting_liquidity".into(),
                s("vault holds 5, needs 10")
            ),
            (
                s("awaiting_liquidity"),
                "failed".into(),
                s("route removed from config")
            ),
            (
                s("failed"),
                "observed".into(),
                s("operator retry: route restored")
            ),
        ]
    );
    let rejected = store.transfer_history(rows[1].id).await.unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        rejected[0]
            .reason
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("rejected deposit: missing memo")
    );
    assert_eq!(
        rejected[0].reason,
        Some(Reason::RejectedDeposit("missing memo".into()))
    );
    // A reorg to block 11: the deposit of block 12 (still observed) is orphaned; the one of
    // block 11 stays. The new chain reuses the orphan's id at block 14: it is revived.
    let orphan = deposit(2, Observed, None);
    let orphan = DepositRow {
        id: TransferId(U256::from(99u8).to_be_bytes()),
        source_block: 12,
        ..orphan
    };
    let txn = store
        .begin_ingest(1, "deposits:test", checkpoint.as_ref())
        .await
        .unwrap();
    assert_eq!(
        txn.insert_deposits(std::slice::from_ref(&orphan))
            .await
            .unwrap(),
        1
    );
    txn.commit(checkpoint.as_ref().unwrap()).await.unwrap();
    let summary = store
        .rollback_deposits_above(1, "deposits:test", 11, None)
        .await
        .unwrap();
    // The first deposit (block 11) is not above 11; the one moved on was at block 11 too.
    assert_eq!(
        (summary.deposits_reorged_out, summary.deposits_at_risk),
        (1, 0)
    );
    let t = store.transfer(orphan.id).await.unwrap().unwrap();
    assert_eq!(t.status, Failed);
    let why = t.failure_reason.unwrap();
    assert!(
        why.to_string().starts_with("reorged out: block 12"),
        "{why}"
    );
    assert!(
        matches!(why, Reason::ReorgedOut { block: 12, .. }),
        "{why:?}"
    );
    let again = DepositRow {
        source_tx: "0xnew".into(),
        source_block: 14,
        amount_in: U256::from(5u8),
        ..orphan.clone()
    };
    let txn = store.begin_ingest(1, "deposits:test", None).await.unwrap();
    assert_eq!(txn.insert_deposits(&[again]).await.unwrap(), 1);
    txn.commit(&Checkpoint {
        block_number: 14,
        block_hash: "new".into(),
    })
    .await
    .unwrap();
    let t = store.transfer(orphan.id).await.unwrap().unwrap();
    assert_eq!(
        (t.status, t.source_tx.as_str(), t.amount_in),
        (Observed, "0xnew", U256::from(5u8))
    );
    assert_eq!(t.failure_reason, None);
    assert_eq!(store.transfer_history(orphan.id).await.unwrap().len(), 3);
    // A failure that is not a reorg is never revived by a re-scan.
    let txn = store
        .begin_ingest(
            1,
            "deposits:test",
            Some(&Checkpoint {
                block_number: 14,
                block_hash: "new".into(),
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        txn.insert_deposits(&[deposit(2, Observed, None)])
            .await
            .unwrap(),
        0
    );
    txn.commit(&Checkpoint {
        block_number: 15,
        block_hash: "x".into(),
    })
    .await
    .unwrap();
    assert_eq!(
        store.transfer(rows[1].id).await.unwrap().unwrap().status,
        Failed
    );

    // A transfer a release was ever signed for is never retried (reconciliation decides).
    let signed_id = rows[1].id;
    transfer_attempts::Entity::insert(transfer_attempts::ActiveModel {
        transfer_id: Set(signed_id.to_string()),
        chain_id: Set(56),
        nonce: Set(Some(7)),
        tx_hash: Set("0xabc".into()),
        raw_tx: Set("0x02f8".into()),
        status: Set("broadcast".into()),
        created_at_ms: Set(0),
        ..Default::default()
    })
    .exec(store.connection())
    .await
    .unwrap();
    let refused = store.retry(signed_id, "try again").await.unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("1 release attempt(s) were signed for it"),
        "{refused}"
    );
    assert_eq!(
        store.transfer(signed_id).await.unwrap().unwrap().status,
        Failed
    );

    // Newest attempts of many transfers at once: the later of two, none for a transfer
    // nothing was signed for.
    transfer_attempts::Entity::insert(transfer_attempts::ActiveModel {
        transfer_id: Set(signed_id.to_string()),
        chain_id: Set(56),
        nonce: Set(Some(7)),
        tx_hash: Set("0xdef".into()),
        raw_tx: Set("0x02f9".into()),
        status: Set("broadcast".into()),
        created_at_ms: Set(1),
        ..Default::default()
    })
    .exec(store.connection())
    .await
    .unwrap();
    let newest = store.latest_attempts(&[signed_id, id]).await.unwrap();
    assert_eq!(newest.len(), 1, "{newest:?}");
    assert_eq!(newest[&signed_id].tx_hash, "0xdef");
    assert_eq!(
        store
            .latest_attempt(signed_id)
            .await
            .unwrap()
            .unwrap()
            .tx_hash,
        "0xdef"
    );

    // Pausing a chain is kept on its row; an unknown chain is an error naming it.
    chains::Entity::insert(chains::ActiveModel {
        chain_id: Set(56),
        name: Set("bsc".into()),
        kind: Set("evm".into()),
        created_at_ms: Set(0),
        paused: Set(false),
        paused_reason: Set(None),
    })
    .exec(store.connection())
    .await
    .unwrap();
    store
        .set_paused(56, true, Some("vault migration"))
        .await
        .unwrap();
    let bsc = store
        .chain_states()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.chain_id == 56)
        .unwrap();
    assert!(bsc.paused);
    assert_eq!(bsc.paused_reason.as_deref(), Some("vault migration"));
    store.set_paused(56, false, None).await.unwrap();
    let bsc = store
        .chain_states()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.chain_id == 56)
        .unwrap();
    assert!(!bsc.paused && bsc.paused_reason.is_none());
    assert!(
        store
            .set_paused(137, true, None)
            .await
            .unwrap_err()
            .to_string()
            .contains("chain 137")
    );

    let missing = store
        .transition(TransferId([0xde; 32]), Observed, SourceFinal, None)
        .await
        .unwrap_err();
    assert!(
        missing.to_string().contains("no such transfer"),
        "{missing}"
    );

    // "All of them": a limit past what a database can bind is read as no limit.
    let everything = store.transfers(None, None, u64::MAX).await.unwrap();
    assert_eq!(
        everything.len(),
        store.transfers(None, None, 1_000).await.unwrap().len()
    );
    assert!(!everything.is_empty());
}

/// A reorg takes blocks 11 to 15 away while five deposits wait there in every state before a
/// release: each waiting one becomes `failed` (reorged out), so no executor ever sees it again,
/// whatever the vault holds later; the one already signed stays, reported at risk.
async fn reorg_fails_every_waiting_deposit(store: &Store) {
    store.migrate_up().await.unwrap();
    let rows: Vec<DepositRow> = (1..=6).map(|i| deposit(i, Observed, None)).collect();
    let txn = store.begin_ingest(1, "deposits:test", None).await.unwrap();
    txn.insert_deposits(&rows).await.unwrap();
    txn.commit(&Checkpoint {
        block_number: 15,
        block_hash: "old".into(),
    })
    .await
    .unwrap();
    let id = |i: usize| rows[i - 1].id;
    for i in 2..=6 {
        store
            .transition(id(i), Observed, SourceFinal, None)
            .await
            .unwrap();
    }
    store
        .transition(
            id(3),
            SourceFinal,
            AwaitingLiquidity,
            Some(&Reason::text("vault empty")),
        )
        .await
        .unwrap();
    store
        .transition(
            id(4),
            SourceFinal,
            Paused,
            Some(&Reason::text("bsc paused")),
        )
        .await
        .unwrap();
    store
        .transition(
            id(6),
            SourceFinal,
            AwaitingGas,
            Some(&Reason::text("fee $0.50 < gas $3.20 at 80 gwei")),
        )
        .await
        .unwrap();
    let attempt = atoll_store::transfers::SignedAttempt {
        chain_id: 56,
        nonce: Some(0),
        blockhash: None,
        last_valid_block_height: None,
        tx_hash: "0xabc".into(),
        raw_tx: "0x00".into(),
        max_fee_per_gas: None,
        priority_fee: None,
    };
    store
        .record_signed(id(5), SourceFinal, &attempt)
        .await
        .unwrap();

    let summary = store
        .rollback_deposits_above(1, "deposits:test", 10, None)
        .await
        .unwrap();
    assert_eq!(
        (summary.deposits_reorged_out, summary.deposits_at_risk),
        (5, 1)
    );
    for (i, was) in [
        (1, "observed"),
        (2, "source_final"),
        (3, "awaiting_liquidity"),
        (4, "paused"),
        (6, "awaiting_gas"),
    ] {
        let t = store.transfer(id(i)).await.unwrap().unwrap();
        assert_eq!(t.status, Failed, "deposit {i}");
        let reason = t.failure_reason.unwrap();
        assert!(
            matches!(reason, Reason::ReorgedOut { was: Some(w), .. } if w.as_str() == was),
            "{reason:?}"
        );
        let why = reason.to_string();
        assert!(
            why.starts_with(&format!("reorged out: block {}", 10 + i)),
            "{why}"
        );
        assert!(
            why.contains(&format!("while the deposit was {was}")),
            "{why}"
        );
    }
    assert_eq!(store.transfer(id(5)).await.unwrap().unwrap().status, Signed);
    let queued = store
        .transfers_to(56, &[SourceFinal, AwaitingLiquidity, AwaitingGas, Paused])
        .await
        .unwrap();
    assert!(queued.is_empty(), "{queued:?}");
}

#[tokio::test]
async fn reorg_fails_waiting_deposits_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    reorg_fails_every_waiting_deposit(&sqlite_in(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn reorg_fails_waiting_deposits_on_postgres() {
    exercise_on_postgres("reorg_waiting", reorg_fails_every_waiting_deposit)
        .await
        .unwrap();
}

/// A database from before reorg-stable ids: a deposit recorded under the vault's counter id
/// (its log index as `source_index`) and seen again under its new id (its position in the
/// transaction) is kept as it is, with a history row, and not recorded a second time.
async fn legacy_ids_are_matched_not_duplicated(store: &Store) {
    store.migrate_up().await.unwrap();
    let tx = [0xab_u8; 32];
    let source_tx = format!("0x{}", hex::encode(tx));
    let legacy = DepositRow {
        id: TransferId(U256::from(42u8).to_be_bytes()),
        source_tx: source_tx.clone(),
        source_index: 7,
        ..deposit(42, Observed, None)
    };
    let txn = store.begin_ingest(1, "deposits:test", None).await.unwrap();
    assert_eq!(
        txn.insert_deposits(std::slice::from_ref(&legacy))
            .await
            .unwrap(),
        1
    );
    txn.commit(&Checkpoint {
        block_number: 52,
        block_hash: "a".into(),
    })
    .await
    .unwrap();

    let again = DepositRow {
        id: atoll_core::TransferId::derive(atoll_core::ChainId(1), &tx, 0),
        source_index: 0,
        ..legacy.clone()
    };
    // Another deposit in another transaction of the same batch is recorded as usual.
    let other = deposit(43, Observed, None);
    let txn = store
        .begin_ingest(
            1,
            "deposits:test",
            Some(&Checkpoint {
                block_number: 52,
                block_hash: "a".into(),
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        txn.insert_deposits(&[again.clone(), other]).await.unwrap(),
        1
    );
    txn.commit(&Checkpoint {
        block_number: 53,
        block_hash: "b".into(),
    })
    .await
    .unwrap();
    assert!(store.transfer(again.id).await.unwrap().is_none());
    assert_eq!(store.transfers_from(1).await.unwrap().len(), 2);
    let history = store.transfer_history(legacy.id).await.unwrap();
    assert!(
        history.iter().any(|h| h
            .reason
            .as_ref()
            .is_some_and(|r| r.to_string().contains("kept under its legacy id"))),
        "{history:?}"
    );
}

#[tokio::test]
async fn legacy_ids_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    legacy_ids_are_matched_not_duplicated(&sqlite_in(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn legacy_ids_on_postgres() {
    exercise_on_postgres("legacy_ids", legacy_ids_are_matched_not_duplicated)
        .await
        .unwrap();
}

#[tokio::test]
async fn transfers_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    exercise(&sqlite_in(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn transfers_on_postgres() {
    exercise_on_postgres("transfers", exercise).await.unwrap();
}

/// Rows are read as the domain's types once, in the store: a row written with text that is no
/// status, amount or id is an error naming its table, column and row (never a panic, never a
/// default), and the rows beside it still read. Reasons always read (text of no known form is
/// `Reason::Text`), and the texts earlier versions wrote read as their variants.
async fn unreadable_rows_are_named(store: &Store) {
    use atoll_store::entities::transfers;
    store.migrate_up().await.unwrap();
    let good = deposit(1, Failed, None);
    let txn = store.begin_ingest(1, "deposits:test", None).await.unwrap();
    txn.insert_deposits(std::slice::from_ref(&good))
        .await
        .unwrap();
    txn.commit(&Checkpoint {
        block_number: 11,
        block_hash: "a".into(),
    })
    .await
    .unwrap();
    let row = |id: &str, status: &str, amount: &str, reason: Option<&str>| transfers::ActiveModel {
        id: Set(id.to_string()),
        source_chain_id: Set(1),
        source_tx: Set(format!("0xtx{id}")),
        source_index: Set(0),
        source_block: Set(20),
        dest_chain_id: Set(56),
        source_token: Set("0x5fbdb2315678afecb367f032d93f642f64180aa3".into()),
        dest_token: Set(None),
        sender: Set("0x70997970c51812dc3a010c7d01b50e0d17dc79c8".into()),
        recipient: Set("0x70997970c51812dc3a010c7d01b50e0d17dc79c8".into()),
        amount_in: Set(amount.to_string()),
        amount_out: Set(None),
        fee: Set(None),
        status: Set(status.to_string()),
        failure_reason: Set(reason.map(str::to_string)),
        created_at_ms: Set(0),
        updated_at_ms: Set(0),
    };
    let bad_status = TransferId([0xb1; 32]);
    let bad_amount = TransferId([0xb2; 32]);
    let old_reorg = TransferId([0xb3; 32]);
    let old_text = "reorged out: block 20 left the canonical chain before the deposit was final; nothing was sent";
    for m in [
        row(&bad_status.to_string(), "done", "5", None),
        row(&bad_amount.to_string(), "observed", "5 USDC", None),
        row(&old_reorg.to_string(), "failed", "5", Some(old_text)),
    ] {
        transfers::Entity::insert(m)
            .exec_without_returning(store.connection())
            .await
            .unwrap();
    }
    let err = store.transfer(bad_status).await.unwrap_err();
    match &err {
        StoreError::Unreadable {
            table,
            column,
            row,
            value,
            ..
        } => assert_eq!(
            (*table, *column, row.as_str(), value.as_str()),
            (
                "transfers",
                "status",
                bad_status.to_string().as_str(),
                "done"
            ),
        ),
        other => panic!("unreadable, not {other:?}"),
    }
    assert!(
        err.to_string()
            .contains(&format!("transfers.status of row {bad_status}")),
        "{err}"
    );
    let err = store.transfer(bad_amount).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Unreadable { column: "amount_in", value, .. } if value == "5 USDC"),
        "{err:?}"
    );
    assert_eq!(err.metric_label(), "unreadable_row");
    // A read of many rows names the first it cannot read.
    assert!(matches!(
        store.transfers_from(1).await,
        Err(StoreError::Unreadable { .. })
    ));
    // The rows beside them read, and an older version's reorg text is that reason still.
    assert_eq!(
        store.transfer(good.id).await.unwrap().unwrap().status,
        Failed
    );
    let old = store.transfer(old_reorg).await.unwrap().unwrap();
    assert_eq!(
        old.failure_reason,
        Some(Reason::ReorgedOut {
            block: 20,
            was: None
        })
    );
    assert_eq!(old.failure_reason.unwrap().to_string(), old_text);
}

#[tokio::test]
async fn unreadable_rows_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    unreadable_rows_are_named(&sqlite_in(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn unreadable_rows_on_postgres() {
    exercise_on_postgres("unreadable_rows", unreadable_rows_are_named)
        .await
        .unwrap();
}
