//! I/O failures explained: a full or read-only lake, a full or read-only state directory. Each
//! run must exit 1 with a Dutch message that names the directory, its file system and free
//! space, says that nothing was published and what to do, and keeps the technical message.
//! Each test mounts a small tmpfs (root only, as CI runs); where mounting is not possible it
//! prints why and skips.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use burgerpeiling::codebook::Codebook;
use burgerpeiling::municipality::Municipalities;
use burgerpeiling::synth::{self, SynthOptions};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A tmpfs on `dir`, unmounted when dropped; `None` (with the reason printed) when this
/// machine does not let the test mount one.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(dir).output();
        match out {
            Ok(o) if o.status.success() => Some(Mount(dir.to_path_buf())),
            Ok(o) => {
                eprintln!("skipped: cannot mount a tmpfs (needs root): {}", String::from_utf8_lossy(&o.stderr).trim());
                None
            }
            Err(e) => {
                eprintln!("skipped: no mount command: {e}");
                None
            }
        }
    }

    fn read_only(&self) {
        let ok = Command::new("mount").args(["-o", "remount,ro"]).arg(&self.0).status().unwrap();
        assert!(ok.success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let config = Path::new(ROOT).join("config");
        let (cb, m) = (Codebook::load(&config).unwrap(), Municipalities::load(&config).unwrap());
        let opts = SynthOptions {
            out: dir.path().join("sample"),
            municipalities: 2,
            years: (2022, 2023),
            respondents: 60,
            ..SynthOptions::default()
        };
        synth::synth(&opts, &cb, &m).unwrap();
        Setup { dir }
    }

    fn lake(&self) -> PathBuf {
        self.dir.path().join("lake")
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Runs `run` (with `extra` flags) and returns exit code and standard error.
    fn run(&self, extra: &[&str]) -> (Option<i32>, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_burgerpeiling"))
            .current_dir(ROOT)
            .args(["--progress", "never", "-q", "run"])
            .args(extra)
            .arg("--inbox")
            .arg(self.dir.path().join("sample/inbox"))
            .arg("--lake")
            .arg(self.lake())
            .arg("--state")
            .arg(self.state())
            .arg("--population")
            .arg(self.dir.path().join("sample/population"))
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The message names the directory and its file system, says what went wrong, that nothing
/// was published and what to do, with the flag that picks another directory.
fn assert_explained(err: &str, what: &str, dir: &Path, name: &str, flag: &str, technical: &str) {
    let line = err.lines().find(|l| l.starts_with("fout: ")).unwrap_or_else(|| panic!("no explanation:\n{err}"));
    assert!(line.contains(what), "{err}");
    assert!(err.contains(&format!("map: {} ({name})", dir.display())), "{err}");
    assert!(err.contains(&format!("bestandssysteem: tmpfs, aangekoppeld op {}; vrij ", dir.display())), "{err}");
    assert!(err.contains("Er is niets gepubliceerd"), "{err}");
    assert!(err.contains("Wat te doen: ") && err.contains(flag), "{err}");
    assert!(err.contains(technical), "the technical message is kept:\n{err}");
}

#[test]
fn a_full_lake_is_explained_and_nothing_is_published() {
    let s = Setup::new();
    let Some(_mount) = Mount::tmpfs(&s.lake(), "128k") else { return };
    let (code, err) = s.run(&[]);
    assert_eq!(code, Some(1), "{err}");
    assert_explained(&err, "het bestandssysteem is vol", &s.lake(), "het meer", "--lake", "No space left on device");
    assert!(!s.lake().join("_manifest.json").exists() && !s.lake().join("respondents/jaar=2023").exists());
}

#[test]
fn a_read_only_lake_is_explained_and_nothing_is_published() {
    let s = Setup::new();
    let Some(mount) = Mount::tmpfs(&s.lake(), "16m") else { return };
    mount.read_only();
    let (code, err) = s.run(&[]);
    assert_eq!(code, Some(1), "{err}");
    assert_explained(&err, "alleen-lezen", &s.lake(), "het meer", "--lake", "Read-only file system");
    assert!(err.contains("(alleen-lezen)"), "{err}");
    assert!(fs::read_dir(s.lake()).unwrap().next().is_none(), "the lake stays empty");
}

#[test]
fn a_full_state_directory_is_explained_and_nothing_is_published() {
    let s = Setup::new();
    let Some(_mount) = Mount::tmpfs(&s.state(), "64k") else { return };
    let (code, err) = s.run(&[]);
    assert_eq!(code, Some(1), "{err}");
    assert_explained(&err, "het bestandssysteem is vol", &s.state(), "de state-map", "--state", "full");
    assert!(!s.lake().join("_manifest.json").exists());
}

#[test]
fn a_read_only_state_directory_is_explained_and_the_lake_stays() {
    let s = Setup::new();
    let Some(mount) = Mount::tmpfs(&s.state(), "16m") else { return };
    let (code, err) = s.run(&[]);
    assert_eq!(code, Some(0), "{err}");
    let manifest = fs::read(s.lake().join("_manifest.json")).unwrap();
    mount.read_only();
    let (code, err) = s.run(&["--full"]);
    assert_eq!(code, Some(1), "{err}");
    assert_explained(&err, "alleen-lezen", &s.state(), "de state-map", "--state", "Read-only file system");
    assert_eq!(fs::read(s.lake().join("_manifest.json")).unwrap(), manifest, "the published lake is unchanged");
}
