//! The pools as the API serves them: an in-memory snapshot of every pool record, with the three
//! orders (`APY_DESC`, `TVL_DESC`, `VOLUME_DESC`) computed once per snapshot, so a page is a
//! binary search and a short walk instead of a database query. The snapshot is reloaded when the
//! store's pools change (newest `updated_at_ms` or the count moved); readers keep the snapshot
//! they started with, so one answer never mixes two.
//!
//! Cursors are keyset positions (the order's value and the pool id), opaque base64: a page
//! resumes strictly after the last pool it returned, even when the snapshot changed in between.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use atoll_store::Store;
use atoll_store::records::PoolRecord;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum PoolOrder {
    ApyDesc,
    TvlDesc,
    VolumeDesc,
}

impl PoolOrder {
    fn tag(self) -> &'static str {
        match self {
            PoolOrder::ApyDesc => "apy",
            PoolOrder::TvlDesc => "tvl",
            PoolOrder::VolumeDesc => "vol",
        }
    }

    fn key(self, p: &PoolRecord) -> Option<f64> {
        match self {
            PoolOrder::ApyDesc => p.apy,
            PoolOrder::TvlDesc => p.tvl_usd,
            PoolOrder::VolumeDesc => p.volume_usd_1d,
        }
        .filter(|v| v.is_finite())
    }
}

/// Which pools a query wants. Strings are compared case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct PoolFilter {
    pub chain: Option<String>,
    pub protocol: Option<String>,
    /// `dex` or `lending` ([`PoolRecord::kind`]).
    pub kind: Option<&'static str>,
    /// A token symbol (`USDC`) or address, matched against the pool's tokens.
    pub token: Option<String>,
    pub min_tvl_usd: Option<f64>,
    pub min_apy: Option<f64>,
    pub include_dropped: bool,
}

impl PoolFilter {
    fn matches(&self, p: &PoolRecord) -> bool {
        if !self.include_dropped && p.dropped_reason.is_some() {
            return false;
        }
        if let Some(c) = &self.chain
            && !p.chain.eq_ignore_ascii_case(c)
        {
            return false;
        }
        if let Some(pr) = &self.protocol
            && !p.project.eq_ignore_ascii_case(pr)
        {
            return false;
        }
        if self.kind.is_some_and(|k| k != p.kind) {
            return false;
        }
        if let Some(t) = &self.token {
            let by_address = p
                .underlying_tokens
                .iter()
                .any(|u| u.eq_ignore_ascii_case(t));
            let by_symbol = p
                .symbol
                .split(['-', '/'])
                .any(|s| s.eq_ignore_ascii_case(t));
            if !(by_address || by_symbol) {
                return false;
            }
        }
        if let Some(min) = self.min_tvl_usd
            && !p.tvl_usd.is_some_and(|v| v >= min)
        {
            return false;
        }
        if let Some(min) = self.min_apy
            && !p.apy.is_some_and(|v| v >= min)
        {
            return false;
        }
        true
    }
}

/// Larger values first, pools without a value last, then by id: a total order.
fn compare(a: (Option<f64>, &str), b: (Option<f64>, &str)) -> Ordering {
    match (a.0, b.0) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then_with(|| a.1.cmp(b.1))
}

/// A decoded cursor: the position after which a page starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    order: PoolOrder,
    key: Option<f64>,
    id: String,
}

impl Position {
    pub fn encode(&self) -> String {
        let key = self
            .key
            .map_or_else(|| "-".to_string(), |k| format!("{:016x}", k.to_bits()));
        crate::cursor::encode("p1", &[self.order.tag(), &key, &self.id])
    }

    /// Parses `after`; a cursor from another order or not ours is a `BAD_USER_INPUT`.
    pub fn decode(cursor: &str, order: PoolOrder) -> Result<Position, ApiError> {
        let f = crate::cursor::decode(cursor, "p1", 3, "pool list")?;
        if f[0] != order.tag() {
            return Err(ApiError::BadInput(format!(
                "after: the cursor was made for another orderBy than {order:?}"
            )));
        }
        let key = if f[1] == "-" {
            None
        } else {
            let bits = u64::from_str_radix(&f[1], 16).map_err(|_| {
                ApiError::BadInput(format!(
                    "after: {cursor:?} is not a cursor of this pool list"
                ))
            })?;
            Some(f64::from_bits(bits))
        };
        Ok(Position {
            order,
            key,
            id: f[2].clone(),
        })
    }
}

/// One loaded set of pools.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub pools: Vec<Arc<PoolRecord>>,
    by_id: HashMap<String, usize>,
    orders: [Vec<usize>; 3],
    version: (i64, u64),
    /// Which reload made it (1, 2, …): answers cached from it are valid while it is current.
    pub generation: u64,
}

/// A page of pools.
pub struct PoolPage {
    pub pools: Vec<(String, Arc<PoolRecord>)>,
    pub has_next: bool,
    pub has_previous: bool,
    pub total: usize,
}

fn order_index(order: PoolOrder) -> usize {
    match order {
        PoolOrder::ApyDesc => 0,
        PoolOrder::TvlDesc => 1,
        PoolOrder::VolumeDesc => 2,
    }
}

impl Snapshot {
    pub fn new(records: Vec<PoolRecord>, version: (i64, u64)) -> Snapshot {
        let pools: Vec<Arc<PoolRecord>> = records.into_iter().map(Arc::new).collect();
        let by_id = pools
            .iter()
            .enumerate()
            .map(|(i, p)| (p.pool.clone(), i))
            .collect();
        let sorted = |order: PoolOrder| {
            let mut idx: Vec<usize> = (0..pools.len()).collect();
            idx.sort_by(|&a, &b| {
                compare(
                    (order.key(&pools[a]), &pools[a].pool),
                    (order.key(&pools[b]), &pools[b].pool),
                )
            });
            idx
        };
        let orders = [
            sorted(PoolOrder::ApyDesc),
            sorted(PoolOrder::TvlDesc),
            sorted(PoolOrder::VolumeDesc),
        ];
        Snapshot {
            pools,
            by_id,
            orders,
            version,
            generation: 0,
        }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<PoolRecord>> {
        self.by_id.get(id).map(|&i| &self.pools[i])
    }

    /// The first `limit` pools in `order` matching `filter` and `extra`.
    pub fn top(
        &self,
        filter: &PoolFilter,
        order: PoolOrder,
        limit: usize,
        extra: impl Fn(&PoolRecord) -> bool,
    ) -> Vec<Arc<PoolRecord>> {
        self.orders[order_index(order)]
            .iter()
            .map(|&i| &self.pools[i])
            .filter(|p| filter.matches(p) && extra(p))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Up to `first` pools matching `filter` in `order`, after `after`.
    pub fn page(
        &self,
        filter: &PoolFilter,
        order: PoolOrder,
        first: usize,
        after: Option<&Position>,
    ) -> PoolPage {
        let idx = &self.orders[order_index(order)];
        let start = after.map_or(0, |a| {
            idx.partition_point(|&i| {
                let p = &self.pools[i];
                compare((order.key(p), &p.pool), (a.key, &a.id)) != Ordering::Greater
            })
        });
        let mut total = 0;
        let mut before = 0;
        let mut pools = Vec::with_capacity(first.min(idx.len()));
        let mut has_next = false;
        for (n, &i) in idx.iter().enumerate() {
            let p = &self.pools[i];
            if !filter.matches(p) {
                continue;
            }
            total += 1;
            if n < start {
                before += 1;
            } else if pools.len() < first {
                let cursor = Position {
                    order,
                    key: order.key(p),
                    id: p.pool.clone(),
                }
                .encode();
                pools.push((cursor, p.clone()));
            } else {
                has_next = true;
            }
        }
        PoolPage {
            pools,
            has_next,
            has_previous: before > 0,
            total,
        }
    }
}

/// The current snapshot, replaced as a whole on reload.
#[derive(Debug, Default)]
pub struct PoolCatalog {
    current: RwLock<Arc<Snapshot>>,
}

impl PoolCatalog {
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .map_or_else(|p| p.into_inner().clone(), |s| s.clone())
    }

    /// Reloads from `store` when its pools changed; returns the ids of pools whose record
    /// differs from the previous snapshot (for `poolUpdated`).
    pub async fn refresh(&self, store: &Store) -> Result<Vec<Arc<PoolRecord>>, ApiError> {
        let version = store.pools_version().await?;
        let old = self.snapshot();
        if version == old.version && !old.pools.is_empty() {
            return Ok(Vec::new());
        }
        let records = store.pool_records(true).await?;
        let mut new = Snapshot::new(records, version);
        new.generation = old.generation + 1;
        let changed: Vec<Arc<PoolRecord>> = new
            .pools
            .iter()
            .filter(|p| old.get(&p.pool).is_none_or(|o| **o != ***p))
            .cloned()
            .collect();
        match self.current.write() {
            Ok(mut w) => *w = Arc::new(new),
            Err(p) => *p.into_inner() = Arc::new(new),
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, apy: Option<f64>, tvl: f64) -> PoolRecord {
        PoolRecord {
            pool: id.into(),
            chain: "ethereum".into(),
            chain_id: 1,
            project: "uniswap-v2".into(),
            kind: "dex",
            lending: None,
            symbol: "WETH-USDC".into(),
            address: id.into(),
            underlying_tokens: vec!["0xa".into(), "0xb".into()],
            tvl_usd: Some(tvl),
            apy_base: apy,
            apy_reward: None,
            apy,
            apy_base_7d: None,
            apr_base: None,
            apr_base_7d: None,
            volume_usd_1d: None,
            volume_usd_7d: None,
            fees_usd_1d: None,
            fees_usd_7d: None,
            fee_ppm: 3000,
            lp_fee_ppm: 3000,
            stablecoin: false,
            outlier: false,
            dropped_reason: None,
            price0_usd: None,
            price1_usd: None,
            reserve0: None,
            reserve1: None,
            sqrt_price_x96: None,
            tick: None,
            liquidity: None,
            block: None,
            block_time_ms: None,
        }
    }

    #[test]
    fn pages_walk_every_pool_once_in_order_with_ties_and_nulls() {
        let recs: Vec<PoolRecord> = (0..57)
            .map(|i| {
                let apy = if i % 7 == 0 {
                    None
                } else {
                    Some(f64::from(i % 5) / 10.0)
                };
                record(&format!("p{i:02}"), apy, f64::from(i))
            })
            .collect();
        let snap = Snapshot::new(recs, (1, 57));
        let filter = PoolFilter::default();
        let mut seen = Vec::new();
        let mut after: Option<Position> = None;
        loop {
            let page = snap.page(&filter, PoolOrder::ApyDesc, 10, after.as_ref());
            assert_eq!(page.total, 57);
            for (c, p) in &page.pools {
                seen.push((p.apy, p.pool.clone()));
                after = Some(Position::decode(c, PoolOrder::ApyDesc).unwrap());
            }
            if !page.has_next {
                break;
            }
        }
        assert_eq!(seen.len(), 57);
        let mut sorted = seen.clone();
        sorted.sort_by(|a, b| compare((a.0, &a.1), (b.0, &b.1)));
        assert_eq!(seen, sorted);
        assert!(seen.last().unwrap().0.is_none(), "unpriced pools come last");
    }

    #[test]
    fn a_cursor_of_another_order_or_garbage_is_bad_input() {
        let c = Position {
            order: PoolOrder::TvlDesc,
            key: Some(1.0),
            id: "x".into(),
        }
        .encode();
        assert!(Position::decode(&c, PoolOrder::TvlDesc).is_ok());
        assert!(matches!(
            Position::decode(&c, PoolOrder::ApyDesc),
            Err(ApiError::BadInput(_))
        ));
        assert!(matches!(
            Position::decode("!!", PoolOrder::ApyDesc),
            Err(ApiError::BadInput(_))
        ));
    }
}
