//! The ledger: what the product remembers between runs, in one SQLite file
//! (`<state>/ledger.sqlite`).
//!
//! It records every delivery file ever seen (with the size, modification time and hash that
//! let a later run skip re-hashing an unchanged file), every run (start, end, outcome, years
//! rebuilt) and, per survey year, what the published partition was built from, so a run can
//! tell which years must be rebuilt. The schema is versioned with `PRAGMA user_version` and
//! migrated forward on open; a database newer than this code is refused, never touched.
//!
//! What it must NOT do: read a clock (callers pass every timestamp, so tests and reruns are
//! deterministic), decide anything about the pipeline (which years to rebuild is the caller's
//! comparison of build keys), or hold data rows. It is not the source of truth for what is
//! published: the lake and its `_manifest.json` are. If the process dies between publishing a
//! year and recording it here, the ledger lags behind and the next run merely rebuilds that
//! year again, which is harmless because rebuilds are byte-identical.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::lake::{DeliveryRecord, UnixSeconds};
use crate::outcome::Status;

/// The ledger's file name inside the state directory.
pub const FILE_NAME: &str = "ledger.sqlite";

/// Schema migrations, in order: `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
///
/// A released migration is never edited, only followed by a new one: databases in the field
/// have already run it, and `tests/ledger.rs` pins the released text. Each runs in one
/// transaction together with the `user_version` bump, so a process killed mid-migration
/// leaves the previous version intact.
pub const MIGRATIONS: &[&str] = &[
    // 1: deliveries and runs.
    "CREATE TABLE deliveries (
        delivery_id TEXT NOT NULL,
        file_name TEXT NOT NULL,
        file_bytes INTEGER NOT NULL,
        modified INTEGER NOT NULL,
        file_blake3 TEXT NOT NULL,
        format TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        year INTEGER,
        gemeente_code TEXT,
        kw INTEGER,
        org INTEGER,
        vragenlijst TEXT,
        rows_read INTEGER NOT NULL,
        rows_published INTEGER NOT NULL,
        rows_dropped_duplicate INTEGER NOT NULL,
        findings_error INTEGER NOT NULL,
        findings_warning INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        run_id TEXT NOT NULL,
        PRIMARY KEY (delivery_id, file_name)
    );
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        command TEXT NOT NULL,
        started INTEGER NOT NULL,
        ended INTEGER,
        outcome TEXT NOT NULL,
        years_rebuilt TEXT NOT NULL DEFAULT ''
    );",
    // 2: what each published year partition was built from; an index for the fingerprint
    // look-up that every run does once per inbox file.
    "CREATE TABLE partitions (
        year INTEGER PRIMARY KEY,
        build_key TEXT NOT NULL,
        delivery_ids TEXT NOT NULL,
        file_blake3 TEXT NOT NULL,
        rows INTEGER NOT NULL,
        run_id TEXT NOT NULL
    );
    CREATE INDEX deliveries_by_file ON deliveries (file_name, file_bytes, modified);",
];

/// The schema version this code writes and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Run outcome recorded by [`Ledger::begin_run`] until the run finishes.
pub const RUNNING: &str = "running";
/// Outcome given to a run that was still `running` when a later run began: its process died.
pub const INTERRUPTED: &str = "interrupted";

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "the ledger {path} has schema version {found}, newer than this program knows ({known}); \
         it was written by a newer burgerpeiling: run that version, or point --state elsewhere"
    )]
    TooNew { path: PathBuf, found: u32, known: u32 },
    #[error("cannot create the state directory {path}: {source}")]
    StateDir { path: PathBuf, source: std::io::Error },
    #[error("ledger {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("ledger {path}: {what}")]
    Invalid { path: PathBuf, what: String },
}

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

/// One delivery file as the ledger knows it. One row per (delivery id, file name): a
/// byte-identical copy under another name is a row of its own (status `duplicate_file`), and a
/// file name whose contents changed gets a new row beside the old delivery's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRow {
    pub delivery_id: String,
    /// Path relative to the inbox, `/`-separated.
    pub file_name: String,
    pub file_bytes: u64,
    /// Modification time, seconds since the Unix epoch, as discovery saw it.
    pub modified: i64,
    /// Full BLAKE3 of the file, hex (empty for a file refused unread).
    pub file_blake3: String,
    pub format: String,
    /// Stored as the contract's word (`published`, `superseded`, `rejected`, `duplicate_file`).
    pub status: Status,
    pub reason: Option<String>,
    /// Survey year (`jr`).
    pub year: Option<u16>,
    /// CBS code(s), comma-separated for a joint survey.
    pub gemeente_code: Option<String>,
    pub kw: Option<i16>,
    pub org: Option<i16>,
    pub vragenlijst: Option<String>,
    pub rows_read: u64,
    pub rows_published: u64,
    pub rows_dropped_duplicate: u64,
    pub findings_error: u64,
    pub findings_warning: u64,
    /// When a run first saw this file, seconds since the epoch. Kept from the first record:
    /// [`Ledger::record_delivery`] ignores a later value.
    pub first_seen: i64,
    /// When the run that last recorded this row started; also the "hashed at" time that keeps
    /// [`Ledger::file_fingerprint`] honest (see there).
    pub last_seen: i64,
    /// The run that last recorded this row.
    pub run_id: String,
}

impl From<&DeliveryRow> for DeliveryRecord {
    /// The row of `deliveries.parquet` for this delivery.
    fn from(d: &DeliveryRow) -> DeliveryRecord {
        DeliveryRecord {
            delivery_id: d.delivery_id.clone(),
            file_name: d.file_name.clone(),
            file_bytes: to_i64(d.file_bytes),
            file_blake3: d.file_blake3.clone(),
            first_seen: UnixSeconds(d.first_seen),
            format: d.format.clone(),
            gemeente_code: d.gemeente_code.clone(),
            jr: d.year.and_then(|y| i16::try_from(y).ok()),
            kw: d.kw,
            org: d.org,
            vragenlijst: d.vragenlijst.clone(),
            status: d.status.as_str().to_string(),
            reason: d.reason.clone(),
            rows_read: to_i64(d.rows_read),
            rows_published: to_i64(d.rows_published),
            rows_dropped_duplicate: to_i64(d.rows_dropped_duplicate),
            findings_error: to_i64(d.findings_error),
            findings_warning: to_i64(d.findings_warning),
        }
    }
}

/// One run of a command that changes the lake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRow {
    pub run_id: String,
    /// `run` or `reprocess`.
    pub command: String,
    pub started: i64,
    /// `None` while running, or when the process died.
    pub ended: Option<i64>,
    /// [`RUNNING`], [`INTERRUPTED`], or what the caller passed to [`Ledger::finish_run`]
    /// (e.g. `ok`, `failed`, `nothing-to-do`).
    pub outcome: String,
    pub years_rebuilt: Vec<u16>,
}

/// What one published year partition was built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionRow {
    pub year: u16,
    /// [`build_key`] over the inputs below.
    pub build_key: String,
    /// Sorted delivery ids of the partition.
    pub delivery_ids: Vec<String>,
    /// BLAKE3 of the published Parquet file, as in `_manifest.json`.
    pub file_blake3: String,
    pub rows: u64,
    pub run_id: String,
}

/// The identity of a year partition's inputs: when it equals the recorded one, rebuilding the
/// year would give the same bytes, so the year can be left alone.
///
/// The delivery ids are sorted and de-duplicated first, so the caller's order does not matter.
/// Every field is length-prefixed before hashing, so no two different inputs can run together
/// into the same byte string.
pub fn build_key(delivery_ids: &[&str], config_hash: &str, pipeline_hash: &str, product_version: &str) -> String {
    let mut ids: Vec<&str> = delivery_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut h = blake3::Hasher::new();
    let mut field = |s: &str| {
        h.update(&(s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    field("burgerpeiling.partition.v1");
    field(product_version);
    field(config_hash);
    field(pipeline_hash);
    for id in ids {
        field(id);
    }
    h.finalize().to_hex().to_string()
}

/// An open ledger. One per process; writes happen under the state lock
/// ([`crate::state::StateLock`]), reads (`status`) need no lock.
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
}

impl Ledger {
    /// Opens (creating if needed) `<state_dir>/ledger.sqlite` and migrates it to
    /// [`SCHEMA_VERSION`]. A database with a newer version is refused with
    /// [`LedgerError::TooNew`] and left as it is.
    pub fn open(state_dir: &Path) -> Result<Ledger> {
        std::fs::create_dir_all(state_dir)
            .map_err(|source| LedgerError::StateDir { path: state_dir.to_path_buf(), source })?;
        Ledger::open_file(&state_dir.join(FILE_NAME))
    }

    /// Opens the ledger at an explicit file path (tests; `open` is the normal way).
    pub fn open_file(path: &Path) -> Result<Ledger> {
        let sql = |source| LedgerError::Sqlite { path: path.to_path_buf(), source };
        let conn = Connection::open(path).map_err(sql)?;
        // A second process (`status` while a run writes) waits instead of failing at once.
        conn.busy_timeout(Duration::from_secs(10)).map_err(sql)?;
        // Write-ahead log: `status` can read while a run writes. FULL sync so a committed
        // transaction survives a power cut, not only a killed process.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(sql)?;
        let mut ledger = Ledger { conn, path: path.to_path_buf() };
        ledger.migrate()?;
        Ok(ledger)
    }

    /// The schema version of the open database (after migration: [`SCHEMA_VERSION`]).
    pub fn schema_version(&self) -> Result<u32> {
        let v: i64 = self.conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| self.sql(e))?;
        u32::try_from(v).map_err(|_| self.invalid(format!("schema version {v} is not valid")))
    }

    fn migrate(&mut self) -> Result<()> {
        let found = self.schema_version()?;
        if found > SCHEMA_VERSION {
            return Err(LedgerError::TooNew { path: self.path.clone(), found, known: SCHEMA_VERSION });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let to = i as u32 + 1;
            let tx = self.conn.transaction().map_err(|e| LedgerError::Sqlite { path: self.path.clone(), source: e })?;
            let step = tx
                .execute_batch(sql)
                .and_then(|()| tx.pragma_update(None, "user_version", to))
                .and_then(|()| tx.commit());
            step.map_err(|source| LedgerError::Invalid {
                path: self.path.clone(),
                what: format!("migration to schema version {to} failed: {source}"),
            })?;
            tracing::info!(ledger = %self.path.display(), version = to, "ledger schema migrated");
        }
        Ok(())
    }

    /// The BLAKE3 recorded for `file_name` when its size and modification time are what they
    /// were then, so an unchanged file need not be read and hashed again.
    ///
    /// Trusted only when the file's modification time is strictly earlier than the
    /// `last_seen` of the row (the start of the run that hashed it): a file modified in the
    /// same second it was hashed could have changed after the hash without its size or
    /// (whole-second) time changing, so such a "racy" entry gives `None` and the file is
    /// hashed again.
    pub fn file_fingerprint(&self, file_name: &str, size: u64, modified: i64) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT file_blake3 FROM deliveries
                 WHERE file_name = ?1 AND file_bytes = ?2 AND modified = ?3
                   AND modified < last_seen AND file_blake3 <> ''
                 ORDER BY last_seen DESC LIMIT 1",
                params![file_name, to_i64(size), modified],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Inserts or updates one delivery; `first_seen` stays what it was the first time.
    pub fn record_delivery(&mut self, row: &DeliveryRow) -> Result<()> {
        self.record_deliveries(std::slice::from_ref(row))
    }

    /// [`record_delivery`](Self::record_delivery) for many rows, in one transaction: all or
    /// none are recorded.
    pub fn record_deliveries(&mut self, rows: &[DeliveryRow]) -> Result<()> {
        let path = self.path.clone();
        let sql = |source| LedgerError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(sql)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO deliveries (delivery_id, file_name, file_bytes, modified, file_blake3,
                        format, status, reason, year, gemeente_code, kw, org, vragenlijst, rows_read,
                        rows_published, rows_dropped_duplicate, findings_error, findings_warning,
                        first_seen, last_seen, run_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                        ?17, ?18, ?19, ?20, ?21)
                     ON CONFLICT (delivery_id, file_name) DO UPDATE SET
                        file_bytes = excluded.file_bytes, modified = excluded.modified,
                        file_blake3 = excluded.file_blake3, format = excluded.format,
                        status = excluded.status, reason = excluded.reason, year = excluded.year,
                        gemeente_code = excluded.gemeente_code, kw = excluded.kw, org = excluded.org,
                        vragenlijst = excluded.vragenlijst, rows_read = excluded.rows_read,
                        rows_published = excluded.rows_published,
                        rows_dropped_duplicate = excluded.rows_dropped_duplicate,
                        findings_error = excluded.findings_error,
                        findings_warning = excluded.findings_warning,
                        last_seen = excluded.last_seen, run_id = excluded.run_id",
                )
                .map_err(sql)?;
            for d in rows {
                stmt.execute(params![
                    d.delivery_id,
                    d.file_name,
                    to_i64(d.file_bytes),
                    d.modified,
                    d.file_blake3,
                    d.format,
                    d.status.as_str(),
                    d.reason,
                    d.year,
                    d.gemeente_code,
                    d.kw,
                    d.org,
                    d.vragenlijst,
                    to_i64(d.rows_read),
                    to_i64(d.rows_published),
                    to_i64(d.rows_dropped_duplicate),
                    to_i64(d.findings_error),
                    to_i64(d.findings_warning),
                    d.first_seen,
                    d.last_seen,
                    d.run_id,
                ])
                .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)
    }

    /// When any file with this delivery id was first seen.
    pub fn first_seen(&self, delivery_id: &str) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT MIN(first_seen) FROM deliveries WHERE delivery_id = ?1", [delivery_id], |r| r.get(0))
            .map_err(|e| self.sql(e))
    }

    /// Every delivery row ever recorded, by file name, then delivery id.
    pub fn known_deliveries(&self) -> Result<Vec<DeliveryRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT delivery_id, file_name, file_bytes, modified, file_blake3, format, status,
                    reason, year, gemeente_code, kw, org, vragenlijst, rows_read, rows_published,
                    rows_dropped_duplicate, findings_error, findings_warning, first_seen,
                    last_seen, run_id
                 FROM deliveries ORDER BY file_name, delivery_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt.query_map([], delivery_row).map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// How many delivery rows have each status.
    pub fn deliveries_by_status(&self) -> Result<BTreeMap<String, u64>> {
        let mut stmt =
            self.conn.prepare("SELECT status, COUNT(*) FROM deliveries GROUP BY status").map_err(|e| self.sql(e))?;
        let rows =
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(|e| self.sql(e))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (status, n) = row.map_err(|e| self.sql(e))?;
            out.insert(status, u64::try_from(n).unwrap_or(0));
        }
        Ok(out)
    }

    /// Records that a run started. Must be called under the state lock: any run still marked
    /// `running` then belongs to a process that died, and is marked [`INTERRUPTED`].
    pub fn begin_run(&mut self, run_id: &str, command: &str, started: i64) -> Result<()> {
        let path = self.path.clone();
        let sql = |source| LedgerError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute("UPDATE runs SET outcome = ?1 WHERE outcome = ?2", params![INTERRUPTED, RUNNING]).map_err(sql)?;
        tx.execute(
            "INSERT INTO runs (run_id, command, started, outcome) VALUES (?1, ?2, ?3, ?4)",
            params![run_id, command, started, RUNNING],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// Records how a run ended and which years it rebuilt.
    pub fn finish_run(&mut self, run_id: &str, ended: i64, outcome: &str, years_rebuilt: &[u16]) -> Result<()> {
        let years = years_rebuilt.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        let changed = self
            .conn
            .execute(
                "UPDATE runs SET ended = ?2, outcome = ?3, years_rebuilt = ?4 WHERE run_id = ?1",
                params![run_id, ended, outcome, years],
            )
            .map_err(|e| self.sql(e))?;
        if changed == 0 {
            return Err(self.invalid(format!("finish_run: no run {run_id} was begun")));
        }
        Ok(())
    }

    /// The `n` most recent runs, newest first.
    pub fn last_runs(&self, n: usize) -> Result<Vec<RunRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT run_id, command, started, ended, outcome, years_rebuilt FROM runs
                 ORDER BY started DESC, rowid DESC LIMIT ?1",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([i64::try_from(n).unwrap_or(i64::MAX)], |r| {
                Ok((
                    RunRow {
                        run_id: r.get(0)?,
                        command: r.get(1)?,
                        started: r.get(2)?,
                        ended: r.get(3)?,
                        outcome: r.get(4)?,
                        years_rebuilt: Vec::new(),
                    },
                    r.get::<_, String>(5)?,
                ))
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (mut run, years) = row.map_err(|e| self.sql(e))?;
            run.years_rebuilt = split_list(&years)
                .map(|y| y.parse().map_err(|_| self.invalid(format!("run {}: bad year {y:?}", run.run_id))))
                .collect::<Result<_>>()?;
            out.push(run);
        }
        Ok(out)
    }

    /// What the published partition of `year` was built from, if the ledger knows.
    pub fn partition(&self, year: u16) -> Result<Option<PartitionRow>> {
        let row = self
            .conn
            .query_row(
                "SELECT year, build_key, delivery_ids, file_blake3, rows, run_id FROM partitions WHERE year = ?1",
                [year],
                partition_row,
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        row.map(|r| self.check_partition(r)).transpose()
    }

    /// Every recorded partition, by year.
    pub fn partitions(&self) -> Result<Vec<PartitionRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT year, build_key, delivery_ids, file_blake3, rows, run_id FROM partitions ORDER BY year")
            .map_err(|e| self.sql(e))?;
        let rows = stmt.query_map([], partition_row).map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(self.check_partition(r.map_err(|e| self.sql(e))?)?);
        }
        Ok(out)
    }

    /// Records what the just-published partition of `row.year` was built from, replacing the
    /// earlier record. Call after the partition is in place in the lake, never before: a
    /// record of a partition that was not published would make the next run skip that year.
    pub fn set_partition(&mut self, row: &PartitionRow) -> Result<()> {
        let mut ids = row.delivery_ids.clone();
        ids.sort();
        ids.dedup();
        if let Some(bad) = ids.iter().find(|id| id.contains(',') || id.is_empty()) {
            return Err(self.invalid(format!("partition {}: delivery id {bad:?} cannot be stored", row.year)));
        }
        self.conn
            .execute(
                "INSERT OR REPLACE INTO partitions (year, build_key, delivery_ids, file_blake3, rows, run_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![row.year, row.build_key, ids.join(","), row.file_blake3, to_i64(row.rows), row.run_id],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Forgets the partition of `year` (e.g. when the year has no deliveries left).
    pub fn remove_partition(&mut self, year: u16) -> Result<()> {
        self.conn.execute("DELETE FROM partitions WHERE year = ?1", [year]).map_err(|e| self.sql(e))?;
        Ok(())
    }

    fn check_partition(&self, r: RawPartition) -> Result<PartitionRow> {
        let year =
            u16::try_from(r.year).map_err(|_| self.invalid(format!("partition year {} is not valid", r.year)))?;
        Ok(PartitionRow {
            year,
            build_key: r.build_key,
            delivery_ids: split_list(&r.delivery_ids).map(str::to_string).collect(),
            file_blake3: r.file_blake3,
            rows: u64::try_from(r.rows).unwrap_or(0),
            run_id: r.run_id,
        })
    }

    fn sql(&self, source: rusqlite::Error) -> LedgerError {
        LedgerError::Sqlite { path: self.path.clone(), source }
    }

    fn invalid(&self, what: String) -> LedgerError {
        LedgerError::Invalid { path: self.path.clone(), what }
    }
}

struct RawPartition {
    year: i64,
    build_key: String,
    delivery_ids: String,
    file_blake3: String,
    rows: i64,
    run_id: String,
}

fn partition_row(r: &Row) -> rusqlite::Result<RawPartition> {
    Ok(RawPartition {
        year: r.get(0)?,
        build_key: r.get(1)?,
        delivery_ids: r.get(2)?,
        file_blake3: r.get(3)?,
        rows: r.get(4)?,
        run_id: r.get(5)?,
    })
}

fn delivery_row(r: &Row) -> rusqlite::Result<DeliveryRow> {
    // Counts are stored as INTEGER (i64); a negative one could only come from a hand-edited
    // database and reads as 0 rather than failing `status`.
    let count = |i: usize| -> rusqlite::Result<u64> { Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0)) };
    Ok(DeliveryRow {
        delivery_id: r.get(0)?,
        file_name: r.get(1)?,
        file_bytes: count(2)?,
        modified: r.get(3)?,
        file_blake3: r.get(4)?,
        format: r.get(5)?,
        status: status_of(r, 6)?,
        reason: r.get(7)?,
        year: r.get(8)?,
        gemeente_code: r.get(9)?,
        kw: r.get(10)?,
        org: r.get(11)?,
        vragenlijst: r.get(12)?,
        rows_read: count(13)?,
        rows_published: count(14)?,
        rows_dropped_duplicate: count(15)?,
        findings_error: count(16)?,
        findings_warning: count(17)?,
        first_seen: r.get(18)?,
        last_seen: r.get(19)?,
        run_id: r.get(20)?,
    })
}

/// The status stored in column `i`; a word the contract does not know is an error, not a guess.
fn status_of(r: &Row, i: usize) -> rusqlite::Result<Status> {
    let text: String = r.get(i)?;
    Status::parse(&text).ok_or_else(|| {
        let why = format!("unknown delivery status {text:?} in the ledger");
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, why.into())
    })
}

/// Splits a comma-separated list stored in one column; the empty string is the empty list.
fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').filter(|x| !x.is_empty())
}

/// SQLite integers are i64; sizes and counts beyond that cannot occur on real files, and are
/// clamped rather than wrapped to negative.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
