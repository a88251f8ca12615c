//! A binary that works outside the checkout (issue 16, part 3), through the binary: a run from a
//! working directory without `config/` or `pipelines/` uses the embedded configuration and
//! pipeline file; the embedded configuration hashes and builds like the identical directory on
//! disk; `init` writes a job whose systemd `ExecStart`, parsed and run from another directory,
//! publishes the job's inbox; `init` refuses to overwrite without `--force`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn binary_in(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_burgerpeiling"));
    c.current_dir(cwd).args(["--progress", "never"]);
    c
}

fn ok(out: Output) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A small synthetic inbox, made by the binary itself from a directory without `config/`
/// (so `synth` too reads the embedded codebook). 2024, so the real population tables apply.
fn synthesise(cwd: &Path) -> PathBuf {
    let out = cwd.join("sample");
    ok(binary_in(cwd)
        .args(["synth", "--municipalities", "2", "--years", "2024-2024", "--respondents", "150", "--out"])
        .arg(&out)
        .output()
        .unwrap());
    out.join("inbox")
}

fn run_args(c: &mut Command, inbox: &Path, lake: &Path, state: &Path) {
    c.arg("run").arg("--inbox").arg(inbox).arg("--lake").arg(lake).arg("--state").arg(state);
}

/// Every Parquet file under `lake`, relative path → bytes.
fn parquet_files(lake: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push((p.strip_prefix(root).unwrap().to_path_buf(), fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(lake, lake, &mut out);
    out.sort();
    out
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() { copy_tree(&p, &target) } else { fs::copy(&p, &target).map(|_| ()).unwrap() }
    }
}

#[test]
fn a_run_outside_the_checkout_uses_the_embedded_configuration() {
    let cwd = tempfile::tempdir().unwrap();
    assert!(!cwd.path().join("config").exists() && !cwd.path().join("pipelines").exists());
    let inbox = synthesise(cwd.path());
    let (lake, state) = (cwd.path().join("lake"), cwd.path().join("state"));
    let mut run = binary_in(cwd.path());
    run_args(&mut run, &inbox, &lake, &state);
    let out = run.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = ok(out);
    assert!(stdout.contains("2024: 2 deliveries"), "{stdout}");
    assert!(lake.join("respondents/jaar=2024/part-0000.parquet").is_file());
    // The embedded real population tables weighted the year: no municipality lacked a population.
    assert!(stderr.contains("weight.method") && !stderr.contains("weight.no-population"), "{stderr}");

    let mut status = binary_in(cwd.path());
    status.arg("status").arg("--state").arg(&state).arg("--inbox").arg(&inbox);
    let status = ok(status.output().unwrap());
    let on_disk = burgerpeiling::config::hash_tree(&Path::new(ROOT).join("config")).unwrap();
    assert!(
        status
            .contains(&format!("configuratie: ingebouwd (de standaardconfiguratie in het programma) (hash {on_disk})")),
        "{status}"
    );
    assert!(status.contains("pipeline-bestand: ingebouwd"), "{status}");

    // With --config, status names the directory; the hash is the same for identical files.
    let config = Path::new(ROOT).join("config");
    let mut status = binary_in(cwd.path());
    status.arg("--config").arg(&config).arg("status").arg("--state").arg(&state).arg("--inbox").arg(&inbox);
    let status = ok(status.output().unwrap());
    assert!(status.contains(&format!("configuratie: {} (hash {on_disk})", config.display())), "{status}");
}

#[test]
fn embedded_and_on_disk_configuration_build_the_same_lake() {
    let cwd = tempfile::tempdir().unwrap();
    let inbox = synthesise(cwd.path());
    let mut lakes = Vec::new();
    for (side, config) in [("embedded", None), ("disk", Some(Path::new(ROOT).join("config")))] {
        let lake = cwd.path().join(side).join("lake");
        let mut run = binary_in(cwd.path());
        if let Some(dir) = &config {
            run.arg("--config").arg(dir);
        }
        run_args(&mut run, &inbox, &lake, &cwd.path().join(side).join("state"));
        ok(run.output().unwrap());
        lakes.push(parquet_files(&lake));
    }
    assert!(lakes[0].len() >= 3, "respondents, weighting and deliveries: {:?}", lakes[0].len());
    let names = |l: &[(PathBuf, Vec<u8>)]| l.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(&lakes[0]), names(&lakes[1]));
    for ((path, a), (_, b)) in lakes[0].iter().zip(&lakes[1]) {
        assert!(a == b, "{} differs between the embedded and the on-disk configuration", path.display());
    }
}

/// Splits an `ExecStart=` value the way systemd does for what `init` writes: arguments separated
/// by spaces, double-quoted arguments with `\` escapes, `%%` and `$$` for `%` and `$`.
fn parse_exec_start(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = line.trim().chars().peekable();
    while chars.peek().is_some() {
        while chars.next_if(|c| *c == ' ').is_some() {}
        let mut arg = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => arg.extend(chars.next()),
                    c => arg.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ' ') {
                arg.push(c);
            }
        }
        args.push(arg.replace("%%", "%").replace("$$", "$"));
    }
    args
}

fn unit_value(unit: &str, key: &str) -> String {
    let prefix = format!("{key}=");
    let line = unit.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {key} in:\n{unit}"));
    line[prefix.len()..].to_string()
}

#[test]
fn init_writes_a_job_whose_exec_start_runs_from_any_directory() {
    let base = tempfile::tempdir().unwrap();
    // A space in the job's path: ExecStart must quote it.
    let job = base.path().join("nachtelijke job");
    let out = ok(binary_in(base.path()).arg("init").arg(&job).args(["--at", "03:15"]).output().unwrap());
    assert!(out.contains("burgerpeiling.timer") && out.contains("|| [ $? -eq 4 ]"), "{out}");
    for f in ["pipeline.toml", "config/codebook/dataformat-2022.csv", "config/population/cbs-kwb-2024.csv"] {
        assert!(job.join(f).is_file(), "{f}");
    }
    assert!(job.join("inbox").is_dir());
    // The copy is the configuration itself: same hash as the checkout's.
    assert_eq!(
        burgerpeiling::config::hash_tree(&job.join("config")).unwrap(),
        burgerpeiling::config::hash_tree(&Path::new(ROOT).join("config")).unwrap()
    );
    let timer = fs::read_to_string(job.join("systemd/burgerpeiling.timer")).unwrap();
    assert_eq!(unit_value(&timer, "OnCalendar"), "*-*-* 03:15:00");
    let service = fs::read_to_string(job.join("systemd/burgerpeiling.service")).unwrap();
    let success: Vec<String> = unit_value(&service, "SuccessExitStatus").split(' ').map(String::from).collect();
    assert!(success.contains(&"4".to_string()), "exit 4 (lock held) counts as success: {service}");

    let argv = parse_exec_start(&unit_value(&service, "ExecStart"));
    assert!(argv.iter().filter(|a| a.contains('/')).all(|a| Path::new(a).is_absolute()), "{argv:?}");
    assert_eq!(argv.last().map(String::as_str), Some("run"));

    // Deliveries into the job's inbox, then ExecStart from an unrelated working directory.
    let sample = tempfile::tempdir().unwrap();
    let inbox = synthesise(sample.path());
    copy_tree(&inbox, &job.join("inbox"));
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Command::new(&argv[0]).args(&argv[1..]).current_dir(elsewhere.path()).output().unwrap();
    let stdout = ok(out);
    assert!(stdout.contains("2024: 2 deliveries"), "{stdout}");
    assert!(job.join("lake/respondents/jaar=2024/part-0000.parquet").is_file());
    assert!(job.join("state").is_dir());
    assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0, "nothing written in the working directory");
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let base = tempfile::tempdir().unwrap();
    let job = base.path().join("job");
    ok(binary_in(base.path()).arg("init").arg(&job).output().unwrap());
    let pipeline = job.join("pipeline.toml");
    fs::write(&pipeline, "name = \"eigen\"\n").unwrap();
    let out = binary_in(base.path()).arg("init").arg(&job).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bestaan al") && stderr.contains("--force"), "{stderr}");
    assert_eq!(fs::read_to_string(&pipeline).unwrap(), "name = \"eigen\"\n", "nothing was overwritten");
    ok(binary_in(base.path()).arg("init").arg(&job).arg("--force").output().unwrap());
    assert!(fs::read_to_string(&pipeline).unwrap().contains("[paths]"));
    let out = binary_in(base.path()).arg("init").arg(&job).args(["--force", "--at", "25:00"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a time that does not exist is a usage error");
}

#[test]
fn the_checkout_defaults_win_over_the_embedded_copy() {
    // From the checkout, status names config/ and pipelines/nightly.toml, not the embedded copy.
    let state = tempfile::tempdir().unwrap();
    let inbox = tempfile::tempdir().unwrap();
    let mut status = binary_in(Path::new(ROOT));
    status.arg("status").arg("--state").arg(state.path()).arg("--inbox").arg(inbox.path());
    let stdout = ok(status.output().unwrap());
    assert!(stdout.contains("configuratie: config (hash "), "{stdout}");
    assert!(stdout.contains("pipeline-bestand: pipelines/nightly.toml"), "{stdout}");
}
