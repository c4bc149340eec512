//! Gas is bounded absolutely. BSC's ceiling here is 50 gwei (`max_gas_price_gwei`). With the
//! node's base fee pushed to 500 gwei (`anvil_setNextBlockBaseFeePerGas`), three approved
//! releases wait: nothing is signed, whatever the estimate. (This drives first signing; fee
//! bumps under the ceiling are pinned by `GasFees::replaces`' unit test, gap no-ops by the
//! same `capped` call.) Back at 1 gwei they go, and each
//! is paid once (read from the chain), the audit clean.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use atoll_relayer::evm_executor::EvmExecutor;

#[tokio::test]
async fn releases_wait_while_gas_is_above_the_chains_ceiling() {
    let fixture = common::BscReleaseFixture::up(common::ask_every_step_never_replace).await;
    let (net, settings, store, bsc, releases) = fixture.parts();
    let mut settings = settings.clone();
    let bsc_settings = settings
        .chains
        .iter_mut()
        .find(|c| c.name == "bsc")
        .unwrap();
    bsc_settings.max_gas_price_wei = 50_000_000_000; // 50 gwei
    common::set_base_fee(net, "bsc", 500).await;
    let mut executor = EvmExecutor::new(&settings, store, bsc, "bsc").unwrap();
    for _ in 0..3 {
        let r = executor.step().await.unwrap();
        assert!(r.sent.is_empty(), "nothing signed above the ceiling: {r:?}");
    }
    for id in store.transfers(None, None, 10).await.unwrap() {
        assert_eq!(store.attempt_count(id.id).await.unwrap(), 0);
    }

    common::set_base_fee(net, "bsc", 1).await;
    common::step_until_confirmed(&mut executor, net, &mut Vec::new(), 3).await;
    releases.assert_each_paid_once(net).await;
    common::assert_audit_clean(&settings, store).await;
}
