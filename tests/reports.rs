//! Reports: `check` gives exactly the expected findings for a delivery with known problems; the
//! JSON reports of a run validate against the schemas in `docs/schemas/`; the HTML reports
//! parse as HTML and hold no script and no external reference; `response.csv` counts what was
//! published.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use burgerpeiling::codebook::Codebook;
use burgerpeiling::municipality::Municipalities;
use burgerpeiling::synth::{self, SynthOptions};
use common::binary;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Title row, a personal-data column, an invalid code, text, a label, a routed-out answer, a
/// weight of 6, a weight without an age.
const PROBLEMS: &str = "Burgerpeiling 2023 Utrecht\n\
    respondent;gemnr;jr;kw;wl01;wl02_2;dv02;dv00;ch02;weging;email\n\
    1;344;2023;2;8;1;2;4;3;1,0;\n\
    2;344;2023;2;12;helemaal eens;1;7;;1,2;\n\
    3;344;2023;2;x;2;1;3;4;6,0;\n";

/// A small 2022 delivery for Delft; its `_v2` adds a row and supersedes it.
const DELFT: &str = "respondent;gemnr;jr;kw;wl01;wl02_2;dv02;dv00;ch02;weging\n\
    1;503;2023;3;7;1;2;4;3;1,0\n\
    2;503;2023;3;8;2;1;3;4;1,0\n";

/// A finding as the test compares it: severity, rule, column, rows, count.
type FindingLine = (String, String, Option<String>, Vec<u64>, u64);

#[test]
fn check_reports_exactly_the_known_problems() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("BP-2023-2-Utrecht.csv");
    fs::write(&file, PROBLEMS).unwrap();
    let reports = dir.path().join("reports");
    let out = binary().args(["check", "--format", "json", "--report"]).arg(&reports).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings: Vec<FindingLine> = json[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
                f["column"].as_str().map(String::from),
                f["rows"].as_array().map(|r| r.iter().map(|v| v.as_u64().unwrap()).collect()).unwrap_or_default(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let s = |v: &str| v.to_string();
    let c = |v: &str| Some(v.to_string());
    let expected = vec![
        (s("info"), s("ingest.title-rows-skipped"), None, vec![1], 1),
        (s("info"), s("harmonise.personal-data-column"), c("email"), vec![], 1),
        (s("warning"), s("harmonise.value-not-a-code"), c("wl01"), vec![3], 1),
        (s("warning"), s("harmonise.code-invalid"), c("wl01"), vec![2], 1),
        (s("info"), s("harmonise.labels-as-codes"), c("wl02_2"), vec![2], 1),
        (s("warning"), s("harmonise.routing-blanked"), None, vec![1], 1),
        (s("warning"), s("harmonise.weging-too-high"), c("weging"), vec![3], 1),
        (s("warning"), s("harmonise.weging-without-age"), c("weging"), vec![2], 1),
        (s("warning"), s("harmonise.weging-mean"), c("weging"), vec![], 1),
        (s("warning"), s("harmonise.too-few-complete"), None, vec![], 1),
    ];
    assert_eq!(findings, expected);
    assert_eq!(json[0]["counts"]["nulled_per_variable"]["wl01"], 2);
    assert_eq!(json[0]["counts"]["routing_blanks"]["R1"], 1);
    assert_eq!(json[0]["counts"]["complete"], 2);
    // --report wrote the delivery's JSON and HTML.
    let id = json[0]["delivery_id"].as_str().unwrap();
    assert!(reports.join(format!("{id}.json")).exists() && reports.join(format!("{id}.html")).exists());

    // A file that would be rejected: exit 3.
    let bad = dir.path().join("empty.csv");
    fs::write(&bad, "").unwrap();
    let out = binary().arg("check").arg(&file).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ingest.file-empty"), "{text}");
}

fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p, ext));
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn validator(schema: &str) -> jsonschema::Validator {
    let text = fs::read_to_string(Path::new(ROOT).join("docs/schemas").join(schema)).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

#[test]
fn run_reports_validate_and_are_self_contained_html() {
    let dir = tempfile::tempdir().unwrap();
    let config = Path::new(ROOT).join("config");
    let (cb, m) = (Codebook::load(&config).unwrap(), Municipalities::load(&config).unwrap());
    let opts = SynthOptions {
        out: dir.path().join("s"),
        municipalities: 2,
        years: (2022, 2023),
        respondents: 30,
        messy: true,
        ..SynthOptions::default()
    };
    synth::synth(&opts, &cb, &m).unwrap();
    let inbox = dir.path().join("s/inbox");
    fs::write(inbox.join("BP-2023-2-Utrecht.csv"), PROBLEMS).unwrap();
    fs::write(inbox.join("kapot.xlsx"), b"<script>alert(1)</script>").unwrap();
    // A byte-identical copy (duplicate_file) and a Delft delivery replaced by its _v2
    // (superseded), so that every status reaches the pages.
    fs::write(inbox.join("kopie-van-utrecht.csv"), PROBLEMS).unwrap();
    fs::write(inbox.join("BP-2023-3-Delft.csv"), DELFT).unwrap();
    fs::write(inbox.join("BP-2023-3-Delft_v2.csv"), format!("{DELFT}3;503;2023;3;6;1;2;4;3;1,0\n")).unwrap();
    let lake = dir.path().join("lake");
    let out =
        common::run_args(&mut binary(), &dir.path().join("s"), &lake, &dir.path().join("state")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    findings_are_logged_once_per_rule(&String::from_utf8_lossy(&out.stderr));

    let deliveries = validator("delivery-report.schema.json");
    let runs = validator("run-report.schema.json");
    // The findings pages have their own test (tests/findings_pages.rs) and no schema here.
    let jsons: Vec<PathBuf> = files_under(&lake.join("reports"), "json")
        .into_iter()
        .filter(|p| !p.parent().is_some_and(|d| d.ends_with("findings")))
        .collect();
    // The copy has its original's id (the hash of its bytes), hence its report: 4 synthesised
    // deliveries, Utrecht, kapot and the two of Delft, and the run.
    assert_eq!(jsons.len(), 4 + 4 + 1, "{jsons:?}");
    for p in &jsons {
        let v: Value = serde_json::from_str(&fs::read_to_string(p).unwrap()).unwrap();
        let schema = if p.parent().unwrap().ends_with("runs") { &runs } else { &deliveries };
        let errors: Vec<String> = schema.iter_errors(&v).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", p.display());
    }

    let mut numeric_columns = 0;
    for p in files_under(&lake.join("reports"), "html") {
        let html = fs::read_to_string(&p).unwrap();
        let doc = scraper::Html::parse_document(&html);
        assert!(doc.errors.is_empty(), "{}: {:?}", p.display(), doc.errors);
        let lower = html.to_lowercase();
        for forbidden in ["<script", "http:", "https:", "src=", "href=", "url(", "@import"] {
            assert!(!lower.contains(forbidden), "{} contains {forbidden}", p.display());
        }
        assert!(lower.contains("<meta name=\"viewport\""));
        no_english_on_the_page(&p, &doc);
        numeric_columns += numbers_sit_under_right_aligned_headings(&p, &doc);
    }
    assert!(numeric_columns > 20, "only {numeric_columns} numeric cells checked");
    // What a delivery put in its cells or name shows escaped, never as markup.
    let kapot = files_under(&lake.join("reports/deliveries"), "html")
        .into_iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .find(|h| h.contains("kapot.xlsx"))
        .unwrap();
    assert!(kapot.contains("afgewezen") && !kapot.contains("<script>alert"));
    let pages: String =
        files_under(&lake.join("reports"), "html").into_iter().map(|p| fs::read_to_string(p).unwrap()).collect();
    for status in ["gepubliceerd", "afgewezen", "vervangen", "dubbel bestand", "eerste bouw"] {
        assert!(pages.contains(status), "no page shows {status:?}");
    }

    let response = fs::read_to_string(lake.join("response.csv")).unwrap();
    let lines: Vec<&str> = response.lines().collect();
    assert_eq!(lines[0], "jr;gemeente_code;gemeente_naam;respondents;complete;publishable");
    assert!(lines.iter().any(|l| l.starts_with("2023;GM0344;Utrecht;") && l.ends_with(";false")), "{response}");
}

/// Words and phrases of the English texts the pages showed before they were Dutch: statuses,
/// severities, why a year was rebuilt, stage names, weighting words, finding messages. Rule ids
/// (in `<code>`) stay as they are and are not looked at.
const ENGLISH: [&str; 30] = [
    "published",
    "rejected",
    "superseded",
    "duplicate_file",
    "first build",
    "warning",
    "error",
    "info",
    "the file",
    "row(s)",
    "value(s)",
    "were skipped",
    "is dropped",
    "delivered as",
    "have no",
    "complete questionnaires",
    "the agency",
    "method age",
    "national",
    "bands",
    "approximated",
    "districts",
    "harmonise",
    "deduplicate",
    "publish",
    "ledger",
    "render",
    "same bytes",
    "later delivery",
    "not a variable",
];

/// Fails when a page shows an English word of [`ENGLISH`] outside a `<code>` element.
fn no_english_on_the_page(path: &Path, doc: &scraper::Html) {
    let mut text = String::new();
    for node in doc.root_element().descendants() {
        let Some(t) = node.value().as_text() else { continue };
        let hidden = node
            .ancestors()
            .any(|a| a.value().as_element().is_some_and(|e| matches!(e.name(), "code" | "style" | "title")));
        if !hidden {
            text.push_str(t);
            text.push(' ');
        }
    }
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !(c.is_alphanumeric() || "()_".contains(c))).collect();
    for english in ENGLISH {
        let found = if english.contains(' ') { lower.contains(english) } else { words.contains(&english) };
        assert!(!found, "{} shows the English {english:?}:\n{text}", path.display());
    }
}

/// Every cell of class `n` (a number, right-aligned) sits under a heading of class `n`, in
/// every table with a heading row. Returns how many cells were checked.
fn numbers_sit_under_right_aligned_headings(path: &Path, doc: &scraper::Html) -> usize {
    let table = scraper::Selector::parse("table").unwrap();
    let row = scraper::Selector::parse("tr").unwrap();
    let cell = scraper::Selector::parse("th, td").unwrap();
    let mut checked = 0;
    for t in doc.select(&table) {
        let rows: Vec<Vec<scraper::ElementRef>> = t.select(&row).map(|r| r.select(&cell).collect()).collect();
        let Some(heading) = rows.first().filter(|h| h.iter().all(|c| c.value().name() == "th")) else { continue };
        let numeric = |c: &scraper::ElementRef| c.value().classes().any(|k| k == "n");
        for r in &rows[1..] {
            for (i, c) in r.iter().enumerate().filter(|(_, c)| numeric(c)) {
                let th = heading.get(i).map(|h| (h.text().collect::<String>(), numeric(h)));
                assert!(
                    th.as_ref().is_some_and(|(_, right)| *right),
                    "{}: number {:?} under a heading that is not right-aligned: {th:?}",
                    path.display(),
                    c.text().collect::<String>()
                );
                checked += 1;
            }
        }
    }
    checked
}

/// At the default level the log has one line per rule (with files and count) and no per-file
/// line, except a rejection's.
fn findings_are_logged_once_per_rule(stderr: &str) {
    let mut rules = std::collections::BTreeMap::new();
    for line in stderr.lines().filter(|l| l.contains("rule=")) {
        if line.contains("file=") {
            assert!(line.contains("rejected:"), "a per-file finding line at the default level: {line}");
            continue;
        }
        let rule = line.split("rule=\"").nth(1).and_then(|r| r.split('"').next()).unwrap();
        *rules.entry(rule.to_string()).or_insert(0) += 1;
        assert!(line.contains("files=") && line.contains("count="), "{line}");
    }
    assert!(rules.contains_key("harmonise.code-invalid"), "{stderr}");
    assert!(rules.values().all(|&n| n == 1), "{rules:?}");
}
