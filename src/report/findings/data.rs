//! What the findings pages read: the published lake's indicator tables, `response.csv` and
//! `deliveries.parquet`, the catalogue's labels, the codebook's comparability of each source
//! column and each municipality's inhabitants from the population tables. A run that has just
//! written the indicator tables passes their figures in instead of reading them back
//! ([`load_with_figures`]): Parquet keeps every `f64` and string exactly, so they are the
//! lake's numbers, and reading 280,000 figures back took a tenth of a second of every run.
//!
//! What it must NOT do: change a number it reads (the pages show the lake's `f64`s) or write.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use arrow_array::{BooleanArray, RecordBatch, StringArray};

use crate::codebook::Comparability;
use crate::config::Config;
use crate::indicators::figures::{MunicipalityFigure, NationalFigure};
use crate::lake::{self, DeliveryRecord};
use crate::population::PopulationTable;

/// One line of `response.csv`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Response {
    pub jaar: i16,
    pub gemeente_code: String,
    pub gemeente_naam: String,
    pub respondents: u64,
    pub complete: u64,
    pub publishable: bool,
}

/// Everything the pages show, read once.
pub struct FindingsInput {
    pub national: Vec<NationalFigure>,
    /// Indexes into `national` of each charted indicator's all-ages figures, in file order: a
    /// municipality page looks one up per year and indicator (a scan of the national table per
    /// lookup took a tenth of a second of every run).
    pub national_all_ages: BTreeMap<String, Vec<usize>>,
    /// Municipality figures of the charted indicators ([`super::charted`]) by indicator code,
    /// each in the file's order: a page looks up a few indicators among hundreds, for every
    /// municipality (a scan of the whole table per lookup made the pages of the benchmark corpus
    /// take seconds).
    pub municipality: BTreeMap<String, Vec<MunicipalityFigure>>,
    /// Every municipality with figures (of any indicator), in code order.
    pub codes: BTreeSet<String>,
    pub response: Vec<Response>,
    pub deliveries: Vec<DeliveryRecord>,
    /// Indicator code → Dutch label (catalogue).
    pub labels: BTreeMap<String, String>,
    /// Indicator code → whether its source column means the same in both questionnaire versions.
    pub comparable: BTreeMap<String, bool>,
    /// (municipality, year) → inhabitants in the population tables (nearest earlier year).
    pub inhabitants: BTreeMap<(String, i16), u64>,
    /// Survey years whose published deliveries mix the 2019 and 2022 questionnaires.
    pub mixed_years: BTreeSet<i16>,
    /// The run the lake comes from (footer and JSON).
    pub run_id: String,
}

impl FindingsInput {
    /// The municipalities with figures, in code order.
    pub fn municipality_codes(&self) -> Vec<String> {
        self.codes.iter().cloned().collect()
    }

    pub fn label(&self, code: &str) -> String {
        self.labels.get(code).cloned().unwrap_or_else(|| code.to_string())
    }

    /// A municipality's name from `response.csv`, else its code.
    pub fn name_of(&self, code: &str) -> String {
        self.response
            .iter()
            .find(|r| r.gemeente_code == code)
            .map(|r| r.gemeente_naam.clone())
            .unwrap_or_else(|| code.to_string())
    }
}

/// Reads the pages' inputs from a published lake; `run_id` is the run that is publishing it, or
/// `None` to take it from `_manifest.json`.
pub fn load(
    lake_dir: &Path,
    config: &Config,
    population: &PopulationTable,
    run_id: Option<&str>,
) -> Result<FindingsInput> {
    let figures = Figures {
        national: read_batches(&lake_dir.join("indicators/national.parquet"))?,
        municipality: read_batches(&lake_dir.join("indicators/municipality.parquet"))?,
    };
    load_with_figures(lake_dir, config, population, run_id, figures)
}

/// The indicator figures the pages show: the record batches of `indicators/national.parquet`
/// and `indicators/municipality.parquet`, in the files' order.
pub struct Figures {
    pub national: Vec<RecordBatch>,
    pub municipality: Vec<RecordBatch>,
}

/// As [`load`], with the indicator tables' figures given: exactly those the lake's files hold
/// (the run that has just written them).
pub fn load_with_figures(
    lake_dir: &Path,
    config: &Config,
    population: &PopulationTable,
    run_id: Option<&str>,
    figures: Figures,
) -> Result<FindingsInput> {
    let run_id = match run_id {
        Some(r) => r.to_string(),
        None => manifest_run_id(lake_dir)?,
    };
    let not_ours = "the indicator figures do not have the columns of this version; run again with --full";
    let mut municipality: BTreeMap<String, Vec<MunicipalityFigure>> = BTreeMap::new();
    let mut codes: BTreeSet<String> = BTreeSet::new();
    for batch in &figures.municipality {
        let (gemeente_code, indicator) = (strings(batch, "gemeente_code"), strings(batch, "indicator"));
        let (gemeente_code, indicator) = gemeente_code.zip(indicator).context(not_ours)?;
        codes.extend(gemeente_code.iter().flatten().map(str::to_string));
        // Only the charted indicators become records: a tenth of the rows.
        let charted: BooleanArray = indicator.iter().map(|i| Some(i.is_some_and(super::charted))).collect();
        let charted = arrow_select::filter::filter_record_batch(batch, &charted)?;
        for f in MunicipalityFigure::from_record_batch(&charted).context(not_ours)? {
            municipality.entry(f.indicator.clone()).or_default().push(f);
        }
    }
    let mut national = Vec::new();
    for batch in &figures.national {
        national.extend(NationalFigure::from_record_batch(batch).context(not_ours)?);
    }
    let mut national_all_ages: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, f) in national.iter().enumerate().filter(|(_, f)| f.lft_cy.is_none() && super::charted(&f.indicator)) {
        national_all_ages.entry(f.indicator.clone()).or_default().push(i);
    }
    let deliveries = read_table(&lake_dir.join("deliveries.parquet"), DeliveryRecord::from_record_batch)?;
    let response = read_response(&lake_dir.join("response.csv"))?;
    let mut labels = BTreeMap::new();
    let mut comparable = BTreeMap::new();
    for i in &config.catalogue.indicators {
        labels.insert(i.code.clone(), i.label.clone());
        let column = config.codebook.columns.iter().find(|c| c.name == i.source || Some(&c.name) == i.set.as_ref());
        // A respondent-level indicator (no lake column) is built from 2022 codes in both versions.
        let same = column.is_none_or(|c| c.comparability == Comparability::Both);
        comparable.insert(i.code.clone(), same);
    }
    let mut inhabitants = BTreeMap::new();
    for r in &response {
        let year = u16::try_from(r.jaar).unwrap_or_default();
        if let Some(p) = population.region(&r.gemeente_code, year)? {
            inhabitants.insert((r.gemeente_code.clone(), r.jaar), p.total());
        }
    }
    let mixed_years = mixed_years(&deliveries);
    Ok(FindingsInput {
        national,
        national_all_ages,
        municipality,
        codes,
        response,
        deliveries,
        labels,
        comparable,
        inhabitants,
        mixed_years,
        run_id,
    })
}

fn read_table<T>(path: &Path, from: impl Fn(&arrow_array::RecordBatch) -> Option<Vec<T>>) -> Result<Vec<T>> {
    let mut rows = Vec::new();
    for batch in read_batches(path)? {
        let part = from(&batch).with_context(|| {
            format!("{} does not have the columns of this version; run again with --full", path.display())
        })?;
        rows.extend(part);
    }
    Ok(rows)
}

/// The record batches of a lake file; a missing file says to run the nightly job first.
fn read_batches(path: &Path) -> Result<Vec<RecordBatch>> {
    if !path.is_file() {
        return Err(anyhow!("{} does not exist: run the nightly job first", path.display()));
    }
    lake::read_parquet(path)
}

/// A string column of a figures batch by name.
fn strings<'a>(batch: &'a RecordBatch, name: &str) -> Option<&'a StringArray> {
    batch.column_by_name(name)?.as_any().downcast_ref::<StringArray>()
}

fn manifest_run_id(lake_dir: &Path) -> Result<String> {
    let path = lake_dir.join("_manifest.json");
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let manifest: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", path.display()))?;
    Ok(manifest.get("run_id").and_then(|v| v.as_str()).unwrap_or_default().to_string())
}

fn read_response(path: &Path) -> Result<Vec<Response>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(bytes.as_slice());
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let r = record.with_context(|| format!("{}: line {}", path.display(), i + 2))?;
        let field = |k: usize| r.get(k).unwrap_or_default();
        let bad = || anyhow!("{}: line {} is not a response line", path.display(), i + 2);
        out.push(Response {
            jaar: field(0).parse().map_err(|_| bad())?,
            gemeente_code: field(1).to_string(),
            gemeente_naam: field(2).to_string(),
            respondents: field(3).parse().map_err(|_| bad())?,
            complete: field(4).parse().map_err(|_| bad())?,
            publishable: field(5) == "true",
        });
    }
    Ok(out)
}

/// Years whose published deliveries came in more than one questionnaire version.
fn mixed_years(deliveries: &[DeliveryRecord]) -> BTreeSet<i16> {
    let mut versions: BTreeMap<i16, BTreeSet<&str>> = BTreeMap::new();
    for d in deliveries.iter().filter(|d| d.status == "published") {
        if let (Some(year), Some(v)) = (d.jr, d.vragenlijst.as_deref()) {
            versions.entry(year).or_default().insert(v);
        }
    }
    versions.into_iter().filter(|(_, v)| v.len() > 1).map(|(y, _)| y).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(year: i16, version: &str, status: &str) -> DeliveryRecord {
        DeliveryRecord {
            delivery_id: "d".into(),
            file_name: "f.csv".into(),
            file_bytes: 1,
            file_blake3: "b".into(),
            first_seen: crate::lake::UnixSeconds(0),
            format: "csv".into(),
            gemeente_code: Some("GM0363".into()),
            jr: Some(year),
            kw: None,
            org: None,
            vragenlijst: Some(version.into()),
            status: status.into(),
            reason: None,
            rows_read: 1,
            rows_published: 1,
            rows_dropped_duplicate: 0,
            findings_error: 0,
            findings_warning: 0,
        }
    }

    #[test]
    fn a_year_mixes_versions_only_among_published_deliveries() {
        let d = [
            delivery(2022, "2019", "published"),
            delivery(2022, "2022", "published"),
            delivery(2021, "2019", "published"),
            delivery(2021, "2022", "rejected"),
        ];
        assert_eq!(mixed_years(&d), BTreeSet::from([2022]));
    }
}
