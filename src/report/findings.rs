//! The findings pages: the national trend page (the figures of the VNG article "Verbondenheid
//! door burenhulp", per survey year with 95% intervals) and one benchmark page per municipality
//! (its figure beside the national one and beside its CBS size class). Each page is one
//! self-contained HTML file on the reports' shared `maud` layout plus a JSON file that holds
//! every number the page shows, taken unchanged (same `f64`s) from the indicator tables.
//!
//! What it must NOT do: compute an indicator or its interval (the indicators stage does; the
//! only statistic here is the size-class mean of published municipality figures, see
//! `docs/decisions.md`), write into the lake (it returns bytes; `pipeline::publish` publishes),
//! put text on a page outside `maud`'s escaping, or load anything from the network.

mod chart;
mod data;
mod municipality;
mod national;

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

pub use data::{Figures, FindingsInput, load, load_with_figures};
pub use municipality::municipality_page;
pub use national::national_page;

/// The year the 2022 questionnaire took over (`../shared/domain/README.md`): a trend line of a
/// figure that is not comparable across versions is never drawn from the year before into it.
pub const BREAK_YEAR: i16 = 2022;

/// Whether the pages chart an indicator's municipality figures (the national page charts
/// national figures only).
pub fn charted(indicator: &str) -> bool {
    municipality::KEY_INDICATORS.contains(&indicator)
}

/// One point of a series: a survey year (or, in a bar chart, the latest year) and the
/// indicator stage's numbers for it, unchanged.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    pub jaar: i16,
    pub estimate: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Unweighted valid answers (for a size class: summed over its municipalities).
    pub n: i64,
    pub published: bool,
    /// Why a figure is not published, or what the reader must know (Dutch).
    pub note: Option<String>,
    /// Municipality page: the difference from the national figure lies outside both intervals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub differs: Option<bool>,
}

/// The [`Point`] of a municipality or national figure (`$f`, a binding), with its `note` and
/// `differs`. A macro rather than a function: the two figure types are distinct lake records that
/// merely name these fields alike, and a trait over them would need an accessor per field.
macro_rules! point_of_figure {
    ($f:ident, $note:expr, $differs:expr) => {
        $crate::report::findings::Point {
            jaar: $f.jaar,
            estimate: $f.estimate,
            ci_low: $f.ci_low,
            ci_high: $f.ci_high,
            n: $f.n,
            published: $f.published,
            note: $note,
            differs: $differs,
        }
    };
}
use point_of_figure;

/// One line (or one bar) of a chart.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    pub label: String,
    pub indicator: String,
    /// Age class (`lft_cy` 1-4) of a national figure; `None` for all ages.
    pub lft_cy: Option<i16>,
    /// Whether the line may be drawn from the year before [`BREAK_YEAR`] into it.
    pub comparable_across_break: bool,
    pub points: Vec<Point>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// Years on the x axis, one line with its interval band per series.
    Trend,
    /// One bar per series (its single point), with the interval as a whisker.
    Bars,
}

/// A chart with the table under it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Chart {
    pub id: String,
    pub kind: ChartKind,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Every percentage chart shares one scale: 0 to 100.
    pub y_max: f64,
    pub series: Vec<Series>,
    pub footnotes: Vec<String>,
}

/// One page: its HTML and its JSON, and the file stem both are written under.
pub struct Page {
    pub stem: String,
    pub html: String,
    pub json: String,
}

/// Every page `run` writes: the national page and one per municipality with figures, as
/// `(path relative to the lake, bytes)` under `reports/findings/`. The pages are rendered in
/// parallel, and listed in code order all the same: on a nightly run they share the cores with
/// the indicator tables' files.
pub fn all_pages(input: &FindingsInput) -> Result<Vec<(String, Vec<u8>)>> {
    use rayon::prelude::*;
    let codes = input.municipality_codes();
    let (national, municipalities) = rayon::join(
        || national_page(input),
        || codes.par_iter().map(|code| municipality_page(input, code)).collect::<Result<Vec<Page>>>(),
    );
    Ok(std::iter::once(national?)
        .chain(municipalities?)
        .flat_map(|p| {
            [
                (format!("reports/findings/{}.html", p.stem), p.html.into_bytes()),
                (format!("reports/findings/{}.json", p.stem), p.json.into_bytes()),
            ]
        })
        .collect())
}

/// Writes one page's HTML and JSON into `dir` (the `report` command); returns both paths.
pub fn write_page(dir: &Path, page: &Page) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let html = dir.join(format!("{}.html", page.stem));
    let json = dir.join(format!("{}.json", page.stem));
    std::fs::write(&html, &page.html).with_context(|| format!("cannot write {}", html.display()))?;
    std::fs::write(&json, &page.json).with_context(|| format!("cannot write {}", json.display()))?;
    Ok((html, json))
}

/// A percentage with a decimal comma and one decimal, as Dutch readers write it.
fn percent(value: Option<f64>) -> String {
    match value {
        Some(v) => format!("{v:.1}").replace('.', ","),
        None => "—".to_string(),
    }
}

/// "a – b" for an interval, or a dash.
fn interval(low: Option<f64>, high: Option<f64>) -> String {
    match (low, high) {
        (Some(_), Some(_)) => format!("{} – {}", percent(low), percent(high)),
        _ => "—".to_string(),
    }
}
