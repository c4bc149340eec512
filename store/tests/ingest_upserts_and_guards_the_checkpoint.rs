//! The indexer's write path on SQLite and PostgreSQL: re-ingesting the same events changes
//! nothing (upserts keyed `(chain, tx, log_index)`); a batch is refused when the checkpoint is
//! not the one it was read against (two indexers of a chain cannot both count a range); a
//! transaction dropped before commit leaves no trace; and a rollback removes what lies above the
//! ancestor and rebuilds the hourly volumes from the events that remain. Block hashes are kept per
//! checkpoint stream: one stream's rollback never touches, nor trusts, another's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use atoll_core::settings::Settings;
use atoll_core::{TransferId, TransferStatus, U256};
use atoll_store::ingest::{BlockHashRow, EventRow, HourlyDelta, PoolEntry, lp_fee};
use atoll_store::test_support::{exercise_on_postgres, sqlite_in};
use atoll_store::transfers::DepositRow;
use atoll_store::{Checkpoint, Store, StoreError};

const CONFIG: &str = r#"
[[chains]]
name = "ethereum"
kind = "evm"
chain_id = 1
rpc = ["http://127.0.0.1:1"]
"#;

const POOL: &str = "ethereum:uniswap_v2:0x00000000000000000000000000000000000000aa";
const HOUR: i64 = 3_600_000;

fn swap(block: u64, index: u64, time_ms: i64, v0: u64) -> EventRow {
    EventRow {
        tx_hash: format!("0x{block:064x}"),
        log_index: index,
        block_number: block,
        block_hash: format!("0x{:064x}", block + 1_000),
        block_time_ms: time_ms,
        pool_id: POOL.into(),
        kind: "v2_swap",
        payload: "{}".into(),
        volume: Some((U256::from(v0), U256::ZERO)),
    }
}

fn delta(events: &[EventRow]) -> Vec<HourlyDelta> {
    let mut by_bucket: BTreeMap<i64, HourlyDelta> = BTreeMap::new();
    for e in events {
        let bucket = e.block_time_ms.div_euclid(HOUR) * HOUR;
        let d = by_bucket.entry(bucket).or_insert(HourlyDelta {
            pool_id: POOL.into(),
            bucket_start_ms: bucket,
            swaps: 0,
            volume0: U256::ZERO,
            volume1: U256::ZERO,
            first_block: e.block_number,
            last_block: e.block_number,
            lp_fees: None,
        });
        d.swaps += 1;
        d.volume0 += e.volume.unwrap().0;
        d.last_block = d.last_block.max(e.block_number);
    }
    by_bucket.into_values().collect()
}

fn cp(n: u64) -> Checkpoint {
    Checkpoint {
        block_number: n,
        block_hash: format!("0x{:064x}", n + 1_000),
    }
}

async fn exercise(store: &Store) {
    store.migrate_up().await.unwrap();
    let settings = Settings::parse(
        CONFIG,
        Vec::<(String, String)>::new(),
        std::path::Path::new("."),
    )
    .unwrap();
    store.register_settings(&settings).await.unwrap();
    let lp = BTreeMap::from([(POOL.to_string(), 3_000u32)]);

    // Batch 1: blocks 1..=3 in hour 0, block 4 in hour 1.
    let batch1 = vec![
        swap(1, 0, 10, 1_000_000),
        swap(2, 0, 20, 2_000_000),
        swap(3, 5, 30, 3_000_001),
        swap(4, 0, HOUR + 5, 4_000_000),
    ];
    let txn = store.begin_ingest(1, "pools", None).await.unwrap();
    txn.insert_pools(&[PoolEntry {
        id: POOL.into(),
        chain_id: 1,
        protocol: "uniswap_v2".into(),
        address: "0x00000000000000000000000000000000000000aa".into(),
        token0: "0x01".into(),
        token1: "0x02".into(),
        symbol: "A-B".into(),
        fee_ppm: 3_000,
        lp_fee_ppm: 3_000,
        stablecoin: false,
        discovered_at_block: None,
    }])
    .await
    .unwrap();
    txn.insert_events(batch1.clone()).await.unwrap();
    // The same rows again in the same batch: still one row per (chain, tx, log_index).
    txn.insert_events(batch1.clone()).await.unwrap();
    txn.add_hourly(&delta(&batch1), &lp).await.unwrap();
    txn.commit(&cp(4)).await.unwrap();
    assert_eq!(store.event_count(1).await.unwrap(), 4);

    // A second indexer that read no checkpoint (or an older one) cannot apply its batch.
    match store.begin_ingest(1, "pools", None).await {
        Err(StoreError::CheckpointMoved { found, .. }) => assert_eq!(found, Some(4)),
        other => panic!("expected CheckpointMoved, got {:?}", other.err()),
    }
    match store.begin_ingest(1, "pools", Some(&cp(3))).await {
        Err(StoreError::CheckpointMoved { expected, .. }) => assert_eq!(expected, Some(3)),
        other => panic!("expected CheckpointMoved, got {:?}", other.err()),
    }

    // A batch dropped before commit (the process died) leaves nothing behind.
    {
        let txn = store.begin_ingest(1, "pools", Some(&cp(4))).await.unwrap();
        txn.insert_events(vec![swap(5, 0, HOUR + 6, 9)])
            .await
            .unwrap();
    }
    assert_eq!(store.event_count(1).await.unwrap(), 4);
    assert_eq!(store.checkpoint(1, "pools").await.unwrap(), Some(cp(4)));

    let hourly = store.hourly_volumes(&[POOL.into()], 0).await.unwrap();
    assert_eq!(hourly.len(), 2);
    assert_eq!(hourly[0].swaps, 3);
    assert_eq!(hourly[0].volume0, U256::from(6_000_001u64));
    assert_eq!(hourly[0].lp_fees0, lp_fee(U256::from(6_000_001u64), 3_000));
    assert_eq!(hourly[0].lp_fees0, U256::from(18_000u64));

    // Reorg: everything above block 2 goes; hour 0 is rebuilt from blocks 1 and 2, hour 1 empties.
    let summary = store
        .rollback_pools_above(1, "pools", 2, Some(&cp(2)))
        .await
        .unwrap();
    assert_eq!(summary.events_removed, 2);
    assert_eq!(store.event_count(1).await.unwrap(), 2);
    let hourly = store.hourly_volumes(&[POOL.into()], 0).await.unwrap();
    assert_eq!(hourly.len(), 1);
    assert_eq!(
        (
            hourly[0].swaps,
            hourly[0].volume0,
            hourly[0].first_block,
            hourly[0].last_block
        ),
        (2, U256::from(3_000_000u64), 1, 2)
    );
    assert_eq!(store.checkpoint(1, "pools").await.unwrap(), Some(cp(2)));

    // No stored block on the chain any more: the checkpoint goes too.
    store
        .rollback_pools_above(1, "pools", 0, None)
        .await
        .unwrap();
    assert_eq!(store.checkpoint(1, "pools").await.unwrap(), None);
    assert_eq!(store.event_count(1).await.unwrap(), 0);
    assert!(
        store
            .hourly_volumes(&[POOL.into()], 0)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn ingest_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    exercise(&sqlite_in(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn ingest_on_postgres() {
    exercise_on_postgres("ingest", exercise).await.unwrap();
}

/// Two streams of one chain read the same heights from different forks (one rolled back and
/// re-read the new chain, the other not yet): each keeps its own hashes, so each finds its
/// own common ancestor, and one's rollback leaves the other's hashes alone.
async fn hashes_per_stream(store: &Store) {
    store.migrate_up().await.unwrap();
    let row = |n: u64, fork: u64| BlockHashRow {
        number: n,
        hash: format!("0x{:064x}", fork * 1_000 + n),
        parent_hash: format!("0x{:064x}", fork * 1_000 + n - 1),
    };
    for (stream, fork) in [("pools", 1), ("deposits:vault", 2)] {
        let txn = store.begin_ingest(1, stream, None).await.unwrap();
        txn.record_block_hashes(&[row(10, fork), row(20, fork)], 4_096)
            .await
            .unwrap();
        txn.commit(&cp(20)).await.unwrap();
    }
    let pools = store.block_hashes_below(1, "pools", 20, 10).await.unwrap();
    let deposits = store
        .block_hashes_below(1, "deposits:vault", 20, 10)
        .await
        .unwrap();
    assert_eq!(pools, vec![row(20, 1), row(10, 1)]);
    assert_eq!(deposits, vec![row(20, 2), row(10, 2)]);

    store
        .rollback_deposits_above(1, "deposits:vault", 10, None)
        .await
        .unwrap();
    assert_eq!(
        store
            .block_hashes_below(1, "deposits:vault", 20, 10)
            .await
            .unwrap(),
        vec![row(10, 2)]
    );
    assert_eq!(
        store.block_hashes_below(1, "pools", 20, 10).await.unwrap(),
        pools,
        "the other stream's hashes stay"
    );
}

#[tokio::test]
async fn hashes_per_stream_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    hashes_per_stream(&sqlite_in(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn hashes_per_stream_on_postgres() {
    exercise_on_postgres("hashes_per_stream", hashes_per_stream)
        .await
        .unwrap();
}

/// A database from before EVM deposits had a stream of their own: the pool stream recorded
/// them, with their blocks' hashes. The deposit stream takes over at the pool stream's
/// checkpoint with a copy of those hashes, so a reorg below the hand-over still finds its
/// ancestor and orphans the deposit. A chain with no deposit recorded is not handed over: its
/// deposit stream scans from the start.
async fn deposits_handed_over(store: &Store) {
    store.migrate_up().await.unwrap();
    let settings = Settings::parse(
        CONFIG,
        Vec::<(String, String)>::new(),
        std::path::Path::new("."),
    )
    .unwrap();
    store.register_settings(&settings).await.unwrap();
    let hash = |n: u64| BlockHashRow {
        number: n,
        hash: cp(n).block_hash,
        parent_hash: cp(n - 1).block_hash,
    };
    const DEPOSITS: &str = "deposits:vault";
    let txn = store.begin_ingest(1, "pools", None).await.unwrap();
    txn.record_block_hashes(&[hash(10), hash(20)], 4_096)
        .await
        .unwrap();
    txn.commit(&cp(20)).await.unwrap();
    assert_eq!(
        store
            .hand_over_deposits(1, "pools", DEPOSITS)
            .await
            .unwrap(),
        None,
        "no deposit recorded yet: nothing to hand over"
    );

    // The pool stream records a deposit at block 25, as it did before the upgrade.
    let deposit = DepositRow {
        id: TransferId([7; 32]),
        source_chain_id: 1,
        source_tx: format!("0x{:064x}", 25),
        source_index: 0,
        source_block: 25,
        dest_chain_id: 56,
        source_token: "0x00000000000000000000000000000000000000cc".into(),
        sender: "0x00000000000000000000000000000000000000dd".into(),
        recipient: "0x00000000000000000000000000000000000000ee".into(),
        amount_in: U256::from(1_000u64),
        status: TransferStatus::Observed,
        failure_reason: None,
    };
    let txn = store.begin_ingest(1, "pools", Some(&cp(20))).await.unwrap();
    txn.insert_deposits(std::slice::from_ref(&deposit))
        .await
        .unwrap();
    txn.record_block_hashes(&[hash(21), hash(25), hash(30)], 4_096)
        .await
        .unwrap();
    txn.commit(&cp(30)).await.unwrap();

    let handed = store
        .hand_over_deposits(1, "pools", DEPOSITS)
        .await
        .unwrap();
    assert_eq!(handed, Some(cp(30)));
    assert_eq!(store.checkpoint(1, DEPOSITS).await.unwrap(), Some(cp(30)));
    assert_eq!(
        store
            .block_hashes_below(1, DEPOSITS, 30, 100)
            .await
            .unwrap(),
        store.block_hashes_below(1, "pools", 30, 100).await.unwrap()
    );
    // Once handed over, the stream is its own: asked again, its checkpoint as it stands.
    let txn = store
        .begin_ingest(1, DEPOSITS, Some(&cp(30)))
        .await
        .unwrap();
    txn.commit(&cp(31)).await.unwrap();
    assert_eq!(
        store
            .hand_over_deposits(1, "pools", DEPOSITS)
            .await
            .unwrap(),
        Some(cp(31))
    );

    // Block 25 leaves the chain: the deposit stream's rollback to block 21 orphans it.
    let rolled = store
        .rollback_deposits_above(1, DEPOSITS, 21, Some(&cp(21)))
        .await
        .unwrap();
    assert_eq!(rolled.deposits_reorged_out, 1);
    let t = store.transfer(deposit.id).await.unwrap().unwrap();
    assert_eq!(t.status, TransferStatus::Failed);
}

#[tokio::test]
async fn deposits_handed_over_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    deposits_handed_over(&sqlite_in(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn deposits_handed_over_on_postgres() {
    exercise_on_postgres("deposits_handed_over", deposits_handed_over)
        .await
        .unwrap();
}
