//! The unfinalized-exposure cap holds until the *source* is final, not until the release is
//! confirmed. Ethereum here is final 1,000 blocks deep (never, within the test); deposits up
//! to $1,000 need one confirmation, and at most $150 may be out against deposits not final.
//! Three $100 USDC deposits go to BSC, whose releases confirm within a few blocks: one is
//! released and confirmed, and the other two keep waiting, rounds after that confirmation,
//! because the first still counts. Once Ethereum is final, both go.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::Cell;

use alloy::primitives::U256;
use atoll_core::settings::{FinalityPolicy, FinalityRule, FinalityTier};
use atoll_devnet::Devnet;

#[tokio::test]
async fn a_confirmed_release_counts_until_its_source_is_final() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let mut settings = common::settings(&net, dir.path());
    let eth = settings
        .chains
        .iter_mut()
        .find(|c| c.name == "ethereum")
        .unwrap();
    eth.use_finalized_tag = false;
    eth.confirmations = 1_000;
    settings.relayer.finality.insert(
        "ethereum".into(),
        FinalityPolicy {
            tiers: vec![
                FinalityTier {
                    up_to_usd: Some(1_000.0),
                    rule: FinalityRule::Confirmations(1),
                },
                FinalityTier {
                    up_to_usd: None,
                    rule: FinalityRule::Finalized,
                },
            ],
            max_unfinalized_usd: 150.0,
        },
    );
    let store = common::store(&settings, dir.path()).await;
    let bsc_id = settings.chain("bsc").unwrap().chain_id.0;
    let user = common::evm_user(&net, "bsc");
    for _ in 0..3 {
        common::deposit(
            &net,
            "ethereum",
            "USDC",
            U256::from(100_000_000u64),
            bsc_id,
            user,
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
    let statuses = || async {
        let mut s: Vec<String> = store
            .transfers(None, None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.status.to_string())
            .collect();
        s.sort();
        s
    };
    relay
        .until(&net, 100, || async {
            statuses()
                .await
                .iter()
                .filter(|s| *s == "confirmed")
                .count()
                == 1
        })
        .await;
    // Twenty more rounds (blocks on both chains, every stage stepped): nothing more goes.
    let rounds = Cell::new(0);
    relay
        .until(&net, 25, || {
            rounds.set(rounds.get() + 1);
            let n = rounds.get();
            async move { n > 20 }
        })
        .await;
    assert_eq!(statuses().await, ["confirmed", "observed", "observed"]);
    for t in store.transfers(None, None, 10).await.unwrap() {
        if t.status == atoll_core::TransferStatus::Observed {
            let history = store.transfer_history(t.id).await.unwrap();
            assert_eq!(history.len(), 1, "still waiting, never approved");
        }
    }
    let gate = atoll_relayer::gate::pass(&settings, &store, "ethereum", &evm[0].1)
        .await
        .unwrap();
    assert_eq!(gate.waiting.len(), 2);
    for (_, why) in &gate.waiting {
        assert!(
            why.starts_with("waiting for finality: $100.00 already out"),
            "{why}"
        );
    }

    // Final: the cap no longer applies, and both are released.
    common::mine(&net, 1_000).await;
    relay
        .until(&net, 100, || async {
            statuses().await.iter().all(|s| s == "confirmed")
        })
        .await;
    common::assert_audit_clean(&settings, &store).await;
}
