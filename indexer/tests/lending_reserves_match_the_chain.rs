//! Aave v3's real bytecode on anvil, supply and borrow traffic, then one index of the chain:
//! every reserve's indexed rates are the values its own strategy gives at the chain's totals
//! (the history row of its last update, read at that block); its realised 7-day supply yield
//! is the ratio of the liquidity index now and 7 days before, as the Pool itself reports them
//! (`getReserveNormalizedIncome` at both blocks); TVL is supplied − borrowed, with both kept.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy::primitives::U256;
use alloy::providers::Provider;
use atoll_adapters::evm::aave_abi::IAavePool;
use atoll_core::lending::{RAY, RateCurve, ReserveTotals, realised_apy, reserve_rates};
use atoll_devnet::{Devnet, evm};
use atoll_indexer::Mode;

const WEEK_S: u64 = 7 * 86_400;

fn num(s: &str) -> f64 {
    f64::from(s.parse::<U256>().unwrap())
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-30)
}

#[tokio::test]
async fn indexed_reserves_match_their_curves_and_their_index() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let settings = common::settings_for(&net);
    let eth = net.state.evm_chain("ethereum").unwrap();
    let market = eth.aave.clone().unwrap();
    let node = evm::provider_for(&eth.rpc_url, evm::Role::Deployer).unwrap();
    atoll_devnet::aave::traffic(&net.state, 30, 11)
        .await
        .unwrap();

    // A block at T0, traffic after it, and the head exactly 7 days after T0.
    let start = node.get_block_number().await.unwrap();
    let t0 = node
        .get_block_by_number(start.into())
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp;
    atoll_devnet::aave::traffic(&net.state, 20, 12)
        .await
        .unwrap();
    for c in &net.state.evm {
        let p = evm::provider_for(&c.rpc_url, evm::Role::Deployer).unwrap();
        let t: u64 = if c.name == "ethereum" {
            t0 + WEEK_S
        } else {
            t0 + WEEK_S + 60
        };
        let _: serde_json::Value = p
            .raw_request("evm_setNextBlockTimestamp".into(), (t,))
            .await
            .unwrap();
        let _: serde_json::Value = p.raw_request("evm_mine".into(), ()).await.unwrap();
    }
    let head = node.get_block_number().await.unwrap();

    let store_dir = tempfile::tempdir().unwrap();
    let store = common::sqlite_store(store_dir.path(), &settings).await;
    let results = atoll_indexer::run(
        &settings,
        &store,
        &["ethereum".into(), "bsc".into()],
        Mode::Once,
        common::no_progress(),
    )
    .await;
    for (chain, r) in &results {
        let s = r.as_ref().unwrap_or_else(|e| panic!("{chain}: {e}"));
        assert!(s.lending_updates > 0, "{chain}: {s:?}");
    }

    // Aave's reserves (the Comet's is checked in compound_reserve_matches_the_chain).
    let reserves: Vec<_> = store
        .lending_reserves(Some(eth.chain_id))
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.pool_id.contains(":aave_v3:"))
        .collect();
    assert_eq!(reserves.len(), 3);
    let pool = IAavePool::new(market.pool, &node);
    for r in &reserves {
        assert_eq!(r.state_block as u64, head, "{}", r.pool_id);
        let curve = RateCurve {
            optimal_utilization: num(&r.optimal_usage_ray) / RAY,
            base_rate: num(&r.base_rate_ray) / RAY,
            slope1: num(&r.slope1_ray) / RAY,
            slope2: num(&r.slope2_ray) / RAY,
        };
        let history = store
            .lending_history(&r.pool_id, 0, i64::MAX, 10_000)
            .await
            .unwrap();
        let last = history.last().unwrap();
        assert_eq!(
            last.liquidity_rate_ray, r.liquidity_rate_ray,
            "{}",
            r.pool_id
        );
        let unit = 10f64.powi(r.decimals);
        let totals = ReserveTotals {
            available: num(&last.available) / unit,
            variable_debt: num(&last.variable_debt) / unit,
            stable_debt: num(&last.stable_debt) / unit,
            average_stable_rate: 0.0,
        };
        let (supply, variable) =
            reserve_rates(&curve, &totals, f64::from(r.reserve_factor_bps) / 10_000.0);
        assert!(
            close(supply, num(&r.liquidity_rate_ray) / RAY, 1e-9),
            "{}: supply {supply} vs {}",
            r.pool_id,
            r.liquidity_rate_ray
        );
        assert!(
            close(variable, num(&r.variable_borrow_rate_ray) / RAY, 1e-9),
            "{}: variable {variable}",
            r.pool_id
        );
        assert!(totals.utilization() > 0.05, "{}", r.pool_id);

        // Realised 7-day yield: the Pool's own normalized income at both ends.
        let asset: alloy::primitives::Address = r.asset.parse().unwrap();
        let income_at = |block: u64| {
            let pool = pool.clone();
            async move {
                f64::from(
                    pool.getReserveNormalizedIncome(asset)
                        .block(block.into())
                        .call()
                        .await
                        .unwrap(),
                )
            }
        };
        let (then, now) = (income_at(start).await, income_at(head).await);
        let want = realised_apy(then, now, WEEK_S as f64).unwrap();
        let got = r.realised_apy7d.expect("history reaches 7 days back");
        assert!(
            close(got, want, 1e-9),
            "{}: realised {got} vs {want}",
            r.pool_id
        );
        assert!(got > 0.0);

        // DefiLlama's TVL for lending, both totals kept.
        let row = store.pool_record(&r.pool_id).await.unwrap().unwrap();
        let (supplied, borrowed) = (r.supplied_usd.unwrap(), r.borrowed_usd.unwrap());
        assert!(supplied > borrowed && borrowed > 0.0);
        assert!(close(row.tvl_usd.unwrap(), supplied - borrowed, 1e-12));
        assert_eq!(row.protocol, "aave_v3");
        assert!(close(row.apy_base.unwrap(), r.supply_apy.unwrap(), 1e-15));
    }
    net.down();
}
