//! A release transaction mined on the destination and then reorganised out of its block before
//! that block is final: confirmation finds it gone from the block it was mined in (and from
//! every other), its transfers go back to waiting on the same transaction, the node has lost
//! it, so its stored bytes are sent again, and each transfer is paid exactly once (read from
//! the chain).
//!
//! Test double: `evm_snapshot` and `evm_revert` stand in for the reorg (one anvil has no rival
//! fork); the blocks mined after the revert are the canonical chain, and none holds the release.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use atoll_core::TransferStatus;
use atoll_relayer::evm_executor::EvmExecutor;
use atoll_store::release_txs::ReleaseTxStatus;

#[tokio::test]
async fn a_release_reorganised_out_before_finality_is_sent_again_and_paid_once() {
    let fixture = common::BscReleaseFixture::up(common::ask_every_step_never_replace).await;
    let (net, settings, store, bsc, releases) = fixture.parts();
    let bsc_id = fixture.bsc_id;
    let node = &releases.node;
    let before_release: U256 = node.raw_request("evm_snapshot".into(), ()).await.unwrap();

    // Sent, mined on arrival, and settled as included by a later step.
    let mut executor = EvmExecutor::new(settings, store, bsc, "bsc").unwrap();
    let first = executor.step().await.unwrap();
    assert_eq!(first.sent.len(), 3, "one batch of three: {first:?}");
    let mut included = Vec::new();
    for _ in 0..5 {
        included.extend(executor.step().await.unwrap().included);
        if included.len() == 3 {
            break;
        }
    }
    assert_eq!(included.len(), 3, "included: {included:?}");
    let mined = store
        .release_txs(bsc_id, ReleaseTxStatus::Mined)
        .await
        .unwrap();
    assert_eq!(mined.len(), 1);
    let ours = mined[0].clone();
    let hash: B256 = ours.tx_hash;
    let block = ours.block_number.unwrap();

    // The reorg: the chain goes back to before the release, and new blocks past its height and
    // past finality hold nothing of ours.
    let reverted: bool = node
        .raw_request("evm_revert".into(), (before_release,))
        .await
        .unwrap();
    assert!(reverted);
    let _: serde_json::Value = node
        .raw_request("anvil_dropTransaction".into(), (hash,))
        .await
        .unwrap();
    common::mine(net, 6).await;
    assert!(!bsc.knows_transaction(hash).await.unwrap());
    let head = node.get_block_number().await.unwrap();
    assert!(head > block, "block {block} is there again");

    // Confirmation finds it gone: its transfers wait on the same transaction again.
    let gone = executor.step().await.unwrap();
    assert!(gone.confirmed.is_empty(), "nothing confirmed: {gone:?}");
    let tx = store.release_tx(ours.tx_hash).await.unwrap().unwrap();
    assert_eq!(tx.status, ReleaseTxStatus::Pending);
    let why = tx.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        why.contains(&format!("left block {block} (reorg)")),
        "{why}"
    );
    assert_eq!(
        store
            .transfers_to(bsc_id, &[TransferStatus::Broadcast])
            .await
            .unwrap()
            .len(),
        3
    );

    // The node has lost it: the same bytes are sent again, mined, and confirmed once final.
    let mut resent = Vec::new();
    let mut confirmed = Vec::new();
    for _ in 0..10 {
        let r = executor.step().await.unwrap();
        assert!(r.failed.is_empty() && r.failed_txs.is_empty(), "{r:?}");
        resent.extend(r.resent);
        confirmed.extend(r.confirmed);
        if confirmed.len() == 3 {
            break;
        }
        common::mine(net, 1).await;
    }
    assert_eq!(resent.len(), 3, "sent again once: {resent:?}");
    assert_eq!(confirmed.len(), 3, "confirmed: {confirmed:?}");
    let final_tx = store.release_tx(ours.tx_hash).await.unwrap().unwrap();
    assert_eq!(
        final_tx.status,
        ReleaseTxStatus::Final,
        "the same transaction"
    );
    let history = store
        .transfer_history(included[0].parse().unwrap())
        .await
        .unwrap();
    let path: Vec<&str> = history.iter().map(|h| h.to_status.as_str()).collect();
    assert!(
        path.ends_with(&[
            "signed",
            "broadcast",
            "included",
            "broadcast",
            "included",
            "confirmed"
        ]),
        "{path:?}"
    );
    releases.assert_each_paid_once(net).await;
    common::assert_audit_clean(settings, store).await;
}
