//! Unit tests of the messy layout: the rotation's coverage and its format Latin rectangle,
//! column letters, and that the expected table encodes exactly the generated answers.

use std::collections::BTreeSet;
use std::path::Path;

use super::*;
use crate::ingest::Value;
use crate::synth::{SynthOptions, generate};

fn config() -> (Codebook, crate::municipality::Municipalities) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    (Codebook::load(&dir).unwrap(), crate::municipality::Municipalities::load(&dir).unwrap())
}

#[test]
fn column_letters_follow_spreadsheet_naming() {
    assert_eq!(column_letters(0), "A");
    assert_eq!(column_letters(25), "Z");
    assert_eq!(column_letters(26), "AA");
    assert_eq!(column_letters(27), "AB");
    assert_eq!(column_letters(701), "ZZ");
    assert_eq!(column_letters(702), "AAA");
}

#[test]
fn the_rotation_covers_every_variant_for_several_seeds() {
    let cells: Vec<(usize, usize)> = (0..36).map(|i| (i % 6, i / 6)).collect();
    for seed in [1, 2, 3, 99] {
        let qs = rotation(seed, &cells);
        let formats: BTreeSet<Format> = qs.iter().map(|q| q.format).collect();
        assert_eq!(formats.len(), FORMATS.len(), "seed {seed}");
        let text: Vec<TextQuirks> = qs.iter().filter_map(|q| q.text).collect();
        assert_eq!(text.iter().map(|t| t.encoding).collect::<BTreeSet<_>>().len(), 4);
        assert_eq!(text.iter().map(|t| t.delimiter).collect::<BTreeSet<_>>().len(), 4);
        assert_eq!(text.iter().map(|t| t.line_end).collect::<BTreeSet<_>>().len(), 2);
        assert_eq!(text.iter().map(|t| t.decimal).collect::<BTreeSet<_>>().len(), 2);
        assert_eq!(qs.iter().map(|q| q.title_rows).collect::<BTreeSet<_>>().len(), 4);
        assert_eq!(qs.iter().map(|q| q.header).collect::<BTreeSet<_>>().len(), 4);
        for flag in [
            |q: &Quirks| q.notes_sheet,
            |q: &Quirks| q.value_labels,
            |q: &Quirks| q.numbers_as_text,
            |q: &Quirks| q.trailing_rows,
            |q: &Quirks| q.trailing_columns,
            |q: &Quirks| q.formulas,
            |q: &Quirks| q.extra_column,
        ] {
            assert_eq!(qs.iter().map(flag).collect::<BTreeSet<_>>().len(), 2, "seed {seed}");
        }
        let layouts: BTreeSet<SavQuirks> = qs.iter().filter_map(|q| q.sav).collect();
        assert_eq!(layouts.len(), 4, "seed {seed}: every byte order with and without compression");
        // Quirks never claim what a format cannot hold.
        for q in &qs {
            assert_eq!(q.text.is_some(), matches!(q.format, Format::Csv | Format::Txt));
            assert_eq!(q.sav.is_some(), q.format == Format::Sav);
            if q.format == Format::Sav {
                assert_eq!((q.title_rows, q.header), (0, HeaderStyle::Plain), "{q:?}");
                assert!(!q.value_labels && !q.trailing_rows && !q.trailing_columns, "{q:?}");
            }
            assert!(!q.formulas || matches!(q.format, Format::Xlsx | Format::Xlsm | Format::Ods));
            assert!(!q.notes_sheet || q.format.is_spreadsheet());
            assert!(!q.numbers_as_text || q.format.is_spreadsheet());
        }
    }
}

#[test]
fn formats_form_a_latin_rectangle_over_municipalities_and_years() {
    let cells: Vec<(usize, usize)> = (0..36).map(|i| (i % 6, i / 6)).collect();
    for seed in [1, 2, 3, 99] {
        let qs = rotation(seed, &cells);
        for k in 0..6 {
            let year: BTreeSet<Format> =
                cells.iter().zip(&qs).filter(|((_, y), _)| *y == k).map(|(_, q)| q.format).collect();
            let municipality: BTreeSet<Format> =
                cells.iter().zip(&qs).filter(|((m, _), _)| *m == k).map(|(_, q)| q.format).collect();
            assert_eq!(year.len(), 6, "seed {seed}: year {k} repeats a format");
            assert_eq!(municipality.len(), 6, "seed {seed}: municipality {k} repeats a format");
        }
        for f in FORMATS {
            let n = qs.iter().filter(|q| q.format == f).count();
            assert!((5..=6).contains(&n), "seed {seed}: {f:?} {n} times");
        }
    }
}

#[test]
fn the_expected_table_holds_exactly_the_generated_answers() {
    let (cb, m) = config();
    let opts = SynthOptions { respondents: 15, messy: true, ..SynthOptions::default() };
    for d in generate(&opts, &cb, &m) {
        let q = d.quirks.clone().unwrap();
        let e = expected_table(&d, &cb).unwrap();
        let f = cb.formats.iter().find(|f| f.name == d.dataformat).unwrap();
        let first = e.table.header.len() - d.variables.len() - usize::from(q.extra_column);
        assert_eq!(e.table.rows.len(), d.respondents.len());
        for (i, r) in d.respondents.iter().enumerate() {
            for (j, (name, answer)) in d.variables.iter().zip(&r.answers).enumerate() {
                let v = f.variables.iter().find(|v| &v.name == name).unwrap();
                let code = match e.table.value(i, first + j) {
                    Value::Empty => None,
                    Value::Number(n) => Some(n as i16),
                    Value::Text(t) => Some(
                        t.parse::<i16>().unwrap_or_else(|_| v.value_labels.iter().find(|(_, l)| l == t).unwrap().0),
                    ),
                    Value::Date(_) => panic!("a date"),
                };
                assert_eq!(code, *answer, "{} {name}", d.file_name);
            }
        }
        let expected_title: Vec<u32> = match q.title_rows {
            0 => vec![],
            1 | 2 => vec![1],
            _ => vec![1, 2],
        };
        assert_eq!(e.title_rows, expected_title);
    }
}
