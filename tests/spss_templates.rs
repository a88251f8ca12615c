//! The four real VNG dataformat templates read through `ingest::spss` must match the codebook
//! that was extracted from those very files: any difference is a reader bug. This test must
//! not depend on anything but the templates and the codebook CSVs in `shared/`.

mod common;
use common::shared;

use burgerpeiling::ingest::Value;
use burgerpeiling::ingest::spss::{self, SavValue};

/// Codes as the codebook writes them: whole numbers without a decimal point.
fn code(v: &SavValue) -> String {
    match v {
        SavValue::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
        SavValue::Number(n) => format!("{n}"),
        SavValue::Text(t) => t.clone(),
    }
}

fn check(template: &str, codebook: &str, expected_variables: usize) {
    let shared = shared();
    let path = shared.join("reference-data/vng-dataformat").join(template);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (file, findings) = spss::read(&bytes, template);
    assert!(findings.is_empty(), "{template}: {findings:?}");
    let file = file.expect("the template reads");

    let mut csv = csv::Reader::from_path(shared.join("domain/codebook").join(codebook)).expect("codebook");
    let headers = csv.headers().expect("codebook header").clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    let (name, label, kind, labels, missing) =
        (col("name"), col("label"), col("spss_type"), col("value_labels"), col("user_missing"));
    let rows: Vec<csv::StringRecord> = csv.records().map(|r| r.expect("codebook row")).collect();
    assert_eq!(rows.len(), expected_variables, "{codebook}");
    assert_eq!(file.variables.len(), rows.len(), "{template}: number of variables");

    for (v, row) in file.variables.iter().zip(&rows) {
        let at = format!("{template} {}", &row[name]);
        assert_eq!(v.name, &row[name], "{at}: name");
        assert_eq!(v.label, &row[label], "{at}: label");
        assert_eq!(v.text, &row[kind] == "string", "{at}: string or numeric");
        let value_labels: Vec<String> = v.value_labels.iter().map(|(c, l)| format!("{}={l}", code(c))).collect();
        assert_eq!(value_labels.join("|"), &row[labels], "{at}: value labels");
        let declared: Vec<String> = v.missing.iter().map(code).collect();
        assert_eq!(declared.join("|"), &row[missing], "{at}: declared missing values");
        assert_eq!(v.missing_range, None, "{at}: no template declares a missing range");
    }

    assert_eq!(file.table.header, file.variables.iter().map(|v| v.name.clone()).collect::<Vec<_>>());
    assert_eq!(file.table.rows.len(), 1, "{template}: one dummy row");
    assert_eq!(file.table.source_rows, vec![1]);
    let row: Vec<Value> = file.table.row(0).collect();
    assert_eq!(row[0], Value::Number(0.0), "{template}: respondent = 0");
    assert_eq!(file.table.header[0], "respondent");
    for (h, c) in file.table.header.iter().zip(row).skip(1) {
        assert_eq!(c, Value::Empty, "{template}: {h} should be empty in the dummy row");
    }
}

#[test]
fn template_2022_matches_codebook() {
    check("Burgerpeling-dataformat-2022.sav", "dataformat-2022.csv", 178);
}

#[test]
fn template_v11_matches_codebook() {
    check("Burgerpeling-dataformat-v11.sav", "dataformat-2019-v11.csv", 195);
}

#[test]
fn template_v12_matches_codebook() {
    check("Burgerpeling-dataformat-v12.sav", "dataformat-2019-v12.csv", 195);
}

#[test]
fn template_v13_matches_codebook_with_very_long_strings() {
    check("Burgerpeling-dataformat-v13.sav", "dataformat-2019-v13.csv", 195);
    let shared = shared();
    let bytes = std::fs::read(shared.join("reference-data/vng-dataformat/Burgerpeling-dataformat-v13.sav"))
        .expect("v13 template");
    let file = spss::read(&bytes, "v13").0.expect("v13 reads");
    let widths: Vec<(&str, usize)> =
        file.variables.iter().filter(|v| v.text).map(|v| (v.name.as_str(), v.width)).collect();
    assert_eq!(widths.iter().filter(|(_, w)| *w == 15000).count(), 8, "{widths:?}");
    assert!(widths.contains(&("wijknr", 12)) && widths.contains(&("ch08", 8)), "{widths:?}");
}
