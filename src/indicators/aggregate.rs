//! Weighted domain estimates as R's `survey` package gives them for
//! `svyby(~y, ~domain, svydesign(ids = ~1, weights = ~w, data = design_rows), svymean,
//! na.rm = TRUE)`: estimate, linearisation standard error, 95% Wald interval, valid and
//! weighted n, and for proportions the interval of `svyciprop(method = "logit")`.
//!
//! The design is the set of rows with a usable weight; a figure is one domain of it. The
//! variance of a domain mean sums over the domain's rows with an answer, but its `N/(N-1)`
//! factor counts every row of the design (that is what `svyby` does on a subset design; the
//! golden fixtures check it to 1e-12). Plain data in, plain data out: no file system, no
//! catalogue of published figures, and no VNG post-processing (a 0 stays 0, no weight filter).

use std::collections::BTreeMap;

use super::student_t::{Z975, t975};

/// One row of a design.
#[derive(Clone, Debug, PartialEq)]
pub struct DesignRow<K> {
    /// The answer or score; `None` leaves the row out of its domain's figure (not the design).
    pub y: Option<f64>,
    /// The weight; a row without a finite, non-negative weight is not in the design.
    pub w: Option<f64>,
    /// The domain (municipality-year, age class, ...); `None`: in the design, in no domain.
    pub domain: Option<K>,
}

/// How `y` is summarised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statistic {
    /// Weighted mean of `y`.
    Mean,
    /// Weighted share of `y` = 1 among valid `y` (0/1 values), as a percentage (×100), with
    /// the logit interval.
    Percent,
}

/// One published figure: a domain's estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub estimate: f64,
    pub se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Rows of the domain with an answer (unweighted).
    pub n: u64,
    /// Sum of their weights.
    pub n_weighted: f64,
    /// `svyciprop(method = "logit")` interval (percent), for [`Statistic::Percent`] only;
    /// `None` when it is undefined (share 0 or 100%, fewer than 2 answers).
    pub ci_low_logit: Option<f64>,
    pub ci_high_logit: Option<f64>,
}

#[derive(Default)]
struct Domain {
    n: u64,
    sum_w: f64,
    sum_wy: f64,
    rows: Vec<(f64, f64)>,
}

/// A weight that puts its row in the design: finite and not negative.
fn usable(w: Option<f64>) -> Option<f64> {
    w.filter(|w| w.is_finite() && *w >= 0.0)
}

/// The figure of every domain that has at least one answer with a positive weight sum, in
/// domain order. With a design of a single row the standard error is NaN, as in R.
pub fn estimate_domains<K: Ord + Clone>(rows: &[DesignRow<K>], statistic: Statistic) -> Vec<(K, Figure)> {
    let design_size = rows.iter().filter(|r| usable(r.w).is_some()).count() as f64;
    let mut domains: BTreeMap<K, Domain> = BTreeMap::new();
    for r in rows {
        let (Some(w), Some(y), Some(k)) = (usable(r.w), r.y.filter(|y| y.is_finite()), &r.domain) else { continue };
        let d = domains.entry(k.clone()).or_default();
        d.n += 1;
        d.sum_w += w;
        d.sum_wy += w * y;
        d.rows.push((w, y));
    }
    domains
        .into_iter()
        .filter(|(_, d)| d.sum_w > 0.0)
        .map(|(k, d)| {
            let mean = d.sum_wy / d.sum_w;
            let squares: f64 = d.rows.iter().map(|(w, y)| (w * (y - mean)).powi(2)).sum();
            (k, figure(&d, squares, design_size, statistic))
        })
        .collect()
}

/// How many rows a design of columns has: those with a usable weight.
pub fn design_size(w: &[Option<f64>]) -> usize {
    w.iter().filter(|w| usable(**w).is_some()).count()
}

/// The weight column of a design as [`estimate_domain`] takes it: per row the usable weight,
/// NaN for a row that is not in the design.
pub fn usable_weights(w: &[Option<f64>]) -> Vec<f64> {
    w.iter().map(|w| usable(*w).unwrap_or(f64::NAN)).collect()
}

/// The figure of one domain, the design given as columns: `w` from [`usable_weights`]
/// (`design_size` of its rows have a weight), `y` with NaN for a missing answer, and the domain
/// as its rows in ascending order; a row counts when it has a weight and a finite `y`. The same
/// sums in the same order as [`estimate_domains`] (so the same bits), without building the
/// design's rows: a survey year's catalogue asks for tens of thousands of such figures. The
/// domain is walked twice (sums, then squares around the mean) instead of gathering its answers:
/// the gathering was a third of the figures' time.
pub fn estimate_domain(
    y: &[f64],
    w: &[f64],
    design_size: usize,
    domain: impl Iterator<Item = usize> + Clone,
    statistic: Statistic,
) -> Option<Figure> {
    let answers = domain.filter_map(|r| {
        let (w, y) = (w[r], y[r]);
        (!w.is_nan() && y.is_finite()).then_some((w, y))
    });
    let mut d = Domain::default();
    for (w, y) in answers.clone() {
        d.n += 1;
        d.sum_w += w;
        d.sum_wy += w * y;
    }
    if d.sum_w <= 0.0 || d.sum_w.is_nan() {
        return None;
    }
    let mean = d.sum_wy / d.sum_w;
    let squares: f64 = answers.map(|(w, y)| (w * (y - mean)).powi(2)).sum();
    Some(figure(&d, squares, design_size as f64, statistic))
}

/// A domain's figure from its sums and `squares`, the sum over its answers of `(w (y - mean))²`.
fn figure(d: &Domain, squares: f64, design_size: f64, statistic: Statistic) -> Figure {
    let mean = d.sum_wy / d.sum_w;
    let se = (design_size / (design_size - 1.0) * squares).sqrt() / d.sum_w;
    let scale = match statistic {
        Statistic::Mean => 1.0,
        Statistic::Percent => 100.0,
    };
    let (ci_low_logit, ci_high_logit) = match statistic {
        Statistic::Percent => logit_interval(mean, se, d.n).map_or((None, None), |(l, h)| (Some(l), Some(h))),
        Statistic::Mean => (None, None),
    };
    Figure {
        estimate: scale * mean,
        se: scale * se,
        ci_low: scale * (mean - Z975 * se),
        ci_high: scale * (mean + Z975 * se),
        n: d.n,
        n_weighted: d.sum_w,
        ci_low_logit: ci_low_logit.map(|v| scale * v),
        ci_high_logit: ci_high_logit.map(|v| scale * v),
    }
}

/// `svyciprop(method = "logit")`: the Wald interval of the logit of the share, with Student's t
/// on `n - 1` degrees of freedom (the domain's answers), transformed back:
/// `expit(logit(p) ± t * se / (p (1 - p)))`.
fn logit_interval(p: f64, se: f64, n: u64) -> Option<(f64, f64)> {
    if !(p > 0.0 && p < 1.0) || n < 2 || !se.is_finite() {
        return None;
    }
    let half = t975(n as f64 - 1.0) * se / (p * (1.0 - p));
    let logit = (p / (1.0 - p)).ln();
    let expit = |x: f64| 1.0 / (1.0 + (-x).exp());
    Some((expit(logit - half), expit(logit + half)))
}

/// `y` of a percentage of codes: 1 when the value is one of `codes`, 0 when it is another
/// valid value, NaN when it is missing (dk and declared missing are missing already).
pub fn percent_values(values: &[f64], codes: &[f64]) -> Vec<f64> {
    values
        .iter()
        .map(|&v| {
            if v.is_nan() {
                v
            } else if codes.contains(&v) {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

/// Per row, whether a box of a multiple-response set is ticked (code 1).
pub fn ticked(values: &[f64]) -> Vec<bool> {
    values.iter().map(|v| *v == 1.0).collect()
}

/// Per row, whether the respondent ticked at least one box of a multiple-response set, from
/// each box's [`ticked`]: the base of the set's shares.
pub fn ticked_any(set: &[Vec<bool>]) -> Vec<bool> {
    let rows = set.iter().map(Vec::len).max().unwrap_or(0);
    (0..rows).map(|i| set.iter().any(|c| c.get(i).copied().unwrap_or(false))).collect()
}

/// `y` of the share of one option of a multiple-response set: the base ([`ticked_any`]) is the
/// respondents who ticked at least one box of the set; for them an unticked box counts 0 (VNG's
/// `recode.R`); everyone else is outside the base (NaN). `option` is the option's [`ticked`].
pub fn multiple_response_values(base: &[bool], option: &[bool]) -> Vec<f64> {
    base.iter()
        .enumerate()
        .map(|(i, &b)| {
            if !b {
                f64::NAN
            } else if option.get(i).copied().unwrap_or(false) {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}
