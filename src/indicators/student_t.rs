//! The 0.975 quantile of Student's t distribution, for `svyciprop(method = "logit")`'s
//! interval. Pure numerics, no statistics decisions.
//!
//! The t distribution function is written with the regularised incomplete beta function,
//! `P(|T| > t) = I_x(df/2, 1/2)` with `x = df / (df + t²)` (Abramowitz & Stegun 26.7.1 and
//! 26.5.27); `I_x` is evaluated by its continued fraction (DLMF 8.17.22) with the modified Lentz
//! method, and the quantile is found by Newton's method from the Cornish-Fisher expansion, with
//! bisection (slow, but it cannot fail to converge) as the fallback; from 1,000 degrees of
//! freedom on the expansion alone is more exact than the incomplete beta function.

use std::cell::RefCell;
use std::collections::HashMap;

/// Natural log of the gamma function (Lanczos approximation, g = 7, n = 9; relative error
/// below 1e-15 for positive arguments).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection formula.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0));
    let mut h = d;
    for m in 1..10_000 {
        let m = m as f64;
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// Regularised incomplete beta function `I_x(a, b)`.
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (-x).ln_1p()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom (`qt(0.975, df)` in R).
/// NaN for `df` below 1.
pub fn t975(df: f64) -> f64 {
    if df.is_nan() || df < 1.0 {
        return f64::NAN;
    }
    // A year's figures ask for the same few thousand `df`s tens of thousands of times, and one
    // quantile costs some sixty incomplete-beta evaluations: remember them, per thread.
    thread_local! {
        static KNOWN: RefCell<HashMap<u64, f64>> = RefCell::new(HashMap::new());
    }
    KNOWN.with(|known| *known.borrow_mut().entry(df.to_bits()).or_insert_with(|| t975_uncached(df)))
}

fn t975_uncached(df: f64) -> f64 {
    if df >= EXPANSION_FROM {
        return cornish_fisher(df);
    }
    newton(df).unwrap_or_else(|| bisection(df))
}

/// From this many degrees of freedom on, the expansion is used: its first omitted term is below
/// 1e-14 of the quantile, and the incomplete beta function loses digits as `df` grows (its
/// log-gamma terms are millions at national sizes, so 1e-16 of them is 1e-10 of the tail).
const EXPANSION_FROM: f64 = 1_000.0;

/// The Cornish-Fisher expansion of the quantile in powers of `1/df` (A&S 26.7.5), to `1/df⁴`.
fn cornish_fisher(df: f64) -> f64 {
    let z = Z975;
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    let g = [
        (z3 + z) / 4.0,
        (5.0 * z5 + 16.0 * z3 + 3.0 * z) / 96.0,
        (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / 384.0,
        (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / 92_160.0,
    ];
    // Horner in 1/df, smallest term first.
    z + g.iter().rev().fold(0.0, |acc, gk| (acc + gk) / df)
}

/// The 0.975 quantile of the standard normal distribution (`qnorm(0.975)`).
pub const Z975: f64 = 1.959_963_984_540_054;

/// Newton's method on the upper tail, from the expansion. The tail falls and is convex for
/// t > 0, and the expansion starts below the quantile, so every step moves up towards it: a
/// handful of incomplete-beta evaluations instead of bisection's sixty. `None` if it does not
/// settle (it always has; bisection is the safety net).
fn newton(df: f64) -> Option<f64> {
    let tail = |t: f64| 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    let ln_scale = ln_gamma((df + 1.0) / 2.0) - ln_gamma(df / 2.0) - 0.5 * (df * std::f64::consts::PI).ln();
    let density = |t: f64| (ln_scale - (df + 1.0) / 2.0 * (t * t / df).ln_1p()).exp();
    let mut t = cornish_fisher(df);
    for _ in 0..100 {
        let step = (tail(t) - 0.025) / density(t);
        if !step.is_finite() {
            return None;
        }
        t += step;
        // Convergence is quadratic: after a step this small, what is left is rounding.
        if step.abs() <= 1e-9 * t {
            return Some(t);
        }
    }
    None
}

/// Bisection on the upper tail: slow, but it cannot fail to converge.
fn bisection(df: f64) -> f64 {
    // The upper tail at t is 0.5 * I_x(df/2, 1/2); it falls as t grows. qt(0.975, 1) = 12.7.
    let tail = |t: f64| 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    let (mut lo, mut hi) = (1.0_f64, 13.0_f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        // Bisection has reached the resolution of f64: every further step leaves lo and hi as
        // they are, so stopping here gives the same bits as all 200 steps.
        if mid == lo || mid == hi {
            break;
        }
        if tail(mid) > 0.025 { lo = mid } else { hi = mid }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_r() {
        // qt(0.975, df) in R (df 10, 93, 684 as checked in the golden verify.py).
        let cases = [
            (1.0, 12.706_204_736_174_707),
            (2.0, 4.302_652_729_749_464),
            (10.0, 2.228_138_851_986_274),
            (93.0, 1.985_801_814_345_823),
            (684.0, 1.963_438_258_163_053),
        ];
        for (df, want) in cases {
            let got = t975(df);
            assert!((got - want).abs() < 1e-10 * want, "df {df}: {got} vs {want}");
        }
        assert!(t975(0.0).is_nan());
    }

    #[test]
    fn newton_agrees_with_bisection() {
        // Every df a year's figures can ask for is a whole number; the fractional ones check the
        // start of the iteration between them.
        let dfs = (1..=2_000).map(f64::from).chain([1.5, 2.5, 7.25]);
        for df in dfs {
            let fast = newton(df).unwrap_or_else(|| panic!("df {df}: Newton did not settle"));
            let slow = bisection(df);
            assert!((fast - slow).abs() <= 1e-12 * slow, "df {df}: {fast} vs {slow}");
        }
    }

    #[test]
    fn expansion_agrees_with_newton_where_it_takes_over() {
        for df in (500..=3_000).map(f64::from) {
            let (expansion, exact) = (cornish_fisher(df), newton(df).unwrap());
            assert!((expansion - exact).abs() <= 1e-12 * exact, "df {df}: {expansion} vs {exact}");
        }
        // Far out it is the normal quantile plus the first term.
        let df = 1e9;
        assert!((t975(df) - (Z975 + (Z975.powi(3) + Z975) / (4.0 * df))).abs() < 1e-15);
    }
}
