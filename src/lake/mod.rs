//! The lake: Parquet files on disk, and the only code that writes them.
//!
//! Knows the Arrow schema of each table (built from the codebook, with each variable's label
//! and value labels as field metadata), the Parquet settings (zstd, dictionary, page
//! statistics, row groups of 128k rows; the figures files keep each survey year in row groups
//! of its own, so `row_groups` can copy a year's instead of encoding it again) and how to
//! replace a file or a year partition so that a reader never sees half of one: everything is
//! written beside its final place, synced, then renamed in; `recover` puts back what a publish
//! killed half-way left. Makes no decisions about data.

pub mod io_error;
mod recover;
mod row_groups;
pub(crate) mod table;

pub use table::UnixSeconds;
use table::lake_table;

pub use recover::clean_leftovers;
pub use row_groups::{ColumnEncoding, KeyedPart};

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int16Array, Int32Array, RecordBatch, StringArray};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use serde::Serialize;

use crate::assemble::RowRef;
use crate::codebook::Codebook;
use crate::config::{Config, PRODUCT_VERSION};
use crate::harmonise::{Answers, Batch, NO_ANSWER};

/// Key-value metadata of every lake file: product and codebook version, the hashes of config
/// and pipeline inputs (`inputs_hash`: pipeline file and population tables), the delivery ids
/// and a build id from all of these. Nothing here changes between two runs on the same inputs:
/// no run id, no clock.
pub fn file_metadata(config: &Config, inputs_hash: &str, delivery_ids: &[&str]) -> Vec<(String, String)> {
    let ids = delivery_ids.join(",");
    let build_id = blake3::hash(format!("{PRODUCT_VERSION}\n{}\n{inputs_hash}\n{ids}", config.hash).as_bytes())
        .to_hex()
        .to_string();
    vec![
        ("burgerpeiling.product_version".into(), PRODUCT_VERSION.into()),
        ("burgerpeiling.codebook_version".into(), config.codebook.version_label()),
        ("burgerpeiling.config_hash".into(), config.hash.clone()),
        ("burgerpeiling.pipeline_hash".into(), inputs_hash.into()),
        ("burgerpeiling.delivery_ids".into(), ids),
        ("burgerpeiling.build_id".into(), build_id[..32].to_string()),
    ]
}

/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 128 * 1024;
/// Directory for files being written, inside the lake so that renames stay on one file system.
const STAGING_DIR: &str = ".staging";

/// The identifying columns of `respondents`, in contract order, before the questionnaire.
const ID_COLUMNS: [(&str, DataType, bool); 14] = [
    ("respondent_key", DataType::Utf8, false),
    ("delivery_id", DataType::Utf8, false),
    ("source_row", DataType::Int32, false),
    ("gemeente_code", DataType::Utf8, false),
    ("gemeente_naam", DataType::Utf8, false),
    ("gemnr", DataType::Int16, true),
    ("jr", DataType::Int16, true),
    ("kw", DataType::Int16, true),
    ("veldwerkmodus", DataType::Int16, true),
    ("org", DataType::Int16, true),
    ("respondent", DataType::Utf8, true),
    ("wijknr", DataType::Utf8, true),
    ("vragenlijst", DataType::Utf8, false),
    ("complete", DataType::Boolean, false),
];

/// The Arrow schema of `respondents`, derived from the codebook.
pub fn respondent_schema(codebook: &Codebook) -> SchemaRef {
    let mut labels = field_labels(codebook);
    let fields: Vec<Field> = respondent_fields(codebook)
        .into_iter()
        .map(|f| match labels.remove(f.name()) {
            Some(metadata) => f.with_metadata(metadata),
            None => f,
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// The respondent schema's fields (names, types, nullability, order) without the labels the
/// lake file carries as field metadata: the delivery cache's view of the same schema. Cheap
/// enough to build for every delivery, which the labelled schema is not (it formats every
/// value label of the codebook).
pub fn respondent_fields(codebook: &Codebook) -> Vec<Field> {
    let mut fields: Vec<Field> = ID_COLUMNS.iter().map(|(n, t, null)| Field::new(*n, t.clone(), *null)).collect();
    fields.extend(codebook.columns.iter().map(|c| Field::new(&c.name, DataType::Int16, true)));
    fields.push(Field::new("weging", DataType::Float64, true));
    fields.push(Field::new("weight", DataType::Float64, true));
    fields.push(Field::new("weight_national", DataType::Float64, true));
    fields.push(Field::new("weight_cell", DataType::Utf8, true));
    fields
}

/// Each labelled field's metadata: the codebook's label, value labels and comparability for the
/// questionnaire columns, a label for `weging` and the product's weights.
fn field_labels(codebook: &Codebook) -> HashMap<String, HashMap<String, String>> {
    let label = |text: &str| HashMap::from([("label".to_string(), text.to_string())]);
    let mut out: HashMap<String, HashMap<String, String>> = codebook
        .columns
        .iter()
        .map(|c| {
            let values: Vec<String> = c.value_labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let metadata = HashMap::from([
                ("label".to_string(), c.label.clone()),
                ("value_labels".to_string(), values.join("|")),
                ("comparable".to_string(), c.comparability.as_str().to_string()),
            ]);
            (c.name.clone(), metadata)
        })
        .collect();
    if let Some(v) = codebook.formats[0].variables.iter().find(|v| v.name == "weging") {
        out.insert("weging".into(), label(&v.label));
    }
    out.insert(
        "weight".into(),
        label("weight recomputed by the product: municipality x year, sums to its respondents"),
    );
    out.insert(
        "weight_national".into(),
        label("weight for pooled national figures of the year (NL01 age distribution)"),
    );
    out.insert("weight_cell".into(), label("weighting cell of the row"));
    out
}

/// The product's weights of one survey year, aligned with the year's rows in lake order
/// (`assemble::YearTable::rows`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowWeights {
    pub weight: Vec<Option<f64>>,
    pub weight_national: Vec<Option<f64>>,
    pub weight_cell: Vec<Option<String>>,
}

/// Builds the Arrow record batch of one survey year from its rows in lake order and the
/// batches they point into. Takes the batches: each answer column is freed as soon as it is
/// copied, so a year's rows are never in memory twice over (two years are built at a time;
/// issue 17's 10x peak memory).
pub fn year_record_batch(
    rows: &[RowRef],
    mut batches: Vec<Batch>,
    codebook: &Codebook,
    weights: &RowWeights,
) -> Result<RecordBatch> {
    let n = rows.len();
    let mut columns: Vec<ArrayRef> = Vec::new();
    let mut keys = StringBuilder::with_capacity(n, n * 24);
    for r in rows {
        keys.append_value(&r.respondent_key);
    }
    columns.push(Arc::new(keys.finish()));
    {
        let batches = &batches;
        let strings = |f: &dyn Fn(&Batch, usize) -> Option<String>| -> ArrayRef {
            let mut b = StringBuilder::with_capacity(n, n * 8);
            rows.iter().for_each(|r| b.append_option(f(&batches[r.batch], r.row)));
            Arc::new(b.finish())
        };
        let int16 = |f: &dyn Fn(&Batch, usize) -> Option<i16>| -> ArrayRef {
            Arc::new(rows.iter().map(|r| f(&batches[r.batch], r.row)).collect::<Int16Array>())
        };
        columns.push(strings(&|b, _| Some(b.delivery_id.clone())));
        columns.push(Arc::new(rows.iter().map(|r| batches[r.batch].source_row[r.row]).collect::<Int32Array>()));
        columns.push(strings(&|b, r| Some(b.municipality(r).code.clone())));
        columns.push(strings(&|b, r| Some(b.municipality(r).name.clone())));
        columns.push(int16(&|b, r| b.gemnr[r]));
        columns.push(int16(&|b, r| b.jr[r]));
        columns.push(int16(&|b, r| b.kw[r]));
        columns.push(int16(&|b, r| b.veldwerkmodus[r]));
        columns.push(int16(&|b, r| b.org[r]));
        columns.push(strings(&|b, r| b.respondent[r].clone()));
        columns.push(strings(&|b, r| b.wijknr[r].clone()));
        columns.push(strings(&|b, _| Some(b.vragenlijst.as_str().to_string())));
        columns.push(Arc::new(rows.iter().map(|r| Some(batches[r.batch].complete[r.row])).collect::<BooleanArray>()));
    }
    for c in 0..codebook.columns.len() {
        let answers: Vec<Answers> = batches.iter_mut().map(|b| std::mem::take(&mut b.answers[c])).collect();
        columns.push(Arc::new(answer_column(rows, &answers)));
    }
    columns.push(Arc::new(rows.iter().map(|r| batches[r.batch].weging[r.row]).collect::<Float64Array>()));
    drop(batches);
    columns.push(Arc::new(Float64Array::from(weights.weight.clone())));
    columns.push(Arc::new(Float64Array::from(weights.weight_national.clone())));
    columns.push(Arc::new(StringArray::from(weights.weight_cell.clone())));
    RecordBatch::try_new(respondent_schema(codebook), columns).context("building the respondents record batch")
}

/// One answer column of the lake's rows, gathered from the batches' columns: the stored codes in
/// one pass, then the validity words (64 rows each) and the zeros under the nulls in loops the
/// compiler can vectorise. Collecting `Option<i16>`s instead set each row's validity bit on its
/// own and took most of the record batch's time. A row without an answer holds 0 under its null
/// bit, as an array collected from `Option`s does.
fn answer_column(rows: &[RowRef], answers: &[Answers]) -> Int16Array {
    stored_codes_array(rows.iter().map(|r| answers[r.batch].stored(r.row)).collect())
}

/// An Int16 array of stored codes ([`Answers`]' representation: [`NO_ANSWER`] for a row
/// without an answer), built as [`answer_column`] builds its column.
pub fn stored_codes_array(mut codes: Vec<i16>) -> Int16Array {
    let rows = codes.len();
    let words: Vec<u64> = codes
        .chunks(64)
        .map(|chunk| chunk.iter().enumerate().fold(0u64, |w, (i, &c)| w | (u64::from(c != NO_ANSWER) << i)))
        .collect();
    for c in &mut codes {
        *c = if *c == NO_ANSWER { 0 } else { *c };
    }
    let valid = BooleanBuffer::new(Buffer::from_vec(words), 0, rows);
    Int16Array::new(ScalarBuffer::from(codes), Some(NullBuffer::new(valid)))
}

lake_table! {
/// What the lake stores about one delivery (`deliveries.parquet`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeliveryRecord {
    pub delivery_id: String,
    pub file_name: String,
    pub file_bytes: i64,
    pub file_blake3: String,
    /// When a run first saw the file (its modification time then), as a UTC timestamp.
    pub first_seen: UnixSeconds,
    pub format: String,
    pub gemeente_code: Option<String>,
    pub jr: Option<i16>,
    pub kw: Option<i16>,
    pub org: Option<i16>,
    pub vragenlijst: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub rows_read: i64,
    pub rows_published: i64,
    pub rows_dropped_duplicate: i64,
    pub findings_error: i64,
    pub findings_warning: i64,
}
}

lake_table! {
/// One row of `weighting.parquet`: a weighting cell of a municipality-year (or of the nation,
/// `NL01`), with the municipality-year's diagnostics repeated on each row.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct WeightingRecord {
    pub jr: i16,
    pub gemeente_code: String,
    pub cell: String,
    pub population: Option<f64>,
    pub population_share: Option<f64>,
    pub respondents: i64,
    pub weight: f64,
    pub collapsed_from: Option<String>,
    pub trimmed: i64,
    pub n: i64,
    pub n_effective: f64,
    pub deff_kish: f64,
    pub weight_min: f64,
    pub weight_max: f64,
    pub method: String,
    pub converged: bool,
    pub iterations: i64,
    pub population_source: String,
    pub population_year: i16,
}
}

/// The Parquet settings every lake file is written with. `metadata` goes into the file's
/// key-value metadata, sorted by key so the bytes do not depend on insertion order.
pub fn writer_properties(metadata: &[(String, String)]) -> Result<WriterProperties> {
    let mut kv: Vec<KeyValue> = metadata.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect();
    kv.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_key_value_metadata(Some(kv))
        .build())
}

/// [`writer_properties`] for a table of estimates (the indicator figures): its Float64 columns
/// are written without a dictionary. Nearly every estimate, standard error and bound is a value
/// of its own, so the writer built each page's dictionary only to give it up: a fifth of the
/// bytes and half of the encoding time of `indicators/municipality.parquet`.
pub fn estimate_properties(metadata: &[(String, String)], schema: &Schema) -> Result<WriterProperties> {
    let mut builder = writer_properties(metadata)?.into_builder();
    for field in schema.fields().iter().filter(|f| f.data_type() == &DataType::Float64) {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(field.name().as_str()), false);
    }
    Ok(builder.build())
}

/// The batch with the file's key-value metadata also in its Arrow schema. The Parquet footer
/// holds the keys either way, but pyarrow, Polars and DuckDB show a file's metadata from the
/// Arrow schema the writer stores in the footer (`ARROW:schema`), which otherwise has none.
/// Arrow keeps schema metadata sorted, so the bytes stay the same on the same inputs.
fn with_schema_metadata(batch: &RecordBatch, props: &WriterProperties) -> Result<RecordBatch> {
    let schema = schema_with_file_metadata(batch.schema_ref(), props);
    batch.clone().with_schema(schema).context("putting the file metadata into the Arrow schema")
}

/// `schema` with the file's key-value metadata added to its own (see [`with_schema_metadata`]).
fn schema_with_file_metadata(schema: &SchemaRef, props: &WriterProperties) -> SchemaRef {
    let mut metadata = schema.metadata().clone();
    for kv in props.key_value_metadata().into_iter().flatten() {
        metadata.insert(kv.key.clone(), kv.value.clone().unwrap_or_default());
    }
    Arc::new(schema.as_ref().clone().with_metadata(metadata))
}

/// Writes one Parquet file at `path`, fully synced.
fn write_parquet(path: &Path, batch: &RecordBatch, props: WriterProperties, columns: ColumnEncoding) -> Result<()> {
    let batch = &with_schema_metadata(batch, &props)?;
    row_groups::write_batch(path, batch, props, ROW_GROUP_ROWS, columns)
}

/// A named point of the publish sequence. With the `kill-points` feature (tests only), the
/// process kills itself here with SIGKILL when `BURGERPEILING_KILL_AT` names the point, so the
/// crash tests can stop a publish at every step; otherwise this does nothing.
pub fn kill_point(name: &str) {
    #[cfg(feature = "kill-points")]
    if std::env::var("BURGERPEILING_KILL_AT").is_ok_and(|at| at == name) {
        let me = rustix::process::getpid();
        let _ = rustix::process::kill_process(me, rustix::process::Signal::KILL);
    }
    let _ = name;
}

/// The named points of [`kill_point`], in publish order.
pub const KILL_POINTS: [&str; 6] =
    ["year-staged", "year-exchanged", "file-staged", "bytes-staged", "before-manifest", "after-manifest"];

/// A fresh directory under the lake's staging area for one run's files.
pub fn staging_dir(lake: &Path, run_id: &str) -> Result<PathBuf> {
    let dir = lake.join(STAGING_DIR).join(run_id);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// A file written into the lake.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PublishedFile {
    /// Path relative to the lake.
    pub path: String,
    pub rows: usize,
    pub bytes: u64,
    pub blake3: String,
}

/// Writes `batch` as `<lake>/<relative>`, replacing any earlier file by rename.
pub fn publish_file(
    lake: &Path,
    staging: &Path,
    relative: &str,
    batch: &RecordBatch,
    props: WriterProperties,
) -> Result<PublishedFile> {
    let tmp = staging.join(relative.replace('/', "__"));
    write_parquet(&tmp, batch, props, ColumnEncoding::InTurn)?;
    move_staged_file(lake, &tmp, relative, batch.num_rows())
}

/// As [`publish_file`] for a table made of keyed parts (a survey year's figures each): a part
/// that the file being replaced holds under the same key is copied from it instead of being
/// encoded again (`row_groups`). The file is the same bytes either way.
pub fn publish_keyed(
    lake: &Path,
    staging: &Path,
    relative: &str,
    schema: SchemaRef,
    parts: &[KeyedPart],
    props: WriterProperties,
) -> Result<PublishedFile> {
    let tmp = staging.join(relative.replace('/', "__"));
    let copied = row_groups::write_keyed(&tmp, &lake.join(relative), schema, parts, props, ROW_GROUP_ROWS)?;
    tracing::debug!(file = relative, copied, "row groups copied from the published file");
    move_staged_file(lake, &tmp, relative, parts.iter().map(|p| p.rows.num_rows()).sum())
}

/// Describes a staged file and renames it into the lake, replacing the published one.
fn move_staged_file(lake: &Path, tmp: &Path, relative: &str, rows: usize) -> Result<PublishedFile> {
    let published = describe(tmp, relative, rows)?;
    kill_point("file-staged");
    move_into_lake(lake, tmp, relative)?;
    sync_dir(lake.join(relative).parent().unwrap_or(lake))?;
    Ok(published)
}

/// A table the lake keeps as one partition per survey year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YearPartition {
    /// `respondents/jaar=YYYY/`
    Respondents,
    /// `indicators/respondents/jaar=YYYY/`
    Indicators,
}

impl YearPartition {
    pub const ALL: [YearPartition; 2] = [YearPartition::Respondents, YearPartition::Indicators];

    /// The directory under the lake that holds the table's `jaar=YYYY` partitions.
    pub fn dir(self) -> &'static str {
        match self {
            YearPartition::Respondents => "respondents",
            YearPartition::Indicators => "indicators/respondents",
        }
    }

    /// The partition's directory name in the staging area: distinct per table, so both tables
    /// of a year can be staged in one run (recovery reads these names back).
    fn staged_name(self, year: u16) -> String {
        match self {
            YearPartition::Respondents => format!("jaar={year}"),
            YearPartition::Indicators => format!("indicators-jaar={year}"),
        }
    }

    /// The table a staged name (without `.old`) belongs to, and its year.
    fn of_staged_name(name: &str) -> Option<(YearPartition, String)> {
        let (table, rest) = match name.strip_prefix("indicators-") {
            Some(rest) => (YearPartition::Indicators, rest),
            None => (YearPartition::Respondents, name),
        };
        let year = rest.strip_prefix("jaar=")?;
        (year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit())).then(|| (table, rest.to_string()))
    }

    /// The lake-relative path of a year's file.
    pub fn file(self, year: u16) -> String {
        format!("{}/jaar={year}/part-0000.parquet", self.dir())
    }
}

/// Writes one survey year of `table`, replacing the year's directory as a whole:
/// [`stage_year`], then [`swap_year`].
pub fn publish_year(
    lake: &Path,
    staging: &Path,
    table: YearPartition,
    year: u16,
    batch: &RecordBatch,
    props: WriterProperties,
) -> Result<PublishedFile> {
    let published = stage_year(staging, table, year, batch, props, ColumnEncoding::InTurn)?;
    swap_year(lake, staging, table, year)?;
    Ok(published)
}

/// Writes the year's partition of `table` into the staging directory, where [`swap_year`] finds
/// it.
pub fn stage_year(
    staging: &Path,
    table: YearPartition,
    year: u16,
    batch: &RecordBatch,
    props: WriterProperties,
    columns: ColumnEncoding,
) -> Result<PublishedFile> {
    let new_dir = staging.join(table.staged_name(year));
    fs::create_dir_all(&new_dir)?;
    let part = "part-0000.parquet";
    write_parquet(&new_dir.join(part), batch, props, columns)?;
    sync_dir(&new_dir)?;
    describe(&new_dir.join(part), &table.file(year), batch.num_rows())
}

/// Puts the partition [`stage_year`] wrote in place of the lake's, in one atomic exchange
/// where the file system has one.
pub fn swap_year(lake: &Path, staging: &Path, table: YearPartition, year: u16) -> Result<()> {
    let staged = table.staged_name(year);
    let name = format!("jaar={year}");
    let new_dir = staging.join(&staged);
    let parent = lake.join(table.dir());
    fs::create_dir_all(&parent)?;
    let target = parent.join(&name);
    kill_point("year-staged");
    if target.exists() {
        // One atomic exchange: a reader sees the old directory or the new one, never neither.
        // After it, `new_dir` holds the old partition, which is then removed.
        match exchange(&new_dir, &target) {
            Ok(()) => {
                sync_dir(&parent)?;
                kill_point("year-exchanged");
                fs::remove_dir_all(&new_dir)?;
            }
            Err(e) => {
                // A file system without RENAME_EXCHANGE: move the old partition aside, then the
                // new one in. Killed in between, the next run's recovery moves the old one back.
                tracing::debug!("atomic exchange unavailable ({e}); publishing {name} by two renames");
                let old = staging.join(format!("{staged}.old"));
                fs::rename(&target, &old)
                    .with_context(|| format!("cannot move the old partition {} aside", target.display()))?;
                fs::rename(&new_dir, &target)?;
                fs::remove_dir_all(&old)?;
            }
        }
    } else {
        fs::rename(&new_dir, &target)?;
    }
    sync_dir(&parent)?;
    Ok(())
}

/// Reads a Parquet file of the lake back as record batches (for the `indicators` command).
pub fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .with_context(|| format!("{} is not a Parquet file this product wrote", path.display()))?;
    reader.collect::<Result<Vec<_>, _>>().with_context(|| format!("cannot read {}", path.display()))
}

/// Describes a file already in the lake (a partition this run left as it was).
pub fn describe_published(lake: &Path, relative: &str, rows: usize) -> Result<PublishedFile> {
    describe(&lake.join(relative), relative, rows)
}

/// Swaps two directories atomically (Linux `renameat2` with `RENAME_EXCHANGE`).
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

/// Writes `bytes` to `<lake>/<relative>` by write-to-temp and rename.
pub fn publish_bytes(lake: &Path, staging: &Path, relative: &str, bytes: &[u8]) -> Result<()> {
    publish_parts(lake, staging, relative, &[bytes], 0).map(drop)
}

/// As [`publish_bytes`] for a file made of `parts` one after the other (a CSV export's heading
/// and each year's lines), without joining them in memory first; returns the file's
/// description (`rows` as given), hashed from the parts rather than read back. The hash is made
/// while the file is written: for the 40 MB export that is a core's work beside the writing.
pub fn publish_parts(
    lake: &Path,
    staging: &Path,
    relative: &str,
    parts: &[&[u8]],
    rows: usize,
) -> Result<PublishedFile> {
    let tmp = staging.join(relative.replace('/', "__"));
    let mut file = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let (written, hasher) = rayon::join(
        || parts.iter().try_for_each(|part| std::io::Write::write_all(&mut file, part)),
        || {
            let mut hasher = blake3::Hasher::new();
            for part in parts {
                hasher.update(part);
            }
            hasher
        },
    );
    written.with_context(|| format!("cannot write {}", tmp.display()))?;
    file.sync_all().with_context(|| format!("cannot sync {}", tmp.display()))?;
    kill_point("bytes-staged");
    move_into_lake(lake, &tmp, relative)?;
    Ok(PublishedFile {
        path: relative.to_string(),
        rows,
        bytes: parts.iter().map(|p| p.len() as u64).sum(),
        blake3: hasher.finalize().to_hex().to_string(),
    })
}

/// As [`publish_bytes`] for many files at once (the delivery reports): written in parallel,
/// made durable by one `syncfs` instead of one `fsync` each (a thousand journal commits took
/// seconds), then renamed in, in order.
/// A path given twice gets the later bytes, as two [`publish_bytes`] calls would leave it.
pub fn publish_all(lake: &Path, staging: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    use rayon::prelude::*;
    let last: std::collections::BTreeMap<&str, &[u8]> =
        files.iter().map(|(relative, bytes)| (relative.as_str(), bytes.as_slice())).collect();
    let files: Vec<(&str, &[u8])> = last.into_iter().collect();
    files.par_iter().try_for_each(|(relative, bytes)| {
        let tmp = staging.join(relative.replace('/', "__"));
        fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))
    })?;
    let dir = File::open(staging).with_context(|| format!("cannot open {}", staging.display()))?;
    rustix::fs::syncfs(&dir).with_context(|| format!("cannot sync the file system of {}", staging.display()))?;
    kill_point("bytes-staged");
    for (relative, _) in &files {
        move_into_lake(lake, &staging.join(relative.replace('/', "__")), relative)?;
    }
    Ok(())
}

fn move_into_lake(lake: &Path, tmp: &Path, relative: &str) -> Result<()> {
    let target = lake.join(relative);
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::rename(tmp, &target).with_context(|| format!("cannot move {} into the lake", target.display()))?;
    Ok(())
}

/// Removes the run's staging directory once everything is in place.
pub fn finish_staging(lake: &Path, staging: &Path) -> Result<()> {
    fs::remove_dir_all(staging).with_context(|| format!("cannot remove {}", staging.display()))?;
    let root = lake.join(STAGING_DIR);
    if fs::read_dir(&root).map(|mut d| d.next().is_none()).unwrap_or(false) {
        fs::remove_dir(&root)?;
    }
    Ok(())
}

fn describe(path: &Path, relative: &str, rows: usize) -> Result<PublishedFile> {
    let bytes = fs::read(path).with_context(|| format!("cannot read back {}", path.display()))?;
    Ok(PublishedFile {
        path: relative.to_string(),
        rows,
        bytes: bytes.len() as u64,
        blake3: blake3::hash(&bytes).to_hex().to_string(),
    })
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("cannot sync directory {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;

    use super::*;

    #[test]
    fn directories_swap_in_one_step() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::create_dir(&a).unwrap();
        fs::create_dir(&b).unwrap();
        fs::write(a.join("new"), b"new").unwrap();
        fs::write(b.join("old"), b"old").unwrap();
        exchange(&a, &b).expect("the file system of the test directory supports RENAME_EXCHANGE");
        assert!(b.join("new").exists() && a.join("old").exists());
    }

    proptest::proptest! {
        /// The gathered column is the column of `Option`s it replaced: codes, nulls and the
        /// zeros under them, so the Parquet bytes cannot differ either.
        #[test]
        fn an_answer_column_is_the_rows_codes_in_lake_order(
            columns in proptest::collection::vec(proptest::collection::vec(proptest::option::of(-9i16..100), 0..20), 1..4),
            picks in proptest::collection::vec((0usize..4, 0usize..20), 0..60),
        ) {
            let answers: Vec<Answers> = columns.iter().map(|c| c.iter().copied().collect()).collect();
            let rows: Vec<RowRef> = picks
                .into_iter()
                .filter(|&(b, r)| b < columns.len() && r < columns[b].len())
                .map(|(batch, row)| RowRef { batch, row, respondent_key: String::new() })
                .collect();
            let expected: Int16Array = rows.iter().map(|r| answers[r.batch].get(r.row)).collect();
            let gathered = answer_column(&rows, &answers);
            proptest::prop_assert_eq!(&gathered, &expected);
            proptest::prop_assert_eq!(gathered.values(), expected.values());
            proptest::prop_assert_eq!(gathered.null_count(), expected.null_count());
        }
    }
}
