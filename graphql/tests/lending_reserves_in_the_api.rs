//! Aave v3 reserves and the Compound v3 market (on its test double) on an indexed devnet, as
//! the API shows them: `pools` with the `kind`
//! filter (lending only, DEX only, together every pool once), `pool` with its lending figures
//! (TVL = supplied − borrowed, both kept; rates, utilisation, caps, curve, realised yields),
//! `poolHistory` from the reserve's updates, the DefiLlama mirror's lending fields and its
//! chart, and `quoteAllocation` putting capital into a reserve.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use atoll_devnet::Devnet;
use atoll_graphql::ApiOptions;
use common::Api;
use serde_json::{Value, json};

const POOLS: &str = r#"query P($filter: PoolFilter) {
  pools(first: 100, filter: $filter) {
    totalCount
    edges { node { id kind protocol symbol tvlUsd apyBase apyReward apy underlyingTokens
      lending { supplyApy borrowApy utilization totalSupplyUsd totalBorrowUsd availableLiquidityUsd
        ltv liquidationThreshold reserveFactor supplyCap borrowCap realisedApy1d realisedApy7d
        optimalUtilization baseRate slope1 slope2 liquidityIndex supplied variableDebt decimals
        rewardTokens rewardsEnd supplyCurve { kink baseRate slope1 slope2 } } } }
  }
}"#;

fn ids(d: &Value) -> Vec<String> {
    d["pools"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn lending_reserves_in_graphql_rest_and_the_router() {
    let dir = tempfile::tempdir().unwrap();
    let net = Devnet::up_on_free_ports(dir.path(), false).await.unwrap();
    atoll_devnet::aave::traffic(&net.state, 24, 5)
        .await
        .unwrap();
    atoll_devnet::comet::traffic(&net.state, 8, 5)
        .await
        .unwrap();
    let settings = common::settings(&net);
    let store = common::store(&settings, dir.path()).await;
    common::index_once(&settings, &store).await;
    let api = Api::start(
        &settings,
        &store,
        &common::db_url(dir.path()),
        ApiOptions {
            head_interval: Some(Duration::from_millis(50)),
            rate_limit_rps: 100_000,
            ..ApiOptions::default()
        },
    )
    .await;

    // The kind filter splits the pools; together they are every pool.
    let lending = api
        .data(
            POOLS,
            json!({ "filter": { "kind": "LENDING", "includeDropped": true } }),
        )
        .await;
    let dex = api
        .data(
            POOLS,
            json!({ "filter": { "kind": "DEX", "includeDropped": true } }),
        )
        .await;
    let all = api
        .data(POOLS, json!({ "filter": { "includeDropped": true } }))
        .await;
    assert_eq!(
        ids(&lending).len(),
        8,
        "3 Aave reserves and a Comet on each EVM chain"
    );
    assert_eq!(ids(&lending).len() + ids(&dex).len(), ids(&all).len());
    for e in dex["pools"]["edges"].as_array().unwrap() {
        assert_eq!(e["node"]["kind"], "DEX");
        assert!(e["node"]["lending"].is_null());
    }
    let comets = lending["pools"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["protocol"] == "compound_v3");
    for e in comets {
        let (n, l) = (&e["node"], &e["node"]["lending"]);
        assert_eq!(
            (n["kind"].as_str(), n["symbol"].as_str()),
            (Some("LENDING"), Some("USDC"))
        );
        let curve = &l["supplyCurve"];
        assert!((curve["kink"].as_f64().unwrap() - 0.9).abs() < 1e-9, "{n}");
        assert!(l["supplyCap"].is_null() && l["ltv"] == 0.0 && l["reserveFactor"] == 0.0);
        assert!(n["apyReward"].as_f64().unwrap() > 0.0 && l["rewardsEnd"].is_null());
        let u = l["utilization"].as_f64().unwrap();
        assert!(u > 0.3 && u < 0.9, "{n}");
    }
    let aave = lending["pools"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["protocol"] == "aave_v3");
    for e in aave {
        let n = &e["node"];
        let l = &n["lending"];
        assert_eq!(n["kind"].as_str(), Some("LENDING"));
        assert!(l["supplyCurve"].is_null());
        assert_eq!(n["underlyingTokens"].as_array().unwrap().len(), 1);
        let (supplied, borrowed) = (
            l["totalSupplyUsd"].as_f64().unwrap(),
            l["totalBorrowUsd"].as_f64().unwrap(),
        );
        assert!(supplied > borrowed && borrowed > 0.0, "{n}");
        let tvl = n["tvlUsd"].as_f64().unwrap();
        assert!(
            (tvl - (supplied - borrowed)).abs() <= 1e-9 * supplied,
            "{n}"
        );
        assert_eq!(n["apyBase"], l["supplyApy"]);
        let u = l["utilization"].as_f64().unwrap();
        assert!(u > 0.0 && u < 1.0);
        assert!(l["borrowApy"].as_f64().unwrap() > l["supplyApy"].as_f64().unwrap());
        assert!(l["ltv"].as_f64().unwrap() > 0.7 && l["supplyCap"].is_string());
        assert!(l["optimalUtilization"].as_f64().unwrap() >= 0.8);
        // The devnet is minutes old: no realised window reaches back a day.
        assert!(l["realisedApy1d"].is_null());
        // USDC suppliers earn the devnet's emission (the native token), the others nothing.
        if n["symbol"] == "USDC" {
            assert!(n["apyReward"].as_f64().unwrap() > 0.0, "{n}");
            assert_eq!(l["rewardTokens"].as_array().unwrap().len(), 1);
            assert!(l["rewardsEnd"].is_string());
            let sum = n["apyBase"].as_f64().unwrap() + n["apyReward"].as_f64().unwrap();
            assert!((n["apy"].as_f64().unwrap() - sum).abs() < 1e-12);
        } else {
            assert!(
                n["apyReward"].is_null() && l["rewardTokens"] == json!([]),
                "{n}"
            );
        }
    }

    // One reserve: `pool`, its history, the mirror's record and chart.
    let id = ids(&lending)[0].clone();
    let one = api
        .data(
            "query($id: String!) { pool(id: $id) { id kind lending { utilization } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(one["pool"]["kind"], "LENDING");
    let history = api
        .data(
            "query($id: String!) { poolHistory(id: $id) { start tvlUsd apyBase utilization borrowApy liquidityIndex swaps } }",
            json!({ "id": id }),
        )
        .await;
    let buckets = history["poolHistory"].as_array().unwrap();
    assert!(!buckets.is_empty());
    for b in buckets {
        assert!(b["apyBase"].as_f64().unwrap() > 0.0 && b["utilization"].as_f64().is_some());
        assert!(b["liquidityIndex"].is_string() && b["swaps"] == 0);
    }
    let (status, body) = api.get("/pools").await;
    assert_eq!(status, 200);
    let mirror: Value = serde_json::from_str(&body).unwrap();
    let row = mirror["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["pool"] == id.as_str())
        .unwrap()
        .clone();
    let usdc = mirror["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["project"] == "aave_v3" && r["symbol"] == "USDC")
        .unwrap();
    assert!(usdc["apyReward"].as_f64().unwrap() > 0.0 && usdc["rewardTokens"].is_array());
    for field in ["totalSupplyUsd", "totalBorrowUsd", "apyBaseBorrow", "ltv"] {
        assert!(row[field].is_number(), "{field} in {row}");
    }
    assert_eq!(row["exposure"], "single");
    let (status, chart) = api.get(&format!("/chart/{id}")).await;
    assert_eq!(status, 200);
    let chart: Value = serde_json::from_str(&chart).unwrap();
    assert!(!chart["data"].as_array().unwrap().is_empty());

    // The router on the indexed pools and reserves: capital goes to reserves too, and every
    // pool or reserve that gets some ends at one marginal yield (the chain's), within 1e-9.
    let v = api
        .query_as(
            "query($i: JSON!) { quoteAllocation(input: $i) }",
            json!({ "i": {
                "capital": [{ "chain": "ethereum", "usd": 2000000 }],
                "horizon_days": 365,
                "gas_usd": { "ethereum": 0, "bsc": 0 },
                "constraints": { "min_gain_usd": 0, "allowed_chains": ["ethereum"] }
            } }),
            None,
        )
        .await;
    assert!(v.get("errors").is_none(), "{v}");
    let allocations = v["data"]["quoteAllocation"]["allocations"]
        .as_array()
        .unwrap()
        .clone();
    let reserves: Vec<&Value> = allocations
        .iter()
        .filter(|a| a["kind"] == "lending")
        .collect();
    assert!(
        !reserves.is_empty(),
        "no capital in a reserve: {allocations:?}"
    );
    for r in &reserves {
        let u = r["utilization"].as_f64().unwrap();
        assert!(u > 0.0 && u < 1.0, "{r}");
    }
    // The Comet pays more than Aave's USDC here (its own supply curve, and its incentive).
    assert!(
        reserves
            .iter()
            .any(|r| r["pool"].as_str().unwrap().contains(":compound_v3:")),
        "no capital in the Comet: {allocations:?}"
    );
    let marginals: Vec<f64> = allocations
        .iter()
        .map(|a| a["marginal_apy"].as_f64().unwrap())
        .collect();
    let top = marginals.iter().cloned().fold(f64::MIN, f64::max);
    for (a, m) in allocations.iter().zip(&marginals) {
        assert!((m - top).abs() <= 1e-9 * top, "{a} vs {top}");
    }

    api.stop().await;
    net.down();
}
