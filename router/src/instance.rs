//! Deterministic pseudo-random requests for benchmarks and the solver comparison: `n` pools over
//! Ethereum, BSC and Solana (TVL log-uniform $100k–$100M, fee APR log-uniform 0.5–40 %, at most
//! 20 % of a pool), capital on all three, bridges both ways between every pair (3–10 bps, no
//! fixed cost, so the problem stays convex and one exact solve answers it).
//!
//! [`json_with_reserves`] adds lending reserves shaped like Aave v3's and Compound v3's:
//! supplied log-uniform $1M–$2B, optimal utilisation 45/80/90/92 %, utilisation 10–100 % of
//! it (one in seven above it, by up to 30 % of the way to 100 %),
//! slope1 3–8 %, slope2 30–300 %, reserve factor 5–25 %, some with a base rate, stable debt,
//! incentives or a supply cap. Every fourth (`compound_v3`) has Compound v3's model: the curve
//! is its supply rate (`"rate_model": "supply_curve"`), with no reserve factor and no stable
//! debt; the others are Aave's, as they were before supply curves (the same random draws).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::lending::{RateModel, RateStrategy, Reserve};

const CHAINS: [&str; 3] = ["ethereum", "bsc", "solana"];

fn log_uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp()
}

/// The request as JSON text.
pub fn json(n: usize, seed: u64) -> String {
    request(n, seed).to_string()
}

/// The request of [`json`] (the same pools, bridges and capital) plus `reserves` lending
/// reserves.
pub fn json_with_reserves(n: usize, reserves: usize, seed: u64) -> String {
    let mut v = request(n, seed);
    // Their own stream: the rest of the request is the one `json` writes.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1e4d_1e4d);
    if let Some(pools) = v["pools"].as_array_mut() {
        pools.extend((0..reserves).map(|i| reserve(&mut rng, i)));
    }
    v.to_string()
}

/// One lending reserve entry.
fn reserve(rng: &mut ChaCha8Rng, i: usize) -> serde_json::Value {
    let chain = CHAINS[i % 3];
    let comet = i % 4 == 3;
    let protocol = if comet { "compound_v3" } else { "aave_v3" };
    let supplied = log_uniform(rng, 1e6, 2e9);
    let optimal = [0.45, 0.8, 0.9, 0.92][rng.random_range(0..4)];
    let utilization = if rng.random_range(0..7) == 0 {
        optimal + (1.0 - optimal) * rng.random_range(0.0..0.3)
    } else {
        optimal * rng.random_range(0.1..1.0)
    };
    let borrowed = supplied * utilization;
    let base = if rng.random::<f64>() < 0.3 {
        rng.random_range(0.0..0.02)
    } else {
        0.0
    };
    let stable = if rng.random::<f64>() < 0.1 {
        supplied * rng.random_range(0.0..0.005)
    } else {
        0.0
    };
    let rewards = if rng.random::<f64>() < 0.2 {
        supplied * log_uniform(rng, 0.001, 0.02)
    } else {
        0.0
    };
    let reserve_factor = rng.random_range(0.05..0.25);
    let r = Reserve {
        supplied,
        borrowed,
        // Drawn for every reserve (the stream stays the one Aave-only requests had), zero for
        // a supply curve, which nets the reserve's share and has no stable debt.
        stable_income: if comet { 0.0 } else { stable },
        rewards,
        reserve_factor: if comet { 0.0 } else { reserve_factor },
        rates: RateStrategy {
            base,
            slope1: rng.random_range(0.03..0.08),
            slope2: rng.random_range(0.3..3.0),
            optimal,
        },
        model: if comet {
            RateModel::SupplyCurve
        } else {
            RateModel::BorrowShare
        },
    };
    let room = if rng.random::<bool>() {
        serde_json::json!(log_uniform(rng, 1e5, 1e8))
    } else {
        serde_json::Value::Null
    };
    let mut entry = serde_json::json!({
        "id": format!("{chain}:{protocol}:{i:#042x}"),
        "chain": chain,
        "protocol": protocol,
        "tokens": ["USDC"],
        "kind": "lending",
        "tvl_usd": supplied - borrowed,
        "fees_usd_year": r.supplier_income(0.0) - rewards,
        "rewards_usd_year": rewards,
        "max_share_of_tvl": 0.2,
        "lending": {
            "supplied_usd": supplied,
            "borrowed_usd": borrowed,
            "stable_income_usd_year": r.stable_income,
            "base_rate": r.rates.base,
            "slope1": r.rates.slope1,
            "slope2": r.rates.slope2,
            "optimal_utilization": optimal,
            "reserve_factor": r.reserve_factor,
            "supply_cap_room_usd": room,
        },
    });
    if comet {
        entry["lending"]["rate_model"] = "supply_curve".into();
    }
    entry
}

fn request(n: usize, seed: u64) -> serde_json::Value {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pools: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let chain = CHAINS[i % 3];
            let tvl = log_uniform(&mut rng, 1e5, 1e8);
            let apr = log_uniform(&mut rng, 0.005, 0.4);
            serde_json::json!({
                "id": format!("{chain}:uniswap_v2:{i:#042x}"),
                "chain": chain,
                "protocol": "uniswap_v2",
                "tokens": ["USDC", "WETH"],
                "tvl_usd": tvl,
                "fees_usd_year": tvl * apr,
                "rewards_usd_year": 0.0,
                "max_share_of_tvl": 0.2,
            })
        })
        .collect();
    let mut bridges = Vec::new();
    for from in CHAINS {
        for to in CHAINS {
            if from != to {
                bridges.push(serde_json::json!({
                    "from": from, "to": to,
                    "fee_bps": rng.random_range(3.0..10.0),
                    "fixed_usd": 0.0, "eta_s": 600,
                }));
            }
        }
    }
    serde_json::json!({
        "capital": [
            {"chain": "ethereum", "usd": 6_000_000.0},
            {"chain": "bsc", "usd": 4_000_000.0},
            {"chain": "solana", "usd": 2_000_000.0},
        ],
        "horizon_days": 30,
        "pools": pools,
        "bridges": bridges,
        "gas_usd": {"ethereum": 0.0, "bsc": 0.0, "solana": 0.0},
        "constraints": {
            "max_per_pool_usd": 300_000.0,
            "max_chain_share": 0.6,
            "min_tvl_usd": 100_000.0,
            "min_gain_usd": 50.0,
        },
    })
}
