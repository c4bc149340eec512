//! The fee-share model of one pool. A pool earning `fees_per_year` (USD) on `tvl` (USD) pays a
//! new deposit `x` the share `x / (tvl + x)` of its fees, so the gain is concave in `x` and the
//! marginal yield falls as capital is added: the property that makes the allocation exact.

/// A pool as the router sees it, in USD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolYield {
    pub fees_per_year: f64,
    pub tvl: f64,
}

impl PoolYield {
    /// USD earned by depositing `x` for `horizon_days`: `F · x / (T + x) · H / 365`.
    pub fn gain(&self, x: f64, horizon_days: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        self.fees_per_year * x / (self.tvl + x) * horizon_days / 365.0
    }

    /// d gain / dx per year: `F · T / (T + x)²`. At `x = 0` it is the pool's APR `F / T`.
    pub fn marginal_yield(&self, x: f64) -> f64 {
        let total = self.tvl + x.max(0.0);
        self.fees_per_year * self.tvl / (total * total)
    }

    /// The deposit at which the marginal yield falls to `lambda`:
    /// `√(F·T/λ) − T`, never negative (a pool's take at `λ` in docs/router.md, "Exact
    /// solution", before the cap).
    pub fn deposit_at_marginal(&self, lambda: f64) -> f64 {
        if lambda <= 0.0 {
            return f64::INFINITY;
        }
        ((self.fees_per_year * self.tvl / lambda).sqrt() - self.tvl).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn closed_form_values() {
        let p = PoolYield {
            fees_per_year: 100_000.0,
            tvl: 1_000_000.0,
        };
        assert_eq!(p.gain(0.0, 365.0), 0.0);
        // Doubling the pool's TVL with our capital earns half the fees.
        assert!((p.gain(1_000_000.0, 365.0) - 50_000.0).abs() < 1e-6);
        assert!((p.marginal_yield(0.0) - 0.1).abs() < 1e-12);
        assert!((p.deposit_at_marginal(0.1)).abs() < 1e-6);
        assert!((p.deposit_at_marginal(0.025) - 1_000_000.0).abs() < 1e-3);
    }

    proptest! {
        #[test]
        fn deposit_at_marginal_inverts_marginal_yield(f in 1.0f64..1e9, t in 1.0f64..1e10, x in 0.0f64..1e10) {
            let p = PoolYield { fees_per_year: f, tvl: t };
            let lambda = p.marginal_yield(x);
            let back = p.deposit_at_marginal(lambda);
            prop_assert!((back - x).abs() <= 1e-6 * (t + x));
        }

        #[test]
        fn gain_is_concave(f in 1.0f64..1e9, t in 1.0f64..1e10, a in 0.0f64..1e9, b in 0.0f64..1e9) {
            let p = PoolYield { fees_per_year: f, tvl: t };
            let mid = p.gain((a + b) / 2.0, 365.0);
            prop_assert!(mid + 1e-9 * f >= (p.gain(a, 365.0) + p.gain(b, 365.0)) / 2.0);
        }
    }
}
