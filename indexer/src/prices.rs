//! USD prices of a chain's tokens, from its pools: stable tokens are $1 (or their pinned price),
//! pinned tokens keep their price, and every other token takes its price from the deepest pool
//! (most USD on the priced side) that pairs it with an already priced token, one hop at a time,
//! so a token two pools away from a stable is priced through the deepest path. Tokens are keyed
//! by whatever names them on their chain (an EVM address, a Solana mint).

use std::collections::HashMap;
use std::hash::Hash;

use alloy::primitives::U256;

/// What pricing knows of a token.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenMeta {
    pub symbol: String,
    pub decimals: u8,
    pub stable: bool,
    pub pinned_usd: Option<f64>,
}

/// A pool as pricing sees it: its two tokens, their amounts in the pool (human units) and its
/// spot price of token0 in token1.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceSource<K> {
    pub token0: K,
    pub token1: K,
    pub amount0: f64,
    pub amount1: f64,
    /// Token1 per token0, in human units.
    pub price0_in_1: f64,
}

/// A pool's symbol (`USDC-WETH`, `?` for an unknown side) and whether both sides are stable.
pub fn pool_symbol(token0: Option<&TokenMeta>, token1: Option<&TokenMeta>) -> (String, bool) {
    let name = |m: Option<&TokenMeta>| m.map_or("?", |m| m.symbol.as_str()).to_string();
    (
        format!("{}-{}", name(token0), name(token1)),
        token0.is_some_and(|m| m.stable) && token1.is_some_and(|m| m.stable),
    )
}

/// A token amount in its smallest unit as a float in human units.
pub fn human(amount: U256, decimals: u8) -> f64 {
    u256_to_f64(amount) / 10f64.powi(i32::from(decimals))
}

/// `U256` to the nearest `f64` (exact below 2^53).
pub fn u256_to_f64(v: U256) -> f64 {
    v.as_limbs().iter().rev().fold(0.0, |acc, limb| {
        acc * 18_446_744_073_709_551_616.0 + *limb as f64
    })
}

/// Token1 per token0 from a Uniswap V3 `sqrtPriceX96`, in human units.
pub fn price_from_sqrt_x96(sqrt_price_x96: U256, decimals0: u8, decimals1: u8) -> f64 {
    let s = u256_to_f64(sqrt_price_x96) / 2f64.powi(96);
    s * s * 10f64.powi(i32::from(decimals0) - i32::from(decimals1))
}

/// How many hops from a priced token pricing follows (stable → WETH → X → Y).
const MAX_HOPS: usize = 4;

/// Prices every token reachable from a priced one.
pub fn token_prices<K: Copy + Eq + Hash>(
    tokens: &HashMap<K, TokenMeta>,
    pools: &[PriceSource<K>],
) -> HashMap<K, f64> {
    let mut prices: HashMap<K, f64> = tokens
        .iter()
        .filter_map(|(a, t)| {
            t.pinned_usd
                .or(if t.stable { Some(1.0) } else { None })
                .map(|p| (*a, p))
        })
        .collect();
    for _ in 0..MAX_HOPS {
        // (price, depth in USD) of the best candidate per unpriced token this round.
        let mut best: HashMap<K, (f64, f64)> = HashMap::new();
        for p in pools {
            if !(p.price0_in_1.is_finite() && p.price0_in_1 > 0.0) {
                continue;
            }
            let candidates = [
                // token1 priced: token0 = price0_in_1 · p1, depth = token1 side in USD.
                (
                    p.token0,
                    prices
                        .get(&p.token1)
                        .map(|p1| (p.price0_in_1 * p1, p.amount1 * p1)),
                ),
                (
                    p.token1,
                    prices
                        .get(&p.token0)
                        .map(|p0| (p0 / p.price0_in_1, p.amount0 * p0)),
                ),
            ];
            for (token, candidate) in candidates {
                let Some((price, depth)) = candidate else {
                    continue;
                };
                if prices.contains_key(&token) || !price.is_finite() {
                    continue;
                }
                let entry = best.entry(token).or_insert((price, depth));
                if depth > entry.1 {
                    *entry = (price, depth);
                }
            }
        }
        if best.is_empty() {
            break;
        }
        prices.extend(best.into_iter().map(|(t, (price, _))| (t, price)));
    }
    prices
}

/// TVL from the two sides' amounts: both priced → their sum; one priced → twice that side;
/// neither → `None` (the pool is unpriced).
pub fn tvl_usd(amount0: f64, amount1: f64, p0: Option<f64>, p1: Option<f64>) -> Option<f64> {
    match (p0, p1) {
        (Some(a), Some(b)) => Some(amount0 * a + amount1 * b),
        (Some(a), None) => Some(2.0 * amount0 * a),
        (None, Some(b)) => Some(2.0 * amount1 * b),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Address;

    fn meta(stable: bool) -> TokenMeta {
        TokenMeta {
            symbol: String::new(),
            decimals: 18,
            stable,
            pinned_usd: None,
        }
    }

    #[test]
    fn deepest_pool_wins_and_prices_follow_hops() {
        let usdc = Address::repeat_byte(1);
        let weth = Address::repeat_byte(2);
        let x = Address::repeat_byte(3);
        let tokens = HashMap::from([(usdc, meta(true)), (weth, meta(false)), (x, meta(false))]);
        let pools = [
            // Shallow pool says WETH = 2000 USDC; deep pool says 3000.
            PriceSource {
                token0: weth,
                token1: usdc,
                amount0: 1.0,
                amount1: 2_000.0,
                price0_in_1: 2_000.0,
            },
            PriceSource {
                token0: usdc,
                token1: weth,
                amount0: 3_000_000.0,
                amount1: 1_000.0,
                price0_in_1: 1.0 / 3_000.0,
            },
            // X priced through WETH: 1 X = 0.5 WETH.
            PriceSource {
                token0: x,
                token1: weth,
                amount0: 10.0,
                amount1: 5.0,
                price0_in_1: 0.5,
            },
        ];
        let prices = token_prices(&tokens, &pools);
        assert_eq!(prices[&usdc], 1.0);
        assert!((prices[&weth] - 3_000.0).abs() < 1e-9);
        assert!((prices[&x] - 1_500.0).abs() < 1e-9);
    }

    #[test]
    fn tvl_doubles_the_priced_side_and_is_none_when_unpriced() {
        assert_eq!(tvl_usd(2.0, 3.0, Some(1.0), Some(2.0)), Some(8.0));
        assert_eq!(tvl_usd(2.0, 3.0, None, Some(2.0)), Some(12.0));
        assert_eq!(tvl_usd(2.0, 3.0, None, None), None);
    }

    #[test]
    fn conversions() {
        assert_eq!(
            u256_to_f64(U256::from(1u64) << 64),
            18_446_744_073_709_551_616.0
        );
        assert!((human(U256::from(1_500_000u64), 6) - 1.5).abs() < 1e-12);
        // sqrtPriceX96 = 2^96 is price 1; with 18 vs 6 decimals, 1e12 token1 per token0.
        let one = U256::from(1u64) << 96;
        assert!((price_from_sqrt_x96(one, 18, 6) - 1e12).abs() < 1.0);
    }
}
