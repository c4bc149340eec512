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

/// A lending reserve entry: Aave v3's USDC strategy (0 %, 4 %, 60 %, kink at 90 %), reserve
/// factor 10 %.
fn reserve(id: &str, supplied: f64, borrowed: f64) -> Value {
    json!({"id": id, "chain": "ethereum", "protocol": "aave_v3", "tokens": ["USDC"],
           "kind": "lending", "tvl_usd": supplied - borrowed, "fees_usd_year": 0.0,
           "lending": {"supplied_usd": supplied, "borrowed_usd": borrowed, "base_rate": 0.0,
                       "slope1": 0.04, "slope2": 0.6, "optimal_utilization": 0.9,
                       "reserve_factor": 0.1}})
}

#[test]
fn a_lending_reserve_takes_capital_until_its_marginal_meets_the_pools() {
    // The pool pays 5 % on its first dollar; the reserve (90 % utilised) 0.9 · 0.9 · 4 % =
    // 3.24 %. $1M is more than the pool takes before its marginal falls below 3.24 %.
    let q = quote_json(&request(
        json!([pool("dex", "ethereum", 2e6, 1e5), reserve("usdc", 1e6, 9e5)]),
        json!([]),
        json!({}),
    ))
    .unwrap();
    assert_eq!(q.status, Status::Optimal, "{q:?}");
    let find = |id: &str| q.allocations.iter().find(|a| a.pool == id).unwrap();
    let (dex, usdc) = (find("dex"), find("usdc"));
    assert!((dex.usd + usdc.usd - 1e6).abs() < 1e-6, "{q:?}");
    assert!(usdc.usd > 1e4, "{q:?}");
    // The marginals by hand: the pool's F·T/(T + x)²; the reserve's, with r0 = 0 and U = B/T
    // below the kink, g(x) = 0.9 · B · (0.04/0.9)·(B/T) · x/T = c·x/T², g' = c·(S − x)/T³.
    let pool_m = 1e5 * 2e6 / ((2e6 + dex.usd) * (2e6 + dex.usd));
    let c = 0.9 * 9e5 * 0.04 / 0.9 * 9e5;
    let t = 1e6 + usdc.usd;
    let reserve_m = c * (1e6 - usdc.usd) / (t * t * t);
    assert!(
        (pool_m - reserve_m).abs() <= 1e-9 * pool_m,
        "{pool_m} vs {reserve_m}"
    );
    assert!((dex.marginal_apy - pool_m).abs() <= 1e-9 * pool_m);
    assert!((usdc.marginal_apy - reserve_m).abs() <= 1e-9 * pool_m);
    // What the answer says about the reserve: its kind, its utilisation and APY after.
    let v = serde_json::to_value(&q).unwrap();
    let a = v["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["pool"] == "usdc")
        .unwrap();
    assert_eq!(a["kind"], "lending");
    assert!((a["utilization"].as_f64().unwrap() - 9e5 / t).abs() < 1e-12);
    let apy = 0.9 * 9e5 * (0.04 * (9e5 / t) / 0.9) / t;
    assert!((a["apy"].as_f64().unwrap() - apy).abs() < 1e-12);
    assert!((usdc.gain_usd - apy * usdc.usd).abs() < 1e-6);
    let d = v["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["pool"] == "dex")
        .unwrap();
    assert_eq!(d["kind"], "dex");
    assert!(d.get("utilization").is_none());
}

#[test]
fn a_reserve_kept_above_its_kink_is_noted() {
    // 95 % utilised: past 3 % more supply its marginal is negative (60 % slope2), so it stops
    // there; but pushed past the kink, near doubling its supply, it would earn more than the
    // idle alternative. The plan says so.
    let q = quote_json(&request(
        json!([reserve("hot", 1e6, 9.5e5)]),
        json!([]),
        json!({}),
    ))
    .unwrap();
    let a = &q.allocations[0];
    assert!(a.usd < 0.04e6, "{q:?}");
    assert!(
        q.notes
            .iter()
            .any(|n| n.contains("lending reserve hot is kept above its optimal utilisation")),
        "{:?}",
        q.notes
    );
    // A reserve below its kink has nothing past it: no such note.
    let q = quote_json(&request(
        json!([reserve("calm", 1e6, 5e5)]),
        json!([]),
        json!({}),
    ))
    .unwrap();
    assert!(
        !q.notes.iter().any(|n| n.contains("lending reserve")),
        "{:?}",
        q.notes
    );
}

/// A Compound v3 reserve entry (`rate_model` `supply_curve`): a supply curve of 0 % base, 4 %
/// at its 90 % kink, slopeHigh 60 % (`slope2` 0.06); no reserve factor.
fn supply_reserve(id: &str, supplied: f64, borrowed: f64) -> Value {
    let mut r = reserve(id, supplied, borrowed);
    r["protocol"] = json!("compound_v3");
    r["lending"]["rate_model"] = json!("supply_curve");
    r["lending"]["slope2"] = json!(0.06);
    r["lending"]["reserve_factor"] = json!(0.0);
    r
}

#[test]
fn a_supply_curve_reserve_takes_capital_until_its_marginal_meets_the_pools() {
    // The pool pays 5 % on its first dollar; the reserve (at its 90 % kink) 4 %, every supplied
    // dollar's rate. $1M is more than the pool takes before its marginal falls below 4 %.
    let q = quote_json(&request(
        json!([
            pool("dex", "ethereum", 2e6, 1e5),
            supply_reserve("comet", 1e6, 9e5)
        ]),
        json!([]),
        json!({}),
    ))
    .unwrap();
    assert_eq!(q.status, Status::Optimal, "{q:?}");
    let find = |id: &str| q.allocations.iter().find(|a| a.pool == id).unwrap();
    let (dex, comet) = (find("dex"), find("comet"));
    assert!((dex.usd + comet.usd - 1e6).abs() < 1e-6, "{q:?}");
    assert!(comet.usd > 1e4, "{q:?}");
    // The marginals by hand: the pool's F·T/(T + x)²; the reserve's, with base 0 and U = B/T
    // below the kink, g(x) = x·b·B/T (b = 0.04/0.9), g' = b·B·S/T².
    let pool_m = 1e5 * 2e6 / ((2e6 + dex.usd) * (2e6 + dex.usd));
    let b = 0.04 / 0.9;
    let t = 1e6 + comet.usd;
    let reserve_m = b * 9e5 * 1e6 / (t * t);
    assert!(
        (pool_m - reserve_m).abs() <= 1e-9 * pool_m,
        "{pool_m} vs {reserve_m}"
    );
    assert!((dex.marginal_apy - pool_m).abs() <= 1e-9 * pool_m);
    assert!((comet.marginal_apy - reserve_m).abs() <= 1e-9 * pool_m);
    // Its utilisation and APY after: the supply rate at B/T, no reserve factor.
    assert_eq!(comet.kind, atoll_router::input::PoolKind::Lending);
    assert!((comet.utilization.unwrap() - 9e5 / t).abs() < 1e-12);
    let apy = b * 9e5 / t;
    assert!((comet.apy - apy).abs() < 1e-12);
    assert!((comet.gain_usd - apy * comet.usd).abs() < 1e-6);
}

#[test]
fn a_supply_curve_base_rate_takes_what_capital_there_is() {
    // A 5 % base rate: every dollar supplied earns more than the pool's first (1 %), however
    // many; with no supply cap the reserve's room is all the capital, and it takes it.
    let mut r = supply_reserve("floor", 1e6, 5e5);
    r["lending"]["base_rate"] = json!(0.05);
    let q = quote_json(&request(
        json!([pool("dex", "ethereum", 1e6, 1e4), r]),
        json!([]),
        json!({}),
    ))
    .unwrap();
    assert_eq!(q.status, Status::Optimal, "{q:?}");
    assert_eq!(q.allocations.len(), 1, "{q:?}");
    let a = &q.allocations[0];
    assert_eq!(a.pool, "floor");
    assert!((a.usd - 1e6).abs() < 1e-6, "{q:?}");
    // T = 2e6, U = 25 %: each dollar earns 5 % + (0.04/0.9)·25 %; the next one 5 % + b·B·S/T².
    let b = 0.04 / 0.9;
    assert!((a.apy - (0.05 + b * 0.25)).abs() < 1e-12);
    assert!((a.gain_usd - 1e6 * (0.05 + b * 0.25)).abs() < 1e-6);
    assert!((a.marginal_apy - (0.05 + b * 5e5 * 1e6 / 4e12)).abs() < 1e-12);
    assert!(q.objective_usd.is_finite());
}

#[test]
fn a_fixed_rate_reserve_takes_what_the_pools_leave() {
    // No borrowing, a 3 % base rate: every dollar earns 3 %, a constant marginal, so the
    // chain's demand jumps at 3 %. The pool takes until its marginal is 3 %:
    // 1e5·2e6/(2e6 + x)² = 0.03; the reserve takes the rest, all at 3 %.
    let mut r = supply_reserve("fixed", 1e6, 0.0);
    r["lending"]["base_rate"] = json!(0.03);
    let q = quote_json(&request(
        json!([pool("dex", "ethereum", 2e6, 1e5), r.clone()]),
        json!([]),
        json!({}),
    ))
    .unwrap();
    assert_eq!(q.status, Status::Optimal, "{q:?}");
    let find = |q: &atoll_router::Quote, id: &str| {
        q.allocations.iter().find(|a| a.pool == id).unwrap().clone()
    };
    let dex_x = (1e5 * 2e6 / 0.03f64).sqrt() - 2e6;
    let (dex, fixed) = (find(&q, "dex"), find(&q, "fixed"));
    assert!((dex.usd - dex_x).abs() < 1e-6 * dex_x, "{q:?}");
    assert!((fixed.usd - (1e6 - dex_x)).abs() < 1e-6 * dex_x, "{q:?}");
    assert!((dex.usd + fixed.usd - 1e6).abs() < 1e-6, "{q:?}");
    assert!((fixed.apy - 0.03).abs() < 1e-15 && (fixed.marginal_apy - 0.03).abs() < 1e-15);
    let want = 1e5 * dex_x / (2e6 + dex_x) + 0.03 * (1e6 - dex_x);
    assert!(
        (q.gain_usd - want).abs() < 1e-6 * want,
        "{} vs {want}",
        q.gain_usd
    );
    // Across a bridge (50 bps): on BSC it is worth 2.5 % from Ethereum, where the pool is the
    // larger placement; the jump is BSC's, and the move carries what the pool leaves.
    r["chain"] = json!("bsc");
    let q = quote_json(&request(
        json!([pool("dex", "ethereum", 2e6, 1e5), r]),
        json!([{"from": "ethereum", "to": "bsc", "fee_bps": 50}]),
        json!({}),
    ))
    .unwrap();
    assert_eq!(q.status, Status::Optimal, "{q:?}");
    let dex_x = (1e5 * 2e6 / 0.025f64).sqrt() - 2e6;
    let (dex, fixed) = (find(&q, "dex"), find(&q, "fixed"));
    assert!((dex.usd - dex_x).abs() < 1e-6 * dex_x, "{q:?}");
    assert!((fixed.usd - (1e6 - dex_x)).abs() < 1e-6 * dex_x, "{q:?}");
    assert_eq!(q.moves.len(), 1);
    assert!((q.moves[0].usd - fixed.usd).abs() < 1e-6, "{q:?}");
    let want = 1e5 * dex_x / (2e6 + dex_x) + 0.025 * (1e6 - dex_x);
    assert!(
        (q.objective_usd - want).abs() < 1e-6 * want,
        "{} vs {want}",
        q.objective_usd
    );
}

#[test]
fn a_supply_curve_reserve_kept_above_its_kink_is_noted() {
    // 95 % utilised with slopeHigh 6: the marginal reaches 0 after 3.1 % more supply; past the
    // kink, $1M on the low piece would earn about 4x as much. The plan says so.
    let mut r = supply_reserve("hot", 1e6, 9.5e5);
    r["lending"]["slope2"] = json!(0.6);
    let q = quote_json(&request(json!([r]), json!([]), json!({}))).unwrap();
    let peak = (1e6 * 6.0 * 9.5e5 / (6.0 * 0.9 - 0.04f64)).sqrt() - 1e6;
    assert!(
        (q.allocations[0].usd - peak).abs() < 1e-6 * peak,
        "{q:?} vs {peak}"
    );
    assert!(
        q.notes
            .iter()
            .any(|n| n.contains("lending reserve hot is kept above its optimal utilisation")),
        "{:?}",
        q.notes
    );
}

#[test]
fn bad_lending_input_names_the_field() {
    let mut bad = reserve("r", 1e6, 2e6);
    bad["lending"]["optimal_utilization"] = json!(1.2);
    bad["lending"]["reserve_factor"] = json!(1.0);
    bad["lending"]["slope2"] = json!(-0.1);
    bad["lending"]["supplied_usd"] = json!(1e6);
    let mut missing = reserve("m", 1e6, 1e5);
    missing.as_object_mut().unwrap().remove("lending");
    let mut dex_with_lending = pool("d", "ethereum", 1e6, 1e5);
    dex_with_lending["lending"] = reserve("x", 1.0, 0.0)["lending"].clone();
    let mut tiny_kink = reserve("t", 1e6, 1e5);
    tiny_kink["lending"]["optimal_utilization"] = json!(1e-9);
    let mut netted = supply_reserve("c", 1e6, 1e5);
    netted["lending"]["reserve_factor"] = json!(0.1);
    netted["lending"]["stable_income_usd_year"] = json!(5.0);
    let text = request(
        json!([bad, missing, dex_with_lending, tiny_kink, netted]),
        json!([]),
        json!({}),
    );
    let Err(RouterError::Input(problems)) = quote_json(&text) else {
        panic!("expected input errors")
    };
    let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    for want in [
        "pools[0].lending.optimal_utilization: must be in (0, 1) (got 1.2)",
        "pools[0].lending.reserve_factor: must be in [0, 1) (got 1)",
        "pools[0].lending.slope2: must be >= 0 (got -0.1)",
        "pools[0].lending.borrowed_usd: must be <= supplied_usd (1000000) (got 2000000)",
        "pools[1].lending: required when kind is \"lending\"",
        "pools[2].lending: only for kind \"lending\"",
        "pools[3].lending.optimal_utilization: must be in [0.0001, 0.9999] (got 0.000000001)",
        "pools[4].lending.reserve_factor: must be 0 with rate_model supply_curve (got 0.1): Compound v3's supply curve already nets the reserve's share",
        "pools[4].lending.stable_income_usd_year: must be 0 with rate_model supply_curve (got 5): Compound v3 has no stable-rate debt",
    ] {
        assert!(shown.iter().any(|s| s == want), "{want} in {shown:#?}");
    }
    // Unknown fields and kinds are refused by the parser.
    let mut unknown = reserve("u", 1e6, 1e5);
    unknown["lending"]["kink"] = json!(0.8);
    let Err(RouterError::Input(p)) = quote_json(&request(json!([unknown]), json!([]), json!({})))
    else {
        panic!("expected a parse error")
    };
    assert!(p[0].message.contains("unknown field `kink`"), "{p:?}");
    let mut kind = reserve("k", 1e6, 1e5);
    kind["kind"] = json!("perp");
    let Err(RouterError::Input(p)) = quote_json(&request(json!([kind]), json!([]), json!({})))
    else {
        panic!("expected a parse error")
    };
    assert!(p[0].message.contains("unknown variant `perp`"), "{p:?}");
    let mut model = supply_reserve("m", 1e6, 1e5);
    model["lending"]["rate_model"] = json!("kink");
    let Err(RouterError::Input(p)) = quote_json(&request(json!([model]), json!([]), json!({})))
    else {
        panic!("expected a parse error")
    };
    assert!(p[0].message.contains("unknown variant `kink`"), "{p:?}");
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

/// A request with one pool and lending reserves (Aave's, and every other one Compound v3's)
/// whose numbers are replaced, each with probability one half, by values at the edges of what
/// validation accepts.
fn extreme_lending_request() -> impl Strategy<Value = String> {
    let edge = prop_oneof![
        Just(0.0f64),
        Just(1e-300),
        Just(1e-9),
        Just(1e-4),
        Just(0.5),
        Just(0.9999),
        Just(1.0),
        Just(1e15),
        0.0f64..2e6,
    ];
    (
        prop::collection::vec(prop::option::weighted(0.5, edge), 30),
        1usize..4,
    )
        .prop_map(|(nums, n)| {
            let mut pools = vec![pool("dex", "ethereum", 2e6, 1e5)];
            let mut k = 0;
            for i in 0..n {
                // A supply curve starts without a supply cap (a base rate then meets the bound
                // by all the capital), unless a number is drawn for it.
                let mut r = if i % 2 == 1 {
                    supply_reserve(&format!("r{i}"), 1e6, 9.2e5)
                } else {
                    let mut r = reserve(&format!("r{i}"), 1e6, 9.2e5);
                    r["lending"]["supply_cap_room_usd"] = json!(5e5);
                    r
                };
                for field in [
                    "supplied_usd",
                    "borrowed_usd",
                    "base_rate",
                    "slope1",
                    "slope2",
                    "optimal_utilization",
                    "reserve_factor",
                    "supply_cap_room_usd",
                ] {
                    if let Some(v) = nums[k % nums.len()] {
                        r["lending"][field] = json!(v);
                    }
                    k += 1;
                }
                pools.push(r);
            }
            request(json!(pools), json!([]), json!({}))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn never_panics_on_extreme_lending_numbers(text in extreme_lending_request()) {
        if let Ok(q) = quote_json(&text) {
            prop_assert!(q.objective_usd.is_finite() && q.gain_usd.is_finite());
            prop_assert!(q.unallocated_usd.is_finite() && q.unallocated_usd >= 0.0);
            // An amount is resolved to an ulp of the reserve's supply plus it (1/8 at 1e15).
            let placed: f64 = q.allocations.iter().map(|a| a.usd).sum();
            prop_assert!(placed <= 1e6 + 1.0, "{q:?}");
            for a in &q.allocations {
                prop_assert!(a.usd.is_finite() && a.usd > 0.0 && a.marginal_apy.is_finite() && a.apy.is_finite() && a.gain_usd.is_finite(), "{a:?}");
                prop_assert!(a.utilization.is_none_or(|u| (0.0..=1.0).contains(&u)), "{a:?}");
            }
        }
    }

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
