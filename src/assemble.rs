//! Assemble: joins the harmonised batches of one survey year into the order the lake stores
//! them, and gives every row its stable `respondent_key`.
//!
//! The key is `GM0363-2023-Q2-000123`: current municipality, year, quarter (`Q0` when unknown),
//! delivered respondent number (digits zero-padded to 6). A number that occurs again gets `-2`,
//! `-3`, … in the order of the batches and their rows. Rows are sorted by `gemeente_code`,
//! then `respondent_key`. Pure: no I/O.
//!
//! [`check_year`] holds a year to the lake's invariants before it is written: every row
//! carries the partition's year, and every key is well formed from a real respondent number
//! (or, for a row without one, its source row). Harmonising guarantees both, so a violation is
//! a bug: the year fails with an error instead of being published.

use std::collections::HashMap;

use crate::harmonise::Batch;

/// Where one lake row comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowRef {
    pub batch: usize,
    pub row: usize,
    pub respondent_key: String,
}

/// One survey year, ready to write: the batches and the rows in lake order.
#[derive(Debug)]
pub struct YearTable<'a> {
    pub year: u16,
    pub batches: Vec<&'a Batch>,
    pub rows: Vec<RowRef>,
}

/// Orders the rows of one year's batches. The batches must come in a deterministic order
/// (the pipeline passes them in inbox order), since it decides which duplicate gets `-2`.
pub fn assemble(year: u16, batches: Vec<&Batch>) -> YearTable<'_> {
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut rows = Vec::with_capacity(batches.iter().map(|b| b.len()).sum());
    for (bi, batch) in batches.iter().enumerate() {
        for r in 0..batch.len() {
            let base = base_key(batch, r);
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let respondent_key = if *n == 1 { base } else { format!("{base}-{n}") };
            rows.push(RowRef { batch: bi, row: r, respondent_key });
        }
    }
    rows.sort_by(|a, b| {
        let ga = &batches[a.batch].municipality(a.row).code;
        let gb = &batches[b.batch].municipality(b.row).code;
        ga.cmp(gb).then_with(|| a.respondent_key.cmp(&b.respondent_key))
    });
    YearTable { year, batches, rows }
}

/// How many violating rows an invariant error names.
const VIOLATIONS_NAMED: usize = 5;

/// Checks the two invariants of a partition (see the module documentation). The error names
/// the deliveries and source rows of the first violations, never a respondent number.
pub fn check_year(table: &YearTable) -> anyhow::Result<()> {
    let mut wrong_year = Vec::new();
    let mut malformed = Vec::new();
    let year = table.year.to_string();
    for rr in &table.rows {
        let batch = table.batches[rr.batch];
        let at = || format!("levering {} rij {}", batch.delivery_id, batch.source_row[rr.row]);
        if batch.year != table.year || batch.jr[rr.row] != Some(table.year as i16) {
            wrong_year.push(at());
        }
        if !key_is_well_formed(&rr.respondent_key, batch, rr.row, &year) {
            malformed.push(at());
        }
    }
    let mut problems = Vec::new();
    let mut name = |rows: &[String], what: &str| {
        if !rows.is_empty() {
            let shown: Vec<&str> = rows.iter().take(VIOLATIONS_NAMED).map(String::as_str).collect();
            problems.push(format!("{} rij(en) {what} (o.a. {})", rows.len(), shown.join("; ")));
        }
    };
    name(&wrong_year, &format!("dragen niet het jaar {} van de partitie", table.year));
    name(&malformed, "hebben een respondent_key die niet de vorm GM####-JJJJ-Q#-nummer heeft");
    if problems.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "survey year {} is not published: the lake's invariants do not hold (a bug in the product, not in \
         the deliveries): {}",
        table.year,
        problems.join("; ")
    )
}

/// `GM0363-2023-Q2-000123`, optionally `-2`, `-3`, …: the row's own municipality, the year,
/// its quarter (`Q0` when unknown), and a respondent number of at least six digits (or `r`
/// and the source row, for a row without a number).
fn key_is_well_formed(key: &str, batch: &Batch, row: usize, year: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut parts = key.split('-');
    let (Some(code), Some(key_year), Some(quarter), Some(number)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let suffix = parts.next();
    if parts.next().is_some() {
        return false;
    }
    let municipality = &batch.municipality(row).code;
    // `Q` and the row's quarter, 0 to 4: one digit, compared without formatting the quarter.
    let quarter_ok = matches!(quarter, "Q0" | "Q1" | "Q2" | "Q3" | "Q4")
        && i16::from(quarter.as_bytes()[1] - b'0') == batch.kw[row].unwrap_or_default();
    let number_ok = match &batch.respondent[row] {
        Some(_) => digits(number) && number.len() >= 6,
        None => number.strip_prefix('r').is_some_and(|n| digits(n) && n.len() >= 6),
    };
    code == municipality
        && code.strip_prefix("GM").is_some_and(|d| digits(d) && d.len() == 4)
        && key_year == year
        && quarter_ok
        && number_ok
        && suffix.is_none_or(|s| digits(s) && s != "0" && s != "1")
}

/// Written into one string: a year has tens of thousands of rows, and a `format!` per part
/// showed in the single-threaded start of every year's build.
fn base_key(batch: &Batch, row: usize) -> String {
    use std::fmt::Write;
    let quarter = batch.kw[row].unwrap_or_default();
    let mut key = String::with_capacity(32);
    let _ = write!(key, "{}-{}-Q{quarter}-", batch.municipality(row).code, batch.year);
    match &batch.respondent[row] {
        Some(r) if !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()) => {
            // At least six digits, zeros in front.
            key.extend(std::iter::repeat_n('0', 6usize.saturating_sub(r.len())));
            key.push_str(r);
        }
        Some(r) => key.push_str(r),
        // No number delivered: the source row keeps the key unique and traceable.
        None => {
            let _ = write!(key, "r{:06}", batch.source_row[row]);
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codebook::Questionnaire;
    use crate::municipality::Municipality;

    fn batch(code: &str, respondents: &[Option<&str>], kw: Option<i16>) -> Batch {
        let n = respondents.len();
        Batch {
            delivery_id: "d".into(),
            vragenlijst: Questionnaire::V2022,
            municipalities: vec![Municipality { code: code.into(), name: "X".into() }],
            gemeente: vec![0; n],
            year: 2023,
            source_row: (1..=n as i32).collect(),
            respondent: respondents.iter().map(|r| r.map(String::from)).collect(),
            gemnr: vec![None; n],
            jr: vec![Some(2023); n],
            kw: vec![kw; n],
            veldwerkmodus: vec![None; n],
            org: vec![None; n],
            wijknr: vec![None; n],
            weging: vec![None; n],
            answers: vec![],
            complete: vec![true; n],
        }
    }

    #[test]
    fn keys_are_padded_suffixed_and_sorted() {
        let a = batch("GM0363", &[Some("123"), Some("7"), Some("123"), None], Some(2));
        let b = batch("GM0014", &[Some("5")], None);
        let t = assemble(2023, vec![&a, &b]);
        let keys: Vec<&str> = t.rows.iter().map(|r| r.respondent_key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "GM0014-2023-Q0-000005",
                "GM0363-2023-Q2-000007",
                "GM0363-2023-Q2-000123",
                "GM0363-2023-Q2-000123-2",
                "GM0363-2023-Q2-r000004",
            ]
        );
        // The first 123 in source order keeps the plain key.
        assert_eq!((t.rows[2].batch, t.rows[2].row), (0, 0));
        assert_eq!((t.rows[3].batch, t.rows[3].row), (0, 2));
        check_year(&t).expect("keys built here hold the invariants");
        // Seven digits and a number that is not one: no padding.
        let c = batch("GM0363", &[Some("1234567"), Some("A12")], Some(4));
        let t = assemble(2023, vec![&c]);
        let keys: Vec<&str> = t.rows.iter().map(|r| r.respondent_key.as_str()).collect();
        assert_eq!(keys, ["GM0363-2023-Q4-1234567", "GM0363-2023-Q4-A12"]);
    }

    #[test]
    fn a_row_without_its_partitions_year_fails_the_year() {
        let mut a = batch("GM0363", &[Some("1"), Some("2")], Some(1));
        a.jr[1] = None;
        let err = check_year(&assemble(2023, vec![&a])).unwrap_err().to_string();
        assert!(
            err.contains("survey year 2023 is not published") && err.contains("1 rij(en) dragen niet het jaar"),
            "{err}"
        );
        assert!(err.contains("levering d rij 2"), "{err}");
        let mut b = batch("GM0363", &[Some("1")], Some(1));
        b.year = 2022;
        b.jr = vec![Some(2022)];
        assert!(check_year(&assemble(2023, vec![&b])).is_err(), "a batch of another year");
    }

    #[test]
    fn a_key_not_built_from_a_respondent_number_fails_the_year() {
        // What the question-text row of issue 16 became: its text as the number, quarter Q0.
        let a = batch("GM0363", &[Some("respondentnummer")], Some(2));
        let err = check_year(&assemble(2023, vec![&a])).unwrap_err().to_string();
        assert!(err.contains("respondent_key") && !err.contains("respondentnummer"), "{err}");
        let b = batch("GM0363", &[Some("12")], Some(7));
        assert!(check_year(&assemble(2023, vec![&b])).is_err(), "quarter 7");
        let mut c = batch("GM0363", &[Some("12")], Some(2));
        c.municipalities[0].code = "0363".into();
        assert!(check_year(&assemble(2023, vec![&c])).is_err(), "no GM code");
        // Tampered keys, checked one by one against a sound row.
        let d = batch("GM0363", &[Some("12")], Some(2));
        for key in [
            "GM0363-2023-Q2-12",
            "GM0363-2022-Q2-000012",
            "GM0014-2023-Q2-000012",
            "GM0363-2023-Q3-000012",
            "GM0363-2023-Q2-000012-1",
            "GM0363-2023-Q2-000012-x",
            "GM0363-2023-Q2",
            "GM0363-2023-Q2-000012-3-4",
            "GM0363-2023-Q02-000012",
            "GM0363-2023-Q-000012",
        ] {
            assert!(!key_is_well_formed(key, &d, 0, "2023"), "{key}");
        }
        assert!(key_is_well_formed("GM0363-2023-Q2-000012-3", &d, 0, "2023"));
        assert!(key_is_well_formed("GM0363-2023-Q2-12345678", &d, 0, "2023"));
    }
}
