//! Building survey years, one at a time per thread: a year's batches are loaded from the
//! delivery cache, deduplicated (rules 3-6), assembled, weighted and staged as a partition,
//! then dropped before the thread takes the next year. A year whose inputs are unchanged is
//! not built at all: its [`YearResult`] comes from the state directory.
//!
//! Stages 4 and 5 of the chain: [`plan_years`] decides which years are written again,
//! [`build_year`] builds one. The rows come from a [`BatchSource`] the caller passes in.
//!
//! What it must NOT do: touch the lake outside the staging directory, write the ledger, or
//! read a delivery file itself (the source's `reread` does, when the cache fails); the caller
//! swaps the staged partitions in and records them, one year after the other.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};

use super::RunOptions;
use super::indicators::year_indicators_writing;
use crate::assemble::assemble;
use crate::codebook::Codebook;
use crate::config::{Config, DedupSettings, PRODUCT_VERSION};
use crate::dedup;
use crate::finding::{self, Finding};
use crate::harmonise::{Batch, BatchSummary};
use crate::indicators::figures::YearFigures;
use crate::ingest::Delivery;
use crate::lake::{self, PublishedFile, YearPartition};
use crate::municipality::NATIONAL_REGION;
use crate::outcome::{DeliveryOutcome, Status};
use crate::population::PopulationTable;
use crate::report;
use crate::state;
use crate::state::ledger::{self, PartitionRow};
use crate::weight::{self, WeightOptions};

/// What building a survey year found, apart from the partition itself. Stored in the state
/// directory under the year's build key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct YearResult {
    pub respondents: usize,
    /// The year's published indicator figures. Stored apart from the rest, as Arrow IPC
    /// (`state::StoredYear`).
    #[serde(skip)]
    pub figures: YearFigures,
    pub duplicates: dedup::RuleTotals,
    /// In the order of the year's deliveries in the run (by file name).
    pub deliveries: Vec<YearDelivery>,
    pub weighting_records: Vec<lake::WeightingRecord>,
    pub weighting_summaries: Vec<report::WeightingSummary>,
}

impl state::StoredYear for YearResult {
    fn figures(&self) -> &YearFigures {
        &self.figures
    }

    fn set_figures(&mut self, figures: YearFigures) {
        self.figures = figures;
    }
}

/// What the year did to one of its deliveries.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct YearDelivery {
    pub delivery_id: String,
    pub rows_dropped_duplicate: usize,
    pub dropped_rows: Vec<dedup::DroppedRow>,
    pub dedup_findings: Vec<Finding>,
    pub weighting_findings: Vec<Finding>,
    /// Of the rows dedup kept: what the reports count.
    pub kept: BatchSummary,
}

/// One survey year of a run: its deliveries and whether its partition must be written.
pub struct YearPlan {
    pub year: u16,
    /// Indexes into the run's outcomes (published deliveries of the year, in outcome order).
    pub outcomes: Vec<usize>,
    /// Delivery ids, sorted.
    pub ids: Vec<String>,
    pub build_key: String,
    /// The hash that stands for the year's inputs besides its deliveries (pipeline file and the
    /// population tables the year can use).
    pub year_hash: String,
    pub previous: Option<PartitionRow>,
    /// Why the partition is written again; `None` leaves it as it is.
    pub rebuild: Option<String>,
}

/// A year after [`build_year`]: its result and, when written again, the staged partitions.
pub struct BuiltYear {
    pub result: YearResult,
    /// True when the result was computed in this run (and should be stored), false when it came
    /// from the state directory.
    pub computed: bool,
    pub staged: Option<StagedYear>,
}

/// The partitions of a year written to the staging directory.
pub struct StagedYear {
    pub respondents: PublishedFile,
    pub indicators: PublishedFile,
}

/// Plans every year that has published deliveries.
pub fn plan_years(
    outcomes: &[DeliveryOutcome],
    config: &Config,
    opts: &RunOptions,
    pipeline_hash: &str,
    ledger: &ledger::Ledger,
) -> Result<Vec<YearPlan>> {
    let mut by_year: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    for (i, o) in outcomes.iter().enumerate() {
        if o.status == Status::Published
            && let Some(s) = &o.summary
        {
            by_year.entry(s.year).or_default().push(i);
        }
    }
    let fingerprints = opts.population.fingerprints_upto(by_year.keys().copied());
    let mut plans = Vec::new();
    for (year, indexes) in by_year {
        let mut ids: Vec<String> = indexes.iter().map(|&i| outcomes[i].delivery.id.clone()).collect();
        ids.sort();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        // The year's own inputs: the population tables it can use, not later years' tables.
        let year_hash = format!("{pipeline_hash}+{}", fingerprints[&year]);
        let build_key = ledger::build_key(&id_refs, &config.hash, &year_hash, PRODUCT_VERSION);
        let previous = ledger.partition(year)?;
        let on_disk = YearPartition::ALL.iter().all(|t| opts.lake.join(t.file(year)).is_file());
        let rebuild = match &previous {
            _ if opts.reprocess == Some(year) => Some("reprocess --year".to_string()),
            _ if opts.full => Some("--full".to_string()),
            None => Some("first build".to_string()),
            Some(_) if !on_disk => Some("the partition is missing from the lake".to_string()),
            Some(p) if p.build_key != build_key => Some(if p.delivery_ids != ids {
                "its deliveries changed".to_string()
            } else {
                "config, pipeline file, population tables or product version changed".to_string()
            }),
            Some(_) => None,
        };
        plans.push(YearPlan { year, outcomes: indexes, ids, build_key, year_hash, previous, rebuild });
    }
    Ok(plans)
}

/// Where a year's rows come from: the delivery cache, or the file read again when the cache
/// entry is damaged. `reread` is the read stage's, passed in, so that this stage never calls
/// back into an earlier one.
pub struct BatchSource<'a> {
    pub state: &'a Path,
    pub config: &'a Config,
    pub pipeline_hash: &'a str,
    pub reread: &'a (dyn Fn(&Delivery) -> Option<Batch> + Sync),
}

/// What building a year needs besides its plan.
pub struct YearContext<'a> {
    pub source: BatchSource<'a>,
    pub opts: &'a RunOptions,
    /// The run's staging directory, where a rebuilt partition is written.
    pub staging: &'a Path,
    /// This is the run's one year to build (a nightly run): its steps may share both cores.
    /// With more years to build each stays on its thread, so that a thread waiting on its other
    /// half cannot take up a further year (rayon's work stealing) and hold two in memory.
    pub alone: bool,
}

/// Builds one year: reuses its stored result when the partition stays, otherwise loads the
/// batches, deduplicates, assembles and weighs them, and stages the partition when it is
/// written again.
pub fn build_year(plan: &YearPlan, outcomes: &[DeliveryOutcome], cx: &YearContext) -> Result<BuiltYear> {
    let (config, opts) = (cx.source.config, cx.opts);
    if plan.rebuild.is_none() {
        match state::load_year::<YearResult>(&opts.state, &plan.build_key) {
            Ok(result) => return Ok(BuiltYear { result, computed: false, staged: None }),
            Err(e) => tracing::debug!(year = plan.year, "building the year again: {e:#}"),
        }
    }
    let batches =
        plan.outcomes.iter().map(|&i| year_batch(&outcomes[i], &cx.source)).collect::<Result<Vec<Cow<Batch>>>>()?;
    let deduplicated = dedup_rows(batches, &config.codebook, &opts.dedup);
    let kept: Vec<&Batch> = deduplicated.deliveries.iter().map(|d| &d.kept).collect();
    let table = assemble(plan.year, kept);
    crate::assemble::check_year(&table)?;
    let weighed = weigh_year(&table, &config.codebook, &opts.population, &opts.weighting)?;
    // The batches go into the lake's record batch column by column, and the lake's rows go as
    // soon as the figures are made: a year's rows are never in memory twice over (two years
    // are built at a time).
    let rows = table.rows;
    let duplicates = deduplicated.totals;
    let (deliveries, batches) = year_deliveries(deduplicated.deliveries, weighed.findings, &config.codebook);
    let record_batch = lake::year_record_batch(&rows, batches, &config.codebook, &weighed.weights)?;
    let respondents = rows.len();
    drop(rows);
    // The respondents partition is encoded while the indicators are computed: on a nightly
    // run that builds one year, the other core would otherwise idle. The staging closure owns
    // the full batch and frees its string columns when the file is written; the indicators
    // keep only the columns they read.
    let for_indicators = record_batch.clone();
    // The indicators partition is encoded as soon as the respondents are scored; beside the
    // figures only when this year is the run's one year to build (`YearContext::alone`).
    // With one year to build, a partition's columns are encoded side by side too: the
    // respondents file takes longer than the indicators, and the core that finished them would
    // wait.
    let columns = if cx.alone { lake::ColumnEncoding::SideBySide } else { lake::ColumnEncoding::InTurn };
    let stage_indicators = |batch: &arrow_array::RecordBatch| {
        plan.rebuild.as_ref().map(|_| stage(plan, config, cx.staging, YearPartition::Indicators, batch, columns))
    };
    let (staged_respondents, indicators) = rayon::join(
        move || match plan.rebuild {
            Some(_) => stage(plan, config, cx.staging, YearPartition::Respondents, &record_batch, columns).map(Some),
            None => Ok(None),
        },
        || {
            let started = std::time::Instant::now();
            let indicators = year_indicators_writing(
                plan.year,
                for_indicators,
                config,
                &opts.indicators,
                cx.alone,
                stage_indicators,
            );
            // For the benchmark of the indicators stage (BENCHMARKS.md): `-v` shows it per year.
            tracing::debug!(year = plan.year, seconds = started.elapsed().as_secs_f64(), "indicators computed");
            indicators
        },
    );
    let (indicators, staged_indicators) =
        indicators.with_context(|| format!("indicators of survey year {}", plan.year))?;
    let staged = match (staged_respondents?, staged_indicators.transpose()?) {
        (Some(respondents), Some(indicators)) => Some(StagedYear { respondents, indicators }),
        _ => None,
    };
    Ok(BuiltYear {
        result: YearResult {
            respondents,
            figures: indicators.figures,
            duplicates,
            deliveries,
            weighting_records: weighed.records,
            weighting_summaries: weighed.summaries,
        },
        computed: true,
        staged,
    })
}

/// Writes one partition of a rebuilt year into the staging directory.
fn stage(
    plan: &YearPlan,
    config: &Config,
    staging: &Path,
    table: YearPartition,
    batch: &arrow_array::RecordBatch,
    columns: lake::ColumnEncoding,
) -> Result<PublishedFile> {
    let ids: Vec<&str> = plan.ids.iter().map(String::as_str).collect();
    let metadata = lake::file_metadata(config, &plan.year_hash, &ids);
    lake::stage_year(staging, table, plan.year, batch, lake::writer_properties(&metadata)?, columns)
        .with_context(|| format!("writing survey year {} ({})", plan.year, table.dir()))
}

/// What the year did to each of its deliveries: dedup's record, with the weighting findings
/// sorted onto the deliveries they name; and the kept batches, given back in the same order.
pub fn year_deliveries(
    deduplicated: Vec<DeliveryDedup>,
    weighting: Vec<Finding>,
    codebook: &Codebook,
) -> (Vec<YearDelivery>, Vec<Batch>) {
    let mut weighting_findings: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    for f in weighting {
        weighting_findings.entry(f.delivery_id.clone()).or_default().push(f);
    }
    let age = codebook.age_column();
    deduplicated
        .into_iter()
        .map(|d| {
            let record = YearDelivery {
                weighting_findings: weighting_findings.remove(&d.kept.delivery_id).unwrap_or_default(),
                delivery_id: d.kept.delivery_id.clone(),
                rows_dropped_duplicate: d.rows_dropped_duplicate,
                dropped_rows: d.dropped_rows,
                dedup_findings: d.findings,
                kept: BatchSummary::of(&d.kept, age),
            };
            (record, d.kept)
        })
        .unzip()
}

/// The rows of a published delivery: in memory when the run still holds them (`check`, or a
/// cache that could not be written), else from the delivery cache, else read from the file
/// again (a cache entry damaged since this run checked it).
fn year_batch<'a>(o: &'a DeliveryOutcome, source: &BatchSource) -> Result<Cow<'a, Batch>> {
    if let Some(b) = o.batch() {
        return Ok(Cow::Borrowed(b));
    }
    let config = source.config;
    let key = state::cache_key(&o.delivery.id, &config.hash, source.pipeline_hash, PRODUCT_VERSION);
    let why = match state::load(source.state, &key, &config.codebook) {
        state::Lookup::Hit(c) => match c.harmonised.batch {
            Some(b) => return Ok(Cow::Owned(b)),
            None => "it holds no rows".to_string(),
        },
        state::Lookup::Miss => "it is gone".to_string(),
        state::Lookup::Corrupt(why) => why,
    };
    tracing::warn!(file = %o.delivery.file_name, "the cached delivery cannot be used ({why}); reading the file again");
    (source.reread)(&o.delivery).map(Cow::Owned).ok_or_else(|| {
        anyhow!(
            "{}: the cached rows are unusable ({why}) and the file no longer gives them; run again with --full",
            o.delivery.file_name
        )
    })
}

/// Dedup rules 3-6 over one year's batches (in outcome order).
pub struct RowDedup {
    pub totals: dedup::RuleTotals,
    /// One per batch, in the same order.
    pub deliveries: Vec<DeliveryDedup>,
}

/// What rules 3-6 did to one delivery.
pub struct DeliveryDedup {
    pub kept: Batch,
    pub rows_dropped_duplicate: usize,
    pub dropped_rows: Vec<dedup::DroppedRow>,
    pub findings: Vec<Finding>,
}

/// Applies dedup rules 3-6 to one year's batches. Batches the caller owns keep their rows in
/// place; borrowed ones are copied.
pub fn dedup_rows(batches: Vec<Cow<Batch>>, codebook: &Codebook, settings: &DedupSettings) -> RowDedup {
    let options = dedup::DedupOptions::new(codebook, settings.near_duplicates);
    let refs: Vec<&Batch> = batches.iter().map(|b| b.as_ref()).collect();
    let d = dedup::dedup_year(&refs, &options);
    let mut findings = dedup::findings(&refs, &d);
    let mut dropped = dedup::dropped_rows(&refs, &d);
    let per_batch = dedup::rows_dropped_per_batch(&refs, &d);
    let keep = dedup::kept_rows(&refs, &d);
    drop(refs);
    let deliveries = batches
        .into_iter()
        .zip(&keep)
        .map(|(b, keep)| {
            let mut b = b.into_owned();
            if keep.iter().any(|k| !k) {
                b.retain_rows(keep);
            }
            b
        })
        .zip(per_batch)
        .map(|(kept, n)| {
            let id = kept.delivery_id.clone();
            let (mine, rest): (Vec<_>, Vec<_>) = findings.drain(..).partition(|f| f.delivery_id == id);
            findings = rest;
            let (my_rows, rest): (Vec<_>, Vec<_>) = dropped.drain(..).partition(|r| r.delivery_id == id);
            dropped = rest;
            DeliveryDedup { kept, rows_dropped_duplicate: n as usize, dropped_rows: my_rows, findings: mine }
        })
        .collect();
    RowDedup { totals: d.totals(), deliveries }
}

/// The weights of one survey year, with what goes into `weighting.parquet`, the run report
/// and the findings.
pub struct WeighedYear {
    pub weights: lake::RowWeights,
    pub records: Vec<lake::WeightingRecord>,
    pub summaries: Vec<report::WeightingSummary>,
    pub findings: Vec<Finding>,
}

/// Weights every municipality-year of one survey year and the year's national weights. Data
/// problems (no population, an unusable table, a method that is not possible) leave the weights
/// null and become findings on every delivery of the municipality-year; a configuration or
/// programming error fails the run.
pub fn weigh_year(
    table: &crate::assemble::YearTable,
    codebook: &Codebook,
    population: &PopulationTable,
    opts: &WeightOptions,
) -> Result<WeighedYear> {
    let n = table.rows.len();
    let year = table.year;
    let age = codebook.age_column();
    let rows: Vec<weight::Respondent> = table
        .rows
        .iter()
        .map(|rr| {
            let (b, r) = (table.batches[rr.batch], rr.row);
            weight::Respondent {
                key: rr.respondent_key.clone(),
                municipality: b.municipality(r).code.clone(),
                age_band: age.and_then(|a| b.answers[a].get(r)),
                wijknr: b.wijknr[r].clone(),
                weging: b.weging[r],
            }
        })
        .collect();
    let delivery_of = |i: usize| table.batches[table.rows[i].batch].delivery_id.as_str();
    let mut out = WeighedYear {
        weights: lake::RowWeights { weight: vec![None; n], weight_national: vec![None; n], weight_cell: vec![None; n] },
        records: Vec::new(),
        summaries: Vec::new(),
        findings: Vec::new(),
    };
    let report_to = |findings: &mut Vec<Finding>, range: std::ops::Range<usize>, rule: finding::Rule, message: &str| {
        let ids: std::collections::BTreeSet<&str> = range.map(delivery_of).collect();
        findings.extend(ids.into_iter().map(|id| Finding::new(rule, id, message)));
    };

    // Lake order is sorted by municipality, so each municipality-year is one run of rows.
    let mut start = 0;
    while start < n {
        let code = rows[start].municipality.clone();
        let end = start + rows[start..].iter().take_while(|r| r.municipality == code).count();
        match weight::weight_municipality_year(year, &rows[start..end], population, opts) {
            Ok(w) => {
                for (i, (wt, cell)) in w.weights.iter().zip(&w.cells).enumerate() {
                    out.weights.weight[start + i] = Some(*wt);
                    out.weights.weight_cell[start + i] = cell.clone();
                }
                let d = &w.diagnostics;
                out.records.extend(w.table.iter().map(|c| weighting_record(c, d)));
                out.summaries.push(report::WeightingSummary::of(year, &code, d));
                for note in &w.notes {
                    report_to(&mut out.findings, start..end, note.rule, &format!("{code} {year}: {}", note.message));
                }
            }
            Err(e) => match e.rule() {
                Some(rule) => {
                    report_to(&mut out.findings, start..end, rule, &format!("{code} {year}: {e}; weight is null"))
                }
                None => return Err(anyhow::anyhow!("weighting {code} {year}: {e}")),
            },
        }
        start = end;
    }
    match weight::national_weights(year, &rows, population) {
        Ok(nw) => {
            for (i, w) in nw.weights.iter().enumerate() {
                out.weights.weight_national[i] = Some(*w);
            }
            let s = weight::diagnostics::summarise(&nw.weights);
            let d = weight::Diagnostics {
                n: s.n,
                n_effective: s.n_effective,
                deff_kish: s.deff_kish,
                weight_min: s.min,
                weight_max: s.max,
                method: "age (national)".into(),
                converged: true,
                iterations: 1,
                trim_passes: 0,
                trimmed: 0,
                population_source: nw.population_source.clone(),
                population_year: nw.population_year,
                agency_correlation: None,
                agency_max_difference: None,
            };
            out.records.extend(nw.table.iter().map(|c| weighting_record(c, &d)));
            out.summaries.push(report::WeightingSummary::of(year, NATIONAL_REGION, &d));
            for note in &nw.notes {
                report_to(&mut out.findings, 0..n, note.rule, &format!("{NATIONAL_REGION} {year}: {}", note.message));
            }
        }
        Err(e) => match e.rule() {
            Some(rule) => report_to(
                &mut out.findings,
                0..n,
                rule,
                &format!("national weights {year}: {e}; weight_national is null"),
            ),
            None => return Err(anyhow::anyhow!("national weights {year}: {e}")),
        },
    }
    Ok(out)
}

fn weighting_record(c: &weight::WeightingCell, d: &weight::Diagnostics) -> lake::WeightingRecord {
    lake::WeightingRecord {
        jr: c.year as i16,
        gemeente_code: c.gemeente_code.clone(),
        cell: c.cell.clone(),
        population: c.population,
        population_share: c.population_share,
        respondents: c.respondents as i64,
        weight: c.weight,
        collapsed_from: c.collapsed_from.clone(),
        trimmed: c.trimmed as i64,
        n: d.n as i64,
        n_effective: d.n_effective,
        deff_kish: d.deff_kish,
        weight_min: d.weight_min,
        weight_max: d.weight_max,
        method: d.method.clone(),
        converged: d.converged,
        iterations: d.iterations as i64,
        population_source: d.population_source.clone(),
        population_year: d.population_year as i16,
    }
}
