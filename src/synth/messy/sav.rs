//! SPSS system files (`.sav`) for synthetic deliveries: [`write_sav`] turns a dictionary and
//! rows of cells into a system file in either byte order, uncompressed or bytecode-compressed,
//! as the PSPP developers' guide describes the format (sources in `docs/spss.md`);
//! [`delivery`] builds a messy delivery's dictionary from the codebook (labels, value labels,
//! declared missing values, the dataformat's print formats) and its cases from the grid.
//! The unit tests of the reader, `ingest::spss`, write their files with [`write_sav`] as well.
//!
//! It must not read the clock (the caller gives the header's creation date), and must not
//! change a value to make it fit: text longer than its variable, a value label too long for
//! its record, a number the reader would take for system-missing, or a cell of the wrong type
//! is an error, never a truncation. It does not interpret codes: declared missing values and
//! value labels only go into the dictionary.

use std::collections::HashSet;

use anyhow::{Context, Result, bail, ensure};

use super::{EXTRA_COLUMN, Grid, SavQuirks, Written};
use crate::codebook::{Codebook, ResearchVariable, Variable};
use crate::synth::GeneratedDelivery;

/// The value SPSS stores for "no value" (system-missing): the most negative double.
pub(crate) const SYSMIS: f64 = -f64::MAX;

/// Width of the [`EXTRA_COLUMN`] string variable: over 255 bytes, so every `.sav` delivery
/// with the extra column also carries a very long string, as the dataformat's open-answer
/// variables (A15000) would.
pub(crate) const EXTRA_WIDTH: usize = 1000;

/// Width of `wijknr`, `A12` in every dataformat.
const WIJKNR_WIDTH: usize = 12;

/// Print format of the questionnaire's numeric variables: every one is `F2.0` in the
/// dataformats (codes up to 99).
const ANSWER_FORMAT: (u8, u8) = (2, 0);

/// Bytecode bias: compressed numbers `x` with whole values in `1 - BIAS ..= 251 - BIAS` are
/// stored as the single byte `x + BIAS`. 100 is what SPSS writes.
const BIAS: f64 = 100.0;

/// A variable of the dictionary.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SavVar {
    /// The (long) name, as the reader must return it.
    pub name: String,
    /// 0 = numeric; otherwise the string width in bytes (over 255 a very long string).
    pub width: usize,
    /// Numeric variables: print and write format `F<width>.<decimals>`. Strings are always
    /// `A<width>`.
    pub number_format: (u8, u8),
    /// The variable label; empty for none.
    pub label: String,
    /// Numeric variables only.
    pub value_labels: Vec<(f64, String)>,
    /// Discrete declared missing values (numeric variables only): up to three, or one beside a
    /// range.
    pub missing: Vec<f64>,
    /// A declared missing range `low..=high` (numeric variables only).
    pub missing_range: Option<(f64, f64)>,
}

impl SavVar {
    /// A numeric variable shown as `F8.2`, without label, value labels or missing values.
    pub(crate) fn numeric(name: &str) -> SavVar {
        SavVar {
            name: name.to_string(),
            width: 0,
            number_format: (8, 2),
            label: String::new(),
            value_labels: Vec::new(),
            missing: Vec::new(),
            missing_range: None,
        }
    }

    /// A string variable of `width` bytes, without label.
    pub(crate) fn string(name: &str, width: usize) -> SavVar {
        SavVar { width, ..SavVar::numeric(name) }
    }
}

/// One cell of a case.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SavCell {
    Number(f64),
    /// No value: system-missing in a numeric variable, spaces in a string variable.
    Missing,
    Text(String),
}

/// How the file is laid out, and what its header says.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SavLayout {
    pub big_endian: bool,
    pub compressed: bool,
    /// The header's creation date (year, month 1-12, day 1-31); the time is always 12:00:00.
    pub created: (u16, u8, u8),
    /// The header's file label; cut at 64 bytes (a title, not data).
    pub file_label: String,
}

/// The system file of `vars` and `rows` (one cell per variable in each row).
pub(crate) fn write_sav(vars: &[SavVar], rows: &[Vec<SavCell>], layout: &SavLayout) -> Result<Vec<u8>> {
    for v in vars {
        check_var(v)?;
    }
    let be = layout.big_endian;
    let mut o = Out { be, b: Vec::new() };
    let case_size: usize = vars.iter().flat_map(|v| segments(v.width)).map(slots).sum();
    o.b.extend(b"$FL2");
    o.padded(b"@(#) SPSS DATA FILE burgerpeiling synth", 60);
    o.i32(2);
    o.i32(i32::try_from(case_size).context("too many variables for an SPSS file")?);
    o.i32(i32::from(layout.compressed));
    // No weight variable: agencies deliver `weging` as a variable, not as SPSS's WEIGHT BY.
    o.i32(0);
    o.i32(i32::try_from(rows.len()).context("too many cases for an SPSS file")?);
    o.f64(BIAS);
    let (year, month, day) = layout.created;
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = months.get(usize::from(month.clamp(1, 12)) - 1).context("creation month outside 1-12")?;
    o.padded(format!("{:02} {month} {:02}", day.clamp(1, 31), year % 100).as_bytes(), 9);
    o.padded(b"12:00:00", 8);
    o.padded(cut(&layout.file_label, 64).as_bytes(), 64);
    o.padded(&[0, 0, 0], 3);

    let names = short_names(vars);
    let mut long_names = Vec::with_capacity(vars.len());
    let mut very_long = String::new();
    // 1-based index of each variable's first slot: value labels name variables by it.
    let mut first_slot = Vec::with_capacity(vars.len());
    let mut slot = 1usize;
    for (v, short) in vars.iter().zip(&names) {
        long_names.push(format!("{}={}", short[0], v.name));
        if v.width > 255 {
            very_long.push_str(&format!("{}={:05}\0\t", short[0], v.width));
        }
        first_slot.push(slot);
        for (j, &seg) in segments(v.width).iter().enumerate() {
            variable_record(&mut o, v, &short[j], seg, j == 0)?;
            slot += slots(seg);
        }
    }
    value_labels(&mut o, vars, &first_slot)?;

    let mut ints = Out { be, b: Vec::new() };
    // Version 20.0.0, machine code -1 (unknown), IEEE 754 floats, compression code 1 (PSPP:
    // always 1), the byte order, character code 65001 (UTF-8).
    for x in [20, 0, 0, -1, 1, 1, if be { 1 } else { 2 }, 65001] {
        ints.i32(x);
    }
    o.info(3, 4, &ints.b)?;
    let mut floats = Out { be, b: Vec::new() };
    // System-missing, HIGHEST and LOWEST; LOWEST is the double just above system-missing.
    for x in [SYSMIS, f64::MAX, f64::from_bits(0xffef_ffff_ffff_fffe)] {
        floats.f64(x);
    }
    o.info(4, 8, &floats.b)?;
    o.info(13, 1, long_names.join("\t").as_bytes())?;
    if !very_long.is_empty() {
        o.info(14, 1, very_long.as_bytes())?;
    }
    o.info(20, 1, b"UTF-8")?;
    o.i32(999);
    o.i32(0);

    let mut data = Vec::with_capacity(rows.len() * case_size);
    for (i, row) in rows.iter().enumerate() {
        ensure!(row.len() == vars.len(), "case {} has {} cells for {} variables", i + 1, row.len(), vars.len());
        for (v, cell) in vars.iter().zip(row) {
            case_slots(v, cell, &mut data).with_context(|| format!("case {}, {}", i + 1, v.name))?;
        }
    }
    if layout.compressed {
        compress(&mut o, &data);
    } else {
        for s in data {
            match s {
                Slot::Num(x) => o.f64(x),
                Slot::Str(a) => o.b.extend(a),
            }
        }
    }
    Ok(o.b)
}

fn check_var(v: &SavVar) -> Result<()> {
    ensure!(
        !v.name.is_empty() && !v.name.contains(['=', '\t', '\0']),
        "the variable name {:?} cannot be written to the long names record",
        v.name
    );
    ensure!(v.width <= 32767, "{}: string width {} is over SPSS's 32767", v.name, v.width);
    if v.width > 0 {
        ensure!(
            v.value_labels.is_empty() && v.missing.is_empty() && v.missing_range.is_none(),
            "{}: value labels and missing values are written for numeric variables only",
            v.name
        );
    }
    let discrete = if v.missing_range.is_some() { 1 } else { 3 };
    ensure!(
        v.missing.len() <= discrete,
        "{}: {} discrete missing values, at most {discrete} fit",
        v.name,
        v.missing.len()
    );
    for (_, label) in &v.value_labels {
        ensure!(label.len() <= 255, "{}: a value label of {} bytes, at most 255 fit", v.name, label.len());
    }
    ensure!(v.label.len() <= 32767, "{}: a variable label of {} bytes", v.name, v.label.len());
    Ok(())
}

/// One type 2 record for a segment of `v`, then its continuation records.
fn variable_record(o: &mut Out, v: &SavVar, short: &str, seg: usize, first: bool) -> Result<()> {
    o.i32(2);
    o.i32(i32::try_from(seg).context("segment width")?);
    let labelled = first && !v.label.is_empty();
    o.i32(i32::from(labelled));
    let missing = if first { v.missing.len() } else { 0 };
    let ranged = first && v.missing_range.is_some();
    o.i32(match (ranged, missing) {
        (true, 0) => -2,
        (true, _) => -3,
        (false, n) => n as i32,
    });
    let format = if v.width == 0 {
        let (w, d) = v.number_format;
        (5 << 16) | (i32::from(w) << 8) | i32::from(d)
    } else {
        // A format's width is one byte; a very long string's segments show at most A255.
        (1 << 16) | ((seg.min(255) as i32) << 8)
    };
    o.i32(format);
    o.i32(format);
    o.padded(short.as_bytes(), 8);
    if labelled {
        o.i32(v.label.len() as i32);
        o.b.extend(v.label.as_bytes());
        o.b.extend(std::iter::repeat_n(b' ', v.label.len().next_multiple_of(4) - v.label.len()));
    }
    if let (true, Some((lo, hi))) = (ranged, v.missing_range) {
        o.f64(lo);
        o.f64(hi);
    }
    if first {
        for &m in &v.missing {
            o.f64(m);
        }
    }
    for _ in 1..slots(seg) {
        o.i32(2);
        o.i32(-1);
        o.i32(0);
        o.i32(0);
        o.i32(0);
        o.i32(0);
        o.padded(b"", 8);
    }
    Ok(())
}

/// Type 3 and 4 records. Variables with the same label set share one pair, as SPSS writes
/// them, so the reader has to apply one set to several variables.
fn value_labels(o: &mut Out, vars: &[SavVar], first_slot: &[usize]) -> Result<()> {
    let mut done = vec![false; vars.len()];
    for k in 0..vars.len() {
        if done[k] || vars[k].value_labels.is_empty() {
            continue;
        }
        let set = &vars[k].value_labels;
        let sharing: Vec<usize> = (k..vars.len()).filter(|&i| vars[i].value_labels == *set).collect();
        o.i32(3);
        o.i32(i32::try_from(set.len()).context("too many value labels")?);
        for (code, label) in set {
            o.f64(*code);
            // `check_var` keeps labels within the one length byte.
            o.b.push(label.len() as u8);
            o.b.extend(label.as_bytes());
            o.b.extend(std::iter::repeat_n(0, (label.len() + 1).next_multiple_of(8) - label.len() - 1));
        }
        o.i32(4);
        o.i32(i32::try_from(sharing.len()).context("too many labelled variables")?);
        for &i in &sharing {
            o.i32(i32::try_from(first_slot[i]).context("too many variables")?);
            done[i] = true;
        }
    }
    Ok(())
}

/// Unique 8-byte short names per variable and segment. A short name is what SPSS derives
/// from the long name (its first 8 bytes, upper case); where that is taken or unusable,
/// `V<n>`. Very long string segments get the first bytes of their variable's short name and
/// the segment number.
fn short_names(vars: &[SavVar]) -> Vec<Vec<String>> {
    let mut taken = HashSet::new();
    let mut next = 1usize;
    let mut claim = |want: String| -> String {
        let usable = want.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        if usable && taken.insert(want.clone()) {
            return want;
        }
        loop {
            let fallback = format!("V{next}");
            next += 1;
            if taken.insert(fallback.clone()) {
                return fallback;
            }
        }
    };
    vars.iter()
        .map(|v| {
            let first = claim(cut(&v.name, 8).to_ascii_uppercase());
            let mut names = vec![first.clone()];
            for j in 1..segments(v.width).len() {
                let digits = j.to_string();
                names.push(claim(format!("{}{digits}", cut(&first, 8 - digits.len().min(7)))));
            }
            names
        })
        .collect()
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Segment widths of a variable: numbers 0; strings up to 255 bytes one segment; very long
/// strings one segment of 255 per 252 bytes of width, the last taking the rest.
fn segments(width: usize) -> Vec<usize> {
    if width <= 255 {
        return vec![width];
    }
    let n = width.div_ceil(252);
    let mut s = vec![255; n - 1];
    s.push(width - (n - 1) * 252);
    s
}

/// 8-byte slots a segment takes in a case.
fn slots(seg_width: usize) -> usize {
    if seg_width == 0 { 1 } else { seg_width.div_ceil(8) }
}

enum Slot {
    Num(f64),
    Str([u8; 8]),
}

fn case_slots(v: &SavVar, cell: &SavCell, data: &mut Vec<Slot>) -> Result<()> {
    if v.width == 0 {
        let x = match cell {
            SavCell::Number(x) => {
                // The reader turns non-finite values and system-missing into no value.
                ensure!(x.is_finite() && *x != SYSMIS, "{x} cannot be stored as a number");
                *x
            }
            SavCell::Missing => SYSMIS,
            SavCell::Text(_) => bail!("text in a numeric variable"),
        };
        data.push(Slot::Num(x));
        return Ok(());
    }
    let s = match cell {
        SavCell::Text(s) => s.as_bytes(),
        SavCell::Missing => b"",
        SavCell::Number(_) => bail!("a number in a string variable"),
    };
    ensure!(s.len() <= v.width, "{} bytes of text in a string of width {}", s.len(), v.width);
    for (j, &seg) in segments(v.width).iter().enumerate() {
        // Each segment holds 255 bytes of the string (the last one the rest), padded with
        // spaces to whole slots.
        let from = (j * 255).min(s.len());
        let to = (from + seg.min(255)).min(s.len());
        let mut bytes = s[from..to].to_vec();
        bytes.resize(slots(seg) * 8, b' ');
        for chunk in bytes.chunks(8) {
            let mut a = [b' '; 8];
            a.copy_from_slice(chunk);
            data.push(Slot::Str(a));
        }
    }
    Ok(())
}

/// Bytecode compression: blocks of eight one-byte codes, each followed by the raw 8-byte
/// values its codes 253 announce; code 252 ends the data.
fn compress(o: &mut Out, data: &[Slot]) {
    let mut codes: Vec<u8> = Vec::with_capacity(8);
    let mut raw = Vec::new();
    let be = o.be;
    let flush = |o: &mut Out, codes: &mut Vec<u8>, raw: &mut Vec<u8>| {
        codes.resize(8, 0);
        o.b.append(codes);
        o.b.append(raw);
    };
    for s in data {
        match s {
            Slot::Num(x) if *x == SYSMIS => codes.push(255),
            Slot::Num(x) if x.fract() == 0.0 && (1.0 - BIAS..=251.0 - BIAS).contains(x) => codes.push((x + BIAS) as u8),
            Slot::Num(x) => {
                codes.push(253);
                raw.extend(if be { x.to_be_bytes() } else { x.to_le_bytes() });
            }
            Slot::Str(a) if *a == [b' '; 8] => codes.push(254),
            Slot::Str(a) => {
                codes.push(253);
                raw.extend(a);
            }
        }
        if codes.len() == 8 {
            flush(o, &mut codes, &mut raw);
        }
    }
    codes.push(252);
    flush(o, &mut codes, &mut raw);
}

/// The file being written, in its byte order.
struct Out {
    be: bool,
    b: Vec<u8>,
}

impl Out {
    fn i32(&mut self, v: i32) {
        self.b.extend(if self.be { v.to_be_bytes() } else { v.to_le_bytes() });
    }

    fn f64(&mut self, v: f64) {
        self.b.extend(if self.be { v.to_be_bytes() } else { v.to_le_bytes() });
    }

    /// `s` padded with spaces to `len` bytes (callers cut `s` first where it could be longer).
    fn padded(&mut self, s: &[u8], len: usize) {
        let mut v = s.to_vec();
        v.resize(len, b' ');
        self.b.extend(v);
    }

    /// A type 7 (extension) record of `data.len() / size` elements of `size` bytes.
    fn info(&mut self, subtype: i32, size: i32, data: &[u8]) -> Result<()> {
        let count = i32::try_from(data.len()).context("extension record too large")? / size;
        self.i32(7);
        self.i32(subtype);
        self.i32(size);
        self.i32(count);
        self.b.extend(data);
        Ok(())
    }
}

/// A dataformat variable's dictionary entry: label, value labels and declared missing values
/// from the codebook, the print format of the dataformat.
pub(crate) fn dictionary_variable(v: &Variable) -> Result<SavVar> {
    if v.text {
        ensure!(
            v.name == ResearchVariable::Wijknr.name(),
            "{}: synth knows the SPSS width of no string variable but wijknr",
            v.name
        );
        return Ok(SavVar { label: v.label.clone(), ..SavVar::string(&v.name, WIJKNR_WIDTH) });
    }
    let research = ResearchVariable::ALL.into_iter().find(|r| r.name() == v.name);
    // The dataformat's print formats (`spss_format` in the codebook CSVs).
    let number_format = match research {
        Some(ResearchVariable::Respondent) => (8, 0),
        Some(ResearchVariable::Gemnr | ResearchVariable::Jr) => (4, 0),
        Some(ResearchVariable::Kw | ResearchVariable::Veldwerkmodus) => (1, 0),
        Some(ResearchVariable::Org) => (2, 0),
        Some(ResearchVariable::Weging) => (4, 3),
        Some(ResearchVariable::Wijknr) | None => ANSWER_FORMAT,
    };
    Ok(SavVar {
        number_format,
        label: v.label.clone(),
        value_labels: v.value_labels.iter().map(|(c, l)| (f64::from(*c), l.clone())).collect(),
        missing: v.user_missing.iter().map(|&c| f64::from(c)).collect(),
        ..SavVar::numeric(&v.name)
    })
}

/// The `.sav` bytes of a messy delivery laid out as `grid`: one variable per header cell (the
/// dataformat's entry from the codebook; the [`EXTRA_COLUMN`] a string without label), one
/// case per data row. The header's creation date is the 28th of the fieldwork quarter's last
/// month, like the workbooks' (see `zip_time`), so the bytes depend on the delivery only.
pub(crate) fn delivery(d: &GeneratedDelivery, grid: &Grid, codebook: &Codebook, q: SavQuirks) -> Result<Vec<u8>> {
    let format = codebook
        .formats
        .iter()
        .find(|f| f.name == d.dataformat)
        .with_context(|| format!("dataformat {} is not in the codebook", d.dataformat))?;
    let sheet = &grid.sheets[grid.data_sheet];
    // A system file has nothing above or beside its dictionary: quirks that would need it are
    // never set for `.sav`, and a grid with them cannot be written.
    ensure!(grid.sheets.len() == 1 && grid.header_row == 0, "a .sav delivery has no title rows or notes sheet");
    let header = &sheet.rows[0];
    ensure!(header.len() == grid.named_columns, "a .sav delivery has no unnamed columns");
    let vars = header
        .iter()
        .map(|w| {
            let Written::Text(name) = w else { bail!("an empty variable name") };
            match format.variables.iter().find(|v| &v.name == name) {
                Some(v) => dictionary_variable(v),
                None if name == EXTRA_COLUMN => Ok(SavVar::string(EXTRA_COLUMN, EXTRA_WIDTH)),
                None => bail!("{name} is not a variable of dataformat {}", d.dataformat),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let data = &sheet.rows[1..];
    ensure!(data.len() == grid.data_rows, "a .sav delivery has no rows after its cases");
    let rows = data
        .iter()
        .map(|row| {
            row.iter()
                .map(|w| match w {
                    Written::Empty | Written::EmptyText => Ok(SavCell::Missing),
                    Written::Number(n) => Ok(SavCell::Number(*n)),
                    Written::Text(t) => Ok(SavCell::Text(t.clone())),
                    Written::Formula { .. } => bail!("a formula in a .sav delivery"),
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let layout = SavLayout {
        big_endian: q.big_endian,
        compressed: q.compressed,
        created: (d.year, d.quarter.clamp(1, 4) * 3, 28),
        file_label: format!("Burgerpeiling {} gemeente {}", d.year, d.municipality),
    };
    write_sav(&vars, &rows, &layout)
}

#[cfg(test)]
mod tests {
    //! The writer's own checks: what it refuses and the names it derives. That its files read
    //! back exactly is tested in `ingest::spss` and `tests/messy_roundtrip.rs`.

    use super::*;

    fn layout() -> SavLayout {
        SavLayout { big_endian: false, compressed: true, created: (2023, 6, 28), file_label: String::new() }
    }

    #[test]
    fn short_names_are_unique_upper_case_and_at_most_8_bytes() {
        let vars = [
            SavVar::numeric("respondent"),
            SavVar::numeric("responder"),
            SavVar::numeric("wl02_0"),
            SavVar::numeric("_x"),
            SavVar::string("opmerking", 600),
            SavVar::numeric("V1"),
        ];
        let names = short_names(&vars);
        assert_eq!(names[0], ["RESPONDE"]);
        assert_eq!(names[2], ["WL02_0"]);
        assert_eq!(names[4].len(), 3, "a 600-byte string has three segments");
        let all: Vec<&String> = names.iter().flatten().collect();
        let unique: HashSet<&String> = all.iter().copied().collect();
        assert_eq!(unique.len(), all.len(), "{names:?}");
        for n in all {
            assert!(n.len() <= 8 && n.starts_with(|c: char| c.is_ascii_uppercase()), "{n}");
        }
    }

    #[test]
    fn the_header_holds_the_given_date_and_no_clock() {
        let bytes = write_sav(&[SavVar::numeric("x")], &[vec![SavCell::Number(1.0)]], &layout()).expect("a valid file");
        assert_eq!(&bytes[92..101], b"28 Jun 23");
        assert_eq!(&bytes[101..109], b"12:00:00");
    }

    #[test]
    fn what_cannot_be_written_exactly_is_refused() {
        let refused = |vars: &[SavVar], row: Vec<SavCell>| {
            assert!(write_sav(vars, &[row], &layout()).is_err(), "{vars:?}");
        };
        let text = |s: &str| SavCell::Text(s.to_string());
        refused(&[SavVar::string("w", 4)], vec![text("vijf!")]);
        refused(&[SavVar::numeric("x")], vec![text("1")]);
        refused(&[SavVar::string("w", 4)], vec![SavCell::Number(1.0)]);
        refused(&[SavVar::numeric("x")], vec![SavCell::Number(f64::NAN)]);
        refused(&[SavVar::numeric("x")], vec![SavCell::Number(SYSMIS)]);
        refused(&[SavVar::numeric("x")], vec![]);
        let four = SavVar { missing: vec![1.0, 2.0, 3.0, 4.0], ..SavVar::numeric("x") };
        refused(&[four], vec![SavCell::Missing]);
        let long_label = SavVar { value_labels: vec![(1.0, "x".repeat(256))], ..SavVar::numeric("x") };
        refused(&[long_label], vec![SavCell::Missing]);
        let labelled_string = SavVar { missing: vec![1.0], ..SavVar::string("w", 8) };
        refused(&[labelled_string], vec![SavCell::Missing]);
        refused(&[SavVar::numeric("a=b")], vec![SavCell::Missing]);
    }

    #[test]
    fn the_codebook_gives_the_dataformat_print_formats() {
        let v = |name: &str, text: bool| Variable {
            name: name.to_string(),
            label: String::new(),
            text,
            value_labels: vec![],
            user_missing: vec![11, 88, 99],
            nonsubstantive: vec![],
        };
        let formats = |name: &str| dictionary_variable(&v(name, false)).map(|s| s.number_format);
        assert_eq!(formats("weging").ok(), Some((4, 3)));
        assert_eq!(formats("respondent").ok(), Some((8, 0)));
        assert_eq!(formats("dv03_1").ok(), Some((2, 0)));
        let wijknr = dictionary_variable(&v("wijknr", true)).expect("wijknr is A12");
        assert_eq!(wijknr.width, 12);
        assert!(dictionary_variable(&v("postcode", true)).is_err());
        let dv = dictionary_variable(&v("dv03_1", false)).expect("a numeric variable");
        assert_eq!(dv.missing, vec![11.0, 88.0, 99.0]);
    }
}
