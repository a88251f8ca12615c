//! Delimited text (`.csv`, `.txt`) of a grid sheet: fields quoted where the delimiter, a quote
//! or a line break needs it (the csv crate decides), then encoded as the quirks say.

use anyhow::{Context, Result, bail};

use super::{GridSheet, LineEnd, TextEncoding, TextQuirks, Written};

pub fn delimited(sheet: &GridSheet, q: &TextQuirks) -> Result<Vec<u8>> {
    let terminator = match q.line_end {
        LineEnd::Crlf => csv::Terminator::CRLF,
        LineEnd::Lf => csv::Terminator::Any(b'\n'),
    };
    let mut writer = csv::WriterBuilder::new()
        .delimiter(q.delimiter)
        .terminator(terminator)
        // Every row is as wide as the header, title rows included (Excel pads them with
        // delimiters), so a flexible writer is never needed; strictness catches a layout bug.
        .flexible(false)
        .from_writer(Vec::new());
    for row in &sheet.rows {
        writer.write_record(row.iter().map(field)).context("cannot write a delimited record")?;
    }
    let bytes = writer.into_inner().map_err(|e| anyhow::anyhow!("cannot finish the text: {e}"))?;
    let text = String::from_utf8(bytes).context("delimited text is not UTF-8")?;
    encode(&text, q.encoding)
}

fn field(w: &Written) -> String {
    match w {
        Written::Empty | Written::EmptyText => String::new(),
        Written::Text(t) => t.clone(),
        Written::Number(n) => format!("{n}"),
        Written::Formula { result, .. } => format!("{result}"),
    }
}

/// The bytes of `text` in the encoding, with the byte order mark it implies.
pub fn encode(text: &str, encoding: TextEncoding) -> Result<Vec<u8>> {
    Ok(match encoding {
        TextEncoding::Utf8 => text.as_bytes().to_vec(),
        TextEncoding::Utf8Bom => {
            let mut out = vec![0xEF, 0xBB, 0xBF];
            out.extend_from_slice(text.as_bytes());
            out
        }
        TextEncoding::Windows1252 => {
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
            // encoding_rs would write `&#NNNN;` for a character Windows-1252 lacks, and the
            // file would no longer hold the generated text.
            if unmappable {
                bail!("the text holds a character that Windows-1252 cannot encode");
            }
            bytes.into_owned()
        }
        TextEncoding::Utf16LeBom => {
            let mut out = Vec::with_capacity(2 + text.len() * 2);
            out.extend_from_slice(&[0xFF, 0xFE]);
            for unit in text.encode_utf16() {
                out.extend_from_slice(&unit.to_le_bytes());
            }
            out
        }
    })
}
