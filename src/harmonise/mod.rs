//! Harmonise: puts one delivery's [`RawTable`] onto the canonical schema of the lake.
//!
//! Maps delivered column names onto dataformat variables, decides the questionnaire version,
//! parses codes (numbers or numeric text, decimal comma allowed), turns declared missing codes
//! and blanks into null, resolves the municipality to today's CBS code and works out the survey
//! year. Columns that must never enter the lake (postcode, open text, anything unknown) are
//! dropped by name without reading a single cell. Pure: no file system, no clock. Bad data
//! gives findings, never an `Err`.

mod columns;
pub mod place;
pub mod routing;
mod rows;
mod summary;
pub mod values;

use crate::codebook::{Codebook, Questionnaire, ResearchVariable};
use crate::finding::{self, Finding, rejects};
use crate::ingest::RawTable;
use crate::ingest::discover::NameHints;
use crate::municipality::{Municipalities, Municipality};

pub mod privacy;

pub use summary::{BatchSummary, MunicipalityRows};
pub use values::grouping_mark;

/// One delivery on the canonical schema, column by column.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub delivery_id: String,
    pub vragenlijst: Questionnaire,
    /// The municipalities of the delivery's rows, today's (one, except for joint surveys).
    pub municipalities: Vec<Municipality>,
    /// Per row: index into `municipalities`.
    pub gemeente: Vec<usize>,
    /// The survey year the delivery is published under.
    pub year: u16,
    pub source_row: Vec<i32>,
    pub respondent: Vec<Option<String>>,
    pub gemnr: Vec<Option<i16>>,
    pub jr: Vec<Option<i16>>,
    pub kw: Vec<Option<i16>>,
    pub veldwerkmodus: Vec<Option<i16>>,
    pub org: Vec<Option<i16>>,
    pub wijknr: Vec<Option<String>>,
    pub weging: Vec<Option<f64>>,
    /// Questionnaire answers, `answers[column].get(row)`, one entry per [`Codebook::columns`].
    pub answers: Vec<Answers>,
    /// Per row: answered up to and including the age question `ch02`.
    pub complete: Vec<bool>,
}

/// One answer column of a batch: each row's code, or no answer. Two bytes a row where
/// `Option<i16>` takes four: no answer is stored as [`NO_ANSWER`], which no cell can hold
/// (`values::parse_code` refuses it). At ten times the benchmark corpus a survey year's batches
/// were the run's peak memory (`BENCHMARKS.md`, "Issue 17: memory").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answers(Vec<i16>);

/// The stored value of "no answer" in [`Answers`].
pub const NO_ANSWER: i16 = i16::MIN;

impl Answers {
    /// A column of `rows` rows without answers.
    pub fn blank(rows: usize) -> Answers {
        Answers(vec![NO_ANSWER; rows])
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The code of `row`; `None` for no answer and for a row past the end.
    pub fn get(&self, row: usize) -> Option<i16> {
        self.0.get(row).copied().filter(|&c| c != NO_ANSWER)
    }

    /// A column from its stored codes, [`NO_ANSWER`] where a row has none.
    pub fn from_stored(codes: Vec<i16>) -> Answers {
        Answers(codes)
    }

    /// What `row` holds as stored: its code, or [`NO_ANSWER`] (also for a row past the end).
    pub fn stored(&self, row: usize) -> i16 {
        self.0.get(row).copied().unwrap_or(NO_ANSWER)
    }

    /// Every row as stored: its code, or [`NO_ANSWER`].
    pub fn as_stored(&self) -> &[i16] {
        &self.0
    }

    /// Blanks `row` and returns what it held.
    pub fn take(&mut self, row: usize) -> Option<i16> {
        let was = self.get(row);
        self.0[row] = NO_ANSWER;
        was
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<i16>> + '_ {
        self.0.iter().map(|&c| (c != NO_ANSWER).then_some(c))
    }
}

impl FromIterator<Option<i16>> for Answers {
    /// `Some(NO_ANSWER)` cannot be told from `None` afterwards: callers hold codes that
    /// `values::parse_code` accepted, which excludes it.
    fn from_iter<I: IntoIterator<Item = Option<i16>>>(iter: I) -> Self {
        Answers(iter.into_iter().map(|c| c.unwrap_or(NO_ANSWER)).collect())
    }
}

impl From<Vec<Option<i16>>> for Answers {
    fn from(codes: Vec<Option<i16>>) -> Self {
        codes.into_iter().collect()
    }
}

impl Batch {
    /// The municipality of row `r`.
    pub fn municipality(&self, r: usize) -> &Municipality {
        &self.municipalities[self.gemeente[r]]
    }

    /// Keeps the rows whose `keep` is true.
    pub fn retain_rows(&mut self, keep: &[bool]) {
        fn retain<T>(v: &mut Vec<T>, keep: &[bool]) {
            let mut i = 0;
            v.retain(|_| {
                i += 1;
                keep[i - 1]
            });
        }
        retain(&mut self.source_row, keep);
        retain(&mut self.respondent, keep);
        retain(&mut self.gemnr, keep);
        retain(&mut self.jr, keep);
        retain(&mut self.kw, keep);
        retain(&mut self.veldwerkmodus, keep);
        retain(&mut self.org, keep);
        retain(&mut self.wijknr, keep);
        retain(&mut self.weging, keep);
        retain(&mut self.complete, keep);
        retain(&mut self.gemeente, keep);
        for column in &mut self.answers {
            retain(&mut column.0, keep);
        }
    }

    pub fn len(&self) -> usize {
        self.source_row.len()
    }

    pub fn is_empty(&self) -> bool {
        self.source_row.is_empty()
    }
}

/// How the delivered columns were mapped: for the delivery report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnMapping {
    /// Delivered name → canonical column name.
    pub mapped: Vec<(String, String)>,
    /// Delivered names that were dropped, with the reason.
    pub dropped: Vec<(String, String)>,
}

/// Everything harmonising one delivery produced.
#[derive(Clone, Debug)]
pub struct Harmonised {
    /// `None` when an `error` finding rejects the delivery.
    pub batch: Option<Batch>,
    pub mapping: ColumnMapping,
    pub vragenlijst: Option<Questionnaire>,
    /// The sheet the table came from (spreadsheets).
    pub sheet: Option<String>,
    /// Rows whose routed-out answers were blanked, per routing rule id.
    pub routing_blanked: Vec<(String, usize)>,
    pub findings: Vec<Finding>,
}

/// What harmonise knows about a delivery besides its table.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    pub delivery_id: &'a str,
    /// From the file name; used only where the file's own columns are silent.
    pub hints: &'a NameHints,
    /// The questionnaire version the pipeline file forces for this delivery, if any.
    pub forced_version: Option<Questionnaire>,
}

/// Harmonises one delivery.
pub fn harmonise(
    table: &RawTable,
    context: &Context,
    codebook: &Codebook,
    municipalities: &Municipalities,
) -> Harmonised {
    let (delivery_id, hints) = (context.delivery_id, context.hints);
    let mut findings = Vec::new();
    let mut mapping = ColumnMapping::default();
    let names = screened_names(table, codebook, delivery_id, &mut mapping, &mut findings);
    // Before any value is read: a question-text or totals row must not decide the year.
    let respondents = rows::without_non_respondents(table, &names, codebook, delivery_id, &mut findings);
    let table: &RawTable = &respondents;
    if table.rows.is_empty() {
        findings.push(Finding::new(
            finding::FILE_NO_DATA,
            delivery_id,
            "onder de kop staat geen enkele respondent: alle rijen zijn kopregels, vraagteksten of totalen",
        ));
        return without_batch(table, mapping, None, findings);
    }
    let research_col = |var: ResearchVariable| names.iter().position(|n| n == var.name());
    let jr = columns::codes_of(table, research_col(ResearchVariable::Jr));
    let cells = |col: Option<usize>| col.map(|c| table.column(c).collect::<Vec<_>>());

    let year = place::survey_year(&jr, hints, delivery_id, &mut findings);
    let vragenlijst = match context.forced_version {
        Some(q) => Some(q),
        None => decide_version(&names, year, codebook, delivery_id, &mut findings),
    };
    let place_columns = place::PlaceColumns {
        gemnr: cells(research_col(ResearchVariable::Gemnr)),
        wijknr: cells(research_col(ResearchVariable::Wijknr)),
        source_rows: &table.source_rows,
    };
    let place_context = place::PlaceContext { hints, municipalities, delivery_id };
    let placement = place::place(&place_columns, &place_context, &mut findings);

    let Some(q) = vragenlijst else {
        return without_batch(table, mapping, vragenlijst, findings);
    };
    let slots = columns::map_columns(table, &names, q, codebook, delivery_id, &mut mapping, &mut findings);
    let (Some(year), Some(placement)) = (year, placement) else {
        return without_batch(table, mapping, vragenlijst, findings);
    };
    if rejects(&findings) {
        return without_batch(table, mapping, vragenlijst, findings);
    }

    let n = table.rows.len();
    let mut batch = Batch {
        delivery_id: delivery_id.to_string(),
        vragenlijst: q,
        municipalities: placement.municipalities.clone(),
        gemeente: placement.index.iter().map(|i| i.unwrap_or(0)).collect(),
        year,
        source_row: table.source_rows.iter().map(|&r| r as i32).collect(),
        respondent: vec![None; n],
        gemnr: placement.gemnr.clone(),
        jr,
        kw: vec![None; n],
        veldwerkmodus: vec![None; n],
        org: vec![None; n],
        wijknr: vec![None; n],
        weging: vec![None; n],
        answers: vec![Answers::blank(n); codebook.columns.len()],
        complete: vec![false; n],
    };
    fill_from_name_hints(&mut batch, table, &names, hints, &mut findings);
    let fill = columns::Fill { table, codebook, delivery_id, vragenlijst: q, placement: &placement };
    for (i, slot) in &slots {
        columns::fill_column(&mut batch, &fill, *i, slot, &mut findings);
    }
    check_quarter_hint(&batch, hints, &mut findings);
    let routing_blanked = finish_rows(&mut batch, table, codebook, delivery_id, &mut findings);
    // Rows without a known municipality are reported by `place` and not published.
    let keep: Vec<bool> = placement.index.iter().map(Option::is_some).collect();
    if keep.contains(&false) {
        batch.retain_rows(&keep);
    }
    Harmonised { batch: Some(batch), mapping, vragenlijst, sheet: table.sheet.clone(), routing_blanked, findings }
}

/// The canonical name of every delivered column, privacy first: a dataformat column whose name
/// or cells look like personal data is dropped (its name cleared) before anything reads it as a
/// value. Unknown and excluded columns are dropped later without their cells ever being read.
fn screened_names(
    table: &RawTable,
    codebook: &Codebook,
    delivery_id: &str,
    mapping: &mut ColumnMapping,
    findings: &mut Vec<Finding>,
) -> Vec<String> {
    let mut names: Vec<String> = table.header.iter().map(|h| codebook.variable_name(h)).collect();
    for (i, name) in names.iter_mut().enumerate() {
        if name.is_empty() || !codebook.is_known(name) || codebook.is_excluded(name) {
            continue;
        }
        if let Some(f) = privacy::check_column(delivery_id, &table.header[i], table.column(i)) {
            mapping.dropped.push((table.header[i].clone(), f.message.clone()));
            findings.push(f);
            name.clear();
        }
    }
    names
}

/// A delivery that is rejected before its rows are built: what harmonising found, no batch.
fn without_batch(
    table: &RawTable,
    mapping: ColumnMapping,
    vragenlijst: Option<Questionnaire>,
    findings: Vec<Finding>,
) -> Harmonised {
    Harmonised { batch: None, mapping, vragenlijst, sheet: table.sheet.clone(), routing_blanked: Vec::new(), findings }
}

/// The file name fills what the columns do not have at all (`jr`, `kw`). A `jr` column with
/// empty or unreadable cells gets the delivery's year there (it is one survey year, or it was
/// rejected), so every row of a partition carries its year.
fn fill_from_name_hints(
    batch: &mut Batch,
    table: &RawTable,
    names: &[String],
    hints: &NameHints,
    findings: &mut Vec<Finding>,
) {
    let n = batch.len();
    let research_col = |var: ResearchVariable| names.iter().position(|name| name == var.name());
    let year = Some(batch.year as i16);
    match research_col(ResearchVariable::Jr) {
        None => batch.jr = vec![year; n],
        Some(col) => {
            let filled: Vec<u32> = (0..n).filter(|&r| batch.jr[r].is_none()).map(|r| table.source_rows[r]).collect();
            if !filled.is_empty() {
                batch.jr.iter_mut().filter(|jr| jr.is_none()).for_each(|jr| *jr = year);
                findings.push(
                    Finding::new(
                        finding::YEAR_FILLED,
                        &batch.delivery_id,
                        format!(
                            "{} rij(en) hebben geen leesbaar jaar in jr; het jaar van de levering ({}) is ingevuld",
                            filled.len(),
                            batch.year
                        ),
                    )
                    .column(table.header[col].clone())
                    .rows(&filled),
                );
            }
        }
    }
    if research_col(ResearchVariable::Kw).is_none()
        && let Some(q) = hints.quarter
    {
        batch.kw = vec![Some(q as i16); n];
    }
}

/// A quarter in both the file name and the `kw` column (as codes or labels) that disagrees is
/// a finding; the column wins.
fn check_quarter_hint(batch: &Batch, hints: &NameHints, findings: &mut Vec<Finding>) {
    if let Some(h) = hints.quarter
        && let Some(k) = batch.kw.iter().flatten().find(|k| **k != h as i16)
    {
        findings.push(
            Finding::new(
                finding::NAME_HINT_DISAGREES,
                &batch.delivery_id,
                format!("the file name says quarter {h}, the kw column {k}; the column is used"),
            )
            .column("kw"),
        );
    }
}

/// After the columns are filled: rows without a respondent number, routing hygiene,
/// completeness and the agency-weight checks. Returns the rows blanked per routing rule.
fn finish_rows(
    batch: &mut Batch,
    table: &RawTable,
    codebook: &Codebook,
    delivery_id: &str,
    findings: &mut Vec<Finding>,
) -> Vec<(String, usize)> {
    let n = batch.len();
    let missing: Vec<u32> = (0..n).filter(|&r| batch.respondent[r].is_none()).map(|r| table.source_rows[r]).collect();
    if !missing.is_empty() {
        findings.push(
            Finding::new(
                finding::RESPONDENT_MISSING,
                delivery_id,
                format!("{} row(s) have no respondent number", missing.len()),
            )
            .rows(&missing),
        );
    }
    let mut routing_blanked = Vec::new();
    for (rule, rows) in routing::apply(&codebook.routing, batch.vragenlijst, &mut batch.answers) {
        routing_blanked.push((rule.id.clone(), rows.len()));
        let rows: Vec<u32> = rows.iter().map(|&r| table.source_rows[r]).collect();
        findings.push(
            Finding::new(
                finding::ROUTING_BLANKED,
                delivery_id,
                format!(
                    "routing rule {} ({}): {} row(s) had answers the routing skips; blanked",
                    rule.id,
                    rule.description,
                    rows.len()
                ),
            )
            .rows(&rows),
        );
    }
    if let Some(age) = codebook.age_column() {
        batch.complete = batch.answers[age].iter().map(|a| a.is_some()).collect();
    }
    agency_weight_checks(batch, codebook, &table.source_rows, delivery_id, findings);
    routing_blanked
}

/// The questionnaire version, from the variables only one version has, else from the year.
fn decide_version(
    names: &[String],
    year: Option<u16>,
    codebook: &Codebook,
    delivery_id: &str,
    findings: &mut Vec<Finding>,
) -> Option<Questionnaire> {
    let count = |q: Questionnaire| names.iter().filter(|n| codebook.markers[&q].contains(*n)).count();
    let (n2019, n2022) = (count(Questionnaire::V2019), count(Questionnaire::V2022));
    let by_markers = match (n2019, n2022) {
        (0, 0) => None,
        (_, 0) => Some(Questionnaire::V2019),
        (0, _) => Some(Questionnaire::V2022),
        (a, b) => {
            let q = if a >= b { Questionnaire::V2019 } else { Questionnaire::V2022 };
            findings.push(Finding::new(
                finding::VERSION_CONTRADICTORY,
                delivery_id,
                format!(
                    "the file has {a} variable(s) only the 2019 dataformat has and {b} only the \
                     2022 dataformat has; read as {}",
                    q.as_str()
                ),
            ));
            Some(q)
        }
    };
    // 2022 is the transition year: without marker variables it could be either.
    let by_year = match year {
        Some(y) if y < 2022 => Some(Questionnaire::V2019),
        Some(y) if y > 2022 => Some(Questionnaire::V2022),
        _ => None,
    };
    let decided = by_markers.or(by_year);
    if decided.is_none() {
        findings.push(Finding::new(
            finding::VERSION_UNDECIDABLE,
            delivery_id,
            "the file has no variable that only one dataformat version has, and its year does \
             not tell the version",
        ));
    }
    decided
}

/// Weights of 5 or more may not be delivered (protocol); a respondent without an age must
/// have weight 1; weights post-stratified to the sample sum to its size, so their mean is 1.
fn agency_weight_checks(
    batch: &Batch,
    codebook: &Codebook,
    source_rows: &[u32],
    delivery_id: &str,
    findings: &mut Vec<Finding>,
) {
    let rows_where = |f: &dyn Fn(usize, f64) -> bool| -> Vec<u32> {
        (0..batch.len()).filter(|&r| batch.weging[r].is_some_and(|w| f(r, w))).map(|r| source_rows[r]).collect()
    };
    let high = rows_where(&|_, w| w >= MAX_AGENCY_WEIGHT);
    if !high.is_empty() {
        findings.push(
            Finding::new(
                finding::WEGING_TOO_HIGH,
                delivery_id,
                format!(
                    "{} row(s) have a weging of {MAX_AGENCY_WEIGHT} or more, which the protocol forbids",
                    high.len()
                ),
            )
            .column("weging")
            .rows(&high),
        );
    }
    if let Some(age) = codebook.age_column() {
        let no_age = rows_where(&|r, w| batch.answers[age].get(r).is_none() && (w - 1.0).abs() > 1e-9);
        if !no_age.is_empty() {
            findings.push(
                Finding::new(
                    finding::WEGING_WITHOUT_AGE,
                    delivery_id,
                    format!("{} row(s) without an age (ch02) have a weging other than 1", no_age.len()),
                )
                .column("weging")
                .rows(&no_age),
            );
        }
    }
    let weights: Vec<f64> = batch.weging.iter().flatten().copied().collect();
    if !weights.is_empty() {
        let mean = weights.iter().sum::<f64>() / weights.len() as f64;
        if (mean - 1.0).abs() > MAX_WEGING_MEAN_GAP {
            findings.push(
                Finding::new(
                    finding::WEGING_MEAN,
                    delivery_id,
                    format!("the mean weging is {mean:.3}; post-stratification weights average 1"),
                )
                .column("weging"),
            );
        }
    }
}

/// Agency weights of this size or more may not be delivered (protocol §7).
pub const MAX_AGENCY_WEIGHT: f64 = 5.0;
/// How far the mean agency weight may stray from 1 before it is reported.
pub const MAX_WEGING_MEAN_GAP: f64 = 0.05;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_keep_codes_and_blanks_in_two_bytes() {
        let mut a = Answers::from(vec![Some(3), None, Some(-1), Some(0)]);
        assert_eq!(a.len(), 4);
        assert_eq!(a.iter().collect::<Vec<_>>(), [Some(3), None, Some(-1), Some(0)]);
        assert_eq!((a.get(0), a.get(1), a.get(4)), (Some(3), None, None));
        assert_eq!(a.take(2), Some(-1));
        assert_eq!(a.take(2), None);
        assert_eq!(a, Answers::from(vec![Some(3), None, None, Some(0)]));
        assert_eq!(Answers::blank(2).iter().collect::<Vec<_>>(), [None, None]);
        assert_eq!(std::mem::size_of_val(&Answers::blank(1000).0[..]), 2000);
    }
    use crate::ingest::{Cell, Value};
    use std::path::Path;

    fn config() -> (Codebook, Municipalities) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        (Codebook::load(&dir).unwrap(), Municipalities::load(&dir).unwrap())
    }

    fn text(s: &str) -> Value<'_> {
        if s.is_empty() { Value::Empty } else { Value::Text(s) }
    }

    fn table(header: &[&str], rows: &[&[&str]]) -> RawTable {
        RawTable::from_values(
            None,
            header.iter().map(|s| s.to_string()).collect(),
            rows.iter().map(|r| r.iter().map(|c| text(c)).collect()),
            (1..=rows.len() as u32).collect(),
        )
    }

    fn ctx<'a>(id: &'a str, hints: &'a NameHints) -> Context<'a> {
        Context { delivery_id: id, hints, forced_version: None }
    }

    fn answer(cb: &Codebook, b: &Batch, column: &str) -> Vec<Option<i16>> {
        b.answers[cb.column_index(column).unwrap()].iter().collect()
    }

    #[test]
    fn a_2022_delivery_is_harmonised() {
        let (cb, m) = config();
        let t = table(
            &[
                "respondent",
                "GEMNR",
                "jr",
                "kw",
                "veldwerkmodus",
                "weging",
                "wijknr",
                "WL01",
                "wl02.2",
                "ch02",
                "email",
            ],
            &[
                &["12", "363", "2023", "2", "1", "1,5", "WK036301", "8", "6", "3", "x"],
                &["13", "363", "2023", "2", "2", "0.75", "", "99", "", "", "y"],
                &["14", "363", "2023", "2", "1", "1", "", "ja", "2", "6", "z"],
            ],
        );
        let h = harmonise(&t, &ctx("d1", &NameHints::default()), &cb, &m);
        let b = h.batch.expect("kept");
        assert_eq!(b.vragenlijst, Questionnaire::V2022);
        assert_eq!(b.municipality(0).code, "GM0363");
        assert_eq!(b.year, 2023);
        assert_eq!(b.respondent, vec![Some("12".into()), Some("13".into()), Some("14".into())]);
        assert_eq!(b.weging, vec![Some(1.5), Some(0.75), Some(1.0)]);
        assert_eq!(answer(&cb, &b, "wl01"), vec![Some(8), None, None]);
        assert_eq!(answer(&cb, &b, "wl02_2"), vec![Some(6), None, Some(2)]);
        assert_eq!(b.complete, vec![true, false, true]);
        assert_eq!(b.wijknr[0].as_deref(), Some("WK036301"));
        let rules: Vec<&str> = h.findings.iter().map(|f| f.rule).collect();
        assert!(rules.contains(&finding::VALUE_NOT_A_CODE.id));
        assert!(rules.contains(&finding::PERSONAL_DATA_COLUMN.id), "{rules:?}");
        let bad = h.findings.iter().find(|f| f.rule == finding::VALUE_NOT_A_CODE.id).unwrap();
        assert_eq!((bad.column.as_deref(), bad.rows.as_slice()), (Some("WL01"), &[3][..]));
        assert!(h.mapping.dropped.iter().any(|(n, _)| n == "email"));
    }

    #[test]
    fn a_2019_delivery_keeps_changed_scales_apart() {
        let (cb, m) = config();
        let t = table(
            &["respondent", "gemnr", "jr", "wl11", "wl06", "dv03_0", "ch08"],
            &[&["1", "457", "2021", "2", "3", "11", "1234AB"]],
        );
        let h = harmonise(&t, &ctx("d2", &NameHints::default()), &cb, &m);
        let b = h.batch.expect("kept");
        assert_eq!(b.vragenlijst, Questionnaire::V2019);
        // Weesp merged into Amsterdam.
        assert_eq!(b.municipality(0).code, "GM0363");
        assert_eq!(answer(&cb, &b, "wl06"), vec![None]);
        assert_eq!(answer(&cb, &b, "wl06_2019"), vec![Some(3)]);
        assert_eq!(answer(&cb, &b, "wl11"), vec![Some(2)]);
        // dv03_* declares 11 missing in 2019.
        assert_eq!(answer(&cb, &b, "dv03_0"), vec![None]);
        assert!(h.findings.iter().any(|f| f.rule == finding::COLUMN_EXCLUDED.id));
        assert!(h.findings.iter().any(|f| f.rule == finding::MUNICIPALITY_MERGED.id));
    }

    #[test]
    fn file_name_fills_what_columns_lack() {
        let (cb, m) = config();
        let t = table(&["respondent", "wl01", "wl02_2"], &[&["1", "7", "1"]]);
        let hints =
            NameHints { year: Some(2024), quarter: Some(3), municipality_name: Some("'s-Hertogenbosch".into()) };
        let b = harmonise(&t, &ctx("d3", &hints), &cb, &m).batch.expect("kept");
        assert_eq!((b.year, b.municipality(0).code.as_str()), (2024, "GM0796"));
        assert_eq!((b.jr[0], b.kw[0]), (Some(2024), Some(3)));
    }

    #[test]
    fn dates_in_questionnaire_columns_are_reported() {
        let (cb, m) = config();
        let mut t = table(
            &["respondent", "gemnr", "jr", "wl01", "wl02_2"],
            &[&["1", "363", "2023", "7", "1"], &["2", "363", "2023", "", "2"]],
        );
        t.rows[1][3] = Cell::Date(45000.0);
        let h = harmonise(&t, &ctx("d", &NameHints::default()), &cb, &m);
        let f = h.findings.iter().find(|f| f.rule == finding::DATE_IN_QUESTIONNAIRE.id).expect("reported");
        assert_eq!(
            (f.column.as_deref(), f.rows.as_slice(), f.severity),
            (Some("wl01"), &[2][..], finding::Severity::Warning)
        );
        assert_eq!(answer(&cb, &h.batch.unwrap(), "wl01"), vec![Some(7), None]);
    }

    #[test]
    fn a_file_name_that_disagrees_with_the_columns_is_a_warning() {
        let (cb, m) = config();
        let t = table(&["respondent", "gemnr", "jr", "kw", "wl01", "wl02_2"], &[&["1", "363", "2023", "2", "7", "1"]]);
        let hints = NameHints { year: Some(2022), quarter: Some(3), municipality_name: Some("Utrecht".into()) };
        let h = harmonise(&t, &ctx("d", &hints), &cb, &m);
        let b = h.batch.expect("kept: the columns win");
        assert_eq!((b.year, b.municipality(0).code.as_str(), b.kw[0]), (2023, "GM0363", Some(2)));
        let cols: Vec<_> = h
            .findings
            .iter()
            .filter(|f| f.rule == finding::NAME_HINT_DISAGREES.id)
            .map(|f| f.column.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(cols, ["jr", "gemnr", "kw"]);
    }

    #[test]
    fn the_same_answers_in_2019_and_2022_give_the_same_comparable_values() {
        let (cb, m) = config();
        // wl11 marks 2019, wl02_2 marks 2022. dv00 "Reizen" is 4 in 2019 and 7 in 2022; ch06
        // "wil ik niet zeggen" is 7 and 8; wl01 is the same; wl06's scale changed.
        let v2019 = table(
            &["respondent", "gemnr", "jr", "wl11", "wl01", "dv02", "dv00", "ch06", "wl06"],
            &[&["1", "344", "2021", "2", "8", "1", "4", "7", "2"]],
        );
        let v2022 = table(
            &["respondent", "gemnr", "jr", "wl02_2", "wl01", "dv02", "dv00", "ch06", "wl06"],
            &[&["1", "344", "2023", "2", "8", "1", "7", "8", "2"]],
        );
        let a = harmonise(&v2019, &ctx("a", &NameHints::default()), &cb, &m).batch.unwrap();
        let b = harmonise(&v2022, &ctx("b", &NameHints::default()), &cb, &m).batch.unwrap();
        for column in ["wl01", "dv02", "dv00", "ch06"] {
            assert_eq!(answer(&cb, &a, column), answer(&cb, &b, column), "{column}");
        }
        assert_eq!((answer(&cb, &a, "wl06"), answer(&cb, &a, "wl06_2019")), (vec![None], vec![Some(2)]));
        assert_eq!((answer(&cb, &b, "wl06"), answer(&cb, &b, "wl06_2019")), (vec![Some(2)], vec![None]));
    }

    #[test]
    fn aliases_and_a_forced_version_are_honoured() {
        let (cb, m) = config();
        // No marker variable and 2022, the transition year: undecidable unless forced.
        let t = table(
            &["Respondentnummer", "Gemeentecode", "Jaar", "Kwartaal", "Weegfactor", "wl01"],
            &[&["5", "344", "2022", "3", "1,1", "7"]],
        );
        let h = harmonise(&t, &ctx("d", &NameHints::default()), &cb, &m);
        assert!(h.batch.is_none());
        assert!(h.findings.iter().any(|f| f.rule == finding::VERSION_UNDECIDABLE.id));
        let hints = NameHints::default();
        let forced = Context { delivery_id: "d", hints: &hints, forced_version: Some(Questionnaire::V2019) };
        let b = harmonise(&t, &forced, &cb, &m).batch.expect("kept");
        assert_eq!(b.vragenlijst, Questionnaire::V2019);
        assert_eq!(
            (b.respondent[0].as_deref(), b.gemnr[0], b.kw[0], b.weging[0]),
            (Some("5"), Some(344), Some(3), Some(1.1))
        );
        assert_eq!(answer(&cb, &b, "wl01"), [Some(7)]);
    }

    #[test]
    fn agency_weights_are_checked() {
        let (cb, m) = config();
        let t = table(
            &["respondent", "gemnr", "jr", "wl02_2", "ch02", "weging"],
            &[
                &["1", "344", "2023", "1", "1", "5,2"],
                &["2", "344", "2023", "1", "", "0,8"],
                &["3", "344", "2023", "1", "2", "1"],
            ],
        );
        let h = harmonise(&t, &ctx("d", &NameHints::default()), &cb, &m);
        let rows = |rule: finding::Rule| h.findings.iter().find(|f| f.rule == rule.id).map(|f| f.rows.clone());
        assert_eq!(rows(finding::WEGING_TOO_HIGH), Some(vec![1]));
        assert_eq!(rows(finding::WEGING_WITHOUT_AGE), Some(vec![2]));
        assert_eq!(rows(finding::WEGING_MEAN), Some(vec![]));
    }

    #[test]
    fn a_dataformat_column_holding_personal_data_is_dropped_unreported() {
        let (cb, m) = config();
        let t = table(
            &["respondent", "gemnr", "jr", "wl02_2"],
            &[&["a.de.vries@example.nl", "344", "2023", "1"], &["j.jansen@example.nl", "344", "2023", "2"]],
        );
        let h = harmonise(&t, &ctx("d", &NameHints::default()), &cb, &m);
        let b = h.batch.expect("kept, without the column");
        assert_eq!(b.respondent, [None, None]);
        let f = h.findings.iter().find(|f| f.rule == finding::PERSONAL_DATA_FOUND.id).expect("reported");
        assert_eq!(f.column.as_deref(), Some("respondent"));
        let everything = format!("{:?}", h.findings) + &format!("{:?}", h.mapping);
        assert!(!everything.contains("example.nl"), "{everything}");
    }

    #[test]
    fn research_columns_decode_from_labels_and_agency_names() {
        let (cb, m) = config();
        let t = table(
            &["respondent", "gemnr", "jr", "kw", "veldwerkmodus", "org", "wl02_2"],
            &[
                &["1", "363", "2023", "kwartaal 4", "websurvey,", "I&O Research", "1"],
                &["2", "363", "2023", "Kwartaal 4", "schriftelijke enquête", "Kantar Public", "2"],
                &["3", "363", "2023", "4", "2", "Bureau Nergens", "1"],
            ],
        );
        let h = harmonise(&t, &ctx("d", &NameHints::default()), &cb, &m);
        let b = h.batch.expect("kept");
        assert_eq!(b.kw, [Some(4), Some(4), Some(4)]);
        assert_eq!(b.veldwerkmodus, [Some(1), Some(2), Some(2)]);
        assert_eq!(b.org, [Some(5), Some(30), None]);
        let on = |rule: finding::Rule, column: &str| {
            h.findings.iter().find(|f| f.rule == rule.id && f.column.as_deref() == Some(column)).map(|f| f.rows.clone())
        };
        assert_eq!(on(finding::LABELS_AS_CODES, "kw"), Some(vec![1, 2]));
        assert_eq!(on(finding::LABELS_AS_CODES, "org"), Some(vec![1, 2]));
        let unknown = h.findings.iter().find(|f| f.rule == finding::AGENCY_UNKNOWN.id).expect("reported");
        assert_eq!((unknown.rows.as_slice(), unknown.severity), (&[3][..], finding::Severity::Warning));
        assert!(!unknown.message.contains("Nergens"), "no cell is quoted");
    }

    #[test]
    fn a_second_header_of_question_texts_never_becomes_a_respondent() {
        let (cb, m) = config();
        let t = table(
            &["respondent", "gemnr", "jr", "kw", "wl02_2"],
            &[
                &["respondentnummer", "gemeentenummer (CBS-code)", "jaar", "kwartaal", ""],
                &["1", "363", "2023", "kwartaal 2", "1"],
                &["2", "363", "", "kwartaal 2", "2"],
                &["N = 2", "", "", "", ""],
            ],
        );
        let h = harmonise(&t, &ctx("d", &NameHints::default()), &cb, &m);
        let b = h.batch.expect("kept");
        assert_eq!(b.respondent, [Some("1".into()), Some("2".into())]);
        assert_eq!(b.source_row, [2, 3]);
        assert_eq!(b.jr, [Some(2023), Some(2023)], "an empty jr gets the delivery's year");
        let rows = |rule: finding::Rule| -> Vec<Vec<u32>> {
            h.findings.iter().filter(|f| f.rule == rule.id).map(|f| f.rows.clone()).collect()
        };
        assert_eq!(rows(finding::NON_RESPONDENT_ROWS), [vec![1], vec![4]]);
        assert_eq!(rows(finding::YEAR_FILLED), [vec![3]]);
    }

    #[test]
    fn a_file_of_headers_only_is_rejected() {
        let (cb, m) = config();
        let t = table(&["respondent", "gemnr", "jr", "wl02_2"], &[&["respondent", "gemnr", "jr", "wl02_2"]]);
        let h = harmonise(&t, &ctx("d", &NameHints::default()), &cb, &m);
        assert!(h.batch.is_none());
        assert!(h.findings.iter().any(|f| f.rule == finding::FILE_NO_DATA.id));
    }

    #[test]
    fn respondent_numbers_are_whole_numbers() {
        let (cb, m) = config();
        let t = table(
            &["respondent", "gemnr", "jr", "wl02_2"],
            &[&["12.0", "363", "2023", "1"], &["A-17", "363", "2023", "2"], &["-3", "363", "2023", "2"]],
        );
        let h = harmonise(&t, &ctx("d", &NameHints::default()), &cb, &m);
        let b = h.batch.expect("kept");
        assert_eq!(b.respondent, [Some("12".into()), None, None]);
        let f = h.findings.iter().find(|f| f.rule == finding::RESPONDENT_NOT_A_NUMBER.id).expect("reported");
        assert_eq!(f.rows, [2, 3]);
    }

    #[test]
    fn undecidable_and_mixed_deliveries_are_rejected() {
        let (cb, m) = config();
        let no_year = table(&["respondent", "gemnr", "wl01"], &[&["1", "363", "7"]]);
        let h = harmonise(&no_year, &ctx("d", &NameHints::default()), &cb, &m);
        assert!(h.batch.is_none());
        assert!(h.findings.iter().any(|f| f.rule == finding::YEAR_MISSING.id));

        let unknown =
            table(&["respondent", "gemnr", "jr", "wl01"], &[&["1", "9999", "2023", "7"], &["2", "9998", "2023", "7"]]);
        let h = harmonise(&unknown, &ctx("d", &NameHints::default()), &cb, &m);
        assert!(h.batch.is_none());
        assert!(h.findings.iter().any(|f| f.rule == finding::MUNICIPALITY_UNKNOWN.id));

        let nothing = table(&["respondent", "gemnr", "jr", "foo"], &[&["1", "363", "2023", "7"]]);
        let h = harmonise(&nothing, &ctx("d", &NameHints::default()), &cb, &m);
        assert!(h.batch.is_none());
        assert!(h.findings.iter().any(|f| f.rule == finding::NO_QUESTIONNAIRE_COLUMNS.id));
    }
}
