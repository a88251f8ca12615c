//! Stage 3, between deliveries: dedup rule 1 (a byte-identical copy of an earlier file is not
//! read, it becomes `duplicate_file`) before reading, and rule 2 (a later delivery of the same
//! municipality, year, quarter and agency supersedes the earlier one) after it.
//!
//! What it must NOT do: look at rows (rules 3-6 are the year stage's) or read files.

use crate::config::DedupSettings;
use crate::dedup;
use crate::finding::{self, Finding};
use crate::harmonise::BatchSummary;
use crate::ingest::Delivery;
use crate::outcome::{DeliveryOutcome, Status};

/// Dedup rule 1 before reading: splits the deliveries into those to read and the copies (in the
/// dedup rules' "later" order), which become `duplicate_file` outcomes unread.
pub fn split_copies(deliveries: Vec<Delivery>) -> (Vec<Delivery>, Vec<DeliveryOutcome>) {
    let facts: Vec<dedup::DeliveryFacts> = deliveries.iter().map(|d| facts_of(d, None, false)).collect();
    let copies = dedup::duplicate_files(&facts);
    let mut to_read = Vec::new();
    let mut duplicates = Vec::new();
    for (d, copy) in deliveries.into_iter().zip(copies) {
        match copy {
            Some(of) => {
                let decision = dedup::DeliveryDecision::DuplicateFile { of };
                let reason = decision.reason(&facts);
                let finding = Finding::new(finding::DEDUP_DUPLICATE_FILE, &d.id, reason.clone().unwrap_or_default());
                duplicates.push(DeliveryOutcome {
                    delivery: d,
                    status: Status::DuplicateFile,
                    reason,
                    rows_read: 0,
                    rows_dropped_duplicate: 0,
                    dropped_rows: Vec::new(),
                    harmonised: None,
                    summary: None,
                    findings: vec![finding],
                });
            }
            None => to_read.push(d),
        }
    }
    (to_read, duplicates)
}

/// Dedup rule 2 over the read deliveries: a later delivery of the same municipality, year,
/// quarter and agency supersedes the earlier one as a whole (or both stay, `append`).
pub fn supersede(mut outcomes: Vec<DeliveryOutcome>, settings: &DedupSettings) -> Vec<DeliveryOutcome> {
    let facts: Vec<dedup::DeliveryFacts> = outcomes
        .iter()
        .map(|o| {
            let published = o.status == Status::Published;
            facts_of(&o.delivery, o.summary.as_ref().filter(|_| published), o.status == Status::Rejected)
        })
        .collect();
    let decisions = dedup::decide_deliveries(&facts, settings.mode());
    for (i, decision) in decisions.iter().enumerate() {
        if let dedup::DeliveryDecision::Superseded { .. } = decision
            && outcomes[i].status == Status::Published
        {
            outcomes[i].status = Status::Superseded;
            outcomes[i].reason = decision.reason(&facts);
            outcomes[i].findings.extend(dedup::delivery_findings(&facts[i..=i], std::slice::from_ref(decision)));
        }
    }
    outcomes
}

fn facts_of(d: &Delivery, summary: Option<&BatchSummary>, rejected: bool) -> dedup::DeliveryFacts {
    match summary {
        Some(b) => dedup::DeliveryFacts::from_summary(&d.id, &d.blake3, &d.file_name, d.modified, b),
        None => dedup::DeliveryFacts {
            id: d.id.clone(),
            blake3: d.blake3.clone(),
            file_name: d.file_name.clone(),
            modified: d.modified,
            rejected,
            ..dedup::DeliveryFacts::default()
        },
    }
}
