//! Raking (iterative proportional fitting) on margins: used when the population gives the
//! age distribution and the district totals, but not their cross-table.
//!
//! One iteration ("sweep") fits each margin in turn (age, then district, as R's
//! `rake(des, list(~ch02, ~wijknr), ...)` does), multiplying the weights of each category by
//! target / current. After each sweep the largest absolute gap between a weighted margin and
//! its target, over all categories of all margins, is compared with the tolerance. Not
//! converging within the iteration limit is reported (`converged = false`) and the last
//! weights are kept — never a silent success.
//!
//! It must NOT decide categories, merge sparse categories, or rescale to a total other than
//! the targets' (the caller sets targets summing to the number of rows).

/// One margin: the category of every row and the target total of every category. Every
/// category must have at least one row and a positive target (the caller guarantees it).
#[derive(Clone, Debug)]
pub struct Margin {
    pub category: Vec<usize>,
    pub target: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RakeOutcome {
    pub weights: Vec<f64>,
    /// Sweeps done.
    pub iterations: usize,
    pub converged: bool,
    /// The largest absolute margin gap after the last sweep.
    pub max_gap: f64,
}

fn totals(weights: &[f64], m: &Margin) -> Vec<f64> {
    let mut t = vec![0.0; m.target.len()];
    for (w, &c) in weights.iter().zip(&m.category) {
        t[c] += w;
    }
    t
}

fn max_gap(weights: &[f64], margins: &[Margin]) -> f64 {
    margins
        .iter()
        .flat_map(|m| totals(weights, m).into_iter().zip(m.target.clone()).map(|(a, b)| (a - b).abs()))
        .fold(0.0, f64::max)
}

/// Rakes weights starting at 1 until the largest margin gap is at most `tolerance_abs`, for at
/// most `max_iterations` sweeps.
pub fn rake(n_rows: usize, margins: &[Margin], tolerance_abs: f64, max_iterations: usize) -> RakeOutcome {
    let mut w = vec![1.0; n_rows];
    let mut gap = max_gap(&w, margins);
    let mut iterations = 0;
    while iterations < max_iterations {
        iterations += 1;
        for m in margins {
            let t = totals(&w, m);
            let factor: Vec<f64> = m.target.iter().zip(&t).map(|(a, b)| a / b).collect();
            for (x, &c) in w.iter_mut().zip(&m.category) {
                *x *= factor[c];
            }
        }
        gap = max_gap(&w, margins);
        if gap <= tolerance_abs {
            return RakeOutcome { weights: w, iterations, converged: true, max_gap: gap };
        }
    }
    RakeOutcome { weights: w, iterations, converged: false, max_gap: gap }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_by_two_converges_to_margins() {
        // rows: (a0,b0) x2, (a0,b1), (a1,b0), (a1,b1) x2
        let a = Margin { category: vec![0, 0, 0, 1, 1, 1], target: vec![2.0, 4.0] };
        let b = Margin { category: vec![0, 0, 1, 0, 1, 1], target: vec![3.0, 3.0] };
        let r = rake(6, &[a.clone(), b.clone()], 1e-12, 200);
        assert!(r.converged);
        let ta = totals(&r.weights, &a);
        assert!((ta[0] - 2.0).abs() < 1e-11 && (ta[1] - 4.0).abs() < 1e-11);
    }

    #[test]
    fn non_convergence_is_reported() {
        // Two rows, each alone in its category of both margins, with contradicting targets:
        // no weights fit both, IPF oscillates.
        let a = Margin { category: vec![0, 1], target: vec![1.0, 3.0] };
        let b = Margin { category: vec![0, 1], target: vec![3.0, 1.0] };
        let r = rake(2, &[a, b], 1e-9, 50);
        assert!(!r.converged);
        assert_eq!(r.iterations, 50);
        assert!(r.max_gap > 1.0);
    }
}
