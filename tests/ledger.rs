//! The state the product keeps between runs: the ledger (SQLite, migrations), the state lock,
//! the cache of harmonised deliveries and the recovery of an interrupted publish.

use std::path::Path;

use burgerpeiling::ledger::{self, DeliveryRow, Ledger, LedgerError, PartitionRow, build_key};
use rusqlite::Connection;

fn delivery(id: &str, file: &str, status: &str, seen: i64) -> DeliveryRow {
    DeliveryRow {
        delivery_id: id.into(),
        file_name: file.into(),
        file_bytes: 1234,
        modified: 1_700_000_000,
        file_blake3: format!("{id}ffff"),
        format: "xlsx".into(),
        status: status.into(),
        reason: None,
        year: Some(2023),
        gemeente_code: Some("GM0363".into()),
        kw: Some(2),
        org: Some(1),
        vragenlijst: Some("2022".into()),
        rows_read: 10,
        rows_published: 9,
        rows_dropped_duplicate: 1,
        findings_error: 0,
        findings_warning: 2,
        first_seen: seen,
        last_seen: seen,
        run_id: format!("run-{seen}"),
    }
}

fn user_version(path: &Path) -> i64 {
    let conn = Connection::open(path).unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap()
}

#[test]
fn a_new_ledger_has_the_latest_schema_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    {
        let mut l = Ledger::open(&state).unwrap();
        assert_eq!(l.schema_version().unwrap(), ledger::SCHEMA_VERSION);
        l.record_delivery(&delivery("aaaa", "a.xlsx", "published", 100)).unwrap();
    }
    let l = Ledger::open(&state).unwrap();
    assert_eq!(l.known_deliveries().unwrap(), vec![delivery("aaaa", "a.xlsx", "published", 100)]);
    assert_eq!(user_version(&state.join(ledger::FILE_NAME)), i64::from(ledger::SCHEMA_VERSION));
}

/// Released migrations are never edited: databases in the field have already run them. If
/// this fails, undo the edit and append a new migration instead.
#[test]
fn released_migrations_are_unchanged() {
    let released = [
        (1, "e006dc8f8c812e6ce46f556d89db92a70aff68081e7d2f567f9919b5c9b4ea84"),
        (2, "762008db4a22fb29c1de8eec518897dae03d3e9b737222b5427f8b2fe043fbc5"),
    ];
    for (version, hash) in released {
        // Without carriage returns, so a checkout with Windows line endings hashes the same.
        let text = ledger::MIGRATIONS[version - 1].replace('\r', "");
        assert_eq!(blake3::hash(text.as_bytes()).to_hex().as_str(), hash, "migration {version} was edited");
    }
}

#[test]
fn a_version_1_ledger_is_migrated_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(ledger::FILE_NAME);
    {
        // What a release with schema version 1 left on disk.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(ledger::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO deliveries VALUES ('aaaa', 'a.xlsx', 1234, 1700000000, 'aaaaffff', 'xlsx',
             'published', NULL, 2023, 'GM0363', 2, 1, '2022', 10, 9, 1, 0, 2, 100, 100, 'run-100')",
            [],
        )
        .unwrap();
        conn.execute("INSERT INTO runs VALUES ('run-100', 'run', 100, 110, 'ok', '2023')", []).unwrap();
    }
    let mut l = Ledger::open_file(&path).unwrap();
    assert_eq!(l.schema_version().unwrap(), ledger::SCHEMA_VERSION);
    assert_eq!(l.known_deliveries().unwrap(), vec![delivery("aaaa", "a.xlsx", "published", 100)]);
    assert_eq!(l.last_runs(5).unwrap()[0].years_rebuilt, vec![2023]);
    // What version 2 added works on the migrated database.
    assert_eq!(l.partition(2023).unwrap(), None);
    let p = PartitionRow {
        year: 2023,
        build_key: "k".into(),
        delivery_ids: vec!["aaaa".into()],
        file_blake3: "f".into(),
        rows: 9,
        run_id: "run-200".into(),
    };
    l.set_partition(&p).unwrap();
    assert_eq!(l.partition(2023).unwrap(), Some(p));
}

#[test]
fn a_ledger_newer_than_the_program_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(ledger::FILE_NAME);
    let newer = i64::from(ledger::SCHEMA_VERSION) + 1;
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE future (x INTEGER);").unwrap();
        conn.pragma_update(None, "user_version", newer).unwrap();
    }
    let err = Ledger::open_file(&path).err().expect("refused");
    assert!(
        matches!(err, LedgerError::TooNew { found, known, .. } if i64::from(found) == newer && known == ledger::SCHEMA_VERSION),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("newer") && message.contains(&newer.to_string()), "{message}");
    assert_eq!(user_version(&path), newer);
}

#[test]
fn deliveries_are_upserted_and_keep_their_first_seen() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(dir.path()).unwrap();
    l.record_deliveries(&[
        delivery("aaaa", "a.xlsx", "published", 100),
        delivery("aaaa", "copy/a.xlsx", "duplicate_file", 100),
        delivery("bbbb", "b.csv", "rejected", 100),
    ])
    .unwrap();
    // A later run sees `a.xlsx` again and changes its status.
    let mut again = delivery("aaaa", "a.xlsx", "superseded", 200);
    again.reason = Some("replaced by cccc".into());
    l.record_delivery(&again).unwrap();

    let rows = l.known_deliveries().unwrap();
    assert_eq!(rows.len(), 3);
    let a = rows.iter().find(|r| r.file_name == "a.xlsx").unwrap();
    assert_eq!((a.status.as_str(), a.first_seen, a.last_seen, a.run_id.as_str()), ("superseded", 100, 200, "run-200"));
    assert_eq!(a.reason.as_deref(), Some("replaced by cccc"));
    assert_eq!(l.first_seen("aaaa").unwrap(), Some(100));
    assert_eq!(l.first_seen("zzzz").unwrap(), None);
    let by_status = l.deliveries_by_status().unwrap();
    assert_eq!(
        by_status.into_iter().collect::<Vec<_>>(),
        [("duplicate_file".to_string(), 1), ("rejected".to_string(), 1), ("superseded".to_string(), 1)]
    );
    // The ledger row becomes the lake's deliveries.parquet row.
    let record = burgerpeiling::lake::DeliveryRecord::from(a);
    assert_eq!((record.jr, record.first_seen, record.rows_published), (Some(2023), 100, 9));
}

#[test]
fn an_unchanged_file_is_not_hashed_again_unless_it_was_racy() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(dir.path()).unwrap();
    let d = delivery("aaaa", "a.xlsx", "published", 1_700_000_100);
    l.record_delivery(&d).unwrap();
    assert_eq!(l.file_fingerprint("a.xlsx", 1234, 1_700_000_000).unwrap().as_deref(), Some("aaaaffff"));
    // Another size, time or name: hash it.
    assert_eq!(l.file_fingerprint("a.xlsx", 1235, 1_700_000_000).unwrap(), None);
    assert_eq!(l.file_fingerprint("a.xlsx", 1234, 1_700_000_001).unwrap(), None);
    assert_eq!(l.file_fingerprint("b.xlsx", 1234, 1_700_000_000).unwrap(), None);
    // Modified in the second the run that hashed it started: it may have changed after the
    // hash without its size or time changing, so it is hashed again.
    let mut racy = delivery("bbbb", "b.xlsx", "published", 1_700_000_000);
    racy.modified = 1_700_000_000;
    l.record_delivery(&racy).unwrap();
    assert_eq!(l.file_fingerprint("b.xlsx", 1234, 1_700_000_000).unwrap(), None);
}

#[test]
fn runs_are_recorded_and_a_dead_run_is_marked_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(dir.path()).unwrap();
    l.begin_run("r1", "run", 100).unwrap();
    l.finish_run("r1", 160, "ok", &[2022, 2023]).unwrap();
    l.begin_run("r2", "run", 200).unwrap();
    // r2's process dies; r3 starts under the lock.
    l.begin_run("r3", "reprocess", 300).unwrap();
    l.finish_run("r3", 330, "ok", &[]).unwrap();

    let runs = l.last_runs(10).unwrap();
    let summary: Vec<_> =
        runs.iter().map(|r| (r.run_id.as_str(), r.command.as_str(), r.ended, r.outcome.as_str(), r.years_rebuilt.clone())).collect();
    assert_eq!(
        summary,
        [
            ("r3", "reprocess", Some(330), "ok", vec![]),
            ("r2", "run", None, ledger::INTERRUPTED, vec![]),
            ("r1", "run", Some(160), "ok", vec![2022, 2023]),
        ]
    );
    assert_eq!(l.last_runs(1).unwrap().len(), 1);
    assert!(l.finish_run("nope", 1, "ok", &[]).is_err());
}

#[test]
fn partitions_are_recorded_per_year() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(dir.path()).unwrap();
    let key = build_key(&["bbbb", "aaaa"], "cfg", "pipe", "0.1.0");
    let p = PartitionRow {
        year: 2023,
        build_key: key.clone(),
        delivery_ids: vec!["bbbb".into(), "aaaa".into()],
        file_blake3: "ffff".into(),
        rows: 950,
        run_id: "r1".into(),
    };
    l.set_partition(&p).unwrap();
    let got = l.partition(2023).unwrap().unwrap();
    assert_eq!(got.delivery_ids, ["aaaa", "bbbb"], "stored sorted");
    assert_eq!((got.build_key.as_str(), got.rows), (key.as_str(), 950));
    assert_eq!(l.partition(2022).unwrap(), None);

    let replaced = PartitionRow { run_id: "r2".into(), delivery_ids: vec!["aaaa".into()], ..p.clone() };
    l.set_partition(&replaced).unwrap();
    assert_eq!(l.partitions().unwrap(), vec![replaced]);
    l.remove_partition(2023).unwrap();
    assert!(l.partitions().unwrap().is_empty());
    let bad = PartitionRow { delivery_ids: vec!["a,b".into()], ..p };
    assert!(l.set_partition(&bad).is_err());
}

#[test]
fn the_build_key_changes_with_every_input_but_not_with_order() {
    let k = build_key(&["aaaa", "bbbb"], "cfg", "pipe", "0.1.0");
    assert_eq!(k, build_key(&["bbbb", "aaaa", "aaaa"], "cfg", "pipe", "0.1.0"));
    let others = [
        build_key(&["aaaa"], "cfg", "pipe", "0.1.0"),
        build_key(&["aaaa", "bbbb", "cccc"], "cfg", "pipe", "0.1.0"),
        build_key(&["aaaa", "bbbb"], "cfg2", "pipe", "0.1.0"),
        build_key(&["aaaa", "bbbb"], "cfg", "pipe2", "0.1.0"),
        build_key(&["aaaa", "bbbb"], "cfg", "pipe", "0.1.1"),
        // Fields that would run together without length prefixes.
        build_key(&["aaaab", "bbb"], "cfg", "pipe", "0.1.0"),
        build_key(&["aaaa", "bbbb"], "cf", "gpipe", "0.1.0"),
    ];
    for o in others {
        assert_ne!(k, o);
    }
}
