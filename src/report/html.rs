//! HTML rendering of the reports: one self-contained page each, with inline CSS and an inline
//! SVG chart; no scripts, fonts or images from elsewhere. Readable on a phone (fluid layout,
//! tables scroll sideways), printable (a print style sheet), and every text it shows is escaped.

use std::fmt::Write;

use super::{AgeDistribution, DeliveryReport, RunReport};

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1a1a1a;line-height:1.45}\
h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin-top:1.8rem;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border-bottom:1px solid #e2e2e2;padding:.3rem .4rem;text-align:left;vertical-align:top}\
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.scroll{overflow-x:auto}.status{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;font-weight:600}\
.published{background:#d9f2d9}.rejected{background:#f7d4d4}.superseded,.duplicate_file{background:#eee}\
.error{color:#a40000;font-weight:600}.warning{color:#8a5a00}.info{color:#555}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}\
svg{max-width:100%;height:auto}\
@media print{body{max-width:none;padding:0;font-size:10pt}.scroll{overflow:visible}h2{break-after:avoid}tr{break-inside:avoid}}";

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

fn opt(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "—".to_string(), |v| escape(&v.to_string()))
}

/// The delivery report as HTML.
pub fn delivery(r: &DeliveryReport) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>Levering {}</h1>", escape(&r.file_name));
    let _ = writeln!(
        b,
        "<p><span class=\"status {s}\">{s}</span> {}</p>",
        r.reason.as_deref().map(escape).unwrap_or_default(),
        s = escape(&r.status)
    );
    let municipalities: Vec<String> =
        r.municipalities.iter().map(|m| format!("{} {}", escape(&m.code), escape(&m.name))).collect();
    let quarters: Vec<String> = r.quarters.iter().map(|q| q.to_string()).collect();
    let agency = r.agency.as_ref().map(|a| match &a.name {
        Some(n) => format!("{} ({})", n, a.code),
        None => a.code.to_string(),
    });
    b.push_str("<dl>\n");
    for (k, v) in [
        ("Bestand", escape(&r.file_name)),
        ("Levering-id", escape(&r.delivery_id)),
        ("Formaat", escape(&r.format)),
        ("Blad", opt(r.sheet.as_deref())),
        ("Vragenlijst", opt(r.vragenlijst.as_deref())),
        ("Gemeente", if municipalities.is_empty() { "—".into() } else { municipalities.join(", ") }),
        ("Jaar", opt(r.year)),
        ("Kwartaal", if quarters.is_empty() { "—".into() } else { quarters.join(", ") }),
        ("Onderzoeksbureau", opt(agency)),
        ("Run", escape(&r.run_id)),
    ] {
        let _ = writeln!(b, "<dt>{k}</dt><dd>{v}</dd>");
    }
    b.push_str("</dl>\n");

    b.push_str("<h2>Aantallen</h2>\n<div class=\"scroll\"><table>\n");
    for (k, v) in [
        ("Rijen gelezen", r.counts.rows_read),
        ("Rijen gepubliceerd", r.counts.rows_kept),
        ("Volledig (t/m ch02)", r.counts.complete),
        ("Dubbel, niet gepubliceerd", r.counts.duplicates_dropped),
    ] {
        let _ = writeln!(b, "<tr><th>{k}</th><td class=\"n\">{v}</td></tr>");
    }
    b.push_str("</table></div>\n");
    if !r.counts.nulled_per_variable.is_empty() {
        b.push_str("<h3>Waarden leeggemaakt, per kolom</h3>\n<div class=\"scroll\"><table><tr><th>Kolom</th><th>Aantal</th></tr>\n");
        for (k, v) in &r.counts.nulled_per_variable {
            let _ = writeln!(b, "<tr><td>{}</td><td class=\"n\">{v}</td></tr>", escape(k));
        }
        b.push_str("</table></div>\n");
    }
    if !r.counts.routing_blanks.is_empty() {
        b.push_str("<h3>Antwoorden verwijderd volgens de routing</h3>\n<div class=\"scroll\"><table><tr><th>Regel</th><th>Rijen</th></tr>\n");
        for (k, v) in &r.counts.routing_blanks {
            let _ = writeln!(b, "<tr><td>{}</td><td class=\"n\">{v}</td></tr>", escape(k));
        }
        b.push_str("</table></div>\n");
    }

    let _ = writeln!(b, "<h2>Bevindingen ({})</h2>", r.findings.len());
    if r.findings.is_empty() {
        b.push_str("<p>Geen bevindingen.</p>\n");
    } else {
        b.push_str("<div class=\"scroll\"><table><tr><th>Ernst</th><th>Regel</th><th>Kolom</th><th>Rijen</th><th>Aantal</th><th>Toelichting</th></tr>\n");
        for f in &r.findings {
            let rows: Vec<String> = f.rows.iter().map(|r| r.to_string()).collect();
            let more = if f.count as usize > f.rows.len() && !f.rows.is_empty() { " …" } else { "" };
            let _ = writeln!(
                b,
                "<tr><td class=\"{s}\">{s}</td><td><code>{}</code></td><td>{}</td><td>{}{more}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                escape(f.rule),
                opt(f.column.as_deref()),
                escape(&rows.join(", ")),
                f.count,
                escape(&f.message),
                s = f.severity.as_str(),
            );
        }
        b.push_str("</table></div>\n");
    }

    if !r.dropped_rows.is_empty() {
        let _ = writeln!(b, "<h2>Dubbele rijen, niet gepubliceerd ({})</h2>", r.dropped_rows.len());
        b.push_str("<div class=\"scroll\"><table><tr><th>Rij</th><th>Regel</th><th>Dubbel met</th></tr>\n");
        for d in &r.dropped_rows {
            let of = if d.duplicate_of_delivery == r.delivery_id {
                format!("rij {}", d.duplicate_of_row)
            } else {
                format!("rij {} van levering {}", d.duplicate_of_row, escape(&d.duplicate_of_delivery))
            };
            let _ = writeln!(
                b,
                "<tr><td class=\"n\">{}</td><td><code>{}</code></td><td>{of}</td></tr>",
                d.source_row,
                escape(d.rule)
            );
        }
        b.push_str("</table></div>\n");
    }

    b.push_str("<h2>Kolommen</h2>\n");
    let _ = writeln!(b, "<p>{} kolommen overgenomen, {} niet.</p>", r.mapping.mapped.len(), r.mapping.dropped.len());
    if !r.mapping.dropped.is_empty() {
        b.push_str("<div class=\"scroll\"><table><tr><th>Kolom</th><th>Niet overgenomen omdat</th></tr>\n");
        for c in &r.mapping.dropped {
            let _ = writeln!(b, "<tr><td>{}</td><td>{}</td></tr>", escape(&c.delivered), escape(&c.to));
        }
        b.push_str("</table></div>\n");
    }
    let renamed: Vec<_> = r.mapping.mapped.iter().filter(|c| c.delivered != c.to).collect();
    if !renamed.is_empty() {
        b.push_str("<div class=\"scroll\"><table><tr><th>Geleverd als</th><th>Gelezen als</th></tr>\n");
        for c in renamed {
            let _ = writeln!(b, "<tr><td>{}</td><td>{}</td></tr>", escape(&c.delivered), escape(&c.to));
        }
        b.push_str("</table></div>\n");
    }

    b.push_str("<h2>Leeftijd (ch02)</h2>\n");
    b.push_str(&age_chart(&r.age_distribution));
    page(&format!("Levering {}", r.file_name), &b)
}

/// A horizontal bar chart: respondents' share per age band, and the population's beside it.
fn age_chart(a: &AgeDistribution) -> String {
    let total: u64 = a.respondents.iter().sum();
    if a.bands.is_empty() || total == 0 {
        return "<p>Geen leeftijden bekend.</p>\n".to_string();
    }
    let (label_w, bar_w, row_h) = (170.0, 300.0, 34.0);
    let height = row_h * a.bands.len() as f64 + 40.0;
    let mut s = format!(
        "<svg role=\"img\" aria-label=\"Leeftijdsverdeling\" viewBox=\"0 0 {w} {height}\" width=\"{w}\" height=\"{height}\" font-size=\"12\">\n",
        w = label_w + bar_w + 70.0
    );
    for (i, band) in a.bands.iter().enumerate() {
        let y = 10.0 + row_h * i as f64;
        let share = a.respondents[i] as f64 / total as f64;
        let _ = writeln!(s, "<text x=\"0\" y=\"{}\">{}</text>", y + 12.0, escape(band));
        let _ = writeln!(
            s,
            "<rect x=\"{label_w}\" y=\"{y}\" width=\"{:.1}\" height=\"12\" fill=\"#2f6fb0\"/><text x=\"{:.1}\" y=\"{}\">{:.1}%</text>",
            share * bar_w,
            label_w + share * bar_w + 4.0,
            y + 10.0,
            share * 100.0
        );
        if let Some(p) = a.population_share.as_ref().and_then(|p| p.get(i)) {
            let _ = writeln!(
                s,
                "<rect x=\"{label_w}\" y=\"{}\" width=\"{:.1}\" height=\"8\" fill=\"#b0b0b0\"/><text x=\"{:.1}\" y=\"{}\" fill=\"#555\">{:.1}%</text>",
                y + 14.0,
                p * bar_w,
                label_w + p * bar_w + 4.0,
                y + 22.0,
                p * 100.0
            );
        }
    }
    let legend_y = height - 8.0;
    let _ = writeln!(
        s,
        "<rect x=\"0\" y=\"{}\" width=\"10\" height=\"10\" fill=\"#2f6fb0\"/><text x=\"14\" y=\"{legend_y}\">respondenten (n = {total})</text>",
        legend_y - 9.0
    );
    if a.population_share.is_some() {
        let _ = writeln!(
            s,
            "<rect x=\"190\" y=\"{}\" width=\"10\" height=\"10\" fill=\"#b0b0b0\"/><text x=\"204\" y=\"{legend_y}\">bevolking</text>",
            legend_y - 9.0
        );
    }
    s.push_str("</svg>\n");
    if a.population_share.is_none() {
        s.push_str("<p>Geen bevolkingstabel voor deze gemeente en dit jaar.</p>\n");
    }
    if a.missing > 0 {
        let _ = writeln!(s, "<p>{} respondenten zonder leeftijd.</p>", a.missing);
    }
    s
}

/// The run report as HTML.
pub fn run(r: &RunReport) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Run {}</h1>\n<p>{} · versie {}</p>\n",
        escape(&r.run_id),
        escape(&r.command),
        escape(&r.product_version)
    );
    b.push_str("<h2>Jaren</h2>\n<div class=\"scroll\"><table><tr><th>Jaar</th><th>Opnieuw opgebouwd</th><th>Waarom</th><th>Leveringen</th><th>Respondenten</th></tr>\n");
    for y in &r.years {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            y.year,
            if y.rebuilt { "ja" } else { "nee" },
            escape(&y.why),
            y.deliveries,
            y.respondents
        );
    }
    b.push_str("</table></div>\n<h2>Leveringen</h2>\n<p>");
    let statuses: Vec<String> = r.deliveries_by_status.iter().map(|(k, v)| format!("{}: {v}", escape(k))).collect();
    b.push_str(&statuses.join(" · "));
    b.push_str("</p>\n<div class=\"scroll\"><table><tr><th>Bestand</th><th>Status</th><th>Fouten</th><th>Waarschuwingen</th><th>Reden</th></tr>\n");
    for d in &r.deliveries {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td><span class=\"status {s}\">{s}</span></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&d.file_name),
            d.findings_error,
            d.findings_warning,
            d.reason.as_deref().map(escape).unwrap_or_default(),
            s = escape(&d.status)
        );
    }
    b.push_str("</table></div>\n<h2>Respons per gemeente en jaar</h2>\n<div class=\"scroll\"><table><tr><th>Jaar</th><th>Gemeente</th><th>Respondenten</th><th>Volledig</th><th>Publiceerbaar</th></tr>\n");
    for m in &r.respondents {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{} {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            m.year,
            escape(&m.gemeente_code),
            escape(&m.gemeente_naam),
            m.respondents,
            m.complete,
            if m.publishable { "ja" } else { "nee" }
        );
    }
    b.push_str("</table></div>\n<h2>Bevindingen per regel</h2>\n<div class=\"scroll\"><table><tr><th>Regel</th><th>Ernst</th><th>Leveringen</th><th>Aantal</th></tr>\n");
    for t in &r.findings_by_rule {
        let _ = writeln!(
            b,
            "<tr><td><code>{}</code></td><td class=\"{s}\">{s}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&t.rule),
            t.deliveries,
            t.count,
            s = t.severity.as_str()
        );
    }
    b.push_str("</table></div>\n<h2>Weging</h2>\n<div class=\"scroll\"><table><tr><th>Jaar</th><th>Gemeente</th><th>Methode</th><th>n</th><th>n effectief</th><th>Deff</th><th>Min</th><th>Max</th><th>Getrimd</th><th>Bevolking</th></tr>\n");
    for w in &r.weighting {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.3}</td><td class=\"n\">{:.3}</td><td class=\"n\">{}</td><td>{} ({})</td></tr>",
            w.year,
            escape(&w.gemeente_code),
            escape(&w.method),
            if w.converged { "" } else { " — niet geconvergeerd" },
            w.n,
            w.n_effective,
            w.deff_kish,
            w.weight_min,
            w.weight_max,
            w.trimmed,
            escape(&w.population_source),
            w.population_year
        );
    }
    b.push_str("</table></div>\n<h2>Dubbelen</h2>\n<div class=\"scroll\"><table>\n");
    let d = &r.duplicates;
    for (k, v) in [
        ("Exact dubbele rijen", d.exact_duplicate),
        ("Web en papier, zelfde respondent", d.cross_mode),
        ("Bijna-dubbelen verwijderd", d.near_duplicate_dropped),
        ("Bijna-dubbele paren gemeld", d.near_duplicate_pairs),
        ("Respondentnummers dubbel uitgegeven (groepen)", d.conflicting_number_groups),
        ("… rijen daarin, met achtervoegsel", d.conflicting_number_rows),
    ] {
        let _ = writeln!(b, "<tr><th>{k}</th><td class=\"n\">{v}</td></tr>");
    }
    b.push_str("</table></div>\n");
    if !r.ignored_files.is_empty() {
        b.push_str("<h2>Genegeerde bestanden</h2>\n<ul>\n");
        for f in &r.ignored_files {
            let _ = writeln!(b, "<li>{}</li>", escape(f));
        }
        b.push_str("</ul>\n");
    }
    b.push_str("<h2>Tijd per stap</h2>\n<div class=\"scroll\"><table><tr><th>Stap</th><th>Seconden</th></tr>\n");
    for (k, v) in &r.stage_seconds {
        let _ = writeln!(b, "<tr><td>{}</td><td class=\"n\">{v:.3}</td></tr>", escape(k));
    }
    b.push_str("</table></div>\n");
    page(&format!("Run {}", r.run_id), &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_shown_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }
}
