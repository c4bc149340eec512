//! `atoll audit` against real chains: clean after a relay, and naming what is wrong when the
//! books are not. Two deposits from Ethereum are released on BSC; the audit is clean and its
//! books add up in exact integers. Then:
//! - against an empty database (a lost one), every deposit is "not recorded" and every release
//!   "matches no transfer", each with its id and transaction;
//! - tokens sent straight to BSC's vault (no `addLiquidity`) are shown as a surplus in its
//!   book, not judged (anyone can send a vault tokens);
//! - tokens gone from the vault without an event of ours (its balance slot lowered, as a token
//!   that seizes or rebases would) are named: the vault holds less than its movements leave.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::primitives::U256;
use atoll_devnet::Devnet;
use atoll_devnet::contracts::TestToken;
use atoll_devnet::evm::{self, Role};

#[tokio::test]
async fn the_audit_is_clean_after_a_relay_and_names_what_breaks_the_books() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let settings = common::settings(&net, dir.path());
    let store = common::store(&settings, dir.path()).await;
    let bsc_id = settings.chain("bsc").unwrap().chain_id.0;
    let user = common::evm_user(&net, "bsc");
    for whole in [4u64, 6] {
        common::deposit(
            &net,
            "ethereum",
            "USDC",
            U256::from(whole * 1_000_000),
            bsc_id,
            user,
        )
        .await;
    }
    let (evm_chains, _) = common::chains(&settings);
    let relay = common::Relay {
        settings: &settings,
        store: &store,
        evm: evm_chains.iter().map(|(n, c)| (n.clone(), c)).collect(),
        solana: None,
        tolerate_errors: false,
    };
    relay
        .until(&net, 200, || async {
            let all = store.transfers(None, None, 10).await.unwrap();
            all.len() == 2
                && all
                    .iter()
                    .all(|t| t.status == atoll_core::TransferStatus::Confirmed)
        })
        .await;
    let report = common::assert_audit_clean(&settings, &store).await;
    assert_eq!((report.deposits_read, report.releases_read), (2, 2));
    let usdc = net
        .state
        .evm_chain("ethereum")
        .unwrap()
        .token("USDC")
        .unwrap();
    let book = report
        .books
        .iter()
        .find(|b| b.chain_id == 1 && b.token == format!("{:#x}", usdc.address))
        .unwrap();
    // 10 USDC in; fees 5 bps + 0.5 on each: 0.502 and 0.503.
    assert_eq!(
        (
            book.deposited.as_str(),
            book.released.as_str(),
            book.fees.as_str(),
            book.pending.as_str()
        ),
        ("10000000", "8995000", "1005000", "0")
    );

    // A lost database: the chains show what it no longer knows.
    let empty_dir = tempfile::tempdir().unwrap();
    let empty = common::store(&settings, empty_dir.path()).await;
    let lost = atoll_relayer::audit::run(&settings, &empty).await.unwrap();
    assert!(!lost.clean);
    let said: Vec<String> = lost.discrepancies.iter().map(ToString::to_string).collect();
    let count = |needle: &str| said.iter().filter(|s| s.contains(needle)).count();
    // Nothing was indexed into it, so its deposits are not judged; the releases are.
    assert_eq!(count("matches no transfer"), 2, "{said:#?}");

    // Tokens sent to the vault outside `addLiquidity`: a surplus, shown in its book.
    let bsc = net.state.evm_chain("bsc").unwrap();
    let p = evm::provider_for(&bsc.rpc_url, Role::User).unwrap();
    let usdc_bsc = bsc.token("USDC").unwrap().address;
    let token = TestToken::new(usdc_bsc, &p);
    evm::send(
        &p,
        token
            .transfer(bsc.bridge_vault, U256::from(1u64))
            .into_transaction_request(),
        "bsc",
        "transfer",
    )
    .await
    .unwrap();
    let surplus = common::assert_audit_clean(&settings, &store).await;
    let book = surplus
        .vaults
        .iter()
        .find(|v| v.chain == "bsc" && v.token == "USDC")
        .unwrap();
    assert_eq!(book.opening.as_deref(), Some("1"), "{book:?}");

    // Tokens gone without an event of ours: the vault's balance slot (TestToken's mapping is
    // slot 3) set 2 units lower.
    let held = common::evm_balance(&net, "bsc", usdc_bsc, bsc.bridge_vault).await;
    let slot = alloy::primitives::keccak256(alloy::sol_types::SolValue::abi_encode(&(
        bsc.bridge_vault,
        U256::from(3),
    )));
    let node = evm::provider_for(&bsc.rpc_url, Role::Deployer).unwrap();
    let _: serde_json::Value = alloy::providers::Provider::raw_request(
        &node,
        "anvil_setStorageAt".into(),
        (
            usdc_bsc,
            slot,
            alloy::primitives::B256::from(held - U256::from(2)),
        ),
    )
    .await
    .unwrap();
    common::mine(&net, 1).await;
    let off = atoll_relayer::audit::run(&settings, &store).await.unwrap();
    let said: Vec<String> = off.discrepancies.iter().map(ToString::to_string).collect();
    assert_eq!(said.len(), 1, "{said:#?}");
    assert!(said[0].starts_with("vault on bsc holds"), "{}", said[0]);
    assert!(said[0].contains("of USDC"), "{}", said[0]);
}
