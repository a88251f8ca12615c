//! Rules 3-5 on the rows of one municipality-year: exact duplicates, cross-mode duplicates and
//! conflicting respondent numbers; then hands the survivors to rule 6 ([`super::near`]).
//!
//! Must NOT look across municipality-years (no rule does), and must NOT drop a row it cannot
//! explain: every drop names its rule and the row it duplicated.

use std::collections::{BTreeMap, HashMap};

use super::{DedupOptions, Drop, NearDuplicates, NearPair, RowRef, RowRule, near};
use crate::harmonise::Batch;

/// The rows of one municipality-year, in source order.
pub struct Group {
    pub rows: Vec<RowRef>,
}

/// What one municipality-year contributes to [`super::YearDecisions`].
#[derive(Default)]
pub struct GroupDecisions {
    pub dropped: Vec<Drop>,
    pub conflicting: Vec<Vec<RowRef>>,
    pub near_pairs: Vec<NearPair>,
}

/// Splits the year's rows by (today's municipality, survey year); groups in first-seen order.
pub fn municipality_years(batches: &[&Batch]) -> Vec<Group> {
    let mut index: HashMap<(&str, u16), usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (b, batch) in batches.iter().enumerate() {
        for r in 0..batch.len() {
            let key = (batch.municipality(r).code.as_str(), batch.year);
            let g = *index.entry(key).or_insert_with(|| {
                groups.push(Group { rows: Vec::new() });
                groups.len() - 1
            });
            groups[g].rows.push(RowRef { batch: b, row: r });
        }
    }
    groups
}

/// The respondent number as key building normalises it: digits zero-padded to 6, anything else
/// as delivered, so two rows share a number here exactly when their keys would collide.
pub fn key_number(batch: &Batch, row: usize) -> Option<String> {
    match &batch.respondent[row] {
        Some(r) if !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()) => Some(format!("{r:0>6}")),
        Some(r) => Some(r.clone()),
        None => None,
    }
}

/// The quarter as key building uses it: 1-4, else 0 (unknown).
pub fn key_quarter(batch: &Batch, row: usize) -> i16 {
    batch.kw[row].unwrap_or_default()
}

/// Number of questionnaire variables answered (not null).
pub fn answered(batch: &Batch, row: usize) -> usize {
    batch.answers.iter().filter(|c| c.get(row).is_some()).count()
}

fn same_answers(batches: &[&Batch], a: RowRef, b: RowRef) -> bool {
    let (ba, bb) = (batches[a.batch], batches[b.batch]);
    let n = ba.answers.len().max(bb.answers.len());
    (0..n).all(|c| {
        let x = ba.answers.get(c).and_then(|col| col.get(a.row));
        let y = bb.answers.get(c).and_then(|col| col.get(b.row));
        x == y
    })
}

/// Rules 3-6 on one municipality-year. In `near_duplicates = "drop"` mode a rule-6 drop can
/// settle a number that rule 4 found ambiguous (two web records and one paper record, one of
/// them a near-duplicate), so the rules are applied in order again until nothing more is
/// dropped: the result is a fixed point, and deduplicating it again changes nothing.
pub fn decide_group(batches: &[&Batch], group: &Group, opts: &DedupOptions) -> GroupDecisions {
    let mut out = GroupDecisions::default();
    // Per position in `group.rows`: whether no rule has dropped it yet.
    let mut alive = vec![true; group.rows.len()];
    let numbers: Vec<Option<String>> = group.rows.iter().map(|r| key_number(batches[r.batch], r.row)).collect();
    let mut pairs: BTreeMap<(RowRef, RowRef), NearPair> = BTreeMap::new();
    loop {
        exact_duplicates(batches, group, &numbers, &mut alive, &mut out.dropped);
        cross_mode(batches, group, &numbers, &mut alive, &mut out.dropped);

        let survivors: Vec<(RowRef, Option<&str>)> =
            (0..group.rows.len()).filter(|&i| alive[i]).map(|i| (group.rows[i], numbers[i].as_deref())).collect();
        let found = near::pairs(batches, &survivors, opts);
        let drops = if opts.near == NearDuplicates::Drop { near::drops(&found) } else { Vec::new() };
        for p in found {
            pairs.insert((p.a, p.b), p);
        }
        if drops.is_empty() {
            break;
        }
        for d in &drops {
            if let Ok(i) = group.rows.binary_search(&d.row) {
                alive[i] = false;
            }
        }
        out.dropped.extend(drops);
    }
    out.near_pairs = pairs.into_values().collect();

    // Rule 5, last, so it lists what is really kept: rows that still share a key are all kept
    // and the key building suffixes them.
    for same in by_key(batches, group, &numbers, &alive).values() {
        if same.len() > 1 {
            out.conflicting.push(same.iter().map(|&i| group.rows[i]).collect());
        }
    }
    out
}

/// Rule 3: same number and all answers equal, anywhere in the municipality-year: the first in
/// source order stays. Compared only within a number, so the cost follows the rows that share
/// numbers, not the square of the group.
fn exact_duplicates(
    batches: &[&Batch],
    group: &Group,
    numbers: &[Option<String>],
    alive: &mut [bool],
    dropped: &mut Vec<Drop>,
) {
    let mut by_number: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, n) in numbers.iter().enumerate() {
        if let (true, Some(n)) = (alive[i], n) {
            by_number.entry(n.as_str()).or_default().push(i);
        }
    }
    for same in by_number.values().filter(|v| v.len() > 1) {
        for (k, &i) in same.iter().enumerate() {
            let earlier =
                same[..k].iter().copied().find(|&j| alive[j] && same_answers(batches, group.rows[j], group.rows[i]));
            if let Some(j) = earlier {
                alive[i] = false;
                dropped.push(Drop { row: group.rows[i], rule: RowRule::ExactDuplicate, duplicate_of: group.rows[j] });
            }
        }
    }
}

/// The alive rows per key (quarter, normalised number), in source order.
fn by_key<'n>(
    batches: &[&Batch],
    group: &Group,
    numbers: &'n [Option<String>],
    alive: &[bool],
) -> BTreeMap<(i16, &'n str), Vec<usize>> {
    let mut out: BTreeMap<(i16, &str), Vec<usize>> = BTreeMap::new();
    for (i, n) in numbers.iter().enumerate() {
        if let (true, Some(n)) = (alive[i], n) {
            let r = group.rows[i];
            out.entry((key_quarter(batches[r.batch], r.row), n.as_str())).or_default().push(i);
        }
    }
    out
}

/// Rule 4, per quarter: exactly one web (1) and one paper (2) record under a number are one
/// person who answered twice. With more records in one of the modes the agency also numbered
/// twice and nobody can tell which pair is the person: all are kept (rule 5 reports them).
fn cross_mode(
    batches: &[&Batch],
    group: &Group,
    numbers: &[Option<String>],
    alive: &mut [bool],
    dropped: &mut Vec<Drop>,
) {
    for same in by_key(batches, group, numbers, alive).values().filter(|v| v.len() > 1) {
        let mode = |i: usize| batches[group.rows[i].batch].veldwerkmodus[group.rows[i].row];
        let web: Vec<usize> = same.iter().copied().filter(|&i| mode(i) == Some(1)).collect();
        let paper: Vec<usize> = same.iter().copied().filter(|&i| mode(i) == Some(2)).collect();
        let ([w], [p]) = (web.as_slice(), paper.as_slice()) else { continue };
        let (w, p) = (*w, *p);
        let count = |i: usize| answered(batches[group.rows[i].batch], group.rows[i].row);
        // Most answered questionnaire variables wins; on a tie the web record. (The rule's last
        // tie-break, "the first", cannot arise between one web and one paper record.)
        let (keep, drop) = if count(p) > count(w) { (p, w) } else { (w, p) };
        alive[drop] = false;
        dropped.push(Drop { row: group.rows[drop], rule: RowRule::CrossMode, duplicate_of: group.rows[keep] });
    }
}
