//! The relayer does not lose money by accident. Ethereum → BSC USDC under
//! `release_policy = "when_profitable"` (10 % margin): with BSC's gas pushed to 100 gwei
//! (`anvil_setNextBlockBaseFeePerGas`), a release's share of its batch costs dollars at the
//! devnet's WBNB price while each fee is about $0.51, so the three approved releases wait in
//! `awaiting_gas` with the figures as their reason, shown by `status` too; nothing is signed.
//! Gas back at 1 gwei, they go, each paid once. A fourth deposit, short of liquidity when gas
//! rises, moves on to wait for gas and goes once the vault is topped up and gas falls. A fifth
//! under `always` goes at once at 100 gwei. The audit ends clean, read from the chains.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use atoll_adapters::evm::{EvmChain, RetryPolicy};
use atoll_core::settings::ReleasePolicy;
use atoll_indexer::Mode;
use atoll_relayer::evm_executor::EvmExecutor;

fn usdc_to_bsc(policy: ReleasePolicy) -> impl FnOnce(&mut atoll_core::settings::RelayerSettings) {
    move |r| {
        common::ask_every_step_never_replace(r);
        for route in r.routes.iter_mut() {
            if (route.from.as_str(), route.to.as_str(), route.token.as_str())
                == ("ethereum", "bsc", "USDC")
            {
                route.policy = policy;
            }
        }
    }
}

#[tokio::test]
async fn releases_wait_while_gas_costs_more_than_their_fee() {
    let when_profitable = ReleasePolicy::WhenProfitable {
        margin_pct: 10.0,
        max_wait: None,
    };
    let fixture = common::BscReleaseFixture::up(usdc_to_bsc(when_profitable)).await;
    let (net, settings, store, bsc, releases) = fixture.parts();
    // BSC's pools price WBNB (its gas) and USDC (the fee).
    for (chain, r) in atoll_indexer::run(
        settings,
        store,
        &["bsc".into()],
        Mode::Once,
        std::sync::Arc::new(|_| {}),
    )
    .await
    {
        r.unwrap_or_else(|e| panic!("{chain}: {e}"));
    }
    common::set_base_fee(net, "bsc", 100).await;
    let mut executor = EvmExecutor::new(settings, store, bsc, "bsc").unwrap();
    let first = executor.step().await.unwrap();
    assert_eq!(first.awaiting_gas.len(), 3, "{first:?}");
    for _ in 0..2 {
        let r = executor.step().await.unwrap();
        assert!(
            r.sent.is_empty(),
            "nothing signed while unprofitable: {r:?}"
        );
    }
    for t in store.transfers(None, None, 10).await.unwrap() {
        assert_eq!(
            t.status,
            atoll_core::TransferStatus::AwaitingGas,
            "{}",
            t.id
        );
        let why = t.failure_reason.map(|r| r.to_string()).unwrap_or_default();
        assert!(
            why.starts_with("fee $0.5")
                && why.contains("< gas $")
                && why.ends_with("gwei (+10 % margin)"),
            "the reason gives the figures: {why}"
        );
        assert_eq!(store.attempt_count(t.id).await.unwrap(), 0);
    }
    let status = atoll_relayer::status::chain_statuses_from_store(settings, store)
        .await
        .unwrap();
    let on_bsc = status.iter().find(|c| c.name == "bsc").unwrap();
    assert_eq!(on_bsc.awaiting_gas, 3);
    assert!(
        on_bsc
            .awaiting_gas_reason
            .as_deref()
            .is_some_and(|r| r.contains("< gas $")),
        "{on_bsc:?}"
    );

    common::set_base_fee(net, "bsc", 1).await;
    let mut confirmed = Vec::new();
    common::step_until_confirmed(&mut executor, net, &mut confirmed, 3).await;
    releases.assert_each_paid_once(net).await;
    let history = store
        .transfer_history(confirmed[0].parse().unwrap())
        .await
        .unwrap();
    assert!(
        history.iter().any(|h| h
            .reason
            .as_ref()
            .map(ToString::to_string)
            .as_deref()
            .is_some_and(|r| r.starts_with("the fee covers its gas again"))),
        "{history:?}"
    );

    // Short of liquidity first, then gas rises: it moves on to wait for gas (the step does not
    // fail), and once the vault is topped up and gas falls, it goes.
    let eth = EvmChain::new(settings.chain("ethereum").unwrap(), RetryPolicy::default()).unwrap();
    let vault = net.state.evm_chain("bsc").unwrap().bridge_vault;
    let held = common::evm_balance(net, "bsc", releases.usdc, vault).await;
    common::withdraw_from_bsc_vault(net, releases.usdc, held).await;
    common::approved_usdc_to_bsc(net, settings, store, &eth, &[25]).await;
    common::set_base_fee(net, "bsc", 1).await;
    let short = executor.step().await.unwrap();
    assert_eq!(short.awaiting_liquidity.len(), 1, "{short:?}");
    common::set_base_fee(net, "bsc", 100).await;
    let dear = executor.step().await.unwrap();
    assert_eq!(dear.awaiting_gas, short.awaiting_liquidity, "{dear:?}");
    common::top_up_bsc_vault(net, releases.usdc, held).await;
    assert!(executor.step().await.unwrap().sent.is_empty());
    common::set_base_fee(net, "bsc", 1).await;
    common::step_until_confirmed(&mut executor, net, &mut Vec::new(), 1).await;

    // Under `always` the same route goes at once at 100 gwei.
    let mut always = settings.clone();
    usdc_to_bsc(ReleasePolicy::Always)(&mut always.relayer);
    common::approved_usdc_to_bsc(net, &always, store, &eth, &[40]).await;
    common::set_base_fee(net, "bsc", 100).await;
    let before = common::evm_balance(net, "bsc", releases.usdc, releases.user).await;
    let mut executor = EvmExecutor::new(&always, store, bsc, "bsc").unwrap();
    let first = executor.step().await.unwrap();
    assert!(first.awaiting_gas.is_empty(), "{first:?}");
    assert_eq!(first.sent.len(), 1, "sent at once: {first:?}");
    common::step_until_confirmed(&mut executor, net, &mut Vec::new(), 1).await;
    let after = common::evm_balance(net, "bsc", releases.usdc, releases.user).await;
    let raw = 40_000_000u128;
    assert_eq!(
        (after - before).to::<u128>(),
        raw - (raw * 5 / 10_000 + 500_000)
    );
    common::assert_audit_clean(&always, store).await;
}
