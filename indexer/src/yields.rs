//! Yield arithmetic. Units are explicit: every rate here is a fraction (0.05 = 5%), never a
//! percent; APR is simple, APY compounds (daily, as DefiLlama's `aprToApy`). Results are signed
//! and unclipped.

use atoll_core::time::HOUR_MS;
use atoll_store::ingest::{HourlyVolume, PastSample, YieldFigures};

use crate::prices::human;

/// The start of the hour bucket holding `time_ms`.
pub fn hour_bucket(time_ms: i64) -> i64 {
    time_ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// Simple yearly rate from the LP fees earned over `days` on `tvl_usd`:
/// `fees / days × 365 / tvl`. `None` when the TVL is not positive (the rate is undefined).
pub fn apr_from_fees(fees_usd: f64, days: f64, tvl_usd: f64) -> Option<f64> {
    if tvl_usd <= 0.0 || days <= 0.0 || !tvl_usd.is_finite() || !fees_usd.is_finite() {
        return None;
    }
    Some(fees_usd / days * 365.0 / tvl_usd)
}

/// The APY an APR becomes when compounded `periods_per_year` times: `(1 + apr/n)^n − 1`.
pub fn apy_from_apr(apr: f64, periods_per_year: u32) -> f64 {
    let n = f64::from(periods_per_year.max(1));
    (1.0 + apr / n).powf(n) - 1.0
}

/// Compounding periods per year of the APY figures.
pub const COMPOUNDING_PER_YEAR: u32 = 365;
/// A sample jumping more than this factor (TVL or APY) ...
pub const OUTLIER_FACTOR: f64 = 5.0;
/// ... against one at most this old is flagged as an outlier.
pub const OUTLIER_WINDOW_MS: i64 = 5 * HOUR_MS;

/// Why a pool is left out of results.
pub mod dropped {
    pub const UNPRICED: &str = "unpriced";
    pub const BELOW_MIN_TVL: &str = "below_min_tvl";
    pub const OUTLIER: &str = "outlier";
}

/// A pool's tokens as valuation needs them: decimals and USD prices (the pool's own spot price
/// fills in a side no other pool prices, so volume on that side still counts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Valuation {
    pub decimals0: u8,
    pub decimals1: u8,
    pub price0: Option<f64>,
    pub price1: Option<f64>,
}

impl Valuation {
    fn usd(&self, amount0: atoll_core::U256, amount1: atoll_core::U256) -> f64 {
        human(amount0, self.decimals0) * self.price0.unwrap_or(0.0)
            + human(amount1, self.decimals1) * self.price1.unwrap_or(0.0)
    }

    /// (volume, LP fees) of one hour bucket in USD.
    pub fn bucket_usd(&self, h: &HourlyVolume) -> (f64, f64) {
        (
            self.usd(h.volume0, h.volume1),
            self.usd(h.lp_fees0, h.lp_fees1),
        )
    }
}

/// Whether `now` is more than [`OUTLIER_FACTOR`] away from `before` (either way).
fn jumped(now: Option<f64>, before: Option<f64>) -> bool {
    match (now, before) {
        (Some(a), Some(b)) if a > 0.0 && b > 0.0 => {
            a / b > OUTLIER_FACTOR || b / a > OUTLIER_FACTOR
        }
        _ => false,
    }
}

/// The yield figures of a pool at the hour bucket `head_bucket_ms`, from its hourly volumes
/// (any order; older than 7 days are ignored), its TVL, and its latest earlier sample.
pub fn figures(
    hourly: &[&HourlyVolume],
    head_bucket_ms: i64,
    valuation: &Valuation,
    tvl_usd: Option<f64>,
    previous: Option<&PastSample>,
    min_tvl_usd: f64,
) -> YieldFigures {
    let day_from = head_bucket_ms - 23 * HOUR_MS;
    let week_from = head_bucket_ms - (7 * 24 - 1) * HOUR_MS;
    let mut f = YieldFigures {
        price0_usd: valuation.price0,
        price1_usd: valuation.price1,
        tvl_usd,
        ..YieldFigures::default()
    };
    for h in hourly {
        if h.bucket_start_ms > head_bucket_ms || h.bucket_start_ms < week_from {
            continue;
        }
        let (volume, fees) = valuation.bucket_usd(h);
        f.volume_usd_7d += volume;
        f.fees_usd_7d += fees;
        if h.bucket_start_ms >= day_from {
            f.volume_usd_1d += volume;
            f.fees_usd_1d += fees;
        }
    }
    if let Some(tvl) = tvl_usd {
        f.apr_base = apr_from_fees(f.fees_usd_1d, 1.0, tvl);
        f.apr_base_7d = apr_from_fees(f.fees_usd_7d, 7.0, tvl);
    }
    f.apy_base = f.apr_base.map(|r| apy_from_apr(r, COMPOUNDING_PER_YEAR));
    f.apy_base_7d = f.apr_base_7d.map(|r| apy_from_apr(r, COMPOUNDING_PER_YEAR));
    // No reward source is known for the pools indexed so far.
    f.apy_reward = None;
    f.apy = f.apy_base;
    f.outlier = previous.is_some_and(|p| {
        head_bucket_ms - p.bucket_start_ms <= OUTLIER_WINDOW_MS
            && (jumped(tvl_usd, p.tvl_usd) || jumped(f.apy, p.apy))
    });
    f.dropped_reason = match tvl_usd {
        None => Some(dropped::UNPRICED),
        Some(tvl) if tvl < min_tvl_usd => Some(dropped::BELOW_MIN_TVL),
        Some(_) if f.outlier => Some(dropped::OUTLIER),
        Some(_) => None,
    }
    .map(str::to_string);
    f
}

/// One pool's figures at the bucket `bucket_ms`, from its side of the price map: the valuation
/// (a side no other pool prices takes the pool's own spot price), TVL, the rolling windows of
/// `hourly` (all pools; this pool's rows are picked), the outlier rule against its newest row
/// of `past`. Returns the figures and this bucket's (volume, LP fees) in USD.
#[allow(clippy::too_many_arguments)]
pub fn pool_figures(
    pool_id: &str,
    decimals: (u8, u8),
    amounts: (f64, f64),
    price0_in_1: f64,
    prices: (Option<f64>, Option<f64>),
    hourly: &[HourlyVolume],
    past: &[PastSample],
    bucket_ms: i64,
    min_tvl_usd: f64,
) -> (YieldFigures, f64, f64) {
    let (p0, p1) = prices;
    let implied = price0_in_1.is_finite() && price0_in_1 > 0.0;
    let valuation = Valuation {
        decimals0: decimals.0,
        decimals1: decimals.1,
        price0: p0.or(p1.filter(|_| implied).map(|x| x * price0_in_1)),
        price1: p1.or(p0.filter(|_| implied).map(|x| x / price0_in_1)),
    };
    let tvl = crate::prices::tvl_usd(amounts.0, amounts.1, p0, p1);
    let mine: Vec<&HourlyVolume> = hourly.iter().filter(|h| h.pool_id == pool_id).collect();
    let previous = past.iter().rfind(|s| s.pool_id == pool_id);
    let figures = figures(&mine, bucket_ms, &valuation, tvl, previous, min_tvl_usd);
    let (volume_usd, fees_usd) = mine
        .iter()
        .find(|h| h.bucket_start_ms == bucket_ms)
        .map_or((0.0, 0.0), |h| valuation.bucket_usd(h));
    (figures, volume_usd, fees_usd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use atoll_core::U256;

    fn hour(bucket: i64, v0: u64, fee0: u64) -> HourlyVolume {
        HourlyVolume {
            pool_id: "p".into(),
            bucket_start_ms: bucket,
            swaps: 1,
            volume0: U256::from(v0),
            volume1: U256::ZERO,
            lp_fees0: U256::from(fee0),
            lp_fees1: U256::ZERO,
            first_block: 1,
            last_block: 1,
        }
    }

    const VAL: Valuation = Valuation {
        decimals0: 6,
        decimals1: 18,
        price0: Some(1.0),
        price1: None,
    };

    #[test]
    fn day_and_week_windows_and_rates() {
        let head = 1_000 * HOUR_MS;
        // $100 of fees in the current hour, $600 six days ago, $1000 eight days ago (ignored).
        let rows = [
            hour(head, 100_000_000_000, 100_000_000),
            hour(head - 6 * 24 * HOUR_MS, 0, 600_000_000),
            hour(head - 8 * 24 * HOUR_MS, 0, 1_000_000_000),
        ];
        let refs: Vec<&HourlyVolume> = rows.iter().collect();
        let f = figures(&refs, head, &VAL, Some(365_000.0), None, 1_000.0);
        assert!((f.fees_usd_1d - 100.0).abs() < 1e-9);
        assert!((f.fees_usd_7d - 700.0).abs() < 1e-9);
        assert!((f.volume_usd_1d - 100_000.0).abs() < 1e-6);
        assert!((f.apr_base.unwrap() - 0.1).abs() < 1e-12);
        assert!((f.apr_base_7d.unwrap() - 0.1).abs() < 1e-12);
        assert!((f.apy_base.unwrap() - apy_from_apr(0.1, 365)).abs() < 1e-15);
        assert_eq!(f.apy, f.apy_base);
        assert_eq!(f.dropped_reason, None);
        assert!(!f.outlier);
    }

    #[test]
    fn outliers_and_drop_reasons() {
        let head = 10 * HOUR_MS;
        let prev = PastSample {
            pool_id: "p".into(),
            bucket_start_ms: head - 2 * HOUR_MS,
            tvl_usd: Some(10_000.0),
            apy: None,
        };
        let f = figures(&[], head, &VAL, Some(60_000.0), Some(&prev), 1_000.0);
        assert!(f.outlier);
        assert_eq!(f.dropped_reason.as_deref(), Some(dropped::OUTLIER));
        // The same jump from a sample 6 hours old is not an outlier.
        let old = PastSample {
            bucket_start_ms: head - 6 * HOUR_MS,
            ..prev
        };
        assert!(!figures(&[], head, &VAL, Some(60_000.0), Some(&old), 1_000.0).outlier);
        assert_eq!(
            figures(&[], head, &VAL, Some(10.0), None, 1_000.0)
                .dropped_reason
                .as_deref(),
            Some(dropped::BELOW_MIN_TVL)
        );
        let f = figures(&[], head, &VAL, None, None, 1_000.0);
        assert_eq!(f.dropped_reason.as_deref(), Some(dropped::UNPRICED));
        assert_eq!(f.apr_base, None);
    }

    #[test]
    fn buckets_floor_to_the_hour_even_before_the_epoch() {
        assert_eq!(hour_bucket(7_199_999), 3_600_000);
        assert_eq!(hour_bucket(7_200_000), 7_200_000);
        assert_eq!(hour_bucket(-1), -3_600_000);
    }

    #[test]
    fn apr_and_apy() {
        // $100 of fees in a day on $365,000 TVL is 10% a year.
        assert!((apr_from_fees(100.0, 1.0, 365_000.0).unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(apr_from_fees(1.0, 1.0, 0.0), None);
        assert!((apy_from_apr(0.1, 365) - 0.105_155_781_6).abs() < 1e-9);
        assert_eq!(apy_from_apr(0.0, 365), 0.0);
        // Negative rates (e.g. a loss) stay negative: stored unclipped.
        assert!(apy_from_apr(-0.1, 1) < 0.0);
    }
}
