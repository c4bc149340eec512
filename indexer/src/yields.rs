//! Yield arithmetic. Units are explicit: every rate here is a fraction (0.05 = 5%), never a
//! percent; APR is simple, APY compounds. Results are signed and unclipped.

/// Milliseconds in one snapshot bucket.
pub const HOUR_MS: i64 = 3_600_000;

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

#[cfg(test)]
mod tests {
    use super::*;

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
