//! Label-coded deliveries with rows that are not respondents, as SPSS and survey tools export
//! "with labels": `kw` as `kwartaal 4`, `veldwerkmodus` as `websurvey,` or `schriftelijke
//! enquête`, `org` as the agency's name or a known spelling of it; and, as [`ExtraRows`] asks, a
//! second header of question texts, a units row, the header repeated half-way down, a totals
//! row and an `N =` row at the bottom. The answers stay those of the [`GeneratedDelivery`], so
//! a test can compare the lake with what was generated.
//!
//! Built on the messy layout ([`messy::layout`]): the grid is laid out as usual, then the
//! research cells are replaced by labels and the extra rows inserted. What it must NOT do:
//! change the generated answers, or write a `.sav` (its dictionary types `kw` as a number, so
//! a label has nowhere to go).

use anyhow::{Context, Result, bail};

use super::messy::{self, Grid, Written};
use super::{GeneratedDelivery, SynthOptions, SynthSummary};
use crate::codebook::{Codebook, ResearchVariable, canonical_name};
use crate::ingest::Format;
use crate::municipality::Municipalities;

/// The rows that are not respondents a labelled delivery carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtraRows {
    /// A second header row with each column's question text (the variable label).
    pub question_texts: bool,
    /// A row of units under the header (`nummer`, `CBS-code`, `code`, …).
    pub units: bool,
    /// The header row again, half-way down the respondents.
    pub repeated_header: bool,
    /// `Totaal` with column sums, then `N = <respondents>`, below the respondents.
    pub totals: bool,
    /// `org` holds a name no dataformat label or agency spelling knows, in every row.
    pub unknown_agency: bool,
}

impl ExtraRows {
    /// Every kind of non-respondent row, agencies all known.
    pub const ALL: ExtraRows =
        ExtraRows { question_texts: true, units: true, repeated_header: true, totals: true, unknown_agency: false };
}

/// The name written into `org` with [`ExtraRows::unknown_agency`].
pub const UNKNOWN_AGENCY: &str = "Bureau Voor Onbekend Onderzoek";

/// Like [`super::synth`], with every delivery written label-coded with `extra` rows (plain
/// deliveries: xlsx and csv by the default format mix).
pub fn synth_labelled(
    opts: &SynthOptions,
    extra: ExtraRows,
    codebook: &Codebook,
    municipalities: &Municipalities,
) -> Result<SynthSummary> {
    let summary = super::synth(opts, codebook, municipalities)?;
    let inbox = opts.out.join("inbox");
    for d in &summary.deliveries {
        let path = inbox.join(&d.file_name);
        let bytes = write_labelled(d, codebook, extra)?;
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(summary)
}

/// The file bytes of `d` written label-coded with `extra` rows.
pub fn write_labelled(d: &GeneratedDelivery, codebook: &Codebook, extra: ExtraRows) -> Result<Vec<u8>> {
    if d.format == Format::Sav {
        bail!("{}: a .sav types kw, veldwerkmodus and org as numbers; write another format labelled", d.file_name);
    }
    messy::write_grid(&labelled_grid(d, codebook, extra)?, d, codebook)
}

/// The delivery's grid with labels in the research columns and the extra rows inserted.
pub fn labelled_grid(d: &GeneratedDelivery, codebook: &Codebook, extra: ExtraRows) -> Result<Grid> {
    let mut grid = messy::layout(d, codebook)?;
    let format = codebook
        .formats
        .iter()
        .find(|f| f.name == d.dataformat)
        .with_context(|| format!("dataformat {} is not in the codebook", d.dataformat))?;
    let header_row = grid.header_row;
    let sheet = &mut grid.sheets[grid.data_sheet];
    let names: Vec<Option<String>> = sheet.rows[header_row]
        .iter()
        .map(|w| match w {
            Written::Text(t) => Some(canonical_name(t)).filter(|n| !n.is_empty()),
            _ => None,
        })
        .collect();
    let column = |var: ResearchVariable| names.iter().position(|n| n.as_deref() == Some(var.name()));
    let labels = |name: &str| format.variables.iter().find(|v| v.name == name).map(|v| v.value_labels.clone());
    let first = header_row + 1;
    for (i, r) in d.respondents.iter().enumerate() {
        let row = &mut sheet.rows[first + i];
        if let (Some(c), Some(l)) = (column(ResearchVariable::Kw), labels("kw")) {
            row[c] = label_cell(&l, i16::from(d.quarter), i)?;
        }
        if let (Some(c), Some(l)) = (column(ResearchVariable::Veldwerkmodus), labels("veldwerkmodus")) {
            row[c] = label_cell(&l, r.veldwerkmodus, i)?;
        }
        if let Some(c) = column(ResearchVariable::Org) {
            row[c] = Written::Text(agency_text(d, codebook, extra, i));
        }
    }
    let header = sheet.rows[header_row].clone();
    let n = d.respondents.len();
    let mut below: Vec<Vec<Written>> = Vec::new();
    if extra.question_texts {
        below.push(text_row(&names, |name| format.variables.iter().find(|v| v.name == name).map(|v| v.label.clone())));
    }
    if extra.units {
        below.push(text_row(&names, |name| Some(unit_of(name).to_string())));
    }
    let mut rows: Vec<Vec<Written>> = sheet.rows.drain(first..first + n).collect();
    if extra.repeated_header {
        rows.insert(n / 2, header.clone());
    }
    if extra.totals {
        rows.push(totals_row(&rows[..], &header, "Totaal"));
        let mut n_row = vec![Written::Empty; header.len()];
        n_row[0] = Written::Text(format!("N = {n}"));
        rows.push(n_row);
    }
    below.extend(rows);
    let added = below.len() - n;
    sheet.rows.splice(first..first, below);
    grid.data_rows += added;
    Ok(grid)
}

/// The value label of `code`, in one of the spellings agencies use (as labelled; capitalised;
/// without the label's trailing comma and with accents), chosen by the row.
fn label_cell(labels: &[(i16, String)], code: i16, row: usize) -> Result<Written> {
    let label =
        labels.iter().find(|(c, _)| *c == code).map(|(_, l)| l).with_context(|| format!("no label for {code}"))?;
    let text = match row % 3 {
        0 => label.clone(),
        1 => capitalised(label.trim_end_matches(',')),
        _ => label.trim_end_matches(',').replace("enquete", "enquête"),
    };
    Ok(Written::Text(text))
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// `org` as text: the dataformat's label (the agency's name) or, every other row, a known
/// spelling of it from the agency table; or the unknown name.
fn agency_text(d: &GeneratedDelivery, codebook: &Codebook, extra: ExtraRows, row: usize) -> String {
    if extra.unknown_agency {
        return UNKNOWN_AGENCY.to_string();
    }
    let spelling = codebook.agencies.iter().find(|a| a.code == d.org).and_then(|a| a.spellings.first());
    match spelling {
        Some(s) if row % 2 == 1 => s.clone(),
        _ => d.agency.clone(),
    }
}

/// A row with `text(name)` under every named column, empty elsewhere.
fn text_row(names: &[Option<String>], text: impl Fn(&str) -> Option<String>) -> Vec<Written> {
    names
        .iter()
        .map(|n| match n.as_deref().and_then(&text) {
            Some(t) if !t.is_empty() => Written::Text(t),
            _ => Written::Empty,
        })
        .collect()
}

/// What a units row says under a column.
fn unit_of(name: &str) -> &'static str {
    match name {
        "respondent" => "nummer",
        "gemnr" | "wijknr" => "CBS-code",
        "jr" => "jjjj",
        "weging" => "factor",
        _ => "code",
    }
}

/// `label` in the first column, then the sum of each column's numbers (texts, labels and
/// blanks count nothing), as a spreadsheet's totals row holds.
fn totals_row(rows: &[Vec<Written>], header: &[Written], label: &str) -> Vec<Written> {
    let mut out = vec![Written::Empty; header.len()];
    for (c, cell) in out.iter_mut().enumerate().skip(1) {
        let sum: f64 = rows
            .iter()
            .filter_map(|r| match r.get(c) {
                Some(Written::Number(v)) => Some(*v),
                Some(Written::Formula { result, .. }) => Some(*result),
                Some(Written::Text(t)) => t.replace(',', ".").parse::<f64>().ok(),
                _ => None,
            })
            .sum();
        if sum != 0.0 {
            *cell = Written::Number(sum);
        }
    }
    out[0] = Written::Text(label.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{SynthOptions, generate};
    use std::path::Path;

    fn config() -> (Codebook, Municipalities) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        (Codebook::load(&dir).unwrap(), Municipalities::load(&dir).unwrap())
    }

    fn one_delivery() -> (Codebook, GeneratedDelivery) {
        let (cb, m) = config();
        let opts = SynthOptions { municipalities: 1, years: (2023, 2023), respondents: 10, ..SynthOptions::default() };
        let d = generate(&opts, &cb, &m).remove(0);
        (cb, d)
    }

    #[test]
    fn research_cells_become_labels_and_extra_rows_are_inserted() {
        let (cb, d) = one_delivery();
        let plain = messy::layout(&d, &cb).unwrap();
        let grid = labelled_grid(&d, &cb, ExtraRows::ALL).unwrap();
        let n = d.respondents.len();
        // Question texts, units, repeated header, totals, N.
        assert_eq!(grid.data_rows, n + 5);
        let rows = &grid.sheets[grid.data_sheet].rows;
        let first = grid.header_row + 1;
        assert_eq!(rows[first][0], Written::Text("respondentnummer".into()));
        assert_eq!(rows[first + 1][0], Written::Text("nummer".into()));
        assert_eq!(rows[first + 2 + n / 2], plain.sheets[plain.data_sheet].rows[plain.header_row]);
        assert_eq!(rows[first + n + 3][0], Written::Text("Totaal".into()));
        assert_eq!(rows[first + n + 4][0], Written::Text(format!("N = {n}")));
        // kw is the 4th research column: every respondent row holds a label naming the quarter.
        let respondent_rows: Vec<&Vec<Written>> =
            rows[first + 2..first + n + 3].iter().filter(|r| **r != rows[grid.header_row]).collect();
        assert_eq!(respondent_rows.len(), n);
        for row in respondent_rows {
            let Written::Text(kw) = &row[3] else { panic!("kw {:?}", row[3]) };
            assert_eq!(kw.to_lowercase(), format!("kwartaal {}", d.quarter));
        }
    }

    #[test]
    fn every_spelling_written_decodes_to_its_code() {
        let (cb, d) = one_delivery();
        let q = crate::codebook::Questionnaire::V2022;
        for code in 1..=3 {
            let labels = &cb.formats[0].variables.iter().find(|v| v.name == "veldwerkmodus").unwrap().value_labels;
            for row in 0..3 {
                let Written::Text(t) = label_cell(labels, code, row).unwrap() else { panic!() };
                assert_eq!(cb.research_code_of_label(q, ResearchVariable::Veldwerkmodus, &t), Some(code), "{t}");
            }
        }
        for row in 0..2 {
            let t = agency_text(&d, &cb, ExtraRows::ALL, row);
            assert_eq!(cb.research_code_of_label(q, ResearchVariable::Org, &t), Some(d.org), "{t}");
        }
    }

    #[test]
    fn a_sav_cannot_be_labelled() {
        let (cb, mut d) = one_delivery();
        d.format = Format::Sav;
        assert!(write_labelled(&d, &cb, ExtraRows::ALL).is_err());
    }
}
