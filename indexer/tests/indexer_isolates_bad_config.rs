//! Bad config: a configured pool address that is not a pool, a chain whose RPC serves another
//! chain id, and a chain whose RPC is unreachable. Each is a clear error naming the chain (and
//! the pool), and the healthy chains still index fully. BSC has no pools listed: the indexer
//! finds them from the factories' creation events (token allowlist = the config's tokens).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use atoll_core::settings::PoolSettings;
use atoll_core::{ChainId, PoolId, Protocol};
use atoll_devnet::Devnet;
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_indexer::{IndexerError, Mode};

#[tokio::test]
async fn bad_pools_and_chains_fail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 10,
            deposits: 0,
            seed: 3,
        },
    )
    .await
    .unwrap();
    let mut settings = common::settings_for(&net);
    let eth = net.state.evm_chain("ethereum").unwrap();
    // BSC's pools are not listed: they must be found from the factories' creation events.
    settings.pools.retain(|p| p.chain != "bsc");

    // Unknown pool: the BridgeVault is a contract, but not a Uniswap V2 pair.
    let not_a_pool = atoll_core::Address::Evm(eth.bridge_vault.into_array());
    settings.pools.push(PoolSettings {
        id: PoolId::new("ethereum", Protocol::UniswapV2, &not_a_pool),
        chain: "ethereum".into(),
        protocol: Protocol::UniswapV2,
        address: not_a_pool,
    });
    // Wrong chain id: BSC's node configured as chain 10.
    let mut wrong_id = settings.chain("bsc").unwrap().clone();
    wrong_id.name = "optimism".into();
    wrong_id.chain_id = ChainId(10);
    // Unreachable: a port nothing listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let mut unreachable = settings.chain("bsc").unwrap().clone();
    unreachable.name = "base".into();
    unreachable.chain_id = ChainId(8453);
    unreachable.rpc = vec![dead_url.parse().unwrap()];
    settings.chains.push(wrong_id);
    settings.chains.push(unreachable);

    let store = common::sqlite_store(dir.path(), &settings).await;
    let results =
        atoll_indexer::run(&settings, &store, &[], Mode::Once, common::no_progress()).await;
    let by_chain = |name: &str| &results.iter().find(|(c, _)| c == name).unwrap().1;

    let ethereum = by_chain("ethereum").as_ref().unwrap();
    assert_eq!(
        ethereum.pools, 9,
        "the five real pools, the three Aave reserves and the Comet are indexed"
    );
    assert_eq!(
        ethereum.pool_problems.len(),
        1,
        "{:?}",
        ethereum.pool_problems
    );
    let problem = &ethereum.pool_problems[0];
    assert!(
        problem.contains(&format!("{not_a_pool}")) && problem.contains("not a V2 pool"),
        "the problem names the pool and what is wrong: {problem}"
    );
    assert!(ethereum.events > 0);
    let bsc = by_chain("bsc").as_ref().unwrap();
    assert!(bsc.events > 0, "bsc indexes");
    assert_eq!(
        bsc.pools, 9,
        "bsc's 3 pairs and 2 V3 pools, discovered, its 3 Aave reserves and its Comet"
    );
    let discovered: Vec<_> = store
        .pools_of_chain(56)
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.protocol != "aave_v3" && p.protocol != "compound_v3")
        .collect();
    assert_eq!(discovered.len(), 5);
    assert!(discovered.iter().all(|p| p.discovered_at_block.is_some()));

    match by_chain("optimism") {
        Err(e @ IndexerError::Adapter(atoll_adapters::AdapterError::WrongChainId { .. })) => {
            let msg = e.to_string();
            assert!(
                msg.contains("optimism") && msg.contains("56") && msg.contains("10"),
                "{msg}"
            );
        }
        other => panic!("expected a wrong chain id error, got {other:?}"),
    }
    match by_chain("base") {
        Err(e @ IndexerError::Adapter(atoll_adapters::AdapterError::RpcUnavailable { .. })) => {
            let msg = e.to_string();
            assert!(msg.contains("base") && msg.contains("eth_chainId"), "{msg}");
        }
        other => panic!("expected an unreachable RPC error, got {other:?}"),
    }
}
