//! The devnet's Aave v3 market runs Aave's real bytecode: every reserve is live with its
//! seeded utilisation, the pool's variable rate is the strategy's kinked curve at the chain's
//! totals, and lending traffic (same seed, same actions) moves utilisation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::U256;
use alloy::providers::ProviderBuilder;
use atoll_adapters::evm::aave_abi::{IAavePool, IAaveRateStrategy, IAaveScaledToken};
use atoll_devnet::Devnet;
use atoll_devnet::aave::{self, AaveReserve};

const RAY: f64 = 1e27;

struct Observed {
    utilisation: f64,
    variable_rate: f64,
    curve_rate: f64,
}

async fn observe(rpc_url: &str, pool: alloy::primitives::Address, r: &AaveReserve) -> Observed {
    let p = ProviderBuilder::new().connect_http(rpc_url.parse().unwrap());
    let data = IAavePool::new(pool, &p)
        .getReserveData(r.asset)
        .call()
        .await
        .unwrap();
    let supplied = IAaveScaledToken::new(r.a_token, &p)
        .totalSupply()
        .call()
        .await
        .unwrap();
    let debt = IAaveScaledToken::new(r.variable_debt_token, &p)
        .totalSupply()
        .call()
        .await
        .unwrap();
    let s = IAaveRateStrategy::new(r.strategy, &p);
    let f = |x: U256| f64::from(x) / RAY;
    let optimal = f(s.OPTIMAL_USAGE_RATIO().call().await.unwrap());
    let base = f(s.getBaseVariableBorrowRate().call().await.unwrap());
    let slope1 = f(s.getVariableRateSlope1().call().await.unwrap());
    let slope2 = f(s.getVariableRateSlope2().call().await.unwrap());
    let u = f64::from(debt) / f64::from(supplied);
    let curve_rate = if u <= optimal {
        base + slope1 * u / optimal
    } else {
        base + slope1 + slope2 * (u - optimal) / (1.0 - optimal)
    };
    Observed {
        utilisation: u,
        variable_rate: f(U256::from(data.currentVariableBorrowRate)),
        curve_rate,
    }
}

#[tokio::test]
async fn seeded_market_follows_its_curve_and_traffic_moves_it() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    for chain in &devnet.state.evm {
        let market = chain
            .aave
            .as_ref()
            .expect("every EVM chain has an Aave market");
        assert_eq!(market.reserves.len(), 3, "{}", chain.name);
        for r in &market.reserves {
            let o = observe(&chain.rpc_url, market.pool, r).await;
            assert!(
                o.utilisation > 0.05 && o.utilisation < 0.9,
                "{} {}: {}",
                chain.name,
                r.symbol,
                o.utilisation
            );
            // The rate was set at the last action, totals read now: equal but for the
            // interest accrued since (seconds at a few % a year).
            assert!(
                (o.variable_rate - o.curve_rate).abs() < 1e-6,
                "{} {}: {} vs {}",
                chain.name,
                r.symbol,
                o.variable_rate,
                o.curve_rate
            );
        }
    }
    let before = observe(
        &devnet.state.evm[0].rpc_url,
        devnet.state.evm[0].aave.as_ref().unwrap().pool,
        &devnet.state.evm[0].aave.as_ref().unwrap().reserves[0],
    )
    .await;
    let records = aave::traffic(&devnet.state, 40, 7).await.unwrap();
    assert_eq!(records.len(), 40);
    let after = observe(
        &devnet.state.evm[0].rpc_url,
        devnet.state.evm[0].aave.as_ref().unwrap().pool,
        &devnet.state.evm[0].aave.as_ref().unwrap().reserves[0],
    )
    .await;
    assert_ne!(before.utilisation, after.utilisation);
    assert!((after.variable_rate - after.curve_rate).abs() < 1e-6);
    devnet.down();
}
