//! An EVM chain's deposits are a stream of their own: the vault's deposit stream, followed with
//! no pool indexer running at all, records a deposit made while it follows, under its own
//! checkpoint (`deposits:<vault>`), and writes nothing of the pools (no event, no `pools`
//! checkpoint). A deposit's latency is the poll interval, whatever pool batches cost; the
//! deposit stream rolling back a reorg is scenario `indexer_rolls_back_reorgs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use alloy::primitives::B256;
use alloy::providers::Provider;
use atoll_adapters::capability::deposit_stream;
use atoll_adapters::evm::discovery::evm_address;
use atoll_core::TransferStatus;
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_devnet::{Devnet, evm};
use atoll_indexer::evm::deposits::EvmDeposits;
use atoll_indexer::{ChainProgress, Mode, POOLS_STREAM};

#[tokio::test]
async fn deposits_are_recorded_with_no_pool_batch_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let settings = common::settings_for(&net);
    let chain = settings.chain("ethereum").unwrap().clone();
    let store_dir = tempfile::tempdir().unwrap();
    let store = common::sqlite_store(store_dir.path(), &settings).await;
    let eth = net.state.evm_chain("ethereum").unwrap();
    let node = evm::provider_for(&eth.rpc_url, evm::Role::Deployer).unwrap();

    let (sink, mut progress) = common::progress_channel();
    let mut deposits = EvmDeposits::start(&settings, &chain, store.clone(), sink)
        .await
        .unwrap()
        .expect("the devnet's ethereum has a bridge vault");
    let following = tokio::spawn(async move { deposits.run(Mode::Follow).await });

    // Caught up with the chain as it was; then one deposit from ethereum.
    let head = node.get_block_number().await.unwrap();
    let vault = evm_address(chain.bridge_vault.as_ref().unwrap()).unwrap();
    let stream = deposit_stream(&vault);
    let reaches = |block: u64| {
        let stream = stream.clone();
        move |p: &ChainProgress| p.stream == stream && p.block >= block
    };
    wait_for(&mut progress, reaches(head)).await;
    let made = traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 0,
            deposits: 1,
            seed: 11,
        },
    )
    .await
    .unwrap();
    let deposit = made.deposits.iter().find(|d| d.from == "ethereum").unwrap();
    let receipt = node
        .get_transaction_receipt(deposit.tx.parse::<B256>().unwrap())
        .await
        .unwrap()
        .unwrap();
    let block = receipt.block_number.unwrap();
    let seen = wait_for(&mut progress, reaches(block)).await;
    assert_eq!(seen.chain, "ethereum");

    let recorded = store.transfers_from(1).await.unwrap();
    assert_eq!(recorded.len(), 1, "{recorded:#?}");
    let t = &recorded[0];
    assert_eq!(t.source_tx, deposit.tx.to_lowercase());
    assert_eq!(t.source_block, block);
    assert_eq!(t.status, TransferStatus::Observed);
    assert_eq!(t.amount_in.to_string(), deposit.amount.to_string());
    let checkpoint = store.checkpoint(1, &stream).await.unwrap().unwrap();
    assert!(checkpoint.block_number >= block, "{checkpoint:?}");

    // Nothing of the pools was read or written.
    assert_eq!(store.checkpoint(1, POOLS_STREAM).await.unwrap(), None);
    assert_eq!(store.event_count(1).await.unwrap(), 0);
    following.abort();
}

/// The first report that satisfies `done`; a guard of 60 s against a hang, not a clock.
async fn wait_for(
    progress: &mut tokio::sync::mpsc::UnboundedReceiver<ChainProgress>,
    done: impl Fn(&ChainProgress) -> bool,
) -> ChainProgress {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let p = progress.recv().await.expect("the stream reports");
            if done(&p) {
                return p;
            }
        }
    })
    .await
    .expect("the deposit stream reaches the block within 60 s")
}
