//! Dedup rules 1-6 as pure functions: table-driven cases per rule and for their interplay, a
//! property test over random years, and (ignored, release build) the 340,000-respondent
//! synthetic corpus with planted duplicates of every kind.

use burgerpeiling::assemble::assemble;
use burgerpeiling::codebook::Questionnaire;
use burgerpeiling::dedup::{
    self, DedupOptions, DeliveryDecision, DeliveryFacts, NearDuplicates, RedeliveryMode, RowRef, RowRule,
    decide_deliveries, dedup_year,
};
use burgerpeiling::finding;
use burgerpeiling::harmonise::Batch;
use burgerpeiling::municipality::Municipality;
use proptest::prelude::*;

/// Questionnaire columns of the test batches: 0 = `ch01`, 1 = `ch02`, the rest items.
const COLUMNS: usize = 42;

fn opts(near: NearDuplicates) -> DedupOptions {
    DedupOptions { near, sex_column: Some(0), age_column: Some(1) }
}

/// A full answer vector that differs from other seeds' on most items.
fn person(seed: u64) -> Vec<Option<i16>> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % m) as i16 + 1
    };
    let mut v: Vec<Option<i16>> = (0..COLUMNS).map(|_| Some(next(5))).collect();
    v[0] = Some(1 + (seed % 2) as i16);
    v[1] = Some(3);
    v
}

fn change(mut v: Vec<Option<i16>>, items: &[usize]) -> Vec<Option<i16>> {
    for &i in items {
        v[i] = v[i].map(|c| if c == 5 { 1 } else { c + 1 });
    }
    v
}

fn blank(mut v: Vec<Option<i16>>, items: &[usize]) -> Vec<Option<i16>> {
    for &i in items {
        v[i] = None;
    }
    v
}

#[derive(Clone, Debug)]
struct R {
    gm: &'static str,
    nr: Option<&'static str>,
    mode: i16,
    kw: i16,
    wijk: Option<&'static str>,
    a: Vec<Option<i16>>,
}

fn r(nr: &'static str, mode: i16, a: Vec<Option<i16>>) -> R {
    R { gm: "GM0363", nr: Some(nr), mode, kw: 2, wijk: Some("WK036301"), a }
}

fn batch(id: &str, rows: &[R]) -> Batch {
    let mut codes: Vec<&str> = rows.iter().map(|r| r.gm).collect();
    codes.sort();
    codes.dedup();
    let n = rows.len();
    Batch {
        delivery_id: id.to_string(),
        vragenlijst: Questionnaire::V2022,
        municipalities: codes.iter().map(|c| Municipality { code: c.to_string(), name: c.to_string() }).collect(),
        gemeente: rows.iter().map(|r| codes.iter().position(|c| *c == r.gm).unwrap_or(0)).collect(),
        year: 2023,
        source_row: (1..=n as i32).collect(),
        respondent: rows.iter().map(|r| r.nr.map(String::from)).collect(),
        gemnr: vec![None; n],
        jr: vec![Some(2023); n],
        kw: rows.iter().map(|r| Some(r.kw)).collect(),
        veldwerkmodus: rows.iter().map(|r| Some(r.mode)).collect(),
        org: vec![Some(7); n],
        wijknr: rows.iter().map(|r| r.wijk.map(String::from)).collect(),
        weging: vec![None; n],
        answers: (0..COLUMNS).map(|c| rows.iter().map(|r| r.a[c]).collect()).collect(),
        complete: vec![true; n],
    }
}

fn at(batch: usize, row: usize) -> RowRef {
    RowRef { batch, row }
}

type Dropped = Vec<((usize, usize), RowRule, (usize, usize))>;

struct Case {
    name: &'static str,
    batches: Vec<Vec<R>>,
    near: NearDuplicates,
    dropped: Dropped,
    conflicting: Vec<Vec<(usize, usize)>>,
    near_pairs: Vec<((usize, usize), (usize, usize))>,
}

fn case(name: &'static str, batches: Vec<Vec<R>>) -> Case {
    Case { name, batches, near: NearDuplicates::Report, dropped: vec![], conflicting: vec![], near_pairs: vec![] }
}

impl Case {
    fn drops(mut self, d: Dropped) -> Case {
        self.dropped = d;
        self
    }
    fn conflicts(mut self, c: Vec<Vec<(usize, usize)>>) -> Case {
        self.conflicting = c;
        self
    }
    fn pairs(mut self, p: Vec<((usize, usize), (usize, usize))>) -> Case {
        self.near_pairs = p;
        self
    }
    fn near(mut self, n: NearDuplicates) -> Case {
        self.near = n;
        self
    }
}

#[test]
fn row_rules_table() {
    use RowRule::*;
    let p = person;
    let in_kw = |mut x: R, kw: i16| {
        x.kw = kw;
        x
    };
    let in_gm = |mut x: R, gm: &'static str| {
        x.gm = gm;
        x
    };
    let in_wijk = |mut x: R, w: &'static str| {
        x.wijk = Some(w);
        x
    };
    let unnumbered = |mut x: R| {
        x.nr = None;
        x
    };
    let cases = vec![
        case("3: exact duplicate, first kept", vec![vec![r("1", 1, p(1)), r("1", 1, p(1))]]).drops(vec![(
            (0, 1),
            ExactDuplicate,
            (0, 0),
        )]),
        case(
            "3: across deliveries and quarters of the municipality-year",
            vec![vec![r("1", 1, p(1))], vec![in_kw(r("1", 1, p(1)), 3)]],
        )
        .drops(vec![((1, 0), ExactDuplicate, (0, 0))]),
        case("3: numbers compared as keys pad them", vec![vec![r("123", 1, p(1)), r("000123", 1, p(1))]])
            .drops(vec![((0, 1), ExactDuplicate, (0, 0))]),
        case("3: exact duplicate in both modes is still rule 3", vec![vec![r("1", 2, p(1)), r("1", 1, p(1))]])
            .drops(vec![((0, 1), ExactDuplicate, (0, 0))]),
        case("4: the more complete paper record wins", vec![vec![r("5", 1, blank(p(2), &[4, 5])), r("5", 2, p(2))]])
            .drops(vec![((0, 0), CrossMode, (0, 1))]),
        case("4: on a tie the web record wins", vec![vec![r("5", 2, p(2)), r("5", 1, change(p(2), &[7]))]])
            .drops(vec![((0, 0), CrossMode, (0, 1))]),
        case(
            "4: only within a quarter (different keys, nothing to do)",
            vec![vec![in_kw(r("5", 1, p(2)), 1), in_kw(r("5", 2, p(3)), 2)]],
        ),
        case("5: same number, same mode, different answers", vec![vec![r("7", 1, p(1)), r("7", 1, p(2))]])
            .conflicts(vec![vec![(0, 0), (0, 1)]]),
        case(
            "5: two web and one paper record: ambiguous, all kept",
            vec![vec![r("7", 1, p(1)), r("7", 1, p(2)), r("7", 2, p(3))]],
        )
        .conflicts(vec![vec![(0, 0), (0, 1), (0, 2)]]),
        case("5: panel and web are not rule 4", vec![vec![r("8", 3, p(1)), r("8", 1, p(2))]])
            .conflicts(vec![vec![(0, 0), (0, 1)]]),
        case("6: reported, not dropped", vec![vec![r("1", 1, p(1)), r("2", 1, change(p(1), &[9]))]])
            .pairs(vec![((0, 0), (0, 1))]),
        case("6: dropped when the pipeline says so", vec![vec![r("1", 1, p(1)), r("2", 1, change(p(1), &[9]))]])
            .near(NearDuplicates::Drop)
            .pairs(vec![((0, 0), (0, 1))])
            .drops(vec![((0, 1), NearDuplicate, (0, 0))]),
        case(
            "6: a chain drops only what is near a kept row",
            vec![vec![r("1", 1, p(1)), r("2", 1, change(p(1), &[9, 10])), r("3", 1, change(p(1), &[9, 10, 11, 12]))]],
        )
        .near(NearDuplicates::Drop)
        .pairs(vec![((0, 0), (0, 1)), ((0, 1), (0, 2))])
        .drops(vec![((0, 1), NearDuplicate, (0, 0))]),
        case(
            "6: 3 of 40 items differ is below 95%",
            vec![vec![r("1", 1, p(1)), r("2", 1, change(p(1), &[9, 10, 11]))]],
        ),
        case("6: needs the same district", vec![vec![r("1", 1, p(1)), in_wijk(r("2", 1, p(1)), "WK036302")]]),
        case(
            "6: needs 30 items both answered",
            vec![vec![
                r("1", 1, blank(p(1), &(2..15).collect::<Vec<_>>())),
                r("2", 1, blank(p(1), &(15..28).collect::<Vec<_>>())),
            ]],
        ),
        case(
            "6: rows without a number are different people",
            vec![vec![unnumbered(r("", 1, p(1))), unnumbered(r("", 1, p(1)))]],
        )
        .pairs(vec![((0, 0), (0, 1))]),
        case(
            "joint survey: municipalities are separate",
            vec![vec![r("1", 1, p(1)), in_gm(r("1", 1, p(1)), "GM0014")]],
        ),
        case(
            "3 then 4: the exact copy goes, then the paper record",
            vec![vec![r("5", 1, p(4)), r("5", 1, p(4)), r("5", 2, change(p(4), &[3]))]],
        )
        .drops(vec![((0, 1), ExactDuplicate, (0, 0)), ((0, 2), CrossMode, (0, 0))]),
        case(
            "4 then 6: the cross-mode loser is not also a near pair",
            vec![vec![r("5", 1, p(4)), r("5", 2, change(p(4), &[3])), r("6", 1, p(9))]],
        )
        .drops(vec![((0, 1), CrossMode, (0, 0))]),
    ];
    for c in cases {
        let built: Vec<Batch> = c.batches.iter().enumerate().map(|(i, rows)| batch(&format!("d{i}"), rows)).collect();
        let refs: Vec<&Batch> = built.iter().collect();
        let d = dedup_year(&refs, &opts(c.near));
        let dropped: Dropped = d
            .dropped
            .iter()
            .map(|x| ((x.row.batch, x.row.row), x.rule, (x.duplicate_of.batch, x.duplicate_of.row)))
            .collect();
        let mut want = c.dropped.clone();
        want.sort();
        assert_eq!(dropped, want, "{}: dropped", c.name);
        let conflicting: Vec<Vec<(usize, usize)>> =
            d.conflicting_numbers.iter().map(|g| g.iter().map(|r| (r.batch, r.row)).collect()).collect();
        assert_eq!(conflicting, c.conflicting, "{}: conflicting numbers", c.name);
        let pairs: Vec<_> = d.near_pairs.iter().map(|p| ((p.a.batch, p.a.row), (p.b.batch, p.b.row))).collect();
        assert_eq!(pairs, c.near_pairs, "{}: near pairs", c.name);
        let total: usize = built.iter().map(Batch::len).sum();
        assert_eq!(d.kept.len() + d.dropped.len(), total, "{}: every row kept or dropped", c.name);
    }
}

fn facts(id: &str, hash: &str, name: &str, modified: i64) -> DeliveryFacts {
    DeliveryFacts {
        id: id.into(),
        blake3: hash.into(),
        file_name: name.into(),
        modified,
        municipalities: vec!["GM0363".into()],
        year: Some(2023),
        quarter: Some(2),
        org: Some(7),
        rejected: false,
    }
}

#[test]
fn delivery_rules_table() {
    use DeliveryDecision::*;
    let other_quarter = DeliveryFacts { quarter: Some(3), ..facts("b", "hq", "2023/BP-2023-3-Amsterdam.csv", 200) };
    let other_org = DeliveryFacts { org: Some(8), ..facts("b", "hb", "2023/BP-2023-2-Amsterdam.csv", 200) };
    let joint = DeliveryFacts {
        municipalities: vec!["GM0014".into(), "GM0363".into()],
        ..facts("b", "hj", "2023/BP-2023-2-Amsterdam-Groningen.csv", 200)
    };
    let rejected = DeliveryFacts { rejected: true, ..facts("b", "hb", "2023/BP-2023-2-Amsterdam_v2.csv", 200) };
    let unreadable = |name: &str| DeliveryFacts { blake3: String::new(), rejected: true, ..facts("x", "", name, 100) };
    let cases: Vec<(&str, Vec<DeliveryFacts>, RedeliveryMode, Vec<DeliveryDecision>)> = vec![
        (
            "1: same bytes in another folder",
            vec![facts("a", "h", "2023/BP-2023-2-Amsterdam.csv", 100), facts("a", "h", "kopie/x.csv", 50_000)],
            RedeliveryMode::Replace,
            vec![Keep, DuplicateFile { of: 0 }],
        ),
        (
            "1: unreadable files are never copies",
            vec![unreadable("a.csv"), unreadable("b.csv")],
            RedeliveryMode::Replace,
            vec![Keep, Keep],
        ),
        (
            "2: the later modification time wins, whatever the name says",
            vec![facts("a", "ha", "BP-2023-2-Amsterdam_v2.csv", 100), facts("b", "hb", "BP-2023-2-Amsterdam.csv", 200)],
            RedeliveryMode::Replace,
            vec![Superseded { by: 1 }, Keep],
        ),
        (
            "2: same time: the version suffix",
            vec![
                facts("a", "ha", "BP-2023-2-Amsterdam-versie 3.csv", 100),
                facts("b", "hb", "BP-2023-2-Amsterdam (2).csv", 100),
            ],
            RedeliveryMode::Replace,
            vec![Keep, Superseded { by: 0 }],
        ),
        (
            "2: same time and version: the name",
            vec![facts("a", "ha", "2023/b.csv", 100), facts("b", "hb", "2023/a.csv", 100)],
            RedeliveryMode::Replace,
            vec![Keep, Superseded { by: 0 }],
        ),
        (
            "2: a chain is superseded by its last delivery",
            vec![
                facts("c", "hc", "BP_v3.csv", 300),
                facts("a", "ha", "BP.csv", 100),
                facts("b", "hb", "BP_v2.csv", 200),
            ],
            RedeliveryMode::Replace,
            vec![Keep, Superseded { by: 0 }, Superseded { by: 0 }],
        ),
        (
            "2: another quarter, agency or set of municipalities is another survey",
            vec![facts("a", "ha", "a.csv", 100), other_quarter, other_org, joint],
            RedeliveryMode::Replace,
            vec![Keep, Keep, Keep, Keep],
        ),
        (
            "2: a rejected redelivery supersedes nothing",
            vec![facts("a", "ha", "BP-2023-2-Amsterdam.csv", 100), rejected],
            RedeliveryMode::Replace,
            vec![Keep, Keep],
        ),
        (
            "2: append keeps both",
            vec![
                facts("a", "ha", "a.csv", 100),
                facts("b", "hb", "a_v2.csv", 200),
                facts("b", "hb", "copy/a_v2.csv", 300),
            ],
            RedeliveryMode::Append,
            vec![Keep, Keep, DuplicateFile { of: 1 }],
        ),
        (
            "1+2: a copy of a superseded delivery stays a duplicate file",
            vec![
                facts("a", "ha", "2023/BP-2023-2-Amsterdam.csv", 100),
                facts("b", "hb", "2023/BP-2023-2-Amsterdam_v2.csv", 200),
                facts("a", "ha", "kopie/2023/BP-2023-2-Amsterdam.csv", 300),
            ],
            RedeliveryMode::Replace,
            vec![Superseded { by: 1 }, Keep, DuplicateFile { of: 0 }],
        ),
        (
            "1+2: a redelivery with the same bytes is a copy, not a replacement",
            vec![facts("a", "ha", "BP.csv", 100), facts("a", "ha", "BP_v2.csv", 200)],
            RedeliveryMode::Replace,
            vec![Keep, DuplicateFile { of: 0 }],
        ),
    ];
    for (name, input, mode, want) in cases {
        assert_eq!(decide_deliveries(&input, mode), want, "{name}");
        // Order-independent: reversed input, same decisions (indexes mapped back).
        let n = input.len();
        let reversed: Vec<DeliveryFacts> = input.iter().rev().cloned().collect();
        let back = |i: usize| n - 1 - i;
        let mut again: Vec<DeliveryDecision> = decide_deliveries(&reversed, mode)
            .into_iter()
            .map(|d| match d {
                Keep => Keep,
                DuplicateFile { of } => DuplicateFile { of: back(of) },
                Superseded { by } => Superseded { by: back(by) },
            })
            .collect();
        again.reverse();
        assert_eq!(again, want, "{name} (reversed input)");
    }
}

#[test]
fn a_redelivery_with_cross_mode_duplicates() {
    // v1 has a cross-mode pair and is superseded by v2, which has its own; a copy of v1 sits in
    // another folder. Only v2 reaches the row rules.
    let v1 = batch("a", &[r("1", 1, person(1)), r("1", 2, blank(person(1), &[5]))]);
    let v2 = batch("b", &[r("1", 1, person(1)), r("2", 2, person(2)), r("2", 1, blank(person(2), &[5, 6]))]);
    let input = vec![
        facts("a", "ha", "2023/BP-2023-2-Amsterdam.csv", 100),
        facts("b", "hb", "2023/BP-2023-2-Amsterdam_v2.csv", 100),
        facts("a", "ha", "oud/BP-2023-2-Amsterdam.csv", 50),
    ];
    let decisions = decide_deliveries(&input, RedeliveryMode::Replace);
    // The older copy in `oud/` is the first of the identical pair, so it is the one superseded.
    assert_eq!(
        decisions,
        vec![DeliveryDecision::DuplicateFile { of: 2 }, DeliveryDecision::Keep, DeliveryDecision::Superseded { by: 1 }]
    );
    assert_eq!(decisions[0].status(), Some("duplicate_file"));
    assert_eq!(
        decisions[2].reason(&input).as_deref(),
        Some("superseded by the later delivery 2023/BP-2023-2-Amsterdam_v2.csv (b)")
    );
    let kept: Vec<&Batch> = [&v1, &v2]
        .into_iter()
        .zip([&decisions[0], &decisions[1]])
        .filter(|(_, d)| **d == DeliveryDecision::Keep)
        .map(|(b, _)| b)
        .collect();
    let d = dedup_year(&kept, &opts(NearDuplicates::Report));
    assert_eq!(d.dropped.len(), 1);
    assert_eq!(
        (d.dropped[0].row, d.dropped[0].rule, d.dropped[0].duplicate_of),
        (at(0, 2), RowRule::CrossMode, at(0, 1))
    );
    let f = dedup::delivery_findings(&input, &decisions);
    let rules: Vec<&str> = f.iter().map(|f| f.rule).collect();
    assert_eq!(rules, [finding::DEDUP_DUPLICATE_FILE.id, finding::DEDUP_SUPERSEDED.id]);
}

#[test]
fn keys_of_kept_rows_are_suffixed_where_numbers_conflict() {
    let a = batch("a", &[r("7", 1, person(1)), r("7", 1, person(2)), r("8", 1, person(3)), r("8", 1, person(3))]);
    let b = batch("b", &[r("7", 1, person(4)), r("9", 1, person(5))]);
    let refs = vec![&a, &b];
    let d = dedup_year(&refs, &opts(NearDuplicates::Report));
    assert_eq!(d.conflicting_numbers, vec![vec![at(0, 0), at(0, 1), at(1, 0)]]);
    let kept = dedup::kept_batches(&refs, &d);
    assert_eq!(kept.iter().map(Batch::len).collect::<Vec<_>>(), [3, 2]);
    let table = assemble(2023, kept.iter().collect());
    let suffixed: Vec<(usize, i32, &str)> = table
        .rows
        .iter()
        .filter(|r| r.respondent_key.matches('-').count() > 3)
        .map(|r| (r.batch, table.batches[r.batch].source_row[r.row], r.respondent_key.as_str()))
        .collect();
    assert_eq!(suffixed, [(0, 2, "GM0363-2023-Q2-000007-2"), (1, 1, "GM0363-2023-Q2-000007-3")]);
    // Reports: the dropped row, its finding, the totals.
    let rows = dedup::dropped_rows(&refs, &d);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].source_row, rows[0].rule, rows[0].duplicate_of_row), (4, "dedup.exact-duplicate-row", 3));
    let f = dedup::findings(&refs, &d);
    let got: Vec<(&str, &str, Vec<u32>)> = f.iter().map(|f| (f.delivery_id.as_str(), f.rule, f.rows.clone())).collect();
    assert_eq!(
        got,
        [
            ("a", "dedup.exact-duplicate-row", vec![4]),
            ("a", "dedup.respondent-number-conflict", vec![2]),
            ("b", "dedup.respondent-number-conflict", vec![1]),
        ]
    );
    let t = d.totals();
    assert_eq!((t.exact_duplicate, t.conflicting_number_groups, t.conflicting_number_rows), (1, 1, 3));
    assert_eq!(dedup::rows_dropped_per_batch(&refs, &d), [1, 0]);
}

#[test]
fn large_blocks_use_bands_and_still_find_near_duplicates() {
    // 600 rows in one block (same sex, age, no district): compared by bands, not all pairs.
    let mut rows: Vec<R> = (0..600u64)
        .map(|i| {
            let mut a = person(i * 2);
            a[0] = Some(1);
            R { wijk: None, ..r(Box::leak(format!("{}", i + 1).into_boxed_str()), 1, a) }
        })
        .collect();
    let mut twin = rows[17].clone();
    twin.nr = Some("9999");
    twin.a = change(twin.a, &[20]);
    rows.push(twin);
    let b = batch("a", &rows);
    let d = dedup_year(&[&b], &opts(NearDuplicates::Report));
    let pairs: Vec<(RowRef, RowRef)> = d.near_pairs.iter().map(|p| (p.a, p.b)).collect();
    assert_eq!(pairs, [(at(0, 17), at(0, 600))]);
    assert_eq!((d.near_pairs[0].agreeing, d.near_pairs[0].compared), (39, 40));
}

/// Random years built from a few answer templates and numbers, so every rule fires often.
fn arb_year() -> impl Strategy<Value = Vec<Vec<R>>> {
    let row = (0u8..5, 1i16..=3, 1i16..=2, 0usize..2, 0u64..4, proptest::option::of(3usize..COLUMNS), any::<bool>());
    let rows = proptest::collection::vec(row, 0..25);
    proptest::collection::vec(rows, 1..4).prop_map(|batches| {
        batches
            .into_iter()
            .map(|rows| {
                rows.into_iter()
                    .map(|(nr, mode, kw, gm, template, changed, blanked)| {
                        let mut a = person(template);
                        if let Some(c) = changed {
                            a = if blanked { blank(a, &[c]) } else { change(a, &[c]) };
                        }
                        R {
                            gm: ["GM0363", "GM0014"][gm],
                            nr: ["1", "2", "3", "01", ""].get(usize::from(nr)).copied().filter(|s| !s.is_empty()),
                            mode,
                            kw,
                            wijk: Some("WK036301"),
                            a,
                        }
                    })
                    .collect()
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn dedup_is_complete_exact_and_idempotent(year in arb_year(), drop_near in any::<bool>()) {
        let near = if drop_near { NearDuplicates::Drop } else { NearDuplicates::Report };
        let built: Vec<Batch> = year.iter().enumerate().map(|(i, rows)| batch(&format!("d{i}"), rows)).collect();
        let refs: Vec<&Batch> = built.iter().collect();
        let d = dedup_year(&refs, &opts(near));

        // Nothing lost, nothing unexplained: every row is kept or dropped, exactly once.
        let mut seen: Vec<RowRef> = d.kept.iter().copied().chain(d.dropped.iter().map(|x| x.row)).collect();
        seen.sort();
        let all: Vec<RowRef> = built.iter().enumerate().flat_map(|(b, x)| (0..x.len()).map(move |r| at(b, r))).collect();
        prop_assert_eq!(&seen, &all);
        prop_assert!(d.kept.windows(2).all(|w| w[0] < w[1]), "kept in source order");
        for x in &d.dropped {
            prop_assert!(x.duplicate_of != x.row);
        }

        // The kept rows hold no exact duplicates (same municipality, number and answers).
        for (i, p) in d.kept.iter().enumerate() {
            for q in &d.kept[i + 1..] {
                let (bp, bq) = (&built[p.batch], &built[q.batch]);
                let same = bp.municipality(p.row) == bq.municipality(q.row)
                    && bp.respondent[p.row].is_some()
                    && bp.respondent[p.row].as_deref().map(|s| format!("{s:0>6}")) == bq.respondent[q.row].as_deref().map(|s| format!("{s:0>6}"))
                    && (0..COLUMNS).all(|c| bp.answers[c].get(p.row) == bq.answers[c].get(q.row));
                prop_assert!(!same, "kept exact duplicates {:?} {:?}", p, q);
            }
        }

        // Deduplicating the kept rows again changes nothing.
        let kept = dedup::kept_batches(&refs, &d);
        let kept_refs: Vec<&Batch> = kept.iter().collect();
        let again = dedup_year(&kept_refs, &opts(near));
        prop_assert!(again.dropped.is_empty(), "second pass dropped {:?}", again.dropped);
        prop_assert_eq!(again.conflicting_numbers.len(), d.conflicting_numbers.len());
    }
}

mod corpus {
    //! Synthetic corpora with planted duplicates of every kind, written to disk, read and
    //! harmonised as the pipeline does, then deduplicated: exactly what was planted is found.

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;
    use std::time::{Duration, Instant};

    use burgerpeiling::config::{Config, Limits};
    use burgerpeiling::dedup::{
        self, DedupOptions, DeliveryDecision, DeliveryFacts, NearDuplicates, RedeliveryMode, RowRule,
    };
    use burgerpeiling::harmonise::Batch;
    use burgerpeiling::ingest;
    use burgerpeiling::outcome::{DeliveryOutcome, Status};
    use burgerpeiling::pipeline;
    use burgerpeiling::synth::{self, PlantedKind, SynthOptions};
    use rayon::prelude::*;

    fn config() -> Config {
        Config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))).unwrap()
    }

    type Row = (String, u32);

    /// Equal sets, or a message with only the differences (the sets are large).
    fn same<T: Ord + std::fmt::Debug>(found: &BTreeSet<T>, want: &BTreeSet<T>, what: &str) {
        let extra: Vec<&T> = found.difference(want).collect();
        let missed: Vec<&T> = want.difference(found).collect();
        assert!(
            extra.is_empty() && missed.is_empty(),
            "{what}: {} found, {} planted; not planted: {extra:?}; missed: {missed:?}",
            found.len(),
            want.len()
        );
    }

    /// Runs rules 1-6 over the corpus under `out` and compares with what was planted; returns the
    /// number of respondents and the time the dedup stage (rules 1-2 plus 3-6) took.
    fn check(opts: &SynthOptions, rate: f64) -> (usize, Duration) {
        let cfg = config();
        let (_, planted) = synth::synth_with_duplicates(opts, rate, &cfg.codebook, &cfg.municipalities).unwrap();
        for kind in [
            PlantedKind::DuplicateFile,
            PlantedKind::Redelivery,
            PlantedKind::ExactRow,
            PlantedKind::CrossMode,
            PlantedKind::ConflictingNumber,
            PlantedKind::NearDuplicate,
        ] {
            assert!(planted.iter().any(|p| p.kind == kind), "nothing planted of {kind:?}");
        }
        let inbox = ingest::discover(&opts.out.join("inbox"), 1 << 30).unwrap();
        let deliveries = inbox.deliveries;

        // Rule 1 before reading, as the pipeline will: copies are not read.
        let started = Instant::now();
        let bare: Vec<DeliveryFacts> = deliveries
            .iter()
            .map(|d| DeliveryFacts {
                id: d.id.clone(),
                blake3: d.blake3.clone(),
                file_name: d.file_name.clone(),
                modified: d.modified,
                ..DeliveryFacts::default()
            })
            .collect();
        let copies = dedup::duplicate_files(&bare);
        let mut stage = started.elapsed();

        let outcomes: Vec<Option<DeliveryOutcome>> = deliveries
            .par_iter()
            .zip(&copies)
            .map(|(d, c)| c.is_none().then(|| pipeline::process(d.clone(), &cfg, &Limits::default(), &BTreeMap::new())))
            .collect();
        for o in outcomes.iter().flatten() {
            assert_eq!(o.status, Status::Published, "{} rejected: {:?}", o.delivery.file_name, o.reason);
        }

        let started = Instant::now();
        let facts: Vec<DeliveryFacts> = deliveries
            .iter()
            .zip(&outcomes)
            .zip(&bare)
            .map(|((d, o), bare)| match o.as_ref().and_then(|o| o.batch()) {
                Some(b) => DeliveryFacts::from_batch(&d.id, &d.blake3, &d.file_name, d.modified, b),
                None => bare.clone(),
            })
            .collect();
        let decisions = dedup::decide_deliveries(&facts, RedeliveryMode::Replace);
        let mut by_year: BTreeMap<u16, Vec<(&Batch, &str)>> = BTreeMap::new();
        for ((d, o), decision) in deliveries.iter().zip(&outcomes).zip(&decisions) {
            if let (DeliveryDecision::Keep, Some(b)) = (decision, o.as_ref().and_then(|o| o.batch())) {
                by_year.entry(b.year).or_default().push((b, d.file_name.as_str()));
            }
        }
        let dopts = DedupOptions::new(&cfg.codebook, NearDuplicates::Report);
        let mut year_decisions = Vec::new();
        for batches in by_year.values() {
            let refs: Vec<&Batch> = batches.iter().map(|(b, _)| *b).collect();
            year_decisions.push((batches, dedup::dedup_year(&refs, &dopts)));
        }
        stage += started.elapsed();

        // Rules 1-2: exactly the planted copies and redeliveries.
        let found_copies: BTreeSet<(String, String)> = decisions
            .iter()
            .enumerate()
            .filter_map(|(i, d)| match d {
                DeliveryDecision::DuplicateFile { of } => {
                    Some((facts[i].file_name.clone(), facts[*of].file_name.clone()))
                }
                _ => None,
            })
            .collect();
        let found_superseded: BTreeSet<(String, String)> = decisions
            .iter()
            .enumerate()
            .filter_map(|(i, d)| match d {
                DeliveryDecision::Superseded { by } => {
                    Some((facts[by.to_owned()].file_name.clone(), facts[i].file_name.clone()))
                }
                _ => None,
            })
            .collect();
        let want = |k: PlantedKind| -> BTreeSet<(String, String)> {
            planted.iter().filter(|p| p.kind == k).map(|p| (p.file.clone(), p.of_file.clone())).collect()
        };
        same(&found_copies, &want(PlantedKind::DuplicateFile), "duplicate files");
        same(&found_superseded, &want(PlantedKind::Redelivery), "superseded");

        // Rules 3-6: exactly the planted rows.
        let row = |batches: &Vec<(&Batch, &str)>, r: dedup::RowRef| -> Row {
            let (b, name) = batches[r.batch];
            (name.to_string(), u32::try_from(b.source_row[r.row]).unwrap())
        };
        let mut drops: BTreeSet<(PlantedKind, Row, Row)> = BTreeSet::new();
        let mut conflicts: BTreeSet<(PlantedKind, Row, Row)> = BTreeSet::new();
        let mut pairs: BTreeSet<(PlantedKind, Row, Row)> = BTreeSet::new();
        let mut respondents = 0;
        for (batches, d) in &year_decisions {
            respondents += batches.iter().map(|(b, _)| b.len()).sum::<usize>();
            for x in &d.dropped {
                let kind = match x.rule {
                    RowRule::ExactDuplicate => PlantedKind::ExactRow,
                    RowRule::CrossMode => PlantedKind::CrossMode,
                    RowRule::NearDuplicate => PlantedKind::NearDuplicate,
                };
                drops.insert((kind, row(batches, x.row), row(batches, x.duplicate_of)));
            }
            for g in &d.conflicting_numbers {
                assert_eq!(g.len(), 2, "{:?}", g.iter().map(|r| row(batches, *r)).collect::<Vec<_>>());
                conflicts.insert((PlantedKind::ConflictingNumber, row(batches, g[1]), row(batches, g[0])));
            }
            for p in &d.near_pairs {
                pairs.insert((PlantedKind::NearDuplicate, row(batches, p.b), row(batches, p.a)));
            }
        }
        let want_rows = |kinds: &[PlantedKind]| -> BTreeSet<(PlantedKind, Row, Row)> {
            planted
                .iter()
                .filter(|p| kinds.contains(&p.kind))
                .map(|p| (p.kind, (p.file.clone(), p.row.unwrap()), (p.of_file.clone(), p.of_row.unwrap())))
                .collect()
        };
        same(&drops, &want_rows(&[PlantedKind::ExactRow, PlantedKind::CrossMode]), "dropped rows");
        same(&conflicts, &want_rows(&[PlantedKind::ConflictingNumber]), "conflicting numbers");
        same(&pairs, &want_rows(&[PlantedKind::NearDuplicate]), "near-duplicate pairs");
        (respondents, stage)
    }

    #[test]
    fn planted_duplicates_are_found_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let opts = SynthOptions {
            out: dir.path().to_path_buf(),
            municipalities: 8,
            years: (2021, 2023),
            respondents: 150,
            seed: 3,
            ..SynthOptions::default()
        };
        check(&opts, 0.03);
    }

    #[test]
    fn rate_zero_plants_nothing() {
        let cfg = config();
        let opts = SynthOptions { respondents: 30, ..SynthOptions::default() };
        let (with, planted) = synth::generate_with_duplicates(&opts, 0.0, &cfg.codebook, &cfg.municipalities);
        assert!(planted.is_empty());
        assert_eq!(with, synth::generate(&opts, &cfg.codebook, &cfg.municipalities));
    }

    /// The 340,000-respondent corpus at 2% of each kind. Release build:
    /// `cargo test --release --test dedup -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn corpus_340k() {
        let dir = tempfile::tempdir().unwrap();
        let opts = SynthOptions::full_scale(dir.path().to_path_buf());
        let (respondents, stage) = check(&opts, 0.02);
        eprintln!("dedup stage: {respondents} respondents in {:.3} s", stage.as_secs_f64());
    }
}
