//! The national trend page: the figures of the VNG article "Verbondenheid door burenhulp"
//! (`../shared/domain/indicators.md` §6) per survey year with their 95% intervals, from
//! `indicators/national.parquet` (`weight_national`), and the willingness per kind of help in
//! the latest year.
//!
//! What it must NOT do: compute or round a figure (the JSON holds the file's `f64`s), or name
//! an indicator the catalogue does not have (a missing one is simply not charted).

use anyhow::Result;
use maud::html;
use serde::Serialize;

use super::chart::figure;
use super::data::FindingsInput;
use super::{Chart, ChartKind, Page, Point, Series, point_of_figure};
use crate::indicators::figures::NationalFigure;

/// The neighbourhood figures of the article: feel at home, trust, stand ready for each other.
const NEIGHBOURHOOD: [&str; 3] = ["wl02_0", "wl03_2", "wl03_1"];
/// Feel involved with the people in the neighbourhood: "with almost everyone" and "with most".
const INVOLVED: [&str; 2] = ["wl18_pin_1", "wl18_pin_2"];
/// Gave neighbour help in the past 12 months (`zw06_1` in {1, 2}).
pub const HELP: &str = "zw06_1";
/// The multiple-response set of willingness per kind of help, "cannot" and "will not" included.
const WILLINGNESS_PREFIX: &str = "zw13_";

/// `lft_cy` classes as the article names them.
pub fn age_class_label(class: i16) -> String {
    match class {
        1 => "18 t/m 39 jaar".to_string(),
        2 => "40 t/m 64 jaar".to_string(),
        3 => "65 t/m 74 jaar".to_string(),
        4 => "75 jaar en ouder".to_string(),
        k => format!("leeftijdsklasse {k}"),
    }
}

#[derive(Serialize)]
struct NationalJson<'a> {
    schema_version: u32,
    kind: &'static str,
    title: &'a str,
    run_id: &'a str,
    charts: &'a [Chart],
}

/// The national page as HTML and JSON.
pub fn national_page(input: &FindingsInput) -> Result<Page> {
    let charts = national_charts(input);
    let title = "Verbondenheid door burenhulp: landelijke trends";
    let body = html! {
        h1 { (title) }
        p { "Landelijke cijfers per peiljaar, gewogen zodat de leeftijdsgroepen overeenkomen met de Nederlandse bevolking (landelijk gewicht). "
            "De banden en strepen zijn 95%-betrouwbaarheidsintervallen; n is het ongewogen aantal geldige antwoorden. Een cijfer op minder geldige antwoorden dan de publicatiegrens wordt niet getoond." }
        @for c in &charts { (figure(c)) }
    };
    let html = crate::report::html::layout("landelijke bevindingen", title, &input.run_id, body);
    let json = serde_json::to_string_pretty(&NationalJson {
        schema_version: crate::report::SCHEMA_VERSION,
        kind: "national",
        title,
        run_id: &input.run_id,
        charts: &charts,
    })?;
    Ok(Page { stem: "national".to_string(), html, json })
}

/// Every chart of the national page, in reading order; a chart without data is left out.
pub fn national_charts(input: &FindingsInput) -> Vec<Chart> {
    let all_ages = |code: &str| national_series(input, code, None, input.label(code));
    let charts = vec![
        trend(
            input,
            "buurt",
            "Thuis voelen, vertrouwen en klaarstaan in de buurt",
            NEIGHBOURHOOD.iter().map(|c| all_ages(c)).collect(),
        ),
        trend(
            input,
            "betrokken",
            "Betrokken bij de mensen in de buurt",
            INVOLVED.iter().map(|c| all_ages(c)).collect(),
        ),
        trend(input, "burenhulp", "Burenhulp gegeven in de afgelopen 12 maanden", vec![all_ages(HELP)]),
        trend(
            input,
            "burenhulp-leeftijd",
            "Burenhulp gegeven naar leeftijd",
            (1..=4).map(|k| national_series(input, HELP, Some(k), age_class_label(k))).collect(),
        ),
        willingness(input),
    ];
    charts.into_iter().filter(|c| c.series.iter().any(|s| !s.points.is_empty())).collect()
}

fn point_of(f: &NationalFigure, input: &FindingsInput) -> Point {
    let mixed = input.mixed_years.contains(&f.jaar);
    let note = match (&f.reason, mixed) {
        (Some(r), _) => Some(r.clone()),
        (None, true) => Some("vragenlijsten 2019 en 2022 samen".to_string()),
        (None, false) => None,
    };
    point_of_figure!(f, note, None)
}

/// One indicator's national figures for one domain, years in order.
fn national_series(input: &FindingsInput, code: &str, lft_cy: Option<i16>, label: String) -> Series {
    let mut figures: Vec<&NationalFigure> =
        input.national.iter().filter(|f| f.indicator == code && f.lft_cy == lft_cy).collect();
    figures.sort_by_key(|f| f.jaar);
    Series {
        label,
        indicator: code.to_string(),
        lft_cy,
        comparable_across_break: input.comparable.get(code).copied().unwrap_or(true),
        points: figures.into_iter().map(|f| point_of(f, input)).collect(),
    }
}

fn trend(input: &FindingsInput, id: &str, title: &str, series: Vec<Series>) -> Chart {
    Chart {
        id: id.to_string(),
        kind: ChartKind::Trend,
        title: title.to_string(),
        x_label: "Peiljaar".to_string(),
        y_label: "Percentage inwoners (%)".to_string(),
        y_max: 100.0,
        footnotes: footnotes(input, &series),
        series,
    }
}

/// The footnotes of a trend chart: years that mix questionnaire versions, and series whose
/// line stops at the 2022 questionnaire.
pub fn footnotes(input: &FindingsInput, series: &[Series]) -> Vec<String> {
    let years: std::collections::BTreeSet<i16> = series.iter().flat_map(|s| s.points.iter().map(|p| p.jaar)).collect();
    let mixed: Vec<String> = years.iter().filter(|y| input.mixed_years.contains(y)).map(|y| y.to_string()).collect();
    let mut notes = Vec::new();
    if !mixed.is_empty() {
        notes.push(format!(
            "In {} zijn leveringen met de vragenlijst van 2019 en met die van 2022 samen verwerkt.",
            mixed.join(", ")
        ));
    }
    for s in series.iter().filter(|s| !s.comparable_across_break) {
        notes.push(format!(
            "{}: niet vergelijkbaar tussen de vragenlijsten van 2019 en 2022; de lijn loopt niet door over de overgang naar {}.",
            s.label,
            super::BREAK_YEAR
        ));
    }
    notes
}

/// Willingness per kind of help in the latest year, largest share first.
fn willingness(input: &FindingsInput) -> Chart {
    let codes: std::collections::BTreeSet<&str> = input
        .national
        .iter()
        .filter(|f| f.indicator.starts_with(WILLINGNESS_PREFIX) && f.indicator.ends_with("_pin"))
        .map(|f| f.indicator.as_str())
        .collect();
    let latest = input.national.iter().filter(|f| codes.contains(f.indicator.as_str())).map(|f| f.jaar).max();
    let mut series: Vec<Series> = codes
        .iter()
        .map(|code| {
            let f =
                input.national.iter().find(|f| f.indicator == *code && f.lft_cy.is_none() && Some(f.jaar) == latest);
            Series {
                label: input.label(code),
                indicator: code.to_string(),
                lft_cy: None,
                comparable_across_break: input.comparable.get(*code).copied().unwrap_or(true),
                points: f.map(|f| point_of(f, input)).into_iter().collect(),
            }
        })
        .collect();
    let key = |s: &Series| s.points.first().and_then(|p| p.estimate).unwrap_or(f64::NEG_INFINITY);
    series.sort_by(|a, b| key(b).total_cmp(&key(a)).then_with(|| a.indicator.cmp(&b.indicator)));
    let year = latest.map(|y| y.to_string()).unwrap_or_default();
    Chart {
        id: "bereidheid".to_string(),
        kind: ChartKind::Bars,
        title: format!("Bereid tot burenhulp, naar soort hulp ({year})"),
        x_label: "Soort hulp".to_string(),
        y_label: "Percentage inwoners (%)".to_string(),
        y_max: 100.0,
        footnotes: vec!["Meer antwoorden mogelijk: de percentages tellen niet op tot 100.".to_string()],
        series,
    }
}
