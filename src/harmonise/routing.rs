//! Routing hygiene: answers that the questionnaire's routing should have skipped are blanked.
//!
//! The protocol asks agencies to remove answers to questions a respondent was routed past
//! (`questionnaire.md` §4); the rules R1, R3 and R4 live in `config/codebook/routing.csv` and are
//! resolved onto columns by the codebook. Pure: works on a batch's answer columns.

use super::Answers;
use crate::codebook::{Questionnaire, RoutingRule};

/// Blanks, per rule, the skipped answers of every row that meets the rule's condition.
/// Returns, per rule that blanked anything, the rule and the row indexes that had answers.
pub fn apply<'r>(
    rules: &'r [RoutingRule],
    q: Questionnaire,
    answers: &mut [Answers],
) -> Vec<(&'r RoutingRule, Vec<usize>)> {
    let mut out = Vec::new();
    for rule in rules {
        let Some((_, condition, codes, skipped)) = rule.per_version.iter().find(|v| v.0 == q) else {
            continue;
        };
        let routed: Vec<usize> = answers[*condition]
            .iter()
            .enumerate()
            .filter(|(_, a)| a.is_some_and(|c| codes.contains(&c)))
            .map(|(r, _)| r)
            .collect();
        let mut rows = Vec::new();
        for r in routed {
            let mut blanked = false;
            for &col in skipped {
                if answers[col].take(r).is_some() {
                    blanked = true;
                }
            }
            if blanked {
                rows.push(r);
            }
        }
        if !rows.is_empty() {
            out.push((rule, rows));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codebook::Codebook;
    use std::path::Path;

    #[test]
    fn routed_out_answers_are_blanked_and_counted() {
        let cb = Codebook::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap();
        let col = |n: &str| cb.column_index(n).unwrap();
        let mut answers = vec![Answers::blank(4); cb.columns.len()];
        // Row 0: dv02 = 2 (no contact) but dv00 and mm01_0 answered → R1 blanks both.
        // Row 1: dv02 = 1: dv00 stays. Row 2: zw06_0 = 3 with zw09 answered → R4.
        // Row 3: zw06_3 = 1 (volunteers) with a reason not to volunteer → R3.
        answers[col("dv02")] = Answers::from(vec![Some(2), Some(1), None, None]);
        answers[col("dv00")] = Answers::from(vec![Some(4), Some(4), None, None]);
        answers[col("mm01_0")] = Answers::from(vec![Some(1), None, None, None]);
        answers[col("zw06_0")] = Answers::from(vec![None, None, Some(3), Some(1)]);
        answers[col("zw09")] = Answers::from(vec![None, None, Some(2), Some(2)]);
        answers[col("zw06_3")] = Answers::from(vec![None, None, None, Some(1)]);
        answers[col("zw08_7")] = Answers::from(vec![None, None, None, Some(1)]);
        let blanked = apply(&cb.routing, Questionnaire::V2022, &mut answers);
        let summary: Vec<(&str, Vec<usize>)> = blanked.iter().map(|(r, rows)| (r.id.as_str(), rows.clone())).collect();
        assert_eq!(summary, [("R1", vec![0]), ("R3", vec![3]), ("R4", vec![2])]);
        assert_eq!(answers[col("dv00")].iter().collect::<Vec<_>>(), [None, Some(4), None, None]);
        assert_eq!(answers[col("mm01_0")].iter().collect::<Vec<_>>(), [None; 4]);
        assert_eq!(answers[col("zw09")].iter().collect::<Vec<_>>(), [None, None, None, Some(2)]);
        assert_eq!(answers[col("zw08_7")].iter().collect::<Vec<_>>(), [None; 4]);
        // The condition itself is never touched.
        assert_eq!(answers[col("dv02")].iter().collect::<Vec<_>>(), [Some(2), Some(1), None, None]);
    }
}
