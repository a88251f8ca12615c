//! The corpus the criterion benchmarks share, and the steps that bring it to each stage's input.
//!
//! The corpus is the one of issue 9 and `bench/run.sh`: 60 municipalities × 2015-2024 × ~567
//! respondents (about 340,000), formats `xlsx=50,csv=40,sav=5,xls=5`, seed 1. It is synthesised
//! once into `target/bench-corpus/` and synthesised anew only when these settings change. Every
//! stage is benchmarked on one survey year (60 deliveries, about 34,000 rows) read and
//! harmonised here with the public APIs, the way `pipeline` chains them.

#![allow(dead_code)] // each benchmark uses its own part of this module

use std::path::{Path, PathBuf};

use burgerpeiling::assemble::YearTable;
use burgerpeiling::codebook::canonical_name;
use burgerpeiling::config::Config;
use burgerpeiling::dedup::{self, DedupOptions, NearDuplicates};
use burgerpeiling::harmonise::{self, Batch};
use burgerpeiling::ingest::{self, Delivery, RawTable};
use burgerpeiling::lake::RowWeights;
use burgerpeiling::pipeline;
use burgerpeiling::population::{self, PopulationTable};
use burgerpeiling::synth::{self, FormatMix, SynthOptions};
use burgerpeiling::weight::WeightOptions;

const SEED: u64 = 1;
const MUNICIPALITIES: usize = 60;
const YEARS: (u16, u16) = (2015, 2024);
const RESPONDENTS: usize = 567;
const FORMATS: &str = "xlsx=50,csv=40,sav=5,xls=5";

/// The survey year the stage benchmarks run on (2022 dataformat).
pub const YEAR: u16 = 2023;
/// A year in the 2019 dataformat, whose codes are recoded onto 2022's.
pub const YEAR_2019: u16 = 2020;

pub struct Corpus {
    pub config: Config,
    pub deliveries: Vec<Delivery>,
    pub population: PopulationTable,
}

/// The synthesised corpus (made on first use), its deliveries and population tables.
pub fn corpus() -> Corpus {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = Config::load(&root.join("config")).expect("the config directory loads");
    let out = root.join("target/bench-corpus");
    let settings =
        format!("seed {SEED}, {MUNICIPALITIES} municipalities, {YEARS:?}, {RESPONDENTS} respondents, {FORMATS}");
    let marker = out.join("settings.txt");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(settings.as_str()) {
        let _ = std::fs::remove_dir_all(&out);
        let opts = SynthOptions {
            out: out.clone(),
            seed: SEED,
            municipalities: MUNICIPALITIES,
            years: YEARS,
            respondents: RESPONDENTS,
            messy: false,
            ..SynthOptions::default()
        };
        let mix = FormatMix::parse(FORMATS).expect("the benchmark's format mix parses");
        synth::synth_with_formats(&opts, &mix, &config.codebook, &config.municipalities)
            .expect("synthesise the benchmark corpus under target/bench-corpus");
        std::fs::write(&marker, &settings).expect("write target/bench-corpus/settings.txt");
    }
    let deliveries = ingest::discover(&out.join("inbox"), u64::MAX).expect("list the corpus").deliveries;
    let population = population::load_dir(&out.join("population")).expect("the corpus' population table loads");
    Corpus { config, deliveries, population }
}

/// Reads one delivery as the pipeline does.
pub fn read(c: &Corpus, d: &Delivery) -> RawTable {
    let known = |name: &str| c.config.codebook.is_known(&canonical_name(name));
    let (table, findings) = ingest::read(&d.path, d.format, &d.id, &known, u64::MAX);
    table.unwrap_or_else(|| panic!("{} does not read: {findings:?}", d.file_name))
}

/// The deliveries of one survey year (their file names start with `<year>/`).
pub fn deliveries_of(c: &Corpus, year: u16) -> Vec<&Delivery> {
    let prefix = format!("{year}/");
    c.deliveries.iter().filter(|d| d.file_name.starts_with(&prefix)).collect()
}

/// One survey year's raw tables, with their deliveries.
pub fn tables(c: &Corpus, year: u16) -> Vec<(&Delivery, RawTable)> {
    deliveries_of(c, year).into_iter().map(|d| (d, read(c, d))).collect()
}

/// Harmonises one raw table.
pub fn harmonise_one(c: &Corpus, d: &Delivery, table: &RawTable) -> harmonise::Harmonised {
    let context = harmonise::Context { delivery_id: &d.id, hints: &d.hints, forced_version: None };
    harmonise::harmonise(table, &context, &c.config.codebook, &c.config.municipalities)
}

/// One survey year's batches, in inbox order.
pub fn batches(c: &Corpus, year: u16) -> Vec<Batch> {
    tables(c, year)
        .iter()
        .map(|(d, t)| harmonise_one(c, d, t).batch.unwrap_or_else(|| panic!("{} is rejected", d.file_name)))
        .collect()
}

/// The pipeline's deduplication options (`pipelines/nightly.toml`: near duplicates reported).
pub fn dedup_options(c: &Corpus) -> DedupOptions {
    DedupOptions::new(&c.config.codebook, NearDuplicates::Report)
}

/// One survey year's batches after deduplication, as the pipeline assembles them.
pub fn kept_batches(c: &Corpus, year: u16) -> Vec<Batch> {
    let all = batches(c, year);
    let refs: Vec<&Batch> = all.iter().collect();
    dedup::kept_batches(&refs, &dedup::dedup_year(&refs, &dedup_options(c)))
}

/// Weights one assembled survey year as the pipeline does (`pipeline::weigh_year`, with the
/// pipeline's default options).
pub fn weigh(c: &Corpus, table: &YearTable) -> RowWeights {
    pipeline::weigh_year(table, &c.config.codebook, &c.population, &WeightOptions::default()).expect("weights").weights
}

/// A scratch directory under `target/` for benchmarks that write files.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory under target/");
    dir
}
