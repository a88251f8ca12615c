//! Population tables from the real CBS exports in `shared/reference-data/cbs/`: the KWB 2024
//! table (85984NED, gemeenten and wijken) and Regionale kerncijfers (70072ned, 2025,
//! municipalities by name), their alignment to the `ch02` bands, weighting against them, and
//! the contract CSV round trip and error messages of `population::load_dir`.

mod common;
use common::shared;
use std::path::Path;

use burgerpeiling::municipality::Municipalities;
use burgerpeiling::population::{self, PopulationRow, PopulationTable};
use burgerpeiling::weight::{self, Respondent, WeightOptions, align};

fn cbs(file: &str) -> Vec<u8> {
    std::fs::read(shared().join("reference-data/cbs").join(file)).unwrap()
}

fn municipalities() -> Municipalities {
    Municipalities::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
}

fn kwb() -> (Vec<PopulationRow>, Vec<String>) {
    population::import("cbs-kwb", &cbs("kwb-2024-85984NED.csv"), Some(2024), &municipalities()).unwrap()
}

fn regions(rows: &[PopulationRow], prefix: &str) -> std::collections::BTreeSet<String> {
    rows.iter().filter(|r| r.region.starts_with(prefix)).map(|r| r.region.clone()).collect()
}

#[test]
fn kwb_imports_gemeenten_and_wijken() {
    let (rows, problems) = kwb();
    let gm = regions(&rows, "GM");
    let wk = regions(&rows, "WK");
    println!("KWB: {} gemeenten, {} wijken, {} rows; {} problems", gm.len(), wk.len(), rows.len(), problems.len());
    for p in problems.iter().take(10) {
        println!("  {p}");
    }
    assert_eq!(gm.len(), 342);
    // Amsterdam's 110 districts have letter codes (WK0363AA) the contract's WK + 6 digits
    // cannot hold; they are skipped and reported.
    assert!(wk.len() > 3_200 && wk.len() <= 3_393, "{} wijken", wk.len());
    assert!(problems.iter().any(|p| p.contains("WK0363AA")));
    assert_eq!(regions(&rows, "NL01").len(), 1);
    // Every skipped wijk is reported.
    assert_eq!(3_393 - wk.len(), problems.iter().filter(|p| p.contains(": WK") || p.contains("\"WK")).count());
    // Amsterdam 2024 exactly as in the file: five bands, 65+ open.
    let ams: Vec<&PopulationRow> = rows.iter().filter(|r| r.region == "GM0363").collect();
    assert_eq!(ams.len(), 5);
    assert!(ams.iter().all(|r| r.year == 2024 && r.sex == population::Sex::Total));
    assert_eq!((ams[4].age_from, ams[4].age_to), (65, None));
}

#[test]
fn kwb_without_year_needs_one() {
    let m = municipalities();
    assert!(population::import("cbs-kwb", &cbs("kwb-2024-85984NED.csv"), None, &m).is_err());
    assert_eq!(population::year_from_file_name("kwb-2024-85984NED.csv"), Some(2024));
    assert!(population::import("cbs-unknown", b"", None, &m).is_err());
}

#[test]
fn seventy_thousand_72_resolves_names() {
    let m = municipalities();
    let (rows, problems) =
        population::import("cbs-70072ned", &cbs("regionale-kerncijfers-70072ned-2025.csv"), None, &m).unwrap();
    let gm = regions(&rows, "GM");
    println!("70072ned: {} municipalities resolved; unresolved / skipped ({}):", gm.len(), problems.len());
    for p in &problems {
        println!("  {p}");
    }
    assert!(rows.iter().all(|r| r.year == 2025), "year from Perioden");
    assert_eq!(regions(&rows, "NL01").len(), 1);
    // 343 rows have figures: Nederland and the 342 current municipalities.
    assert_eq!(gm.len() + problems.len(), 342);
    assert_eq!(gm.len(), 342, "every current municipality resolves, (gemeente) qualifiers included");
    assert!(
        gm.contains("GM0363") && gm.contains("GM0893") && gm.contains("GM0373"),
        "Amsterdam, Bergen (L.), Bergen (NH.)"
    );
    // Nine bands per region.
    assert_eq!(rows.iter().filter(|r| r.region == "GM0363").count(), 9);
}

#[test]
fn align_kwb_merges_65_plus_and_splits_uniformly() {
    let (rows, _) = kwb();
    let table = PopulationTable::from_rows(rows.clone(), "kwb").unwrap();
    for gm in ["GM0363", "GM0014", "GM1680"] {
        let p = table.region(gm, 2024).unwrap().unwrap();
        let a = align::align(&p.bands).unwrap();
        let labels: Vec<String> = a.groups.iter().map(|g| g.label()).collect();
        assert_eq!(labels, ["ch02=1", "ch02=2", "ch02=3", "ch02=4", "ch02=5+6"], "{gm}");
        assert!(!a.exact);
        let c = |from: u16| p.bands.iter().find(|b| b.from == from).unwrap().count as f64;
        // 18-29 = 7/10 of 15-24 + 5/20 of 25-44; 30-39 = 10/20 of 25-44; 40-54 = 5/20 of
        // 25-44 + 10/20 of 45-64; 55-64 = 10/20 of 45-64; 65+ whole.
        let close = |x: f64, y: f64| (x - y).abs() < 1e-9 * y;
        assert!(close(a.groups[0].population, c(15) * 7.0 / 10.0 + c(25) * 5.0 / 20.0), "{gm}");
        assert!(close(a.groups[1].population, c(25) * 10.0 / 20.0));
        assert!(close(a.groups[2].population, c(25) * 5.0 / 20.0 + c(45) * 10.0 / 20.0));
        assert!(close(a.groups[3].population, c(45) * 10.0 / 20.0));
        assert_eq!(a.groups[4].population, c(65));
        assert!(a.notes.iter().any(|n| n.contains("65+") && n.contains("ch02=5+6")), "{:?}", a.notes);
        assert!(
            a.notes.iter().any(|n| n.contains("15-24") && n.contains("7/10 to ch02=1") && n.contains("3/10 below 18"))
        );
    }
    // Districts align the same way.
    let wk = table.districts_of("GM0014", 2024);
    assert!(wk.len() > 5);
    let p = table.region(&wk[0], 2024).unwrap().unwrap();
    assert_eq!(align::align(&p.bands).unwrap().groups.len(), 5);
}

#[test]
fn align_70072ned_keeps_six_cells() {
    let m = municipalities();
    let (rows, _) =
        population::import("cbs-70072ned", &cbs("regionale-kerncijfers-70072ned-2025.csv"), None, &m).unwrap();
    let table = PopulationTable::from_rows(rows, "70072ned").unwrap();
    for gm in ["GM0363", "GM0344", "GM0599"] {
        let p = table.region(gm, 2025).unwrap().unwrap();
        let a = align::align(&p.bands).unwrap();
        assert_eq!(a.groups.len(), 6, "{gm}: 80+ is open but starts above 75, so no merge");
        let c = |from: u16| p.bands.iter().find(|b| b.from == from).unwrap().count as f64;
        let close = |x: f64, y: f64| (x - y).abs() < 1e-9 * y;
        assert!(close(a.groups[0].population, c(15) * 2.0 / 5.0 + c(20) + c(25) * 5.0 / 20.0));
        assert!(close(a.groups[4].population, c(65) * 10.0 / 15.0));
        assert!(close(a.groups[5].population, c(65) * 5.0 / 15.0 + c(80)));
    }
}

#[test]
fn weighting_against_kwb_uses_the_merged_cell() {
    let (rows, _) = kwb();
    let table = PopulationTable::from_rows(rows, "kwb").unwrap();
    // 600 Amsterdam respondents, skewed old, no districts.
    let resp: Vec<Respondent> = (0..600)
        .map(|i| Respondent {
            key: format!("GM0363-2024-Q1-{i:06}"),
            municipality: "GM0363".into(),
            age_band: Some([1, 2, 3, 3, 4, 4, 5, 5, 6, 6][i % 10]),
            wijknr: None,
            weging: None,
        })
        .collect();
    let w = weight::weight_municipality_year(2024, &resp, &table, &WeightOptions::default()).unwrap();
    let cells: Vec<&str> = w.table.iter().map(|c| c.cell.as_str()).collect();
    assert_eq!(cells, ["ch02=1", "ch02=2", "ch02=3", "ch02=4", "ch02=5+6"]);
    assert_eq!(w.table[4].collapsed_from.as_deref(), Some("ch02=5|ch02=6"));
    assert_eq!(w.cells[9].as_deref(), Some("ch02=5+6"));
    assert!((w.weights.iter().sum::<f64>() - 600.0).abs() < 1e-9);
    assert!(w.weights.iter().all(|&x| x <= 3.0));
    assert!(w.diagnostics.population_source.contains("GM0363 2024"), "{}", w.diagnostics.population_source);
    assert!(w.notes.iter().any(|n| n.rule.id == "weight.bands-approximated"));
    // A 2026 survey uses the 2024 table, reported.
    let later = weight::weight_municipality_year(2026, &resp, &table, &WeightOptions::default()).unwrap();
    assert_eq!(later.diagnostics.population_year, 2024);
}

#[test]
fn contract_csv_round_trip_and_load_dir() {
    let (rows, _) = kwb();
    let some: Vec<PopulationRow> =
        rows.into_iter().filter(|r| r.region == "GM0014" || r.region.starts_with("WK0014")).collect();
    let text = population::render_csv(&some);
    let mut reversed = some.clone();
    reversed.reverse();
    assert_eq!(text, population::render_csv(&reversed), "deterministic in any order");
    assert!(text.starts_with("year,region,age_from,age_to,sex,count\n2024,GM0014,0,14,total,"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kwb.csv"), &text).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a table").unwrap();
    let table = population::load_dir(dir.path()).unwrap();
    assert_eq!(table.rows().count(), some.len());
    // Errors name file, line and column.
    std::fs::write(
        dir.path().join("z-bad.csv"),
        "year,region,age_from,age_to,sex,count\n2024,GM0001,18,29,total,5\n2024,GM0001,30,,all,7\n",
    )
    .unwrap();
    let err = format!("{:#}", population::load_dir(dir.path()).unwrap_err());
    assert!(err.contains("z-bad.csv") && err.contains("line 3") && err.contains("column 5 (sex)"), "{err}");
    std::fs::write(dir.path().join("z-bad.csv"), "year,region,age_from,age_to,sex,count\n2024,GM001,18,29,total,5\n")
        .unwrap();
    let err = format!("{:#}", population::load_dir(dir.path()).unwrap_err());
    assert!(err.contains("line 2") && err.contains("column 2 (region)"), "{err}");
    // The same rows in two files are refused (they would be counted twice).
    std::fs::write(dir.path().join("z-bad.csv"), &text).unwrap();
    let err = format!("{:#}", population::load_dir(dir.path()).unwrap_err());
    assert!(err.contains("given twice"), "{err}");
}
