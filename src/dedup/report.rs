//! Turns dedup decisions into what reports and the lake need: findings per delivery, one line
//! per dropped row, totals per rule, dropped-row counts per delivery, and the kept rows as
//! batches for `assemble`.
//!
//! Must NOT decide anything: it only describes [`YearDecisions`] and [`DeliveryDecision`]s.
//! Messages name delivery ids and 1-based source rows, never respondent numbers or answers.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{DeliveryDecision, DeliveryFacts, RowRef, RowRule, YearDecisions};
use crate::finding::{self, Finding, Rule};
use crate::harmonise::Batch;

/// Rows and pairs per rule, for the run report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RuleTotals {
    pub exact_duplicate: usize,
    pub cross_mode: usize,
    pub near_duplicate_dropped: usize,
    pub conflicting_number_groups: usize,
    pub conflicting_number_rows: usize,
    pub near_duplicate_pairs: usize,
}

impl std::ops::AddAssign for RuleTotals {
    fn add_assign(&mut self, o: RuleTotals) {
        self.exact_duplicate += o.exact_duplicate;
        self.cross_mode += o.cross_mode;
        self.near_duplicate_dropped += o.near_duplicate_dropped;
        self.conflicting_number_groups += o.conflicting_number_groups;
        self.conflicting_number_rows += o.conflicting_number_rows;
        self.near_duplicate_pairs += o.near_duplicate_pairs;
    }
}

/// One dropped row, for the delivery report of `delivery_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DroppedRow {
    pub delivery_id: String,
    /// 1-based data row in the delivered file.
    pub source_row: i32,
    #[serde(deserialize_with = "crate::finding::deserialize_rule_id")]
    pub rule: finding::RuleId,
    pub duplicate_of_delivery: String,
    pub duplicate_of_row: i32,
}

fn source_row(batches: &[&Batch], r: RowRef) -> i32 {
    batches.get(r.batch).and_then(|b| b.source_row.get(r.row)).copied().unwrap_or(0)
}

fn delivery<'a>(batches: &[&'a Batch], r: RowRef) -> &'a str {
    batches.get(r.batch).map_or("", |b| b.delivery_id.as_str())
}

/// Every dropped row with its rule and the row it duplicated, in source order.
pub fn dropped_rows(batches: &[&Batch], d: &YearDecisions) -> Vec<DroppedRow> {
    d.dropped
        .iter()
        .map(|x| DroppedRow {
            delivery_id: delivery(batches, x.row).to_string(),
            source_row: source_row(batches, x.row),
            rule: x.rule.finding_rule().id,
            duplicate_of_delivery: delivery(batches, x.duplicate_of).to_string(),
            duplicate_of_row: source_row(batches, x.duplicate_of),
        })
        .collect()
}

/// `deliveries.rows_dropped_duplicate`, aligned with `batches`.
pub fn rows_dropped_per_batch(batches: &[&Batch], d: &YearDecisions) -> Vec<u64> {
    let mut out = vec![0u64; batches.len()];
    for x in &d.dropped {
        if let Some(n) = out.get_mut(x.row.batch) {
            *n += 1;
        }
    }
    out
}

/// Per batch, per row: whether the row is kept. With [`Batch::retain_rows`] it gives what
/// [`kept_batches`] gives, in place, for a caller that owns the batches.
pub fn kept_rows(batches: &[&Batch], d: &YearDecisions) -> Vec<Vec<bool>> {
    let mut keep: Vec<Vec<bool>> = batches.iter().map(|b| vec![false; b.len()]).collect();
    for r in &d.kept {
        if let Some(k) = keep.get_mut(r.batch).and_then(|k| k.get_mut(r.row)) {
            *k = true;
        }
    }
    keep
}

/// The kept rows as new batches (same order, same delivery ids, rows in source order; a batch
/// whose rows were all dropped stays, empty), ready for `assemble`, which then suffixes the
/// keys of [`YearDecisions::conflicting_numbers`] as the contract says.
pub fn kept_batches(batches: &[&Batch], d: &YearDecisions) -> Vec<Batch> {
    let keep = kept_rows(batches, d);
    batches
        .iter()
        .zip(&keep)
        .map(|(b, keep)| {
            fn pick<T: Clone>(v: &[T], keep: &[bool]) -> Vec<T> {
                v.iter().zip(keep).filter(|(_, k)| **k).map(|(x, _)| x.clone()).collect()
            }
            Batch {
                delivery_id: b.delivery_id.clone(),
                vragenlijst: b.vragenlijst,
                municipalities: b.municipalities.clone(),
                gemeente: pick(&b.gemeente, keep),
                year: b.year,
                source_row: pick(&b.source_row, keep),
                respondent: pick(&b.respondent, keep),
                gemnr: pick(&b.gemnr, keep),
                jr: pick(&b.jr, keep),
                kw: pick(&b.kw, keep),
                veldwerkmodus: pick(&b.veldwerkmodus, keep),
                org: pick(&b.org, keep),
                wijknr: pick(&b.wijknr, keep),
                weging: pick(&b.weging, keep),
                answers: b
                    .answers
                    .iter()
                    .map(|c| c.iter().zip(keep).filter(|(_, k)| **k).map(|(v, _)| v).collect())
                    .collect(),
                complete: pick(&b.complete, keep),
            }
        })
        .collect()
}

/// A row as a message names it: `row 12`, or `row 12 of <delivery id>` in another delivery.
fn describe(batches: &[&Batch], here: usize, r: RowRef) -> String {
    if r.batch == here {
        format!("row {}", source_row(batches, r))
    } else {
        format!("row {} of {}", source_row(batches, r), delivery(batches, r))
    }
}

/// At most this many `row a = row b` examples in a message; the finding's `rows` lists the rest.
const EXAMPLES: usize = 5;

fn finding_for(batches: &[&Batch], b: usize, rule: Rule, what: &str, lines: &[(i32, String)]) -> Finding {
    let rows: Vec<u32> = lines.iter().map(|(r, _)| u32::try_from(*r).unwrap_or(0)).collect();
    let examples: Vec<&str> = lines.iter().take(EXAMPLES).map(|(_, s)| s.as_str()).collect();
    let more = if lines.len() > EXAMPLES { ", …" } else { "" };
    Finding::new(rule, &batches[b].delivery_id, format!("{} row(s) {what}: {}{more}", lines.len(), examples.join(", ")))
        .column("respondent")
        .rows(&rows)
}

/// The rows one rule touched in one delivery: the rule, what it did, and per row its source row
/// and a line saying which row it duplicates.
type RuleLines<'a> = (Rule, &'a str, Vec<(i32, String)>);

/// Findings per delivery: one per rule that dropped rows, one for conflicting numbers, one for
/// reported near-duplicate pairs (on the delivery of the later row of each pair).
pub fn findings(batches: &[&Batch], d: &YearDecisions) -> Vec<Finding> {
    // (batch, rule) → (source row, "row x duplicates row y")
    let mut lines: BTreeMap<(usize, &'static str), RuleLines> = BTreeMap::new();
    for x in &d.dropped {
        let rule = x.rule.finding_rule();
        let what = match x.rule {
            RowRule::ExactDuplicate => "dropped: same respondent number and answers as an earlier row",
            RowRule::CrossMode => {
                "dropped: the same respondent number answered on web and on paper; the more complete record (on a tie the web record) is kept"
            }
            RowRule::NearDuplicate => "dropped as near-duplicates of an earlier row (near_duplicates = \"drop\")",
        };
        let text = format!(
            "{} duplicates {}",
            describe(batches, x.row.batch, x.row),
            describe(batches, x.row.batch, x.duplicate_of)
        );
        lines
            .entry((x.row.batch, rule.id))
            .or_insert((rule, what, Vec::new()))
            .2
            .push((source_row(batches, x.row), text));
    }
    for group in &d.conflicting_numbers {
        let Some(first) = group.first() else { continue };
        for r in group {
            let text = format!(
                "{} shares its number with {}",
                describe(batches, r.batch, *r),
                describe(batches, r.batch, *first)
            );
            if r == first {
                continue;
            }
            lines
                .entry((r.batch, finding::DEDUP_NUMBER_CONFLICT.id))
                .or_insert((
                    finding::DEDUP_NUMBER_CONFLICT,
                    "kept with a suffixed key (-2, -3 …): the respondent number occurs again with different answers",
                    Vec::new(),
                ))
                .2
                .push((source_row(batches, *r), text));
        }
    }
    for p in &d.near_pairs {
        let text = format!(
            "{} ≈ {} ({} of {} items equal)",
            describe(batches, p.b.batch, p.b),
            describe(batches, p.b.batch, p.a),
            p.agreeing,
            p.compared
        );
        lines
            .entry((p.b.batch, finding::DEDUP_NEAR_DUPLICATE.id))
            .or_insert((
                finding::DEDUP_NEAR_DUPLICATE,
                "have nearly the same answers, sex, age and district as another row with a different number",
                Vec::new(),
            ))
            .2
            .push((source_row(batches, p.b), text));
    }
    lines.into_iter().map(|((b, _), (rule, what, l))| finding_for(batches, b, rule, what, &l)).collect()
}

/// Findings for rules 1-2, on the delivery they concern.
pub fn delivery_findings(facts: &[DeliveryFacts], decisions: &[DeliveryDecision]) -> Vec<Finding> {
    facts
        .iter()
        .zip(decisions)
        .filter_map(|(f, d)| {
            let rule = match d {
                DeliveryDecision::Keep => return None,
                DeliveryDecision::DuplicateFile { .. } => finding::DEDUP_DUPLICATE_FILE,
                DeliveryDecision::Superseded { .. } => finding::DEDUP_SUPERSEDED,
            };
            Some(Finding::new(rule, &f.id, d.reason(facts).unwrap_or_default()))
        })
        .collect()
}
