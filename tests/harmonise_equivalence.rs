//! One answer, one value: the same answers delivered plainly and in every messy variant (file
//! format, encoding, header spelling, value labels instead of codes, numbers as text, title
//! rows, extra columns) harmonise to identical batches. And a property test: harmonising an
//! arbitrary table never panics, and every value it produces is null or valid for its column.

use std::collections::BTreeMap;
use std::path::Path;

use burgerpeiling::codebook::Codebook;
use burgerpeiling::harmonise::{Batch, Context, harmonise};
use burgerpeiling::ingest::discover::parse_name;
use burgerpeiling::ingest::{self, RawTable, Value};
use burgerpeiling::municipality::Municipalities;
use burgerpeiling::synth::{self, SynthOptions};
use proptest::prelude::*;

fn config() -> (Codebook, Municipalities) {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
    (Codebook::load(dir).unwrap(), Municipalities::load(dir).unwrap())
}

/// Reads and harmonises every delivery under `inbox`, keyed by (municipality, year).
fn harmonised(inbox: &Path, cb: &Codebook, m: &Municipalities) -> BTreeMap<(String, u16), Batch> {
    let known = |n: &str| cb.is_known(n);
    let mut out = BTreeMap::new();
    for d in ingest::discover(inbox, u64::MAX).unwrap().deliveries {
        let (table, findings) = ingest::read(&d.path, d.format, &d.id, &known, 1 << 30);
        let table = table.unwrap_or_else(|| panic!("{}: {findings:?}", d.file_name));
        let hints = parse_name(&d.file_name);
        let context = Context { delivery_id: "same", hints: &hints, forced_version: None };
        let h = harmonise(&table, &context, cb, m);
        let batch = h.batch.unwrap_or_else(|| panic!("{}: {:?}", d.file_name, h.findings));
        out.insert((batch.municipality(0).code.clone(), batch.year), batch);
    }
    out
}

#[test]
fn plain_and_messy_deliveries_harmonise_identically() {
    let (cb, m) = config();
    let dir = tempfile::tempdir().unwrap();
    let opts = |messy: bool, out: &str| SynthOptions {
        out: dir.path().join(out),
        respondents: 40,
        messy,
        ..SynthOptions::default()
    };
    synth::synth(&opts(false, "plain"), &cb, &m).unwrap();
    let messy = synth::synth(&opts(true, "messy"), &cb, &m).unwrap();
    let formats: std::collections::BTreeSet<&str> = messy.deliveries.iter().map(|d| d.format.as_str()).collect();
    assert!(formats.len() >= 6, "{formats:?}");

    let plain = harmonised(&dir.path().join("plain/inbox"), &cb, &m);
    let messy = harmonised(&dir.path().join("messy/inbox"), &cb, &m);
    assert_eq!(plain.len(), 36);
    assert_eq!(plain.keys().collect::<Vec<_>>(), messy.keys().collect::<Vec<_>>());
    for (key, p) in &plain {
        assert_eq!(p, &messy[key], "{key:?}");
    }
}

/// Header names: dataformat variables (both versions), aliases, personal-data names and noise.
fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "respondent",
            "gemnr",
            "jr",
            "kw",
            "veldwerkmodus",
            "org",
            "weging",
            "wijknr",
            "wl01",
            "WL02.0",
            "wl02_2",
            "wl06",
            "wl11",
            "dv00",
            "dv02",
            "dv12",
            "dv03_0",
            "zw06_0",
            "zw06_3",
            "zw08_7",
            "zw09",
            "ch01",
            "ch02",
            "ch06",
            "ch08",
            "gemeentecode",
            "jaar",
            "email",
            "opmerking",
            "",
        ])
        .prop_map(String::from),
        "[a-z_.]{1,8}",
    ]
}

/// A cell that owns its text, for the strategy; the table stores it in its arena.
#[derive(Clone, Debug)]
enum Loose {
    Empty,
    Number(f64),
    Text(String),
    Date(f64),
}

impl Loose {
    fn value(&self) -> Value<'_> {
        match self {
            Loose::Empty => Value::Empty,
            Loose::Number(n) => Value::Number(*n),
            Loose::Text(t) => Value::Text(t),
            Loose::Date(d) => Value::Date(*d),
        }
    }
}

fn cell() -> impl Strategy<Value = Loose> {
    prop_oneof![
        Just(Loose::Empty),
        (-3i32..120).prop_map(|v| Loose::Number(v as f64)),
        any::<f64>().prop_map(Loose::Number),
        (0.0f64..50000.0).prop_map(Loose::Date),
        prop::sample::select(vec![
            "1",
            "2,0",
            " 3 ",
            "helemaal eens",
            "99",
            "363",
            "2021",
            "2023",
            "WK036301",
            "ja",
            "1.234,5",
            "x@y.nl"
        ])
        .prop_map(|s| Loose::Text(s.to_string())),
        ".{0,12}".prop_map(Loose::Text),
    ]
}

fn table() -> impl Strategy<Value = RawTable> {
    (prop::collection::vec(header_name(), 1..14), 1usize..12).prop_flat_map(|(header, rows)| {
        let width = header.len();
        prop::collection::vec(prop::collection::vec(cell(), width), rows).prop_map(move |rows| {
            let source_rows = (1..=rows.len() as u32).collect();
            let values = rows.iter().map(|r| r.iter().map(Loose::value).collect());
            RawTable::from_values(None, header.clone(), values, source_rows)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_tables_give_only_valid_values(t in table(), name in prop::option::of("BP-20[12][0-9]-[1-4]-[A-Za-z' -]{1,12}\\.csv")) {
        let (cb, m) = config();
        let hints = name.as_deref().map(parse_name).unwrap_or_default();
        let h = harmonise(&t, &Context { delivery_id: "p", hints: &hints, forced_version: None }, &cb, &m);
        if let Some(b) = h.batch {
            prop_assert!(!b.is_empty());
            for (c, column) in cb.columns.iter().enumerate() {
                prop_assert_eq!(b.answers[c].len(), b.len());
                for v in b.answers[c].iter().flatten() {
                    let valid = column.value_labels.is_empty() || column.value_labels.iter().any(|(code, _)| *code == v);
                    prop_assert!(valid, "{} = {}", column.name, v);
                }
            }
            for w in b.wijknr.iter().flatten() {
                prop_assert!(w.len() == 8 && w.starts_with("WK") && w[2..].bytes().all(|b| b.is_ascii_digit()), "{}", w);
            }
            // Personal data never reaches a value.
            prop_assert!(!b.respondent.iter().flatten().any(|r| r.contains("x@y.nl")));
        }
    }
}
