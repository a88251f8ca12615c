//! Reproduces the golden indicator fixtures of `../shared/golden/indicators/` (R 4.2.2,
//! `survey` 4.1.1, VNG's formulas in `common.R`) with the indicators module: every
//! respondent-level column of `respondent_scores`, and every figure of
//! `municipality_aggregates` and `national_by_age`, to 1e-9 (relative; absolute below 1) and
//! the logit interval to 1e-6, as the fixtures' README asks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Int16Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use burgerpeiling::codebook::Codebook;
use burgerpeiling::indicators::{
    DesignRow, Items, RespondentIndicators, ScoringRules, Statistic, estimate_domains, multiple_response_values,
    percent_values, score, ticked, ticked_any,
};

const TOL: f64 = 1e-9;
const TOL_LOGIT: f64 = 1e-6;
/// Declared missing codes: the lake holds them as null.
const SYSMIS: [i16; 3] = [-1, 88, 99];
/// Columns of the fixtures that are not questionnaire items.
const NOT_ITEMS: [&str; 5] = ["respondent_key", "gemeente_code", "jaar", "weight", "weight_national"];

fn golden(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/golden/indicators").join(case)
}

fn rules() -> ScoringRules {
    ScoringRules::from_codebook(&Codebook::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap())
}

/// A CSV as named string columns.
fn read_csv(path: &Path) -> BTreeMap<String, Vec<String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let mut cols: BTreeMap<String, Vec<String>> = headers.iter().map(|h| (h.clone(), Vec::new())).collect();
    for record in reader.records() {
        let record = record.unwrap();
        for (h, v) in headers.iter().zip(record.iter()) {
            cols.get_mut(h).unwrap().push(v.to_string());
        }
    }
    cols
}

fn header(path: &Path) -> Vec<String> {
    csv::Reader::from_path(path).unwrap().headers().unwrap().iter().map(str::to_string).collect()
}

/// The fixture's respondents as the lake holds them: int16 codes, -1/88/99 null, dk kept.
fn lake_batch(cols: &BTreeMap<String, Vec<String>>) -> RecordBatch {
    let keys = &cols["respondent_key"];
    let mut fields = vec![Field::new("respondent_key", DataType::Utf8, false)];
    let mut k = StringBuilder::new();
    let mut version = StringBuilder::new();
    for key in keys {
        k.append_value(key);
        version.append_value("2022");
    }
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(k.finish())];
    fields.push(Field::new("vragenlijst", DataType::Utf8, false));
    arrays.push(Arc::new(version.finish()));
    for (name, values) in cols.iter().filter(|(n, _)| !NOT_ITEMS.contains(&n.as_str())) {
        let mut b = Int16Builder::new();
        for v in values {
            let code = (!v.is_empty()).then(|| v.parse::<i16>().unwrap()).filter(|c| !SYSMIS.contains(c));
            b.append_option(code);
        }
        fields.push(Field::new(name, DataType::Int16, true));
        arrays.push(Arc::new(b.finish()));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

fn close(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol * want.abs().max(1.0)
}

fn parse(v: &str) -> Option<f64> {
    (!v.is_empty()).then(|| v.parse::<f64>().unwrap())
}

#[test]
fn respondent_scores_match_to_1e9() {
    let dir = golden("respondent_scores");
    let input = read_csv(&dir.join("respondents.csv"));
    let rules = rules();
    let lake = lake_batch(&input);
    let items = Items::from_batch(&lake, &rules).unwrap();
    let got = score(&items, &rules).unwrap();
    let expected = read_csv(&dir.join("expected.csv"));
    let names: Vec<String> = header(&dir.join("expected.csv"));
    let mine: Vec<&str> = got.names().collect();
    assert_eq!(["respondent_key"].iter().copied().chain(mine.iter().copied()).collect::<Vec<_>>(), names);
    let keys: Vec<&str> = (0..lake.num_rows()).map(|i| got.respondent_key(i)).collect();
    assert_eq!(keys, expected["respondent_key"]);
    let mut compared = 0;
    for name in got.names() {
        for (i, (g, w)) in got.column(name).unwrap().iter().zip(&expected[name]).enumerate() {
            let ok = match (g, parse(w)) {
                (None, None) => true,
                (Some(g), Some(w)) => close(*g, w, TOL),
                _ => false,
            };
            assert!(ok, "{name} row {} ({}): got {g:?}, expected {w:?}", i + 1, got.respondent_key(i));
            compared += 1;
        }
    }
    assert_eq!(compared, 79 * 400);
    // The file the stage writes carries the same values.
    let batch = got.record_batch();
    assert_eq!(batch.num_columns(), names.len());
    assert_eq!(batch.schema().metadata()["qol_score_bin_breaks"], "-Inf,3,4,6,7,Inf");
}

/// The `y` of one catalogue row: a score, an item's percentage of codes, or a share of the
/// zw13 multiple-response set.
fn analysis_values(row: &BTreeMap<&str, &str>, items: &Items, scores: &RespondentIndicators) -> Vec<Option<f64>> {
    let variable = row["variable"];
    let all = 0..items.rows();
    let y = if let Some(option) = variable.strip_prefix("zw13_") {
        let set: Vec<Vec<bool>> =
            (0..=10).map(|k| ticked(&items.get_nan(&format!("zw13_{k}"), all.clone()).unwrap())).collect();
        multiple_response_values(&ticked_any(&set), &set[option.parse::<usize>().unwrap()])
    } else {
        let x = scores.column_nan(variable).or_else(|| items.get_nan(variable, all)).unwrap();
        match row.get("statistic").copied().unwrap_or("percent") {
            "mean" => x,
            _ => percent_values(&x, &row["numerator"].split('|').map(|c| c.parse().unwrap()).collect::<Vec<f64>>()),
        }
    };
    y.into_iter().map(|v| Some(v).filter(|v| !v.is_nan())).collect()
}

fn catalogue(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(dir.join("indicators.csv")).unwrap();
    reader.deserialize().map(|r| r.unwrap()).collect()
}

/// Compares one computed figure with an expected.csv row.
fn check_figure(
    what: &str,
    fig: &burgerpeiling::indicators::Figure,
    want: &BTreeMap<String, String>,
    logit: bool,
) -> usize {
    let pairs = [
        ("estimate", fig.estimate),
        ("se", fig.se),
        ("ci_low", fig.ci_low),
        ("ci_high", fig.ci_high),
        ("n", fig.n as f64),
        ("n_weighted", fig.n_weighted),
    ];
    for (field, got) in pairs {
        let w: f64 = want[field].parse().unwrap();
        assert!(close(got, w, TOL), "{what} {field}: got {got}, expected {w}");
    }
    if logit {
        for (field, got) in [("ci_low_logit", fig.ci_low_logit), ("ci_high_logit", fig.ci_high_logit)] {
            let w: f64 = want[field].parse().unwrap();
            let got = got.unwrap_or(f64::NAN);
            assert!(close(got, w, TOL_LOGIT), "{what} {field}: got {got}, expected {w}");
        }
    }
    1
}

fn expected_rows(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(dir.join("expected.csv")).unwrap();
    reader.deserialize().map(|r| r.unwrap()).collect()
}

#[test]
fn municipality_aggregates_match_to_1e9() {
    let dir = golden("municipality_aggregates");
    let input = read_csv(&dir.join("respondents.csv"));
    let rules = rules();
    let lake = lake_batch(&input);
    let items = Items::from_batch(&lake, &rules).unwrap();
    let scores = score(&items, &rules).unwrap();
    let mut want: BTreeMap<(String, String, String), BTreeMap<String, String>> = expected_rows(&dir)
        .into_iter()
        .map(|r| ((r["indicator"].clone(), r["gemeente_code"].clone(), r["jaar"].clone()), r))
        .collect();
    let total = want.len();
    for row in catalogue(&dir) {
        let row_ref: BTreeMap<&str, &str> = row.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let y = analysis_values(&row_ref, &items, &scores);
        let design: Vec<DesignRow<(String, String)>> = (0..y.len())
            .map(|i| DesignRow {
                y: y[i],
                w: parse(&input["weight"][i]),
                domain: Some((input["gemeente_code"][i].clone(), input["jaar"][i].clone())),
            })
            .collect();
        let statistic = if row["statistic"] == "mean" { Statistic::Mean } else { Statistic::Percent };
        for ((gm, jr), fig) in estimate_domains(&design, statistic) {
            let key = (row["indicator"].clone(), gm, jr);
            let expected = want.remove(&key).unwrap_or_else(|| panic!("unexpected figure {key:?}"));
            check_figure(&format!("{key:?}"), &fig, &expected, false);
        }
    }
    assert!(want.is_empty(), "figures not computed: {:?}", want.keys().take(5).collect::<Vec<_>>());
    assert_eq!(total, 34 * 6);
}

#[test]
fn national_by_age_matches_to_1e9_and_logit_to_1e6() {
    let dir = golden("national_by_age");
    let input = read_csv(&dir.join("respondents.csv"));
    let rules = rules();
    let lake = lake_batch(&input);
    let items = Items::from_batch(&lake, &rules).unwrap();
    let scores = score(&items, &rules).unwrap();
    let age = scores.column("lft_cy").unwrap();
    let mut want: BTreeMap<(String, String, String), BTreeMap<String, String>> = expected_rows(&dir)
        .into_iter()
        .map(|r| ((r["indicator"].clone(), r["jaar"].clone(), r["lft_cy"].clone()), r))
        .collect();
    let total = want.len();
    for row in catalogue(&dir) {
        let row_ref: BTreeMap<&str, &str> = row.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let y = analysis_values(&row_ref, &items, &scores);
        for by_age in [false, true] {
            let design: Vec<DesignRow<(String, String)>> = (0..y.len())
                .map(|i| {
                    let class = if by_age { age[i].map(|a| format!("{a}")) } else { Some(String::new()) };
                    DesignRow {
                        y: y[i],
                        w: parse(&input["weight_national"][i]),
                        domain: class.map(|c| (input["jaar"][i].clone(), c)),
                    }
                })
                .collect();
            for ((jr, class), fig) in estimate_domains(&design, Statistic::Percent) {
                let key = (row["indicator"].clone(), jr, class);
                let expected = want.remove(&key).unwrap_or_else(|| panic!("unexpected figure {key:?}"));
                check_figure(&format!("{key:?}"), &fig, &expected, true);
            }
        }
    }
    assert!(want.is_empty(), "figures not computed: {:?}", want.keys().take(5).collect::<Vec<_>>());
    assert_eq!(total, 14 * 4 * 5);
}
