//! Aave's RewardsController (real `@aave/periphery-v3` bytecode) pays the devnet's USDC
//! suppliers in the native token for 30 days. Indexed, the USDC reserve's `apyReward` is the
//! emission's yearly value at its oracle's price over the reserve's supplied USD, its reward
//! token listed and the pool's APY base + reward; the other reserves have none (null). Once the
//! chain's clock passes the emission's end (read from the chain), the next index drops it to 0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::providers::Provider;
use atoll_devnet::aave_rewards::EMISSION_DAYS;
use atoll_devnet::{Devnet, evm};

#[tokio::test]
async fn reward_apy_follows_the_emission_and_ends_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let settings = common::settings_for(&net);
    let eth = net.state.evm_chain("ethereum").unwrap();
    let market = eth.aave.clone().unwrap();
    let native = eth.token("WETH").unwrap();
    let store_dir = tempfile::tempdir().unwrap();
    let store = common::sqlite_store(store_dir.path(), &settings).await;
    common::index_ethereum_once(&settings, &store).await;

    let usdc_pool = |rows: &[atoll_store::lending::LendingReserveRow]| {
        let a_token = format!("{:#x}", market.rewards.a_token);
        rows.iter().find(|r| r.a_token == a_token).unwrap().clone()
    };
    let rows = store.lending_reserves(Some(eth.chain_id)).await.unwrap();
    let usdc = usdc_pool(&rows);
    let yearly_usd = f64::from(market.rewards.emission_per_second) * 31_536_000.0 / 1e18
        * native.price_usd as f64;
    let want = yearly_usd / usdc.supplied_usd.unwrap();
    let got = usdc.apy_reward.unwrap();
    assert!((got - want).abs() <= 1e-12 * want, "{got} vs {want}");
    assert!(
        got > 0.005 && got < 0.05,
        "about 2 % of the seeded depth: {got}"
    );
    assert_eq!(
        usdc.reward_tokens.as_deref(),
        Some(format!("{:#x}", native.address).as_str())
    );
    assert_eq!(
        usdc.reward_ends_ms,
        Some(market.rewards.distribution_end as i64 * 1000)
    );
    let pool = store.pool_record(&usdc.pool_id).await.unwrap().unwrap();
    assert_eq!(pool.apy_reward, Some(got));
    assert!((pool.apy.unwrap() - (pool.apy_base.unwrap() + got)).abs() < 1e-15);
    let aave = |r: &&atoll_store::lending::LendingReserveRow| r.pool_id.contains(":aave_v3:");
    for other in rows
        .iter()
        .filter(aave)
        .filter(|r| r.pool_id != usdc.pool_id)
    {
        // The controller is wired to every aToken, but lists no reward for these.
        assert_eq!(other.apy_reward, None, "{}", other.pool_id);
        assert_eq!(other.reward_tokens, None);
    }

    // Past the emission's end on the chain's clock: the reward is gone at the next index.
    let node = evm::provider_for(&eth.rpc_url, evm::Role::Deployer).unwrap();
    let end = market.rewards.distribution_end;
    assert!(end > 0 && EMISSION_DAYS == 30);
    let _: serde_json::Value = node
        .raw_request("evm_setNextBlockTimestamp".into(), (end + 1,))
        .await
        .unwrap();
    let _: serde_json::Value = node.raw_request("evm_mine".into(), ()).await.unwrap();
    let _ = node.get_block_number().await.unwrap();
    common::index_ethereum_once(&settings, &store).await;
    let after = usdc_pool(&store.lending_reserves(Some(eth.chain_id)).await.unwrap());
    assert_eq!(after.apy_reward, Some(0.0));
    assert_eq!(after.reward_tokens, None);
    let pool = store.pool_record(&after.pool_id).await.unwrap().unwrap();
    assert_eq!(pool.apy, pool.apy_base);
    net.down();
}
