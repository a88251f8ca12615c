//! The configuration a run reads before it starts: the pipeline file (`pipelines/*.toml`) with
//! its `[paths]`, `[limits]`, `[dedup]`, `[weighting]`, `[versions]` and `[secrets]` tables (the
//! last names the password file for zip bundles, loaded and checked here), and the config
//! directory (codebook, municipalities) with its hash.
//!
//! The configuration comes from a [`ConfigSource`]: a directory on disk (`--config DIR`, or
//! `config/` in the working directory) or the copy of the checkout's `config/` embedded in the
//! binary at build time, so an installed binary works from any directory. The pipeline file
//! likewise: `--pipeline FILE`, `pipelines/nightly.toml` in the working directory, or the
//! embedded copy ([`resolve_defaults`], precedence in `docs/operations.md`).
//!
//! What it must NOT do: read a delivery, the lake or the state directory. A problem here is a
//! [`UsageError`] (exit code 2), never a finding.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::codebook::{Codebook, Questionnaire};
use crate::dedup;
use crate::indicators::ScoringRules;
use crate::indicators::catalogue::Catalogue;
use crate::indicators::figures::PublicationRules;
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
    /// The `[indicators]` table: when a figure is published (`min_n`).
    #[serde(default)]
    pub indicators: PublicationRules,
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
    /// the configuration's `population/` (on disk or embedded).
    pub fn population(&self, flag: Option<&Path>, config: &ConfigSource) -> Result<PopulationTable, UsageError> {
        let loaded = match flag.map(Path::to_path_buf).or_else(|| self.paths.population.clone()) {
            Some(dir) => crate::population::load_dir(&dir),
            None => crate::population::load_from(config, POPULATION_FOLDER),
        };
        loaded.map_err(|e| UsageError(format!("{e:#}")))
    }

    pub fn load(path: &Path) -> Result<(PipelineFile, Vec<u8>), UsageError> {
        let bytes = std::fs::read(path)
            .map_err(|e| UsageError(format!("cannot read the pipeline file {}: {e}", path.display())))?;
        let folder = path.parent().unwrap_or(Path::new(""));
        let parsed = PipelineFile::parse(&bytes, &path.display().to_string(), folder)?;
        Ok((parsed, bytes))
    }

    /// Loads the pipeline file `source` names. The embedded one (the checkout's
    /// `pipelines/nightly.toml`) names the checkout's synthetic sample population, which has
    /// no meaning outside the checkout: its `paths.population` is dropped so the population
    /// comes from `--population` or the configuration (see `docs/operations.md`).
    pub fn load_from(source: &PipelineSource) -> Result<(PipelineFile, Vec<u8>), UsageError> {
        match source {
            PipelineSource::File(path) => PipelineFile::load(path),
            PipelineSource::Embedded => {
                let bytes = EMBEDDED_PIPELINE.as_bytes().to_vec();
                let mut parsed = PipelineFile::parse(&bytes, "(ingebouwd) pipelines/nightly.toml", Path::new(""))?;
                parsed.paths.population = None;
                Ok((parsed, bytes))
            }
        }
    }

    /// Parses and checks a pipeline file's bytes; `name` names it in error messages, `folder`
    /// is where a relative password-file path starts.
    fn parse(bytes: &[u8], name: &str, folder: &Path) -> Result<PipelineFile, UsageError> {
        let text = std::str::from_utf8(bytes).map_err(|_| UsageError(format!("pipeline file {name} is not UTF-8")))?;
        let mut parsed: PipelineFile =
            toml::from_str(text).map_err(|e| UsageError(format!("invalid pipeline file {name}: {e}")))?;
        let from_env = std::env::var_os(PASSWORDS_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
        parsed.passwords =
            Passwords::load(from_env, parsed.secrets.passwords.as_deref(), folder).map_err(UsageError)?;
        parsed.forced_versions().map_err(|e| UsageError(format!("invalid pipeline file {name}: {e}")))?;
        parsed
            .weighting
            .validate()
            .map_err(|e| UsageError(format!("invalid pipeline file {name}: [weighting] {e}")))?;
        Ok(parsed)
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

/// The folder of the configuration that holds the population tables.
pub const POPULATION_FOLDER: &str = "population";
/// The configuration directory used when `--config` is not given and it exists in the
/// working directory with a `codebook/` in it.
pub const DEFAULT_CONFIG_DIR: &str = "config";
/// The pipeline file used when `--pipeline` is not given and it exists in the working directory.
pub const DEFAULT_PIPELINE_FILE: &str = "pipelines/nightly.toml";

/// The checkout's `config/`, embedded at build time (`build.rs` makes Cargo rebuild when a
/// file in it changes).
static EMBEDDED_CONFIG: include_dir::Dir<'static> = include_dir::include_dir!("$CARGO_MANIFEST_DIR/config");
/// The checkout's default pipeline file, embedded at build time.
pub const EMBEDDED_PIPELINE: &str = include_str!("../pipelines/nightly.toml");

/// Where the configuration is read from. Every loader reads its files by their path relative
/// to the configuration's root (`codebook/dataformat-2022.csv`), so both cases read alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// A directory on disk.
    Dir(PathBuf),
    /// The copy of `config/` embedded in the binary.
    Embedded,
}

impl ConfigSource {
    /// The bytes of the file at `relative` (`/`-separated).
    pub fn read(&self, relative: &str) -> Result<Vec<u8>> {
        match self {
            ConfigSource::Dir(dir) => {
                let path = dir.join(relative);
                std::fs::read(&path).with_context(|| format!("cannot read config file {}", path.display()))
            }
            ConfigSource::Embedded => EMBEDDED_CONFIG
                .get_file(relative)
                .map(|f| f.contents().to_vec())
                .with_context(|| format!("the embedded configuration has no file {relative}")),
        }
    }

    /// Every file, as `/`-separated paths relative to the root, in path order (component by
    /// component, the order the hash has always used).
    pub fn list(&self) -> Result<Vec<String>> {
        let mut files = Vec::new();
        match self {
            ConfigSource::Dir(dir) => {
                let mut paths = Vec::new();
                collect_files(dir, &mut paths)
                    .with_context(|| format!("cannot read config directory {}", dir.display()))?;
                for p in paths {
                    let rel = p.strip_prefix(dir).unwrap_or(&p);
                    files.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
            ConfigSource::Embedded => collect_embedded(&EMBEDDED_CONFIG, &mut files),
        }
        files.sort_by(|a, b| Path::new(a).cmp(Path::new(b)));
        Ok(files)
    }

    /// How a person is told which configuration is in use: `ingebouwd` or the directory.
    pub fn describe(&self) -> String {
        match self {
            ConfigSource::Dir(dir) => dir.display().to_string(),
            ConfigSource::Embedded => "ingebouwd (de standaardconfiguratie in het programma)".to_string(),
        }
    }

    /// `relative` as a person finds it: a path on disk, or marked as embedded.
    pub fn name_of(&self, relative: &str) -> String {
        match self {
            ConfigSource::Dir(dir) => dir.join(relative).display().to_string(),
            ConfigSource::Embedded => format!("(ingebouwd) config/{relative}"),
        }
    }
}

/// Where the pipeline file is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PipelineSource {
    File(PathBuf),
    /// The checkout's `pipelines/nightly.toml`, embedded in the binary.
    Embedded,
}

impl PipelineSource {
    pub fn describe(&self) -> String {
        match self {
            PipelineSource::File(path) => path.display().to_string(),
            PipelineSource::Embedded => "ingebouwd (pipelines/nightly.toml in het programma)".to_string(),
        }
    }
}

/// The configuration and pipeline file a command uses: the flag when given; else the checkout
/// default in the working directory (`config/` with a `codebook/` in it,
/// `pipelines/nightly.toml`) when it exists there; else the embedded copy. Each is decided
/// on its own, so `--config DIR` with the embedded pipeline file is possible.
pub fn resolve_defaults(config: Option<&Path>, pipeline: Option<&Path>) -> (ConfigSource, PipelineSource) {
    let config = match config {
        Some(dir) => ConfigSource::Dir(dir.to_path_buf()),
        None if Path::new(DEFAULT_CONFIG_DIR).join("codebook").is_dir() => {
            ConfigSource::Dir(PathBuf::from(DEFAULT_CONFIG_DIR))
        }
        None => ConfigSource::Embedded,
    };
    let pipeline = match pipeline {
        Some(file) => PipelineSource::File(file.to_path_buf()),
        None if Path::new(DEFAULT_PIPELINE_FILE).is_file() => {
            PipelineSource::File(PathBuf::from(DEFAULT_PIPELINE_FILE))
        }
        None => PipelineSource::Embedded,
    };
    (config, pipeline)
}

/// Codebook and municipality list, loaded once per process.
pub struct Config {
    pub codebook: Codebook,
    pub municipalities: Municipalities,
    /// The published indicators (`config/indicators/`).
    pub catalogue: Catalogue,
    /// What the indicators need from the codebook (don't-know codes, changed items).
    pub scoring: ScoringRules,
    /// BLAKE3 over every file of the configuration ([`hash_source`]).
    pub hash: String,
}

impl Config {
    pub fn load(dir: &Path) -> Result<Config, UsageError> {
        Config::load_from(&ConfigSource::Dir(dir.to_path_buf()))
    }

    pub fn load_from(source: &ConfigSource) -> Result<Config, UsageError> {
        let err = |e: anyhow::Error| UsageError(format!("{e:#}"));
        let codebook = Codebook::load_from(source).map_err(err)?;
        let catalogue = Catalogue::load_from(source, &codebook).map_err(|e| UsageError(e.to_string()))?;
        Ok(Config {
            scoring: ScoringRules::from_codebook(&codebook),
            catalogue,
            codebook,
            municipalities: Municipalities::load_from(source).map_err(err)?,
            hash: hash_source(source).map_err(err)?,
        })
    }
}

/// BLAKE3 over the relative paths and contents of every file under `dir`, in path order.
pub fn hash_tree(dir: &Path) -> Result<String> {
    hash_source(&ConfigSource::Dir(dir.to_path_buf()))
}

/// BLAKE3 over the relative paths and contents of every file of the configuration, in path
/// order: the embedded copy and the identical directory on disk hash alike, so a lake built
/// with either is the same.
pub fn hash_source(source: &ConfigSource) -> Result<String> {
    let mut hasher = blake3::Hasher::new();
    for rel in source.list()? {
        hasher.update(rel.as_bytes());
        hasher.update(&[0]);
        hasher.update(&source.read(&rel)?);
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

fn collect_embedded(dir: &include_dir::Dir<'static>, out: &mut Vec<String>) {
    for f in dir.files() {
        out.push(f.path().to_string_lossy().replace('\\', "/"));
    }
    for d in dir.dirs() {
        collect_embedded(d, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkout_config() -> ConfigSource {
        ConfigSource::Dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("config"))
    }

    #[test]
    fn the_embedded_copy_lists_reads_and_hashes_like_the_directory() {
        let (disk, embedded) = (checkout_config(), ConfigSource::Embedded);
        let files = disk.list().unwrap();
        assert_eq!(files, embedded.list().unwrap());
        assert!(files.iter().any(|f| f == "codebook/dataformat-2022.csv"));
        assert!(files.iter().any(|f| f.starts_with("population/")), "the real population tables are embedded");
        for f in &files {
            assert_eq!(disk.read(f).unwrap(), embedded.read(f).unwrap(), "{f}");
        }
        assert_eq!(hash_source(&embedded).unwrap(), hash_source(&disk).unwrap());
        assert!(embedded.read("no/such.csv").is_err());
    }

    #[test]
    fn the_embedded_configuration_loads_with_its_population() {
        let config = Config::load_from(&ConfigSource::Embedded).unwrap();
        assert_eq!(config.hash, hash_source(&checkout_config()).unwrap());
        let embedded = crate::population::load_from(&ConfigSource::Embedded, POPULATION_FOLDER).unwrap();
        let disk =
            crate::population::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/population")).unwrap();
        assert!(embedded.rows().count() > 0);
        assert_eq!(embedded.rows().count(), disk.rows().count());
    }

    #[test]
    fn the_embedded_pipeline_file_takes_its_population_from_the_configuration() {
        let (file, bytes) = PipelineFile::load_from(&PipelineSource::Embedded).unwrap();
        assert_eq!(bytes, EMBEDDED_PIPELINE.as_bytes());
        assert_eq!(file.paths.population, None);
        assert_eq!(file.paths.inbox.as_deref(), Some(Path::new("data/sample/inbox")));
    }
}
