//! The EVM adapter reading the devnet's real Uniswap deployments: factories' creation events
//! find exactly the deployed pools (and the token allowlist filters them), batched state reads
//! equal one-by-one reads, and every event the traffic made decodes to what was sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::rpc::types::Filter;
use atoll_adapters::evm::discovery::DiscoveredPool;
use atoll_adapters::evm::events::{self, EvmEvent};
use atoll_adapters::evm::state::{PoolFamily, PoolState};
use atoll_adapters::evm::{EvmChain, LogWindow, RetryPolicy};
use atoll_core::settings::Settings;
use atoll_devnet::contracts::{IUniswapV2Pair, IUniswapV3Pool, TestToken};
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_devnet::{Devnet, evm};

const FAST: RetryPolicy = RetryPolicy {
    rounds: 3,
    base_delay: Duration::from_millis(2),
    max_delay: Duration::from_millis(20),
};

fn settings(devnet: &Devnet) -> Settings {
    let text = std::fs::read_to_string(&devnet.state.config_path).unwrap();
    Settings::parse(&text, Vec::new(), &devnet.dir).unwrap()
}

#[tokio::test]
async fn factories_find_the_deployed_pools_and_state_reads_agree() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let cfg = settings(&net);
    let deployed = net.state.evm_chain("bsc").unwrap();
    let chain = EvmChain::new(cfg.chain("bsc").unwrap(), FAST).unwrap();
    let head = chain.head().await.unwrap().number;

    let all_tokens: HashSet<Address> = deployed.tokens.iter().map(|t| t.address).collect();
    let found = chain
        .discover_pools(
            &cfg.factories,
            &all_tokens,
            0,
            head,
            &mut LogWindow::default(),
        )
        .await
        .unwrap();
    let mut found_addresses: Vec<Address> = found.iter().map(|p| p.address).collect();
    let mut expected: Vec<Address> = deployed
        .v2_pairs
        .iter()
        .chain(&deployed.v3_pools)
        .map(|p| p.address)
        .collect();
    found_addresses.sort();
    expected.sort();
    assert_eq!(found_addresses, expected);
    for p in deployed.v3_pools.iter() {
        let f: &DiscoveredPool = found.iter().find(|d| d.address == p.address).unwrap();
        assert_eq!(
            (f.token0, f.token1, f.fee_ppm),
            (p.token0, p.token1, Some(p.fee_ppm))
        );
    }

    // Without the wrapped native on the allowlist only the stable pools remain.
    let stables: HashSet<Address> = ["USDC", "USDT"]
        .iter()
        .map(|s| deployed.token(s).unwrap().address)
        .collect();
    let stable_pools = chain
        .discover_pools(&cfg.factories, &stables, 0, head, &mut LogWindow::default())
        .await
        .unwrap();
    assert_eq!(stable_pools.len(), 2, "{stable_pools:?}");

    // Batched reads at one block equal individual calls.
    let pools: Vec<(Address, PoolFamily)> = deployed
        .v2_pairs
        .iter()
        .map(|p| (p.address, PoolFamily::V2))
        .chain(
            deployed
                .v3_pools
                .iter()
                .map(|p| (p.address, PoolFamily::V3)),
        )
        .collect();
    let states = chain.pool_states(&pools, head).await.unwrap();
    let direct = evm::provider_for(&deployed.rpc_url, evm::Role::Trader).unwrap();
    for ((address, _), state) in pools.iter().zip(&states) {
        match state {
            PoolState::V2 {
                reserve0,
                reserve1,
                token0,
                ..
            } => {
                let r = IUniswapV2Pair::new(*address, &direct)
                    .getReserves()
                    .call()
                    .await
                    .unwrap();
                assert_eq!(
                    (*reserve0, *reserve1),
                    (U256::from(r.reserve0), U256::from(r.reserve1))
                );
                assert_eq!(
                    *token0,
                    IUniswapV2Pair::new(*address, &direct)
                        .token0()
                        .call()
                        .await
                        .unwrap()
                );
            }
            PoolState::V3 {
                sqrt_price_x96,
                liquidity,
                fee_ppm,
                ..
            } => {
                let pool = IUniswapV3Pool::new(*address, &direct);
                assert_eq!(
                    *sqrt_price_x96,
                    U256::from(pool.slot0().call().await.unwrap().sqrtPriceX96)
                );
                assert_eq!(*liquidity, pool.liquidity().call().await.unwrap());
                assert_eq!(*fee_ppm, pool.fee().call().await.unwrap().to::<u32>());
            }
        }
    }
    let tokens: Vec<Address> = deployed.tokens.iter().map(|t| t.address).collect();
    let infos = chain.token_infos(&tokens, head).await.unwrap();
    for (info, t) in infos.iter().zip(&deployed.tokens) {
        assert_eq!(
            (info.symbol.as_str(), info.decimals),
            (t.symbol.as_str(), t.decimals)
        );
    }
    let holders: Vec<(Address, Address)> =
        tokens.iter().map(|t| (*t, deployed.bridge_vault)).collect();
    let balances = chain.balances(&holders, head).await.unwrap();
    for ((token, holder), b) in holders.iter().zip(&balances) {
        assert_eq!(
            *b,
            TestToken::new(*token, &direct)
                .balanceOf(*holder)
                .call()
                .await
                .unwrap()
        );
    }

    // Not a pool: the error names the address.
    let e = chain
        .pool_states(&[(deployed.bridge_vault, PoolFamily::V2)], head)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(&deployed.bridge_vault.to_string()), "{e}");
    net.down();
}

#[tokio::test]
async fn every_traffic_event_decodes_to_what_was_sent() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let report = traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 40,
            deposits: 4,
            seed: 11,
        },
    )
    .await
    .unwrap();
    let cfg = settings(&net);
    let eth = net.state.evm_chain("ethereum").unwrap();
    let chain = EvmChain::new(cfg.chain("ethereum").unwrap(), FAST).unwrap();
    let head = chain.head().await.unwrap().number;
    let logs = chain
        .logs(
            &Filter::new().event_signature(EvmEvent::topics()),
            eth.deployed_at_block,
            head,
            &mut LogWindow::default(),
        )
        .await
        .unwrap();
    let decoded: Vec<_> = logs
        .iter()
        .filter_map(events::decode)
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        decoded.len(),
        logs.len(),
        "every log with a known topic decodes"
    );

    let swaps: Vec<_> = decoded
        .iter()
        .filter(|(_, e)| matches!(e, EvmEvent::V2Swap { .. } | EvmEvent::V3Swap { .. }))
        .collect();
    let sent: Vec<_> = report
        .swaps
        .iter()
        .filter(|s| s.chain == "ethereum")
        .collect();
    assert_eq!(swaps.len(), sent.len());
    for ((pos, event), record) in swaps.iter().zip(&sent) {
        assert_eq!(pos.address, record.pool);
        assert_eq!(pos.tx_hash.to_string(), record.tx);
        let amount_in = match event {
            EvmEvent::V2Swap {
                amount0_in,
                amount1_in,
                ..
            } => {
                if record.zero_for_one {
                    *amount0_in
                } else {
                    *amount1_in
                }
            }
            EvmEvent::V3Swap {
                amount0, amount1, ..
            } => (if record.zero_for_one {
                *amount0
            } else {
                *amount1
            })
            .into_raw(),
            _ => unreachable!(),
        };
        assert_eq!(amount_in, record.amount_in, "{}", record.tx);
    }
    let deposits: Vec<_> = decoded
        .iter()
        .filter_map(|(_, e)| match e {
            EvmEvent::TransferInitiated {
                amount,
                dst_chain_id,
                ..
            } => Some((*amount, *dst_chain_id)),
            _ => None,
        })
        .collect();
    let sent_deposits: Vec<_> = report
        .deposits
        .iter()
        .filter(|d| d.from == "ethereum")
        .map(|d| (U256::from(d.amount), if d.to == "bsc" { 56 } else { 1 }))
        .collect();
    assert_eq!(deposits, sent_deposits);
    // The stored key (chain, tx, log_index) is unique across everything decoded.
    let keys: HashSet<_> = decoded
        .iter()
        .map(|(p, _)| (p.tx_hash, p.log_index))
        .collect();
    assert_eq!(keys.len(), decoded.len());
    net.down();
}
