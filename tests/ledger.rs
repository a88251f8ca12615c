//! The state the product keeps between runs: the ledger (SQLite, migrations), the state lock,
//! the cache of harmonised deliveries and the recovery of an interrupted publish.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use burgerpeiling::codebook::Codebook;
use burgerpeiling::config::{self, Config, Limits};
use burgerpeiling::harmonise::{self, Harmonised};
use burgerpeiling::ingest::discover::NameHints;
use burgerpeiling::ingest::{RawTable, Value};
use burgerpeiling::municipality::Municipalities;
use burgerpeiling::outcome::Status;
use burgerpeiling::pipeline;
use burgerpeiling::state::ledger::{self, DeliveryRow, Ledger, LedgerError, PartitionRow, build_key};
use burgerpeiling::state::{self, LockError, Lookup, StateLock};
use burgerpeiling::{lake, synth};
use rusqlite::Connection;

fn delivery(id: &str, file: &str, status: &str, seen: i64) -> DeliveryRow {
    DeliveryRow {
        delivery_id: id.into(),
        file_name: file.into(),
        file_bytes: 1234,
        modified: 1_700_000_000,
        file_blake3: format!("{id}ffff"),
        format: "xlsx".into(),
        status: Status::parse(status).expect("a contract status"),
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
    assert_eq!((record.jr, record.first_seen.0, record.rows_published), (Some(2023), 100, 9));
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
    let summary: Vec<_> = runs
        .iter()
        .map(|r| (r.run_id.as_str(), r.command.as_str(), r.ended, r.outcome.as_str(), r.years_rebuilt.clone()))
        .collect();
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

// ---------------------------------------------------------------------------------------------
// The state lock.

/// Set in the environment of the child process that holds the lock in
/// `a_lock_held_by_another_process_is_released_when_it_dies`.
const LOCK_CHILD_ENV: &str = "BURGERPEILING_TEST_LOCK_CHILD";
/// What the child prints once it holds the lock.
const LOCK_HELD: &str = "<state lock held>";

#[test]
fn a_second_lock_on_the_same_directory_is_refused_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let first = StateLock::acquire(&state).unwrap();
    assert_eq!(first.dir(), state.as_path());
    // A second handle in the same process conflicts like another process would.
    match StateLock::acquire(&state) {
        Err(LockError::Held { dir, holder }) => {
            assert_eq!(dir, state);
            assert_eq!(holder, Some(format!("pid {}", std::process::id())));
        }
        other => panic!("expected Held, got {other:?}"),
    }
    let message = StateLock::acquire(&state).unwrap_err().to_string();
    assert!(message.contains("another run holds the lock"), "{message}");
    drop(first);
    let again = StateLock::acquire(&state).unwrap();
    drop(again);
    assert!(state.join(state::LOCK_FILE).exists(), "the lock file stays");
}

#[test]
fn a_lock_on_an_unusable_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(StateLock::acquire(&file), Err(LockError::Io { .. })));
}

/// Runs only as the child of the test below: takes the lock, says so, and holds it until it
/// is killed (or its stdin closes).
#[test]
fn lock_holding_child() {
    let Ok(dir) = std::env::var(LOCK_CHILD_ENV) else { return };
    let _lock = StateLock::acquire(Path::new(&dir)).unwrap();
    // libtest may have printed "test lock_holding_child ... " on the same line.
    println!("{LOCK_HELD}");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn a_lock_held_by_another_process_is_released_when_it_dies() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "lock_holding_child", "--nocapture", "--test-threads=1"])
        .env(LOCK_CHILD_ENV, dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the child ended without taking the lock");
        if line.trim_end().ends_with(LOCK_HELD) {
            break;
        }
    }
    match StateLock::acquire(dir.path()) {
        Err(LockError::Held { holder, .. }) => assert_eq!(holder, Some(format!("pid {}", child.id()))),
        other => panic!("expected Held, got {other:?}"),
    }
    // Killed, not asked: the operating system must release the lock without its help.
    child.kill().unwrap();
    child.wait().unwrap();
    StateLock::acquire(dir.path()).expect("released when the holder died");
}

// ---------------------------------------------------------------------------------------------
// The cache of harmonised deliveries.

fn config() -> (Codebook, Municipalities) {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
    (Codebook::load(dir).unwrap(), Municipalities::load(dir).unwrap())
}

fn table(header: &[&str], rows: &[&[&str]]) -> RawTable {
    fn cell(s: &str) -> Value<'_> {
        if s.is_empty() { Value::Empty } else { Value::Text(s) }
    }
    RawTable::from_values(
        Some("Data".into()),
        header.iter().map(|s| s.to_string()).collect(),
        rows.iter().map(|r| r.iter().map(|s| cell(s)).collect()),
        (1..=rows.len() as u32).map(|r| r + 1).collect(),
    )
}

/// A joint 2023 survey of two municipalities with nulls, odd weights, districts, an unknown
/// column, a personal-data column and a routing violation.
fn joint_2023(cb: &Codebook, m: &Municipalities) -> Harmonised {
    let t = table(
        &[
            "respondent",
            "gemnr",
            "jr",
            "kw",
            "veldwerkmodus",
            "org",
            "weging",
            "wijknr",
            "wl01",
            "wl02_2",
            "ch02",
            "ch08",
            "foo",
        ],
        &[
            &["1", "363", "2023", "2", "1", "3", "1,3333333333333333", "WK036301", "8", "6", "3", "1234AB", "x"],
            &["2", "344", "2023", "2", "2", "3", "0,1", "", "99", "", "", "", ""],
            &["", "344", "2023", "", "", "", "", "WK034402", "ja", "2", "6", "", ""],
            &["4", "363", "2023", "2", "1", "3", "1", "", "", "1", "2", "", ""],
        ],
    );
    let hints = NameHints::default();
    let h = harmonise::harmonise(
        &t,
        &harmonise::Context { delivery_id: "joint", hints: &hints, forced_version: None },
        cb,
        m,
    );
    let b = h.batch.as_ref().expect("kept");
    assert_eq!(b.municipalities.len(), 2, "{:?}", h.findings);
    h
}

fn assert_same(a: &Harmonised, b: &Harmonised) {
    assert_eq!(a.batch, b.batch);
    assert_eq!(a.mapping, b.mapping);
    assert_eq!(a.vragenlijst, b.vragenlijst);
    assert_eq!(a.sheet, b.sheet);
    assert_eq!(a.routing_blanked, b.routing_blanked);
    assert_eq!(a.findings, b.findings);
}

#[test]
fn the_cache_key_depends_on_every_input() {
    let k = state::cache_key("aaaa", "cfg", "pipe", "0.1.0");
    assert_eq!(k.len(), 32);
    assert!(k.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(k, state::cache_key("aaaa", "cfg", "pipe", "0.1.0"));
    for other in [
        state::cache_key("aaab", "cfg", "pipe", "0.1.0"),
        state::cache_key("aaaa", "cfh", "pipe", "0.1.0"),
        state::cache_key("aaaa", "cfg", "pipf", "0.1.0"),
        state::cache_key("aaaa", "cfg", "pipe", "0.1.1"),
        state::cache_key("aaaac", "fg", "pipe", "0.1.0"),
    ] {
        assert_ne!(k, other);
    }
}

#[test]
fn a_joint_survey_round_trips_exactly() {
    let (cb, m) = config();
    let h = joint_2023(&cb, &m);
    let b = h.batch.as_ref().unwrap();
    // The fixture has what must survive: nulls in every kind of column, a weight that is not
    // exact in decimal, and findings with rows.
    assert!(b.respondent.contains(&None) && b.kw.contains(&None) && b.weging.contains(&None));
    assert!(b.wijknr.contains(&None) && b.answers.iter().any(|c| c.iter().any(|v| v.is_none())));
    assert!(h.findings.iter().any(|f| !f.rows.is_empty()));
    let dir = tempfile::tempdir().unwrap();
    let key = state::cache_key("joint", "cfg", "pipe", "v");
    let mut all = vec![
        burgerpeiling::finding::Finding::new(burgerpeiling::finding::RAGGED_ROW, "joint", "a reading finding")
            .rows(&[7]),
    ];
    all.extend(h.findings.iter().cloned());
    state::store(dir.path(), &key, &cb, &h, &all, 4).unwrap();
    let Lookup::Hit(c) = state::load(dir.path(), &key, &cb) else { panic!("expected a hit") };
    assert_same(&c.harmonised, &h);
    assert_eq!((c.findings.as_slice(), c.rows_read), (all.as_slice(), 4));
    let weging = c.harmonised.batch.as_ref().unwrap().weging[0].unwrap();
    assert_eq!(weging.to_bits(), b.weging[0].unwrap().to_bits());
}

#[test]
fn a_rejected_delivery_round_trips_without_a_batch() {
    let (cb, m) = config();
    let t = table(&["respondent", "gemnr", "wl01"], &[&["1", "363", "7"]]);
    let hints = NameHints::default();
    let h = harmonise::harmonise(
        &t,
        &harmonise::Context { delivery_id: "r", hints: &hints, forced_version: None },
        &cb,
        &m,
    );
    assert!(h.batch.is_none());
    let dir = tempfile::tempdir().unwrap();
    let key = state::cache_key("r", "c", "p", "v");
    // An earlier entry under the key with a batch must not leave its .arrow behind.
    state::store(dir.path(), &key, &cb, &joint_2023(&cb, &m), &[], 4).unwrap();
    state::store(dir.path(), &key, &cb, &h, &h.findings, 1).unwrap();
    let c = state::load(dir.path(), &key, &cb).into_cached().expect("hit");
    assert_same(&c.harmonised, &h);
    assert!(!dir.path().join(state::CACHE_DIR).join(format!("{key}.arrow")).exists());
}

#[test]
fn every_synthetic_delivery_of_both_versions_round_trips() {
    let (cb, m) = config();
    let dir = tempfile::tempdir().unwrap();
    let opts = synth::SynthOptions {
        out: dir.path().join("synth"),
        respondents: 30,
        municipalities: 2,
        years: (2019, 2023),
        messy: true,
        ..synth::SynthOptions::default()
    };
    synth::synth(&opts, &cb, &m).unwrap();
    let config = Config::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))).unwrap();
    let inbox = burgerpeiling::ingest::discover(&dir.path().join("synth/inbox"), u64::MAX).unwrap();
    let state_dir = dir.path().join("state");
    let mut versions = BTreeSet::new();
    let mut years = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for d in inbox.deliveries {
        let o = pipeline::process(d, &config, &Limits::default(), &BTreeMap::new());
        let h = o.harmonised.as_ref().expect("read");
        let key = state::cache_key(&o.delivery.id, &config.hash, "pipe", config::PRODUCT_VERSION);
        state::store(&state_dir, &key, &config.codebook, h, &o.findings, o.rows_read).unwrap();
        let c = state::load(&state_dir, &key, &config.codebook).into_cached().expect("hit");
        assert_same(&c.harmonised, h);
        assert_eq!((&c.findings, c.rows_read), (&o.findings, o.rows_read), "{}", o.delivery.file_name);
        if let Some(b) = &h.batch {
            versions.insert(b.vragenlijst.as_str());
            years.insert(b.year);
        }
        keys.insert(key);
    }
    assert_eq!(versions.into_iter().collect::<Vec<_>>(), ["2019", "2022"]);
    assert!(years.len() >= 4, "{years:?}");
    assert!(keys.len() >= 8);
}

fn corrupt_after(edit: impl Fn(&Path, &str)) -> Lookup {
    let (cb, m) = config();
    let dir = tempfile::tempdir().unwrap();
    let key = state::cache_key("joint", "cfg", "pipe", "v");
    state::store(dir.path(), &key, &cb, &joint_2023(&cb, &m), &[], 4).unwrap();
    edit(&dir.path().join(state::CACHE_DIR), &key);
    state::load(dir.path(), &key, &cb)
}

/// A cache entry file's two parts, the sidecar (JSON) and the Arrow bytes, as `state::cache`
/// lays them out: 8 magic bytes, the sidecar's length (u64 LE) and BLAKE3, the sidecar, the Arrow
/// part.
fn entry_parts(d: &Path, k: &str) -> (Vec<u8>, Vec<u8>) {
    let bytes = std::fs::read(d.join(format!("{k}.entry"))).unwrap();
    let json_len = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
    (bytes[48..48 + json_len].to_vec(), bytes[48 + json_len..].to_vec())
}

/// Writes an entry file from its two parts with a header that vouches for the sidecar, as if
/// the program had written them: only the checks beyond the header can refuse it.
fn put_entry_parts(d: &Path, k: &str, json: &[u8], arrow: &[u8]) {
    let mut bytes = std::fs::read(d.join(format!("{k}.entry"))).unwrap()[..8].to_vec();
    bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(blake3::hash(json).as_bytes());
    bytes.extend_from_slice(json);
    bytes.extend_from_slice(arrow);
    std::fs::write(d.join(format!("{k}.entry")), bytes).unwrap();
}

#[test]
fn a_damaged_cache_entry_is_a_miss_never_a_crash() {
    let edit_arrow = |d: &Path, k: &str, f: &dyn Fn(Vec<u8>) -> Vec<u8>| {
        let (json, arrow) = entry_parts(d, k);
        put_entry_parts(d, k, &json, &f(arrow));
    };
    let edit_json = |d: &Path, k: &str, f: &dyn Fn(Vec<u8>) -> Vec<u8>| {
        let (json, arrow) = entry_parts(d, k);
        put_entry_parts(d, k, &f(json), &arrow);
    };
    let truncate = |keep: usize| move |b: Vec<u8>| b[..keep.min(b.len())].to_vec();
    type Edit = Box<dyn Fn(&Path, &str)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("arrow truncated", Box::new(move |d, k| edit_arrow(d, k, &truncate(100)))),
        ("arrow empty", Box::new(move |d, k| std::fs::write(d.join(format!("{k}.entry")), b"").unwrap())),
        ("json truncated", Box::new(move |d, k| edit_json(d, k, &truncate(40)))),
        ("arrow missing", Box::new(move |d, k| edit_arrow(d, k, &truncate(0)))),
        (
            "arrow byte flipped",
            Box::new(move |d, k| {
                edit_arrow(d, k, &|mut bytes| {
                    let mid = bytes.len() / 2;
                    bytes[mid] ^= 0x55;
                    bytes
                })
            }),
        ),
        (
            // The sidecar vouches for garbage: the Arrow reader itself must refuse it.
            "garbage the json vouches for",
            Box::new(move |d, k| {
                let garbage = b"ARROW1\0\0 not really an arrow file at all, just bytes ARROW1".to_vec();
                let (json, _) = entry_parts(d, k);
                let mut sidecar: serde_json::Value = serde_json::from_slice(&json).unwrap();
                sidecar["arrow"]["bytes"] = garbage.len().into();
                sidecar["arrow"]["blake3"] = blake3::hash(&garbage).to_hex().as_str().into();
                put_entry_parts(d, k, &serde_json::to_vec(&sidecar).unwrap(), &garbage);
            }),
        ),
        (
            "unknown rule id",
            Box::new(move |d, k| {
                edit_json(d, k, &|json| {
                    String::from_utf8(json).unwrap().replacen("harmonise.", "nonexistent.", 1).into_bytes()
                })
            }),
        ),
        (
            "municipality index out of range",
            Box::new(move |d, k| {
                edit_json(d, k, &|json| {
                    let mut sidecar: serde_json::Value = serde_json::from_slice(&json).unwrap();
                    sidecar["batch"]["municipalities"].as_array_mut().unwrap().pop();
                    serde_json::to_vec(&sidecar).unwrap()
                })
            }),
        ),
    ];
    for (what, edit) in cases {
        match corrupt_after(edit) {
            Lookup::Corrupt(why) => assert!(!why.is_empty(), "{what}"),
            other => panic!("{what}: expected Corrupt, got {other:?}"),
        }
    }
    assert!(matches!(corrupt_after(|_, _| {}), Lookup::Hit(_)));
    let (cb, _) = config();
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(state::load(dir.path(), &state::cache_key("x", "c", "p", "v"), &cb), Lookup::Miss));
    assert!(matches!(state::load(dir.path(), "../etc/passwd", &cb), Lookup::Corrupt(_)));
}

#[test]
fn pruning_keeps_only_the_given_keys_and_removes_temp_files() {
    let (cb, m) = config();
    let h = joint_2023(&cb, &m);
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<String> = ["a", "b", "c"].iter().map(|d| state::cache_key(d, "c", "p", "v")).collect();
    for k in &keys {
        state::store(dir.path(), k, &cb, &h, &[], 4).unwrap();
    }
    let cache = dir.path().join(state::CACHE_DIR);
    std::fs::write(cache.join(format!(".{}.arrow.999.0.tmp", keys[0])), b"half").unwrap();
    let keep: BTreeSet<String> = [keys[1].clone()].into();
    let mut removed = state::prune(dir.path(), &keep).unwrap();
    removed.sort();
    let mut expected = vec![keys[0].clone(), keys[2].clone()];
    expected.sort();
    assert_eq!(removed, expected);
    let mut left: Vec<String> =
        std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(left, [format!("{}.entry", keys[1])]);
    assert!(state::load(dir.path(), &keys[1], &cb).into_cached().is_some());
    assert!(state::prune(&dir.path().join("nothing"), &keep).unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Recovery of an interrupted publish.

fn put(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_clean_lake_needs_no_recovery() {
    let dir = tempfile::tempdir().unwrap();
    assert!(lake::clean_leftovers(dir.path()).unwrap().is_empty());
    put(&dir.path().join("respondents/jaar=2023/part-0000.parquet"), "published");
    assert!(lake::clean_leftovers(dir.path()).unwrap().is_empty());
    assert_eq!(read(&dir.path().join("respondents/jaar=2023/part-0000.parquet")), "published");
}

#[test]
fn a_partition_moved_aside_by_a_killed_run_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    // Killed between the two renames of `publish_year`: 2023 is aside, its successor unmoved;
    // 2022 was published by the same run already; temp files of other outputs lie about.
    let staging = lake::staging_dir(lake, "20260101T000000Z-aaaa").unwrap();
    put(&staging.join("jaar=2023.old/part-0000.parquet"), "old 2023");
    put(&staging.join("jaar=2023/part-0000.parquet"), "new 2023, never published");
    put(&staging.join("reports__runs__x.json"), "half a report");
    put(&lake.join("respondents/jaar=2022/part-0000.parquet"), "new 2022");
    put(&lake.join("_manifest.json"), "{}");

    let actions = lake::clean_leftovers(lake).unwrap();
    assert_eq!(
        actions,
        [
            "restored respondents/jaar=2023 from .staging/20260101T000000Z-aaaa/jaar=2023.old",
            "removed .staging/20260101T000000Z-aaaa",
        ]
    );
    assert_eq!(read(&lake.join("respondents/jaar=2023/part-0000.parquet")), "old 2023");
    assert_eq!(read(&lake.join("respondents/jaar=2022/part-0000.parquet")), "new 2022");
    assert_eq!(read(&lake.join("_manifest.json")), "{}");
    assert!(!lake.join(".staging").exists());
    assert!(lake::clean_leftovers(lake).unwrap().is_empty(), "idempotent");
}

#[test]
fn an_existing_partition_is_never_replaced_by_an_aside_copy() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    // Killed after the new partition moved in, before the old one was removed.
    let staging = lake::staging_dir(lake, "20260101T000000Z-bbbb").unwrap();
    put(&staging.join("jaar=2023.old/part-0000.parquet"), "old 2023");
    put(&lake.join("respondents/jaar=2023/part-0000.parquet"), "new 2023");
    // A stray file directly in .staging, and a second dead run's directory.
    put(&lake.join(".staging/stray"), "x");
    put(&lake.join(".staging/20251231T000000Z-cccc/deliveries.parquet"), "half");

    let actions = lake::clean_leftovers(lake).unwrap();
    assert_eq!(
        actions,
        ["removed .staging/stray", "removed .staging/20260101T000000Z-bbbb", "removed .staging/20251231T000000Z-cccc"]
    );
    assert_eq!(read(&lake.join("respondents/jaar=2023/part-0000.parquet")), "new 2023");
    assert!(!lake.join(".staging").exists());
}

#[test]
fn of_two_aside_copies_the_newer_run_s_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    put(&lake.join(".staging/20250101T000000Z-aaaa/jaar=2021.old/part-0000.parquet"), "older");
    put(&lake.join(".staging/20260101T000000Z-bbbb/jaar=2021.old/part-0000.parquet"), "newer");
    // Not a year directory: only removed.
    put(&lake.join(".staging/20260101T000000Z-bbbb/jaar=20x1.old/part-0000.parquet"), "?");
    lake::clean_leftovers(lake).unwrap();
    assert_eq!(read(&lake.join("respondents/jaar=2021/part-0000.parquet")), "newer");
    let years: Vec<_> = std::fs::read_dir(lake.join("respondents")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(years, ["jaar=2021"]);
}
