//! Ingest: finds deliveries in the inbox and reads each into a [`RawTable`] of header names and
//! cells, whatever the file format.
//!
//! Reading interprets nothing: a cell is empty, a number, a text or a date, exactly as the file
//! holds it. Texts are not owned by their cells: every reader appends them to the table's one
//! arena ([`Texts`]) and a text cell holds its span there (`cells`), so reading allocates per
//! buffer, not per cell; harmonise reads a cell as a [`Value`] through the table. A file that
//! cannot be read gives findings (rule ids `ingest.*`), never an `Err` and never a panic, so one
//! bad file rejects only itself. The inbox is only ever opened for reading.

pub mod bundle;
mod cells;
pub mod delimited;
pub mod discover;
pub mod excel;
pub mod passwords;
pub mod spss;
pub mod xlsx;

use std::path::{Path, PathBuf};

use crate::finding::{self, Finding};

pub use cells::{Cell, Span, Texts, Value};
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
    /// SPSS system file, the format the protocol prescribes.
    Sav,
    /// A zip bundle (the protocol's delivery form): never read as a table itself; its dataset
    /// files are deliveries of their own formats. Only a bundle that cannot be opened is a
    /// delivery of this format, a refused one.
    Zip,
}

impl Format {
    /// The dataset format a file name's extension claims, if it is one the product reads as a
    /// table (`.zip` is not: see [`bundle::is_zip_name`]).
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "xlsx" => Some(Format::Xlsx),
            "xlsm" => Some(Format::Xlsm),
            "xls" => Some(Format::Xls),
            "ods" => Some(Format::Ods),
            "csv" => Some(Format::Csv),
            "txt" => Some(Format::Txt),
            "sav" => Some(Format::Sav),
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
            Format::Sav => "sav",
            Format::Zip => "zip",
        }
    }

    /// A workbook of sheets and cells (as opposed to delimited text or an SPSS file).
    pub fn is_spreadsheet(self) -> bool {
        matches!(self, Format::Xlsx | Format::Xlsm | Format::Xls | Format::Ods)
    }
}

/// A delivery's table: the header row and the data rows below it.
#[derive(Clone, Debug)]
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
    /// The arena the text cells of `rows` point into.
    pub texts: Texts,
}

impl RawTable {
    /// A table of the given cell values, their texts copied into a new arena (tests and the
    /// synthetic generator build tables this way).
    pub fn from_values<'a>(
        sheet: Option<String>,
        header: Vec<String>,
        rows: impl IntoIterator<Item = Vec<Value<'a>>>,
        source_rows: Vec<u32>,
    ) -> RawTable {
        let mut texts = Texts::default();
        let rows = rows.into_iter().map(|r| r.into_iter().map(|v| texts.store(v)).collect()).collect();
        RawTable { sheet, header, rows, source_rows, texts }
    }

    /// The cell at data row `row`, column `col`, with its text.
    pub fn value(&self, row: usize, col: usize) -> Value<'_> {
        self.texts.value(self.rows[row][col])
    }

    /// One column's cells, top to bottom, with their texts.
    pub fn column(&self, col: usize) -> impl Iterator<Item = Value<'_>> + Clone + '_ {
        self.rows.iter().map(move |r| self.texts.value(r[col]))
    }

    /// One row's cells with their texts.
    pub fn row(&self, row: usize) -> impl Iterator<Item = Value<'_>> + '_ {
        self.rows[row].iter().map(|c| self.texts.value(*c))
    }
}

/// Two tables are equal when they hold the same values: where their arenas put the texts (and
/// what else the arenas hold) does not matter.
impl PartialEq for RawTable {
    fn eq(&self, other: &RawTable) -> bool {
        self.sheet == other.sheet
            && self.header == other.header
            && self.source_rows == other.source_rows
            && same_rows(&self.rows, &self.texts, &other.rows, &other.texts)
    }
}

/// Whether two grids of cells hold the same values, each read through its own arena.
pub fn same_rows(a: &[Vec<Cell>], a_texts: &Texts, b: &[Vec<Cell>], b_texts: &Texts) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(ra, rb)| {
            ra.len() == rb.len() && ra.iter().zip(rb).all(|(x, y)| a_texts.value(*x) == b_texts.value(*y))
        })
}

/// Tells whether a header cell names a dataformat variable (after case and `.`/`_` folding).
/// The codebook provides it; ingest only uses it to find the header row and the sheet.
pub type KnownName<'a> = &'a (dyn Fn(&str) -> bool + Sync);

/// Reads one file. Returns the table, or `None` with an `error` finding saying why not.
pub fn read(
    path: &PathBuf,
    format: Format,
    delivery_id: &str,
    known: KnownName,
    max_decompressed_bytes: u64,
) -> (Option<RawTable>, Vec<Finding>) {
    match std::fs::read(path) {
        Ok(bytes) => read_bytes(&bytes, format, delivery_id, known, max_decompressed_bytes),
        Err(e) => {
            let f = Finding::new(finding::FILE_UNREADABLE, delivery_id, format!("cannot read the file: {e}"));
            (None, vec![f])
        }
    }
}

/// Reads one delivery: a file in the inbox, or a dataset in a bundle, unpacked in memory
/// (never to disk) with the bundle's keys.
pub fn read_delivery(
    delivery: &Delivery,
    known: KnownName,
    limits: bundle::BundleLimits,
) -> (Option<RawTable>, Vec<Finding>) {
    let Some(member) = &delivery.bundle else {
        return read(&delivery.path, delivery.format, &delivery.id, known, limits.max_decompressed_bytes);
    };
    match read_member(&delivery.path, member, limits) {
        Ok(bytes) => read_bytes(&bytes, delivery.format, &delivery.id, known, limits.max_decompressed_bytes),
        Err(e) => (None, vec![discover::bundle_finding(&e, &delivery.id, &delivery.file_name, &member.password_file)]),
    }
}

fn read_member(
    bundle_path: &Path,
    member: &discover::BundleMember,
    limits: bundle::BundleLimits,
) -> Result<Vec<u8>, bundle::BundleError> {
    let bytes = std::fs::read(bundle_path)
        .map_err(|e| bundle::BundleError::Corrupt(format!("de bundel is niet te lezen: {e}")))?;
    bundle::read_member(&bytes, &member.entry, &member.keys, &limits)
}

/// Reads one file's bytes as `format`.
pub fn read_bytes(
    bytes: &[u8],
    format: Format,
    delivery_id: &str,
    known: KnownName,
    max_decompressed_bytes: u64,
) -> (Option<RawTable>, Vec<Finding>) {
    if bytes.is_empty() {
        let f = Finding::new(finding::FILE_EMPTY, delivery_id, "the file is empty (0 bytes)");
        return (None, vec![f]);
    }
    match format {
        Format::Sav => {
            let (file, findings) = spss::read(bytes, delivery_id);
            (file.map(|f| f.table), findings)
        }
        Format::Csv | Format::Txt => delimited::read(bytes, delivery_id, known),
        Format::Xlsx | Format::Xlsm | Format::Xls | Format::Ods => {
            excel::read(bytes, format, delivery_id, known, max_decompressed_bytes)
        }
        Format::Zip => {
            let why = "een zip-bundel is geen tabel: zijn databestanden worden als eigen leveringen gelezen";
            (None, vec![Finding::new(finding::FILE_CORRUPT, delivery_id, why)])
        }
    }
}

/// How many rows from the top the header may sit at.
pub const HEADER_SEARCH_ROWS: usize = 30;
/// How many dataformat variable names a row needs to be taken for the header.
pub const MIN_HEADER_MATCHES: usize = 2;

/// How many cells of `row` name a dataformat variable.
pub(crate) fn header_score(row: &[Cell], texts: &Texts, known: KnownName) -> usize {
    row.iter().filter(|c| matches!(c, Cell::Text(t) if known(texts.get(*t)))).count()
}

/// The header row: the first among the first [`HEADER_SEARCH_ROWS`] with at least
/// [`MIN_HEADER_MATCHES`] variable names. Returns its index and score.
pub(crate) fn find_header(rows: &[Vec<Cell>], texts: &Texts, known: KnownName) -> Option<(usize, usize)> {
    rows.iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .map(|(i, r)| (i, header_score(r, texts, known)))
        .find(|(_, score)| *score >= MIN_HEADER_MATCHES)
}

/// Finds the header among the rows of a file, reports the title rows above it, and builds the
/// table below it. Without a header the delivery is rejected with a finding that describes what
/// the top of the file looks like (names only, never values that could be personal data).
/// `texts` is the arena the cells' texts are in; it becomes the table's.
pub(crate) fn table_below_header(
    mut rows: Vec<Vec<Cell>>,
    texts: Texts,
    sheet: Option<String>,
    delivery_id: &str,
    known: KnownName,
    layout: Layout,
) -> (Option<RawTable>, Vec<Finding>) {
    if texts.overflowed() {
        let why = "the file holds more than 4 GiB of text, more than a table can hold";
        return (None, vec![Finding::new(finding::FILE_TOO_LARGE, delivery_id, why).sheet(sheet)]);
    }
    let Some((at, _)) = find_header(&rows, &texts, known) else {
        let f = Finding::new(finding::NO_HEADER, delivery_id, no_header_message(&rows, &texts)).sheet(sheet);
        return (None, vec![f]);
    };
    let mut findings = Vec::new();
    let skipped: Vec<u32> =
        (0..at).filter(|&i| rows[i].iter().any(|c| *c != Cell::Empty)).map(|i| i as u32 + 1).collect();
    if !skipped.is_empty() {
        findings.push(
            Finding::new(
                finding::TITLE_ROWS_SKIPPED,
                delivery_id,
                format!("{} row(s) above the header (file row {}) were skipped", skipped.len(), at + 1),
            )
            .sheet(sheet.clone())
            .rows(&skipped),
        );
    }
    rows.drain(..at);
    let (table, more) = build_table(rows.into_iter(), texts, sheet, delivery_id, layout);
    findings.extend(more);
    (table, findings)
}

fn no_header_message(rows: &[Vec<Cell>], texts: &Texts) -> String {
    let looked = rows.len().min(HEADER_SEARCH_ROWS);
    // Only variable-like texts (`Q1`, `wl.01`, `v_12`) are quoted: a data row could hold a
    // name, an e-mail address or a postcode, and none of those look like this.
    let name_like = |t: &str| {
        let t = t.trim();
        let mut chars = t.chars();
        t.len() <= 30
            && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
            && t.chars().any(|c| c.is_ascii_digit() || matches!(c, '_' | '.'))
    };
    let seen: Vec<String> = rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .flat_map(|r| r.iter())
        .filter_map(|c| match texts.value(*c) {
            Value::Text(t) if name_like(t) => Some(format!("{:?}", t.trim())),
            _ => None,
        })
        .take(10)
        .collect();
    let widest = rows.iter().take(HEADER_SEARCH_ROWS).map(|r| r.len()).max().unwrap_or(0);
    let mut msg = format!(
        "no header row: none of the first {looked} rows (at most {widest} cells wide) has \
         {MIN_HEADER_MATCHES} or more dataformat variable names"
    );
    if !seen.is_empty() {
        msg.push_str(&format!("; texts seen: {}", seen.join(", ")));
    }
    msg.push_str("; put the VNG dataformat names (respondent, gemnr, jr, wl01, ...) in one header row");
    msg
}

/// How a file lays out its rows, which decides what counts as a ragged row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Delimited text: a row with fewer or more fields than the header is ragged.
    Fields,
    /// A spreadsheet grid: blank cells at the end of a row are simply blank; only cells
    /// beyond the header's last column make a row ragged.
    Grid,
}

/// Builds a table from the rows below the header: the first row with any cell is the header;
/// fully empty rows below it are skipped (keeping their number); every row is cut or padded to
/// the header's width, and rows that are ragged for the layout are reported.
fn build_table(
    rows: impl Iterator<Item = Vec<Cell>>,
    texts: Texts,
    sheet: Option<String>,
    delivery_id: &str,
    layout: Layout,
) -> (Option<RawTable>, Vec<Finding>) {
    let is_empty = |row: &[Cell]| row.iter().all(|c| *c == Cell::Empty);
    let mut rows = rows.skip_while(|r| is_empty(r));
    let Some(header_row) = rows.next() else {
        let f = Finding::new(finding::FILE_NO_DATA, delivery_id, "the file holds no header row").sheet(sheet);
        return (None, vec![f]);
    };
    let mut header: Vec<String> = header_row
        .iter()
        .map(|c| match texts.value(*c) {
            Value::Empty => String::new(),
            Value::Number(n) => n.to_string(),
            Value::Text(t) => t.trim().to_string(),
            Value::Date(d) => d.to_string(),
        })
        .collect();
    // Trailing unnamed columns are layout, not data.
    while header.last().is_some_and(|h| h.is_empty()) {
        header.pop();
    }
    let width = header.len();
    // The header's texts stay in the arena unused: copying the rest out would cost more.
    let mut table = RawTable { sheet: sheet.clone(), header, rows: Vec::new(), source_rows: Vec::new(), texts };
    let mut ragged = Vec::new();
    for (i, mut row) in rows.enumerate() {
        let number = i as u32 + 1;
        if is_empty(&row) {
            continue;
        }
        if row.len() > width && row[width..].iter().all(|c| *c == Cell::Empty) {
            row.truncate(width);
        }
        let short_is_ragged = layout == Layout::Fields;
        if row.len() > width || (row.len() < width && short_is_ragged) {
            ragged.push(number);
        }
        row.resize(width, Cell::Empty);
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
        findings.push(Finding::new(finding::FILE_NO_DATA, delivery_id, "the file has a header row but no data rows"));
        return (None, findings);
    }
    (Some(table), findings)
}
