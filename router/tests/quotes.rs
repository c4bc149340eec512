//! The router through its JSON interface: closed-form cases, hold, fixed costs that drop a move,
//! multi-hop routes, and no panic on any input (proptest over mutated and arbitrary JSON).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atoll_router::{RouterError, Status, quote_json};
use proptest::prelude::*;
use serde_json::{Value, json};

fn request(pools: Value, bridges: Value, constraints: Value) -> String {
    json!({
        "capital": [{"chain": "ethereum", "usd": 1_000_000.0}],
        "horizon_days": 365,
        "pools": pools,
        "bridges": bridges,
        "gas_usd": {"ethereum": 0.0, "bsc": 0.0},
        "constraints": constraints,
    })
    .to_string()
}

fn pool(id: &str, chain: &str, tvl: f64, fees: f64) -> Value {
    json!({"id": id, "chain": chain, "protocol": "uniswap_v2", "tokens": ["USDC", "WETH"],
           "tvl_usd": tvl, "fees_usd_year": fees})
}

#[test]
fn one_pool_closed_form() {
    // $1M into a $1M pool earning $100k a year: half the fees, 50k over a year.
    let q = quote_json(&request(
        json!([pool("a", "ethereum", 1e6, 1e5)]),
        json!([]),
        json!({}),
    ))
    .unwrap();
    assert_eq!(q.status, Status::Optimal);
    assert_eq!(q.allocations.len(), 1);
    assert!((q.allocations[0].usd - 1e6).abs() < 1e-6);
    assert!((q.gain_usd - 50_000.0).abs() < 1e-6);
    // Marginal: F·T/(T+x)² = 1e5·1e6/4e12 = 2.5 %.
    assert!((q.allocations[0].marginal_apy - 0.025).abs() < 1e-12);
    assert!(q.moves.is_empty());
}

#[test]
fn two_identical_pools_split_evenly_and_a_cap_binds() {
    let q = quote_json(&request(
        json!([
            pool("a", "ethereum", 1e6, 1e5),
            pool("b", "ethereum", 1e6, 1e5)
        ]),
        json!([]),
        json!({}),
    ))
    .unwrap();
    assert!((q.allocations[0].usd - 5e5).abs() < 1e-6 && (q.allocations[1].usd - 5e5).abs() < 1e-6);

    let q = quote_json(&request(
        json!([pool("a", "ethereum", 1e6, 1e5)]),
        json!([]),
        json!({"max_per_pool_usd": 250_000.0}),
    ))
    .unwrap();
    assert_eq!(q.status, Status::Partial);
    assert!((q.allocations[0].usd - 250_000.0).abs() < 1e-6);
    assert!((q.unallocated_usd - 750_000.0).abs() < 1e-6);
}

#[test]
fn a_bridge_fee_makes_the_far_chain_lose_and_a_cheaper_one_wins() {
    // BSC pays 12 % at the margin against Ethereum's 10 % (huge pools: flat yields).
    let pools = json!([
        pool("eth", "ethereum", 1e12, 1e11),
        pool("bsc", "bsc", 1e12, 1.2e11)
    ]);
    let dear = json!([{"from": "ethereum", "to": "bsc", "fee_bps": 300}]);
    let q = quote_json(&request(pools.clone(), dear, json!({}))).unwrap();
    assert!(q.moves.is_empty(), "{q:?}");
    assert_eq!(q.allocations[0].pool, "eth");
    let cheap = json!([{"from": "ethereum", "to": "bsc", "fee_bps": 100, "eta_s": 600}]);
    let q = quote_json(&request(pools, cheap, json!({}))).unwrap();
    assert_eq!(q.moves.len(), 1);
    assert!((q.moves[0].usd - 1e6).abs() < 1e-3);
    assert!((q.moves[0].cost_usd - 1e4).abs() < 1e-6, "1 % of $1M");
    assert_eq!(q.moves[0].route, vec!["ethereum", "bsc"]);
}

#[test]
fn hold_when_the_gain_is_below_the_minimum() {
    let q = quote_json(&request(
        json!([pool("a", "ethereum", 1e6, 1e5)]),
        json!([]),
        json!({"min_gain_usd": 1e9}),
    ))
    .unwrap();
    assert_eq!(q.status, Status::Hold);
    assert!(q.moves.is_empty() && q.allocations.is_empty());
    assert!(q.notes.iter().any(|n| n.contains("hold")));
}

#[test]
fn a_move_that_does_not_pay_its_fixed_cost_is_dropped() {
    // The only pool is on BSC and earns $1 over the horizon on what could move; the trip costs
    // $50 fixed: moving loses money, so nothing moves.
    let q = quote_json(&request(
        json!([pool("bsc", "bsc", 1e9, 1.0)]),
        json!([{"from": "ethereum", "to": "bsc", "fee_bps": 0, "fixed_usd": 50.0}]),
        json!({}),
    ))
    .unwrap();
    assert!(q.moves.is_empty(), "{q:?}");
    assert_eq!(q.status, Status::Partial);
    assert!(
        q.notes.iter().any(|n| n.contains("1 move(s) dropped")),
        "{:?}",
        q.notes
    );
}

#[test]
fn bad_input_names_the_field() {
    let text = request(
        json!([
            pool("a", "ethereum", -1.0, 1e5),
            pool("a", "ethereum", 1e6, f64::MAX)
        ]),
        json!([{"from": "ethereum", "to": "mars", "fee_bps": 5}]),
        json!({"max_chain_share": 2.0}),
    );
    let Err(RouterError::Input(problems)) = quote_json(&text) else {
        panic!("expected input errors")
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    for want in [
        "pools[0].tvl_usd",
        "pools[1].id",
        "bridges[0].to",
        "constraints.max_chain_share",
    ] {
        assert!(paths.contains(&want), "{want} in {paths:?}");
    }
    // A pool no capital can reach.
    let text = request(
        json!([pool("far", "solana", 1e6, 1e5)]),
        json!([]),
        json!({}),
    );
    let Err(RouterError::Input(problems)) = quote_json(&text) else {
        panic!("expected an unreachable pool error")
    };
    assert_eq!(problems[0].path, "pools[0].chain");
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        prop_oneof![
            Just(-1.0f64),
            Just(0.0),
            Just(1e308),
            Just(-1e308),
            Just(5e-324),
            -1e9f64..1e9
        ]
        .prop_map(|f| json!(f)),
        "[a-z_]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("capital".to_string()),
                    Just("horizon_days".to_string()),
                    Just("pools".to_string()),
                    Just("bridges".to_string()),
                    Just("chain".to_string()),
                    Just("usd".to_string()),
                    Just("tvl_usd".to_string()),
                    Just("fees_usd_year".to_string()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid request with some of its numbers replaced by extreme values.
fn mutated_request() -> impl Strategy<Value = String> {
    let numbers = prop::collection::vec(
        prop_oneof![
            Just(-1.0f64),
            Just(0.0),
            Just(1e308),
            Just(1e-300),
            Just(1.0),
            0.0f64..1e12
        ],
        40,
    );
    (numbers, 1usize..30, 0u64..50).prop_map(|(nums, n, seed)| {
        let mut v: Value = serde_json::from_str(&atoll_router::instance::json(n, seed)).unwrap();
        let mut k = 0;
        fn walk(v: &mut Value, nums: &[f64], k: &mut usize) {
            match v {
                Value::Number(_) => {
                    if *k < nums.len() && nums[*k] != 1.0 {
                        *v = json!(nums[*k]);
                    }
                    *k += 1;
                }
                Value::Array(a) => a.iter_mut().for_each(|x| walk(x, nums, k)),
                Value::Object(o) => o.values_mut().for_each(|x| walk(x, nums, k)),
                _ => {}
            }
        }
        walk(&mut v, &nums, &mut k);
        v.to_string()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn never_panics_on_arbitrary_json(v in arbitrary_json()) {
        let _ = quote_json(&v.to_string());
    }

    #[test]
    fn never_panics_on_extreme_numbers(text in mutated_request()) {
        // Whatever the numbers, a quote that comes back is made of finite amounts.
        if let Ok(q) = quote_json(&text) {
            prop_assert!(q.objective_usd.is_finite() && q.gain_usd.is_finite() && q.cost_usd.is_finite());
            prop_assert!(q.unallocated_usd.is_finite() && q.unallocated_usd >= 0.0);
            for a in &q.allocations {
                prop_assert!(a.usd.is_finite() && a.usd > 0.0 && a.marginal_apy.is_finite() && a.gain_usd.is_finite(), "{a:?}");
            }
            for m in &q.moves {
                prop_assert!(m.usd.is_finite() && m.cost_usd.is_finite(), "{m:?}");
            }
        }
    }
}
