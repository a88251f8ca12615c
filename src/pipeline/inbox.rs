//! Stage 1, the inbox: what is there now, set against what the ledger knows. Deliveries whose
//! file left the inbox stay in the run (published from the cache) unless `--prune`; the inputs
//! key says whether anything changed since the published lake.
//!
//! A dataset inside a zip bundle is a delivery like a file (`bundle.zip!inner.csv`), also when
//! its bundle left the inbox; the keys its bundle is opened with are part of the inputs key.
//!
//! What it must NOT do: read a delivery's contents (discovery hashes, no more) or write the
//! ledger or the lake; the caller records what this stage returns.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;

use super::RunOptions;
use crate::config::{Limits, PRODUCT_VERSION};
use crate::ingest::{self, Delivery};
use crate::outcome::Status;
use crate::state::ledger::{DeliveryRow, Ledger};

/// The run's deliveries as the inbox and the ledger give them.
pub struct Inbox {
    /// Every delivery of the run: those in the inbox, then those that left it (kept unless
    /// `--prune`), in that order.
    pub deliveries: Vec<Delivery>,
    /// Ids of the deliveries whose file left the inbox.
    pub missing: BTreeSet<String>,
    /// Files that are not a delivery format.
    pub ignored: Vec<String>,
    /// Ledger rows of deliveries dropped by `--prune`, for the caller to record.
    pub pruned: Vec<DeliveryRow>,
    /// A hash over everything the run's output depends on: equal to the one in
    /// `_manifest.json` means there is nothing to do.
    pub inputs_key: String,
}

/// What besides the deliveries the inputs key covers.
pub struct InputHashes<'a> {
    pub config: &'a str,
    /// Pipeline file and population tables.
    pub inputs: &'a str,
}

/// Discovers the inbox and sets it against the ledger.
pub fn reconcile(opts: &RunOptions, ledger: &Ledger, hashes: &InputHashes, run_id: &str, now: i64) -> Result<Inbox> {
    let fingerprint = |name: &str, size: u64, mtime: i64| ledger.file_fingerprint(name, size, mtime).ok().flatten();
    let discovery = ingest::discover::DiscoverOptions { limits: opts.limits, passwords: &opts.passwords };
    let found = ingest::discover::discover_inbox(&opts.inbox, &discovery, &fingerprint)?;
    let present: BTreeSet<String> = found.deliveries.iter().map(|d| d.id.clone()).collect();
    let mut missing = Vec::new();
    let mut pruned = Vec::new();
    for row in ledger.known_deliveries()? {
        if present.contains(&row.delivery_id) || matches!(row.status, Status::Rejected | Status::DuplicateFile) {
            continue;
        }
        let Some(format) = ingest::Format::from_extension(&row.format) else { continue };
        if opts.prune {
            let mut gone = row.clone();
            gone.status = Status::Rejected;
            gone.reason = Some("the file left the inbox; dropped by run --prune".into());
            gone.rows_published = 0;
            gone.last_seen = now;
            gone.run_id = run_id.to_string();
            pruned.push(gone);
            continue;
        }
        // A dataset of a bundle is known as `bundle.zip!inner.csv`; its path is the bundle's.
        let (file, entry) = ingest::discover::split_member(&row.file_name);
        let bundle = entry.map(|entry| ingest::discover::BundleMember {
            entry: entry.to_string(),
            keys: opts.passwords.candidates(file),
            password_file: opts.passwords.source.clone(),
            attachments: Vec::new(),
            skipped: Vec::new(),
        });
        missing.push(Delivery {
            id: row.delivery_id.clone(),
            blake3: row.file_blake3.clone(),
            path: opts.inbox.join(file),
            hints: ingest::discover::parse_name(&row.file_name),
            file_name: row.file_name.clone(),
            format,
            bytes: row.file_bytes,
            modified: row.modified,
            refused: None,
            bundle,
        });
    }
    let inputs_key = {
        let all: Vec<(&Delivery, bool)> =
            found.deliveries.iter().map(|d| (d, false)).chain(missing.iter().map(|d| (d, true))).collect();
        inputs_key(&all, hashes)
    };
    let missing_ids = missing.iter().map(|d| d.id.clone()).collect();
    let mut deliveries = found.deliveries;
    deliveries.extend(missing);
    Ok(Inbox { deliveries, missing: missing_ids, ignored: found.ignored, pruned, inputs_key })
}

/// A hash over everything a run's output depends on: the deliveries (name, contents,
/// modification time — dedup's "later" reads it — and whether the file left the inbox),
/// config, pipeline file, population tables and product version.
fn inputs_key(deliveries: &[(&Delivery, bool)], hashes: &InputHashes) -> String {
    let mut lines: Vec<String> = deliveries
        .iter()
        .map(|(d, gone)| {
            let keys = d.bundle.as_ref().map(|m| keys_digest(&m.keys)).unwrap_or_default();
            format!("{}\t{}\t{}\t{}\t{gone}\t{keys}", d.file_name, d.blake3, d.modified, d.refused.is_some())
        })
        .collect();
    lines.sort();
    let text = format!("{PRODUCT_VERSION}\n{}\n{}\n{}", hashes.config, hashes.inputs, lines.join("\n"));
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

/// A digest of a bundle member's keys, so that adding or correcting a password changes the
/// inputs key and the next run retries a dataset its key could not open (its rows were never
/// cached). One-way and mixed into the inputs key: the manifest holds no password.
fn keys_digest(keys: &[crate::ingest::passwords::Password]) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"burgerpeiling bundle keys\0");
    for key in keys {
        hasher.update(key.bytes());
        hasher.update(b"\0");
    }
    hasher.finalize().to_hex()[..16].to_string()
}

/// The inputs key recorded in the lake's `_manifest.json`, if any.
pub fn published_inputs_key(lake: &Path) -> Option<String> {
    let text = std::fs::read_to_string(lake.join("_manifest.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["inputs"].as_str().map(str::to_string)
}

/// The survey year the ledger knows for each delivery id (for `reprocess --year`).
pub fn known_years(ledger: &Ledger) -> Result<BTreeMap<String, Option<u16>>> {
    Ok(ledger.known_deliveries()?.into_iter().map(|r| (r.delivery_id, r.year)).collect())
}

/// What the next run would find, for `status`: files the ledger does not know yet, and how
/// many published deliveries' files left the inbox.
pub struct Preview {
    /// File names of new or changed files.
    pub new: Vec<String>,
    pub gone: usize,
}

/// Discovers the inbox and compares it with the ledger, without reading or recording anything.
pub fn preview(inbox: &Path, limits: &Limits, ledger: &Ledger) -> Result<Preview> {
    let fingerprint = |name: &str, size: u64, mtime: i64| ledger.file_fingerprint(name, size, mtime).ok().flatten();
    let found = ingest::discover::discover_with(inbox, limits.max_file_bytes, &fingerprint)?;
    let rows = ledger.known_deliveries()?;
    let known: BTreeSet<&str> = rows.iter().map(|d| d.delivery_id.as_str()).collect();
    let present: BTreeSet<&str> = found.deliveries.iter().map(|d| d.id.as_str()).collect();
    // Rejected and copied files publish nothing, so their absence changes nothing.
    let gone = rows
        .iter()
        .filter(|d| !matches!(d.status, Status::Rejected | Status::DuplicateFile))
        .map(|d| d.delivery_id.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|id| !present.contains(id))
        .count();
    let new = found.deliveries.iter().filter(|d| !known.contains(d.id.as_str())).map(|d| d.file_name.clone()).collect();
    Ok(Preview { new, gone })
}
