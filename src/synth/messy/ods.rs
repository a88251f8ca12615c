//! OpenDocument spreadsheets (`.ods`) of a grid, written directly as a zip package.
//!
//! Layout from OASIS OpenDocument 1.2, Part 3 (packages): the `mimetype` entry first and
//! stored uncompressed, then `META-INF/manifest.xml` listing the parts. Part 1 (basic table
//! model): `table:table` / `table:table-row` / `table:table-cell`; a number is
//! `office:value-type="float" office:value="…"`, a text `office:value-type="string"` with the
//! text in `text:p`; leading, trailing and repeated spaces are `text:s` elements, because
//! white space in `text:p` is collapsed (Part 1, white-space characters). Formulas carry
//! `table:formula` in OpenFormula syntax (`of:=[.C5]`) with the cached result in
//! `office:value`.

use std::fmt::Write as _;
use std::io::{Cursor, Write};

use anyhow::Result;

use super::{Grid, Written, column_letters};

const MIMETYPE: &str = "application/vnd.oasis.opendocument.spreadsheet";

const MANIFEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"#;

pub fn workbook(grid: &Grid) -> Result<Vec<u8>> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    // The DOS epoch for every entry: an ods has no natural date, and a fixed one keeps the
    // bytes a function of the grid.
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    let deflated = stored.compression_method(zip::CompressionMethod::Deflated);
    out.start_file("mimetype", stored)?;
    out.write_all(MIMETYPE.as_bytes())?;
    out.start_file("META-INF/manifest.xml", deflated)?;
    out.write_all(MANIFEST.as_bytes())?;
    out.start_file("content.xml", deflated)?;
    out.write_all(content(grid).as_bytes())?;
    Ok(out.finish()?.into_inner())
}

fn content(grid: &Grid) -> String {
    let mut x = String::with_capacity(1 << 20);
    x.push_str(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        "\n",
        r#"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0""#,
        r#" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0""#,
        r#" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0""#,
        r#" xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.2">"#,
        "<office:body><office:spreadsheet>"
    ));
    for sheet in &grid.sheets {
        let width = sheet.rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let _ = write!(
            x,
            r#"<table:table table:name="{}"><table:table-column table:number-columns-repeated="{width}"/>"#,
            escape(&sheet.name)
        );
        for row in &sheet.rows {
            x.push_str("<table:table-row>");
            // Trailing absent cells are left out, as office suites do; a row needs one cell.
            let used = row.iter().rposition(|w| *w != Written::Empty).map_or(0, |i| i + 1);
            if used == 0 {
                x.push_str("<table:table-cell/>");
            }
            for cell in &row[..used] {
                push_cell(&mut x, cell);
            }
            x.push_str("</table:table-row>");
        }
        x.push_str("</table:table>");
    }
    x.push_str("</office:spreadsheet></office:body></office:document-content>\n");
    x
}

fn push_cell(x: &mut String, cell: &Written) {
    // Writing to a String cannot fail.
    let _ = match cell {
        Written::Empty => write!(x, "<table:table-cell/>"),
        Written::EmptyText => {
            write!(x, r#"<table:table-cell office:value-type="string"><text:p/></table:table-cell>"#)
        }
        Written::Number(n) => write!(
            x,
            r#"<table:table-cell office:value-type="float" office:value="{n}"><text:p>{n}</text:p></table:table-cell>"#
        ),
        Written::Text(t) => write!(
            x,
            r#"<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>"#,
            paragraph(t)
        ),
        Written::Formula { refers_to: (r, c), result } => write!(
            x,
            r#"<table:table-cell table:formula="of:=[.{}{}]" office:value-type="float" office:value="{result}"><text:p>{result}</text:p></table:table-cell>"#,
            column_letters(*c),
            r + 1
        ),
    };
}

/// XML-escapes text for content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Text of a `text:p`: a space is literal only between two other characters, as ODF
/// collapses leading, trailing and repeated white space; the others become `<text:s/>`.
fn paragraph(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let between = i > 0 && chars[i - 1] != ' ' && chars.get(i + 1).is_some_and(|n| *n != ' ');
            out.push_str(if between { " " } else { "<text:s/>" });
        } else {
            out.push_str(&escape(&c.to_string()));
        }
    }
    out
}
