//! `.xlsx` and `.xlsm` workbooks of a grid through rust_xlsxwriter.
//!
//! An `.xlsm` is the same package with the workbook part declared macro-enabled in
//! `[Content_Types].xml` (ECMA-376 Part 2 content types; [MS-XLSX] names the type
//! `application/vnd.ms-excel.sheet.macroEnabled.main+xml`). That is what Excel writes when a
//! macro-enabled workbook holds no VBA project; rust_xlsxwriter only switches the content type
//! when given a `vbaProject.bin` file, so the package is rewritten instead.

use std::io::{Cursor, Read, Write};

use anyhow::{Context, Result, bail};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Formula, Workbook};

use super::{Grid, Written, column_letters, zip_time};
use crate::synth::GeneratedDelivery;

const MAIN_XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml";
const MAIN_XLSM: &str = "application/vnd.ms-excel.sheet.macroEnabled.main+xml";

pub fn workbook(grid: &Grid, d: &GeneratedDelivery, macro_enabled: bool) -> Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    // A fixed creation date instead of "now", so the bytes depend on the seed only.
    let created = ExcelDateTime::from_ymd(d.year, d.quarter * 3, 28)
        .and_then(|t| t.and_hms(12, 0, 0))
        .context("creation date of the workbook")?;
    let properties =
        DocProperties::new().set_author(&d.agency).set_title("Burgerpeiling").set_creation_datetime(&created);
    workbook.set_properties(&properties);
    // rust_xlsxwriter drops an empty string without a format; with the text format "@" it is
    // kept as a blank cell, as Excel keeps formatted but empty cells of a used range.
    let text_format = Format::new().set_num_format("@");
    for sheet in &grid.sheets {
        let ws = workbook.add_worksheet();
        ws.set_name(&sheet.name)?;
        for (r, row) in sheet.rows.iter().enumerate() {
            let r = u32::try_from(r).context("too many rows")?;
            for (c, cell) in row.iter().enumerate() {
                let c = u16::try_from(c).context("too many columns")?;
                match cell {
                    Written::Empty => {}
                    Written::EmptyText => {
                        ws.write_blank(r, c, &text_format)?;
                    }
                    Written::Number(n) => {
                        ws.write_number(r, c, *n)?;
                    }
                    Written::Text(t) => {
                        ws.write_string(r, c, t)?;
                    }
                    Written::Formula { refers_to: (fr, fc), result } => {
                        let formula = format!("={}{}", column_letters(*fc), fr + 1);
                        ws.write_formula(r, c, Formula::new(formula).set_result(result.to_string()))?;
                    }
                }
            }
        }
    }
    let bytes = workbook.save_to_buffer().context("cannot build the workbook")?;
    if macro_enabled { macro_enabled_package(&bytes, d) } else { Ok(bytes) }
}

/// Copies the package entry by entry, declaring the workbook part macro-enabled.
fn macro_enabled_package(xlsx: &[u8], d: &GeneratedDelivery) -> Result<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(xlsx)).context("reading back the xlsx")?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip_time(d.year, d.quarter));
    let mut replaced = false;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        let name = entry.name()?.to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        if name == "[Content_Types].xml" {
            let types = String::from_utf8(data).context("[Content_Types].xml is not UTF-8")?;
            replaced = types.contains(MAIN_XLSX);
            data = types.replace(MAIN_XLSX, MAIN_XLSM).into_bytes();
        }
        out.start_file(name, options)?;
        out.write_all(&data)?;
    }
    if !replaced {
        bail!("the workbook part's content type was not found in [Content_Types].xml");
    }
    Ok(out.finish()?.into_inner())
}
