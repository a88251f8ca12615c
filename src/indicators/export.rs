//! The municipality figures as text for people and for waarstaatjegemeente.nl:
//! `gemeenten.csv` opens in Dutch Excel (`;`, decimal comma, UTF-8 with a byte-order mark,
//! Dutch headings); `wsjg.csv` has one row per indicator, municipality and period with VNG's
//! code for a missing figure, -99998.
//!
//! What it must NOT do: compute or round a figure differently from the Parquet file beyond the
//! text formatting (six decimals in the WSJG file, as printed; full precision stays in Parquet).

use super::catalogue::Catalogue;
use super::figures::MunicipalityFigure;
use crate::municipality::code_number;

/// VNG's export code for a figure that is missing or not published (`wsjg.R`).
pub const WSJG_MISSING: &str = "-99998";

/// `gemeenten.csv`: every municipality figure with its Dutch label, for Excel.
pub fn dutch_csv(figures: &[MunicipalityFigure], catalogue: &Catalogue) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    out.push_str(
        "indicator;omschrijving;gemeente;jaar;waarde;standaardfout;ondergrens 95%;bovengrens 95%;\
         aantal geldige antwoorden;gewogen aantal;gepubliceerd;reden\r\n",
    );
    for f in figures {
        let label = catalogue.indicator(&f.indicator).map_or("", |i| i.label.as_str());
        let cells = [
            f.indicator.clone(),
            quoted(label),
            f.gemeente_code.clone(),
            f.jaar.to_string(),
            decimal(f.estimate),
            decimal(f.se),
            decimal(f.ci_low),
            decimal(f.ci_high),
            f.n.to_string(),
            decimal(f.n_weighted),
            if f.published { "ja" } else { "nee" }.to_string(),
            quoted(f.reason.as_deref().unwrap_or("")),
        ];
        out.push_str(&cells.join(";"));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// `wsjg.csv`: `indicator;geoitem;period;value`, the municipality number as `geoitem`, the survey
/// year as `period`, the figure with a decimal point, -99998 when missing or not published.
pub fn wsjg_csv(figures: &[MunicipalityFigure]) -> Vec<u8> {
    let mut out = String::from("indicator;geoitem;period;value\n");
    for f in figures {
        let geoitem = code_number(&f.gemeente_code).map_or_else(|| f.gemeente_code.clone(), |n| n.to_string());
        let value = match f.estimate.filter(|_| f.published) {
            Some(v) => format!("{v:.6}"),
            None => WSJG_MISSING.to_string(),
        };
        out.push_str(&format!("{};{geoitem};{};{value}\n", f.indicator, f.jaar));
    }
    out.into_bytes()
}

/// A number with a decimal comma, full precision; empty for null.
fn decimal(v: Option<f64>) -> String {
    v.map(|v| v.to_string().replace('.', ",")).unwrap_or_default()
}

/// A text cell, quoted when it holds the separator, a quote or a line break.
fn quoted(text: &str) -> String {
    if text.contains([';', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
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
        let text =
            String::from_utf8(wsjg_csv(&[figure(Some(7.25), true), figure(Some(7.0), false), figure(None, true)]))
                .unwrap();
        assert_eq!(
            text,
            "indicator;geoitem;period;value\nwl01;363;2023;7.250000\nwl01;363;2023;-99998\nwl01;363;2023;-99998\n"
        );
    }

    #[test]
    fn the_dutch_csv_has_a_bom_decimal_commas_and_quotes_what_needs_them() {
        let catalogue = Catalogue { indicators: Vec::new(), not_computable: Vec::new() };
        let text = String::from_utf8(dutch_csv(&[figure(Some(7.25), false)], &catalogue)).unwrap();
        assert!(text.starts_with('\u{feff}'));
        let row = text.lines().nth(1).unwrap();
        assert_eq!(
            row,
            "wl01;;GM0363;2023;7,25;0,05;;;40;40;nee;\"minder dan 50 geldige antwoorden (40); niet; \"\"x\"\"\""
        );
    }
}
