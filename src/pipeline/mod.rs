//! The pipeline: reads the pipeline file and runs the stages in order for `run`.
//!
//! `inbox → discover → (per file, in parallel) read + harmonise → cache → (per year, in
//! parallel, one year per thread) dedup + assemble + weigh → lake`. Between the two parallel
//! stages a run holds each delivery as its summary only; a year's rows are in memory only while
//! [`years`] builds it. A delivery that cannot be read or harmonised is rejected with its
//! findings; the others are published. A byte-identical copy of an earlier file is recorded as
//! `duplicate_file` and not read again. Knows no file format details and no variable names.

mod years;

pub use years::{WeighedYear, weigh_year};

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::codebook::{Codebook, Questionnaire};
use crate::dedup;
use crate::finding::{self, Finding, Severity};
use crate::harmonise::{self, Batch, BatchSummary, Harmonised, harmonise};
use crate::ingest::{self, Delivery};
use crate::lake::{self, DeliveryRecord, PublishedFile};
use crate::ledger::{self, Ledger};
use crate::municipality::Municipalities;
use crate::population::PopulationTable;
use crate::report;
use crate::state;
use crate::weight::{self, WeightOptions};

/// Another run holds the lock on the state directory: the CLI exits with code 4.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LockHeld(pub String);

/// A usage or configuration problem: the CLI exits with code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The pipeline file (`pipelines/*.toml`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    /// A name for logs and reports.
    pub name: String,
    #[serde(default)]
    pub paths: Paths,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub dedup: DedupSettings,
    /// The `[weighting]` table: method, min_cell, cap, trim, … (see `docs/weighting.md`).
    #[serde(default)]
    pub weighting: WeightOptions,
    /// Questionnaire version forced per delivery, for files whose version cannot be detected:
    /// file name (relative to the inbox) or delivery id → `"2019"` or `"2022"`.
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
}

/// The `[dedup]` table: what the duplicate rules do where the documents leave a choice.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupSettings {
    /// `"replace"`: a later delivery of the same municipality, year, quarter and agency replaces
    /// the earlier one; `"append"`: both are published.
    pub redelivery: Redelivery,
    /// `"report"` near-duplicate pairs, or `"drop"` the later row of each.
    pub near_duplicates: dedup::NearDuplicates,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Redelivery {
    #[default]
    Replace,
    Append,
}

impl DedupSettings {
    fn mode(&self) -> dedup::RedeliveryMode {
        match self.redelivery {
            Redelivery::Replace => dedup::RedeliveryMode::Replace,
            Redelivery::Append => dedup::RedeliveryMode::Append,
        }
    }
}

/// Guards against files that would exhaust the machine.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Files larger than this are refused unread.
    pub max_file_bytes: u64,
    /// Workbooks (zip containers) that declare more unpacked bytes are refused unopened.
    pub max_decompressed_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_file_bytes: 1 << 30, max_decompressed_bytes: 1 << 30 }
    }
}

/// Default locations; command-line flags override each.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Paths {
    pub inbox: Option<PathBuf>,
    pub lake: Option<PathBuf>,
    /// Population tables (default: `<config>/population`).
    pub population: Option<PathBuf>,
    /// State directory: ledger, delivery cache, lock.
    pub state: Option<PathBuf>,
}

impl PipelineFile {
    /// Loads the population tables: `flag` (`--population`), else `paths.population`, else
    /// `<config>/population`.
    pub fn population(&self, flag: Option<&Path>, config_dir: &Path) -> Result<PopulationTable, UsageError> {
        let dir = flag
            .map(Path::to_path_buf)
            .or_else(|| self.paths.population.clone())
            .unwrap_or_else(|| config_dir.join("population"));
        crate::population::load_dir(&dir).map_err(|e| UsageError(format!("{e:#}")))
    }

    pub fn load(path: &Path) -> Result<(PipelineFile, Vec<u8>), UsageError> {
        let bytes = std::fs::read(path)
            .map_err(|e| UsageError(format!("cannot read the pipeline file {}: {e}", path.display())))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| UsageError(format!("pipeline file {} is not UTF-8", path.display())))?;
        let parsed: PipelineFile =
            toml::from_str(text).map_err(|e| UsageError(format!("invalid pipeline file {}: {e}", path.display())))?;
        parsed.forced_versions().map_err(|e| UsageError(format!("invalid pipeline file {}: {e}", path.display())))?;
        parsed
            .weighting
            .validate()
            .map_err(|e| UsageError(format!("invalid pipeline file {}: [weighting] {e}", path.display())))?;
        Ok((parsed, bytes))
    }

    /// The `[versions]` table, checked.
    pub fn forced_versions(&self) -> Result<BTreeMap<String, Questionnaire>, String> {
        self.versions
            .iter()
            .map(|(file, v)| match v.as_str() {
                "2019" => Ok((file.clone(), Questionnaire::V2019)),
                "2022" => Ok((file.clone(), Questionnaire::V2022)),
                other => Err(format!("[versions] {file:?} = {other:?}: the version is \"2019\" or \"2022\"")),
            })
            .collect()
    }
}

/// What `run` needs, after flags and pipeline file are combined.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub inbox: PathBuf,
    pub lake: PathBuf,
    pub limits: Limits,
    /// File name or delivery id → forced questionnaire version.
    pub forced_versions: BTreeMap<String, Questionnaire>,
    pub dedup: DedupSettings,
    /// Population tables for the weights (`--population DIR`).
    pub population: PopulationTable,
    pub weighting: WeightOptions,
    /// The state directory: ledger, delivery cache, lock.
    pub state: PathBuf,
    /// Rebuild every year, whether its inputs changed or not.
    pub full: bool,
    /// Drop deliveries whose file left the inbox (otherwise they stay published from the cache).
    pub prune: bool,
    /// `reprocess --year`: ignore every cache for this year and rebuild it.
    pub reprocess: Option<u16>,
    pub progress: bool,
}

/// The product's version, written into every lake file.
pub const PRODUCT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One delivery after reading and harmonising.
#[derive(Debug)]
pub struct Outcome {
    pub delivery: Delivery,
    pub status: Status,
    pub reason: Option<String>,
    pub rows_read: usize,
    /// Rows not published because the dedup rules found them duplicates.
    pub rows_dropped_duplicate: usize,
    /// Each of those rows: its rule and the row it duplicated.
    pub dropped_rows: Vec<dedup::DroppedRow>,
    /// What reading and harmonising gave. Its batch is `None` once the rows are in the
    /// delivery cache: a run holds only summaries and loads a year's rows when it builds it.
    pub harmonised: Option<Harmonised>,
    /// Of the delivery's rows: all of them, then (for a published delivery) the rows dedup kept.
    /// `None` when harmonising kept no rows.
    pub summary: Option<BatchSummary>,
    pub findings: Vec<Finding>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Published,
    Superseded,
    Rejected,
    DuplicateFile,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Published => "published",
            Status::Superseded => "superseded",
            Status::Rejected => "rejected",
            Status::DuplicateFile => "duplicate_file",
        }
    }
}

impl Outcome {
    pub fn batch(&self) -> Option<&Batch> {
        self.harmonised.as_ref().and_then(|h| h.batch.as_ref())
    }
}

/// What a run did, for the summary lines and the tests.
#[derive(Debug, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub lake: PathBuf,
    pub years: Vec<YearSummary>,
    pub deliveries: usize,
    pub rejected: usize,
    pub ignored_files: Vec<String>,
    pub seconds: f64,
    /// Nothing changed since the last run: nothing was written.
    pub nothing_new: bool,
}

#[derive(Debug, Serialize)]
pub struct YearSummary {
    pub year: u16,
    pub deliveries: usize,
    pub respondents: usize,
    pub file: PublishedFile,
    /// False when the year's inputs were unchanged and its partition was left as it was.
    pub rebuilt: bool,
    pub why: String,
}

/// Codebook and municipality list, loaded once per process.
pub struct Config {
    pub codebook: Codebook,
    pub municipalities: Municipalities,
    /// BLAKE3 over every file under the config directory.
    pub hash: String,
}

impl Config {
    pub fn load(dir: &Path) -> Result<Config, UsageError> {
        let err = |e: anyhow::Error| UsageError(format!("{e:#}"));
        Ok(Config {
            codebook: Codebook::load(dir).map_err(err)?,
            municipalities: Municipalities::load(dir).map_err(err)?,
            hash: hash_tree(dir).map_err(err)?,
        })
    }
}

/// Reads and harmonises one delivery.
pub fn process(
    delivery: Delivery,
    config: &Config,
    limits: &Limits,
    forced_versions: &BTreeMap<String, Questionnaire>,
) -> Outcome {
    let mut findings = Vec::new();
    let mut rows_read = 0;
    let mut harmonised = None;
    if let Some(refusal) = &delivery.refused {
        findings.push(refusal.clone());
    } else {
        let known = |name: &str| config.codebook.is_known(name);
        let (table, read_findings) =
            ingest::read(&delivery.path, delivery.format, &delivery.id, &known, limits.max_decompressed_bytes);
        findings.extend(read_findings);
        if let Some(table) = table {
            rows_read = table.rows.len();
            let forced_version =
                forced_versions.get(&delivery.file_name).or_else(|| forced_versions.get(&delivery.id)).copied();
            let context = harmonise::Context { delivery_id: &delivery.id, hints: &delivery.hints, forced_version };
            let h = harmonise(&table, &context, &config.codebook, &config.municipalities);
            findings.extend(h.findings.iter().cloned());
            harmonised = Some(h);
        }
    }
    let summary =
        harmonised.as_ref().and_then(|h| h.batch.as_ref()).map(|b| BatchSummary::of(b, config.codebook.age_column()));
    outcome(delivery, harmonised, summary, findings, rows_read)
}

/// The outcome of a delivery from what reading and harmonising it gave (fresh or cached).
fn outcome(
    delivery: Delivery,
    harmonised: Option<Harmonised>,
    summary: Option<BatchSummary>,
    findings: Vec<Finding>,
    rows_read: usize,
) -> Outcome {
    let rejected = finding::rejects(&findings) || summary.is_none();
    let (status, reason) = if rejected {
        let first = findings.iter().find(|f| f.severity == Severity::Error);
        (Status::Rejected, Some(first.map(|f| f.message.clone()).unwrap_or_else(|| "not readable".into())))
    } else {
        (Status::Published, None)
    };
    Outcome {
        delivery,
        status,
        reason,
        rows_read,
        rows_dropped_duplicate: 0,
        dropped_rows: Vec::new(),
        harmonised,
        summary,
        findings,
    }
}

/// The nightly job (and `reprocess`): holds the state lock, recovers what an interrupted run
/// left, records the run in the ledger, and rebuilds the years whose inputs changed.
pub fn run(opts: &RunOptions, config: &Config, pipeline_bytes: &[u8]) -> Result<RunSummary> {
    if !opts.inbox.is_dir() {
        return Err(UsageError(format!("the inbox {} is not a directory", opts.inbox.display())).into());
    }
    let _lock = state::StateLock::acquire(&opts.state).map_err(|e| match e {
        state::LockError::Held { .. } => anyhow::Error::new(LockHeld(e.to_string())),
        other => anyhow::Error::new(other),
    })?;
    for line in state::clean_leftovers(&opts.lake)? {
        tracing::warn!("recovered from an interrupted run: {line}");
    }
    let mut ledger = Ledger::open(&opts.state)?;
    let run_id = new_run_id();
    let command = if opts.reprocess.is_some() { "reprocess" } else { "run" };
    ledger.begin_run(&run_id, command, unix_now())?;
    match run_locked(opts, config, pipeline_bytes, &mut ledger, &run_id, command) {
        Ok(summary) => {
            let outcome = if summary.nothing_new { "nothing-to-do" } else { "ok" };
            let rebuilt: Vec<u16> = summary.years.iter().filter(|y| y.rebuilt).map(|y| y.year).collect();
            ledger.finish_run(&run_id, unix_now(), outcome, &rebuilt)?;
            Ok(summary)
        }
        Err(e) => {
            // Best effort: the next run marks a run that never finished as interrupted anyway.
            let _ = ledger.finish_run(&run_id, unix_now(), "failed", &[]);
            Err(e)
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A hash over everything a run's output depends on: the deliveries (name, contents,
/// modification time — dedup's "later" reads it — and whether the file left the inbox), config, pipeline file, population tables and
/// product version. Equal to the one in `_manifest.json`: nothing to do.
fn inputs_key(deliveries: &[(&Delivery, bool)], config_hash: &str, pipeline_hash: &str) -> String {
    let mut lines: Vec<String> = deliveries
        .iter()
        .map(|(d, gone)| format!("{}\t{}\t{}\t{}\t{gone}", d.file_name, d.blake3, d.modified, d.refused.is_some()))
        .collect();
    lines.sort();
    let text = format!("{PRODUCT_VERSION}\n{config_hash}\n{pipeline_hash}\n{}", lines.join("\n"));
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

/// The inputs key recorded in the lake's `_manifest.json`, if any.
fn published_inputs_key(lake: &Path) -> Option<String> {
    let text = std::fs::read_to_string(lake.join("_manifest.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["inputs"].as_str().map(str::to_string)
}

fn run_locked(
    opts: &RunOptions,
    config: &Config,
    pipeline_bytes: &[u8],
    ledger: &mut Ledger,
    run_id: &str,
    command: &str,
) -> Result<RunSummary> {
    let started = Instant::now();
    let mut stages = Stages { seconds: BTreeMap::new(), last: Some(started) };
    let run_id = run_id.to_string();
    // Population tables change weights, not harmonising: they are in the partitions' key, not
    // in the cache key.
    let pipeline_hash = blake3::hash(pipeline_bytes).to_hex().to_string();
    let inputs_hash = format!("{pipeline_hash}+{}", opts.population.fingerprint());
    let fingerprint = |name: &str, size: u64, mtime: i64| ledger.file_fingerprint(name, size, mtime).ok().flatten();
    let mut inbox = ingest::discover::discover_with(&opts.inbox, opts.limits.max_file_bytes, &fingerprint)?;
    stages.done("discover");

    // Deliveries the ledger knows whose file left the inbox stay published (from the cache)
    // unless --prune.
    let present: std::collections::BTreeSet<String> = inbox.deliveries.iter().map(|d| d.id.clone()).collect();
    let mut missing = Vec::new();
    for row in ledger.known_deliveries()? {
        if present.contains(&row.delivery_id) || row.status == "rejected" || row.status == "duplicate_file" {
            continue;
        }
        let Some(format) = ingest::Format::from_extension(&row.format) else { continue };
        if opts.prune {
            let mut gone = row.clone();
            gone.status = "rejected".into();
            gone.reason = Some("the file left the inbox; dropped by run --prune".into());
            gone.rows_published = 0;
            gone.last_seen = unix_now();
            gone.run_id = run_id.clone();
            ledger.record_delivery(&gone)?;
            continue;
        }
        missing.push(Delivery {
            id: row.delivery_id.clone(),
            blake3: row.file_blake3.clone(),
            path: opts.inbox.join(&row.file_name),
            hints: ingest::discover::parse_name(&row.file_name),
            file_name: row.file_name.clone(),
            format,
            bytes: row.file_bytes,
            modified: row.modified,
            refused: None,
        });
    }
    let inputs = {
        let all: Vec<(&Delivery, bool)> =
            inbox.deliveries.iter().map(|d| (d, false)).chain(missing.iter().map(|d| (d, true))).collect();
        inputs_key(&all, &config.hash, &inputs_hash)
    };
    if !opts.full && opts.reprocess.is_none() && published_inputs_key(&opts.lake).as_deref() == Some(inputs.as_str()) {
        tracing::info!("nothing new since the last run: the lake is left as it is");
        return Ok(RunSummary {
            run_id,
            lake: opts.lake.clone(),
            years: Vec::new(),
            deliveries: inbox.deliveries.len(),
            rejected: 0,
            ignored_files: inbox.ignored,
            seconds: started.elapsed().as_secs_f64(),
            nothing_new: true,
        });
    }
    let missing_ids: std::collections::BTreeSet<String> = missing.iter().map(|d| d.id.clone()).collect();
    inbox.deliveries.extend(missing);
    tracing::info!(deliveries = inbox.deliveries.len(), ignored = inbox.ignored.len(), "inbox read");
    let _ = command;
    for name in &inbox.ignored {
        tracing::info!(file = %name, "ignored: not a delivery format");
    }

    // Byte-identical copies are not read twice (dedup rule 1).
    let (to_read, duplicates) = split_copies(inbox.deliveries);
    let bar = progress_bar(opts.progress, to_read.len() as u64);
    let known_years: BTreeMap<String, Option<u16>> =
        ledger.known_deliveries()?.into_iter().map(|r| (r.delivery_id, r.year)).collect();
    let mut outcomes: Vec<Outcome> = to_read
        .into_par_iter()
        .map(|d| {
            let key = state::cache_key(&d.id, &config.hash, &pipeline_hash, PRODUCT_VERSION);
            // reprocess --year ignores the cache of that year's deliveries (and of any whose
            // year is not known yet).
            let bypass = opts.reprocess.is_some_and(|y| known_years.get(&d.id).is_none_or(|k| k.is_none_or(|k| k == y)));
            let cached = if bypass { None } else { state::load_summary(&opts.state, &key).into_cached() };
            let mut o = match cached {
                Some(c) => outcome(d, Some(c.harmonised), c.summary, c.findings, c.rows_read),
                None if missing_ids.contains(&d.id) => outcome(d, None, None, Vec::new(), 0),
                None => {
                    let mut o = process(d, config, &opts.limits, &opts.forced_versions);
                    if let Some(h) = &mut o.harmonised {
                        match state::store(&opts.state, &key, &config.codebook, h, &o.findings, o.rows_read) {
                            // The rows wait in the cache until their year is built.
                            Ok(()) => h.batch = None,
                            Err(e) => tracing::warn!(file = %o.delivery.file_name, "cannot cache the delivery, keeping it in memory: {e:#}"),
                        }
                    }
                    o
                }
            };
            if missing_ids.contains(&o.delivery.id) {
                let message = if o.harmonised.is_some() {
                    format!("{} is no longer in the inbox; it stays published from the cache (run --prune drops it)", o.delivery.file_name)
                } else {
                    format!("{} is no longer in the inbox and not in the cache; it is not published", o.delivery.file_name)
                };
                o.findings.push(Finding::new(finding::DELIVERY_MISSING, &o.delivery.id, message));
                if o.harmonised.is_none() {
                    o.status = Status::Rejected;
                    o.reason = Some("the file left the inbox".into());
                }
            }
            bar.inc(1);
            o
        })
        .collect();
    bar.finish_and_clear();
    outcomes.extend(duplicates);
    outcomes.sort_by(|a, b| a.delivery.file_name.cmp(&b.delivery.file_name));
    stages.done("read and harmonise");

    supersede(&mut outcomes, &opts.dedup);
    let plans = years::plan_years(&outcomes, config, opts, &pipeline_hash, ledger)?;
    let staging = lake::staging_dir(&opts.lake, &run_id)?;
    // Years are built in parallel, each thread one year at a time, so memory holds at most as
    // many years' rows as there are threads.
    let built = plans
        .par_iter()
        .map(|plan| years::build_year(plan, &outcomes, config, opts, &pipeline_hash, &staging))
        .collect::<Result<Vec<_>>>()?;
    stages.done("deduplicate, assemble, weigh and stage years");

    let mut years = Vec::new();
    let mut weighting_records = Vec::new();
    let mut weighting_summaries = Vec::new();
    let mut dedup_totals = dedup::RuleTotals::default();
    let mut weighting_findings = Vec::new();
    for (plan, built) in plans.iter().zip(built) {
        let year = plan.year;
        let relative = format!("respondents/jaar={year}/part-0000.parquet");
        let (file, rebuilt, why) = match (built.staged, &plan.previous) {
            (Some(file), _) => {
                lake::swap_year(&opts.lake, &staging, year)
                    .with_context(|| format!("publishing survey year {year}"))?;
                ledger.set_partition(&ledger::PartitionRow {
                    year,
                    build_key: plan.build_key.clone(),
                    delivery_ids: plan.ids.clone(),
                    file_blake3: file.blake3.clone(),
                    rows: file.rows as u64,
                    run_id: run_id.clone(),
                })?;
                tracing::info!(
                    year,
                    deliveries = plan.ids.len(),
                    respondents = built.result.respondents,
                    "year published"
                );
                (file, true, plan.rebuild.clone().unwrap_or_default())
            }
            (None, Some(p)) => {
                let file = PublishedFile {
                    rows: p.rows as usize,
                    bytes: std::fs::metadata(opts.lake.join(&relative)).map(|m| m.len()).unwrap_or(0),
                    path: relative,
                    blake3: p.file_blake3.clone(),
                };
                (file, false, "inputs unchanged".to_string())
            }
            (None, None) => unreachable!("a year without a partition is always rebuilt"),
        };
        if built.computed
            && let Err(e) = state::store_year(&opts.state, &plan.build_key, &built.result)
        {
            tracing::warn!(year, "cannot keep the year's result for the next run: {e:#}");
        }
        let result = built.result;
        years.push(YearSummary {
            year,
            deliveries: plan.ids.len(),
            respondents: result.respondents,
            file,
            rebuilt,
            why,
        });
        dedup_totals += result.duplicates;
        weighting_records.extend(result.weighting_records);
        weighting_summaries.extend(result.weighting_summaries);
        let mut by_id: BTreeMap<String, years::YearDelivery> =
            result.deliveries.into_iter().map(|d| (d.delivery_id.clone(), d)).collect();
        for &i in &plan.outcomes {
            let d = by_id.remove(&outcomes[i].delivery.id).context("a year's result lacks one of its deliveries")?;
            weighting_findings.extend(apply_year(&mut outcomes[i], d));
        }
    }
    completeness_findings(&mut outcomes);
    attach_findings(&mut outcomes, weighting_findings);
    for o in &outcomes {
        log_findings(o);
    }
    stages.done("publish years");

    let now = unix_now();
    let rows: Vec<ledger::DeliveryRow> = outcomes.iter().map(|o| delivery_row(o, now, &run_id)).collect();
    ledger.record_deliveries(&rows)?;
    let mut known = ledger.known_deliveries()?;
    known.sort_by(|a, b| (&a.file_name, &a.delivery_id).cmp(&(&b.file_name, &b.delivery_id)));
    let records: Vec<DeliveryRecord> = known.iter().map(DeliveryRecord::from).collect();
    let mut ids: Vec<&str> = records.iter().map(|r| r.delivery_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    let deliveries_file = lake::publish_file(
        &opts.lake,
        &staging,
        "deliveries.parquet",
        &lake::deliveries_record_batch(&records)?,
        lake::writer_properties(&file_metadata(config, &inputs_hash, &ids))?,
    )?;

    let all_ids: Vec<&str> = ids.clone();
    lake::publish_file(
        &opts.lake,
        &staging,
        "weighting.parquet",
        &lake::weighting_record_batch(&weighting_records)?,
        lake::writer_properties(&file_metadata(config, &inputs_hash, &all_ids))?,
    )?;
    let response = report::response(&outcomes);
    lake::publish_bytes(&opts.lake, &staging, "response.csv", &report::response_csv(&response)?)?;
    stages.done("ledger, deliveries, weighting and response");
    let delivery_reports = outcomes
        .par_iter()
        .map(|o| {
            let shares = o
                .summary
                .as_ref()
                .and_then(|b| population_shares(&opts.population, &b.municipalities.first()?.code, b.year));
            let r = report::delivery_report(&run_id, o, &config.codebook, shares);
            let base = format!("reports/deliveries/{}", o.delivery.id);
            Ok([
                (format!("{base}.json"), serde_json::to_string_pretty(&r)?.into_bytes()),
                (format!("{base}.html"), report::html::delivery(&r).into_bytes()),
            ])
        })
        .collect::<Result<Vec<_>>>()?;
    stages.done("render delivery reports");
    lake::publish_all(&opts.lake, &staging, &delivery_reports.into_iter().flatten().collect::<Vec<_>>())?;
    stages.done("publish delivery reports");

    let summary = RunSummary {
        run_id: run_id.clone(),
        lake: opts.lake.clone(),
        deliveries: outcomes.len(),
        rejected: outcomes.iter().filter(|o| o.status == Status::Rejected).count(),
        ignored_files: inbox.ignored,
        years,
        seconds: started.elapsed().as_secs_f64(),
        nothing_new: false,
    };
    let run_report = report::RunReport {
        schema_version: report::SCHEMA_VERSION,
        run_id: run_id.clone(),
        command: command.into(),
        product_version: PRODUCT_VERSION.into(),
        years: summary
            .years
            .iter()
            .map(|y| report::YearReport {
                year: y.year,
                rebuilt: y.rebuilt,
                why: y.why.clone(),
                deliveries: y.deliveries as u64,
                respondents: y.respondents as u64,
            })
            .collect(),
        deliveries_by_status: records.iter().fold(BTreeMap::new(), |mut m, r| {
            *m.entry(r.status.clone()).or_insert(0) += 1;
            m
        }),
        deliveries: records
            .iter()
            .map(|r| report::DeliveryLine {
                delivery_id: r.delivery_id.clone(),
                file_name: r.file_name.clone(),
                status: r.status.clone(),
                reason: r.reason.clone(),
                findings_error: r.findings_error as u64,
                findings_warning: r.findings_warning as u64,
            })
            .collect(),
        respondents: response,
        findings_by_rule: report::findings_by_rule(&outcomes),
        duplicates: dedup_totals,
        weighting: weighting_summaries,
        ignored_files: summary.ignored_files.clone(),
        stage_seconds: stages.seconds,
    };
    let (json, html) = report::run_report_files(&run_report)?;
    lake::publish_bytes(&opts.lake, &staging, &format!("reports/runs/{run_id}.json"), json.as_bytes())?;
    lake::publish_bytes(&opts.lake, &staging, &format!("reports/runs/{run_id}.html"), html.as_bytes())?;
    let manifest = serde_json::json!({
        "run_id": run_id,
        "product_version": PRODUCT_VERSION,
        "inputs": inputs,
        "partitions": summary.years.iter().map(|y| serde_json::json!({
            "year": y.year, "path": y.file.path, "rows": y.file.rows,
            "bytes": y.file.bytes, "blake3": y.file.blake3,
        })).collect::<Vec<_>>(),
        "deliveries": deliveries_file,
    });
    lake::kill_point("before-manifest");
    // The manifest goes last: a reader that trusts it sees only complete files.
    lake::publish_bytes(&opts.lake, &staging, "_manifest.json", serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    lake::kill_point("after-manifest");
    lake::finish_staging(&opts.lake, &staging)?;
    let keys: std::collections::BTreeSet<String> = outcomes
        .iter()
        .map(|o| state::cache_key(&o.delivery.id, &config.hash, &pipeline_hash, PRODUCT_VERSION))
        .collect();
    for gone in state::prune(&opts.state, &keys)? {
        tracing::debug!("cache entry removed: {gone}");
    }
    state::prune_years(&opts.state, &plans.iter().map(|p| p.build_key.clone()).collect())?;
    Ok(summary)
}

/// Dedup rule 1 before reading: a byte-identical copy of an earlier file (in the dedup rules'
/// "later" order) is not read; it becomes a `duplicate_file` outcome.
fn split_copies(deliveries: Vec<Delivery>) -> (Vec<Delivery>, Vec<Outcome>) {
    let facts: Vec<dedup::DeliveryFacts> = deliveries.iter().map(|d| facts_of(d, None, false)).collect();
    let copies = dedup::duplicate_files(&facts);
    let mut to_read = Vec::new();
    let mut duplicates = Vec::new();
    for (d, copy) in deliveries.into_iter().zip(copies) {
        match copy {
            Some(of) => {
                let decision = dedup::DeliveryDecision::DuplicateFile { of };
                let reason = decision.reason(&facts);
                let finding = Finding::new(finding::DEDUP_DUPLICATE_FILE, &d.id, reason.clone().unwrap_or_default());
                duplicates.push(Outcome {
                    delivery: d,
                    status: Status::DuplicateFile,
                    reason,
                    rows_read: 0,
                    rows_dropped_duplicate: 0,
                    dropped_rows: Vec::new(),
                    harmonised: None,
                    summary: None,
                    findings: vec![finding],
                });
            }
            None => to_read.push(d),
        }
    }
    (to_read, duplicates)
}

fn facts_of(d: &Delivery, summary: Option<&BatchSummary>, rejected: bool) -> dedup::DeliveryFacts {
    match summary {
        Some(b) => dedup::DeliveryFacts::from_summary(&d.id, &d.blake3, &d.file_name, d.modified, b),
        None => dedup::DeliveryFacts {
            id: d.id.clone(),
            blake3: d.blake3.clone(),
            file_name: d.file_name.clone(),
            modified: d.modified,
            rejected,
            ..dedup::DeliveryFacts::default()
        },
    }
}

/// Dedup rule 2 over the read deliveries: a later delivery of the same municipality, year,
/// quarter and agency supersedes the earlier one as a whole (or both stay, `append`).
fn supersede(outcomes: &mut [Outcome], settings: &DedupSettings) {
    let facts: Vec<dedup::DeliveryFacts> = outcomes
        .iter()
        .map(|o| {
            let published = o.status == Status::Published;
            facts_of(&o.delivery, o.summary.as_ref().filter(|_| published), o.status == Status::Rejected)
        })
        .collect();
    let decisions = dedup::decide_deliveries(&facts, settings.mode());
    for (i, decision) in decisions.iter().enumerate() {
        if let dedup::DeliveryDecision::Superseded { .. } = decision
            && outcomes[i].status == Status::Published
        {
            outcomes[i].status = Status::Superseded;
            outcomes[i].reason = decision.reason(&facts);
            outcomes[i].findings.extend(dedup::delivery_findings(&facts[i..=i], std::slice::from_ref(decision)));
        }
    }
}

/// Records what building its year did to a published delivery; returns the weighting
/// findings, which go on the deliveries after the completeness findings.
fn apply_year(o: &mut Outcome, d: years::YearDelivery) -> Vec<Finding> {
    o.rows_dropped_duplicate = d.rows_dropped_duplicate;
    o.dropped_rows.extend(d.dropped_rows);
    o.findings.extend(d.dedup_findings);
    o.summary = Some(d.kept);
    d.weighting_findings
}

/// Adds findings made after harmonising (weighting) to their deliveries.
fn attach_findings(outcomes: &mut [Outcome], findings: Vec<Finding>) {
    let index: BTreeMap<String, usize> = outcomes.iter().enumerate().map(|(i, o)| (o.delivery.id.clone(), i)).collect();
    for f in findings {
        if let Some(&i) = index.get(&f.delivery_id) {
            outcomes[i].findings.push(f);
        }
    }
}

/// The population's share per `ch02` band of a municipality-year, for the delivery report's
/// chart; `None` when there is no table or its bands do not resolve into the six `ch02` bands.
pub fn population_shares(population: &PopulationTable, code: &str, year: u16) -> Option<Vec<f64>> {
    let region = population.region(code, year).ok()??;
    let aligned = weight::align::align(&region.bands).ok()?;
    if aligned.groups.len() != 6 {
        return None;
    }
    let total: f64 = aligned.groups.iter().map(|g| g.population).sum();
    (total > 0.0).then(|| aligned.groups.iter().map(|g| g.population / total).collect())
}

/// Fewer than this many complete questionnaires in a municipality-year: not publishable
/// (protocol: "474 volledige afgeronde vragenlijsten of minder").
pub const MIN_COMPLETE: usize = 475;

/// Adds a `harmonise.too-few-complete` finding to every delivery of a municipality-year that
/// has fewer than [`MIN_COMPLETE`] complete questionnaires over all its published deliveries.
fn completeness_findings(outcomes: &mut [Outcome]) {
    let mut complete: BTreeMap<(u16, &str), (usize, usize)> = BTreeMap::new();
    for b in outcomes.iter().filter(|o| o.status == Status::Published).filter_map(|o| o.summary.as_ref()) {
        for m in &b.municipalities {
            let entry = complete.entry((b.year, m.code.as_str())).or_default();
            entry.0 += m.complete;
            entry.1 += m.rows;
        }
    }
    let mut extra: Vec<(usize, Finding)> = Vec::new();
    for (i, o) in outcomes.iter().enumerate().filter(|(_, o)| o.status == Status::Published) {
        let Some(b) = &o.summary else { continue };
        for m in &b.municipalities {
            let (n, total) = complete[&(b.year, m.code.as_str())];
            if n < MIN_COMPLETE {
                extra.push((
                    i,
                    Finding::new(
                        finding::TOO_FEW_COMPLETE,
                        &o.delivery.id,
                        format!(
                            "{} {} has {n} complete questionnaires in {} ({total} respondents over all \
                             its deliveries); below {MIN_COMPLETE} its results may not be published",
                            m.code, m.name, b.year
                        ),
                    ),
                ));
            }
        }
    }
    for (i, f) in extra {
        outcomes[i].findings.push(f);
    }
}

/// Wall-clock time per stage, for the run report.
struct Stages {
    seconds: BTreeMap<String, f64>,
    last: Option<Instant>,
}

impl Stages {
    /// Records the time since the previous stage ended.
    fn done(&mut self, stage: &str) {
        let now = Instant::now();
        let since = self.last.unwrap_or(now);
        self.seconds.insert(stage.to_string(), now.duration_since(since).as_secs_f64());
        self.last = Some(now);
    }
}

/// `check`: reads and harmonises the given files the way `run` would, touching neither the
/// lake nor any state. Byte-identical files among them are `duplicate_file`.
pub fn check(
    files: &[PathBuf],
    config: &Config,
    limits: &Limits,
    forced: &BTreeMap<String, Questionnaire>,
) -> Result<Vec<Outcome>> {
    let mut deliveries = Vec::new();
    for f in files {
        if !f.is_file() {
            return Err(UsageError(format!("{} is not a file", f.display())).into());
        }
        let format =
            f.extension().and_then(|e| e.to_str()).and_then(ingest::Format::from_extension).ok_or_else(|| {
                UsageError(format!("{}: not a delivery format (.xlsx .xlsm .xls .ods .csv .txt .sav)", f.display()))
            })?;
        deliveries.push(ingest::discover::describe_file(f, format, limits.max_file_bytes));
    }
    let (to_read, duplicates) = split_copies(deliveries);
    let mut outcomes: Vec<Outcome> = to_read.into_iter().map(|d| process(d, config, limits, forced)).collect();
    outcomes.extend(duplicates);
    let settings = DedupSettings::default();
    supersede(&mut outcomes, &settings);
    let mut by_year: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    for (i, o) in outcomes.iter().enumerate().filter(|(_, o)| o.status == Status::Published) {
        if let Some(b) = o.batch() {
            by_year.entry(b.year).or_default().push(i);
        }
    }
    let age = config.codebook.age_column();
    for indexes in by_year.values() {
        let batches: Vec<Cow<Batch>> = indexes.iter().filter_map(|&i| outcomes[i].batch()).map(Cow::Borrowed).collect();
        let deduplicated = years::dedup_rows(batches, &config.codebook, &settings);
        for (&i, d) in indexes.iter().zip(deduplicated.deliveries) {
            let o = &mut outcomes[i];
            o.rows_dropped_duplicate = d.rows_dropped_duplicate;
            o.dropped_rows.extend(d.dropped_rows);
            o.findings.extend(d.findings);
            o.summary = Some(BatchSummary::of(&d.kept, age));
            if let Some(h) = o.harmonised.as_mut() {
                h.batch = Some(d.kept);
            }
        }
    }
    completeness_findings(&mut outcomes);
    Ok(outcomes)
}

/// The ledger's row for a delivery after this run. `first_seen` is the file's modification
/// time when the ledger first met it: a clock reading would make two runs on the same inputs
/// write different `deliveries.parquet` bytes.
fn delivery_row(o: &Outcome, now: i64, run_id: &str) -> ledger::DeliveryRow {
    let r = delivery_record(o);
    ledger::DeliveryRow {
        delivery_id: r.delivery_id,
        file_name: r.file_name,
        file_bytes: o.delivery.bytes,
        modified: o.delivery.modified,
        file_blake3: r.file_blake3,
        format: r.format,
        status: r.status,
        reason: r.reason,
        year: r.jr.map(|y| y as u16),
        gemeente_code: r.gemeente_code,
        kw: r.kw,
        org: r.org,
        vragenlijst: r.vragenlijst,
        rows_read: r.rows_read as u64,
        rows_published: r.rows_published as u64,
        rows_dropped_duplicate: r.rows_dropped_duplicate as u64,
        findings_error: r.findings_error as u64,
        findings_warning: r.findings_warning as u64,
        first_seen: o.delivery.modified,
        last_seen: now,
        run_id: run_id.to_string(),
    }
}

fn delivery_record(o: &Outcome) -> DeliveryRecord {
    let b = o.summary.as_ref();
    let count = |s: Severity| o.findings.iter().filter(|f| f.severity == s).count() as i64;
    DeliveryRecord {
        delivery_id: o.delivery.id.clone(),
        file_name: o.delivery.file_name.clone(),
        file_bytes: o.delivery.bytes as i64,
        file_blake3: o.delivery.blake3.clone(),
        first_seen: o.delivery.modified,
        format: o.delivery.format.as_str().to_string(),
        // Joint surveys list every municipality, comma-separated.
        gemeente_code: b.map(|b| b.municipalities.iter().map(|m| m.code.as_str()).collect::<Vec<_>>().join(",")),
        jr: b.map(|b| b.year as i16),
        kw: b.and_then(|b| b.quarter_first),
        org: b.and_then(|b| b.org_first),
        vragenlijst: o.harmonised.as_ref().and_then(|h| h.vragenlijst).map(|q| q.as_str().to_string()),
        status: o.status.as_str().to_string(),
        reason: o.reason.clone(),
        rows_read: o.rows_read as i64,
        rows_published: if o.status == Status::Published { b.map_or(0, |b| b.rows as i64) } else { 0 },
        rows_dropped_duplicate: o.rows_dropped_duplicate as i64,
        findings_error: count(Severity::Error),
        findings_warning: count(Severity::Warning),
    }
}

/// Key-value metadata of every lake file. Nothing here changes between two runs on the same
/// inputs: no run id, no clock.
fn file_metadata(config: &Config, pipeline_hash: &str, delivery_ids: &[&str]) -> Vec<(String, String)> {
    let ids = delivery_ids.join(",");
    let build_id = blake3::hash(format!("{PRODUCT_VERSION}\n{}\n{pipeline_hash}\n{ids}", config.hash).as_bytes())
        .to_hex()
        .to_string();
    vec![
        ("burgerpeiling.product_version".into(), PRODUCT_VERSION.into()),
        ("burgerpeiling.codebook_version".into(), config.codebook.version_label()),
        ("burgerpeiling.config_hash".into(), config.hash.clone()),
        ("burgerpeiling.pipeline_hash".into(), pipeline_hash.into()),
        ("burgerpeiling.delivery_ids".into(), ids),
        ("burgerpeiling.build_id".into(), build_id[..32].to_string()),
    ]
}

fn log_findings(o: &Outcome) {
    for f in &o.findings {
        let file = &o.delivery.file_name;
        match f.severity {
            Severity::Error => {
                tracing::warn!(file = %file, rule = f.rule, column = f.column.as_deref(), count = f.count, "rejected: {}", f.message)
            }
            Severity::Warning => {
                tracing::info!(file = %file, rule = f.rule, column = f.column.as_deref(), count = f.count, "{}", f.message)
            }
            Severity::Info => {
                tracing::debug!(file = %file, rule = f.rule, column = f.column.as_deref(), count = f.count, "{}", f.message)
            }
        }
    }
}

fn progress_bar(enabled: bool, len: u64) -> indicatif::ProgressBar {
    if !enabled {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} files") {
        bar.set_style(style);
    }
    bar.set_message("reading");
    bar
}

/// `20261127T130500Z-1a2b`: sortable, and unique enough for one state directory.
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now();
    let stamp = humantime::format_rfc3339_seconds(now).to_string().replace(['-', ':'], "");
    let nanos = now.duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let salt = blake3::hash(format!("{nanos}{}", std::process::id()).as_bytes()).to_hex();
    format!("{stamp}-{}", &salt[..4])
}

/// BLAKE3 over the relative paths and contents of every file under `dir`, in name order.
pub fn hash_tree(dir: &Path) -> Result<String> {
    let mut files = Vec::new();
    collect_files(dir, &mut files).with_context(|| format!("cannot read config directory {}", dir.display()))?;
    files.sort();
    let mut hasher = blake3::Hasher::new();
    for f in files {
        let rel = f.strip_prefix(dir).unwrap_or(&f).to_string_lossy().replace('\\', "/");
        hasher.update(rel.as_bytes());
        hasher.update(&[0]);
        hasher.update(&std::fs::read(&f).with_context(|| format!("cannot read {}", f.display()))?);
        hasher.update(&[0]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            collect_files(&entry.path(), out)?;
        } else {
            out.push(entry.path());
        }
    }
    Ok(())
}
