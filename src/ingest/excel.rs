//! Spreadsheet reader (`.xlsx`, `.xlsm`, `.xls`, `.ods`) through calamine.
//!
//! Cached formula values are what calamine returns for formula cells, so a sheet full of
//! formulas reads as its values. The table is taken from the first sheet; the header is the
//! first row that is not empty. Fully empty rows are skipped but keep their place in the row
//! numbering, so `source_row` still points at the row an agency sees in its own file.

use std::io::Cursor;

use calamine::{Data, Reader, open_workbook_auto_from_rs};

use super::{Cell, Format, RawTable};
use crate::finding::{self, Finding};

pub fn read(bytes: &[u8], format: Format, delivery_id: &str) -> (Option<RawTable>, Vec<Finding>) {
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
    let Some(sheet) = workbook.sheet_names().first().cloned() else {
        let f = Finding::new(finding::FILE_NO_DATA, delivery_id, "the workbook has no sheets");
        return (None, vec![f]);
    };
    let range = match workbook.worksheet_range(&sheet) {
        Ok(r) => r,
        Err(e) => return corrupt(format!("sheet {sheet:?}: {e}")),
    };
    let rows = range.rows().map(|row| row.iter().map(cell_of).collect::<Vec<_>>());
    super::table_from_rows(rows, Some(sheet), delivery_id)
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
