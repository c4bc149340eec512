//! Deterministic pseudo-random requests for benchmarks and the solver comparison: `n` pools over
//! Ethereum, BSC and Solana (TVL log-uniform $100k–$100M, fee APR log-uniform 0.5–40 %, at most
//! 20 % of a pool), capital on all three, bridges both ways between every pair (3–10 bps, no
//! fixed cost, so the problem stays convex and one exact solve answers it).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CHAINS: [&str; 3] = ["ethereum", "bsc", "solana"];

fn log_uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp()
}

/// The request as JSON text.
pub fn json(n: usize, seed: u64) -> String {
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
    .to_string()
}
