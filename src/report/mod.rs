//! Reports: what happened to each delivery (for the agency that sent it) and to each run (for
//! the data team), as JSON for machines and as one self-contained HTML page for people.
//!
//! A report only shows what the stages found: it computes no findings of its own. It holds no
//! cell contents, only column names, counts, row numbers and rule messages (which never quote a
//! value), so it is as free of personal data as the findings are. The JSON shapes are described
//! by the schemas in `docs/schemas/`; a test validates every report against them.

pub mod findings;
pub mod html;
pub mod nl;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::codebook::Codebook;
use crate::codebook::MIN_COMPLETE;
use crate::finding::{self, Finding, Severity};
use crate::outcome::{DeliveryOutcome, Status};

/// Version of the report JSON shapes; bumped when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// The feedback report for one delivery.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveryReport {
    pub schema_version: u32,
    pub run_id: String,
    pub delivery_id: String,
    pub file_name: String,
    pub file_bytes: u64,
    pub format: String,
    pub status: String,
    pub reason: Option<String>,
    pub vragenlijst: Option<String>,
    pub municipalities: Vec<MunicipalityRef>,
    pub year: Option<u16>,
    pub quarters: Vec<i16>,
    pub agency: Option<Agency>,
    pub sheet: Option<String>,
    pub mapping: Mapping,
    pub counts: Counts,
    pub findings: Vec<Finding>,
    /// Rows not published as duplicates: row, rule, and the row it duplicated.
    pub dropped_rows: Vec<crate::dedup::DroppedRow>,
    pub age_distribution: AgeDistribution,
}

#[derive(Clone, Debug, Serialize)]
pub struct MunicipalityRef {
    pub code: String,
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Agency {
    pub code: i16,
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Mapping {
    /// Delivered column name → canonical column.
    pub mapped: Vec<ColumnPair>,
    /// Dropped columns by name, with the reason.
    pub dropped: Vec<ColumnPair>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ColumnPair {
    pub delivered: String,
    pub to: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub rows_read: u64,
    pub rows_kept: u64,
    pub complete: u64,
    /// Values set to null, per delivered column (invalid codes, text, dates, unmappable recodes).
    pub nulled_per_variable: BTreeMap<String, u64>,
    /// Rows whose routed-out answers were blanked, per routing rule.
    pub routing_blanks: BTreeMap<String, u64>,
    pub duplicates_dropped: u64,
}

/// Respondents per `ch02` band next to the population's shares (when a population table for
/// the municipality and year is known).
#[derive(Clone, Debug, Default, Serialize)]
pub struct AgeDistribution {
    pub bands: Vec<String>,
    pub respondents: Vec<u64>,
    pub missing: u64,
    pub population_share: Option<Vec<f64>>,
}

/// Rules whose findings count values set to null, per column.
const NULLING_RULES: [finding::Rule; 4] =
    [finding::VALUE_NOT_A_CODE, finding::CODE_INVALID, finding::DATE_IN_QUESTIONNAIRE, finding::RECODE_UNMAPPABLE];

/// Builds the report of one delivery from what the pipeline did with it.
pub fn delivery_report(
    run_id: &str,
    outcome: &DeliveryOutcome,
    codebook: &Codebook,
    population_share: Option<Vec<f64>>,
) -> DeliveryReport {
    let d = &outcome.delivery;
    let h = outcome.harmonised.as_ref();
    let batch = outcome.summary.as_ref();
    let mut counts = Counts {
        rows_read: outcome.rows_read as u64,
        rows_kept: if outcome.status == Status::Published { batch.map_or(0, |b| b.rows as u64) } else { 0 },
        complete: batch.map_or(0, |b| b.complete as u64),
        duplicates_dropped: outcome.rows_dropped_duplicate as u64,
        ..Counts::default()
    };
    for f in &outcome.findings {
        if NULLING_RULES.iter().any(|r| r.id == f.rule)
            && let Some(c) = &f.column
        {
            *counts.nulled_per_variable.entry(c.clone()).or_default() += f.count;
        }
    }
    if let Some(h) = h {
        for (rule, rows) in &h.routing_blanked {
            counts.routing_blanks.insert(rule.clone(), *rows as u64);
        }
    }
    let mapping = h.map_or_else(Mapping::default, |h| Mapping {
        mapped: h.mapping.mapped.iter().map(|(a, b)| ColumnPair { delivered: a.clone(), to: b.clone() }).collect(),
        dropped: h.mapping.dropped.iter().map(|(a, b)| ColumnPair { delivered: a.clone(), to: b.clone() }).collect(),
    });
    let agency = batch.and_then(|b| b.org_first).map(|code| Agency {
        code,
        name: codebook
            .variable_2022("org")
            .and_then(|v| v.value_labels.iter().find(|(c, _)| *c == code).map(|(_, l)| l.clone())),
    });
    let quarters: Vec<i16> = batch.map(|b| b.quarters.clone()).unwrap_or_default();
    DeliveryReport {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.to_string(),
        delivery_id: d.id.clone(),
        file_name: d.file_name.clone(),
        file_bytes: d.bytes,
        format: d.format.as_str().to_string(),
        status: outcome.status.as_str().to_string(),
        reason: outcome.reason.clone(),
        vragenlijst: h.and_then(|h| h.vragenlijst).map(|q| q.as_str().to_string()),
        municipalities: batch
            .map(|b| {
                b.municipalities
                    .iter()
                    .map(|m| MunicipalityRef { code: m.code.clone(), name: m.name.clone() })
                    .collect()
            })
            .unwrap_or_default(),
        year: batch.map(|b| b.year),
        quarters,
        agency,
        sheet: h.and_then(|h| h.sheet.clone()),
        mapping,
        counts,
        findings: outcome.findings.clone(),
        dropped_rows: outcome.dropped_rows.clone(),
        age_distribution: age_distribution(outcome, codebook, population_share),
    }
}

fn age_distribution(
    outcome: &DeliveryOutcome,
    codebook: &Codebook,
    population_share: Option<Vec<f64>>,
) -> AgeDistribution {
    let Some(age) = codebook.age_column() else { return AgeDistribution::default() };
    let column = &codebook.columns[age];
    let bands: Vec<String> = column.value_labels.iter().map(|(_, l)| l.clone()).collect();
    let mut respondents = vec![0u64; bands.len()];
    let mut missing = 0;
    if let Some(b) = &outcome.summary {
        for (v, n) in &b.age_counts {
            match v.and_then(|v| column.value_labels.iter().position(|(c, _)| *c == v)) {
                Some(i) => respondents[i] += n,
                None => missing += n,
            }
        }
    }
    AgeDistribution { bands, respondents, missing, population_share }
}

/// The report of one run.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub schema_version: u32,
    pub run_id: String,
    pub command: String,
    pub product_version: String,
    pub years: Vec<YearReport>,
    pub deliveries_by_status: BTreeMap<String, u64>,
    pub deliveries: Vec<DeliveryLine>,
    pub respondents: Vec<MunicipalityYear>,
    pub findings_by_rule: Vec<RuleTotal>,
    /// Rows and pairs per dedup rule.
    pub duplicates: crate::dedup::RuleTotals,
    /// One line per weighted municipality-year (and `NL01` per year for the national weights).
    pub weighting: Vec<WeightingSummary>,
    pub ignored_files: Vec<String>,
    pub stage_seconds: BTreeMap<String, f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct YearReport {
    pub year: u16,
    pub rebuilt: bool,
    pub why: String,
    pub deliveries: u64,
    pub respondents: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct DeliveryLine {
    pub delivery_id: String,
    pub file_name: String,
    pub status: String,
    pub reason: Option<String>,
    pub findings_error: u64,
    pub findings_warning: u64,
}

/// Respondents and completed questionnaires of one municipality-year (also `response.csv`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MunicipalityYear {
    pub year: u16,
    pub gemeente_code: String,
    pub gemeente_naam: String,
    pub respondents: u64,
    pub complete: u64,
    pub publishable: bool,
}

/// How one municipality-year was weighted.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct WeightingSummary {
    pub year: u16,
    pub gemeente_code: String,
    pub method: String,
    pub n: u64,
    pub n_effective: f64,
    pub deff_kish: f64,
    pub weight_min: f64,
    pub weight_max: f64,
    pub converged: bool,
    pub trimmed: u64,
    pub population_source: String,
    pub population_year: u16,
    pub agency_correlation: Option<f64>,
    pub agency_max_difference: Option<f64>,
}

impl WeightingSummary {
    pub fn of(year: u16, code: &str, d: &crate::weight::Diagnostics) -> WeightingSummary {
        WeightingSummary {
            year,
            gemeente_code: code.to_string(),
            method: d.method.clone(),
            n: d.n as u64,
            n_effective: d.n_effective,
            deff_kish: d.deff_kish,
            weight_min: d.weight_min,
            weight_max: d.weight_max,
            converged: d.converged,
            trimmed: d.trimmed as u64,
            population_source: d.population_source.clone(),
            population_year: d.population_year,
            agency_correlation: d.agency_correlation,
            agency_max_difference: d.agency_max_difference,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RuleTotal {
    pub rule: String,
    pub severity: Severity,
    pub deliveries: u64,
    pub count: u64,
}

/// Totals per rule over all deliveries, in rule-id order.
pub fn findings_by_rule(outcomes: &[DeliveryOutcome]) -> Vec<RuleTotal> {
    let mut totals: BTreeMap<&str, RuleTotal> = BTreeMap::new();
    for o in outcomes {
        let mut seen = std::collections::BTreeSet::new();
        for f in &o.findings {
            let t = totals.entry(f.rule).or_insert_with(|| RuleTotal {
                rule: f.rule.to_string(),
                severity: f.severity,
                deliveries: 0,
                count: 0,
            });
            t.count += f.count;
            if seen.insert(f.rule) {
                t.deliveries += 1;
            }
        }
    }
    totals.into_values().collect()
}

/// Respondents and complete questionnaires per municipality-year over the published
/// deliveries; a municipality-year is publishable from [`MIN_COMPLETE`]
/// complete questionnaires.
pub fn response(outcomes: &[DeliveryOutcome]) -> Vec<MunicipalityYear> {
    let mut by: BTreeMap<(u16, String), MunicipalityYear> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.status == Status::Published) {
        let Some(b) = &o.summary else { continue };
        for m in b.municipalities.iter().filter(|m| m.rows > 0) {
            let e = by.entry((b.year, m.code.clone())).or_insert_with(|| MunicipalityYear {
                year: b.year,
                gemeente_code: m.code.clone(),
                gemeente_naam: m.name.clone(),
                respondents: 0,
                complete: 0,
                publishable: false,
            });
            e.respondents += m.rows as u64;
            e.complete += m.complete as u64;
        }
    }
    let mut out: Vec<MunicipalityYear> = by.into_values().collect();
    for m in &mut out {
        m.publishable = m.complete >= MIN_COMPLETE as u64;
    }
    out
}

/// `response.csv`: `;`-separated UTF-8, one line per municipality-year.
pub fn response_csv(rows: &[MunicipalityYear]) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(Vec::new());
    w.write_record(["jr", "gemeente_code", "gemeente_naam", "respondents", "complete", "publishable"])?;
    for r in rows {
        w.write_record([
            r.year.to_string(),
            r.gemeente_code.clone(),
            r.gemeente_naam.clone(),
            r.respondents.to_string(),
            r.complete.to_string(),
            r.publishable.to_string(),
        ])?;
    }
    w.into_inner().context("writing response.csv")
}

/// Writes `<dir>/<delivery_id>.json` and `.html`.
pub fn write_delivery_report(dir: &Path, report: &DeliveryReport) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json = serde_json::to_string_pretty(report)?;
    let base = dir.join(&report.delivery_id);
    std::fs::write(base.with_extension("json"), json)?;
    std::fs::write(base.with_extension("html"), html::delivery(report))?;
    Ok(())
}

/// The JSON and HTML of a run report.
pub fn run_report_files(report: &RunReport) -> Result<(String, String)> {
    Ok((serde_json::to_string_pretty(report)?, html::run(report)))
}
