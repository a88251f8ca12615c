//! The municipality figures as text for people and for waarstaatjegemeente.nl:
//! `gemeenten.csv` opens in Dutch Excel (`;`, decimal comma, UTF-8 with a byte-order mark,
//! Dutch headings); `wsjg.csv` has one row per indicator, municipality and period with VNG's
//! code for a missing figure, -99998.
//!
//! What it must NOT do: compute or round a figure differently from the Parquet file beyond the
//! text formatting (six decimals in the WSJG file, as printed; full precision stays in Parquet).

use std::fmt::Write;

use super::catalogue::Catalogue;
use super::figures::MunicipalityFigure;
use crate::municipality::code_number;

/// VNG's export code for a figure that is missing or not published (`wsjg.R`).
pub const WSJG_MISSING: &str = "-99998";

/// The first line of `gemeenten.csv`, after a UTF-8 byte-order mark for Excel.
pub const DUTCH_CSV_HEADING: &str = "\u{feff}indicator;omschrijving;gemeente;jaar;waarde;standaardfout;ondergrens 95%;\
     bovengrens 95%;aantal geldige antwoorden;gewogen aantal;gepubliceerd;reden\r\n";

/// The first line of `wsjg.csv`.
pub const WSJG_HEADING: &str = "indicator;geoitem;period;value\n";

/// The lines of `gemeenten.csv` for `figures`, after [`DUTCH_CSV_HEADING`]: every municipality
/// figure with its Dutch label, for Excel. A line depends on its figure alone, so the file is
/// the heading and the lines of each year, concatenated.
///
/// Written cell by cell into one buffer: the file has a line per municipality, year and
/// indicator (hundreds of thousands), and a `String` per cell made it a visible part of every
/// nightly run.
pub fn dutch_csv_lines(figures: &[MunicipalityFigure], catalogue: &Catalogue) -> Vec<u8> {
    let mut out = String::new();
    for f in figures {
        let label = catalogue.indicator(&f.indicator).map_or("", |i| i.label.as_str());
        out.push_str(&f.indicator);
        out.push(';');
        push_quoted(&mut out, label);
        let _ = write!(out, ";{};{};", f.gemeente_code, f.jaar);
        for v in [f.estimate, f.se, f.ci_low, f.ci_high] {
            push_decimal(&mut out, v);
            out.push(';');
        }
        let _ = write!(out, "{};", f.n);
        push_decimal(&mut out, f.n_weighted);
        out.push_str(if f.published { ";ja;" } else { ";nee;" });
        push_quoted(&mut out, f.reason.as_deref().unwrap_or(""));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// The lines of `wsjg.csv` for `figures`, after [`WSJG_HEADING`]: `indicator;geoitem;period;value`,
/// the municipality number as `geoitem`, the survey year as `period`, the figure with a decimal
/// point, -99998 when missing or not published. A line depends on its figure alone.
pub fn wsjg_lines(figures: &[MunicipalityFigure]) -> Vec<u8> {
    let mut out = String::new();
    for f in figures {
        let _ = match code_number(&f.gemeente_code) {
            Some(n) => write!(out, "{};{n};{};", f.indicator, f.jaar),
            None => write!(out, "{};{};{};", f.indicator, f.gemeente_code, f.jaar),
        };
        let _ = match f.estimate.filter(|_| f.published) {
            Some(v) => writeln!(out, "{v:.6}"),
            None => writeln!(out, "{WSJG_MISSING}"),
        };
    }
    out.into_bytes()
}

/// Appends a number with a decimal comma, full precision; nothing for null.
fn push_decimal(out: &mut String, v: Option<f64>) {
    if let Some(v) = v {
        let start = out.len();
        let _ = write!(out, "{v}");
        // `f64`'s Display is ASCII with at most one '.': swap it in place.
        if let Some(dot) = out[start..].find('.') {
            out.replace_range(start + dot..start + dot + 1, ",");
        }
    }
}

/// Appends a text cell, quoted when it holds the separator, a quote or a line break.
fn push_quoted(out: &mut String, text: &str) {
    if text.contains([';', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(estimate: Option<f64>, published: bool) -> MunicipalityFigure {
        MunicipalityFigure {
            indicator: "wl01".into(),
            gemeente_code: "GM0363".into(),
            jaar: 2023,
            estimate,
            se: Some(0.05),
            ci_low: None,
            ci_high: None,
            n: 40,
            n_weighted: Some(40.0),
            published,
            reason: (!published).then(|| "minder dan 50 geldige antwoorden (40); niet; \"x\"".into()),
        }
    }

    #[test]
    fn wsjg_codes_missing_and_unpublished_figures_as_minus_99998() {
        let lines = wsjg_lines(&[figure(Some(7.25), true), figure(Some(7.0), false), figure(None, true)]);
        let text = format!("{WSJG_HEADING}{}", String::from_utf8(lines).unwrap());
        assert_eq!(
            text,
            "indicator;geoitem;period;value\nwl01;363;2023;7.250000\nwl01;363;2023;-99998\nwl01;363;2023;-99998\n"
        );
    }

    #[test]
    fn the_dutch_csv_has_a_bom_decimal_commas_and_quotes_what_needs_them() {
        let catalogue = Catalogue { indicators: Vec::new(), not_computable: Vec::new() };
        let lines = dutch_csv_lines(&[figure(Some(7.25), false)], &catalogue);
        let text = format!("{DUTCH_CSV_HEADING}{}", String::from_utf8(lines).unwrap());
        assert!(text.starts_with('\u{feff}'));
        let row = text.lines().nth(1).unwrap();
        assert_eq!(
            row,
            "wl01;;GM0363;2023;7,25;0,05;;;40;40;nee;\"minder dan 50 geldige antwoorden (40); niet; \"\"x\"\"\""
        );
    }
}
