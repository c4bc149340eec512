//! The dry run (`relayer.dry_run`, `atoll relayer run --dry-run`) runs the whole pipeline:
//! deposits are recorded, pass the finality gate, and their releases are simulated and signed,
//! but nothing is persisted as signed and nothing is sent: no attempt rows, no nonce used, no
//! release on the destination chain (read from the chain), the recipient's balance unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::primitives::U256;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use atoll_core::TransferStatus;
use atoll_devnet::Devnet;
use atoll_devnet::contracts::BridgeVault;
use atoll_devnet::evm::{self, Role};
use atoll_relayer::evm_executor::EvmExecutor;

#[tokio::test]
async fn a_dry_run_signs_releases_and_sends_none() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let mut settings = common::settings(&net, dir.path());
    settings.relayer.dry_run = true;
    let store = common::store(&settings, dir.path()).await;
    let bsc = net.state.evm_chain("bsc").unwrap();
    let recipient = common::evm_user(&net, "bsc");
    let user = bsc.account(Role::User).unwrap();
    let usdc = bsc.token("USDC").unwrap().address;
    let before = common::evm_balance(&net, "bsc", usdc, user).await;
    for whole in [11u64, 22, 33] {
        common::deposit(
            &net,
            "ethereum",
            "USDC",
            U256::from(whole * 1_000_000),
            bsc.chain_id,
            recipient,
        )
        .await;
    }
    let (evm, _) = common::chains(&settings);
    let relay = common::Relay {
        settings: &settings,
        store: &store,
        evm: evm.iter().map(|(n, c)| (n.clone(), c)).collect(),
        solana: None,
        tolerate_errors: false,
    };
    let reports = relay
        .until(&net, 30, || async {
            let t = store.transfers(None, Some(1), 10).await.unwrap();
            t.len() == 3 && t.iter().all(|t| t.status == TransferStatus::SourceFinal)
        })
        .await;
    // Once final, a step signs all three in the dry run and reports them.
    let bsc_chain = &evm.iter().find(|(n, _)| n == "bsc").unwrap().1;
    let mut executor = EvmExecutor::new(&settings, &store, bsc_chain, "bsc").unwrap();
    let step = executor.step().await.unwrap();
    let mut dry: Vec<String> = reports
        .into_iter()
        .chain([step])
        .flat_map(|r| {
            assert!(r.sent.is_empty() && r.resent.is_empty(), "{r:?}");
            r.dry_run
        })
        .collect();
    dry.sort();
    dry.dedup();
    let transfers = store.transfers(None, Some(1), 10).await.unwrap();
    let mut ids: Vec<String> = transfers.iter().map(|t| t.id.to_string()).collect();
    ids.sort();
    assert_eq!(dry, ids, "every release was signed in the dry run");
    for t in &transfers {
        assert_eq!(t.status, TransferStatus::SourceFinal, "{t:?}");
        assert_eq!(store.attempt_count(t.id).await.unwrap(), 0);
    }
    assert_eq!(
        store.highest_release_nonce(bsc.chain_id).await.unwrap(),
        None
    );
    let node = evm::provider_for(&bsc.rpc_url, Role::Deployer).unwrap();
    let released = node
        .get_logs(
            &Filter::new()
                .address(bsc.bridge_vault)
                .event_signature(BridgeVault::TransferReleased::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .unwrap();
    assert!(released.is_empty(), "nothing released on chain");
    assert_eq!(common::evm_balance(&net, "bsc", usdc, user).await, before);
}
