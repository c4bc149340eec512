//! A node can report the relayer's nonce as used a moment before the block that used it can be
//! read (anvil commits a block's state before it stores the block and its receipts). The
//! relayer must not take that moment for "another transaction took the nonce": while the node
//! still holds our transaction, the nonce waits. Once the node has never heard of it, the nonce
//! was taken, and the transfers are signed again and paid exactly once (read from the chain).
//!
//! Test double: `anvil_setNonce` moves the account's nonce past our pending transaction, which
//! stays in the pool, as in that moment; `anvil_dropTransaction` then makes the node forget it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use atoll_core::TransferStatus;
use atoll_relayer::evm_executor::EvmExecutor;
use atoll_store::release_txs::ReleaseTxStatus;

#[tokio::test]
async fn a_used_nonce_waits_while_the_node_holds_our_transaction() {
    let fixture = common::BscReleaseFixture::up(common::ask_every_step_never_replace).await;
    let (net, settings, store, bsc, releases) = fixture.parts();
    let bsc_id = fixture.bsc_id;
    let node = &releases.node;
    releases.automine(false).await;

    let mut executor = EvmExecutor::new(settings, store, bsc, "bsc").unwrap();
    let first = executor.step().await.unwrap();
    assert_eq!(first.sent.len(), 3, "one batch of three: {first:?}");
    let pending = store
        .release_txs(bsc_id, ReleaseTxStatus::Pending)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    let ours = pending[0].clone();
    let hash: B256 = ours.tx_hash;
    let nonce = ours.nonce;

    // The nonce reads as used while our transaction is still in the node's pool.
    let _: serde_json::Value = node
        .raw_request(
            "anvil_setNonce".into(),
            (executor.account(), U256::from(nonce + 1)),
        )
        .await
        .unwrap();
    assert!(bsc.knows_transaction(hash).await.unwrap());
    for _ in 0..3 {
        let r = executor.step().await.unwrap();
        assert!(
            r.failed.is_empty() && r.failed_txs.is_empty() && r.sent.is_empty(),
            "it waits: {r:?}"
        );
    }
    let still = store
        .release_txs(bsc_id, ReleaseTxStatus::Pending)
        .await
        .unwrap();
    assert_eq!(still, vec![ours.clone()], "nothing settled while it waits");
    assert_eq!(
        store
            .transfers_to(bsc_id, &[TransferStatus::Broadcast])
            .await
            .unwrap()
            .len(),
        3
    );

    // The node forgets it: the nonce was taken, and the transfers are signed again.
    let _: serde_json::Value = node
        .raw_request("anvil_dropTransaction".into(), (hash,))
        .await
        .unwrap();
    let taken = executor.step().await.unwrap();
    // One failure in the step: the transaction whose nonce was taken (no transfer's own).
    assert!(taken.failed.is_empty(), "{taken:?}");
    assert_eq!(taken.failed_txs.len(), 1, "{taken:?}");
    assert!(
        taken.failed_txs[0]
            .1
            .contains(&format!("nonce {nonce} was used by a transaction")),
        "{taken:?}"
    );
    assert_eq!(
        store
            .release_tx(ours.tx_hash)
            .await
            .unwrap()
            .map(|t| t.status),
        Some(ReleaseTxStatus::Replaced)
    );

    releases.automine(true).await;
    let mut confirmed = Vec::new();
    for _ in 0..10 {
        let r = executor.step().await.unwrap();
        confirmed.extend(r.confirmed);
        if confirmed.len() == 3 {
            break;
        }
        let _: serde_json::Value = node.raw_request("anvil_mine".into(), (1,)).await.unwrap();
    }
    assert_eq!(confirmed.len(), 3);
    releases.assert_each_paid_once(net).await;
    common::assert_audit_clean(settings, store).await;
}
