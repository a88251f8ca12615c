//! HTML rendering of the reports on the `maud` template engine: one shared layout (head with
//! inline CSS, header, footer) for the delivery and the run report, an inline SVG age chart, no
//! scripts, fonts or images from elsewhere. Readable on a phone (fluid layout, tables scroll
//! sideways), printable (a print style sheet), in Dutch (words from [`super::nl`]), with numbers
//! right-aligned under right-aligned headings.
//!
//! What it must NOT do: put any text on a page outside `maud`'s escaping (there is no
//! `PreEscaped` here but the fixed style sheet and doctype), show an English status or message,
//! or compute anything beyond the shares of the age chart.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::nl;
use super::{AgeDistribution, DeliveryReport, RunReport};
use crate::config::PRODUCT_VERSION;

/// Colours of the age chart: Okabe-Ito blue and orange, which colour-blind readers tell apart
/// and which stay distinct in greyscale (dark against light).
const RESPONDENT_COLOUR: &str = "#0b4f8a";
const POPULATION_COLOUR: &str = "#e69f00";

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1a1a1a;line-height:1.45}\
header{border-bottom:3px solid #0b4f8a;margin-bottom:1rem;padding-bottom:.3rem;font-size:.85rem;color:#444}\
footer{border-top:1px solid #ccc;margin-top:2rem;padding-top:.4rem;font-size:.8rem;color:#555}\
h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin-top:1.8rem;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border-bottom:1px solid #e2e2e2;padding:.3rem .4rem;text-align:left;vertical-align:top}\
th{background:#f3f3f3}th.n,td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
.scroll{overflow-x:auto}.status{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;font-weight:600;border:1px solid #666}\
.published{background:#e3f1fb}.rejected{background:#fbe3d0;border-width:2px}.superseded,.duplicate_file{background:#eee}\
.error{color:#a40000;font-weight:600}.warning{color:#7a4f00}.info{color:#555}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}\
svg{max-width:100%;height:auto}\
figure{margin:1rem 0}figcaption{font-weight:600;font-size:1.1rem;margin:1.6rem 0 .3rem;border-bottom:1px solid #ccc}caption{text-align:left;font-size:.85rem;color:#555}\
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;font-size:.9rem}.legend svg{vertical-align:middle}.footnotes{font-size:.85rem;color:#444}\
@media print{body{max-width:none;padding:0;font-size:10pt}.scroll{overflow:visible}h2{break-after:avoid}tr{break-inside:avoid}}";

/// The page every report shares: head, style, header with the kind of report, footer.
pub(crate) fn layout(kind: &str, title: &str, run_id: &str, body: Markup) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="nl" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header { "Burgerpeiling · " (kind) }
                main { (body) }
                footer { "Gemaakt door burgerpeiling " (PRODUCT_VERSION) " in verwerking " (run_id) "." }
            }
        }
    };
    page.into_string()
}

/// A number with a decimal comma, as Dutch readers write it.
fn decimal(value: f64, places: usize) -> String {
    format!("{value:.places$}").replace('.', ",")
}

fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "—".to_string())
}

fn yes_no(value: bool) -> &'static str {
    if value { "ja" } else { "nee" }
}

/// A two-column table of labelled counts.
fn counts_table(rows: &[(&str, u64)]) -> Markup {
    html! {
        div.scroll { table {
            @for (label, value) in rows { tr { th scope="row" { (label) } td.n { (value) } } }
        } }
    }
}

/// The delivery report as HTML.
pub fn delivery(r: &DeliveryReport) -> String {
    let body = html! {
        h1 { "Levering " (r.file_name) }
        (delivery_status(r))
        (delivery_facts(r))
        h2 { "Aantallen" }
        (counts_table(&[
            ("Rijen gelezen", r.counts.rows_read),
            ("Rijen gepubliceerd", r.counts.rows_kept),
            ("Volledig (t/m ch02)", r.counts.complete),
            ("Dubbel, niet gepubliceerd", r.counts.duplicates_dropped),
        ]))
        @if !r.counts.nulled_per_variable.is_empty() {
            h3 { "Waarden leeggemaakt, per kolom" }
            div.scroll { table {
                tr { th { "Kolom" } th.n { "Aantal" } }
                @for (column, n) in &r.counts.nulled_per_variable { tr { td { (column) } td.n { (n) } } }
            } }
        }
        @if !r.counts.routing_blanks.is_empty() {
            h3 { "Antwoorden verwijderd volgens de routering" }
            div.scroll { table {
                tr { th { "Regel" } th.n { "Rijen" } }
                @for (rule, n) in &r.counts.routing_blanks { tr { td { (rule) } td.n { (n) } } }
            } }
        }
        (delivery_findings(r))
        (dropped_rows(r))
        (columns(r))
        h2 { "Leeftijd (ch02)" }
        (age_chart(&r.age_distribution))
    };
    layout("leveringsrapport", &format!("Levering {}", r.file_name), &r.run_id, body)
}

/// The status badge and, for a delivery not published, why not in Dutch.
fn delivery_status(r: &DeliveryReport) -> Markup {
    let rejecting_rule = r.findings.iter().find(|f| f.severity == crate::finding::Severity::Error).map(|f| f.rule);
    html! {
        p {
            span class={ "status " (r.status) } { (nl::status(&r.status)) }
            @if let Some(reason) = &r.reason { " " (nl::reason(reason, rejecting_rule)) }
        }
    }
}

fn delivery_facts(r: &DeliveryReport) -> Markup {
    let municipalities: Vec<String> = r.municipalities.iter().map(|m| format!("{} {}", m.code, m.name)).collect();
    let quarters: Vec<String> = r.quarters.iter().map(|q| q.to_string()).collect();
    let agency = r.agency.as_ref().map(|a| match &a.name {
        Some(n) => format!("{} ({})", n, a.code),
        None => a.code.to_string(),
    });
    let facts = [
        ("Bestand", r.file_name.clone()),
        ("Levering-id", r.delivery_id.clone()),
        ("Formaat", r.format.clone()),
        ("Blad", or_dash(r.sheet.clone())),
        ("Vragenlijst", or_dash(r.vragenlijst.clone())),
        ("Gemeente", if municipalities.is_empty() { "—".into() } else { municipalities.join(", ") }),
        ("Jaar", or_dash(r.year.map(|y| y.to_string()))),
        ("Kwartaal", if quarters.is_empty() { "—".into() } else { quarters.join(", ") }),
        ("Onderzoeksbureau", or_dash(agency)),
        ("Verwerking", r.run_id.clone()),
    ];
    html! { dl { @for (label, value) in &facts { dt { (label) } dd { (value) } } } }
}

/// The findings with the rule's Dutch text; the English message stays in the JSON report.
fn delivery_findings(r: &DeliveryReport) -> Markup {
    html! {
        h2 { "Bevindingen (" (r.findings.len()) ")" }
        @if r.findings.is_empty() {
            p { "Geen bevindingen." }
        } @else {
            div.scroll { table {
                tr { th { "Ernst" } th { "Regel" } th { "Kolom" } th { "Rijen" } th.n { "Aantal" } th { "Toelichting" } }
                @for f in &r.findings {
                    @let rows: Vec<String> = f.rows.iter().map(|r| r.to_string()).collect();
                    @let more = f.count as usize > f.rows.len() && !f.rows.is_empty();
                    tr {
                        td class=(f.severity.as_str()) { (nl::severity(f.severity)) }
                        td { code { (f.rule) } }
                        td { (or_dash(f.column.clone())) }
                        td { (rows.join(", ")) @if more { " …" } }
                        td.n { (f.count) }
                        td { (nl::rule_text(f.rule)) }
                    }
                }
            } }
            p { "De technische melding bij elke bevinding staat in het JSON-rapport van deze levering." }
        }
    }
}

fn dropped_rows(r: &DeliveryReport) -> Markup {
    html! {
        @if !r.dropped_rows.is_empty() {
            h2 { "Dubbele rijen, niet gepubliceerd (" (r.dropped_rows.len()) ")" }
            div.scroll { table {
                tr { th.n { "Rij" } th { "Regel" } th { "Dubbel met" } }
                @for d in &r.dropped_rows {
                    tr {
                        td.n { (d.source_row) }
                        td { code { (d.rule) } }
                        td {
                            "rij " (d.duplicate_of_row)
                            @if d.duplicate_of_delivery != r.delivery_id { " van levering " (d.duplicate_of_delivery) }
                        }
                    }
                }
            } }
        }
    }
}

fn columns(r: &DeliveryReport) -> Markup {
    let renamed: Vec<_> = r.mapping.mapped.iter().filter(|c| c.delivered != c.to).collect();
    html! {
        h2 { "Kolommen" }
        p { (r.mapping.mapped.len()) " kolommen overgenomen, " (r.mapping.dropped.len()) " niet." }
        @if !r.mapping.dropped.is_empty() {
            div.scroll { table {
                tr { th { "Kolom" } th { "Niet overgenomen omdat" } }
                @for c in &r.mapping.dropped { tr { td { (c.delivered) } td { (nl::dropped_column(&c.to)) } } }
            } }
        }
        @if !renamed.is_empty() {
            div.scroll { table {
                tr { th { "Geleverd als" } th { "Gelezen als" } }
                @for c in &renamed { tr { td { (c.delivered) } td { (c.to) } } }
            } }
        }
    }
}

/// A horizontal bar chart: respondents' share per age band, and the population's beside it.
fn age_chart(a: &AgeDistribution) -> Markup {
    let total: u64 = a.respondents.iter().sum();
    if a.bands.is_empty() || total == 0 {
        return html! { p { "Geen leeftijden bekend." } };
    }
    let (label_w, bar_w, row_h) = (170.0, 300.0, 34.0);
    let height = row_h * a.bands.len() as f64 + 40.0;
    let width = label_w + bar_w + 70.0;
    let legend_y = height - 8.0;
    let population = a.population_share.as_deref();
    html! {
        svg role="img" aria-label="Leeftijdsverdeling van respondenten en bevolking"
            viewBox={ "0 0 " (width) " " (height) } width=(width) height=(height) font-size="12" {
            @for (i, band) in a.bands.iter().enumerate() {
                @let y = 10.0 + row_h * i as f64;
                @let share = a.respondents[i] as f64 / total as f64;
                text x="0" y=(y + 12.0) { (band) }
                rect x=(label_w) y=(y) width=(decimal_point(share * bar_w)) height="12" fill=(RESPONDENT_COLOUR) {}
                text x=(decimal_point(label_w + share * bar_w + 4.0)) y=(y + 10.0) { (decimal(share * 100.0, 1)) "%" }
                @if let Some(p) = population.and_then(|p| p.get(i)) {
                    rect x=(label_w) y=(y + 14.0) width=(decimal_point(p * bar_w)) height="8"
                        fill=(POPULATION_COLOUR) stroke="#5c4000" stroke-width="0.5" {}
                    text x=(decimal_point(label_w + p * bar_w + 4.0)) y=(y + 22.0) fill="#555" { (decimal(p * 100.0, 1)) "%" }
                }
            }
            rect x="0" y=(legend_y - 9.0) width="10" height="10" fill=(RESPONDENT_COLOUR) {}
            text x="14" y=(legend_y) { "respondenten (n = " (total) ")" }
            @if population.is_some() {
                rect x="190" y=(legend_y - 9.0) width="10" height="10" fill=(POPULATION_COLOUR) {}
                text x="204" y=(legend_y) { "bevolking" }
            }
        }
        @if population.is_none() { p { "Geen bevolkingstabel voor deze gemeente en dit jaar." } }
        @if a.missing > 0 { p { (a.missing) " respondenten zonder leeftijd." } }
    }
}

/// An SVG coordinate: one decimal, with a point (SVG's syntax, not a text for readers).
fn decimal_point(value: f64) -> String {
    format!("{value:.1}")
}

/// The run report as HTML.
pub fn run(r: &RunReport) -> String {
    let body = html! {
        h1 { "Verwerking " (r.run_id) }
        p { (nl::command(&r.command)) " · versie " (r.product_version) }
        h2 { "Jaren" }
        div.scroll { table {
            tr { th { "Jaar" } th { "Opnieuw opgebouwd" } th { "Waarom" } th.n { "Leveringen" } th.n { "Respondenten" } }
            @for y in &r.years {
                tr {
                    td { (y.year) } td { (yes_no(y.rebuilt)) } td { (nl::why_rebuilt(&y.why)) }
                    td.n { (y.deliveries) } td.n { (y.respondents) }
                }
            }
        } }
        (run_deliveries(r))
        h2 { "Respons per gemeente en jaar" }
        div.scroll { table {
            tr { th { "Jaar" } th { "Gemeente" } th.n { "Respondenten" } th.n { "Volledig" } th { "Publiceerbaar" } }
            @for m in &r.respondents {
                tr {
                    td { (m.year) } td { (m.gemeente_code) " " (m.gemeente_naam) }
                    td.n { (m.respondents) } td.n { (m.complete) } td { (yes_no(m.publishable)) }
                }
            }
        } }
        h2 { "Bevindingen per regel" }
        div.scroll { table {
            tr { th { "Regel" } th { "Ernst" } th.n { "Leveringen" } th.n { "Aantal" } th { "Betekenis" } }
            @for t in &r.findings_by_rule {
                tr {
                    td { code { (t.rule) } } td class=(t.severity.as_str()) { (nl::severity(t.severity)) }
                    td.n { (t.deliveries) } td.n { (t.count) } td { (nl::rule_text(&t.rule)) }
                }
            }
        } }
        (run_weighting(r))
        (run_duplicates_and_stages(r))
    };
    layout("verwerkingsrapport", &format!("Verwerking {}", r.run_id), &r.run_id, body)
}

fn run_deliveries(r: &RunReport) -> Markup {
    let by_status: Vec<String> =
        r.deliveries_by_status.iter().map(|(status, n)| format!("{}: {n}", nl::status(status))).collect();
    html! {
        h2 { "Leveringen" }
        p { (by_status.join(" · ")) }
        div.scroll { table {
            tr { th { "Bestand" } th { "Status" } th.n { "Fouten" } th.n { "Waarschuwingen" } th { "Reden" } }
            @for d in &r.deliveries {
                tr {
                    td { (d.file_name) }
                    td { span class={ "status " (d.status) } { (nl::status(&d.status)) } }
                    td.n { (d.findings_error) } td.n { (d.findings_warning) }
                    td { @if let Some(reason) = &d.reason { (nl::reason(reason, None)) } }
                }
            }
        } }
    }
}

fn run_weighting(r: &RunReport) -> Markup {
    html! {
        h2 { "Weging" }
        div.scroll { table {
            tr {
                th { "Jaar" } th { "Gemeente" } th { "Methode" } th.n { "n" } th.n { "n effectief" } th.n { "Deff" }
                th.n { "Min" } th.n { "Max" } th.n { "Getrimd" } th { "Bevolking" }
            }
            @for w in &r.weighting {
                tr {
                    td { (w.year) } td { (w.gemeente_code) }
                    td { (nl::method(&w.method)) @if !w.converged { " — niet geconvergeerd" } }
                    td.n { (w.n) } td.n { (decimal(w.n_effective, 1)) } td.n { (decimal(w.deff_kish, 2)) }
                    td.n { (decimal(w.weight_min, 3)) } td.n { (decimal(w.weight_max, 3)) } td.n { (w.trimmed) }
                    td { (nl::population_source(&w.population_source)) " (" (w.population_year) ")" }
                }
            }
        } }
    }
}

fn run_duplicates_and_stages(r: &RunReport) -> Markup {
    let d = &r.duplicates;
    html! {
        h2 { "Dubbelen" }
        (counts_table(&[
            ("Exact dubbele rijen", d.exact_duplicate as u64),
            ("Web en papier, zelfde respondent", d.cross_mode as u64),
            ("Bijna-dubbelen verwijderd", d.near_duplicate_dropped as u64),
            ("Bijna-dubbele paren gemeld", d.near_duplicate_pairs as u64),
            ("Respondentnummers dubbel uitgegeven (groepen)", d.conflicting_number_groups as u64),
            ("… rijen daarin, met achtervoegsel", d.conflicting_number_rows as u64),
        ]))
        @if !r.ignored_files.is_empty() {
            h2 { "Genegeerde bestanden" }
            ul { @for f in &r.ignored_files { li { (f) } } }
        }
        h2 { "Tijd per stap" }
        div.scroll { table {
            tr { th { "Stap" } th.n { "Seconden" } }
            @for (stage, seconds) in &r.stage_seconds { tr { td { (nl::stage(stage)) } td.n { (decimal(*seconds, 3)) } } }
        } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Counts, Mapping, SCHEMA_VERSION};

    fn report(file_name: &str) -> DeliveryReport {
        DeliveryReport {
            schema_version: SCHEMA_VERSION,
            run_id: "r1".into(),
            delivery_id: "d1".into(),
            file_name: file_name.into(),
            file_bytes: 1,
            format: "csv".into(),
            status: "rejected".into(),
            reason: Some("the file is empty".into()),
            vragenlijst: None,
            municipalities: Vec::new(),
            year: None,
            quarters: Vec::new(),
            agency: None,
            sheet: None,
            mapping: Mapping::default(),
            counts: Counts { rows_read: 12345, ..Counts::default() },
            findings: vec![crate::finding::Finding::new(crate::finding::FILE_EMPTY, "d1", "the file is empty")],
            dropped_rows: Vec::new(),
            age_distribution: AgeDistribution::default(),
        }
    }

    #[test]
    fn what_a_delivery_names_is_escaped() {
        let page = delivery(&report("<script>alert('x')</script>&.csv"));
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert('x')&lt;/script&gt;&amp;.csv"), "{page}");
    }

    #[test]
    fn a_rejection_says_why_in_dutch_and_counts_align_right() {
        let page = delivery(&report("leeg.csv"));
        assert!(page.contains("afgewezen</span> Het bestand is leeg"), "{page}");
        assert!(!page.contains("the file is empty"), "{page}");
        assert!(page.contains("<td class=\"n\">12345</td>"), "{page}");
        assert!(page.contains("<th class=\"n\">Aantal</th>"), "{page}");
    }

    #[test]
    fn decimals_have_a_comma() {
        assert_eq!(decimal(1.2345, 2), "1,23");
        assert_eq!(decimal_point(1.25), "1.2");
    }
}
