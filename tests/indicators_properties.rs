//! Property tests of the indicators module: an indicator of a constant answer is that answer
//! with standard error 0; doubling every weight changes no estimate; a respondent whose items
//! of a score are all missing gets a null score, not 0. The figures stage's column path
//! (`estimate_year`) gives the same bits as the golden-tested row path (`estimate_domains`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Int16Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use burgerpeiling::codebook::Codebook;
use burgerpeiling::indicators::aggregate::design_size;
use burgerpeiling::indicators::definitions::items_needed;
use burgerpeiling::indicators::dont_know::dont_know_codes;
use burgerpeiling::indicators::{
    CLASSES, DEFINITIONS, DesignRow, Items, Kind, ScoringRules, Statistic, YearDesign, estimate_domains, estimate_year,
    score, usable_weights,
};
use proptest::prelude::*;

fn design(rows: &[(Option<f64>, f64, u8)]) -> Vec<DesignRow<u8>> {
    rows.iter().map(|&(y, w, d)| DesignRow { y, w: Some(w), domain: Some(d) }).collect()
}

fn rows_strategy(y: impl Strategy<Value = f64> + Clone) -> impl Strategy<Value = Vec<(Option<f64>, f64, u8)>> {
    prop::collection::vec((prop::option::weighted(0.85, y), 0.05f64..20.0, 0u8..4), 2..200)
}

proptest! {
    #[test]
    fn a_constant_answer_is_its_own_estimate_with_se_zero(
        c in 0.0f64..10.0,
        rows in rows_strategy(Just(0.0)),
        percent in any::<bool>(),
    ) {
        let c = if percent { c.round().min(1.0) } else { c };
        let rows: Vec<_> = rows.into_iter().map(|(y, w, d)| (y.map(|_| c), w, d)).collect();
        let statistic = if percent { Statistic::Percent } else { Statistic::Mean };
        let scale = if percent { 100.0 } else { 1.0 };
        for (_, f) in estimate_domains(&design(&rows), statistic) {
            prop_assert!((f.estimate - scale * c).abs() <= 1e-12 * scale * c.max(1.0));
            prop_assert!(f.se.abs() <= 1e-12 * scale * c.max(1.0), "se {}", f.se);
            prop_assert!((f.ci_high - f.ci_low).abs() <= 1e-10 * scale * c.max(1.0));
        }
    }

    #[test]
    fn a_years_figures_from_columns_are_bit_for_bit_those_of_the_rows(
        rows in prop::collection::vec(
            (
                prop::option::weighted(0.85, 0.0f64..10.0),
                prop::option::weighted(0.9, -1.0f64..20.0),
                prop::option::weighted(0.9, -1.0f64..20.0),
                0u8..=4,
                prop::bool::weighted(0.8),
            ),
            1..300,
        ),
        cuts in prop::collection::btree_set(1usize..300, 0..6),
        percent in any::<bool>(),
        by_class in any::<bool>(),
    ) {
        // Per row: y, weight, weight_national, class (0: none), whether in the indicator's domain.
        let statistic = if percent { Statistic::Percent } else { Statistic::Mean };
        let n = rows.len();
        let y: Vec<Option<f64>> = rows.iter().map(|r| r.0.map(|y| if percent { (y > 5.0) as u8 as f64 } else { y })).collect();
        let (w, w_national): (Vec<Option<f64>>, Vec<Option<f64>>) = rows.iter().map(|r| (r.1, r.2)).unzip();
        let member: Vec<bool> = rows.iter().map(|r| r.4).collect();
        let class: Vec<u8> = rows.iter().map(|r| r.3).collect();
        let bounds: Vec<usize> = std::iter::once(0).chain(cuts.into_iter().filter(|c| *c < n)).chain([n]).collect();
        let municipalities: Vec<(std::ops::Range<usize>, usize)> =
            bounds.windows(2).map(|b| (b[0]..b[1], design_size(&w[b[0]..b[1]]))).collect();
        let (weight, weight_national) = (usable_weights(&w), usable_weights(&w_national));
        let design = YearDesign {
            municipalities: &municipalities,
            weight: &weight,
            weight_national: &weight_national,
            national_size: design_size(&w_national),
            class: &class,
        };
        let y_nan: Vec<f64> = y.iter().map(|y| y.unwrap_or(f64::NAN)).collect();
        let got = estimate_year(&y_nan, &member, &design, by_class, statistic);
        // The row path: one design of the rows, the domain a key per row.
        let by_rows = |range: std::ops::Range<usize>, w: &[Option<f64>], key: &dyn Fn(usize) -> Option<u8>| {
            let design: Vec<DesignRow<u8>> = range.map(|r| DesignRow { y: y[r], w: w[r], domain: key(r) }).collect();
            estimate_domains(&design, statistic)
        };
        let one = |figures: Vec<(u8, burgerpeiling::indicators::Figure)>, k: u8| {
            figures.into_iter().find(|(d, _)| *d == k).map(|(_, f)| f)
        };
        for ((range, _), figure) in municipalities.iter().zip(&got.municipal) {
            let want = one(by_rows(range.clone(), &w, &|r| member[r].then_some(1)), 1);
            prop_assert_eq!(format!("{figure:?}"), format!("{want:?}"), "municipality {:?}", range);
        }
        let want = one(by_rows(0..n, &w_national, &|r| member[r].then_some(1)), 1);
        prop_assert_eq!(format!("{:?}", got.national), format!("{want:?}"), "national");
        for k in 1..=CLASSES as u8 {
            let want = one(by_rows(0..n, &w_national, &|r| (member[r] && class[r] == k).then_some(k)), k)
                .filter(|_| by_class);
            prop_assert_eq!(format!("{:?}", got.classes[usize::from(k) - 1]), format!("{want:?}"), "class {}", k);
        }
    }

    #[test]
    fn doubling_every_weight_changes_no_estimate(rows in rows_strategy(0.0f64..10.0), percent in any::<bool>()) {
        let rows: Vec<_> = if percent {
            rows.into_iter().map(|(y, w, d)| (y.map(|y| if y > 5.0 { 1.0 } else { 0.0 }), w, d)).collect()
        } else {
            rows
        };
        let statistic = if percent { Statistic::Percent } else { Statistic::Mean };
        let once = estimate_domains(&design(&rows), statistic);
        let doubled: Vec<_> = rows.iter().map(|&(y, w, d)| (y, 2.0 * w, d)).collect();
        let twice = estimate_domains(&design(&doubled), statistic);
        prop_assert_eq!(once.len(), twice.len());
        for ((k1, a), (k2, b)) in once.iter().zip(&twice) {
            prop_assert_eq!(k1, k2);
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-10 * x.abs().max(1.0);
            prop_assert!(close(a.estimate, b.estimate));
            prop_assert!(close(a.se, b.se));
            prop_assert!(close(a.ci_low, b.ci_low) && close(a.ci_high, b.ci_high));
            prop_assert_eq!(a.n, b.n);
            prop_assert!(close(2.0 * a.n_weighted, b.n_weighted));
            prop_assert_eq!(a.ci_low_logit.is_some(), b.ci_low_logit.is_some());
        }
    }
}

struct Lake {
    rules: ScoringRules,
    /// Every 2022 questionnaire column with its valid codes (dk codes included: they are in the
    /// lake as codes).
    items: Vec<(String, Vec<i16>)>,
    dont_know: BTreeMap<String, Vec<i16>>,
}

fn lake() -> Lake {
    let cb = Codebook::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap();
    let items: Vec<(String, Vec<i16>)> = cb
        .columns
        .iter()
        .filter(|c| !c.name.ends_with("_2019") && !c.value_labels.is_empty())
        .filter_map(|c| {
            cb.variable_2022(&c.name).map(|v| (c.name.clone(), v.value_labels.iter().map(|(k, _)| *k).collect()))
        })
        .collect();
    let dont_know = cb.columns.iter().map(|c| (c.name.clone(), dont_know_codes(&c.value_labels))).collect();
    Lake { rules: ScoringRules::from_codebook(&cb), items, dont_know }
}

/// Checkbox items VNG's `recode.R` fills with 0: a score built on them has an answer even
/// when nothing was ticked (`par_ss` and what is built on it), so the property excludes them.
fn is_zero_filled_checkbox(item: &str) -> bool {
    item.starts_with("zw05_") || (item.starts_with("zw13_") && item != "zw13_9" && item != "zw13_10")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn a_score_without_valid_items_is_null_not_zero(seed in prop::collection::vec((0u8..4, any::<u16>()), 400)) {
        let lake = lake();
        // Per row and item: 0 = null, 1 = its dk code (if any), 2-3 = a valid code.
        let rows = 8;
        let mut fields = vec![Field::new("respondent_key", DataType::Utf8, false), Field::new("vragenlijst", DataType::Utf8, false)];
        let mut keys = StringBuilder::new();
        let mut versions = StringBuilder::new();
        for r in 0..rows {
            keys.append_value(format!("k{r}"));
            versions.append_value("2022");
        }
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(keys.finish()), Arc::new(versions.finish())];
        let mut missing: BTreeMap<&str, Vec<bool>> = BTreeMap::new();
        for (i, (name, codes)) in lake.items.iter().enumerate() {
            let mut b = Int16Builder::new();
            let dk = &lake.dont_know[name];
            for r in 0..rows {
                // Blank most items of most rows, so that whole scores are often empty.
                let (kind, pick) = seed[(i * rows + r) % seed.len()];
                let kind = if (r + i) % 3 == 0 { kind } else { kind.min(1) };
                let code = match kind {
                    0 => None,
                    1 => dk.first().copied(),
                    _ => Some(codes[pick as usize % codes.len()]),
                };
                missing.entry(name.as_str()).or_default().push(code.is_none_or(|c| dk.contains(&c)));
                b.append_option(code);
            }
            fields.push(Field::new(name.as_str(), DataType::Int16, true));
            arrays.push(Arc::new(b.finish()));
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
        let scores = score(&Items::from_batch(&batch, &lake.rules).unwrap(), &lake.rules).unwrap();
        let mut checked = 0;
        for def in DEFINITIONS.iter().filter(|d| d.kind == Kind::Score) {
            let needed = items_needed(def.name);
            if needed.iter().any(|i| is_zero_filled_checkbox(i)) {
                continue;
            }
            for (r, value) in scores.column(def.name).unwrap().iter().enumerate() {
                if needed.iter().all(|i| missing[i][r]) {
                    prop_assert_eq!(*value, None, "{} row {}", def.name, r);
                    checked += 1;
                }
            }
        }
        prop_assert!(checked > 0);
    }
}
