//! Population tables: the reference counts the weighting stage calibrates to.
//!
//! What it is for:
//! * reading population tables in the contract format (`year,region,age_from,age_to,sex,count`)
//!   from every `*.csv` of a directory ([`load_dir`]) or of a configuration's `population/`
//!   ([`load_from`]), with errors that name file, line and
//!   column;
//! * looking up the age bands of one region for a survey year, falling back to the nearest
//!   earlier year and saying which year was used ([`PopulationTable::region`]);
//! * converting CBS StatLine exports into that format ([`import`], [`import_cbs_kwb`],
//!   [`import_cbs_70072ned`]) and rendering rows as the contract CSV ([`render_csv`]).
//!
//! What it must NOT do: align bands to the questionnaire's `ch02` bands or weight anything
//! (that is `weight::align` and `weight`), touch the file system beyond [`load_dir`] and [`load_from`], or guess a
//! municipality: a name that does not resolve is reported, never matched loosely.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

use crate::config::ConfigSource;
use crate::municipality::{Municipalities, NATIONAL_REGION, Resolution};

/// The contract's header, in this order.
pub const HEADER: [&str; 6] = ["year", "region", "age_from", "age_to", "sex", "count"];

/// `sex` column of a population table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sex {
    Total,
    Male,
    Female,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Total => "total",
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    fn parse(s: &str) -> Option<Sex> {
        match s {
            "total" => Some(Sex::Total),
            "male" => Some(Sex::Male),
            "female" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// One row of a population table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PopulationRow {
    pub year: u16,
    /// `NL01`, `GM` + 4 digits or `WK` + 6 digits.
    pub region: String,
    pub age_from: u16,
    /// Inclusive; `None` is an open band (`75,` = 75 and older).
    pub age_to: Option<u16>,
    pub sex: Sex,
    pub count: u64,
}

/// One age band of one region-year (sex already resolved to the total).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AgeBand {
    pub from: u16,
    /// Inclusive; `None` = open band.
    pub to: Option<u16>,
    pub count: u64,
}

impl fmt::Display for AgeBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to {
            Some(t) => write!(f, "{}-{}", self.from, t),
            None => write!(f, "{}+", self.from),
        }
    }
}

/// The age bands of one region as used for one survey year.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionPopulation {
    pub region: String,
    /// The year asked for.
    pub requested_year: u16,
    /// The year of the table actually used (the nearest earlier year when the requested one
    /// has none).
    pub year: u16,
    /// Sorted by `from`.
    pub bands: Vec<AgeBand>,
    /// Where the figures come from: file names, and `male+female` when no `total` rows exist.
    pub source: String,
}

impl RegionPopulation {
    pub fn total(&self) -> u64 {
        self.bands.iter().map(|b| b.count).sum()
    }
}

/// All population rows, by region and year.
#[derive(Clone, Debug, Default)]
pub struct PopulationTable {
    rows: BTreeMap<(String, u16), Vec<PopulationRow>>,
    sources: BTreeMap<(String, u16), BTreeSet<String>>,
}

impl PopulationTable {
    /// Builds a table from rows; `source` names where they came from (used in reports).
    /// Refuses a row that repeats (year, region, band, sex) of an earlier one, because summing
    /// both would double the population silently.
    pub fn from_rows(rows: Vec<PopulationRow>, source: &str) -> Result<PopulationTable> {
        let mut t = PopulationTable::default();
        t.add(rows, source)?;
        Ok(t)
    }

    fn add(&mut self, rows: Vec<PopulationRow>, source: &str) -> Result<()> {
        for r in rows {
            let key = (r.region.clone(), r.year);
            let existing = self.rows.entry(key.clone()).or_default();
            if existing.iter().any(|e| e.age_from == r.age_from && e.age_to == r.age_to && e.sex == r.sex) {
                let earlier = self.sources.get(&key).map(join).unwrap_or_default();
                bail!(
                    "{source}: {} {} age {} sex {} is given twice (also in {earlier})",
                    r.region,
                    r.year,
                    band_label(r.age_from, r.age_to),
                    r.sex.as_str()
                );
            }
            existing.push(r);
            self.sources.entry(key).or_default().insert(source.to_string());
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// A hash of every row (rendered as the contract's CSV): equal tables, equal fingerprint,
    /// whatever files they were loaded from. Part of what decides that a year must be rebuilt.
    pub fn fingerprint(&self) -> String {
        self.fingerprints_upto([u16::MAX]).remove(&u16::MAX).unwrap_or_default()
    }

    /// Per year of `years`, the fingerprint of the rows a survey year's weights can use: its
    /// own year and, as the nearest-earlier-year fallback, every earlier one (tables for later
    /// years leave it as is). The contract CSV orders rows by year first, so the rows up to a
    /// year are the start of the whole table's CSV: one rendering and one running hash give
    /// every year's. Rendering the table again for each year was 1% of a nightly run's
    /// instructions (callgrind), all before the years are built, on one core.
    pub fn fingerprints_upto(&self, years: impl IntoIterator<Item = u16>) -> BTreeMap<u16, String> {
        let years: BTreeSet<u16> = years.into_iter().collect();
        let mut sorted = sorted_rows(self.rows()).into_iter().peekable();
        let mut hasher = blake3::Hasher::new();
        let mut line = csv_heading();
        hasher.update(line.as_bytes());
        let mut out = BTreeMap::new();
        for year in years {
            while let Some(row) = sorted.next_if(|r| r.year <= year) {
                line.clear();
                push_csv_line(&mut line, row);
                hasher.update(line.as_bytes());
            }
            out.insert(year, hasher.finalize().to_hex().to_string());
        }
        out
    }

    /// Every row, ordered by region, year, then as loaded.
    pub fn rows(&self) -> impl Iterator<Item = &PopulationRow> {
        self.rows.values().flatten()
    }

    /// The years a region has rows for, ascending.
    pub fn years(&self, region: &str) -> Vec<u16> {
        self.rows.range((region.to_string(), 0)..=(region.to_string(), u16::MAX)).map(|((_, y), _)| *y).collect()
    }

    /// The regions `WKgggg..` of a municipality `GMgggg` present for exactly `year`, sorted.
    /// CBS district codes embed the municipality number (`WK036301` lies in `GM0363`).
    pub fn districts_of(&self, gemeente_code: &str, year: u16) -> Vec<String> {
        let Some(digits) = gemeente_code.strip_prefix("GM") else { return Vec::new() };
        let prefix = format!("WK{digits}");
        self.rows.keys().filter(|(r, y)| *y == year && r.starts_with(&prefix)).map(|(r, _)| r.clone()).collect()
    }

    /// The bands of `region` for survey year `year`: that year's rows, or else the nearest
    /// earlier year's (the result says which). `None` when no year ≤ `year` exists.
    ///
    /// Sex: the `total` rows are used; a region-year with only `male`/`female` rows gets their
    /// sum per band (and says so in `source`). An error when male and female bands differ.
    pub fn region(&self, region: &str, year: u16) -> Result<Option<RegionPopulation>> {
        let Some(((_, used), rows)) = self.rows.range((region.to_string(), 0)..=(region.to_string(), year)).next_back()
        else {
            return Ok(None);
        };
        let mut source = self.sources.get(&(region.to_string(), *used)).map(join).unwrap_or_default();
        let totals: Vec<AgeBand> = rows
            .iter()
            .filter(|r| r.sex == Sex::Total)
            .map(|r| AgeBand { from: r.age_from, to: r.age_to, count: r.count })
            .collect();
        let mut bands = if !totals.is_empty() {
            totals
        } else {
            let by_sex = |s: Sex| -> BTreeMap<(u16, Option<u16>), u64> {
                rows.iter().filter(|r| r.sex == s).map(|r| ((r.age_from, r.age_to), r.count)).collect()
            };
            let (m, f) = (by_sex(Sex::Male), by_sex(Sex::Female));
            if m.keys().ne(f.keys()) {
                bail!(
                    "population {region} {used}: no `total` rows, and the male and female age \
                     bands differ, so they cannot be added up"
                );
            }
            source.push_str(" (male+female)");
            m.iter()
                .map(|(&(from, to), &c)| AgeBand { from, to, count: c + f.get(&(from, to)).copied().unwrap_or(0) })
                .collect()
        };
        bands.sort();
        Ok(Some(RegionPopulation { region: region.to_string(), requested_year: year, year: *used, bands, source }))
    }
}

fn join(s: &BTreeSet<String>) -> String {
    s.iter().cloned().collect::<Vec<_>>().join(", ")
}

fn band_label(from: u16, to: Option<u16>) -> String {
    match to {
        Some(t) => format!("{from}-{t}"),
        None => format!("{from}+"),
    }
}

/// True for `NL01`, `GM` + 4 digits, `WK` + 6 digits.
pub fn valid_region(s: &str) -> bool {
    let digits = |d: &str, n: usize| d.len() == n && d.bytes().all(|b| b.is_ascii_digit());
    s == NATIONAL_REGION
        || s.strip_prefix("GM").is_some_and(|d| digits(d, 4))
        || s.strip_prefix("WK").is_some_and(|d| digits(d, 6))
}

/// Reads every `*.csv` in `dir` (sorted by name, so errors and sources are deterministic).
pub fn load_dir(dir: &Path) -> Result<PopulationTable> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read population directory {}", dir.display()))?;
    let mut files = Vec::new();
    for e in entries {
        let e = e.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = e.path();
        let is_csv = path.extension().and_then(|x| x.to_str()).is_some_and(|x| x.eq_ignore_ascii_case("csv"));
        if is_csv && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let mut table = PopulationTable::default();
    for path in files {
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let rows = parse_csv(&bytes, &name)?;
        table.add(rows, &name)?;
    }
    Ok(table)
}

/// Reads every `*.csv` directly in `folder` of a configuration (on disk or embedded), sorted by
/// name like [`load_dir`].
pub fn load_from(config: &ConfigSource, folder: &str) -> Result<PopulationTable> {
    let prefix = format!("{folder}/");
    let mut table = PopulationTable::default();
    for rel in config.list()? {
        let Some(name) = rel.strip_prefix(&prefix).filter(|n| !n.contains('/')) else { continue };
        if !name.to_ascii_lowercase().ends_with(".csv") {
            continue;
        }
        let rows = parse_csv(&config.read(&rel)?, name)?;
        table.add(rows, name)?;
    }
    Ok(table)
}

/// Parses one population table in the contract format. `name` is used in error messages,
/// which read `name: line L, column C (age_to): ...` (lines 1-based, the header is line 1).
pub fn parse_csv(bytes: &[u8], name: &str) -> Result<Vec<PopulationRow>> {
    // A BOM is tolerated: spreadsheet programs add one when the table was edited by hand.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(bytes);
    let header = rdr.headers().with_context(|| format!("{name}: line 1: unreadable header"))?.clone();
    let mut idx = [0usize; 6];
    for (i, want) in HEADER.iter().enumerate() {
        idx[i] = header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(want))
            .ok_or_else(|| anyhow!("{name}: line 1: column `{want}` missing (header must be {})", HEADER.join(",")))?;
    }
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.with_context(|| format!("{name}: unreadable CSV"))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let field = |i: usize| -> &str { rec.get(idx[i]).map(str::trim).unwrap_or("") };
        let err = |i: usize, what: &str| {
            anyhow!("{name}: line {line}, column {} ({}): {what}, got {:?}", idx[i] + 1, HEADER[i], field(i))
        };
        let year: u16 = field(0)
            .parse()
            .ok()
            .filter(|y| (1900..=2200).contains(y))
            .ok_or_else(|| err(0, "expected a year (four digits)"))?;
        let region = field(1).to_string();
        if !valid_region(&region) {
            return Err(err(1, "expected NL01, GM + 4 digits or WK + 6 digits"));
        }
        let age_from: u16 = field(2)
            .parse()
            .ok()
            .filter(|a| *a <= 130)
            .ok_or_else(|| err(2, "expected a whole number of years 0..130"))?;
        let age_to = match field(3) {
            "" => None,
            s => Some(
                s.parse::<u16>()
                    .ok()
                    .filter(|a| *a >= age_from && *a <= 130)
                    .ok_or_else(|| err(3, "expected empty (open band) or a whole number ≥ age_from"))?,
            ),
        };
        let sex = Sex::parse(field(4)).ok_or_else(|| err(4, "expected total, male or female"))?;
        let count: u64 = field(5).parse().map_err(|_| err(5, "expected a non-negative whole number"))?;
        out.push(PopulationRow { year, region, age_from, age_to, sex, count });
    }
    Ok(out)
}

/// Renders rows as the contract CSV: header, then rows sorted by year, region, sex
/// (total, male, female), age_from, age_to. Byte-identical for the same rows in any order.
pub fn render_csv(rows: &[PopulationRow]) -> String {
    let mut s = csv_heading();
    for r in sorted_rows(rows) {
        push_csv_line(&mut s, r);
    }
    s
}

/// `rows` in the contract CSV's order (a stable sort: equal keys keep their order).
fn sorted_rows<'a>(rows: impl IntoIterator<Item = &'a PopulationRow>) -> Vec<&'a PopulationRow> {
    let mut sorted: Vec<&PopulationRow> = rows.into_iter().collect();
    sorted.sort_by(|a, b| {
        (a.year, &a.region, a.sex, a.age_from, a.age_to).cmp(&(b.year, &b.region, b.sex, b.age_from, b.age_to))
    });
    sorted
}

/// The contract CSV's first line.
fn csv_heading() -> String {
    let mut s = HEADER.join(",");
    s.push('\n');
    s
}

/// Appends one row as a line of the contract CSV.
fn push_csv_line(s: &mut String, r: &PopulationRow) {
    use std::fmt::Write;
    let _ = write!(s, "{},{},{},", r.year, r.region, r.age_from);
    if let Some(to) = r.age_to {
        let _ = write!(s, "{to}");
    }
    let _ = writeln!(s, ",{},{}", r.sex.as_str(), r.count);
}

/// The import kinds [`import`] understands.
pub const IMPORT_KINDS: [&str; 2] = ["cbs-kwb", "cbs-70072ned"];

/// Converts a population source into contract rows plus the problems met (regions skipped,
/// names not resolved, ...). `year` overrides the year the file states; the KWB export states
/// none, so without `year` it is an error (see [`year_from_file_name`] for the CLI).
pub fn import(
    kind: &str,
    bytes: &[u8],
    year: Option<u16>,
    m: &Municipalities,
) -> Result<(Vec<PopulationRow>, Vec<String>)> {
    match kind {
        "cbs-kwb" => {
            let year = year.ok_or_else(|| {
                anyhow!(
                    "the KWB export does not state its reference date; pass --year (table \
                     85984NED \"Kerncijfers wijken en buurten 2024\" counts 1 January 2024 → 2024)"
                )
            })?;
            import_cbs_kwb(bytes, year)
        }
        "cbs-70072ned" => import_cbs_70072ned(bytes, year, m),
        other => bail!("unknown population import kind {other:?}; expected one of {}", IMPORT_KINDS.join(", ")),
    }
}

/// The reference year a CBS file name reveals: a known KWB table id (`85984NED` → 2024) or a
/// `kwb-YYYY` prefix. For the CLI, when `--year` is absent; `None` when nothing is recognised.
pub fn year_from_file_name(name: &str) -> Option<u16> {
    let lower = name.to_ascii_lowercase();
    // Only the table id shipped in shared/reference-data is listed; other years' ids are not
    // guessed (a wrong year would silently shift every weight).
    if lower.contains("85984ned") {
        return Some(2024);
    }
    let rest = lower.split("kwb-").nth(1)?;
    let y: u16 = rest.get(..4)?.parse().ok()?;
    (1900..=2200).contains(&y).then_some(y)
}

/// Data rows of a StatLine export: (line number, trimmed fields).
type StatlineRows = Vec<(u64, Vec<String>)>;

/// A StatLine CSV export: BOM stripped, `;` separated, quoted.
fn statline_records(bytes: &[u8]) -> Result<(Vec<String>, StatlineRows)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).context("the StatLine export is not UTF-8")?;
    let mut rdr =
        csv::ReaderBuilder::new().delimiter(b';').flexible(true).has_headers(true).from_reader(text.as_bytes());
    let header: Vec<String> =
        rdr.headers().context("unreadable header")?.iter().map(|h| h.trim().to_string()).collect();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.context("unreadable StatLine row")?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        rows.push((line, rec.iter().map(|f| f.trim().to_string()).collect()));
    }
    Ok((header, rows))
}

/// Reads a StatLine age-group column title into a band: `0 tot 15 jaar` → 0-14,
/// `Jonger dan 5 jaar` → 0-4, `65 jaar of ouder` → 65+. `None` for other columns.
pub fn statline_age_band(title: &str) -> Option<(u16, Option<u16>)> {
    let last = title.rsplit('/').next()?.trim();
    let t = last.strip_suffix("(aantal)")?.trim();
    let num = |s: &str| s.trim().parse::<u16>().ok();
    if let Some(rest) = t.strip_prefix("Jonger dan ") {
        let y = num(rest.strip_suffix("jaar")?)?;
        return Some((0, Some(y.checked_sub(1)?)));
    }
    if let Some(rest) = t.strip_suffix("jaar of ouder") {
        return Some((num(rest)?, None));
    }
    let (a, b) = t.strip_suffix("jaar")?.split_once(" tot ")?;
    let (a, b) = (num(a)?, num(b)?);
    (b > a).then(|| (a, Some(b - 1)))
}

/// A StatLine count: empty or `.` = not available (`None`); decimal comma accepted when the
/// fraction is zero (`1234,0`); anything else is an error string.
fn statline_count(s: &str) -> Result<Option<u64>, String> {
    let s = s.trim();
    if s.is_empty() || s == "." {
        return Ok(None);
    }
    let (int, frac) = match s.split_once(',') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if !frac.bytes().all(|b| b == b'0') {
        return Err(format!("{s:?} is not a whole count"));
    }
    int.parse::<u64>().map(Some).map_err(|_| format!("{s:?} is not a count"))
}

/// The age-group count columns of a StatLine header: (index, from, to). Percentage columns
/// ("relatief", "(%)") are not counts and are skipped by [`statline_age_band`].
fn age_columns(header: &[String]) -> Vec<(usize, u16, Option<u16>)> {
    header
        .iter()
        .enumerate()
        .filter(|(_, h)| h.contains("Leeftijdsgroepen/"))
        .filter_map(|(i, h)| statline_age_band(h).map(|(f, t)| (i, f, t)))
        .collect()
}

/// Imports CBS "Kerncijfers wijken en buurten" (85984NED and its yearly siblings): the
/// municipalities (`Gemeente`) and districts (`Wijk`) with their five age groups; `Nederland`
/// (`NL00`) becomes `NL01`, the contract's code; neighbourhoods (`Buurt`) are not used by the
/// weighting and are skipped. A region whose age groups are (partly) suppressed is reported
/// and skipped. District figures are rounded to 5 by CBS; that is left as it is.
pub fn import_cbs_kwb(bytes: &[u8], year: u16) -> Result<(Vec<PopulationRow>, Vec<String>)> {
    let (header, rows) = statline_records(bytes)?;
    let col = |needle: &str| {
        header
            .iter()
            .position(|h| h.contains(needle))
            .ok_or_else(|| anyhow!("KWB export: no column containing {needle:?}; is this table 85984NED?"))
    };
    let code_col = col("Codering (code)")?;
    let kind_col = col("Soort regio")?;
    let ages = age_columns(&header);
    if ages.is_empty() {
        bail!("KWB export: no age-group columns (`Leeftijdsgroepen/… (aantal)`)");
    }
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (line, rec) in rows {
        let get = |i: usize| rec.get(i).map(String::as_str).unwrap_or("");
        let code = get(code_col);
        let region = match get(kind_col) {
            "Gemeente" | "Wijk" => code.to_string(),
            "Land" if code == "NL00" => {
                problems.push(format!("line {line}: NL00 (Nederland) written as NL01, the contract's code"));
                NATIONAL_REGION.to_string()
            }
            "Buurt" => continue,
            other => {
                problems.push(format!("line {line}: region kind {other:?} ({code}) skipped"));
                continue;
            }
        };
        if !valid_region(&region) {
            // Amsterdam's districts are coded WK0363AA..; the contract allows WK + 6 digits
            // only, so they cannot be written (reported, see docs/weighting.md).
            problems.push(format!(
                "line {line}: region code {code:?} is not NL01, GM + 4 digits or WK + 6 digits; skipped"
            ));
            continue;
        }
        match band_rows(&rec, &ages, year, &region) {
            Ok(Some(rs)) => out.extend(rs),
            Ok(None) => problems.push(format!("line {line}: {region}: age groups not available (suppressed); skipped")),
            Err(e) => problems.push(format!("line {line}: {region}: {e}; skipped")),
        }
    }
    Ok((out, problems))
}

/// The rows of one region from its age columns; `None` when any age group is missing.
fn band_rows(
    rec: &[String],
    ages: &[(usize, u16, Option<u16>)],
    year: u16,
    region: &str,
) -> Result<Option<Vec<PopulationRow>>, String> {
    let mut out = Vec::new();
    for &(i, from, to) in ages {
        let v = rec.get(i).map(String::as_str).unwrap_or("");
        let c = statline_count(v).map_err(|e| format!("age {}: {e}", band_label(from, to)))?;
        let Some(count) = c else { return Ok(None) };
        out.push(PopulationRow {
            year,
            region: region.to_string(),
            age_from: from,
            age_to: to,
            sex: Sex::Total,
            count,
        });
    }
    Ok(Some(out))
}

/// Imports CBS "Regionale kerncijfers Nederland" (70072ned): nine age groups per
/// municipality, identified by NAME only. Names resolve through the municipality list,
/// historical names included. The export lists every municipality that ever existed: rows
/// without figures (386 historical municipalities in the 2025 export) are skipped silently;
/// a row with figures whose name does not resolve, or resolves to a municipality that no
/// longer exists, is reported and skipped. `Nederland` becomes `NL01`; the StatLine qualifier
/// ` (gemeente)` (Groningen, Utrecht, 's-Gravenhage) is dropped before the lookup. The year is `year`, or
/// else the `Perioden` column (`2025`, also `2025JJ00`).
pub fn import_cbs_70072ned(
    bytes: &[u8],
    year: Option<u16>,
    m: &Municipalities,
) -> Result<(Vec<PopulationRow>, Vec<String>)> {
    let (header, rows) = statline_records(bytes)?;
    let col = |needle: &str| {
        header.iter().position(|h| h == needle).ok_or_else(|| anyhow!("70072ned export: no column {needle:?}"))
    };
    let period_col = col("Perioden")?;
    let region_col = col("Regio's")?;
    let ages = age_columns(&header);
    if ages.is_empty() {
        bail!("70072ned export: no age-group columns (`Leeftijdsgroepen/… (aantal)`)");
    }
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut seen: BTreeMap<(String, u16), u64> = BTreeMap::new();
    for (line, rec) in rows {
        let get = |i: usize| rec.get(i).map(String::as_str).unwrap_or("");
        let name = get(region_col);
        let y = match year {
            Some(y) => y,
            None => match get(period_col).get(..4).and_then(|s| s.parse::<u16>().ok()) {
                Some(y) => y,
                None => bail!("70072ned export line {line}: Perioden {:?} is not a year; pass --year", get(period_col)),
            },
        };
        let empty = ages.iter().all(|&(i, _, _)| matches!(statline_count(get(i)), Ok(None)));
        if empty {
            continue; // a historical municipality without figures for this period
        }
        let region = if name.eq_ignore_ascii_case("Nederland") {
            NATIONAL_REGION.to_string()
        } else {
            // StatLine qualifies a municipality that shares its name with a province:
            // "Groningen (gemeente)", "Utrecht (gemeente)", "'s-Gravenhage (gemeente)". The
            // qualifier is CBS's, not part of the name, so it is removed before the lookup.
            let bare = name.strip_suffix("(gemeente)").map(str::trim_end).unwrap_or(name);
            match m.code_by_name(bare) {
                None => {
                    problems.push(format!(
                        "line {line}: municipality name {name:?} not found in the municipality list; skipped"
                    ));
                    continue;
                }
                Some(code) => match m.resolve_code(code) {
                    Resolution::Current(c) => c.code,
                    other => {
                        problems.push(format!(
                            "line {line}: {name:?} is the former municipality {code} ({}); it has figures but is not a current municipality; skipped",
                            describe(&other)
                        ));
                        continue;
                    }
                },
            }
        };
        if let Some(prev_line) = seen.get(&(region.clone(), y)) {
            problems.push(format!(
                "line {line}: {name:?} resolves to {region}, already read from line {prev_line}; skipped"
            ));
            continue;
        }
        match band_rows(&rec, &ages, y, &region) {
            Ok(Some(rs)) => {
                seen.insert((region.clone(), y), line);
                out.extend(rs)
            }
            Ok(None) => problems.push(format!("line {line}: {name:?} ({region}): some age groups missing; skipped")),
            Err(e) => problems.push(format!("line {line}: {name:?} ({region}): {e}; skipped")),
        }
    }
    Ok((out, problems))
}

fn describe(r: &Resolution) -> String {
    match r {
        Resolution::Current(c) => format!("current: {}", c.code),
        Resolution::Merged { into, .. } => format!("merged into {} {}", into.code, into.name),
        Resolution::Split { into, .. } => {
            format!("split over {}", into.iter().map(|m| m.code.as_str()).collect::<Vec<_>>().join(", "))
        }
        Resolution::Unknown => "no successor known".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_years_fingerprint_is_the_hash_of_the_csv_of_the_rows_up_to_it() {
        // Years, regions and bands out of order, both open and closed bands.
        let mut rows = Vec::new();
        for (i, year) in [2019u16, 2016, 2021, 2016, 2018].into_iter().enumerate() {
            for region in ["GM0363", "NL01", "GM0014"] {
                for (sex, count) in [(Sex::Female, 7), (Sex::Total, 20), (Sex::Male, 13)] {
                    let age_from = 18 + 10 * i as u16;
                    let age_to = (i % 2 == 0).then_some(age_from + 9);
                    rows.push(PopulationRow { year, region: region.into(), age_from, age_to, sex, count });
                }
            }
        }
        let table = PopulationTable::from_rows(rows, "test").unwrap();
        let years = [2015, 2016, 2017, 2019, 2021, 2030, u16::MAX];
        let got = table.fingerprints_upto(years);
        assert_eq!(got.len(), years.len());
        for year in years {
            let upto: Vec<PopulationRow> = table.rows().filter(|r| r.year <= year).cloned().collect();
            let want = blake3::hash(render_csv(&upto).as_bytes()).to_hex().to_string();
            assert_eq!(got[&year], want, "year {year}");
        }
        assert_eq!(table.fingerprint(), got[&u16::MAX]);
        assert_ne!(got[&2016], got[&2019]);
    }
}
