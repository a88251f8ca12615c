//! The indicator catalogue: `config/indicators/catalogue.csv` (every published VNG indicator
//! code the 2022 lake can compute, with its kind, source, codes and domain) and
//! `config/indicators/not-computable.csv` (every other code of the VNG workbook, with the
//! reason), loaded into plain types and validated against the codebook.
//!
//! Validation names file, line and column of every problem, and reports them all at once so a
//! maintainer fixes the file in one pass. A `source` is either a canonical 2022 lake column
//! (known to the [`Codebook`]) or one of the respondent-level indicators and scores
//! (`definitions::DEFINITIONS`).
//!
//! It must NOT compute any figure, read the VNG workbook (the test `tests/indicator_catalogue.rs`
//! checks the files against it) or know variable codes beyond what the codebook says.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::codebook::Codebook;
use crate::config::ConfigSource;

/// The catalogue file, relative to the config directory.
pub const CATALOGUE_FILE: &str = "indicators/catalogue.csv";
/// The list of workbook codes the lake cannot compute, relative to the config directory.
pub const NOT_COMPUTABLE_FILE: &str = "indicators/not-computable.csv";

/// The columns of `catalogue.csv`, in order.
pub const CATALOGUE_COLUMNS: [&str; 10] =
    ["code", "label", "kind", "source", "codes", "set", "domain", "unit", "vng_type", "note"];
/// The columns of `not-computable.csv`, in order.
pub const NOT_COMPUTABLE_COLUMNS: [&str; 2] = ["code", "reason"];

/// Whether `name` is a respondent-level indicator or score a catalogue row may use as `source`
/// (one of [`super::definitions::DEFINITIONS`]).
fn is_respondent_indicator(name: &str) -> bool {
    super::definitions::DEFINITIONS.iter().any(|d| d.name == name)
}

/// How a published figure is computed from its source, per municipality and year, weighted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Weighted mean of the source's valid values.
    Mean,
    /// Weighted % of the source's valid answers whose code is in `codes`.
    Percent,
    /// Weighted % of respondents who ticked the box `source`, among those who ticked at least
    /// one box of the multiple-response set `set`.
    MrPercent,
    /// Unweighted number of respondents.
    Count,
}

/// The unit a figure is published in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// 0–100.
    Percent,
    /// A mean of a 1–10 grade question.
    Grade,
    /// A mean of a scale or breadth score.
    Score,
    /// A number of respondents.
    Count,
}

/// The respondents a figure is computed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// Every respondent of the municipality and year.
    All,
    /// One age class `lft_cy` (1 = 18–39, 2 = 40–64, 3 = 65–74, 4 = 75+): the `_cy` codes.
    AgeClass(u8),
    /// One typology class (1 weerbaren … 4 kwetsbaren): the `_meanb` codes.
    Typology(u8),
    /// `zelfredzaam` 0 or 1: the `_red0` / `_red1` codes.
    Zelfredzaam(u8),
}

/// The workbook's data type of a code (`Data type` column of sheet `Indicators`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VngType {
    Mean,
    PercentageSum,
    Numeric,
    Enum,
}

impl VngType {
    /// The spelling in the workbook.
    pub fn as_str(self) -> &'static str {
        match self {
            VngType::Mean => "Mean",
            VngType::PercentageSum => "Percentage (sum)",
            VngType::Numeric => "Numeric",
            VngType::Enum => "Enum",
        }
    }
}

/// One published indicator the lake can compute.
#[derive(Clone, Debug, PartialEq)]
pub struct Indicator {
    pub code: String,
    /// Dutch label, exactly as in the VNG workbook.
    pub label: String,
    pub kind: Kind,
    /// A canonical 2022 lake column or a respondent-level indicator of `definitions::DEFINITIONS`; empty for
    /// [`Kind::Count`].
    pub source: String,
    /// The counted codes of a percent; `[1]` (ticked) for a multiple-response share; empty for a
    /// mean or a count.
    pub codes: Vec<i16>,
    /// The multiple-response set (`zw13`: the lake columns `zw13_0`, `zw13_1`, …) of a
    /// [`Kind::MrPercent`].
    pub set: Option<String>,
    pub domain: Domain,
    pub unit: Unit,
    pub vng_type: VngType,
    /// How the mapping was derived where no source states it (Dutch); may be empty.
    pub note: String,
}

/// A workbook code the lake cannot compute, and why (Dutch).
#[derive(Clone, Debug, PartialEq)]
pub struct NotComputable {
    pub code: String,
    pub reason: String,
}

/// Both files, validated.
#[derive(Clone, Debug)]
pub struct Catalogue {
    /// Sorted by code.
    pub indicators: Vec<Indicator>,
    /// Sorted by code.
    pub not_computable: Vec<NotComputable>,
}

/// One problem in a catalogue file: where it is and what is wrong (Dutch).
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub column: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: kolom `{}`: {}", self.file.display(), self.line, self.column, self.message)
    }
}

/// Why the catalogue could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("{}: niet te lezen: {reason}", file.display())]
    Read { file: PathBuf, reason: String },
    #[error("indicatorcatalogus ongeldig ({} problemen):\n{}", .0.len(), list(.0))]
    Invalid(Vec<Problem>),
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
}

/// The number of `name` as a box of multiple-response set `set` (`zw13_2` → 2 for `zw13`).
pub fn box_number(name: &str, set: &str) -> Option<u32> {
    name.strip_prefix(set)?.strip_prefix('_')?.parse().ok()
}

impl Catalogue {
    /// Whether an indicator of the catalogue reads lake column `name`: as its source, or as a
    /// box of its multiple-response set.
    pub fn reads(&self, name: &str) -> bool {
        self.indicators
            .iter()
            .any(|i| i.source == name || i.set.as_deref().is_some_and(|set| box_number(name, set).is_some()))
    }

    /// Reads and validates both files under `config_dir` (`config/` by default).
    pub fn load(config_dir: &Path, codebook: &Codebook) -> Result<Catalogue, CatalogueError> {
        Catalogue::load_from(&ConfigSource::Dir(config_dir.to_path_buf()), codebook)
    }

    /// Loads both files from a configuration (a directory or the copy in the binary).
    pub fn load_from(source: &ConfigSource, codebook: &Codebook) -> Result<Catalogue, CatalogueError> {
        let read = |rel: &str| {
            let file = match source {
                ConfigSource::Dir(dir) => dir.join(rel),
                ConfigSource::Embedded => PathBuf::from(rel),
            };
            let bytes =
                source.read(rel).map_err(|e| CatalogueError::Read { file: file.clone(), reason: format!("{e:#}") })?;
            String::from_utf8(bytes)
                .map(|text| (file.clone(), text))
                .map_err(|_| CatalogueError::Read { file, reason: "geen UTF-8".into() })
        };
        let (catalogue_file, catalogue_text) = read(CATALOGUE_FILE)?;
        let (excluded_file, excluded_text) = read(NOT_COMPUTABLE_FILE)?;
        let mut problems = Vec::new();
        let indicators = parse_catalogue(&catalogue_file, &catalogue_text, codebook, &mut problems);
        let not_computable = parse_not_computable(&excluded_file, &excluded_text, &mut problems);
        for n in &not_computable.rows {
            if indicators.rows.iter().any(|i| i.code == n.code) {
                problems.push(Problem {
                    file: excluded_file.clone(),
                    line: not_computable.line_of(&n.code),
                    column: "code".into(),
                    message: format!("`{}` staat ook in {CATALOGUE_FILE}", n.code),
                });
            }
        }
        if problems.is_empty() {
            Ok(Catalogue { indicators: indicators.rows, not_computable: not_computable.rows })
        } else {
            Err(CatalogueError::Invalid(problems))
        }
    }

    /// The indicator with this code.
    pub fn indicator(&self, code: &str) -> Option<&Indicator> {
        self.indicators.binary_search_by(|i| i.code.as_str().cmp(code)).ok().map(|k| &self.indicators[k])
    }
}

/// Parsed rows with the line each came from.
struct Parsed<T> {
    rows: Vec<T>,
    lines: Vec<(String, u64)>,
}

impl<T> Parsed<T> {
    fn line_of(&self, code: &str) -> u64 {
        self.lines.iter().find(|(c, _)| c == code).map(|(_, l)| *l).unwrap_or(0)
    }
}

/// Reads a CSV text whose header must be exactly `columns`; returns each record with its line.
fn records(file: &Path, text: &str, columns: &[&str], problems: &mut Vec<Problem>) -> Vec<(u64, csv::StringRecord)> {
    let problem = |line: u64, column: &str, message: String| Problem {
        file: file.to_path_buf(),
        line,
        column: column.to_string(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    match reader.headers() {
        Ok(h) if h.iter().eq(columns.iter().copied()) => {}
        Ok(h) => {
            let found = h.iter().collect::<Vec<_>>().join(",");
            problems.push(problem(1, "(kop)", format!("kolommen `{found}`, verwacht `{}`", columns.join(","))));
            return Vec::new();
        }
        Err(e) => {
            problems.push(problem(1, "(kop)", format!("onleesbare kopregel: {e}")));
            return Vec::new();
        }
    }
    let mut out = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => {
                let line = r.position().map_or(0, |p| p.line());
                if r.len() == columns.len() {
                    out.push((line, r));
                } else {
                    problems.push(problem(line, "(regel)", format!("{} velden, verwacht {}", r.len(), columns.len())));
                }
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(problem(line, "(regel)", format!("onleesbare regel: {e}")));
            }
        }
    }
    out
}

/// Checks that codes are non-empty, unique and in ascending order, as the files promise.
fn check_code_order(
    file: &Path,
    seen: &mut BTreeSet<String>,
    last: &mut String,
    line: u64,
    code: &str,
) -> Vec<Problem> {
    let problem = |message: String| Problem { file: file.to_path_buf(), line, column: "code".into(), message };
    let mut out = Vec::new();
    if code.is_empty() {
        out.push(problem("lege code".into()));
    } else if !seen.insert(code.to_string()) {
        out.push(problem(format!("`{code}` staat er twee keer in")));
    } else if code < last.as_str() {
        out.push(problem(format!("`{code}` staat na `{last}`: het bestand is op code gesorteerd")));
    }
    *last = code.to_string();
    out
}

fn parse_catalogue(file: &Path, text: &str, codebook: &Codebook, problems: &mut Vec<Problem>) -> Parsed<Indicator> {
    let mut parsed = Parsed { rows: Vec::new(), lines: Vec::new() };
    let (mut seen, mut last) = (BTreeSet::new(), String::new());
    for (line, record) in records(file, text, &CATALOGUE_COLUMNS, problems) {
        problems.extend(check_code_order(file, &mut seen, &mut last, line, field(&record, "code")));
        match indicator_from(&record, codebook) {
            Ok(indicator) => {
                parsed.lines.push((indicator.code.clone(), line));
                parsed.rows.push(indicator);
            }
            Err(errors) => problems.extend(errors.into_iter().map(|(column, message)| Problem {
                file: file.to_path_buf(),
                line,
                column: column.to_string(),
                message,
            })),
        }
    }
    parsed
}

fn parse_not_computable(file: &Path, text: &str, problems: &mut Vec<Problem>) -> Parsed<NotComputable> {
    let mut parsed = Parsed { rows: Vec::new(), lines: Vec::new() };
    let (mut seen, mut last) = (BTreeSet::new(), String::new());
    for (line, record) in records(file, text, &NOT_COMPUTABLE_COLUMNS, problems) {
        let (code, reason) = (record.get(0).unwrap_or(""), record.get(1).unwrap_or(""));
        problems.extend(check_code_order(file, &mut seen, &mut last, line, code));
        if reason.trim().is_empty() {
            let message = "geen reden opgegeven".to_string();
            problems.push(Problem { file: file.to_path_buf(), line, column: "reason".into(), message });
        }
        parsed.lines.push((code.to_string(), line));
        parsed.rows.push(NotComputable { code: code.to_string(), reason: reason.to_string() });
    }
    parsed
}

/// A column name and what is wrong with its value.
type FieldError = (&'static str, String);

/// The value of the catalogue column `name` in a record of the right length.
fn field<'a>(record: &'a csv::StringRecord, name: &str) -> &'a str {
    CATALOGUE_COLUMNS.iter().position(|c| *c == name).and_then(|k| record.get(k)).unwrap_or("")
}

/// Builds one indicator from a row's fields, or lists every field that is wrong.
fn indicator_from(record: &csv::StringRecord, codebook: &Codebook) -> Result<Indicator, Vec<FieldError>> {
    let field = |name: &str| field(record, name);
    let mut errors = Vec::new();
    let kind = take(&mut errors, "kind", parse_kind(field("kind")));
    let unit = take(&mut errors, "unit", parse_unit(field("unit")));
    let domain = take(&mut errors, "domain", parse_domain(field("domain")));
    let vng_type = take(&mut errors, "vng_type", parse_vng_type(field("vng_type")));
    let codes = take(&mut errors, "codes", parse_codes(field("codes")));
    let set = Some(field("set").to_string()).filter(|s| !s.is_empty());
    if field("label").trim().is_empty() {
        errors.push(("label", "leeg label".into()));
    }
    let (Some(kind), Some(unit), Some(domain), Some(vng_type), Some(codes)) = (kind, unit, domain, vng_type, codes)
    else {
        return Err(errors);
    };
    let indicator = Indicator {
        code: field("code").to_string(),
        label: field("label").to_string(),
        kind,
        source: field("source").to_string(),
        codes,
        set,
        domain,
        unit,
        vng_type,
        note: field("note").to_string(),
    };
    errors.extend(check_shape(&indicator));
    errors.extend(check_source(&indicator, codebook));
    if errors.is_empty() { Ok(indicator) } else { Err(errors) }
}

/// The parsed value, or `None` with the problem noted against `column`.
fn take<T>(errors: &mut Vec<FieldError>, column: &'static str, parsed: Result<T, String>) -> Option<T> {
    parsed.map_err(|message| errors.push((column, message))).ok()
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    match s {
        "mean" => Ok(Kind::Mean),
        "percent" => Ok(Kind::Percent),
        "mr_percent" => Ok(Kind::MrPercent),
        "count" => Ok(Kind::Count),
        _ => Err(format!("onbekende soort `{s}` (mean, percent, mr_percent, count)")),
    }
}

fn parse_unit(s: &str) -> Result<Unit, String> {
    match s {
        "percent" => Ok(Unit::Percent),
        "grade" => Ok(Unit::Grade),
        "score" => Ok(Unit::Score),
        "count" => Ok(Unit::Count),
        _ => Err(format!("onbekende eenheid `{s}` (percent, grade, score, count)")),
    }
}

fn parse_vng_type(s: &str) -> Result<VngType, String> {
    [VngType::Mean, VngType::PercentageSum, VngType::Numeric, VngType::Enum]
        .into_iter()
        .find(|t| t.as_str() == s)
        .ok_or_else(|| format!("onbekend VNG-gegevenstype `{s}` (Mean, Percentage (sum), Numeric, Enum)"))
}

/// `""` (all respondents), `lft_cy=1..4`, `typology=1..4` or `zelfredzaam=0..1`.
fn parse_domain(s: &str) -> Result<Domain, String> {
    if s.is_empty() {
        return Ok(Domain::All);
    }
    let wrong = || format!("onbekend domein `{s}` (leeg, lft_cy=1..4, typology=1..4, zelfredzaam=0..1)");
    let (name, value) = s.split_once('=').ok_or_else(wrong)?;
    let value: u8 = value.parse().map_err(|_| wrong())?;
    match (name, value) {
        ("lft_cy", 1..=4) => Ok(Domain::AgeClass(value)),
        ("typology", 1..=4) => Ok(Domain::Typology(value)),
        ("zelfredzaam", 0..=1) => Ok(Domain::Zelfredzaam(value)),
        _ => Err(wrong()),
    }
}

/// `1|2` → `[1, 2]`; empty → `[]`.
fn parse_codes(s: &str) -> Result<Vec<i16>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let codes = s
        .split('|')
        .map(|c| c.parse::<i16>().map_err(|_| format!("`{c}` is geen code (gehele getallen gescheiden door |)")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut unique = codes.clone();
    unique.sort_unstable();
    unique.dedup();
    if unique != codes {
        return Err(format!("codes `{s}` niet oplopend of dubbel"));
    }
    Ok(codes)
}

/// Kind, unit, codes and set must fit together.
fn check_shape(i: &Indicator) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let units: &[Unit] = match i.kind {
        Kind::Mean => &[Unit::Grade, Unit::Score],
        Kind::Percent | Kind::MrPercent => &[Unit::Percent],
        Kind::Count => &[Unit::Count],
    };
    if !units.contains(&i.unit) {
        errors.push(("unit", format!("eenheid {:?} past niet bij soort {:?}", i.unit, i.kind)));
    }
    match i.kind {
        Kind::Mean | Kind::Count if !i.codes.is_empty() => {
            errors.push(("codes", "een gemiddelde of aantal telt geen codes: laat leeg".into()))
        }
        Kind::Percent if i.codes.is_empty() => errors.push(("codes", "een percentage noemt de getelde codes".into())),
        Kind::MrPercent if i.codes != [1] => {
            errors.push(("codes", "een meerkeuzeaandeel telt code 1 (aangevinkt)".into()))
        }
        _ => {}
    }
    match (&i.set, i.kind) {
        (None, Kind::MrPercent) => errors.push(("set", "een meerkeuzeaandeel noemt zijn set (zw13)".into())),
        (Some(set), Kind::MrPercent) if !i.source.starts_with(&format!("{set}_")) => {
            errors.push(("set", format!("bron `{}` hoort niet bij set `{set}`", i.source)))
        }
        (Some(_), kind) if kind != Kind::MrPercent => {
            errors.push(("set", "alleen een meerkeuzeaandeel (mr_percent) heeft een set".into()))
        }
        _ => {}
    }
    errors
}

/// The source must exist, and the counted codes must be substantive codes of a lake column.
fn check_source(i: &Indicator, codebook: &Codebook) -> Vec<FieldError> {
    if i.kind == Kind::Count {
        return if i.source.is_empty() { vec![] } else { vec![("source", "een aantal heeft geen bron".into())] };
    }
    if is_respondent_indicator(&i.source) {
        if i.kind == Kind::Mean && i.unit != Unit::Score {
            return vec![("unit", format!("gemiddelde van indicator `{}` heeft eenheid score", i.source))];
        }
        return vec![];
    }
    let Some(variable) = codebook.variable_2022(&i.source).filter(|_| codebook.column_index(&i.source).is_some())
    else {
        let message = format!("`{}` is geen kolom van de lake (dataformat 2022) en geen respondentindicator", i.source);
        return vec![("source", message)];
    };
    let mut errors = Vec::new();
    if i.kind == Kind::Mean && i.unit != Unit::Grade {
        errors.push(("unit", format!("gemiddelde van vraag `{}` heeft eenheid grade", i.source)));
    }
    let labelled = |c: i16| variable.value_labels.iter().any(|(code, _)| *code == c);
    for &c in &i.codes {
        if !labelled(c) || variable.nonsubstantive.contains(&c) {
            errors.push(("codes", format!("code {c} is geen inhoudelijk antwoord van `{}`", i.source)));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_is_the_set_name_an_underscore_and_a_number() {
        assert_eq!(box_number("zw13_2", "zw13"), Some(2));
        assert_eq!(box_number("zw13_10", "zw13"), Some(10));
        for (name, set) in [("zw13", "zw13"), ("zw13_x", "zw13"), ("zw131_2", "zw13"), ("zw13_2_1", "zw13")] {
            assert_eq!(box_number(name, set), None, "{name} of {set}");
        }
    }

    fn codebook() -> Codebook {
        Codebook::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
    }

    const HEADER: &str = "code,label,kind,source,codes,set,domain,unit,vng_type,note\n";

    fn parse(rows: &str) -> (Vec<Indicator>, Vec<Problem>) {
        let mut problems = Vec::new();
        let text = format!("{HEADER}{rows}");
        let parsed = parse_catalogue(Path::new("catalogue.csv"), &text, &codebook(), &mut problems);
        (parsed.rows, problems)
    }

    #[test]
    fn respondent_indicators_equal_the_golden_header() {
        let shared = std::env::var_os("BURGERPEILING_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
        let golden = shared.join("golden/indicators/respondent_scores/expected.csv");
        let text = std::fs::read_to_string(&golden).unwrap();
        let header: Vec<&str> = text.lines().next().unwrap().trim_end_matches('\r').split(',').collect();
        assert_eq!(header[0], "respondent_key");
        let names: Vec<&str> = super::super::definitions::DEFINITIONS.iter().map(|d| d.name).collect();
        assert_eq!(header[1..], names[..]);
    }

    #[test]
    fn good_rows_become_plain_types() {
        let (rows, problems) = parse(concat!(
            "bh_cy1,Burenhulp 18 tot 40 jaar,percent,act_hlp,1,,lft_cy=1,percent,Mean,\n",
            "bp_respons,Respons,count,,,,,count,Numeric,\n",
            "unity_ss_meanb2,Verbondenheid buurt,mean,verbonden_ss,,,typology=2,score,Mean,\n",
            "wl01_pin_5,9 of hoger,percent,wl01,9|10,,,percent,Percentage (sum),\n",
            "zw13_10_pin,\"Geen, ik wil geen burenhulp geven\",mr_percent,zw13_10,1,zw13,,percent,Percentage (sum),\n",
        ));
        assert_eq!(problems, vec![]);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].domain, Domain::AgeClass(1));
        assert_eq!(rows[1].kind, Kind::Count);
        assert_eq!(rows[2].domain, Domain::Typology(2));
        assert_eq!(rows[3].codes, vec![9, 10]);
        assert_eq!(rows[4].set.as_deref(), Some("zw13"));
        assert_eq!(rows[4].label, "Geen, ik wil geen burenhulp geven");
    }

    #[test]
    fn problems_name_file_line_and_column() {
        let (_, problems) = parse(concat!(
            "wl01,Woon- en leefomgeving,mean,wl01,,,,grade,Mean,\n",
            "wl02_0,Voelt zich thuis,percent,wl02_0,1|6,,,percent,Percentage (sum),\n",
            "wl03_0,Prettig,percent,wl99,1|2,,,percent,Percentage (sum),\n",
            "wl03_1,Klaar,avg,wl03_1,,,,grade,Mean,\n",
            "wl02_1,Niet weggaan,percent,wl02_1,1|2,,lft_cy=5,percent,Percentage (sum),\n",
            "zw13_0_pin,Boodschappen,mr_percent,zw13_0,1,zw08,,percent,Percentage (sum),\n",
        ));
        let at: Vec<(u64, &str)> = problems.iter().map(|p| (p.line, p.column.as_str())).collect();
        assert_eq!(at, vec![(3, "codes"), (4, "source"), (5, "kind"), (6, "code"), (6, "domain"), (7, "set")]);
        assert!(problems[0].to_string().starts_with("catalogue.csv:3: kolom `codes`: code 6"), "{}", problems[0]);
    }

    #[test]
    fn kind_unit_and_codes_must_fit_together() {
        let (_, problems) = parse(concat!(
            "a,A,mean,wl01,1,,,grade,Mean,\n",
            "b,B,mean,kunnen_ss,,,,grade,Mean,\n",
            "c,C,percent,wl01,,,,percent,Percentage (sum),\n",
            "d,D,count,wl01,,,,count,Numeric,\n",
            "e,E,percent,wl02_0,1,zw13,,percent,Percentage (sum),\n",
        ));
        let columns: Vec<&str> = problems.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(columns, vec!["codes", "unit", "codes", "source", "set"]);
    }

    #[test]
    fn wrong_header_and_not_computable_rows_are_reported() {
        let mut problems = Vec::new();
        parse_catalogue(Path::new("c.csv"), "code,label\nwl01,x\n", &codebook(), &mut problems);
        assert_eq!((problems[0].line, problems[0].column.as_str()), (1, "(kop)"));
        let mut problems = Vec::new();
        let text = "code,reason\nsc01_1,alleen 2019\nsc01_0,\n";
        let parsed = parse_not_computable(Path::new("n.csv"), text, &mut problems);
        assert_eq!(parsed.rows.len(), 2);
        let at: Vec<(u64, &str)> = problems.iter().map(|p| (p.line, p.column.as_str())).collect();
        assert_eq!(at, vec![(3, "code"), (3, "reason")]);
    }

    #[test]
    fn the_project_catalogue_loads() {
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let catalogue = Catalogue::load(&config, &codebook()).unwrap_or_else(|e| panic!("{e}"));
        let unity = catalogue.indicator("unity_ss_mean").unwrap();
        assert_eq!((unity.kind, unity.source.as_str()), (Kind::Mean, "verbonden_ss"));
        assert!(catalogue.indicator("wl11_0").is_none());
        assert!(catalogue.not_computable.iter().any(|n| n.code == "wl11_0"));
    }
}
