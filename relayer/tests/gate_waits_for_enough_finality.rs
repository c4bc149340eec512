//! The finality gate on anvil (through atoll-devnet), with real BridgeVault deposits recorded by
//! the indexer. Ethereum here counts blocks as final 10 deep; deposits up to $1,000 need 2
//! confirmations, up to $100,000 need 4, and at most $1,500 may be out against deposits not
//! final yet. After 4 more blocks: $800 is approved (2+ confirmations, under the cap); $900
//! waits (it would pass the cap); $5,000 waits (over the cap on its own); a deposit to a chain
//! the config does not know is refused with the reason. Once the blocks are final, the two
//! waiting deposits are approved, each with the exact amount out (5 bps + 0.5 fee, decimals
//! converted) stored beside its status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::{FixedBytes, U256};
use alloy::providers::Provider;
use atoll_adapters::evm::{EvmChain, RetryPolicy};
use atoll_core::settings::{FinalityPolicy, FinalityRule, FinalityTier, Settings};
use atoll_devnet::Devnet;
use atoll_devnet::contracts::BridgeVault;
use atoll_devnet::evm::{self, Role};
use atoll_indexer::Mode;

/// Deposits `usdc` whole USDC from the devnet user on Ethereum to `dst_chain_id`.
async fn deposit(net: &Devnet, usdc: u64, dst_chain_id: u64) -> String {
    let eth = net.state.evm_chain("ethereum").unwrap();
    let token = eth.token("USDC").unwrap();
    let user = eth.account(Role::User).unwrap();
    let p = evm::provider_for(&eth.rpc_url, Role::User).unwrap();
    let mut recipient = [0u8; 32];
    recipient[12..].copy_from_slice(user.as_slice());
    let vault = BridgeVault::new(eth.bridge_vault, &p);
    let call = vault.deposit(
        token.address,
        U256::from(usdc) * U256::from(10u64).pow(U256::from(token.decimals)),
        dst_chain_id,
        FixedBytes::from(recipient),
    );
    let receipt = evm::send(&p, call.into_transaction_request(), "ethereum", "deposit")
        .await
        .unwrap();
    format!("{:#x}", receipt.transaction_hash)
}

#[tokio::test]
async fn deposits_wait_for_their_tier_the_cap_or_finality() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let text = std::fs::read_to_string(&net.state.config_path).unwrap();
    let mut settings = Settings::parse(&text, Vec::<(String, String)>::new(), dir.path()).unwrap();
    // Final 10 blocks deep (the devnet's anvil finalizes 2 deep: too close to the tiers).
    let eth_settings = settings
        .chains
        .iter_mut()
        .find(|c| c.name == "ethereum")
        .unwrap();
    eth_settings.use_finalized_tag = false;
    eth_settings.confirmations = 10;
    settings.relayer.finality.insert(
        "ethereum".into(),
        FinalityPolicy {
            tiers: vec![
                FinalityTier {
                    up_to_usd: Some(1_000.0),
                    rule: FinalityRule::Confirmations(2),
                },
                FinalityTier {
                    up_to_usd: Some(100_000.0),
                    rule: FinalityRule::Confirmations(4),
                },
                FinalityTier {
                    up_to_usd: None,
                    rule: FinalityRule::Finalized,
                },
            ],
            max_unfinalized_usd: 1_500.0,
        },
    );
    let store = atoll_store::test_support::sqlite_in(dir.path())
        .await
        .unwrap();
    store.migrate_up().await.unwrap();
    store.register_settings(&settings).await.unwrap();

    let a = deposit(&net, 800, 56).await;
    let b = deposit(&net, 900, 56).await;
    let c = deposit(&net, 5_000, 56).await;
    let d = deposit(&net, 10, 137).await;
    let eth = net.state.evm_chain("ethereum").unwrap();
    let node = evm::provider_for(&eth.rpc_url, Role::Deployer).unwrap();
    let _: serde_json::Value = node.raw_request("anvil_mine".into(), (4,)).await.unwrap();

    let results = atoll_indexer::run(
        &settings,
        &store,
        &["ethereum".into()],
        Mode::Once,
        std::sync::Arc::new(|_| {}),
    )
    .await;
    assert_eq!(results[0].1.as_ref().unwrap().deposits, 4);
    let by_tx = |tx: &str| {
        let store = store.clone();
        let tx = tx.to_string();
        async move {
            store
                .transfers_from(1)
                .await
                .unwrap()
                .into_iter()
                .find(|t| t.source_tx == tx)
                .unwrap()
        }
    };

    let chain = EvmChain::new(settings.chain("ethereum").unwrap(), RetryPolicy::default()).unwrap();
    let first = atoll_relayer::gate::pass(&settings, &store, "ethereum", &chain)
        .await
        .unwrap();
    let id = |tx: &str| {
        let by_tx = &by_tx;
        let tx = tx.to_string();
        async move { by_tx(&tx).await.id.to_string() }
    };
    assert_eq!(first.approved, vec![id(&a).await]);
    assert_eq!(first.refused.len(), 1);
    assert_eq!(first.refused[0].0, id(&d).await);
    assert_eq!(
        first.refused[0].1,
        "destination chain 137 is not configured"
    );
    let waiting = |who: &str| {
        first
            .waiting
            .iter()
            .find(|w| w.0 == who)
            .map(|w| w.1.clone())
            .unwrap()
    };
    assert!(
        waiting(&id(&b).await).starts_with("waiting for finality: $800.00 already out"),
        "{first:?}"
    );
    assert!(
        waiting(&id(&c).await).contains("cap $1500.00 (≈ $5000.00)"),
        "{first:?}"
    );
    assert_eq!(
        by_tx(&a).await.status,
        atoll_core::TransferStatus::SourceFinal
    );
    assert_eq!(by_tx(&b).await.status, atoll_core::TransferStatus::Observed);
    let refused = by_tx(&d).await;
    assert_eq!(refused.status, atoll_core::TransferStatus::Failed);
    assert_eq!(
        refused
            .failure_reason
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("destination chain 137 is not configured")
    );

    // Final: the waiting two are approved; nothing else changes.
    let _: serde_json::Value = node.raw_request("anvil_mine".into(), (10,)).await.unwrap();
    let second = atoll_relayer::gate::pass(&settings, &store, "ethereum", &chain)
        .await
        .unwrap();
    let mut approved = second.approved.clone();
    approved.sort();
    let mut want = vec![id(&b).await, id(&c).await];
    want.sort();
    assert_eq!(approved, want);
    assert!(second.refused.is_empty() && second.waiting.is_empty());

    // The amount out: 5 bps (rounded down) + 0.5 USDC, in BSC's USDC decimals.
    let bsc_usdc = net.state.evm_chain("bsc").unwrap().token("USDC").unwrap();
    let eth_usdc = eth.token("USDC").unwrap();
    for (tx, whole) in [(&a, 800u64), (&b, 900), (&c, 5_000)] {
        let t = by_tx(tx).await;
        let (sd, dd) = (u32::from(eth_usdc.decimals), u32::from(bsc_usdc.decimals));
        let coarse = sd.min(dd);
        let amount = u128::from(whole) * 10u128.pow(coarse);
        let fee = amount * 5 / 10_000 + 5 * 10u128.pow(coarse - 1);
        let out = (amount - fee) * 10u128.pow(dd - coarse);
        assert_eq!(t.status, atoll_core::TransferStatus::SourceFinal);
        assert_eq!(
            t.amount_out.map(|a| a.to_string()),
            Some(out.to_string()),
            "{tx}"
        );
        assert_eq!(
            t.fee.map(|f| f.to_string()),
            Some((fee * 10u128.pow(sd - coarse)).to_string())
        );
        assert_eq!(
            t.dest_token,
            Some(format!("{:#x}", bsc_usdc.address).to_lowercase())
        );
    }
    let history = store
        .transfer_history(id(&c).await.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        history
            .last()
            .unwrap()
            .reason
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("source final (≈ $5000.00)")
    );
    let history = store
        .transfer_history(id(&a).await.parse().unwrap())
        .await
        .unwrap();
    assert!(
        history
            .last()
            .unwrap()
            .reason
            .as_ref()
            .unwrap()
            .to_string()
            .ends_with("confirmations, not final yet (≈ $800.00)"),
        "{history:?}"
    );
}
