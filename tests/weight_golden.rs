//! Golden weighting cases: every case of `shared/golden/weights/` (computed with R's `survey`
//! package) reproduced from its own input files, weights and the `cells.csv`,
//! `diagnostics.csv`, `intermediate.csv` and `trim_summary.csv` figures compared. Plus
//! property tests of the weighting invariants and a timing of a 340,000-row year.
//!
//! Tolerances are the fixtures' own (README): relative 1e-10 for post-stratification and
//! trimming (values are printed with 12 significant digits), 1e-9 for raking. They are never
//! widened here.
//!
//! The fixtures exercise pure calibration, so these tests switch off what R does not do:
//! trimming (`cap: None`; `trim_cap5` calls the trimming step itself with cap 5, which the
//! pipeline options refuse) and sparse-cell merging (`min_cell: 1`; `poststrat_age_wijk` has a
//! 5-respondent cell that the default `min_cell` 10 would merge).

mod common;
use common::shared;
use std::collections::BTreeMap;
use std::path::PathBuf;

use burgerpeiling::population::{self, PopulationTable};
use burgerpeiling::weight::{self, Method, MunicipalityYearWeights, Respondent, Trim, WeightOptions, align, trim};
use proptest::prelude::*;

fn case_dir(case: &str) -> PathBuf {
    shared().join("golden/weights").join(case)
}

/// A CSV as header → column maps, one per row.
fn read_csv(case: &str, file: &str) -> Vec<BTreeMap<String, String>> {
    let path = case_dir(case).join(file);
    let mut rdr = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            header.iter().cloned().zip(r.iter().map(str::to_string)).collect()
        })
        .collect()
}

fn num(row: &BTreeMap<String, String>, col: &str) -> f64 {
    row[col].parse().unwrap_or_else(|_| panic!("{col}={:?} is not a number", row[col]))
}

fn respondents(case: &str) -> Vec<Respondent> {
    read_csv(case, "respondents.csv")
        .into_iter()
        .map(|r| Respondent {
            key: r["respondent_key"].clone(),
            municipality: r["gemeente_code"].clone(),
            age_band: r["ch02"].parse().ok(),
            wijknr: r.get("wijknr").filter(|w| !w.is_empty()).cloned(),
            weging: None,
        })
        .collect()
}

fn population(case: &str) -> PopulationTable {
    let bytes = std::fs::read(case_dir(case).join("population.csv")).unwrap();
    let rows = population::parse_csv(&bytes, "population.csv").unwrap();
    PopulationTable::from_rows(rows, "population.csv").unwrap()
}

/// Options reproducing R's pure calibration (see the module doc).
fn calibration_only() -> WeightOptions {
    WeightOptions { cap: None, min_cell: 1, ..WeightOptions::default() }
}

/// Largest relative deviation; panics above `tol`.
fn assert_close(what: &str, ours: &[f64], expected: &[f64], tol: f64) -> f64 {
    assert_eq!(ours.len(), expected.len(), "{what}: lengths");
    let mut worst = 0.0f64;
    for (i, (a, b)) in ours.iter().zip(expected).enumerate() {
        let rel = (a - b).abs() / b.abs().max(1e-300);
        assert!(rel <= tol, "{what}[{i}]: ours {a:.17} expected {b:.17} (relative {rel:.3e} > {tol:.0e})");
        worst = worst.max(rel);
    }
    println!("{what}: max relative deviation {worst:.3e} over {} values", ours.len());
    worst
}

fn expected_weights(case: &str, col: &str, keys: &[String]) -> Vec<f64> {
    let rows = read_csv(case, "expected.csv");
    let by_key: BTreeMap<String, f64> = rows.iter().map(|r| (r["respondent_key"].clone(), num(r, col))).collect();
    keys.iter().map(|k| by_key[k]).collect()
}

/// Compares our weighting table with `cells.csv` (rows of `gm`), on the columns it has.
fn assert_cells(case: &str, gm: &str, table: &[weight::WeightingCell], tol: f64) {
    let expected: Vec<_> = read_csv(case, "cells.csv").into_iter().filter(|r| r["gemeente_code"] == gm).collect();
    assert_eq!(table.len(), expected.len(), "{case} {gm}: number of cells");
    let ours: BTreeMap<&str, &weight::WeightingCell> = table.iter().map(|c| (c.cell.as_str(), c)).collect();
    for e in &expected {
        let c = ours.get(e["cell"].as_str()).unwrap_or_else(|| panic!("{case}: cell {} missing", e["cell"]));
        assert_eq!(c.respondents, num(e, "respondents") as usize, "{case} {}: respondents", e["cell"]);
        assert_close(&format!("{case} {} weight", e["cell"]), &[c.weight], &[num(e, "weight")], tol);
        if !e["population"].is_empty() {
            assert_eq!(c.population, Some(num(e, "population")), "{case} {}: population", e["cell"]);
        } else {
            assert_eq!(c.population, None);
        }
        if let Some(s) = e.get("population_share") {
            assert_close(
                &format!("{case} {} share", e["cell"]),
                &[c.population_share.unwrap_or(f64::NAN)],
                &[s.parse().unwrap()],
                tol,
            );
        }
        if let Some(u) = e.get("weight_untrimmed") {
            assert_close(&format!("{case} {} untrimmed", e["cell"]), &[c.weight_untrimmed], &[u.parse().unwrap()], tol);
        }
    }
}

fn assert_diagnostics(case: &str, w: &MunicipalityYearWeights, tol: f64) {
    let d = &read_csv(case, "diagnostics.csv")[0];
    let g = &w.diagnostics;
    assert_eq!(g.n, num(d, "n") as usize);
    let sum: f64 = w.weights.iter().sum();
    assert_close(
        &format!("{case} diagnostics"),
        &[sum, g.deff_kish, g.n_effective, g.weight_min, g.weight_max],
        &[num(d, "sum_w"), num(d, "deff_kish"), num(d, "n_effective"), num(d, "weight_min"), num(d, "weight_max")],
        tol,
    );
}

fn run_case(case: &str, opts: &WeightOptions) -> (Vec<Respondent>, MunicipalityYearWeights) {
    let rows = respondents(case);
    let pop = population(case);
    let w = weight::weight_municipality_year(2023, &rows, &pop, opts).unwrap();
    (rows, w)
}

fn keys(rows: &[Respondent]) -> Vec<String> {
    rows.iter().map(|r| r.key.clone()).collect()
}

#[test]
fn golden_poststrat_age() {
    let (rows, w) = run_case("poststrat_age", &calibration_only());
    assert_eq!(w.diagnostics.method, "age");
    assert_close("poststrat_age", &w.weights, &expected_weights("poststrat_age", "weight", &keys(&rows)), 1e-10);
    assert_cells("poststrat_age", "GM0363", &w.table, 1e-10);
    assert_diagnostics("poststrat_age", &w, 1e-10);
    assert_eq!(w.cells[0].as_deref().map(|c| c.starts_with("ch02=")), Some(true));
}

#[test]
fn golden_poststrat_age_missing() {
    let (rows, w) = run_case("poststrat_age_missing", &calibration_only());
    assert_close(
        "poststrat_age_missing",
        &w.weights,
        &expected_weights("poststrat_age_missing", "weight", &keys(&rows)),
        1e-10,
    );
    assert_cells("poststrat_age_missing", "GM0363", &w.table, 1e-10);
    for (r, (x, c)) in rows.iter().zip(w.weights.iter().zip(&w.cells)) {
        if r.age_band.is_none() {
            assert_eq!(*x, 1.0);
            assert_eq!(*c, None);
        }
    }
    assert!((w.weights.iter().sum::<f64>() - 600.0).abs() < 1e-9);
}

#[test]
fn golden_poststrat_age_wijk() {
    let (rows, w) = run_case("poststrat_age_wijk", &calibration_only());
    assert_eq!(w.diagnostics.method, "age-district", "auto picks age x district");
    assert_close(
        "poststrat_age_wijk",
        &w.weights,
        &expected_weights("poststrat_age_wijk", "weight", &keys(&rows)),
        1e-10,
    );
    assert_cells("poststrat_age_wijk", "GM0344", &w.table, 1e-10);
    assert_diagnostics("poststrat_age_wijk", &w, 1e-10);
}

#[test]
fn golden_poststrat_age_wijk_default_min_cell_merges_the_5_respondent_cell() {
    // With the product default min_cell = 10 the fixture's 5-respondent cell is merged.
    let opts = WeightOptions { cap: None, ..WeightOptions::default() };
    let (_, w) = run_case("poststrat_age_wijk", &opts);
    let merged = w.table.iter().find(|c| c.cell == "ch02=1+2;wijk=WK034403").expect("merged cell");
    assert_eq!(merged.collapsed_from.as_deref(), Some("ch02=1;wijk=WK034403|ch02=2;wijk=WK034403"));
    assert_eq!(merged.respondents, 16);
}

#[test]
fn golden_rake_age_wijk() {
    // R stopped when no joint cell changed by more than 1e-10 of n between sweeps, and is
    // within 1.9e-13 of the fixed point. Our default stop (largest margin gap ≤ 1e-9 of the
    // total) leaves the weights up to ~1e-8 (relative) from the fixed point: a margin
    // category is a fraction of the total, so its relative gap is several times the tolerance. To compare
    // at the fixture's 1e-9 the raking is run to 1e-12 of the total here; the default's own
    // distance to R is checked (and printed) in `golden_rake_age_wijk_default_tolerance`.
    let opts = WeightOptions { tolerance: 1e-12, ..calibration_only() };
    let (rows, w) = run_case("rake_age_wijk", &opts);
    assert_eq!(w.diagnostics.method, "rake", "auto rakes when districts have totals only");
    assert!(w.diagnostics.converged);
    println!("rake_age_wijk: {} sweeps (R: 13 by its own stopping rule)", w.diagnostics.iterations);
    assert_close("rake_age_wijk", &w.weights, &expected_weights("rake_age_wijk", "weight", &keys(&rows)), 1e-9);
    assert_cells("rake_age_wijk", "GM0599", &w.table, 1e-9);
    assert_diagnostics("rake_age_wijk", &w, 1e-9);
    let s = &read_csv("rake_age_wijk", "rake_summary.csv")[0];
    assert_eq!(s["converged"], "TRUE");
}

#[test]
fn golden_rake_age_wijk_default_tolerance() {
    let (rows, w) = run_case("rake_age_wijk", &calibration_only());
    assert!(w.diagnostics.converged);
    println!("rake_age_wijk at the default tolerance: {} sweeps", w.diagnostics.iterations);
    // Documented bound of the default stopping rule (see above), not the fixture's
    // tolerance: measured 1.01e-8 (relative) at the smallest joint cell.
    assert_close(
        "rake_age_wijk (default tolerance 1e-9 of total)",
        &w.weights,
        &expected_weights("rake_age_wijk", "weight", &keys(&rows)),
        2e-8,
    );
}

#[test]
fn golden_rake_non_convergence_is_reported() {
    let opts = WeightOptions { max_iterations: 2, ..calibration_only() };
    let (_, w) = run_case("rake_age_wijk", &opts);
    assert!(!w.diagnostics.converged);
    assert_eq!(w.diagnostics.iterations, 2);
    assert!(w.notes.iter().any(|n| n.rule.id == "weight.not-converged"));
}

#[test]
fn golden_trim_cap5() {
    let case = "trim_cap5";
    let (rows, w) = run_case(case, &calibration_only());
    let k = keys(&rows);
    let inter = read_csv(case, "intermediate.csv");
    let col = |c: &str| -> Vec<f64> {
        let m: BTreeMap<String, f64> = inter.iter().map(|r| (r["respondent_key"].clone(), num(r, c))).collect();
        k.iter().map(|x| m[x]).collect()
    };
    assert_close("trim_cap5 step 1 (poststrat)", &w.weights, &col("weight_poststrat"), 1e-10);
    // The pipeline refuses cap 5 (protocol: weights of 5 or more are never delivered) ...
    let refused = WeightOptions { cap: Some(5.0), ..WeightOptions::default() };
    assert!(refused.validate().is_err());
    // ... so the fixture's cap 5 exercises the trimming step directly.
    let t = trim::trim(&w.weights, 5.0, Trim::Equal);
    let summary = &read_csv(case, "trim_summary.csv")[0];
    assert_eq!(t.passes, num(summary, "passes") as usize, "R's trimWeights passes");
    assert_eq!(t.trimmed.iter().filter(|&&x| x).count(), num(summary, "rows_trimmed") as usize);
    assert_close("trim_cap5 step 2+3 (trimmed, rescaled)", &t.weights, &col("weight"), 1e-10);
    assert_close("trim_cap5 expected.csv", &t.weights, &expected_weights(case, "weight", &k), 1e-10);
    // R ends one ulp above 5 (5.0000000000000009); we clamp: never above the cap.
    assert!(t.weights.iter().all(|&x| x <= 5.0));
    assert!((t.weights.iter().sum::<f64>() - 500.0).abs() < 1e-9);
    // Cells: trimmed counts per cell from the same step.
    let cells = read_csv(case, "cells.csv");
    for c in &cells {
        let code: u8 = c["cell"].trim_start_matches("ch02=").parse().unwrap();
        let idx: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].age_band == Some(code as i16)).collect();
        let n_trim = idx.iter().filter(|&&i| t.trimmed[i]).count();
        assert_eq!(n_trim, num(c, "trimmed") as usize, "{}", c["cell"]);
        assert_close(&format!("trim_cap5 {}", c["cell"]), &[t.weights[idx[0]]], &[num(c, "weight")], 1e-10);
    }
    // Options in the pipeline's range trim inside weight_municipality_year and keep the cap.
    let opts = WeightOptions { cap: Some(4.99), min_cell: 1, ..WeightOptions::default() };
    let (_, w) = run_case(case, &opts);
    assert!(w.weights.iter().all(|&x| x <= 4.99));
    assert_eq!(w.diagnostics.trimmed, 36);
    assert_eq!(w.table.iter().map(|c| c.trimmed).sum::<usize>(), 36);
}

#[test]
fn golden_multi_municipality() {
    let case = "multi_municipality";
    let rows = respondents(case);
    let pop = population(case);
    let k = keys(&rows);
    let mut ours = vec![f64::NAN; rows.len()];
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        groups.entry(r.municipality.clone()).or_default().push(i);
    }
    for (gm, idx) in &groups {
        let sub: Vec<Respondent> = idx.iter().map(|&i| rows[i].clone()).collect();
        let w = weight::weight_municipality_year(2023, &sub, &pop, &calibration_only()).unwrap();
        for (j, &i) in idx.iter().enumerate() {
            ours[i] = w.weights[j];
        }
        assert!((w.weights.iter().sum::<f64>() - sub.len() as f64).abs() < 1e-9);
        assert_cells(case, gm, &w.table, 1e-10);
    }
    assert_close("multi_municipality weight", &ours, &expected_weights(case, "weight", &k), 1e-10);
    let nat = weight::national_weights(2023, &rows, &pop).unwrap();
    assert_close(
        "multi_municipality weight_national",
        &nat.weights,
        &expected_weights(case, "weight_national", &k),
        1e-10,
    );
    assert_cells(case, "NL01", &nat.table, 1e-10);
    assert!((nat.weights.iter().sum::<f64>() - 1510.0).abs() < 1e-9);
}

#[test]
fn golden_band_alignment() {
    let case = "band_alignment";
    let pop = population(case);
    let region = pop.region("GM0307", 2023).unwrap().unwrap();
    let a = align::align(&region.bands).unwrap();
    assert!(a.exact, "single years nest in the ch02 bands");
    let bands = read_csv(case, "population_bands.csv");
    let summed: Vec<f64> = a.groups.iter().map(|g| g.population).collect();
    let expected: Vec<f64> = bands.iter().map(|b| num(b, "count")).collect();
    assert_eq!(summed, expected, "75+ includes 86..99 and 100+, as the fixture does");
    let (rows, w) = run_case(case, &calibration_only());
    assert_close("band_alignment", &w.weights, &expected_weights(case, "weight", &keys(&rows)), 1e-10);
    assert_cells(case, "GM0307", &w.table, 1e-10);
}

#[test]
fn earlier_population_year_is_used_and_reported() {
    let (rows, _) = run_case("poststrat_age", &calibration_only());
    let pop = population("poststrat_age");
    let w = weight::weight_municipality_year(2025, &rows, &pop, &calibration_only()).unwrap();
    assert_eq!(w.diagnostics.population_year, 2023);
    assert!(w.notes.iter().any(|n| n.rule.id == "weight.population-earlier-year"));
    let err = weight::weight_municipality_year(2022, &rows, &pop, &calibration_only()).unwrap_err();
    assert_eq!(err.rule().map(|r| r.id), Some("weight.no-population"));
}

#[test]
fn explicit_age_method_ignores_districts() {
    let opts = WeightOptions { method: Method::Age, ..calibration_only() };
    let (_, w) = run_case("poststrat_age_wijk", &opts);
    // GM0344's own rows exist too, so age-only works and cells are age-only.
    assert_eq!(w.diagnostics.method, "age");
    assert!(w.table.iter().all(|c| !c.cell.contains("wijk")));
}

#[test]
fn options_from_the_pipeline_file() {
    let o: WeightOptions = toml::from_str("method = \"age-district\"\ncap = 2.5\ntrim = \"proportional\"\n").unwrap();
    assert_eq!(o.method, Method::AgeDistrict);
    assert_eq!(o.cap, Some(2.5));
    assert_eq!(o.trim, Trim::Proportional);
    assert_eq!(o.min_cell, 10);
    let d: WeightOptions = toml::from_str("").unwrap();
    assert_eq!(d, WeightOptions::default());
    assert!(toml::from_str::<WeightOptions>("caps = 3.0").is_err());
    let five: WeightOptions = toml::from_str("cap = 5.0").unwrap();
    assert!(five.validate().is_err());
}

// ---- property tests ------------------------------------------------------------------------

fn synthetic_population(counts: &[u64; 6]) -> PopulationTable {
    let bands = [(18, Some(29)), (30, Some(39)), (40, Some(54)), (55, Some(64)), (65, Some(74)), (75, None)];
    let rows = bands
        .iter()
        .zip(counts)
        .map(|(&(f, t), &c)| population::PopulationRow {
            year: 2023,
            region: "GM0001".into(),
            age_from: f,
            age_to: t,
            sex: population::Sex::Total,
            count: c,
        })
        .collect();
    PopulationTable::from_rows(rows, "synthetic").unwrap()
}

fn synthetic_rows(ages: &[Option<i16>]) -> Vec<Respondent> {
    ages.iter()
        .enumerate()
        .map(|(i, &a)| Respondent {
            key: format!("GM0001-2023-Q1-{i:06}"),
            municipality: "GM0001".into(),
            age_band: a,
            wijknr: None,
            weging: None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Weights are positive, sum to n; with every cell filled and no trimming the weighted
    /// cell shares equal the population shares; with trimming nothing exceeds the cap.
    #[test]
    fn weighting_invariants(
        counts in prop::array::uniform6(1u64..2_000_000),
        ages in prop::collection::vec(prop::option::weighted(0.97, 1i16..=6), 1..800),
        cap in 1.2f64..4.99,
        proportional in any::<bool>(),
    ) {
        let pop = synthetic_population(&counts);
        let rows = synthetic_rows(&ages);
        let n = rows.len() as f64;
        for opts in [
            calibration_only(),
            WeightOptions::default(),
            WeightOptions { cap: Some(cap), trim: if proportional { Trim::Proportional } else { Trim::Equal }, ..WeightOptions::default() },
        ] {
            let Ok(w) = weight::weight_municipality_year(2023, &rows, &pop, &opts) else { continue };
            prop_assert!(w.weights.iter().all(|&x| x > 0.0 && x.is_finite()));
            prop_assert!((w.weights.iter().sum::<f64>() - n).abs() < 1e-9 * n.max(1.0), "sum {} n {}", w.weights.iter().sum::<f64>(), n);
            if let Some(c) = opts.cap {
                prop_assert!(w.weights.iter().all(|&x| x <= c), "max {} cap {}", w.diagnostics.weight_max, c);
            }
            let merged = w.table.iter().any(|c| c.collapsed_from.is_some());
            if opts.cap.is_none() && !merged {
                // Weighted share of each cell among known-age rows = population share.
                let known: f64 = w.weights.iter().zip(&rows).filter(|(_, r)| r.age_band.is_some()).map(|(x, _)| *x).sum();
                for c in &w.table {
                    let sw: f64 = w.weights.iter().zip(&w.cells).filter(|(_, l)| l.as_deref() == Some(c.cell.as_str())).map(|(x, _)| *x).sum();
                    let share = c.population_share.unwrap_or(f64::NAN);
                    prop_assert!((sw / known - share).abs() < 1e-9, "{}: {} vs {}", c.cell, sw / known, share);
                }
            }
        }
    }

    /// Trimming alone: cap holds, total kept, order of weights kept.
    #[test]
    fn trimming_invariants(ws in prop::collection::vec(0.01f64..20.0, 2..500), cap_f in 1.05f64..4.99, proportional in any::<bool>()) {
        let n = ws.len() as f64;
        let s: f64 = ws.iter().sum();
        let w: Vec<f64> = ws.iter().map(|x| x * n / s).collect();
        let mode = if proportional { Trim::Proportional } else { Trim::Equal };
        let t = trim::trim(&w, cap_f, mode);
        prop_assert!(t.settled);
        prop_assert!(t.weights.iter().all(|&x| x <= cap_f && x > 0.0));
        prop_assert!((t.weights.iter().sum::<f64>() - n).abs() < 1e-9 * n);
    }
}

// ---- timing --------------------------------------------------------------------------------

/// 570 municipality-years × 600 rows (342,000 respondents), age × district for half of them,
/// plus the national weights of the pooled year. Prints the time; asserts only correctness
/// (timings are for the report, CI machines vary).
#[test]
fn timing_340k_respondent_year() {
    use std::time::Instant;
    let mut rows_all: Vec<Vec<Respondent>> = Vec::new();
    let mut pop_rows = Vec::new();
    let bands = [(18u16, Some(29u16)), (30, Some(39)), (40, Some(54)), (55, Some(64)), (65, Some(74)), (75, None)];
    let mut state: u64 = 0x9E3779B97F4A7C15;
    let mut next = || {
        // xorshift64*: deterministic without a dependency on rand's versions
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545F4914F6CDD1D)
    };
    for m in 0..570u32 {
        let gm = format!("GM{:04}", m + 1);
        let with_districts = m % 2 == 0;
        for (k, (f, t)) in bands.iter().enumerate() {
            pop_rows.push(population::PopulationRow {
                year: 2023,
                region: gm.clone(),
                age_from: *f,
                age_to: *t,
                sex: population::Sex::Total,
                count: 1000 + 300 * k as u64,
            });
            if with_districts {
                for d in 0..3 {
                    pop_rows.push(population::PopulationRow {
                        year: 2023,
                        region: format!("WK{:04}{d:02}", m + 1),
                        age_from: *f,
                        age_to: *t,
                        sex: population::Sex::Total,
                        count: 300 + 100 * k as u64 + 50 * d as u64,
                    });
                }
            }
        }
        let rows: Vec<Respondent> = (0..600)
            .map(|i| {
                let r = next();
                Respondent {
                    key: format!("{gm}-2023-Q1-{i:06}"),
                    municipality: gm.clone(),
                    age_band: if r % 50 == 0 { None } else { Some((r % 6) as i16 + 1) },
                    wijknr: with_districts.then(|| format!("WK{:04}{:02}", m + 1, (r >> 8) % 3)),
                    weging: Some(1.0),
                }
            })
            .collect();
        rows_all.push(rows);
    }
    for (k, (f, t)) in bands.iter().enumerate() {
        pop_rows.push(population::PopulationRow {
            year: 2023,
            region: "NL01".into(),
            age_from: *f,
            age_to: *t,
            sex: population::Sex::Total,
            count: 2_000_000 + 100_000 * k as u64,
        });
    }
    let pop = PopulationTable::from_rows(pop_rows, "synthetic").unwrap();
    let opts = WeightOptions::default();
    let start = Instant::now();
    let mut total = 0usize;
    for rows in &rows_all {
        let w = weight::weight_municipality_year(2023, rows, &pop, &opts).unwrap();
        total += w.weights.len();
    }
    let pooled: Vec<Respondent> = rows_all.into_iter().flatten().collect();
    let nat = weight::national_weights(2023, &pooled, &pop).unwrap();
    let elapsed = start.elapsed();
    assert_eq!(total, 342_000);
    assert_eq!(nat.weights.len(), 342_000);
    println!("TIMING: 570 municipality-years x 600 rows (342,000 respondents) + national weights: {elapsed:.2?}");
}
