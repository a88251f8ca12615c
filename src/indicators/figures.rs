//! The published figures of one survey year: every catalogue indicator per municipality (its
//! own survey as the design, `weight`) and for the Netherlands (the year's rows as the design,
//! `weight_national`; all ages and each `lft_cy` class as domains), with the publication rules.
//!
//! What it must NOT do: read or write files, or decide weights; it takes a year's clean items,
//! respondent-level indicators and weights and returns plain records.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;

use anyhow::Result;
use arrow_array::RecordBatch;
use arrow_schema::Schema;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::aggregate::{
    CLASSES, Figure, Statistic, YearDesign, YearEstimates, design_size, estimate_year, multiple_response_values,
    percent_values, ticked, ticked_any, usable_weights,
};
use super::catalogue::{Catalogue, Domain, Indicator, Kind, box_number};
use super::respondent::{Items, RespondentIndicators};
use crate::codebook::MIN_COMPLETE;
use crate::lake::table::lake_table;

/// The publication rules (the pipeline file's `[indicators]` table).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublicationRules {
    /// A figure with fewer valid answers than this is not published (its numbers are null).
    pub min_n: u64,
}

impl Default for PublicationRules {
    /// 50 valid answers: below that the 95% interval of a percentage is wider than ±14 points
    /// (`docs/indicators.md`, "Publication").
    fn default() -> Self {
        PublicationRules { min_n: 50 }
    }
}

lake_table! {
    /// One figure of `indicators/municipality.parquet`.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    pub struct MunicipalityFigure {
        pub indicator: String,
        pub gemeente_code: String,
        pub jaar: i16,
        pub estimate: Option<f64>,
        pub se: Option<f64>,
        pub ci_low: Option<f64>,
        pub ci_high: Option<f64>,
        pub n: i64,
        pub n_weighted: Option<f64>,
        pub published: bool,
        pub reason: Option<String>,
    }
}

lake_table! {
    /// One figure of `indicators/national.parquet`; `lft_cy` null for all ages.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    pub struct NationalFigure {
        pub indicator: String,
        pub jaar: i16,
        pub lft_cy: Option<i16>,
        pub estimate: Option<f64>,
        pub se: Option<f64>,
        pub ci_low: Option<f64>,
        pub ci_high: Option<f64>,
        pub ci_low_logit: Option<f64>,
        pub ci_high_logit: Option<f64>,
        pub n: i64,
        pub n_weighted: Option<f64>,
        pub published: bool,
        pub reason: Option<String>,
    }
}

/// The figures of one survey year as the tables they go into: record batches of
/// [`MunicipalityFigure::schema`] and [`NationalFigure::schema`]. They are stored, loaded and
/// published as columns (turning ten years of them into records and back was a tenth of a
/// nightly run's CPU); the CSV exports and the findings pages read the records they need.
#[derive(Clone, Debug, PartialEq)]
pub struct YearFigures {
    pub municipality: RecordBatch,
    pub national: RecordBatch,
}

impl Default for YearFigures {
    fn default() -> Self {
        YearFigures {
            municipality: RecordBatch::new_empty(Arc::new(MunicipalityFigure::schema())),
            national: RecordBatch::new_empty(Arc::new(NationalFigure::schema())),
        }
    }
}

impl YearFigures {
    /// The figures of two batches, `None` unless both have this version's columns exactly (a
    /// year stored by another version has not).
    pub fn of_batches(municipality: RecordBatch, national: RecordBatch) -> Option<YearFigures> {
        let fits = |batch: &RecordBatch, schema: Schema| batch.schema().fields() == schema.fields();
        (fits(&municipality, MunicipalityFigure::schema()) && fits(&national, NationalFigure::schema()))
            .then_some(YearFigures { municipality, national })
    }
}

/// One survey year's rows as the figures need them, all aligned with `items`.
pub struct YearRows<'a> {
    pub year: u16,
    pub items: &'a Items<'a>,
    pub indicators: &'a RespondentIndicators,
    pub gemeente_code: &'a [&'a str],
    pub complete: &'a [bool],
    pub weight: &'a [Option<f64>],
    pub weight_national: &'a [Option<f64>],
}

/// Every catalogue figure of the year, municipalities in lake order, indicators in catalogue order.
///
/// One indicator at a time: its `y` column lives only while its figures are made (all of them
/// at once took hundreds of megabytes a year).
pub fn year_figures(catalogue: &Catalogue, rows: &YearRows, rules: &PublicationRules) -> Result<YearFigures> {
    let masks = DomainMasks::of(catalogue, rows);
    let runs: Vec<MunicipalityRun> = municipality_runs(rows.gemeente_code)
        .into_iter()
        .map(|(start, end)| MunicipalityRun {
            start,
            end,
            complete: rows.complete[start..end].iter().filter(|c| **c).count(),
            design_size: design_size(&rows.weight[start..end]),
        })
        .collect();
    let municipalities: Vec<(Range<usize>, usize)> = runs.iter().map(|r| (r.start..r.end, r.design_size)).collect();
    let (weight, weight_national) = (usable_weights(rows.weight), usable_weights(rows.weight_national));
    let class = masks.classes(rows.items.rows());
    let design = YearDesign {
        municipalities: &municipalities,
        weight: &weight,
        weight_national: &weight_national,
        national_size: design_size(rows.weight_national),
        class: &class,
    };
    let bases = multiple_response_bases(catalogue, rows.items);
    // Indicators are independent of each other. Those that read the same column (`wl01` feeds
    // eleven) are computed together, so the column is decoded once, not once per indicator.
    let mut per_indicator: Vec<(usize, IndicatorFigures)> = by_source(catalogue)
        .par_iter()
        .flat_map_iter(|group| {
            let rows_all = 0..rows.items.rows();
            let source = rows.indicators.column_nan(group.0).or_else(|| rows.items.get_nan(group.0, rows_all));
            let figures = group.1.iter().map(|&i| {
                let indicator = &catalogue.indicators[i];
                let y = y_values(indicator, source.as_deref(), &bases);
                let member = masks.of_domain(indicator.domain);
                let by_class = indicator.domain == Domain::All;
                let estimates = match y {
                    Some(y) => estimate_year(&y, member, &design, by_class, statistic(indicator.kind)),
                    None => counts(member, &masks, &runs, by_class),
                };
                let national = national_figures(indicator, &estimates, by_class, rows, rules);
                let municipal = (runs.iter().zip(estimates.municipal))
                    .map(|(run, figure)| municipality_figure(indicator, figure, rows, run, rules))
                    .collect();
                (i, (municipal, national))
            });
            figures.collect::<Vec<_>>()
        })
        .collect();
    per_indicator.sort_unstable_by_key(|(i, _)| *i);
    let per_indicator = per_indicator.into_iter().map(|(_, figures)| figures);
    let mut municipality = Vec::with_capacity(runs.len() * per_indicator.len());
    let mut national = Vec::new();
    let mut by_indicator = Vec::with_capacity(per_indicator.len());
    for (municipal, nat) in per_indicator {
        by_indicator.push(municipal.into_iter());
        national.extend(nat);
    }
    for _ in &runs {
        municipality.extend(by_indicator.iter_mut().filter_map(Iterator::next));
    }
    Ok(YearFigures {
        municipality: MunicipalityFigure::record_batch(&municipality)?,
        national: NationalFigure::record_batch(&national)?,
    })
}

/// One indicator's figures: per municipality (in the year's municipality order) and national.
type IndicatorFigures = (Vec<MunicipalityFigure>, Vec<NationalFigure>);

/// One municipality's rows of the year, `[start, end)`, and what every figure of it shares.
struct MunicipalityRun {
    start: usize,
    end: usize,
    /// Rows that are complete questionnaires (the 475 rule).
    complete: usize,
    /// Rows with a usable `weight`: the municipality's design.
    design_size: usize,
}

/// Per row, whether it is in each domain the catalogue uses (age class, typology,
/// self-reliance), and each domain's rows in order, computed once per year.
struct DomainMasks {
    masks: Vec<DomainMask>,
}

struct DomainMask {
    domain: Domain,
    member: Vec<bool>,
    /// How many rows are members.
    count: usize,
}

impl DomainMasks {
    fn of(catalogue: &Catalogue, rows: &YearRows) -> DomainMasks {
        let n = rows.gemeente_code.len();
        let class = |name: &str, k: u8| -> Vec<bool> {
            match rows.indicators.column_nan(name) {
                Some(c) => c.iter().map(|v| *v == f64::from(k)).collect(),
                None => vec![false; n],
            }
        };
        let mut masks: Vec<DomainMask> = Vec::new();
        let wanted = [Domain::All].into_iter().chain(catalogue.indicators.iter().map(|i| i.domain));
        for domain in wanted.chain((1..=4).map(Domain::AgeClass)) {
            if masks.iter().any(|m| m.domain == domain) {
                continue;
            }
            let member = match domain {
                Domain::All => vec![true; n],
                Domain::AgeClass(k) => class("lft_cy", k),
                Domain::Typology(k) => class("typology", k),
                Domain::Zelfredzaam(k) => class("zelfredzaam", k),
            };
            let count = member.iter().filter(|m| **m).count();
            masks.push(DomainMask { domain, member, count });
        }
        DomainMasks { masks }
    }

    fn find(&self, domain: Domain) -> Option<&DomainMask> {
        self.masks.iter().find(|m| m.domain == domain)
    }

    /// Per row, whether it is in `domain`.
    fn of_domain(&self, domain: Domain) -> &[bool] {
        self.find(domain).map_or(&[], |m| m.member.as_slice())
    }

    /// How many rows are in `domain`.
    fn count(&self, domain: Domain) -> usize {
        self.find(domain).map_or(0, |m| m.count)
    }

    /// Per row its age class (`lft_cy` 1 to 4), 0 for none: the classes of the national
    /// breakdown.
    fn classes(&self, rows: usize) -> Vec<u8> {
        let mut class = vec![0; rows];
        for k in 1..=CLASSES as u8 {
            for (c, member) in class.iter_mut().zip(self.of_domain(Domain::AgeClass(k))) {
                if *member {
                    *c = k;
                }
            }
        }
        class
    }
}

/// The catalogue's indicators grouped by the column they read (`Indicator::source`), each
/// group's indicators in catalogue order.
fn by_source(catalogue: &Catalogue) -> Vec<(&str, Vec<usize>)> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, indicator) in catalogue.indicators.iter().enumerate() {
        groups.entry(indicator.source.as_str()).or_default().push(i);
    }
    groups.into_iter().collect()
}

/// The `y` of every row for an indicator: the value, a 0/1 for a percentage, NaN outside its
/// base; `None` for the whole column when the year has no such source (a count has no `y`).
/// `source` is the indicator's source column, decoded once for all indicators that read it.
fn y_values<'a>(indicator: &Indicator, source: Option<&'a [f64]>, bases: &Bases) -> Option<Cow<'a, [f64]>> {
    match indicator.kind {
        Kind::Count => None,
        Kind::Mean => source.map(Cow::Borrowed),
        Kind::Percent => {
            let codes: Vec<f64> = indicator.codes.iter().map(|&c| f64::from(c)).collect();
            source.map(|v| Cow::Owned(percent_values(v, &codes)))
        }
        Kind::MrPercent => {
            let base = bases.get(indicator.set.as_deref()?)?;
            Some(Cow::Owned(multiple_response_values(base, &ticked(source?))))
        }
    }
}

/// Per multiple-response set of the catalogue that the year has boxes of, per row whether any
/// box is ticked ([`ticked_any`]): the base of every share of the set, computed once a year,
/// not once per option (each option decoded every box of its set).
type Bases = BTreeMap<String, Vec<bool>>;

fn multiple_response_bases(catalogue: &Catalogue, items: &Items) -> Bases {
    let sets: BTreeSet<&str> =
        catalogue.indicators.iter().filter(|i| i.kind == Kind::MrPercent).filter_map(|i| i.set.as_deref()).collect();
    sets.into_iter()
        .filter_map(|set| {
            let boxes = multiple_response_set(items, set);
            if boxes.is_empty() {
                return None;
            }
            let ticks: Vec<Vec<bool>> = boxes
                .iter()
                .map(|name| items.get_nan(name, 0..items.rows()).map_or_else(Vec::new, |v| ticked(&v)))
                .collect();
            Some((set.to_string(), ticked_any(&ticks)))
        })
        .collect()
}

/// The boxes of a multiple-response set (`zw13` → `zw13_0`, `zw13_1`, … in number order).
fn multiple_response_set<'a>(items: &Items<'a>, set: &str) -> Vec<&'a str> {
    let mut boxes: Vec<(u32, &str)> = items.names().filter_map(|name| Some((box_number(name, set)?, name))).collect();
    boxes.sort_by_key(|b| b.0);
    boxes.into_iter().map(|(_, name)| name).collect()
}

/// `[start, end)` of each municipality's rows: the lake is sorted by municipality.
fn municipality_runs(codes: &[&str]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = 0;
    while start < codes.len() {
        let end = start + codes[start..].iter().take_while(|c| **c == codes[start]).count();
        runs.push((start, end));
        start = end;
    }
    runs
}

fn statistic(kind: Kind) -> Statistic {
    match kind {
        Kind::Mean => Statistic::Mean,
        _ => Statistic::Percent,
    }
}

/// The figures of an indicator without a `y`, a count (`bp_respons`): its domain's rows.
fn counts(member: &[bool], masks: &DomainMasks, runs: &[MunicipalityRun], by_class: bool) -> YearEstimates {
    let count = |n: usize| Some(count_figure(n));
    YearEstimates {
        municipal: runs.iter().map(|run| count(member[run.start..run.end].iter().filter(|m| **m).count())).collect(),
        national: count(member.iter().filter(|m| **m).count()),
        classes: [1, 2, 3, 4].map(|k| count(masks.count(Domain::AgeClass(k))).filter(|_| by_class)),
    }
}

/// One municipality-year figure (its own rows with a `weight` are the design) with the
/// publication rules.
fn municipality_figure(
    indicator: &Indicator,
    figure: Option<Figure>,
    rows: &YearRows,
    run: &MunicipalityRun,
    rules: &PublicationRules,
) -> MunicipalityFigure {
    let (start, complete) = (run.start, run.complete);
    let year_note = (complete < MIN_COMPLETE).then(|| {
        format!("minder dan {MIN_COMPLETE} volledig ingevulde vragenlijsten ({complete}); niet publiceerbaar")
    });
    let (figure, published, reason) = publication(figure, year_note, rules);
    let finite = |v: f64| Some(v).filter(|v| v.is_finite());
    MunicipalityFigure {
        indicator: indicator.code.clone(),
        gemeente_code: rows.gemeente_code[start].to_string(),
        jaar: rows.year as i16,
        estimate: figure.as_ref().and_then(|f| finite(f.estimate)),
        se: figure.as_ref().and_then(|f| finite(f.se)),
        ci_low: figure.as_ref().and_then(|f| finite(f.ci_low)),
        ci_high: figure.as_ref().and_then(|f| finite(f.ci_high)),
        n: figure.as_ref().map_or(0, |f| f.n as i64),
        n_weighted: figure.as_ref().and_then(|f| finite(f.n_weighted)),
        published,
        reason,
    }
}

/// A count (`bp_respons`): the number of respondents, no uncertainty.
fn count_figure(n: usize) -> Figure {
    Figure {
        estimate: n as f64,
        se: f64::NAN,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        n: n as u64,
        n_weighted: f64::NAN,
        ci_low_logit: None,
        ci_high_logit: None,
    }
}

/// Applies the rules: no answer at all, or fewer than `min_n`, leaves the numbers null (NaN here,
/// null in the file) with the reason (the valid n stays); a municipality-year that may not be published keeps its numbers
/// and says so, as `response.csv` does.
fn publication(
    figure: Option<Figure>,
    year_note: Option<String>,
    rules: &PublicationRules,
) -> (Option<Figure>, bool, Option<String>) {
    match figure {
        None => (None, false, Some("geen geldige antwoorden".into())),
        Some(f) if f.n < rules.min_n => {
            let reason = format!("minder dan {} geldige antwoorden ({})", rules.min_n, f.n);
            (
                Some(Figure { estimate: f64::NAN, se: f64::NAN, ci_low: f64::NAN, ci_high: f64::NAN, ..f }),
                false,
                Some(reason),
            )
        }
        Some(f) => match year_note {
            Some(note) => (Some(f), false, Some(note)),
            None => (Some(f), true, None),
        },
    }
}

/// The national figures of one indicator (the year's rows with a `weight_national` are the
/// design): all ages, and each age class when the indicator is over all respondents.
fn national_figures(
    indicator: &Indicator,
    estimates: &YearEstimates,
    by_class: bool,
    rows: &YearRows,
    rules: &PublicationRules,
) -> Vec<NationalFigure> {
    let mut classes: Vec<Option<u8>> = vec![None];
    if by_class {
        classes.extend((1..=CLASSES as u8).map(Some));
    }
    let figure_of = |class: Option<u8>| match class {
        None => estimates.national.clone(),
        Some(k) => estimates.classes[usize::from(k) - 1].clone(),
    };
    classes
        .iter()
        .map(|class| {
            let (figure, published, reason) = publication(figure_of(*class), None, rules);
            let finite = |v: f64| Some(v).filter(|v| v.is_finite());
            NationalFigure {
                indicator: indicator.code.clone(),
                jaar: rows.year as i16,
                lft_cy: class.map(i16::from),
                estimate: figure.as_ref().and_then(|f| finite(f.estimate)),
                se: figure.as_ref().and_then(|f| finite(f.se)),
                ci_low: figure.as_ref().and_then(|f| finite(f.ci_low)),
                ci_high: figure.as_ref().and_then(|f| finite(f.ci_high)),
                ci_low_logit: figure.as_ref().and_then(|f| f.ci_low_logit).filter(|_| published),
                ci_high_logit: figure.as_ref().and_then(|f| f.ci_high_logit).filter(|_| published),
                n: figure.as_ref().map_or(0, |f| f.n as i64),
                n_weighted: figure.as_ref().and_then(|f| finite(f.n_weighted)),
                published,
                reason,
            }
        })
        .collect()
}
