//! The pool record as users read it: a superset of DefiLlama's yields record (`chain`,
//! `project`, `symbol`, `tvl_usd`, `apy_base`, `apy_reward`, `apy`, `apy_base_7d`,
//! `underlying_tokens`, `volume_usd_1d/7d`, `stablecoin`, …) with snake_case names, plus the chain
//! id, fees, APR next to APY, the outlier flag and `dropped_reason`, and the raw state the
//! figures came from. Every rate is a fraction (0.05 = 5 %), never a percent.

use sea_orm::{EntityTrait, QueryOrder};
use serde::Serialize;

use crate::entities::{chains, pools};
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolRecord {
    pub pool: String,
    pub chain: String,
    pub chain_id: i64,
    pub project: String,
    pub symbol: String,
    pub address: String,
    pub underlying_tokens: Vec<String>,
    pub tvl_usd: Option<f64>,
    pub apy_base: Option<f64>,
    pub apy_reward: Option<f64>,
    pub apy: Option<f64>,
    pub apy_base_7d: Option<f64>,
    pub apr_base: Option<f64>,
    pub apr_base_7d: Option<f64>,
    pub volume_usd_1d: Option<f64>,
    pub volume_usd_7d: Option<f64>,
    pub fees_usd_1d: Option<f64>,
    pub fees_usd_7d: Option<f64>,
    pub fee_ppm: i32,
    pub lp_fee_ppm: i32,
    pub stablecoin: bool,
    pub outlier: bool,
    pub dropped_reason: Option<String>,
    pub price0_usd: Option<f64>,
    pub price1_usd: Option<f64>,
    pub reserve0: Option<String>,
    pub reserve1: Option<String>,
    pub sqrt_price_x96: Option<String>,
    pub tick: Option<i32>,
    pub liquidity: Option<String>,
    pub block: Option<i64>,
    pub block_time_ms: Option<i64>,
}

impl Store {
    /// Every pool's record, by TVL (largest first; unpriced last). `include_dropped: false`
    /// leaves out pools with a `dropped_reason`, as a results page would.
    pub async fn pool_records(&self, include_dropped: bool) -> Result<Vec<PoolRecord>, StoreError> {
        let names: std::collections::HashMap<i64, String> = chains::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.chain_id, c.name))
            .collect();
        let rows: Vec<(pools::Model, Option<String>)> = pools::Entity::find()
            .order_by_asc(pools::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| {
                let name = names.get(&p.chain_id).cloned();
                (p, name)
            })
            .collect();
        let mut out: Vec<PoolRecord> = rows
            .into_iter()
            .filter(|(p, _)| include_dropped || p.dropped_reason.is_none())
            .map(|(p, c)| PoolRecord {
                chain: c.unwrap_or_else(|| p.chain_id.to_string()),
                chain_id: p.chain_id,
                project: p.protocol,
                symbol: p.symbol,
                underlying_tokens: vec![p.token0, p.token1],
                tvl_usd: p.tvl_usd,
                apy_base: p.apy_base,
                apy_reward: p.apy_reward,
                apy: p.apy,
                apy_base_7d: p.apy_base7d,
                apr_base: p.apr_base,
                apr_base_7d: p.apr_base7d,
                volume_usd_1d: p.volume_usd1d,
                volume_usd_7d: p.volume_usd7d,
                fees_usd_1d: p.fees_usd1d,
                fees_usd_7d: p.fees_usd7d,
                fee_ppm: p.fee_ppm,
                lp_fee_ppm: p.lp_fee_ppm,
                stablecoin: p.stablecoin,
                outlier: p.outlier,
                dropped_reason: p.dropped_reason,
                price0_usd: p.price0_usd,
                price1_usd: p.price1_usd,
                reserve0: p.reserve0,
                reserve1: p.reserve1,
                sqrt_price_x96: p.sqrt_price,
                tick: p.tick,
                liquidity: p.liquidity,
                block: p.state_block,
                block_time_ms: p.state_time_ms,
                pool: p.id,
                address: p.address,
            })
            .collect();
        out.sort_by(|a, b| {
            b.tvl_usd
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.tvl_usd.unwrap_or(f64::NEG_INFINITY))
        });
        Ok(out)
    }
}

impl Store {
    /// The USD price of every token the chain's pools price, keyed by the token's address as
    /// stored; where several pools price a token, the deepest (highest TVL) one's.
    pub async fn token_prices_usd(
        &self,
        chain_id: u64,
    ) -> Result<std::collections::HashMap<String, f64>, StoreError> {
        use sea_orm::{ColumnTrait, QueryFilter};
        let chain = crate::queries::to_i64("chain id", chain_id)?;
        let mut best: std::collections::HashMap<String, (f64, f64)> = Default::default();
        for p in pools::Entity::find()
            .filter(pools::Column::ChainId.eq(chain))
            .all(self.connection())
            .await?
        {
            let depth = p.tvl_usd.unwrap_or(0.0);
            for (token, price) in [(p.token0, p.price0_usd), (p.token1, p.price1_usd)] {
                let Some(price) = price.filter(|x| x.is_finite() && *x > 0.0) else {
                    continue;
                };
                let entry = best.entry(token).or_insert((price, depth));
                if depth > entry.1 {
                    *entry = (price, depth);
                }
            }
        }
        Ok(best.into_iter().map(|(t, (p, _))| (t, p)).collect())
    }
}
