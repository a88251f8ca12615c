//! Assemble: joins the harmonised batches of one survey year into the order the lake stores
//! them, and gives every row its stable `respondent_key`.
//!
//! The key is `GM0363-2023-Q2-000123`: current municipality, year, quarter (`Q0` when unknown),
//! delivered respondent number (digits zero-padded to 6). A number that occurs again gets `-2`,
//! `-3`, … in the order of the batches and their rows. Rows are sorted by `gemeente_code`,
//! then `respondent_key`. Pure: no I/O.

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

fn base_key(batch: &Batch, row: usize) -> String {
    let quarter = batch.kw[row].unwrap_or_default();
    let number = match &batch.respondent[row] {
        Some(r) if !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()) => format!("{r:0>6}"),
        Some(r) => r.clone(),
        // No number delivered: the source row keeps the key unique and traceable.
        None => format!("r{:06}", batch.source_row[row]),
    };
    format!("{}-{}-Q{quarter}-{number}", batch.municipality(row).code, batch.year)
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
    }
}
