//! Rule 6: near-duplicates — different respondent numbers, same `ch01`, `ch02` and `wijknr`,
//! and the same code on at least [`MIN_AGREEMENT_PERCENT`]% of the items both answered (at least
//! [`MIN_COMPARED`] such items).
//!
//! Blocking, so a municipality-year of 1,000+ rows is never compared all-pairs:
//! 1. rows are blocked on (`ch01`, `ch02`, `wijknr`) — the rule requires equality there, so
//!    blocking loses nothing; a row without `ch01` or `ch02` cannot qualify;
//! 2. a block of at most [`EXACT_BLOCK_MAX`] rows is compared pair by pair; a larger block (a
//!    delivery without districts, say) is split once more: the items are dealt into [`BANDS`]
//!    interleaved bands and only rows that agree exactly on at least one whole band are
//!    compared (a pair that differs — in answer or in blank — on fewer than [`BANDS`] items
//!    always shares a band);
//! 3. every comparison stops as soon as the disagreements exceed 5% of the most items the two
//!    rows could have in common, so unrelated rows cost a handful of items.
//!
//! Must NOT drop anything itself: it finds pairs; [`drops`] applies `near_duplicates = "drop"`.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use super::{DedupOptions, Drop, RowRule};
use super::{NearPair, RowRef};
use crate::harmonise::Batch;

/// Minimum share of agreeing items among the items both rows answered.
pub const MIN_AGREEMENT_PERCENT: usize = 95;
/// Minimum number of items both rows answered.
pub const MIN_COMPARED: usize = 30;
/// Blocks up to this size are compared pair by pair.
pub const EXACT_BLOCK_MAX: usize = 256;
/// Bands of the second blocking step for larger blocks.
pub const BANDS: usize = 16;
/// A band value shared by more rows than this says nothing (typically all blank by routing)
/// and is not used to propose candidates.
const BAND_BUCKET_MAX: usize = EXACT_BLOCK_MAX;

const NULL: i16 = i16::MIN;

/// The near-duplicate pairs among `rows` (one municipality-year's survivors of rules 3-5, in
/// source order, with their normalised numbers).
pub fn pairs(batches: &[&Batch], rows: &[(RowRef, Option<&str>)], opts: &DedupOptions) -> Vec<NearPair> {
    let (Some(sex), Some(age)) = (opts.sex_column, opts.age_column) else { return Vec::new() };
    let value = |r: RowRef, c: usize| -> Option<i16> {
        batches[r.batch].answers.get(c).and_then(|col| col.get(r.row)).copied().flatten()
    };
    let mut blocks: HashMap<(i16, i16, Option<&str>), Vec<usize>> = HashMap::new();
    for (i, (r, _)) in rows.iter().enumerate() {
        let (Some(s), Some(a)) = (value(*r, sex), value(*r, age)) else { continue };
        let wijk = batches[r.batch].wijknr[r.row].as_deref();
        blocks.entry((s, a, wijk)).or_default().push(i);
    }
    let columns = rows.iter().map(|(r, _)| batches[r.batch].answers.len()).max().unwrap_or(0);
    let items: Vec<usize> = (0..columns).filter(|&c| c != sex && c != age).collect();

    let mut out = Vec::new();
    for block in blocks.values().filter(|b| b.len() > 1) {
        // Row-major copy of the block's items: comparisons then read contiguous memory.
        let width = items.len();
        let mut matrix = Vec::with_capacity(block.len() * width);
        let mut answered = Vec::with_capacity(block.len());
        for &i in block {
            let r = rows[i].0;
            let start = matrix.len();
            matrix.extend(items.iter().map(|&c| value(r, c).unwrap_or(NULL)));
            answered.push(matrix[start..].iter().filter(|&&v| v != NULL).count());
        }
        let row = |k: usize| &matrix[k * width..(k + 1) * width];
        let mut check = |x: usize, y: usize| {
            let (ix, iy) = (block[x], block[y]);
            if let (Some(a), Some(b)) = (rows[ix].1, rows[iy].1)
                && a == b
            {
                return;
            }
            if let Some((agreeing, compared)) = compare(row(x), row(y), answered[x].min(answered[y])) {
                let (a, b) = if rows[ix].0 < rows[iy].0 { (rows[ix].0, rows[iy].0) } else { (rows[iy].0, rows[ix].0) };
                out.push(NearPair { a, b, agreeing, compared });
            }
        };
        if block.len() <= EXACT_BLOCK_MAX {
            for x in 0..block.len() {
                for y in x + 1..block.len() {
                    check(x, y);
                }
            }
        } else {
            for (x, y) in band_candidates(block.len(), width, &row) {
                check(x, y);
            }
        }
    }
    out
}

/// Pairs `(x, y)`, `x < y`, of block positions that agree exactly on at least one band.
fn band_candidates<'m>(n: usize, width: usize, row: &impl Fn(usize) -> &'m [i16]) -> Vec<(usize, usize)> {
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    for band in 0..BANDS {
        let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
        for k in 0..n {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            let values = row(k);
            for c in (band..width).step_by(BANDS) {
                values[c].hash(&mut h);
            }
            buckets.entry(h.finish()).or_default().push(k);
        }
        for bucket in buckets.values().filter(|b| b.len() > 1 && b.len() <= BAND_BUCKET_MAX) {
            for (i, &x) in bucket.iter().enumerate() {
                for &y in &bucket[i + 1..] {
                    seen.insert((x, y));
                }
            }
        }
    }
    let mut out: Vec<(usize, usize)> = seen.into_iter().collect();
    out.sort_unstable();
    out
}

/// `(agreeing, compared)` when the rows qualify. `bound` is the most items both could have
/// answered; once the disagreements exceed 5% of it the pair cannot reach 95%.
fn compare(a: &[i16], b: &[i16], bound: usize) -> Option<(usize, usize)> {
    if bound < MIN_COMPARED {
        return None;
    }
    let limit = bound * (100 - MIN_AGREEMENT_PERCENT);
    let (mut agreeing, mut compared) = (0usize, 0usize);
    for (&x, &y) in a.iter().zip(b) {
        if x == NULL || y == NULL {
            continue;
        }
        compared += 1;
        if x == y {
            agreeing += 1;
        } else if (compared - agreeing) * 100 > limit {
            return None;
        }
    }
    (compared >= MIN_COMPARED && agreeing * 100 >= compared * MIN_AGREEMENT_PERCENT).then_some((agreeing, compared))
}

/// `near_duplicates = "drop"`: in source order, a row near an earlier row that is still kept is
/// dropped as a duplicate of the earliest such row. Going in order makes the result stable: the
/// kept rows have no pair left among them, so a second pass drops nothing.
pub fn drops(pairs: &[NearPair]) -> Vec<Drop> {
    let mut by_b: Vec<&NearPair> = pairs.iter().collect();
    by_b.sort_by_key(|p| (p.b, p.a));
    let mut dropped: HashSet<RowRef> = HashSet::new();
    let mut out = Vec::new();
    for p in by_b {
        if dropped.contains(&p.b) || dropped.contains(&p.a) {
            continue;
        }
        dropped.insert(p.b);
        out.push(Drop { row: p.b, rule: RowRule::NearDuplicate, duplicate_of: p.a });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_counts_only_items_both_answered() {
        let mut a = vec![1i16; 40];
        let mut b = vec![1i16; 40];
        a[0] = NULL;
        b[1] = NULL;
        b[2] = 2;
        assert_eq!(compare(&a, &b, 39), Some((37, 38)));
        // 3 of 38 differ: below 95%.
        b[3] = 2;
        b[4] = 2;
        assert_eq!(compare(&a, &b, 39), None);
        // Fewer than 30 items both answered.
        assert_eq!(compare(&a[..30], &b[..30], 29), None);
    }

    #[test]
    fn bands_propose_rows_equal_on_a_band() {
        let rows: Vec<Vec<i16>> = vec![vec![1; 32], vec![2; 32], {
            let mut v = vec![1; 32];
            v[0] = 5;
            v
        }];
        let c = band_candidates(3, 32, &|k| rows[k].as_slice());
        assert_eq!(c, vec![(0, 2)]);
    }
}
