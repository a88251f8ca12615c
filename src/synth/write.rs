//! Writes a [`GeneratedDelivery`] the way agencies deliver it: a `;`-separated UTF-8 CSV with
//! decimal commas, or an `.xlsx` workbook with numbers as numbers. Output depends only on the
//! delivery, so the same seed gives byte-identical files.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};

use super::{GeneratedDelivery, GeneratedRespondent};
use crate::codebook::ResearchVariable;

/// Line ending of CSV deliveries: Excel on Windows, which most agencies export from, uses CRLF.
pub const CSV_LINE_END: &str = "\r\n";
pub const CSV_SEPARATOR: char = ';';

/// A research variable's value for one respondent.
pub enum ResearchValue<'a> {
    Number(f64),
    Text(&'a str),
    Blank,
}

pub fn research_value<'a>(d: &GeneratedDelivery, r: &'a GeneratedRespondent, v: ResearchVariable) -> ResearchValue<'a> {
    match v {
        ResearchVariable::Respondent => ResearchValue::Number(f64::from(r.respondent)),
        ResearchVariable::Gemnr => ResearchValue::Number(f64::from(d.gemnr)),
        ResearchVariable::Jr => ResearchValue::Number(f64::from(d.year)),
        ResearchVariable::Kw => ResearchValue::Number(f64::from(d.quarter)),
        ResearchVariable::Veldwerkmodus => ResearchValue::Number(f64::from(r.veldwerkmodus)),
        ResearchVariable::Org => ResearchValue::Number(f64::from(d.org)),
        ResearchVariable::Weging => ResearchValue::Number(r.weging),
        ResearchVariable::Wijknr => match &r.wijknr {
            Some(w) => ResearchValue::Text(w),
            None => ResearchValue::Blank,
        },
    }
}

/// The CSV text of a delivery.
pub fn csv(d: &GeneratedDelivery, research: &[ResearchVariable]) -> String {
    let width = research.len() + d.variables.len();
    let mut out = String::with_capacity((d.respondents.len() + 1) * width * 3);
    let header = research.iter().map(|r| r.name()).chain(d.variables.iter().map(String::as_str));
    for (i, name) in header.enumerate() {
        if i > 0 {
            out.push(CSV_SEPARATOR);
        }
        out.push_str(name);
    }
    out.push_str(CSV_LINE_END);
    for r in &d.respondents {
        for (i, &v) in research.iter().enumerate() {
            if i > 0 {
                out.push(CSV_SEPARATOR);
            }
            // Writing to a String cannot fail.
            let _ = match research_value(d, r, v) {
                ResearchValue::Number(_) if v == ResearchVariable::Weging => {
                    write!(out, "{}", format!("{:.3}", r.weging).replace('.', ","))
                }
                ResearchValue::Number(n) => write!(out, "{n}"),
                ResearchValue::Text(t) => write!(out, "{t}"),
                ResearchValue::Blank => Ok(()),
            };
        }
        for a in &r.answers {
            out.push(CSV_SEPARATOR);
            if let Some(code) = a {
                let _ = write!(out, "{code}");
            }
        }
        out.push_str(CSV_LINE_END);
    }
    out
}

/// The `.xlsx` bytes of a delivery: one sheet, header in row 1, blank cells absent.
pub fn xlsx(d: &GeneratedDelivery, research: &[ResearchVariable], agency: &str) -> Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    // A fixed creation date (end of the fieldwork quarter) instead of "now", so the bytes
    // depend on the seed only.
    let created = ExcelDateTime::from_ymd(d.year, d.quarter * 3, 28)
        .and_then(|t| t.and_hms(12, 0, 0))
        .context("creation date of the workbook")?;
    let properties = DocProperties::new().set_author(agency).set_title("Burgerpeiling").set_creation_datetime(&created);
    workbook.set_properties(&properties);
    let sheet = workbook.add_worksheet();
    sheet.set_name("Burgerpeiling")?;
    let header = research.iter().map(|r| r.name()).chain(d.variables.iter().map(String::as_str));
    for (col, name) in header.enumerate() {
        sheet.write_string(0, col as u16, name)?;
    }
    let first_answer = research.len();
    for (i, r) in d.respondents.iter().enumerate() {
        let row = i as u32 + 1;
        for (col, &v) in research.iter().enumerate() {
            match research_value(d, r, v) {
                ResearchValue::Number(n) => sheet.write_number(row, col as u16, n)?,
                ResearchValue::Text(t) => sheet.write_string(row, col as u16, t)?,
                ResearchValue::Blank => continue,
            };
        }
        for (j, a) in r.answers.iter().enumerate() {
            if let Some(code) = a {
                sheet.write_number(row, (first_answer + j) as u16, f64::from(*code))?;
            }
        }
    }
    workbook.save_to_buffer().context("cannot build the workbook")
}
