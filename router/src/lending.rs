//! The lending-reserve model (Aave v3, Compound v3). A reserve has `S` supplied and `B` borrowed
//! at a variable rate `R(U)` of the utilisation `U = B/S`, plus stable-rate interest `Fs` that
//! does not move with supply; suppliers share `(1 − rf)` of all interest pro rata (`rf`: the
//! reserve factor) and any incentives `Rw`. Supplying `x` lowers the utilisation to
//! `B/(S + x)`, hence the rate, so over `H` days the deposit earns
//!
//! `g(x) = H/365 · x/(S + x) · I(B/(S + x))`, with `I(U) = (1 − rf)(B·R(U) + Fs) + Rw`.
//!
//! `R` is Aave's kinked line (`DefaultReserveInterestRateStrategy`; Compound v3's "kink" is
//! the same shape): `r0 + s1·U/Uo` up to the optimal utilisation `Uo`, then
//! `r0 + s1 + s2·(U − Uo)/(1 − Uo)`. On each piece `R = a + bU`; with `T = S + x` the marginal
//! is `g'(x) = (pT + q)/T³` with `p = k((1 − rf)B(aS − bB) + (1 − rf)Fs·S + Rw·S)` and
//! `q = 2k(1 − rf)bB²S ≥ 0` (`k = H/365`), so the deposit at which the marginal falls to `λ` is
//! the one positive root of the depressed cubic `λT³ − pT − q = 0`.
//!
//! Concavity (docs/router.md, "Lending reserves"): on a piece, `g''(x) = −(2pT + 3q)/T⁴`, and
//! wherever `g' ≥ 0` (`pT + q ≥ 0`), `2pT + 3q = 2(pT + q) + q ≥ q ≥ 0`: the marginal falls
//! wherever it is not negative, and `pT + q` is linear in `T`, so on a piece `g` rises while
//! concave up to the marginal's zero `T = −q/p` (only when `p < 0`) and falls after it. At the
//! kink `x_k = B/Uo − S` (reached only from a reserve above `Uo`) the marginal jumps *up* by
//! `k(1 − rf)(b_high − b_low)·x·B²/T³`: `g` is not concave across it. So the allowed range
//! of a reserve is one piece, up to its marginal's zero: `x ≤ x_k` when the reserve starts above
//! `Uo` (one quote never pushes it below optimal utilisation), `x ≤ −q/p − S` when `p < 0`. On
//! that range `g` is concave and increasing, and the allocation is exact.

/// A variable-rate strategy: rates per year (fractions), `optimal` in `(0, 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStrategy {
    pub base: f64,
    pub slope1: f64,
    pub slope2: f64,
    pub optimal: f64,
}

impl RateStrategy {
    /// The variable borrow rate at utilisation `u`.
    pub fn borrow_rate(&self, u: f64) -> f64 {
        if u <= self.optimal {
            self.base + self.slope1 * u / self.optimal
        } else {
            self.base + self.slope1 + self.slope2 * (u - self.optimal) / (1.0 - self.optimal)
        }
    }
}

/// A lending reserve as the router sees it (validated: `supplied > 0`, `0 ≤ borrowed ≤
/// supplied`, `reserve_factor` in `[0, 1)`), amounts in USD, incomes in USD a year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reserve {
    pub supplied: f64,
    pub borrowed: f64,
    /// Interest on stable-rate debt: fixed, whatever the supply.
    pub stable_income: f64,
    /// Incentives paid to suppliers pro rata (not subject to the reserve factor).
    pub rewards: f64,
    pub reserve_factor: f64,
    pub rates: RateStrategy,
}

impl Reserve {
    pub fn utilization(&self, x: f64) -> f64 {
        self.borrowed / (self.supplied + x)
    }

    /// What all suppliers together earn a year once `x` more is supplied: `I(U)`.
    pub fn supplier_income(&self, x: f64) -> f64 {
        let u = self.utilization(x);
        (1.0 - self.reserve_factor)
            * (self.borrowed * self.rates.borrow_rate(u) + self.stable_income)
            + self.rewards
    }

    /// The supply APY once `x` more is supplied (what every supplied dollar earns a year).
    pub fn supply_apy(&self, x: f64) -> f64 {
        self.supplier_income(x) / (self.supplied + x)
    }
}

/// What bounds a reserve's deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapBound {
    /// The room the caller gives (supply-cap room, `max_per_pool_usd`, share of TVL), or none.
    Room,
    /// The kink: one more dollar would push the reserve below optimal utilisation, where the
    /// marginal jumps up and the gain stops being concave.
    Kink,
    /// The marginal's zero: past it the deposit lowers the rate faster than it adds share.
    Peak,
}

/// One reserve's gain over the horizon on its allowed range `[floor, cap]` (`floor` is 0 but
/// for [`ReserveCurve::past_kink`]), where it is concave.
///
/// On that range the rate is one line `R(U) = r_ref + slope·(U − u_ref)` (`u_ref`: 0 below
/// the kink, `Uo` above it, so `R` is read without cancelling large terms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReserveCurve {
    s: f64,
    b: f64,
    /// `(1 − rf)·B`.
    mb: f64,
    r_ref: f64,
    slope: f64,
    u_ref: f64,
    /// `(1 − rf)·Fs + Rw`.
    fixed: f64,
    /// `H/365`.
    k: f64,
    /// The cubic's coefficients: `g'(x) = (pT + q)/T³`.
    p: f64,
    q: f64,
    floor: f64,
    cap: f64,
    bound: CapBound,
    /// `g'(floor)`: at or above it the reserve takes `floor`.
    top: f64,
    /// `g'(cap)`: at or below it the reserve is full (0 when the cap is unbounded or the peak).
    fill: f64,
    /// `1/√top` and `1/√fill`: a pool's deposit is linear in `1/√λ`, a reserve's nearly so,
    /// which places the root's first guess.
    u_top: f64,
    u_fill: f64,
}

impl ReserveCurve {
    /// The curve of `r` over `horizon_days`, at most `room` (∞: none) deposited: the piece
    /// the reserve is on now, up to the kink and the marginal's zero.
    pub fn new(r: &Reserve, horizon_days: f64, room: f64) -> ReserveCurve {
        let above = r.utilization(0.0) > r.rates.optimal;
        let mut c = ReserveCurve::piece(r, horizon_days, above);
        c.cap = room.max(0.0);
        if above {
            let kink = r.borrowed / r.rates.optimal - r.supplied;
            if kink < c.cap {
                c.cap = kink;
                c.bound = CapBound::Kink;
            }
        }
        c.close(0.0);
        c
    }

    /// For a reserve above its kink, the piece past it: deposits in `[x_k, room]`, up to the
    /// low piece's marginal zero. What [`ReserveCurve::new`] leaves out, to check that
    /// leaving it out costs nothing (docs/router.md, "Lending reserves"). `None` when the
    /// reserve is not above its kink, the room ends before it, or the gain only falls past it.
    pub fn past_kink(r: &Reserve, horizon_days: f64, room: f64) -> Option<ReserveCurve> {
        let kink = r.borrowed / r.rates.optimal - r.supplied;
        if !(kink > 0.0 && kink < room) {
            return None;
        }
        let mut c = ReserveCurve::piece(r, horizon_days, false);
        c.cap = room;
        c.close(kink);
        (c.cap > kink).then_some(c)
    }

    /// The curve of `r` on its low piece (`R = r0 + s1·U/Uo`) or its high one, uncapped.
    fn piece(r: &Reserve, horizon_days: f64, high: bool) -> ReserveCurve {
        let (s, b) = (r.supplied, r.borrowed);
        let rs = &r.rates;
        let (r_ref, slope, u_ref) = if high {
            (
                rs.base + rs.slope1,
                rs.slope2 / (1.0 - rs.optimal),
                rs.optimal,
            )
        } else {
            (rs.base, rs.slope1 / rs.optimal, 0.0)
        };
        let k = horizon_days / 365.0;
        let mb = (1.0 - r.reserve_factor) * b;
        let mut c = ReserveCurve {
            s,
            b,
            mb,
            r_ref,
            slope,
            u_ref,
            fixed: (1.0 - r.reserve_factor) * r.stable_income + r.rewards,
            k,
            p: 0.0,
            q: 0.0,
            floor: 0.0,
            cap: f64::INFINITY,
            bound: CapBound::Room,
            top: 0.0,
            fill: 0.0,
            u_top: 0.0,
            u_fill: 0.0,
        };
        // p = k(PS − Q) = k(S·I(U0) − 2·slope·(1 − rf)B·B) at U0 = B/S, with I read from the
        // rate itself rather than from `a + bU` (whose `a` is large and negative on a steep
        // high piece); q has no cancellation.
        c.p = k * (s * c.income(b / s) - 2.0 * slope * mb * b);
        c.q = 2.0 * k * s * slope * mb * b;
        c
    }

    /// Bounds the range `[floor, cap]` by the marginal's zero and reads its end marginals.
    fn close(&mut self, floor: f64) {
        self.floor = floor;
        if self.p < 0.0 {
            let peak = -self.q / self.p - self.s;
            if peak < self.cap {
                self.cap = peak.max(floor);
                self.bound = CapBound::Peak;
            }
        }
        self.top = self.marginal(floor);
        if self.top <= 0.0 {
            self.cap = floor;
        }
        if self.cap.is_finite() && self.bound != CapBound::Peak {
            self.fill = self.marginal(self.cap).max(0.0);
        }
        self.u_top = 1.0 / self.top.sqrt();
        self.u_fill = 1.0 / self.fill.sqrt();
    }

    /// Suppliers' income a year at utilisation `u` on the curve's piece.
    fn income(&self, u: f64) -> f64 {
        self.mb * (self.r_ref + self.slope * (u - self.u_ref)) + self.fixed
    }

    pub fn supplied(&self) -> f64 {
        self.s
    }

    /// Most the reserve takes (∞: no bound).
    pub fn cap(&self) -> f64 {
        self.cap
    }

    pub fn bound(&self) -> CapBound {
        self.bound
    }

    /// Least the reserve takes (0 but past a kink).
    pub fn floor(&self) -> f64 {
        self.floor
    }

    /// The marginal of the first dollar (at `floor`): the supply APY now, over the horizon.
    pub fn top_marginal(&self) -> f64 {
        self.top
    }

    /// The marginal at the cap (0 when there is none or it is the peak).
    pub fn fill_marginal(&self) -> f64 {
        self.fill
    }

    /// USD earned over the horizon by supplying `x` (on the curve's piece: `[floor, cap]`).
    pub fn gain(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        let t = self.s + x;
        self.k * x / t * self.income(self.b / t)
    }

    /// The gain as `λ → 0`: at the cap, or its limit when there is no cap.
    pub fn gain_limit(&self) -> f64 {
        if self.cap.is_finite() {
            self.gain(self.cap)
        } else {
            // x/T → 1 and U → 0.
            self.k * self.income(0.0)
        }
    }

    /// `g'(x) = k/T²·(S·I(U) − (1 − rf)·slope·B·U·x)`: both terms positive, no large
    /// cancellation but near the marginal's zero.
    pub fn marginal(&self, x: f64) -> f64 {
        let x = x.max(0.0);
        let t = self.s + x;
        let u = self.b / t;
        self.k / (t * t) * (self.s * self.income(u) - self.slope * self.mb * u * x)
    }

    /// The deposit at which the marginal falls to `lambda`, clamped to `[floor, cap]`.
    pub fn deposit_at(&self, lambda: f64) -> f64 {
        self.deposit_and_slope(lambda).0
    }

    /// The deposit at `lambda` and its derivative `dx/dλ` (0 outside the interior).
    pub(crate) fn deposit_and_slope(&self, lambda: f64) -> (f64, f64) {
        if lambda >= self.top {
            return (self.floor, 0.0);
        }
        if lambda <= self.fill {
            return (self.cap, 0.0);
        }
        let t = self.root(lambda);
        // Implicit derivative of λT³ = pT + q: dT/dλ = T³/(p − 3λT²) < 0.
        let slope = t * t * t / (self.p - 3.0 * lambda * t * t);
        ((t - self.s).clamp(self.floor, self.cap), slope)
    }

    /// The root of `h(T) = pT + q − λT³` in `(S + floor, S + cap)` for `fill < λ < top`. `h` is
    /// concave in `T` and falls through its root (`h' = T³g'' < 0`). Start: between the range's
    /// ends, linearly in `1/√λ` (exact for a pool); without a finite fill, the bound
    /// `λT² = p + q/T ≤ p⁺ + q/S`. Then Halley's steps (cubic convergence: two from a start
    /// within a few percent). A last Newton step reads `h` from the rate itself
    /// (`h = k(S·T·I(U) − (1 − rf)·slope·B²·x) − λT³`), free of the cancellation between `pT`
    /// and `q` on a steep piece: the root to a few ulps of `S + x`.
    fn root(&self, lambda: f64) -> f64 {
        let (p, q) = (self.p, self.q);
        let (lo, hi) = (self.s + self.floor, self.s + self.cap);
        let mut t = if self.fill > 0.0 {
            let w = (1.0 / lambda.sqrt() - self.u_top) / (self.u_fill - self.u_top);
            lo + (hi - lo) * w
        } else {
            ((p.max(0.0) + q / self.s) / lambda).sqrt()
        };
        t = t.min(hi).max(lo);
        for _ in 0..100 {
            let l3 = 3.0 * lambda * t;
            let h = (p - lambda * t * t) * t + q;
            let d = p - l3 * t;
            // h'' = −6λT; far right of the root Halley's denominator can vanish: Newton there.
            let den = d * d + l3 * h;
            let step = if den > 0.0 { h * d / den } else { h / d };
            if !step.is_finite() {
                break;
            }
            t -= step;
            // Cubic convergence: what is left is far below an ulp.
            if step.abs() <= 1e-7 * t {
                break;
            }
        }
        let x = t - self.s;
        let u = self.b / t;
        let h = self.k * (self.s * t * self.income(u) - self.slope * self.mb * self.b * x)
            - lambda * t * t * t;
        let d = self.p - 3.0 * lambda * t * t;
        if d < 0.0 { t - h / d } else { t }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Aave v3's USDC strategy on Ethereum (0 %, 4 %, 60 %, kink at 90 %), reserve factor 10 %.
    fn usdc(supplied: f64, borrowed: f64) -> Reserve {
        Reserve {
            supplied,
            borrowed,
            stable_income: 0.0,
            rewards: 0.0,
            reserve_factor: 0.1,
            rates: RateStrategy {
                base: 0.0,
                slope1: 0.04,
                slope2: 0.6,
                optimal: 0.9,
            },
        }
    }

    #[test]
    fn the_rate_matches_hand_computed_values() {
        let r = usdc(1.0, 0.0).rates;
        assert_eq!(r.borrow_rate(0.0), 0.0);
        assert!((r.borrow_rate(0.45) - 0.02).abs() < 1e-15);
        assert!((r.borrow_rate(0.9) - 0.04).abs() < 1e-15);
        // Above the kink: 4 % + 60 % · 0.05/0.1 = 34 %.
        assert!((r.borrow_rate(0.95) - 0.34).abs() < 1e-15);
        assert!((r.borrow_rate(1.0) - 0.64).abs() < 1e-15);
        let r = RateStrategy {
            base: 0.01,
            slope1: 0.07,
            slope2: 3.0,
            optimal: 0.45,
        };
        assert!((r.borrow_rate(0.3) - (0.01 + 0.07 * 0.3 / 0.45)).abs() < 1e-15);
        assert!((r.borrow_rate(0.5) - (0.08 + 3.0 * 0.05 / 0.55)).abs() < 1e-15);
    }

    #[test]
    fn gain_and_marginal_by_hand() {
        // S = 1000, B = 500; supplying 1000 halves the utilisation to 25 %: R = 4 %·25/90,
        // suppliers earn 0.9·500·R = 5 a year, half of it ours.
        let r = usdc(1_000.0, 500.0);
        let c = ReserveCurve::new(&r, 365.0, f64::INFINITY);
        assert!((r.supplier_income(1_000.0) - 5.0).abs() < 1e-12);
        assert!((c.gain(1_000.0) - 2.5).abs() < 1e-12);
        // The first dollar earns the supply APY: 0.9 · 50 % · 4 %·50/90.
        let apy = 0.9 * 0.5 * 0.04 * 0.5 / 0.9;
        assert!((c.top_marginal() - apy).abs() < 1e-15);
        assert!((r.supply_apy(0.0) - apy).abs() < 1e-15);
        // r0 = 0, no stable debt: g = k·(1 − rf)·b·B²·x/T², largest at x = S (T = 2S).
        assert_eq!(c.bound(), CapBound::Peak);
        assert!((c.cap() - 1_000.0).abs() < 1e-9);
        // Over 30 days, the same curve scaled by 30/365.
        let m = ReserveCurve::new(&r, 30.0, f64::INFINITY);
        assert!((m.gain(1_000.0) - 2.5 * 30.0 / 365.0).abs() < 1e-12);
    }

    #[test]
    fn a_reserve_above_its_kink_stops_there() {
        // 95 % utilised, a gentle slope2 (6 %): the kink at B/0.9 − S = 55.55… binds.
        let mut r = usdc(1_000.0, 950.0);
        r.rates.slope2 = 0.06;
        let c = ReserveCurve::new(&r, 365.0, f64::INFINITY);
        assert_eq!(c.bound(), CapBound::Kink);
        assert!((c.cap() - (950.0 / 0.9 - 1_000.0)).abs() < 1e-9);
        assert!((r.utilization(c.cap()) - 0.9).abs() < 1e-12);
        // The marginal jumps up past the kink: the low piece's slope is 0.04/0.9, not 0.6.
        let low = ReserveCurve::past_kink(&r, 365.0, f64::INFINITY).unwrap();
        assert_eq!(low.floor(), c.cap());
        let past = low.top_marginal();
        assert!(
            past > 2.0 * c.fill_marginal(),
            "{past} vs {}",
            c.fill_marginal()
        );
        let dx = 1e-6;
        let right = (r.supplier_income(c.cap() + dx) * (c.cap() + dx) / (1_000.0 + c.cap() + dx)
            - c.gain(c.cap()))
            / dx;
        assert!((right - past).abs() < 1e-5 * past, "{right} vs {past}");
        // The gain is the one of the kinked rate on the whole range.
        for x in [0.0, 10.0, 30.0, c.cap()] {
            let want = x / (1_000.0 + x) * r.supplier_income(x);
            assert!((c.gain(x) - want).abs() < 1e-12 * want.max(1.0));
        }
        // A smaller room binds first.
        let c = ReserveCurve::new(&r, 365.0, 20.0);
        assert_eq!((c.bound(), c.cap()), (CapBound::Room, 20.0));
    }

    #[test]
    fn a_steep_piece_peaks_before_the_kink() {
        // Aave's USDC at 95 %: slope2 60 % over the last 10 % of utilisation. Past 3 % more
        // supply, lowering the rate costs more than the share adds.
        let r = usdc(1_000.0, 950.0);
        let c = ReserveCurve::new(&r, 365.0, f64::INFINITY);
        assert_eq!(c.bound(), CapBound::Peak);
        // T = −q/p = 2S·6·855·950/(2·6·855·950 − S·I(0.95)), I = 855·0.34.
        let q = 2.0 * 1_000.0 * 6.0 * 855.0 * 950.0;
        let want = q / (2.0 * 6.0 * 855.0 * 950.0 - 1_000.0 * 855.0 * 0.34) - 1_000.0;
        assert!(
            (c.cap() - want).abs() < 1e-9 * want,
            "{} vs {want}",
            c.cap()
        );
        assert!(c.cap() < 950.0 / 0.9 - 1_000.0);
        assert!(c.marginal(c.cap()).abs() < 1e-12 * c.top_marginal());
        assert!(c.gain(c.cap()) > c.gain(c.cap() * 0.99));
        assert!(c.gain(c.cap()) > c.gain(c.cap() * 1.01));
    }

    #[test]
    fn without_borrowers_it_is_a_fee_share_pool() {
        let mut r = usdc(1e6, 0.0);
        r.rewards = 5e4;
        let c = ReserveCurve::new(&r, 365.0, f64::INFINITY);
        let pool = crate::model::PoolYield {
            fees_per_year: 5e4,
            tvl: 1e6,
        };
        for lambda in [0.04, 0.01, 0.001] {
            let want = pool.deposit_at_marginal(lambda);
            assert!((c.deposit_at(lambda) - want).abs() < 1e-9 * (1e6 + want));
        }
        assert_eq!(c.cap(), f64::INFINITY);
        assert!((c.gain_limit() - 5e4).abs() < 1e-9);
    }

    fn reserve() -> impl Strategy<Value = Reserve> {
        (
            (
                1e3f64..1e10,
                0.0f64..1.0,
                0.0f64..0.05,
                0.0f64..0.05,
                0.0f64..0.3,
            ),
            (0.0f64..0.05, 0.0f64..0.2, 0.0f64..4.0, 0.05f64..0.98),
        )
            .prop_map(|((s, u, fs, rw, rf), (base, s1, s2, uo))| Reserve {
                supplied: s,
                borrowed: s * u,
                stable_income: s * fs,
                rewards: s * rw,
                reserve_factor: rf,
                rates: RateStrategy {
                    base,
                    slope1: s1,
                    slope2: s2,
                    optimal: uo,
                },
            })
    }

    fn room() -> impl Strategy<Value = f64> {
        prop_oneof![Just(f64::INFINITY), 1.0f64..1e10]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        #[test]
        fn deposit_at_inverts_the_marginal(r in reserve(), room in room(), h in 1.0f64..400.0, frac in 0.0f64..1.0) {
            let c = ReserveCurve::new(&r, h, room);
            prop_assume!(c.top_marginal() > 0.0);
            let hi = if c.cap().is_finite() { c.cap() } else { 1e3 * r.supplied };
            let x = frac * hi;
            let lambda = c.marginal(x);
            prop_assume!(lambda > c.fill_marginal() && lambda < c.top_marginal());
            let back = c.deposit_at(lambda);
            prop_assert!((back - x).abs() <= 1e-12 * (r.supplied + x) * 8.0, "x {x} back {back} cap {}", c.cap());
        }

        #[test]
        fn the_curve_is_the_model_and_concave_on_its_range(r in reserve(), room in room(), a in 0.0f64..1.0, b in 0.0f64..1.0) {
            let c = ReserveCurve::new(&r, 365.0, room);
            prop_assume!(c.cap() > 0.0);
            let hi = if c.cap().is_finite() { c.cap() } else { 1e3 * r.supplied };
            let (xa, xb) = (a * hi, b * hi);
            // The same gain as the kinked rate's, read directly.
            for x in [xa, xb] {
                let want = x / (r.supplied + x) * r.supplier_income(x);
                prop_assert!((c.gain(x) - want).abs() <= 1e-11 * r.supplier_income(0.0).max(1e-300) + 1e-12 * want, "{} vs {want}", c.gain(x));
            }
            let scale = c.top_marginal() * hi;
            let mid = c.gain((xa + xb) / 2.0);
            prop_assert!(mid + 1e-12 * scale >= (c.gain(xa) + c.gain(xb)) / 2.0);
            // Increasing, with a falling, non-negative marginal.
            let (lo, up) = (xa.min(xb), xa.max(xb));
            prop_assert!(c.gain(up) + 1e-12 * scale >= c.gain(lo));
            prop_assert!(c.marginal(up) <= c.marginal(lo) * (1.0 + 1e-12) + 1e-15 * c.top_marginal());
            prop_assert!(c.marginal(up) >= -1e-12 * c.top_marginal());
            // The utilisation stays on one side of the kink.
            let u0 = r.utilization(0.0);
            if u0 > r.rates.optimal {
                prop_assert!(r.utilization(up) >= r.rates.optimal * (1.0 - 1e-12));
            }
        }

        #[test]
        fn the_marginal_is_the_derivative(r in reserve(), frac in 0.01f64..0.99) {
            let c = ReserveCurve::new(&r, 365.0, f64::INFINITY);
            prop_assume!(c.cap() > 0.0);
            let hi = if c.cap().is_finite() { c.cap() } else { 10.0 * r.supplied };
            let x = frac * hi;
            let dx = 1e-5 * hi;
            let numeric = (c.gain(x + dx) - c.gain(x - dx)) / (2.0 * dx);
            prop_assert!((numeric - c.marginal(x)).abs() <= 1e-5 * c.top_marginal(), "{numeric} vs {}", c.marginal(x));
        }
    }
}
