//! Treasury moves (`requestTransfer`) happen once per idempotency key, read from the chain: the
//! same key twice makes one deposit; a move interrupted after its deposit was sent (the task
//! killed while mining is paused) is finished by `settle` with the stored bytes, not a second
//! deposit; bad requests are refused with what was wrong, and nothing is signed for them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::U256;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use atoll_adapters::evm::events::EvmEvent;
use atoll_devnet::Devnet;
use atoll_devnet::evm::{self, Role};
use atoll_relayer::RelayerError;
use atoll_relayer::treasury::{MoveRequest, Treasury};

fn request(key: &str, amount: &str) -> MoveRequest {
    MoveRequest {
        key: key.into(),
        from: "ethereum".into(),
        to: "bsc".into(),
        symbol: "USDC".into(),
        amount: amount.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_deposit_per_key_across_retries_and_interruptions() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let settings = Arc::new(common::settings(&net, dir.path()));
    let store = common::store(&settings, dir.path()).await;
    let treasury = Treasury::new(settings.clone(), store.clone());
    let eth = net.state.evm_chain("ethereum").unwrap();
    let usdc = eth.token("USDC").unwrap().address;
    let holder = eth.account(Role::Treasury).unwrap();
    let node = evm::provider_for(&eth.rpc_url, Role::Deployer).unwrap();
    let deposits = || async {
        node.get_logs(
            &Filter::new()
                .address(eth.bridge_vault)
                .event_signature(EvmEvent::deposit_topic())
                .from_block(0),
        )
        .await
        .unwrap()
        .len()
    };
    let start = common::evm_balance(&net, "ethereum", usdc, holder).await;

    // The same key twice: one deposit.
    let first = treasury.request(&request("k1", "100.25")).await.unwrap();
    assert_eq!(first.status, "included", "{first:?}");
    let again = treasury.request(&request("k1", "100.25")).await.unwrap();
    assert_eq!(again.tx_hash, first.tx_hash);
    assert_eq!(deposits().await, 1);
    assert_eq!(
        common::evm_balance(&net, "ethereum", usdc, holder).await,
        start - U256::from(100_250_000u64)
    );

    // Interrupted after sending: mining paused, the request's task killed once the move is
    // `broadcast`; mining resumes; `settle` finishes it with the same transaction.
    let _: serde_json::Value = node
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .unwrap();
    let t = Arc::new(Treasury::new(settings.clone(), store.clone()));
    let task = {
        let t = t.clone();
        tokio::spawn(async move { t.request(&request("k2", "7")).await })
    };
    let stored = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(m) = store.treasury_move("k2").await.unwrap()
                && m.status == "broadcast"
            {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the move is stored and sent");
    task.abort();
    let _: serde_json::Value = node
        .raw_request("evm_setAutomine".into(), (true,))
        .await
        .unwrap();
    let _: serde_json::Value = node.raw_request("evm_mine".into(), ()).await.unwrap();
    let settled = treasury.settle().await.unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].tx_hash, stored.tx_hash);
    assert_eq!(settled[0].status, "included");
    let retried = treasury.request(&request("k2", "7")).await.unwrap();
    assert_eq!(retried.tx_hash, stored.tx_hash);
    assert_eq!(deposits().await, 2, "two keys, two deposits");
    assert_eq!(
        common::evm_balance(&net, "ethereum", usdc, holder).await,
        start - U256::from(107_250_000u64)
    );

    // Refusals name what was wrong; nothing is signed or stored for them.
    for (req, needle) in [
        (request("k3", "0.0000001"), "amount"),
        (request("k4", "0"), "amount"),
        (request("k5", "999999999999"), "amount: the treasury holds"),
        (
            MoveRequest {
                symbol: "DOGE".into(),
                ..request("k6", "1")
            },
            "token",
        ),
        (
            MoveRequest {
                to: "ethereum".into(),
                ..request("k7", "1")
            },
            "toChain",
        ),
        (
            MoveRequest {
                from: "mars".into(),
                ..request("k8", "1")
            },
            "fromChain",
        ),
    ] {
        match treasury.request(&req).await {
            Err(RelayerError::Refused(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("{req:?}: {other:?}"),
        }
        assert!(store.treasury_move(&req.key).await.unwrap().is_none());
    }
    assert_eq!(deposits().await, 2);
}
