//! One chain's demand for capital, exactly. Pool `i` (gain `F_i · x/(T_i + x)` over the
//! horizon, cap `c_i`) takes `x_i(λ) = clamp(√(F_i T_i / λ) − T_i, 0, c_i)` at marginal yield
//! `λ`; between two consecutive breakpoints (a pool entering at `λ = F_i/T_i`, or filling its cap
//! at `λ = F_i T_i/(T_i + c_i)²`) the chain's demand is `A + B/√λ − C` and its gain `E − B√λ`,
//! with `A` the filled caps, `B = Σ√(F_i T_i)` and `C = Σ T_i` over the pools in between, and `E`
//! the gains of the filled pools plus `Σ F_i` of those in between. After one sort, demand, gain
//! and the inverse (the marginal at which the chain takes `X`) are O(log n) and exact.
//!
//! Lending reserves ([`ReserveCurve`]) have no closed-form sum: each takes the root of a cubic.
//! Their entries and caps are breakpoints too, a full reserve counts in `A` and `E` like a full
//! pool, and each segment knows the reserves between their entry and their cap (a segment tree
//! over the segments, so finding them is O(log n + k)); only those `k` solve their cubic. The
//! inverse is then Newton's method in `u = 1/√λ` (where a pool's demand is linear) inside a
//! bracket that only shrinks.

use crate::lending::ReserveCurve;

/// "At the marginal", relatively: a Compound v3 reserve whose supply rate hardly moves with its
/// supply (a base rate, next to no borrowing or incentives) takes its whole range within a
/// band of marginals narrower than the solver resolves (1e-14), so the chain's demand is, to
/// that precision, a step, and the demand at the marginal found can miss the amount placed by
/// far more than rounding. Past this share of the amount the miss is such a jump, and the
/// amounts that settle it (in [`ChainDemand::gain_of`], the transport's placement and the
/// quote's allocations) each earn the marginal to within this share of it. Rounding alone
/// stays far below it, so nothing changes without a jump.
pub(crate) const JUMP: f64 = 1e-9;

/// A pool as the solver sees it: gain over the horizon `f`, TVL `t`, cap `cap` (may be ∞).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolCurve {
    pub f: f64,
    pub t: f64,
    pub cap: f64,
}

impl PoolCurve {
    pub fn deposit_at(&self, lambda: f64) -> f64 {
        if lambda <= 0.0 {
            return self.cap;
        }
        ((self.f * self.t / lambda).sqrt() - self.t).clamp(0.0, self.cap)
    }

    pub fn gain(&self, x: f64) -> f64 {
        if x <= 0.0 {
            0.0
        } else {
            self.f * x / (self.t + x)
        }
    }

    pub fn marginal(&self, x: f64) -> f64 {
        let total = self.t + x.max(0.0);
        self.f * self.t / (total * total)
    }
}

/// Coefficients valid for `λ` in `(lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    lo: f64,
    hi: f64,
    a: f64,
    b: f64,
    c: f64,
    e: f64,
}

impl Segment {
    fn demand(&self, lambda: f64) -> f64 {
        (self.a + self.b / lambda.sqrt() - self.c).max(0.0)
    }

    fn gain(&self, lambda: f64) -> f64 {
        self.e - self.b * lambda.sqrt()
    }
}

/// The demand curve of one chain's pools.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainDemand {
    /// Ordered by decreasing `λ`: segment 0 starts at the highest breakpoint.
    segments: Vec<Segment>,
    /// Demand as `λ → 0`: every cap filled (∞ when some pool has no cap).
    pub max_demand: f64,
    /// Marginal of the first dollar: the best pool's `F/T` (0 without pools).
    pub top_marginal: f64,
    /// Gain with every cap filled.
    max_gain: f64,
    /// The lending reserves between their entry and their cap, per segment (none without
    /// reserves).
    interior: Interior,
}

/// Calls `f` on the nodes of a segment tree with `leaves` leaves that cover `[from, to)`.
fn cover(leaves: usize, from: usize, to: usize, mut f: impl FnMut(usize)) {
    let (mut l, mut r) = (from + leaves, to + leaves);
    while l < r {
        if l & 1 == 1 {
            f(l);
            l += 1;
        }
        if r & 1 == 1 {
            r -= 1;
            f(r);
        }
        l >>= 1;
        r >>= 1;
    }
}

/// Which reserves are interior in each segment: a segment tree over the segment indices, each
/// reserve stored in the O(log n) nodes that cover its range of segments, so a segment's
/// reserves are those of the nodes from its leaf to the root.
#[derive(Debug, Clone, PartialEq, Default)]
struct Interior {
    curves: Vec<ReserveCurve>,
    leaves: usize,
    /// Node `i` holds `items[start[i]..start[i + 1]]`.
    start: Vec<u32>,
    items: Vec<u32>,
}

impl Interior {
    /// `ranges[r]`: the segments `[from, to)` in which reserve `r` is interior.
    fn new(curves: Vec<ReserveCurve>, ranges: &[(usize, usize)], segments: usize) -> Interior {
        if curves.is_empty() {
            return Interior::default();
        }
        let leaves = segments.next_power_of_two();
        let mut start = vec![0u32; 2 * leaves + 1];
        for &(from, to) in ranges {
            cover(leaves, from, to, |node| start[node + 1] += 1);
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut next = start.clone();
        let mut items = vec![0u32; start[2 * leaves] as usize];
        for (r, &(from, to)) in ranges.iter().enumerate() {
            cover(leaves, from, to, |node| {
                items[next[node] as usize] = r as u32;
                next[node] += 1;
            });
        }
        Interior {
            curves,
            leaves,
            start,
            items,
        }
    }

    /// Calls `f` on each reserve interior in `segment`.
    fn each(&self, segment: usize, mut f: impl FnMut(&ReserveCurve)) {
        let mut node = segment + self.leaves;
        while node > 0 {
            let (from, to) = (self.start[node] as usize, self.start[node + 1] as usize);
            for &r in &self.items[from..to] {
                f(&self.curves[r as usize]);
            }
            node >>= 1;
        }
    }
}

/// The breakpoints `(λ, item, entering?)`, highest first, entering before filling at equal
/// `λ`: a pool or reserve entering at its first dollar's marginal, filling at its cap's. Items
/// from `pools.len()` on are reserves, in the order of the returned curves (those that take
/// something).
fn breakpoints(
    pools: &[PoolCurve],
    reserves: &[ReserveCurve],
) -> (Vec<(f64, usize, bool)>, Vec<ReserveCurve>) {
    let np = pools.len();
    let mut points: Vec<(f64, usize, bool)> = Vec::with_capacity((np + reserves.len()) * 2);
    for (i, p) in pools.iter().enumerate() {
        if !(p.f > 0.0 && p.t > 0.0 && p.cap > 0.0) {
            continue;
        }
        points.push((p.f / p.t, i, true));
        if p.cap.is_finite() {
            let full = p.t + p.cap;
            points.push((p.f * p.t / (full * full), i, false));
        }
    }
    let mut curves = Vec::new();
    for r in reserves {
        debug_assert_eq!(r.floor(), 0.0, "a reserve's own curve starts at 0");
        if !(r.top_marginal() > 0.0 && r.cap() > 0.0) {
            continue;
        }
        points.push((r.top_marginal(), np + curves.len(), true));
        if r.fill_marginal() > 0.0 {
            points.push((r.fill_marginal(), np + curves.len(), false));
        }
        curves.push(*r);
    }
    points.sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then(y.2.cmp(&x.2)));
    (points, curves)
}

impl ChainDemand {
    pub fn new(pools: &[PoolCurve]) -> ChainDemand {
        ChainDemand::with_reserves(pools, &[])
    }

    /// The demand of `pools` and lending `reserves` (curves from [`ReserveCurve::new`]).
    pub fn with_reserves(pools: &[PoolCurve], reserves: &[ReserveCurve]) -> ChainDemand {
        let np = pools.len();
        let (points, curves) = breakpoints(pools, reserves);
        let mut segments = Vec::with_capacity(points.len() + 1);
        // Each reserve's interior segments, [from, to).
        let mut ranges = vec![(0usize, usize::MAX); curves.len()];
        let (mut a, mut b, mut c, mut e) = (0.0, 0.0, 0.0, 0.0);
        // Pools between their entry and their cap: when none is left, `b` and `c` are exactly
        // 0 (subtracting what was added leaves rounding residue that would read as an
        // uncapped pool: unbounded demand near λ = 0).
        let mut filling = 0usize;
        let mut prev = f64::INFINITY;
        for (lambda, i, entering) in &points {
            segments.push(Segment {
                lo: *lambda,
                hi: prev,
                a,
                b,
                c,
                e,
            });
            prev = *lambda;
            if *i >= np {
                // A reserve: interior from the next segment on; full, it counts as a pool.
                let r = &curves[*i - np];
                if *entering {
                    ranges[*i - np].0 = segments.len();
                } else {
                    ranges[*i - np].1 = segments.len();
                    a += r.cap();
                    e += r.gain(r.cap());
                }
                continue;
            }
            let p = &pools[*i];
            let root = (p.f * p.t).sqrt();
            if *entering {
                filling += 1;
                b += root;
                c += p.t;
                e += p.f;
            } else {
                filling -= 1;
                b -= root;
                c -= p.t;
                e -= p.f;
                a += p.cap;
                e += p.gain(p.cap);
                if filling == 0 {
                    b = 0.0;
                    c = 0.0;
                }
            }
        }
        segments.push(Segment {
            lo: 0.0,
            hi: prev,
            a,
            b,
            c,
            e,
        });
        // Reserves never full at λ > 0 (no cap, or capped at their marginal's zero) stay
        // interior down to λ = 0 and fill there.
        let mut max_demand = if filling > 0 { f64::INFINITY } else { a };
        let mut max_gain = e;
        for (range, r) in ranges.iter_mut().zip(&curves) {
            if range.1 == usize::MAX {
                range.1 = segments.len();
                max_demand += r.cap();
                max_gain += r.gain_limit();
            }
        }
        ChainDemand {
            top_marginal: points.first().map_or(0.0, |p| p.0),
            interior: Interior::new(curves, &ranges, segments.len()),
            segments,
            max_demand,
            max_gain,
        }
    }

    /// The segment with `lo < λ <= hi` (segments are ordered by decreasing `lo`).
    fn segment(&self, lambda: f64) -> usize {
        self.segments.partition_point(|s| s.lo >= lambda)
    }

    /// Capital the chain's pools take at marginal `λ`.
    pub fn demand(&self, lambda: f64) -> f64 {
        if lambda <= 0.0 {
            return self.max_demand;
        }
        let i = self.segment(lambda);
        let Some(s) = self.segments.get(i) else {
            return 0.0;
        };
        let mut d = s.demand(lambda);
        if !self.interior.curves.is_empty() {
            self.interior.each(i, |r| d += r.deposit_at(lambda));
        }
        d
    }

    /// Gain of the chain's pools at marginal `λ` (each pool at `x_i(λ)`).
    pub fn gain_at(&self, lambda: f64) -> f64 {
        if lambda <= 0.0 {
            return self.max_gain;
        }
        let i = self.segment(lambda);
        let Some(s) = self.segments.get(i) else {
            return 0.0;
        };
        let mut g = s.gain(lambda);
        if !self.interior.curves.is_empty() {
            self.interior.each(i, |r| g += r.gain(r.deposit_at(lambda)));
        }
        g
    }

    /// The marginal at which the chain takes exactly `x` (`0 ≤ x ≤ max_demand`): what its next
    /// dollar earns (where several marginals place `x`, the lowest); 0 when `x` fills every cap.
    pub fn marginal_at(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return self.top_marginal;
        }
        if x >= self.max_demand {
            return 0.0;
        }
        if self.interior.curves.is_empty() {
            self.closed_form_marginal_at(x)
        } else {
            self.newton_marginal_at(x)
        }
    }

    /// [`ChainDemand::marginal_at`] from the segments alone: exact without reserves; with
    /// them, it leaves out the interior ones, so it is at most the answer.
    fn closed_form_marginal_at(&self, x: f64) -> f64 {
        // Demand at a segment's lower end is its largest; find the first segment reaching x.
        let i = self
            .segments
            .partition_point(|s| s.lo > 0.0 && s.demand(s.lo) < x);
        let Some(s) = self.segments.get(i) else {
            return 0.0;
        };
        let interior = x - s.a + s.c;
        if s.b <= 0.0 || interior <= 0.0 {
            // Flat part (only filled caps): every λ in the segment places `x`; the next dollar
            // earns the segment's lower end (where the next pool starts taking).
            return s.lo;
        }
        let root = s.b / interior;
        (root * root).clamp(s.lo, s.hi)
    }

    /// Demand at `λ` and its derivative `dD/dλ` (`−b/(2λ^(3/2))` from the pools between their
    /// entry and their cap, `dx/dλ` from the reserves there; 0 where the demand is flat).
    pub fn demand_and_slope(&self, lambda: f64) -> (f64, f64) {
        if lambda <= 0.0 {
            return (self.max_demand, 0.0);
        }
        let i = self.segment(lambda);
        let Some(s) = self.segments.get(i) else {
            return (0.0, 0.0);
        };
        let mut d = s.demand(lambda);
        let mut slope = -s.b / (2.0 * lambda * lambda.sqrt());
        if !self.interior.curves.is_empty() {
            self.interior.each(i, |r| {
                let (x, dx) = r.deposit_and_slope(lambda);
                d += x;
                slope += dx;
            });
        }
        (d, slope)
    }

    /// The lowest `λ` with `demand(λ) <= x`, `0 < x < max_demand`: Newton's method in
    /// `u = 1/√λ` from the segments' answer, inside a bracket `demand(lo) > x >= demand(hi)`
    /// that every evaluation shrinks and that bisection takes over when a step leaves it or
    /// the demand is flat. Stops when Newton's step or the bracket is below 1e-14 relative.
    fn newton_marginal_at(&self, x: f64) -> f64 {
        let (mut lo, mut hi) = (0.0, self.top_marginal);
        let mut lambda = self.closed_form_marginal_at(x);
        // Steps that did not halve the bracket in a row: past a few, bisect once.
        let mut slow = 0;
        for _ in 0..2_000 {
            if !(lambda > lo && lambda < hi) || slow > 6 {
                lambda = lo + (hi - lo) / 2.0;
                slow = 0;
            }
            let width = hi - lo;
            if width <= 1e-14 * hi {
                break;
            }
            let (d, slope) = self.demand_and_slope(lambda);
            // dλ/du = −2λ^(3/2).
            let du = -2.0 * lambda * lambda.sqrt() * slope;
            if d > x {
                lo = lambda;
            } else {
                hi = lambda;
            }
            slow = if hi - lo > width / 2.0 { slow + 1 } else { 0 };
            let u = 1.0 / lambda.sqrt();
            let next = u + (x - d) / du;
            if (next - u).abs() <= 1e-14 * u {
                return lambda;
            }
            // Outside the bracket (a step past u = 0, or no slope: NaN) means bisection.
            lambda = if next > 0.0 {
                1.0 / (next * next)
            } else {
                f64::NAN
            };
        }
        hi
    }

    /// What one more dollar earns once the chain holds `x`: the marginal just past `x`, so a
    /// pool filled exactly at `x` (where left and right marginals differ) counts as full.
    pub fn next_dollar_marginal(&self, x: f64) -> f64 {
        self.marginal_at(x + 1e-9 * x.max(1.0))
    }

    /// Gain of the chain's pools when they hold `x` in total. Where the demand (nearly) jumps
    /// at the chain's marginal `λ` (a Compound v3 reserve whose rate hardly moves with its
    /// supply; this module's `JUMP`), the demand at `λ` misses `x` by more than rounding; the
    /// dollars in between earn `λ` each.
    pub fn gain_of(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        let lambda = self.marginal_at(x);
        let gain = self.gain_at(lambda);
        if self.interior.curves.is_empty() {
            return gain;
        }
        let missed = x - self.demand(lambda);
        if missed.abs() > JUMP * x {
            gain + lambda * missed
        } else {
            gain
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lending::{RateModel, RateStrategy, Reserve};
    use proptest::prelude::*;

    fn brute_demand(pools: &[PoolCurve], lambda: f64) -> f64 {
        pools.iter().map(|p| p.deposit_at(lambda)).sum()
    }

    fn brute_gain(pools: &[PoolCurve], lambda: f64) -> f64 {
        pools.iter().map(|p| p.gain(p.deposit_at(lambda))).sum()
    }

    fn brute_reserves(reserves: &[ReserveCurve], lambda: f64) -> (f64, f64) {
        reserves.iter().fold((0.0, 0.0), |(d, g), r| {
            let x = r.deposit_at(lambda);
            (d + x, g + r.gain(x))
        })
    }

    #[test]
    fn every_pool_capped_means_bounded_demand() {
        // The square roots of these two pools do not cancel exactly in floating point; a
        // residue once read as an uncapped pool and sent all capital into 284,885 of room.
        let pools = [
            PoolCurve {
                f: 172_980.079_500_930_7,
                t: 5_044_190.484_139_204,
                cap: 274_885.466_066_416_3,
            },
            PoolCurve {
                f: 57_570.289_491_988_7,
                t: 1_804_680.827_990_413,
                cap: 10_000.0,
            },
        ];
        let d = ChainDemand::new(&pools);
        let room = 284_885.466_066_416_3;
        assert_eq!(d.max_demand, room);
        assert_eq!(d.demand(0.0), room);
        assert_eq!(d.demand(1e-30), room);
        assert_eq!(d.marginal_at(room), 0.0);
    }

    #[test]
    fn one_pool_closed_form() {
        let p = PoolCurve {
            f: 100.0,
            t: 1_000.0,
            cap: f64::INFINITY,
        };
        let d = ChainDemand::new(&[p]);
        assert_eq!(d.top_marginal, 0.1);
        assert_eq!(d.demand(0.2), 0.0);
        // √(100·1000/0.025) − 1000 = 1000.
        assert!((d.demand(0.025) - 1_000.0).abs() < 1e-9);
        assert!((d.marginal_at(1_000.0) - 0.025).abs() < 1e-15);
        assert!((d.gain_of(1_000.0) - 50.0).abs() < 1e-9);
        assert_eq!(d.max_demand, f64::INFINITY);
    }

    fn pool() -> impl Strategy<Value = PoolCurve> {
        (
            1.0f64..1e6,
            1e3f64..1e8,
            prop_oneof![Just(f64::INFINITY), 1.0f64..1e7],
        )
            .prop_map(|(f, t, cap)| PoolCurve { f, t, cap })
    }

    /// An Aave reserve or, one time in three, a Compound v3 one (no reserve factor; the curve
    /// is the supply rate, with a base rate half the time, and then a finite room).
    fn reserve() -> impl Strategy<Value = ReserveCurve> {
        (
            (1e4f64..1e9, 0.0f64..1.0, 0.0f64..0.02, 0.0f64..0.3),
            (0.0f64..0.03, 0.01f64..0.2, 0.0f64..3.0, 0.3f64..0.95),
            prop_oneof![Just(f64::INFINITY), 1.0f64..1e7],
            (0u8..6, 1.0f64..1e7),
        )
            .prop_map(|(size, rates, room, kind)| {
                crate::lending::sample_curve(size, rates, room, kind)
            })
    }

    #[test]
    fn one_reserve_and_one_pool() {
        // USDC at 50 %: the first dollar earns 0.9 · 0.5 · 4 %·50/90 = 1 %; the pool 10 %.
        let r = ReserveCurve::new(
            &Reserve {
                supplied: 1e6,
                borrowed: 5e5,
                stable_income: 0.0,
                rewards: 0.0,
                reserve_factor: 0.1,
                rates: RateStrategy {
                    base: 0.0,
                    slope1: 0.04,
                    slope2: 0.6,
                    optimal: 0.9,
                },
                model: RateModel::BorrowShare,
            },
            365.0,
            f64::INFINITY,
        );
        let p = PoolCurve {
            f: 1e5,
            t: 1e6,
            cap: f64::INFINITY,
        };
        let d = ChainDemand::with_reserves(&[p], &[r]);
        assert_eq!(d.top_marginal, 0.1);
        assert!((d.demand(0.05) - p.deposit_at(0.05)).abs() < 1e-9);
        let x = d.demand(0.005);
        assert!((x - p.deposit_at(0.005) - r.deposit_at(0.005)).abs() < 1e-9 * x);
        assert!((d.marginal_at(x) - 0.005).abs() < 1e-15);
        // The reserve peaks at x = S (r0 = 0, no stable debt): it fills there, at λ = 0.
        let capped = PoolCurve { cap: 1e5, ..p };
        let d = ChainDemand::with_reserves(&[capped], &[r]);
        assert!((d.max_demand - 1.1e6).abs() < 1e-6, "{}", d.max_demand);
        assert_eq!(d.demand(0.0), d.max_demand);
        assert_eq!(d.marginal_at(1.1e6), 0.0);
        let x = 1.05e6;
        let l = d.marginal_at(x);
        assert!(l > 0.0 && (d.demand(l) - x).abs() < 1e-9 * x);
    }

    #[test]
    fn a_fixed_rate_reserve_is_a_step() {
        // Compound v3 with no borrowing and a 3 % base rate: every dollar earns 3 % up to its
        // room (1e6), so the chain's demand jumps by 1e6 at λ = 3 %. Past the pool's take at
        // 3 %, each dollar earns 3 %.
        let r = Reserve {
            supplied: 1e6,
            borrowed: 0.0,
            stable_income: 0.0,
            rewards: 0.0,
            reserve_factor: 0.0,
            rates: RateStrategy {
                base: 0.03,
                slope1: 0.04,
                slope2: 0.6,
                optimal: 0.9,
            },
            model: RateModel::SupplyCurve,
        };
        let r = ReserveCurve::new(&r, 365.0, 1e6);
        assert_eq!((r.top_marginal(), r.fill_marginal()), (0.03, 0.03));
        let p = PoolCurve {
            f: 1e5,
            t: 2e6,
            cap: f64::INFINITY,
        };
        let d = ChainDemand::with_reserves(&[p], &[r]);
        let at = p.deposit_at(0.03);
        assert!((d.demand(0.03) - at - 1e6).abs() < 1e-6);
        assert!((d.demand(0.03 * (1.0 + 1e-12)) - at).abs() < 1e-3);
        for x in [at + 1.0, at + 5e5, at + 1e6 - 1.0] {
            let want = p.gain(at) + 0.03 * (x - at);
            assert!(
                (d.gain_of(x) - want).abs() < 1e-9 * want,
                "{x}: {}",
                d.gain_of(x)
            );
            assert!((d.marginal_at(x) - 0.03).abs() < 1e-12);
        }
    }

    proptest! {
        #[test]
        fn reserves_match_the_reserve_by_reserve_sum(pools in prop::collection::vec(pool(), 0..30), reserves in prop::collection::vec(reserve(), 1..30), frac in 1e-6f64..1.2) {
            let d = ChainDemand::with_reserves(&pools, &reserves);
            let l = d.top_marginal * frac;
            let (rd, rg) = brute_reserves(&reserves, l);
            let want = brute_demand(&pools, l) + rd;
            prop_assert!((d.demand(l) - want).abs() <= 1e-9 * want.max(1.0), "{} vs {want}", d.demand(l));
            let g = brute_gain(&pools, l) + rg;
            prop_assert!((d.gain_at(l) - g).abs() <= 1e-9 * g.max(1.0), "{} vs {g}", d.gain_at(l));
            // λ → 0: every cap.
            let (rd, rg) = brute_reserves(&reserves, 0.0);
            if d.max_demand.is_finite() {
                prop_assert!((d.max_demand - brute_demand(&pools, 0.0) - rd).abs() <= 1e-9 * d.max_demand.max(1.0));
                let g = brute_gain(&pools, 0.0) + rg;
                prop_assert!((d.gain_at(0.0) - g).abs() <= 1e-9 * g.max(1.0));
            }
        }

        #[test]
        fn marginal_at_inverts_demand_with_reserves(pools in prop::collection::vec(pool(), 0..30), reserves in prop::collection::vec(reserve(), 1..30), frac in 1e-6f64..1.0) {
            let d = ChainDemand::with_reserves(&pools, &reserves);
            let l = d.top_marginal * frac;
            let x = d.demand(l);
            prop_assume!(x > 0.0 && x < d.max_demand);
            let back = d.marginal_at(x);
            prop_assert!((d.demand(back) - x).abs() <= 1e-9 * x.max(1.0), "x {x} back {back} l {l}");
            // The lowest such marginal: a little lower takes more (unless the demand is flat
            // there, where the answer is the flat part's lower end).
            let below = d.demand(back * (1.0 - 1e-9));
            prop_assert!(below >= x * (1.0 - 1e-12));
            prop_assert!((d.gain_of(x) - d.gain_at(back)).abs() <= 1e-12 * d.gain_at(back).abs().max(1.0));
        }

        #[test]
        fn matches_the_pool_by_pool_sum(pools in prop::collection::vec(pool(), 1..40), frac in 1e-6f64..1.2) {
            let d = ChainDemand::new(&pools);
            let l = d.top_marginal * frac;
            let want = brute_demand(&pools, l);
            prop_assert!((d.demand(l) - want).abs() <= 1e-9 * want.max(1.0), "{} vs {want}", d.demand(l));
            let g = brute_gain(&pools, l);
            prop_assert!((d.gain_at(l) - g).abs() <= 1e-9 * g.max(1.0));
        }

        #[test]
        fn marginal_at_inverts_demand(pools in prop::collection::vec(pool(), 1..40), frac in 1e-6f64..1.0) {
            let d = ChainDemand::new(&pools);
            let l = d.top_marginal * frac;
            let x = d.demand(l);
            prop_assume!(x > 0.0 && x < d.max_demand);
            let back = d.marginal_at(x);
            prop_assert!((d.demand(back) - x).abs() <= 1e-9 * x.max(1.0), "x {x} back {back} l {l}");
        }
    }
}
