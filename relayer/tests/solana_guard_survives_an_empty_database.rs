//! The database is not the guard. Deposits from Ethereum to Solana are relayed with one
//! database; then a relayer starts on an empty one (a lost or restored database, a move to
//! another server) against the same chains. It indexes the same deposits again and approves
//! them, but signs nothing: each one's claim account exists on the cluster, so each becomes
//! `failed` as released elsewhere. Read from the chain: the recipient and the vault hold what
//! they held after the first relay, to the unit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::primitives::U256;
use atoll_devnet::Devnet;
use solana_client::nonblocking::rpc_client::RpcClient;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signer::Signer;

#[tokio::test]
async fn a_relayer_on_an_empty_database_pays_no_solana_release_again() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), true).await.unwrap();
    let settings = common::settings(&net, dir.path());
    let sol = net.state.solana.as_ref().unwrap();
    let usdc = sol.token("USDC").unwrap();
    let user_account: Pubkey = usdc.user_account.parse().unwrap();
    let vault: Pubkey = usdc.vault.parse().unwrap();
    let client = RpcClient::new_with_commitment(sol.rpc_url.clone(), CommitmentConfig::confirmed());
    let balance = |account: Pubkey| {
        let client = &client;
        async move {
            client
                .get_token_account_balance(&account)
                .await
                .map(|b| b.amount.parse::<u64>().unwrap())
                .unwrap_or(0)
        }
    };
    let solana_id = settings.chain("solana").unwrap().chain_id.0;
    let sol_user = atoll_devnet::solana::devnet_keypair("user").pubkey();
    for whole in [3u64, 4] {
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
    let relay = |store| common::Relay {
        settings: &settings,
        store,
        evm: evm.iter().map(|(n, c)| (n.clone(), c)).collect(),
        solana: solana.as_ref(),
        tolerate_errors: false,
    };

    // The first database: both released and finalized.
    let first_dir = tempfile::tempdir().unwrap();
    let first = common::store(&settings, first_dir.path()).await;
    let before = balance(user_account).await;
    relay(&first)
        .until(&net, 400, || async {
            let all = first.transfers(None, None, 100).await.unwrap();
            all.len() == 2
                && all
                    .iter()
                    .all(|t| t.status == atoll_core::TransferStatus::Confirmed)
        })
        .await;
    // 3 and 4 USDC less 5 bps and 0.5 USDC each.
    let paid = (3_000_000 - 1_500 - 500_000) + (4_000_000 - 2_000 - 500_000);
    let user_after_first = balance(user_account).await;
    assert_eq!(user_after_first - before, paid);
    let vault_after_first = balance(vault).await;

    // An empty database on the same chains: the same deposits, nothing paid again.
    let second_dir = tempfile::tempdir().unwrap();
    let second = common::store(&settings, second_dir.path()).await;
    relay(&second)
        .until(&net, 400, || async {
            let all = second.transfers(None, None, 100).await.unwrap();
            all.len() == 2
                && all
                    .iter()
                    .all(|t| t.status == atoll_core::TransferStatus::Failed)
        })
        .await;
    for t in second.transfers(None, None, 100).await.unwrap() {
        let why = t.failure_reason.map(|r| r.to_string()).unwrap_or_default();
        assert!(why.contains("already released on chain"), "{}: {why}", t.id);
        assert_eq!(
            second.attempt_count(t.id).await.unwrap(),
            0,
            "nothing signed"
        );
    }
    assert_eq!(balance(user_account).await, user_after_first);
    assert_eq!(balance(vault).await, vault_after_first);
    // Both databases prove clean against the chains: the second one's failures name the
    // releases the chains show.
    common::assert_audit_clean(&settings, &first).await;
    common::assert_audit_clean(&settings, &second).await;
}
