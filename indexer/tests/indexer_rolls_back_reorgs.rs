//! A reorg made on anvil (`evm_snapshot`, traffic, `evm_revert`, different traffic, more
//! blocks) under a running indexer: its three streams (pools, deposits, lending) roll back to
//! the common ancestor and re-ingest, and afterwards its database (lending reserves and their
//! history included) equals a fresh index of the same chain; no event of the abandoned fork
//! remains (Aave's reserves and the Comet's alike). Bridge deposits: both deposits only in the abandoned blocks end
//! `failed` ("reorged out", nothing paid); the new fork's deposit gets an id of its own (ids
//! come from the deposit's transaction, not the vault's counter, so it can never take an
//! abandoned deposit's id), and the live deposits equal a fresh index's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy::providers::Provider;
use atoll_core::TransferStatus;
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_devnet::{Devnet, evm};
use atoll_indexer::{ChainProgress, Mode};

/// Progress of every stream of the chain (pools, deposits, lending), by stream.
type Streams = BTreeMap<String, ChainProgress>;

/// Waits until the three streams of the chain (pools, deposits, lending) report and all of
/// them satisfy `done`; returns their reports.
async fn wait_for(
    rx: &mut tokio::sync::watch::Receiver<Streams>,
    done: impl Fn(&ChainProgress) -> bool,
) -> Streams {
    let got = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        rx.wait_for(|all| all.len() == 3 && all.values().all(&done)),
    )
    .await
    .map(|g| g.map(|g| g.clone()));
    match got {
        Ok(g) => g.unwrap(),
        Err(_) => panic!(
            "indexer progress within 60 s; last reports: {:?}",
            rx.borrow()
        ),
    }
}

#[tokio::test]
async fn a_reorg_under_a_running_indexer_ends_equal_to_a_fresh_index() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    common::pin_clock(&net).await;
    let settings = common::settings_for(&net);
    let eth = net.state.evm_chain("ethereum").unwrap();
    let node = evm::provider_for(&eth.rpc_url, evm::Role::Deployer).unwrap();
    // Deposits alternate ethereum → bsc and bsc → ethereum: half start on ethereum.
    let swaps = |n, deposits, seed| TrafficOptions {
        swaps: n,
        deposits,
        seed,
    };
    traffic::run(&net.state, swaps(10, 2, 1)).await.unwrap();
    atoll_devnet::aave::traffic(&net.state, 6, 1).await.unwrap();
    atoll_devnet::comet::traffic(&net.state, 4, 1)
        .await
        .unwrap();
    let snapshot: serde_json::Value = node.raw_request("evm_snapshot".into(), ()).await.unwrap();
    let abandoned = traffic::run(&net.state, swaps(20, 4, 2)).await.unwrap();
    atoll_devnet::aave::traffic(&net.state, 12, 2)
        .await
        .unwrap();
    atoll_devnet::comet::traffic(&net.state, 8, 2)
        .await
        .unwrap();
    let old_head = node.get_block_number().await.unwrap();

    let store_dir = tempfile::tempdir().unwrap();
    let store = common::sqlite_store(store_dir.path(), &settings).await;
    let (tx, mut rx) = tokio::sync::watch::channel(Streams::new());
    let sink: atoll_indexer::ProgressSink = Arc::new(move |p: &ChainProgress| {
        tx.send_modify(|all| {
            all.insert(p.stream.clone(), p.clone());
        });
    });
    let indexer = {
        let (settings, store) = (settings.clone(), store.clone());
        tokio::spawn(async move {
            atoll_indexer::run(&settings, &store, &["ethereum".into()], Mode::Follow, sink).await
        })
    };
    wait_for(&mut rx, |p| p.block >= old_head).await;

    // The fork: back to the snapshot, other swaps, and a longer chain than before.
    let reverted: bool = node
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .unwrap();
    assert!(reverted);
    let new_fork = traffic::run(&net.state, swaps(20, 2, 3)).await.unwrap();
    atoll_devnet::aave::traffic(&net.state, 12, 3)
        .await
        .unwrap();
    atoll_devnet::comet::traffic(&net.state, 8, 3)
        .await
        .unwrap();
    let now = node.get_block_number().await.unwrap();
    let _: serde_json::Value = node
        .raw_request("anvil_mine".into(), (old_head.saturating_sub(now) + 5,))
        .await
        .unwrap();
    let new_head = node.get_block_number().await.unwrap();
    assert!(new_head > old_head);

    let last = wait_for(&mut rx, |p| p.block >= new_head).await;
    assert!(
        last.values().all(|p| p.reorgs >= 1),
        "the pool, deposit and lending streams all saw the reorg: {last:?}"
    );
    indexer.abort();
    let _ = indexer.await;

    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = common::sqlite_store(fresh_dir.path(), &settings).await;
    let results = atoll_indexer::run(
        &settings,
        &fresh,
        &["ethereum".into()],
        Mode::Once,
        common::no_progress(),
    )
    .await;
    let summary = results[0].1.as_ref().unwrap();
    assert_eq!(summary.to_block, new_head);

    let (after_reorg, from_scratch) =
        (common::indexed(&store).await, common::indexed(&fresh).await);
    assert!(!from_scratch.events.is_empty());
    assert_eq!(after_reorg.events, from_scratch.events);
    assert_eq!(after_reorg.hourly, from_scratch.hourly);
    assert_eq!(after_reorg.snapshots, from_scratch.snapshots);
    assert_eq!(after_reorg.pools, from_scratch.pools);
    assert_eq!(after_reorg.checkpoints, from_scratch.checkpoints);
    assert!(!from_scratch.lending_history.is_empty());
    assert_eq!(after_reorg.lending_history, from_scratch.lending_history);
    assert_eq!(after_reorg.lending_reserves, from_scratch.lending_reserves);
    for s in abandoned.swaps.iter().filter(|s| s.chain == "ethereum") {
        assert!(
            !after_reorg
                .events
                .iter()
                .any(|e| e.tx_hash == s.tx.to_lowercase()),
            "event of abandoned tx {} remains",
            s.tx
        );
    }

    // Deposits: the live ones equal a fresh index's; the abandoned fork's are failed with the
    // reason, except the one whose id the new chain reused, which now is that deposit.
    let from_eth = |r: &traffic::TrafficReport| -> Vec<String> {
        r.deposits
            .iter()
            .filter(|d| d.from == "ethereum")
            .map(|d| d.tx.to_lowercase())
            .collect()
    };
    let (abandoned_txs, new_txs) = (from_eth(&abandoned), from_eth(&new_fork));
    assert_eq!((abandoned_txs.len(), new_txs.len()), (2, 1));
    let key = |t: &atoll_store::transfers::Transfer| {
        (
            t.id,
            t.source_tx.clone(),
            t.source_block,
            t.amount_in,
            t.recipient.clone(),
            t.status,
        )
    };
    let after: Vec<_> = store.transfers_from(1).await.unwrap();
    let live: Vec<_> = after
        .iter()
        .filter(|t| t.status == TransferStatus::Observed)
        .map(key)
        .collect();
    let fresh_rows: Vec<_> = fresh
        .transfers_from(1)
        .await
        .unwrap()
        .iter()
        .map(key)
        .collect();
    assert_eq!(live, fresh_rows, "{after:#?}");
    assert_eq!(live.len(), 2, "one before the fork, one on the new fork");
    assert!(live.iter().any(|t| t.1 == new_txs[0]));
    let failed: Vec<_> = after
        .iter()
        .filter(|t| t.status == TransferStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 2, "both abandoned deposits: {after:#?}");
    for f in &failed {
        assert!(abandoned_txs.contains(&f.source_tx));
        assert!(
            f.failure_reason
                .as_ref()
                .unwrap()
                .to_string()
                .starts_with("reorged out: block "),
            "{:?}",
            f.failure_reason
        );
    }
    let new = after.iter().find(|t| t.source_tx == new_txs[0]).unwrap();
    assert!(
        failed.iter().all(|f| f.id != new.id),
        "the new fork's deposit has an id of its own"
    );
    // Its fields are the new chain's deposit, as the traffic made it.
    let made = new_fork
        .deposits
        .iter()
        .find(|d| d.tx.to_lowercase() == new_txs[0])
        .unwrap();
    assert_eq!(new.amount_in.to_string(), made.amount.to_string());
    assert_eq!(new.recipient, made.recipient.to_lowercase());
    assert_eq!(new.dest_chain_id, 56);
    assert_eq!(
        new.sender,
        format!("{:#x}", eth.account(evm::Role::User).unwrap())
    );
    // Nothing live was touched: the deposit from before the fork kept its block, and the new
    // fork's was recorded once.
    for t in after
        .iter()
        .filter(|t| t.status == TransferStatus::Observed)
    {
        assert_eq!(
            store.transfer_history(t.id).await.unwrap().len(),
            1,
            "{t:?}"
        );
    }
}
