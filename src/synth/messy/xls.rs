//! Excel 97-2003 workbooks (`.xls`, BIFF8) of a grid: a `Workbook` stream of BIFF records in
//! an OLE compound file (the `cfb` crate writes the container).
//!
//! Minimal on purpose: the globals substream is BOF, CODEPAGE, one BOUNDSHEET8 per sheet and
//! EOF; each sheet substream is BOF, DIMENSIONS, its cells and EOF. Numbers are NUMBER records,
//! text (and the empty strings of padded areas) LABEL records with UTF-16 strings, so no shared
//! string table is needed. There are no FONT/XF/WINDOW records: cells name XF 0, and readers
//! such as calamine treat a missing XF as the General format. Record layouts from [MS-XLS]:
//! BOF (2.4.21), CodePage (2.4.52), BoundSheet8 (2.4.28), EOF (2.4.103), Label (2.4.148),
//! Dimensions (0x0200), Number (0x0203), XLUnicodeString (2.5.294), ShortXLUnicodeString
//! (2.5.240); the `Workbook` stream in a compound file from [MS-CFB]. Sources: `docs/synth.md`.

use std::io::{Cursor, Write};

use anyhow::{Context, Result, bail, ensure};

use super::{Grid, GridSheet, Written};

const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const CODEPAGE: u16 = 0x0042;
const BOUNDSHEET8: u16 = 0x0085;
const DIMENSIONS: u16 = 0x0200;
const NUMBER: u16 = 0x0203;
const LABEL: u16 = 0x0204;

/// BOF `dt`: workbook globals and worksheet substreams.
const DT_GLOBALS: u16 = 0x0005;
const DT_WORKSHEET: u16 = 0x0010;
/// CodePage 1200: strings are UTF-16LE.
const UTF16: u16 = 1200;
/// The largest record body BIFF8 allows.
const MAX_RECORD: usize = 8224;
const MAX_ROWS: usize = 65_536;
const MAX_COLUMNS: usize = 256;

pub fn workbook(grid: &Grid) -> Result<Vec<u8>> {
    let sheets: Vec<Vec<u8>> = grid.sheets.iter().map(sheet).collect::<Result<_>>()?;
    // BOUNDSHEET8 holds each sheet's offset in the stream, which depends on the globals'
    // length: measure the globals with placeholder offsets first, then write them for real.
    let placeholder = globals(grid, &vec![0; sheets.len()])?;
    let mut offsets = Vec::with_capacity(sheets.len());
    let mut at = placeholder.len();
    for s in &sheets {
        offsets.push(u32::try_from(at).context("workbook stream over 4 GiB")?);
        at += s.len();
    }
    let mut stream = globals(grid, &offsets)?;
    debug_assert_eq!(stream.len(), placeholder.len());
    for s in sheets {
        stream.extend(s);
    }

    // Version 3 (512-byte sectors), as Excel writes: calamine refuses a version 4 file whose
    // root entry has no mini stream, which a workbook of one large stream does not need.
    let mut file = cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new()))
        .context("cannot create the compound file")?;
    {
        let mut workbook = file.create_stream("Workbook").context("cannot create the Workbook stream")?;
        workbook.write_all(&stream)?;
        workbook.flush()?;
    }
    file.flush()?;
    Ok(file.into_inner().into_inner())
}

fn globals(grid: &Grid, offsets: &[u32]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    record(&mut out, BOF, &bof(DT_GLOBALS))?;
    record(&mut out, CODEPAGE, &UTF16.to_le_bytes())?;
    for (s, &offset) in grid.sheets.iter().zip(offsets) {
        let name: Vec<u16> = s.name.encode_utf16().collect();
        ensure!(name.len() <= 31, "sheet name {:?} is longer than 31 characters", s.name);
        let mut data = Vec::with_capacity(8 + 2 * name.len());
        data.extend(offset.to_le_bytes());
        // hsState visible, dt worksheet.
        data.extend([0u8, 0u8]);
        data.push(name.len() as u8);
        data.push(1); // fHighByte: two bytes per character
        for unit in name {
            data.extend(unit.to_le_bytes());
        }
        record(&mut out, BOUNDSHEET8, &data)?;
    }
    record(&mut out, EOF, &[])?;
    Ok(out)
}

fn sheet(s: &GridSheet) -> Result<Vec<u8>> {
    let rows = s.rows.len();
    let columns = s.rows.iter().map(Vec::len).max().unwrap_or(0);
    ensure!(rows <= MAX_ROWS, "sheet {:?}: {rows} rows, .xls holds {MAX_ROWS}", s.name);
    ensure!(columns <= MAX_COLUMNS, "sheet {:?}: {columns} columns, .xls holds {MAX_COLUMNS}", s.name);
    let mut out = Vec::new();
    record(&mut out, BOF, &bof(DT_WORKSHEET))?;
    let mut dimensions = Vec::with_capacity(14);
    dimensions.extend(0u32.to_le_bytes()); // rwMic
    dimensions.extend((rows as u32).to_le_bytes()); // rwMac: one past the last row
    dimensions.extend(0u16.to_le_bytes()); // colMic
    dimensions.extend((columns as u16).to_le_bytes()); // colMac: one past the last column
    dimensions.extend(0u16.to_le_bytes()); // reserved
    record(&mut out, DIMENSIONS, &dimensions)?;
    for (r, row) in s.rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            // The limits checked above keep both within u16.
            let (r, c) = (r as u16, c as u16);
            let mut data = Vec::with_capacity(16);
            data.extend(r.to_le_bytes());
            data.extend(c.to_le_bytes());
            data.extend(0u16.to_le_bytes()); // ixfe
            match cell {
                Written::Empty => continue,
                Written::Number(n) => {
                    data.extend(n.to_le_bytes());
                    record(&mut out, NUMBER, &data)?;
                }
                Written::EmptyText => {
                    unicode_string(&mut data, "")?;
                    record(&mut out, LABEL, &data)?;
                }
                Written::Text(t) => {
                    unicode_string(&mut data, t)?;
                    record(&mut out, LABEL, &data)?;
                }
                Written::Formula { .. } => {
                    bail!("sheet {:?}: the .xls writer does not write formulas", s.name)
                }
            }
        }
    }
    record(&mut out, EOF, &[])?;
    Ok(out)
}

/// BOF for BIFF8 (`vers` 0x0600) with the build and year Excel 97 writes; the flags claim
/// nothing and the lowest BIFF version that may read it is 8.
fn bof(dt: u16) -> Vec<u8> {
    let mut data = Vec::with_capacity(16);
    data.extend(0x0600u16.to_le_bytes());
    data.extend(dt.to_le_bytes());
    data.extend(0x0DBBu16.to_le_bytes()); // rupBuild
    data.extend(0x07CCu16.to_le_bytes()); // rupYear
    data.extend(0u32.to_le_bytes());
    data.extend(6u32.to_le_bytes()); // verLowestBiff = 6 (BIFF8)
    data
}

/// XLUnicodeString: character count, `fHighByte` = 1, UTF-16LE characters.
fn unicode_string(data: &mut Vec<u8>, s: &str) -> Result<()> {
    let units: Vec<u16> = s.encode_utf16().collect();
    let count = u16::try_from(units.len()).context("string too long for .xls")?;
    data.extend(count.to_le_bytes());
    data.push(1);
    for u in units {
        data.extend(u.to_le_bytes());
    }
    Ok(())
}

fn record(out: &mut Vec<u8>, typ: u16, data: &[u8]) -> Result<()> {
    // Longer bodies would need CONTINUE records; no cell of a delivery comes near this.
    ensure!(data.len() <= MAX_RECORD, "BIFF record 0x{typ:04X} of {} bytes", data.len());
    out.extend(typ.to_le_bytes());
    out.extend((data.len() as u16).to_le_bytes());
    out.extend(data);
    Ok(())
}
