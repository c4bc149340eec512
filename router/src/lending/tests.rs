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
        model: RateModel::BorrowShare,
    }
}

/// A Compound v3 supply curve shaped like USDC's on Ethereum: 0 % base, 4 % at the 90 % kink
/// (slopeLow 4.44 %), then slopeHigh 60 % (`slope2 = 0.6·0.1`); no reserve factor.
fn comet(supplied: f64, borrowed: f64) -> Reserve {
    Reserve {
        supplied,
        borrowed,
        stable_income: 0.0,
        rewards: 0.0,
        reserve_factor: 0.0,
        rates: RateStrategy {
            base: 0.0,
            slope1: 0.04,
            slope2: 0.06,
            optimal: 0.9,
        },
        model: RateModel::SupplyCurve,
    }
}

#[test]
fn the_rate_matches_hand_computed_values() {
    let r = usdc(1.0, 0.0).rates;
    assert_eq!(r.rate(0.0), 0.0);
    assert!((r.rate(0.45) - 0.02).abs() < 1e-15);
    assert!((r.rate(0.9) - 0.04).abs() < 1e-15);
    // Above the kink: 4 % + 60 % · 0.05/0.1 = 34 %.
    assert!((r.rate(0.95) - 0.34).abs() < 1e-15);
    assert!((r.rate(1.0) - 0.64).abs() < 1e-15);
    let r = RateStrategy {
        base: 0.01,
        slope1: 0.07,
        slope2: 3.0,
        optimal: 0.45,
    };
    assert!((r.rate(0.3) - (0.01 + 0.07 * 0.3 / 0.45)).abs() < 1e-15);
    assert!((r.rate(0.5) - (0.08 + 3.0 * 0.05 / 0.55)).abs() < 1e-15);
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
    // Both models: no interest, only incentives shared pro rata.
    for mut r in [usdc(1e6, 0.0), comet(1e6, 0.0)] {
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
}

#[test]
fn supply_curve_gain_and_marginal_by_hand() {
    // S = 1000, B = 500 on Comet's low piece: every supplied dollar earns R(U) = (0.04/0.9)·U.
    // Supplying 1000 halves U to 25 %: R = 1/90, all suppliers earn 2000/90, the deposit 1000/90.
    let r = comet(1_000.0, 500.0);
    let b = 0.04 / 0.9;
    assert!((r.rates.rate(0.25) - 1.0 / 90.0).abs() < 1e-15);
    assert!((r.supplier_income(1_000.0) - 2_000.0 / 90.0).abs() < 1e-12);
    assert!((r.supply_apy(1_000.0) - 1.0 / 90.0).abs() < 1e-15);
    let c = ReserveCurve::new(&r, 365.0, f64::INFINITY);
    assert!((c.gain(1_000.0) - 1_000.0 / 90.0).abs() < 1e-12);
    // The first dollar earns the supply APR now: R(0.5) = 1/45, no reserve factor.
    assert!((c.top_marginal() - 1.0 / 45.0).abs() < 1e-15);
    assert!((r.supply_apy(0.0) - 1.0 / 45.0).abs() < 1e-15);
    // g = x·b·B/T, g' = b·B·S/T²: at x = 1000, (0.04/0.9)·500·1000/2000² = 1/180.
    assert!((c.marginal(1_000.0) - b * 500.0 * 1_000.0 / 4e6).abs() < 1e-16);
    assert!((c.marginal(1_000.0) - 1.0 / 180.0).abs() < 1e-15);
    assert!((c.deposit_at(1.0 / 180.0) - 1_000.0).abs() < 1e-9);
    // No base rate: the marginal falls to 0 only as T → ∞; no cap, the gain tends to b·B.
    assert_eq!((c.bound(), c.cap()), (CapBound::Room, f64::INFINITY));
    assert!((c.gain_limit() - b * 500.0).abs() < 1e-12);
    // Incentives of 10 a year add 10/T per dollar: the first dollar earns 1/45 + 1 %.
    let mut rw = r;
    rw.rewards = 10.0;
    let c = ReserveCurve::new(&rw, 365.0, f64::INFINITY);
    assert!((c.top_marginal() - (1.0 / 45.0 + 0.01)).abs() < 1e-15);
    let want = (b * 500.0 + 10.0) * 1_000.0 / 4e6;
    assert!((c.marginal(1_000.0) - want).abs() < 1e-16);
    assert!((c.gain(1_000.0) - (1_000.0 / 90.0 + 5.0)).abs() < 1e-12);
    // Over 30 days, the same curve scaled by 30/365.
    let m = ReserveCurve::new(&r, 30.0, f64::INFINITY);
    assert!((m.gain(1_000.0) - 1_000.0 / 90.0 * 30.0 / 365.0).abs() < 1e-12);
    assert!((m.deposit_at(30.0 / 365.0 / 180.0) - 1_000.0).abs() < 1e-9);
}

#[test]
fn a_supply_curve_above_its_kink_stops_there() {
    // 95 % utilised, slopeHigh 60 %: A = 4 % − 0.6·0.9 = −50 %, p = S·0.6·B, and the peak
    // T = √(p/0.5) = 1067.7 lies past the kink T = B/0.9 = 1055.6, which binds.
    let r = comet(1_000.0, 950.0);
    let c = ReserveCurve::new(&r, 365.0, f64::INFINITY);
    assert_eq!(c.bound(), CapBound::Kink);
    let kink = 950.0 / 0.9 - 1_000.0;
    assert!((c.cap() - kink).abs() < 1e-9);
    // At the kink, from the high piece: R(0.9) − 0.6·0.9·x/T.
    let (t, (b_low, b_high)) = (1_000.0 + kink, (0.04 / 0.9, 0.6));
    let fill = 0.04 - b_high * 0.9 * kink / t;
    assert!(
        (c.fill_marginal() - fill).abs() < 1e-15,
        "{}",
        c.fill_marginal()
    );
    // Past it the marginal jumps up by (b_high − b_low)·U·x/T.
    let low = ReserveCurve::past_kink(&r, 365.0, f64::INFINITY).unwrap();
    assert_eq!(low.floor(), c.cap());
    let past = low.top_marginal();
    let jump = (b_high - b_low) * 0.9 * kink / t;
    assert!(
        (past - fill - jump).abs() < 1e-15,
        "{past} − {fill} vs {jump}"
    );
    assert!(past > 3.0 * fill);
    let dx = 1e-6;
    let right = (r.supplier_income(kink + dx) * (kink + dx) / (t + dx) - c.gain(kink)) / dx;
    assert!((right - past).abs() < 1e-5 * past, "{right} vs {past}");
    // The gain is the one of the kinked supply rate on the whole range.
    for x in [0.0, 10.0, 30.0, c.cap()] {
        let want = x * r.supply_apy(x);
        assert!((c.gain(x) - want).abs() < 1e-12 * want.max(1.0));
    }
}

#[test]
fn a_steep_supply_curve_peaks_before_the_kink() {
    // slopeHigh 6 (slope2 0.6 over the last 10 %): A = 4 % − 6·0.9 = −5.36, so the marginal
    // lin + p/T² reaches 0 at T = √(p/(−lin)) = √(S·6·B/5.36), 3.1 % more supply.
    let mut r = comet(1_000.0, 950.0);
    r.rates.slope2 = 0.6;
    let c = ReserveCurve::new(&r, 365.0, f64::INFINITY);
    assert_eq!(c.bound(), CapBound::Peak);
    let want = (1_000.0 * 6.0 * 950.0 / (6.0 * 0.9 - 0.04f64)).sqrt() - 1_000.0;
    assert!(
        (c.cap() - want).abs() < 1e-9 * want,
        "{} vs {want}",
        c.cap()
    );
    assert!(c.cap() < 950.0 / 0.9 - 1_000.0);
    assert!(c.marginal(c.cap()).abs() < 1e-12 * c.top_marginal());
    assert!(c.gain(c.cap()) > c.gain(c.cap() * 0.99));
    assert!(c.gain(c.cap()) > c.gain(c.cap() * 1.01));
    // At the peak the reserve fills at λ = 0: it takes the peak however low λ falls.
    assert_eq!(c.fill_marginal(), 0.0);
    assert!((c.deposit_at(1e-12) - c.cap()).abs() < 1e-9);
    assert_eq!(c.gain_limit(), c.gain(c.cap()));
}

#[test]
fn a_positive_supply_floor_is_bounded_by_its_room() {
    // A 2 % base rate: every dollar earns at least 2 %, so only the room (1000) bounds it.
    let mut r = comet(1_000.0, 500.0);
    r.rates.base = 0.02;
    assert_eq!(r.min_supply_rate(), 0.02);
    assert_eq!(usdc(1_000.0, 500.0).min_supply_rate(), 0.0);
    let c = ReserveCurve::new(&r, 365.0, 1_000.0);
    assert_eq!((c.bound(), c.cap()), (CapBound::Room, 1_000.0));
    let p = 0.04 / 0.9 * 500.0 * 1_000.0;
    // top = 2 % + 1/45; fill = 2 % + p/2000²; in between T = √(p/(λ − 2 %)).
    assert!((c.top_marginal() - (0.02 + 1.0 / 45.0)).abs() < 1e-15);
    assert!((c.fill_marginal() - (0.02 + p / 4e6)).abs() < 1e-15);
    assert!((c.deposit_at(0.03) - ((p / 0.01f64).sqrt() - 1_000.0)).abs() < 1e-9);
    // At or below the floor, full; the gain there is finite: 1000·(2 % + 1/90).
    assert_eq!(c.deposit_at(0.02), 1_000.0);
    assert_eq!(c.deposit_at(0.0), 1_000.0);
    assert!((c.gain_limit() - 1_000.0 * (0.02 + 1.0 / 90.0)).abs() < 1e-12);
    // Above its kink, the piece past it has the floor too: a room bounds it as well.
    let mut hot = comet(1_000.0, 950.0);
    hot.rates.base = 0.02;
    let low = ReserveCurve::past_kink(&hot, 365.0, 5_000.0).unwrap();
    assert_eq!((low.bound(), low.cap()), (CapBound::Room, 5_000.0));
    assert!(low.gain_limit().is_finite() && low.fill_marginal() > 0.02);
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "a positive supply-rate floor needs a finite room")]
fn a_positive_supply_floor_without_a_room_is_refused() {
    let mut r = comet(1_000.0, 500.0);
    r.rates.base = 0.02;
    let _ = ReserveCurve::new(&r, 365.0, f64::INFINITY);
}

/// Aave-shaped (stable debt, a reserve factor) or, half the time, Compound v3-shaped (neither:
/// the curve is the supply rate, half of those with a base rate).
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
        (any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |((s, u, fs, rw, rf), (base, s1, s2, uo), (supply, floor))| {
                let aave = Reserve {
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
                    model: RateModel::BorrowShare,
                };
                if !supply {
                    return aave;
                }
                Reserve {
                    stable_income: 0.0,
                    reserve_factor: 0.0,
                    rates: RateStrategy {
                        base: if floor { base } else { 0.0 },
                        ..aave.rates
                    },
                    model: RateModel::SupplyCurve,
                    ..aave
                }
            },
        )
}

/// A reserve and a room from `room`, finite (from `1..1e10`) when the reserve's supply rate has
/// a positive floor, as the quote makes it.
fn reserve_in(room: impl Strategy<Value = f64>) -> impl Strategy<Value = (Reserve, f64)> {
    (reserve(), room, 1.0f64..1e10).prop_map(|(r, room, finite)| {
        let room = if r.min_supply_rate() > 0.0 && room.is_infinite() {
            finite
        } else {
            room
        };
        (r, room)
    })
}

fn room() -> impl Strategy<Value = f64> {
    prop_oneof![Just(f64::INFINITY), 1.0f64..1e10]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]
    #[test]
    fn deposit_at_inverts_the_marginal((r, room) in reserve_in(room()), h in 1.0f64..400.0, frac in 0.0f64..1.0) {
        let c = ReserveCurve::new(&r, h, room);
        prop_assume!(c.top_marginal() > 0.0);
        let hi = if c.cap().is_finite() { c.cap() } else { 1e3 * r.supplied };
        let x = frac * hi;
        let lambda = c.marginal(x);
        prop_assume!(lambda > c.fill_marginal() && lambda < c.top_marginal());
        let (back, dx) = c.deposit_and_slope(lambda);
        // To a few ulps of S + x, plus what a few roundings of λ move x: where the marginal is
        // nearly flat (a supply curve's positive floor, far past its supply) the inverse is
        // that ill-conditioned (for Aave's curves the second term is ~1e-15·(S + x)).
        let tol = 8e-12 * (r.supplied + x) + 4.0 * f64::EPSILON * lambda * dx.abs();
        prop_assert!((back - x).abs() <= tol, "x {x} back {back} cap {}", c.cap());
    }

    #[test]
    fn the_curve_is_the_model_and_concave_on_its_range((r, room) in reserve_in(room()), a in 0.0f64..1.0, b in 0.0f64..1.0) {
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
    fn the_marginal_is_the_derivative((r, room) in reserve_in(Just(f64::INFINITY)), frac in 0.01f64..0.99) {
        let c = ReserveCurve::new(&r, 365.0, room);
        prop_assume!(c.cap() > 0.0);
        let hi = if c.cap().is_finite() { c.cap() } else { 10.0 * r.supplied };
        let x = frac * hi;
        let dx = 1e-5 * hi;
        let numeric = (c.gain(x + dx) - c.gain(x - dx)) / (2.0 * dx);
        prop_assert!((numeric - c.marginal(x)).abs() <= 1e-5 * c.top_marginal(), "{numeric} vs {}", c.marginal(x));
    }
}
