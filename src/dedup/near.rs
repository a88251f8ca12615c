//! Rule 6: near-duplicates — different respondent numbers, same `ch01`, `ch02` and `wijknr`,
//! and the same code on at least [`MIN_AGREEMENT_PERCENT`]% of the items both answered (at least
//! [`MIN_COMPARED`] such items).
//!
//! The cost is linear in the rows in practice, and the pairs are exactly those an all-pairs
//! comparison within each block finds (a property test keeps the all-pairs comparison as the
//! oracle):
//! 1. rows are blocked on (`ch01`, `ch02`, `wijknr`) — the rule requires equality there, so
//!    blocking loses nothing; a row without `ch01` or `ch02`, or with fewer than
//!    [`MIN_COMPARED`] answers, cannot qualify and is left out;
//! 2. a block of at most [`ALL_PAIRS_MAX`] rows is compared pair by pair;
//! 3. a larger block is compared only where the pigeonhole principle says a pair can qualify
//!    (see [`band_candidates`]): the items most rows answered are dealt into bands, and two rows
//!    are compared when they agree exactly on a whole band, or when their blanks in those items
//!    are so many that no band could be relied on;
//! 4. every comparison stops as soon as the disagreements exceed 5% of the most items the two
//!    rows could have in common, so unrelated rows cost a handful of items.
//!
//! Must NOT drop anything itself: it finds pairs; [`drops`] applies `near_duplicates = "drop"`.
//! Must NOT skip a pair that qualifies: there is no cap; a block whose rows are all alike costs
//! what all-pairs costs, never a missed pair.

use std::collections::{HashMap, HashSet};

use super::{DedupOptions, Drop, RowRule};
use super::{NearPair, RowRef};
use crate::harmonise::Batch;

/// Minimum share of agreeing items among the items both rows answered.
pub const MIN_AGREEMENT_PERCENT: usize = 95;
/// Minimum number of items both rows answered.
pub const MIN_COMPARED: usize = 30;
/// Blocks up to this size are compared pair by pair: below it, setting up the bands costs more
/// than the comparisons they save (measured on the benchmark corpus, see `docs/dedup.md`).
pub const ALL_PAIRS_MAX: usize = 32;
/// Bands beyond the least the pigeonhole principle needs: the room for blanks. Every band a row
/// has a blank in is one band it cannot be found in, so more slack tolerates more blanks, and
/// fewer items per band propose more candidates.
const BAND_SLACK: usize = 12;
/// An item goes into the bands when at most this share (percent) of the block's rows left it
/// blank: routed questions and checkboxes would make nearly every row a blank in its band.
const BAND_ITEM_MAX_BLANK_PERCENT: usize = 10;

const NULL: i16 = crate::harmonise::NO_ANSWER;

/// One block's items, row-major (comparisons read contiguous memory), [`NULL`] for a blank.
struct Block {
    values: Vec<i16>,
    width: usize,
    /// Items each row answered.
    answered: Vec<usize>,
}

impl Block {
    fn len(&self) -> usize {
        self.answered.len()
    }

    fn row(&self, k: usize) -> &[i16] {
        &self.values[k * self.width..(k + 1) * self.width]
    }
}

/// The near-duplicate pairs among `rows` (one municipality-year's survivors of rules 3-5, in
/// source order, with their normalised numbers).
pub fn pairs(batches: &[&Batch], rows: &[(RowRef, Option<&str>)], opts: &DedupOptions) -> Vec<NearPair> {
    let (Some(sex), Some(age)) = (opts.sex_column, opts.age_column) else { return Vec::new() };
    let value = |r: RowRef, c: usize| -> Option<i16> { batches[r.batch].answers.get(c).and_then(|col| col.get(r.row)) };
    let columns = rows.iter().map(|(r, _)| batches[r.batch].answers.len()).max().unwrap_or(0);
    let items: Vec<usize> = (0..columns).filter(|&c| c != sex && c != age).collect();
    let mut blocks: HashMap<(i16, i16, Option<&str>), Vec<usize>> = HashMap::new();
    for (i, (r, _)) in rows.iter().enumerate() {
        let (Some(s), Some(a)) = (value(*r, sex), value(*r, age)) else { continue };
        let wijk = batches[r.batch].wijknr[r.row].as_deref();
        blocks.entry((s, a, wijk)).or_default().push(i);
    }

    let mut out = Vec::new();
    for in_block in blocks.values().filter(|b| b.len() > 1) {
        let mut block = Block {
            values: Vec::with_capacity(in_block.len() * items.len()),
            width: items.len(),
            answered: Vec::new(),
        };
        // The block's rows that can qualify: a row with fewer answers than the rule's minimum
        // cannot, and leaving it out keeps it out of every band.
        let mut members = Vec::with_capacity(in_block.len());
        for &i in in_block {
            let start = block.values.len();
            // The stored codes as they are: a blank is stored as `NO_ANSWER`, which is `NULL`.
            let (answers, row) = (&batches[rows[i].0.batch].answers, rows[i].0.row);
            block.values.extend(items.iter().map(|&c| answers.get(c).map_or(NULL, |col| col.stored(row))));
            let answered = block.values[start..].iter().filter(|&&v| v != NULL).count();
            if answered < MIN_COMPARED {
                block.values.truncate(start);
            } else {
                block.answered.push(answered);
                members.push(i);
            }
        }
        each_candidate(&block, ALL_PAIRS_MAX, &mut |x, y| {
            let (ix, iy) = (members[x], members[y]);
            if let (Some(a), Some(b)) = (rows[ix].1, rows[iy].1)
                && a == b
            {
                return;
            }
            let bound = block.answered[x].min(block.answered[y]);
            if let Some((agreeing, compared)) = compare(block.row(x), block.row(y), bound) {
                let (a, b) = if rows[ix].0 < rows[iy].0 { (rows[ix].0, rows[iy].0) } else { (rows[iy].0, rows[ix].0) };
                out.push(NearPair { a, b, agreeing, compared });
            }
        });
    }
    out
}

/// Calls `visit(x, y)`, `x < y`, once for every pair of block rows that may qualify: every pair
/// when the block has at most `all_pairs_max` rows, else the pairs [`band_candidates`] proposes.
fn each_candidate(block: &Block, all_pairs_max: usize, visit: &mut impl FnMut(usize, usize)) {
    if block.len() > all_pairs_max && band_candidates(block, visit) {
        return;
    }
    for x in 0..block.len() {
        for y in x + 1..block.len() {
            visit(x, y);
        }
    }
}

/// The items of the bands: those at most [`BAND_ITEM_MAX_BLANK_PERCENT`]% of the rows left
/// blank, in column order.
fn band_items(block: &Block) -> Vec<usize> {
    let mut blanks = vec![0usize; block.width];
    for k in 0..block.len() {
        for (c, &v) in block.row(k).iter().enumerate() {
            blanks[c] += usize::from(v == NULL);
        }
    }
    (0..block.width).filter(|&c| blanks[c] * 100 <= block.len() * BAND_ITEM_MAX_BLANK_PERCENT).collect()
}

/// Proposes the pairs of a block that may qualify, each once, and returns `true`; or returns
/// `false` without proposing anything when the block has too few reliable items for bands.
///
/// Why no qualifying pair is missed: a pair qualifies only with at most `d` disagreements, `d`
/// at most 5% of the items both answered, so `d ≤ D = ⌊most answers in the block / 20⌋`. The
/// band items are dealt into `B > D` bands. A band in which neither row has a blank and the two
/// do not disagree holds exactly the same codes for both: they share that band's bucket. At
/// most `d` bands hold a disagreement and at most `w(x) + w(y)` a blank of one of them (`w`:
/// bands the row has a blank in), so such a band exists whenever `w(x) + w(y) < B − D`; pairs
/// with more blanks than that are compared directly. Which items are band items only decides
/// the cost, never the result: every candidate still goes through [`compare`].
fn band_candidates(block: &Block, visit: &mut impl FnMut(usize, usize)) -> bool {
    let n = block.len();
    let most_answered = block.answered.iter().copied().max().unwrap_or(0);
    let max_disagreements = most_answered * (100 - MIN_AGREEMENT_PERCENT) / 100;
    let items = band_items(block);
    let bands = (max_disagreements + 1 + BAND_SLACK).min(items.len());
    if bands <= max_disagreements {
        return false;
    }
    // Per band: (hash of the band's codes, row) of the rows without a blank in it, sorted, so a
    // bucket is a run of equal hashes in row order; `blank_bands[k]` counts the others.
    let mut buckets: Vec<Vec<(u64, usize)>> = vec![Vec::with_capacity(n); bands];
    let mut position = vec![usize::MAX; n * bands];
    let mut blank_bands = vec![0usize; n];
    for (k, blanks) in blank_bands.iter_mut().enumerate() {
        let row = block.row(k);
        for (b, bucket) in buckets.iter_mut().enumerate() {
            let band = items.iter().skip(b).step_by(bands).map(|&c| row[c]);
            match band_hash(band) {
                Some(h) => bucket.push((h, k)),
                None => *blanks += 1,
            }
        }
    }
    for (b, bucket) in buckets.iter_mut().enumerate() {
        bucket.sort_unstable();
        for (p, &(_, k)) in bucket.iter().enumerate() {
            position[k * bands + b] = p;
        }
    }
    // Rows by their number of blank bands, each list in row order, for the direct comparisons.
    let mut by_blank_bands: Vec<Vec<usize>> = vec![Vec::new(); bands + 1];
    for (k, &w) in blank_bands.iter().enumerate() {
        by_blank_bands[w].push(k);
    }
    let reliable = bands - max_disagreements;
    // `proposed[y] == x`: the pair (x, y) was already proposed.
    let mut proposed = vec![usize::MAX; n];
    for x in 0..n {
        let mut propose = |y: usize| {
            if proposed[y] != x {
                proposed[y] = x;
                visit(x, y);
            }
        };
        for (b, bucket) in buckets.iter().enumerate() {
            let p = position[x * bands + b];
            if p == usize::MAX {
                continue;
            }
            let h = bucket[p].0;
            bucket[p + 1..].iter().take_while(|e| e.0 == h).for_each(|e| propose(e.1));
        }
        let fewest = reliable.saturating_sub(blank_bands[x]);
        for group in &by_blank_bands[fewest..] {
            let after = group.partition_point(|&y| y <= x);
            group[after..].iter().for_each(|&y| propose(y));
        }
    }
    true
}

/// FNV-1a over a band's codes; `None` when one is blank. Equal codes give equal hashes; a
/// collision only proposes a pair that [`compare`] then rejects.
fn band_hash(codes: impl Iterator<Item = i16>) -> Option<u64> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in codes {
        if v == NULL {
            return None;
        }
        h = (h ^ u64::from(v as u16)).wrapping_mul(0x0100_0000_01b3);
    }
    Some(h)
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
    use proptest::prelude::*;

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

    /// The oracle: every pair of the block that qualifies, found by comparing all pairs (the
    /// method before bands).
    fn all_pairs(block: &Block) -> Vec<(usize, usize, usize, usize)> {
        let mut out = Vec::new();
        for x in 0..block.len() {
            for y in x + 1..block.len() {
                let bound = block.answered[x].min(block.answered[y]);
                if let Some((a, c)) = compare(block.row(x), block.row(y), bound) {
                    out.push((x, y, a, c));
                }
            }
        }
        out
    }

    /// The qualifying pairs among the candidates `each_candidate` proposes with bands forced on.
    fn banded_pairs(block: &Block) -> Vec<(usize, usize, usize, usize)> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        each_candidate(block, 0, &mut |x, y| {
            assert!(x < y && seen.insert((x, y)), "pair ({x}, {y}) proposed twice or unordered");
            let bound = block.answered[x].min(block.answered[y]);
            if let Some((a, c)) = compare(block.row(x), block.row(y), bound) {
                out.push((x, y, a, c));
            }
        });
        out.sort_unstable();
        out
    }

    fn block_of(rows: &[Vec<i16>]) -> Block {
        let width = rows.first().map_or(0, Vec::len);
        Block {
            values: rows.concat(),
            width,
            answered: rows.iter().map(|r| r.iter().filter(|&&v| v != NULL).count()).collect(),
        }
    }

    #[test]
    fn bands_find_a_near_copy_with_blanks_on_either_side() {
        // 40 unrelated rows of 60 items and a copy of row 3 that answered 2 items differently
        // and left 10 blank that row 3 answered (one-sided blanks): a band-equality method that
        // counted blanks as codes would not find it.
        let mut rows: Vec<Vec<i16>> =
            (0..40).map(|k: i16| (0..60).map(|c: i16| (k * 7 + c * c * 3 + k * c) % 5 + 1).collect()).collect();
        let mut twin = rows[3].clone();
        twin[5] = 9;
        twin[40] = 9;
        for c in (10..60).step_by(5) {
            twin[c] = NULL;
        }
        rows.push(twin);
        let block = block_of(&rows);
        assert_eq!(banded_pairs(&block), all_pairs(&block));
        assert!(all_pairs(&block).iter().any(|&(x, y, _, _)| (x, y) == (3, 40)), "{:?}", all_pairs(&block));
    }

    /// A block for the property test: a few templates over a small alphabet (so near pairs are
    /// common), each row a template with some codes changed and some blanked, and some columns
    /// blank for most rows, as routed questions and checkboxes are.
    fn arb_block() -> impl Strategy<Value = Vec<Vec<i16>>> {
        let width = 30usize..70;
        width.prop_flat_map(|width| {
            let templates = proptest::collection::vec(proptest::collection::vec(1i16..=3, width), 1..4);
            let mostly_blank = proptest::collection::vec(any::<bool>(), width);
            let edits =
                proptest::collection::vec((0usize..4, proptest::collection::vec((0..width, 0i16..=4), 0..8)), 2..90);
            (templates, mostly_blank, edits).prop_map(|(templates, mostly_blank, edits)| {
                edits
                    .into_iter()
                    .enumerate()
                    .map(|(k, (t, changes))| {
                        let mut row = templates[t % templates.len()].clone();
                        for (c, v) in changes {
                            row[c] = if v == 0 { NULL } else { v };
                        }
                        for (c, &blank) in mostly_blank.iter().enumerate() {
                            if blank && (k + c) % 4 != 0 && c % 3 == 0 {
                                row[c] = NULL;
                            }
                        }
                        row
                    })
                    .collect()
            })
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        #[test]
        fn bands_find_exactly_the_pairs_all_pairs_finds(rows in arb_block()) {
            let block = block_of(&rows);
            proptest::prop_assert_eq!(banded_pairs(&block), all_pairs(&block));
        }
    }
}
