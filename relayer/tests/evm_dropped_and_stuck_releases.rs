//! A release transaction the node drops (`anvil_dropTransaction`) is sent again, byte for
//! byte; one that sits unmined (mining paused) past `replace_after` is replaced at its nonce
//! with a fee at least 10% higher each time and never above 3× the estimate; once mining
//! resumes exactly one of them is mined, and each recipient is paid once (read from the chain).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use alloy::primitives::B256;
use alloy::providers::Provider;
use atoll_core::TransferStatus;
use atoll_relayer::evm_executor::EvmExecutor;
use atoll_store::release_txs::ReleaseTxStatus;

#[tokio::test]
async fn dropped_releases_are_resent_and_stuck_ones_replaced_within_bounds() {
    let fixture = common::BscReleaseFixture::up(|r| {
        r.replace_after = Duration::ZERO;
        // Look the transaction up in the pool on every step, so the drop is seen at once.
        r.pool_recheck = Duration::ZERO;
    })
    .await;
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
    let original = pending[0].clone();
    let hash: B256 = original.tx_hash;

    // Dropped by the node: the next step sends the same bytes again.
    let _: serde_json::Value = node
        .raw_request("anvil_dropTransaction".into(), (hash,))
        .await
        .unwrap();
    assert!(!bsc.knows_transaction(hash).await.unwrap());
    let resend = executor.step().await.unwrap();
    assert_eq!(resend.resent.len(), 3, "{resend:?}");
    assert!(resend.replaced.is_empty());
    assert!(
        bsc.knows_transaction(hash).await.unwrap(),
        "the same hash is back in the pool"
    );

    // Stuck (no blocks): replaced at the same nonce, each fee ≥ 1.1× the last, ≤ 3× estimate.
    let estimate = node.get_gas_price().await.unwrap();
    for _ in 0..30 {
        executor.step().await.unwrap();
    }
    let attempts = store
        .release_txs(bsc_id, ReleaseTxStatus::Pending)
        .await
        .unwrap();
    assert!(
        attempts.len() > 2,
        "replaced more than once: {}",
        attempts.len()
    );
    assert!(attempts.iter().all(|t| t.nonce == original.nonce));
    let fees: Vec<u128> = attempts.iter().map(|t| t.max_fee_per_gas).collect();
    for w in fees.windows(2) {
        assert!(w[1] * 100 >= w[0] * 110, "bump of at least 10%: {fees:?}");
    }
    let top = *fees.last().unwrap();
    assert!(
        top <= estimate * 3,
        "{top} within 3× the estimate {estimate}"
    );
    assert!(
        top * 110 > estimate * 3 * 100,
        "bumped up to the ceiling, then it waited: {fees:?}"
    );
    for t in store
        .transfers_to(bsc_id, &[TransferStatus::Broadcast])
        .await
        .unwrap()
    {
        assert_eq!(
            store.attempt_count(t.id).await.unwrap(),
            u64::try_from(attempts.len()).unwrap()
        );
    }

    // Mining resumes: one transaction at that nonce is mined; the rest are replaced.
    releases.automine(true).await;
    let _: serde_json::Value = node.raw_request("anvil_mine".into(), (1,)).await.unwrap();
    let mut confirmed = Vec::new();
    for _ in 0..10 {
        let r = executor.step().await.unwrap();
        assert!(r.sent.is_empty() && r.replaced.is_empty(), "{r:?}");
        confirmed.extend(r.confirmed);
        if confirmed.len() == 3 {
            break;
        }
        let _: serde_json::Value = node.raw_request("anvil_mine".into(), (1,)).await.unwrap();
    }
    assert_eq!(confirmed.len(), 3);
    let mined = store
        .release_txs(bsc_id, ReleaseTxStatus::Final)
        .await
        .unwrap();
    assert_eq!(mined.len(), 1);
    assert_eq!(
        mined[0].tx_hash,
        attempts.last().unwrap().tx_hash,
        "the highest bid won"
    );
    assert_eq!(
        store
            .release_txs(bsc_id, ReleaseTxStatus::Replaced)
            .await
            .unwrap()
            .len(),
        attempts.len() - 1
    );
    releases.assert_each_paid_once(net).await;
    common::assert_audit_clean(settings, store).await;
}
