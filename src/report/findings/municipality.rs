//! The benchmark page of one municipality: per key indicator and per year it took part, its
//! figure beside the national figure of that year and beside the mean of the municipalities in
//! its CBS size class, each with its 95% interval; a marker where the difference from the
//! national figure lies outside both intervals; its response from `response.csv`; the
//! deliveries its figures rest on.
//!
//! What it must NOT do: compute a municipality's or the national figure (both come from the
//! indicator tables unchanged); the size-class mean is the one statistic it makes
//! (`docs/decisions.md`, "Findings pages").

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use maud::{Markup, html};
use serde::Serialize;

use super::chart::figure;
use super::data::{FindingsInput, Response};
use super::national::{HELP, footnotes};
use super::{Chart, ChartKind, Page, Point, Series, point_of_figure};
use crate::indicators::figures::MunicipalityFigure;
use crate::report::nl;

/// The article's figures, each on its own chart.
pub const KEY_INDICATORS: [&str; 6] = ["wl02_0", "wl18_pin_1", "wl18_pin_2", "wl03_2", "wl03_1", HELP];

/// CBS municipality size classes (gemeentegrootteklassen, inhabitants): lower bounds and names.
const SIZE_CLASSES: [(u64, &str); 8] = [
    (0, "minder dan 5.000 inwoners"),
    (5_000, "5.000 tot 10.000 inwoners"),
    (10_000, "10.000 tot 20.000 inwoners"),
    (20_000, "20.000 tot 50.000 inwoners"),
    (50_000, "50.000 tot 100.000 inwoners"),
    (100_000, "100.000 tot 150.000 inwoners"),
    (150_000, "150.000 tot 250.000 inwoners"),
    (250_000, "250.000 inwoners of meer"),
];

/// The 97.5% quantile of the normal distribution: the size-class mean rests on many answers.
const Z_95: f64 = 1.959_963_984_540_054;

pub fn size_class(inhabitants: u64) -> usize {
    SIZE_CLASSES.iter().rposition(|(from, _)| inhabitants >= *from).unwrap_or(0)
}

#[derive(Serialize)]
struct DeliveryLine {
    file_name: String,
    jaar: Option<i16>,
    vragenlijst: Option<String>,
    status: String,
    rows_published: i64,
}

#[derive(Serialize)]
struct MunicipalityJson<'a> {
    schema_version: u32,
    kind: &'static str,
    gemeente_code: &'a str,
    gemeente_naam: &'a str,
    run_id: &'a str,
    /// Size class per year (Dutch name), from the population tables.
    size_class: Vec<(i16, String)>,
    response: Vec<&'a Response>,
    deliveries: &'a [DeliveryLine],
    charts: &'a [Chart],
}

/// One municipality's page as HTML and JSON; an error when the lake has no figures for it.
pub fn municipality_page(input: &FindingsInput, code: &str) -> Result<Page> {
    if !input.codes.contains(code) {
        return Err(anyhow!("het meer heeft geen indicatoren voor gemeente {code}"));
    }
    let name = input.name_of(code);
    let charts: Vec<Chart> = KEY_INDICATORS.iter().filter_map(|i| benchmark_chart(input, code, i)).collect();
    let response: Vec<&Response> = input.response.iter().filter(|r| r.gemeente_code == code).collect();
    let deliveries = deliveries_of(input, code);
    let classes: Vec<(i16, String)> = input
        .inhabitants
        .iter()
        .filter(|((c, _), _)| c == code)
        .map(|((_, y), n)| (*y, SIZE_CLASSES[size_class(*n)].1.to_string()))
        .collect();
    let title = format!("{name} ({code}): waar staat de gemeente?");
    let body = html! {
        h1 { (title) }
        p { "Per peiljaar waarin de gemeente meedeed: het cijfer van de gemeente (gewogen naar de eigen bevolking), het landelijke cijfer en het gemiddelde van de gemeenten in dezelfde CBS-grootteklasse, elk met een 95%-betrouwbaarheidsinterval. "
            "Een omcirkeld punt (◆ in de tabel) betekent dat het verschil met het landelijke cijfer buiten beide intervallen valt." }
        @if let Some((_, class)) = classes.last() { p { "Grootteklasse: " (class) " (volgens de bevolkingstabellen)." } }
        h2 { "Respons" }
        (response_table(&response))
        @for c in &charts { (figure(c)) }
        h2 { "Leveringen waarop deze pagina rust" }
        (deliveries_table(&deliveries))
    };
    let html = crate::report::html::layout("gemeentelijke bevindingen", &title, &input.run_id, body);
    let json = serde_json::to_string_pretty(&MunicipalityJson {
        schema_version: crate::report::SCHEMA_VERSION,
        kind: "municipality",
        gemeente_code: code,
        gemeente_naam: &name,
        run_id: &input.run_id,
        size_class: classes,
        response,
        deliveries: &deliveries,
        charts: &charts,
    })?;
    Ok(Page { stem: format!("municipality-{code}"), html, json })
}

/// The municipality, the nation and the size class for one indicator, over the municipality's
/// years; `None` when the municipality has no figure of it.
fn benchmark_chart(input: &FindingsInput, code: &str, indicator: &str) -> Option<Chart> {
    let mut own: Vec<&MunicipalityFigure> =
        input.municipality.get(indicator)?.iter().filter(|f| f.gemeente_code == code).collect();
    if own.is_empty() {
        return None;
    }
    own.sort_by_key(|f| f.jaar);
    let comparable = input.comparable.get(indicator).copied().unwrap_or(true);
    let all_ages = input.national_all_ages.get(indicator).map_or(&[][..], Vec::as_slice);
    let national: Vec<Point> = own
        .iter()
        .filter_map(|m| {
            let f = all_ages.iter().map(|&i| &input.national[i]).find(|f| f.jaar == m.jaar)?;
            Some(point_of_figure!(f, f.reason.clone(), None))
        })
        .collect();
    let own_points: Vec<Point> = own.iter().map(|f| own_point(f, &national)).collect();
    let classes = class_members(input, indicator);
    let class_points: Vec<Point> = own.iter().filter_map(|f| class_point(input, code, &classes, f.jaar)).collect();
    let series_of = |label: String, points: Vec<Point>| Series {
        label,
        indicator: indicator.to_string(),
        lft_cy: None,
        comparable_across_break: comparable,
        points,
    };
    let series = vec![
        series_of(input.name_of(code), own_points),
        series_of("Nederland".to_string(), national),
        series_of("Gemeenten van dezelfde grootteklasse (gemiddelde)".to_string(), class_points),
    ];
    Some(Chart {
        id: indicator.replace('_', "-"),
        kind: ChartKind::Trend,
        title: input.label(indicator),
        x_label: "Peiljaar".to_string(),
        y_label: "Percentage inwoners (%)".to_string(),
        y_max: 100.0,
        footnotes: footnotes(input, &series),
        series,
    })
}

fn own_point(f: &MunicipalityFigure, national: &[Point]) -> Point {
    let n = national.iter().find(|p| p.jaar == f.jaar);
    let differs = match (f.published, f.estimate, f.ci_low, f.ci_high, n) {
        (true, Some(e), Some(lo), Some(hi), Some(p)) if p.published => match (p.estimate, p.ci_low, p.ci_high) {
            (Some(ne), Some(nlo), Some(nhi)) => Some((e < nlo || e > nhi) && (ne < lo || ne > hi)),
            _ => None,
        },
        _ => None,
    };
    point_of_figure!(f, f.reason.clone(), differs)
}

/// The published figures of one indicator that a size-class mean can use (an estimate and a
/// standard error), grouped by year and size class, each group in the file's order. Grouped once
/// per chart: finding a class's members by scanning every figure for every point of every page
/// was a fifth of the pages' time.
type ClassMembers<'a> = BTreeMap<(i16, usize), Vec<&'a MunicipalityFigure>>;

fn class_members<'a>(input: &'a FindingsInput, indicator: &str) -> ClassMembers<'a> {
    let mut groups = ClassMembers::new();
    let usable = |f: &&MunicipalityFigure| f.published && f.estimate.is_some() && f.se.is_some();
    for f in input.municipality.get(indicator).into_iter().flatten().filter(usable) {
        if let Some(n) = input.inhabitants.get(&(f.gemeente_code.clone(), f.jaar)) {
            groups.entry((f.jaar, size_class(*n))).or_default().push(f);
        }
    }
    groups
}

/// The unweighted mean of the published figures of the municipalities in the same size class
/// that year, with the standard error of a mean of independent surveys, √(Σ se²) / k.
fn class_point(input: &FindingsInput, code: &str, classes: &ClassMembers, jaar: i16) -> Option<Point> {
    let class = size_class(*input.inhabitants.get(&(code.to_string(), jaar))?);
    let members = classes.get(&(jaar, class)).filter(|m| !m.is_empty())?;
    let k = members.len() as f64;
    let mean = members.iter().filter_map(|f| f.estimate).sum::<f64>() / k;
    let se = members.iter().filter_map(|f| f.se).map(|s| s * s).sum::<f64>().sqrt() / k;
    Some(Point {
        jaar,
        estimate: Some(mean),
        ci_low: Some(mean - Z_95 * se),
        ci_high: Some(mean + Z_95 * se),
        n: members.iter().map(|f| f.n).sum(),
        published: true,
        note: Some(format!("gemiddelde van {} gemeenten", members.len())),
        differs: None,
    })
}

fn deliveries_of(input: &FindingsInput, code: &str) -> Vec<DeliveryLine> {
    input
        .deliveries
        .iter()
        .filter(|d| d.gemeente_code.as_deref().is_some_and(|g| g.split(',').any(|c| c.trim() == code)))
        .map(|d| DeliveryLine {
            file_name: d.file_name.clone(),
            jaar: d.jr,
            vragenlijst: d.vragenlijst.clone(),
            status: nl::status(&d.status).to_string(),
            rows_published: d.rows_published,
        })
        .collect()
}

fn response_table(rows: &[&Response]) -> Markup {
    html! {
        div.scroll { table {
            tr { th.n { "Jaar" } th.n { "Respondenten" } th.n { "Volledig ingevuld" } th { "Publiceerbaar" } }
            @for r in rows {
                tr { td.n { (r.jaar) } td.n { (r.respondents) } td.n { (r.complete) } td { (if r.publishable { "ja" } else { "nee" }) } }
            }
        } }
    }
}

fn deliveries_table(rows: &[DeliveryLine]) -> Markup {
    html! {
        div.scroll { table {
            tr { th { "Bestand" } th.n { "Jaar" } th { "Vragenlijst" } th { "Status" } th.n { "Rijen gepubliceerd" } }
            @for d in rows {
                tr {
                    td { (d.file_name) } td.n { (d.jaar.map(|y| y.to_string()).unwrap_or_default()) }
                    td { (d.vragenlijst.clone().unwrap_or_default()) } td { (d.status) } td.n { (d.rows_published) }
                }
            }
        } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_follow_the_cbs_bounds() {
        assert_eq!(SIZE_CLASSES[size_class(4_999)].1, "minder dan 5.000 inwoners");
        assert_eq!(SIZE_CLASSES[size_class(5_000)].1, "5.000 tot 10.000 inwoners");
        assert_eq!(SIZE_CLASSES[size_class(900_000)].1, "250.000 inwoners of meer");
    }

    fn figure(code: &str, jaar: i16, estimate: f64, se: f64, published: bool) -> MunicipalityFigure {
        MunicipalityFigure {
            indicator: "wl02_0".into(),
            gemeente_code: code.into(),
            jaar,
            estimate: Some(estimate),
            se: Some(se),
            ci_low: None,
            ci_high: None,
            n: 100,
            n_weighted: None,
            published,
            reason: None,
        }
    }

    #[test]
    fn a_size_class_mean_takes_the_published_figures_of_its_class_and_year_only() {
        let inhabitants = BTreeMap::from([
            (("GM0001".to_string(), 2022), 12_000),
            (("GM0002".to_string(), 2022), 15_000),
            (("GM0003".to_string(), 2022), 19_000),
            (("GM0004".to_string(), 2022), 60_000),
            (("GM0002".to_string(), 2021), 15_000),
        ]);
        let figures = vec![
            figure("GM0001", 2022, 40.0, 3.0, true),
            figure("GM0002", 2022, 50.0, 4.0, true),
            // Not published, another class, another year: none counts.
            figure("GM0003", 2022, 90.0, 1.0, false),
            figure("GM0004", 2022, 10.0, 1.0, true),
            figure("GM0002", 2021, 70.0, 1.0, true),
        ];
        let input = FindingsInput {
            national: Vec::new(),
            national_all_ages: BTreeMap::new(),
            municipality: BTreeMap::from([("wl02_0".to_string(), figures)]),
            codes: ["GM0001", "GM0002", "GM0003", "GM0004"].map(String::from).into(),
            response: Vec::new(),
            deliveries: Vec::new(),
            labels: BTreeMap::new(),
            comparable: BTreeMap::new(),
            inhabitants,
            mixed_years: Default::default(),
            run_id: "r".into(),
        };
        let classes = class_members(&input, "wl02_0");
        let p = class_point(&input, "GM0003", &classes, 2022).expect("a mean of two municipalities");
        let se = (3.0f64 * 3.0 + 4.0 * 4.0).sqrt() / 2.0;
        assert_eq!(p.estimate, Some(45.0));
        assert_eq!(p.ci_low, Some(45.0 - Z_95 * se));
        assert_eq!((p.n, p.note.as_deref()), (200, Some("gemiddelde van 2 gemeenten")));
        assert_eq!(class_point(&input, "GM0004", &classes, 2022).and_then(|p| p.estimate), Some(10.0));
        // No inhabitants known for the year: no class, no mean.
        assert!(class_point(&input, "GM0001", &classes, 2021).is_none());
    }

    #[test]
    fn a_difference_is_marked_only_outside_both_intervals() {
        let fig = |e: f64, lo: f64, hi: f64| MunicipalityFigure {
            indicator: "x".into(),
            gemeente_code: "GM0001".into(),
            jaar: 2022,
            estimate: Some(e),
            se: Some(1.0),
            ci_low: Some(lo),
            ci_high: Some(hi),
            n: 100,
            n_weighted: None,
            published: true,
            reason: None,
        };
        let nat = vec![Point {
            jaar: 2022,
            estimate: Some(50.0),
            ci_low: Some(48.0),
            ci_high: Some(52.0),
            n: 1000,
            published: true,
            note: None,
            differs: None,
        }];
        assert_eq!(own_point(&fig(60.0, 55.0, 65.0), &nat).differs, Some(true));
        // Outside the national interval, but the national figure lies inside the municipality's.
        assert_eq!(own_point(&fig(53.0, 45.0, 61.0), &nat).differs, Some(false));
    }
}
