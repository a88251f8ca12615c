//! Zip bundles through the binary, on bundles made by `synth --bundles`: every encryption is
//! published like the loose files it wraps; a missing or wrong password rejects that bundle
//! alone and the next run retries it; the password file must be private; no password reaches a
//! log, report, ledger or lake file; zip bombs, unsafe names and nesting are handled without
//! writing anything.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Cursor, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{read_parquet, strings};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const ENV: &str = "BURGERPEILING_PASSWORDS";

fn binary() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_burgerpeiling"));
    c.current_dir(ROOT).env_remove(ENV).args(["--progress", "never"]);
    c
}

fn synth(out: &Path, bundles: Option<&str>) {
    let mut c = binary();
    c.args(["-q", "synth", "--out"]).arg(out);
    c.args(["--seed", "5", "--municipalities", "2", "--years", "2022-2023", "--respondents", "40"]);
    if let Some(mode) = bundles {
        c.args(["--bundles", mode]);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `run` on `<sample>/inbox` into `<sample>/lake` and `<sample>/state`, JSON log at debug level.
fn run(sample: &Path, pipeline: &Path, env: Option<&Path>) -> Output {
    let mut c = binary();
    if let Some(file) = env {
        c.env(ENV, file);
    }
    c.args(["--log-format", "json", "-vv", "--pipeline"]).arg(pipeline);
    common::run_args(&mut c, sample, &sample.join("lake"), &sample.join("state")).output().unwrap()
}

fn pipeline(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, format!("name = \"bundels\"\n{text}")).unwrap();
    p
}

fn private(path: &Path, text: &str) -> PathBuf {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    path.to_path_buf()
}

/// `deliveries.parquet`: file name → status.
fn statuses(lake: &Path) -> BTreeMap<String, String> {
    let d = read_parquet(&lake.join("deliveries.parquet"));
    let (names, status) = (strings(&d, "file_name"), strings(&d, "status"));
    (0..d.num_rows()).map(|i| (names.value(i).to_string(), status.value(i).to_string())).collect()
}

/// (file, rule) → log level, from the JSON log.
fn logged(stderr: &str) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for line in stderr.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let f = &v["fields"];
        if let (Some(rule), Some(file)) = (f["rule"].as_str(), f["file"].as_str()) {
            out.insert((file.to_string(), rule.to_string()), v["level"].as_str().unwrap().to_string());
        }
    }
    out
}

/// The passwords `synth` wrote (bundle → key).
fn synth_keys(sample: &Path) -> BTreeMap<String, String> {
    let text = fs::read_to_string(sample.join("secrets/passwords.toml")).unwrap();
    let v: toml::Table = toml::from_str(&text).unwrap();
    v["passwords"].as_table().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect()
}

/// No key appears in any file under `dir`, nor in `text`.
fn assert_no_key(keys: &BTreeMap<String, String>, dirs: &[&Path], text: &str) {
    for key in keys.values() {
        assert!(!text.contains(key.as_str()), "a password in the output");
        for dir in dirs {
            for (file, bytes) in burgerpeiling::synth::written_files(dir).unwrap() {
                let hit = bytes.windows(key.len()).any(|w| w == key.as_bytes());
                assert!(!hit, "a password in {}/{file}", dir.display());
            }
        }
    }
}

#[test]
fn bundles_of_every_encryption_publish_what_the_loose_files_publish() {
    let dir = tempfile::tempdir().unwrap();
    let (loose, bundled) = (dir.path().join("loose"), dir.path().join("bundled"));
    synth(&loose, None);
    synth(&bundled, Some("mixed"));
    let names: Vec<String> = burgerpeiling::synth::written_files(&bundled.join("inbox")).unwrap().into_keys().collect();
    assert_eq!(names.len(), 4);
    assert!(names.iter().all(|n| n.ends_with(".zip")), "{names:?}");
    let keys = synth_keys(&bundled);
    assert_eq!(keys.len(), 2, "mixed: one plain, then ZipCrypto and AES in turn");

    // The same pipeline file for both (its hash is in the lake's metadata); the loose sample's
    // password file is empty.
    let secrets = "[secrets]\npasswords = \"secrets/passwords.toml\"\n";
    fs::create_dir_all(loose.join("secrets")).unwrap();
    private(&loose.join("secrets/passwords.toml"), "[passwords]\n");
    let o = run(&loose, &pipeline(&loose, "p.toml", secrets), None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let secret = pipeline(&bundled, "p.toml", secrets);
    let o = run(&bundled, &secret, None);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");

    // The same respondents, the same delivery ids: the lake partitions are byte-identical.
    for year in [2022, 2023] {
        let part = format!("respondents/jaar={year}/part-0000.parquet");
        let (a, b) =
            (fs::read(loose.join("lake").join(&part)).unwrap(), fs::read(bundled.join("lake").join(&part)).unwrap());
        assert!(a == b, "{part} differs between loose files and bundles");
    }
    let status = statuses(&bundled.join("lake"));
    assert_eq!(status.len(), 4, "{status:?}");
    for (name, s) in &status {
        assert!(name.contains(".zip!BP-"), "{name}");
        assert_eq!(s, "published", "{name}");
    }
    // The questionnaire is an attachment: in the run report's ignored files and, by name, in
    // every dataset's delivery report; never read.
    let reports = burgerpeiling::synth::written_files(&bundled.join("lake/reports")).unwrap();
    let run_report = reports.iter().find(|(n, _)| n.starts_with("runs/") && n.ends_with(".json")).unwrap().1;
    let run_report: serde_json::Value = serde_json::from_slice(run_report).unwrap();
    let ignored = run_report["ignored_files"].as_array().unwrap();
    assert_eq!(ignored.len(), 4);
    assert!(ignored.iter().all(|f| f.as_str().unwrap().ends_with(".zip!Vragenlijst Burgerpeiling.pdf")), "{ignored:?}");
    let attachments = reports
        .iter()
        .filter(|(n, _)| n.starts_with("deliveries/") && n.ends_with(".json"))
        .filter(|(_, b)| String::from_utf8_lossy(b).contains("ingest.bundle-attachments"))
        .count();
    assert_eq!(attachments, 4);
    assert_no_key(&keys, &[&bundled.join("lake"), &bundled.join("state")], &stderr);

    // Nothing new: the second run writes nothing.
    let o = run(&bundled, &secret, None);
    assert!(String::from_utf8_lossy(&o.stdout).contains("nothing new"), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn a_missing_or_wrong_password_rejects_that_bundle_alone_and_a_later_run_retries() {
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("sample");
    synth(&sample, Some("aes"));
    let keys = synth_keys(&sample);
    let bundles: Vec<&String> = keys.keys().filter(|k| k.starts_with("2023/")).collect();
    assert_eq!(bundles.len(), 2);
    let (good, bad) = (bundles[0], bundles[1]);
    // One right key, one wrong, and the 2022 bundles under a glob.
    let file = private(
        &dir.path().join("keys.toml"),
        &format!(
            "[passwords]\n{good:?} = {:?}\n{bad:?} = \"verkeerd\"\n\"BP-2022-*.zip\" = {:?}\n",
            keys[good],
            keys[keys.keys().find(|k| k.starts_with("2022/")).unwrap()],
        ),
    );
    let p = pipeline(dir.path(), "p.toml", "");
    let o = run(&sample, &p, Some(&file));
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    let rejected = logged(&stderr);
    assert_eq!(
        rejected.get(&(bad.to_string(), "ingest.zip-password".into())).map(String::as_str),
        Some("WARN"),
        "{stderr}"
    );
    let message =
        stderr.lines().find(|l| l.contains("ingest.zip-password") && l.contains(&format!("{bad}\""))).unwrap();
    assert!(message.contains(&format!("\\\"{bad}\\\" = ")), "it says which bundle needs which key: {message}");
    let status = statuses(&sample.join("lake"));
    assert_eq!(status[bad.as_str()], "rejected");
    let published: Vec<&String> = status.iter().filter(|(_, s)| *s == "published").map(|(n, _)| n).collect();
    // The other 2023 bundle and both 2022 bundles (the glob's key opens only one of them: the
    // other is rejected too, each bundle on its own).
    assert!(published.iter().any(|n| n.starts_with(&format!("{good}!"))), "{status:?}");
    assert!(!status.keys().any(|n| n.starts_with(&format!("{bad}!"))), "the refused bundle is one delivery");

    // The key is corrected: the next run reads the bundle.
    let all: String = keys.iter().map(|(k, v)| format!("{k:?} = {v:?}\n")).collect();
    let file = private(&dir.path().join("keys.toml"), &format!("[passwords]\n{all}"));
    let o = run(&sample, &p, Some(&file));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let status = statuses(&sample.join("lake"));
    let published = status.iter().filter(|(n, s)| n.contains(".zip!") && *s == "published").count();
    assert_eq!(published, 4, "{status:?}");

    // A dataset known from before whose cache no longer fits (the pipeline file changed) is
    // read again: without its key it is rejected, not cached; with the key back (and nothing
    // else changed) the next run reads it again.
    let changed = pipeline(dir.path(), "p.toml", "[dedup]\nredelivery = \"replace\"\n");
    let empty = private(&dir.path().join("none.toml"), "[passwords]\n");
    let o = run(&sample, &changed, Some(&empty));
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("ingest.zip-password"), "{stderr}");
    let o = run(&sample, &changed, Some(&file));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(!stdout.contains("nothing new") && !stdout.contains("rejected"), "{stdout}");
    let status = statuses(&sample.join("lake"));
    assert_eq!(status.iter().filter(|(n, s)| n.contains(".zip!") && *s == "published").count(), 4, "{status:?}");
    assert_no_key(&keys, &[&sample.join("lake"), &sample.join("state")], &stderr);
}

#[test]
fn a_password_file_others_can_read_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("sample");
    synth(&sample, Some("zipcrypto"));
    let keys = synth_keys(&sample);
    let file = sample.join("secrets/passwords.toml");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
    let p = pipeline(&sample, "p.toml", "[secrets]\npasswords = \"secrets/passwords.toml\"\n");
    let o = run(&sample, &p, None);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("passwords.toml") && stderr.contains("chmod 600"), "{stderr}");
    assert_no_key(&keys, &[], &stderr);
    assert!(!sample.join("lake").exists(), "nothing was written");
    // The environment variable names the file too; a file that is not there is an error.
    let o = run(&sample, &pipeline(&sample, "q.toml", ""), Some(&dir.path().join("absent.toml")));
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
}

fn zip(entries: &[(&str, &[u8])], deflate: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let method = if deflate { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
    for (name, data) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default().compression_method(method)).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn bombs_unsafe_names_and_nesting_are_handled_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    // synth's population table; its deliveries make way for hand-made bundles.
    synth(&dir.path().join("sample"), None);
    let inbox = dir.path().join("sample/inbox");
    fs::remove_dir_all(&inbox).unwrap();
    fs::create_dir_all(&inbox).unwrap();
    // Different quarters, so that neither is a redelivery of the other.
    let data = |n: u32, kw: u8| {
        format!("respondent;gemnr;jr;kw;wl01;wl02_2\n{n};344;2023;{kw};7;1\n{};344;2023;{kw};8;2\n", n + 1)
    };
    let (one, two, three) = (data(1, 1), data(10, 2), data(20, 3));
    fs::write(inbox.join("bom.zip"), zip(&[("BP-2023-2-Utrecht.csv", &vec![b'0'; 3_000_000])], true)).unwrap();
    fs::write(
        inbox.join("pad.zip"),
        zip(&[("../evil.csv", one.as_bytes()), ("BP-2023-2-Utrecht.csv", two.as_bytes())], false),
    )
    .unwrap();
    let inner =
        zip(&[("BP-2023-3-Utrecht.csv", three.as_bytes()), ("diep.zip", &zip(&[("x.csv", b"1")], false))], false);
    fs::write(inbox.join("nest.zip"), zip(&[("binnen.zip", &inner), ("rapport.docx", b"PK")], true)).unwrap();
    fs::write(inbox.join("leeg.zip"), zip(&[("Vragenlijst.pdf", b"%PDF")], false)).unwrap();
    fs::write(inbox.join("kapot.zip"), b"PK\x03\x04 dit is geen zip").unwrap();
    let p = pipeline(dir.path(), "p.toml", "[limits]\nmax_decompressed_bytes = 2000000\n");
    let o = run(&dir.path().join("sample"), &p, None);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    let log = logged(&stderr);
    let expect = [
        ("bom.zip", "ingest.decompressed-too-large", "WARN"),
        ("pad.zip!BP-2023-2-Utrecht.csv", "ingest.bundle-entry-unsafe", "DEBUG"),
        ("nest.zip!binnen.zip!BP-2023-3-Utrecht.csv", "ingest.bundle-too-deep", "DEBUG"),
        ("nest.zip!binnen.zip!BP-2023-3-Utrecht.csv", "ingest.bundle-attachments", "TRACE"),
        ("leeg.zip", "ingest.bundle-no-dataset", "WARN"),
        ("kapot.zip", "ingest.file-corrupt", "WARN"),
    ];
    for (file, rule, level) in expect {
        assert_eq!(
            log.get(&(file.to_string(), rule.to_string())).map(String::as_str),
            Some(level),
            "{file} {rule}\n{stderr}"
        );
    }
    let status = statuses(&dir.path().join("sample/lake"));
    assert_eq!(status["pad.zip!BP-2023-2-Utrecht.csv"], "published");
    assert_eq!(status["nest.zip!binnen.zip!BP-2023-3-Utrecht.csv"], "published");
    assert!(!status.keys().any(|n| n.contains("evil")), "{status:?}");
    for refused in ["bom.zip", "leeg.zip", "kapot.zip"] {
        assert_eq!(status[refused], "rejected");
    }
    // Every delivery report, of a refused bundle too, follows the schema.
    let schema = fs::read_to_string(Path::new(ROOT).join("docs/schemas/delivery-report.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&serde_json::from_str(&schema).unwrap()).unwrap();
    let reports = burgerpeiling::synth::written_files(&dir.path().join("sample/lake/reports/deliveries")).unwrap();
    let reports: Vec<serde_json::Value> =
        reports.iter().filter(|(n, _)| n.ends_with(".json")).map(|(_, b)| serde_json::from_slice(b).unwrap()).collect();
    assert_eq!(reports.len(), 5);
    for r in &reports {
        let errors: Vec<String> = validator.iter_errors(r).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", r["file_name"]);
    }
    assert!(reports.iter().any(|r| r["format"] == "zip" && r["status"] == "rejected"));
    // Nothing was unpacked: no file appeared beside or above the inbox.
    assert!(!dir.path().join("sample/evil.csv").exists() && !dir.path().join("evil.csv").exists());
    let inbox_files: Vec<String> = burgerpeiling::synth::written_files(&inbox).unwrap().into_keys().collect();
    assert_eq!(inbox_files, ["bom.zip", "kapot.zip", "leeg.zip", "nest.zip", "pad.zip"]);

    // `check` reads a bundle the same way.
    let o = binary().args(["--pipeline"]).arg(&p).args(["check"]).arg(inbox.join("pad.zip")).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("pad.zip!BP-2023-2-Utrecht.csv"), "{stdout}");
}
