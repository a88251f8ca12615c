//! Trimming: caps weights and hands the excess to the other rows, keeping the total.
//!
//! [`Trim::Equal`] reproduces R `survey::trimWeights(upper = cap, strict = TRUE)` (survey
//! 4.1.1): each pass sets the weights above the cap to the cap and adds the trimmed excess in
//! EQUAL absolute amounts to every weight not above the cap in that pass (rows already at the
//! cap included, which is why it may take several passes); passes repeat until none exceeds the
//! cap. [`Trim::Proportional`] instead spreads the excess in proportion to the weights below
//! the cap (rows at the cap receive nothing). After trimming the caller's total is restored by one rescale and, because that
//! rescale can move a capped weight one ulp above the cap (golden `trim_cap5`:
//! 5.0000000000000009), every weight is then clamped to the cap: the cap is a hard limit, the
//! total is kept to within a few ulps.
//!
//! It must NOT choose or validate the cap (that is `WeightOptions::validate`), touch rows that
//! are outside the trimmed set (missing-age rows keep weight 1), or use unordered sums.

/// How the trimmed excess is redistributed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Trim {
    /// Equal absolute amounts, as R's `trimWeights(strict = TRUE)`.
    #[default]
    Equal,
    /// In proportion to the weights below the cap.
    Proportional,
}

/// What trimming did.
#[derive(Clone, Debug, PartialEq)]
pub struct TrimOutcome {
    pub weights: Vec<f64>,
    /// Rows at the cap after trimming (R's `w >= upper`).
    pub trimmed: Vec<bool>,
    /// Trimming passes (R's recursion depth; 0 when nothing exceeded the cap).
    pub passes: usize,
    /// False only if the pass limit was hit (never observed; the clamp still holds the cap).
    pub settled: bool,
}

/// A safety net: the ping-pong between capped groups shrinks geometrically (the golden case
/// needs 11 passes), so this is never reached with a cap above the mean weight.
pub const MAX_PASSES: usize = 10_000;

/// Trims `weights` to `cap`, then rescales to their original sum and clamps to `cap`.
/// Requires `cap` above the mean weight (the caller guarantees cap > 1 on the sum-n scale).
pub fn trim(weights: &[f64], cap: f64, mode: Trim) -> TrimOutcome {
    let n = weights.len();
    let target: f64 = weights.iter().sum();
    let mut w = weights.to_vec();
    let mut passes = 0;
    let mut settled = true;
    loop {
        let out: Vec<bool> = w.iter().map(|&x| x > cap).collect();
        if !out.iter().any(|&o| o) {
            break;
        }
        if passes == MAX_PASSES {
            settled = false;
            break;
        }
        passes += 1;
        // Excess summed in row order over all rows (zeros for untrimmed ones), as R does.
        let excess: f64 = w.iter().map(|&x| x - x.min(cap)).sum();
        let receivers = out.iter().filter(|&&o| !o).count();
        if receivers == 0 {
            settled = false;
            break;
        }
        match mode {
            Trim::Equal => {
                let share = excess / receivers as f64;
                for (x, &o) in w.iter_mut().zip(&out) {
                    *x = if o { cap } else { *x + share };
                }
            }
            Trim::Proportional => {
                // Rows already at the cap do not receive: handing them a share in proportion
                // to their (large) weight only sends it back next pass, and with a cap close
                // to the mean that ping-pong crawls for thousands of passes.
                let base: f64 = w.iter().filter(|&&x| x < cap).sum();
                if base <= 0.0 {
                    settled = false;
                    break;
                }
                let factor = 1.0 + excess / base;
                for x in w.iter_mut() {
                    *x = if *x > cap {
                        cap
                    } else if *x < cap {
                        *x * factor
                    } else {
                        *x
                    };
                }
            }
        }
    }
    let trimmed: Vec<bool> = w.iter().map(|&x| x >= cap).collect();
    if passes > 0 {
        // Restore the total (floating point drifts by ulps), in R's order w * n / sum(w).
        let sum: f64 = w.iter().sum();
        for x in &mut w {
            *x = *x * target / sum;
            // The rescale may lift a capped weight one ulp above the cap; the cap is a hard
            // rule (protocol: weights of 5 or more are never delivered), so clamp.
            if *x > cap {
                *x = cap;
            }
        }
    }
    debug_assert_eq!(w.len(), n);
    TrimOutcome { weights: w, trimmed, passes, settled }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_above_cap_is_untouched() {
        let w = vec![0.5, 1.5, 1.0];
        let t = trim(&w, 3.0, Trim::Equal);
        assert_eq!(t.weights, w);
        assert_eq!(t.passes, 0);
    }

    #[test]
    fn equal_redistribution_keeps_total_and_cap() {
        let w = vec![6.0, 1.0, 1.0, 1.0, 0.5, 0.5];
        let t = trim(&w, 3.0, Trim::Equal);
        assert!(t.weights.iter().all(|&x| x <= 3.0));
        assert!((t.weights.iter().sum::<f64>() - 10.0).abs() < 1e-12);
        assert_eq!(t.weights[0], 3.0);
        assert!((t.weights[1] - 1.6).abs() < 1e-12);
    }

    #[test]
    fn proportional_redistribution_keeps_total_and_cap() {
        let w = vec![6.0, 1.0, 1.0, 1.0, 0.5, 0.5];
        let t = trim(&w, 3.0, Trim::Proportional);
        assert!(t.weights.iter().all(|&x| x <= 3.0));
        assert!((t.weights.iter().sum::<f64>() - 10.0).abs() < 1e-12);
        assert!((t.weights[1] / t.weights[4] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn proportional_with_cap_near_the_mean_settles() {
        // Found by proptest: rows at the cap must not take part in the redistribution.
        let raw = [
            0.01, 0.01, 0.01, 0.01, 0.01, 17.88, 7.03, 17.38, 15.93, 1.35, 11.62, 3.86, 6.96, 12.39, 11.98, 2.99, 3.58,
        ];
        let s: f64 = raw.iter().sum();
        let w: Vec<f64> = raw.iter().map(|x| x * raw.len() as f64 / s).collect();
        let t = trim(&w, 1.0791363340774525, Trim::Proportional);
        assert!(t.settled);
        assert!(t.weights.iter().all(|&x| x <= 1.0791363340774525));
    }
}
