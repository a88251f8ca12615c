//! Spreadsheet reader (`.xlsx`, `.xlsm`, `.xls`, `.ods`) through calamine.
//!
//! Cached formula values are what calamine returns for formula cells, so a sheet full of
//! formulas reads as its values. The table is taken from the first sheet; the header is the
//! first row that is not empty. Fully empty rows are skipped but keep their place in the row
//! numbering, so `source_row` still points at the row an agency sees in its own file.

use std::io::Cursor;

use calamine::{Data, Reader, open_workbook_auto_from_rs};

use super::{Cell, Format, KnownName, RawTable};
use crate::finding::{self, Finding};

pub fn read(
    bytes: &[u8],
    format: Format,
    delivery_id: &str,
    known: KnownName,
) -> (Option<RawTable>, Vec<Finding>) {
    let corrupt = |what: String| {
        let f = Finding::new(
            finding::FILE_CORRUPT,
            delivery_id,
            format!("the file cannot be read as .{}: {what}", format.as_str()),
        );
        (None, vec![f])
    };
    let mut workbook = match open_workbook_auto_from_rs(Cursor::new(bytes)) {
        Ok(w) => w,
        Err(e) => return corrupt(e.to_string()),
    };
    let names = workbook.sheet_names().to_vec();
    if names.is_empty() {
        let f = Finding::new(finding::FILE_NO_DATA, delivery_id, "the workbook has no sheets");
        return (None, vec![f]);
    }
    // The sheet whose header matches the most variables: a notes sheet ("Toelichting") placed
    // first must not be taken for the data.
    let mut best: Option<(usize, String, Vec<Vec<Cell>>)> = None;
    let mut first_rows: Vec<Vec<Cell>> = Vec::new();
    for name in names {
        let range = match workbook.worksheet_range(&name) {
            Ok(r) => r,
            Err(e) => return corrupt(format!("sheet {name:?}: {e}")),
        };
        let rows: Vec<Vec<Cell>> = range.rows().map(|row| row.iter().map(cell_of).collect()).collect();
        let score = super::find_header(&rows, known).map_or(0, |(_, s)| s);
        if first_rows.is_empty() {
            first_rows = rows.iter().take(super::HEADER_SEARCH_ROWS).cloned().collect();
        }
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, name, rows));
        }
    }
    match best {
        Some((score, name, rows)) if score > 0 => super::table_below_header(rows, Some(name), delivery_id, known),
        _ => super::table_below_header(first_rows, None, delivery_id, known),
    }
}

fn cell_of(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Number(if *b { 1.0 } else { 0.0 }),
        Data::String(s) if s.trim().is_empty() => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::DateTime(dt) => Cell::Date(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Text(format!("#{e:?}")),
    }
}
