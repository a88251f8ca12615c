//! The findings pages end to end: a synthesised corpus across the 2022 questionnaire change is
//! run, then (1) every number of the national page's JSON is the very `f64` of
//! `indicators/national.parquet` (and the municipality page's of `municipality.parquet`), and
//! (2) in headless Chromium (skipped, with the reason printed, when none is installed) every
//! page kind, the delivery and run reports too, renders its charts with title, axes and as many
//! series and points as the JSON says, overflows neither 1280 nor 390 px, and loads nothing.
//! Screenshots go to `<target>/findings-screenshots/`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use burgerpeiling::codebook::Codebook;
use burgerpeiling::indicators::figures::{MunicipalityFigure, NationalFigure};
use burgerpeiling::municipality::Municipalities;
use burgerpeiling::synth::{self, SynthOptions};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One lake for every test of this file, built once.
fn lake() -> &'static Path {
    static LAKE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &LAKE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let config = Path::new(ROOT).join("config");
            let (cb, m) = (Codebook::load(&config).unwrap(), Municipalities::load(&config).unwrap());
            let opts = SynthOptions {
                out: dir.path().join("s"),
                municipalities: 4,
                years: (2020, 2023),
                respondents: 200,
                ..SynthOptions::default()
            };
            synth::synth(&opts, &cb, &m).unwrap();
            let lake = dir.path().join("lake");
            let out = common::run_args(&mut common::binary(), &dir.path().join("s"), &lake, &dir.path().join("state"))
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            (dir, lake)
        })
        .1
}

fn findings_dir() -> PathBuf {
    lake().join("reports/findings")
}

fn json(name: &str) -> Value {
    serde_json::from_str(&fs::read_to_string(findings_dir().join(name)).unwrap()).unwrap()
}

fn first_municipality_page() -> String {
    let mut pages: Vec<String> = fs::read_dir(findings_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("municipality-") && n.ends_with(".json"))
        .collect();
    pages.sort();
    pages.first().expect("a municipality page").trim_end_matches(".json").to_string()
}

fn bits(v: &Value) -> Option<u64> {
    v.as_f64().map(f64::to_bits)
}

fn same_numbers(p: &Value, estimate: Option<f64>, low: Option<f64>, high: Option<f64>, n: i64, published: bool) {
    assert_eq!(bits(&p["estimate"]), estimate.map(f64::to_bits), "{p}");
    assert_eq!(bits(&p["ci_low"]), low.map(f64::to_bits), "{p}");
    assert_eq!(bits(&p["ci_high"]), high.map(f64::to_bits), "{p}");
    assert_eq!(p["n"].as_i64(), Some(n), "{p}");
    assert_eq!(p["published"].as_bool(), Some(published), "{p}");
}

#[test]
fn national_json_numbers_are_the_parquet_f64s() {
    let mut national = Vec::new();
    for b in burgerpeiling::lake::read_parquet(&lake().join("indicators/national.parquet")).unwrap() {
        national.extend(NationalFigure::from_record_batch(&b).unwrap());
    }
    let page = json("national.json");
    let mut checked = 0;
    for chart in page["charts"].as_array().unwrap() {
        for s in chart["series"].as_array().unwrap() {
            let lft = s["lft_cy"].as_i64().map(|k| k as i16);
            for p in s["points"].as_array().unwrap() {
                let f = national
                    .iter()
                    .find(|f| f.indicator == s["indicator"] && f.lft_cy == lft && i64::from(f.jaar) == p["jaar"])
                    .unwrap_or_else(|| panic!("no figure for {s}"));
                same_numbers(p, f.estimate, f.ci_low, f.ci_high, f.n, f.published);
                checked += 1;
            }
        }
    }
    // 4 years × (3 + 2 + 1 + 4 series) trend points and 11 bars.
    assert_eq!(checked, 4 * 10 + 11);
}

#[test]
fn municipality_json_numbers_are_the_parquet_f64s() {
    let mut figures = Vec::new();
    for b in burgerpeiling::lake::read_parquet(&lake().join("indicators/municipality.parquet")).unwrap() {
        figures.extend(MunicipalityFigure::from_record_batch(&b).unwrap());
    }
    let page = json(&format!("{}.json", first_municipality_page()));
    let code = page["gemeente_code"].as_str().unwrap();
    let charts = page["charts"].as_array().unwrap();
    assert_eq!(charts.len(), 6);
    for chart in charts {
        let own = &chart["series"][0];
        for p in own["points"].as_array().unwrap() {
            let f = figures
                .iter()
                .find(|f| f.gemeente_code == code && f.indicator == own["indicator"] && i64::from(f.jaar) == p["jaar"])
                .unwrap();
            same_numbers(p, f.estimate, f.ci_low, f.ci_high, f.n, f.published);
        }
        assert_eq!(chart["series"].as_array().unwrap().len(), 3, "municipality, nation, size class");
    }
    assert!(!page["response"].as_array().unwrap().is_empty());
    assert!(!page["deliveries"].as_array().unwrap().is_empty());
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        let out = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().ok()?;
        out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
}

fn screenshot_dir() -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| Path::new(ROOT).join("target"));
    let dir = target.join("findings-screenshots");
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The test's own harness page (never one of the product's pages): it frames the page at a
/// width and, once loaded, writes what the rendered DOM holds into its body, for `--dump-dom`.
const HARNESS: &str = r#"<!doctype html><html><body><iframe id="f" style="border:0;width:WIDTHpx;height:900px" src="PAGE"></iframe>
<script>
document.getElementById('f').onload = function () {
  var w = this.contentWindow, d = w.document, root = d.documentElement;
  var over = Array.prototype.filter.call(d.querySelectorAll('body *'), function (e) {
    var inScroll = e.parentElement && e.parentElement.closest('.scroll');
    return !inScroll && e.getBoundingClientRect().right > root.clientWidth + 1;
  });
  var charts = Array.prototype.map.call(d.querySelectorAll('figure.chart'), function (f) {
    return { title: (f.querySelector('figcaption') || {}).textContent || '', svgTitle: !!f.querySelector('svg > title'),
      x: !!f.querySelector('.x-axis text'), y: !!f.querySelector('.y-axis'),
      series: Array.prototype.map.call(f.querySelectorAll('g.series'), function (g) { return g.querySelectorAll('.point').length; }) };
  });
  var out = { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, over: over.length,
    resources: w.performance.getEntriesByType('resource').length, charts: charts };
  var pre = document.createElement('pre'); pre.id = 'result'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
};
</script></body></html>"#;

/// What the rendered page holds at a width, read through the harness.
fn rendered(browser: &Path, page: &Path, width: u32) -> Value {
    let harness = page.with_file_name(format!("harness-{width}.html"));
    let html =
        HARNESS.replace("WIDTH", &width.to_string()).replace("PAGE", &page.file_name().unwrap().to_string_lossy());
    fs::write(&harness, html).unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", harness.display()))
        .output()
        .unwrap();
    fs::remove_file(&harness).unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let doc = scraper::Html::parse_document(&dom);
    let sel = scraper::Selector::parse("pre#result").unwrap();
    let text: String =
        doc.select(&sel).next().unwrap_or_else(|| panic!("no result for {}: {dom}", page.display())).text().collect();
    serde_json::from_str(&text).unwrap()
}

fn screenshot(browser: &Path, page: &Path, width: u32) {
    let name = format!("{}-{width}.png", page.file_stem().unwrap().to_string_lossy());
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
        .arg(format!("--window-size={width},2400"))
        .arg(format!("--screenshot={}", screenshot_dir().join(name).display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Published points with an estimate, per series, as the JSON of a page says.
fn json_points(page: &Value) -> Vec<Vec<usize>> {
    page["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["series"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    s["points"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|p| p["published"] == true && p["estimate"].is_number())
                        .count()
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_page_kind_renders_in_chromium_at_desktop_and_phone_width() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no chromium on this machine (.ci/run installs it with apt-get)");
        return;
    };
    let municipality = first_municipality_page();
    let mut pages: Vec<(PathBuf, Option<Value>)> = vec![
        (findings_dir().join("national.html"), Some(json("national.json"))),
        (findings_dir().join(format!("{municipality}.html")), Some(json(&format!("{municipality}.json")))),
    ];
    let first_html = |dir: &str| -> PathBuf {
        let mut v: Vec<PathBuf> = fs::read_dir(lake().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "html"))
            .collect();
        v.sort();
        v.remove(0)
    };
    pages.push((first_html("reports/deliveries"), None));
    pages.push((first_html("reports/runs"), None));
    for (page, page_json) in &pages {
        for width in [1280, 390] {
            let r = rendered(&browser, page, width);
            let name = page.display();
            assert_eq!(r["resources"], 0, "{name} loaded something at {width}px: {r}");
            assert_eq!(r["over"], 0, "{name} overflows {width}px: {r}");
            assert!(
                r["scrollWidth"].as_i64() <= r["clientWidth"].as_i64(),
                "{name} scrolls sideways at {width}px: {r}"
            );
            let charts = r["charts"].as_array().unwrap();
            for c in charts {
                assert!(!c["title"].as_str().unwrap().trim().is_empty() && c["svgTitle"] == true, "{name}: {c}");
                assert!(c["x"] == true && c["y"] == true, "{name}: a chart without axes: {c}");
            }
            if let Some(j) = page_json {
                let dom: Vec<Vec<usize>> = charts
                    .iter()
                    .map(|c| c["series"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap() as usize).collect())
                    .collect();
                assert_eq!(dom, json_points(j), "{name}: series and points differ from the JSON");
            }
            screenshot(&browser, page, width);
        }
    }
}
