//! Compound v3 on the devnet (the `CometDouble` test double: Comet's bytecode is in no
//! registry here), supply and borrow traffic, then one index: the Comet's reserve carries the
//! rates Comet's own curves give at the utilisation its totals and indexes make (computed here
//! from `totalsBasic` and the curve parameters, integer for integer), its total supply, a
//! realised 7-day yield equal to the ratio of its supply index now and 7 days before (accrued
//! as Comet accrues it), DefiLlama's lending TVL, and an `apyReward` from the supply tracking
//! speed and the rewards contract's multiplier at the reward token's price, which the next index drops to 0 once the speed is 0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use atoll_adapters::evm::comet_abi::IComet;
use atoll_core::lending::{
    COMET_FACTOR_SCALE, COMET_INDEX_SCALE, CometCurve, comet_index_after, realised_apy,
};
use atoll_devnet::{Devnet, comet, evm};

const WEEK_S: u64 = 7 * 86_400;

/// What the chain says at `block`, computed the way Comet computes it.
struct OnChain {
    utilization: u128,
    supply_rate: u128,
    /// The supply index accrued to the block's time.
    supply_index_now: u128,
    total_supply: U256,
}

async fn on_chain(node: &DynProvider, comet: Address, block: u64) -> OnChain {
    let c = IComet::new(comet, node);
    let at = block.into();
    let t = c.totalsBasic().block(at).call().await.unwrap();
    let n = |v: U256| v.to::<u128>();
    let curve = CometCurve {
        kink: n(c.supplyKink().block(at).call().await.unwrap()),
        base: n(c
            .supplyPerSecondInterestRateBase()
            .block(at)
            .call()
            .await
            .unwrap()),
        slope_low: n(c
            .supplyPerSecondInterestRateSlopeLow()
            .block(at)
            .call()
            .await
            .unwrap()),
        slope_high: n(c
            .supplyPerSecondInterestRateSlopeHigh()
            .block(at)
            .call()
            .await
            .unwrap()),
    };
    let supplied =
        t.totalSupplyBase.to::<u128>() * u128::from(t.baseSupplyIndex) / COMET_INDEX_SCALE;
    let borrowed =
        t.totalBorrowBase.to::<u128>() * u128::from(t.baseBorrowIndex) / COMET_INDEX_SCALE;
    let utilization = borrowed * COMET_FACTOR_SCALE / supplied;
    let supply_rate = curve.rate_at(utilization);
    let time = node
        .get_block_by_number(block.into())
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp;
    let elapsed = u128::from(time - t.lastAccrualTime.to::<u64>());
    OnChain {
        utilization,
        supply_rate,
        supply_index_now: comet_index_after(u128::from(t.baseSupplyIndex), supply_rate, elapsed),
        total_supply: c.totalSupply().block(at).call().await.unwrap(),
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-30)
}

#[tokio::test]
async fn the_comet_reserve_matches_its_curves_its_index_and_its_speed() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let settings = common::settings_for(&net);
    let eth = net.state.evm_chain("ethereum").unwrap();
    let market = eth.comet.clone().unwrap();
    let node = evm::provider_for(&eth.rpc_url, evm::Role::Deployer).unwrap();
    comet::traffic(&net.state, 20, 21).await.unwrap();
    let start = node.get_block_number().await.unwrap();
    let t0 = node
        .get_block_by_number(start.into())
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp;
    comet::traffic(&net.state, 20, 22).await.unwrap();
    let _: serde_json::Value = node
        .raw_request("evm_setNextBlockTimestamp".into(), (t0 + WEEK_S,))
        .await
        .unwrap();
    let _: serde_json::Value = node.raw_request("evm_mine".into(), ()).await.unwrap();
    let head = node.get_block_number().await.unwrap();

    let store_dir = tempfile::tempdir().unwrap();
    let store = common::sqlite_store(store_dir.path(), &settings).await;
    assert!(common::index_ethereum_once(&settings, &store).await > 0);
    let find = |rows: Vec<atoll_store::lending::LendingReserveRow>| {
        rows.into_iter()
            .find(|r| r.pool_id.contains(":compound_v3:"))
            .expect("the Comet is a reserve")
    };
    let r = find(store.lending_reserves(Some(eth.chain_id)).await.unwrap());
    assert_eq!(r.a_token, format!("{:#x}", market.comet));
    assert_eq!(r.asset, format!("{:#x}", market.base_token));
    assert_eq!(r.state_block as u64, head);

    // Rates: Comet's supply curve at its utilisation, integer for integer.
    let now = on_chain(&node, market.comet, head).await;
    let year_ray =
        |per_s: u128| (U256::from(per_s) * U256::from(31_536_000_000_000_000u64)).to_string();
    assert_eq!(r.liquidity_rate_ray, year_ray(now.supply_rate));
    assert!(close(
        r.utilization.unwrap(),
        now.utilization as f64 / 1e18,
        1e-15
    ));
    assert!(r.utilization.unwrap() > 0.3, "{:?}", r.utilization);
    assert_eq!(r.supplied, now.total_supply.to_string());
    assert!(r.supply_kink_ray.is_some() && r.supply_slope2_ray.is_some());

    // Realised 7 days: the supply index now over the one 7 days before, both as Comet accrues.
    let then = on_chain(&node, market.comet, start).await;
    let want = realised_apy(
        then.supply_index_now as f64,
        now.supply_index_now as f64,
        WEEK_S as f64,
    )
    .unwrap();
    let got = r.realised_apy7d.expect("history reaches 7 days back");
    assert!(close(got, want, 1e-9), "realised {got} vs {want}");
    assert!(got > 0.0);

    // DefiLlama's lending TVL, and the reward from the tracking speed at the token's price.
    let pool = store.pool_record(&r.pool_id).await.unwrap().unwrap();
    assert_eq!(pool.protocol, "compound_v3");
    let (supplied, borrowed) = (r.supplied_usd.unwrap(), r.borrowed_usd.unwrap());
    assert!(close(pool.tvl_usd.unwrap(), supplied - borrowed, 1e-12));
    let native = eth.token("WETH").unwrap();
    let yearly_usd = market.tracking_supply_speed as f64 / 1e15
        * 31_536_000.0
        * (market.reward_multiplier as f64 / 1e18)
        * native.price_usd as f64;
    let reward = r.apy_reward.unwrap();
    assert!(close(reward, yearly_usd / supplied, 1e-12), "{reward}");
    assert!(
        reward > 0.005 && reward < 0.05,
        "about 2 % of the depth: {reward}"
    );
    assert_eq!(
        r.reward_tokens.as_deref(),
        Some(format!("{:#x}", market.reward_token).as_str())
    );
    assert_eq!(r.reward_ends_ms, None, "Comet sets no end time");
    assert!(close(
        pool.apy.unwrap(),
        pool.apy_base.unwrap() + reward,
        1e-12
    ));

    // The speed goes to 0: the next index shows no reward.
    comet::end_emission(eth).await.unwrap();
    common::index_ethereum_once(&settings, &store).await;
    let after = find(store.lending_reserves(Some(eth.chain_id)).await.unwrap());
    assert_eq!(after.apy_reward, Some(0.0));
    assert_eq!(after.reward_tokens, None);
    let pool = store.pool_record(&after.pool_id).await.unwrap().unwrap();
    assert_eq!(pool.apy, pool.apy_base);
    net.down();
}

/// A configured Comet that is not one, or a rewards contract that names no token for it, stops
/// the chain's indexing with an error naming the address.
#[tokio::test]
async fn a_comet_or_rewards_that_is_not_one_is_named() {
    use atoll_core::settings::LendingMarketEntry;
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let eth = net.state.evm_chain("ethereum").unwrap();
    let market = eth.comet.clone().unwrap();
    let usdc = eth.token("USDC").unwrap().address;
    let to_core = |a: Address| atoll_core::Address::Evm(a.into_array());
    for (comet, rewards, says) in [
        (usdc, None, "is not a live Comet"),
        (market.comet, Some(usdc), "names no reward token"),
    ] {
        let mut settings = common::settings_for(&net);
        settings.chains.retain(|c| c.name == "ethereum");
        for m in &mut settings.lending_markets {
            if matches!(m.entry, LendingMarketEntry::Comet { .. }) && m.chain == "ethereum" {
                m.entry = LendingMarketEntry::Comet {
                    comet: to_core(comet),
                    rewards: rewards.map(to_core),
                };
            }
        }
        let store_dir = tempfile::tempdir().unwrap();
        let store = common::sqlite_store(store_dir.path(), &settings).await;
        let results = atoll_indexer::run(
            &settings,
            &store,
            &["ethereum".into()],
            atoll_indexer::Mode::Once,
            common::no_progress(),
        )
        .await;
        let e = results[0]
            .1
            .as_ref()
            .expect_err("a bad Comet fails the chain")
            .to_string();
        let named = rewards.unwrap_or(comet);
        assert!(
            e.contains(says) && e.to_lowercase().contains(&format!("{named:#x}")),
            "{e}"
        );
    }
    net.down();
}
