//! The whole relayer on the devnet (two anvils and solana-test-validator): deposits in all six
//! directions between Ethereum, BSC and Solana are indexed, pass the finality gate and are
//! released by the executors (EVM batches through `releaseBatch`, Solana one transfer each).
//! Read back from the chains: every recipient's balance grew by exactly the expected amounts
//! (5 bps + fixed fee, decimals converted, e.g. WETH 18 → 8 decimals on Solana), computed here
//! independently of the relayer's arithmetic; each id is `processed` on its EVM vault; every
//! transfer was signed once. Deposits that fail validation (a token not mapped on the
//! destination, a recipient that is no EVM address, an amount under the route's minimum, an
//! amount not representable in the destination's decimals, an amount out above what a Solana
//! token account holds, u64) end `failed` with their reason, nothing is signed for them, and
//! the other Solana releases go on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{B256, U256};
use atoll_devnet::Devnet;
use atoll_devnet::traffic::{self, TrafficOptions};
use solana_client::nonblocking::rpc_client::RpcClient;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signer::Signer;

/// What the route releases for `raw` source units: computed in the coarser precision, fee
/// = floor(5 bps) + the fixed fee, then scaled to the destination's decimals.
fn expected_out(raw: u128, src_dec: u32, dst_dec: u32, fixed_coarse: u128) -> u128 {
    let coarse = src_dec.min(dst_dec);
    let scale_down = 10u128.pow(src_dec - coarse);
    assert_eq!(raw % scale_down, 0, "test deposits are exact");
    let a = raw / scale_down;
    let fee = a * 5 / 10_000 + fixed_coarse;
    (a - fee) * 10u128.pow(dst_dec - coarse)
}

#[tokio::test]
async fn deposits_in_six_directions_are_released_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), true).await.unwrap();
    let mut settings = common::settings(&net, dir.path());
    // No upper bound on Ethereum → Solana WETH: what stops an amount no token account can
    // hold is intake's own check, not the route's maximum.
    for r in settings.relayer.routes.iter_mut() {
        if (r.from.as_str(), r.to.as_str(), r.token.as_str()) == ("ethereum", "solana", "WETH") {
            r.max_amount = None;
        }
    }
    let settings = settings;
    let store = common::store(&settings, dir.path()).await;
    let sol = net.state.solana.as_ref().unwrap();
    let chain_id = |name: &str| settings.chain(name).unwrap().chain_id.0;
    let decimals = |chain: &str, symbol: &str| -> u32 {
        let t = settings.tokens.iter().find(|t| t.symbol == symbol).unwrap();
        u32::from(
            t.deployments
                .iter()
                .find(|d| d.chain == chain)
                .unwrap()
                .decimals,
        )
    };

    // Two stable deposits in each direction.
    let report = traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 0,
            deposits: 12,
            seed: 6,
        },
    )
    .await
    .unwrap();
    let mut expected: HashMap<(String, String), u128> = HashMap::new();
    for d in &report.deposits {
        let (sd, dd) = (decimals(&d.from, &d.token), decimals(&d.to, &d.token));
        let fixed = 5 * 10u128.pow(sd.min(dd) - 1); // 0.5
        *expected.entry((d.to.clone(), d.token.clone())).or_default() +=
            expected_out(u128::from(d.amount), sd, dd, fixed);
    }
    let directions: std::collections::HashSet<(String, String)> = report
        .deposits
        .iter()
        .map(|d| (d.from.clone(), d.to.clone()))
        .collect();
    assert_eq!(directions.len(), 6);

    // WETH from Ethereum (18 decimals) to Solana (8): 0.12345678 WETH.
    let sol_user = atoll_devnet::solana::devnet_keypair("user").pubkey();
    let weth_raw = U256::from(123_456_780_000_000_000u128);
    common::deposit(
        &net,
        "ethereum",
        "WETH",
        weth_raw,
        chain_id("solana"),
        sol_user.to_bytes(),
    )
    .await;
    // 12,345,678 units of 8 decimals, fee floor(6,172.8) + 10,000 (0.0001).
    *expected
        .entry(("solana".into(), "WETH".into()))
        .or_default() += 12_345_678 - 6_172 - 10_000;

    // Refused, each for its own reason.
    let bsc = chain_id("bsc");
    common::deposit(
        &net,
        "ethereum",
        "WETH",
        U256::from(10u128.pow(18)),
        bsc,
        common::evm_user(&net, "bsc"),
    )
    .await;
    let mut not_an_address = common::evm_user(&net, "bsc");
    not_an_address[0] = 0xff;
    common::deposit(
        &net,
        "ethereum",
        "USDC",
        U256::from(5_000_000u64),
        bsc,
        not_an_address,
    )
    .await;
    common::deposit(
        &net,
        "ethereum",
        "USDC",
        U256::from(500_000u64),
        bsc,
        common::evm_user(&net, "bsc"),
    )
    .await;
    common::deposit(
        &net,
        "ethereum",
        "WETH",
        U256::from(123_456_789_100_000_000u128),
        chain_id("solana"),
        sol_user.to_bytes(),
    )
    .await;
    // 2 × (2^64 − 1) units of Solana's 8 decimals, in wei: more than a token account holds.
    let oversized = U256::from(u64::MAX) * U256::from(20_000_000_000u64);
    let eth = net.state.evm_chain("ethereum").unwrap();
    let minter =
        atoll_devnet::evm::provider_for(&eth.rpc_url, atoll_devnet::evm::Role::Deployer).unwrap();
    let weth = atoll_devnet::contracts::TestToken::new(eth.token("WETH").unwrap().address, &minter);
    let mint = weth.mint(
        eth.account(atoll_devnet::evm::Role::User).unwrap(),
        oversized,
    );
    atoll_devnet::evm::send(&minter, mint.into_transaction_request(), "ethereum", "mint")
        .await
        .unwrap();
    common::deposit(
        &net,
        "ethereum",
        "WETH",
        oversized,
        chain_id("solana"),
        sol_user.to_bytes(),
    )
    .await;
    let (valid, refused) = (13usize, 5usize);

    // Balances after every deposit, before any release.
    let client = RpcClient::new_with_commitment(sol.rpc_url.clone(), CommitmentConfig::confirmed());
    let balances = || async {
        let mut out: HashMap<(String, String), u128> = HashMap::new();
        for chain in ["ethereum", "bsc"] {
            let c = net.state.evm_chain(chain).unwrap();
            let user = c.account(atoll_devnet::evm::Role::User).unwrap();
            for t in &c.tokens {
                let b = common::evm_balance(&net, chain, t.address, user).await;
                out.insert((chain.into(), t.symbol.clone()), b.to::<u128>());
            }
        }
        for t in &sol.tokens {
            let account: Pubkey = t.user_account.parse().unwrap();
            let amount = client
                .get_token_account_balance(&account)
                .await
                .map(|b| b.amount.parse::<u128>().unwrap())
                .unwrap_or(0);
            out.insert(("solana".into(), t.symbol.clone()), amount);
        }
        out
    };
    let before = balances().await;

    let (evm, solana) = common::chains(&settings);
    let relay = common::Relay {
        settings: &settings,
        store: &store,
        evm: evm.iter().map(|(n, c)| (n.clone(), c)).collect(),
        solana: solana.as_ref(),
        tolerate_errors: false,
    };
    let settled = || async {
        let all = store.transfers(None, None, 1_000).await.unwrap();
        all.len() == valid + refused
            && all.iter().all(|t| {
                t.status == atoll_core::TransferStatus::Confirmed
                    || t.status == atoll_core::TransferStatus::Failed
            })
    };
    let reports = relay.until(&net, 400, settled).await;
    assert!(
        reports.iter().all(|r| r.awaiting_liquidity.is_empty()),
        "the devnet vaults hold enough"
    );

    let all = store.transfers(None, None, 1_000).await.unwrap();
    let failed: Vec<_> = all
        .iter()
        .filter(|t| t.status == atoll_core::TransferStatus::Failed)
        .collect();
    assert_eq!(failed.len(), refused, "{failed:#?}");
    let reasons: Vec<String> = failed
        .iter()
        .map(|t| t.failure_reason.as_ref().unwrap().to_string())
        .collect();
    for needle in [
        "no route ethereum → bsc for WETH",
        "recipient",
        "below the route's minimum",
        "cannot be released exactly on solana",
        "exceeds what a token account on solana can hold (u64)",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(needle)),
            "a refusal mentioning {needle:?} in {reasons:#?}"
        );
    }
    for t in &failed {
        assert_eq!(
            store.attempt_count(t.id).await.unwrap(),
            0,
            "nothing signed for {}",
            t.id
        );
    }

    let after = balances().await;
    for (key, was) in &before {
        let grew = after[key] - was;
        assert_eq!(grew, expected.get(key).copied().unwrap_or(0), "{key:?}");
    }
    let confirmed: Vec<_> = all
        .iter()
        .filter(|t| t.status == atoll_core::TransferStatus::Confirmed)
        .collect();
    assert_eq!(confirmed.len(), valid);
    for t in &confirmed {
        assert_eq!(
            store.attempt_count(t.id).await.unwrap(),
            1,
            "{} signed once",
            t.id
        );
        let history = store.transfer_history(t.id).await.unwrap();
        let path: Vec<&str> = history.iter().map(|h| h.to_status.as_str()).collect();
        assert_eq!(
            path,
            [
                "observed",
                "source_final",
                "signed",
                "broadcast",
                "included",
                "confirmed"
            ],
            "{}",
            t.id
        );
        let dest = t.dest_chain_id;
        if let Some((_, chain)) = evm.iter().find(|(_, c)| c.chain_id == dest) {
            let vault = net.state.evm_chain(&chain.name).unwrap().bridge_vault;
            let id = B256::from(t.id.0);
            assert!(
                chain
                    .processed(vault, id, BlockNumberOrTag::Latest)
                    .await
                    .unwrap()
            );
        }
    }
    // EVM releases went out in batches: fewer transactions than transfers.
    for (name, c) in &evm {
        let txs = store
            .release_txs(c.chain_id, atoll_store::release_txs::ReleaseTxStatus::Final)
            .await
            .unwrap();
        let carried: u32 = txs.iter().map(|t| t.releases).sum();
        let to_here = confirmed
            .iter()
            .filter(|t| t.dest_chain_id == c.chain_id)
            .count();
        assert_eq!(usize::try_from(carried).unwrap(), to_here, "{name}");
        assert!(
            txs.len() <= to_here,
            "{name}: {} transactions for {to_here} releases",
            txs.len()
        );
    }
    common::assert_audit_clean(&settings, &store).await;

    // What a Solana release costs, for the router's quotes: the signature fee, the claim's rent
    // as the validator states it and the priority fee. The devnet has no SOL token, so USDC
    // stands in as the price of the native token (a test double for that price only).
    let mut priced = settings.clone();
    priced
        .chains
        .iter_mut()
        .find(|c| c.name == "solana")
        .unwrap()
        .native_token = Some("USDC".into());
    let cost = atoll_relayer::profit::release_cost(&priced, &store, "solana")
        .await
        .unwrap()
        .unwrap();
    let rent = solana.as_ref().unwrap().claim_lamports().await.unwrap();
    // 1,000 micro-lamports per compute unit (the devnet's priority fee) × the default limit
    // of 609,000 units (three non-builtin instructions, three builtin).
    assert_eq!(cost.native(), 5_000 + u128::from(rent) + 609);
    assert!(cost.usd().is_some_and(|usd| usd > 0.0), "{cost:?}");
    assert!(
        cost.describe().ends_with(" lamports)"),
        "{}",
        cost.describe()
    );
}
