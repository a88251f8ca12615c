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
        self.command_on(args, &self.lake(), &self.dir.path().join("state"))
    }

    fn command_on(&self, args: &[&str], lake: &Path, state: &Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_burgerpeiling"));
        c.current_dir(ROOT).args(["--progress", "never"]).args(args);
        c.arg("--inbox").arg(self.inbox()).arg("--lake").arg(lake);
        c.arg("--state").arg(state);
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

    /// One more delivery (another municipality, 2022), not yet in the inbox: its file name and
    /// bytes. Its municipality's population rows are added to the sample's population table.
    fn extra_delivery(&self) -> (String, Vec<u8>) {
        let other = tempfile::tempdir().unwrap();
        let config = Path::new(ROOT).join("config");
        let (cb, m) = (Codebook::load(&config).unwrap(), Municipalities::load(&config).unwrap());
        let opts = SynthOptions {
            out: other.path().to_path_buf(),
            seed: 99,
            municipalities: 1,
            years: (2022, 2022),
            respondents: 30,
            ..SynthOptions::default()
        };
        let extra = synth::synth(&opts, &cb, &m).unwrap();
        let d = &extra.deliveries[0];
        let population_file = self.dir.path().join("sample/population/population.csv");
        let mut population = fs::read_to_string(&population_file).unwrap();
        for line in fs::read_to_string(other.path().join("population/population.csv")).unwrap().lines() {
            if line.contains(d.gemeente_code.as_str()) {
                population.push_str(line);
                population.push('\n');
            }
        }
        fs::write(&population_file, population).unwrap();
        (d.file_name.clone(), fs::read(other.path().join("inbox").join(&d.file_name)).unwrap())
    }

    /// Every file of the lake: relative path → bytes.
    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        burgerpeiling::synth::written_files(&self.lake()).unwrap()
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
    let (new_file, bytes) = s.extra_delivery();
    let new_file = &new_file;
    fs::write(s.inbox().join(new_file), bytes).unwrap();
    // What the run keeps in its state is only a shortcut: a damaged year result (2021's) and a
    // damaged cached delivery (every cache entry, same size, one byte changed) are built and read
    // again, to the same result.
    let state = s.dir.path().join("state");
    for e in fs::read_dir(state.join("years")).unwrap() {
        fs::write(e.unwrap().path(), b"{not json").unwrap();
    }
    for e in fs::read_dir(state.join("cache")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "entry") {
            let mut b = fs::read(&p).unwrap();
            let mid = b.len() / 2;
            b[mid] ^= 0xff;
            fs::write(&p, b).unwrap();
        }
    }
    let text = stdout(&s.run(&["run"]));
    assert!(text.contains("2021: 2 deliveries, ") && text.contains("unchanged"), "{text}");
    assert!(text.contains("2022: 3 deliveries"), "{text}");
    assert!(partition(&s.lake(), 2021) == y21, "2021 was rewritten");
    assert!(rows(&s.lake().join("respondents/jaar=2022/part-0000.parquet")) > y22_rows);
    assert_same_as_a_cold_build(&s);
    // The next change finds every year's result stored: still what a cold build gives.
    fs::write(s.inbox().join("2021").join("copy.csv"), b"respondent;gemnr\n1;363\n").unwrap();
    s.run(&["run"]);
    assert_same_as_a_cold_build(&s);
    fs::remove_file(s.inbox().join("2021").join("copy.csv")).unwrap();
    s.run(&["run", "--prune"]);

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

    // reprocess rebuilds its year only, to the same bytes as the nightly run made.
    let nightly_2023 = partition(&s.lake(), 2023);
    let re = s.run(&["reprocess", "--year", "2023"]);
    assert!(partition(&s.lake(), 2023) == nightly_2023, "reprocess differs from the nightly result");
    let text = stdout(&re);
    assert!(text.contains("2023: 2 deliveries") && text.contains("rebuilt (reprocess --year)"), "{text}");
    assert!(text.contains("2021: 2 deliveries, ") && text.matches("unchanged").count() == 2, "{text}");

    // A changed population table rebuilds the years that use it: 2023's counts change, so 2023
    // is rebuilt; 2021 and 2022 cannot use a 2023 table and are left alone.
    let population_file = s.dir.path().join("sample/population/population.csv");
    let table = fs::read_to_string(&population_file).unwrap();
    let changed: Vec<String> = table
        .lines()
        .map(|l| if l.starts_with("2023,GM") && l.contains(",18,29,") { format!("{}0", l) } else { l.to_string() })
        .collect();
    fs::write(&population_file, changed.join("\n") + "\n").unwrap();
    let (y21, y22, y23) = (partition(&s.lake(), 2021), partition(&s.lake(), 2022), partition(&s.lake(), 2023));
    let text = stdout(&s.run(&["run"]));
    assert!(text.contains("2023: 2 deliveries") && text.contains("population tables"), "{text}");
    assert!(
        partition(&s.lake(), 2021) == y21 && partition(&s.lake(), 2022) == y22,
        "years without the change were rewritten"
    );
    assert!(partition(&s.lake(), 2023) != y23, "2023's weights did not change");

    // status reads the ledger.
    let status = s.command(&["status"]).output().unwrap();
    let text = stdout(&status);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    assert!(text.contains("published:") && text.contains("reprocess") && text.contains("2023:"), "{text}");
    assert!(text.contains("no new or changed files"), "{text}");
}

/// The lake of an incremental run holds what a cold build of the same inbox holds: the same
/// Parquet files and `response.csv`, and the same delivery reports but for the run id.
fn assert_same_as_a_cold_build(s: &Setup) {
    let (lake, state) = (s.dir.path().join("cold-lake"), s.dir.path().join("cold-state"));
    let _ = (fs::remove_dir_all(&lake), fs::remove_dir_all(&state));
    let out = s.command_on(&["run"], &lake, &state).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let incremental = s.snapshot();
    let cold = burgerpeiling::synth::written_files(&lake).unwrap();
    let comparable = |m: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, String> {
        m.iter()
            .filter(|(p, _)| {
                p.ends_with(".parquet")
                    || p.ends_with("response.csv")
                    || (p.contains("reports/deliveries/") && p.ends_with(".json"))
            })
            .map(|(p, b)| {
                let text = String::from_utf8_lossy(b).into_owned();
                let text = match text.find("\"run_id\"") {
                    Some(i) => format!("{}{}", &text[..i], &text[i + text[i..].find(',').unwrap()..]),
                    None => text,
                };
                (p.clone(), text)
            })
            .collect()
    };
    let (a, b) = (comparable(&incremental), comparable(&cold));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, text) in &a {
        assert!(Some(text) == b.get(path), "{path} differs from a cold build");
    }
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

/// A fingerprint of every partition of a lake: year → BLAKE3 of its Parquet file.
fn partitions(lake: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(entries) = fs::read_dir(lake.join("respondents")) else { return out };
    for e in entries {
        let dir = e.unwrap().path();
        let file = dir.join("part-0000.parquet");
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let hash = fs::read(&file).map(|b| blake3::hash(&b).to_hex().to_string()).unwrap_or_else(|_| "missing".into());
        out.insert(name, hash);
    }
    out
}

/// Crash test: the binary kills itself (SIGKILL) at every named point of a publish, and is
/// killed at 50 pseudo-random moments. After each kill every partition is exactly the previous
/// or the new one (by checksum), the next run completes, and the lake then equals a reference
/// build of the same inputs: no delivery lost.
#[cfg(feature = "kill-points")]
#[test]
fn crashes_at_every_publish_step_and_at_random_moments_lose_nothing() {
    let s = Setup::new(2, 40);
    // The extra delivery X toggles in and out of the inbox; the population tables know its
    // municipality from the start, so the two input sets differ in X alone.
    let (x_name, x_bytes) = s.extra_delivery();
    let x_path = s.inbox().join(&x_name);
    let set_x = |present: bool| {
        if present {
            fs::write(&x_path, &x_bytes).unwrap();
            let f = fs::File::options().write(true).open(&x_path).unwrap();
            f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000)).unwrap();
        } else {
            let _ = fs::remove_file(&x_path);
        }
    };
    // Reference lakes of both input sets, each built from scratch.
    let reference = |present: bool, name: &str| {
        set_x(present);
        let lake = s.dir.path().join(format!("ref-{name}"));
        let out =
            s.command_on(&["run", "--prune"], &lake, &s.dir.path().join(format!("ref-{name}-state"))).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        partitions(&lake)
    };
    let without = reference(false, "without");
    let with = reference(true, "with");
    assert_ne!(without, with, "X changes its year");
    set_x(false);
    s.run(&["run", "--prune"]);
    assert_eq!(partitions(&s.lake()), without);

    let mut present = false;
    let mut seed: u64 = 0x5eed;
    let points: Vec<Option<&str>> =
        burgerpeiling::lake::KILL_POINTS.iter().map(|p| Some(*p)).chain(std::iter::repeat_n(None, 50)).collect();
    for (i, point) in points.iter().enumerate() {
        present = !present;
        set_x(present);
        let mut c = s.command(&["run", "--prune"]);
        if let Some(p) = point {
            c.env("BURGERPEILING_KILL_AT", p);
        }
        let mut child = c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
        if point.is_none() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            std::thread::sleep(Duration::from_millis((seed >> 33) % 400));
            let _ = child.kill();
        }
        let status = child.wait().unwrap();
        let what = format!("kill {i} ({})", point.unwrap_or("random"));
        if point.is_some() {
            assert!(!status.success(), "{what}: the run was not killed at its kill point");
        }
        // Every partition is the previous or the new one.
        let now = partitions(&s.lake());
        for (year, hash) in &now {
            assert!(
                without.get(year) == Some(hash) || with.get(year) == Some(hash),
                "{what}: {year} is neither the old nor the new partition"
            );
        }
        assert_eq!(now.keys().collect::<Vec<_>>(), without.keys().collect::<Vec<_>>(), "{what}: a year disappeared");
        // The next run completes and publishes exactly the reference of the current inputs.
        s.run(&["run", "--prune"]);
        let want = if present { &with } else { &without };
        assert_eq!(&partitions(&s.lake()), want, "{what}: after recovery");
        assert!(!s.lake().join(".staging").exists(), "{what}: staging left behind");
    }
}

/// A tmpfs mounted for the test (root only, as CI and the development machines run), unmounted
/// when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Mount {
        fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(dir).status();
        assert!(ok.is_ok_and(|s| s.success()), "mounting a tmpfs needs root (CI runs as root)");
        Mount(dir.to_path_buf())
    }

    fn remount(&self, options: &str) {
        let ok = Command::new("mount").args(["-o", &format!("remount,{options}")]).arg(&self.0).status().unwrap();
        assert!(ok.success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_read_only_or_full_lake_fails_with_exit_1_and_keeps_the_old_lake() {
    let s = Setup::new(2, 40);
    let mount = Mount::tmpfs(&s.lake(), "16m");
    s.run(&["run"]);
    let published = partitions(&s.lake());

    mount.remount("ro");
    let out = s.command(&["run", "--full"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Read-only file system") && err.contains(&s.lake().display().to_string()), "{err}");
    assert_eq!(partitions(&s.lake()), published);
    mount.remount("rw");

    // Fill the file system, then rebuild: the run fails cleanly, the lake still reads.
    let filler = s.lake().join("filler");
    let mut f = fs::File::create(&filler).unwrap();
    let block = vec![0u8; 1 << 16];
    while std::io::Write::write_all(&mut f, &block).is_ok() {}
    drop(f);
    let out = s.command(&["run", "--full"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(partitions(&s.lake()), published);
    for year in [2021, 2022, 2023] {
        assert!(rows(&s.lake().join(format!("respondents/jaar={year}/part-0000.parquet"))) > 0);
    }
    // With room again, the next run completes.
    fs::remove_file(&filler).unwrap();
    s.run(&["run", "--full"]);
    assert_eq!(partitions(&s.lake()), published);
    assert!(!s.lake().join(".staging").exists());
}
