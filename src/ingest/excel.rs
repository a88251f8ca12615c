//! Spreadsheet reader (`.xlsx`, `.xlsm`, `.xls`, `.ods`) through calamine.
//!
//! The container is recognised by its first bytes, not its name: a zip archive is an Office
//! Open XML or OpenDocument workbook, an OLE compound file is an Excel 97-2003 workbook (or a
//! password-protected one of any kind). Before a zip is opened, the uncompressed sizes its
//! directory declares are added up and checked against the limit, so a zip bomb is refused
//! unread. `.xlsx` sheets are streamed cell by cell, so a sheet that declares a huge dimension
//! but holds few cells costs only its cells. Cached formula values are what calamine returns for
//! formula cells, so a sheet of formulas reads as its values. The table comes from the sheet
//! whose header matches the most dataformat variables.

#[cfg(test)]
use std::io::Write;
use std::io::{Cursor, Read, Seek};

use calamine::{Data, DataRef, Ods, OdsError, Reader, Xls, XlsError, Xlsx, XlsxError};

use super::{Cell, Format, KnownName, Layout, RawTable, Texts};
use crate::finding::{self, Finding};

/// Columns beyond this are not read: the dataformat has fewer than 200 variables, and a stray
/// cell in column XFD must not make every row 16,384 cells wide.
pub const MAX_COLUMNS: u32 = 4096;

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// A sheet as rows of cells, their texts in the sheet's arena, plus how many cells lay beyond
/// [`MAX_COLUMNS`]. Public (hidden) only so that the differential test and fuzz target can
/// compare both `.xlsx` readers sheet by sheet.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Vec<Cell>>,
    pub far_cells: usize,
    pub texts: Texts,
}

impl Sheet {
    pub(crate) fn new(name: String, texts: Texts) -> Sheet {
        Sheet { name, rows: Vec::new(), far_cells: 0, texts }
    }
}

/// Sheets are equal when they hold the same values, wherever their arenas put the texts.
impl PartialEq for Sheet {
    fn eq(&self, other: &Sheet) -> bool {
        self.name == other.name
            && self.far_cells == other.far_cells
            && super::same_rows(&self.rows, &self.texts, &other.rows, &other.texts)
    }
}

pub fn read(
    bytes: &[u8],
    format: Format,
    delivery_id: &str,
    known: KnownName,
    max_decompressed_bytes: u64,
) -> (Option<RawTable>, Vec<Finding>) {
    let fail = |rule: finding::Rule, message: String| (None, vec![Finding::new(rule, delivery_id, message)]);
    let ext = format.as_str();
    // calamine 0.38 panics on some truncated compound files (a short FAT or DIFAT sector;
    // found by fuzzing, see docs/fuzzing.md) instead of returning an error. A delivery must
    // never crash the run: such a panic is read as a damaged file.
    let opened =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| open_sheets(bytes, format, max_decompressed_bytes)))
            .unwrap_or_else(|_| {
                Err(ReadError::Corrupt("its structure is damaged (the workbook reader gave up)".into()))
            });
    let sheets = match opened {
        Ok(s) => s,
        Err(ReadError::NotASpreadsheet) => {
            return fail(
                finding::FILE_CORRUPT,
                format!(
                    "the file is named .{ext} but is not a spreadsheet (neither an Excel nor an \
                     OpenDocument workbook); export it again from the survey tool"
                ),
            );
        }
        Err(ReadError::TooLarge(message)) => return fail(finding::ZIP_BOMB, message),
        Err(ReadError::Password) => {
            return fail(
                finding::PASSWORD_PROTECTED,
                "the workbook is password protected; deliver it without a password".into(),
            );
        }
        Err(ReadError::Corrupt(e)) => {
            return fail(finding::FILE_CORRUPT, format!("the .{ext} file is damaged and cannot be read: {e}"));
        }
    };
    table_of_sheets(sheets, delivery_id, known)
}

/// Recognises the container by its first bytes and reads every sheet.
fn open_sheets(bytes: &[u8], format: Format, max_decompressed_bytes: u64) -> Result<Vec<Sheet>, ReadError> {
    if bytes.starts_with(ZIP_MAGIC) {
        check_zip_sizes(bytes, max_decompressed_bytes).map_err(ReadError::TooLarge)?;
        if format == Format::Ods || is_opendocument(bytes) { read_ods(bytes) } else { read_xlsx(bytes) }
    } else if bytes.starts_with(OLE_MAGIC) {
        // calamine follows the compound file's sector chains without a bound: a chain that loops
        // makes it allocate until the machine gives out (found by fuzzing). The `cfb` crate
        // validates the chains first, so a damaged container is refused before calamine opens it.
        if let Err(e) = cfb::CompoundFile::open(Cursor::new(bytes)) {
            return Err(ReadError::Corrupt(format!("its compound-file structure is invalid: {e}")));
        }
        // An encrypted .xlsx is an OLE file with an `EncryptedPackage` stream; the xlsx reader
        // recognises it. Anything else in OLE is a BIFF (.xls) workbook.
        match Xlsx::new(Cursor::new(bytes)) {
            Err(XlsxError::Password) => Err(ReadError::Password),
            _ => read_xls(bytes),
        }
    } else {
        Err(ReadError::NotASpreadsheet)
    }
}

/// The sheet whose header row matches the most variables (the first on a tie): a notes sheet
/// ("Toelichting") placed first must not be taken for the data.
fn choose_sheet(sheets: Vec<Sheet>, delivery_id: &str, known: KnownName) -> (Option<RawTable>, Vec<Finding>) {
    let scores: Vec<usize> =
        sheets.iter().map(|s| super::find_header(&s.rows, &s.texts, known).map_or(0, |(_, n)| n)).collect();
    let best = scores.iter().enumerate().max_by_key(|(i, s)| (**s, std::cmp::Reverse(*i))).map_or(0, |(i, _)| i);
    let sheet = sheets.into_iter().nth(best).expect("index of an existing sheet");
    let mut findings = Vec::new();
    if sheet.far_cells > 0 {
        findings.push(
            Finding::new(
                finding::FAR_CELLS_IGNORED,
                delivery_id,
                format!("{} cell(s) beyond column {MAX_COLUMNS} were ignored", sheet.far_cells),
            )
            .sheet(Some(sheet.name.clone())),
        );
    }
    let (table, more) =
        super::table_below_header(sheet.rows, sheet.texts, Some(sheet.name), delivery_id, known, Layout::Grid);
    findings.extend(more);
    (table, findings)
}

enum ReadError {
    NotASpreadsheet,
    TooLarge(String),
    Password,
    Corrupt(String),
}

/// Reads an `.xlsx` with the fast reader (`ingest::xlsx`); what it does not understand is read by
/// calamine, as before it existed.
fn read_xlsx(bytes: &[u8]) -> Result<Vec<Sheet>, ReadError> {
    match super::xlsx::read(bytes) {
        Ok(sheets) => Ok(sheets),
        Err(why) => {
            tracing::debug!(reason = %why.0, "snelle xlsx-lezer begrijpt het bestand niet; calamine leest het");
            read_xlsx_with_calamine(bytes)
        }
    }
}

/// The fast `.xlsx` reader alone: the sheets, or why it did not understand the file. For the
/// differential test and fuzz target.
#[doc(hidden)]
pub fn read_xlsx_fast(bytes: &[u8]) -> Result<Vec<Sheet>, String> {
    super::xlsx::read(bytes).map_err(|why| why.0)
}

/// calamine's `.xlsx` path alone (under `catch_unwind`, as in [`read`]): the sheets, or its error.
/// For the differential test and fuzz target.
#[doc(hidden)]
pub fn read_xlsx_calamine(bytes: &[u8]) -> Result<Vec<Sheet>, String> {
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_xlsx_with_calamine(bytes)));
    match read {
        Ok(Ok(sheets)) => Ok(sheets),
        Ok(Err(ReadError::Password)) => Err("password".into()),
        Ok(Err(ReadError::Corrupt(e) | ReadError::TooLarge(e))) => Err(e),
        Ok(Err(ReadError::NotASpreadsheet)) => Err("not a spreadsheet".into()),
        Err(_) => Err("calamine panicked".into()),
    }
}

/// The table [`read`] makes of a workbook's sheets (sheet choice, header row, rows below it).
/// For the differential test and fuzz target.
#[doc(hidden)]
pub fn table_of_sheets(sheets: Vec<Sheet>, delivery_id: &str, known: KnownName) -> (Option<RawTable>, Vec<Finding>) {
    if sheets.is_empty() {
        return (None, vec![Finding::new(finding::FILE_NO_DATA, delivery_id, "the workbook has no sheets")]);
    }
    choose_sheet(sheets, delivery_id, known)
}

fn read_xlsx_with_calamine(bytes: &[u8]) -> Result<Vec<Sheet>, ReadError> {
    let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(|e| match e {
        XlsxError::Password => ReadError::Password,
        e => ReadError::Corrupt(e.to_string()),
    })?;
    let mut sheets = Vec::new();
    for name in workbook.sheet_names() {
        let mut reader =
            workbook.worksheet_cells_reader(&name).map_err(|e| ReadError::Corrupt(format!("sheet {name:?}: {e}")))?;
        let mut sheet = Sheet::new(name.clone(), Texts::default());
        while let Some(cell) = reader.next_cell().map_err(|e| ReadError::Corrupt(format!("sheet {name:?}: {e}")))? {
            let (row, col) = cell.get_position();
            let value = cell_of_ref(cell.get_value(), &mut sheet.texts);
            place(&mut sheet, row, col, value);
        }
        sheets.push(sheet);
    }
    Ok(sheets)
}

fn read_xls(bytes: &[u8]) -> Result<Vec<Sheet>, ReadError> {
    let tamed =
        tame_dimensions(bytes).map_err(|e| ReadError::Corrupt(format!("its workbook stream cannot be read: {e}")))?;
    let workbook = Xls::new(Cursor::new(tamed.as_slice())).map_err(|e| match e {
        XlsError::Password => ReadError::Password,
        e => ReadError::Corrupt(e.to_string()),
    })?;
    ranges(workbook)
}

fn read_ods(bytes: &[u8]) -> Result<Vec<Sheet>, ReadError> {
    let workbook = Ods::new(Cursor::new(bytes)).map_err(|e| match e {
        OdsError::Password => ReadError::Password,
        e => ReadError::Corrupt(e.to_string()),
    })?;
    ranges(workbook)
}

/// Reads every sheet of a workbook whose reader only offers whole ranges (BIFF and
/// OpenDocument).
fn ranges<R, RS>(mut workbook: R) -> Result<Vec<Sheet>, ReadError>
where
    R: Reader<RS>,
    RS: Read + Seek,
    R::Error: std::fmt::Display,
{
    let mut sheets = Vec::new();
    for name in workbook.sheet_names() {
        let range = workbook.worksheet_range(&name).map_err(|e| ReadError::Corrupt(format!("sheet {name:?}: {e}")))?;
        let (row0, col0) = range.start().unwrap_or((0, 0));
        let mut sheet = Sheet::new(name.clone(), Texts::default());
        for (i, row) in range.rows().enumerate() {
            for (j, d) in row.iter().enumerate() {
                let value = cell_of(d, &mut sheet.texts);
                place(&mut sheet, row0 + i as u32, col0 + j as u32, value);
            }
        }
        sheets.push(sheet);
    }
    Ok(sheets)
}

/// calamine allocates a BIFF sheet densely from what its records claim, unchecked (found by
/// fuzzing): room for every cell a `DIMENSIONS` record declares, and a grid spanning the
/// farthest cell. A record declaring billions of cells, or one cell in column 60,000, aborts
/// the process. So in a copy of the workbook stream, before calamine reads it, each
/// `DIMENSIONS` record (only a size hint: cells come from their own records) is rewritten to one
/// cell, and cell records beyond BIFF8's 256 columns, which no valid file holds, become blanks
/// (which calamine skips).
fn tame_dimensions(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::{SeekFrom, Write};
    const DIMENSIONS: u16 = 0x0200;
    const BLANK: [u8; 2] = 0x0201u16.to_le_bytes();
    // NUMBER, LABEL, RSTRING, BOOLERR, RK, LABELSST, FORMULA: row (u16), column (u16), ...
    const CELLS: [u16; 7] = [0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD, 0x0006];
    const MULRK: u16 = 0x00BD;
    const COLUMNS: u16 = 256;
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes.to_vec()))?;
    let name = ["/Workbook", "/Book"].into_iter().find(|n| file.is_stream(n));
    let Some(name) = name else { return Ok(bytes.to_vec()) };
    let mut stream = Vec::new();
    file.open_stream(name)?.read_to_end(&mut stream)?;
    let mut changed = false;
    let mut pos = 0usize;
    while pos + 4 <= stream.len() {
        let kind = u16::from_le_bytes([stream[pos], stream[pos + 1]]);
        let len = u16::from_le_bytes([stream[pos + 2], stream[pos + 3]]) as usize;
        let data = pos + 4;
        if data + len > stream.len() {
            break;
        }
        if kind == DIMENSIONS {
            let one_cell: &[u8] = match len {
                // BIFF8: first row, last row + 1 (u32), first column, last column + 1 (u16).
                14 | 16 => &[0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0],
                // Older BIFF: the same as u16.
                10 => &[0, 0, 1, 0, 0, 0, 1, 0],
                _ => &[],
            };
            stream[data..data + one_cell.len()].copy_from_slice(one_cell);
            changed |= !one_cell.is_empty();
        }
        let column_at = |at: usize| u16::from_le_bytes([stream[at], stream[at + 1]]);
        let far = match kind {
            k if CELLS.contains(&k) && len >= 4 => column_at(data + 2) >= COLUMNS,
            MULRK if len >= 6 => column_at(data + 2) >= COLUMNS || column_at(data + len - 2) >= COLUMNS,
            _ => false,
        };
        if far {
            stream[pos..pos + 2].copy_from_slice(&BLANK);
            changed = true;
        }
        pos = data + len;
    }
    if !changed {
        return Ok(bytes.to_vec());
    }
    let mut out = file.open_stream(name)?;
    out.seek(SeekFrom::Start(0))?;
    out.write_all(&stream)?;
    out.flush()?;
    drop(out);
    file.flush()?;
    Ok(file.into_inner().into_inner())
}

/// Puts one cell in place, growing the rows as needed.
pub(crate) fn place(sheet: &mut Sheet, row: u32, col: u32, cell: Cell) {
    if cell == Cell::Empty {
        return;
    }
    if col >= MAX_COLUMNS {
        sheet.far_cells += 1;
        return;
    }
    let (row, col) = (row as usize, col as usize);
    if sheet.rows.len() <= row {
        sheet.rows.resize_with(row + 1, Vec::new);
    }
    // A new row is usually as wide as the one above it: room for that many cells at once
    // instead of growing cell by cell.
    let width_above = if row > 0 { sheet.rows[row - 1].len() } else { 0 };
    let r = &mut sheet.rows[row];
    if r.capacity() == 0 {
        r.reserve(width_above.max(col + 1));
    }
    // Cells mostly come in column order, so the common case is a push.
    match col.cmp(&r.len()) {
        std::cmp::Ordering::Less => r[col] = cell,
        std::cmp::Ordering::Equal => r.push(cell),
        std::cmp::Ordering::Greater => {
            r.resize(col, Cell::Empty);
            r.push(cell);
        }
    }
}

/// The uncompressed sizes a zip archive declares, added up, must stay under the limit. Public
/// (hidden) for the differential fuzz target, which reads only what [`read`] would open.
#[doc(hidden)]
pub fn check_zip_sizes(bytes: &[u8], limit: u64) -> Result<(), String> {
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        // Not a readable zip directory: the workbook reader reports the damage.
        return Ok(());
    };
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        if let Ok(entry) = archive.by_index_raw(i) {
            total = total.saturating_add(entry.size());
        }
    }
    if total > limit {
        return Err(format!(
            "the workbook would unpack to {total} bytes, over the limit of {limit} bytes \
             (limits.max_decompressed_bytes); it is not opened"
        ));
    }
    Ok(())
}

/// An OpenDocument file names its kind in a `mimetype` entry stored first.
fn is_opendocument(bytes: &[u8]) -> bool {
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return false;
    };
    let Ok(mut entry) = archive.by_name("mimetype") else {
        return false;
    };
    let mut kind = String::new();
    entry.by_ref().take(100).read_to_string(&mut kind).is_ok() && kind.starts_with("application/vnd.oasis.opendocument")
}

fn cell_of(d: &Data, texts: &mut Texts) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Number(if *b { 1.0 } else { 0.0 }),
        Data::String(s) => texts.cell(s),
        Data::DateTime(dt) => Cell::Date(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => kept_text(s, texts),
        Data::Error(e) => error_text(e, texts),
    }
}

fn cell_of_ref(d: &DataRef, texts: &mut Texts) -> Cell {
    match d {
        DataRef::Empty => Cell::Empty,
        DataRef::Int(i) => Cell::Number(*i as f64),
        DataRef::Float(f) => Cell::Number(*f),
        DataRef::Bool(b) => Cell::Number(if *b { 1.0 } else { 0.0 }),
        DataRef::String(s) => texts.cell(s),
        DataRef::SharedString(s) => texts.cell(s),
        DataRef::DateTime(dt) => Cell::Date(dt.as_f64()),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => kept_text(s, texts),
        DataRef::Error(e) => error_text(e, texts),
    }
}

/// An ISO date or duration stays a text cell as it is, even blank (as it always has).
fn kept_text(s: &str, texts: &mut Texts) -> Cell {
    texts.push(s).map_or(Cell::Empty, Cell::Text)
}

/// An error cell reads as `#` and the error's Debug name (`#Div0`); the fast reader agrees.
pub(crate) fn error_text(e: &calamine::CellErrorType, texts: &mut Texts) -> Cell {
    kept_text(&format!("#{e:?}"), texts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Value;
    use rust_xlsxwriter::{Formula, Workbook};

    fn known(name: &str) -> bool {
        ["respondent", "wl01", "ch02"].contains(&name.trim().to_lowercase().as_str())
    }

    fn read_xlsx_bytes(bytes: &[u8]) -> (Option<RawTable>, Vec<Finding>) {
        read(bytes, Format::Xlsx, "d", &known, 1 << 30)
    }

    fn rules(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.rule).collect()
    }

    /// A workbook with a notes sheet first and the data, under a title, on the second.
    fn workbook() -> Vec<u8> {
        let mut wb = Workbook::new();
        let notes = wb.add_worksheet().set_name("Toelichting").unwrap();
        notes.write(0, 0, "Toelichting bij de levering").unwrap();
        notes.write(1, 0, "respondent").unwrap();
        let data = wb.add_worksheet().set_name("Data").unwrap();
        data.write(0, 0, "Burgerpeiling 2023").unwrap();
        for (c, h) in ["respondent", "WL01", "ch02"].iter().enumerate() {
            data.write(2, c as u16, *h).unwrap();
        }
        data.write(3, 0, 101).unwrap();
        data.write(3, 1, "7").unwrap();
        data.write_formula(3, 2, Formula::new("=1+2").set_result("3")).unwrap();
        data.write(5, 0, 102).unwrap();
        data.write(5, 1, 8).unwrap();
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn the_data_sheet_wins_over_a_notes_sheet_and_titles_are_skipped() {
        let (t, f) = read_xlsx_bytes(&workbook());
        let t = t.expect("read");
        assert_eq!(t.sheet.as_deref(), Some("Data"));
        assert_eq!(t.header, ["respondent", "WL01", "ch02"]);
        assert_eq!(t.row(0).collect::<Vec<_>>(), [Value::Number(101.0), Value::Text("7"), Value::Number(3.0)]);
        // The empty row between keeps its number.
        assert_eq!(t.source_rows, [1, 3]);
        assert_eq!(rules(&f), [finding::TITLE_ROWS_SKIPPED.id]);
        assert_eq!(f[0].rows, [1]);
    }

    #[test]
    fn a_text_file_named_xlsx_is_not_a_spreadsheet() {
        let (t, f) = read_xlsx_bytes(b"respondent;wl01\n1;2\n");
        assert!(t.is_none());
        assert_eq!(rules(&f), [finding::FILE_CORRUPT.id]);
        assert!(f[0].message.contains("not a spreadsheet"));
    }

    #[test]
    fn a_truncated_workbook_is_corrupt_at_every_cut() {
        let bytes = workbook();
        for cut in (0..bytes.len()).step_by(97) {
            let (t, f) = read_xlsx_bytes(&bytes[..cut]);
            assert!(t.is_none(), "cut at {cut}");
            assert!(
                rules(&f) == [finding::FILE_CORRUPT.id] || rules(&f) == [finding::FILE_NO_DATA.id],
                "cut at {cut}: {f:?}"
            );
        }
    }

    #[test]
    #[cfg(feature = "synth")]
    fn a_truncated_xls_is_corrupt_at_every_cut_never_a_panic() {
        use crate::codebook::Codebook;
        use crate::municipality::Municipalities;
        use crate::synth::{self, SynthOptions};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let (cb, m) = (Codebook::load(&dir).unwrap(), Municipalities::load(&dir).unwrap());
        let opts = SynthOptions { respondents: 20, messy: true, ..SynthOptions::default() };
        let d = synth::generate(&opts, &cb, &m).into_iter().find(|d| d.format == Format::Xls).unwrap();
        let bytes = synth::messy::write(&d, &cb).unwrap();
        // Every cut near a sector boundary, where calamine's compound-file reader panics.
        for cut in (0..bytes.len()).filter(|c| c % 512 < 8 || c % 97 == 0) {
            // A cut in the trailing padding can leave a readable workbook; anything else is a
            // finding. Reaching the next cut at all means no panic escaped.
            let (t, f) = read(&bytes[..cut], Format::Xls, "d", &known, 1 << 30);
            assert!(t.is_some() || f.iter().any(|f| f.severity == finding::Severity::Error), "cut at {cut}: {f:?}");
        }
    }

    #[test]
    fn damaged_compound_files_found_by_fuzzing_are_refused() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        // A sector chain that loops (calamine allocated without end), a short FAT sector
        // (calamine panicked) and a DIMENSIONS record declaring trillions of cells (calamine
        // reserved them and aborted), a cell in a far column (calamine built a grid of billions
        // of cells): none may take the run down.
        for name in ["xls-fat-loop.xls", "xls-short-fat.xls", "xls-huge-dimensions.xls", "xls-far-cells.xls"] {
            let bytes = std::fs::read(fixtures.join(name)).unwrap();
            let (t, f) = read(&bytes, Format::Xls, "d", &known, 1 << 30);
            assert!(
                t.is_some()
                    || rules(&f).contains(&finding::FILE_CORRUPT.id)
                    || rules(&f).contains(&finding::NO_HEADER.id),
                "{name}: {f:?}"
            );
        }
    }

    #[test]
    fn a_password_protected_workbook_is_recognised() {
        // Encrypted Office files are OLE compound files with these two streams.
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        file.create_stream("EncryptionInfo").unwrap().write_all(&[4, 0, 4, 0, 0x40, 0, 0, 0]).unwrap();
        file.create_stream("EncryptedPackage").unwrap().write_all(&[0u8; 64]).unwrap();
        let bytes = file.into_inner().into_inner();
        let (t, f) = read_xlsx_bytes(&bytes);
        assert!(t.is_none());
        assert_eq!(rules(&f), [finding::PASSWORD_PROTECTED.id]);
    }

    #[test]
    fn a_workbook_over_the_unpacked_limit_is_not_opened() {
        let (t, f) = read(&workbook(), Format::Xlsx, "d", &known, 1000);
        assert!(t.is_none());
        assert_eq!(rules(&f), [finding::ZIP_BOMB.id]);
    }

    #[test]
    fn far_away_cells_cost_nothing() {
        let mut wb = Workbook::new();
        let s = wb.add_worksheet();
        s.write(0, 0, "respondent").unwrap();
        s.write(0, 1, "wl01").unwrap();
        s.write(1, 0, 1).unwrap();
        s.write(1, 1, 5).unwrap();
        s.write(1_048_575, 16_383, "x").unwrap();
        s.write(1_048_575, 0, 2).unwrap();
        let (t, f) = read_xlsx_bytes(&wb.save_to_buffer().unwrap());
        let t = t.unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.source_rows, [1, 1_048_575]);
        assert_eq!(rules(&f), [finding::FAR_CELLS_IGNORED.id]);
    }
}
