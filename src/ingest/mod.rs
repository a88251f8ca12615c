//! Ingest: finds deliveries in the inbox and reads each into a [`RawTable`] of header names and
//! cells, whatever the file format.
//!
//! Reading interprets nothing: a cell is empty, a number, a text or a date, exactly as the file
//! holds it. A file that cannot be read gives findings (rule ids `ingest.*`), never an `Err` and
//! never a panic, so one bad file rejects only itself. The inbox is only ever opened for reading.

pub mod delimited;
pub mod discover;
pub mod excel;
pub mod spss;

use std::path::PathBuf;

use crate::finding::{self, Finding};

pub use discover::{Delivery, discover};

/// The file formats the product reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Xlsx,
    Xlsm,
    Xls,
    Ods,
    Csv,
    Txt,
}

impl Format {
    /// The format a file name's extension claims, if it is one the product reads.
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "xlsx" => Some(Format::Xlsx),
            "xlsm" => Some(Format::Xlsm),
            "xls" => Some(Format::Xls),
            "ods" => Some(Format::Ods),
            "csv" => Some(Format::Csv),
            "txt" => Some(Format::Txt),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Xlsm => "xlsm",
            Format::Xls => "xls",
            Format::Ods => "ods",
            Format::Csv => "csv",
            Format::Txt => "txt",
        }
    }

    pub fn is_spreadsheet(self) -> bool {
        matches!(self, Format::Xlsx | Format::Xlsm | Format::Xls | Format::Ods)
    }
}

/// One cell as the file holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Number(f64),
    Text(String),
    /// A spreadsheet date or time, as the spreadsheet serial number.
    Date(f64),
}

/// A delivery's table: the header row and the data rows below it.
#[derive(Clone, Debug, PartialEq)]
pub struct RawTable {
    /// The sheet the table came from (spreadsheets only).
    pub sheet: Option<String>,
    /// Header names as delivered.
    pub header: Vec<String>,
    /// Data rows; every row has exactly `header.len()` cells.
    pub rows: Vec<Vec<Cell>>,
    /// For each data row, its 1-based number among the data rows of the file (header not
    /// counted; skipped empty rows keep their number).
    pub source_rows: Vec<u32>,
}

/// Reads one delivery. Returns the table, or `None` with an `error` finding saying why not.
pub fn read(path: &PathBuf, format: Format, delivery_id: &str) -> (Option<RawTable>, Vec<Finding>) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            let f = Finding::new(
                finding::FILE_UNREADABLE,
                delivery_id,
                format!("cannot read the file: {e}"),
            );
            return (None, vec![f]);
        }
    };
    if bytes.is_empty() {
        let f = Finding::new(finding::FILE_EMPTY, delivery_id, "the file is empty (0 bytes)");
        return (None, vec![f]);
    }
    if format.is_spreadsheet() {
        excel::read(&bytes, format, delivery_id)
    } else {
        delimited::read(&bytes, delivery_id)
    }
}

/// Builds a table from the rows of a file: the first row with any cell is the header; fully
/// empty rows below it are skipped (keeping their number); every row is cut or padded to the
/// header's width, and rows that had to be are reported as ragged.
pub(crate) fn table_from_rows(
    rows: impl Iterator<Item = Vec<Cell>>,
    sheet: Option<String>,
    delivery_id: &str,
) -> (Option<RawTable>, Vec<Finding>) {
    let is_empty = |row: &[Cell]| row.iter().all(|c| *c == Cell::Empty);
    let mut rows = rows.skip_while(|r| is_empty(r));
    let Some(header_row) = rows.next() else {
        let f = Finding::new(finding::FILE_NO_DATA, delivery_id, "the file holds no header row")
            .sheet(sheet);
        return (None, vec![f]);
    };
    let mut header: Vec<String> = header_row
        .iter()
        .map(|c| match c {
            Cell::Empty => String::new(),
            Cell::Number(n) => n.to_string(),
            Cell::Text(t) => t.trim().to_string(),
            Cell::Date(d) => d.to_string(),
        })
        .collect();
    // Trailing unnamed columns are layout, not data.
    while header.last().is_some_and(|h| h.is_empty()) {
        header.pop();
    }
    let width = header.len();
    let mut table = RawTable { sheet: sheet.clone(), header, rows: Vec::new(), source_rows: Vec::new() };
    let mut ragged = Vec::new();
    for (i, mut row) in rows.enumerate() {
        let number = i as u32 + 1;
        if is_empty(&row) {
            continue;
        }
        if row.len() > width && row[width..].iter().all(|c| *c == Cell::Empty) {
            row.truncate(width);
        }
        if row.len() != width {
            ragged.push(number);
            row.resize(width, Cell::Empty);
        }
        table.rows.push(row);
        table.source_rows.push(number);
    }
    let mut findings = Vec::new();
    if !ragged.is_empty() {
        findings.push(
            Finding::new(
                finding::RAGGED_ROW,
                delivery_id,
                format!(
                    "{} row(s) have another number of fields than the header ({width}); \
                     missing fields are read as empty, extra fields are ignored",
                    ragged.len()
                ),
            )
            .sheet(sheet)
            .rows(&ragged),
        );
    }
    if table.rows.is_empty() {
        findings.push(Finding::new(
            finding::FILE_NO_DATA,
            delivery_id,
            "the file has a header row but no data rows",
        ));
        return (None, findings);
    }
    (Some(table), findings)
}
