//! Round trip of messy deliveries: `synth --messy` writes every delivery of the default sample
//! in its variant (format, encoding, delimiter, title rows, notes sheet, header spelling,
//! labels, numbers as text, trailing rows and columns, formulas, extra column, SPSS byte order
//! and compression), and `ingest::read` must return exactly the cells that were generated, with
//! no finding but the skipped title rows; a `.sav`'s dictionary must carry the codebook's
//! labels, value labels and missing values. The same seed must give byte-identical files.

use std::collections::BTreeSet;
use std::path::Path;

use burgerpeiling::codebook::{Codebook, canonical_name};
use burgerpeiling::finding;
use burgerpeiling::ingest::spss::{self, SavValue};
use burgerpeiling::ingest::{self, Format};
use burgerpeiling::municipality::Municipalities;
use burgerpeiling::synth::messy::{Decimal, FORMATS, HeaderStyle, LineEnd, TextEncoding};
use burgerpeiling::synth::{self, SynthOptions, expected_table};

fn config() -> (Codebook, Municipalities) {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
    (Codebook::load(dir).unwrap(), Municipalities::load(dir).unwrap())
}

fn options(out: &Path) -> SynthOptions {
    SynthOptions { out: out.to_path_buf(), respondents: 40, messy: true, ..SynthOptions::default() }
}

fn set<T: Ord>(values: impl IntoIterator<Item = T>) -> BTreeSet<T> {
    values.into_iter().collect()
}

#[test]
fn every_messy_delivery_reads_back_exactly_as_generated() {
    let (cb, m) = config();
    let dir = tempfile::tempdir().unwrap();
    let summary = synth::synth(&options(dir.path()), &cb, &m).unwrap();
    assert_eq!(summary.deliveries.len(), 36);
    let known = |n: &str| cb.is_known(&canonical_name(n));
    for d in &summary.deliveries {
        let q = d.quirks.as_ref().expect("messy deliveries carry their quirks");
        assert_eq!(d.format, q.format);
        assert!(d.file_name.ends_with(&format!(".{}", d.format.as_str())), "{}", d.file_name);
        let path = dir.path().join("inbox").join(&d.file_name);
        let (table, findings) = ingest::read(&path, d.format, &d.file_name, &known, 1 << 30);
        let expected = expected_table(d, &cb).unwrap();
        let table = table.unwrap_or_else(|| panic!("{} not read: {findings:?} ({q:?})", d.file_name));
        let what = format!("{} ({q:?})", d.file_name);
        assert_eq!(table.sheet, expected.table.sheet, "{what}");
        assert_eq!(table.header, expected.table.header, "{what}");
        assert_eq!(table.source_rows, expected.table.source_rows, "{what}");
        assert_eq!(table.rows.len(), expected.table.rows.len(), "{what}");
        for (i, (got, want)) in table.rows.iter().zip(&expected.table.rows).enumerate() {
            // By value: the reader's arena and the expected table's hold the texts apart.
            for (c, (g, w)) in got.iter().zip(want).enumerate() {
                let (g, w) = (table.texts.value(*g), expected.table.texts.value(*w));
                assert_eq!(g, w, "{what}: row {}, column {}", i + 1, table.header[c]);
            }
            assert_eq!(got.len(), want.len(), "{what}: row {}", i + 1);
        }
        if expected.title_rows.is_empty() {
            assert!(findings.is_empty(), "{what}: {findings:?}");
        } else {
            assert_eq!(findings.len(), 1, "{what}: {findings:?}");
            assert_eq!(findings[0].rule, finding::TITLE_ROWS_SKIPPED.id, "{what}");
            assert_eq!(findings[0].rows, expected.title_rows, "{what}");
        }
    }
}

#[test]
fn the_default_messy_sample_covers_every_quirk() {
    let (cb, m) = config();
    let opts = SynthOptions { respondents: 5, messy: true, ..SynthOptions::default() };
    let ds = synth::generate(&opts, &cb, &m);
    let qs: Vec<_> = ds.iter().map(|d| d.quirks.clone().unwrap()).collect();
    let formats: BTreeSet<Format> = qs.iter().map(|q| q.format).collect();
    assert_eq!(formats, FORMATS.into_iter().collect());
    let text: Vec<_> = qs.iter().filter_map(|q| q.text).collect();
    assert_eq!(set(text.iter().map(|t| t.encoding)), set(TextEncoding::ALL));
    assert_eq!(set(text.iter().map(|t| t.delimiter)), set([b';', b',', b'\t', b'|']));
    assert_eq!(set(text.iter().map(|t| t.line_end)), set(LineEnd::ALL));
    assert_eq!(set(text.iter().map(|t| t.decimal)), set(Decimal::ALL));
    assert_eq!(set(qs.iter().map(|q| q.title_rows)), set([0, 1, 2, 3]));
    assert_eq!(set(qs.iter().map(|q| q.header)), set(HeaderStyle::ALL));
    let sav: Vec<_> = qs.iter().filter_map(|q| q.sav).collect();
    assert_eq!(set(sav.iter().map(|s| (s.big_endian, s.compressed))).len(), 4, "{sav:?}");
    type Flag = fn(&synth::Quirks) -> bool;
    let flags: [(&str, Flag); 7] = [
        ("notes sheet", |q| q.notes_sheet),
        ("value labels", |q| q.value_labels),
        ("numbers as text", |q| q.numbers_as_text),
        ("trailing rows", |q| q.trailing_rows),
        ("trailing columns", |q| q.trailing_columns),
        ("formulas", |q| q.formulas),
        ("extra column", |q| q.extra_column),
    ];
    for (name, flag) in flags {
        assert_eq!(set(qs.iter().map(flag)), set([false, true]), "{name}");
    }
    // Formulas reach each format that carries them, and the notes sheet each spreadsheet.
    for f in [Format::Xlsx, Format::Xlsm, Format::Ods] {
        assert!(qs.iter().any(|q| q.format == f && q.formulas), "formulas in {f:?}");
    }
    for f in [Format::Xlsx, Format::Xlsm, Format::Xls, Format::Ods] {
        assert!(qs.iter().any(|q| q.format == f && q.notes_sheet), "notes sheet in {f:?}");
        assert!(qs.iter().any(|q| q.format == f && q.numbers_as_text), "text numbers in {f:?}");
    }
    // Value labels really replace codes somewhere, in text and in spreadsheets.
    for spreadsheet in [false, true] {
        let labelled = ds.iter().filter(|d| d.format.is_spreadsheet() == spreadsheet).any(|d| {
            let e = expected_table(d, &cb).unwrap();
            e.table.rows.iter().flatten().any(|c| {
                matches!(e.table.texts.value(*c), ingest::Value::Text(t) if t.chars().any(|ch| ch.is_alphabetic())
                    && !t.starts_with("WK"))
            })
        });
        assert!(labelled, "no value label in spreadsheet={spreadsheet}");
    }
}

#[test]
fn the_same_seed_gives_byte_identical_messy_files() {
    let (cb, m) = config();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let opts = |out: &Path| SynthOptions { respondents: 20, ..options(out) };
    synth::synth(&opts(a.path()), &cb, &m).unwrap();
    synth::synth(&opts(b.path()), &cb, &m).unwrap();
    let (fa, fb) = (
        burgerpeiling::synth::written_files(a.path()).unwrap(),
        burgerpeiling::synth::written_files(b.path()).unwrap(),
    );
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    let extensions: BTreeSet<&str> = fa.keys().filter_map(|k| k.rsplit_once('.').map(|(_, e)| e)).collect();
    for ext in ["xlsx", "xlsm", "xls", "ods", "csv", "txt", "sav"] {
        assert!(extensions.contains(ext), "no .{ext} written");
    }
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{name} differs between two runs with the same seed");
    }
}

#[test]
fn sav_dictionaries_carry_the_codebook() {
    let (cb, m) = config();
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions { respondents: 10, ..options(dir.path()) };
    let summary = synth::synth(&opts, &cb, &m).unwrap();
    let savs: Vec<_> = summary.deliveries.iter().filter(|d| d.format == Format::Sav).collect();
    assert!(savs.len() >= 5, "{} .sav deliveries", savs.len());
    // Both dataformats, so the 2019 declared missing values 11/88/99 of `dv03_*` are seen.
    assert_eq!(set(savs.iter().map(|d| d.dataformat)).len(), 2);
    let mut dv03 = 0;
    for d in savs {
        let bytes = std::fs::read(dir.path().join("inbox").join(&d.file_name)).unwrap();
        let (file, findings) = spss::read(&bytes, &d.file_name);
        assert!(findings.is_empty(), "{}: {findings:?}", d.file_name);
        let file = file.unwrap();
        let format = cb.formats.iter().find(|f| f.name == d.dataformat).unwrap();
        let extra = d.quirks.as_ref().unwrap().extra_column;
        assert_eq!(file.variables.len(), 8 + d.variables.len() + usize::from(extra));
        for v in &file.variables {
            let what = format!("{} {}", d.file_name, v.name);
            let Some(c) = format.variables.iter().find(|c| c.name == v.name) else {
                assert!(extra && v.name == "opmerking", "{what}: not in the codebook");
                assert!(v.text && v.label.is_empty() && v.value_labels.is_empty(), "{what}");
                continue;
            };
            assert_eq!(v.label, c.label, "{what}: label");
            assert_eq!(v.text, c.text, "{what}: string or numeric");
            let labels: Vec<(SavValue, String)> =
                c.value_labels.iter().map(|(code, l)| (SavValue::Number(f64::from(*code)), l.clone())).collect();
            assert_eq!(v.value_labels, labels, "{what}: value labels");
            let missing: Vec<SavValue> = c.user_missing.iter().map(|&code| SavValue::Number(f64::from(code))).collect();
            assert_eq!(v.missing, missing, "{what}: declared missing values");
            assert_eq!(v.missing_range, None, "{what}");
            if v.name.starts_with("dv03_") && d.dataformat == synth::DATAFORMAT_2019 {
                assert_eq!(missing, [11.0, 88.0, 99.0].map(SavValue::Number), "{what}");
                dv03 += 1;
            }
        }
        let wijknr = file.variables.iter().find(|v| v.name == "wijknr").unwrap();
        assert_eq!((wijknr.text, wijknr.width), (true, 12));
    }
    assert!(dv03 > 0, "no 2019 dv03_* variable in a .sav delivery");
}

#[test]
fn messy_runs_keep_the_population_file_and_the_answers() {
    let (cb, m) = config();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let plain = SynthOptions { messy: false, ..options(a.path()) };
    let s1 = synth::synth(&plain, &cb, &m).unwrap();
    let s2 = synth::synth(&options(b.path()), &cb, &m).unwrap();
    let pop = |d: &Path| std::fs::read(d.join("population/population.csv")).unwrap();
    assert_eq!(pop(a.path()), pop(b.path()));
    for (x, y) in s1.deliveries.iter().zip(&s2.deliveries) {
        assert_eq!(x.respondents, y.respondents, "{}", y.file_name);
        assert_eq!((x.year, x.quarter, &x.gemeente_code), (y.year, y.quarter, &y.gemeente_code));
    }
}

#[test]
fn plain_deliveries_read_back_as_their_expected_table() {
    let (cb, m) = config();
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions { messy: false, years: (2021, 2022), ..options(dir.path()) };
    let summary = synth::synth(&opts, &cb, &m).unwrap();
    let known = |n: &str| cb.is_known(&canonical_name(n));
    for d in &summary.deliveries {
        assert!(d.quirks.is_none());
        let path = dir.path().join("inbox").join(&d.file_name);
        let (table, findings) = ingest::read(&path, d.format, &d.file_name, &known, 1 << 30);
        assert!(findings.is_empty(), "{findings:?}");
        let expected = expected_table(d, &cb).unwrap();
        assert!(expected.title_rows.is_empty());
        assert!(table.unwrap() == expected.table, "{}", d.file_name);
    }
}
