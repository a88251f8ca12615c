//! Every kind of bad file an inbox can hold, in one run: each gets its rule id and severity,
//! each is rejected or kept as its severity says, and the good deliveries are published as if
//! the bad ones were not there. Findings are read from the JSON log lines (`--log-format json`).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Cursor, Write};
use std::path::Path;
use std::process::Command;

use arrow_array::Array;
use burgerpeiling::codebook::Codebook;
use burgerpeiling::municipality::Municipalities;
use burgerpeiling::synth::{self, SynthOptions};
use common::{read_parquet, strings as column};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A zip whose one entry unpacks to `bytes` zeros: a small file that declares a large size.
fn zip_bomb(bytes: usize) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    zip.write_all(&vec![b' '; bytes]).unwrap();
    zip.finish().unwrap().into_inner()
}

fn encrypted_workbook() -> Vec<u8> {
    let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    file.create_stream("EncryptionInfo").unwrap().write_all(&[4, 0, 4, 0]).unwrap();
    file.create_stream("EncryptedPackage").unwrap().write_all(&[0u8; 64]).unwrap();
    file.into_inner().into_inner()
}

fn far_cell_workbook() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let s = wb.add_worksheet();
    for (c, h) in ["respondent", "gemnr", "jr", "wl01", "wl02_2"].iter().enumerate() {
        s.write(0, c as u16, *h).unwrap();
    }
    // Amsterdam, so that it does not count as a redelivery of ragged.csv (Utrecht, 2023).
    for (c, v) in [1, 363, 2023, 7, 1].iter().enumerate() {
        s.write(1, c as u16, *v).unwrap();
    }
    s.write(1_048_575, 16_383, "x").unwrap();
    wb.save_to_buffer().unwrap()
}

#[test]
fn every_bad_file_gets_its_rule_and_the_rest_is_published() {
    let dir = tempfile::tempdir().unwrap();
    let config = Path::new(ROOT).join("config");
    let (cb, m) = (Codebook::load(&config).unwrap(), Municipalities::load(&config).unwrap());
    let opts = SynthOptions {
        out: dir.path().join("sample"),
        seed: 3,
        municipalities: 2,
        years: (2022, 2023),
        respondents: 40,
        messy: false,
        ..SynthOptions::default()
    };
    let generated = synth::synth(&opts, &cb, &m).unwrap().deliveries;
    let inbox = dir.path().join("sample/inbox");
    let bad = inbox.join("bad");
    fs::create_dir(&bad).unwrap();
    fs::write(bad.join("empty.csv"), b"").unwrap();
    fs::write(bad.join("BP-2023-1-Utrecht.xlsx"), b"respondent;wl01\n1;2\n").unwrap();
    fs::write(bad.join("garbage.csv"), (0..5000u32).map(|i| (i * 7919 % 251) as u8 + 1).collect::<Vec<u8>>()).unwrap();
    fs::write(bad.join("ragged.csv"), "respondent;gemnr;jr;wl01;wl02_2\n1;344;2023;7;1\n2;344;2023;8\n").unwrap();
    fs::write(bad.join("protected.xlsx"), encrypted_workbook()).unwrap();
    fs::write(bad.join("bomb.xlsx"), zip_bomb(3_000_000)).unwrap();
    fs::write(bad.join("far.xlsx"), far_cell_workbook()).unwrap();
    fs::write(bad.join("huge.csv"), vec![b'x'; 600_000]).unwrap();
    fs::write(bad.join("headerless.csv"), "a;b\n1;2\n").unwrap();
    let full = bad.join("truncated.xlsx");
    let real =
        fs::read(inbox.join(&generated.iter().find(|d| d.file_name.ends_with(".xlsx")).unwrap().file_name)).unwrap();
    fs::write(&full, &real[..real.len() / 2]).unwrap();
    let outside = dir.path().join("outside.csv");
    fs::write(&outside, "respondent;gemnr;jr;wl01;wl02_2\n1;344;2023;7;1\n").unwrap();
    std::os::unix::fs::symlink(&outside, bad.join("link.csv")).unwrap();
    fs::write(bad.join("report.pdf"), b"%PDF-1.4").unwrap();

    let pipeline = dir.path().join("pipeline.toml");
    fs::write(&pipeline, "name = \"test\"\n[limits]\nmax_file_bytes = 500000\nmax_decompressed_bytes = 2000000\n")
        .unwrap();
    let lake = dir.path().join("lake");
    let out = Command::new(env!("CARGO_BIN_EXE_burgerpeiling"))
        .current_dir(ROOT)
        .args(["--log-format", "json", "-vv", "--progress", "never", "--pipeline"])
        .arg(&pipeline)
        .args(["run", "--inbox"])
        .arg(&inbox)
        .arg("--lake")
        .arg(&lake)
        .arg("--state")
        .arg(dir.path().join("state"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    // rule → (file, level) from the log.
    let mut logged: BTreeMap<(String, String), String> = BTreeMap::new();
    for line in stderr.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let fields = &v["fields"];
        if let (Some(rule), Some(file)) = (fields["rule"].as_str(), fields["file"].as_str()) {
            logged.insert((file.to_string(), rule.to_string()), v["level"].as_str().unwrap().to_string());
        }
    }
    let expect = [
        ("bad/empty.csv", "ingest.file-empty", "WARN"),
        ("bad/BP-2023-1-Utrecht.xlsx", "ingest.file-corrupt", "WARN"),
        ("bad/garbage.csv", "ingest.file-corrupt", "WARN"),
        ("bad/ragged.csv", "ingest.ragged-row", "DEBUG"),
        ("bad/protected.xlsx", "ingest.password-protected", "WARN"),
        ("bad/bomb.xlsx", "ingest.decompressed-too-large", "WARN"),
        ("bad/far.xlsx", "ingest.far-cells-ignored", "DEBUG"),
        ("bad/huge.csv", "ingest.file-too-large", "WARN"),
        ("bad/headerless.csv", "ingest.no-header", "WARN"),
        ("bad/truncated.xlsx", "ingest.file-corrupt", "WARN"),
        ("bad/link.csv", "ingest.symlink-outside-inbox", "WARN"),
    ];
    for (file, rule, level) in expect {
        assert_eq!(
            logged.get(&(file.to_string(), rule.to_string())).map(String::as_str),
            Some(level),
            "{file} {rule}\n{stderr}"
        );
    }
    assert!(!stderr.contains("jan@"), "no cell contents in logs");

    // Rejected as their severity says; the warnings-only files are published.
    let d = read_parquet(&lake.join("deliveries.parquet"));
    let (names, status) = (column(&d, "file_name"), column(&d, "status"));
    let by_name: BTreeMap<&str, &str> = (0..d.num_rows()).map(|i| (names.value(i), status.value(i))).collect();
    for (file, _, level) in expect {
        let want = if level == "WARN" { "rejected" } else { "published" };
        assert_eq!(by_name[file], want, "{file}");
    }
    assert!(!by_name.contains_key("bad/report.pdf"));
    for g in &generated {
        assert_eq!(by_name[g.file_name.as_str()], "published", "{}", g.file_name);
    }

    // The good deliveries are all there, untouched by the bad ones.
    let r2023 = read_parquet(&lake.join("respondents/jaar=2023/part-0000.parquet"));
    let files_2023: usize = generated.iter().filter(|g| g.year == 2023).map(|g| g.respondents.len()).sum();
    // ragged.csv (2 rows, Utrecht) and far.xlsx (1 row, Amsterdam) are kept.
    assert_eq!(r2023.num_rows(), files_2023 + 3);
    let keys = column(&r2023, "respondent_key");
    assert!((0..keys.len()).all(|i| keys.is_valid(i)));
}
