//! The results of building a survey year, kept so that a run whose inputs leave a year
//! unchanged neither loads nor deduplicates nor weighs that year's rows again.
//!
//! An entry is `<state>/years/<build key>.json`: whatever the pipeline needs from the year
//! besides its partition (dedup decisions per delivery, weighting records and summaries, the
//! findings made on the way). The build key is the partition's key from the ledger, so an
//! entry can only ever describe the partition built from the same inputs. Like the delivery
//! cache it is a shortcut: a missing or unreadable entry makes the run build the year again.

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::cache::{check_key, remove_if_present, write_atomically};

/// The directory of the year results inside the state directory.
pub const YEARS_DIR: &str = "years";

/// Stores `result` under the year's build key.
pub fn store_year<T: Serialize>(state_dir: &Path, build_key: &str, result: &T) -> Result<()> {
    check_key(build_key)?;
    let dir = state_dir.join(YEARS_DIR);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_atomically(&dir, &format!("{build_key}.json"), &serde_json::to_vec(result)?)
}

/// The result stored under `build_key`; `Err` says why it cannot be used (absent included).
pub fn load_year<T: DeserializeOwned>(state_dir: &Path, build_key: &str) -> Result<T> {
    check_key(build_key)?;
    let path = state_dir.join(YEARS_DIR).join(format!("{build_key}.json"));
    let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not a year result of this version", path.display()))
}

/// Removes every year result whose key is not in `keep`, and temp files a killed run left.
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
        let stale = match name.strip_suffix(".json") {
            Some(key) => !keep.contains(key),
            None => name.ends_with(".tmp"),
        };
        if stale {
            remove_if_present(&path)?;
        }
    }
    Ok(())
}
