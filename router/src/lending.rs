//! The lending-reserve models: Aave v3 ([`RateModel::BorrowShare`]) and Compound v3
//! ([`RateModel::SupplyCurve`]). A reserve has `S` supplied and `B` borrowed; supplying `x`
//! lowers the utilisation `U = B/S` to `B/(S + x)`, hence the rates.
//!
//! **Aave v3.** Borrowers pay a variable rate `R(U)`, plus stable-rate interest `Fs` that does
//! not move with supply; suppliers share `(1 − rf)` of all interest pro rata (`rf`: the
//! reserve factor) and any incentives `Rw`. Over `H` days the deposit earns
//!
//! `g(x) = H/365 · x/(S + x) · I(B/(S + x))`, with `I(U) = (1 − rf)(B·R(U) + Fs) + Rw`.
//!
//! `R` is Aave's kinked line (`DefaultReserveInterestRateStrategy`): `r0 + s1·U/Uo` up to the
//! optimal utilisation `Uo`, then `r0 + s1 + s2·(U − Uo)/(1 − Uo)`. On each piece `R = a + bU`;
//! with `T = S + x` the marginal is `g'(x) = (pT + q)/T³` with
//! `p = k((1 − rf)B(aS − bB) + (1 − rf)Fs·S + Rw·S)` and `q = 2k(1 − rf)bB²S ≥ 0`
//! (`k = H/365`), so the deposit at which the marginal falls to `λ` is the one positive root of
//! the depressed cubic `λT³ − pT − q = 0`.
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
//!
//! **Compound v3 (Comet).** Each supplied dollar earns the supply rate, its own kinked line of
//! the utilisation (`supplyPerYearInterestRateBase`, `…SlopeLow` up to `supplyKink`, `…SlopeHigh`
//! above it), already net of the protocol's share (no reserve factor, no stable debt): in the
//! same [`RateStrategy`] terms, `r0 = base`, `s1 = slopeLow·kink`, `s2 = slopeHigh·(1 − kink)`,
//! `Uo = kink`. On a piece the supply rate is `A + bU` (`A = r0` below the kink, `A = r0 + s1 −
//! b·Uo` above it), so with incentives `Rw` paid pro rata
//!
//! `g(x) = k·x·(A + bB/T) + k·x·Rw/T = k·A·x + k·x/T·(bB + Rw)`:
//!
//! the Aave form `k·x/T·I + lin·x` with a constant `I = bB + Rw` and `lin = k·A`. Generally, for
//! `g = k·x·(A + C/T + D/T²)`, `g'(x)·T³ = kA·T³ + (CS − D)·T + 2DS`, so with `p = k(CS − D)`,
//! `q = 2kDS` the deposit at marginal `λ` solves `(λ − lin)T³ − pT − q = 0`: Aave's cubic with
//! `λ` shifted by `lin`. Here `D = 0`: `q = 0`, `p = kS(bB + Rw) ≥ 0` and
//! `T = √(p/(λ − lin))` in closed form. On a piece `g' = lin + p/T²` and
//! `g'' = −2p/T³ ≤ 0`: concave. At the kink the marginal jumps by `k(b_high − b_low)·U·x/T`
//! (`g' = k(R(U) − b·U·x/T + Rw·S/T²)` on each side, `R` continuous), up on every live market:
//! as for Aave, the range is the piece the reserve is on, stopped at the kink. Above the kink
//! `A < 0` on a steep high piece, and the marginal's zero `T = √(p/(−lin))` bounds the range.
//! Below the kink with `base > 0` the marginal never falls below `lin > 0`: without a room the
//! reserve would take unbounded capital at `λ ≤ lin`, so such a curve needs a finite room (the
//! quote bounds it by all the capital, which no allocation exceeds).

/// Which rate a reserve's [`RateStrategy`] describes, and so how its suppliers are paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateModel {
    /// Aave v3: `rates` is the variable borrow curve; suppliers share `1 − reserve_factor` of
    /// all interest (variable and stable) pro rata.
    BorrowShare,
    /// Compound v3 (Comet): `rates` is the supply curve, what each supplied dollar earns a year;
    /// `reserve_factor` and `stable_income` are 0 (the curve already nets the reserve's share,
    /// and there is no stable debt).
    SupplyCurve,
}

/// A kinked rate curve: rates per year (fractions), `optimal` in `(0, 1)`. Aave's variable
/// borrow curve ([`RateModel::BorrowShare`]) or Compound v3's supply curve
/// ([`RateModel::SupplyCurve`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStrategy {
    pub base: f64,
    pub slope1: f64,
    pub slope2: f64,
    pub optimal: f64,
}

impl RateStrategy {
    /// The curve's rate at utilisation `u`.
    pub fn rate(&self, u: f64) -> f64 {
        if u <= self.optimal {
            self.base + self.slope1 * u / self.optimal
        } else {
            self.base + self.slope1 + self.slope2 * (u - self.optimal) / (1.0 - self.optimal)
        }
    }
}

/// A lending reserve as the router sees it (validated: `supplied > 0`, `0 ≤ borrowed ≤
/// supplied`, `reserve_factor` in `[0, 1)`, both 0 with [`RateModel::SupplyCurve`]), amounts in
/// USD, incomes in USD a year.
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
    pub model: RateModel,
}

impl Reserve {
    pub fn utilization(&self, x: f64) -> f64 {
        self.borrowed / (self.supplied + x)
    }

    /// What all suppliers together earn a year once `x` more is supplied: `I(U)` (Aave), or
    /// `(S + x)·R(U) + Rw` (Compound v3).
    pub fn supplier_income(&self, x: f64) -> f64 {
        let u = self.utilization(x);
        match self.model {
            RateModel::BorrowShare => {
                (1.0 - self.reserve_factor)
                    * (self.borrowed * self.rates.rate(u) + self.stable_income)
                    + self.rewards
            }
            RateModel::SupplyCurve => (self.supplied + x) * self.rates.rate(u) + self.rewards,
        }
    }

    /// The supply APY once `x` more is supplied (what every supplied dollar earns a year).
    pub fn supply_apy(&self, x: f64) -> f64 {
        match self.model {
            RateModel::BorrowShare => self.supplier_income(x) / (self.supplied + x),
            RateModel::SupplyCurve => {
                self.rates.rate(self.utilization(x)) + self.rewards / (self.supplied + x)
            }
        }
    }

    /// The least a supplied dollar earns a year however much is supplied (the rate as
    /// `U → 0`, incentives aside): Compound v3's base rate; 0 for Aave, whose interest is
    /// shared among all suppliers. When it is positive, the reserve's curve needs a finite room.
    pub fn min_supply_rate(&self) -> f64 {
        match self.model {
            RateModel::BorrowShare => 0.0,
            RateModel::SupplyCurve => self.rates.base,
        }
    }
}

/// What bounds a reserve's deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapBound {
    /// The room the caller gives (supply-cap room, `max_per_pool_usd`, share of TVL, all the
    /// capital for a positive supply floor), or none.
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
    model: RateModel,
    s: f64,
    b: f64,
    /// `(1 − rf)·B` (Aave; 0 for Compound v3, whose gain does not go through the income).
    mb: f64,
    r_ref: f64,
    slope: f64,
    u_ref: f64,
    /// `(1 − rf)·Fs + Rw` (Aave), `Rw` (Compound v3).
    fixed: f64,
    /// `H/365`.
    k: f64,
    /// `k·A`, the supply rate's intercept on the piece over the horizon (Compound v3; 0 for
    /// Aave): the gain's part linear in `x`, and the shift of `λ` in the cubic.
    lin: f64,
    /// The cubic's coefficients: `g'(x) = lin + (pT + q)/T³` (`lin` and `q` are never both
    /// non-zero: Aave has `lin = 0`, Compound v3 `q = 0`).
    p: f64,
    q: f64,
    floor: f64,
    cap: f64,
    bound: CapBound,
    /// `g'(floor)`: at or above it the reserve takes `floor`.
    top: f64,
    /// `g'(cap)`: at or below it the reserve is full (0 when the cap is unbounded or the peak).
    fill: f64,
    /// `1/√top` and `1/√fill`: a pool's deposit is linear in `1/√λ`, an Aave reserve's nearly
    /// so, which places the root's first guess (Compound v3's root is closed-form).
    u_top: f64,
    u_fill: f64,
}

impl ReserveCurve {
    /// The curve of `r` over `horizon_days`, at most `room` (∞: none) deposited: the piece
    /// the reserve is on now, up to the kink and the marginal's zero. `room` must be finite
    /// when [`Reserve::min_supply_rate`] is positive and the reserve is below its kink.
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
    /// `room` must be finite when [`Reserve::min_supply_rate`] is positive.
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
        let mut c = ReserveCurve {
            model: r.model,
            s,
            b,
            mb: 0.0,
            r_ref,
            slope,
            u_ref,
            fixed: r.rewards,
            k,
            lin: 0.0,
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
        match r.model {
            RateModel::BorrowShare => {
                c.mb = (1.0 - r.reserve_factor) * b;
                c.fixed = (1.0 - r.reserve_factor) * r.stable_income + r.rewards;
                // p = k(PS − Q) = k(S·I(U0) − 2·slope·(1 − rf)B·B) at U0 = B/S, with I read
                // from the rate itself rather than from `a + bU` (whose `a` is large and
                // negative on a steep high piece); q has no cancellation.
                c.p = k * (s * c.income(b / s) - 2.0 * slope * c.mb * b);
                c.q = 2.0 * k * s * slope * c.mb * b;
            }
            RateModel::SupplyCurve => {
                debug_assert!(
                    r.reserve_factor == 0.0 && r.stable_income == 0.0,
                    "a supply curve nets the reserve's share and has no stable debt"
                );
                // A = R(u_ref) − slope·u_ref: it cancels on a steep high piece, but only what
                // the marginal's zero and the root read from it (both well conditioned there).
                c.lin = k * (r_ref - slope * u_ref);
                c.p = k * s * (slope * b + r.rewards);
            }
        }
        c
    }

    /// Bounds the range `[floor, cap]` by the marginal's zero and reads its end marginals.
    fn close(&mut self, floor: f64) {
        self.floor = floor;
        if let Some(peak) = self.peak()
            && peak < self.cap
        {
            self.cap = peak.max(floor);
            self.bound = CapBound::Peak;
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
        // Every dollar earns at least `lin`: only a room keeps the gain (and the demand at
        // λ ≤ lin) finite.
        debug_assert!(
            self.lin <= 0.0 || self.cap.is_finite(),
            "a positive supply-rate floor needs a finite room"
        );
    }

    /// The deposit at which the marginal is 0, if it ever is: `(λ − lin)T³ = pT + q` at
    /// `λ = 0`, i.e. `T = −q/p` when `p < 0` (Aave, `lin = 0`) and `T = √(p/(−lin))` when
    /// `lin < 0` (Compound v3's steep high piece, `q = 0`).
    fn peak(&self) -> Option<f64> {
        if self.lin < 0.0 {
            Some((self.p / -self.lin).sqrt() - self.s)
        } else if self.p < 0.0 {
            Some(-self.q / self.p - self.s)
        } else {
            None
        }
    }

    /// The piece's rate at utilisation `u`.
    fn rate(&self, u: f64) -> f64 {
        self.r_ref + self.slope * (u - self.u_ref)
    }

    /// Aave suppliers' income a year at utilisation `u` on the curve's piece.
    fn income(&self, u: f64) -> f64 {
        self.mb * self.rate(u) + self.fixed
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
        match self.model {
            RateModel::BorrowShare => self.k * x / t * self.income(self.b / t),
            // k·x·(R(U) + Rw/T), the rate read directly (not `lin·x` plus a near-opposite).
            RateModel::SupplyCurve => self.k * x * (self.rate(self.b / t) + self.fixed / t),
        }
    }

    /// The gain as `λ → 0`: at the cap, or its limit when there is no cap.
    pub fn gain_limit(&self) -> f64 {
        if self.cap.is_finite() {
            return self.gain(self.cap);
        }
        match self.model {
            // x/T → 1 and U → 0.
            RateModel::BorrowShare => self.k * self.income(0.0),
            // k·x/T·(bB + Rw) + lin·x: unbounded past a positive floor (which `close` refuses
            // without a room); without a cap `lin` is not negative (that would be a peak).
            RateModel::SupplyCurve if self.lin > 0.0 => f64::INFINITY,
            RateModel::SupplyCurve => self.k * (self.slope * self.b + self.fixed),
        }
    }

    /// `g'(x) = k/T²·(S·I(U) − (1 − rf)·slope·B·U·x)` (Aave), `k·(R(U) − slope·U·x/T +
    /// Rw·S/T²)` (Compound v3): the positive terms apart, no large cancellation but near the
    /// marginal's zero.
    pub fn marginal(&self, x: f64) -> f64 {
        let x = x.max(0.0);
        let t = self.s + x;
        let u = self.b / t;
        match self.model {
            RateModel::BorrowShare => {
                self.k / (t * t) * (self.s * self.income(u) - self.slope * self.mb * u * x)
            }
            RateModel::SupplyCurve => {
                self.k * (self.rate(u) - self.slope * u * (x / t) + self.fixed / t * (self.s / t))
            }
        }
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
        // Implicit derivative of (λ − lin)T³ = pT + q: dT/dλ = T³/(p − 3(λ − lin)T²) < 0.
        let slope = t * t * t / (self.p - 3.0 * (lambda - self.lin) * t * t);
        ((t - self.s).clamp(self.floor, self.cap), slope)
    }

    /// The root of `h(T) = pT + q − (λ − lin)T³` in `(S + floor, S + cap)` for
    /// `fill < λ < top`. Compound v3 (`q = 0`): `T = √(p/(λ − lin))`. Aave (`lin = 0`): `h` is
    /// concave in `T` and falls through its root (`h' = T³g'' < 0`). Start: between the range's
    /// ends, linearly in `1/√λ` (exact for a pool); without a finite fill, the bound
    /// `λT² = p + q/T ≤ p⁺ + q/S`. Then Halley's steps (cubic convergence: two from a start
    /// within a few percent). A last Newton step reads `h` from the rate itself
    /// (`h = k(S·T·I(U) − (1 − rf)·slope·B²·x) − λT³`), free of the cancellation between `pT`
    /// and `q` on a steep piece: the root to a few ulps of `S + x`.
    fn root(&self, lambda: f64) -> f64 {
        let (p, q) = (self.p, self.q);
        let (lo, hi) = (self.s + self.floor, self.s + self.cap);
        if self.model == RateModel::SupplyCurve {
            // λ − lin ≤ 0 only by rounding, just above a positive floor's fill: the cap.
            let shifted = lambda - self.lin;
            let t = if shifted > 0.0 {
                (p / shifted).sqrt()
            } else {
                hi
            };
            return t.min(hi).max(lo);
        }
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

/// A reserve curve for the proptests of the demand and transport solvers, from drawn values:
/// supplied `s`, utilisation `u`, rewards and reserve factor per dollar; the curve; the room;
/// and `kind` (0–1 of 6: Compound v3's supply curve, without a base rate for 1; else Aave's).
/// A supply curve with a positive base rate gets the finite room `finite`, as the quote gives
/// it.
#[cfg(test)]
pub(crate) fn sample_curve(
    (s, u, rw, rf): (f64, f64, f64, f64),
    (base, s1, s2, uo): (f64, f64, f64, f64),
    room: f64,
    (kind, finite): (u8, f64),
) -> ReserveCurve {
    let supply = kind < 2;
    let r = Reserve {
        supplied: s,
        borrowed: s * u,
        stable_income: 0.0,
        rewards: s * rw,
        reserve_factor: if supply { 0.0 } else { rf },
        rates: RateStrategy {
            base: if kind == 1 { 0.0 } else { base },
            slope1: s1,
            slope2: s2,
            optimal: uo,
        },
        model: if supply {
            RateModel::SupplyCurve
        } else {
            RateModel::BorrowShare
        },
    };
    let room = if r.min_supply_rate() > 0.0 {
        room.min(finite)
    } else {
        room
    };
    ReserveCurve::new(&r, 365.0, room)
}

#[cfg(test)]
mod tests;
