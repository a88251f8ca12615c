//! The results of building a survey year, kept so that a run whose inputs leave a year
//! unchanged neither loads nor deduplicates nor weighs that year's rows again.
//!
//! Two files per year, both named by the year's build key (the partition's key from the
//! ledger, so an entry can only ever describe the partition built from the same inputs):
//!
//! - `<state>/years/<build key>.year`: whatever the pipeline needs from the year besides its
//!   partition (dedup decisions per delivery, weighting records and summaries, the findings
//!   made on the way) as JSON, and the year's indicator figures as Arrow IPC. The figures are
//!   nearly all of a result's bytes; as JSON, decoding the unchanged years' figures took a fifth
//!   of a second of every nightly run (issue 18).
//! - `<state>/years/<build key>.csv`: the year's lines of the CSV exports (`gemeenten.csv`,
//!   `wsjg.csv`), so a run that changes one year formats only that year's lines.
//!
//! Both are sections behind a header with their lengths and the BLAKE3 of their bytes, so a
//! torn, truncated or edited file is detected. Like the delivery cache they are a shortcut:
//! a missing, unreadable or old-format file makes the run build (or format) the year again.
//!
//! What it must NOT do: decide anything, or let a damaged file be anything but an `Err`.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Cursor, ErrorKind};
use std::path::Path;

use anyhow::{Context, Result, bail};
use arrow_array::RecordBatch;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::cache::{check_key, remove_if_present, write_atomically};
use crate::indicators::figures::YearFigures;

/// The directory of the year results inside the state directory.
pub const YEARS_DIR: &str = "years";

/// The year result file's extension and first bytes (the last byte is the format version).
const RESULT_EXT: &str = "year";
const RESULT_MAGIC: &[u8; 8] = b"BPYEAR\0\x01";
/// The export lines file's extension and first bytes.
const EXPORTS_EXT: &str = "csv";
const EXPORTS_MAGIC: &[u8; 8] = b"BPCSV\0\0\x01";

/// A year result as the state directory keeps it: the figures apart from the rest, which is
/// serialised without them (`#[serde(skip)]`) and gets them back on load.
pub trait StoredYear: Serialize + DeserializeOwned {
    fn figures(&self) -> &YearFigures;
    fn set_figures(&mut self, figures: YearFigures);
}

/// Stores `result` under the year's build key.
pub fn store_year<T: StoredYear>(state_dir: &Path, build_key: &str, result: &T) -> Result<()> {
    let figures = result.figures();
    let sections = [serde_json::to_vec(result)?, ipc_bytes(&figures.municipality)?, ipc_bytes(&figures.national)?];
    write_sections(state_dir, build_key, RESULT_EXT, RESULT_MAGIC, &sections)
}

/// The result stored under `build_key`; `Err` says why it cannot be used (absent included).
pub fn load_year<T: StoredYear>(state_dir: &Path, build_key: &str) -> Result<T> {
    let [json, municipality, national] = read_sections(state_dir, build_key, RESULT_EXT, RESULT_MAGIC)?;
    let not_ours = || format!("the year result {build_key} is not one of this version");
    let mut result: T = serde_json::from_slice(&json).with_context(not_ours)?;
    let figures = YearFigures::of_batches(ipc_batch(&municipality)?, ipc_batch(&national)?)
        .context("the figures do not have this version's columns")
        .with_context(not_ours)?;
    result.set_figures(figures);
    Ok(result)
}

/// Stores a year's lines of the two CSV exports (no heading), in the order given.
pub fn store_exports(state_dir: &Path, build_key: &str, exports: &[Vec<u8>; 2]) -> Result<()> {
    write_sections(state_dir, build_key, EXPORTS_EXT, EXPORTS_MAGIC, exports)
}

/// The export lines stored under `build_key`, as [`store_exports`] was given them.
pub fn load_exports(state_dir: &Path, build_key: &str) -> Result<[Vec<u8>; 2]> {
    read_sections(state_dir, build_key, EXPORTS_EXT, EXPORTS_MAGIC)
}

/// Removes every year file whose key is not in `keep`, files of earlier formats, and temp files
/// a killed run left.
pub fn prune_years(state_dir: &Path, keep: &BTreeSet<String>) -> Result<()> {
    let dir = state_dir.join(YEARS_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    for entry in entries {
        let path = entry.with_context(|| format!("cannot list {}", dir.display()))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let current = [RESULT_EXT, EXPORTS_EXT]
            .iter()
            .any(|ext| name.strip_suffix(ext).and_then(|s| s.strip_suffix('.')).is_some_and(|key| keep.contains(key)));
        if !current {
            remove_if_present(&path)?;
        }
    }
    Ok(())
}

/// Header: magic, the number of sections is fixed by the caller; per section its length (u64,
/// little-endian); then the BLAKE3 of all sections' bytes.
fn write_sections(state_dir: &Path, key: &str, ext: &str, magic: &[u8; 8], sections: &[Vec<u8>]) -> Result<()> {
    check_key(key)?;
    let dir = state_dir.join(YEARS_DIR);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let body_len: usize = sections.iter().map(Vec::len).sum();
    let mut hasher = blake3::Hasher::new();
    sections.iter().for_each(|s| {
        hasher.update(s);
    });
    let mut file = Vec::with_capacity(8 + 8 * sections.len() + 32 + body_len);
    file.extend_from_slice(magic);
    for s in sections {
        file.extend_from_slice(&(s.len() as u64).to_le_bytes());
    }
    file.extend_from_slice(hasher.finalize().as_bytes());
    sections.iter().for_each(|s| file.extend_from_slice(s));
    write_atomically(&dir, &format!("{key}.{ext}"), &file)
}

/// The `N` sections of a file [`write_sections`] wrote, checked against its header.
fn read_sections<const N: usize>(state_dir: &Path, key: &str, ext: &str, magic: &[u8; 8]) -> Result<[Vec<u8>; N]> {
    check_key(key)?;
    let path = state_dir.join(YEARS_DIR).join(format!("{key}.{ext}"));
    let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let header_len = 8 + 8 * N + 32;
    if bytes.len() < header_len || &bytes[..8] != magic {
        bail!("{} is not a year file of this version", path.display());
    }
    let mut lengths = [0usize; N];
    for (i, len) in lengths.iter_mut().enumerate() {
        let field: [u8; 8] = bytes[8 + 8 * i..16 + 8 * i].try_into().context("header")?;
        *len = usize::try_from(u64::from_le_bytes(field)).context("section length out of range")?;
    }
    let body = &bytes[header_len..];
    if lengths.iter().try_fold(0usize, |a, l| a.checked_add(*l)) != Some(body.len())
        || blake3::hash(body).as_bytes()[..] != bytes[header_len - 32..header_len]
    {
        bail!("{} is torn or was changed after it was written", path.display());
    }
    let mut start = 0;
    Ok(lengths.map(|len| {
        start += len;
        body[start - len..start].to_vec()
    }))
}

/// One record batch as an Arrow IPC file: floats bit for bit, nulls exact.
fn ipc_bytes(batch: &RecordBatch) -> Result<Vec<u8>> {
    let mut writer = arrow_ipc::writer::FileWriter::try_new(Vec::new(), &batch.schema())?;
    writer.write(batch)?;
    writer.finish()?;
    Ok(writer.into_inner()?)
}

/// The record batch of an Arrow IPC file [`ipc_bytes`] wrote.
fn ipc_batch(bytes: &[u8]) -> Result<RecordBatch> {
    let reader = arrow_ipc::reader::FileReader::try_new(Cursor::new(bytes), None)?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    Ok(arrow_select::concat::concat_batches(&schema, &batches)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_come_back_as_written_and_a_changed_byte_is_an_error() {
        let dir = std::env::temp_dir().join(format!("bp-years-{}", std::process::id()));
        let key = "a".repeat(64);
        store_exports(&dir, &key, &[b"one\n".to_vec(), b"two\n".to_vec()]).unwrap();
        assert_eq!(load_exports(&dir, &key).unwrap(), [b"one\n".to_vec(), b"two\n".to_vec()]);
        let path = dir.join(YEARS_DIR).join(format!("{key}.csv"));
        let mut bytes = fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() = b'X';
        fs::write(&path, &bytes).unwrap();
        assert!(load_exports(&dir, &key).is_err());
        fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(load_exports(&dir, &key).is_err());
        prune_years(&dir, &BTreeSet::new()).unwrap();
        assert!(!path.exists());
        let _ = fs::remove_dir_all(&dir);
    }
}
