//! Rows under the header that are not respondents: a repeated header half-way down, a second
//! header of question texts (SPSS and many survey tools export "with labels" that way), a row
//! of units, a totals or `N =` row at the bottom. They are recognised here and taken out of
//! the table before anything reads a value from it, with an info finding per kind that names
//! the rows, so a question text never becomes a respondent numbered `respondentnummer`.
//!
//! What it must NOT do: read a cell of a column that is not a dataformat variable or that
//! must never enter the lake (those are dropped unread), quote a cell in a finding, or drop a
//! row whose respondent number is a real number (the cheap test that settles nearly every
//! row, and the guard against skipping a respondent).

use std::borrow::Cow;

use super::values::parse_number;
use crate::codebook::{Codebook, ResearchVariable, fold_label};
use crate::finding::{self, Finding};
use crate::ingest::{Cell, RawTable, Texts, Value};

/// Why a row is not a respondent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum NotRespondent {
    /// Two or more cells are dataformat variable names: the header again.
    RepeatedHeader,
    /// Two or more cells are their column's question text (the variable label).
    QuestionTexts,
    /// The first cell read starts with `Totaal`, `N =`, `Gemiddelde`, ….
    Totals,
    /// Only texts that are neither numbers nor value labels: units, notes.
    TextOnly,
}

impl NotRespondent {
    fn describe(self) -> &'static str {
        match self {
            NotRespondent::RepeatedHeader => "herhaalde kopregel met variabelenamen",
            NotRespondent::QuestionTexts => "tweede kopregel met vraagteksten (export met labels)",
            NotRespondent::Totals => "totaal- of N-rij",
            NotRespondent::TextOnly => "rij met alleen tekst zonder codes (zoals eenheden)",
        }
    }
}

/// Words that open a totals row (folded): Dutch and English, as survey tools write them.
const TOTALS_WORDS: [&str; 10] =
    ["totaal", "totalen", "total", "som", "sum", "gemiddelde", "gemiddeld", "mean", "average", "aantal"];

/// The table without its non-respondent rows (borrowed unchanged when there are none), and one
/// info finding per kind of row skipped. Row numbers keep their place in the file.
pub(super) fn without_non_respondents<'t>(
    table: &'t RawTable,
    names: &[String],
    codebook: &Codebook,
    delivery_id: &str,
    findings: &mut Vec<Finding>,
) -> Cow<'t, RawTable> {
    let skipped = classify(table, names, codebook);
    if skipped.is_empty() {
        return Cow::Borrowed(table);
    }
    let mut kinds: Vec<NotRespondent> = skipped.iter().map(|(_, k)| *k).collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        let rows: Vec<u32> = skipped.iter().filter(|(_, k)| *k == kind).map(|(r, _)| table.source_rows[*r]).collect();
        findings.push(
            Finding::new(
                finding::NON_RESPONDENT_ROWS,
                delivery_id,
                format!(
                    "{} rij(en) onder de kop zijn geen respondent en zijn overgeslagen: {}",
                    rows.len(),
                    kind.describe()
                ),
            )
            .sheet(table.sheet.clone())
            .rows(&rows),
        );
    }
    let mut keep = vec![true; table.rows.len()];
    for (r, _) in &skipped {
        keep[*r] = false;
    }
    let mut kept = RawTable {
        sheet: table.sheet.clone(),
        header: table.header.clone(),
        rows: Vec::new(),
        source_rows: Vec::new(),
        texts: table.texts.clone(),
    };
    for (r, row) in table.rows.iter().enumerate().filter(|(r, _)| keep[*r]) {
        kept.rows.push(row.clone());
        kept.source_rows.push(table.source_rows[r]);
    }
    Cow::Owned(kept)
}

/// The columns whose cells may be read, with what recognising a row needs of each.
struct Readable<'a> {
    index: usize,
    name: &'a str,
    question_texts: &'a [String],
}

/// The rows (indexes into the table) that are not respondents, with why.
pub(super) fn classify(table: &RawTable, names: &[String], codebook: &Codebook) -> Vec<(usize, NotRespondent)> {
    let readable: Vec<Readable> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.is_empty() && codebook.is_known(n) && !codebook.is_excluded(n))
        .map(|(index, n)| Readable { index, name: n, question_texts: codebook.question_texts(n) })
        .collect();
    let respondent = names.iter().position(|n| n == ResearchVariable::Respondent.name());
    table
        .rows
        .iter()
        .enumerate()
        .filter(|(_, row)| !respondent.is_some_and(|c| is_respondent_number(table.texts.value(row[c]))))
        .filter_map(|(r, row)| kind_of(row, &table.texts, &readable, codebook).map(|k| (r, k)))
        .collect()
}

/// A whole, non-negative number: what a respondent number is (`F8.0` in the dataformat).
fn is_respondent_number(cell: Value) -> bool {
    matches!(parse_number(cell), Ok(Some(v)) if v >= 0.0 && v.fract() == 0.0)
}

/// Why a row (whose respondent cell is not a number) is not a respondent; `None` when it may
/// be one.
fn kind_of(row: &[Cell], arena: &Texts, readable: &[Readable], codebook: &Codebook) -> Option<NotRespondent> {
    let cell = |c: &Readable| arena.value(row[c.index]);
    let texts: Vec<(&Readable, &str)> = readable
        .iter()
        .filter_map(|c| match cell(c) {
            Value::Text(t) if !t.trim().is_empty() => Some((c, t)),
            _ => None,
        })
        .collect();
    // Question texts first: some (`respondentnummer`, `jaar`) are also aliases of names.
    let is_question_text = |c: &Readable, t: &str| c.question_texts.binary_search(&fold_label(t)).is_ok();
    if texts.iter().filter(|(c, t)| is_question_text(c, t)).count() >= 2 {
        return Some(NotRespondent::QuestionTexts);
    }
    if texts.iter().filter(|(_, t)| codebook.is_known(t)).count() >= 2 {
        return Some(NotRespondent::RepeatedHeader);
    }
    let first = readable.iter().find(|c| !matches!(row[c.index], Cell::Empty));
    if let Some(c) = first
        && let Value::Text(t) = cell(c)
        && opens_totals(t)
        && !codebook.is_value_label(c.name, t)
    {
        return Some(NotRespondent::Totals);
    }
    let holds_code = readable.iter().any(|c| match cell(c) {
        Value::Number(_) => true,
        Value::Text(t) => matches!(parse_number(cell(c)), Ok(Some(_))) || codebook.is_value_label(c.name, t),
        Value::Empty | Value::Date(_) => false,
    });
    (!texts.is_empty() && !holds_code).then_some(NotRespondent::TextOnly)
}

/// `Totaal`, `Totaal:`, `N = 612`, `n=612`, `Gemiddelde (gewogen)`: a word of
/// [`TOTALS_WORDS`] followed by nothing or by a non-letter, or `n` followed by `=` or `:`.
fn opens_totals(text: &str) -> bool {
    let folded = fold_label(text);
    let after_n = folded.strip_prefix('n').map(str::trim_start);
    if after_n.is_some_and(|rest| rest.starts_with('=') || rest.starts_with(':')) {
        return true;
    }
    TOTALS_WORDS
        .iter()
        .any(|w| folded.strip_prefix(w).is_some_and(|rest| rest.chars().next().is_none_or(|c| !c.is_alphanumeric())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn codebook() -> Codebook {
        Codebook::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
    }

    fn text(s: &str) -> Value<'_> {
        if s.is_empty() { Value::Empty } else { Value::Text(s) }
    }

    fn table(rows: &[&[&str]]) -> RawTable {
        RawTable::from_values(
            None,
            ["respondent", "gemnr", "jr", "kw", "wl01", "wl02_2", "opmerking"].map(String::from).to_vec(),
            rows.iter().map(|r| r.iter().map(|c| text(c)).collect()),
            (1..=rows.len() as u32).collect(),
        )
    }

    fn names(cb: &Codebook, t: &RawTable) -> Vec<String> {
        t.header.iter().map(|h| cb.variable_name(h)).collect()
    }

    #[test]
    fn every_kind_of_non_respondent_row_is_recognised() {
        let cb = codebook();
        let t = table(&[
            &["respondentnummer", "gemeentenummer (CBS-code)", "jaar", "kwartaal", "", "", ""],
            &["nummer", "code", "jjjj", "1-4", "1-10", "1-6", "tekst"],
            &["12", "363", "2023", "2", "8", "1", ""],
            &["respondent", "gemnr", "jr", "kw", "wl01", "wl02_2", "opmerking"],
            &["", "363", "2023", "kwartaal 2", "helemaal eens", "", ""],
            &["Totaal", "726", "4046", "4", "8", "1", ""],
            &["N = 2", "", "", "", "", "", ""],
        ]);
        let got = classify(&t, &names(&cb, &t), &cb);
        assert_eq!(
            got,
            [
                (0, NotRespondent::QuestionTexts),
                (1, NotRespondent::TextOnly),
                (3, NotRespondent::RepeatedHeader),
                (5, NotRespondent::Totals),
                (6, NotRespondent::Totals),
            ]
        );
    }

    #[test]
    fn respondents_stay_even_without_a_number() {
        let cb = codebook();
        // No number, but codes; no number, but labels; a number and nothing else.
        let t = table(&[
            &["", "363", "2023", "", "", "", ""],
            &["", "", "", "", "", "eens", ""],
            &["14", "", "", "", "", "", ""],
        ]);
        assert!(classify(&t, &names(&cb, &t), &cb).is_empty());
    }

    #[test]
    fn unknown_columns_are_never_read() {
        let cb = codebook();
        // The only texts sit in a column that is not a variable: the row holds nothing readable.
        let t = table(&[&["", "", "", "", "", "", "Totaal"], &["7", "363", "2023", "1", "5", "1", ""]]);
        assert!(classify(&t, &names(&cb, &t), &cb).is_empty());
    }

    #[test]
    fn skipped_rows_keep_their_numbers_and_are_reported_per_kind() {
        let cb = codebook();
        let t = table(&[
            &["respondentnummer", "gemeentenummer (CBS-code)", "jaar", "kwartaal", "", "", ""],
            &["12", "363", "2023", "2", "8", "1", ""],
            &["Totaal", "363", "2023", "2", "8", "1", ""],
        ]);
        let mut findings = Vec::new();
        let kept = without_non_respondents(&t, &names(&cb, &t), &cb, "d", &mut findings);
        assert_eq!(kept.source_rows, [2]);
        assert_eq!(kept.value(0, 0), text("12"));
        let rows: Vec<(&[u32], finding::Severity)> = findings.iter().map(|f| (f.rows.as_slice(), f.severity)).collect();
        assert_eq!(rows, [(&[1][..], finding::Severity::Info), (&[3][..], finding::Severity::Info)]);
        assert!(findings.iter().all(|f| f.rule == finding::NON_RESPONDENT_ROWS.id));
        assert!(!format!("{findings:?}").contains("respondentnummer"), "no cell is quoted");
    }

    #[test]
    fn totals_words_need_a_word_boundary() {
        for t in ["Totaal", "totaal:", "N = 612", "n=612", "N: 40", "Gemiddelde (gewogen)", "TOTAL"] {
            assert!(opens_totals(t), "{t}");
        }
        for t in ["Totaalscore", "nee", "n", "Sommige", "aantallen"] {
            assert!(!opens_totals(t), "{t}");
        }
    }
}
