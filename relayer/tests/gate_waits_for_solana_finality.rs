//! The finality gate on solana-test-validator: vault deposits the indexer recorded at
//! `confirmed` wait for the `finalized` commitment (the default policy for a chain without
//! tiers), then are approved with the exact amount out on their EVM destination; a transfer
//! without a memo was already failed by the indexer and stays so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atoll_adapters::evm::RetryPolicy;
use atoll_adapters::solana::SolanaChain;
use atoll_core::settings::Settings;
use atoll_devnet::Devnet;
use atoll_devnet::traffic::{self, TrafficOptions};
use atoll_indexer::Mode;

#[tokio::test]
async fn solana_deposits_are_approved_once_finalized() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), true).await.unwrap();
    let report = traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 0,
            deposits: 6,
            seed: 11,
        },
    )
    .await
    .unwrap();
    let from_solana: Vec<_> = report
        .deposits
        .iter()
        .filter(|d| d.from == "solana")
        .collect();
    assert_eq!(from_solana.len(), 2);
    let stray = traffic::send_vault_transfer(&net.state, "USDC", 3_000_000, None)
        .await
        .unwrap()
        .to_string();

    let text = std::fs::read_to_string(&net.state.config_path).unwrap();
    let settings = Settings::parse(&text, Vec::<(String, String)>::new(), dir.path()).unwrap();
    let store = atoll_store::test_support::sqlite_in(dir.path())
        .await
        .unwrap();
    store.migrate_up().await.unwrap();
    store.register_settings(&settings).await.unwrap();
    let results = atoll_indexer::run(
        &settings,
        &store,
        &["solana".into()],
        Mode::Once,
        std::sync::Arc::new(|_| {}),
    )
    .await;
    assert_eq!(results[0].1.as_ref().unwrap().deposits, 3);

    let chain =
        SolanaChain::new(settings.chain("solana").unwrap(), RetryPolicy::default()).unwrap();
    // Pass until both are approved: each pass either approves or says the deposit waits for
    // finality; nothing else may happen on the way.
    let mut approved = Vec::new();
    for _ in 0..200 {
        let r = atoll_relayer::gate::pass(&settings, &store, "solana", &chain)
            .await
            .unwrap();
        assert!(r.refused.is_empty(), "{r:?}");
        for (_, why) in &r.waiting {
            assert!(why.starts_with("waiting for finality"), "{why}");
        }
        approved.extend(r.approved);
        if approved.len() == 2 {
            break;
        }
        // Finality comes with the cluster's slots (~13 s here): ask again shortly.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(approved.len(), 2, "approved within the polling budget");

    let transfers = store
        .transfers_from(atoll_core::ChainId::SOLANA.0)
        .await
        .unwrap();
    for d in &from_solana {
        let t = transfers.iter().find(|t| t.source_tx == d.tx).unwrap();
        assert_eq!(t.status, atoll_core::TransferStatus::SourceFinal);
        assert!(approved.contains(&t.id.to_string()));
        // 5 bps (rounded down) + 0.5 in the coarser precision, then the destination's decimals.
        let dest = net.state.evm_chain(&d.to).unwrap();
        let dd = u32::from(dest.token(&d.token).unwrap().decimals);
        let sd = u32::from(d.decimals);
        let coarse = sd.min(dd);
        let amount = u128::from(d.amount) / 10u128.pow(sd - coarse);
        let fee = amount * 5 / 10_000 + 5 * 10u128.pow(coarse - 1);
        let out = (amount - fee) * 10u128.pow(dd - coarse);
        assert_eq!(t.amount_out.map(|a| a.to_string()), Some(out.to_string()));
        let history = store.transfer_history(t.id).await.unwrap();
        assert!(
            history
                .last()
                .unwrap()
                .reason
                .as_ref()
                .unwrap()
                .to_string()
                .starts_with("source final"),
            "{history:?}"
        );
    }
    let stray = transfers.iter().find(|t| t.source_tx == stray).unwrap();
    assert_eq!(stray.status, atoll_core::TransferStatus::Failed);
    assert_eq!(
        stray
            .failure_reason
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("rejected deposit: missing memo")
    );
}
