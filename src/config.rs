//! The configuration a run reads before it starts: the pipeline file (`pipelines/*.toml`) with
//! its `[paths]`, `[limits]`, `[dedup]`, `[weighting]`, `[versions]` and `[secrets]` tables (the
//! last names the password file for zip bundles, loaded and checked here), and the config
//! directory (codebook, municipalities) with its hash.
//!
//! What it must NOT do: read a delivery, the lake or the state directory. A problem here is a
//! [`UsageError`] (exit code 2), never a finding.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::codebook::{Codebook, Questionnaire};
use crate::dedup;
use crate::ingest::passwords::{PASSWORDS_ENV, Passwords};
use crate::municipality::Municipalities;
use crate::population::PopulationTable;
use crate::weight::WeightOptions;

/// The product's version, written into every lake file.
pub const PRODUCT_VERSION: &str = env!("CARGO_PKG_VERSION");

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
    /// The `[secrets]` table: where the bundles' passwords are.
    #[serde(default)]
    pub secrets: Secrets,
    /// The password file's keys, loaded by [`PipelineFile::load`] (never part of the file).
    #[serde(skip)]
    pub passwords: Passwords,
}

/// The `[secrets]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    /// The password file of the zip bundles (see `ingest::passwords`), relative to the
    /// pipeline file's folder; the environment variable `BURGERPEILING_PASSWORDS` overrides it.
    pub passwords: Option<PathBuf>,
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
    pub fn mode(&self) -> dedup::RedeliveryMode {
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
        let mut parsed: PipelineFile =
            toml::from_str(text).map_err(|e| UsageError(format!("invalid pipeline file {}: {e}", path.display())))?;
        let from_env = std::env::var_os(PASSWORDS_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
        let folder = path.parent().unwrap_or(Path::new(""));
        parsed.passwords =
            Passwords::load(from_env, parsed.secrets.passwords.as_deref(), folder).map_err(UsageError)?;
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
