//! The cache of harmonised deliveries: reading and harmonising a file is the expensive part of
//! a run, so its result is kept under the state directory and reused while the delivery, the
//! config, the pipeline file and the product version are all unchanged (they make the key).
//!
//! An entry is one file, `<key>.entry` (one file created per delivery, not two: file creation
//! was a fifth of a cold run's CPU, issue 17): a fixed header ([`MAGIC`], the length and BLAKE3
//! of the sidecar), the sidecar as JSON (everything the reports need, plus the size and BLAKE3
//! of the Arrow part), then the [`Batch`] as one Arrow IPC record batch (every column, nulls
//! exact, floats bit for bit). The two hashes name the exact bytes of both parts, so a torn,
//! truncated or edited entry is a miss.
//!
//! What it must NOT do: let a damaged entry fail a run. Whatever is wrong with an entry
//! (truncated, edited, another format, other codebook columns), [`load`] answers
//! [`Lookup::Corrupt`] and the caller reads the delivery again. It never holds anything the
//! lake would not hold: the batch is already harmonised, with personal-data columns dropped.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{Cursor, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use arrow_array::builder::{BooleanBuilder, Float64Builder, Int16Builder, Int32Builder, StringBuilder, UInt32Builder};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int16Array, Int32Array, RecordBatch, StringArray, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

use crate::codebook::{Codebook, Questionnaire};
use crate::finding::{Finding, RULES, Severity};
use crate::harmonise::{Answers, Batch, BatchSummary, ColumnMapping, Harmonised, NO_ANSWER};
use crate::lake;
use crate::municipality::Municipality;

/// The cache's directory inside the state directory.
pub const CACHE_DIR: &str = "cache";

/// Version of the on-disk entry format. Part of the key, so entries of another format are
/// simply never looked up (and [`prune`] removes them).
const FORMAT: u32 = 3;

/// The first bytes of an entry file; the format version is in the key and in the sidecar.
const MAGIC: &[u8; 8] = b"BPCACHE\0";
/// Header: [`MAGIC`], the sidecar's length (u64, little-endian), the sidecar's BLAKE3.
const HEADER_LEN: usize = 8 + 8 + 32;
/// The entry file's extension.
const ENTRY_EXT: &str = "entry";

/// The key of one delivery's entry: BLAKE3 over the delivery id, the config hash, the
/// pipeline file's hash, the product version and the entry format, 32 hex characters.
///
/// The product version stands for the harmonising code: a release that changes how a file is
/// harmonised must carry a new version, or its runs would reuse the old results.
pub fn cache_key(delivery_id: &str, config_hash: &str, pipeline_hash: &str, product_version: &str) -> String {
    let mut h = blake3::Hasher::new();
    // Length-prefixed, so fields cannot run together into the same bytes.
    for field in ["burgerpeiling.cache", &FORMAT.to_string(), delivery_id, config_hash, pipeline_hash, product_version]
    {
        h.update(&(field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    h.finalize().to_hex()[..32].to_string()
}

/// A delivery's harmonised result, as `pipeline::process` produced it.
#[derive(Clone, Debug)]
pub struct Cached {
    /// Batch, column mapping, version, sheet, routing counts and harmonise's own findings. The
    /// batch is `None` when only the summary was loaded ([`load_summary`]).
    pub harmonised: Harmonised,
    /// Of the whole batch; `None` when harmonising kept no batch.
    pub summary: Option<BatchSummary>,
    /// Every finding of the delivery as `process` returned it (reading's and harmonising's),
    /// before any run-wide findings are added.
    pub findings: Vec<Finding>,
    pub rows_read: usize,
}

/// What [`load`] found.
#[derive(Debug)]
pub enum Lookup {
    Hit(Box<Cached>),
    /// No entry under this key.
    Miss,
    /// An entry that cannot be used, and why; treat it as a miss (and log the reason).
    Corrupt(String),
}

impl Lookup {
    /// The entry, if usable.
    pub fn into_cached(self) -> Option<Cached> {
        match self {
            Lookup::Hit(c) => Some(*c),
            Lookup::Miss | Lookup::Corrupt(_) => None,
        }
    }
}

/// Stores one delivery's result under `key`, replacing any earlier entry. The file lands
/// whole or not at all (temp file, rename).
///
/// Nothing is synced to disk: an entry is only ever a shortcut, and [`load`] checks both parts
/// against the lengths and hashes the header and the sidecar name, so an entry that a power cut
/// left torn or empty is a miss, never wrong data. Syncing a file per delivery cost more than a
/// tenth of a cold run.
pub fn store(
    state_dir: &Path,
    key: &str,
    codebook: &Codebook,
    harmonised: &Harmonised,
    findings: &[Finding],
    rows_read: usize,
) -> Result<()> {
    check_key(key)?;
    let dir = state_dir.join(CACHE_DIR);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let arrow_bytes = match &harmonised.batch {
        Some(batch) => encode_batch(batch, codebook)?,
        None => Vec::new(),
    };
    let arrow = harmonised.batch.as_ref().map(|batch| ArrowRef {
        bytes: arrow_bytes.len() as u64,
        blake3: blake3::hash(&arrow_bytes).to_hex().to_string(),
        rows: batch.len() as u64,
    });
    let sidecar = Sidecar {
        format: FORMAT,
        key: key.to_string(),
        rows_read: rows_read as u64,
        arrow,
        summary: harmonised.batch.as_ref().map(|b| BatchSummary::of(b, codebook.age_column())),
        batch: harmonised.batch.as_ref().map(|b| BatchMeta {
            delivery_id: b.delivery_id.clone(),
            vragenlijst: b.vragenlijst.as_str().to_string(),
            municipalities: b.municipalities.iter().map(|m| (m.code.clone(), m.name.clone())).collect(),
            year: b.year,
        }),
        mapped: harmonised.mapping.mapped.clone(),
        dropped: harmonised.mapping.dropped.clone(),
        vragenlijst: harmonised.vragenlijst.map(|q| q.as_str().to_string()),
        sheet: harmonised.sheet.clone(),
        routing_blanked: harmonised.routing_blanked.iter().map(|(r, n)| (r.clone(), *n as u64)).collect(),
        harmonise_findings: harmonised.findings.iter().map(StoredFinding::from).collect(),
        findings: findings.iter().map(StoredFinding::from).collect(),
    };
    let json = serde_json::to_vec(&sidecar)?;
    let mut entry = Vec::with_capacity(HEADER_LEN + json.len() + arrow_bytes.len());
    entry.extend_from_slice(MAGIC);
    entry.extend_from_slice(&(json.len() as u64).to_le_bytes());
    entry.extend_from_slice(blake3::hash(&json).as_bytes());
    entry.extend_from_slice(&json);
    entry.extend_from_slice(&arrow_bytes);
    write_atomically(&dir, &entry_name(key), &entry)
}

fn entry_name(key: &str) -> String {
    format!("{key}.{ENTRY_EXT}")
}

/// Looks up the entry under `key`. Never fails: a missing entry is [`Lookup::Miss`], anything
/// wrong with one is [`Lookup::Corrupt`].
pub fn load(state_dir: &Path, key: &str, codebook: &Codebook) -> Lookup {
    lookup(state_dir, key, Some(codebook))
}

/// As [`load`], without decoding the rows: the entry's `harmonised.batch` is `None` and its
/// [`Cached::summary`] stands for the batch. Only the header and the sidecar are read; the
/// Arrow part is only checked for its length, and [`load`] checks the rest when the rows are
/// needed.
pub fn load_summary(state_dir: &Path, key: &str) -> Lookup {
    lookup(state_dir, key, None)
}

/// Decodes the rows with `codebook`, or only the summary without one.
fn lookup(state_dir: &Path, key: &str, codebook: Option<&Codebook>) -> Lookup {
    if check_key(key).is_err() {
        return Lookup::Corrupt(format!("{key:?} is not a cache key"));
    }
    let path = state_dir.join(CACHE_DIR).join(entry_name(key));
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Lookup::Miss,
        Err(e) => return Lookup::Corrupt(format!("cannot open {}: {e}", entry_name(key))),
    };
    // The decoders are not expected to panic on any input, but a run must survive even that.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_entry(file, key, codebook)));
    match decoded {
        Ok(Ok(cached)) => Lookup::Hit(Box::new(cached)),
        Ok(Err(e)) => Lookup::Corrupt(format!("cache entry {key}: {e:#}")),
        Err(_) => Lookup::Corrupt(format!("cache entry {key}: decoding it panicked")),
    }
}

/// Removes every entry whose key is not in `keep`, and temp files that a killed run left.
/// Returns the keys removed. Run it under the state lock, after the run has stored its
/// entries: it cannot tell another process's temp file from a dead one's.
pub fn prune(state_dir: &Path, keep: &BTreeSet<String>) -> Result<Vec<String>> {
    let dir = state_dir.join(CACHE_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    let mut removed = BTreeSet::new();
    for entry in entries {
        let path = entry.with_context(|| format!("cannot list {}", dir.display()))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.ends_with(".tmp") {
            remove_if_present(&path)?;
            continue;
        }
        // `.arrow` and `.json`: the two files of a format-2 entry, whose keys are never current.
        let Some(key) = [".entry", ".arrow", ".json"].iter().find_map(|suffix| name.strip_suffix(suffix)) else {
            continue;
        };
        if !keep.contains(key) {
            remove_if_present(&path)?;
            removed.insert(key.to_string());
        }
    }
    Ok(removed.into_iter().collect())
}

/// Keys are file names: only the hex characters [`cache_key`] makes are accepted.
pub(super) fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("{key:?} is not a cache key");
    }
    Ok(())
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sidecar {
    format: u32,
    key: String,
    rows_read: u64,
    /// `None` when harmonising kept no batch (a rejected delivery).
    arrow: Option<ArrowRef>,
    summary: Option<BatchSummary>,
    batch: Option<BatchMeta>,
    mapped: Vec<(String, String)>,
    dropped: Vec<(String, String)>,
    vragenlijst: Option<String>,
    sheet: Option<String>,
    routing_blanked: Vec<(String, u64)>,
    harmonise_findings: Vec<StoredFinding>,
    findings: Vec<StoredFinding>,
}

/// Which Arrow bytes belong to the sidecar: the rest of the entry file after it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArrowRef {
    bytes: u64,
    blake3: String,
    rows: u64,
}

/// The batch's fields that are one value for the whole delivery.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchMeta {
    delivery_id: String,
    vragenlijst: String,
    municipalities: Vec<(String, String)>,
    year: u16,
}

/// A [`Finding`] with an owned rule id: `Finding::rule` is `&'static str`, which cannot be
/// deserialised, so it is mapped back to the id in [`RULES`] on load (an id the program does
/// not know makes the entry unusable). This leaves `Finding` itself untouched.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredFinding {
    severity: String,
    rule: String,
    delivery_id: String,
    sheet: Option<String>,
    column: Option<String>,
    rows: Vec<u32>,
    count: u64,
    message: String,
}

impl From<&Finding> for StoredFinding {
    fn from(f: &Finding) -> StoredFinding {
        StoredFinding {
            severity: f.severity.as_str().to_string(),
            rule: f.rule.to_string(),
            delivery_id: f.delivery_id.clone(),
            sheet: f.sheet.clone(),
            column: f.column.clone(),
            rows: f.rows.clone(),
            count: f.count,
            message: f.message.clone(),
        }
    }
}

impl StoredFinding {
    fn into_finding(self) -> Result<Finding> {
        let Some(rule) = RULES.iter().find(|r| r.id == self.rule) else { bail!("unknown rule {:?}", self.rule) };
        let severity = match self.severity.as_str() {
            "info" => Severity::Info,
            "warning" => Severity::Warning,
            "error" => Severity::Error,
            other => bail!("unknown severity {other:?}"),
        };
        Ok(Finding {
            severity,
            rule: rule.id,
            delivery_id: self.delivery_id,
            sheet: self.sheet,
            column: self.column,
            rows: self.rows,
            count: self.count,
            message: self.message,
        })
    }
}

fn questionnaire(s: &str) -> Result<Questionnaire> {
    match s {
        "2019" => Ok(Questionnaire::V2019),
        "2022" => Ok(Questionnaire::V2022),
        other => bail!("unknown questionnaire version {other:?}"),
    }
}

/// The per-row columns of the Arrow part, before the answer columns. Answer columns follow
/// under their codebook names, Int16.
/// The batch columns a cache file holds besides the answers, in file order after the
/// municipality index. Their types and nullability are the lake's (`lake::respondent_fields`):
/// one definition of the respondent schema.
const CACHED_COLUMNS: [&str; 10] =
    ["source_row", "respondent", "gemnr", "jr", "kw", "veldwerkmodus", "org", "wijknr", "weging", "complete"];

/// The cache file's schema: `gemeente` (the row's index into the entry's municipalities, which
/// only the cache needs), [`CACHED_COLUMNS`], then the questionnaire columns; every field as the
/// lake's respondent schema defines it, without the lake's labels.
fn schema(codebook: &Codebook) -> Schema {
    let lake = lake::respondent_fields(codebook);
    let by_name: HashMap<&str, &Field> = lake.iter().map(|f| (f.name().as_str(), f)).collect();
    let bare = |name: &str| -> Field {
        match by_name.get(name) {
            Some(f) => (*f).clone(),
            // Both lists are the code's own: a missing name is a programming error that every
            // cache test would catch at once.
            None => unreachable!("{name} is a column of the lake's respondent schema"),
        }
    };
    let mut fields = vec![Field::new("gemeente", DataType::UInt32, false)];
    fields.extend(CACHED_COLUMNS.iter().map(|n| bare(n)));
    fields.extend(codebook.columns.iter().map(|c| bare(&c.name)));
    Schema::new(fields)
}

fn encode_batch(b: &Batch, codebook: &Codebook) -> Result<Vec<u8>> {
    if b.answers.len() != codebook.columns.len() {
        bail!("the batch has {} answer columns, the codebook {}", b.answers.len(), codebook.columns.len());
    }
    let n = b.len();
    let int16 = |v: &[Option<i16>]| -> ArrayRef {
        let mut a = Int16Builder::with_capacity(v.len());
        a.extend(v.iter().copied());
        Arc::new(a.finish())
    };
    let strings = |v: &[Option<String>]| -> ArrayRef {
        let mut a = StringBuilder::new();
        for s in v {
            a.append_option(s.as_deref());
        }
        Arc::new(a.finish())
    };
    let mut gemeente = UInt32Builder::with_capacity(n);
    for &g in &b.gemeente {
        gemeente.append_value(u32::try_from(g).context("municipality index out of range")?);
    }
    let mut source_row = Int32Builder::with_capacity(n);
    source_row.append_slice(&b.source_row);
    let mut weging = Float64Builder::with_capacity(n);
    weging.extend(b.weging.iter().copied());
    let mut complete = BooleanBuilder::with_capacity(n);
    complete.append_slice(&b.complete);
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(gemeente.finish()),
        Arc::new(source_row.finish()),
        strings(&b.respondent),
        int16(&b.gemnr),
        int16(&b.jr),
        int16(&b.kw),
        int16(&b.veldwerkmodus),
        int16(&b.org),
        strings(&b.wijknr),
        Arc::new(weging.finish()),
        Arc::new(complete.finish()),
    ];
    // The stored codes straight into the array: collecting `Option`s set one validity bit at a
    // time and was half of storing a delivery.
    columns.extend(b.answers.iter().map(|c| Arc::new(lake::stored_codes_array(c.as_stored().to_vec())) as ArrayRef));
    // try_new checks every column has the same length as the others.
    let batch =
        RecordBatch::try_new(Arc::new(schema(codebook)), columns).context("the batch's columns differ in length")?;
    let mut writer = arrow_ipc::writer::FileWriter::try_new(Vec::new(), &batch.schema())?;
    writer.write(&batch)?;
    writer.finish()?;
    Ok(writer.into_inner()?)
}

/// Reads the header and the sidecar of an entry file, checks them, and with a `codebook` also
/// reads, checks and decodes the Arrow part.
fn decode_entry(mut file: File, key: &str, codebook: Option<&Codebook>) -> Result<Cached> {
    let file_len = file.metadata().context("cannot read the entry's size")?.len();
    let mut header = [0u8; HEADER_LEN];
    file.read_exact(&mut header).context("the entry is shorter than its header")?;
    if &header[..8] != MAGIC {
        bail!("the entry does not start with the cache's magic bytes");
    }
    let json_len = u64::from_le_bytes(header[8..16].try_into().context("header")?);
    if json_len > file_len.saturating_sub(HEADER_LEN as u64) {
        bail!("the entry is shorter than the sidecar its header names");
    }
    let mut json = vec![0u8; usize::try_from(json_len).context("sidecar length out of range")?];
    file.read_exact(&mut json).context("cannot read the sidecar")?;
    if blake3::hash(&json).as_bytes() != &header[16..] {
        bail!("the sidecar is not the one the header was written with");
    }
    let s: Sidecar = serde_json::from_slice(&json).context("the sidecar is not a cache sidecar")?;
    if s.format != FORMAT || s.key != key {
        bail!("format {} / key {} is not this entry's", s.format, s.key);
    }
    if s.arrow.is_some() != s.summary.is_some() {
        bail!("the sidecar names a batch without its summary");
    }
    let arrow_len = file_len - HEADER_LEN as u64 - json_len;
    if arrow_len != s.arrow.as_ref().map_or(0, |a| a.bytes) {
        bail!("the Arrow part is not the one the sidecar was written with");
    }
    let batch = match (s.arrow, s.batch, codebook) {
        (Some(_), Some(_), None) => None,
        (Some(arrow), Some(meta), Some(codebook)) => {
            let mut bytes = Vec::with_capacity(usize::try_from(arrow_len).context("Arrow length out of range")?);
            file.read_to_end(&mut bytes).context("cannot read the Arrow part")?;
            if bytes.len() as u64 != arrow.bytes || blake3::hash(&bytes).to_hex().as_str() != arrow.blake3 {
                bail!("the Arrow part is not the one the sidecar was written with");
            }
            let batch = decode_batch(&bytes, meta, codebook)?;
            if batch.len() as u64 != arrow.rows {
                bail!("the Arrow part has {} rows, the sidecar says {}", batch.len(), arrow.rows);
            }
            Some(batch)
        }
        (None, None, _) => None,
        _ => bail!("the sidecar names a batch half"),
    };
    let findings = |v: Vec<StoredFinding>| v.into_iter().map(StoredFinding::into_finding).collect::<Result<Vec<_>>>();
    let harmonised = Harmonised {
        batch,
        mapping: ColumnMapping { mapped: s.mapped, dropped: s.dropped },
        vragenlijst: s.vragenlijst.as_deref().map(questionnaire).transpose()?,
        sheet: s.sheet,
        routing_blanked: s
            .routing_blanked
            .into_iter()
            .map(|(r, n)| Ok((r, usize::try_from(n).context("routing count out of range")?)))
            .collect::<Result<_>>()?,
        findings: findings(s.harmonise_findings)?,
    };
    Ok(Cached {
        harmonised,
        summary: s.summary,
        findings: findings(s.findings)?,
        rows_read: usize::try_from(s.rows_read).context("rows_read out of range")?,
    })
}

/// An answer column from its Arrow array: the values copied as they are, then each null row set
/// to [`NO_ANSWER`]. Collecting the array's `Option`s row by row was half of loading a year's
/// batches from the cache.
fn answers_of_array(array: &Int16Array) -> Answers {
    let mut codes = array.values().to_vec();
    if let Some(nulls) = array.nulls() {
        for row in (!nulls.inner()).set_indices() {
            codes[row] = NO_ANSWER;
        }
    }
    Answers::from_stored(codes)
}

fn decode_batch(bytes: &[u8], meta: BatchMeta, codebook: &Codebook) -> Result<Batch> {
    let mut reader = arrow_ipc::reader::FileReader::try_new(Cursor::new(bytes), None)?;
    let expected = schema(codebook);
    if reader.schema().fields() != expected.fields() {
        bail!("the Arrow part's columns are not those of this codebook");
    }
    let Some(batch) = reader.next() else { bail!("the Arrow part holds no record batch") };
    let batch = batch?;
    if reader.next().is_some() {
        bail!("the Arrow part holds more than one record batch");
    }
    let column = |i: usize| batch.column(i).as_any();
    let int16 = |i: usize| -> Result<Vec<Option<i16>>> {
        let a = column(i).downcast_ref::<Int16Array>().context("not an Int16 column")?;
        Ok(a.iter().collect())
    };
    let strings = |i: usize| -> Result<Vec<Option<String>>> {
        let a = column(i).downcast_ref::<StringArray>().context("not a Utf8 column")?;
        Ok(a.iter().map(|s| s.map(str::to_string)).collect())
    };
    // Non-nullable columns: a null there is a damaged file, not a value.
    let no_nulls = |i: usize| -> Result<()> {
        if batch.column(i).null_count() > 0 {
            bail!("column {} has nulls", expected.field(i).name());
        }
        Ok(())
    };
    for i in [0, 1, 10] {
        no_nulls(i)?;
    }
    let municipalities: Vec<Municipality> =
        meta.municipalities.into_iter().map(|(code, name)| Municipality { code, name }).collect();
    let gemeente_array = column(0).downcast_ref::<UInt32Array>().context("gemeente is not UInt32")?;
    let gemeente = gemeente_array
        .values()
        .iter()
        .map(|&g| {
            let g = g as usize;
            // `Batch::municipality` indexes with this: an index out of range would panic later.
            if g < municipalities.len() { Ok(g) } else { bail!("municipality index {g} out of range") }
        })
        .collect::<Result<Vec<_>>>()?;
    let source_row = column(1).downcast_ref::<Int32Array>().context("source_row is not Int32")?.values().to_vec();
    let weging = column(9).downcast_ref::<Float64Array>().context("weging is not Float64")?.iter().collect();
    let complete_array = column(10).downcast_ref::<BooleanArray>().context("complete is not Boolean")?;
    let complete = complete_array.values().iter().collect();
    let first_answer = 1 + CACHED_COLUMNS.len();
    let answers_of = |i: usize| -> Result<Answers> {
        Ok(answers_of_array(column(i).downcast_ref::<Int16Array>().context("not an Int16 column")?))
    };
    let answers = (first_answer..batch.num_columns()).map(answers_of).collect::<Result<Vec<_>>>()?;
    Ok(Batch {
        delivery_id: meta.delivery_id,
        vragenlijst: questionnaire(&meta.vragenlijst)?,
        municipalities,
        gemeente,
        year: meta.year,
        source_row,
        respondent: strings(2)?,
        gemnr: int16(3)?,
        jr: int16(4)?,
        kw: int16(5)?,
        veldwerkmodus: int16(6)?,
        org: int16(7)?,
        wijknr: strings(8)?,
        weging,
        answers,
        complete,
    })
}

/// Distinguishes the temp files of parallel `store` calls in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `dir/name` by writing a temp file beside it and renaming it over the target, so a
/// reader (or a run after a kill) sees the old file or the new one, never half.
pub(super) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp: PathBuf = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let written = File::create(&tmp).and_then(|mut f| f.write_all(bytes));
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, dir.join(name))) {
        // Best effort; `prune` removes what is left if this fails too.
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", dir.join(name).display()));
    }
    Ok(())
}

pub(super) fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The column is the one collecting the array's `Option`s gives, also for an array that
        /// is a slice of another (its nulls then start inside a byte).
        #[test]
        fn an_answer_column_keeps_every_code_and_every_null(
            codes in proptest::collection::vec(proptest::option::of(-9i16..100), 0..200),
            skip in 0usize..9,
        ) {
            let array = Int16Array::from(codes.clone());
            let skip = skip.min(codes.len());
            let sliced = array.slice(skip, codes.len() - skip);
            let expected: Answers = sliced.iter().collect();
            proptest::prop_assert_eq!(answers_of_array(&sliced), expected);
            proptest::prop_assert_eq!(answers_of_array(&array), codes.into_iter().collect::<Answers>());
        }
    }
}
