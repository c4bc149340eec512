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
use atoll_store::treasury::TreasuryMoveStatus;

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
    assert_eq!(first.status, TreasuryMoveStatus::Included, "{first:?}");
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
                && m.status == TreasuryMoveStatus::Broadcast
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
    assert_eq!(settled[0].status, TreasuryMoveStatus::Included);
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

/// `positions` reads the treasury's token balances and its LP share of a V2 pair from the
/// chain: after it adds liquidity to a pair, the pair shows with the share it holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_read_balances_and_lp_shares_from_the_chain() {
    use atoll_devnet::contracts::{IUniswapV2Pair, TestToken};
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let settings = Arc::new(common::settings(&net, dir.path()));
    let store = common::store(&settings, dir.path()).await;
    let eth = net.state.evm_chain("ethereum").unwrap();
    let pair = eth.v2_pairs[0].clone();
    let me = eth.account(Role::Treasury).unwrap();
    let p = evm::provider_for(&eth.rpc_url, Role::Treasury).unwrap();
    // 0.1 % of each reserve in, LP tokens minted to the treasury.
    let reserves = IUniswapV2Pair::new(pair.address, &p)
        .getReserves()
        .call()
        .await
        .unwrap();
    for (token, reserve) in [
        (pair.token0, reserves.reserve0),
        (pair.token1, reserves.reserve1),
    ] {
        let amount = U256::from(reserve) / U256::from(1000u64);
        let contract = TestToken::new(token, &p);
        let call = contract.transfer(pair.address, amount);
        evm::send(&p, call.into_transaction_request(), "ethereum", "fund pair")
            .await
            .unwrap();
    }
    let pair_contract = IUniswapV2Pair::new(pair.address, &p);
    let call = pair_contract.mint(me);
    evm::send(&p, call.into_transaction_request(), "ethereum", "mint LP")
        .await
        .unwrap();
    for (chain, r) in atoll_indexer::run(
        &settings,
        &store,
        &[],
        atoll_indexer::Mode::Once,
        Arc::new(|_| {}),
    )
    .await
    {
        r.unwrap_or_else(|e| panic!("indexing {chain}: {e}"));
    }
    let treasury = Treasury::new(settings.clone(), store.clone());
    let positions = treasury.positions().await.unwrap();
    let eth_pos = positions.iter().find(|c| c.chain == "ethereum").unwrap();
    assert!(eth_pos.error.is_none(), "{eth_pos:?}");
    assert_eq!(eth_pos.address, format!("{me:#x}"));
    let usdc = eth_pos.tokens.iter().find(|t| t.symbol == "USDC").unwrap();
    assert_eq!(
        usdc.raw,
        common::evm_balance(&net, "ethereum", eth.token("USDC").unwrap().address, me).await
    );
    assert_eq!(eth_pos.pools.len(), 1, "{:?}", eth_pos.pools);
    let held = &eth_pos.pools[0];
    assert!(
        held.pool.ends_with(&format!("{:#x}", pair.address)),
        "{held:?}"
    );
    // 0.1 % of the reserves in: about 1/1001 of the supply.
    assert!((held.share - 1.0 / 1001.0).abs() < 1e-5, "{held:?}");
    let record = store
        .pool_records(true)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.pool == held.pool)
        .unwrap();
    assert!((held.usd.unwrap() - record.tvl_usd.unwrap() * held.share).abs() < 1e-6);
    assert!(eth_pos.usd > held.usd.unwrap());
}
