//! Findings: every problem the pipeline notices in a delivery, with a stable rule id.
//!
//! Stages never fail on bad data; they return their result plus findings. A finding of severity
//! `Error` rejects its own delivery (and nothing else); a `Warning` records what was changed.
//! Every rule id the code can emit is listed in [`RULES`], and `docs/rules.md` must describe each
//! one (a test enforces it). Messages name columns and rows, never cell contents of columns that
//! could hold personal data.

use serde::{Deserialize, Deserializer, Serialize};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A stable rule: its id never changes once released, so agencies and the data team can refer
/// to it across years.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
}

macro_rules! rules {
    ($($konst:ident = $id:literal, $sev:ident;)*) => {
        $(pub const $konst: Rule = Rule { id: $id, severity: Severity::$sev };)*
        /// Every rule the code can emit, in documentation order.
        pub const RULES: &[Rule] = &[$($konst),*];
    };
}

rules! {
    FILE_UNREADABLE = "ingest.file-unreadable", Error;
    FILE_EMPTY = "ingest.file-empty", Error;
    FILE_TOO_LARGE = "ingest.file-too-large", Error;
    DELIVERY_MISSING = "ingest.delivery-missing", Warning;
    SYMLINK_OUTSIDE = "ingest.symlink-outside-inbox", Error;
    FILE_CORRUPT = "ingest.file-corrupt", Error;
    PASSWORD_PROTECTED = "ingest.password-protected", Error;
    ZIP_BOMB = "ingest.decompressed-too-large", Error;
    ZIP_PASSWORD = "ingest.zip-password", Error;
    BUNDLE_NO_DATASET = "ingest.bundle-no-dataset", Error;
    BUNDLE_ATTACHMENTS = "ingest.bundle-attachments", Info;
    BUNDLE_ENTRY_UNSAFE = "ingest.bundle-entry-unsafe", Warning;
    BUNDLE_TOO_DEEP = "ingest.bundle-too-deep", Warning;
    FAR_CELLS_IGNORED = "ingest.far-cells-ignored", Warning;
    FILE_NO_DATA = "ingest.no-data", Error;
    NO_HEADER = "ingest.no-header", Error;
    TITLE_ROWS_SKIPPED = "ingest.title-rows-skipped", Info;
    RAGGED_ROW = "ingest.ragged-row", Warning;
    NO_QUESTIONNAIRE_COLUMNS = "harmonise.no-questionnaire-columns", Error;
    COLUMN_UNKNOWN = "harmonise.column-unknown", Info;
    COLUMN_DUPLICATE = "harmonise.column-duplicate", Warning;
    COLUMN_EXCLUDED = "harmonise.column-excluded", Info;
    VALUE_NOT_A_CODE = "harmonise.value-not-a-code", Warning;
    DATE_IN_QUESTIONNAIRE = "harmonise.date-in-questionnaire-column", Warning;
    CODE_INVALID = "harmonise.code-invalid", Warning;
    RECODE_UNMAPPABLE = "harmonise.recode-unmappable", Warning;
    LABELS_AS_CODES = "harmonise.labels-as-codes", Info;
    ROUTING_BLANKED = "harmonise.routing-blanked", Warning;
    WEGING_INVALID = "harmonise.weging-invalid", Warning;
    WEGING_TOO_HIGH = "harmonise.weging-too-high", Warning;
    WEGING_WITHOUT_AGE = "harmonise.weging-without-age", Warning;
    WEGING_MEAN = "harmonise.weging-mean", Warning;
    TOO_FEW_COMPLETE = "harmonise.too-few-complete", Warning;
    VERSION_CONTRADICTORY = "harmonise.version-contradictory", Warning;
    VERSION_UNDECIDABLE = "harmonise.version-undecidable", Error;
    MUNICIPALITY_UNKNOWN = "harmonise.municipality-unknown", Error;
    MUNICIPALITY_SPLIT = "harmonise.municipality-split", Warning;
    MUNICIPALITY_MERGED = "harmonise.municipality-merged", Info;
    ROWS_MUNICIPALITY_UNKNOWN = "harmonise.rows-municipality-unknown", Warning;
    JOINT_SURVEY = "harmonise.joint-survey", Info;
    DISTRICT_OTHER_MUNICIPALITY = "harmonise.district-other-municipality", Warning;
    YEAR_MISSING = "harmonise.year-missing", Error;
    YEAR_MIXED = "harmonise.year-mixed", Error;
    NAME_HINT_DISAGREES = "harmonise.name-hint-disagrees", Warning;
    RESPONDENT_MISSING = "harmonise.respondent-missing", Warning;
    RESPONDENT_NOT_A_NUMBER = "harmonise.respondent-not-a-number", Warning;
    NON_RESPONDENT_ROWS = "harmonise.non-respondent-rows", Info;
    YEAR_FILLED = "harmonise.year-filled", Info;
    AGENCY_UNKNOWN = "harmonise.agency-unknown", Warning;
    PERSONAL_DATA_COLUMN = "harmonise.personal-data-column", Info;
    PERSONAL_DATA_FOUND = "harmonise.personal-data-found", Warning;
    DEDUP_DUPLICATE_FILE = "dedup.duplicate-file", Info;
    DEDUP_SUPERSEDED = "dedup.superseded", Info;
    DEDUP_EXACT_DUPLICATE = "dedup.exact-duplicate-row", Warning;
    DEDUP_CROSS_MODE = "dedup.cross-mode-duplicate", Warning;
    DEDUP_NUMBER_CONFLICT = "dedup.respondent-number-conflict", Warning;
    DEDUP_NEAR_DUPLICATE = "dedup.near-duplicate", Info;
    DEDUP_NEAR_DUPLICATE_DROPPED = "dedup.near-duplicate-dropped", Warning;
    WEIGHT_NO_POPULATION = "weight.no-population", Warning;
    WEIGHT_POPULATION_UNUSABLE = "weight.population-unusable", Warning;
    WEIGHT_METHOD_UNAVAILABLE = "weight.method-unavailable", Warning;
    WEIGHT_METHOD = "weight.method", Info;
    WEIGHT_MISSING_AGE = "weight.missing-age", Info;
    WEIGHT_DISTRICT_UNKNOWN = "weight.district-unknown", Info;
    WEIGHT_BANDS_APPROXIMATED = "weight.bands-approximated", Info;
    WEIGHT_CELLS_MERGED = "weight.cells-merged", Info;
    WEIGHT_POPULATION_EARLIER_YEAR = "weight.population-earlier-year", Info;
    WEIGHT_NOT_CONVERGED = "weight.not-converged", Warning;
    WEIGHT_TRIMMED = "weight.trimmed", Info;
    WEIGHT_DEFF_HIGH = "weight.deff-high", Warning;
    WEIGHT_AGENCY_DIFFERS = "weight.agency-differs", Warning;
}

/// At most this many row numbers are listed in a finding; `count` holds the total.
pub const MAX_ROWS_LISTED: usize = 20;

/// One problem found in one delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    #[serde(deserialize_with = "deserialize_rule_id")]
    pub rule: RuleId,
    pub delivery_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// 1-based data row numbers (header rows not counted), the first [`MAX_ROWS_LISTED`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<u32>,
    pub count: u64,
    pub message: String,
}

impl Finding {
    /// A finding about a delivery as a whole.
    pub fn new(rule: Rule, delivery_id: &str, message: impl Into<String>) -> Finding {
        Finding {
            severity: rule.severity,
            rule: rule.id,
            delivery_id: delivery_id.to_string(),
            sheet: None,
            column: None,
            rows: Vec::new(),
            count: 1,
            message: message.into(),
        }
    }

    pub fn column(mut self, column: impl Into<String>) -> Finding {
        self.column = Some(column.into());
        self
    }

    pub fn sheet(mut self, sheet: Option<String>) -> Finding {
        self.sheet = sheet;
        self
    }

    /// Attaches the affected rows; keeps the first [`MAX_ROWS_LISTED`] and counts them all.
    pub fn rows(mut self, rows: &[u32]) -> Finding {
        self.count = rows.len() as u64;
        self.rows = rows.iter().copied().take(MAX_ROWS_LISTED).collect();
        self
    }
}

/// A rule's id as findings hold it: one of [`RULES`]. A named type, because serde's derive
/// would take a bare `&'static str` field for text borrowed from the input.
pub type RuleId = &'static str;

/// The id in [`RULES`] spelled `id`; `None` for an id this program does not know.
pub fn rule_id(id: &str) -> Option<&'static str> {
    RULES.iter().find(|r| r.id == id).map(|r| r.id)
}

/// Reads a rule id back (from the state directory) as the `&'static str` of [`RULES`]; an id
/// this program does not know is an error, so state written by another version is not trusted.
pub fn deserialize_rule_id<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let id = String::deserialize(d)?;
    rule_id(&id).ok_or_else(|| serde::de::Error::custom(format!("unknown rule id {id:?}")))
}

/// True when any finding rejects the delivery.
pub fn rejects(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }

    #[test]
    fn every_rule_is_documented() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md"))
            .expect("docs/rules.md exists");
        for rule in RULES {
            assert!(doc.contains(&format!("`{}`", rule.id)), "docs/rules.md lacks `{}`", rule.id);
        }
    }

    #[test]
    fn rows_are_capped_and_counted() {
        let rows: Vec<u32> = (1..=50).collect();
        let f = Finding::new(RAGGED_ROW, "d", "m").rows(&rows);
        assert_eq!(f.count, 50);
        assert_eq!(f.rows.len(), MAX_ROWS_LISTED);
        assert_eq!(f.rows[19], 20);
    }
}
