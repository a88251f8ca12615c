//! SPSS system files (`.sav`), the format the Burgerpeiling protocol prescribes: reads the
//! dictionary (variable names, labels, value labels, declared missing values) and the data into
//! a [`RawTable`], so an SPSS delivery enters the pipeline like any spreadsheet.
//!
//! The format is read as the PSPP developers' guide describes it (sources in `docs/spss.md`):
//! both byte orders, uncompressed and bytecode-compressed data, long and very long strings.
//!
//! It must not interpret values: declared missing codes such as 88 or 99 stay in the data as
//! delivered (the dictionary says which they are), and value labels never replace codes. It
//! must not panic, and must not allocate from counts the file declares before checking that
//! the file holds that much: a file that cannot be read gives an `ingest.file-corrupt` finding.
//! ZSAV (zlib-compressed) files are refused with a finding, not read.

use encoding_rs::Encoding;

use super::{Cell, RawTable, Texts};
use crate::finding::{self, Finding};

/// A variable's dictionary entry.
#[derive(Clone, Debug, PartialEq)]
pub struct SavVariable {
    /// The long name as in the file, original case.
    pub name: String,
    /// The variable label; empty when the file has none.
    pub label: String,
    /// A string variable (else numeric).
    pub text: bool,
    /// Declared width in bytes for strings (very long strings: the full width); 8 for numbers.
    pub width: usize,
    /// Value labels in file order.
    pub value_labels: Vec<(SavValue, String)>,
    /// Discrete declared (user-)missing values.
    pub missing: Vec<SavValue>,
    /// A declared missing range `low..=high` (numeric variables only).
    pub missing_range: Option<(f64, f64)>,
}

/// A value in the dictionary: a code of a numeric or of a string variable.
#[derive(Clone, Debug, PartialEq)]
pub enum SavValue {
    Number(f64),
    Text(String),
}

/// A whole `.sav` file: its dictionary and its data.
#[derive(Clone, Debug, PartialEq)]
pub struct SavFile {
    /// One entry per variable, in file order (the order of `table.header`).
    pub variables: Vec<SavVariable>,
    /// Header = variable names; numbers are [`Cell::Number`] (date formats too, as SPSS's own
    /// seconds since 14 Oct 1582), the system-missing value is [`Cell::Empty`], strings lose
    /// trailing spaces and are [`Cell::Empty`] when blank; `source_rows` are 1..=n.
    pub table: RawTable,
}

/// The fixed file header is 176 bytes; anything shorter is not a system file.
const HEADER_LEN: usize = 176;

/// Whole survey files have a few million cells; more than this from a small file is an attack
/// or damage (bytecode can encode a cell in one byte, so the data could be 32x the file).
const MAX_CELLS: usize = 20_000_000;

/// Segment data in a very long string: 255 bytes each (PSPP guide, "Very Long String Record").
const VLS_CHUNK: usize = 255;
/// Width per segment a very long string is divided by to count its segments.
const VLS_EFFECTIVE: usize = 252;

/// Reads one `.sav` file. Returns the file, or `None` with an `error` finding saying why not.
pub fn read(bytes: &[u8], delivery_id: &str) -> (Option<SavFile>, Vec<Finding>) {
    match parse(bytes) {
        Ok(file) if file.variables.is_empty() || file.table.rows.is_empty() => {
            let f = Finding::new(
                finding::FILE_NO_DATA,
                delivery_id,
                format!(
                    "the SPSS file holds {} variable(s) and {} case(s)",
                    file.variables.len(),
                    file.table.rows.len()
                ),
            );
            (None, vec![f])
        }
        Ok(file) => (Some(file), Vec::new()),
        Err(message) => (None, vec![Finding::new(finding::FILE_CORRUPT, delivery_id, message)]),
    }
}

type Res<T> = Result<T, String>;

/// A cursor over the file that never reads past its end, in the file's byte order.
struct Rd<'a> {
    b: &'a [u8],
    pos: usize,
    be: bool,
}

impl<'a> Rd<'a> {
    fn remaining(&self) -> usize {
        self.b.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        if n > self.remaining() {
            return Err(format!(
                "the SPSS file ends early: {n} bytes needed at offset {} but {} remain (truncated?)",
                self.pos,
                self.remaining()
            ));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn arr<const N: usize>(&mut self) -> Res<[u8; N]> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn i32(&mut self) -> Res<i32> {
        let a = self.arr::<4>()?;
        Ok(if self.be { i32::from_be_bytes(a) } else { i32::from_le_bytes(a) })
    }

    /// A count or length: negative is damage, and `unit` bytes per item must fit in the file.
    fn count(&mut self, what: &str, unit: usize) -> Res<usize> {
        let n = self.i32()?;
        let n = usize::try_from(n).map_err(|_| format!("the SPSS file declares a negative {what} ({n})"))?;
        if n.saturating_mul(unit) > self.remaining() {
            return Err(format!(
                "the SPSS file declares {n} for the {what} at offset {}, more than the file holds (truncated?)",
                self.pos
            ));
        }
        Ok(n)
    }

    fn f64(&mut self) -> Res<f64> {
        let a = self.arr::<8>()?;
        Ok(self.num(a))
    }

    fn num(&self, a: [u8; 8]) -> f64 {
        if self.be { f64::from_be_bytes(a) } else { f64::from_le_bytes(a) }
    }
}

/// One type 2 record: a variable, a segment of a very long string, or a continuation slot.
struct VarRecord {
    /// 0 numeric, 1..=255 string width, -1 continuation of the string before.
    kind: i32,
    name: Vec<u8>,
    label: Option<Vec<u8>>,
    n_missing: i32,
    missing: Vec<[u8; 8]>,
}

/// A type 3 record's (value, label) pairs with the 1-based slot indexes of its type 4 record.
type LabelSet = (Vec<([u8; 8], Vec<u8>)>, Vec<usize>);

/// The dictionary as recorded, before records are joined into variables.
#[derive(Default)]
struct RawDict {
    records: Vec<VarRecord>,
    /// Value label sets: (value, label) pairs and the 1-based slot indexes they apply to.
    label_sets: Vec<LabelSet>,
    character_code: Option<i32>,
    sysmis: Option<f64>,
    long_names: Option<Vec<u8>>,
    very_long: Option<Vec<u8>>,
    encoding: Option<Vec<u8>>,
    long_labels: Vec<Vec<u8>>,
    long_missing: Vec<Vec<u8>>,
}

/// One stored piece of a variable: its first slot and its width (0 = number).
#[derive(Clone, Copy)]
struct Segment {
    slot: usize,
    width: usize,
}

struct Var {
    dict: SavVariable,
    segments: Vec<Segment>,
}

fn parse(bytes: &[u8]) -> Res<SavFile> {
    if bytes.len() < HEADER_LEN {
        return Err(format!("the file is too short ({} bytes) to be an SPSS system file", bytes.len()));
    }
    match &bytes[..4] {
        b"$FL2" => {}
        b"$FL3" => return Err(zsav_refused()),
        _ => {
            return Err("the file is not an SPSS system file (it does not start with $FL2)".to_string());
        }
    }
    let layout = [bytes[64], bytes[65], bytes[66], bytes[67]];
    let be = if matches!(i32::from_le_bytes(layout), 2 | 3) {
        false
    } else if matches!(i32::from_be_bytes(layout), 2 | 3) {
        true
    } else {
        return Err("the SPSS header's layout code is neither 2 nor 3 in either byte order".to_string());
    };
    let mut rd = Rd { b: bytes, pos: 68, be };
    // The header's case size is only a hint (some writers put -1); the variables decide.
    rd.i32()?;
    let compressed = match rd.i32()? {
        0 => false,
        1 => true,
        2 => return Err(zsav_refused()),
        c => return Err(format!("the SPSS header declares an unknown compression ({c})")),
    };
    rd.i32()?;
    let ncases = rd.i32()?;
    let bias = rd.f64()?;
    rd.pos = HEADER_LEN;

    let raw = parse_dictionary(&mut rd)?;
    let encoding = choose_encoding(&raw);
    let (vars, slot_is_text) = resolve(&raw, encoding, be)?;
    let sysmis = raw.sysmis.unwrap_or(-f64::MAX);
    let slots = slot_is_text.len();
    if slots == 0 {
        // Without variables there is nothing a case could hold; counting empty cases up to
        // the declared number would only burn memory.
        return Ok(SavFile {
            variables: Vec::new(),
            table: RawTable::from_values(None, Vec::new(), Vec::new(), Vec::new()),
        });
    }
    let mut data =
        Data { rd, encoding, slot_is_text: &slot_is_text, sysmis, texts: Texts::default(), scratch: Vec::new() };
    let cases = if compressed {
        if !bias.is_finite() {
            return Err("the SPSS header's compression bias is not a number".to_string());
        }
        data.compressed(ncases, bias, &vars)?
    } else {
        data.uncompressed(ncases, slots, &vars)?
    };
    if data.texts.overflowed() {
        return Err("the SPSS file holds more than 4 GiB of text, more than a table can hold".to_string());
    }
    let header = vars.iter().map(|v| v.dict.name.clone()).collect();
    let source_rows = (1..=cases.len()).map(|n| u32::try_from(n).unwrap_or(u32::MAX)).collect();
    Ok(SavFile {
        variables: vars.into_iter().map(|v| v.dict).collect(),
        table: RawTable { sheet: None, header, rows: cases, source_rows, texts: data.texts },
    })
}

fn zsav_refused() -> String {
    "the file is a zlib-compressed SPSS file (ZSAV), which is not supported; save it again in \
     SPSS as .sav (compressed or uncompressed)"
        .to_string()
}

fn parse_dictionary(rd: &mut Rd) -> Res<RawDict> {
    let mut d = RawDict::default();
    loop {
        let at = rd.pos;
        match rd.i32()? {
            2 => {
                let kind = rd.i32()?;
                if !(-1..=255).contains(&kind) {
                    return Err(format!("the SPSS variable record at offset {at} has type {kind}"));
                }
                let has_label = rd.i32()?;
                let n_missing = rd.i32()?;
                rd.i32()?;
                rd.i32()?;
                let name = rd.take(8)?.to_vec();
                let label = if has_label == 1 {
                    let n = rd.count("variable label length", 1)?;
                    let padded = n.div_ceil(4) * 4;
                    Some(rd.take(padded)?[..n].to_vec())
                } else {
                    None
                };
                let values = match n_missing {
                    0..=3 => n_missing as usize,
                    -2 => 2,
                    -3 => 3,
                    n => {
                        return Err(format!("the SPSS variable record at offset {at} declares {n} missing values"));
                    }
                };
                let missing = (0..values).map(|_| rd.arr::<8>()).collect::<Res<_>>()?;
                d.records.push(VarRecord { kind, name, label, n_missing, missing });
            }
            3 => {
                let n = rd.count("number of value labels", 9)?;
                let mut labels = Vec::with_capacity(n);
                for _ in 0..n {
                    let value = rd.arr::<8>()?;
                    let len = usize::from(rd.take(1)?[0]);
                    let padded = (len + 1).div_ceil(8) * 8 - 1;
                    labels.push((value, rd.take(padded)?[..len].to_vec()));
                }
                let at = rd.pos;
                if rd.i32()? != 4 {
                    return Err(format!("the SPSS value labels at offset {at} are not followed by their variables"));
                }
                let n = rd.count("number of labelled variables", 4)?;
                let vars = (0..n).map(|_| rd.i32().map(|i| usize::try_from(i).unwrap_or(0))).collect::<Res<_>>()?;
                d.label_sets.push((labels, vars));
            }
            4 => {
                return Err(format!("the SPSS file has value-label variables without labels at offset {at}"));
            }
            6 => {
                let n = rd.count("number of document lines", 80)?;
                rd.take(n * 80)?;
            }
            7 => {
                let subtype = rd.i32()?;
                let size = rd.count("extension record element size", 0)?;
                let count = rd.count("extension record element count", size)?;
                let data = rd.take(size * count)?;
                match subtype {
                    3 if size == 4 && count >= 8 => {
                        let mut sub = Rd { b: data, pos: 28, be: rd.be };
                        d.character_code = Some(sub.i32()?);
                    }
                    4 if size == 8 && count >= 1 => {
                        let mut sub = Rd { b: data, pos: 0, be: rd.be };
                        d.sysmis = Some(sub.f64()?);
                    }
                    13 => d.long_names = Some(data.to_vec()),
                    14 => d.very_long = Some(data.to_vec()),
                    20 => d.encoding = Some(data.to_vec()),
                    21 => d.long_labels.push(data.to_vec()),
                    22 => d.long_missing.push(data.to_vec()),
                    // Display settings, attributes, multiple-response sets and the like say
                    // nothing the pipeline reads.
                    _ => {}
                }
            }
            999 => {
                rd.i32()?;
                return Ok(d);
            }
            t => {
                return Err(format!("the SPSS dictionary has an unknown record type {t} at offset {at}"));
            }
        }
    }
}

/// The file's own encoding record wins; else the character code of the integer info record;
/// else windows-1252, what SPSS wrote before it recorded encodings.
fn choose_encoding(d: &RawDict) -> &'static Encoding {
    if let Some(e) = d.encoding.as_deref().and_then(|name| Encoding::for_label(trim_bytes(name))) {
        return e;
    }
    match d.character_code {
        Some(65001) => encoding_rs::UTF_8,
        Some(code @ 1250..=1258) => {
            Encoding::for_label(format!("windows-{code}").as_bytes()).unwrap_or(encoding_rs::WINDOWS_1252)
        }
        Some(28592) => encoding_rs::ISO_8859_2,
        Some(28605) => encoding_rs::ISO_8859_15,
        _ => encoding_rs::WINDOWS_1252,
    }
}

fn trim_bytes(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| c != b' ' && c != 0).map_or(0, |i| i + 1);
    &b[..end]
}

fn decode(b: &[u8], encoding: &'static Encoding) -> String {
    encoding.decode_without_bom_handling(trim_bytes(b)).0.into_owned()
}

/// `KEY=VALUE` pairs separated by tabs (and, in the very long string record, NULs).
fn pairs(b: &[u8], encoding: &'static Encoding) -> Vec<(String, String)> {
    decode(b, encoding)
        .split(['\t', '\0'])
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_uppercase(), v.trim_end_matches(['\0', ' ']).to_string()))
        .collect()
}

/// Joins the type 2 records into variables and applies labels, names and missing values.
/// Returns the variables and, per 8-byte slot of a case, whether it holds string bytes.
fn resolve(d: &RawDict, encoding: &'static Encoding, be: bool) -> Res<(Vec<Var>, Vec<bool>)> {
    let num = |a: [u8; 8]| if be { f64::from_be_bytes(a) } else { f64::from_le_bytes(a) };
    let long_names = d.long_names.as_deref().map(|b| pairs(b, encoding)).unwrap_or_default();
    let very_long = d.very_long.as_deref().map(|b| pairs(b, encoding)).unwrap_or_default();

    let (segments, slot_is_text) = segments_of(d)?;

    let mut vars: Vec<Var> = Vec::with_capacity(segments.len());
    let mut first_slots = std::collections::HashMap::new();
    let mut s = 0;
    while s < segments.len() {
        let (slot, r) = segments[s];
        let short = decode(&r.name, encoding);
        let kind = usize::try_from(r.kind).unwrap_or(0);
        let declared_vls = very_long
            .iter()
            .find(|(k, _)| *k == short.to_uppercase())
            .and_then(|(_, v)| v.trim().parse::<usize>().ok());
        let (width, n_segments) = match declared_vls {
            Some(w) if w > 255 && kind == 255 => (w, w.div_ceil(VLS_EFFECTIVE)),
            Some(w) if w > 255 => {
                return Err(format!(
                    "the SPSS very long string {short} (width {w}) does not start with a 255-byte segment"
                ));
            }
            _ => (kind, 1),
        };
        if s + n_segments > segments.len() {
            return Err(format!("the SPSS very long string {short} (width {width}) lacks segments"));
        }
        let segs: Vec<Segment> = segments[s..s + n_segments]
            .iter()
            .map(|(slot, r)| Segment { slot: *slot, width: usize::try_from(r.kind).unwrap_or(0) })
            .collect();
        if segs[1..].iter().any(|g| g.width == 0) {
            return Err(format!("the SPSS very long string {short} has a numeric segment"));
        }
        let name = long_names
            .iter()
            .find(|(k, _)| *k == short.to_uppercase())
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| short.clone());
        let text = width > 0;
        let mut missing = Vec::new();
        let mut missing_range = None;
        let values = &r.missing;
        match (text, r.n_missing) {
            (false, -2 | -3) => {
                missing_range = Some((num(values[0]), num(values[1])));
                missing.extend(values[2..].iter().map(|&v| SavValue::Number(num(v))));
            }
            (true, -2 | -3) => {
                return Err(format!("the SPSS string variable {name} declares a missing range"));
            }
            (false, _) => missing.extend(values.iter().map(|&v| SavValue::Number(num(v)))),
            (true, _) => missing.extend(values.iter().map(|v| SavValue::Text(decode(v, encoding)))),
        }
        first_slots.insert(slot + 1, vars.len());
        vars.push(Var {
            dict: SavVariable {
                name,
                label: r.label.as_deref().map(|l| decode(l, encoding)).unwrap_or_default(),
                text,
                width: if text { width } else { 8 },
                value_labels: Vec::new(),
                missing,
                missing_range,
            },
            segments: segs,
        });
        s += n_segments;
    }

    for (labels, indexes) in &d.label_sets {
        for index in indexes {
            let Some(&v) = first_slots.get(index) else {
                return Err(format!("the SPSS value labels name variable slot {index}, which is no variable"));
            };
            let var = &mut vars[v].dict;
            for (value, label) in labels {
                let value =
                    if var.text { SavValue::Text(decode(value, encoding)) } else { SavValue::Number(num(*value)) };
                var.value_labels.push((value, decode(label, encoding)));
            }
        }
    }
    long_string_extras(&mut vars, d, encoding, be)?;
    Ok((vars, slot_is_text))
}

/// Every non-continuation type 2 record with the first 8-byte slot it occupies.
type Segments<'d> = Vec<(usize, &'d VarRecord)>;

/// The dictionary's [`Segments`], and per slot whether it holds string bytes.
fn segments_of(d: &RawDict) -> Res<(Segments<'_>, Vec<bool>)> {
    let mut slot_is_text = Vec::with_capacity(d.records.len());
    // Every non-continuation record with the first slot it occupies.
    let mut segments: Vec<(usize, &VarRecord)> = Vec::new();
    let mut i = 0;
    while i < d.records.len() {
        let r = &d.records[i];
        if r.kind == -1 {
            return Err(format!(
                "the SPSS dictionary has a continuation record without a string before it (record {})",
                i + 1
            ));
        }
        let width = usize::try_from(r.kind).unwrap_or(0);
        let n_slots = if width == 0 { 1 } else { width.div_ceil(8) };
        for k in 1..n_slots {
            if d.records.get(i + k).is_none_or(|c| c.kind != -1) {
                return Err(format!("the SPSS string variable record {} lacks its continuation records", i + 1));
            }
        }
        segments.push((slot_is_text.len(), r));
        slot_is_text.extend(std::iter::repeat_n(width > 0, n_slots));
        i += n_slots;
    }

    Ok((segments, slot_is_text))
}

/// The long string value labels and missing values (records 7.21 and 7.22), onto the
/// variables they name.
fn long_string_extras(vars: &mut [Var], d: &RawDict, encoding: &'static Encoding, be: bool) -> Res<()> {
    let by_name = |vars: &[Var], name: &str| vars.iter().position(|v| v.dict.name.eq_ignore_ascii_case(name));
    for record in &d.long_labels {
        let mut rd = Rd { b: record, pos: 0, be };
        while rd.remaining() > 0 {
            let n = rd.count("long string value label name length", 1)?;
            let name = decode(rd.take(n)?, encoding);
            rd.i32()?;
            let labels = rd.count("number of long string value labels", 8)?;
            let v = by_name(vars, &name);
            for _ in 0..labels {
                let n = rd.count("long string value length", 1)?;
                let value = decode(rd.take(n)?, encoding);
                let n = rd.count("long string label length", 1)?;
                let label = decode(rd.take(n)?, encoding);
                if let Some(v) = v {
                    vars[v].dict.value_labels.push((SavValue::Text(value), label));
                }
            }
        }
    }
    for record in &d.long_missing {
        let mut rd = Rd { b: record, pos: 0, be };
        while rd.remaining() > 0 {
            let n = rd.count("long string missing value name length", 1)?;
            let name = decode(rd.take(n)?, encoding);
            let count = usize::from(rd.take(1)?[0]);
            let len = rd.count("long string missing value length", count)?;
            let v = by_name(vars, &name);
            for _ in 0..count {
                let value = decode(rd.take(len)?, encoding);
                if let Some(v) = v {
                    vars[v].dict.missing.push(SavValue::Text(value));
                }
            }
        }
    }
    Ok(())
}

/// The data section and what is needed to turn its slots into cells.
struct Data<'a> {
    rd: Rd<'a>,
    encoding: &'static Encoding,
    slot_is_text: &'a [bool],
    sysmis: f64,
    /// The table's text arena: string values are decoded into it, not into a `String` each.
    texts: Texts,
    /// One string value's bytes, gathered from its segments (reused from value to value).
    scratch: Vec<u8>,
}

impl Data<'_> {
    fn cell_of(&mut self, var: &Var, case: &[[u8; 8]]) -> Cell {
        if !var.dict.text {
            let v = self.rd.num(case[var.segments[0].slot]);
            return if v == self.sysmis || !v.is_finite() { Cell::Empty } else { Cell::Number(v) };
        }
        self.scratch.clear();
        let last = var.segments.len() - 1;
        for (j, seg) in var.segments.iter().enumerate() {
            let stored = &case[seg.slot..seg.slot + seg.width.div_ceil(8)];
            let used = if last == 0 {
                seg.width
            } else if j < last {
                VLS_CHUNK
            } else {
                var.dict.width.saturating_sub(VLS_CHUNK * last)
            };
            self.scratch.extend(stored.iter().flatten().take(used));
        }
        // As `decode`, but borrowed when the bytes need no conversion (UTF-8, or ASCII).
        let t = self.encoding.decode_without_bom_handling(trim_bytes(&self.scratch)).0;
        if t.is_empty() { Cell::Empty } else { self.texts.push(&t).map_or(Cell::Empty, Cell::Text) }
    }

    fn push_case(&mut self, vars: &[Var], case: &[[u8; 8]], cases: &mut Vec<Vec<Cell>>) -> Res<()> {
        if (cases.len() + 1).saturating_mul(vars.len()) > MAX_CELLS {
            return Err(format!("the SPSS file holds more than {MAX_CELLS} cells, more than any survey file"));
        }
        cases.push(vars.iter().map(|v| self.cell_of(v, case)).collect());
        Ok(())
    }

    fn uncompressed(&mut self, ncases: i32, slots: usize, vars: &[Var]) -> Res<Vec<Vec<Cell>>> {
        let row = slots * 8;
        let mut cases = Vec::new();
        let mut case = vec![[0u8; 8]; slots];
        loop {
            if ncases >= 0 && cases.len() == ncases as usize {
                break;
            }
            if self.rd.remaining() == 0 && ncases < 0 {
                break;
            }
            if self.rd.remaining() < row || row == 0 {
                return Err(format!("the SPSS data ends in the middle of case {} (truncated?)", cases.len() + 1));
            }
            for slot in case.iter_mut() {
                *slot = self.rd.arr::<8>()?;
            }
            self.push_case(vars, &case, &mut cases)?;
        }
        Ok(cases)
    }

    fn compressed(&mut self, ncases: i32, bias: f64, vars: &[Var]) -> Res<Vec<Vec<Cell>>> {
        let slots = self.slot_is_text.len();
        let mut cases = Vec::new();
        let mut case = vec![[0u8; 8]; slots];
        let mut codes: [u8; 8] = [0; 8];
        let mut next_code = 8;
        'cases: loop {
            if ncases >= 0 && cases.len() == ncases as usize {
                break;
            }
            let mut s = 0;
            while s < slots {
                if next_code == 8 {
                    if self.rd.remaining() == 0 {
                        if s == 0 && ncases < 0 {
                            break 'cases;
                        }
                        return Err(format!(
                            "the SPSS data ends in the middle of case {} (truncated?)",
                            cases.len() + 1
                        ));
                    }
                    codes = self.rd.arr::<8>()?;
                    next_code = 0;
                }
                let code = codes[next_code];
                next_code += 1;
                let text = self.slot_is_text[s];
                case[s] = match (code, text) {
                    (0, _) => continue,
                    (252, _) if s == 0 && ncases < 0 => break 'cases,
                    (252, _) => {
                        return Err(format!(
                            "the SPSS data ends in the middle of case {} (truncated?)",
                            cases.len() + 1
                        ));
                    }
                    (253, _) => self.rd.arr::<8>()?,
                    (254, true) => [b' '; 8],
                    (255, false) => self.num_bytes(self.sysmis),
                    (1..=251, false) => self.num_bytes(f64::from(code) - bias),
                    (c, _) => {
                        let what = if text { "a string" } else { "a number" };
                        return Err(format!(
                            "the SPSS compressed data has code {c} where {what} belongs (case {})",
                            cases.len() + 1
                        ));
                    }
                };
                s += 1;
            }
            self.push_case(vars, &case, &mut cases)?;
        }
        Ok(cases)
    }

    fn num_bytes(&self, v: f64) -> [u8; 8] {
        if self.rd.be { v.to_be_bytes() } else { v.to_le_bytes() }
    }
}

// The tests need synth's `.sav` writer: they run under `make test` (features kill-points, synth).
#[cfg(all(test, feature = "synth"))]
mod tests {
    //! The test files are written by synth's `.sav` writer (`crate::synth::messy::sav`), the
    //! one that also writes the messy `.sav` deliveries. It is a separate implementation of the
    //! PSPP description, built from the format's records rather than from this reader's code,
    //! so a misreading here does not hide behind the same misreading there; the four real VNG
    //! templates (`tests/spss_templates.rs`) check the reader against files SPSS wrote.

    use super::*;
    use crate::ingest::Value;
    use crate::synth::messy::sav::{SavCell, SavLayout, SavVar, write_sav};

    fn tvar(name: &str, width: usize) -> SavVar {
        SavVar::string(name, width)
    }

    /// The writer's file in one of the four layouts; the sample is always writable.
    fn write(vars: &[SavVar], rows: &[Vec<SavCell>], big_endian: bool, compressed: bool) -> Vec<u8> {
        let layout =
            SavLayout { big_endian, compressed, created: (2024, 1, 1), file_label: "burgerpeiling test".to_string() };
        write_sav(vars, rows, &layout).expect("the sample is a valid dictionary and data")
    }

    fn n(x: f64) -> SavCell {
        SavCell::Number(x)
    }

    fn s(t: &str) -> SavCell {
        SavCell::Text(t.to_string())
    }

    fn essay() -> String {
        // Distinct text in every segment, with multi-byte characters, to see the segments join
        // in order.
        (0..60).map(|i| format!("zin {i:02} é ")).collect::<String>().chars().take(560).collect()
    }

    fn sample() -> (Vec<SavVar>, Vec<Vec<SavCell>>) {
        let vars = vec![
            SavVar { label: "respondentnummer".into(), ..tvar("respondent", 0) },
            SavVar {
                label: "Hoe tevreden bent u?".into(),
                missing: vec![-1.0, 88.0, 99.0],
                value_labels: vec![(1.0, "zeer tevreden".into()), (2.0, "tevreden".into()), (99.0, "weet niet".into())],
                ..tvar("Tevredenheid_Buurt", 0)
            },
            tvar("postcode", 6),
            tvar("toelichting", 20),
            tvar("open_antwoord", 600),
            tvar("weging", 0),
        ];
        let rows = vec![
            vec![n(1.0), n(2.0), s("1020AA"), s("twintig tekens lang!"), s(&essay()), n(1.234_567)],
            vec![n(2.0), n(99.0), s(""), s("kort  "), s(""), SavCell::Missing],
            vec![n(1e9), SavCell::Missing, s("   "), s(""), s("x"), n(-1000.5)],
        ];
        (vars, rows)
    }

    #[test]
    fn reads_own_files_in_every_layout() {
        let (vars, rows) = sample();
        for be in [false, true] {
            for compressed in [false, true] {
                let bytes = write(&vars, &rows, be, compressed);
                let (file, findings) = read(&bytes, "d");
                assert!(findings.is_empty(), "be={be} compressed={compressed}: {findings:?}");
                let file = file.expect("a file");
                let names: Vec<&str> = file.variables.iter().map(|v| v.name.as_str()).collect();
                assert_eq!(
                    names,
                    ["respondent", "Tevredenheid_Buurt", "postcode", "toelichting", "open_antwoord", "weging"]
                );
                assert_eq!(file.table.header, names);
                let tv = &file.variables[1];
                assert_eq!(tv.label, "Hoe tevreden bent u?");
                assert!(!tv.text);
                assert_eq!(
                    tv.value_labels,
                    vec![
                        (SavValue::Number(1.0), "zeer tevreden".to_string()),
                        (SavValue::Number(2.0), "tevreden".to_string()),
                        (SavValue::Number(99.0), "weet niet".to_string()),
                    ]
                );
                assert_eq!(tv.missing, vec![SavValue::Number(-1.0), SavValue::Number(88.0), SavValue::Number(99.0)]);
                assert_eq!(tv.missing_range, None);
                let essay_var = &file.variables[4];
                assert!(essay_var.text);
                assert_eq!(essay_var.width, 600);
                assert_eq!(file.variables[3].width, 20);

                let t = Value::Text;
                let rows: Vec<Vec<Value>> = (0..file.table.rows.len()).map(|r| file.table.row(r).collect()).collect();
                assert_eq!(
                    rows,
                    vec![
                        vec![
                            Value::Number(1.0),
                            Value::Number(2.0),
                            t("1020AA"),
                            t("twintig tekens lang!"),
                            t(essay().trim_end()),
                            Value::Number(1.234_567),
                        ],
                        vec![
                            Value::Number(2.0),
                            Value::Number(99.0),
                            Value::Empty,
                            t("kort"),
                            Value::Empty,
                            Value::Empty
                        ],
                        vec![
                            Value::Number(1e9),
                            Value::Empty,
                            Value::Empty,
                            Value::Empty,
                            t("x"),
                            Value::Number(-1000.5)
                        ],
                    ],
                    "be={be} compressed={compressed}"
                );
                assert_eq!(file.table.source_rows, vec![1, 2, 3]);
                assert_eq!(file.table.sheet, None);
            }
        }
    }

    #[test]
    fn missing_range_comes_through() {
        let (mut vars, rows) = sample();
        vars[5].missing_range = Some((90.0, 99.0));
        vars[5].missing = vec![-1.0];
        let (file, findings) = read(&write(&vars, &rows, true, false), "d");
        assert!(findings.is_empty(), "{findings:?}");
        let file = file.expect("a file");
        assert_eq!(file.variables[5].missing_range, Some((90.0, 99.0)));
        assert_eq!(file.variables[5].missing, vec![SavValue::Number(-1.0)]);
    }

    #[test]
    fn undeclared_case_size_is_fine() {
        let (vars, rows) = sample();
        let mut bytes = write(&vars, &rows, false, true);
        bytes[68..72].copy_from_slice(&(-1i32).to_le_bytes());
        let (file, findings) = read(&bytes, "d");
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(file.expect("a file").table.rows.len(), 3);
    }

    fn only_corrupt(findings: &[Finding], what: &str) {
        assert!(!findings.is_empty(), "{what}: no finding");
        assert!(
            findings.iter().all(|f| f.rule == finding::FILE_CORRUPT.id || f.rule == finding::FILE_NO_DATA.id),
            "{what}: {findings:?}"
        );
    }

    #[test]
    fn truncated_own_file_gives_finding_at_every_offset() {
        let (vars, rows) = sample();
        for compressed in [false, true] {
            let bytes = write(&vars, &rows, true, compressed);
            for n in 0..bytes.len() {
                let (file, findings) = read(&bytes[..n], "d");
                assert!(file.is_none(), "compressed={compressed} cut at {n} of {} read as whole", bytes.len());
                only_corrupt(&findings, &format!("cut at {n}"));
            }
        }
    }

    #[test]
    fn truncated_template_gives_finding() {
        let path = shared_dir().join("reference-data/vng-dataformat/Burgerpeling-dataformat-2022.sav");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(read(&bytes, "d").1.is_empty());
        // Every offset in the header and first records, then a fine stride, then the data.
        let len = bytes.len();
        let offsets = (0..2048).chain((2048..len - 512).step_by(7)).chain(len - 512..len);
        for n in offsets {
            let (file, findings) = read(&bytes[..n], "d");
            assert!(file.is_none(), "cut at {n} of {len} read as whole");
            only_corrupt(&findings, &format!("cut at {n}"));
        }
    }

    #[test]
    fn garbage_gives_finding() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in [0, 1, 3, 4, 175, 176, 177, 500, 4096, 70_000] {
            for attempt in 0..20 {
                let mut b: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                // Half the attempts look like a system file at first glance.
                if len >= 176 && attempt % 2 == 0 {
                    b[..4].copy_from_slice(b"$FL2");
                    b[64..68].copy_from_slice(&2i32.to_le_bytes());
                }
                let (file, findings) = read(&b, "d");
                assert!(file.is_none());
                only_corrupt(&findings, &format!("garbage of {len}"));
            }
        }
    }

    #[test]
    fn mutated_template_never_panics() {
        let path = shared_dir().join("reference-data/vng-dataformat/Burgerpeling-dataformat-2022.sav");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut seed: u64 = 42;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize
        };
        for _ in 0..300 {
            let mut b = bytes.clone();
            let at = next() % 20_000;
            // Counts and sizes set huge or negative are the dangerous mutations.
            let v: i32 = if next() % 2 == 0 { i32::MAX - (next() % 64) as i32 } else { -((next() % 5) as i32) };
            let at = at & !3;
            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            let (file, findings) = read(&b, "d");
            assert!(file.is_some() || crate::finding::rejects(&findings));
        }
    }

    #[test]
    fn zsav_and_other_files_are_refused() {
        let (vars, rows) = sample();
        let mut bytes = write(&vars, &rows, false, true);
        bytes[..4].copy_from_slice(b"$FL3");
        let (file, findings) = read(&bytes, "d");
        assert!(file.is_none());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, finding::FILE_CORRUPT.id);
        assert!(findings[0].message.contains("ZSAV"));

        let (file, findings) = read(&[b'a'; 400], "d");
        assert!(file.is_none());
        assert!(findings[0].message.contains("not an SPSS system file"));
    }

    #[test]
    fn no_cases_is_no_data() {
        let (vars, _) = sample();
        let bytes = write(&vars, &[], false, true);
        let (file, findings) = read(&bytes, "d");
        assert!(file.is_none());
        assert_eq!(findings[0].rule, finding::FILE_NO_DATA.id);
    }

    /// `shared/` beside the project (as CI lays it out), else `$BURGERPEILING_SHARED`.
    pub(crate) fn shared_dir() -> std::path::PathBuf {
        let beside = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
        if beside.is_dir() {
            return beside;
        }
        std::env::var_os("BURGERPEILING_SHARED")
            .map(std::path::PathBuf::from)
            .expect("shared/ is neither beside the project nor named by BURGERPEILING_SHARED")
    }
}
