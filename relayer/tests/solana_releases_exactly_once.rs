//! Releases to Solana, end to end on the devnet: deposits made on Ethereum and BSC into their
//! BridgeVaults are indexed, pass the finality gate, and are released from the relayer's SPL
//! vaults by the Solana executor. One release is signed and persisted but never sent (the
//! process "dies" there); a new executor, as after a restart, sends the stored bytes instead of
//! signing again. At the end, read from the chain: each recipient's token account grew by
//! exactly the amounts out, and every transfer was signed once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use alloy::providers::Provider;
use atoll_adapters::evm::{EvmChain, RetryPolicy};
use atoll_adapters::solana::SolanaChain;
use atoll_core::settings::Settings;
use atoll_core::{ChainId, TransferStatus};
use atoll_devnet::Devnet;
use atoll_devnet::evm::{self, Role};
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_indexer::Mode;
use atoll_relayer::solana_executor::SolanaExecutor;
use solana_client::nonblocking::rpc_client::RpcClient;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::pubkey::Pubkey;

#[tokio::test]
async fn evm_deposits_are_released_on_solana_once() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), true).await.unwrap();
    let report = traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 0,
            deposits: 6,
            seed: 21,
        },
    )
    .await
    .unwrap();
    let to_solana: Vec<_> = report
        .deposits
        .iter()
        .filter(|d| d.to == "solana")
        .collect();
    assert_eq!(to_solana.len(), 2);
    for c in &net.state.evm {
        let node = evm::provider_for(&c.rpc_url, Role::Deployer).unwrap();
        let _: serde_json::Value = node.raw_request("anvil_mine".into(), (5,)).await.unwrap();
    }

    let text = std::fs::read_to_string(&net.state.config_path).unwrap();
    let settings = Settings::parse(&text, Vec::<(String, String)>::new(), dir.path()).unwrap();
    let store = atoll_store::test_support::sqlite_in(dir.path())
        .await
        .unwrap();
    store.migrate_up().await.unwrap();
    store.register_settings(&settings).await.unwrap();
    for (chain, result) in atoll_indexer::run(
        &settings,
        &store,
        &["ethereum".into(), "bsc".into()],
        Mode::Once,
        std::sync::Arc::new(|_| {}),
    )
    .await
    {
        result.unwrap_or_else(|e| panic!("{chain}: {e}"));
    }
    for name in ["ethereum", "bsc"] {
        let chain = EvmChain::new(settings.chain(name).unwrap(), RetryPolicy::default()).unwrap();
        let r = atoll_relayer::gate::pass(&settings, &store, name, &chain)
            .await
            .unwrap();
        assert!(
            r.refused.is_empty() && r.waiting.is_empty(),
            "{name}: {r:?}"
        );
    }
    // As the executor reads them: the releases the gate approved.
    let queued = store
        .releases_to(ChainId::SOLANA.0, &[TransferStatus::SourceFinal])
        .await
        .unwrap();
    assert_eq!(queued.len(), 2);

    // The recipients' token accounts before any release.
    let sol = net.state.solana.as_ref().unwrap();
    let client = RpcClient::new_with_commitment(sol.rpc_url.clone(), CommitmentConfig::confirmed());
    let balances = || async {
        let mut out = HashMap::new();
        for t in &sol.tokens {
            let account: Pubkey = t.user_account.parse().unwrap();
            let amount: u64 = client
                .get_token_account_balance(&account)
                .await
                .unwrap()
                .amount
                .parse()
                .unwrap();
            out.insert(t.mint.clone(), amount);
        }
        out
    };
    let before = balances().await;

    let chain =
        SolanaChain::new(settings.chain("solana").unwrap(), RetryPolicy::default()).unwrap();
    // Signed and persisted, never sent: the process dies here.
    {
        let dying = SolanaExecutor::new(&settings, &store, &chain, "solana").unwrap();
        let t = &queued[0];
        let vault = dying.vault_of(t).await.unwrap();
        let signed = dying.sign(t, vault).await.unwrap();
        dying
            .persist(t, TransferStatus::SourceFinal, &signed)
            .await
            .unwrap();
    }
    assert_eq!(
        store.transfer(queued[0].id).await.unwrap().unwrap().status,
        TransferStatus::Signed
    );

    // A new executor: resends the stored release, releases the other, follows both to final.
    let executor = SolanaExecutor::new(&settings, &store, &chain, "solana").unwrap();
    let mut resent = Vec::new();
    let mut confirmed = Vec::new();
    for _ in 0..300 {
        let r = executor.step().await.unwrap();
        assert!(
            r.failed.is_empty() && r.failed_txs.is_empty() && r.awaiting_liquidity.is_empty(),
            "{r:?}"
        );
        resent.extend(r.resent);
        confirmed.extend(r.confirmed);
        if confirmed.len() == 2 {
            break;
        }
        // Finality comes with the cluster's slots: poll the chain's progress, not a guess.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(resent, vec![queued[0].id.to_string()]);
    assert_eq!(
        confirmed.len(),
        2,
        "both releases final within the polling budget"
    );

    let after = balances().await;
    let mut expected: HashMap<String, u64> = HashMap::new();
    for t in &queued {
        let t = store.transfer(t.id).await.unwrap().unwrap();
        assert_eq!(t.status, TransferStatus::Confirmed);
        *expected.entry(t.dest_token.clone().unwrap()).or_default() +=
            u64::try_from(t.amount_out.unwrap()).unwrap();
        assert_eq!(store.attempt_count(t.id).await.unwrap(), 1, "signed once");
    }
    for (mint, was) in &before {
        let grew = after[mint] - was;
        assert_eq!(
            grew,
            expected.get(mint).copied().unwrap_or(0),
            "mint {mint}"
        );
    }
    // Another step finds nothing to do: nothing is sent twice.
    let idle = executor.step().await.unwrap();
    assert_eq!(idle, Default::default());
    common::assert_audit_clean(&settings, &store).await;
}
