//! Stage 2, read and harmonise: every delivery that is not a copy is read and harmonised once,
//! in parallel, and its rows go to the delivery cache; a delivery whose cache entry is valid is
//! not read again. From here on the run holds each delivery as its summary only.
//!
//! What it must NOT do: decide between deliveries (copies, redeliveries: the `deliveries`
//! stage) or touch the lake.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rayon::prelude::*;

use crate::codebook::Questionnaire;
use crate::config::{Config, Limits, PRODUCT_VERSION};
use crate::finding::{self, Finding, Severity};
use crate::harmonise::{self, BatchSummary, Harmonised, harmonise};
use crate::ingest::{self, Delivery};
use crate::outcome::{DeliveryOutcome, Status};
use crate::state;

/// What reading needs besides the deliveries.
pub struct ReadContext<'a> {
    pub config: &'a Config,
    pub limits: &'a Limits,
    /// File name or delivery id → forced questionnaire version.
    pub forced_versions: &'a BTreeMap<String, Questionnaire>,
    /// The state directory whose cache holds harmonised deliveries.
    pub state: &'a Path,
    pub pipeline_hash: &'a str,
    /// `reprocess --year`: the cache of that year's deliveries (and of any whose year the ledger
    /// does not know) is ignored.
    pub reprocess: Option<u16>,
    /// The year the ledger knows per delivery id.
    pub known_years: &'a BTreeMap<String, Option<u16>>,
    /// Deliveries whose file left the inbox: only the cache can give their rows.
    pub missing: &'a BTreeSet<String>,
    pub progress: bool,
}

/// Reads and harmonises one delivery.
pub fn process(
    delivery: Delivery,
    config: &Config,
    limits: &Limits,
    forced_versions: &BTreeMap<String, Questionnaire>,
) -> DeliveryOutcome {
    let mut findings = Vec::new();
    let mut rows_read = 0;
    let mut harmonised = None;
    if let Some(refusal) = &delivery.refused {
        findings.push(refusal.clone());
    } else {
        let known = |name: &str| config.codebook.is_known(name);
        let (table, read_findings) = ingest::read_delivery(&delivery, &known, *limits);
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
    let age = config.codebook.age_column();
    let summary = harmonised.as_ref().and_then(|h| h.batch.as_ref()).map(|b| BatchSummary::of(b, age));
    outcome(delivery, harmonised, summary, findings, rows_read)
}

/// The outcome of a delivery from what reading and harmonising it gave (fresh or cached):
/// published, or rejected by an error finding or for want of rows.
fn outcome(
    delivery: Delivery,
    harmonised: Option<Harmonised>,
    summary: Option<BatchSummary>,
    findings: Vec<Finding>,
    rows_read: usize,
) -> DeliveryOutcome {
    let rejected = finding::rejects(&findings) || summary.is_none();
    let (status, reason) = if rejected {
        let first = findings.iter().find(|f| f.severity == Severity::Error);
        (Status::Rejected, Some(first.map(|f| f.message.clone()).unwrap_or_else(|| "not readable".into())))
    } else {
        (Status::Published, None)
    };
    DeliveryOutcome {
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

/// Reads every delivery (from the cache where it can), in parallel.
pub fn read_all(deliveries: Vec<Delivery>, cx: &ReadContext) -> Vec<DeliveryOutcome> {
    let bar = progress_bar(cx.progress, deliveries.len() as u64);
    let outcomes = deliveries
        .into_par_iter()
        .map(|d| {
            let o = read_one(d, cx);
            bar.inc(1);
            o
        })
        .collect();
    bar.finish_and_clear();
    outcomes
}

fn read_one(d: Delivery, cx: &ReadContext) -> DeliveryOutcome {
    let config = cx.config;
    let key = state::cache_key(&d.id, &config.hash, cx.pipeline_hash, PRODUCT_VERSION);
    let bypass = cx.reprocess.is_some_and(|y| cx.known_years.get(&d.id).is_none_or(|k| k.is_none_or(|k| k == y)));
    let cached = if bypass { None } else { state::load_summary(cx.state, &key).into_cached() };
    let is_missing = cx.missing.contains(&d.id);
    let mut o = match cached {
        Some(c) => outcome(d, Some(c.harmonised), c.summary, c.findings, c.rows_read),
        None if is_missing => outcome(d, None, None, Vec::new(), 0),
        None => {
            let mut o = process(d, config, cx.limits, cx.forced_versions);
            if let Some(h) = &mut o.harmonised {
                match state::store(cx.state, &key, &config.codebook, h, &o.findings, o.rows_read) {
                    // The rows wait in the cache until their year is built.
                    Ok(()) => h.batch = None,
                    Err(e) => tracing::warn!(
                        file = %o.delivery.file_name,
                        "cannot cache the delivery, keeping it in memory: {e:#}"
                    ),
                }
            }
            o
        }
    };
    // The rest of a bundle (attachments, entries not read), as the bundle is now: beside the
    // cached findings, not in them.
    o.findings.extend(ingest::discover::bundle_notes(&o.delivery));
    if is_missing {
        let message = if o.harmonised.is_some() {
            format!(
                "{} is no longer in the inbox; it stays published from the cache (run --prune drops it)",
                o.delivery.file_name
            )
        } else {
            format!("{} is no longer in the inbox and not in the cache; it is not published", o.delivery.file_name)
        };
        o.findings.push(Finding::new(finding::DELIVERY_MISSING, &o.delivery.id, message));
        if o.harmonised.is_none() {
            o.status = Status::Rejected;
            o.reason = Some("the file left the inbox".into());
        }
    }
    o
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
