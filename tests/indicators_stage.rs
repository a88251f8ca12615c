//! The indicators stage through the binary: `run` writes the respondent-level indicators per
//! year and the figure tables; every catalogue code has a figure for every municipality-year;
//! `reprocess --year` rewrites that year's indicators only; a newcomer's DuckDB query of
//! `indicators/national.parquet` gives the number the `indicators` command prints.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use burgerpeiling::codebook::Codebook;
use burgerpeiling::indicators::catalogue::Catalogue;
use burgerpeiling::indicators::figures::{MunicipalityFigure, NationalFigure};
use burgerpeiling::municipality::Municipalities;
use burgerpeiling::synth::{self, SynthOptions};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn config() -> (Codebook, Municipalities, Catalogue) {
    let dir = Path::new(ROOT).join("config");
    let cb = Codebook::load(&dir).unwrap();
    let catalogue = Catalogue::load(&dir, &cb).unwrap();
    (cb, Municipalities::load(&dir).unwrap(), catalogue)
}

fn burgerpeiling(dir: &Path, args: &[&str]) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_burgerpeiling"));
    c.current_dir(ROOT).args(["--progress", "never"]).args(args);
    if matches!(args[0], "run" | "reprocess") {
        c.arg("--inbox").arg(dir.join("sample/inbox")).arg("--lake").arg(dir.join("lake"));
        c.arg("--state").arg(dir.join("state")).arg("--population").arg(dir.join("sample/population"));
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn read<T>(path: &Path, rows: impl Fn(&arrow_array::RecordBatch) -> Option<Vec<T>>) -> Vec<T> {
    burgerpeiling::lake::read_parquet(path)
        .unwrap()
        .iter()
        .flat_map(|b| rows(b).expect("the table's columns"))
        .collect()
}

fn sample(dir: &Path) {
    let (cb, m, _) = config();
    let opts = SynthOptions {
        out: dir.join("sample"),
        municipalities: 3,
        years: (2021, 2023),
        respondents: 250,
        ..SynthOptions::default()
    };
    synth::synth(&opts, &cb, &m).unwrap();
}

fn lake_file(dir: &Path, relative: &str) -> PathBuf {
    dir.join("lake").join(relative)
}

#[test]
fn run_writes_every_catalogue_figure_and_reprocess_touches_one_year() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sample(dir);
    burgerpeiling(dir, &["run"]);
    let (_, _, catalogue) = config();

    // Respondent-level indicators: one partition per year, one row per respondent.
    for year in 2021..=2023 {
        let respondents = read(&lake_file(dir, &format!("respondents/jaar={year}/part-0000.parquet")), |b| {
            Some(vec![(); b.num_rows()])
        });
        let scores = read(&lake_file(dir, &format!("indicators/respondents/jaar={year}/part-0000.parquet")), |b| {
            Some(vec![(); b.num_rows()])
        });
        assert_eq!(scores.len(), respondents.len(), "{year}");
    }

    // Every catalogue code for every municipality-year, and nationally per age class.
    let municipal = read(&lake_file(dir, "indicators/municipality.parquet"), MunicipalityFigure::from_record_batch);
    let places: BTreeSet<(String, i16)> = municipal.iter().map(|f| (f.gemeente_code.clone(), f.jaar)).collect();
    assert_eq!(places.len(), 9, "3 municipalities x 3 years");
    assert_eq!(municipal.len(), places.len() * catalogue.indicators.len());
    let national = read(&lake_file(dir, "indicators/national.parquet"), NationalFigure::from_record_batch);
    let all_ages: Vec<&NationalFigure> = national.iter().filter(|f| f.lft_cy.is_none()).collect();
    assert_eq!(all_ages.len(), 3 * catalogue.indicators.len());
    // 250 respondents per municipality: no municipality-year reaches 475 completes.
    assert!(municipal.iter().all(|f| !f.published && f.reason.is_some()));
    let wl01 = all_ages.iter().find(|f| f.indicator == "wl01" && f.jaar == 2023).unwrap();
    assert!(wl01.published && wl01.n > 500, "{wl01:?}");
    let (estimate, low, high) = (wl01.estimate.unwrap(), wl01.ci_low.unwrap(), wl01.ci_high.unwrap());
    assert!((1.0..=10.0).contains(&estimate) && low < estimate && estimate < high);

    // reprocess --year 2022: the other years' indicator partitions keep their bytes.
    let before: Vec<Vec<u8>> = [2021, 2023]
        .iter()
        .map(|y| fs::read(lake_file(dir, &format!("indicators/respondents/jaar={y}/part-0000.parquet"))).unwrap())
        .collect();
    burgerpeiling(dir, &["reprocess", "--year", "2022"]);
    let after: Vec<Vec<u8>> = [2021, 2023]
        .iter()
        .map(|y| fs::read(lake_file(dir, &format!("indicators/respondents/jaar={y}/part-0000.parquet"))).unwrap())
        .collect();
    assert_eq!(before, after);
    let again = read(&lake_file(dir, "indicators/municipality.parquet"), MunicipalityFigure::from_record_batch);
    assert_eq!(again, municipal, "same inputs, same figures");
}

#[test]
fn duckdb_reads_the_same_national_figure_as_the_indicators_command() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sample(dir);
    burgerpeiling(dir, &["run"]);
    let lake = dir.join("lake");
    let printed = burgerpeiling(
        dir,
        &[
            "indicators",
            "--lake",
            lake.to_str().unwrap(),
            "--year",
            "2022",
            "--indicator",
            "zw06_1",
            "--format",
            "json",
        ],
    );
    let lines: Vec<serde_json::Value> = serde_json::from_str(&printed).unwrap();
    let all_ages = lines.iter().find(|l| l["lft_cy"].is_null()).expect("an all-ages figure");
    let query = format!(
        "select estimate from '{}' where indicator = 'zw06_1' and jaar = 2022 and lft_cy is null",
        lake.join("indicators/national.parquet").display()
    );
    let out = Command::new("python3")
        .args(["-c", "import duckdb, sys; print(repr(duckdb.sql(sys.argv[1]).fetchall()[0][0]))", &query])
        .output()
        .unwrap();
    assert!(out.status.success(), "DuckDB (pip install duckdb): {}", String::from_utf8_lossy(&out.stderr));
    let from_duckdb: f64 = String::from_utf8(out.stdout).unwrap().trim().parse().unwrap();
    assert_eq!(from_duckdb, all_ages["estimate"].as_f64().unwrap());
}
