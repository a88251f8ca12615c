//! Stage 6, settle: what building the years did to each published delivery (rows dedup
//! dropped, dedup and weighting findings, the rows kept) goes onto its outcome, and every
//! delivery of a municipality-year with too few complete questionnaires gets a finding. The
//! outcomes are final after this stage: reports and the ledger read them as they are.
//!
//! What it must NOT do: read files, weigh or deduplicate: it only combines stage records.

use std::collections::BTreeMap;

use super::years::YearDelivery;
use crate::codebook::MIN_COMPLETE;
use crate::finding::{self, Finding};
use crate::outcome::{DeliveryOutcome, Status};

/// Combines the outcomes with what their years did (delivery id → record) and adds the
/// completeness findings.
pub fn settle(mut outcomes: Vec<DeliveryOutcome>, mut years: BTreeMap<String, YearDelivery>) -> Vec<DeliveryOutcome> {
    let mut weighting_findings: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    for o in &mut outcomes {
        let Some(d) = years.remove(&o.delivery.id).filter(|_| o.status == Status::Published) else { continue };
        o.rows_dropped_duplicate = d.rows_dropped_duplicate;
        o.dropped_rows.extend(d.dropped_rows);
        o.findings.extend(d.dedup_findings);
        o.summary = Some(d.kept);
        weighting_findings.insert(o.delivery.id.clone(), d.weighting_findings);
    }
    let completeness = completeness_findings(&outcomes);
    for (i, f) in completeness {
        outcomes[i].findings.push(f);
    }
    // Weighting findings come after the completeness findings, as they always have.
    for o in &mut outcomes {
        if let Some(fs) = weighting_findings.remove(&o.delivery.id) {
            o.findings.extend(fs);
        }
    }
    outcomes
}

/// A `harmonise.too-few-complete` finding for every delivery of a municipality-year that has
/// fewer than [`MIN_COMPLETE`] complete questionnaires over all its published deliveries.
fn completeness_findings(outcomes: &[DeliveryOutcome]) -> Vec<(usize, Finding)> {
    let mut complete: BTreeMap<(u16, &str), (usize, usize)> = BTreeMap::new();
    for b in outcomes.iter().filter(|o| o.status == Status::Published).filter_map(|o| o.summary.as_ref()) {
        for m in &b.municipalities {
            let entry = complete.entry((b.year, m.code.as_str())).or_default();
            entry.0 += m.complete;
            entry.1 += m.rows;
        }
    }
    let mut extra = Vec::new();
    for (i, o) in outcomes.iter().enumerate().filter(|(_, o)| o.status == Status::Published) {
        let Some(b) = &o.summary else { continue };
        for m in &b.municipalities {
            let (n, total) = complete[&(b.year, m.code.as_str())];
            if n < MIN_COMPLETE {
                let message = format!(
                    "{} {} has {n} complete questionnaires in {} ({total} respondents over all its deliveries); \
                     below {MIN_COMPLETE} its results may not be published",
                    m.code, m.name, b.year
                );
                extra.push((i, Finding::new(finding::TOO_FEW_COMPLETE, &o.delivery.id, message)));
            }
        }
    }
    extra
}
