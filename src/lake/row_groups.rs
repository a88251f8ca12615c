//! Tables written as row groups of known rows: each part of a table (a survey year's figures)
//! comes with a key that names its rows (the year's build key), and a part whose rows the file
//! being replaced already holds under the same key is copied from it, bytes and all, instead of
//! being encoded again. A nightly run that changed one year so re-encodes one year of
//! `indicators/municipality.parquet`, not ten (issue 17).
//!
//! The file is the same bytes whichever way a row group got there: every part is its own row
//! groups (never shared with another part), a row group's encoding depends only on its rows and
//! the writer's settings, and the keys, which the footer lists, are known either way. A copy is
//! taken only from a file that lists the same key and was written by the same Parquet library
//! and the same product version (`burgerpeiling.row_groups` in its footer says which); otherwise
//! the part is encoded. The product version stands for the lake's Parquet settings, as it
//! stands for the harmonising code in the cache key: a release that changes them must carry a
//! new version.
//!
//! Every Parquet file of the lake is written here, as row groups encoded through Arrow's column
//! writers: a table of keyed parts by `write_keyed`, a single batch (a year partition, a lake
//! table) by `write_batch`, with the bytes `ArrowWriter` would write. Going through the column
//! writers is what lets a run that builds one year encode a partition's columns side by side
//! (`ColumnEncoding`).
//!
//! What it must NOT do: decide which rows are equal (the caller's key does), or trust a file it
//! copies from beyond its footer: an unreadable or foreign file means encoding everything.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowColumnWriter, compute_leaves};
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::{ColumnChunkMetaData, KeyValue, ParquetMetaData};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::serialized_reader::ReadOptionsBuilder;
use parquet::file::statistics::Statistics;
use serde::{Deserialize, Serialize};

use crate::config::PRODUCT_VERSION;

/// One part of a table: its rows and the key that names them.
pub struct KeyedPart<'a> {
    /// Equal keys mean equal rows: the caller's promise.
    pub key: &'a str,
    pub rows: &'a RecordBatch,
    /// Whether the part may be copied from the file being replaced; `false` for rows computed
    /// in this run, which are encoded whatever the old file says.
    pub reusable: bool,
}

/// The footer entry (`burgerpeiling.row_groups`) that says which rows each row group holds.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct RowGroupIndex {
    /// The Parquet library and the product version that wrote the file.
    writer: String,
    /// Per row group: its part's key and its number within the part.
    row_groups: Vec<(String, usize)>,
}

const INDEX_KEY: &str = "burgerpeiling.row_groups";

/// Writes `parts` to `path`, fully synced, as row groups of at most `max_rows` rows each, copying
/// what it can from `previous`. Returns how many row groups were copied.
pub fn write_keyed(
    path: &Path,
    previous: &Path,
    schema: SchemaRef,
    parts: &[KeyedPart],
    props: WriterProperties,
    max_rows: usize,
) -> Result<usize> {
    let writer = format!("{} / burgerpeiling {PRODUCT_VERSION}", props.created_by());
    let slices: Vec<(usize, usize, usize)> = (parts.iter().enumerate())
        .flat_map(|(p, part)| (0..part.rows.num_rows().div_ceil(max_rows)).map(move |i| (p, i, i * max_rows)))
        .collect();
    let index =
        RowGroupIndex { writer, row_groups: slices.iter().map(|&(p, i, _)| (parts[p].key.to_string(), i)).collect() };
    let props = with_index(props, &index)?;
    let schema = super::schema_with_file_metadata(&schema, &props);
    // A key must name one part: with two parts under one key a copy could take the wrong rows.
    let keys: std::collections::HashSet<&str> = parts.iter().map(|p| p.key).collect();
    let old = if keys.len() == parts.len() { OldFile::open(previous, &index.writer) } else { None };
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let (mut writer, factory) = ArrowWriter::try_new(file, schema.clone(), Some(props))?.into_serialized_writer()?;
    let mut copied = 0;
    for (ordinal, &(p, i, offset)) in slices.iter().enumerate() {
        let part = &parts[p];
        let from_old = old.as_ref().filter(|_| part.reusable).and_then(|o| o.row_group(part.key, i));
        let mut row_group = writer.next_row_group()?;
        match from_old {
            Some((old, at)) => {
                for close in old.column_chunks(at) {
                    row_group.append_column(&old.file, close)?;
                }
                copied += 1;
            }
            None => {
                let rows = part.rows.slice(offset, max_rows.min(part.rows.num_rows() - offset));
                for chunk in encode(factory.create_column_writers(ordinal)?, &schema, &rows, ColumnEncoding::InTurn)? {
                    chunk.append_to_row_group(&mut row_group)?;
                }
            }
        }
        row_group.close()?;
    }
    let file = writer.into_inner()?;
    file.sync_all().with_context(|| format!("cannot sync {}", path.display()))?;
    Ok(copied)
}

/// How a row group's columns are encoded. The bytes are the same either way: each column chunk
/// is encoded on its own, and the chunks are appended in schema order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnEncoding {
    /// One column after another, on the calling thread.
    InTurn,
    /// The columns as rayon tasks, so an idle core can take some up. Only where a thread that
    /// waits for them may not take up unrelated work that holds memory (ARCHITECTURE.md).
    SideBySide,
}

/// Writes `batch` to `path`, fully synced, in row groups of at most `max_rows` rows: the bytes
/// `ArrowWriter` writes for the batch with that row group limit (a test holds them equal), with
/// each row group's columns encoded as `columns` says. `batch`'s schema is the file's.
pub fn write_batch(
    path: &Path,
    batch: &RecordBatch,
    props: WriterProperties,
    max_rows: usize,
    columns: ColumnEncoding,
) -> Result<()> {
    let schema = batch.schema();
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let (mut writer, factory) = ArrowWriter::try_new(file, schema.clone(), Some(props))?.into_serialized_writer()?;
    for (ordinal, offset) in (0..batch.num_rows()).step_by(max_rows.max(1)).enumerate() {
        let rows = batch.slice(offset, max_rows.min(batch.num_rows() - offset));
        let mut row_group = writer.next_row_group()?;
        for chunk in encode(factory.create_column_writers(ordinal)?, &schema, &rows, columns)? {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
    }
    let file = writer.into_inner()?;
    file.sync_all().with_context(|| format!("cannot sync {}", path.display()))?;
    Ok(())
}

/// One row group's column chunks: `rows` encoded with `writers` (one per leaf column, in schema
/// order), as `ArrowWriter` encodes a row group: a column's levels are computed as it is
/// written, so a row group holds those of one column at a time per thread.
fn encode(
    mut writers: Vec<ArrowColumnWriter>,
    schema: &SchemaRef,
    rows: &RecordBatch,
    columns: ColumnEncoding,
) -> Result<Vec<ArrowColumnChunk>> {
    let fields = schema.fields().iter().zip(rows.columns());
    // Side by side needs a writer per field: nested fields (several leaves) are not in the lake.
    if columns == ColumnEncoding::SideBySide && writers.len() == schema.fields().len() {
        use rayon::prelude::*;
        let fields: Vec<_> = fields.collect();
        return (writers.into_par_iter().zip(fields))
            .map(|(mut writer, (field, column))| {
                for leaf in compute_leaves(field, column)? {
                    writer.write(&leaf)?;
                }
                Ok(writer.close()?)
            })
            .collect();
    }
    let mut next = writers.iter_mut();
    for (field, column) in fields {
        for leaf in compute_leaves(field, column)? {
            next.next().context("more leaf columns than column writers")?.write(&leaf)?;
        }
    }
    writers.into_iter().map(|w| Ok(w.close()?)).collect()
}

/// `props` with the row group index among its key-value metadata, still sorted by key.
fn with_index(props: WriterProperties, index: &RowGroupIndex) -> Result<WriterProperties> {
    let mut kv: Vec<KeyValue> = props.key_value_metadata().cloned().unwrap_or_default();
    kv.retain(|k| k.key != INDEX_KEY);
    kv.push(KeyValue::new(INDEX_KEY.to_string(), serde_json::to_string(index)?));
    kv.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(props.into_builder().set_key_value_metadata(Some(kv)).build())
}

/// A column chunk's metadata as the writer had it, from the metadata read back. Reading loses
/// one flag: that the writer also stored a column's min and max in the deprecated `min` and
/// `max` fields, which it does for every column with a signed sort order.
fn as_written(chunk: &ColumnChunkMetaData) -> ColumnChunkMetaData {
    let Some(statistics) = chunk.statistics() else { return chunk.clone() };
    let signed = chunk.column_descr().sort_order().is_signed();
    let statistics = match statistics.clone() {
        Statistics::Boolean(s) => Statistics::Boolean(s.with_backwards_compatible_min_max(signed)),
        Statistics::Int32(s) => Statistics::Int32(s.with_backwards_compatible_min_max(signed)),
        Statistics::Int64(s) => Statistics::Int64(s.with_backwards_compatible_min_max(signed)),
        Statistics::Int96(s) => Statistics::Int96(s.with_backwards_compatible_min_max(signed)),
        Statistics::Float(s) => Statistics::Float(s.with_backwards_compatible_min_max(signed)),
        Statistics::Double(s) => Statistics::Double(s.with_backwards_compatible_min_max(signed)),
        Statistics::ByteArray(s) => Statistics::ByteArray(s.with_backwards_compatible_min_max(signed)),
        Statistics::FixedLenByteArray(s) => Statistics::FixedLenByteArray(s.with_backwards_compatible_min_max(signed)),
    };
    let rebuilt = chunk.clone().into_builder().set_statistics(statistics).build();
    rebuilt.unwrap_or_else(|_| chunk.clone())
}

/// The file being replaced, when its row groups can be copied.
struct OldFile {
    file: File,
    metadata: Arc<ParquetMetaData>,
    /// (key, number within the part) → row group.
    by_key: HashMap<(String, usize), usize>,
}

impl OldFile {
    /// `None` when there is no such file, it cannot be read, or it was written by another
    /// Parquet library or another product version: then every part is encoded.
    fn open(path: &Path, writer: &str) -> Option<OldFile> {
        let file = File::open(path).ok()?;
        let options = ReadOptionsBuilder::new().with_page_index().with_encoding_stats_as_mask(false).build();
        let reader = SerializedFileReader::new_with_options(file.try_clone().ok()?, options)
            .map_err(|e| tracing::debug!("not copying row groups from {}: {e}", path.display()))
            .ok()?;
        let metadata = Arc::new(reader.metadata().clone());
        let meta = metadata.file_metadata();
        let index: RowGroupIndex = meta
            .key_value_metadata()?
            .iter()
            .find(|kv| kv.key == INDEX_KEY)
            .and_then(|kv| serde_json::from_str(kv.value.as_deref()?).ok())?;
        if index.writer != writer || index.row_groups.len() != metadata.num_row_groups() {
            tracing::debug!("not copying row groups from {}: written by another writer", path.display());
            return None;
        }
        let count = index.row_groups.len();
        let by_key: HashMap<(String, usize), usize> =
            index.row_groups.into_iter().enumerate().map(|(at, key)| (key, at)).collect();
        (by_key.len() == count).then_some(OldFile { file, metadata, by_key })
    }

    fn row_group(&self, key: &str, i: usize) -> Option<(&OldFile, usize)> {
        self.by_key.get(&(key.to_string(), i)).map(|&at| (self, at))
    }

    /// What each column chunk of row group `at` was closed with, as the writer reported it.
    fn column_chunks(&self, at: usize) -> Vec<ColumnCloseResult> {
        let row_group = self.metadata.row_group(at);
        let page_index = self.metadata.page_index_for_row_group(at);
        (row_group.columns().iter().enumerate())
            .map(|(c, chunk)| ColumnCloseResult {
                bytes_written: chunk.compressed_size() as u64,
                rows_written: row_group.num_rows() as u64,
                metadata: as_written(chunk),
                bloom_filter: None,
                column_index: page_index.column_index(c).cloned(),
                offset_index: page_index.offset_index(c).cloned(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{BooleanArray, Float64Array, Int16Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("indicator", DataType::Utf8, false),
            Field::new("jaar", DataType::Int16, false),
            Field::new("estimate", DataType::Float64, true),
            Field::new("published", DataType::Boolean, false),
        ]))
    }

    /// `n` figures of `year`, their estimates shifted by `shift`.
    fn figures(year: i16, n: usize, shift: f64) -> RecordBatch {
        let estimate = (0..n).map(|i| (i % 7 != 0).then_some(i as f64 * 1.37 + shift));
        let columns: Vec<arrow_array::ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("ind_{}", i % 50)))),
            Arc::new(Int16Array::from(vec![year; n])),
            Arc::new(Float64Array::from_iter(estimate)),
            Arc::new(BooleanArray::from_iter((0..n).map(|i| Some(i % 3 == 0)))),
        ];
        RecordBatch::try_new(schema(), columns).unwrap()
    }

    fn props(run: &str) -> WriterProperties {
        let metadata = [("burgerpeiling.pipeline_hash".to_string(), run.to_string())];
        super::super::estimate_properties(&metadata, &schema()).unwrap()
    }

    /// Writes the parts to `dir/name` with `previous` as the file replaced; returns the bytes
    /// and how many row groups were copied.
    fn write(dir: &Path, name: &str, previous: &Path, parts: &[(&str, &RecordBatch, bool)]) -> (Vec<u8>, usize) {
        let parts: Vec<KeyedPart> =
            parts.iter().map(|&(key, rows, reusable)| KeyedPart { key, rows, reusable }).collect();
        let path = dir.join(name);
        let copied = write_keyed(&path, previous, schema(), &parts, props("run"), 1000).unwrap();
        (std::fs::read(&path).unwrap(), copied)
    }

    fn read_back(path: &Path) -> Vec<RecordBatch> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap().build().unwrap();
        reader.map(|b| b.unwrap()).collect()
    }

    #[test]
    fn a_copied_row_group_gives_the_bytes_of_an_encoded_one() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (figures(2015, 2500, 0.0), figures(2016, 800, 0.5), figures(2017, 1000, 1.0));
        let none = dir.path().join("none.parquet");
        let (fresh, copied) =
            write(dir.path(), "fresh.parquet", &none, &[("a", &a, true), ("b", &b, true), ("c", &c, true)]);
        assert_eq!(copied, 0);
        // 2,500 rows are three row groups of at most 1,000: all five are copied.
        let old = dir.path().join("fresh.parquet");
        let (again, copied) =
            write(dir.path(), "again.parquet", &old, &[("a", &a, true), ("b", &b, true), ("c", &c, true)]);
        assert_eq!(copied, 5);
        assert!(again == fresh, "a file of copied row groups differs from the encoded one");
        // One part changed: the others are copied, and the file is what encoding all gives.
        let b2 = figures(2016, 900, 9.0);
        let parts = [("a", &a, true), ("b2", &b2, true), ("c", &c, true)];
        let (mixed, copied) = write(dir.path(), "mixed.parquet", &old, &parts);
        assert_eq!(copied, 4);
        let (encoded, _) = write(dir.path(), "encoded.parquet", &none, &parts);
        assert!(mixed == encoded, "a file of copied and encoded row groups differs from the encoded one");
        let columns = |batches: &[RecordBatch]| {
            let all = arrow_select::concat::concat_batches(&batches[0].schema(), batches).unwrap();
            all.columns().to_vec()
        };
        assert_eq!(columns(&read_back(&dir.path().join("mixed.parquet"))), columns(&[a, b2, c]));
    }

    #[test]
    fn nothing_is_copied_that_is_not_reusable_or_was_written_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (figures(2015, 300, 0.0), figures(2016, 300, 0.5));
        let none = dir.path().join("none.parquet");
        write(dir.path(), "old.parquet", &none, &[("a", &a, true), ("b", &b, true)]);
        let old = dir.path().join("old.parquet");
        let (_, copied) = write(dir.path(), "new.parquet", &old, &[("a", &a, false), ("b", &b, true)]);
        assert_eq!(copied, 1);
        // A file that another version wrote (its footer names another writer): nothing is copied.
        let bytes = std::fs::read(&old).unwrap();
        let index = format!("burgerpeiling {PRODUCT_VERSION}");
        let at = bytes.windows(index.len()).position(|w| w == index.as_bytes()).unwrap();
        let mut other = bytes.clone();
        other[at + index.len() - 1] ^= 1;
        std::fs::write(dir.path().join("other.parquet"), other).unwrap();
        let (_, copied) =
            write(dir.path(), "after-other.parquet", &dir.path().join("other.parquet"), &[("a", &a, true)]);
        assert_eq!(copied, 0);
        // Two parts under one key: nothing is copied, whatever the old file holds.
        let (_, copied) = write(dir.path(), "twice.parquet", &old, &[("b", &a, true), ("b", &b, true)]);
        assert_eq!(copied, 0);
        // A file that is not Parquet at all: everything is encoded.
        std::fs::write(dir.path().join("junk.parquet"), b"PAR1 not really").unwrap();
        let (_, copied) = write(dir.path(), "after-junk.parquet", &dir.path().join("junk.parquet"), &[("a", &a, true)]);
        assert_eq!(copied, 0);
    }

    /// The bytes `ArrowWriter` writes for `batch` with row groups of `max_rows`.
    fn arrow_writer_bytes(batch: &RecordBatch, props: WriterProperties, max_rows: usize) -> Vec<u8> {
        let props = props.into_builder().set_max_row_group_row_count(Some(max_rows)).build();
        let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props)).unwrap();
        writer.write(batch).unwrap();
        writer.into_inner().unwrap()
    }

    #[test]
    fn a_batch_is_written_as_arrow_writer_writes_it_whichever_way_its_columns_are_encoded() {
        let dir = tempfile::tempdir().unwrap();
        let metadata = [("burgerpeiling.pipeline_hash".to_string(), "run".to_string())];
        let settings =
            [("dictionary", super::super::writer_properties(&metadata).unwrap()), ("estimates", props("run"))];
        // Several row groups with a short last one, an exact multiple, one row, none.
        for (rows, max_rows) in [(2500, 1000), (2000, 1000), (1, 1000), (0, 1000), (700, 100_000)] {
            let batch = figures(2015, rows, 0.25);
            for (name, props) in &settings {
                let expected = arrow_writer_bytes(&batch, props.clone(), max_rows);
                for columns in [ColumnEncoding::InTurn, ColumnEncoding::SideBySide] {
                    let path = dir.path().join(format!("{rows}-{name}-{columns:?}.parquet"));
                    write_batch(&path, &batch, props.clone(), max_rows, columns).unwrap();
                    let written = std::fs::read(&path).unwrap();
                    assert!(written == expected, "{rows} rows, {name}, {columns:?}: not ArrowWriter's bytes");
                }
            }
        }
    }
}
