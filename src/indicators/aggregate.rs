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
use std::ops::Range;

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

/// The weight column of a design as [`estimate_year`] takes it: per row the usable weight,
/// NaN for a row that is not in the design.
pub fn usable_weights(w: &[Option<f64>]) -> Vec<f64> {
    w.iter().map(|w| usable(*w).unwrap_or(f64::NAN)).collect()
}

/// A survey year's two designs as columns, for [`estimate_year`]. Rows are sorted by
/// municipality.
pub struct YearDesign<'a> {
    /// Each municipality's rows `[start, end)` and its design size (rows with a usable
    /// `weight`): its own survey is its design.
    pub municipalities: &'a [(Range<usize>, usize)],
    /// `weight` from [`usable_weights`].
    pub weight: &'a [f64],
    /// `weight_national` from [`usable_weights`]: the year's rows are one design of
    /// `national_size` rows.
    pub weight_national: &'a [f64],
    pub national_size: usize,
    /// Per row its class of the national breakdown, 1 to [`CLASSES`], 0 for none.
    pub class: &'a [u8],
}

/// How many classes the national breakdown has (`lft_cy` 1 to 4).
pub const CLASSES: usize = 4;

/// One indicator's figures in a year: per municipality (in [`YearDesign::municipalities`]
/// order), national, and national per class; `None` where a domain has no answer with a
/// positive weight sum.
pub struct YearEstimates {
    pub municipal: Vec<Option<Figure>>,
    pub national: Option<Figure>,
    pub classes: [Option<Figure>; CLASSES],
}

/// Running sums of one domain in row order. A row that does not count adds `+0.0`, which leaves
/// a sum's bits as they are: the sums start at `+0.0` and only a `-0.0` plus a `-0.0` gives
/// `-0.0`. So the sums are those of the domain's counting rows alone, in order.
#[derive(Clone, Copy, Default)]
struct Sums {
    n: u64,
    sum_w: f64,
    sum_wy: f64,
    squares: f64,
}

impl Sums {
    #[inline]
    fn add(&mut self, counts: bool, w: f64, y: f64) {
        let (w, wy) = if counts { (w, w * y) } else { (0.0, 0.0) };
        self.n += u64::from(counts);
        self.sum_w += w;
        self.sum_wy += wy;
    }

    fn mean(&self) -> f64 {
        self.sum_wy / self.sum_w
    }

    /// Adds a row's square around the domain's mean. The row path's `sum()` starts at `-0.0`,
    /// this at `+0.0`: the same bits once one counting row (a square, never `-0.0`) is added,
    /// and a domain without one has no figure.
    #[inline]
    fn add_square(&mut self, counts: bool, w: f64, y: f64, mean: f64) {
        self.squares += if counts { (w * (y - mean)).powi(2) } else { 0.0 };
    }

    fn figure(&self, design_size: usize, statistic: Statistic) -> Option<Figure> {
        if self.sum_w <= 0.0 || self.sum_w.is_nan() {
            return None;
        }
        let d = Domain { n: self.n, sum_w: self.sum_w, sum_wy: self.sum_wy, rows: Vec::new() };
        Some(figure(&d, self.squares, design_size as f64, statistic))
    }
}

/// Every figure of one indicator in a year, from its `y` (NaN for a missing answer) and its
/// domain (`member`, per row): each municipality's, the national one and, with `by_class`, the
/// national one of each class. A row counts in a domain when it is a member, has a weight of
/// the domain's design and a finite `y`. Each domain's sums are those of
/// [`estimate_domains`] over its counting rows in order, so its figure has the same bits; but
/// all domains are summed in the same two walks over the rows (sums, then squares around each
/// domain's mean), whose independent sums the processor overlaps: one walk per domain was
/// most of the time of a year's figures. The walks skip the rows outside the indicator's
/// domain or without a finite `y` (three in ten of a year's rows over the catalogue): such a
/// row counts in no domain, and adds `+0.0` to every sum, which changes no bits.
pub fn estimate_year(
    y: &[f64],
    member: &[bool],
    design: &YearDesign,
    by_class: bool,
    statistic: Statistic,
) -> YearEstimates {
    let mut municipal = vec![Sums::default(); design.municipalities.len()];
    let mut national = Sums::default();
    // Index 0 collects the rows of no class and is not used.
    let mut classes = [Sums::default(); CLASSES + 1];
    let (answered, ends) = answered_rows(y, member, design.municipalities);
    let mut start = 0;
    for (&end, own) in ends.iter().zip(&mut municipal) {
        for &r in &answered[start..end] {
            let y = y[r];
            let (w, w_national) = (design.weight[r], design.weight_national[r]);
            own.add(!w.is_nan(), w, y);
            let in_national = !w_national.is_nan();
            national.add(in_national, w_national, y);
            if by_class {
                classes[usize::from(design.class[r])].add(in_national, w_national, y);
            }
        }
        start = end;
    }
    let national_mean = national.mean();
    let class_means = classes.map(|c| c.mean());
    let mut start = 0;
    for (&end, own) in ends.iter().zip(&mut municipal) {
        let mean = own.mean();
        for &r in &answered[start..end] {
            let y = y[r];
            let (w, w_national) = (design.weight[r], design.weight_national[r]);
            own.add_square(!w.is_nan(), w, y, mean);
            let in_national = !w_national.is_nan();
            national.add_square(in_national, w_national, y, national_mean);
            if by_class {
                let k = usize::from(design.class[r]);
                classes[k].add_square(in_national, w_national, y, class_means[k]);
            }
        }
        start = end;
    }
    let municipal =
        municipal.iter().zip(design.municipalities).map(|(s, (_, size))| s.figure(*size, statistic)).collect();
    let national_figure = |s: &Sums| s.figure(design.national_size, statistic);
    YearEstimates {
        municipal,
        national: national_figure(&national),
        classes: [1, 2, 3, 4].map(|k| national_figure(&classes[k]).filter(|_| by_class)),
    }
}

/// The rows of each municipality, in order, that are in the indicator's domain and have a
/// finite `y`, all municipalities' in one list; and where each municipality's rows end in it.
fn answered_rows(y: &[f64], member: &[bool], municipalities: &[(Range<usize>, usize)]) -> (Vec<usize>, Vec<usize>) {
    // Every row is written at the end of the list so far, which moves on only for a row that
    // is answered: no branch on the answer, which the processor could not predict.
    let mut answered = vec![0; y.len() + 1];
    let mut next = 0;
    let mut ends = Vec::with_capacity(municipalities.len());
    for (rows, _) in municipalities {
        for r in rows.clone() {
            answered[next] = r;
            next += usize::from(member[r] & y[r].is_finite());
        }
        ends.push(next);
    }
    answered.truncate(next);
    (answered, ends)
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
