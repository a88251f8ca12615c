//! End to end: `synth` writes deliveries, the `run` binary publishes them, and the lake read
//! back with the parquet crate holds exactly what was generated.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::{Array, BooleanArray, Float64Array, Int16Array, RecordBatch};
use arrow_schema::DataType;
use burgerpeiling::codebook::{Codebook, Questionnaire, Target};
use burgerpeiling::municipality::Municipalities;
use burgerpeiling::synth::{self, GeneratedDelivery, SynthOptions};
use common::{binary, read_parquet, strings};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn config() -> (Codebook, Municipalities) {
    let dir = Path::new(ROOT).join("config");
    (Codebook::load(&dir).unwrap(), Municipalities::load(&dir).unwrap())
}

fn options(out: &Path) -> SynthOptions {
    SynthOptions {
        out: out.to_path_buf(),
        seed: 7,
        municipalities: 3,
        years: (2021, 2023),
        respondents: 60,
        messy: false,
        ..SynthOptions::default()
    }
}

/// `run` on `inbox` (beside its `population/`) into `lake`, its state beside the lake.
fn run(inbox: &Path, lake: &Path) -> std::process::Output {
    common::run_args(&mut binary(), inbox.parent().unwrap(), lake, &lake.with_extension("state")).output().unwrap()
}

fn int16s<'a>(b: &'a RecordBatch, name: &str) -> &'a Int16Array {
    b.column_by_name(name).unwrap().as_any().downcast_ref().unwrap()
}

fn partitions(lake: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(lake.join("respondents"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn setup() -> (tempfile::TempDir, Vec<GeneratedDelivery>) {
    let dir = tempfile::tempdir().unwrap();
    let (cb, m) = config();
    let summary = synth::synth(&options(&dir.path().join("sample")), &cb, &m).unwrap();
    (dir, summary.deliveries)
}

#[test]
fn lake_holds_exactly_what_synth_generated() {
    let (dir, generated) = setup();
    let (cb, _) = config();
    let inbox = dir.path().join("sample/inbox");
    let lake = dir.path().join("lake");
    let out = run(&inbox, &lake);
    assert!(out.status.success(), "run failed: {}", String::from_utf8_lossy(&out.stderr));

    assert_eq!(partitions(&lake), ["jaar=2021", "jaar=2022", "jaar=2023"]);

    let mut expected_rows: BTreeMap<(String, u16), usize> = BTreeMap::new();
    for d in &generated {
        *expected_rows.entry((d.gemeente_code.clone(), d.year)).or_default() += d.respondents.len();
    }

    for year in [2021u16, 2022, 2023] {
        let b = read_parquet(&lake.join(format!("respondents/jaar={year}/part-0000.parquet")));
        check_schema(&b, &cb);

        // Row count per municipality-year.
        let codes = strings(&b, "gemeente_code");
        let mut got: BTreeMap<String, usize> = BTreeMap::new();
        for i in 0..b.num_rows() {
            *got.entry(codes.value(i).to_string()).or_default() += 1;
        }
        for (code, n) in &got {
            assert_eq!(Some(n), expected_rows.get(&(code.clone(), year)), "{code} {year}");
        }
        let expected_here = expected_rows.iter().filter(|((_, y), _)| *y == year).count();
        assert_eq!(got.len(), expected_here);

        // Sorted by gemeente_code, respondent_key; keys unique.
        let keys = strings(&b, "respondent_key");
        let pairs: Vec<(&str, &str)> = (0..b.num_rows()).map(|i| (codes.value(i), keys.value(i))).collect();
        let mut sorted = pairs.clone();
        sorted.sort();
        assert_eq!(pairs, sorted);
        sorted.dedup_by_key(|p| p.1);
        assert_eq!(sorted.len(), pairs.len());

        // Cells equal the generated values.
        for d in generated.iter().filter(|d| d.year == year) {
            check_cells(&b, d, &cb);
        }

        // Weights: every row weighted; per municipality-year they sum to its respondents, the
        // national weights to the year's; the cells are named.
        let weight: &Float64Array = b.column_by_name("weight").unwrap().as_any().downcast_ref().unwrap();
        let national: &Float64Array = b.column_by_name("weight_national").unwrap().as_any().downcast_ref().unwrap();
        let cell = strings(&b, "weight_cell");
        assert_eq!((weight.null_count(), national.null_count()), (0, 0));
        for (code, n) in &got {
            let sum: f64 = (0..b.num_rows()).filter(|&i| codes.value(i) == code).map(|i| weight.value(i)).sum();
            assert!((sum - *n as f64).abs() < 1e-6, "{code} {year}: weights sum to {sum}, not {n}");
        }
        let total: f64 = (0..b.num_rows()).map(|i| national.value(i)).sum();
        assert!((total - b.num_rows() as f64).abs() < 1e-6);
        assert!((0..b.num_rows()).all(|i| cell.is_null(i) || cell.value(i).starts_with("ch02=")));
        assert!((0..b.num_rows()).all(|i| weight.value(i) > 0.0 && weight.value(i) <= 3.0 + 1e-9));
    }
    let w = read_parquet(&lake.join("weighting.parquet"));
    for column in [
        "jr",
        "gemeente_code",
        "cell",
        "population",
        "population_share",
        "respondents",
        "weight",
        "collapsed_from",
        "trimmed",
        "n",
        "n_effective",
        "deff_kish",
        "weight_min",
        "weight_max",
        "method",
        "converged",
        "iterations",
        "population_source",
        "population_year",
    ] {
        assert!(w.column_by_name(column).is_some(), "weighting.parquet lacks {column}");
    }
    assert!(w.num_rows() >= 3 * 3 * 6, "cells of every municipality-year and NL01");
}

fn check_schema(b: &RecordBatch, cb: &Codebook) {
    let schema = b.schema();
    let ids: [(&str, DataType); 14] = [
        ("respondent_key", DataType::Utf8),
        ("delivery_id", DataType::Utf8),
        ("source_row", DataType::Int32),
        ("gemeente_code", DataType::Utf8),
        ("gemeente_naam", DataType::Utf8),
        ("gemnr", DataType::Int16),
        ("jr", DataType::Int16),
        ("kw", DataType::Int16),
        ("veldwerkmodus", DataType::Int16),
        ("org", DataType::Int16),
        ("respondent", DataType::Utf8),
        ("wijknr", DataType::Utf8),
        ("vragenlijst", DataType::Utf8),
        ("complete", DataType::Boolean),
    ];
    let fields = schema.fields();
    for (i, (name, ty)) in ids.iter().enumerate() {
        assert_eq!((fields[i].name().as_str(), fields[i].data_type()), (*name, ty));
    }
    for (j, c) in cb.columns.iter().enumerate() {
        let f = &fields[ids.len() + j];
        assert_eq!((f.name().as_str(), f.data_type()), (c.name.as_str(), &DataType::Int16));
        assert_eq!(f.metadata().get("label"), Some(&c.label));
    }
    let tail: Vec<(&str, &DataType)> =
        fields[fields.len() - 4..].iter().map(|f| (f.name().as_str(), f.data_type())).collect();
    assert_eq!(
        tail,
        [
            ("weging", &DataType::Float64),
            ("weight", &DataType::Float64),
            ("weight_national", &DataType::Float64),
            ("weight_cell", &DataType::Utf8)
        ]
    );
    for forbidden in ["ch08", "wl10", "inv01"] {
        assert!(schema.field_with_name(forbidden).is_err(), "{forbidden} in the lake");
    }
}

fn check_cells(b: &RecordBatch, d: &GeneratedDelivery, cb: &Codebook) {
    let q = if d.dataformat == "2022" { Questionnaire::V2022 } else { Questionnaire::V2019 };
    let codes = strings(b, "gemeente_code");
    let respondent = strings(b, "respondent");
    let rows: BTreeMap<&str, usize> =
        (0..b.num_rows()).filter(|&i| codes.value(i) == d.gemeente_code).map(|i| (respondent.value(i), i)).collect();
    assert_eq!(rows.len(), d.respondents.len(), "{}", d.file_name);
    let vragenlijst = strings(b, "vragenlijst");
    let weging: &Float64Array = b.column_by_name("weging").unwrap().as_any().downcast_ref().unwrap();
    let complete: &BooleanArray = b.column_by_name("complete").unwrap().as_any().downcast_ref().unwrap();
    let wijknr = strings(b, "wijknr");
    let gemnr = int16s(b, "gemnr");
    let ch02 = d.variables.iter().position(|v| v == "ch02").unwrap();
    // Every tenth respondent, every variable.
    for r in d.respondents.iter().step_by(10) {
        let i = rows[r.respondent.to_string().as_str()];
        assert_eq!(vragenlijst.value(i), q.as_str());
        assert_eq!(gemnr.value(i), d.gemnr);
        assert!((weging.value(i) - r.weging).abs() < 1e-9, "{} weging", d.file_name);
        assert_eq!(wijknr.is_valid(i).then(|| wijknr.value(i)), r.wijknr.as_deref());
        assert_eq!(complete.value(i), r.answers[ch02].is_some_and(|v| !(v < 0 || v == 88 || v == 99)));
        for (v, answer) in d.variables.iter().zip(&r.answers) {
            let Some(Target::Answer(a)) = cb.target(q, v) else {
                panic!("{v} is not a questionnaire variable of {}", d.dataformat);
            };
            // Declared missing → null; 2019 codes recoded onto 2022 codes where a rule exists.
            let expected = answer.filter(|c| !a.user_missing.contains(*c)).and_then(|c| a.recoded(c));
            let col = int16s(b, &cb.columns[a.column].name);
            let got = col.is_valid(i).then(|| col.value(i));
            assert_eq!(got, expected, "{} respondent {} {v}", d.file_name, r.respondent);
        }
    }
}

#[test]
fn a_bad_file_is_rejected_and_the_rest_published() {
    let (dir, generated) = setup();
    let inbox = dir.path().join("sample/inbox");
    fs::write(inbox.join("BP-2022-1-Utrecht.xlsx"), b"this is not a spreadsheet").unwrap();
    fs::write(inbox.join("empty.csv"), b"").unwrap();
    fs::write(inbox.join("notes.pdf"), b"%PDF-1.4").unwrap();
    // A byte-identical copy in another folder.
    let first = inbox.join(&generated[0].file_name);
    fs::create_dir_all(inbox.join("copies")).unwrap();
    fs::copy(&first, inbox.join("copies/again.csv")).unwrap();
    let lake = dir.path().join("lake");

    let out = run(&inbox, &lake);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(partitions(&lake).len(), 3);

    let d = read_parquet(&lake.join("deliveries.parquet"));
    let names = strings(&d, "file_name");
    let status = strings(&d, "status");
    let reason = strings(&d, "reason");
    let by_name: BTreeMap<&str, usize> = (0..d.num_rows()).map(|i| (names.value(i), i)).collect();
    assert_eq!(d.num_rows(), generated.len() + 3);
    let bad = by_name["BP-2022-1-Utrecht.xlsx"];
    assert_eq!(status.value(bad), "rejected");
    assert!(reason.value(bad).contains(".xlsx"), "{}", reason.value(bad));
    let empty = by_name["empty.csv"];
    assert_eq!(status.value(empty), "rejected");
    assert!(reason.value(empty).contains("empty"));
    assert_eq!(status.value(by_name["copies/again.csv"]), "duplicate_file");
    let published = (0..d.num_rows()).filter(|&i| status.value(i) == "published").count();
    assert_eq!(published, generated.len());
    assert!(!by_name.contains_key("notes.pdf"));

    // --strict turns a rejection into exit code 3.
    let strict = binary()
        .args(["run", "--strict", "--inbox"])
        .arg(&inbox)
        .arg("--population")
        .arg(dir.path().join("sample/population"))
        .arg("--state")
        .arg(dir.path().join("state2"))
        .arg("--lake")
        .arg(dir.path().join("lake2"))
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(3));
}

#[test]
fn same_inputs_give_byte_identical_parquet() {
    let (dir, _) = setup();
    let inbox = dir.path().join("sample/inbox");
    let a = dir.path().join("lake-a");
    let b = dir.path().join("lake-b");
    assert!(run(&inbox, &a).status.success());
    assert!(run(&inbox, &b).status.success());
    let files = |lake: &PathBuf| -> Vec<PathBuf> {
        let mut out = vec![lake.join("deliveries.parquet")];
        for p in partitions(lake) {
            out.push(lake.join("respondents").join(p).join("part-0000.parquet"));
        }
        out
    };
    for (fa, fb) in files(&a).iter().zip(files(&b)) {
        assert_eq!(fs::read(fa).unwrap(), fs::read(&fb).unwrap(), "{}", fa.display());
    }
    assert!(!a.join(".staging").exists(), "staging area left behind");
}

#[test]
fn usage_and_config_errors_exit_2() {
    let out = binary().args(["run", "--no-such-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let out = binary()
        .args(["run", "--inbox"])
        .arg(dir.path().join("missing"))
        .arg("--lake")
        .arg(dir.path().join("lake"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = binary().args(["--config"]).arg(dir.path()).args(["run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let bad_pipeline = dir.path().join("p.toml");
    fs::write(&bad_pipeline, "name = \"x\"\nunknown = 1\n").unwrap();
    let out = binary().arg("--pipeline").arg(&bad_pipeline).arg("run").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn planted_duplicates_are_dropped_and_explained_through_the_binary() {
    use burgerpeiling::synth::PlantedKind;
    let dir = tempfile::tempdir().unwrap();
    let (cb, m) = config();
    let opts = SynthOptions {
        municipalities: 4,
        years: (2022, 2023),
        respondents: 120,
        ..options(&dir.path().join("sample"))
    };
    let (summary, planted) = synth::synth_with_duplicates(&opts, 0.05, &cb, &m).unwrap();
    let count = |k: PlantedKind| planted.iter().filter(|p| p.kind == k).count();
    assert!(
        count(PlantedKind::DuplicateFile) > 0 && count(PlantedKind::Redelivery) > 0 && count(PlantedKind::ExactRow) > 0
    );

    let lake = dir.path().join("lake");
    let out = run(&dir.path().join("sample/inbox"), &lake);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let d = read_parquet(&lake.join("deliveries.parquet"));
    let status = strings(&d, "status");
    let dropped: &arrow_array::Int64Array =
        d.column_by_name("rows_dropped_duplicate").unwrap().as_any().downcast_ref().unwrap();
    let published: &arrow_array::Int64Array =
        d.column_by_name("rows_published").unwrap().as_any().downcast_ref().unwrap();
    let n = |s: &str| (0..d.num_rows()).filter(|&i| status.value(i) == s).count();
    assert_eq!(n("duplicate_file"), count(PlantedKind::DuplicateFile));
    assert_eq!(n("superseded"), count(PlantedKind::Redelivery));
    let dropped_rows: i64 = (0..d.num_rows()).map(|i| dropped.value(i)).sum();
    assert_eq!(dropped_rows as usize, count(PlantedKind::ExactRow) + count(PlantedKind::CrossMode));

    // The lake holds exactly the published rows, each key once.
    let mut rows = 0;
    let mut keys = std::collections::BTreeSet::new();
    for p in partitions(&lake) {
        let b = read_parquet(&lake.join("respondents").join(p).join("part-0000.parquet"));
        rows += b.num_rows();
        let k = strings(&b, "respondent_key");
        keys.extend((0..b.num_rows()).map(|i| k.value(i).to_string()));
    }
    assert_eq!(rows as i64, (0..d.num_rows()).map(|i| published.value(i)).sum::<i64>());
    assert_eq!(keys.len(), rows);
    let suffixed = keys.iter().filter(|k| k.matches('-').count() == 4).count();
    assert_eq!(suffixed, count(PlantedKind::ConflictingNumber));
    assert!(!summary.deliveries.is_empty());
}

#[test]
fn deliveries_weighted_with_the_real_cbs_tables() {
    // config/population holds the CBS KWB 2024 (gemeenten and wijken, five age bands, 65+ open)
    // and 70072ned 2025 (nine bands) tables, imported with `population import`.
    let dir = tempfile::tempdir().unwrap();
    let (cb, m) = config();
    let opts = SynthOptions { years: (2024, 2025), respondents: 200, ..options(&dir.path().join("sample")) };
    synth::synth(&opts, &cb, &m).unwrap();
    let lake = dir.path().join("lake");
    let out = binary()
        .args(["run", "--inbox"])
        .arg(dir.path().join("sample/inbox"))
        .arg("--lake")
        .arg(&lake)
        .arg("--population")
        .arg(Path::new(ROOT).join("config/population"))
        .arg("--state")
        .arg(dir.path().join("state"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for year in [2024, 2025] {
        let b = read_parquet(&lake.join(format!("respondents/jaar={year}/part-0000.parquet")));
        let weight: &Float64Array = b.column_by_name("weight").unwrap().as_any().downcast_ref().unwrap();
        assert_eq!(weight.null_count(), 0, "{year}: every row weighted");
        let total: f64 = weight.iter().flatten().sum();
        assert!((total - b.num_rows() as f64).abs() < 1e-6);
    }
    let w = read_parquet(&lake.join("weighting.parquet"));
    let cells = strings(&w, "cell");
    let sources = strings(&w, "population_source");
    let collapsed = strings(&w, "collapsed_from");
    // KWB's open 65+ band cannot be split: 65-74 and 75+ are one cell in 2024, and it says so.
    let merged = (0..w.num_rows()).find(|&i| sources.value(i).contains("kwb") && cells.value(i).contains("ch02=5+6"));
    let i = merged.expect("a merged 65+ cell from the KWB table");
    assert!(!collapsed.is_null(i));
    assert!((0..w.num_rows()).any(|i| sources.value(i).contains("70072ned")));
}

#[test]
fn a_format_mix_from_the_command_line_lands_in_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("sample");
    let spec = "xlsx=2,csv=2,sav=1,xls=1";
    let opts = options(&sample);
    let out = binary()
        .args(["synth", "--out"])
        .arg(&sample)
        .args([
            "--seed",
            "7",
            "--municipalities",
            "3",
            "--years",
            "2021-2023",
            "--respondents",
            "60",
            "--formats",
            spec,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "synth failed: {}", String::from_utf8_lossy(&out.stderr));
    let (cb, m) = config();
    let generated = synth::generate_with_formats(&opts, &synth::FormatMix::parse(spec).unwrap(), &cb, &m);
    let formats: std::collections::BTreeSet<&str> = generated.iter().map(|d| d.format.as_str()).collect();
    assert_eq!(formats.into_iter().collect::<Vec<_>>(), ["csv", "sav", "xls", "xlsx"]);
    for d in &generated {
        assert!(sample.join("inbox").join(&d.file_name).is_file(), "{} not written", d.file_name);
    }

    let lake = dir.path().join("lake");
    let out = run(&sample.join("inbox"), &lake);
    assert!(out.status.success(), "run failed: {}", String::from_utf8_lossy(&out.stderr));
    for year in [2021u16, 2022, 2023] {
        let b = read_parquet(&lake.join(format!("respondents/jaar={year}/part-0000.parquet")));
        check_schema(&b, &cb);
        let here: Vec<&GeneratedDelivery> = generated.iter().filter(|d| d.year == year).collect();
        assert_eq!(b.num_rows(), here.iter().map(|d| d.respondents.len()).sum::<usize>());
        for d in here {
            check_cells(&b, d, &cb);
        }
    }

    // Bad specs, and a mix with --messy or --duplicates, are usage errors.
    let bad = [
        vec!["--formats", "xlsb=1"],
        vec!["--formats", "xlsx"],
        vec!["--formats", "csv=0"],
        vec!["--formats", "xlsx=1", "--messy"],
        vec!["--formats", "xlsx=1", "--duplicates", "0.1"],
    ];
    for args in bad {
        let out = binary().args(["synth", "--out"]).arg(dir.path().join("refused")).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--formats") || stderr.contains("--messy"), "{args:?}: {stderr}");
        assert!(!dir.path().join("refused/inbox").exists(), "{args:?} wrote deliveries");
    }
}
