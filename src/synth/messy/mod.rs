//! Messy deliveries: the same generated answers written in every variant real agencies deliver
//! (seven file formats including SPSS `.sav` in both byte orders, compressed or not, four text
//! encodings, four delimiters, title rows, a notes sheet, header spellings, value labels,
//! numbers as text, trailing empty rows and columns, formulas, an extra column), so the readers
//! can be tested round-trip.
//!
//! A delivery's [`Quirks`] decide how it is written. [`layout`] turns a delivery and its quirks
//! into a [`Grid`] of sheets and cells (pure); the writers in the submodules serialise the grid,
//! and [`expected_table`] derives from the same grid what the reader must return. The quirks
//! are assigned by [`rotation`] so that the default sample (6 municipalities × 6 years) holds
//! every variant at least once.

mod ods;
pub(crate) mod sav;
mod text;
mod xls;
mod xlsx;

use anyhow::{Context, Result};
use rand::RngExt;

use super::write::{ResearchValue, research_value};
use super::{GeneratedDelivery, rng_for};
use crate::codebook::{Codebook, ResearchVariable};
use crate::ingest::{Cell, Format, RawTable, Texts, Value};

/// The file formats in the messy rotation, in the order [`rotation`]'s Latin rectangle cycles
/// them.
pub const FORMATS: [Format; 7] =
    [Format::Xlsx, Format::Xlsm, Format::Xls, Format::Ods, Format::Csv, Format::Txt, Format::Sav];

/// Name of the extra, non-dataformat column some agencies add (always empty).
pub const EXTRA_COLUMN: &str = "opmerking";
/// Name of the notes sheet placed before the data.
pub const NOTES_SHEET: &str = "Toelichting";
/// How many empty rows / columns the trailing quirks add.
pub const TRAILING: usize = 2;

/// Character encoding of a delimited file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TextEncoding {
    Utf8,
    Utf8Bom,
    Windows1252,
    Utf16LeBom,
}

impl TextEncoding {
    pub const ALL: [TextEncoding; 4] =
        [TextEncoding::Utf8, TextEncoding::Utf8Bom, TextEncoding::Windows1252, TextEncoding::Utf16LeBom];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineEnd {
    Crlf,
    Lf,
}

impl LineEnd {
    pub const ALL: [LineEnd; 2] = [LineEnd::Crlf, LineEnd::Lf];
}

/// Decimal separator of `weging` in delimited files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Decimal {
    Comma,
    Point,
}

impl Decimal {
    pub const ALL: [Decimal; 2] = [Decimal::Comma, Decimal::Point];
}

/// How header names are spelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HeaderStyle {
    /// As in the dataformat: `wl02_0`.
    Plain,
    /// `WL02_0`.
    Upper,
    /// `wl02.0`: SPSS exports of older tools.
    Dotted,
    /// ` wl02_0 `.
    Padded,
}

impl HeaderStyle {
    pub const ALL: [HeaderStyle; 4] =
        [HeaderStyle::Plain, HeaderStyle::Upper, HeaderStyle::Dotted, HeaderStyle::Padded];

    pub fn spell(self, name: &str) -> String {
        match self {
            HeaderStyle::Plain => name.to_string(),
            HeaderStyle::Upper => name.to_uppercase(),
            HeaderStyle::Dotted => name.replace('_', "."),
            HeaderStyle::Padded => format!(" {name} "),
        }
    }
}

/// Quirks of `.sav` only: the two layouts SPSS writes a system file in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SavQuirks {
    /// Big-endian (layout code 2 written as SPSS on SPARC or POWER did), else little-endian.
    pub big_endian: bool,
    /// Bytecode-compressed data (SPSS's default), else one 8-byte slot per value.
    pub compressed: bool,
}

/// Quirks of delimited text only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TextQuirks {
    pub encoding: TextEncoding,
    /// `;`, `,`, tab or `|`.
    pub delimiter: u8,
    pub line_end: LineEnd,
    pub decimal: Decimal,
}

/// How one delivery is written. Quirks that do not apply to the format are off (`None`,
/// `false`, 0, [`HeaderStyle::Plain`]), so the set says exactly what the file holds. A `.sav`
/// takes only its [`SavQuirks`] and `extra_column`: its names, types and codes live in the
/// dictionary, so title rows, header spellings, labels or text in place of codes and trailing
/// rows or columns have nowhere to go.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quirks {
    pub format: Format,
    /// Delimited formats only.
    pub text: Option<TextQuirks>,
    /// `.sav` only.
    pub sav: Option<SavQuirks>,
    /// Rows above the header: 1 = a title; 2 = a title and a blank row; 3 = a title, a
    /// subtitle and a blank row.
    pub title_rows: u8,
    /// Spreadsheets only: a first sheet of notes before the data sheet.
    pub notes_sheet: bool,
    pub header: HeaderStyle,
    /// Some closed questions hold the value label's text instead of the code.
    pub value_labels: bool,
    /// Spreadsheets only: some numeric cells are stored as text.
    pub numbers_as_text: bool,
    /// Rows of empty cells (empty strings or bare delimiters) below the data.
    pub trailing_rows: bool,
    /// Unnamed empty columns right of the data.
    pub trailing_columns: bool,
    /// `.xlsx`, `.xlsm` and `.ods` only: `jr` below the first data row is a formula with its
    /// cached result.
    pub formulas: bool,
    /// An [`EXTRA_COLUMN`] after the dataformat columns.
    pub extra_column: bool,
    /// Seeds the per-delivery choice of which columns carry labels or numbers as text.
    pub seed: u64,
}

impl Quirks {
    /// The plain layout of non-messy deliveries: header in row 1, `;`-separated UTF-8 CRLF
    /// text with decimal commas, or one xlsx sheet. (Plain runs write no `.sav`; for it, the
    /// layout SPSS writes by default: little-endian, compressed.)
    pub fn plain(format: Format) -> Quirks {
        let text = is_delimited(format).then_some(TextQuirks {
            encoding: TextEncoding::Utf8,
            delimiter: b';',
            line_end: LineEnd::Crlf,
            decimal: Decimal::Comma,
        });
        let sav = (format == Format::Sav).then_some(SavQuirks { big_endian: false, compressed: true });
        Quirks {
            format,
            text,
            sav,
            title_rows: 0,
            notes_sheet: false,
            header: HeaderStyle::Plain,
            value_labels: false,
            numbers_as_text: false,
            trailing_rows: false,
            trailing_columns: false,
            formulas: false,
            extra_column: false,
            seed: 0,
        }
    }
}

fn is_delimited(format: Format) -> bool {
    matches!(format, Format::Csv | Format::Txt)
}

/// Whether a format can carry formulas as written here (BIFF formulas need parsed tokens,
/// which the `.xls` writer does not produce; text has none).
fn has_formulas(format: Format) -> bool {
    matches!(format, Format::Xlsx | Format::Xlsm | Format::Ods)
}

/// Assigns quirks to deliveries given as (municipality index, year index), in delivery order.
///
/// Each quirk cycles through its values along a counter (the delivery, the delivery among
/// those of its format, among the text formats, or among the tabular ones — all but `.sav`,
/// which has no title rows, header spellings, labels in cells or trailing rows and columns),
/// from an offset drawn from the seed. A cycle of n values over at least n consecutive counts
/// meets every value, which is what guarantees full coverage of the 36-delivery default
/// sample; the seed only shifts which delivery gets which variant. The format is
/// `(municipality + year + offset) mod 7`: with 7 formats and 6 municipalities each year has 6
/// different formats and each municipality uses 6 different formats over 6 years (a Latin
/// rectangle: every year leaves out another format, so every format appears 5 or 6 times).
pub fn rotation(seed: u64, cells: &[(usize, usize)]) -> Vec<Quirks> {
    let mut rng = rng_for(seed, &["quirks"]);
    let mut offset = [0usize; 15];
    for o in &mut offset {
        *o = rng.random_range(0..12);
    }
    let mut per_format = [0usize; FORMATS.len()];
    let mut text_count = 0usize;
    let mut tabular_count = 0usize;
    let mut out = Vec::with_capacity(cells.len());
    for (i, &(m, y)) in cells.iter().enumerate() {
        let fi = (m + y + offset[0]) % FORMATS.len();
        let format = FORMATS[fi];
        let f = per_format[fi];
        per_format[fi] += 1;
        let text = is_delimited(format).then(|| {
            let j = text_count;
            text_count += 1;
            let delimiters: [u8; 2] = if format == Format::Csv { [b';', b','] } else { [b'\t', b'|'] };
            TextQuirks {
                encoding: TextEncoding::ALL[(j + offset[1]) % 4],
                delimiter: delimiters[(f + offset[2]) % 2],
                line_end: LineEnd::ALL[((j + offset[3]) / 2) % 2],
                decimal: Decimal::ALL[((j + offset[4]) / 3) % 2],
            }
        });
        // Byte order and compression as one 2-bit counter, so any 4 consecutive `.sav`
        // deliveries hold all four layouts.
        let sav = (format == Format::Sav)
            .then(|| SavQuirks { big_endian: (f + offset[14]) % 2 == 1, compressed: ((f + offset[14]) / 2) % 2 == 0 });
        let sheet = format.is_spreadsheet();
        let tabular = sav.is_none();
        let t = tabular_count;
        tabular_count += usize::from(tabular);
        let mut title_rows = if tabular { ((t + offset[5]) % 4) as u8 } else { 0 };
        if text.is_some_and(|t| t.encoding == TextEncoding::Windows1252) {
            // The title holds an en dash: without a non-ASCII byte a Windows-1252 file would be
            // indistinguishable from UTF-8 and the reader's fallback would go untested.
            title_rows = title_rows.max(1);
        }
        out.push(Quirks {
            format,
            text,
            sav,
            title_rows,
            notes_sheet: sheet && (f + offset[6]) % 2 == 0,
            header: if tabular { HeaderStyle::ALL[(t / 4 + offset[7]) % 4] } else { HeaderStyle::Plain },
            value_labels: tabular && (t / 2 + offset[8]).is_multiple_of(2),
            numbers_as_text: sheet && ((f + offset[9]) / 2) % 2 == 0,
            trailing_rows: tabular && (t / 3 + offset[10]).is_multiple_of(2),
            trailing_columns: tabular && (t / 5 + offset[11]).is_multiple_of(2),
            formulas: has_formulas(format) && ((f + offset[12]) / 3) % 2 == 0,
            extra_column: (i / 7 + offset[13]) % 2 == 0,
            seed: rng_for(seed, &["quirks", &m.to_string(), &y.to_string()]).random(),
        });
    }
    out
}

/// One cell as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Written {
    /// Nothing in the file (no cell, or an empty field).
    Empty,
    /// An empty string (xlsx: a formatted blank cell), as exports leave in unused areas.
    EmptyText,
    Number(f64),
    Text(String),
    /// A formula that copies the cell at (row, column) of the same sheet, 0-based, with its
    /// cached result.
    Formula {
        refers_to: (u32, u16),
        result: f64,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct GridSheet {
    pub name: String,
    pub rows: Vec<Vec<Written>>,
}

/// A delivery as sheets of cells; delimited formats and `.sav` have one sheet (for `.sav`: the
/// variable names, then one row per case).
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub sheets: Vec<GridSheet>,
    /// Index of the data sheet.
    pub data_sheet: usize,
    /// 0-based row of the header on the data sheet.
    pub header_row: usize,
    /// How many named columns the header has (the rest are trailing empty columns).
    pub named_columns: usize,
    /// How many data rows follow the header (trailing empty rows not counted).
    pub data_rows: usize,
}

/// What the reader must return for a delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct Expected {
    pub table: RawTable,
    /// 1-based rows above the header that hold something: `ingest.title-rows-skipped` lists
    /// them, and no finding is expected when this is empty.
    pub title_rows: Vec<u32>,
}

/// The quirks a delivery is written with (the plain layout when it is not messy).
pub fn quirks_of(d: &GeneratedDelivery) -> Quirks {
    d.quirks.clone().unwrap_or_else(|| Quirks::plain(d.format))
}

/// The research variables of the delivery's dataformat, in dataformat order.
fn research_of(d: &GeneratedDelivery, codebook: &Codebook) -> Result<Vec<ResearchVariable>> {
    let format = codebook
        .formats
        .iter()
        .find(|f| f.name == d.dataformat)
        .with_context(|| format!("dataformat {} is not in the codebook", d.dataformat))?;
    Ok(format.variables.iter().filter_map(|v| ResearchVariable::ALL.into_iter().find(|r| r.name() == v.name)).collect())
}

/// Lays a delivery out as it will be written (pure: same delivery, same grid).
pub fn layout(d: &GeneratedDelivery, codebook: &Codebook) -> Result<Grid> {
    let q = quirks_of(d);
    let research = research_of(d, codebook)?;
    let format = codebook
        .formats
        .iter()
        .find(|f| f.name == d.dataformat)
        .with_context(|| format!("dataformat {} is not in the codebook", d.dataformat))?;
    // Which columns carry labels or text numbers: a stream of its own, so messy output never
    // changes the answers drawn from the delivery's stream.
    let mut rng = rng_for(q.seed, &["columns"]);
    let labels: Vec<Option<&[(i16, String)]>> = d
        .variables
        .iter()
        .map(|name| {
            let v = format.variables.iter().find(|v| &v.name == name)?;
            let chosen = q.value_labels && v.value_labels.len() >= 2 && rng.random_bool(0.2);
            chosen.then_some(v.value_labels.as_slice())
        })
        .collect();
    let as_text: Vec<bool> = d.variables.iter().map(|_| q.numbers_as_text && rng.random_bool(0.2)).collect();

    let delimited = q.text;
    let number =
        |n: f64| -> Written { if delimited.is_some() { Written::Text(format!("{n}")) } else { Written::Number(n) } };

    let mut header: Vec<Written> = research
        .iter()
        .map(|r| r.name())
        .chain(d.variables.iter().map(String::as_str))
        .map(|n| Written::Text(q.header.spell(n)))
        .collect();
    if q.extra_column {
        header.push(Written::Text(q.header.spell(EXTRA_COLUMN)));
    }
    let named_columns = header.len();
    let trailing_columns = if q.trailing_columns { TRAILING } else { 0 };
    let width = named_columns + trailing_columns;
    // Exports pad unused cells of a used range with empty strings; delimited files just end
    // the row with delimiters.
    let pad = if delimited.is_some() { Written::Empty } else { Written::EmptyText };
    header.resize(width, pad.clone());

    let mut rows = title_rows(d, q.title_rows, width);
    let header_row = rows.len();
    rows.push(header);

    let first_data_row = (header_row + 1) as u32;
    for (i, r) in d.respondents.iter().enumerate() {
        let mut row = Vec::with_capacity(width);
        for (col, &v) in research.iter().enumerate() {
            let cell = match research_value(d, r, v) {
                ResearchValue::Number(n) => match (v, delimited) {
                    (ResearchVariable::Weging, Some(t)) => {
                        let s = format!("{n:.3}");
                        Written::Text(if t.decimal == Decimal::Comma { s.replace('.', ",") } else { s })
                    }
                    (ResearchVariable::Respondent, None) if q.numbers_as_text => Written::Text(format!("{n}")),
                    (ResearchVariable::Jr, None) if q.formulas && i > 0 => {
                        Written::Formula { refers_to: (first_data_row, col as u16), result: n }
                    }
                    _ => number(n),
                },
                ResearchValue::Text(t) => Written::Text(t.to_string()),
                ResearchValue::Blank => Written::Empty,
            };
            row.push(cell);
        }
        for (j, a) in r.answers.iter().enumerate() {
            let cell = match a {
                None => Written::Empty,
                Some(code) => {
                    let label = labels[j].and_then(|l| l.iter().find(|(c, _)| c == code));
                    match label {
                        Some((_, text)) => Written::Text(text.clone()),
                        None if as_text[j] => Written::Text(code.to_string()),
                        None => number(f64::from(*code)),
                    }
                }
            };
            row.push(cell);
        }
        if q.extra_column {
            row.push(Written::Empty);
        }
        row.resize(width, pad.clone());
        rows.push(row);
    }
    if q.trailing_rows {
        for _ in 0..TRAILING {
            rows.push(vec![pad.clone(); width]);
        }
    }

    let data_name = if q.notes_sheet { "Data" } else { "Burgerpeiling" };
    let data = GridSheet { name: data_name.to_string(), rows };
    let mut sheets = Vec::new();
    if q.notes_sheet {
        sheets.push(notes(d));
    }
    let data_sheet = sheets.len();
    sheets.push(data);
    Ok(Grid { sheets, data_sheet, header_row, named_columns, data_rows: d.respondents.len() })
}

/// The title rows above the header: none, a title, a title and a blank row, or a title, a
/// line on quarter and agency and a blank row.
fn title_rows(d: &GeneratedDelivery, count: u8, width: usize) -> Vec<Vec<Written>> {
    let title_row = |text: String| {
        let mut row = vec![Written::Text(text)];
        row.resize(width, Written::Empty);
        row
    };
    let blank_row = || vec![Written::Empty; width];
    let title = format!("Burgerpeiling {} – gemeente {}", d.year, d.municipality);
    match count {
        0 => Vec::new(),
        1 => vec![title_row(title)],
        2 => vec![title_row(title), blank_row()],
        _ => vec![
            title_row(title),
            title_row(format!("Kwartaal {}, uitgevoerd door {}", d.quarter, d.agency)),
            blank_row(),
        ],
    }
}

/// The notes sheet: prose only, never two variable names in a row, so the reader cannot take
/// it for the data.
fn notes(d: &GeneratedDelivery) -> GridSheet {
    let lines = [
        "Toelichting bij de levering".to_string(),
        format!("Burgerpeiling {}, gemeente {}, kwartaal {}", d.year, d.municipality, d.quarter),
        format!("Dataformat VNG {}; de gegevens staan op het tweede tabblad.", d.dataformat),
        "Lege cellen: vraag niet beantwoord of overgeslagen.".to_string(),
        format!("Uitgevoerd door {}.", d.agency),
    ];
    let rows = lines.into_iter().map(|l| vec![Written::Text(l)]).collect();
    GridSheet { name: NOTES_SHEET.to_string(), rows }
}

/// What `ingest::read` must return for the delivery: header as delivered (trimmed, trailing
/// unnamed columns dropped), every cell as the reader types it, the sheet, the row numbers.
/// For `.sav`: the variable names, numbers as numbers, system-missing and blank strings empty,
/// strings without their trailing spaces (the padding of a fixed-width SPSS string).
pub fn expected_table(d: &GeneratedDelivery, codebook: &Codebook) -> Result<Expected> {
    let grid = layout(d, codebook)?;
    let spreadsheet = d.format.is_spreadsheet();
    let delimited = is_delimited(d.format);
    let sav = d.format == Format::Sav;
    let sheet = &grid.sheets[grid.data_sheet];
    let rows = &sheet.rows;
    let cell = |w: &Written, texts: &mut Texts| -> Cell {
        match w {
            Written::Empty | Written::EmptyText => Cell::Empty,
            // The reader drops the space (and NUL) padding only, so other white space stays.
            Written::Text(t) if sav => match t.trim_end_matches([' ', '\0']) {
                "" => Cell::Empty,
                kept => texts.store(Value::Text(kept)),
            },
            Written::Text(t) if t.trim().is_empty() => Cell::Empty,
            Written::Text(t) => texts.store(Value::Text(t)),
            // Delimited layouts hold only text; a number there would be written as its text.
            Written::Number(n) if delimited => texts.store(Value::Text(&format!("{n}"))),
            Written::Number(n) => Cell::Number(*n),
            Written::Formula { result, .. } => Cell::Number(*result),
        }
    };
    let header = rows[grid.header_row][..grid.named_columns]
        .iter()
        .map(|w| match w {
            Written::Text(t) => t.trim().to_string(),
            _ => String::new(),
        })
        .collect();
    let data = &rows[grid.header_row + 1..grid.header_row + 1 + grid.data_rows];
    let mut texts = Texts::default();
    let table = RawTable {
        sheet: spreadsheet.then(|| sheet.name.clone()),
        header,
        rows: data.iter().map(|r| r[..grid.named_columns].iter().map(|w| cell(w, &mut texts)).collect()).collect(),
        source_rows: (1..=grid.data_rows as u32).collect(),
        texts,
    };
    let mut scratch = Texts::default();
    let title_rows = (0..grid.header_row)
        .filter(|&i| rows[i].iter().any(|w| cell(w, &mut scratch) != Cell::Empty))
        .map(|i| i as u32 + 1)
        .collect();
    Ok(Expected { table, title_rows })
}

/// The file bytes of a delivery, in its format with its quirks.
pub fn write(d: &GeneratedDelivery, codebook: &Codebook) -> Result<Vec<u8>> {
    write_grid(&layout(d, codebook)?, d, codebook)
}

/// The file bytes of a grid laid out for `d` (by [`layout`], or changed after it), in the
/// delivery's format with its quirks.
pub(crate) fn write_grid(grid: &Grid, d: &GeneratedDelivery, codebook: &Codebook) -> Result<Vec<u8>> {
    let q = quirks_of(d);
    match (d.format, q.text) {
        (Format::Xlsx, _) => xlsx::workbook(grid, d, false),
        (Format::Xlsm, _) => xlsx::workbook(grid, d, true),
        (Format::Xls, _) => xls::workbook(grid),
        (Format::Ods, _) => ods::workbook(grid),
        (Format::Csv | Format::Txt, Some(t)) => text::delimited(&grid.sheets[grid.data_sheet], &t),
        (Format::Csv | Format::Txt, None) => {
            anyhow::bail!("{}: a delimited format without text quirks", d.file_name)
        }
        (Format::Sav, _) => match q.sav {
            Some(sq) => sav::delivery(d, grid, codebook, sq),
            None => anyhow::bail!("{}: a .sav delivery without its layout quirks", d.file_name),
        },
        // Bundles wrap written deliveries (`synth::bundle`); no delivery is planned as one.
        (Format::Zip, _) => anyhow::bail!("{}: a zip bundle is not a dataset format", d.file_name),
    }
}

/// Spreadsheet column letters of a 0-based column: 0 → `A`, 26 → `AA`.
pub(crate) fn column_letters(col: u16) -> String {
    let mut n = u32::from(col) + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// A fixed timestamp for archive entries, so the bytes depend on the delivery only: noon on
/// the 28th of the fieldwork quarter's last month.
fn zip_time(d_year: u16, quarter: u8) -> zip::DateTime {
    zip::DateTime::from_date_and_time(d_year.max(1980), quarter.clamp(1, 4) * 3, 28, 12, 0, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests;
