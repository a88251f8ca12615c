//! Tests of the synthetic generator: determinism, the survey rules the data must obey, the
//! weights, and that written files read back as generated.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use calamine::{Data, Reader, Xlsx};

use super::*;
use crate::codebook::{Codebook, ResearchVariable};
use crate::municipality::Municipalities;

fn config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

fn codebook() -> Codebook {
    Codebook::load(&config()).unwrap()
}

fn municipalities() -> Municipalities {
    Municipalities::load(&config()).unwrap()
}

fn small(out: &Path, seed: u64) -> SynthOptions {
    SynthOptions {
        out: out.to_path_buf(),
        seed,
        municipalities: 3,
        years: (2020, 2023),
        respondents: 120,
        messy: false,
        ..SynthOptions::default()
    }
}

/// Every file under `dir`, relative path → bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    super::written_files(dir).unwrap()
}

fn format_of<'a>(cb: &'a Codebook, d: &GeneratedDelivery) -> &'a crate::codebook::Dataformat {
    cb.formats.iter().find(|f| f.name == d.dataformat).unwrap()
}

fn value(d: &GeneratedDelivery, r: &GeneratedRespondent, name: &str) -> Option<i16> {
    d.variables.iter().position(|v| v == name).and_then(|i| r.answers[i])
}

#[test]
fn same_seed_gives_byte_identical_files_and_another_seed_does_not() {
    let (cb, m) = (codebook(), municipalities());
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    synth(&small(dirs[0].path(), 42), &cb, &m).unwrap();
    synth(&small(dirs[1].path(), 42), &cb, &m).unwrap();
    synth(&small(dirs[2].path(), 43), &cb, &m).unwrap();
    let (a, b, c) = (files(dirs[0].path()), files(dirs[1].path()), files(dirs[2].path()));
    assert_eq!(a.len(), 3 * 4 + 1);
    assert!(a.keys().any(|k| k.ends_with(".xlsx")) && a.keys().any(|k| k.ends_with(".csv")));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{name} differs between two runs with the same seed");
    }
    let same = a.iter().filter(|(k, v)| c.get(*k) == Some(*v)).count();
    assert_eq!(same, 0, "seed 43 reproduced files of seed 42");
}

#[test]
fn generation_is_deterministic_and_independent_of_the_year_range() {
    let (cb, m) = (codebook(), municipalities());
    let opts = SynthOptions { respondents: 50, ..SynthOptions::default() };
    let a = generate(&opts, &cb, &m);
    assert_eq!(a, generate(&opts, &cb, &m));
    // A delivery is seeded by (seed, municipality, year), so narrowing the range keeps it.
    let narrow = generate(&SynthOptions { years: (2021, 2022), ..opts.clone() }, &cb, &m);
    for d in &narrow {
        let same = a.iter().find(|x| x.gemeente_code == d.gemeente_code && x.year == d.year).unwrap();
        assert_eq!(d.respondents, same.respondents);
        assert_eq!(d.quarter, same.quarter);
    }
}

#[test]
fn default_sample_has_both_formats_both_versions_and_drawn_municipalities() {
    let (cb, m) = (codebook(), municipalities());
    let ds = generate(&SynthOptions::default(), &cb, &m);
    assert_eq!(ds.len(), 6 * 6);
    let xlsx = ds.iter().filter(|d| d.format == Format::Xlsx).count();
    assert!((18..=22).contains(&xlsx), "{xlsx} of 36 are xlsx");
    assert!(ds.iter().any(|d| d.format == Format::Csv));

    let codes: BTreeSet<&str> = ds.iter().map(|d| d.gemeente_code.as_str()).collect();
    assert_eq!(codes.len(), 6);
    let first6: BTreeSet<&str> = m.current().take(6).map(|x| x.code.as_str()).collect();
    assert_ne!(codes, first6, "municipalities must be drawn, not the first six");

    for d in &ds {
        let muni = m.get(&d.gemeente_code).unwrap();
        assert_eq!(d.gemnr as u16, muni.number());
        let ext = d.format.as_str();
        assert_eq!(d.file_name, format!("{0}/BP-{0}-{1}-{2}.{ext}", d.year, d.quarter, muni.name));
        assert!((1..=4).contains(&d.quarter));
        let expected = if d.year < 2022 { DATAFORMAT_2019 } else { DATAFORMAT_2022 };
        assert_eq!(d.dataformat, expected, "{}", d.file_name);
        assert!((540..=660).contains(&d.respondents.len()), "{}", d.respondents.len());
        let numbers: BTreeSet<u32> = d.respondents.iter().map(|r| r.respondent).collect();
        assert_eq!(numbers.len(), d.respondents.len(), "respondent numbers must be unique");
        let org_labels = &format_of(&cb, d).variables.iter().find(|v| v.name == "org").unwrap().value_labels;
        assert!(org_labels.iter().any(|(c, _)| *c == d.org));
    }
    // One agency per municipality across years.
    for code in &codes {
        let orgs: BTreeSet<i16> = ds.iter().filter(|d| d.gemeente_code == *code).map(|d| d.org).collect();
        assert_eq!(orgs.len(), 1);
    }
}

#[test]
fn written_variables_are_the_numeric_questionnaire_variables_in_order() {
    let (cb, m) = (codebook(), municipalities());
    let ds = generate(&SynthOptions { respondents: 20, ..SynthOptions::default() }, &cb, &m);
    for d in &ds {
        let f = format_of(&cb, d);
        let research: Vec<&str> = ResearchVariable::ALL.iter().map(|r| r.name()).collect();
        let expected: Vec<&str> = f
            .variables
            .iter()
            .filter(|v| !v.text && !research.contains(&v.name.as_str()))
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(d.variables, expected);
        for forbidden in ["ch08", "wl10", "inv01", "zw08_6_text", "wijknr", "weging"] {
            assert!(!d.variables.iter().any(|v| v == forbidden), "{forbidden} written");
        }
        if d.dataformat == DATAFORMAT_2019 {
            assert!(d.variables.iter().any(|v| v == "dv03_0"));
            assert!(!d.variables.iter().any(|v| v == "zw08_7"));
        } else {
            assert!(d.variables.iter().any(|v| v == "zw08_7"));
            assert!(!d.variables.iter().any(|v| v == "dv03_0"));
        }
        for r in &d.respondents {
            assert_eq!(r.answers.len(), d.variables.len());
        }
    }
}

#[test]
fn routing_is_respected_for_every_respondent() {
    let (cb, m) = (codebook(), municipalities());
    let ds = generate(&SynthOptions::default(), &cb, &m);
    let mut fired = [0usize; 3];
    for d in &ds {
        let idx = |pred: &dyn Fn(&str) -> bool| -> Vec<usize> {
            d.variables.iter().enumerate().filter(|(_, v)| pred(v)).map(|(i, _)| i).collect()
        };
        let v2019 = d.dataformat == DATAFORMAT_2019;
        let r1 = idx(&|v| {
            matches!(v, "dv00" | "dv12" | "dv05_0" | "mm02_0")
                || v.starts_with("dv07_")
                || v.starts_with("mm01_")
                || (v2019 && v == "dv13")
        });
        assert_eq!(r1.len(), if v2019 { 14 } else { 13 });
        let r3 = idx(&|v| v.starts_with("zw08_"));
        assert_eq!(r3.len(), if v2019 { 7 } else { 8 });
        let r4 = idx(&|v| v == "zw09");
        for r in &d.respondents {
            for (rule, cond, skipped) in [
                (0, value(d, r, "dv02") == Some(2), &r1),
                (1, matches!(value(d, r, "zw06_3"), Some(1 | 2)), &r3),
                (2, value(d, r, "zw06_0") == Some(3), &r4),
            ] {
                if cond {
                    fired[rule] += 1;
                    for &i in skipped.iter() {
                        assert_eq!(r.answers[i], None, "{} {}: {}", d.file_name, r.respondent, d.variables[i]);
                    }
                }
            }
        }
    }
    assert!(fired.iter().all(|&n| n > 100), "every rule must be exercised: {fired:?}");
}

#[test]
fn only_labelled_or_declared_missing_codes_appear() {
    let (cb, m) = (codebook(), municipalities());
    let ds = generate(&SynthOptions::default(), &cb, &m);
    let mut declared_missing = 0usize;
    let mut cells = 0usize;
    for d in &ds {
        let f = format_of(&cb, d);
        let vars: Vec<&crate::codebook::Variable> =
            d.variables.iter().map(|n| f.variables.iter().find(|v| &v.name == n).unwrap()).collect();
        for r in &d.respondents {
            for (v, a) in vars.iter().zip(&r.answers) {
                let Some(code) = a else { continue };
                cells += 1;
                let labelled = v.value_labels.iter().any(|(c, _)| c == code);
                let missing = v.user_missing.contains(code);
                declared_missing += usize::from(missing);
                assert!(labelled || missing, "{} {}: code {code}", d.file_name, v.name);
            }
        }
    }
    let share = declared_missing as f64 / cells as f64;
    assert!((0.001..0.01).contains(&share), "declared missing share {share}");
}

#[test]
fn answers_look_like_survey_data() {
    let (cb, m) = (codebook(), municipalities());
    let ds = generate(&SynthOptions::default(), &cb, &m);
    let mut ticked = (0usize, 0usize);
    let mut blank_wl01 = (0usize, 0usize);
    let mut dont_know_wl02 = (0usize, 0usize);
    let mut modes = (0usize, 0usize);
    let mut wijk_blank = 0usize;
    for d in &ds {
        for r in &d.respondents {
            modes.0 += usize::from(r.veldwerkmodus == 1);
            modes.1 += 1;
            assert!(matches!(r.veldwerkmodus, 1 | 2));
            match &r.wijknr {
                None => wijk_blank += 1,
                Some(w) => {
                    assert_eq!(w.len(), 8);
                    assert_eq!(&w[..6], &format!("WK{}", &d.gemeente_code[2..]));
                }
            }
            // A checkbox the article does not chart (zw13 follows the article's shares).
            if let Some(i) = d.variables.iter().position(|v| v == "zw05_0") {
                ticked.0 += usize::from(r.answers[i] == Some(1));
                ticked.1 += 1;
            }
            blank_wl01.0 += usize::from(value(d, r, "wl01").is_none());
            blank_wl01.1 += 1;
            dont_know_wl02.0 += usize::from(value(d, r, "wl02_0") == Some(6));
            dont_know_wl02.1 += 1;
        }
        let districts: BTreeSet<&str> = d.respondents.iter().filter_map(|r| r.wijknr.as_deref()).collect();
        assert!((4..=8).contains(&districts.len()), "{} districts", districts.len());
    }
    let ratio = |(a, b): (usize, usize)| a as f64 / b as f64;
    assert!((0.20..0.29).contains(&ratio(ticked)), "ticked {}", ratio(ticked));
    assert!((0.02..0.045).contains(&ratio(blank_wl01)), "blank {}", ratio(blank_wl01));
    assert!((0.01..0.08).contains(&ratio(dont_know_wl02)), "don't know {}", ratio(dont_know_wl02));
    assert!((0.62..0.68).contains(&ratio(modes)), "web {}", ratio(modes));
    assert!((0.005..0.02).contains(&ratio((wijk_blank, modes.1))));
}

#[test]
fn charted_answers_follow_the_article_by_age_class() {
    let (cb, m) = (codebook(), municipalities());
    let opts = SynthOptions { municipalities: 12, years: (2023, 2023), ..SynthOptions::default() };
    let mut help = [(0usize, 0usize); article::CLASSES];
    let mut kinds = [0usize; 11];
    let (mut base, mut dont_know, mut answered) = (0usize, 0usize, 0usize);
    for d in &generate(&opts, &cb, &m) {
        for r in &d.respondents {
            let class = value(d, r, "ch02").and_then(article::class_of);
            if let (Some(c), Some(a @ 1..=3)) = (class, value(d, r, "zw06_1")) {
                help[c].0 += usize::from(a < 3);
                help[c].1 += 1;
            }
            let ticks: Vec<bool> = (0..11).map(|k| value(d, r, &format!("zw13_{k}")) == Some(1)).collect();
            if ticks.contains(&true) {
                base += 1;
                kinds.iter_mut().zip(&ticks).for_each(|(n, &t)| *n += usize::from(t));
            }
            let wl02 = value(d, r, "wl02_0");
            dont_know += usize::from(wl02 == Some(6));
            answered += usize::from(wl02.is_some());
        }
    }
    let item = article::ITEMS.iter().find(|i| i.variable == "zw06_1").unwrap();
    for (c, (yes, n)) in help.iter().enumerate() {
        let share = *yes as f64 / *n as f64;
        assert!((share - item.by_class(2023)[c]).abs() < 0.05, "class {c}: {share}");
    }
    let targets = article::KINDS.iter().chain([&article::CANNOT, &article::WILL_NOT]);
    for ((name, p), n) in targets.zip(kinds) {
        let share = n as f64 / base as f64;
        assert!((share - p).abs() < 0.025, "{name}: {share} for {p}");
    }
    let share = dont_know as f64 / answered as f64;
    assert!((0.015..0.045).contains(&share), "don't know {share}");
}

/// `population.csv` → (region, year) → counts per band.
fn read_population(path: &Path) -> BTreeMap<(String, u16), [u64; 6]> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>().join(","), population::HEADER);
    let mut out: BTreeMap<(String, u16), [u64; 6]> = BTreeMap::new();
    for row in reader.records() {
        let row = row.unwrap();
        let year: u16 = row[0].parse().unwrap();
        let from: u8 = row[2].parse().unwrap();
        let band = AGE_BANDS.iter().position(|b| b.0 == from).unwrap();
        let to = AGE_BANDS[band].1.map(|t| t.to_string()).unwrap_or_default();
        assert_eq!(&row[3], to);
        assert_eq!(&row[4], "total");
        out.entry((row[1].to_string(), year)).or_default()[band] = row[5].parse().unwrap();
    }
    out
}

#[test]
fn weging_is_post_stratification_to_the_population_file() {
    let (cb, m) = (codebook(), municipalities());
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions { out: dir.path().to_path_buf(), respondents: 600, ..SynthOptions::default() };
    let summary = synth(&opts, &cb, &m).unwrap();
    let population = read_population(&summary.population_file);
    assert_eq!(population.len(), (6 + 1) * 6, "six municipalities and NL01, six years");
    for ((region, _), counts) in &population {
        let total: u64 = counts.iter().sum();
        if region == population::NATIONAL_REGION {
            assert!((14_000_000..15_500_000).contains(&total), "{total}");
        } else {
            assert!((10_000..=200_000).contains(&total), "{total}");
        }
    }
    for d in &summary.deliveries {
        let counts = population[&(d.gemeente_code.clone(), d.year)];
        let total: u64 = counts.iter().sum();
        let pop_share = counts.map(|c| c as f64 / total as f64);
        let ages: Vec<Option<i16>> = d.respondents.iter().map(|r| value(d, r, "ch02")).collect();
        let mut n = [0usize; 6];
        for b in ages.iter().flatten() {
            n[(*b - 1) as usize] += 1;
        }
        let answered: usize = n.iter().sum();
        let missing = ages.iter().filter(|a| a.is_none()).count() as f64 / ages.len() as f64;
        assert!(missing < 0.05, "{missing}");
        let mut weighted = [0.0; 6];
        for (r, age) in d.respondents.iter().zip(&ages) {
            match age {
                None => assert_eq!(r.weging, 1.0),
                Some(code) => {
                    let b = (*code - 1) as usize;
                    let expected = pop_share[b] / (n[b] as f64 / answered as f64);
                    assert!((r.weging - expected).abs() <= 0.0005 + 1e-12, "{} vs {expected}", r.weging);
                    assert_eq!(r.weging, (r.weging * 1000.0).round() / 1000.0);
                    weighted[b] += r.weging;
                }
            }
        }
        let weighted_total: f64 = weighted.iter().sum();
        for b in 0..6 {
            assert!((weighted[b] / weighted_total - pop_share[b]).abs() < 0.002, "band {b}");
        }
        // Respondents are older than the population: the young get weights above 1.
        assert!(n[0] as f64 / (answered as f64) < pop_share[0]);
    }
}

fn csv_cell(v: &ResearchVariable, d: &GeneratedDelivery, r: &GeneratedRespondent) -> String {
    match write::research_value(d, r, *v) {
        write::ResearchValue::Number(_) if *v == ResearchVariable::Weging => {
            format!("{:.3}", r.weging).replace('.', ",")
        }
        write::ResearchValue::Number(n) => n.to_string(),
        write::ResearchValue::Text(t) => t.to_string(),
        write::ResearchValue::Blank => String::new(),
    }
}

#[test]
fn written_files_read_back_as_generated() {
    let (cb, m) = (codebook(), municipalities());
    let dir = tempfile::tempdir().unwrap();
    let summary = synth(&small(dir.path(), 7), &cb, &m).unwrap();
    let research: Vec<ResearchVariable> = ResearchVariable::ALL.to_vec();
    let mut seen = BTreeSet::new();
    for d in &summary.deliveries {
        let path = dir.path().join("inbox").join(&d.file_name);
        let header: Vec<String> =
            research.iter().map(|r| r.name().to_string()).chain(d.variables.iter().cloned()).collect();
        seen.insert(d.format);
        match d.format {
            Format::Csv => {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'));
                let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_path(&path).unwrap();
                assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), header);
                let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
                assert_eq!(rows.len(), d.respondents.len());
                for (row, r) in rows.iter().zip(&d.respondents) {
                    for (i, v) in research.iter().enumerate() {
                        assert_eq!(&row[i], csv_cell(v, d, r), "{} {}", d.file_name, v.name());
                    }
                    for (j, a) in r.answers.iter().enumerate() {
                        let expected = a.map(|c| c.to_string()).unwrap_or_default();
                        assert_eq!(&row[research.len() + j], expected);
                    }
                }
            }
            Format::Xlsx => {
                let mut wb: Xlsx<_> = calamine::open_workbook(&path).unwrap();
                let range = wb.worksheet_range("Burgerpeiling").unwrap();
                assert_eq!(range.start(), Some((0, 0)));
                let rows: Vec<&[Data]> = range.rows().collect();
                let got_header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
                assert_eq!(got_header, header);
                assert_eq!(rows.len(), d.respondents.len() + 1);
                for (row, r) in rows[1..].iter().zip(&d.respondents) {
                    for (i, v) in research.iter().enumerate() {
                        match write::research_value(d, r, *v) {
                            write::ResearchValue::Number(n) => assert_eq!(row[i], Data::Float(n)),
                            write::ResearchValue::Text(t) => {
                                assert_eq!(row[i], Data::String(t.into()))
                            }
                            write::ResearchValue::Blank => assert_eq!(row[i], Data::Empty),
                        }
                    }
                    for (j, a) in r.answers.iter().enumerate() {
                        let expected = a.map(|c| Data::Float(f64::from(c))).unwrap_or(Data::Empty);
                        assert_eq!(row[research.len() + j], expected, "{}", d.variables[j]);
                    }
                }
            }
            other => panic!("unexpected format {other:?}"),
        }
        // The pipeline's own reader takes it without complaint.
        let known = |name: &str| cb.is_known(&crate::codebook::canonical_name(name));
        let (table, findings) = crate::ingest::read(&path, d.format, "synthetic", &known, u64::MAX);
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(table.unwrap().rows.len(), d.respondents.len());
    }
    assert_eq!(seen.len(), 2);
}

#[test]
fn invalid_options_are_refused() {
    let (cb, m) = (codebook(), municipalities());
    let dir = tempfile::tempdir().unwrap();
    let opts = small(dir.path(), 1);
    assert!(synth(&SynthOptions { years: (2024, 2020), ..opts.clone() }, &cb, &m).is_err());
    assert!(synth(&SynthOptions { municipalities: 400, ..opts.clone() }, &cb, &m).is_err());
    assert!(!dir.path().join("inbox").exists(), "refused runs write nothing");
    synth(&opts, &cb, &m).unwrap();
    let again = synth(&opts, &cb, &m).unwrap_err();
    assert!(again.to_string().contains("already holds files"), "{again}");
}

#[test]
fn format_mix_specs_are_parsed_and_bad_ones_refused() {
    let mix = FormatMix::parse("xlsx=50, csv=40,sav=5,xls=5").unwrap();
    // Reduced, largest share first, ties in messy::FORMATS order.
    assert_eq!(mix.shares(), [(Format::Xlsx, 10), (Format::Csv, 8), (Format::Xls, 1), (Format::Sav, 1)]);
    assert_eq!(mix.to_string(), "xlsx=10,csv=8,xls=1,sav=1");
    assert_eq!(FormatMix::parse(&mix.to_string()).unwrap(), mix);
    assert_eq!(FormatMix::parse("csv=45,xlsx=55").unwrap(), FormatMix::default());
    assert_eq!(FormatMix::parse("sav=3,csv=0").unwrap().shares(), [(Format::Sav, 1)]);
    for (bad, says) in [
        ("", "no '='"),
        ("xlsx", "no '='"),
        ("xlsb=5", "unknown format"),
        ("xlsx=-1", "whole number"),
        ("xlsx=1.5", "whole number"),
        ("xlsx=2000000", "whole number"),
        ("xlsx=1,XLSX=2", "twice"),
        ("csv=0", "above 0"),
    ] {
        let e = FormatMix::parse(bad).unwrap_err();
        assert!(e.contains(says) && e.contains("xlsx=50,csv=40,sav=5,xls=5"), "{bad}: {e}");
    }
}

#[test]
fn format_mix_is_honoured_in_every_window_and_interleaved() {
    let mix = FormatMix::parse("xlsx=50,csv=40,sav=5,xls=5").unwrap();
    let total: u64 = mix.shares().iter().map(|(_, s)| s).sum();
    let formats: Vec<Format> = (0..1000).map(|i| mix.format_of(i)).collect();
    // Any `total` consecutive deliveries hold each format exactly in proportion.
    for window in formats.windows(total as usize) {
        for &(format, share) in mix.shares() {
            assert_eq!(window.iter().filter(|&&f| f == format).count() as u64, share, "{format:?}");
        }
    }
    // Interleaved, not blocked: with half the deliveries xlsx, no two neighbours share a format.
    assert!(formats.windows(2).all(|w| w[0] != w[1]));

    // The generated corpus follows it, and its answers do not depend on the formats.
    let (cb, m) = (codebook(), municipalities());
    let opts = SynthOptions { municipalities: 10, years: (2020, 2023), respondents: 20, ..SynthOptions::default() };
    let plain = generate(&opts, &cb, &m);
    let mixed = generate_with_formats(&opts, &mix, &cb, &m);
    for (i, (a, b)) in plain.iter().zip(&mixed).enumerate() {
        assert_eq!(b.format, mix.format_of(i));
        assert!(b.file_name.ends_with(&format!(".{}", b.format.as_str())), "{}", b.file_name);
        assert_eq!((&a.respondents, a.year, &a.gemeente_code), (&b.respondents, b.year, &b.gemeente_code));
        assert!(b.quirks.is_none());
    }
}

#[test]
fn default_format_mix_is_the_old_interleave() {
    let mix = FormatMix::default();
    for i in 0..5000usize {
        // What plain runs did before `--formats`: xlsx 11 in 20, interleaved.
        let xlsx = (i + 1) * 11 / 20 > i * 11 / 20;
        assert_eq!(mix.format_of(i), if xlsx { Format::Xlsx } else { Format::Csv }, "delivery {i}");
    }
    let (cb, m) = (codebook(), municipalities());
    let opts = SynthOptions { respondents: 10, ..SynthOptions::default() };
    assert_eq!(generate(&opts, &cb, &m), generate_with_formats(&opts, &mix, &cb, &m));
}

#[test]
fn every_format_of_a_mix_reads_back_as_its_expected_table() {
    let (cb, m) = (codebook(), municipalities());
    let dir = tempfile::tempdir().unwrap();
    let mix = FormatMix::parse("xlsx=1,xlsm=1,xls=1,ods=1,csv=1,txt=1,sav=1").unwrap();
    let opts = SynthOptions {
        out: dir.path().to_path_buf(),
        municipalities: 7,
        years: (2021, 2022),
        respondents: 25,
        ..SynthOptions::default()
    };
    let summary = synth_with_formats(&opts, &mix, &cb, &m).unwrap();
    let known = |name: &str| cb.is_known(&crate::codebook::canonical_name(name));
    let mut seen = BTreeSet::new();
    for d in &summary.deliveries {
        seen.insert(d.format);
        let path = dir.path().join("inbox").join(&d.file_name);
        let (table, findings) = crate::ingest::read(&path, d.format, &d.file_name, &known, u64::MAX);
        assert!(findings.is_empty(), "{}: {findings:?}", d.file_name);
        let expected = expected_table(d, &cb).unwrap();
        assert!(expected.title_rows.is_empty());
        assert!(table.unwrap() == expected.table, "{}", d.file_name);
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
}

/// Scale target: 57 municipalities × 2015-2024 × 600 respondents (~340,000 respondents).
/// Run with `cargo test --release --lib synth::tests::full_scale -- --ignored --nocapture`.
#[test]
#[ignore]
fn full_scale_generation_time() {
    let (cb, m) = (codebook(), municipalities());
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions::full_scale(dir.path().to_path_buf());
    let start = Instant::now();
    let ds = generate(&opts, &cb, &m);
    let generated = start.elapsed();
    drop(ds);
    let start = Instant::now();
    let summary = synth(&opts, &cb, &m).unwrap();
    let total = start.elapsed();
    let respondents: usize = summary.deliveries.iter().map(|d| d.respondents.len()).sum();
    let bytes: u64 = files(&dir.path().join("inbox")).values().map(|b| b.len() as u64).sum();
    println!(
        "{} deliveries, {respondents} respondents, {:.1} MB: generate {:.2?}, generate+write {:.2?} \
         on {} threads",
        summary.deliveries.len(),
        bytes as f64 / 1e6,
        generated,
        total,
        rayon::current_num_threads()
    );
    assert_eq!(summary.deliveries.len(), 570);
}
