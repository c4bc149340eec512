//! One chain's demand for capital, exactly. Pool `i` (gain `F_i · x/(T_i + x)` over the
//! horizon, cap `c_i`) takes `x_i(λ) = clamp(√(F_i T_i / λ) − T_i, 0, c_i)` at marginal yield
//! `λ`; between two consecutive breakpoints (a pool entering at `λ = F_i/T_i`, or filling its cap
//! at `λ = F_i T_i/(T_i + c_i)²`) the chain's demand is `A + B/√λ − C` and its gain `E − B√λ`,
//! with `A` the filled caps, `B = Σ√(F_i T_i)` and `C = Σ T_i` over the pools in between, and `E`
//! the gains of the filled pools plus `Σ F_i` of those in between. After one sort, demand, gain
//! and the inverse (the marginal at which the chain takes `X`) are O(log n) and exact.

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
}

impl ChainDemand {
    pub fn new(pools: &[PoolCurve]) -> ChainDemand {
        // (λ, pool, entering?) breakpoints, highest first.
        let mut points: Vec<(f64, usize, bool)> = Vec::with_capacity(pools.len() * 2);
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
        points.sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then(y.2.cmp(&x.2)));
        let mut segments = Vec::with_capacity(points.len());
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
            prev = *lambda;
        }
        segments.push(Segment {
            lo: 0.0,
            hi: prev,
            a,
            b,
            c,
            e,
        });
        let max_demand = if filling > 0 { f64::INFINITY } else { a };
        ChainDemand {
            segments,
            max_demand,
            top_marginal: points.first().map_or(0.0, |p| p.0),
            max_gain: e,
        }
    }

    fn segment(&self, lambda: f64) -> Option<&Segment> {
        // Segments are ordered by decreasing `lo`; the one with lo < λ <= hi.
        let i = self.segments.partition_point(|s| s.lo >= lambda);
        self.segments.get(i)
    }

    /// Capital the chain's pools take at marginal `λ`.
    pub fn demand(&self, lambda: f64) -> f64 {
        if lambda <= 0.0 {
            return self.max_demand;
        }
        self.segment(lambda).map_or(0.0, |s| s.demand(lambda))
    }

    /// Gain of the chain's pools at marginal `λ` (each pool at `x_i(λ)`).
    pub fn gain_at(&self, lambda: f64) -> f64 {
        if lambda <= 0.0 {
            return self.max_gain;
        }
        self.segment(lambda).map_or(0.0, |s| s.gain(lambda))
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

    /// What one more dollar earns once the chain holds `x`: the marginal just past `x`, so a
    /// pool filled exactly at `x` (where left and right marginals differ) counts as full.
    pub fn next_dollar_marginal(&self, x: f64) -> f64 {
        self.marginal_at(x + 1e-9 * x.max(1.0))
    }

    /// Gain of the chain's pools when they hold `x` in total.
    pub fn gain_of(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        self.gain_at(self.marginal_at(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute_demand(pools: &[PoolCurve], lambda: f64) -> f64 {
        pools.iter().map(|p| p.deposit_at(lambda)).sum()
    }

    fn brute_gain(pools: &[PoolCurve], lambda: f64) -> f64 {
        pools.iter().map(|p| p.gain(p.deposit_at(lambda))).sum()
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

    proptest! {
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
