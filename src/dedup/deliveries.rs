//! Rules 1 and 2, per delivery: byte-identical copies and redeliveries.
//!
//! Works on [`DeliveryFacts`] only (hash, name, modification time, and what harmonise found:
//! municipalities, year, quarter, agency), so the lead can apply rule 1 before reading a file and
//! rule 2 after harmonising. Must NOT read files or look at rows: a redelivery replaces its
//! predecessor as a whole, whatever the rows say.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::harmonise::{Batch, BatchSummary};

/// What to do with an earlier delivery of the same municipality, year, quarter and agency
/// (`redelivery` in the pipeline file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RedeliveryMode {
    /// The later delivery replaces the earlier one as a whole (the default).
    #[default]
    Replace,
    /// Both are published (an agency that delivers a survey in parts); the row rules still apply.
    Append,
}

/// What rules 1-2 need to know about one delivery.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryFacts {
    pub id: String,
    /// Full BLAKE3 hash of the file; empty for a file that could not be read (never a copy).
    pub blake3: String,
    /// Relative to the inbox, `/`-separated.
    pub file_name: String,
    /// Modification time, seconds since the Unix epoch.
    pub modified: i64,
    /// Today's CBS codes of the delivery's rows, sorted and unique (several for a joint survey).
    pub municipalities: Vec<String>,
    pub year: Option<u16>,
    pub quarter: Option<i16>,
    pub org: Option<i16>,
    /// Rejected by harmonise: nothing of it is published, so it supersedes nothing (a broken
    /// redelivery must not wipe out the good earlier file) and rule 2 leaves it alone.
    pub rejected: bool,
}

impl DeliveryFacts {
    /// The facts of a harmonised delivery: municipalities of its rows, its year, and its
    /// quarter and agency as the most frequent delivered value (ties: the smallest), since a
    /// delivery is one survey even when a few rows carry a stray `kw` or `org`.
    pub fn from_batch(id: &str, blake3: &str, file_name: &str, modified: i64, batch: &Batch) -> DeliveryFacts {
        DeliveryFacts::from_summary(id, blake3, file_name, modified, &BatchSummary::of(batch, None))
    }

    /// As [`DeliveryFacts::from_batch`], from the batch's summary.
    pub fn from_summary(
        id: &str,
        blake3: &str,
        file_name: &str,
        modified: i64,
        summary: &BatchSummary,
    ) -> DeliveryFacts {
        DeliveryFacts {
            id: id.to_string(),
            blake3: blake3.to_string(),
            file_name: file_name.to_string(),
            modified,
            municipalities: summary.codes_with_rows(),
            year: Some(summary.year),
            quarter: summary.quarter_mode,
            org: summary.org_mode,
            rejected: false,
        }
    }
}

/// The decision of rules 1-2 for one delivery; indexes refer to the slice given to
/// [`decide_deliveries`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryDecision {
    /// Rules 1-2 leave it alone (published, or rejected for its own findings).
    Keep,
    /// Rule 1: same bytes as delivery `of` (the first copy in [`later_order`]).
    DuplicateFile { of: usize },
    /// Rule 2: replaced by delivery `by`, the latest of its municipality, year, quarter and agency
    /// (the one that is published, also when several redeliveries came in between).
    Superseded { by: usize },
}

impl DeliveryDecision {
    /// The `deliveries.status` this decision sets, `None` for [`DeliveryDecision::Keep`].
    pub fn status(&self) -> Option<&'static str> {
        match self {
            DeliveryDecision::Keep => None,
            DeliveryDecision::DuplicateFile { .. } => Some("duplicate_file"),
            DeliveryDecision::Superseded { .. } => Some("superseded"),
        }
    }

    /// The `deliveries.reason` text.
    pub fn reason(&self, facts: &[DeliveryFacts]) -> Option<String> {
        let name = |i: usize| facts.get(i).map(|f| f.file_name.as_str()).unwrap_or("?");
        match *self {
            DeliveryDecision::Keep => None,
            DeliveryDecision::DuplicateFile { of } => Some(format!("same bytes as {}", name(of))),
            DeliveryDecision::Superseded { by } => Some(format!(
                "superseded by the later delivery {} ({})",
                name(by),
                facts.get(by).map(|f| f.id.as_str()).unwrap_or("?")
            )),
        }
    }
}

/// The version a file name declares: `_v2`, `-v3`, ` V4`, `-versie 3`, `_version2`, `(2)` at the
/// end of the name (before the extension); 1 when it declares none.
pub fn version_suffix(file_name: &str) -> u32 {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    let stem = base.rsplit_once('.').map_or(base, |(s, _)| s).trim_end().to_lowercase();
    if let Some(inner) = stem.strip_suffix(')')
        && let Some((_, number)) = inner.rsplit_once('(')
    {
        return number.trim().parse().unwrap_or(1);
    }
    let digits_from = stem.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let Ok(number) = stem[digits_from..].parse::<u32>() else { return 1 };
    let before = stem[..digits_from].trim_end_matches([' ', '_', '-', '.']);
    let is_sep = |c: Option<char>| c.is_none_or(|c| matches!(c, ' ' | '_' | '-' | '.'));
    for word in ["versie", "version"] {
        if let Some(rest) = before.strip_suffix(word)
            && is_sep(rest.chars().next_back())
        {
            return number;
        }
    }
    // A bare `v` only counts glued to the number and after a separator, so `BP-2023-2` or
    // `Deventer2` are not versions.
    if stem[..digits_from].ends_with('v')
        && let Some(rest) = stem[..digits_from].strip_suffix('v')
        && is_sep(rest.chars().next_back())
    {
        return number;
    }
    1
}

/// "Earlier" before "later": modification time, then [`version_suffix`], then the file name,
/// then the id. Total and independent of the order the filesystem lists files in.
pub fn later_order(a: &DeliveryFacts, b: &DeliveryFacts) -> Ordering {
    a.modified
        .cmp(&b.modified)
        .then_with(|| version_suffix(&a.file_name).cmp(&version_suffix(&b.file_name)))
        .then_with(|| a.file_name.cmp(&b.file_name))
        .then_with(|| a.id.cmp(&b.id))
}

fn sorted(facts: &[DeliveryFacts]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..facts.len()).collect();
    order.sort_by(|&a, &b| later_order(&facts[a], &facts[b]));
    order
}

/// Rule 1 alone (the lead needs it before reading files): per delivery, `Some(first)` when an
/// earlier delivery in [`later_order`] has the same bytes. Unreadable files (empty hash) are
/// never copies.
pub fn duplicate_files(facts: &[DeliveryFacts]) -> Vec<Option<usize>> {
    let mut out = vec![None; facts.len()];
    let mut first: HashMap<&str, usize> = HashMap::new();
    for i in sorted(facts) {
        let hash = facts[i].blake3.as_str();
        if hash.is_empty() {
            continue;
        }
        match first.get(hash) {
            Some(&f) => out[i] = Some(f),
            None => {
                first.insert(hash, i);
            }
        }
    }
    out
}

/// Rules 1-2 for every delivery ever seen; the result is aligned with `facts`. The input order
/// does not matter. A set of identical files takes the place of its first copy; a delivery
/// without a known year never supersedes or is superseded (nothing to match it on).
pub fn decide_deliveries(facts: &[DeliveryFacts], mode: RedeliveryMode) -> Vec<DeliveryDecision> {
    let copies = duplicate_files(facts);
    let mut out: Vec<DeliveryDecision> = copies
        .iter()
        .map(|c| match c {
            Some(of) => DeliveryDecision::DuplicateFile { of: *of },
            None => DeliveryDecision::Keep,
        })
        .collect();
    if mode == RedeliveryMode::Append {
        return out;
    }
    type Survey<'a> = (&'a [String], u16, Option<i16>, Option<i16>);
    let mut latest: HashMap<Survey, Vec<usize>> = HashMap::new();
    for i in sorted(facts) {
        let f = &facts[i];
        if copies[i].is_some() || f.rejected || f.municipalities.is_empty() {
            continue;
        }
        let Some(year) = f.year else { continue };
        latest.entry((f.municipalities.as_slice(), year, f.quarter, f.org)).or_default().push(i);
    }
    for chain in latest.values() {
        if let Some((&last, earlier)) = chain.split_last() {
            for &e in earlier {
                out[e] = DeliveryDecision::Superseded { by: last };
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_suffixes() {
        for (name, v) in [
            ("2023/BP-2023-2-Utrecht.csv", 1),
            ("2023/BP-2023-2-Utrecht_v2.csv", 2),
            ("BP-2023-2-Utrecht-V3.xlsx", 3),
            ("BP-2023-2-Utrecht v4.xlsx", 4),
            ("BP-2023-2-Utrecht-versie 3.xlsx", 3),
            ("BP-2023-2-Utrecht_versie3.csv", 3),
            ("BP-2023-2-Utrecht version 5.csv", 5),
            ("BP-2023-2-Utrecht (2).csv", 2),
            ("BP-2023-2-Utrecht(12).csv", 12),
            ("BP-2023-2.csv", 1),
            ("Deventer2.csv", 1),
            ("BP-2023-2-Utrechtv2.csv", 1),
            ("v2/BP-2023-2-Utrecht.csv", 1),
            ("BP-2023-2-Utrecht ().csv", 1),
        ] {
            assert_eq!(version_suffix(name), v, "{name}");
        }
    }
}
