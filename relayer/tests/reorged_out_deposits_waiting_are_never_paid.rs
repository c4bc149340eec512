//! A deposit whose source block left the chain is never paid, whatever it waits in. Ethereum
//! → BSC USDC with BSC's vault emptied: deposit A (10 USDC) is approved and moves to
//! `awaiting_liquidity`; deposit B (20 USDC) is approved and waits in `source_final`. Then both
//! blocks leave the chain (`evm_revert`, and a longer chain mined without them). The indexer
//! fails both with the reorg as the reason; after the vault is topped up the executor signs
//! nothing for either and the recipient's balance does not move; a deposit made after the
//! reorg is paid once, and the audit is clean.
//!
//! Test double: `evm_snapshot` and `evm_revert` stand in for the reorg (one anvil has no rival
//! miner).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::primitives::U256;
use alloy::providers::Provider;
use atoll_core::{TransferId, TransferStatus};
use atoll_devnet::evm::{self, Role};
use atoll_indexer::Mode;
use atoll_relayer::evm_executor::EvmExecutor;

#[tokio::test]
async fn deposits_reorged_out_while_waiting_are_failed_not_paid() {
    let dir = tempfile::tempdir().unwrap();
    let net = atoll_devnet::Devnet::up_on_free_ports(dir.path(), false)
        .await
        .unwrap();
    let settings = common::settings(&net, dir.path());
    let store = common::store(&settings, dir.path()).await;
    let (evm_chains, _) = common::chains(&settings);
    let chain = |name: &str| &evm_chains.iter().find(|(n, _)| n == name).unwrap().1;
    let (eth, bsc) = (chain("ethereum"), chain("bsc"));
    let bsc_id = settings.chain("bsc").unwrap().chain_id.0;

    // BSC's vault holds no USDC.
    let bsc_net = net.state.evm_chain("bsc").unwrap();
    let usdc = bsc_net.token("USDC").unwrap().address;
    let held = common::evm_balance(&net, "bsc", usdc, bsc_net.bridge_vault).await;
    common::withdraw_from_bsc_vault(&net, usdc, held).await;

    let eth_node = evm::provider_for(
        &net.state.evm_chain("ethereum").unwrap().rpc_url,
        Role::Deployer,
    )
    .unwrap();
    let snapshot: U256 = eth_node
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    let user = bsc_net.account(Role::User).unwrap();
    let before = common::evm_balance(&net, "bsc", usdc, user).await;

    // A: approved, then held for liquidity. B: approved, waiting for the executor.
    common::approved_usdc_to_bsc(&net, &settings, &store, eth, &[10]).await;
    let mut executor = EvmExecutor::new(&settings, &store, bsc, "bsc").unwrap();
    let r = executor.step().await.unwrap();
    assert_eq!(r.awaiting_liquidity.len(), 1, "{r:?}");
    let a: TransferId = r.awaiting_liquidity[0].parse().unwrap();
    common::approved_usdc_to_bsc(&net, &settings, &store, eth, &[20]).await;
    let b = store
        .transfers_to(bsc_id, &[TransferStatus::SourceFinal])
        .await
        .unwrap();
    assert_eq!(b.len(), 1);
    let b = b[0].id;

    // Both blocks leave the chain; a longer one without them takes its place.
    let reverted: bool = eth_node
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .unwrap();
    assert!(reverted);
    common::mine(&net, 300).await;
    for (chain, r) in atoll_indexer::run(
        &settings,
        &store,
        &["ethereum".into()],
        Mode::Once,
        std::sync::Arc::new(|_| {}),
    )
    .await
    {
        r.unwrap_or_else(|e| panic!("{chain}: {e}"));
    }
    for (id, waited_in) in [(a, "awaiting_liquidity"), (b, "source_final")] {
        let t = store.transfer(id).await.unwrap().unwrap();
        assert_eq!(
            t.status,
            atoll_core::TransferStatus::Failed,
            "{id} was {waited_in}"
        );
        let why = t.failure_reason.map(|r| r.to_string()).unwrap_or_default();
        assert!(
            why.starts_with("reorged out") && why.contains(waited_in),
            "{id}: {why}"
        );
    }

    // Topped up: nothing is signed for either.
    common::top_up_bsc_vault(&net, usdc, held).await;
    for _ in 0..5 {
        let r = executor.step().await.unwrap();
        assert!(r.sent.is_empty(), "nothing signed: {r:?}");
        common::mine(&net, 1).await;
    }
    for id in [a, b] {
        assert_eq!(store.attempt_count(id).await.unwrap(), 0, "{id}");
        assert_eq!(
            store.transfer(id).await.unwrap().unwrap().status,
            atoll_core::TransferStatus::Failed
        );
    }
    assert_eq!(common::evm_balance(&net, "bsc", usdc, user).await, before);

    // Indexing and releasing go on: a deposit made after the reorg is paid, once.
    common::approved_usdc_to_bsc(&net, &settings, &store, eth, &[5]).await;
    common::step_until_confirmed(&mut executor, &net, &mut Vec::new(), 1).await;
    let after = common::evm_balance(&net, "bsc", usdc, user).await;
    assert_eq!((after - before).to::<u64>(), 5_000_000 - 2_500 - 500_000);
    common::assert_audit_clean(&settings, &store).await;
}
