//! Lending markets' arithmetic, shared by the indexer (the figures of a reserve), the API (the
//! router's reserve curves) and the tests (the rates a reserve must show): the kinked borrow
//! curve of Aave v3's `DefaultReserveInterestRateStrategy` and the supply rate it implies;
//! Compound v3's two kinked curves (supply and borrow, each its own line of utilisation, per
//! second on chain: [`CometCurve`]) and its index accrual; APR → APY the way Aave's UI and
//! DefiLlama compound it for Aave, and the realised yield between two values of a liquidity
//! index.
//!
//! Rates are yearly fractions as `f64` (0.05 = 5 %). On chain they are rays (1e27); converting
//! loses nothing the figures need (f64 keeps 15–16 significant digits).

/// Seconds in the year Aave accrues over (365 days).
pub const SECONDS_PER_YEAR: f64 = 31_536_000.0;

/// 1e27, Aave's unit for rates and indexes.
pub const RAY: f64 = 1e27;

/// The variable borrow rate as a function of utilisation: `base + slope1 · U / optimal` up to
/// `optimal`, then `base + slope1 + slope2 · (U − optimal) / (1 − optimal)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateCurve {
    pub optimal_utilization: f64,
    pub base_rate: f64,
    pub slope1: f64,
    pub slope2: f64,
}

impl RateCurve {
    pub fn borrow_rate(&self, utilization: f64) -> f64 {
        let u = utilization.clamp(0.0, 1.0);
        let opt = self.optimal_utilization;
        if u <= opt {
            self.base_rate
                + if opt > 0.0 {
                    self.slope1 * u / opt
                } else {
                    0.0
                }
        } else {
            let excess = if opt < 1.0 {
                (u - opt) / (1.0 - opt)
            } else {
                0.0
            };
            self.base_rate + self.slope1 + self.slope2 * excess
        }
    }
}

/// 1e18, Compound v3's unit for rates, utilisation and kinks (`FACTOR_SCALE`).
pub const COMET_FACTOR_SCALE: u128 = 1_000_000_000_000_000_000;

/// 1e15, Compound v3's unit for its supply and borrow indexes (`BASE_INDEX_SCALE`).
pub const COMET_INDEX_SCALE: u128 = 1_000_000_000_000_000;

/// One of Comet's rate curves as it stores it: per-second rates and the kink, all 1e18-scaled
/// (`supplyKink`, `supplyPerSecondInterestRateBase`, `…SlopeLow`, `…SlopeHigh`, or the borrow
/// ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CometCurve {
    pub kink: u128,
    pub base: u128,
    pub slope_low: u128,
    pub slope_high: u128,
}

impl CometCurve {
    /// The per-second rate at `utilization` (1e18-scaled), exactly as Comet's `getSupplyRate`
    /// and `getBorrowRate` compute it (integer division included).
    pub fn rate_at(&self, utilization: u128) -> u128 {
        let mul = |n: u128, f: u128| n.saturating_mul(f) / COMET_FACTOR_SCALE;
        if utilization <= self.kink {
            self.base + mul(self.slope_low, utilization)
        } else {
            self.base
                + mul(self.slope_low, self.kink)
                + mul(self.slope_high, utilization - self.kink)
        }
    }

    /// The curve per year in [`RateCurve`]'s terms: the same kinked line, `slope1` the rise
    /// up to the kink and `slope2` the rise from it to full utilisation.
    pub fn per_year(&self) -> RateCurve {
        let year = |v: u128| v as f64 * SECONDS_PER_YEAR / COMET_FACTOR_SCALE as f64;
        let kink = self.kink as f64 / COMET_FACTOR_SCALE as f64;
        RateCurve {
            optimal_utilization: kink,
            base_rate: year(self.base),
            slope1: year(self.slope_low) * kink,
            slope2: year(self.slope_high) * (1.0 - kink),
        }
    }
}

/// A Comet index (supply or borrow, 1e15-scaled) accrued `elapsed` seconds at `rate_per_second`
/// (1e18-scaled), as `accruedInterestIndices` does: `index + index · rate · elapsed / 1e18`.
pub fn comet_index_after(index: u128, rate_per_second: u128, elapsed: u128) -> u128 {
    index + index.saturating_mul(rate_per_second.saturating_mul(elapsed)) / COMET_FACTOR_SCALE
}

/// What a reserve's rates are computed from, in tokens (any unit, the same for all).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReserveTotals {
    /// The underlying held by the reserve (its aToken's balance): what can be withdrawn or
    /// borrowed now.
    pub available: f64,
    pub variable_debt: f64,
    pub stable_debt: f64,
    /// The stable debt's average rate (0 without stable debt).
    pub average_stable_rate: f64,
}

impl ReserveTotals {
    pub fn debt(&self) -> f64 {
        self.variable_debt + self.stable_debt
    }

    /// Debt over available + debt, as Aave's strategy computes it (0 for an empty reserve).
    pub fn utilization(&self) -> f64 {
        let total = self.available + self.debt();
        if total > 0.0 {
            (self.debt() / total).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// The rates a reserve pays and charges at `totals` under `curve`: (supply APR, variable
/// borrow APR). The supply rate is the debt-weighted borrow rate × utilisation × (1 − reserve
/// factor) (Aave's strategy without unbacked supply, which only Portals mint).
pub fn reserve_rates(curve: &RateCurve, totals: &ReserveTotals, reserve_factor: f64) -> (f64, f64) {
    let debt = totals.debt();
    let u = totals.utilization();
    let variable = curve.borrow_rate(u);
    if debt <= 0.0 {
        return (0.0, variable);
    }
    let overall =
        (totals.variable_debt * variable + totals.stable_debt * totals.average_stable_rate) / debt;
    (overall * u * (1.0 - reserve_factor), variable)
}

/// APR → APY compounded every second, as Aave's interface and DefiLlama show it for Aave
/// (DefiLlama shows Compound v3's APR as is: docs/lending.md).
pub fn apy_of_apr(apr: f64) -> f64 {
    ((apr / SECONDS_PER_YEAR).ln_1p() * SECONDS_PER_YEAR).exp_m1()
}

/// The yearly yield realised between two values of a liquidity index `seconds` apart:
/// `(later / earlier)^(year / seconds) − 1`. `None` when the span or an index is not positive.
pub fn realised_apy(earlier: f64, later: f64, seconds: f64) -> Option<f64> {
    if !(earlier > 0.0 && later > 0.0 && seconds > 0.0) {
        return None;
    }
    Some(((later / earlier).ln() * SECONDS_PER_YEAR / seconds).exp_m1())
}

/// A liquidity index carried from `index` at its update time forward `seconds` at `rate`
/// (linear, as Aave's `getNormalizedIncome` does between updates).
pub fn index_after(index: f64, rate: f64, seconds: f64) -> f64 {
    index * (1.0 + rate * seconds / SECONDS_PER_YEAR)
}

/// The fields of Aave v3's `ReserveConfigurationMap` word the figures use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReserveConfig {
    pub ltv_bps: u32,
    pub liquidation_threshold_bps: u32,
    pub decimals: u8,
    pub active: bool,
    pub frozen: bool,
    pub borrowing_enabled: bool,
    pub paused: bool,
    pub reserve_factor_bps: u32,
    /// Whole tokens; 0 means no cap.
    pub borrow_cap: u64,
    pub supply_cap: u64,
}

impl ReserveConfig {
    /// Whether a supply to the reserve would be accepted: active, neither frozen nor paused.
    pub fn accepts_supply(&self) -> bool {
        self.active && !self.frozen && !self.paused
    }

    /// Decodes the word from its 32 big-endian bytes (bit 0 is the last byte's lowest).
    pub fn decode(word: &[u8; 32]) -> ReserveConfig {
        let bits = |from: u32, len: u32| -> u64 {
            let mut v: u128 = 0;
            for i in (0..len).rev() {
                let bit = from + i;
                let byte = word[31 - (bit / 8) as usize];
                v = (v << 1) | u128::from((byte >> (bit % 8)) & 1);
            }
            u64::try_from(v).unwrap_or(u64::MAX)
        };
        ReserveConfig {
            ltv_bps: bits(0, 16) as u32,
            liquidation_threshold_bps: bits(16, 16) as u32,
            decimals: bits(48, 8) as u8,
            active: bits(56, 1) == 1,
            frozen: bits(57, 1) == 1,
            borrowing_enabled: bits(58, 1) == 1,
            paused: bits(60, 1) == 1,
            reserve_factor_bps: bits(64, 16) as u32,
            borrow_cap: bits(80, 36),
            supply_cap: bits(116, 36),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURVE: RateCurve = RateCurve {
        optimal_utilization: 0.9,
        base_rate: 0.0,
        slope1: 0.04,
        slope2: 0.6,
    };

    #[test]
    fn borrow_rate_is_kinked_at_the_optimum() {
        assert_eq!(CURVE.borrow_rate(0.0), 0.0);
        assert!((CURVE.borrow_rate(0.45) - 0.02).abs() < 1e-15);
        assert!((CURVE.borrow_rate(0.9) - 0.04).abs() < 1e-15);
        assert!((CURVE.borrow_rate(0.95) - 0.34).abs() < 1e-12);
        assert!((CURVE.borrow_rate(1.0) - 0.64).abs() < 1e-12);
    }

    #[test]
    fn supply_rate_is_borrow_rate_times_utilisation_net_of_the_reserve_factor() {
        let totals = ReserveTotals {
            available: 40.0,
            variable_debt: 60.0,
            stable_debt: 0.0,
            average_stable_rate: 0.0,
        };
        let (supply, variable) = reserve_rates(&CURVE, &totals, 0.1);
        let want_variable = 0.04 * 0.6 / 0.9;
        assert!((variable - want_variable).abs() < 1e-15);
        assert!((supply - want_variable * 0.6 * 0.9).abs() < 1e-15);
    }

    #[test]
    fn realised_apy_of_a_compounding_index() {
        // 5 % APR compounded per second for 7 days.
        let days = 7.0 * 86_400.0;
        // (1 + r/N)^days, through ln_1p: `1 + r/N` itself would round away most of r/N.
        let later = ((0.05 / SECONDS_PER_YEAR).ln_1p() * days).exp();
        let got = realised_apy(1.0, later, days).unwrap_or_default();
        assert!((got - apy_of_apr(0.05)).abs() < 1e-9, "{got}");
        assert_eq!(realised_apy(0.0, 1.0, 1.0), None);
    }

    #[test]
    fn comet_curves_match_comets_arithmetic() {
        // cUSDCv3-like supply curve: kink 90 %, 0 % base, 5 %/yr below, 200 %/yr above.
        let per_s = |yearly: f64| (yearly * 1e18 / SECONDS_PER_YEAR) as u128;
        let c = CometCurve {
            kink: 900_000_000_000_000_000,
            base: 0,
            slope_low: per_s(0.05),
            slope_high: per_s(2.0),
        };
        let u = 500_000_000_000_000_000; // 50 %
        assert_eq!(c.rate_at(u), c.slope_low / 2);
        let above = 950_000_000_000_000_000; // 95 %
        assert_eq!(
            c.rate_at(above),
            c.slope_low * 9 / 10 + c.slope_high * 5 / 100
        );
        // The per-year line agrees with the per-second one on both pieces, to Comet's integer
        // rounding (a per-second rate is ~1e9 units: 1e-9 relative).
        let y = c.per_year();
        for (u, uf) in [(u, 0.5), (above, 0.95)] {
            let want = c.rate_at(u) as f64 * SECONDS_PER_YEAR / 1e18;
            assert!((y.borrow_rate(uf) - want).abs() < 1e-9 * want, "{uf}");
        }
        // One year at 5 %/yr per second, accrued once: the index grows by 5 %.
        let index = comet_index_after(COMET_INDEX_SCALE, per_s(0.05), 31_536_000);
        assert!((index as f64 / 1e15 - 1.05).abs() < 1e-9);
    }

    #[test]
    fn config_word_fields() {
        // ltv 7700, threshold 8000, decimals 6, active, borrowing, reserve factor 1000,
        // borrow cap 40,000,000, supply cap 50,000,000.
        let v: u128 = 7700
            | (8000 << 16)
            | (10_500 << 32)
            | (6 << 48)
            | (1 << 56)
            | (1 << 58)
            | (1000 << 64)
            | (40_000_000u128 << 80);
        let mut word = [0u8; 32];
        word[16..].copy_from_slice(&v.to_be_bytes());
        // Supply cap at bit 116: spans past the low 128 bits' top (bit 127).
        let cap: u64 = 50_000_000;
        for i in 0..36u32 {
            if (cap >> i) & 1 == 1 {
                let bit = 116 + i;
                word[31 - (bit / 8) as usize] |= 1 << (bit % 8);
            }
        }
        let c = ReserveConfig::decode(&word);
        assert_eq!(
            c,
            ReserveConfig {
                ltv_bps: 7700,
                liquidation_threshold_bps: 8000,
                decimals: 6,
                active: true,
                frozen: false,
                borrowing_enabled: true,
                paused: false,
                reserve_factor_bps: 1000,
                borrow_cap: 40_000_000,
                supply_cap: 50_000_000,
            }
        );
    }
}
