//! The fast `.xlsx` sheet reader: the shape agencies deliver (sheets of numbers and short
//! strings) read straight from the inflated sheet XML by a purpose-built byte scanner, with the
//! small workbook parts (relationships, workbook, styles, shared strings) read by `quick-xml` at
//! its lowest level over borrowed bytes.
//!
//! It must give exactly the [`Sheet`]s calamine's path in `excel.rs` gives (`excel::read_xlsx`
//! falls back to calamine, and `tests/xlsx_differential.rs` and the `xlsx_differential` fuzz
//! target compare the two). So it is strict rather than clever: anything whose calamine reading
//! it does not reproduce with certainty — entities or `_xHHHH_` escapes in texts, CDATA,
//! comments, namespace prefixes in the sheet, formula cells without a cached value, date cells
//! (`t="d"`), custom number formats it cannot classify, cell references out of Excel's range,
//! a part under another case than the one asked for — is [`NotUnderstood`], never a guess,
//! and calamine reads the file. It must not interpret values (that is harmonising), must not
//! emit findings (calamine's path does, if it also fails) and must not read a part beyond the
//! size its zip entry declares (the zip-bomb check in `excel.rs` bounds those sizes).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{Cursor, Read};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::excel::{Sheet, error_text, place};
use super::{Cell, Texts};

/// Why the fast reader left a file to calamine (for a debug log line; names parts and
/// elements, never cell contents).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotUnderstood(pub String);

type Fast<T> = Result<T, NotUnderstood>;

fn not_understood<T>(why: impl Into<String>) -> Fast<T> {
    Err(NotUnderstood(why.into()))
}

/// Excel's grid: 1,048,576 rows by 16,384 columns (XFD). References beyond it are left to
/// calamine, whose arithmetic on them is not ours to reproduce.
const MAX_ROW: u32 = 1_048_576;
const MAX_COL: u32 = 16_384;

/// Reads every sheet of an `.xlsx` package, in workbook order.
pub fn read(bytes: &[u8]) -> Fast<Vec<Sheet>> {
    let mut package = Package::open(bytes)?;
    let (xl_path, workbook_name) = office_document(&package.required("_rels/.rels")?)?;
    // The shared strings go into one arena that every sheet's arena starts as: a cell that
    // points at a shared string gets its span, and no text is copied per cell.
    let mut shared = Texts::default();
    let strings = match package.part(&format!("{xl_path}sharedStrings.xml"))? {
        Some(xml) => shared_strings(&xml)?.iter().map(|s| shared.cell(s)).collect(),
        None => Vec::new(),
    };
    let formats = match package.part(&format!("{xl_path}styles.xml"))? {
        Some(xml) => number_formats(&xml)?,
        None => Vec::new(),
    };
    let relationships = relationships(&package.required(&format!("{xl_path}_rels/{workbook_name}.rels"))?)?;
    let Some(workbook_xml) = package.part(&format!("{xl_path}{workbook_name}"))? else {
        return not_understood("geen werkboekdeel");
    };
    let entries = sheet_entries(&workbook_xml, &relationships, &xl_path)?;
    let workbook = Workbook { strings, formats };
    let mut sheets = Vec::with_capacity(entries.len());
    for (name, path) in entries {
        let Some(xml) = package.part(&path)? else { return not_understood("een blad ontbreekt in het pakket") };
        let mut sheet = Sheet::new(name, shared.clone());
        read_sheet(&xml, &workbook, &mut sheet)?;
        sheets.push(sheet);
    }
    Ok(sheets)
}

/// How a cell's style shows a number: calamine turns a number under a date or time format
/// into a date (`Cell::Date`), whatever the epoch (the serial is kept as is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NumberKind {
    Plain,
    Date,
}

/// What the sheets need from the rest of the workbook.
struct Workbook {
    /// The shared strings as cells of the arena every sheet's arena starts as.
    strings: Vec<Cell>,
    /// Per `cellXfs` entry (a cell's `s` attribute), in order.
    formats: Vec<NumberKind>,
}

/// The zip container and its parts by name, looked up as calamine does (ASCII case folded,
/// `\` read as `/`).
struct Package<'a> {
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
    names: HashMap<String, String>,
}

impl<'a> Package<'a> {
    fn open(bytes: &'a [u8]) -> Fast<Package<'a>> {
        let zip = zip::ZipArchive::new(Cursor::new(bytes)).or_else(|_| not_understood("de zipmap is niet leesbaar"))?;
        let mut names = HashMap::with_capacity(zip.len());
        for name in zip.file_names() {
            let Ok(name) = name else { return not_understood("een naam in de zipmap is niet leesbaar") };
            let folded = name.replace('\\', "/").to_ascii_lowercase();
            if names.insert(folded, name.to_string()).is_some() {
                return not_understood("twee delen met dezelfde naam (op hoofdletters na)");
            }
        }
        Ok(Package { zip, names })
    }

    /// A part's bytes, or `None` when the package has no part of that name.
    fn part(&mut self, path: &str) -> Fast<Option<Vec<u8>>> {
        let name = self.names.get(&path.to_ascii_lowercase()).map_or(path, String::as_str).to_string();
        let mut entry = match self.zip.by_name(&name) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(_) => return not_understood("een deel is niet te openen"),
        };
        let declared = entry.size();
        // The zip-bomb check added up the declared sizes; an entry that inflates to more than
        // it declared is not read further.
        let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(0).min(64 << 20));
        let read = entry.by_ref().take(declared.saturating_add(1)).read_to_end(&mut bytes);
        if read.is_err() || bytes.len() as u64 != declared {
            return not_understood("een deel is beschadigd of groter dan opgegeven");
        }
        Ok(Some(bytes))
    }

    fn required(&mut self, path: &str) -> Fast<Vec<u8>> {
        self.part(path)?.map_or_else(|| not_understood("een verplicht deel ontbreekt"), Ok)
    }
}

/// A `quick-xml` reader over borrowed bytes, configured as calamine configures its own (so both
/// see the same events; `<a/>` comes as a start and an end).
fn xml_reader(xml: &[u8]) -> Reader<&[u8]> {
    let mut reader = Reader::from_reader(xml);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    reader
}

/// The next event of a workbook part. Every start tag's attributes must parse and unescape:
/// calamine reads attributes of elements this reader skips (fonts, fills, borders) and fails
/// on a malformed one.
fn next<'x>(reader: &mut Reader<&'x [u8]>, part: &str) -> Fast<Event<'x>> {
    match reader.read_event() {
        Ok(Event::Eof) => not_understood(format!("{part} houdt onverwacht op")),
        Ok(Event::GeneralRef(_) | Event::CData(_)) => not_understood(format!("{part} bevat entiteiten of CDATA")),
        Ok(Event::Start(e)) => {
            let sound = e.attributes().all(|a| a.is_ok_and(|a| quick_xml::escape::unescape(&a.value).is_ok()));
            if sound { Ok(Event::Start(e)) } else { not_understood(format!("{part} heeft ongeldige attributen")) }
        }
        Ok(e) => Ok(e),
        Err(_) => not_understood(format!("{part} is geen geldige XML")),
    }
}

/// The raw value of the attribute `key` (exact name), refusing duplicates and entities.
fn attribute<'e>(e: &'e BytesStart, key: &str) -> Fast<Option<Cow<'e, str>>> {
    let mut found = None;
    for a in e.attributes() {
        let Ok(a) = a else { return not_understood("ongeldige attributen") };
        if a.key.as_ref() == key {
            if found.is_some() || a.value.contains('&') {
                return not_understood("een attribuut met entiteiten of dubbel");
            }
            found = Some(a.value);
        }
    }
    Ok(found)
}

/// `_rels/.rels`: the folder and name of the workbook part.
fn office_document(xml: &[u8]) -> Fast<(String, String)> {
    let mut reader = xml_reader(xml);
    while !matches!(next(&mut reader, "_rels/.rels")?, Event::Start(e) if e.local_name().as_ref() == "Relationships") {}
    let mut target = None;
    loop {
        match next(&mut reader, "_rels/.rels")? {
            Event::Start(e) if e.local_name().as_ref() == "Relationship" => {
                let kind = attribute(&e, "Type")?;
                if kind.is_some_and(|t| t.ends_with("/relationships/officeDocument"))
                    && let Some(t) = attribute(&e, "Target")?
                {
                    target = Some(t.into_owned());
                }
            }
            Event::End(e) if e.local_name().as_ref() == "Relationships" => break,
            _ => {}
        }
    }
    let Some(target) = target else { return not_understood("geen werkboekrelatie") };
    // The folder keeps its trailing `/`; a target ending in `/` keeps the default part name.
    let (dir, name) = target.split_at(target.rfind('/').map_or(0, |i| i + 1));
    let name = if name.is_empty() { "workbook.xml" } else { name };
    Ok((dir.strip_prefix('/').unwrap_or(dir).to_string(), name.to_string()))
}

/// The workbook's relationships: id → (target, type).
fn relationships(xml: &[u8]) -> Fast<HashMap<String, (String, String)>> {
    let mut reader = xml_reader(xml);
    let mut rels = HashMap::new();
    loop {
        match next(&mut reader, "werkboekrelaties")? {
            Event::Start(e) if e.local_name().as_ref() == "Relationship" => {
                if let Some(id) = attribute(&e, "Id")? {
                    let target = attribute(&e, "Target")?.unwrap_or_default().into_owned();
                    let kind = attribute(&e, "Type")?.unwrap_or_default().into_owned();
                    rels.insert(id.into_owned(), (target, kind));
                }
            }
            Event::End(e) if e.local_name().as_ref() == "Relationships" => return Ok(rels),
            _ => {}
        }
    }
}

/// The worksheets in workbook order: (name, part path). Chart and dialog sheets, duplicate
/// names and unknown sheet states are left to calamine.
fn sheet_entries(xml: &[u8], rels: &HashMap<String, (String, String)>, xl_path: &str) -> Fast<Vec<(String, String)>> {
    let mut reader = xml_reader(xml);
    let mut sheets: Vec<(String, String)> = Vec::new();
    loop {
        match next(&mut reader, "werkboek")? {
            Event::Start(e) if e.local_name().as_ref() == "sheet" => {
                let (mut name, mut rel_id) = (String::new(), None);
                for a in e.attributes() {
                    let Ok(a) = a else { return not_understood("ongeldige bladattributen") };
                    if a.value.contains('&') {
                        return not_understood("een bladattribuut met entiteiten");
                    }
                    let key = a.key.as_ref();
                    if key == "name" {
                        name = a.value.into_owned();
                    } else if key == "state" {
                        if !matches!(a.value.as_ref(), "visible" | "hidden" | "veryHidden") {
                            return not_understood("een onbekende bladstatus");
                        }
                    } else if a.key.local_name().as_ref() == "id" {
                        if rel_id.is_some() {
                            return not_understood("een blad met twee relatie-ids");
                        }
                        rel_id = Some(a.value.into_owned());
                    }
                }
                let Some((target, kind)) = rels.get(rel_id.as_deref().unwrap_or("")) else {
                    return not_understood("een blad zonder relatie");
                };
                if kind.rsplit('/').next() != Some("worksheet") {
                    return not_understood("een blad dat geen werkblad is");
                }
                if sheets.iter().any(|(n, _)| *n == name) {
                    return not_understood("twee bladen met dezelfde naam");
                }
                let path = target.strip_prefix('/').map_or_else(|| format!("{xl_path}{target}"), str::to_string);
                sheets.push((name, path));
            }
            Event::Start(e) if e.local_name().as_ref() == "workbookPr" => {
                // calamine reads `date1904` here; it changes no value it returns (a date cell
                // keeps its serial number), so only its form is checked.
                attribute(&e, "date1904")?;
            }
            Event::End(e) if e.local_name().as_ref() == "workbook" => return Ok(sheets),
            _ => {}
        }
    }
}

/// `sharedStrings.xml`: the table of strings a `t="s"` cell points into.
fn shared_strings(xml: &[u8]) -> Fast<Vec<String>> {
    let mut reader = xml_reader(xml);
    while !matches!(next(&mut reader, "gedeelde teksten")?, Event::Start(e) if e.local_name().as_ref() == "sst") {}
    let mut strings = Vec::new();
    loop {
        match next(&mut reader, "gedeelde teksten")? {
            Event::Start(e) if e.local_name().as_ref() == "si" => {
                strings.push(rich_text(&mut reader, e.name().as_ref())?);
            }
            Event::End(e) if e.local_name().as_ref() == "sst" => return Ok(strings),
            _ => {}
        }
    }
}

/// The text of an `<si>` or `<is>` element, up to its end tag `closing`: every `<t>` outside
/// phonetic runs (`<rPh>`), rich text runs (`<r>`) concatenated; a `<t>` without
/// `xml:space="preserve"` loses leading and trailing ASCII white space, as calamine trims it.
fn rich_text(reader: &mut Reader<&[u8]>, closing: &str) -> Fast<String> {
    let mut text = String::new();
    let mut phonetic = false;
    loop {
        match next(reader, "tekst")? {
            Event::End(e) if e.name().as_ref() == closing => return Ok(text),
            Event::Start(e) if e.name().as_ref().contains(':') => {
                return not_understood("een tekstelement met voorvoegsel");
            }
            Event::Start(e) if e.local_name().as_ref() == "rPh" => phonetic = true,
            Event::End(e) if e.local_name().as_ref() == "rPh" => phonetic = false,
            Event::Start(e) if e.local_name().as_ref() == "t" && !phonetic => {
                let preserve = attribute(&e, "xml:space")?.is_some_and(|v| v == "preserve");
                let run = text_run(reader, e.name().as_ref())?;
                text.push_str(if preserve { &run } else { run.trim_matches([' ', '\t', '\r', '\n']) });
            }
            _ => {}
        }
    }
}

/// The text of one `<t>` up to its end tag `closing`: line ends normalised as XML 1.0
/// prescribes (§2.11: `\r\n` and a lone `\r` become `\n`) and entities resolved, as
/// calamine's XML reader does. calamine then undoes Excel's `_xHHHH_` escapes in the result; a
/// text that holds one is left to calamine.
fn text_run(reader: &mut Reader<&[u8]>, closing: &str) -> Fast<String> {
    let mut run = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Text(t)) => run.push_str(&line_ends(&t)),
            Ok(Event::GeneralRef(r)) => {
                if let Some(s) = quick_xml::escape::resolve_xml_entity(&r) {
                    run.push_str(s);
                } else if let Ok(Some(c)) = r.resolve_char_ref() {
                    run.push(c);
                } else {
                    return not_understood("een onbekende entiteit in een tekst");
                }
            }
            Ok(Event::End(end)) if end.name().as_ref() == closing => break,
            _ => return not_understood("opmaak, CDATA of een fout binnen een tekstelement"),
        }
    }
    no_excel_escapes(&run)?;
    Ok(run)
}

fn line_ends(s: &str) -> Cow<'_, str> {
    if s.contains('\r') { Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n")) } else { Cow::Borrowed(s) }
}

fn no_excel_escapes(s: &str) -> Fast<()> {
    if s.contains("_x") || s.contains("_X") {
        return not_understood("tekst met _xHHHH_-codes");
    }
    Ok(())
}

/// `styles.xml`: for each cell format (`cellXfs/xf`), whether it shows numbers as dates.
fn number_formats(xml: &[u8]) -> Fast<Vec<NumberKind>> {
    let mut reader = xml_reader(xml);
    let mut custom: HashMap<String, String> = HashMap::new();
    let mut kinds = Vec::new();
    loop {
        match next(&mut reader, "stijlen")? {
            Event::Start(e) if e.local_name().as_ref() == "numFmts" => loop {
                match next(&mut reader, "stijlen")? {
                    Event::Start(e) if e.local_name().as_ref() == "numFmt" => {
                        if let (Some(id), Some(code)) = (attribute(&e, "numFmtId")?, format_code(&e)?) {
                            custom.insert(id.into_owned(), code);
                        }
                    }
                    Event::End(e) if e.local_name().as_ref() == "numFmts" => break,
                    _ => {}
                }
            },
            Event::Start(e) if e.local_name().as_ref() == "cellXfs" => loop {
                match next(&mut reader, "stijlen")? {
                    Event::Start(e) if e.local_name().as_ref() == "xf" => {
                        let kind = match attribute(&e, "numFmtId")? {
                            None => NumberKind::Plain,
                            Some(id) => match custom.get(id.as_ref()) {
                                Some(code) => custom_format_kind(code)?,
                                None => builtin_format_kind(&id),
                            },
                        };
                        kinds.push(kind);
                        while !matches!(next(&mut reader, "stijlen")?, Event::End(x) if x.local_name().as_ref() == "xf")
                        {
                        }
                    }
                    Event::End(e) if e.local_name().as_ref() == "cellXfs" => break,
                    _ => {}
                }
            },
            Event::End(e) if e.local_name().as_ref() == "styleSheet" => return Ok(kinds),
            _ => {}
        }
    }
}

/// A custom format's code, XML entities resolved (`&quot;` is common in format codes).
fn format_code(e: &BytesStart) -> Fast<Option<String>> {
    let mut code = None;
    for a in e.attributes() {
        let Ok(a) = a else { return not_understood("ongeldige attributen") };
        if a.key.as_ref() == "formatCode" {
            let Ok(v) = quick_xml::escape::unescape(&a.value) else {
                return not_understood("een opmaakcode met een onbekende entiteit");
            };
            if code.replace(v.into_owned()).is_some() {
                return not_understood("een dubbele opmaakcode");
            }
        }
    }
    Ok(code)
}

/// The built-in number formats that are dates or times (ECMA-376 Part 1, §18.8.30: ids 14-22
/// dates and times, 27-36 and 50-58 East Asian dates, 45-47 minutes and seconds, 46 elapsed
/// hours), which calamine reads as dates. The id is compared as written, as calamine does.
fn builtin_format_kind(id: &str) -> NumberKind {
    let date = matches!(
        id,
        "14" | "15"
            | "16"
            | "17"
            | "18"
            | "19"
            | "20"
            | "21"
            | "22"
            | "27"
            | "28"
            | "29"
            | "30"
            | "31"
            | "32"
            | "33"
            | "34"
            | "35"
            | "36"
            | "45"
            | "46"
            | "47"
            | "50"
            | "51"
            | "52"
            | "53"
            | "54"
            | "55"
            | "56"
            | "57"
            | "58"
    );
    if date { NumberKind::Date } else { NumberKind::Plain }
}

/// A custom format code's kind, for the codes whose reading is certain. A `\\`, `_` or `*`
/// makes the next character a literal (ECMA-376 Part 1, §18.8.31), so such pairs are dropped
/// first. Without any letter that can make a date or time token (d, m, h, y, s, and the a/p of
/// AM/PM) the code shows plain numbers; with such letters but no quotes, sections, brackets or
/// AM/PM, which change what the letters mean, it is a date. Anything else is left to calamine.
fn custom_format_kind(code: &str) -> Fast<NumberKind> {
    let mut tokens = String::with_capacity(code.len());
    let mut chars = code.chars();
    while let Some(c) = chars.next() {
        if matches!(c, '\\' | '_' | '*') {
            chars.next();
        } else {
            tokens.push(c);
        }
    }
    let date_letter = |c: char| matches!(c.to_ascii_lowercase(), 'd' | 'm' | 'h' | 'y' | 's');
    let am_pm = |c: char| matches!(c.to_ascii_lowercase(), 'a' | 'p');
    if !tokens.chars().any(|c| date_letter(c) || am_pm(c)) {
        return Ok(NumberKind::Plain);
    }
    if tokens.chars().any(|c| am_pm(c) || matches!(c, '"' | ';' | '[' | ']')) {
        return not_understood("een eigen getalnotatie die niet zeker te plaatsen is");
    }
    Ok(NumberKind::Date)
}

/// One sheet part: the prologue (up to `<sheetData>`) through `quick-xml`, the cells through the
/// byte scanner.
fn read_sheet(xml: &[u8], workbook: &Workbook, sheet: &mut Sheet) -> Fast<()> {
    let mut reader = xml_reader(xml);
    loop {
        match next(&mut reader, "blad")? {
            Event::Start(e) if e.local_name().as_ref() == "dimension" => {
                let Some(range) = attribute(&e, "ref")? else { return not_understood("dimensie zonder bereik") };
                check_dimension(&range)?;
            }
            Event::Start(e) if e.local_name().as_ref() == "sheetData" => break,
            _ => {}
        }
    }
    let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX).min(xml.len());
    if xml[..at].ends_with(b"/>") {
        return Ok(()); // `<sheetData/>`: no cells
    }
    let mut scanner = Scanner { xml, pos: at, tag_start: at };
    let mut cursor = Position { row: 0, col: 0 };
    loop {
        match scanner.next_tag()? {
            Tag::Open { name: b"row", attrs, empty } => {
                if let Some(r) = find_attrs(attrs, [b"r".as_slice()])?[0] {
                    cursor.row = row_number(r)?;
                }
                if empty {
                    cursor.end_row()?;
                }
            }
            Tag::Close(b"row") => cursor.end_row()?,
            Tag::Open { name: b"c", attrs, empty } => {
                let (row, col, cell) = read_cell(&mut scanner, workbook, &mut sheet.texts, &mut cursor, attrs, empty)?;
                place(sheet, row, col, cell);
            }
            Tag::Close(b"sheetData") => return Ok(()),
            _ => return not_understood("een onbekend element in de bladgegevens"),
        }
    }
}

/// Where a cell without an `r` attribute goes: calamine counts rows by `</row>` and columns by
/// cells, and jumps to a cell's or row's `r` when it has one.
struct Position {
    row: u32,
    col: u32,
}

impl Position {
    fn end_row(&mut self) -> Fast<()> {
        self.row = self.row.checked_add(1).map_or_else(|| not_understood("te veel rijen"), Ok)?;
        self.col = 0;
        Ok(())
    }
}

/// One `<c>` element from its attributes to its end tag: its position and its cell.
fn read_cell(
    scanner: &mut Scanner,
    workbook: &Workbook,
    texts: &mut Texts,
    cursor: &mut Position,
    attrs: &[u8],
    empty: bool,
) -> Fast<(u32, u32, Cell)> {
    let [r, s, t] = find_attrs(attrs, [b"r".as_slice(), b"s", b"t"])?;
    let (row, col) = match r {
        Some(r) => {
            let (row, col) = cell_reference(r)?;
            cursor.col = col;
            (row, col)
        }
        None => (cursor.row, cursor.col),
    };
    if cursor.col >= MAX_COL {
        return not_understood("een cel voorbij kolom XFD");
    }
    cursor.col += 1;
    let mut cell = Cell::Empty;
    let mut from_formula = false;
    if !empty {
        loop {
            match scanner.next_tag()? {
                Tag::Open { name: b"v", empty, .. } => {
                    let raw = if empty { b"".as_slice() } else { scanner.text_until(b"v")? };
                    cell = value(raw, s, t, workbook, texts)?;
                    from_formula = false;
                }
                Tag::Open { name: b"f", empty, .. } => {
                    if !empty {
                        // Unread, but calamine's XML reader refuses it if it is not UTF-8.
                        utf8(scanner.text_until(b"f")?)?;
                    }
                    (cell, from_formula) = (Cell::Empty, true);
                }
                Tag::Open { name: b"is", empty, .. } => {
                    cell = if empty { Cell::Empty } else { scanner.inline_string(texts)? };
                    from_formula = false;
                }
                Tag::Close(b"c") => break,
                _ => return not_understood("een onbekend element in een cel"),
            }
        }
    }
    if from_formula {
        return not_understood("een formule zonder opgeslagen waarde");
    }
    Ok((row, col, cell))
}

/// A `<v>` value by the cell's type (`t`) and style (`s`), as calamine reads it.
fn value(raw: &[u8], s: Option<&[u8]>, t: Option<&[u8]>, workbook: &Workbook, texts: &mut Texts) -> Fast<Cell> {
    if raw.contains(&b'&') {
        return not_understood("een waarde met entiteiten");
    }
    match t {
        None | Some(b"n") => {
            if raw.is_empty() {
                return Ok(Cell::Empty);
            }
            let n = number(raw)?;
            let kind = match s {
                None => NumberKind::Plain,
                Some(s) => workbook.formats.get(index(s)?).copied().unwrap_or(NumberKind::Plain),
            };
            Ok(if kind == NumberKind::Date { Cell::Date(n) } else { Cell::Number(n) })
        }
        Some(b"s") => {
            if raw.is_empty() {
                return Ok(Cell::Empty);
            }
            match workbook.strings.get(index(raw)?) {
                Some(cell) => Ok(*cell),
                None => not_understood("een verwijzing buiten de gedeelde teksten"),
            }
        }
        Some(b"b") => match raw {
            b"" => Ok(Cell::Empty),
            b"0" => Ok(Cell::Number(0.0)),
            b"1" => Ok(Cell::Number(1.0)),
            _ => not_understood("een onbekende waarheidswaarde"),
        },
        Some(b"e") => {
            let parsed = std::str::from_utf8(raw).ok().and_then(|e| e.parse::<calamine::CellErrorType>().ok());
            match parsed {
                // calamine's path writes an error cell as `#` and the error's Debug name.
                Some(e) => Ok(error_text(&e, texts)),
                None => not_understood("een onbekende foutwaarde"),
            }
        }
        Some(b"str") => {
            let s = line_ends(utf8(raw)?);
            no_excel_escapes(&s)?;
            Ok(texts.cell(&s))
        }
        Some(b"inlineStr" | b"is") => Ok(Cell::Empty), // the text is in `<is>`; `<v>` is redundant
        Some(_) => not_understood("een onbekend celtype"),
    }
}

fn utf8(raw: &[u8]) -> Fast<&str> {
    std::str::from_utf8(raw).or_else(|_| not_understood("tekst die geen UTF-8 is"))
}

/// A number in the plain syntax Excel writes (`-12`, `3.5`, `1E-3`); anything else (spaces, a
/// `+`, `inf`, hexadecimal) is left to calamine. Short integers are exact without a float
/// parser; the rest is parsed by the standard library, correctly rounded like calamine's parser.
fn number(raw: &[u8]) -> Fast<f64> {
    let digits = raw.strip_prefix(b"-").unwrap_or(raw);
    if !digits.is_empty() && digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
        let n = digits.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')) as f64;
        return Ok(if digits.len() < raw.len() { -n } else { n });
    }
    let mut rest = digits;
    let int = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    rest = &rest[int..];
    let mut frac = 0;
    if let Some(after) = rest.strip_prefix(b".") {
        frac = after.iter().take_while(|b| b.is_ascii_digit()).count();
        rest = &after[frac..];
    }
    if let Some(after) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let after = after.strip_prefix(b"-").or_else(|| after.strip_prefix(b"+")).unwrap_or(after);
        let exp = after.iter().take_while(|b| b.is_ascii_digit()).count();
        rest = if exp == 0 { b"x" } else { &after[exp..] };
    }
    if int + frac == 0 || !rest.is_empty() {
        return not_understood("een getal in een onbekende schrijfwijze");
    }
    // Only ASCII digits, signs, `.` and `e` are left: valid UTF-8.
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map_or_else(|| not_understood("een getal in een onbekende schrijfwijze"), Ok)
}

/// A non-negative decimal index (a style or a shared string), digits only.
fn index(raw: &[u8]) -> Fast<usize> {
    if raw.is_empty() || raw.len() > 9 || !raw.iter().all(u8::is_ascii_digit) {
        return not_understood("een index in een onbekende schrijfwijze");
    }
    Ok(raw.iter().fold(0usize, |n, d| n * 10 + usize::from(d - b'0')))
}

/// A cell reference (`B12`) as 0-based (row, column): capital letters then a row number
/// without leading zero, inside Excel's grid.
fn cell_reference(raw: &[u8]) -> Fast<(u32, u32)> {
    let letters = raw.iter().take_while(|b| b.is_ascii_uppercase()).count();
    if !(1..=3).contains(&letters) {
        return not_understood("een celverwijzing in een onbekende schrijfwijze");
    }
    let col = raw[..letters].iter().fold(0u32, |n, b| n * 26 + u32::from(b - b'A') + 1);
    let row = row_number(&raw[letters..])?;
    if col > MAX_COL {
        return not_understood("een celverwijzing buiten het raster");
    }
    Ok((row, col - 1))
}

/// A 1-based row number as 0-based.
fn row_number(raw: &[u8]) -> Fast<u32> {
    let valid = !raw.is_empty() && raw.len() <= 7 && raw[0] != b'0' && raw.iter().all(u8::is_ascii_digit);
    let row = if valid { raw.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')) } else { 0 };
    if row == 0 || row > MAX_ROW {
        return not_understood("een rijnummer in een onbekende schrijfwijze");
    }
    Ok(row - 1)
}

/// The `<dimension ref>` only hints at the used range (calamine streams cells regardless, and
/// so does this reader: a dimension that lies changes nothing), but calamine refuses a malformed
/// one and does arithmetic on a reversed one, so only a well-formed range is accepted.
fn check_dimension(range: &str) -> Fast<()> {
    let parts = range.split(':').map(|p| cell_reference(p.as_bytes())).collect::<Fast<Vec<_>>>()?;
    match parts.as_slice() {
        [_] => Ok(()),
        [start, end] if end.0 >= start.0 && end.1 >= start.1 => Ok(()),
        _ => not_understood("een dimensie in een onbekende schrijfwijze"),
    }
}

/// A tag of the sheet data as the byte scanner sees it.
enum Tag<'a> {
    Open { name: &'a [u8], attrs: &'a [u8], empty: bool },
    Close(&'a [u8]),
}

/// The byte scanner over `<sheetData>`: tags without prefixes, white space between them, text
/// only inside `<v>` and `<f>`. Anything else (comments, CDATA, processing instructions,
/// entities, non-ASCII in a tag) is not understood.
struct Scanner<'a> {
    xml: &'a [u8],
    pos: usize,
    /// Where the last tag began (its `<`).
    tag_start: usize,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

impl<'a> Scanner<'a> {
    fn next_tag(&mut self) -> Fast<Tag<'a>> {
        let rest = &self.xml[self.pos..];
        // Tags mostly follow each other directly, and are short: a plain loop beats a vector
        // search on such distances.
        let Some(lt) = rest.iter().position(|b| !is_space(*b)) else {
            return not_understood("het blad houdt op in de gegevens");
        };
        if rest[lt] != b'<' {
            return not_understood("tekst tussen de elementen");
        }
        self.tag_start = self.pos + lt;
        let start = self.pos + lt + 1;
        let Some(gt) = self.xml[start..].iter().position(|b| *b == b'>') else {
            return not_understood("een element zonder einde");
        };
        let inner = &self.xml[start..start + gt];
        self.pos = start + gt + 1;
        if let Some(name) = inner.strip_prefix(b"/") {
            if !is_name(name) {
                return not_understood("een eindtag in een onbekende schrijfwijze");
            }
            return Ok(Tag::Close(name));
        }
        let (body, empty) = match inner.strip_suffix(b"/") {
            Some(body) => (body, true),
            None => (inner, false),
        };
        let name_len = body.iter().position(|b| is_space(*b)).unwrap_or(body.len());
        let (name, attrs) = body.split_at(name_len);
        if !is_name(name) {
            return not_understood("een element in een onbekende schrijfwijze");
        }
        Ok(Tag::Open { name, attrs, empty })
    }

    /// The text of an element up to its end tag `</name>`, which must follow directly.
    fn text_until(&mut self, name: &[u8]) -> Fast<&'a [u8]> {
        let rest = &self.xml[self.pos..];
        // Values are short (a code, a number): a plain loop, a vector search past 64 bytes.
        let near = rest.iter().take(64).position(|b| *b == b'<');
        let Some(lt) = near.or_else(|| memchr::memchr(b'<', rest)) else {
            return not_understood("een waarde zonder einde");
        };
        let close = &rest[lt..];
        let fits = close.len() >= name.len() + 3
            && close[1] == b'/'
            && &close[2..2 + name.len()] == name
            && close[2 + name.len()] == b'>';
        if !fits {
            return not_understood("een waarde met opmaak of zonder eindtag");
        }
        self.pos += lt + name.len() + 3;
        Ok(&rest[..lt])
    }

    /// An inline string (`<is>`, the last tag read), read like a shared string. The XML reader
    /// starts at the `<is>` tag itself: it refuses an end tag it has not seen opened.
    fn inline_string(&mut self, texts: &mut Texts) -> Fast<Cell> {
        let mut reader = xml_reader(&self.xml[self.tag_start..]);
        if !matches!(next(&mut reader, "tekst")?, Event::Start(e) if e.name().as_ref() == "is") {
            return not_understood("een inline tekst in een onbekende schrijfwijze");
        }
        let s = rich_text(&mut reader, "is")?;
        let read = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        self.pos = self.tag_start.saturating_add(read).min(self.xml.len());
        Ok(texts.cell(&s))
    }
}

/// An element name without prefix: ASCII letters and digits.
fn is_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(u8::is_ascii_alphanumeric)
}

/// The values of the attributes `keys` among a tag's attributes, which must all be well formed
/// (`name="value"` or `name='value'`, ASCII, no `<`); a key given twice is not understood.
fn find_attrs<'a, const N: usize>(mut attrs: &'a [u8], keys: [&[u8]; N]) -> Fast<[Option<&'a [u8]>; N]> {
    let mut found = [None; N];
    loop {
        let skip = attrs.iter().take_while(|b| is_space(**b)).count();
        attrs = &attrs[skip..];
        if attrs.is_empty() {
            return Ok(found);
        }
        if skip == 0 {
            return not_understood("attributen zonder witruimte ertussen");
        }
        let Some(eq) = attrs.iter().position(|b| *b == b'=') else {
            return not_understood("een attribuut zonder waarde");
        };
        let key = &attrs[..eq];
        let valid_key =
            !key.is_empty() && key.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-' | b'.'));
        let quote = attrs.get(eq + 1).copied();
        if !valid_key || !matches!(quote, Some(b'"' | b'\'')) {
            return not_understood("een attribuut in een onbekende schrijfwijze");
        }
        let value_start = eq + 2;
        let Some(len) = attrs[value_start..].iter().position(|b| Some(*b) == quote) else {
            return not_understood("een attribuut zonder sluitend aanhalingsteken");
        };
        let value = &attrs[value_start..value_start + len];
        if value.iter().any(|b| *b == b'<' || !b.is_ascii()) {
            return not_understood("een attribuutwaarde met < of niet-ASCII");
        }
        if let Some(i) = keys.iter().position(|k| *k == key)
            && found[i].replace(value).is_some()
        {
            return not_understood("een dubbel attribuut");
        }
        attrs = &attrs[value_start + len + 1..];
        if attrs.first().is_some_and(|b| !is_space(*b)) {
            return not_understood("attributen zonder witruimte ertussen");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::ingest::Value;
    use crate::ingest::excel::read_xlsx_calamine;

    const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;

    /// Two cell formats: 0 plain, 1 the built-in date format 14, 2 a custom `dd-mm-yyyy`.
    const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="dd\-mm\-yyyy"/></numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>"#;

    /// A package written by hand, for what rust_xlsxwriter does not write: `sheet_data` is the
    /// content of `<sheetData>`, `prologue` what comes before it in the sheet.
    fn package(prologue: &str, sheet_data: &str, shared: Option<&str>, date1904: bool) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        let pr = if date1904 { r#"<workbookPr date1904="1"/>"# } else { "<workbookPr/>" };
        let mut parts = vec![
            ("_rels/.rels".to_string(), r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string()),
            ("xl/_rels/workbook.xml.rels".to_string(), WORKBOOK_RELS.to_string()),
            ("xl/workbook.xml".to_string(), format!(r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">{pr}<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>"#)),
            ("xl/styles.xml".to_string(), STYLES.to_string()),
            ("xl/worksheets/sheet1.xml".to_string(), format!(r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{prologue}<sheetData>{sheet_data}</sheetData></worksheet>"#)),
        ];
        if let Some(sst) = shared {
            parts.push(("xl/sharedStrings.xml".to_string(), format!(r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{sst}</sst>"#)));
        }
        for (name, xml) in parts {
            zip.start_file(name, options).unwrap();
            zip.write_all(xml.as_bytes()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// Reads with both readers, requires the same sheets, and returns the first sheet's rows.
    fn both(bytes: &[u8]) -> Sheet {
        let fast = read(bytes).unwrap_or_else(|e| panic!("not understood: {}", e.0));
        let calamine = read_xlsx_calamine(bytes).unwrap();
        assert_eq!(fast, calamine);
        fast.into_iter().next().unwrap()
    }

    /// A sheet's rows with their texts.
    fn values(sheet: &Sheet) -> Vec<Vec<Value<'_>>> {
        sheet.rows.iter().map(|r| r.iter().map(|c| sheet.texts.value(*c)).collect()).collect()
    }

    fn t(s: &str) -> Value<'_> {
        Value::Text(s)
    }

    #[test]
    fn shared_strings_with_rich_text_runs_and_phonetic_runs() {
        let sst = r#"<si><t>respondent</t></si><si><r><rPr><b/><sz val="11"/></rPr><t>wl</t></r><r><t xml:space="preserve">01 </t></r></si><si><t>Den Haag</t><rPh sb="0" eb="1"><t>x</t></rPh></si><si><t>  </t></si><si><t>a &amp; b&#33;</t></si>"#;
        let data = r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c><c r="C2" t="s"><v>4</v></c></row>"#;
        let sheet = both(&package("", data, Some(sst), false));
        let rows = values(&sheet);
        assert_eq!(rows[0], [t("respondent"), t("wl01 ")]);
        assert_eq!(rows[1], [t("Den Haag"), Value::Empty, t("a & b!")]);
    }

    #[test]
    fn inline_strings_plain_and_rich() {
        let data = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>respondent</t></is></c><c r="B1" t="inlineStr"><is><r><t>wl</t></r><r><rPr><i/></rPr><t>01</t></r></is></c><c r="C1" t="inlineStr"><is><t/></is></c></row>"#;
        let sheet = both(&package("", data, None, false));
        let rows = values(&sheet);
        assert_eq!(rows[0], [t("respondent"), t("wl01")]);
    }

    #[test]
    fn booleans_and_error_cells() {
        let data = r#"<row r="1"><c r="A1" t="b"><v>1</v></c><c r="B1" t="b"><v>0</v></c><c r="C1" t="e"><v>#DIV/0!</v></c><c r="D1" t="e"><v>#N/A</v></c><c r="E1" t="str"><v>tekst</v></c></row>"#;
        let sheet = both(&package("", data, None, false));
        let rows = values(&sheet);
        assert_eq!(rows[0], [Value::Number(1.0), Value::Number(0.0), t("#Div0"), t("#NA"), t("tekst")]);
        // A boolean written `true` is valid for calamine; this reader leaves it to calamine.
        let odd = package("", r#"<row r="1"><c r="A1" t="b"><v>true</v></c></row>"#, None, false);
        assert!(read(&odd).is_err());
        assert!(read_xlsx_calamine(&odd).is_ok());
    }

    #[test]
    fn dates_in_the_1900_and_1904_systems_keep_their_serial() {
        let data = r#"<row r="1"><c r="A1" s="1"><v>45000.5</v></c><c r="B1" s="2"><v>45001</v></c><c r="C1" s="0"><v>45002</v></c><c r="D1"><v>-1.5E-3</v></c></row>"#;
        for date1904 in [false, true] {
            let sheet = both(&package("", data, None, date1904));
            let rows = values(&sheet);
            let want = [Value::Date(45000.5), Value::Date(45001.0), Value::Number(45002.0), Value::Number(-0.0015)];
            assert_eq!(rows[0], want, "1904: {date1904}");
        }
    }

    #[test]
    fn sparse_rows_and_cells_without_a_reference() {
        // No `r` on rows or cells: rows count by `</row>`, columns by cells; an empty `<row/>`
        // and a self-closed `<c/>` still take their place; a row may jump ahead.
        let data = r#"<row><c><v>1</v></c><c/><c><v>3</v></c></row><row/><row><c r="C3"><v>4</v></c><c><v>5</v></c></row><row r="9"><c><v>6</v></c></row>"#;
        let sheet = both(&package("", data, None, false));
        let rows = values(&sheet);
        assert_eq!(rows.len(), 9);
        assert_eq!(rows[0], [Value::Number(1.0), Value::Empty, Value::Number(3.0)]);
        assert!(rows[1].is_empty());
        assert_eq!(rows[2], [Value::Empty, Value::Empty, Value::Number(4.0), Value::Number(5.0)]);
        assert_eq!(rows[8], [Value::Number(6.0)]);
    }

    #[test]
    fn a_dimension_that_lies_changes_nothing() {
        let data = r#"<row r="1"><c r="A1"><v>1</v></c></row><row r="40"><c r="Z40"><v>2</v></c></row>"#;
        let sheet = both(&package(r#"<dimension ref="A1:B2"/>"#, data, None, false));
        let rows = values(&sheet);
        assert_eq!(rows.len(), 40);
        assert_eq!(rows[39][25], Value::Number(2.0));
        // A reversed or malformed one is left to calamine.
        assert!(read(&package(r#"<dimension ref="B2:A1"/>"#, data, None, false)).is_err());
        assert!(read(&package(r#"<dimension ref="A0"/>"#, data, None, false)).is_err());
    }

    #[test]
    fn formulas_read_as_their_cached_value_and_without_one_go_to_calamine() {
        let data =
            r#"<row r="1"><c r="A1"><f>1+1</f><v>2</v></c><c r="B1" t="str"><f>"a"&amp;"b"</f><v>ab</v></c></row>"#;
        assert_eq!(values(&both(&package("", data, None, false)))[0], [Value::Number(2.0), t("ab")]);
        let uncached = package("", r#"<row r="1"><c r="A1"><f>1+1</f></c></row>"#, None, false);
        assert!(read(&uncached).unwrap_err().0.contains("formule"));
    }

    #[test]
    fn what_it_does_not_understand_is_refused_not_guessed() {
        for data in [
            r#"<row r="1"><c r="A1" t="d"><v>2024-01-01</v></c></row>"#,
            r#"<row r="1"><c r="A1"><v> 1</v></c></row>"#,
            r#"<row r="1"><!-- note --><c r="A1"><v>1</v></c></row>"#,
            r#"<x:row r="1"><c r="A1"><v>1</v></c></x:row>"#,
            r#"<row r="1"><c r="A1" t="str"><v>_x000D_</v></c></row>"#,
            r#"<row r="1"><c r="A1" t="s"><v>7</v></c></row>"#,
            r#"<row r="1"><c r="XFE1"><v>1</v></c></row>"#,
        ] {
            assert!(read(&package("", data, None, false)).is_err(), "{data}");
        }
    }

    #[test]
    fn a_workbook_from_rust_xlsxwriter_reads_as_calamine_reads_it() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let s = wb.add_worksheet().set_name("Blad 1").unwrap();
        s.write(0, 0, "respondent").unwrap();
        s.write(0, 1, "wl01").unwrap();
        s.write(1, 0, 1).unwrap();
        s.write(1, 1, 7.25).unwrap();
        s.write(2, 0, "<&> \"quoted\"").unwrap();
        s.write(2, 1, true).unwrap();
        s.write(5000, 5000, "far").unwrap();
        let sheet = both(&wb.save_to_buffer().unwrap());
        let rows = values(&sheet);
        assert_eq!(rows[1], [Value::Number(1.0), Value::Number(7.25)]);
        assert_eq!(rows[2], [t("<&> \"quoted\""), Value::Number(1.0)]);
    }

    #[test]
    fn numbers_parse_exactly() {
        for (raw, want) in [("0", 0.0), ("-12", -12.0), ("3.5", 3.5), ("1E-3", 0.001), (".5", 0.5), ("1e+2", 100.0)] {
            assert_eq!(number(raw.as_bytes()).unwrap(), want, "{raw}");
        }
        assert_eq!(number(b"123456789012345678").unwrap(), 123456789012345678.0);
        for raw in ["", "-", "1e", "+1", "inf", "NaN", "0x1", "1 ", "1.2.3"] {
            assert!(number(raw.as_bytes()).is_err(), "{raw}");
        }
    }
}
