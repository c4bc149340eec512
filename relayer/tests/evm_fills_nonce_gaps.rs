//! A nonce below the relayer's lowest pending release that nothing fills (here: a release the
//! node dropped whose row the relayer had settled as replaced, a test double for a nonce lost
//! to another signer's transaction that vanished) would hold every later release forever. The
//! executor, restarted, fills it with a no-op (0 to itself) at that nonce; the later releases are mined, the
//! transfer whose transaction was lost is signed again, and each recipient is paid exactly once
//! (read from the chain).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use atoll_devnet::evm::Role;
use atoll_relayer::evm_executor::EvmExecutor;
use atoll_store::release_txs::ReleaseTxStatus;
use serde_json::Value;

#[tokio::test]
async fn a_lost_nonce_is_filled_and_every_release_lands_once() {
    let fixture = common::BscReleaseFixture::up(|r| {
        r.replace_after = Duration::ZERO;
        r.pool_recheck = Duration::ZERO;
        r.batch_max_releases = 1;
    })
    .await;
    let (net, settings, store, bsc, releases) = fixture.parts();
    let bsc_id = fixture.bsc_id;
    let relayer = net
        .state
        .evm_chain("bsc")
        .unwrap()
        .account(Role::Relayer)
        .unwrap();
    let node = &releases.node;
    releases.automine(false).await;

    let mut executor = EvmExecutor::new(settings, store, bsc, "bsc").unwrap();
    let first = executor.step().await.unwrap();
    assert_eq!(
        first.sent.len(),
        3,
        "three transactions of one release: {first:?}"
    );
    let mut pending = store
        .release_txs(bsc_id, ReleaseTxStatus::Pending)
        .await
        .unwrap();
    pending.sort_by_key(|t| t.nonce);
    assert_eq!(pending.len(), 3);
    let lost = pending[0].clone();
    // The fault: the lowest one leaves the node's pool, and its row reads as replaced.
    let hash: B256 = lost.tx_hash;
    let _: Value = node
        .raw_request("anvil_dropTransaction".into(), (hash,))
        .await
        .unwrap();
    store
        .set_release_tx_status(
            lost.tx_hash,
            ReleaseTxStatus::Replaced,
            None,
            Some(&atoll_core::Reason::text("test double: nonce lost")),
        )
        .await
        .unwrap();

    // A restarted executor (what it knows comes from the store) sees the gap under the lowest
    // pending nonce and fills it.
    drop(executor);
    let mut executor = EvmExecutor::new(settings, store, bsc, "bsc").unwrap();
    executor.step().await.unwrap();
    releases.automine(true).await;
    let mut released = 0usize;
    let mut steps = Vec::new();
    for _ in 0..60 {
        let _: Value = node.raw_request("anvil_mine".into(), (1,)).await.unwrap();
        let r = executor.step().await.unwrap();
        released += r.confirmed.len();
        steps.push(r);
        if released == 3 {
            break;
        }
    }
    let states = store.transfers(None, None, 10).await.unwrap();
    assert_eq!(
        released, 3,
        "every transfer confirmed: {states:#?} {steps:?}"
    );

    // On chain: a no-op from the relayer to itself at the lost nonce.
    let head = node.get_block_number().await.unwrap();
    let mut noop = None;
    for n in 0..=head {
        let block: Value = node
            .raw_request("eth_getBlockByNumber".into(), (format!("{n:#x}"), true))
            .await
            .unwrap();
        for tx in block["transactions"].as_array().into_iter().flatten() {
            let from: Address = tx["from"].as_str().unwrap().parse().unwrap();
            let nonce =
                u64::from_str_radix(tx["nonce"].as_str().unwrap().trim_start_matches("0x"), 16)
                    .unwrap();
            if from == relayer && nonce == lost.nonce {
                noop = Some(tx.clone());
            }
        }
    }
    let noop = noop.expect("a transaction at the lost nonce was mined");
    let to: Address = noop["to"].as_str().unwrap().parse().unwrap();
    assert_eq!(to, relayer, "a no-op to itself: {noop}");
    assert_eq!(noop["value"], "0x0");
    releases.assert_each_paid_once(net).await;
    common::assert_audit_clean(settings, store).await;
}
