//! Inline SVG charts of the findings pages, written with `maud` so every label is escaped: a
//! trend chart (years, one line per series with its 95% interval as a band) and a bar chart
//! (one bar per series with its interval as a whisker), each with axes, units, a legend and the
//! table of its numbers. Series differ in colour (Okabe-Ito, safe for colour-blind readers), in
//! dash pattern and in marker shape, so they stay apart in greyscale.
//!
//! What it must NOT do: change or round a number before the table shows it (the JSON holds the
//! same values), draw a line across [`BREAK_YEAR`] for a series not comparable across it, or
//! use a script, a font or an image from elsewhere.
//!
//! The DOM carries what the browser test checks: `figure.chart[data-series]`, one
//! `g.series[data-points]` per series with one `.point` per published point, `.x-axis`,
//! `.y-axis` and the chart's `figcaption`.

use maud::{Markup, html};

use super::{BREAK_YEAR, Chart, ChartKind, Point, Series, interval, percent};

/// Okabe-Ito: blue, vermillion, bluish green, reddish purple, black, orange.
const COLOURS: [&str; 6] = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#000000", "#e69f00"];
/// Solid, dashed, dotted, dash-dot: apart in greyscale too.
const DASHES: [&str; 4] = ["", "8 4", "2 3", "10 3 2 3"];

const WIDTH: f64 = 720.0;
const TREND_HEIGHT: f64 = 320.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 46.0;

/// The chart, its legend, footnotes and table.
pub fn figure(chart: &Chart) -> Markup {
    let body = match chart.kind {
        ChartKind::Trend => trend_svg(chart),
        ChartKind::Bars => bars_svg(chart),
    };
    html! {
        figure.chart id=(chart.id) data-series=(chart.series.len()) data-kind=(kind_name(chart.kind)) {
            figcaption { (chart.title) }
            (body)
            @if chart.kind == ChartKind::Trend { (legend(&chart.series)) }
        }
        (table(chart))
        @if !chart.footnotes.is_empty() {
            ol.footnotes { @for f in &chart.footnotes { li { (f) } } }
        }
    }
}

fn kind_name(kind: ChartKind) -> &'static str {
    match kind {
        ChartKind::Trend => "trend",
        ChartKind::Bars => "bars",
    }
}

fn style(i: usize) -> (&'static str, &'static str) {
    (COLOURS[i % COLOURS.len()], DASHES[i % DASHES.len()])
}

/// A marker of shape `i` (circle, square, triangle, diamond, …) centred at (x, y).
fn marker(i: usize, x: f64, y: f64, colour: &str, class: &str) -> Markup {
    match i % 4 {
        0 => html! { circle class=(class) cx=(r1(x)) cy=(r1(y)) r="4" fill=(colour) {} },
        1 => html! { rect class=(class) x=(r1(x - 4.0)) y=(r1(y - 4.0)) width="8" height="8" fill=(colour) {} },
        2 => {
            html! { polygon class=(class) points=(format!("{},{} {},{} {},{}", r1(x), r1(y - 5.0), r1(x - 5.0), r1(y + 4.0), r1(x + 5.0), r1(y + 4.0))) fill=(colour) {} }
        }
        _ => {
            html! { polygon class=(class) points=(format!("{},{} {},{} {},{} {},{}", r1(x), r1(y - 5.0), r1(x + 5.0), r1(y), r1(x), r1(y + 5.0), r1(x - 5.0), r1(y))) fill="#ffffff" stroke=(colour) stroke-width="2" {} }
        }
    }
}

/// Screen coordinates with one decimal: enough for a 720-unit view box, and stable bytes.
fn r1(v: f64) -> String {
    format!("{v:.1}")
}

struct Scale {
    x0: f64,
    x1: f64,
    y_max: f64,
    height: f64,
}

impl Scale {
    fn x(&self, year: i16) -> f64 {
        let span = (self.x1 - self.x0).max(1.0);
        LEFT + 20.0 + (f64::from(year) - self.x0) / span * (WIDTH - LEFT - RIGHT - 40.0)
    }
    fn y(&self, v: f64) -> f64 {
        TOP + (1.0 - v / self.y_max) * (self.height - TOP - BOTTOM)
    }
}

/// Runs of consecutive published points a line may join: broken by an unpublished year and,
/// for a series not comparable across versions, at [`BREAK_YEAR`].
fn segments(series: &Series) -> Vec<Vec<&Point>> {
    let mut out: Vec<Vec<&Point>> = Vec::new();
    let mut run: Vec<&Point> = Vec::new();
    for p in &series.points {
        let drawable = p.published && p.estimate.is_some();
        let crosses = run
            .last()
            .is_some_and(|last| !series.comparable_across_break && last.jaar < BREAK_YEAR && p.jaar >= BREAK_YEAR);
        if (!drawable || crosses) && !run.is_empty() {
            out.push(std::mem::take(&mut run));
        }
        if drawable {
            run.push(p);
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

fn trend_svg(chart: &Chart) -> Markup {
    let years: Vec<i16> = chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.jaar)).collect();
    let (lo, hi) =
        (years.iter().min().copied().unwrap_or(BREAK_YEAR), years.iter().max().copied().unwrap_or(BREAK_YEAR));
    let scale = Scale { x0: f64::from(lo), x1: f64::from(hi), y_max: chart.y_max, height: TREND_HEIGHT };
    let all_years: Vec<i16> = (lo..=hi).collect();
    let any_break = chart.series.iter().any(|s| !s.comparable_across_break) && lo < BREAK_YEAR && hi >= BREAK_YEAR;
    html! {
        svg viewBox=(format!("0 0 {WIDTH} {TREND_HEIGHT}")) role="img" aria-label=(chart.title) {
            title { (chart.title) }
            (y_axis(&scale, &chart.y_label))
            g.x-axis {
                line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(r1(scale.y(0.0))) y2=(r1(scale.y(0.0))) stroke="#333" {}
                @for y in &all_years {
                    text x=(r1(scale.x(*y))) y=(r1(TREND_HEIGHT - BOTTOM + 16.0)) text-anchor="middle" font-size="12" { (y) }
                }
                text.axis-title x=(r1((LEFT + WIDTH) / 2.0)) y=(r1(TREND_HEIGHT - 6.0)) text-anchor="middle" font-size="12" { (chart.x_label) }
            }
            @if any_break {
                line x1=(r1(scale.x(BREAK_YEAR) - 0.5 * (scale.x(BREAK_YEAR) - scale.x(BREAK_YEAR - 1)))) x2=(r1(scale.x(BREAK_YEAR) - 0.5 * (scale.x(BREAK_YEAR) - scale.x(BREAK_YEAR - 1)))) y1=(TOP) y2=(r1(scale.y(0.0))) stroke="#777" stroke-dasharray="3 3" {}
                text x=(r1(scale.x(BREAK_YEAR) - 0.5 * (scale.x(BREAK_YEAR) - scale.x(BREAK_YEAR - 1)) + 4.0)) y=(TOP + 10.0) font-size="11" fill="#444" { "vragenlijst 2022" }
            }
            @for (i, s) in chart.series.iter().enumerate() { (trend_series(i, s, &scale)) }
        }
    }
}

fn y_axis(scale: &Scale, label: &str) -> Markup {
    let ticks: Vec<f64> = (0..=5).map(|k| scale.y_max * f64::from(k) / 5.0).collect();
    let mid = (TOP + scale.height - BOTTOM) / 2.0;
    html! {
        g.y-axis {
            line x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(r1(scale.y(0.0))) stroke="#333" {}
            @for t in &ticks {
                line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(r1(scale.y(*t))) y2=(r1(scale.y(*t))) stroke="#e4e4e4" {}
                text x=(LEFT - 6.0) y=(r1(scale.y(*t) + 4.0)) text-anchor="end" font-size="12" { (format!("{t:.0}%")) }
            }
            text.axis-title transform=(format!("translate(14 {}) rotate(-90)", r1(mid))) text-anchor="middle" font-size="12" { (label) }
        }
    }
}

fn trend_series(i: usize, s: &Series, scale: &Scale) -> Markup {
    let (colour, dash) = style(i);
    let drawn = s.points.iter().filter(|p| p.published && p.estimate.is_some()).count();
    html! {
        g.series data-points=(drawn) data-label=(s.label) {
            @for seg in segments(s) {
                @let upper: Vec<String> = seg.iter().filter_map(|p| Some(format!("{},{}", r1(scale.x(p.jaar)), r1(scale.y(p.ci_high?))))).collect();
                @let lower: Vec<String> = seg.iter().rev().filter_map(|p| Some(format!("{},{}", r1(scale.x(p.jaar)), r1(scale.y(p.ci_low?))))).collect();
                polygon.band points=(format!("{} {}", upper.join(" "), lower.join(" "))) fill=(colour) fill-opacity="0.14" stroke="none" {}
                @let line: Vec<String> = seg.iter().filter_map(|p| Some(format!("{},{}", r1(scale.x(p.jaar)), r1(scale.y(p.estimate?))))).collect();
                polyline points=(line.join(" ")) fill="none" stroke=(colour) stroke-width="2.2" stroke-dasharray=(dash) {}
            }
            @for p in s.points.iter().filter(|p| p.published) {
                @if let Some(e) = p.estimate {
                    (marker(i, scale.x(p.jaar), scale.y(e), colour, if p.differs == Some(true) { "point differs" } else { "point" }))
                    @if p.differs == Some(true) {
                        circle cx=(r1(scale.x(p.jaar))) cy=(r1(scale.y(e))) r="9" fill="none" stroke="#000" stroke-width="1.5" {}
                    }
                }
            }
        }
    }
}

/// Horizontal bars, one row per series: its label above the bar, the interval as a whisker.
fn bars_svg(chart: &Chart) -> Markup {
    let row = 40.0;
    let height = TOP + row * chart.series.len() as f64 + BOTTOM;
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |v: f64| LEFT + v / chart.y_max * plot_w;
    let axis_y = TOP + row * chart.series.len() as f64;
    html! {
        svg viewBox=(format!("0 0 {WIDTH} {}", r1(height))) role="img" aria-label=(chart.title) {
            title { (chart.title) }
            g.x-axis {
                line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(r1(axis_y)) y2=(r1(axis_y)) stroke="#333" {}
                @for k in 0..=5 {
                    @let t = chart.y_max * f64::from(k) / 5.0;
                    line x1=(r1(x(t))) x2=(r1(x(t))) y1=(TOP) y2=(r1(axis_y)) stroke="#e4e4e4" {}
                    text x=(r1(x(t))) y=(r1(axis_y + 16.0)) text-anchor="middle" font-size="12" { (format!("{t:.0}%")) }
                }
                text.axis-title x=(r1((LEFT + WIDTH) / 2.0)) y=(r1(height - 6.0)) text-anchor="middle" font-size="12" { (chart.y_label) }
            }
            g.y-axis { line x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(r1(axis_y)) stroke="#333" {} }
            @for (i, s) in chart.series.iter().enumerate() {
                @let top = TOP + row * i as f64;
                g.series data-points=(s.points.iter().filter(|p| p.published && p.estimate.is_some()).count()) data-label=(s.label) {
                    text x=(LEFT + 4.0) y=(r1(top + 13.0)) font-size="12" { (s.label) }
                    @for p in s.points.iter().filter(|p| p.published) {
                        @if let Some(e) = p.estimate {
                            rect.point x=(LEFT) y=(r1(top + 18.0)) width=(r1(x(e) - LEFT)) height="14" fill=(COLOURS[0]) {}
                            @if let (Some(lo), Some(hi)) = (p.ci_low, p.ci_high) {
                                line x1=(r1(x(lo))) x2=(r1(x(hi))) y1=(r1(top + 25.0)) y2=(r1(top + 25.0)) stroke="#000" stroke-width="1.5" {}
                                line x1=(r1(x(lo))) x2=(r1(x(lo))) y1=(r1(top + 20.0)) y2=(r1(top + 30.0)) stroke="#000" stroke-width="1.5" {}
                                line x1=(r1(x(hi))) x2=(r1(x(hi))) y1=(r1(top + 20.0)) y2=(r1(top + 30.0)) stroke="#000" stroke-width="1.5" {}
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The legend as HTML under the chart: it wraps on a phone where an SVG legend would not.
fn legend(series: &[Series]) -> Markup {
    html! {
        ul.legend {
            @for (i, s) in series.iter().enumerate() {
                @let (colour, dash) = style(i);
                li {
                    svg width="34" height="14" viewBox="0 0 34 14" aria-hidden="true" {
                        line x1="1" x2="33" y1="7" y2="7" stroke=(colour) stroke-width="2.2" stroke-dasharray=(dash) {}
                        (marker(i, 17.0, 7.0, colour, "legend-marker"))
                    }
                    " " (s.label)
                }
            }
        }
    }
}

/// The numbers of the chart in long form (one row per series and year): narrow enough for a
/// phone however many series there are.
fn table(chart: &Chart) -> Markup {
    let differs_column = chart.series.iter().any(|s| s.points.iter().any(|p| p.differs.is_some()));
    html! {
        div.scroll { table.figures {
            caption { "Cijfers bij: " (chart.title) }
            tr {
                th { "Reeks" } th.n { "Jaar" } th.n { "Percentage" } th.n { "95%-interval" } th.n { "n (ongewogen)" }
                @if differs_column { th { "Wijkt af van Nederland" } }
                th { "Opmerking" }
            }
            @for s in &chart.series {
                @for p in &s.points {
                    tr {
                        td { (s.label) } td.n { (p.jaar) } td.n { (percent(p.estimate)) }
                        td.n { (interval(p.ci_low, p.ci_high)) } td.n { (p.n) }
                        @if differs_column { td { @match p.differs { Some(true) => "ja ◆", Some(false) => "nee", None => "" } } }
                        td { (p.note.clone().unwrap_or_default()) }
                    }
                }
            }
        } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(jaar: i16, published: bool) -> Point {
        Point {
            jaar,
            estimate: Some(50.0),
            ci_low: Some(45.0),
            ci_high: Some(55.0),
            n: 100,
            published,
            note: None,
            differs: None,
        }
    }

    fn series(comparable: bool, points: Vec<Point>) -> Series {
        Series {
            label: "a <b>".into(),
            indicator: "x".into(),
            lft_cy: None,
            comparable_across_break: comparable,
            points,
        }
    }

    #[test]
    fn a_line_breaks_at_the_version_change_only_when_not_comparable() {
        let pts = || vec![point(2020, true), point(2021, true), point(2022, true), point(2023, true)];
        assert_eq!(segments(&series(true, pts())).len(), 1);
        let broken = series(false, pts());
        let split = segments(&broken);
        assert_eq!(split.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2]);
    }

    #[test]
    fn an_unpublished_year_breaks_the_line_and_is_no_point() {
        let s = series(true, vec![point(2020, true), point(2021, false), point(2022, true)]);
        assert_eq!(segments(&s).len(), 2);
        let chart = Chart {
            id: "c".into(),
            kind: ChartKind::Trend,
            title: "T".into(),
            x_label: "Jaar".into(),
            y_label: "Percentage".into(),
            y_max: 100.0,
            series: vec![s],
            footnotes: vec![],
        };
        let html = figure(&chart).into_string();
        assert!(html.contains("data-points=\"2\""), "{html}");
        assert_eq!(html.matches("class=\"point\"").count(), 2);
        assert!(html.contains("a &lt;b&gt;") && !html.contains("a <b>"));
    }
}
