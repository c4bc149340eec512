//! The executor itself puts a transfer whose attempts are used up in `stuck`, and the
//! operator's `retry` resolves it. Three releases approved for BSC, mining paused: each time
//! the executor sends their batch, the node drops it and a transaction of the relayer's own
//! key that this database never saw takes its nonce and is mined (an operator's wallet
//! sharing the key, say). Each attempt can then never be mined; after the third, nothing more
//! is signed and the three are `stuck`, with the count and the way out, in `status` too; no
//! recipient was paid. `retry` reads the chain (no release), signs again, and each is paid
//! exactly once, read from the chain; the audit is clean.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::network::TransactionBuilder;
use alloy::primitives::B256;
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use atoll_core::TransferStatus;
use atoll_devnet::evm::{self, Role};
use atoll_relayer::evm_executor::EvmExecutor;
use atoll_relayer::retry::{Retried, retry};
use atoll_store::release_txs::ReleaseTxStatus;

#[tokio::test]
async fn attempts_used_up_leave_transfers_stuck_until_the_operator_retries() {
    let fixture = common::BscReleaseFixture::up(common::ask_every_step_never_replace).await;
    let (net, settings, store, bsc, releases) = fixture.parts();
    let bsc_id = fixture.bsc_id;
    let node = &releases.node;
    let bsc_net = net.state.evm_chain("bsc").unwrap();
    let relayer_wallet = evm::provider_for(&bsc_net.rpc_url, Role::Relayer).unwrap();
    let relayer = bsc_net.account(Role::Relayer).unwrap();
    releases.automine(false).await;

    let mut executor = EvmExecutor::new(settings, store, bsc, "bsc").unwrap();
    let mut sent = executor.step().await.unwrap().sent;
    for attempt in 1..=3 {
        assert_eq!(sent.len(), 3, "attempt {attempt} carries the three");
        let pending = store
            .release_txs(bsc_id, ReleaseTxStatus::Pending)
            .await
            .unwrap();
        assert_eq!(pending.len(), 1, "attempt {attempt}");
        let ours = &pending[0];
        let hash: B256 = ours.tx_hash;
        let _: serde_json::Value = node
            .raw_request("anvil_dropTransaction".into(), (hash,))
            .await
            .unwrap();
        // Another transaction of the same key takes the nonce.
        let foreign = TransactionRequest::default()
            .with_to(relayer)
            .with_nonce(ours.nonce)
            .with_gas_limit(21_000)
            .with_gas_price(node.get_gas_price().await.unwrap() * 2);
        let _pending = relayer_wallet.send_transaction(foreign).await.unwrap();
        common::mine(net, 1).await;
        // One step finds the nonce taken, the next signs again (at most a few steps).
        sent = Vec::new();
        for _ in 0..3 {
            sent = executor.step().await.unwrap().sent;
            if !sent.is_empty() {
                break;
            }
        }
    }
    assert!(sent.is_empty(), "nothing signed after the third: {sent:?}");
    for _ in 0..3 {
        common::mine(net, 1).await;
        let r = executor.step().await.unwrap();
        assert!(r.sent.is_empty(), "{r:?}");
    }
    let stuck = store
        .transfers_to(bsc_id, &[TransferStatus::Stuck])
        .await
        .unwrap();
    assert_eq!(stuck.len(), 3);
    for t in &stuck {
        assert_eq!(store.attempt_count(t.id).await.unwrap(), 3);
        let why = t
            .failure_reason
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            why.starts_with("3 release attempts used up") && why.contains("atoll relayer retry"),
            "{why}"
        );
    }
    let status = atoll_relayer::status::chain_statuses_from_store(settings, store)
        .await
        .unwrap();
    assert_eq!(status.iter().find(|c| c.name == "bsc").unwrap().stuck, 3);
    assert_eq!(
        common::evm_balance(net, "bsc", releases.usdc, releases.user).await,
        releases.before,
        "nothing paid"
    );

    // The operator's way out: the chain shows no release, so each is signed again.
    releases.automine(true).await;
    for t in &stuck {
        assert_eq!(
            retry(settings, store, t.id, "key no longer shared")
                .await
                .unwrap(),
            Retried::SignedAgain
        );
    }
    common::step_until_confirmed(&mut executor, net, &mut Vec::new(), 3).await;
    releases.assert_each_paid_once(net).await;
    common::assert_audit_clean(settings, store).await;
}
