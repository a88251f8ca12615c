//! The pipeline: the chain of stages behind `run`, `reprocess` and `check`.
//!
//! ```text
//! inbox::reconcile ─► deliveries::split_copies ─► read::read_all ─► deliveries::supersede
//!   (discover + ledger)   (rule 1: copies)           (read + harmonise,    (rule 2: redeliveries)
//!                                                     cached, parallel)
//!   ─► years::plan_years ─► years::build_year ─► publish::swap_years ─► settle ─► publish::tables …
//!      (what to rebuild)    (rules 3-6, assemble,  (partitions in,        (year records   (ledger, Parquet,
//!                            weigh, stage; parallel) ledger)                onto outcomes)  reports, manifest)
//! ```
//!
//! Each stage is a module with a plain output; none calls back into an earlier one (the year
//! stage gets its rows from a [`years::BatchSource`] this module passes in). `check` is the same
//! chain over the given files without ledger, cache or lake: it ends after `settle`, with row
//! dedup and no weights. This module only wires the stages, times them and keeps the ledger's
//! run record; it knows no file formats and no variable names.

mod deliveries;
mod inbox;
mod indicators;
mod publish;
mod read;
mod settle;
mod years;

pub use inbox::{Preview, preview};
pub use indicators::{YearIndicators, year_indicators};
pub use read::process;
pub use years::{WeighedYear, weigh_year};

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::codebook::Questionnaire;
use crate::config::{Config, DedupSettings, Limits, UsageError};
use crate::finding::Severity;
use crate::harmonise::Batch;
use crate::indicators::figures::PublicationRules;
use crate::ingest;
use crate::lake::{self, PublishedFile};
use crate::outcome::{DeliveryOutcome, Status};
use crate::population::PopulationTable;
use crate::state::{self, ledger::Ledger};
use crate::weight::WeightOptions;

/// Another run holds the lock on the state directory: the CLI exits with code 4.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LockHeld(pub String);

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
    /// When an indicator figure is published.
    pub indicators: PublicationRules,
    /// The state directory: ledger, delivery cache, lock.
    pub state: PathBuf,
    /// Rebuild every year, whether its inputs changed or not.
    pub full: bool,
    /// Drop deliveries whose file left the inbox (otherwise they stay published from the cache).
    pub prune: bool,
    /// `reprocess --year`: ignore every cache for this year and rebuild it.
    pub reprocess: Option<u16>,
    pub progress: bool,
    /// The keys of the zip bundles (from the password file).
    pub passwords: crate::ingest::passwords::Passwords,
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
    /// The year's `indicators/respondents` partition.
    pub indicators: PublishedFile,
    /// False when the year's inputs were unchanged and its partition was left as it was.
    pub rebuilt: bool,
    pub why: String,
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
    for line in lake::clean_leftovers(&opts.lake)? {
        tracing::warn!("recovered from an interrupted run: {line}");
    }
    let mut ledger = Ledger::open(&opts.state)?;
    let run_id = new_run_id();
    let command = if opts.reprocess.is_some() { "reprocess" } else { "run" };
    ledger.begin_run(&run_id, command, unix_now())?;
    let chain = Chain { opts, config, pipeline_hash: blake3::hash(pipeline_bytes).to_hex().to_string(), command };
    match run_locked(&chain, &mut ledger, &run_id) {
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

/// What every stage of one run may read.
struct Chain<'a> {
    opts: &'a RunOptions,
    config: &'a Config,
    pipeline_hash: String,
    command: &'a str,
}

fn run_locked(chain: &Chain, ledger: &mut Ledger, run_id: &str) -> Result<RunSummary> {
    let (opts, config) = (chain.opts, chain.config);
    let started = Instant::now();
    let mut stages = Stages { seconds: BTreeMap::new(), last: started };
    // Population tables change weights, not harmonising: they are in the partitions' key, not
    // in the cache key.
    let inputs_hash = format!("{}+{}", chain.pipeline_hash, opts.population.fingerprint());
    let hashes = inbox::InputHashes { config: &config.hash, inputs: &inputs_hash };
    let inbox = inbox::reconcile(opts, ledger, &hashes, run_id, unix_now())?;
    for gone in &inbox.pruned {
        ledger.record_delivery(gone)?;
    }
    stages.done("discover");
    let nothing_new = inbox::published_inputs_key(&opts.lake).as_deref() == Some(inbox.inputs_key.as_str());
    if !opts.full && opts.reprocess.is_none() && nothing_new {
        tracing::info!("nothing new since the last run: the lake is left as it is");
        return Ok(RunSummary {
            run_id: run_id.to_string(),
            lake: opts.lake.clone(),
            years: Vec::new(),
            deliveries: inbox.deliveries.len(),
            rejected: 0,
            ignored_files: inbox.ignored,
            seconds: started.elapsed().as_secs_f64(),
            nothing_new: true,
        });
    }
    tracing::info!(deliveries = inbox.deliveries.len(), ignored = inbox.ignored.len(), "inbox read");
    for name in &inbox.ignored {
        tracing::info!(file = %name, "ignored: not a delivery format");
    }

    let (to_read, copies) = deliveries::split_copies(inbox.deliveries);
    let known_years = inbox::known_years(ledger)?;
    let read_context = read::ReadContext {
        config,
        limits: &opts.limits,
        forced_versions: &opts.forced_versions,
        state: &opts.state,
        pipeline_hash: &chain.pipeline_hash,
        reprocess: opts.reprocess,
        known_years: &known_years,
        missing: &inbox.missing,
        progress: opts.progress,
    };
    let mut outcomes = read::read_all(to_read, &read_context);
    outcomes.extend(copies);
    outcomes.sort_by(|a, b| a.delivery.file_name.cmp(&b.delivery.file_name));
    stages.done("read and harmonise");

    let outcomes = deliveries::supersede(outcomes, &opts.dedup);
    let plans = years::plan_years(&outcomes, config, opts, &chain.pipeline_hash, ledger)?;
    let staging = lake::staging_dir(&opts.lake, run_id)?;
    let built = build_years(chain, &plans, &outcomes, &staging)?;
    stages.done("deduplicate, assemble, weigh and stage years");

    let cx = publish::PublishContext { opts, config, run_id, staging: &staging, inputs_hash: &inputs_hash };
    let published = publish::swap_years(&plans, built, &cx, ledger)?;
    let outcomes = settle::settle(outcomes, published.deliveries);
    log_findings(&outcomes);
    stages.done("publish years");

    let (records, deliveries_file, response) =
        publish::tables(&outcomes, &published.weighting_records, &cx, ledger, unix_now())?;
    stages.done("ledger, deliveries, weighting and response");
    // Three independent outputs, each from what is published by now: on a nightly run that
    // changed one year, each is a tenth of a second that the other core can share.
    let (indicator_files, (pages, delivery_reports)) = rayon::join(
        || publish::indicator_tables(&published.figures, &cx),
        || {
            rayon::join(
                || publish::findings_pages(&published.figures, &cx),
                || publish::render_delivery_reports(&outcomes, &cx),
            )
        },
    );
    let (indicator_files, ()) = (indicator_files?, pages?);
    let delivery_reports = publish::changed_reports(&opts.lake, run_id, delivery_reports?);
    stages.done("indicator tables, findings pages and delivery reports");
    lake::publish_all(&opts.lake, &staging, &delivery_reports)?;
    stages.done("publish delivery reports");

    let summary = RunSummary {
        run_id: run_id.to_string(),
        lake: opts.lake.clone(),
        deliveries: outcomes.len(),
        rejected: publish::count(&outcomes, Status::Rejected),
        ignored_files: inbox.ignored,
        years: published.years,
        seconds: started.elapsed().as_secs_f64(),
        nothing_new: false,
    };
    let (json, html) = publish::run_report(
        &summary,
        publish::RunRecords {
            command: chain.command,
            records: &records,
            response,
            outcomes: &outcomes,
            duplicates: published.duplicates,
            weighting: published.weighting_summaries,
            stage_seconds: stages.seconds,
        },
    )?;
    lake::publish_bytes(&opts.lake, &staging, &format!("reports/runs/{run_id}.json"), json.as_bytes())?;
    lake::publish_bytes(&opts.lake, &staging, &format!("reports/runs/{run_id}.html"), html.as_bytes())?;
    let files = publish::ManifestFiles { deliveries: deliveries_file, indicators: indicator_files };
    publish::manifest(&summary, &inbox.inputs_key, &files, &cx)?;
    lake::finish_staging(&opts.lake, &staging)?;
    prune_state(chain, &outcomes, &plans)?;
    Ok(summary)
}

/// Builds the planned years in parallel, each thread one year at a time, so memory holds at
/// most as many years' rows as there are threads.
fn build_years(
    chain: &Chain,
    plans: &[years::YearPlan],
    outcomes: &[DeliveryOutcome],
    staging: &std::path::Path,
) -> Result<Vec<years::BuiltYear>> {
    use rayon::prelude::*;
    let (opts, config) = (chain.opts, chain.config);
    let reread = |d: &ingest::Delivery| -> Option<Batch> {
        process(d.clone(), config, &opts.limits, &opts.forced_versions).harmonised.and_then(|h| h.batch)
    };
    let source =
        years::BatchSource { state: &opts.state, config, pipeline_hash: &chain.pipeline_hash, reread: &reread };
    let alone = plans.iter().filter(|p| p.rebuild.is_some()).count() == 1;
    let cx = years::YearContext { source, opts, staging, alone };
    // Years to build go first, years that only load their stored result after: a nightly run
    // builds one year, and it should not wait behind the loads of the years before it.
    let mut order: Vec<usize> = (0..plans.len()).collect();
    order.sort_by_key(|&i| plans[i].rebuild.is_none());
    let mut built: Vec<(usize, years::BuiltYear)> = order
        .into_par_iter()
        .map(|i| years::build_year(&plans[i], outcomes, &cx).map(|b| (i, b)))
        .collect::<Result<_>>()?;
    built.sort_by_key(|(i, _)| *i);
    Ok(built.into_iter().map(|(_, b)| b).collect())
}

/// Removes cache entries and year results that no delivery or year of this run uses.
fn prune_state(chain: &Chain, outcomes: &[DeliveryOutcome], plans: &[years::YearPlan]) -> Result<()> {
    let config = chain.config;
    let keys: std::collections::BTreeSet<String> = outcomes
        .iter()
        .map(|o| state::cache_key(&o.delivery.id, &config.hash, &chain.pipeline_hash, crate::config::PRODUCT_VERSION))
        .collect();
    for gone in state::prune(&chain.opts.state, &keys)? {
        tracing::debug!("cache entry removed: {gone}");
    }
    state::prune_years(&chain.opts.state, &plans.iter().map(|p| p.build_key.clone()).collect())?;
    Ok(())
}

/// `check`: the chain over the given files, touching neither the lake nor any state: read and
/// harmonise, copies and redeliveries, row dedup per year, settle. Byte-identical files among
/// them are `duplicate_file`.
pub fn check(
    files: &[PathBuf],
    config: &Config,
    limits: &Limits,
    forced: &BTreeMap<String, Questionnaire>,
    passwords: &ingest::passwords::Passwords,
) -> Result<Vec<DeliveryOutcome>> {
    let mut found = Vec::new();
    for f in files {
        if !f.is_file() {
            return Err(UsageError(format!("{} is not a file", f.display())).into());
        }
        found.extend(ingest::discover::describe_given(f, *limits, passwords).map_err(UsageError)?);
    }
    let (to_read, copies) = deliveries::split_copies(found);
    let mut outcomes: Vec<DeliveryOutcome> = to_read
        .into_iter()
        .map(|d| {
            let notes = ingest::discover::bundle_notes(&d);
            let mut o = process(d, config, limits, forced);
            o.findings.extend(notes);
            o
        })
        .collect();
    outcomes.extend(copies);
    let settings = DedupSettings::default();
    let outcomes = deliveries::supersede(outcomes, &settings);
    let mut by_year: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    for (i, o) in outcomes.iter().enumerate().filter(|(_, o)| o.status == Status::Published) {
        if let Some(b) = o.batch() {
            by_year.entry(b.year).or_default().push(i);
        }
    }
    let mut year_deliveries = BTreeMap::new();
    for indexes in by_year.values() {
        let batches: Vec<Cow<Batch>> = indexes.iter().filter_map(|&i| outcomes[i].batch()).map(Cow::Borrowed).collect();
        let deduplicated = years::dedup_rows(batches, &config.codebook, &settings);
        let (records, _) = years::year_deliveries(deduplicated.deliveries, Vec::new(), &config.codebook);
        year_deliveries.extend(records.into_iter().map(|d| (d.delivery_id.clone(), d)));
    }
    Ok(settle::settle(outcomes, year_deliveries))
}

/// Wall-clock time per stage, for the run report.
struct Stages {
    seconds: BTreeMap<String, f64>,
    last: Instant,
}

impl Stages {
    /// Records the time since the previous stage ended.
    fn done(&mut self, stage: &str) {
        let now = Instant::now();
        self.seconds.insert(stage.to_string(), now.duration_since(self.last).as_secs_f64());
        self.last = now;
    }
}

/// Logs the run's findings: one line per rule at the default level (how many files and rows),
/// the per-file lines only at `-v`, so a rule that hits every file does not flood the log. A
/// rejection stays one warning per file: each names a file that is not published.
fn log_findings(outcomes: &[DeliveryOutcome]) {
    // Rule id → (severity, files, summed count), in rule-id order so the log is the same every run.
    let mut per_rule: BTreeMap<&str, (Severity, usize, u64)> = BTreeMap::new();
    for o in outcomes {
        let file = &o.delivery.file_name;
        let mut seen = std::collections::BTreeSet::new();
        for f in &o.findings {
            let entry = per_rule.entry(f.rule).or_insert((f.severity, 0, 0));
            entry.2 += f.count;
            if seen.insert(f.rule) {
                entry.1 += 1;
            }
            let column = f.column.as_deref();
            match f.severity {
                Severity::Error => {
                    tracing::warn!(file = %file, rule = f.rule, column, count = f.count, "rejected: {}", f.message)
                }
                // Per-file lines one level below the per-rule summary: warnings at -v, notes at -vv.
                Severity::Warning => {
                    tracing::debug!(file = %file, rule = f.rule, column, count = f.count, "{}", f.message)
                }
                Severity::Info => {
                    tracing::trace!(file = %file, rule = f.rule, column, count = f.count, "{}", f.message)
                }
            }
        }
    }
    for (rule, (severity, files, count)) in per_rule {
        let severity = severity.as_str();
        tracing::info!(rule, severity, files, count, "{rule} ({severity}): {files} bestand(en), aantal {count}");
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `20261127T130500Z-1a2b`: sortable, and unique enough for one state directory.
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now();
    let stamp = humantime::format_rfc3339_seconds(now).to_string().replace(['-', ':'], "");
    let nanos = now.duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let salt = blake3::hash(format!("{nanos}{}", std::process::id()).as_bytes()).to_hex();
    format!("{stamp}-{}", &salt[..4])
}
