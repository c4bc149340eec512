//! `atoll index` killed with SIGKILL in the middle of a backfill, then started again: it
//! resumes at its last committed checkpoint, and the database ends equal to a fresh index of
//! the same chains (no duplicate, no missing event, volumes counted once). Then `--once` on a
//! caught-up database changes nothing, and a bad `--chain` is a clear error (exit 2).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;

use atoll_devnet::Devnet;
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_store::Store;
use atoll_store::ingest::HourlyVolume;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn index_cmd(config: &std::path::Path, db: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_atoll"));
    cmd.args(["index", "--once", "--config"])
        .arg(config)
        .args(["--database-url", db])
        .env_remove("ATOLL_DATABASE_URL");
    cmd
}

#[derive(Debug, PartialEq)]
struct Contents {
    events: Vec<u64>,
    hourly: Vec<HourlyVolume>,
    checkpoints: Vec<Option<u64>>,
}

async fn contents(db: &str, net: &Devnet) -> Contents {
    let store = Store::connect(db).await.unwrap();
    let mut c = Contents {
        events: Vec::new(),
        hourly: Vec::new(),
        checkpoints: Vec::new(),
    };
    for chain in &net.state.evm {
        c.events
            .push(store.event_count(chain.chain_id).await.unwrap());
        let ids: Vec<String> = store
            .pools_of_chain(chain.chain_id)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        c.hourly
            .extend(store.hourly_volumes(&ids, 0).await.unwrap());
        c.checkpoints.push(
            store
                .checkpoint(chain.chain_id, atoll_indexer::POOLS_STREAM)
                .await
                .unwrap()
                .map(|k| k.block_number),
        );
    }
    store.close().await.unwrap();
    c
}

#[tokio::test]
async fn killed_mid_backfill_resumes_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 80,
            deposits: 0,
            seed: 11,
        },
    )
    .await
    .unwrap();
    let config = net.state.config_path.clone();
    let killed_db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("killed.db").display()
    );
    let fresh_db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("fresh.db").display()
    );

    // One block per batch, so the backfill has many commits to be killed between.
    let mut child = index_cmd(&config, &killed_db)
        .env("ATOLL_INDEXER__MAX_BATCH_BLOCKS", "1")
        .env("RUST_LOG", "atoll_indexer=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut committed = 0;
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains("batch committed") {
            committed += 1;
            if committed == 25 {
                break;
            }
        }
    }
    assert_eq!(
        committed, 25,
        "the indexer committed batches before the kill"
    );
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(!status.success(), "killed, not finished");

    let partial = contents(&killed_db, &net).await;
    let heads: Vec<u64> = {
        let mut h = Vec::new();
        for c in &net.state.evm {
            let p = atoll_devnet::evm::provider_for(&c.rpc_url, atoll_devnet::evm::Role::Trader)
                .unwrap();
            use alloy::providers::Provider;
            h.push(p.get_block_number().await.unwrap());
        }
        h
    };
    assert!(
        partial
            .checkpoints
            .iter()
            .zip(&heads)
            .any(|(cp, head)| cp.is_none_or(|b| b < *head)),
        "killed mid-backfill: {:?} vs heads {heads:?}",
        partial.checkpoints
    );

    let resumed = index_cmd(&config, &killed_db).output().await.unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let fresh = index_cmd(&config, &fresh_db).output().await.unwrap();
    assert!(
        fresh.status.success(),
        "{}",
        String::from_utf8_lossy(&fresh.stderr)
    );

    let after = contents(&killed_db, &net).await;
    let expected = contents(&fresh_db, &net).await;
    assert_eq!(after, expected);
    assert_eq!(
        after.checkpoints,
        heads.iter().map(|h| Some(*h)).collect::<Vec<_>>()
    );
    let swaps: u64 = after.hourly.iter().map(|h| h.swaps).sum();
    assert_eq!(swaps, 80, "every swap counted once");

    // Caught up: another run changes nothing and says so.
    let again = index_cmd(&config, &killed_db).output().await.unwrap();
    assert!(again.status.success());
    assert_eq!(contents(&killed_db, &net).await, expected);
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(
        out.contains("ethereum:") && out.contains("0 events"),
        "{out}"
    );

    // A chain that is not in the config.
    let bad = index_cmd(&config, &killed_db)
        .args(["--chain", "arbitrum"])
        .output()
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("--chain arbitrum") && err.contains("ethereum"),
        "{err}"
    );
}
