//! The whole devnet, as the foundation issue asks to show it: both anvil chains hold the real
//! Uniswap V2 pairs (seeded) and V3 pools, the validator holds Whirlpool and CPMM accounts owned
//! by their real programs, traffic emits `Swap` and `TransferInitiated` events and Solana vault
//! deposits with memos, and `down` leaves no process behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;

use alloy::primitives::U256;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use atoll_devnet::contracts::{BridgeVault, IUniswapV2Factory, IUniswapV2Pair, IUniswapV3Pool};
use atoll_devnet::solana::{
    CPMM_POOL_DISCRIMINATOR, CPMM_PROGRAM, WHIRLPOOL_DISCRIMINATOR, WHIRLPOOL_PROGRAM,
};
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_devnet::{Devnet, evm, process};
use solana_client::nonblocking::rpc_client::RpcClient;
use solana_sdk::pubkey::Pubkey;

#[tokio::test]
async fn devnet_seeds_three_chains_and_traffic_flows() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = Devnet::up_on_free_ports(dir.path(), true).await.unwrap();
    let state = devnet.state.clone();

    // EVM: the V2 factory knows the seeded pairs, whose reserves are non-zero; V3 pools priced.
    for c in &state.evm {
        let p = evm::provider_for(&c.rpc_url, evm::Role::Trader).unwrap();
        let n = IUniswapV2Factory::new(c.v2_factory, &p)
            .allPairsLength()
            .call()
            .await
            .unwrap();
        assert_eq!(n, U256::from(c.v2_pairs.len()), "{}", c.name);
        assert_eq!(n, U256::from(3u8));
        for pair in &c.v2_pairs {
            let r = IUniswapV2Pair::new(pair.address, &p)
                .getReserves()
                .call()
                .await
                .unwrap();
            assert!(
                r.reserve0 > alloy::primitives::aliases::U112::ZERO
                    && r.reserve1 > alloy::primitives::aliases::U112::ZERO,
                "{} {}",
                c.name,
                pair.address
            );
        }
        for pool in &c.v3_pools {
            let v3 = IUniswapV3Pool::new(pool.address, &p);
            assert!(v3.liquidity().call().await.unwrap() > 0);
            assert!(
                v3.slot0().call().await.unwrap().sqrtPriceX96
                    > alloy::primitives::aliases::U160::ZERO
            );
        }
    }

    // Solana: pool accounts in the programs' layouts, owned by their real program ids.
    let sol = state.solana.clone().unwrap();
    // Deposits are sent at `confirmed`; read at the same commitment.
    let client = RpcClient::new_with_commitment(
        sol.rpc_url.clone(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    for (pool, program, len, disc) in [
        (
            &sol.pools[0],
            WHIRLPOOL_PROGRAM,
            653,
            WHIRLPOOL_DISCRIMINATOR,
        ),
        (&sol.pools[1], CPMM_PROGRAM, 637, CPMM_POOL_DISCRIMINATOR),
    ] {
        let account = client
            .get_account(&Pubkey::from_str(&pool.address).unwrap())
            .await
            .unwrap();
        assert_eq!(account.owner, program, "{}", pool.protocol);
        assert_eq!(account.data.len(), len);
        assert_eq!(account.data[..8], disc);
        for vault in [&pool.vault_a, &pool.vault_b] {
            let b = client
                .get_token_account_balance(&Pubkey::from_str(vault).unwrap())
                .await
                .unwrap();
            assert!(
                b.amount.parse::<u64>().unwrap() > 0,
                "{} vault {vault}",
                pool.protocol
            );
        }
    }
    let usdc = sol.token("USDC").unwrap();
    let vault_before: u64 = client
        .get_token_account_balance(&Pubkey::from_str(&usdc.vault).unwrap())
        .await
        .unwrap()
        .amount
        .parse()
        .unwrap();

    // Traffic: 100 swaps and 12 deposits, two in each of the six directions.
    let report = traffic::run(
        &state,
        TrafficOptions {
            swaps: 100,
            deposits: 12,
            seed: 42,
        },
    )
    .await
    .unwrap();
    assert_eq!(report.swaps.len(), 100);
    assert_eq!(report.deposits.len(), 12);
    let mut swap_logs = 0;
    for c in &state.evm {
        let p = evm::provider_for(&c.rpc_url, evm::Role::Trader).unwrap();
        let from = c.deployed_at_block;
        let swap_topics = vec![
            IUniswapV2Pair::Swap::SIGNATURE_HASH,
            IUniswapV3Pool::Swap::SIGNATURE_HASH,
        ];
        let swaps = p
            .get_logs(&Filter::new().event_signature(swap_topics).from_block(from))
            .await
            .unwrap();
        assert_eq!(
            swaps.len(),
            report.swaps.iter().filter(|s| s.chain == c.name).count(),
            "{}",
            c.name
        );
        swap_logs += swaps.len();
        let deposits = p
            .get_logs(
                &Filter::new()
                    .address(c.bridge_vault)
                    .event_signature(BridgeVault::TransferInitiated::SIGNATURE_HASH)
                    .from_block(from),
            )
            .await
            .unwrap();
        assert_eq!(
            deposits.len(),
            report.deposits.iter().filter(|d| d.from == c.name).count(),
            "{}",
            c.name
        );
        assert_eq!(
            deposits.len(),
            4,
            "{}: two deposits to each other chain",
            c.name
        );
    }
    assert_eq!(swap_logs, 100);

    // Solana deposits landed in the relayer's vault with their memo.
    let sol_usdc: u64 = report
        .deposits
        .iter()
        .filter(|d| d.from == "solana" && d.token == "USDC")
        .map(|d| d.amount)
        .sum();
    let vault_after: u64 = client
        .get_token_account_balance(&Pubkey::from_str(&usdc.vault).unwrap())
        .await
        .unwrap()
        .amount
        .parse()
        .unwrap();
    assert_eq!(vault_after - vault_before, sol_usdc);
    let first = report.deposits.iter().find(|d| d.from == "solana").unwrap();
    let config = solana_client::rpc_config::RpcTransactionConfig {
        encoding: Some(solana_transaction_status_client_types::UiTransactionEncoding::Json),
        commitment: Some(solana_commitment_config::CommitmentConfig::confirmed()),
        max_supported_transaction_version: Some(0),
    };
    let tx = client
        .get_transaction_with_config(&first.tx.parse().unwrap(), config)
        .await
        .unwrap();
    let logs: Vec<String> = tx.transaction.meta.unwrap().log_messages.unwrap();
    let dst = if first.to == "ethereum" { 1 } else { 56 };
    assert!(
        logs.iter()
            .any(|l| l.contains(&format!("atoll:v1:dst={dst}:to={}", first.recipient))),
        "{logs:?}"
    );

    // down stops exactly what up started.
    let started: Vec<_> = process::recorded(dir.path());
    assert_eq!(started.len(), 3);
    devnet.down();
    assert!(
        started.iter().all(|p| !process::is_ours_and_alive(p)),
        "no node left behind"
    );
    assert!(process::recorded(dir.path()).is_empty());
}
