//! What the run decided about one delivery: its status, why, what dedup dropped and every
//! finding. The pipeline's stages produce these records; the reports, the ledger and
//! `deliveries.parquet` read them.
//!
//! What it must NOT do: decide anything. The stages in `pipeline` decide; this module only
//! names the result and turns it into the ledger's and the lake's rows.

use serde::Serialize;

use crate::dedup;
use crate::finding::{Finding, Severity};
use crate::harmonise::{Batch, BatchSummary, Harmonised};
use crate::ingest::Delivery;
use crate::lake::{DeliveryRecord, UnixSeconds};
use crate::state::ledger::DeliveryRow;

/// A delivery's status in the contract's words (`deliveries.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Published,
    Superseded,
    Rejected,
    DuplicateFile,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Published, Status::Superseded, Status::Rejected, Status::DuplicateFile];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Published => "published",
            Status::Superseded => "superseded",
            Status::Rejected => "rejected",
            Status::DuplicateFile => "duplicate_file",
        }
    }

    /// The status a ledger or lake string names.
    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One delivery after the run's stages.
#[derive(Debug)]
pub struct DeliveryOutcome {
    pub delivery: Delivery,
    pub status: Status,
    pub reason: Option<String>,
    pub rows_read: usize,
    /// Rows not published because the dedup rules found them duplicates.
    pub rows_dropped_duplicate: usize,
    /// Each of those rows: its rule and the row it duplicated.
    pub dropped_rows: Vec<dedup::DroppedRow>,
    /// What reading and harmonising gave. Its batch is `None` once the rows are in the
    /// delivery cache: a run holds only summaries and loads a year's rows when it builds it.
    pub harmonised: Option<Harmonised>,
    /// Of the delivery's rows: all of them after reading, then (for a published delivery whose
    /// year was built) the rows dedup kept. `None` when harmonising kept no rows.
    pub summary: Option<BatchSummary>,
    pub findings: Vec<Finding>,
}

impl DeliveryOutcome {
    pub fn batch(&self) -> Option<&Batch> {
        self.harmonised.as_ref().and_then(|h| h.batch.as_ref())
    }

    /// The delivery's row in `deliveries.parquet`.
    pub fn record(&self) -> DeliveryRecord {
        let b = self.summary.as_ref();
        let count = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count() as i64;
        let published = self.status == Status::Published;
        DeliveryRecord {
            delivery_id: self.delivery.id.clone(),
            file_name: self.delivery.file_name.clone(),
            file_bytes: self.delivery.bytes as i64,
            file_blake3: self.delivery.blake3.clone(),
            first_seen: UnixSeconds(self.delivery.modified),
            format: self.delivery.format.as_str().to_string(),
            // Joint surveys list every municipality, comma-separated.
            gemeente_code: b.map(|b| b.municipalities.iter().map(|m| m.code.as_str()).collect::<Vec<_>>().join(",")),
            jr: b.map(|b| b.year as i16),
            kw: b.and_then(|b| b.quarter_first),
            org: b.and_then(|b| b.org_first),
            vragenlijst: self.harmonised.as_ref().and_then(|h| h.vragenlijst).map(|q| q.as_str().to_string()),
            status: self.status.as_str().to_string(),
            reason: self.reason.clone(),
            rows_read: self.rows_read as i64,
            rows_published: if published { b.map_or(0, |b| b.rows as i64) } else { 0 },
            rows_dropped_duplicate: self.rows_dropped_duplicate as i64,
            findings_error: count(Severity::Error),
            findings_warning: count(Severity::Warning),
        }
    }

    /// The ledger's row for the delivery after this run. `first_seen` is the file's
    /// modification time when the ledger first met it: a clock reading would make two runs on
    /// the same inputs write different `deliveries.parquet` bytes.
    pub fn ledger_row(&self, now: i64, run_id: &str) -> DeliveryRow {
        let r = self.record();
        DeliveryRow {
            delivery_id: r.delivery_id,
            file_name: r.file_name,
            file_bytes: self.delivery.bytes,
            modified: self.delivery.modified,
            file_blake3: r.file_blake3,
            format: r.format,
            status: self.status,
            reason: r.reason,
            year: r.jr.map(|y| y as u16),
            gemeente_code: r.gemeente_code,
            kw: r.kw,
            org: r.org,
            vragenlijst: r.vragenlijst,
            rows_read: r.rows_read as u64,
            rows_published: r.rows_published as u64,
            rows_dropped_duplicate: r.rows_dropped_duplicate as u64,
            findings_error: r.findings_error as u64,
            findings_warning: r.findings_warning as u64,
            first_seen: self.delivery.modified,
            last_seen: now,
            run_id: run_id.to_string(),
        }
    }
}
