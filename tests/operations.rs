//! Running every night: a run with nothing new writes nothing; a new delivery rebuilds its
//! year only; a file that left the inbox stays published until `--prune`; `reprocess` rebuilds
//! one year; a second run on the same state exits 4; a run killed at any moment leaves a lake
//! that reads whole, and the next run recovers.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use burgerpeiling::codebook::Codebook;
use burgerpeiling::municipality::Municipalities;
use burgerpeiling::synth::{self, SynthOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(municipalities: usize, respondents: usize) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let config = Path::new(ROOT).join("config");
        let (cb, m) = (Codebook::load(&config).unwrap(), Municipalities::load(&config).unwrap());
        let opts = SynthOptions {
            out: dir.path().join("sample"),
            municipalities,
            years: (2021, 2023),
            respondents,
            ..SynthOptions::default()
        };
        synth::synth(&opts, &cb, &m).unwrap();
        Setup { dir }
    }

    fn inbox(&self) -> PathBuf {
        self.dir.path().join("sample/inbox")
    }

    fn lake(&self) -> PathBuf {
        self.dir.path().join("lake")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_burgerpeiling"));
        c.current_dir(ROOT).args(["--progress", "never"]).args(args);
        c.arg("--inbox").arg(self.inbox()).arg("--lake").arg(self.lake());
        c.arg("--state").arg(self.dir.path().join("state"));
        if args[0] != "status" {
            c.arg("--population").arg(self.dir.path().join("sample/population"));
        }
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    /// Every file of the lake: relative path → bytes.
    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            for e in fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    out.insert(p.strip_prefix(base).unwrap().to_string_lossy().into_owned(), fs::read(&p).unwrap());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.lake(), &self.lake(), &mut out);
        out
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn rows(path: &Path) -> usize {
    let file = fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    reader.map(|b| b.unwrap().num_rows()).sum()
}

fn partition(lake: &Path, year: u16) -> Vec<u8> {
    fs::read(lake.join(format!("respondents/jaar={year}/part-0000.parquet"))).unwrap()
}

#[test]
fn nightly_runs_rebuild_only_what_changed() {
    let s = Setup::new(2, 40);
    let first = s.run(&["run"]);
    assert!(stdout(&first).contains("2021: 2 deliveries"), "{}", stdout(&first));

    // Nothing new: not one byte changes, and the run says so.
    let before = s.snapshot();
    let again = s.run(&["run"]);
    assert!(stdout(&again).contains("nothing new"), "{}", stdout(&again));
    assert!(s.snapshot() == before, "a run with nothing new changed the lake");

    // One new delivery for 2022 (another municipality, with its population rows for 2022):
    // 2021 is left as it was; 2022 and later are rebuilt (2023 because the population tables it
    // may fall back on changed).
    let y21 = partition(&s.lake(), 2021);
    let y22_rows = rows(&s.lake().join("respondents/jaar=2022/part-0000.parquet"));
    let other = tempfile::tempdir().unwrap();
    let config = Path::new(ROOT).join("config");
    let (cb, m) = (Codebook::load(&config).unwrap(), Municipalities::load(&config).unwrap());
    let extra = synth::synth(
        &SynthOptions { out: other.path().to_path_buf(), seed: 99, municipalities: 1, years: (2022, 2022), respondents: 30, ..SynthOptions::default() },
        &cb,
        &m,
    )
    .unwrap();
    let new_file = &extra.deliveries[0].file_name;
    fs::copy(other.path().join("inbox").join(new_file), s.inbox().join(new_file)).unwrap();
    let population_file = s.dir.path().join("sample/population/population.csv");
    let mut population = fs::read_to_string(&population_file).unwrap();
    let code = &extra.deliveries[0].gemeente_code;
    for line in fs::read_to_string(other.path().join("population/population.csv")).unwrap().lines() {
        if line.contains(code.as_str()) {
            population.push_str(line);
            population.push('\n');
        }
    }
    fs::write(&population_file, population).unwrap();
    let text = stdout(&s.run(&["run"]));
    assert!(text.contains("2021: 2 deliveries, ") && text.contains("unchanged"), "{text}");
    assert!(text.contains("2022: 3 deliveries"), "{text}");
    assert!(partition(&s.lake(), 2021) == y21, "2021 was rewritten");
    assert!(rows(&s.lake().join("respondents/jaar=2022/part-0000.parquet")) > y22_rows);

    // A delivery that left the inbox stays published, with a warning, until --prune.
    fs::remove_file(s.inbox().join(new_file)).unwrap();
    let kept = s.run(&["--log-format", "json", "run"]);
    assert!(String::from_utf8_lossy(&kept.stderr).contains("ingest.delivery-missing"));
    assert!(rows(&s.lake().join("respondents/jaar=2022/part-0000.parquet")) > y22_rows);
    let pruned = s.run(&["run", "--prune"]);
    assert!(stdout(&pruned).contains("2022: 2 deliveries"), "{}", stdout(&pruned));
    assert_eq!(rows(&s.lake().join("respondents/jaar=2022/part-0000.parquet")), y22_rows);

    // --full rebuilds every year: the same bytes, since nothing else changed.
    let before = s.snapshot();
    let full = s.run(&["run", "--full"]);
    assert_eq!(stdout(&full).matches("rebuilt (--full)").count(), 3, "{}", stdout(&full));
    let after = s.snapshot();
    for (path, bytes) in &before {
        if path.ends_with(".parquet") {
            assert!(Some(bytes) == after.get(path), "{path} changed");
        }
    }

    // reprocess rebuilds its year only.
    let re = s.run(&["reprocess", "--year", "2023"]);
    let text = stdout(&re);
    assert!(text.contains("2023: 2 deliveries") && text.contains("rebuilt (reprocess --year)"), "{text}");
    assert!(text.contains("2021: 2 deliveries, ") && text.matches("unchanged").count() == 2, "{text}");

    // status reads the ledger.
    let status = s.command(&["status"]).output().unwrap();
    let text = stdout(&status);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    assert!(text.contains("published:") && text.contains("reprocess") && text.contains("2023:"), "{text}");
    assert!(text.contains("no new or changed files"), "{text}");
}

#[test]
fn a_second_run_on_the_same_state_exits_4() {
    let s = Setup::new(2, 30);
    let lock = burgerpeiling::state::StateLock::acquire(&s.dir.path().join("state")).unwrap();
    let out = s.command(&["run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    drop(lock);
    s.run(&["run"]);
}

#[test]
fn a_run_killed_at_any_moment_leaves_a_readable_lake_and_the_next_run_recovers() {
    let s = Setup::new(4, 150);
    s.run(&["run"]);
    let published = s.snapshot();
    // Kill full rebuilds at a spread of moments.
    for (i, delay_ms) in [5u64, 20, 60, 120, 200, 300, 450, 650].iter().enumerate() {
        let mut child = s.command(&["run", "--full"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(*delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // Every partition present reads whole, and no year disappeared.
        for year in [2021u16, 2022, 2023] {
            let path = s.lake().join(format!("respondents/jaar={year}/part-0000.parquet"));
            let here = path.is_file() || s.lake().join(".staging").is_dir();
            assert!(here, "kill {i} at {delay_ms} ms: {year} missing without a way back");
            if path.is_file() {
                assert!(rows(&path) > 0, "kill {i}: {year} unreadable");
            }
        }
        // The next run recovers and publishes the same data.
        s.run(&["run", "--full"]);
        assert!(!s.lake().join(".staging").exists());
        let now = s.snapshot();
        for (path, bytes) in &published {
            if path.starts_with("respondents") {
                assert!(Some(bytes) == now.get(path), "kill {i}: {path} differs after recovery");
            }
        }
    }
}
