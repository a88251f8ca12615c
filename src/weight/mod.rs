//! Weighting: recomputes the survey weights of one municipality-year (`weight`,
//! `weight_cell`) and of a whole year (`weight_national`), with the `weighting` table rows and
//! the diagnostics. Pure math over plain data: the pipeline collects the rows, calls
//! [`weight_municipality_year`] per municipality-year and [`national_weights`] per year, and
//! turns [`Note`]s and [`WeightError`]s into findings (each carries its rule id).
//!
//! API (see `docs/weighting.md` for every rule and decision):
//! * [`Respondent`] in, [`MunicipalityYearWeights`] out: `weights` and `cells` aligned with the
//!   input rows, `table` (one [`WeightingCell`] per cell), [`Diagnostics`], `notes`.
//! * [`WeightOptions`] (`Default` = the product's defaults; `serde` names for the pipeline
//!   file): method (auto, age, age-district, rake), `min_cell` 10, `cap` 3 (refused at ≥ 5),
//!   equal or proportional trimming, raking tolerance 1e-9 of the total and at most 200 sweeps.
//! * Submodules: `align` (population bands → `ch02` bands), `cells` (post-stratification
//!   cells, sparse merging), `rake` (IPF), `trim` (capping), `diagnostics`.
//!
//! It must NOT read files, know about deliveries or Parquet, weight on sex, or iterate a
//! `HashMap` into its output: everything is ordered (row order, `BTreeMap`), so the same input
//! gives bit-identical weights.

pub mod align;
pub mod cells;
pub mod diagnostics;
pub mod rake;
pub mod trim;

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::finding::{self, Rule};
use crate::population::{PopulationTable, RegionPopulation};
use align::Aligned;
use cells::Cell;
pub use trim::Trim;

/// One respondent as the weighting needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Respondent {
    /// `respondent_key` (not used in the math; for the caller's bookkeeping).
    pub key: String,
    /// Current `GM` code.
    pub municipality: String,
    /// `ch02` 1..=6; `None` = missing age (weight 1). Other codes are treated as missing.
    pub age_band: Option<i16>,
    /// `WK` + 6 digits.
    pub wijknr: Option<String>,
    /// The agency's `weging`, for the comparison only.
    pub weging: Option<f64>,
}

/// Which weighting model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Age × district when ≥ `district_coverage` of the rows carry a district the population
    /// has: post-stratified when the districts have age bands, raked when they have only
    /// totals; otherwise age only.
    #[default]
    Auto,
    /// Post-stratification on `ch02`.
    Age,
    /// Post-stratification on `ch02` × district.
    AgeDistrict,
    /// Raking on the `ch02` margin and the district margin.
    Rake,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Age => "age",
            Method::AgeDistrict => "age-district",
            Method::Rake => "rake",
        }
    }
}

/// Weighting options; the pipeline file's `[weighting]` table deserialises into this.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeightOptions {
    pub method: Method,
    /// A cell with fewer respondents is merged with the adjacent age band.
    pub min_cell: usize,
    /// Trimming cap on the sum-n scale; `None` (not expressible in the pipeline file, only in
    /// code) disables trimming, as the golden fixtures of pure calibration need.
    pub cap: Option<f64>,
    pub trim: Trim,
    /// Raking tolerance, relative to the total (the number of rows raked).
    pub tolerance: f64,
    pub max_iterations: usize,
    /// Share of rows that must carry a district known to the population for `Auto` to weight
    /// by district.
    pub district_coverage: f64,
    /// Warn when Kish's design effect exceeds this.
    pub deff_warning: f64,
    /// Warn when the agency's weight differs from ours by more than this on any row.
    pub agency_difference_warning: f64,
}

impl Default for WeightOptions {
    fn default() -> Self {
        WeightOptions {
            method: Method::Auto,
            min_cell: 10,
            cap: Some(3.0),
            trim: Trim::Equal,
            tolerance: 1e-9,
            max_iterations: 200,
            district_coverage: 0.95,
            deff_warning: 2.0,
            agency_difference_warning: 0.5,
        }
    }
}

impl<'de> Deserialize<'de> for Trim {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "equal" => Ok(Trim::Equal),
            "proportional" => Ok(Trim::Proportional),
            other => Err(serde::de::Error::custom(format!("trim must be equal or proportional, not {other:?}"))),
        }
    }
}

impl WeightOptions {
    /// Refuses options the protocol or the math cannot honour. A cap of 5 or more is refused:
    /// the protocol never lets a weight of 5 or more be delivered, and the cap is reached
    /// exactly (R's `trimWeights` semantics), so cap 5 would deliver 5.
    pub fn validate(&self) -> Result<(), WeightError> {
        let bad = |m: String| Err(WeightError::InvalidOptions(m));
        if let Some(c) = self.cap
            && !(c.is_finite() && c > 1.0 && c < 5.0)
        {
            return bad(format!("cap must be above 1 (the mean weight) and below 5 (the protocol's limit), got {c}"));
        }
        if self.min_cell == 0 {
            return bad("min_cell must be at least 1".into());
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return bad(format!("tolerance must be positive, got {}", self.tolerance));
        }
        if self.max_iterations == 0 {
            return bad("max_iterations must be at least 1".into());
        }
        if !(self.district_coverage > 0.0 && self.district_coverage <= 1.0) {
            return bad(format!("district_coverage must be in (0, 1], got {}", self.district_coverage));
        }
        Ok(())
    }
}

/// One row of the `weighting` table.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightingCell {
    pub year: u16,
    /// `GM` code, or `NL01` for the national cells.
    pub gemeente_code: String,
    pub cell: String,
    /// `None` for raking cells (only the margins are known).
    pub population: Option<f64>,
    pub population_share: Option<f64>,
    pub respondents: usize,
    /// The weight of the cell's rows (after trimming).
    pub weight: f64,
    /// Before trimming.
    pub weight_untrimmed: f64,
    /// `ch02=5|ch02=6`: the cells merged into this one; `None` when not merged.
    pub collapsed_from: Option<String>,
    /// Rows of the cell capped by trimming.
    pub trimmed: usize,
}

/// Per municipality-year (repeated on each `weighting` row by the lake writer).
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostics {
    pub n: usize,
    pub n_effective: f64,
    pub deff_kish: f64,
    pub weight_min: f64,
    pub weight_max: f64,
    /// `age`, `age-district` or `rake` (the method used, never `auto`).
    pub method: String,
    pub converged: bool,
    /// Raking sweeps; 1 for post-stratification (one closed-form step).
    pub iterations: usize,
    /// Trimming passes (0 when no weight exceeded the cap).
    pub trim_passes: usize,
    pub trimmed: usize,
    pub population_source: String,
    pub population_year: u16,
    pub agency_correlation: Option<f64>,
    pub agency_max_difference: Option<f64>,
}

/// Something to report, with the rule id the finding should carry.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub rule: Rule,
    pub message: String,
}

fn note(rule: Rule, message: impl Into<String>) -> Note {
    Note { rule, message: message.into() }
}

/// The result for one municipality-year.
#[derive(Clone, Debug, PartialEq)]
pub struct MunicipalityYearWeights {
    /// Aligned with the input rows; sums to the number of rows.
    pub weights: Vec<f64>,
    /// `weight_cell` per row; `None` for rows weighted 1 outside any cell (missing age, or a
    /// district unknown to the population under a district method).
    pub cells: Vec<Option<String>>,
    pub table: Vec<WeightingCell>,
    pub diagnostics: Diagnostics,
    pub notes: Vec<Note>,
}

/// Why a municipality-year (or year) could not be weighted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum WeightError {
    #[error("invalid weighting options: {0}")]
    InvalidOptions(String),
    #[error("no respondents to weight")]
    NoRespondents,
    #[error("rows of several municipalities passed as one municipality-year: {0}")]
    MixedMunicipalities(String),
    #[error("no population table for {region} in {year} or an earlier year")]
    NoPopulation { region: String, year: u16 },
    #[error("population of {region} (table year {year}) unusable: {message}")]
    Population { region: String, year: u16, message: String },
    #[error("method {method} not possible for {region} {year}: {reason}")]
    MethodUnavailable { region: String, year: u16, method: &'static str, reason: String },
}

impl WeightError {
    /// The finding rule for errors caused by data (`None` for programming or configuration
    /// errors, which the pipeline reports as a failed run or a usage error).
    pub fn rule(&self) -> Option<Rule> {
        match self {
            WeightError::NoPopulation { .. } => Some(finding::WEIGHT_NO_POPULATION),
            WeightError::Population { .. } => Some(finding::WEIGHT_POPULATION_UNUSABLE),
            WeightError::MethodUnavailable { .. } => Some(finding::WEIGHT_METHOD_UNAVAILABLE),
            _ => None,
        }
    }
}

/// A region's population for the year, aligned, or why not.
fn aligned_region(
    population: &PopulationTable,
    region: &str,
    year: u16,
) -> Result<Option<(RegionPopulation, Aligned)>, WeightError> {
    let pop = population.region(region, year).map_err(|e| WeightError::Population {
        region: region.to_string(),
        year,
        message: format!("{e:#}"),
    })?;
    let Some(pop) = pop else { return Ok(None) };
    let aligned = align::align(&pop.bands).map_err(|message| WeightError::Population {
        region: region.to_string(),
        year: pop.year,
        message,
    })?;
    Ok(Some((pop, aligned)))
}

/// Valid `ch02` code as u8.
fn ch02(r: &Respondent) -> Option<u8> {
    r.age_band.filter(|&a| a >= 1 && a as usize <= align::CH02_BANDS.len()).map(|a| a as u8)
}

/// Alignment notes, grouped so that identical approximations of many districts make one note.
fn alignment_notes(items: &[(&str, &Aligned)]) -> Vec<Note> {
    let mut by_text: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (region, a) in items {
        for n in &a.notes {
            by_text.entry(n.as_str()).or_default().push(region);
        }
    }
    by_text
        .into_iter()
        .map(|(text, regions)| {
            let who = if regions.len() <= 3 {
                regions.join(", ")
            } else {
                format!("{} and {} more regions", regions[..3].join(", "), regions.len() - 3)
            };
            note(finding::WEIGHT_BANDS_APPROXIMATED, format!("{who}: {text}"))
        })
        .collect()
}

/// How the calibration assigned rows: per in-scope row its cell index and weight.
struct Calibrated {
    /// Per input row: `Some(cell index)` when in scope.
    row_cell: Vec<Option<usize>>,
    /// Per input row: calibrated weight (1 outside scope).
    weights: Vec<f64>,
    /// Cell labels, populations, shares, collapsed_from, respondents.
    cells: Vec<TableCell>,
    method: Method,
    iterations: usize,
    converged: bool,
}

struct TableCell {
    label: String,
    population: Option<f64>,
    share: Option<f64>,
    respondents: usize,
    collapsed_from: Vec<String>,
}

/// Weights one municipality-year. All rows must belong to one municipality.
pub fn weight_municipality_year(
    year: u16,
    rows: &[Respondent],
    population: &PopulationTable,
    opts: &WeightOptions,
) -> Result<MunicipalityYearWeights, WeightError> {
    opts.validate()?;
    let gm = rows.first().ok_or(WeightError::NoRespondents)?.municipality.clone();
    let others: BTreeSet<&str> = rows.iter().map(|r| r.municipality.as_str()).filter(|m| *m != gm).collect();
    if !others.is_empty() {
        return Err(WeightError::MixedMunicipalities(format!(
            "{gm} and {}",
            others.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    let mut notes = age_notes(rows);
    let (gm_pop, gm_aligned) =
        aligned_region(population, &gm, year)?.ok_or_else(|| WeightError::NoPopulation { region: gm.clone(), year })?;
    let districts = known_districts(rows, population, year, &mut notes);
    let with_district = rows.iter().filter(|r| r.wijknr.as_deref().is_some_and(|w| districts.contains_key(w))).count();
    let coverage = with_district as f64 / rows.len() as f64;
    let method = choose_method(opts, coverage, &districts).map_err(|(method, reason)| {
        WeightError::MethodUnavailable { region: gm.clone(), year, method: method.as_str(), reason }
    })?;
    notes.push(note(
        finding::WEIGHT_METHOD,
        format!(
            "method {} ({} requested); {:.1}% of rows carry a district known to the population ({} districts)",
            method.as_str(),
            opts.method.as_str(),
            coverage * 100.0,
            districts.len()
        ),
    ));

    let (calibrated, pop_source, pop_year) = match method {
        Method::AgeDistrict => {
            let c = calibrate_age_district(rows, &districts, opts.min_cell, &mut notes);
            let items: Vec<(&str, &Aligned)> = districts.iter().map(|(k, (_, a))| (k.as_str(), a)).collect();
            notes.extend(alignment_notes(&items));
            let (src, y) = district_source(&districts);
            (c, src, y)
        }
        Method::Rake => {
            let c = calibrate_rake(rows, &gm_aligned, &districts, opts, &mut notes);
            let mut items: Vec<(&str, &Aligned)> = vec![(gm.as_str(), &gm_aligned)];
            // Alignment of a district to one open group is expected here, not an approximation.
            items.extend(districts.iter().filter(|(_, (_, a))| a.groups.len() > 1).map(|(k, (_, a))| (k.as_str(), a)));
            notes.extend(alignment_notes(&items));
            let (dsrc, dy) = district_source(&districts);
            let src = format!(
                "age margin {} {} ({}; {}); district margin {}",
                gm, gm_pop.year, gm_pop.source, gm_aligned.summary, dsrc
            );
            (c, src, dy.min(gm_pop.year))
        }
        _ => {
            let c = calibrate_age(rows, &gm_aligned, opts.min_cell, &mut notes);
            notes.extend(alignment_notes(&[(gm.as_str(), &gm_aligned)]));
            (c, format!("{} {} ({}; {})", gm, gm_pop.year, gm_pop.source, gm_aligned.summary), gm_pop.year)
        }
    };
    if pop_year != year {
        notes.push(note(
            finding::WEIGHT_POPULATION_EARLIER_YEAR,
            format!("no population table for {year}; the nearest earlier year {pop_year} is used"),
        ));
    }
    if !calibrated.converged {
        notes.push(note(
            finding::WEIGHT_NOT_CONVERGED,
            format!("raking did not converge within {} iterations; the last weights are kept", calibrated.iterations),
        ));
    }
    finish(year, &gm, rows, calibrated, pop_source, pop_year, opts, notes)
}

/// Notes on rows without a usable age: they get weight 1.
fn age_notes(rows: &[Respondent]) -> Vec<Note> {
    let mut notes = Vec::new();
    let invalid = rows.iter().filter(|r| r.age_band.is_some() && ch02(r).is_none()).count();
    if invalid > 0 {
        notes.push(note(
            finding::WEIGHT_MISSING_AGE,
            format!("{invalid} rows have a ch02 code outside 1..6; treated as missing age"),
        ));
    }
    let missing = rows.iter().filter(|r| ch02(r).is_none()).count();
    if missing > 0 {
        notes.push(note(
            finding::WEIGHT_MISSING_AGE,
            format!("{missing} of {} rows without age (ch02) get weight 1", rows.len()),
        ));
    }
    notes
}

/// The districts named by the rows that the population knows (for the year or an earlier one),
/// aligned to the age bands; an unusable district table is a note and the district unknown.
fn known_districts(
    rows: &[Respondent],
    population: &PopulationTable,
    year: u16,
    notes: &mut Vec<Note>,
) -> BTreeMap<String, (RegionPopulation, Aligned)> {
    let wijken: BTreeSet<&str> = rows.iter().filter_map(|r| r.wijknr.as_deref()).collect();
    let mut districts = BTreeMap::new();
    for wk in wijken {
        match aligned_region(population, wk, year) {
            Ok(Some(d)) => {
                districts.insert(wk.to_string(), d);
            }
            Ok(None) => {}
            Err(e) => notes
                .push(note(finding::WEIGHT_POPULATION_UNUSABLE, format!("{e}; the district is treated as unknown"))),
        }
    }
    districts
}

/// The method for a municipality-year: `auto` picks by district coverage; an explicit method the
/// population cannot support is refused with the reason.
fn choose_method(
    opts: &WeightOptions,
    coverage: f64,
    districts: &BTreeMap<String, (RegionPopulation, Aligned)>,
) -> Result<Method, (Method, String)> {
    // A district whose only band is an open one from 18 (or whose open band merges every ch02
    // band) gives a total, not an age distribution: it can be raked, not crossed.
    let age_detail = !districts.is_empty() && districts.values().all(|(_, a)| a.groups.len() > 1);
    match opts.method {
        Method::Auto if coverage >= opts.district_coverage && !districts.is_empty() => {
            Ok(if age_detail { Method::AgeDistrict } else { Method::Rake })
        }
        Method::Auto => Ok(Method::Age),
        Method::AgeDistrict if !age_detail => {
            Err((Method::AgeDistrict, "the population has no age bands for the respondents' districts".into()))
        }
        Method::Rake if districts.is_empty() => {
            Err((Method::Rake, "the population has none of the respondents' districts".into()))
        }
        m => Ok(m),
    }
}

/// "N districts, table years …, from …".
fn district_source(districts: &BTreeMap<String, (RegionPopulation, Aligned)>) -> (String, u16) {
    let years: BTreeSet<u16> = districts.values().map(|(p, _)| p.year).collect();
    let sources: BTreeSet<&str> = districts.values().map(|(p, _)| p.source.as_str()).collect();
    let exact = districts.values().all(|(_, a)| a.exact);
    let ys: Vec<String> = years.iter().map(|y| y.to_string()).collect();
    (
        format!(
            "{} districts {} ({}; {})",
            districts.len(),
            ys.join("/"),
            sources.into_iter().collect::<Vec<_>>().join(", "),
            if exact { "exact" } else { "approximated" }
        ),
        years.iter().next().copied().unwrap_or(0),
    )
}

fn table_cells(cells: &[Cell]) -> Vec<TableCell> {
    let shares = cells::shares(cells);
    cells
        .iter()
        .zip(shares)
        .map(|(c, s)| TableCell {
            label: c.label(),
            population: Some(c.population),
            share: s,
            respondents: c.respondents,
            collapsed_from: c.collapsed_from.clone(),
        })
        .collect()
}

/// Post-stratification of cells; rows map to cells by (district, ch02).
fn post_stratify(
    rows: &[Respondent],
    cells: Vec<Cell>,
    in_scope: impl Fn(&Respondent) -> bool,
    method: Method,
) -> Calibrated {
    let cw = cells::weights(&cells);
    let mut row_cell = vec![None; rows.len()];
    let mut weights = vec![1.0; rows.len()];
    for (i, r) in rows.iter().enumerate() {
        let Some(a) = ch02(r) else { continue };
        if !in_scope(r) {
            continue;
        }
        let found = cells
            .iter()
            .position(|c| c.contains(a) && (c.district.is_none() || c.district.as_deref() == r.wijknr.as_deref()));
        if let Some(k) = found
            && let Some(w) = cw[k]
        {
            row_cell[i] = Some(k);
            weights[i] = w;
        }
    }
    Calibrated { row_cell, weights, cells: table_cells(&cells), method, iterations: 1, converged: true }
}

fn calibrate_age(rows: &[Respondent], aligned: &Aligned, min_cell: usize, notes: &mut Vec<Note>) -> Calibrated {
    let mut cells = cells::from_aligned(aligned, None, rows.iter().filter_map(ch02));
    notes.extend(cells::merge_sparse(&mut cells, min_cell).into_iter().map(|m| note(finding::WEIGHT_CELLS_MERGED, m)));
    post_stratify(rows, cells, |_| true, Method::Age)
}

fn district_unknown_note(rows: &[Respondent], known: &dyn Fn(&Respondent) -> bool, notes: &mut Vec<Note>) {
    let outside = rows.iter().filter(|r| ch02(r).is_some() && !known(r)).count();
    if outside > 0 {
        notes.push(note(
            finding::WEIGHT_DISTRICT_UNKNOWN,
            format!("{outside} rows with an age have no district known to the population; they get weight 1"),
        ));
    }
}

fn calibrate_age_district(
    rows: &[Respondent],
    districts: &BTreeMap<String, (RegionPopulation, Aligned)>,
    min_cell: usize,
    notes: &mut Vec<Note>,
) -> Calibrated {
    let known = |r: &Respondent| r.wijknr.as_deref().is_some_and(|w| districts.contains_key(w));
    district_unknown_note(rows, &known, notes);
    let mut all = Vec::new();
    for (wk, (_, aligned)) in districts {
        let ages = rows.iter().filter(|r| r.wijknr.as_deref() == Some(wk.as_str())).filter_map(ch02);
        let mut cells = cells::from_aligned(aligned, Some(wk), ages);
        if cells.iter().all(|c| c.respondents == 0) {
            continue; // only missing-age rows name this district
        }
        notes.extend(
            cells::merge_sparse(&mut cells, min_cell).into_iter().map(|m| note(finding::WEIGHT_CELLS_MERGED, m)),
        );
        all.extend(cells);
    }
    post_stratify(rows, all, known, Method::AgeDistrict)
}

fn calibrate_rake(
    rows: &[Respondent],
    gm_aligned: &Aligned,
    districts: &BTreeMap<String, (RegionPopulation, Aligned)>,
    opts: &WeightOptions,
    notes: &mut Vec<Note>,
) -> Calibrated {
    // District totals: the sum of their aligned groups (18+). A district without population
    // cannot take respondents (their weight would be 0): it counts as unknown.
    let totals: BTreeMap<&str, f64> = districts
        .iter()
        .map(|(k, (_, a))| (k.as_str(), a.groups.iter().map(|g| g.population).sum::<f64>()))
        .filter(|(_, t)| *t > 0.0)
        .collect();
    let known = |r: &Respondent| r.wijknr.as_deref().is_some_and(|w| totals.contains_key(w));
    district_unknown_note(rows, &known, notes);
    let scope: Vec<usize> = (0..rows.len()).filter(|&i| ch02(&rows[i]).is_some() && known(&rows[i])).collect();
    let mut age_cells = cells::from_aligned(gm_aligned, None, scope.iter().filter_map(|&i| ch02(&rows[i])));
    notes.extend(
        cells::merge_sparse(&mut age_cells, opts.min_cell).into_iter().map(|m| note(finding::WEIGHT_CELLS_MERGED, m)),
    );
    // Categories that have respondents (the others cannot be fitted and leave the margin).
    let age_idx: Vec<usize> = (0..age_cells.len()).filter(|&k| age_cells[k].respondents > 0).collect();
    let mut wk_n: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in &scope {
        if let Some(w) = rows[i].wijknr.as_deref() {
            *wk_n.entry(w).or_default() += 1;
        }
    }
    for (wk, n) in &wk_n {
        if *n < opts.min_cell {
            notes.push(note(
                finding::WEIGHT_CELLS_MERGED,
                format!(
                    "district {wk} has {n} respondents (< {}); districts are not merged, it is raked as it is",
                    opts.min_cell
                ),
            ));
        }
    }
    let wk_list: Vec<&str> = wk_n.keys().copied().collect();
    let n_scope = scope.len() as f64;
    let age_pop: f64 = age_idx.iter().map(|&k| age_cells[k].population).sum();
    let wk_pop: f64 = wk_list.iter().map(|w| totals.get(w).copied().unwrap_or(0.0)).sum();
    let age_margin = rake::Margin {
        category: scope
            .iter()
            .map(|&i| {
                let a = ch02(&rows[i]).unwrap_or(0);
                age_idx.iter().position(|&k| age_cells[k].contains(a)).unwrap_or(0)
            })
            .collect(),
        target: age_idx.iter().map(|&k| age_cells[k].population / age_pop * n_scope).collect(),
    };
    let wk_margin = rake::Margin {
        category: scope
            .iter()
            .map(|&i| wk_list.iter().position(|w| Some(*w) == rows[i].wijknr.as_deref()).unwrap_or(0))
            .collect(),
        target: wk_list.iter().map(|w| totals.get(w).copied().unwrap_or(0.0) / wk_pop * n_scope).collect(),
    };
    let out = rake::rake(
        scope.len(),
        &[age_margin.clone(), wk_margin.clone()],
        opts.tolerance * n_scope,
        opts.max_iterations,
    );
    // Rescale to exactly the number of rows raked (the last sweep fits the district margin,
    // whose targets sum to it up to rounding).
    let s: f64 = out.weights.iter().sum();
    let mut weights = vec![1.0; rows.len()];
    let mut row_cell = vec![None; rows.len()];
    // Joint cells age group × district, in (district, age) order like the golden cells.csv.
    let mut joint: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (j, &i) in scope.iter().enumerate() {
        weights[i] = out.weights[j] * n_scope / s;
        let key = (wk_margin.category[j], age_margin.category[j]);
        let next = joint.len();
        let k = *joint.entry(key).or_insert(next);
        row_cell[i] = Some(k);
    }
    let mut order: Vec<((usize, usize), usize)> = joint.into_iter().collect();
    order.sort();
    let mut renumber = vec![0; order.len()];
    let mut cells = Vec::new();
    for (new, ((d, a), old)) in order.into_iter().enumerate() {
        renumber[old] = new;
        let ac = &age_cells[age_idx[a]];
        let label = cells::label(ac.first, ac.last, Some(wk_list[d]));
        let respondents =
            age_margin.category.iter().zip(&wk_margin.category).filter(|(x, y)| **x == a && **y == d).count();
        cells.push(TableCell {
            label,
            population: None,
            share: None,
            respondents,
            collapsed_from: ac.collapsed_from.iter().map(|l| format!("{l};wijk={}", wk_list[d])).collect(),
        });
    }
    for rc in row_cell.iter_mut().flatten() {
        *rc = renumber[*rc];
    }
    Calibrated { row_cell, weights, cells, method: Method::Rake, iterations: out.iterations, converged: out.converged }
}

/// Trimming, the table, diagnostics and warnings.
#[allow(clippy::too_many_arguments)]
fn finish(
    year: u16,
    gm: &str,
    rows: &[Respondent],
    c: Calibrated,
    population_source: String,
    population_year: u16,
    opts: &WeightOptions,
    mut notes: Vec<Note>,
) -> Result<MunicipalityYearWeights, WeightError> {
    let untrimmed = c.weights.clone();
    let mut weights = c.weights;
    let mut trimmed_row = vec![false; rows.len()];
    let mut passes = 0;
    if let Some(cap) = opts.cap {
        // Only rows in a cell are trimmed: rows weighted 1 by rule keep 1.
        let idx: Vec<usize> = (0..rows.len()).filter(|&i| c.row_cell[i].is_some()).collect();
        let w: Vec<f64> = idx.iter().map(|&i| weights[i]).collect();
        let t = trim::trim(&w, cap, opts.trim);
        passes = t.passes;
        for (j, &i) in idx.iter().enumerate() {
            weights[i] = t.weights[j];
            trimmed_row[i] = t.trimmed[j] && t.passes > 0;
        }
        if t.passes > 0 {
            let k = trimmed_row.iter().filter(|&&x| x).count();
            notes.push(note(
                finding::WEIGHT_TRIMMED,
                format!(
                    "{k} rows trimmed to the cap {cap} in {} passes; the excess went to the other rows ({:?})",
                    t.passes, opts.trim
                ),
            ));
        }
        if !t.settled {
            notes.push(note(
                finding::WEIGHT_NOT_CONVERGED,
                "trimming hit its pass limit; weights were clamped to the cap",
            ));
        }
    }
    let mut table: Vec<WeightingCell> = c
        .cells
        .iter()
        .map(|tc| WeightingCell {
            year,
            gemeente_code: gm.to_string(),
            cell: tc.label.clone(),
            population: tc.population,
            population_share: tc.share,
            respondents: tc.respondents,
            weight: f64::NAN,
            weight_untrimmed: f64::NAN,
            collapsed_from: (!tc.collapsed_from.is_empty()).then(|| tc.collapsed_from.join("|")),
            trimmed: 0,
        })
        .collect();
    for i in 0..rows.len() {
        if let Some(k) = c.row_cell[i] {
            let cell = &mut table[k];
            if cell.weight.is_nan() {
                cell.weight = weights[i];
                cell.weight_untrimmed = untrimmed[i];
            }
            cell.trimmed += usize::from(trimmed_row[i]);
        }
    }
    // Cells without respondents took no part; they stay out of the table (their population is
    // named in a note from the merging step).
    table.retain(|t| t.respondents > 0 && !t.weight.is_nan());
    let cells_out: Vec<Option<String>> = c.row_cell.iter().map(|k| k.map(|k| c.cells[k].label.clone())).collect();

    let s = diagnostics::summarise(&weights);
    let agency: Vec<Option<f64>> = rows.iter().map(|r| r.weging).collect();
    let (corr, maxdiff) = diagnostics::compare_agency(&weights, &agency);
    if s.deff_kish > opts.deff_warning {
        notes.push(note(
            finding::WEIGHT_DEFF_HIGH,
            format!(
                "design effect (Kish) {:.3} exceeds {}: effective sample size {:.1} of {}",
                s.deff_kish, opts.deff_warning, s.n_effective, s.n
            ),
        ));
    }
    if let Some(d) = maxdiff.filter(|d| *d > opts.agency_difference_warning) {
        notes.push(note(
            finding::WEIGHT_AGENCY_DIFFERS,
            format!(
                "the agency's weging differs from the recomputed weight by up to {d:.3} (> {}); correlation {}",
                opts.agency_difference_warning,
                corr.map(|c| format!("{c:.3}")).unwrap_or_else(|| "undefined".into())
            ),
        ));
    }
    let diagnostics = Diagnostics {
        n: s.n,
        n_effective: s.n_effective,
        deff_kish: s.deff_kish,
        weight_min: s.min,
        weight_max: s.max,
        method: c.method.as_str().to_string(),
        converged: c.converged,
        iterations: c.iterations,
        trim_passes: passes,
        trimmed: trimmed_row.iter().filter(|&&x| x).count(),
        population_source,
        population_year,
        agency_correlation: corr,
        agency_max_difference: maxdiff,
    };
    Ok(MunicipalityYearWeights { weights, cells: cells_out, table, diagnostics, notes })
}

/// `weight_national` of one year.
#[derive(Clone, Debug, PartialEq)]
pub struct NationalWeights {
    /// Aligned with the input rows; sums to their number.
    pub weights: Vec<f64>,
    pub cells: Vec<Option<String>>,
    /// The national cells (`gemeente_code` = `NL01`).
    pub table: Vec<WeightingCell>,
    pub population_year: u16,
    pub population_source: String,
    pub notes: Vec<Note>,
}

/// National weights: all respondents of the year (every municipality) post-stratified on
/// `ch02` to the `NL01` age distribution, missing age → 1, summing to the year's rows. The
/// pooled sample is not first weighted by municipality size (VNG's published method: age
/// only). No trimming; only cells without respondents are merged (min_cell 1), since national
/// cells hold thousands.
pub fn national_weights(
    year: u16,
    rows: &[Respondent],
    population: &PopulationTable,
) -> Result<NationalWeights, WeightError> {
    if rows.is_empty() {
        return Err(WeightError::NoRespondents);
    }
    let region = crate::municipality::NATIONAL_REGION;
    let (pop, aligned) = aligned_region(population, region, year)?
        .ok_or_else(|| WeightError::NoPopulation { region: region.into(), year })?;
    let mut notes = Vec::new();
    let mut cells = cells::from_aligned(&aligned, None, rows.iter().filter_map(ch02));
    notes.extend(cells::merge_sparse(&mut cells, 1).into_iter().map(|m| note(finding::WEIGHT_CELLS_MERGED, m)));
    notes.extend(alignment_notes(&[(region, &aligned)]));
    if pop.year != year {
        notes.push(note(
            finding::WEIGHT_POPULATION_EARLIER_YEAR,
            format!("no NL01 population for {year}; the nearest earlier year {} is used", pop.year),
        ));
    }
    let c = post_stratify(rows, cells, |_| true, Method::Age);
    let source = format!("{} {} ({}; {})", region, pop.year, pop.source, aligned.summary);
    let opts = WeightOptions { cap: None, ..WeightOptions::default() };
    let done = finish(year, region, rows, c, source.clone(), pop.year, &opts, notes)?;
    // Design-effect and agency warnings are about municipality weights, not the national one.
    let notes = done
        .notes
        .into_iter()
        .filter(|n| n.rule != finding::WEIGHT_DEFF_HIGH && n.rule != finding::WEIGHT_AGENCY_DIFFERS)
        .collect();
    Ok(NationalWeights {
        weights: done.weights,
        cells: done.cells,
        table: done.table,
        population_year: pop.year,
        population_source: source,
        notes,
    })
}

/// The population's share per `ch02` band of a municipality-year, for the delivery report's
/// age chart; `None` when there is no table or its bands do not resolve into the `ch02` bands.
pub fn age_band_shares(population: &PopulationTable, code: &str, year: u16) -> Option<Vec<f64>> {
    let region = population.region(code, year).ok()??;
    let aligned = align::align(&region.bands).ok()?;
    if aligned.groups.len() != align::CH02_BANDS.len() {
        return None;
    }
    let total: f64 = aligned.groups.iter().map(|g| g.population).sum();
    (total > 0.0).then(|| aligned.groups.iter().map(|g| g.population / total).collect())
}
