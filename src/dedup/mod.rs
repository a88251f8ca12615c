//! Dedup: decides which deliveries and which respondent rows are published once, and records a
//! reason for everything it leaves out.
//!
//! Two pure entry points, applied in this order (see `docs/dedup.md` for the full rules):
//!
//! * [`decide_deliveries`] (rules 1-2, per file): a byte-identical copy of an earlier file is
//!   [`DeliveryDecision::DuplicateFile`]; a later delivery for the same municipalities, year,
//!   quarter and agency supersedes the earlier one as a whole ([`RedeliveryMode::Replace`]), or
//!   both stay ([`RedeliveryMode::Append`]). "Later" is [`later_order`]: modification time, then
//!   the version suffix in the name, then the name.
//! * [`dedup_year`] (rules 3-6, per survey year, over the batches rules 1-2 kept): exact
//!   duplicate rows, cross-mode duplicates, conflicting respondent numbers and near-duplicates.
//!   Returns [`YearDecisions`]: every input row is either in `kept` or in `dropped` exactly once,
//!   with its rule and the row it duplicated.
//!
//! [`report`] turns the decisions into findings, per-row report lines and totals, and
//! [`kept_batches`] gives the batches the lead hands to `assemble`, whose key building then
//! appends `-2`, `-3` … to the numbers listed in [`YearDecisions::conflicting_numbers`].
//!
//! What this module must NOT do: touch files, the clock or the lake; emit anything that is not
//! derived from its arguments (its output is deterministic for a given input order); guess —
//! a case the rules do not cover keeps the rows and reports them.

mod deliveries;
mod near;
pub mod report;
mod rows;

use serde::Serialize;

use crate::codebook::Codebook;
use crate::harmonise::Batch;

pub use deliveries::{
    DeliveryDecision, DeliveryFacts, RedeliveryMode, decide_deliveries, duplicate_files, later_order, version_suffix,
};
pub use near::{MIN_AGREEMENT_PERCENT, MIN_COMPARED};
pub use report::{
    DroppedRow, RuleTotals, delivery_findings, dropped_rows, findings, kept_batches, kept_rows, rows_dropped_per_batch,
};

/// What rule 6 does with near-duplicate pairs (`near_duplicates` in the pipeline file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NearDuplicates {
    /// Report the pairs, drop nothing (the default: similar answers are evidence, not proof).
    #[default]
    Report,
    /// Drop the later row of each pair (keep the first in source order).
    Drop,
}

/// Settings of [`dedup_year`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DedupOptions {
    pub near: NearDuplicates,
    /// Column of `ch01` (sex) in [`Batch::answers`]; without it rule 6 finds nothing.
    pub sex_column: Option<usize>,
    /// Column of `ch02` (age band) in [`Batch::answers`]; without it rule 6 finds nothing.
    pub age_column: Option<usize>,
}

impl DedupOptions {
    /// The blocking columns of rule 6 looked up in the codebook.
    pub fn new(codebook: &Codebook, near: NearDuplicates) -> DedupOptions {
        DedupOptions { near, sex_column: codebook.column_index("ch01"), age_column: codebook.column_index("ch02") }
    }
}

/// A row of one year: `batch` indexes the slice given to [`dedup_year`], `row` the batch's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RowRef {
    pub batch: usize,
    pub row: usize,
}

/// Why a row was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowRule {
    /// Rule 3: same respondent number, all answers equal.
    ExactDuplicate,
    /// Rule 4: same number on web and on paper; the less complete (or the paper) record.
    CrossMode,
    /// Rule 6 with `near_duplicates = "drop"`.
    NearDuplicate,
}

impl RowRule {
    /// The finding rule id reported for rows dropped by this rule.
    pub fn finding_rule(self) -> crate::finding::Rule {
        match self {
            RowRule::ExactDuplicate => crate::finding::DEDUP_EXACT_DUPLICATE,
            RowRule::CrossMode => crate::finding::DEDUP_CROSS_MODE,
            RowRule::NearDuplicate => crate::finding::DEDUP_NEAR_DUPLICATE_DROPPED,
        }
    }
}

/// One dropped row and the row it duplicated (which a later rule may itself have dropped: the
/// reference says what was seen, it is not a pointer to the survivor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Drop {
    pub row: RowRef,
    pub rule: RowRule,
    pub duplicate_of: RowRef,
}

/// Two rows with different numbers and nearly the same answers (rule 6); `a` comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct NearPair {
    pub a: RowRef,
    pub b: RowRef,
    /// Items both answered with the same code.
    pub agreeing: usize,
    /// Items both answered (`ch01` and `ch02` not counted: they are equal by construction).
    pub compared: usize,
}

/// Everything [`dedup_year`] decided for one year.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct YearDecisions {
    /// Rows to publish, in source order: batches in the given order, rows ascending.
    pub kept: Vec<RowRef>,
    /// Rows left out, in source order of the dropped row; each row at most once.
    pub dropped: Vec<Drop>,
    /// Rule 5: groups of kept rows whose key would collide (same municipality, year, quarter
    /// and respondent number); each group in source order, groups by their first row. Key
    /// building suffixes all but the first with `-2`, `-3` …
    pub conflicting_numbers: Vec<Vec<RowRef>>,
    /// Rule 6 pairs, sorted by `(a, b)`. With [`NearDuplicates::Drop`] the dropped ones are
    /// also in `dropped`.
    pub near_pairs: Vec<NearPair>,
}

impl YearDecisions {
    /// Dropped rows and reported pairs per rule, for the run report.
    pub fn totals(&self) -> RuleTotals {
        let mut t = RuleTotals::default();
        for d in &self.dropped {
            match d.rule {
                RowRule::ExactDuplicate => t.exact_duplicate += 1,
                RowRule::CrossMode => t.cross_mode += 1,
                RowRule::NearDuplicate => t.near_duplicate_dropped += 1,
            }
        }
        t.conflicting_number_groups = self.conflicting_numbers.len();
        t.conflicting_number_rows = self.conflicting_numbers.iter().map(Vec::len).sum();
        t.near_duplicate_pairs = self.near_pairs.len();
        t
    }
}

/// Applies rules 3-6 to the rows of one survey year's kept deliveries. Pure and deterministic
/// for a given batch order (the order decides "first in source order"); parallel over
/// municipality-years, which no rule crosses.
pub fn dedup_year(batches: &[&Batch], opts: &DedupOptions) -> YearDecisions {
    let groups = rows::municipality_years(batches);
    let parts: Vec<rows::GroupDecisions> = {
        use rayon::prelude::*;
        groups.par_iter().map(|g| rows::decide_group(batches, g, opts)).collect()
    };

    let mut out = YearDecisions::default();
    for p in parts {
        out.dropped.extend(p.dropped);
        out.conflicting_numbers.extend(p.conflicting);
        out.near_pairs.extend(p.near_pairs);
    }
    out.dropped.sort_by_key(|d| d.row);
    out.conflicting_numbers.sort_by_key(|g| g.first().copied());
    out.near_pairs.sort_by_key(|p| (p.a, p.b));

    let mut dropped = out.dropped.iter().map(|d| d.row).peekable();
    for (b, batch) in batches.iter().enumerate() {
        for r in 0..batch.len() {
            let here = RowRef { batch: b, row: r };
            if dropped.peek() == Some(&here) {
                dropped.next();
            } else {
                out.kept.push(here);
            }
        }
    }
    out
}
