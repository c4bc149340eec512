//! The devnet's Compound v3 market runs on `CometDouble`, a test double (Comet's bytecode is in
//! no registry reachable here). It must follow Comet's arithmetic, since Atoll's Compound read
//! path is tested against it: the utilisation is borrowed over supplied at the stored indexes,
//! the rates are the kinked curves at it (integer for integer, as `atoll_core::lending`
//! computes them), each accrual grows the indexes exactly as Comet's
//! `accruedInterestIndices`, and lending traffic (same seed, same actions) moves utilisation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use atoll_adapters::evm::comet_abi::IComet;
use atoll_core::lending::{COMET_FACTOR_SCALE, COMET_INDEX_SCALE, CometCurve, comet_index_after};
use atoll_devnet::{Devnet, comet, evm};

struct Snapshot {
    supply_index: u128,
    borrow_index: u128,
    last_accrual: u64,
    utilization: u128,
    supply_rate: u128,
    borrow_rate: u128,
}

async fn curve(c: &IComet::ICometInstance<&DynProvider>, supply: bool) -> CometCurve {
    let n = |v: U256| v.to::<u128>();
    if supply {
        CometCurve {
            kink: n(c.supplyKink().call().await.unwrap()),
            base: n(c.supplyPerSecondInterestRateBase().call().await.unwrap()),
            slope_low: n(c
                .supplyPerSecondInterestRateSlopeLow()
                .call()
                .await
                .unwrap()),
            slope_high: n(c
                .supplyPerSecondInterestRateSlopeHigh()
                .call()
                .await
                .unwrap()),
        }
    } else {
        CometCurve {
            kink: n(c.borrowKink().call().await.unwrap()),
            base: n(c.borrowPerSecondInterestRateBase().call().await.unwrap()),
            slope_low: n(c
                .borrowPerSecondInterestRateSlopeLow()
                .call()
                .await
                .unwrap()),
            slope_high: n(c
                .borrowPerSecondInterestRateSlopeHigh()
                .call()
                .await
                .unwrap()),
        }
    }
}

/// The Comet's state, checked against Comet's formulas on the way.
async fn snapshot(node: &DynProvider, comet: Address) -> Snapshot {
    let c = IComet::new(comet, node);
    let t = c.totalsBasic().call().await.unwrap();
    let supplied =
        t.totalSupplyBase.to::<u128>() * u128::from(t.baseSupplyIndex) / COMET_INDEX_SCALE;
    let borrowed =
        t.totalBorrowBase.to::<u128>() * u128::from(t.baseBorrowIndex) / COMET_INDEX_SCALE;
    let utilization = borrowed * COMET_FACTOR_SCALE / supplied;
    let on_chain = c.getUtilization().call().await.unwrap().to::<u128>();
    assert_eq!(on_chain, utilization);
    let supply_rate = u128::from(
        c.getSupplyRate(U256::from(utilization))
            .call()
            .await
            .unwrap(),
    );
    let borrow_rate = u128::from(
        c.getBorrowRate(U256::from(utilization))
            .call()
            .await
            .unwrap(),
    );
    assert_eq!(supply_rate, curve(&c, true).await.rate_at(utilization));
    assert_eq!(borrow_rate, curve(&c, false).await.rate_at(utilization));
    Snapshot {
        supply_index: u128::from(t.baseSupplyIndex),
        borrow_index: u128::from(t.baseBorrowIndex),
        last_accrual: t.lastAccrualTime.to::<u64>(),
        utilization,
        supply_rate,
        borrow_rate,
    }
}

#[tokio::test]
async fn comet_double_accrues_and_prices_like_comet() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    let mut before = Vec::new();
    for chain in &devnet.state.evm {
        let market = chain.comet.clone().expect("every EVM chain has a Comet");
        let node = evm::provider_for(&chain.rpc_url, evm::Role::Deployer).unwrap();
        let s = snapshot(&node, market.comet).await;
        // Seeded: the trader borrowed 60 % of the depth.
        let u = s.utilization as f64 / 1e18;
        assert!((u - 0.6).abs() < 0.001, "{}: {u}", chain.name);
        assert!(s.borrow_rate > s.supply_rate && s.supply_rate > 0);
        let _: serde_json::Value = node
            .raw_request("evm_increaseTime".into(), (86_400u64,))
            .await
            .unwrap();
        before.push(s);
    }
    // A day later, traffic accrues both indexes and moves utilisation.
    comet::traffic(&devnet.state, 12, 40).await.unwrap();
    let mut moved = false;
    for (chain, before) in devnet.state.evm.iter().zip(&before) {
        let market = chain.comet.clone().unwrap();
        let node = evm::provider_for(&chain.rpc_url, evm::Role::Deployer).unwrap();
        let after = snapshot(&node, market.comet).await;
        if after.last_accrual == before.last_accrual {
            continue; // no action landed on this chain
        }
        moved |= after.utilization != before.utilization;
        assert!(after.supply_index > before.supply_index);
        assert!(after.borrow_index > before.borrow_index);
    }
    assert!(moved, "traffic moves utilisation");

    // Exactly one accrual between two reads: the index is Comet's function of the first.
    let chain = &devnet.state.evm[0];
    let market = chain.comet.clone().unwrap();
    let node = evm::provider_for(&chain.rpc_url, evm::Role::Deployer).unwrap();
    let before = snapshot(&node, market.comet).await;
    let _: serde_json::Value = node
        .raw_request("evm_increaseTime".into(), (3_600u64,))
        .await
        .unwrap();
    let c = IComet::new(market.comet, &node);
    let tx = c
        .supply(market.base_token, U256::from(1_000_000u64))
        .into_transaction_request();
    let user = evm::provider_for(&chain.rpc_url, evm::Role::User).unwrap();
    evm::send(&user, tx, &chain.name, "one accrual")
        .await
        .unwrap();
    let after = snapshot(&node, market.comet).await;
    let elapsed = u128::from(after.last_accrual - before.last_accrual);
    assert!(elapsed >= 3_600);
    assert_eq!(
        after.supply_index,
        comet_index_after(before.supply_index, before.supply_rate, elapsed)
    );
    assert_eq!(
        after.borrow_index,
        comet_index_after(before.borrow_index, before.borrow_rate, elapsed)
    );
    devnet.down();
}
