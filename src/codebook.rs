//! The codebook: the canonical schema of the lake, built at start-up from the VNG dataformats
//! and the 2019→2022 version map under `config/codebook/`.
//!
//! This is the only module that knows variable names and codes. It loads the four dataformats
//! (2019 v11, v12, v13 and 2022), the version map and the list of variables that must never
//! enter the lake (postcode, open text), and derives from them:
//!
//! - the canonical questionnaire columns, in lake order: every 2022 variable, then
//!   `<name>_2019` for each variable whose 2019 answers cannot be put on the 2022 scale, then
//!   the 2019-only variables under their 2019 names;
//! - for each questionnaire version, where each delivered variable goes ([`Target`]);
//! - the marker variables that exist in only one version, for version detection;
//! - the value labels of the research variables (`kw`, `veldwerkmodus`, `org`) and the agency
//!   table (`config/agencies.csv`: names and known spellings of the agencies behind `org`),
//!   so labels decode to codes in every column, with one matcher ([`fold_label`]).
//!
//! It does no I/O beyond reading those config files.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::config::ConfigSource;

/// Fewer than this many complete questionnaires in a municipality-year: not publishable
/// (protocol: "474 volledige afgeronde vragenlijsten of minder").
pub const MIN_COMPLETE: usize = 475;

/// The age question `ch02`'s bands, code 1..=6 → inclusive age range (`None` = open): the
/// weighting cells, the population alignment and the reports' age chart all use these.
pub const AGE_BANDS: [(u16, Option<u16>); 6] =
    [(18, Some(29)), (30, Some(39)), (40, Some(54)), (55, Some(64)), (65, Some(74)), (75, None)];

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The two questionnaire versions the lake harmonises onto one schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Questionnaire {
    V2019,
    V2022,
}

impl Questionnaire {
    pub fn as_str(self) -> &'static str {
        match self {
            Questionnaire::V2019 => "2019",
            Questionnaire::V2022 => "2022",
        }
    }
}

/// The research variables every dataformat starts with: who, where, when, how. They are not
/// questionnaire answers and get columns of their own in the lake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResearchVariable {
    Respondent,
    Gemnr,
    Jr,
    Kw,
    Veldwerkmodus,
    Org,
    Weging,
    Wijknr,
}

impl ResearchVariable {
    pub const ALL: [ResearchVariable; 8] = [
        ResearchVariable::Respondent,
        ResearchVariable::Gemnr,
        ResearchVariable::Jr,
        ResearchVariable::Kw,
        ResearchVariable::Veldwerkmodus,
        ResearchVariable::Org,
        ResearchVariable::Weging,
        ResearchVariable::Wijknr,
    ];

    /// The dataformat's name for the variable.
    pub fn name(self) -> &'static str {
        match self {
            ResearchVariable::Respondent => "respondent",
            ResearchVariable::Gemnr => "gemnr",
            ResearchVariable::Jr => "jr",
            ResearchVariable::Kw => "kw",
            ResearchVariable::Veldwerkmodus => "veldwerkmodus",
            ResearchVariable::Org => "org",
            ResearchVariable::Weging => "weging",
            ResearchVariable::Wijknr => "wijknr",
        }
    }

    fn from_name(name: &str) -> Option<ResearchVariable> {
        ResearchVariable::ALL.into_iter().find(|v| v.name() == name)
    }
}

/// One variable of one dataformat, as the VNG defines it.
#[derive(Clone, Debug, PartialEq)]
pub struct Variable {
    pub name: String,
    pub label: String,
    /// SPSS string variable (open text, postcode, `wijknr`).
    pub text: bool,
    pub value_labels: Vec<(i16, String)>,
    /// Declared user-missing codes (`-1`, `88`, `99`; `dv03_*` in 2019: `11`, `88`, `99`).
    pub user_missing: Vec<i16>,
    /// "Don't know / not applicable" codes: valid codes, kept, but not substantive.
    pub nonsubstantive: Vec<i16>,
}

/// One dataformat version (`2019-v11`, `2019-v12`, `2019-v13`, `2022`).
#[derive(Clone, Debug)]
pub struct Dataformat {
    pub name: String,
    pub questionnaire: Questionnaire,
    pub variables: Vec<Variable>,
}

/// Whether a canonical column means the same in both questionnaire versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparability {
    /// Same question and codes in 2019 and 2022.
    Both,
    /// Only 2022 deliveries fill it (new in 2022, or 2019 answers went to `<name>_2019`).
    Only2022,
    /// Only 2019 deliveries fill it (`<name>_2019`, or dropped from the 2022 dataformat).
    Only2019,
    /// 2022 codes; 2019 answers recoded onto them by an exact rule
    /// (`recodes-2019-2022.csv`). Where a 2019 code has no 2022 counterpart the 2022 column is
    /// null and `<name>_2019` keeps the answer.
    Recoded,
}

impl Comparability {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparability::Both => "2019 and 2022",
            Comparability::Only2022 => "2022 only",
            Comparability::Only2019 => "2019 only",
            Comparability::Recoded => "2019 recoded to 2022 codes",
        }
    }
}

/// A questionnaire column of the lake (int16 codes).
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub label: String,
    pub value_labels: Vec<(i16, String)>,
    pub comparability: Comparability,
}

/// Where a delivered variable goes, for one questionnaire version.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Research(ResearchVariable),
    Answer(Answer),
    /// Never read: personal data or open text (reason from `excluded-variables.csv`).
    Excluded {
        reason: String,
    },
}

/// How one delivered questionnaire variable becomes lake values.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The column it fills (index into [`Codebook::columns`]).
    pub column: usize,
    /// Declared missing codes of the delivered version: they become null.
    pub user_missing: CodeSet,
    /// The codes valid for the variable in the delivered version; empty when the dataformat
    /// labels none (then any whole number is taken).
    pub valid: CodeSet,
    /// Value labels of the delivered version, folded by [`fold_label`], for deliveries that
    /// write labels instead of codes.
    pub labels: Vec<(String, i16)>,
    /// For a 2019 variable with an exact 2019→2022 rule: the rule.
    pub recode: Option<Recode>,
}

/// A set of answer codes, tested once per delivered cell: a bit each for the codes 0 to 127
/// (nearly every code of the dataformats), a list for the rest. Scanning a list per cell was
/// 3% of a cold run's CPU.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeSet {
    small: u128,
    others: Vec<i16>,
}

impl CodeSet {
    pub fn new(codes: &[i16]) -> CodeSet {
        let mut set = CodeSet::default();
        for &code in codes {
            match u8::try_from(code).ok().filter(|c| *c < 128) {
                Some(c) => set.small |= 1 << c,
                None if !set.others.contains(&code) => set.others.push(code),
                None => {}
            }
        }
        set
    }

    #[inline]
    pub fn contains(&self, code: i16) -> bool {
        match u8::try_from(code).ok().filter(|c| *c < 128) {
            Some(c) => self.small >> c & 1 == 1,
            None => self.others.contains(&code),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.small == 0 && self.others.is_empty()
    }
}

/// An exact 2019→2022 recode of one variable.
#[derive(Clone, Debug, PartialEq)]
pub struct Recode {
    /// 2019 code → 2022 code. A valid 2019 code missing here has no 2022 counterpart.
    pub map: Vec<(i16, i16)>,
    /// The `<name>_2019` column that keeps the 2019 answer when some valid code has no
    /// counterpart (`dv12`: "wijkteam / huisbezoek" was split in two in 2022).
    pub keep_2019: Option<usize>,
}

impl Answer {
    /// The 2022 code of a valid delivered code: itself, or recoded; `None` when it has none.
    pub fn recoded(&self, code: i16) -> Option<i16> {
        match &self.recode {
            None => Some(code),
            Some(r) => r.map.iter().find(|(from, _)| *from == code).map(|(_, to)| *to),
        }
    }

    /// True when `code` is a valid code of the delivered variable.
    pub fn is_valid(&self, code: i16) -> bool {
        self.valid.is_empty() || self.valid.contains(code)
    }

    /// The code whose value label is `text` (case, spacing and diacritics ignored).
    pub fn code_of_label(&self, text: &str) -> Option<i16> {
        let folded = fold_label(text);
        self.labels.iter().find(|(l, _)| *l == folded).map(|(_, c)| *c)
    }
}

/// A routing rule of the questionnaire (`routing.csv`): when the condition holds, the skipped
/// variables must be empty.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutingRule {
    pub id: String,
    /// The rule, as written in `routing.csv`, for messages.
    pub description: String,
    /// Per questionnaire version: the condition column, the codes that trigger the rule, and
    /// the columns that must then be empty.
    pub per_version: Vec<(Questionnaire, usize, Vec<i16>, Vec<usize>)>,
}

/// The canonical schema and everything derived from the dataformats.
#[derive(Clone, Debug)]
pub struct Codebook {
    pub formats: Vec<Dataformat>,
    pub columns: Vec<Column>,
    targets: HashMap<Questionnaire, HashMap<String, Target>>,
    /// Variables that exist in one version only, for version detection.
    pub markers: HashMap<Questionnaire, BTreeSet<String>>,
    /// Routing rules R1, R3, R4 (`routing.csv`).
    pub routing: Vec<RoutingRule>,
    /// Other names agencies use for variables (`config/aliases.csv`): alias → variable, both
    /// in canonical spelling.
    aliases: HashMap<String, String>,
    /// Value labels of the research variables, per version, folded by [`fold_label`].
    research_labels: HashMap<(Questionnaire, ResearchVariable), Vec<(String, i16)>>,
    /// The research agencies behind `org` (`config/agencies.csv`).
    pub agencies: Vec<Agency>,
    /// Per variable name, its question texts in any dataformat, folded by [`fold_label`],
    /// sorted and without repeats: folded once here, not for every column of every delivery
    /// (that was 7% of a cold run's CPU).
    question_texts: HashMap<String, Vec<String>>,
}

/// A research agency: its `org` code, its name as the dataformat labels it, and the other
/// spellings deliveries use for it (`config/agencies.csv`).
#[derive(Clone, Debug, PartialEq)]
pub struct Agency {
    pub code: i16,
    pub name: String,
    pub spellings: Vec<String>,
}

#[derive(Deserialize)]
struct AgencyRow {
    code: i16,
    name: String,
    spellings: String,
}

#[derive(Deserialize)]
struct AliasRow {
    alias: String,
    variable: String,
}

#[derive(Deserialize)]
struct RecodeRow {
    variable: String,
    code_2019: i16,
    code_2022: i16,
}

#[derive(Deserialize)]
struct RoutingRow {
    rule: String,
    versions: String,
    if_variable: String,
    if_codes: String,
    skipped: String,
}

#[derive(Deserialize)]
struct DataformatRow {
    name: String,
    label: String,
    spss_type: String,
    value_labels: String,
    user_missing: String,
    nonsubstantive_codes: String,
}

#[derive(Deserialize)]
struct VersionMapRow {
    var_2019: String,
    var_2022: String,
    change_kind: String,
    notes: String,
}

#[derive(Deserialize)]
struct ExcludedRow {
    name: String,
    reason: String,
}

/// The files the codebook is read from, relative to the config directory. The first 2019
/// format listed wins where the 2019 formats differ (v13 is the last and most complete).
const FORMAT_FILES: [(&str, &str, Questionnaire); 4] = [
    ("2022", "codebook/dataformat-2022.csv", Questionnaire::V2022),
    ("2019-v13", "codebook/dataformat-2019-v13.csv", Questionnaire::V2019),
    ("2019-v12", "codebook/dataformat-2019-v12.csv", Questionnaire::V2019),
    ("2019-v11", "codebook/dataformat-2019-v11.csv", Questionnaire::V2019),
];
const VERSION_MAP_FILE: &str = "codebook/version-mapping-2019-2022.csv";
const EXCLUDED_FILE: &str = "codebook/excluded-variables.csv";
const RECODES_FILE: &str = "codebook/recodes-2019-2022.csv";
const ROUTING_FILE: &str = "codebook/routing.csv";
const ALIASES_FILE: &str = "aliases.csv";
const AGENCIES_FILE: &str = "agencies.csv";

/// Suffix of the column that keeps 2019 answers whose scale changed in 2022.
pub const SUFFIX_2019: &str = "_2019";

impl Codebook {
    /// Loads the codebook from a config directory (`config/` by default).
    pub fn load(config_dir: &Path) -> Result<Codebook> {
        Codebook::load_from(&ConfigSource::Dir(config_dir.to_path_buf()))
    }

    /// Loads the codebook from a configuration on disk or embedded.
    pub fn load_from(config: &ConfigSource) -> Result<Codebook> {
        let mut formats = Vec::new();
        for (name, file, questionnaire) in FORMAT_FILES {
            let rows: Vec<DataformatRow> = read_csv(config, file)?;
            let variables = rows
                .into_iter()
                .map(|r| variable_from_row(r).with_context(|| format!("in {file}")))
                .collect::<Result<Vec<_>>>()?;
            formats.push(Dataformat { name: name.to_string(), questionnaire, variables });
        }
        let map: Vec<VersionMapRow> = read_csv(config, VERSION_MAP_FILE)?;
        let excluded: Vec<ExcludedRow> = read_csv(config, EXCLUDED_FILE)?;
        let excluded: BTreeMap<String, String> = excluded.into_iter().map(|r| (r.name, r.reason)).collect();
        let recode_rows: Vec<RecodeRow> = read_csv(config, RECODES_FILE)?;
        let mut recodes: BTreeMap<String, Vec<(i16, i16)>> = BTreeMap::new();
        for r in recode_rows {
            let rule = recodes.entry(r.variable.clone()).or_default();
            if rule.iter().any(|(from, _)| *from == r.code_2019) {
                bail!("config/{RECODES_FILE}: {} code {} is recoded twice", r.variable, r.code_2019);
            }
            rule.push((r.code_2019, r.code_2022));
        }
        let routing: Vec<RoutingRow> = read_csv(config, ROUTING_FILE)?;
        let mut codebook = Codebook::build(formats, &map, &excluded, &recodes)?;
        codebook.routing = routing.iter().map(|r| codebook.routing_rule(r)).collect::<Result<_>>()?;
        let aliases: Vec<AliasRow> = read_csv(config, ALIASES_FILE)?;
        for a in aliases {
            let (alias, variable) = (canonical_name(&a.alias), canonical_name(&a.variable));
            if codebook.targets.values().any(|t| t.contains_key(&alias)) {
                bail!("config/{ALIASES_FILE}: {alias} is itself a dataformat variable");
            }
            if !codebook.targets.values().any(|t| t.contains_key(&variable)) {
                bail!("config/{ALIASES_FILE}: {variable} (alias {alias}) is not a dataformat variable");
            }
            codebook.aliases.insert(alias, variable);
        }
        let agencies: Vec<AgencyRow> = read_csv(config, AGENCIES_FILE)?;
        codebook.agencies = codebook.checked_agencies(agencies)?;
        Ok(codebook)
    }

    /// The agency table, checked against the dataformats' `org` labels: every labelled agency
    /// has a row, every row names a labelled agency by its label, and no spelling means two
    /// agencies (a spelling shared by two codes would make decoding a guess).
    fn checked_agencies(&self, rows: Vec<AgencyRow>) -> Result<Vec<Agency>> {
        let mut labelled: BTreeMap<i16, String> = BTreeMap::new();
        for f in &self.formats {
            for v in f.variables.iter().filter(|v| v.name == ResearchVariable::Org.name()) {
                for (code, label) in &v.value_labels {
                    labelled.entry(*code).or_insert_with(|| label.clone());
                }
            }
        }
        let mut owner: HashMap<String, i16> = HashMap::new();
        let mut agencies = Vec::new();
        for r in rows {
            let Some(label) = labelled.get(&r.code) else {
                bail!("config/{AGENCIES_FILE}: code {} is not an org code of any dataformat", r.code);
            };
            if fold_label(label) != fold_label(&r.name) {
                bail!("config/{AGENCIES_FILE}: code {} is named {:?}, the dataformat says {label:?}", r.code, r.name);
            }
            let spellings: Vec<String> =
                r.spellings.split('|').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
            for s in std::iter::once(&r.name).chain(&spellings) {
                match owner.insert(fold_label(s), r.code) {
                    Some(other) if other != r.code => {
                        bail!("config/{AGENCIES_FILE}: {s:?} names both agency {other} and agency {}", r.code)
                    }
                    _ => {}
                }
            }
            agencies.push(Agency { code: r.code, name: r.name, spellings });
        }
        if let Some((code, label)) = labelled.iter().find(|(c, _)| !agencies.iter().any(|a| a.code == **c)) {
            bail!("config/{AGENCIES_FILE} lacks org code {code} ({label})");
        }
        Ok(agencies)
    }

    fn build(
        formats: Vec<Dataformat>,
        map: &[VersionMapRow],
        excluded: &BTreeMap<String, String>,
        recodes: &BTreeMap<String, Vec<(i16, i16)>>,
    ) -> Result<Codebook> {
        check_text_is_excluded(&formats, excluded)?;
        for name in recodes.keys() {
            let row = map.iter().find(|r| r.var_2019 == *name && r.change_kind == "recoded");
            if row.is_none() {
                bail!("config/{RECODES_FILE} recodes {name}, which {VERSION_MAP_FILE} does not mark as recoded");
            }
        }
        let plan = VersionPlan::of(&formats, map, recodes);
        let (columns, index) = canonical_columns(&formats, &plan, excluded, recodes)?;
        let targets = targets_of(&formats, &plan, &index, excluded, recodes)?;
        let markers = markers_of(&formats, excluded);
        let research_labels = research_labels_of(&formats);
        let question_texts = question_texts_of(&formats);
        Ok(Codebook {
            formats,
            columns,
            targets,
            markers,
            routing: Vec::new(),
            aliases: HashMap::new(),
            research_labels,
            agencies: Vec::new(),
            question_texts,
        })
    }

    /// Resolves one row of `routing.csv` onto columns, per questionnaire version. Skipped
    /// variables are names or prefixes ending in `*` (`dv07_*`), matched against each version's
    /// dataformat; names a version lacks are skipped for that version.
    fn routing_rule(&self, row: &RoutingRow) -> Result<RoutingRule> {
        let context = || format!("config/{ROUTING_FILE}, rule {}", row.rule);
        let codes: Vec<i16> = row
            .if_codes
            .split_whitespace()
            .map(|c| c.parse::<i16>())
            .collect::<Result<_, _>>()
            .with_context(context)?;
        let mut per_version = Vec::new();
        for version in row.versions.split_whitespace() {
            let q = match version {
                "2019" => Questionnaire::V2019,
                "2022" => Questionnaire::V2022,
                other => bail!("{}: unknown version {other:?}", context()),
            };
            let column_of = |name: &str| match self.target(q, name) {
                Some(Target::Answer(a)) => Some(a.column),
                _ => None,
            };
            let condition = column_of(&row.if_variable)
                .with_context(|| format!("{}: {} is not a {version} variable", context(), row.if_variable))?;
            let names: Vec<&str> = self
                .formats
                .iter()
                .filter(|f| f.questionnaire == q)
                .flat_map(|f| f.variables.iter().map(|v| v.name.as_str()))
                .collect();
            let mut skipped = Vec::new();
            for pattern in row.skipped.split_whitespace() {
                let matches: Vec<&str> = match pattern.strip_suffix('*') {
                    Some(prefix) => names.iter().copied().filter(|n| n.starts_with(prefix)).collect(),
                    None => names.iter().copied().filter(|n| *n == pattern).collect(),
                };
                for name in matches {
                    if let Some(c) = column_of(name).filter(|c| !skipped.contains(c)) {
                        skipped.push(c);
                    }
                }
            }
            if skipped.is_empty() {
                bail!("{}: no {version} variable matches {:?}", context(), row.skipped);
            }
            per_version.push((q, condition, codes.clone(), skipped));
        }
        Ok(RoutingRule {
            id: row.rule.clone(),
            description: format!("{} in {{{}}} skips {}", row.if_variable, row.if_codes, row.skipped),
            per_version,
        })
    }

    /// Where the delivered variable `name` (already in canonical spelling: lower case,
    /// `_` for `.`) goes for a delivery of questionnaire version `q`.
    pub fn target(&self, q: Questionnaire, name: &str) -> Option<&Target> {
        self.targets.get(&q).and_then(|t| t.get(name))
    }

    /// The dataformat variable a delivered column name means: its canonical spelling (lower
    /// case, `.` and spaces as `_`), with aliases (`gemeentecode` → `gemnr`) resolved.
    pub fn variable_name(&self, delivered: &str) -> String {
        let name = canonical_name(delivered);
        self.aliases.get(&name).cloned().unwrap_or(name)
    }

    /// True if `name` (canonical) is a variable that never enters the lake.
    pub fn is_excluded(&self, name: &str) -> bool {
        self.targets.values().any(|t| matches!(t.get(name), Some(Target::Excluded { .. })))
    }

    /// True if a delivered column name means a variable of any dataformat version.
    pub fn is_known(&self, delivered: &str) -> bool {
        let name = self.variable_name(delivered);
        self.targets.values().any(|t| t.contains_key(&name))
    }

    /// The code whose value label (in version `q`) is `text`, for a research variable; for `org`
    /// also an agency's name or known spelling from the agency table.
    pub fn research_code_of_label(&self, q: Questionnaire, var: ResearchVariable, text: &str) -> Option<i16> {
        let folded = fold_label(text);
        let labels = self.research_labels.get(&(q, var)).map(Vec::as_slice).unwrap_or_default();
        let from_labels = labels.iter().find(|(l, _)| *l == folded).map(|(_, c)| *c);
        if from_labels.is_some() || var != ResearchVariable::Org {
            return from_labels;
        }
        self.agencies
            .iter()
            .find(|a| std::iter::once(&a.name).chain(&a.spellings).any(|s| fold_label(s) == folded))
            .map(|a| a.code)
    }

    /// True when `text` is a value label of the variable `name` (canonical) in either version,
    /// or for `org` an agency's name or spelling.
    pub fn is_value_label(&self, name: &str, text: &str) -> bool {
        [Questionnaire::V2019, Questionnaire::V2022].into_iter().any(|q| match self.target(q, name) {
            Some(Target::Answer(a)) => a.code_of_label(text).is_some(),
            Some(Target::Research(r)) => self.research_code_of_label(q, *r, text).is_some(),
            _ => false,
        })
    }

    /// The question texts (variable labels) the variable `name` has in any dataformat, folded
    /// by [`fold_label`]: what a second header row of an export "with labels" holds.
    pub fn question_texts(&self, name: &str) -> &[String] {
        self.question_texts.get(name).map_or(&[], Vec::as_slice)
    }

    /// The 2022 dataformat's definition of a variable.
    pub fn variable_2022(&self, name: &str) -> Option<&Variable> {
        self.formats[0].variables.iter().find(|v| v.name == name)
    }

    /// Names the dataformats the schema was built from, for file metadata:
    /// `2022 (canonical); 2019-v13, 2019-v12, 2019-v11 mapped`.
    pub fn version_label(&self) -> String {
        let older: Vec<&str> = self.formats[1..].iter().map(|f| f.name.as_str()).collect();
        format!("{} (canonical); {} mapped", self.formats[0].name, older.join(", "))
    }

    /// The column of the age question `ch02`: completeness (protocol: answered up to and
    /// including `ch02`) and weighting hang on it.
    pub fn age_column(&self) -> Option<usize> {
        self.column_index("ch02")
    }

    /// The index of the questionnaire column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// A string variable other than `wijknr` is open text or personal data: the list of exclusions
/// must name it, so a new codebook with a new text field fails loudly here instead of leaking it.
fn check_text_is_excluded(formats: &[Dataformat], excluded: &BTreeMap<String, String>) -> Result<()> {
    for f in formats {
        for v in &f.variables {
            if v.text && v.name != "wijknr" && !excluded.contains_key(&v.name) {
                bail!(
                    "{} variable {} is text but not listed in config/{EXCLUDED_FILE}; \
                     add it with the reason it must stay out of the lake",
                    f.name,
                    v.name
                );
            }
        }
    }
    Ok(())
}

/// How the 2019 variables reach the canonical (2022) columns, from the version map and the
/// recodes.
struct VersionPlan<'f> {
    /// Recoded variables whose recode leaves some valid 2019 code without a 2022 counterpart:
    /// they also keep a `<name>_2019` column.
    partial: BTreeSet<String>,
    /// Variables whose 2019 answers go to `<name>_2019` alone: the scale or the question changed
    /// and no exact recode exists.
    split: BTreeSet<String>,
    /// 2019 name → 2022 name, for variables both versions have.
    renamed: HashMap<String, String>,
    /// The first (newest) 2019 dataformat's variable of each name.
    first_2019: HashMap<&'f str, &'f Variable>,
}

impl<'f> VersionPlan<'f> {
    fn of(formats: &'f [Dataformat], map: &[VersionMapRow], recodes: &BTreeMap<String, Vec<(i16, i16)>>) -> Self {
        let mut first_2019: HashMap<&str, &Variable> = HashMap::new();
        for v in formats[1..].iter().flat_map(|f| f.variables.iter()) {
            first_2019.entry(v.name.as_str()).or_insert(v);
        }
        let partial = recodes
            .iter()
            .filter(|(name, rule)| {
                first_2019
                    .get(name.as_str())
                    .is_some_and(|v| v.value_labels.iter().any(|(c, _)| !rule.iter().any(|(from, _)| from == c)))
            })
            .map(|(name, _)| name.clone())
            .collect();
        let both = || map.iter().filter(|r| !r.var_2019.is_empty() && !r.var_2022.is_empty());
        let split = both()
            .filter(|r| {
                r.notes.starts_with("comparable=no")
                    || (r.change_kind == "recoded" && !recodes.contains_key(&r.var_2019))
            })
            .map(|r| r.var_2019.clone())
            .collect();
        let renamed = both().map(|r| (r.var_2019.clone(), r.var_2022.clone())).collect();
        VersionPlan { partial, split, renamed, first_2019 }
    }

    /// Variables with a `<name>_2019` column.
    fn keeps_2019(&self) -> BTreeSet<&str> {
        self.split.iter().chain(&self.partial).map(String::as_str).collect()
    }
}

fn is_questionnaire(v: &Variable, excluded: &BTreeMap<String, String>) -> bool {
    ResearchVariable::from_name(&v.name).is_none() && !excluded.contains_key(&v.name)
}

/// The lake's questionnaire columns: the 2022 variables, then the `<name>_2019` columns, then the
/// 2019-only variables; with each name's index.
fn canonical_columns(
    formats: &[Dataformat],
    plan: &VersionPlan,
    excluded: &BTreeMap<String, String>,
    recodes: &BTreeMap<String, Vec<(i16, i16)>>,
) -> Result<(Vec<Column>, HashMap<String, usize>)> {
    let mut columns: Vec<Column> = Vec::new();
    for v in formats[0].variables.iter().filter(|v| is_questionnaire(v, excluded)) {
        let source = plan.renamed.iter().find(|(_, to)| **to == v.name).map(|(from, _)| from);
        let comparability = match source {
            None => Comparability::Only2022,
            Some(s) if plan.split.contains(s) => Comparability::Only2022,
            Some(s) if recodes.contains_key(s) => Comparability::Recoded,
            Some(_) => Comparability::Both,
        };
        columns.push(column_of(v, v.name.clone(), comparability));
    }
    for name in plan.keeps_2019() {
        let v = plan
            .first_2019
            .get(name)
            .with_context(|| format!("{VERSION_MAP_FILE} names 2019 variable {name}, no 2019 dataformat has it"))?;
        columns.push(column_of(v, format!("{name}{SUFFIX_2019}"), Comparability::Only2019));
    }
    let mut seen_2019_only = BTreeSet::new();
    for f in &formats[1..] {
        for v in f.variables.iter().filter(|v| is_questionnaire(v, excluded)) {
            if !plan.renamed.contains_key(&v.name) && seen_2019_only.insert(v.name.clone()) {
                columns.push(column_of(v, v.name.clone(), Comparability::Only2019));
            }
        }
    }
    let index = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
    Ok((columns, index))
}

/// Where each delivered variable of each version goes.
fn targets_of(
    formats: &[Dataformat],
    plan: &VersionPlan,
    index: &HashMap<String, usize>,
    excluded: &BTreeMap<String, String>,
    recodes: &BTreeMap<String, Vec<(i16, i16)>>,
) -> Result<HashMap<Questionnaire, HashMap<String, Target>>> {
    let mut targets: HashMap<Questionnaire, HashMap<String, Target>> = HashMap::new();
    for f in formats {
        let t = targets.entry(f.questionnaire).or_default();
        for v in &f.variables {
            if t.contains_key(&v.name) {
                continue; // an earlier (newer) 2019 format already placed it
            }
            let target = if let Some(reason) = excluded.get(&v.name) {
                Target::Excluded { reason: reason.clone() }
            } else if let Some(r) = ResearchVariable::from_name(&v.name) {
                Target::Research(r)
            } else {
                Target::Answer(answer_of(f, v, plan, index, recodes)?)
            };
            t.insert(v.name.clone(), target);
        }
    }
    Ok(targets)
}

/// The canonical column a questionnaire variable of dataformat `f` fills, and how.
fn answer_of(
    f: &Dataformat,
    v: &Variable,
    plan: &VersionPlan,
    index: &HashMap<String, usize>,
    recodes: &BTreeMap<String, Vec<(i16, i16)>>,
) -> Result<Answer> {
    let canonical = match f.questionnaire {
        Questionnaire::V2022 => v.name.clone(),
        Questionnaire::V2019 if plan.split.contains(&v.name) => format!("{}{SUFFIX_2019}", v.name),
        Questionnaire::V2019 => plan.renamed.get(&v.name).unwrap_or(&v.name).clone(),
    };
    let column = *index
        .get(&canonical)
        .with_context(|| format!("{} variable {} maps to unknown column {canonical}", f.name, v.name))?;
    let recode = match f.questionnaire {
        Questionnaire::V2019 => recodes.get(&v.name).map(|map| Recode {
            map: map.clone(),
            keep_2019: plan
                .partial
                .contains(&v.name)
                .then(|| index.get(&format!("{}{SUFFIX_2019}", v.name)).copied())
                .flatten(),
        }),
        Questionnaire::V2022 => None,
    };
    // A recode may list codes the dataformat does not label (2019 `dv00` 8, "anders"): they are
    // valid too.
    let mut valid: Vec<i16> = v.value_labels.iter().map(|(c, _)| *c).collect();
    if let Some(r) = &recode {
        let extra: Vec<i16> = r.map.iter().map(|(from, _)| *from).filter(|c| !valid.contains(c)).collect();
        valid.extend(extra);
    }
    let labels = v.value_labels.iter().map(|(c, l)| (fold_label(l), *c)).collect();
    Ok(Answer { column, user_missing: CodeSet::new(&v.user_missing), valid: CodeSet::new(&valid), labels, recode })
}

/// The value labels of the research variables (`kw`, `veldwerkmodus`, `org`, …), folded for
/// matching, per version: the first format of a version wins, as for the targets.
fn research_labels_of(formats: &[Dataformat]) -> HashMap<(Questionnaire, ResearchVariable), Vec<(String, i16)>> {
    let mut research_labels = HashMap::new();
    for f in formats {
        for v in f.variables.iter().filter(|v| !v.value_labels.is_empty()) {
            if let Some(r) = ResearchVariable::from_name(&v.name) {
                research_labels
                    .entry((f.questionnaire, r))
                    .or_insert_with(|| v.value_labels.iter().map(|(c, l)| (fold_label(l), *c)).collect());
            }
        }
    }
    research_labels
}

/// The variables only one version has, per version: they decide a delivery's version.
fn markers_of(formats: &[Dataformat], excluded: &BTreeMap<String, String>) -> HashMap<Questionnaire, BTreeSet<String>> {
    let in_2019: BTreeSet<&str> =
        formats[1..].iter().flat_map(|f| f.variables.iter().map(|v| v.name.as_str())).collect();
    let names_2022: BTreeSet<&str> = formats[0].variables.iter().map(|v| v.name.as_str()).collect();
    let mut markers = HashMap::new();
    markers.insert(
        Questionnaire::V2019,
        in_2019
            .iter()
            .filter(|n| !names_2022.contains(*n) && !excluded.contains_key(**n))
            .map(|n| n.to_string())
            .collect(),
    );
    markers.insert(
        Questionnaire::V2022,
        names_2022.iter().filter(|n| !in_2019.contains(*n)).map(|n| n.to_string()).collect(),
    );
    markers
}

/// Folds a value label or a delivered label text for matching: lower case, no diacritics, runs
/// of white space as one space, no space around `/` and `&`, no trailing punctuation (the 2019
/// and 2022 dataformats label `veldwerkmodus` 1 `websurvey,` with a stray comma).
pub fn fold_label(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let plain: String = text.nfd().filter(|c| !matches!(*c as u32, 0x0300..=0x036F)).collect::<String>().to_lowercase();
    let mut folded = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    for mark in ["/", "&"] {
        folded = folded.replace(&format!(" {mark}"), mark).replace(&format!("{mark} "), mark);
    }
    folded.trim_end_matches(|c: char| matches!(c, '.' | ',' | ';' | ':' | '!' | '?') || c.is_whitespace()).to_string()
}

/// Each variable's question texts over all dataformats, folded, sorted and without repeats
/// (see [`Codebook::question_texts`]).
fn question_texts_of(formats: &[Dataformat]) -> HashMap<String, Vec<String>> {
    let mut texts: HashMap<String, Vec<String>> = HashMap::new();
    for v in formats.iter().flat_map(|f| &f.variables) {
        let label = fold_label(&v.label);
        if !label.is_empty() {
            texts.entry(v.name.clone()).or_default().push(label);
        }
    }
    for t in texts.values_mut() {
        t.sort();
        t.dedup();
    }
    texts
}

/// Canonical spelling of a delivered column name: trimmed, lower case, `.` and spaces as `_`.
pub fn canonical_name(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| match c {
            '.' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn column_of(v: &Variable, name: String, comparability: Comparability) -> Column {
    Column { name, label: v.label.clone(), value_labels: v.value_labels.clone(), comparability }
}

fn variable_from_row(r: DataformatRow) -> Result<Variable> {
    let codes = |s: &str, what: &str| -> Result<Vec<i16>> {
        s.split('|')
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.trim().parse::<i16>().with_context(|| format!("variable {}: {what} {p:?} is not a code", r.name))
            })
            .collect()
    };
    let mut value_labels = Vec::new();
    for part in r.value_labels.split('|').filter(|p| !p.is_empty()) {
        let (code, label) =
            part.split_once('=').with_context(|| format!("variable {}: value label {part:?} lacks '='", r.name))?;
        let code =
            code.trim().parse::<i16>().with_context(|| format!("variable {}: value label code {code:?}", r.name))?;
        value_labels.push((code, label.to_string()));
    }
    Ok(Variable {
        text: r.spss_type == "string",
        user_missing: codes(&r.user_missing, "user-missing value")?,
        nonsubstantive: codes(&r.nonsubstantive_codes, "non-substantive code")?,
        value_labels,
        label: r.label,
        name: r.name,
    })
}

fn read_csv<T: for<'de> Deserialize<'de>>(config: &ConfigSource, file: &str) -> Result<Vec<T>> {
    let bytes = config.read(file)?;
    csv::Reader::from_reader(bytes.as_slice())
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .with_context(|| format!("config file {} is malformed", config.name_of(file)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codebook() -> Codebook {
        Codebook::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap()
    }

    #[test]
    fn formats_have_the_documented_sizes() {
        let cb = codebook();
        let sizes: Vec<usize> = cb.formats.iter().map(|f| f.variables.len()).collect();
        assert_eq!(sizes, vec![178, 195, 195, 195]);
    }

    #[test]
    fn columns_start_with_2022_order_and_have_no_personal_data() {
        let cb = codebook();
        assert_eq!(cb.columns[0].name, "wl01");
        assert_eq!(cb.columns[1].name, "wl02_0");
        let names: Vec<&str> = cb.columns.iter().map(|c| c.name.as_str()).collect();
        for forbidden in ["ch08", "wl10", "inv01", "zw08_6_text", "respondent", "weging", "wijknr"] {
            assert!(!names.contains(&forbidden), "{forbidden} must not be a questionnaire column");
        }
        let unique: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len());
    }

    #[test]
    fn changed_scales_split_2019_answers_off() {
        let cb = codebook();
        let wl06 = cb.column_index("wl06").unwrap();
        let wl06_2019 = cb.column_index("wl06_2019").unwrap();
        assert_eq!(cb.columns[wl06].comparability, Comparability::Only2022);
        assert_eq!(cb.columns[wl06_2019].comparability, Comparability::Only2019);
        match cb.target(Questionnaire::V2019, "wl06") {
            Some(Target::Answer(a)) => assert_eq!(a.column, wl06_2019),
            other => panic!("wl06 2019 → {other:?}"),
        }
        match cb.target(Questionnaire::V2022, "wl06") {
            Some(Target::Answer(a)) => assert_eq!(a.column, wl06),
            other => panic!("wl06 2022 → {other:?}"),
        }
        // Same question both years: one column.
        let wl01 = cb.column_index("wl01").unwrap();
        assert_eq!(cb.columns[wl01].comparability, Comparability::Both);
    }

    #[test]
    fn exact_recodes_fill_the_2022_column() {
        let cb = codebook();
        let answer = |q, name| match cb.target(q, name) {
            Some(Target::Answer(a)) => a.clone(),
            other => panic!("{name}: {other:?}"),
        };
        // ch06: 2019 7 "wil ik niet zeggen" is 2022 8; fully recoded, no ch06_2019.
        let ch06 = answer(Questionnaire::V2019, "ch06");
        assert_eq!(ch06.column, cb.column_index("ch06").unwrap());
        assert_eq!((ch06.recoded(7), ch06.recoded(3)), (Some(8), Some(3)));
        assert!(ch06.recode.as_ref().unwrap().keep_2019.is_none());
        assert!(cb.column_index("ch06_2019").is_none());
        assert_eq!(cb.columns[ch06.column].comparability, Comparability::Recoded);
        // dv00: 4 → 7, and 8 ("anders", unlabelled in v13) is valid and → 9.
        let dv00 = answer(Questionnaire::V2019, "dv00");
        assert_eq!((dv00.recoded(4), dv00.recoded(8)), (Some(7), Some(9)));
        assert!(dv00.is_valid(8) && !dv00.is_valid(10));
        // dv12: 7 "wijkteam / huisbezoek" has no 2022 code; dv12_2019 keeps it.
        let dv12 = answer(Questionnaire::V2019, "dv12");
        assert_eq!(dv12.recoded(7), None);
        assert_eq!(dv12.recoded(8), Some(9));
        assert_eq!(dv12.recode.as_ref().unwrap().keep_2019, cb.column_index("dv12_2019"));
        // 2022 deliveries are never recoded.
        assert_eq!(answer(Questionnaire::V2022, "ch06").recoded(7), Some(7));
    }

    #[test]
    fn labels_match_loosely() {
        let cb = codebook();
        let Some(Target::Answer(a)) = cb.target(Questionnaire::V2022, "wl02_0") else { panic!() };
        assert_eq!(a.code_of_label("Helemaal  EENS"), Some(1));
        assert_eq!(a.code_of_label("weet niet/geen mening"), Some(6));
        assert_eq!(a.code_of_label("misschien"), None);
    }

    #[test]
    fn research_variables_decode_from_labels_and_agency_spellings() {
        let cb = codebook();
        let code = |q, var, t| cb.research_code_of_label(q, var, t);
        let (v19, v22) = (Questionnaire::V2019, Questionnaire::V2022);
        assert_eq!(code(v22, ResearchVariable::Kw, "Kwartaal 4"), Some(4));
        assert_eq!(code(v19, ResearchVariable::Veldwerkmodus, "websurvey"), Some(1));
        assert_eq!(code(v22, ResearchVariable::Veldwerkmodus, "Schriftelijke enquête."), Some(2));
        assert_eq!(code(v22, ResearchVariable::Org, "I&O Research"), Some(5));
        assert_eq!(code(v22, ResearchVariable::Org, "kantar public"), Some(30));
        // An agency the 2019 dataformats do not label is still known from the agency table.
        assert_eq!(code(v19, ResearchVariable::Org, "OS Groningen"), Some(35));
        assert_eq!(code(v22, ResearchVariable::Org, "Bureau Onbekend"), None);
        assert_eq!(code(v22, ResearchVariable::Jr, "2023"), None);
        assert_eq!(cb.agencies.len(), 37);
    }

    #[test]
    fn a_bad_agency_table_fails_loudly() {
        let cb = codebook();
        let row = |code: i16, name: &str, spellings: &str| AgencyRow {
            code,
            name: name.to_string(),
            spellings: spellings.to_string(),
        };
        let err = |rows| cb.checked_agencies(rows).unwrap_err().to_string();
        assert!(err(vec![row(999, "X", "")]).contains("not an org code"));
        assert!(err(vec![row(1, "Deloitte", "")]).contains("the dataformat says"));
        assert!(err(vec![row(1, "PON", "Deloitte"), row(2, "Deloitte", "")]).contains("names both"));
        assert!(err(vec![row(1, "PON", "")]).contains("lacks org code 2"));
    }

    #[test]
    fn folding_ignores_trailing_punctuation_and_spaces_around_marks() {
        assert_eq!(fold_label("websurvey,"), "websurvey");
        assert_eq!(fold_label(" I & O  Research. "), "i&o research");
        assert_eq!(fold_label("weet niet / geen mening"), "weet niet/geen mening");
        assert_eq!(fold_label("ov. gemeentelijk"), "ov. gemeentelijk");
    }

    #[test]
    fn routing_rules_resolve_per_version() {
        let cb = codebook();
        let ids: Vec<&str> = cb.routing.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["R1", "R3", "R4"]);
        let r4 = &cb.routing[2];
        let (_, cond, codes, skipped) = r4.per_version.iter().find(|v| v.0 == Questionnaire::V2019).unwrap();
        assert_eq!((*cond, codes.as_slice()), (cb.column_index("zw06_0").unwrap(), &[3][..]));
        // zw09 changed scale: a 2019 delivery's zw09 lives in zw09_2019.
        assert_eq!(skipped, &[cb.column_index("zw09_2019").unwrap()]);
        let r3_2022 = &cb.routing[1].per_version.iter().find(|v| v.0 == Questionnaire::V2022).unwrap().3;
        assert!(r3_2022.contains(&cb.column_index("zw08_7").unwrap()));
    }

    #[test]
    fn dv03_keeps_its_own_missing_codes() {
        let cb = codebook();
        match cb.target(Questionnaire::V2019, "dv03_0") {
            Some(Target::Answer(a)) => assert_eq!(a.user_missing, CodeSet::new(&[11, 88, 99])),
            other => panic!("dv03_0 → {other:?}"),
        }
        assert!(cb.target(Questionnaire::V2022, "dv03_0").is_none());
    }

    #[test]
    fn postcode_and_open_text_are_excluded() {
        let cb = codebook();
        assert!(matches!(cb.target(Questionnaire::V2019, "ch08"), Some(Target::Excluded { .. })));
        assert!(matches!(cb.target(Questionnaire::V2019, "wl10"), Some(Target::Excluded { .. })));
    }

    #[test]
    fn markers_tell_the_versions_apart() {
        let cb = codebook();
        let m19 = &cb.markers[&Questionnaire::V2019];
        let m22 = &cb.markers[&Questionnaire::V2022];
        for v in ["wl11", "dv03_0", "bo04_0", "vz02_0"] {
            assert!(m19.contains(v), "{v}");
        }
        for v in ["wl02_2", "vz03_5", "zw08_7"] {
            assert!(m22.contains(v), "{v}");
        }
        assert!(!m19.contains("ch08"));
    }

    #[test]
    fn aliases_name_variables() {
        let cb = codebook();
        assert_eq!(cb.variable_name("Gemeentecode"), "gemnr");
        assert_eq!(cb.variable_name(" Weegfactor "), "weging");
        assert_eq!(cb.variable_name("WL02.0"), "wl02_0");
        assert!(cb.is_known("kwartaal") && cb.is_known("WL01") && !cb.is_known("opmerking"));
    }

    #[test]
    fn canonical_names_fold_case_dots_and_spaces() {
        assert_eq!(canonical_name(" WL02.0 "), "wl02_0");
        assert_eq!(canonical_name("Zw15 2 3"), "zw15_2_3");
    }

    proptest::proptest! {
        #[test]
        fn a_code_set_holds_exactly_its_codes(
            codes in proptest::collection::vec(proptest::prop_oneof![-3i16..140, proptest::num::i16::ANY], 0..12),
            probes in proptest::collection::vec(proptest::prop_oneof![-3i16..140, proptest::num::i16::ANY], 0..40),
        ) {
            let set = CodeSet::new(&codes);
            proptest::prop_assert_eq!(set.is_empty(), codes.is_empty());
            for code in codes.iter().chain(&probes).chain(&[0, 127, 128, -1, i16::MIN, i16::MAX]) {
                proptest::prop_assert_eq!(set.contains(*code), codes.contains(code), "code {}", code);
            }
        }
    }
}
