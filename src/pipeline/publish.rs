//! Stage 7, publish: the staged year partitions are swapped in and recorded in the ledger, then
//! `deliveries.parquet`, `weighting.parquet`, `response.csv`, the delivery and run reports and,
//! last, `_manifest.json` go into the lake.
//!
//! What it must NOT do: decide anything about data. It writes what the earlier stages decided,
//! only through `lake::publish_*`, and only while the run holds the state lock.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::RecordBatch;
use arrow_schema::Schema;
use rayon::prelude::*;

use super::years::{BuiltYear, YearDelivery, YearPlan};
use super::{RunOptions, RunSummary, YearSummary};
use crate::config::{Config, PRODUCT_VERSION};
use crate::dedup;
use crate::indicators::export;
use crate::indicators::figures::{MunicipalityFigure, NationalFigure, YearFigures};
use crate::lake::{self, DeliveryRecord, PublishedFile, WeightingRecord, YearPartition};
use crate::outcome::{DeliveryOutcome, Status};
use crate::report;
use crate::state::{self, ledger};
use crate::weight;

/// What publishing needs besides the stage records.
pub struct PublishContext<'a> {
    pub opts: &'a RunOptions,
    pub config: &'a Config,
    pub run_id: &'a str,
    pub staging: &'a Path,
    /// Pipeline file and population tables: into the files' metadata.
    pub inputs_hash: &'a str,
}

/// What the built years add up to, once their partitions are in place.
pub struct PublishedYears {
    pub years: Vec<YearSummary>,
    pub duplicates: dedup::RuleTotals,
    pub weighting_records: Vec<WeightingRecord>,
    pub weighting_summaries: Vec<report::WeightingSummary>,
    /// Delivery id → what its year did to it.
    pub deliveries: BTreeMap<String, YearDelivery>,
    /// Every year's indicator figures, years in order.
    pub figures: Vec<PublishedFigures>,
}

/// One year's indicator figures, with the year's build key.
pub struct PublishedFigures {
    pub build_key: String,
    /// Computed in this run (not taken from the state directory): what was kept for the year
    /// under its key is not used (`--full` and `reprocess` recompute everything of the year).
    pub computed: bool,
    pub figures: YearFigures,
}

/// Swaps each rebuilt year's staged partition in (one after the other), records it in the
/// ledger and keeps the year's result for the next run.
pub fn swap_years(
    plans: &[YearPlan],
    built: Vec<BuiltYear>,
    cx: &PublishContext,
    ledger: &mut ledger::Ledger,
) -> Result<PublishedYears> {
    let opts = cx.opts;
    let mut out = PublishedYears {
        years: Vec::new(),
        duplicates: dedup::RuleTotals::default(),
        weighting_records: Vec::new(),
        weighting_summaries: Vec::new(),
        deliveries: BTreeMap::new(),
        figures: Vec::with_capacity(built.len()),
    };
    for (plan, built) in plans.iter().zip(built) {
        let year = plan.year;
        let (file, indicators, rebuilt, why) = match (built.staged, &plan.previous) {
            (Some(staged), _) => {
                for table in YearPartition::ALL {
                    lake::swap_year(&opts.lake, cx.staging, table, year)
                        .with_context(|| format!("publishing survey year {year} ({})", table.dir()))?;
                }
                let file = staged.respondents;
                ledger.set_partition(&ledger::PartitionRow {
                    year,
                    build_key: plan.build_key.clone(),
                    delivery_ids: plan.ids.clone(),
                    file_blake3: file.blake3.clone(),
                    rows: file.rows as u64,
                    run_id: cx.run_id.to_string(),
                })?;
                tracing::info!(
                    year,
                    deliveries = plan.ids.len(),
                    respondents = built.result.respondents,
                    "year published"
                );
                (file, Some(staged.indicators), true, plan.rebuild.clone().unwrap_or_default())
            }
            (None, Some(p)) => {
                let relative = format!("respondents/jaar={year}/part-0000.parquet");
                let file = PublishedFile {
                    rows: p.rows as usize,
                    bytes: std::fs::metadata(opts.lake.join(&relative)).map(|m| m.len()).unwrap_or(0),
                    path: relative,
                    blake3: p.file_blake3.clone(),
                };
                (file, None, false, "inputs unchanged".to_string())
            }
            (None, None) => unreachable!("a year without a partition is always rebuilt"),
        };
        if built.computed
            && let Err(e) = state::store_year(&opts.state, &plan.build_key, &built.result)
        {
            tracing::warn!(year, "cannot keep the year's result for the next run: {e:#}");
        }
        let result = built.result;
        let indicators = match indicators {
            Some(f) => f,
            None => lake::describe_published(&opts.lake, &YearPartition::Indicators.file(year), result.respondents)?,
        };
        out.years.push(YearSummary {
            year,
            deliveries: plan.ids.len(),
            respondents: result.respondents,
            file,
            indicators,
            rebuilt,
            why,
        });
        out.figures.push(PublishedFigures {
            build_key: plan.build_key.clone(),
            computed: built.computed,
            figures: result.figures,
        });
        out.duplicates += result.duplicates;
        out.weighting_records.extend(result.weighting_records);
        out.weighting_summaries.extend(result.weighting_summaries);
        out.deliveries.extend(result.deliveries.into_iter().map(|d| (d.delivery_id.clone(), d)));
    }
    Ok(out)
}

/// Records the deliveries in the ledger and writes `deliveries.parquet`, `weighting.parquet`
/// and `response.csv`. Returns the deliveries' records (every delivery the ledger knows), the
/// file `deliveries.parquet` and the response table.
pub fn tables(
    outcomes: &[DeliveryOutcome],
    weighting_records: &[WeightingRecord],
    cx: &PublishContext,
    ledger: &mut ledger::Ledger,
    now: i64,
) -> Result<(Vec<DeliveryRecord>, PublishedFile, Vec<report::MunicipalityYear>)> {
    let lake_dir = &cx.opts.lake;
    let rows: Vec<ledger::DeliveryRow> = outcomes.iter().map(|o| o.ledger_row(now, cx.run_id)).collect();
    ledger.record_deliveries(&rows)?;
    let mut known = ledger.known_deliveries()?;
    known.sort_by(|a, b| (&a.file_name, &a.delivery_id).cmp(&(&b.file_name, &b.delivery_id)));
    let records: Vec<DeliveryRecord> = known.iter().map(DeliveryRecord::from).collect();
    let mut ids: Vec<&str> = records.iter().map(|r| r.delivery_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    let metadata = lake::file_metadata(cx.config, cx.inputs_hash, &ids);
    let deliveries_file = lake::publish_file(
        lake_dir,
        cx.staging,
        "deliveries.parquet",
        &DeliveryRecord::record_batch(&records)?,
        lake::writer_properties(&metadata)?,
    )?;
    lake::publish_file(
        lake_dir,
        cx.staging,
        "weighting.parquet",
        &WeightingRecord::record_batch(weighting_records)?,
        lake::writer_properties(&metadata)?,
    )?;
    let response = report::response(outcomes);
    lake::publish_bytes(lake_dir, cx.staging, "response.csv", &report::response_csv(&response)?)?;
    Ok((records, deliveries_file, response))
}

/// Renders every delivery's report (JSON and HTML) in parallel.
pub fn render_delivery_reports(outcomes: &[DeliveryOutcome], cx: &PublishContext) -> Result<Vec<(String, Vec<u8>)>> {
    let reports = outcomes
        .par_iter()
        .map(|o| {
            let shares = o
                .summary
                .as_ref()
                .and_then(|b| weight::age_band_shares(&cx.opts.population, &b.municipalities.first()?.code, b.year));
            let r = report::delivery_report(cx.run_id, o, &cx.config.codebook, shares);
            let base = format!("reports/deliveries/{}", o.delivery.id);
            Ok([
                (format!("{base}.json"), serde_json::to_string_pretty(&r)?.into_bytes()),
                (format!("{base}.html"), report::html::delivery(&r).into_bytes()),
            ])
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(reports.into_iter().flatten().collect())
}

/// The delivery reports to write: those whose content differs from the published report, the
/// run id aside. `reports` is [`render_delivery_reports`]'s list (each delivery's JSON, then its
/// HTML). A report names the run that wrote it; one that would change only in that id is left
/// as it is, so a nightly run that adds one delivery writes its two reports, not all 1,200
/// (rewriting and renaming them all was a tenth of such a run's time). A report's run id is
/// therefore the run that last changed it (`docs/decisions.md`).
pub fn changed_reports(lake_dir: &Path, run_id: &str, reports: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    let mut pairs: Vec<Vec<(String, Vec<u8>)>> = Vec::with_capacity(reports.len() / 2);
    let mut reports = reports.into_iter();
    while let Some(json) = reports.next() {
        pairs.push(std::iter::once(json).chain(reports.next()).collect());
    }
    pairs.into_par_iter().filter(|pair| !unchanged_but_run_id(lake_dir, run_id, pair)).flatten().collect()
}

/// Whether a delivery's published report (JSON and HTML) equals `pair` once this run's id is
/// replaced by the id the published JSON names. Anything unreadable counts as changed.
fn unchanged_but_run_id(lake_dir: &Path, run_id: &str, pair: &[(String, Vec<u8>)]) -> bool {
    let [(json_path, _), (html_path, _)] = pair else { return false };
    if !(json_path.ends_with(".json") && html_path.ends_with(".html")) {
        return false;
    }
    let Ok(old_json) = std::fs::read(lake_dir.join(json_path)) else { return false };
    let Some(old_id) = first_run_id(&old_json) else { return false };
    pair.iter().all(|(path, bytes)| {
        let old = if path == json_path {
            Ok(Cow::Borrowed(&old_json))
        } else {
            std::fs::read(lake_dir.join(path)).map(Cow::Owned)
        };
        match (old, std::str::from_utf8(bytes)) {
            (Ok(old), Ok(new)) => new.replace(run_id, old_id).as_bytes() == old.as_slice(),
            _ => false,
        }
    })
}

/// The value of the first `"run_id"` key of a report's JSON, found as text: a report names its
/// run near its start, and parsing 600 reports to skip all the rest was 2% of a nightly run's
/// instructions. A wrong find cannot hide a change: the caller then compares the whole report
/// with that id in place of this run's, which fails and rewrites the report. `None` when there
/// is no such key or its value is not a plain string.
fn first_run_id(json: &[u8]) -> Option<&str> {
    let key = memchr::memmem::find(json, b"\"run_id\"")?;
    let rest = json[key + 8..].trim_ascii_start().strip_prefix(b":")?.trim_ascii_start().strip_prefix(b"\"")?;
    let end = memchr::memchr(b'"', rest)?;
    let id = std::str::from_utf8(&rest[..end]).ok()?;
    (!id.is_empty() && !id.contains('\\')).then_some(id)
}

/// What the run report shows besides the run summary.
pub struct RunRecords<'a> {
    pub command: &'a str,
    pub records: &'a [DeliveryRecord],
    pub response: Vec<report::MunicipalityYear>,
    pub outcomes: &'a [DeliveryOutcome],
    pub duplicates: dedup::RuleTotals,
    pub weighting: Vec<report::WeightingSummary>,
    pub stage_seconds: BTreeMap<String, f64>,
}

/// The run report, as JSON and HTML.
pub fn run_report(summary: &RunSummary, r: RunRecords) -> Result<(String, String)> {
    let run_report = report::RunReport {
        schema_version: report::SCHEMA_VERSION,
        run_id: summary.run_id.clone(),
        command: r.command.into(),
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
        deliveries_by_status: r.records.iter().fold(BTreeMap::new(), |mut m, d| {
            *m.entry(d.status.clone()).or_insert(0) += 1;
            m
        }),
        deliveries: r
            .records
            .iter()
            .map(|d| report::DeliveryLine {
                delivery_id: d.delivery_id.clone(),
                file_name: d.file_name.clone(),
                status: d.status.clone(),
                reason: d.reason.clone(),
                findings_error: d.findings_error as u64,
                findings_warning: d.findings_warning as u64,
            })
            .collect(),
        respondents: r.response,
        findings_by_rule: report::findings_by_rule(r.outcomes),
        duplicates: r.duplicates,
        weighting: r.weighting,
        ignored_files: summary.ignored_files.clone(),
        stage_seconds: r.stage_seconds,
    };
    report::run_report_files(&run_report)
}

/// The lake files the manifest lists besides the partitions.
pub struct ManifestFiles {
    pub deliveries: PublishedFile,
    pub indicators: Vec<PublishedFile>,
}

/// Writes the indicator tables: `indicators/municipality.parquet` and `national.parquet`, and for
/// people and waarstaatjegemeente.nl `indicators/gemeenten.csv` and `indicators/wsjg.csv`.
pub fn indicator_tables(figures: &[PublishedFigures], cx: &PublishContext) -> Result<Vec<PublishedFile>> {
    let lake_dir = &cx.opts.lake;
    let metadata = lake::file_metadata(cx.config, cx.inputs_hash, &[]);
    // Each year is its own row groups, keyed by its build key: a year this run did not compute
    // is copied from the published file when that holds it, not encoded again.
    let parquet = |relative: &str, schema: Schema, pick: fn(&YearFigures) -> &RecordBatch| -> Result<PublishedFile> {
        let parts: Vec<lake::KeyedPart> = (figures.iter())
            .map(|f| lake::KeyedPart { key: &f.build_key, rows: pick(&f.figures), reusable: !f.computed })
            .collect();
        let props = lake::estimate_properties(&metadata, &schema)?;
        lake::publish_keyed(lake_dir, cx.staging, relative, Arc::new(schema), &parts, props)
    };
    // The municipality table is the largest file of a nightly run: it is encoded while the rest
    // is written.
    let (municipal, rest) = rayon::join(
        || parquet("indicators/municipality.parquet", MunicipalityFigure::schema(), |f| &f.municipality),
        || -> Result<Vec<PublishedFile>> {
            let mut files = vec![parquet("indicators/national.parquet", NationalFigure::schema(), |f| &f.national)?];
            let lines = export_lines(figures, cx)?;
            let rows = figures.iter().map(|f| f.figures.municipality.num_rows()).sum();
            // The two exports side by side: the larger one is the longest write of a nightly run.
            let csv = |i: usize, relative: &str, heading: &str| {
                let parts: Vec<&[u8]> =
                    std::iter::once(heading.as_bytes()).chain(lines.iter().map(|l| &l[i][..])).collect();
                lake::publish_parts(lake_dir, cx.staging, relative, &parts, rows)
            };
            let (dutch, wsjg) = rayon::join(
                || csv(0, "indicators/gemeenten.csv", export::DUTCH_CSV_HEADING),
                || csv(1, "indicators/wsjg.csv", export::WSJG_HEADING),
            );
            files.extend([dutch?, wsjg?]);
            Ok(files)
        },
    );
    Ok(std::iter::once(municipal?).chain(rest?).collect())
}

/// Each year's lines of `gemeenten.csv` and `wsjg.csv`, years in order: kept in the state
/// directory under the year's build key (the catalogue's labels are in it), so a run formats
/// only the years it rebuilt; formatting every year's was a quarter of a second of each run.
fn export_lines(figures: &[PublishedFigures], cx: &PublishContext) -> Result<Vec<[Vec<u8>; 2]>> {
    let state_dir = &cx.opts.state;
    figures
        .par_iter()
        .map(|year| {
            if !year.computed
                && let Ok(lines) = state::load_exports(state_dir, &year.build_key)
            {
                return Ok(lines);
            }
            let mine = MunicipalityFigure::from_record_batch(&year.figures.municipality)
                .context("a year's figures do not have the municipality table's columns")?;
            let lines = [export::dutch_csv_lines(&mine, &cx.config.catalogue), export::wsjg_lines(&mine)];
            if let Err(e) = state::store_exports(state_dir, &year.build_key, &lines) {
                tracing::warn!("cannot keep a year's export lines for the next run: {e:#}");
            }
            Ok(lines)
        })
        .collect()
}

/// Writes the findings pages (`reports/findings/`: the national page and one per municipality,
/// HTML and JSON) from the lake as just published, so the pages show its numbers exactly:
/// `figures` are those [`indicator_tables`] has just written (Parquet keeps them exactly), the
/// rest is read from the lake. The pages are made durable by one `syncfs`, as the delivery
/// reports are, not by an `fsync` each.
pub fn findings_pages(figures: &[PublishedFigures], cx: &PublishContext) -> Result<()> {
    let figures = report::findings::Figures {
        national: figures.iter().map(|f| f.figures.national.clone()).collect(),
        municipality: figures.iter().map(|f| f.figures.municipality.clone()).collect(),
    };
    let input =
        report::findings::load_with_figures(&cx.opts.lake, cx.config, &cx.opts.population, Some(cx.run_id), figures)?;
    lake::publish_all(&cx.opts.lake, cx.staging, &report::findings::all_pages(&input)?)
}

/// Writes the run report and then, last, `_manifest.json`: a reader that trusts the manifest
/// sees only complete files.
pub fn manifest(summary: &RunSummary, inputs_key: &str, files: &ManifestFiles, cx: &PublishContext) -> Result<()> {
    let partition = |year: u16, f: &PublishedFile| serde_json::json!({"year": year, "path": f.path, "rows": f.rows, "bytes": f.bytes, "blake3": f.blake3});
    let manifest = serde_json::json!({
        "run_id": summary.run_id,
        "product_version": PRODUCT_VERSION,
        "inputs": inputs_key,
        "partitions": summary.years.iter().map(|y| partition(y.year, &y.file)).collect::<Vec<_>>(),
        "deliveries": files.deliveries,
        "indicators": {
            "partitions": summary.years.iter().map(|y| partition(y.year, &y.indicators)).collect::<Vec<_>>(),
            "files": files.indicators,
        },
    });
    lake::kill_point("before-manifest");
    lake::publish_bytes(
        &cx.opts.lake,
        cx.staging,
        "_manifest.json",
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;
    lake::kill_point("after-manifest");
    Ok(())
}

/// Counts a status among the outcomes.
pub fn count(outcomes: &[DeliveryOutcome], status: Status) -> usize {
    outcomes.iter().filter(|o| o.status == status).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reports_run_id_is_found_as_text_or_not_at_all() {
        let pretty = b"{\n  \"schema_version\": 1,\n  \"run_id\": \"20261207T193621Z-7419\",\n  \"x\": 2\n}";
        assert_eq!(first_run_id(pretty), Some("20261207T193621Z-7419"));
        assert_eq!(first_run_id(br#"{"run_id":"r1","nested":{"run_id":"r2"}}"#), Some("r1"));
        for bad in [
            &br#"{"status":"ok"}"#[..],
            br#"{"run_id":null}"#,
            br#"{"run_id":""}"#,
            br#"{"run_id":"a\"b"}"#,
            br#"{"run_id" "x"}"#,
        ] {
            assert_eq!(first_run_id(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    fn report(run_id: &str, status: &str) -> [(String, Vec<u8>); 2] {
        [
            (
                "reports/deliveries/d1.json".into(),
                format!("{{\"run_id\": \"{run_id}\", \"status\": \"{status}\"}}").into(),
            ),
            ("reports/deliveries/d1.html".into(), format!("<p>{run_id}: {status}</p>").into()),
        ]
    }

    fn publish(lake: &Path, files: &[(String, Vec<u8>)]) {
        for (path, bytes) in files {
            std::fs::create_dir_all(lake.join(path).parent().unwrap()).unwrap();
            std::fs::write(lake.join(path), bytes).unwrap();
        }
    }

    #[test]
    fn a_report_that_differs_only_in_the_run_id_is_not_written_again() {
        let lake = tempfile::tempdir().unwrap();
        publish(lake.path(), &report("run-1", "accepted"));
        assert!(changed_reports(lake.path(), "run-2", report("run-2", "accepted").to_vec()).is_empty());
    }

    #[test]
    fn a_changed_missing_or_unreadable_report_is_written() {
        let lake = tempfile::tempdir().unwrap();
        assert_eq!(changed_reports(lake.path(), "run-2", report("run-2", "accepted").to_vec()).len(), 2);
        publish(lake.path(), &report("run-1", "accepted"));
        let changed = changed_reports(lake.path(), "run-2", report("run-2", "rejected").to_vec());
        assert_eq!(changed, report("run-2", "rejected").to_vec());
        // Only the HTML differs: both files are written, so the pair names one run.
        let mut html_changed = report("run-1", "accepted");
        html_changed[1].1 = b"<p>edited</p>".to_vec();
        publish(lake.path(), &html_changed);
        assert_eq!(changed_reports(lake.path(), "run-2", report("run-2", "accepted").to_vec()).len(), 2);
        publish(lake.path(), &[("reports/deliveries/d1.json".into(), b"not json".to_vec())]);
        assert_eq!(changed_reports(lake.path(), "run-2", report("run-2", "accepted").to_vec()).len(), 2);
    }
}
