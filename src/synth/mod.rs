//! Synthetic Burgerpeiling deliveries: a deterministic generator of realistic respondent files
//! (and the population table they are weighted to), for demos, tests and benchmarks of the
//! pipeline without real survey data.
//!
//! [`generate`] builds every delivery in memory from a seed (pure, no I/O); [`synth`] also
//! writes them to `<out>/inbox/<year>/BP-<year>-<quarter>-<name>.<ext>` and the population
//! to `<out>/population/population.csv`. Tests compare the lake with the [`GeneratedDelivery`]s.
//! Plain deliveries are spread over file formats by a [`FormatMix`] (by default xlsx and csv,
//! 11 to 9; `--formats` asks for others, `.sav` and `.xls` included, for benchmarks).
//! With `messy`, each delivery also gets a [`Quirks`] set and is written the way one agency or
//! another really delivers (see [`messy`] and `docs/synth.md`); the answers stay the same.
//!
//! Determinism: every random choice comes from a ChaCha8 stream seeded from `(seed, what it is
//! for)` — the municipality pick, a municipality's profile, a delivery `(code, year)`, a
//! variable's answer distribution — so deliveries can be generated in parallel, and adding a
//! year or a municipality leaves the other deliveries unchanged.

mod answers;
pub mod article;
pub mod bundle;
pub mod duplicates;
pub mod labelled;
pub mod messy;
pub mod population;
mod write;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::codebook::{Codebook, Dataformat};
use crate::ingest::Format;
use crate::municipality::{Municipalities, Municipality};

use answers::FormatPlan;
use population::{PopulationProfile, RegionYear};

pub use answers::{AGE_VARIABLE, RESPONDENT_AGE_SHARES};
pub use article::ChartedAnswers;
pub use duplicates::{PlantedDuplicate, PlantedKind, generate_with_duplicates, synth_with_duplicates};
pub use messy::{Expected, Quirks, expected_table};
pub use population::{AGE_BANDS, POPULATION_SHARES};

/// Name of the 2019 dataformat used for years before [`FIRST_2022_YEAR`].
pub const DATAFORMAT_2019: &str = "2019-v13";
pub const DATAFORMAT_2022: &str = "2022";
/// First survey year delivered in the 2022 dataformat.
pub const FIRST_2022_YEAR: u16 = 2022;

/// Share of web respondents (`veldwerkmodus` 1); the rest answered on paper (2).
const WEB_SHARE: f64 = 0.65;
/// Share of respondents without a district code.
const WIJKNR_BLANK: f64 = 0.01;
/// Respondent count per delivery varies uniformly by this fraction around the mean.
const RESPONDENT_SPREAD: f64 = 0.10;
/// xlsx deliveries per [`FORMAT_CYCLE`] deliveries; the rest are csv (the default [`FormatMix`]).
const XLSX_PER_CYCLE: u64 = 11;
const FORMAT_CYCLE: u64 = 20;
/// Largest share one format may be given in a [`FormatMix`] spec, so index × share cannot
/// overflow.
const MAX_SHARE: u64 = 1_000_000;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthOptions {
    pub out: PathBuf,
    pub seed: u64,
    pub municipalities: usize,
    /// First and last survey year, inclusive.
    pub years: (u16, u16),
    /// Mean number of respondents per delivery.
    pub respondents: usize,
    /// Write every delivery in one of the messy variants agencies deliver ([`Quirks`]).
    pub messy: bool,
    /// How the answers the findings pages chart are drawn: by default with the shares, age
    /// pattern and trend of the VNG article ([`article`]).
    pub charted: ChartedAnswers,
}

impl Default for SynthOptions {
    fn default() -> SynthOptions {
        SynthOptions {
            out: PathBuf::from("data/sample"),
            seed: 1,
            municipalities: 6,
            years: (2019, 2024),
            respondents: 600,
            messy: false,
            charted: ChartedAnswers::Article,
        }
    }
}

impl SynthOptions {
    /// The scale target the synthesiser and the dedup stage are measured on: 57 municipalities
    /// × 2015-2024 × 600 respondents (~340,000 respondents), written to `out`.
    pub fn full_scale(out: PathBuf) -> SynthOptions {
        SynthOptions { out, municipalities: 57, years: (2015, 2024), respondents: 600, ..SynthOptions::default() }
    }
}

/// How plain (non-messy) deliveries are spread over file formats: `--formats
/// xlsx=50,csv=40,sav=5,xls=5`. Shares are whole numbers, normalised (only their ratios count).
///
/// Assignment is deterministic and interleaved, not blocked: the format with the largest share
/// takes delivery `i` when `⌊(i+1)·s/S⌋ > ⌊i·s/S⌋` (share `s` of the total `S`), which spreads
/// its deliveries evenly; the deliveries it leaves are numbered anew and shared the same way
/// among the remaining formats, and so on. Every run of `S` consecutive deliveries therefore
/// holds each format exactly in proportion. The default, xlsx 11 : csv 9, is the interleave
/// plain runs have always used, so default output is unchanged. xlsx and csv are written by the
/// plain writers; every other format by [`messy::write`] with the plain layout
/// ([`Quirks::plain`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatMix {
    /// Reduced by their greatest common divisor, largest share first (ties in [`messy::FORMATS`]
    /// order), zero shares left out; never empty.
    shares: Vec<(Format, u64)>,
}

impl Default for FormatMix {
    fn default() -> FormatMix {
        FormatMix { shares: vec![(Format::Xlsx, XLSX_PER_CYCLE), (Format::Csv, FORMAT_CYCLE - XLSX_PER_CYCLE)] }
    }
}

impl FormatMix {
    /// Parses `FORMAT=SHARE[,FORMAT=SHARE...]` (formats as file extensions: xlsx, xlsm, xls,
    /// ods, csv, txt, sav). The error says what is wrong and how to write a spec.
    pub fn parse(spec: &str) -> std::result::Result<FormatMix, String> {
        let usage = "write FORMAT=SHARE pairs separated by commas, e.g. \
                     xlsx=50,csv=40,sav=5,xls=5 (formats: xlsx, xlsm, xls, ods, csv, txt, sav; \
                     shares are whole numbers and only their ratios count)";
        let mut shares: Vec<(Format, u64)> = Vec::new();
        for item in spec.split(',') {
            let item = item.trim();
            let Some((name, share)) = item.split_once('=') else {
                return Err(format!("{item:?} has no '='; {usage}"));
            };
            let (name, share) = (name.trim(), share.trim());
            let format = Format::from_extension(name.trim_start_matches('.'))
                .ok_or_else(|| format!("unknown format {name:?}; {usage}"))?;
            let share: u64 = share.parse().ok().filter(|&s| s <= MAX_SHARE).ok_or_else(|| {
                format!("the share of {name} ({share:?}) is not a whole number in 0-{MAX_SHARE}; {usage}")
            })?;
            if shares.iter().any(|(f, _)| *f == format) {
                return Err(format!("{name} is given twice; {usage}"));
            }
            shares.push((format, share));
        }
        shares.retain(|&(_, s)| s > 0);
        if shares.is_empty() {
            return Err(format!("no format has a share above 0; {usage}"));
        }
        let divisor = shares.iter().fold(0, |g, &(_, s)| gcd(g, s));
        for (_, s) in &mut shares {
            *s /= divisor;
        }
        let rank = |f: Format| messy::FORMATS.iter().position(|&x| x == f);
        shares.sort_by(|a, b| b.1.cmp(&a.1).then(rank(a.0).cmp(&rank(b.0))));
        Ok(FormatMix { shares })
    }

    /// The formats and their reduced shares, largest first.
    pub fn shares(&self) -> &[(Format, u64)] {
        &self.shares
    }

    /// The format of the delivery at position `index` of the corpus (year-major, then
    /// municipality code).
    pub fn format_of(&self, index: usize) -> Format {
        let mut i = index as u64;
        let mut total: u64 = self.shares.iter().map(|(_, s)| s).sum();
        for &(format, share) in &self.shares[..self.shares.len() - 1] {
            // Deliveries of this format among positions 0..i are ⌊i·share/total⌋.
            let before = i * share / total;
            if (i + 1) * share / total > before {
                return format;
            }
            i -= before;
            total -= share;
        }
        self.shares[self.shares.len() - 1].0
    }
}

impl std::fmt::Display for FormatMix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> =
            self.shares.iter().map(|(format, share)| format!("{}={share}", format.as_str())).collect();
        f.write_str(&parts.join(","))
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Everything generated for one delivery, before it is written: tests compare the lake with this.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratedDelivery {
    /// Relative to `<out>/inbox`, e.g. `2023/BP-2023-2-Utrecht.xlsx`.
    pub file_name: String,
    pub format: Format,
    /// `"2019-v13"` or `"2022"`.
    pub dataformat: &'static str,
    /// `"GM0344"`.
    pub gemeente_code: String,
    pub gemnr: i16,
    pub year: u16,
    pub quarter: u8,
    pub org: i16,
    /// Questionnaire variables written, in dataformat order (after the 8 research columns).
    pub variables: Vec<String>,
    pub respondents: Vec<GeneratedRespondent>,
    /// The municipality's name, as in the file name (`Utrecht`).
    pub municipality: String,
    /// The research agency's name (value label of `org`).
    pub agency: String,
    /// How the delivery is written when messy; `None` for the plain layout of its format
    /// ([`Quirks::plain`]).
    pub quirks: Option<Quirks>,
}

/// One respondent's row.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratedRespondent {
    pub respondent: u32,
    pub veldwerkmodus: i16,
    /// Post-stratification weight on `ch02`, rounded to 3 decimals; 1 where `ch02` is blank.
    pub weging: f64,
    pub wijknr: Option<String>,
    /// Aligned with [`GeneratedDelivery::variables`]; `None` = blank cell.
    pub answers: Vec<Option<i16>>,
}

/// What [`synth`] wrote.
#[derive(Clone, Debug)]
pub struct SynthSummary {
    pub deliveries: Vec<GeneratedDelivery>,
    pub population_file: PathBuf,
}

/// A municipality's fixed characteristics across years.
#[derive(Clone, Debug)]
struct Profile {
    municipality: Municipality,
    gemnr: i16,
    org: i16,
    agency: String,
    /// District codes and their relative sizes.
    districts: Vec<(String, f64)>,
    population: PopulationProfile,
}

/// The generation context shared by all deliveries.
struct Plan {
    seed: u64,
    messy: bool,
    charted: ChartedAnswers,
    /// Formats of plain deliveries.
    formats: FormatMix,
    respondents: usize,
    profiles: Vec<Profile>,
    years: Vec<u16>,
    v2019: FormatPlan,
    v2022: FormatPlan,
}

/// Generates every delivery (pure, deterministic, no I/O), ordered by year and municipality
/// code. Asking for more municipalities than exist gives all of them; an empty year range
/// gives nothing. `opts.messy` decides the formats and [`Quirks`] (never the answers);
/// `opts.out` is not consulted.
pub fn generate(opts: &SynthOptions, codebook: &Codebook, municipalities: &Municipalities) -> Vec<GeneratedDelivery> {
    generate_with_formats(opts, &FormatMix::default(), codebook, municipalities)
}

/// [`generate`] with plain deliveries spread over `formats` (ignored when `opts.messy`, whose
/// rotation decides the formats). The answers do not depend on the formats.
pub fn generate_with_formats(
    opts: &SynthOptions,
    formats: &FormatMix,
    codebook: &Codebook,
    municipalities: &Municipalities,
) -> Vec<GeneratedDelivery> {
    let mut plan = plan(opts, codebook, municipalities);
    plan.formats = formats.clone();
    generate_plan(&plan)
}

fn generate_plan(plan: &Plan) -> Vec<GeneratedDelivery> {
    let jobs: Vec<(usize, u16, &Profile)> = plan
        .years
        .iter()
        .flat_map(|&y| plan.profiles.iter().map(move |p| (y, p)))
        .enumerate()
        .map(|(i, (y, p))| (i, y, p))
        .collect();
    // The rotation needs the whole corpus (it counts deliveries per format), so it is assigned
    // before the deliveries are generated in parallel.
    let quirks: Vec<Option<Quirks>> = if plan.messy {
        let n = plan.profiles.len().max(1);
        let cells: Vec<(usize, usize)> = (0..jobs.len()).map(|i| (i % n, i / n)).collect();
        messy::rotation(plan.seed, &cells).into_iter().map(Some).collect()
    } else {
        vec![None; jobs.len()]
    };
    jobs.par_iter().map(|&(index, year, profile)| delivery(plan, profile, year, index, quirks[index].clone())).collect()
}

/// Generates the deliveries and writes `<out>/inbox/...` and `<out>/population/population.csv`.
/// Refuses to write into an inbox that already holds files, so runs never mix.
pub fn synth(opts: &SynthOptions, codebook: &Codebook, municipalities: &Municipalities) -> Result<SynthSummary> {
    synth_with_formats(opts, &FormatMix::default(), codebook, municipalities)
}

/// [`synth`] with plain deliveries spread over `formats` (see [`generate_with_formats`]).
pub fn synth_with_formats(
    opts: &SynthOptions,
    formats: &FormatMix,
    codebook: &Codebook,
    municipalities: &Municipalities,
) -> Result<SynthSummary> {
    validate(opts, municipalities)?;
    let inbox = opts.out.join("inbox");
    if inbox.exists()
        && std::fs::read_dir(&inbox).with_context(|| format!("cannot list {}", inbox.display()))?.next().is_some()
    {
        bail!(
            "{} already holds files; remove it or choose another --out, so synthetic \
             deliveries of different runs do not mix",
            inbox.display()
        );
    }

    let mut plan = plan(opts, codebook, municipalities);
    plan.formats = formats.clone();
    let deliveries = generate_plan(&plan);
    for year in &plan.years {
        let dir = inbox.join(year.to_string());
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    deliveries.par_iter().try_for_each(|d| write_delivery(&plan, codebook, &inbox, d))?;

    let population_dir = opts.out.join("population");
    std::fs::create_dir_all(&population_dir).with_context(|| format!("cannot create {}", population_dir.display()))?;
    let population_file = population_dir.join("population.csv");
    std::fs::write(&population_file, population::to_csv(&population_rows(&plan)))
        .with_context(|| format!("cannot write {}", population_file.display()))?;
    Ok(SynthSummary { deliveries, population_file })
}

/// The population table [`synth`] writes, as rows (one per region and year).
pub fn population_table(opts: &SynthOptions, codebook: &Codebook, municipalities: &Municipalities) -> Vec<RegionYear> {
    population_rows(&plan(opts, codebook, municipalities))
}

fn validate(opts: &SynthOptions, municipalities: &Municipalities) -> Result<()> {
    let available = municipalities.current().count();
    ensure!(opts.municipalities >= 1, "at least one municipality is needed");
    ensure!(
        opts.municipalities <= available,
        "{} municipalities asked, the municipality list has {available}",
        opts.municipalities
    );
    ensure!(opts.years.0 <= opts.years.1, "the first year {} is after the last year {}", opts.years.0, opts.years.1);
    // A year far outside the survey's lifetime is a typo (`24` for `2024`), not a request.
    ensure!(
        (2000..=2100).contains(&opts.years.0) && (2000..=2100).contains(&opts.years.1),
        "years must lie in 2000-2100"
    );
    ensure!(opts.respondents >= 1, "at least one respondent per delivery is needed");
    Ok(())
}

fn plan(opts: &SynthOptions, codebook: &Codebook, municipalities: &Municipalities) -> Plan {
    let format = |name: &str| -> &Dataformat {
        codebook
            .formats
            .iter()
            .find(|f| f.name == name)
            .expect("Codebook::load always loads the 2019-v13 and 2022 dataformats")
    };
    let v2019 = FormatPlan::new(codebook, format(DATAFORMAT_2019), DATAFORMAT_2019, opts.seed);
    let v2022 = FormatPlan::new(codebook, format(DATAFORMAT_2022), DATAFORMAT_2022, opts.seed);

    // Only agencies known to both formats, so a municipality keeps its agency across years.
    let org_codes = |f: &Dataformat| -> Vec<(i16, String)> {
        f.variables.iter().find(|v| v.name == "org").map(|v| v.value_labels.clone()).unwrap_or_default()
    };
    let in_2019 = org_codes(format(DATAFORMAT_2019));
    let agencies: Vec<(i16, String)> = org_codes(format(DATAFORMAT_2022))
        .into_iter()
        .filter(|(c, _)| in_2019.iter().any(|(c19, _)| c19 == c))
        .collect();

    let profiles = pick(opts, municipalities).into_iter().map(|m| profile(opts.seed, m, &agencies)).collect();
    let years = if opts.years.0 <= opts.years.1 { (opts.years.0..=opts.years.1).collect() } else { Vec::new() };
    Plan {
        seed: opts.seed,
        messy: opts.messy,
        charted: opts.charted,
        formats: FormatMix::default(),
        respondents: opts.respondents,
        profiles,
        years,
        v2019,
        v2022,
    }
}

/// `opts.municipalities` distinct current municipalities, drawn with the seed, in code order.
fn pick(opts: &SynthOptions, municipalities: &Municipalities) -> Vec<Municipality> {
    let mut all: Vec<&Municipality> = municipalities.current().collect();
    let n = opts.municipalities.min(all.len());
    let mut rng = rng_for(opts.seed, &["municipalities"]);
    // Partial Fisher-Yates: the first n places end up a uniform sample.
    for i in 0..n {
        let j = rng.random_range(i..all.len());
        all.swap(i, j);
    }
    let mut chosen: Vec<Municipality> = all[..n].iter().map(|m| (*m).clone()).collect();
    chosen.sort();
    chosen
}

fn profile(seed: u64, m: Municipality, agencies: &[(i16, String)]) -> Profile {
    let mut rng = rng_for(seed, &["municipality", &m.code]);
    let (org, agency) =
        if agencies.is_empty() { (0, String::new()) } else { agencies[rng.random_range(0..agencies.len())].clone() };
    let digits = m.code.trim_start_matches("GM");
    let n_districts = rng.random_range(4..=8);
    let districts = (0..n_districts).map(|i| (format!("WK{digits}{i:02}"), rng.random_range(0.4..1.6))).collect();
    let population = PopulationProfile::draw(&mut rng);
    let gemnr = i16::try_from(m.number()).unwrap_or(0);
    Profile { municipality: m, gemnr, org, agency, districts, population }
}

fn delivery(plan: &Plan, p: &Profile, year: u16, index: usize, quirks: Option<Quirks>) -> GeneratedDelivery {
    let mut rng = rng_for(plan.seed, &["delivery", &p.municipality.code, &year.to_string()]);
    let fp = format_plan(plan, year);
    let quarter: u8 = rng.random_range(1..=4);
    let format = match &quirks {
        Some(q) => q.format,
        None => plan.formats.format_of(index),
    };
    let file_name = format!("{year}/BP-{year}-{quarter}-{}.{}", p.municipality.name, format.as_str());

    let mean = plan.respondents as f64;
    let n = (mean * rng.random_range(1.0 - RESPONDENT_SPREAD..=1.0 + RESPONDENT_SPREAD)).round() as usize;
    let district_total: f64 = p.districts.iter().map(|(_, w)| w).sum();
    let charted = fp.year_draws(plan.charted, year);
    let mut number: u32 = rng.random_range(1..=20_000);
    let mut respondents = Vec::with_capacity(n);
    for _ in 0..n {
        // Gaps, as where invited people did not respond.
        number += rng.random_range(1..=3);
        let veldwerkmodus = if rng.random_bool(WEB_SHARE) { 1 } else { 2 };
        let wijknr = if rng.random_bool(WIJKNR_BLANK) {
            None
        } else {
            let mut u = rng.random::<f64>() * district_total;
            let mut code = &p.districts[p.districts.len() - 1].0;
            for (c, w) in &p.districts {
                if u < *w {
                    code = c;
                    break;
                }
                u -= w;
            }
            Some(code.clone())
        };
        let answers = fp.answer(&mut rng, &charted);
        respondents.push(GeneratedRespondent { respondent: number, veldwerkmodus, weging: 1.0, wijknr, answers });
    }
    let shares = population::shares(&p.population.counts(year));
    weigh(&mut respondents, fp.age, &shares);

    GeneratedDelivery {
        file_name,
        format,
        dataformat: fp.dataformat,
        gemeente_code: p.municipality.code.clone(),
        gemnr: p.gemnr,
        year,
        quarter,
        org: p.org,
        variables: fp.names.clone(),
        respondents,
        municipality: p.municipality.name.clone(),
        agency: p.agency.clone(),
        quirks,
    }
}

fn format_plan(plan: &Plan, year: u16) -> &FormatPlan {
    if year >= FIRST_2022_YEAR { &plan.v2022 } else { &plan.v2019 }
}

/// The agency's post-stratification on age: population share of the respondent's band divided
/// by that band's share among respondents who answered `ch02`; 1 where `ch02` is blank.
pub fn post_stratification_weights(ages: &[Option<i16>], population_shares: &[f64; 6]) -> Vec<f64> {
    let band = |a: Option<i16>| a.and_then(|c| usize::try_from(c - 1).ok()).filter(|&b| b < population_shares.len());
    let mut counts = [0usize; 6];
    for b in ages.iter().filter_map(|&a| band(a)) {
        counts[b] += 1;
    }
    let answered: usize = counts.iter().sum();
    ages.iter()
        .map(|&a| match band(a) {
            Some(b) => {
                let sample_share = counts[b] as f64 / answered as f64;
                round3(population_shares[b] / sample_share)
            }
            None => 1.0,
        })
        .collect()
}

fn weigh(respondents: &mut [GeneratedRespondent], age: Option<usize>, shares: &[f64; 6]) {
    let Some(age) = age else { return };
    let ages: Vec<Option<i16>> = respondents.iter().map(|r| r.answers[age]).collect();
    for (r, w) in respondents.iter_mut().zip(post_stratification_weights(&ages, shares)) {
        r.weging = w;
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn population_rows(plan: &Plan) -> Vec<RegionYear> {
    let mut rows = Vec::new();
    for &year in &plan.years {
        for p in &plan.profiles {
            rows.push(RegionYear { year, region: p.municipality.code.clone(), counts: p.population.counts(year) });
        }
        rows.push(RegionYear {
            year,
            region: population::NATIONAL_REGION.to_string(),
            counts: population::national_counts(year),
        });
    }
    rows
}

fn write_delivery(plan: &Plan, codebook: &Codebook, inbox: &Path, d: &GeneratedDelivery) -> Result<()> {
    let fp = format_plan(plan, d.year);
    let path = inbox.join(&d.file_name);
    // Plain xlsx and csv have writers of their own; every other format, and every messy
    // delivery, is laid out by `messy` (plain formats with `Quirks::plain`).
    let bytes = match (d.format, &d.quirks) {
        (Format::Csv, None) => write::csv(d, &fp.research).into_bytes(),
        (Format::Xlsx, None) => {
            write::xlsx(d, &fp.research, &d.agency).with_context(|| format!("cannot build {}", d.file_name))?
        }
        _ => messy::write(d, codebook).with_context(|| format!("cannot build {}", d.file_name))?,
    };
    std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// A ChaCha8 stream for one purpose: `parts` name it (e.g. `["delivery", "GM0344", "2023"]`).
pub(crate) fn rng_for(seed: u64, parts: &[&str]) -> ChaCha8Rng {
    // FNV-1a over the parts, separated so ["ab","c"] and ["a","bc"] differ; then mixed with the
    // seed by SplitMix64 so nearby seeds give unrelated streams.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    ChaCha8Rng::seed_from_u64(splitmix64(seed ^ splitmix64(h)))
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Every file under `dir` (a synthesised inbox, or a lake built from one): its path relative to
/// `dir`, `/`-separated → its bytes. For comparing two runs byte for byte.
pub fn written_files(dir: &Path) -> std::io::Result<std::collections::BTreeMap<String, Vec<u8>>> {
    fn walk(base: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let p = e?.path();
            if p.is_dir() {
                walk(base, &p, out)?;
            } else {
                let rel = p.strip_prefix(base).unwrap_or(&p).to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&p)?);
            }
        }
        Ok(())
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}
