//! Diagnostics of one set of weights: Kish's effective sample size and design effect, the
//! range, and the comparison with the agency's delivered `weging`.
//!
//! It must NOT change weights or decide what is a warning (thresholds live in `WeightOptions`).
//! Sums run in row order so the figures are reproducible to the bit.

/// Summary figures of a weight vector (all rows of a municipality-year, missing ages included).
#[derive(Clone, Debug, PartialEq)]
pub struct WeightSummary {
    pub n: usize,
    pub sum: f64,
    /// (Σw)² / Σw²
    pub n_effective: f64,
    /// n·Σw² / (Σw)²
    pub deff_kish: f64,
    pub min: f64,
    pub max: f64,
}

pub fn summarise(w: &[f64]) -> WeightSummary {
    let sum: f64 = w.iter().sum();
    let sq: f64 = w.iter().map(|x| x * x).sum();
    let n = w.len();
    WeightSummary {
        n,
        sum,
        n_effective: sum * sum / sq,
        deff_kish: n as f64 * sq / (sum * sum),
        min: w.iter().copied().fold(f64::INFINITY, f64::min),
        max: w.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

/// Pearson correlation and largest absolute difference between our weights and the agency's,
/// over the rows where the agency delivered a finite weight. Correlation is `None` with fewer
/// than two such rows or when either side is constant (it is undefined then).
pub fn compare_agency(ours: &[f64], agency: &[Option<f64>]) -> (Option<f64>, Option<f64>) {
    let pairs: Vec<(f64, f64)> =
        ours.iter().zip(agency).filter_map(|(&a, b)| b.filter(|b| b.is_finite()).map(|b| (a, b))).collect();
    if pairs.is_empty() {
        return (None, None);
    }
    let max_diff = pairs.iter().map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    let k = pairs.len() as f64;
    let ma = pairs.iter().map(|p| p.0).sum::<f64>() / k;
    let mb = pairs.iter().map(|p| p.1).sum::<f64>() / k;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (a, b) in &pairs {
        sab += (a - ma) * (b - mb);
        saa += (a - ma) * (a - ma);
        sbb += (b - mb) * (b - mb);
    }
    let corr = (pairs.len() >= 2 && saa > 0.0 && sbb > 0.0).then(|| sab / (saa.sqrt() * sbb.sqrt()));
    (corr, Some(max_diff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_weights_have_no_design_effect() {
        let s = summarise(&[1.0; 10]);
        assert_eq!(s.deff_kish, 1.0);
        assert_eq!(s.n_effective, 10.0);
    }

    #[test]
    fn agency_comparison() {
        let (c, d) = compare_agency(&[1.0, 2.0, 3.0], &[Some(1.1), None, Some(3.3)]);
        assert!((c.unwrap() - 1.0).abs() < 1e-12);
        assert!((d.unwrap() - 0.3).abs() < 1e-12);
    }
}
