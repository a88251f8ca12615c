//! Delimited text reader (`.csv`, `.txt`) through the csv crate.
//!
//! Encoding: a UTF-8 byte order mark is dropped; valid UTF-8 is read as such, anything else as
//! Windows-1252 (what Excel on Dutch Windows writes). Delimiter: the one of `;` `,` tab `|` that
//! occurs most often in the header line. Every non-empty field is returned as text: deciding
//! what is a number (and whether `1,5` has a decimal comma) is the harmonise stage's job.

use super::{Cell, KnownName, RawTable};
use crate::finding::{self, Finding};

const DELIMITERS: [u8; 4] = [b';', b',', b'\t', b'|'];

pub fn read(bytes: &[u8], delivery_id: &str, known: KnownName) -> (Option<RawTable>, Vec<Finding>) {
    let text = decode(bytes);
    if text.contains('\0') {
        let f = Finding::new(
            finding::FILE_CORRUPT,
            delivery_id,
            "the file holds binary data (NUL bytes), not delimited text",
        );
        return (None, vec![f]);
    }
    let delimiter = sniff_delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        match record {
            Ok(r) => rows.push(
                r.iter()
                    .map(|f| if f.trim().is_empty() { Cell::Empty } else { Cell::Text(f.to_string()) })
                    .collect::<Vec<_>>(),
            ),
            Err(e) => {
                let f = Finding::new(
                    finding::FILE_CORRUPT,
                    delivery_id,
                    format!("line {} cannot be parsed as delimited text: {e}", i + 1),
                );
                return (None, vec![f]);
            }
        }
    }
    super::table_below_header(rows, None, delivery_id, known)
}

/// UTF-8 (with or without BOM), else Windows-1252.
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    DELIMITERS
        .iter()
        .copied()
        .max_by_key(|d| (header.bytes().filter(|b| b == d).count(), std::cmp::Reverse(*d == b',')))
        .unwrap_or(b';')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(name: &str) -> bool {
        ["respondent", "weging", "wl01", "a", "b", "c"].contains(&name.trim().to_lowercase().as_str())
    }

    fn read(bytes: &[u8], id: &str) -> (Option<RawTable>, Vec<Finding>) {
        super::read(bytes, id, &known)
    }

    fn cells(t: &RawTable, row: usize) -> Vec<Cell> {
        t.rows[row].clone()
    }

    #[test]
    fn semicolons_and_decimal_commas_stay_text() {
        let (t, f) = read(b"respondent;weging;wl01\n1;1,25;7\n2;;8\n", "d");
        let t = t.unwrap();
        assert!(f.is_empty());
        assert_eq!(t.header, ["respondent", "weging", "wl01"]);
        assert_eq!(cells(&t, 0)[1], Cell::Text("1,25".into()));
        assert_eq!(cells(&t, 1)[1], Cell::Empty);
    }

    #[test]
    fn windows_1252_is_decoded() {
        let (t, _) = read(b"a,b\n\xe9t\xe9,2\n", "d");
        assert_eq!(t.unwrap().rows[0][0], Cell::Text("été".into()));
    }

    #[test]
    fn ragged_rows_are_padded_and_reported() {
        let (t, f) = read(b"a;b;c\n1;2\n1;2;3;4\n1;2;3\n", "d");
        let t = t.unwrap();
        assert_eq!(t.rows[0], vec![Cell::Text("1".into()), Cell::Text("2".into()), Cell::Empty]);
        assert_eq!(t.rows[1].len(), 3);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, finding::RAGGED_ROW.id);
        assert_eq!(f[0].rows, vec![1, 2]);
    }

    #[test]
    fn title_rows_above_the_header_are_skipped_and_reported() {
        let (t, f) = read(b"Burgerpeiling 2023;;\n\nrespondent;wl01\n1;7\n", "d");
        let t = t.unwrap();
        assert_eq!(t.header, ["respondent", "wl01"]);
        assert_eq!(t.source_rows, [1]);
        assert_eq!(f[0].rule, finding::TITLE_ROWS_SKIPPED.id);
        assert_eq!(f[0].rows, [1]);
    }

    #[test]
    fn no_header_is_rejected_without_quoting_data() {
        let (t, f) = read(b"naam;email\nJan;jan@example.nl\nQ1;x\n", "d");
        assert!(t.is_none());
        assert_eq!(f[0].rule, finding::NO_HEADER.id);
        assert!(f[0].message.contains("\"Q1\""), "{}", f[0].message);
        assert!(!f[0].message.contains("jan@"), "{}", f[0].message);
        assert!(!f[0].message.contains("Jan"), "{}", f[0].message);
    }

    #[test]
    fn binary_garbage_is_corrupt() {
        let (t, f) = read(b"\x00\x01\x02garbage", "d");
        assert!(t.is_none());
        assert_eq!(f[0].rule, finding::FILE_CORRUPT.id);
    }
}
