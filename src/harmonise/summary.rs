//! What the rest of a run needs to know about a harmonised delivery without holding its rows.
//!
//! A run keeps one [`BatchSummary`] per delivery in memory and the rows themselves in the
//! delivery cache, loading a survey year's batches only while that year is built. Dedup rules
//! 1-2 (who supersedes whom), the completeness check, `response.csv` and the delivery reports
//! all work from the summary, so an unchanged year's rows are never read again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Batch;
use crate::municipality::Municipality;

/// Counts and single values of one batch (all rows, or the rows dedup kept).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub year: u16,
    /// As [`Batch::municipalities`], with the rows and complete questionnaires of each.
    pub municipalities: Vec<MunicipalityRows>,
    pub rows: usize,
    pub complete: usize,
    /// The most frequent quarter (`kw`) and agency (`org`), ties to the smallest code.
    pub quarter_mode: Option<i16>,
    pub org_mode: Option<i16>,
    /// The quarter and agency code of the first row that has one.
    pub quarter_first: Option<i16>,
    pub org_first: Option<i16>,
    /// Every quarter delivered, sorted, once each.
    pub quarters: Vec<i16>,
    /// Rows per value of the age question (`ch02`); `None` counts blanks.
    pub age_counts: Vec<(Option<i16>, u64)>,
}

/// One municipality of a batch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MunicipalityRows {
    pub code: String,
    pub name: String,
    pub rows: usize,
    pub complete: usize,
}

impl BatchSummary {
    /// Summarises `batch`; `age_column` is the column of `ch02` in [`Batch::answers`].
    pub fn of(batch: &Batch, age_column: Option<usize>) -> BatchSummary {
        let mut municipalities: Vec<MunicipalityRows> = batch
            .municipalities
            .iter()
            .map(|m| MunicipalityRows { code: m.code.clone(), name: m.name.clone(), rows: 0, complete: 0 })
            .collect();
        for (&m, &complete) in batch.gemeente.iter().zip(&batch.complete) {
            municipalities[m].rows += 1;
            municipalities[m].complete += usize::from(complete);
        }
        let mut quarters: Vec<i16> = batch.kw.iter().flatten().copied().collect();
        quarters.sort_unstable();
        quarters.dedup();
        let mut age: BTreeMap<Option<i16>, u64> = BTreeMap::new();
        if let Some(a) = age_column {
            for v in batch.answers[a].iter() {
                *age.entry(v).or_default() += 1;
            }
        }
        BatchSummary {
            year: batch.year,
            rows: batch.len(),
            complete: batch.complete.iter().filter(|c| **c).count(),
            municipalities,
            quarter_mode: mode_of(&batch.kw),
            org_mode: mode_of(&batch.org),
            quarter_first: batch.kw.iter().flatten().next().copied(),
            org_first: batch.org.iter().flatten().next().copied(),
            quarters,
            age_counts: age.into_iter().collect(),
        }
    }

    /// The municipalities, as [`Batch::municipalities`].
    pub fn municipality_list(&self) -> Vec<Municipality> {
        self.municipalities.iter().map(|m| Municipality { code: m.code.clone(), name: m.name.clone() }).collect()
    }

    /// The codes of the municipalities that have rows, sorted.
    pub fn codes_with_rows(&self) -> Vec<String> {
        let mut codes: Vec<String> =
            self.municipalities.iter().filter(|m| m.rows > 0).map(|m| m.code.clone()).collect();
        codes.sort();
        codes.dedup();
        codes
    }
}

/// The most frequent value; ties go to the smallest.
fn mode_of(values: &[Option<i16>]) -> Option<i16> {
    let mut counts: BTreeMap<i16, usize> = BTreeMap::new();
    for v in values.iter().flatten() {
        *counts.entry(*v).or_default() += 1;
    }
    // max_by_key keeps the last maximum; iterating in reverse makes that the smallest code.
    counts.into_iter().rev().max_by_key(|(_, n)| *n).map(|(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarter_and_agency_are_the_most_frequent_value() {
        assert_eq!(mode_of(&[Some(2), Some(3), Some(3), None]), Some(3));
        assert_eq!(mode_of(&[Some(4), Some(2)]), Some(2));
        assert_eq!(mode_of(&[None]), None);
    }
}
