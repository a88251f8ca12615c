//! Labels instead of codes in every column, and rows that are not respondents (issue 16, parts
//! 2 and 5). `synth` writes label-coded deliveries (`kw` as `kwartaal 4`, `veldwerkmodus` as
//! `websurvey,`, `org` as the agency's name) with a second header of question texts, a units
//! row, a repeated header and totals rows; the `run` binary must publish exactly the generated
//! respondents with their codes, and report the skipped rows. A walk over the codebook proves
//! that every value label of every column decodes to the code it labels.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use arrow_array::{Array, Int16Array, RecordBatch, StringArray};
use burgerpeiling::codebook::{Codebook, Questionnaire, Target, canonical_name};
use burgerpeiling::harmonise::{Batch, Context, harmonise};
use burgerpeiling::ingest::discover::NameHints;
use burgerpeiling::ingest::{self, RawTable};
use burgerpeiling::municipality::Municipalities;
use burgerpeiling::synth::labelled::{ExtraRows, synth_labelled};
use burgerpeiling::synth::{GeneratedDelivery, SynthOptions};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn config() -> (Codebook, Municipalities) {
    let dir = Path::new(ROOT).join("config");
    (Codebook::load(&dir).unwrap(), Municipalities::load(&dir).unwrap())
}

fn options(out: &Path, municipalities: usize, years: (u16, u16)) -> SynthOptions {
    SynthOptions {
        out: out.to_path_buf(),
        seed: 16,
        municipalities,
        years,
        respondents: 40,
        messy: false,
        ..SynthOptions::default()
    }
}

fn run(sample: &Path, lake: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_burgerpeiling"))
        .current_dir(ROOT)
        .args(["--progress", "never", "run", "--inbox"])
        .arg(sample.join("inbox"))
        .arg("--lake")
        .arg(lake)
        .arg("--population")
        .arg(sample.join("population"))
        .arg("--state")
        .arg(lake.with_extension("state"))
        .output()
        .unwrap()
}

fn read_partitions(lake: &Path) -> Vec<(u16, RecordBatch)> {
    let mut out = Vec::new();
    for e in fs::read_dir(lake.join("respondents")).unwrap() {
        let dir = e.unwrap().path();
        let year: u16 = dir.file_name().unwrap().to_str().unwrap().trim_start_matches("jaar=").parse().unwrap();
        out.push((year, common::read_parquet(&dir.join("part-0000.parquet"))));
    }
    out.sort_by_key(|(y, _)| *y);
    out
}

fn int16(b: &RecordBatch, name: &str, i: usize) -> Option<i16> {
    let a: &Int16Array = b.column_by_name(name).unwrap().as_any().downcast_ref().unwrap();
    a.is_valid(i).then(|| a.value(i))
}

fn string(b: &RecordBatch, name: &str, i: usize) -> String {
    let a: &StringArray = b.column_by_name(name).unwrap().as_any().downcast_ref().unwrap();
    a.value(i).to_string()
}

/// A finding as the tests compare it: rule, column, rows, count.
type FindingLine = (String, Option<String>, Vec<u64>, u64);
/// A lake row as the tests compare it: jr, kw, veldwerkmodus, org.
type LakeRow = (u16, Option<i16>, Option<i16>, Option<i16>);

/// The delivery reports in the lake: every finding of each.
fn report_findings(lake: &Path) -> Vec<Vec<FindingLine>> {
    let mut out = Vec::new();
    for e in fs::read_dir(lake.join("reports/deliveries")).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "json") {
            let json: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
            let findings = json["findings"].as_array().unwrap_or_else(|| panic!("{}: no findings", path.display()));
            out.push(
                findings
                    .iter()
                    .map(|f| {
                        (
                            f["rule"].as_str().unwrap().to_string(),
                            f["column"].as_str().map(String::from),
                            f["rows"]
                                .as_array()
                                .map(|r| r.iter().map(|v| v.as_u64().unwrap()).collect())
                                .unwrap_or_default(),
                            f["count"].as_u64().unwrap(),
                        )
                    })
                    .collect(),
            );
        }
    }
    out
}

/// Every generated respondent under the key the lake must give it: (jr, kw, veldwerkmodus, org).
fn expected_rows(generated: &[GeneratedDelivery]) -> BTreeMap<String, (u16, i16, i16, i16)> {
    let mut rows = BTreeMap::new();
    for d in generated {
        for r in &d.respondents {
            let key = format!("{}-{}-Q{}-{:06}", d.gemeente_code, d.year, d.quarter, r.respondent);
            rows.insert(key, (d.year, i16::from(d.quarter), r.veldwerkmodus, d.org));
        }
    }
    rows
}

#[test]
fn labelled_deliveries_publish_their_codes_and_only_their_respondents() {
    let dir = tempfile::tempdir().unwrap();
    let (cb, m) = config();
    let sample = dir.path().join("sample");
    let generated = synth_labelled(&options(&sample, 3, (2021, 2023)), ExtraRows::ALL, &cb, &m).unwrap().deliveries;
    let lake = dir.path().join("lake");
    let out = run(&sample, &lake);
    assert!(out.status.success(), "run failed: {}", String::from_utf8_lossy(&out.stderr));

    let mut got = BTreeMap::new();
    for (year, b) in read_partitions(&lake) {
        for i in 0..b.num_rows() {
            let values = (year, int16(&b, "kw", i), int16(&b, "veldwerkmodus", i), int16(&b, "org", i));
            assert_eq!(int16(&b, "jr", i), Some(year as i16), "row {i} of jaar={year}");
            got.insert(string(&b, "respondent_key", i), values);
        }
    }
    let expected: BTreeMap<String, LakeRow> = expected_rows(&generated)
        .into_iter()
        .map(|(k, (y, kw, mode, org))| (k, (y, Some(kw), Some(mode), Some(org))))
        .collect();
    assert_eq!(got.len(), expected.len(), "no question text, header or totals row became a respondent");
    assert_eq!(got, expected);

    // Every delivery reports its five skipped rows, by kind, and its labels read as codes.
    let reports = report_findings(&lake);
    assert_eq!(reports.len(), generated.len());
    for findings in reports {
        let skipped: Vec<u64> = findings
            .iter()
            .filter(|f| f.0 == "harmonise.non-respondent-rows")
            .flat_map(|f| f.2.iter().copied())
            .collect();
        assert_eq!(skipped.len(), 5, "{findings:?}");
        assert!(skipped.contains(&1) && skipped.contains(&2), "question texts and units under the header");
        let labelled: Vec<&str> =
            findings.iter().filter(|f| f.0 == "harmonise.labels-as-codes").filter_map(|f| f.1.as_deref()).collect();
        for column in ["kw", "veldwerkmodus", "org"] {
            assert!(labelled.contains(&column), "{column}: {findings:?}");
        }
        assert!(!findings.iter().any(|f| f.0 == "harmonise.year-filled" || f.0 == "harmonise.value-not-a-code"));
    }
}

#[test]
fn an_unknown_agency_is_a_warning_not_a_silent_null() {
    let dir = tempfile::tempdir().unwrap();
    let (cb, m) = config();
    let sample = dir.path().join("sample");
    let extra = ExtraRows { unknown_agency: true, ..ExtraRows::ALL };
    let generated = synth_labelled(&options(&sample, 1, (2023, 2023)), extra, &cb, &m).unwrap().deliveries;
    let lake = dir.path().join("lake");
    let out = run(&sample, &lake);
    assert!(out.status.success(), "run failed: {}", String::from_utf8_lossy(&out.stderr));
    let (_, b) = read_partitions(&lake).remove(0);
    assert_eq!(b.num_rows(), generated[0].respondents.len());
    assert!((0..b.num_rows()).all(|i| int16(&b, "org", i).is_none()));
    let findings = report_findings(&lake).remove(0);
    let unknown: Vec<_> = findings.iter().filter(|f| f.0 == "harmonise.agency-unknown").collect();
    assert_eq!(unknown.len(), 1, "{findings:?}");
    assert_eq!((unknown[0].1.as_deref(), unknown[0].3), (Some("org"), b.num_rows() as u64));
    let report =
        fs::read_to_string(fs::read_dir(lake.join("reports/deliveries")).unwrap().next().unwrap().unwrap().path())
            .unwrap_or_default();
    assert!(!report.contains("Onbekend Onderzoek"), "the cell is not quoted");
}

/// A one-column-of-labels delivery of variable `name` in version `q`, with `cells` in it.
fn single_variable(
    q: Questionnaire,
    name: &str,
    cells: Vec<ingest::Value>,
    (codebook, m): (&Codebook, &Municipalities),
) -> Option<Batch> {
    let year = if q == Questionnaire::V2019 { "2021" } else { "2023" };
    let mut header: Vec<String> = ["respondent", "gemnr", "jr"].map(String::from).to_vec();
    header.push(name.to_string());
    // A research variable needs a questionnaire column beside it.
    let filler = !matches!(codebook.target(q, name), Some(Target::Answer(_)));
    if filler {
        header.push("wl01".into());
    }
    let rows: Vec<Vec<ingest::Value>> = cells
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let mut row =
                vec![ingest::Value::Number(i as f64 + 1.0), ingest::Value::Number(363.0), ingest::Value::Text(year), c];
            if filler {
                row.push(ingest::Value::Number(7.0));
            }
            row
        })
        .collect();
    let source_rows = (1..=rows.len() as u32).collect();
    let table = RawTable::from_values(None, header, rows, source_rows);
    let hints = NameHints::default();
    let context = Context { delivery_id: "walk", hints: &hints, forced_version: Some(q) };
    let h = harmonise(&table, &context, codebook, m);
    let unreadable: Vec<_> = h
        .findings
        .iter()
        .filter(|f| ["harmonise.value-not-a-code", "harmonise.agency-unknown"].contains(&f.rule))
        .collect();
    assert!(unreadable.is_empty(), "{name} ({q:?}): {unreadable:?}");
    h.batch
}

/// The batch column variable `name` fills.
fn values_of(b: &Batch, q: Questionnaire, name: &str, codebook: &Codebook) -> Vec<Option<i16>> {
    match (codebook.target(q, name), name) {
        (Some(Target::Answer(a)), _) => b.answers[a.column].iter().collect(),
        (_, "kw") => b.kw.clone(),
        (_, "veldwerkmodus") => b.veldwerkmodus.clone(),
        (_, "org") => b.org.clone(),
        other => panic!("{name} has value labels but no column: {other:?}"),
    }
}

#[test]
fn every_value_label_in_the_codebook_decodes_to_its_code() {
    let (cb, m) = config();
    let mut walked = 0;
    for format in &cb.formats {
        let q = format.questionnaire;
        for v in format.variables.iter().filter(|v| !v.value_labels.is_empty()) {
            let name = canonical_name(&v.name);
            if matches!(cb.target(q, &name), Some(Target::Excluded { .. })) {
                continue;
            }
            // The same answers as codes and as labels (three spellings each) must give the same
            // lake values: every label decodes to the code it labels.
            let codes: Vec<ingest::Value> =
                v.value_labels.iter().map(|(c, _)| ingest::Value::Number(f64::from(*c))).collect();
            let spellings = |l: &str| [l.to_string(), format!("  {}. ", l.to_uppercase()), l.replace(' ', "  ")];
            let spelled: Vec<String> = v.value_labels.iter().flat_map(|(_, l)| spellings(l)).collect();
            let labels: Vec<ingest::Value> = spelled.iter().map(|l| ingest::Value::Text(l)).collect();
            let by_code = single_variable(q, &name, codes, (&cb, &m)).expect("codes publish");
            let by_label = single_variable(q, &name, labels, (&cb, &m)).expect("labels publish");
            let expected: Vec<Option<i16>> =
                values_of(&by_code, q, &name, &cb).into_iter().flat_map(|v| [v, v, v]).collect();
            assert_eq!(values_of(&by_label, q, &name, &cb), expected, "{} {}", format.name, v.name);
            walked += 1;
        }
    }
    // Four dataformats, 173 to 180 labelled variables each, `kw`, `veldwerkmodus` and `org` among them.
    assert!(walked > 600, "{walked}");
}
