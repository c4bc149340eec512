//! Releases through a fault-injecting proxy in front of each anvil: every 5th request answered
//! 429 or 502, and every 7th forwarded to the node and then cut off before the answer (a send
//! that may or may not have happened, as far as the relayer can tell). Transfers are slowed,
//! not lost or doubled: read from the chains, each destination vault released exactly its
//! deposits, once each, and the proxies show the faults really happened.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use alloy::primitives::B256;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use atoll_adapters::evm::abi::BridgeVault;
use atoll_adapters::evm::events::{DepositPositions, deposit_id};
use atoll_devnet::Devnet;
use atoll_devnet::evm::{self, Role};
use atoll_devnet::fault_proxy::{FaultPlan, FaultProxy};
use atoll_devnet::traffic::{self, TrafficOptions};

async fn vault_ids(rpc: &str, vault: alloy::primitives::Address, topic: B256) -> Vec<B256> {
    let p = evm::provider_for(rpc, Role::Deployer).unwrap();
    p.get_logs(
        &Filter::new()
            .address(vault)
            .event_signature(topic)
            .from_block(0),
    )
    .await
    .unwrap()
    .iter()
    .map(|l| l.topics()[1])
    .collect()
}

#[tokio::test]
async fn faults_slow_releases_but_lose_and_duplicate_none() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let mut settings = common::settings(&net, dir.path());
    let mut proxies = Vec::new();
    for c in &net.state.evm {
        let proxy = FaultProxy::start(
            &c.rpc_url,
            FaultPlan {
                http_error_every: Some(5),
                drop_every: Some(7),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let s = settings
            .chains
            .iter_mut()
            .find(|s| s.name == c.name)
            .unwrap();
        s.rpc = vec![proxy.url.parse().unwrap()];
        proxies.push(proxy);
    }
    settings.relayer.batch_max_releases = 4;
    let store = common::store(&settings, dir.path()).await;
    let report = traffic::run(
        &net.state,
        TrafficOptions {
            swaps: 0,
            deposits: 24,
            seed: 5,
        },
    )
    .await
    .unwrap();
    assert_eq!(report.deposits.len(), 24);

    let (evm, _) = common::chains(&settings);
    let relay = common::Relay {
        settings: &settings,
        store: &store,
        evm: evm.iter().map(|(n, c)| (n.clone(), c)).collect(),
        solana: None,
        tolerate_errors: true,
    };
    let settled = || async {
        let all = store.transfers(None, None, 1_000).await.unwrap();
        all.len() == 24
            && all
                .iter()
                .all(|t| t.status == atoll_core::TransferStatus::Confirmed)
    };
    relay.until(&net, 600, settled).await;

    for p in &proxies {
        assert!(
            p.stats.http_errors.load(Ordering::SeqCst) > 10,
            "429/502 injected"
        );
        assert!(
            p.stats.dropped.load(Ordering::SeqCst) > 10,
            "connections dropped"
        );
    }
    // From the chains: deposits to each chain == its releases, once each.
    let mut deposits: Vec<(u64, B256)> = Vec::new();
    for c in &net.state.evm {
        let p = evm::provider_for(&c.rpc_url, Role::Deployer).unwrap();
        let mut positions = DepositPositions::default();
        for l in p
            .get_logs(
                &Filter::new()
                    .address(c.bridge_vault)
                    .event_signature(BridgeVault::TransferInitiated::SIGNATURE_HASH)
                    .from_block(0),
            )
            .await
            .unwrap()
        {
            let e = BridgeVault::TransferInitiated::decode_log(&l.inner)
                .unwrap()
                .data;
            let tx = l.transaction_hash.unwrap();
            let id = deposit_id(c.chain_id, tx, positions.next(tx));
            deposits.push((e.dstChainId, B256::from(id.0)));
        }
    }
    assert_eq!(deposits.len(), 24);
    for c in &net.state.evm {
        let released = vault_ids(
            &c.rpc_url,
            c.bridge_vault,
            BridgeVault::TransferReleased::SIGNATURE_HASH,
        )
        .await;
        let unique: BTreeSet<B256> = released.iter().copied().collect();
        assert_eq!(
            unique.len(),
            released.len(),
            "{}: an id released twice",
            c.name
        );
        let want: BTreeSet<B256> = deposits
            .iter()
            .filter(|(dst, _)| *dst == c.chain_id)
            .map(|(_, id)| *id)
            .collect();
        assert_eq!(unique, want, "{}: released ids equal its deposits", c.name);
    }
    // Read through direct endpoints: the proxies' faults are the relayer's to survive.
    common::assert_audit_clean(&common::settings(&net, dir.path()), &store).await;
}
