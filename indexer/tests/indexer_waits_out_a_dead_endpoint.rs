//! A chain whose only endpoint is down when `atoll up` starts (a provider outage at the wrong
//! moment): the indexer keeps trying to start it, with backoff, while the other chains index,
//! and indexes it to its head once the endpoint answers; nothing waits for a restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use alloy::providers::Provider;
use atoll_devnet::evm;
use atoll_indexer::{Mode, POOLS_STREAM};

#[tokio::test]
async fn a_chain_down_at_start_is_indexed_once_its_endpoint_answers() {
    let (dir, store_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // BSC's only endpoint is down: its indexer waits to start, with backoff.
    let (net, settings, proxy, store) =
        common::devnet_with_bsc_down(dir.path(), store_dir.path(), 4).await;
    let bsc = net.state.evm_chain("bsc").unwrap();
    let (sink, mut progress) = common::progress_channel();
    let indexer = {
        let (settings, store) = (settings.clone(), store.clone());
        tokio::spawn(
            async move { atoll_indexer::run(&settings, &store, &[], Mode::Follow, sink).await },
        )
    };

    // Ethereum indexes meanwhile; BSC's start is tried more than once (five requests each).
    let eth_head = evm::provider_for(
        &net.state.evm_chain("ethereum").unwrap().rpc_url,
        evm::Role::Deployer,
    )
    .unwrap()
    .get_block_number()
    .await
    .unwrap();
    let mut eth_done = false;
    tokio::time::timeout(Duration::from_secs(60), async {
        while !eth_done || proxy.stats.dead_answers.load(Ordering::SeqCst) <= 5 {
            tokio::select! {
                p = progress.recv() => {
                    let p = p.unwrap();
                    assert_ne!(p.chain, "bsc", "bsc progresses while its endpoint is dead");
                    eth_done |= p.chain == "ethereum" && p.stream == POOLS_STREAM && p.block >= eth_head;
                }
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    })
    .await
    .expect("ethereum indexed and bsc's start retried within 60 s");

    // The endpoint comes back: BSC is indexed to its head without a restart.
    proxy.set_dead(false);
    let bsc_head = evm::provider_for(&bsc.rpc_url, evm::Role::Deployer)
        .unwrap()
        .get_block_number()
        .await
        .unwrap();
    // Its pools and its lending markets (each stream reports when it commits).
    tokio::time::timeout(Duration::from_secs(60), async {
        let (mut pools, mut lending) = (false, false);
        while !(pools && lending) {
            let p = progress.recv().await.unwrap();
            if p.chain == "bsc" && p.block >= bsc_head {
                pools |= p.stream == POOLS_STREAM;
                lending |= p.stream == atoll_indexer::evm::lending::LENDING_STREAM;
            }
        }
    })
    .await
    .expect("bsc indexed to its head within 60 s of its endpoint answering");
    // 3 pairs, 2 V3 pools, 3 Aave reserves and the Comet's.
    assert_eq!(store.pools_of_chain(56).await.unwrap().len(), 9);
    indexer.abort();
}
