//! A release transaction's batch moves are stored as one history row each, naming the
//! transaction and the transfers that moved, on SQLite and PostgreSQL; every read still gives
//! each transfer its own changes in order: its history, the subscription feed (all transfers
//! and one), and when each reached a status. A batch that splits (some released, one short of
//! liquidity) keeps each transfer's own path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atoll_core::TransferStatus::{self, *};
use atoll_core::{B256, Reason, TransferId};
use atoll_store::entities::transfer_history;
use atoll_store::release_txs::{NewReleaseTx, ReleaseWrite};
use atoll_store::test_support::{deposit_row, exercise_on_postgres, sqlite_in};
use atoll_store::transfers::DepositRow;
use atoll_store::{Checkpoint, Store};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

const TX: &str = "0x00000000000000000000000000000000000000000000000000000000000000aa";

fn tx() -> B256 {
    TX.parse().unwrap()
}

fn batch_move(
    ids: &[TransferId],
    from: TransferStatus,
    to: TransferStatus,
    why: &str,
) -> ReleaseWrite {
    ReleaseWrite::Move {
        ids: ids.to_vec(),
        from,
        to,
        reason: Reason::from_stored(why),
        tx_hash: Some(tx()),
    }
}

/// Each change as `(to status, reason)` texts. A `HistoryEntry` names one transfer (the
/// type has no list of ids): that it is `id` is checked on every row.
async fn path_of(store: &Store, id: TransferId) -> Vec<(String, Option<String>)> {
    store
        .transfer_history(id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| {
            assert_eq!(h.transfer_id, id);
            (h.to_status.to_string(), h.reason.map(|r| r.to_string()))
        })
        .collect()
}

async fn exercise(store: &Store) {
    store.migrate_up().await.unwrap();
    let rows: Vec<DepositRow> = (1..=3).map(|i| deposit_row(i, Observed, None)).collect();
    let ids: Vec<TransferId> = rows.iter().map(|r| r.id).collect();
    let txn = store.begin_ingest(1, "deposits:test", None).await.unwrap();
    txn.insert_deposits(&rows).await.unwrap();
    txn.commit(&Checkpoint {
        block_number: 13,
        block_hash: "h".into(),
    })
    .await
    .unwrap();
    store
        .transition_many(&ids, Observed, SourceFinal, Some(&Reason::text("final")))
        .await
        .unwrap();
    let before = store.last_history_id().await.unwrap();

    store
        .record_release_tx(
            &NewReleaseTx {
                chain_id: 56,
                nonce: 0,
                tx_hash: tx(),
                raw_tx: "0x02".parse().unwrap(),
                gas_limit: 100_000,
                max_fee_per_gas: 2,
                priority_fee: Some(1),
            },
            &ids.iter().map(|id| (*id, SourceFinal)).collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    store
        .apply_release_writes(&[
            batch_move(&ids, Signed, Broadcast, "sent"),
            batch_move(&ids[..2], Broadcast, Included, "released in block 20"),
            batch_move(&ids[2..], Broadcast, AwaitingLiquidity, "vault short"),
        ])
        .await
        .unwrap();
    store
        .apply_release_writes(&[batch_move(&ids[..2], Included, Confirmed, "block 20 final")])
        .await
        .unwrap();

    // Stored: one row per move of the transaction, not one per transfer.
    let batch_rows = transfer_history::Entity::find()
        .filter(transfer_history::Column::TxHash.eq(TX))
        .count(store.connection())
        .await
        .unwrap();
    assert_eq!(batch_rows, 5);

    // Read: each transfer's own path, in order, with its reasons.
    let s = |v: &str| Some(v.to_string());
    let head = vec![
        ("observed".to_string(), None),
        ("source_final".to_string(), s("final")),
        ("signed".to_string(), s(&format!("signed {TX} (nonce 0)"))),
        ("broadcast".to_string(), s("sent")),
    ];
    let mut released = head.clone();
    released.push(("included".into(), s("released in block 20")));
    released.push(("confirmed".into(), s("block 20 final")));
    let mut short = head;
    short.push(("awaiting_liquidity".into(), s("vault short")));
    assert_eq!(path_of(store, ids[0]).await, released);
    assert_eq!(path_of(store, ids[1]).await, released);
    assert_eq!(path_of(store, ids[2]).await, short);

    // The feed: every change of every transfer after a row, each about one transfer.
    let feed = store.history_after(before, None, 500).await.unwrap();
    let count = |to: TransferStatus| feed.iter().filter(|h| h.to_status == to).count();
    assert_eq!(feed.len(), 3 + 3 + 2 + 1 + 2);
    assert_eq!(
        (count(Signed), count(Broadcast), count(Included)),
        (3, 3, 2)
    );
    // Each change names one transfer (a `HistoryEntry` has one id, no list), and each moved.
    assert!(feed.iter().all(|h| ids.contains(&h.transfer_id)));
    assert!(feed.windows(2).all(|w| w[0].id <= w[1].id));
    // One transfer's feed, resumed after its `broadcast` row.
    let mine = store.history_after(0, Some(ids[2]), 500).await.unwrap();
    assert_eq!(mine.len(), 5);
    let after_broadcast = mine[3].id;
    let rest: Vec<TransferStatus> = store
        .history_after(after_broadcast, Some(ids[2]), 500)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.to_status)
        .collect();
    assert_eq!(rest, vec![AwaitingLiquidity]);

    // When each reached a status: from batch rows and own rows alike.
    let mut confirmed: Vec<TransferId> = store
        .reached(Confirmed)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    confirmed.sort();
    assert_eq!(confirmed, ids[..2].to_vec());
    assert_eq!(store.reached(SourceFinal).await.unwrap().len(), 3);
}

#[tokio::test]
async fn batch_history_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    exercise(&sqlite_in(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn batch_history_on_postgres() {
    exercise_on_postgres("batch_history", exercise)
        .await
        .unwrap();
}
