//! Wall-clock time as Atoll stores it: milliseconds since the Unix epoch, in an `i64` (the
//! column type of every `*_ms` field), and the spans the hourly and daily buckets use.

/// One hour in milliseconds: the width of a `pool_hourly` bucket.
pub const HOUR_MS: i64 = 3_600_000;
/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Now, in milliseconds since the Unix epoch. A clock before the epoch reads 0; one past
/// `i64::MAX` milliseconds reads `i64::MAX`.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_now_agree_with_the_clock() {
        assert_eq!(DAY_MS, 86_400_000);
        // After 2020-01-01 and before 2200-01-01, on any sane test machine.
        let now = now_ms();
        assert!(now > 1_577_836_800_000 && now < 7_258_118_400_000, "{now}");
    }
}
