//! Two Solana endpoints that disagree: the first one the relayer asks answers every signature
//! status with `null` (a node behind the others, or one that pruned its status cache), the
//! second is current. The old verdict took "not found" from one endpoint and the block height
//! from whichever answered, and signed a landed release again once its blockhash expired. Here
//! releases are judged by their claim accounts read at one view's slot: the claim moves each to
//! `included` (and `confirmed` once finalized) whatever the signature statuses say, so the
//! expiry verdict is never reached for a landed release. The relayer runs on past every
//! release's last valid block height, and the recipient's balance read from the chain grew by
//! each deposit once, with one attempt each. (The expiry verdict itself is pinned by
//! `broadcast_verdict`'s unit tests.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::Ordering;

use alloy::primitives::U256;
use atoll_devnet::Devnet;
use atoll_devnet::fault_proxy::{FaultPlan, FaultProxy};
use solana_client::nonblocking::rpc_client::RpcClient;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signer::Signer;

#[tokio::test]
async fn a_lagging_endpoint_never_causes_a_second_payout() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), true).await.unwrap();
    let mut settings = common::settings(&net, dir.path());
    let sol = net.state.solana.as_ref().unwrap();
    let proxy = FaultProxy::start(
        &sol.rpc_url,
        FaultPlan {
            forget_signatures: true,
            ..FaultPlan::default()
        },
    )
    .await
    .unwrap();
    let solana = settings
        .chains
        .iter_mut()
        .find(|c| c.name == "solana")
        .unwrap();
    solana.rpc = vec![proxy.url.parse().unwrap(), sol.rpc_url.parse().unwrap()];
    let store = common::store(&settings, dir.path()).await;

    let usdc = sol.token("USDC").unwrap();
    let user_account: Pubkey = usdc.user_account.parse().unwrap();
    let client = RpcClient::new_with_commitment(sol.rpc_url.clone(), CommitmentConfig::confirmed());
    let balance = || async {
        client
            .get_token_account_balance(&user_account)
            .await
            .map(|b| b.amount.parse::<u64>().unwrap())
            .unwrap_or(0)
    };
    let before = balance().await;
    let solana_id = settings.chain("solana").unwrap().chain_id.0;
    let sol_user = atoll_devnet::solana::devnet_keypair("user").pubkey();
    for whole in [2u64, 5] {
        common::deposit(
            &net,
            "ethereum",
            "USDC",
            U256::from(whole * 1_000_000),
            solana_id,
            sol_user.to_bytes(),
        )
        .await;
    }
    let (evm, solana) = common::chains(&settings);
    let relay = common::Relay {
        settings: &settings,
        store: &store,
        evm: evm.iter().map(|(n, c)| (n.clone(), c)).collect(),
        solana: solana.as_ref(),
        tolerate_errors: false,
    };
    let all_confirmed = || async {
        let all = store.transfers(None, None, 10).await.unwrap();
        all.len() == 2
            && all
                .iter()
                .all(|t| t.status == atoll_core::TransferStatus::Confirmed)
    };
    relay.until(&net, 400, all_confirmed).await;
    assert!(
        proxy.stats.forgotten.load(Ordering::SeqCst) > 0,
        "the lagging endpoint answered"
    );

    // Past every release's last valid block height, the relayer still stepping: nothing more.
    let mut last_valid = 0;
    for t in store.transfers(None, None, 10).await.unwrap() {
        assert_eq!(store.attempt_count(t.id).await.unwrap(), 1, "{}", t.id);
        let attempt = store.latest_attempt(t.id).await.unwrap().unwrap();
        last_valid = last_valid.max(attempt.last_valid_block_height.unwrap());
    }
    let height = || async {
        client
            .get_block_height_with_commitment(CommitmentConfig::confirmed())
            .await
            .unwrap()
    };
    relay
        .until(&net, 1_000, || async { height().await > last_valid + 2 })
        .await;
    for t in store.transfers(None, None, 10).await.unwrap() {
        assert_eq!(t.status, atoll_core::TransferStatus::Confirmed);
        assert_eq!(store.attempt_count(t.id).await.unwrap(), 1, "{}", t.id);
    }
    // 2 and 5 USDC less 5 bps and 0.5 USDC each.
    let paid = (2_000_000 - 1_000 - 500_000) + (5_000_000 - 2_500 - 500_000);
    assert_eq!(balance().await - before, paid);
    common::assert_audit_clean(&settings, &store).await;
}
