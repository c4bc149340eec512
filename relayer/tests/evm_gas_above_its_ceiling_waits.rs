//! Gas is bounded absolutely. BSC's ceiling here is 50 gwei (`max_gas_price_gwei`). With the
//! node's base fee pushed to 500 gwei (`anvil_setNextBlockBaseFeePerGas`), three approved
//! releases wait: nothing is signed, whatever the estimate. (This drives first signing; fee
//! bumps under the ceiling are pinned by `GasFees::replaces`' unit test, gap fillers by the
//! same `capped` call.) Back at 1 gwei they go, and each
//! is paid once (read from the chain), the audit clean.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::primitives::U256;
use alloy::providers::Provider;
use atoll_relayer::evm_executor::EvmExecutor;

const GWEI: u64 = 1_000_000_000;

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
    bsc_settings.max_gas_price_wei = u128::from(50 * GWEI);
    let base_fee = |gwei: u64| async move {
        let _: serde_json::Value = releases
            .node
            .raw_request(
                "anvil_setNextBlockBaseFeePerGas".into(),
                (U256::from(gwei * GWEI),),
            )
            .await
            .unwrap();
        common::mine(net, 1).await;
    };

    base_fee(500).await;
    let mut executor = EvmExecutor::new(&settings, store, bsc, "bsc").unwrap();
    for _ in 0..3 {
        let r = executor.step().await.unwrap();
        assert!(r.sent.is_empty(), "nothing signed above the ceiling: {r:?}");
    }
    for id in store.transfers(None, None, 10).await.unwrap() {
        assert_eq!(store.attempt_count(&id.id).await.unwrap(), 0);
    }

    base_fee(1).await;
    let mut confirmed = Vec::new();
    for _ in 0..15 {
        confirmed.extend(executor.step().await.unwrap().confirmed);
        if confirmed.len() == 3 {
            break;
        }
        common::mine(net, 1).await;
    }
    assert_eq!(confirmed.len(), 3, "{confirmed:?}");
    releases.assert_each_paid_once(net).await;
    common::assert_audit_clean(&settings, store).await;
}
