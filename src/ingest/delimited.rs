//! Delimited text reader (`.csv`, `.txt`) through the csv crate.
//!
//! Encoding: from the byte order mark (UTF-8, UTF-16 LE/BE); without one, UTF-8 when the bytes
//! are valid UTF-8, else Windows-1252 (what Excel on Dutch Windows writes). Delimiter: the one
//! of `;` `,` tab `|` that splits the first rows most consistently (quotes respected), so a
//! comma inside quoted text or a title row cannot fool it. Every non-empty field is returned as
//! text: deciding what is a number (and whether `1,5` has a decimal comma) is harmonise's job.
//!
//! Fields are not allocated one by one: one reused record buffer receives each record, and
//! every field's text is appended to the table's arena ([`Texts`]). Valid UTF-8 without a byte
//! order mark (the usual file) is read in place, not copied into a decoded string first.

use std::borrow::Cow;

use super::{KnownName, Layout, RawTable, Texts};
use crate::finding::{self, Finding};

const DELIMITERS: [u8; 4] = [b';', b',', b'\t', b'|'];

pub fn read(bytes: &[u8], delivery_id: &str, known: KnownName) -> (Option<RawTable>, Vec<Finding>) {
    let text = decode(bytes);
    if looks_binary(&text) {
        let f = Finding::new(
            finding::FILE_CORRUPT,
            delivery_id,
            "the file holds binary data (control characters), not delimited text; \
             export it again as CSV",
        );
        return (None, vec![f]);
    }
    let delimiter = sniff_delimiter(&text);
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // Fields are at most the whole text: room for all of them at once, no regrowth copies.
    let mut texts = Texts::with_capacity(text.len());
    let mut record = csv::StringRecord::new();
    for i in 0.. {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => rows.push(record.iter().map(|f| texts.cell(f)).collect::<Vec<_>>()),
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
    super::table_below_header(rows, texts, None, delivery_id, known, Layout::Fields)
}

/// Decodes by the byte order mark; without one UTF-8 if valid, else Windows-1252.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding.decode_without_bom_handling(&bytes[bom_len..]).0;
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0,
    }
}

/// Text has no NUL and hardly any other control characters; binary data decoded as
/// Windows-1252 is full of them.
fn looks_binary(text: &str) -> bool {
    let sample = text.chars().take(64 * 1024);
    let (mut n, mut control) = (0usize, 0usize);
    for c in sample {
        n += 1;
        if c == '\0' {
            return true;
        }
        if c.is_control() && !matches!(c, '\t' | '\r' | '\n') {
            control += 1;
        }
    }
    control * 100 > n
}

/// How many records the delimiter sniffer looks at.
const SNIFF_RECORDS: usize = 50;

/// The delimiter whose split of the first records has the most records of one width (the
/// table's), then the widest. Ties go to the order of [`DELIMITERS`]: `;` first, as Dutch
/// exports use it.
fn sniff_delimiter(text: &str) -> u8 {
    let mut best = (0usize, 0usize, DELIMITERS[0]);
    for d in DELIMITERS {
        let mut widths: Vec<usize> = csv::ReaderBuilder::new()
            .delimiter(d)
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes())
            .records()
            .take(SNIFF_RECORDS)
            .filter_map(Result::ok)
            .map(|r| r.len())
            .filter(|w| *w > 1)
            .collect();
        widths.sort_unstable();
        let (mut mode, mut count) = (0, 0);
        for chunk in widths.chunk_by(|a, b| a == b) {
            if chunk.len() > count || (chunk.len() == count && chunk[0] > mode) {
                (mode, count) = (chunk[0], chunk.len());
            }
        }
        if (count, mode) > (best.0, best.1) {
            best = (count, mode, d);
        }
    }
    best.2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Value;

    fn known(name: &str) -> bool {
        ["respondent", "weging", "wl01", "a", "b", "c"].contains(&name.trim().to_lowercase().as_str())
    }

    fn read(bytes: &[u8], id: &str) -> (Option<RawTable>, Vec<Finding>) {
        super::read(bytes, id, &known)
    }

    fn cells(t: &RawTable, row: usize) -> Vec<Value<'_>> {
        t.row(row).collect()
    }

    #[test]
    fn semicolons_and_decimal_commas_stay_text() {
        let (t, f) = read(b"respondent;weging;wl01\n1;1,25;7\n2;;8\n", "d");
        let t = t.unwrap();
        assert!(f.is_empty());
        assert_eq!(t.header, ["respondent", "weging", "wl01"]);
        assert_eq!(cells(&t, 0)[1], Value::Text("1,25"));
        assert_eq!(cells(&t, 1)[1], Value::Empty);
    }

    #[test]
    fn windows_1252_is_decoded() {
        let (t, _) = read(b"a,b\n\xe9t\xe9,2\n", "d");
        assert_eq!(t.unwrap().value(0, 0), Value::Text("été"));
    }

    #[test]
    fn ragged_rows_are_padded_and_reported() {
        let (t, f) = read(b"a;b;c\n1;2\n1;2;3;4\n1;2;3\n", "d");
        let t = t.unwrap();
        assert_eq!(cells(&t, 0), vec![Value::Text("1"), Value::Text("2"), Value::Empty]);
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
    fn utf16_with_bom_is_decoded() {
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for u in "respondent;wl01\r\n1;é\r\n".encode_utf16() {
            le.extend(u.to_le_bytes());
            be.extend(u.to_be_bytes());
        }
        for bytes in [le, be] {
            let t = read(&bytes, "d").0.unwrap();
            assert_eq!(t.header, ["respondent", "wl01"]);
            assert_eq!(t.value(0, 1), Value::Text("é"));
        }
    }

    #[test]
    fn delimiter_is_sniffed_by_consistency_not_count() {
        // The header has more commas (in a quoted title) than semicolons.
        let text = "\"Burgerpeiling, gemeente X, 2023\"\nrespondent;wl01;a\n1;\"7,5\";x\n2;8;\"a;b\"\n";
        let t = read(text.as_bytes(), "d").0.unwrap();
        assert_eq!(t.header, ["respondent", "wl01", "a"]);
        assert_eq!(t.value(1, 2), Value::Text("a;b"));
        for d in ["\t", "|", ","] {
            let text = format!("respondent{d}wl01\n1{d}2\n");
            let t = read(text.as_bytes(), "d").0.unwrap();
            assert_eq!(t.header, ["respondent", "wl01"], "{d:?}");
        }
    }

    #[test]
    fn quoted_fields_keep_newlines() {
        let t = read(b"respondent;wl01\n1;\"two\nlines\"\n2;3\n", "d").0.unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.value(0, 1), Value::Text("two\nlines"));
        assert_eq!(t.source_rows, [1, 2]);
    }

    #[test]
    fn binary_garbage_is_corrupt() {
        let (t, f) = read(b"\x00\x01\x02garbage", "d");
        assert!(t.is_none());
        assert_eq!(f[0].rule, finding::FILE_CORRUPT.id);
        // Deterministic pseudo-random bytes without NUL.
        let mut x: u32 = 12345;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                ((x >> 16) as u8).max(1)
            })
            .collect();
        let (t, f) = read(&noise, "d");
        assert!(t.is_none());
        assert_eq!(f[0].rule, finding::FILE_CORRUPT.id);
    }
}
