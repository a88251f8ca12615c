//! Other engines take over from the lake as it is: DuckDB (Python package, installed by
//! `.ci/run`) reads the respondents with hive partitioning and gets the row counts synth wrote;
//! pyarrow, Polars and DuckDB each show every lake file's metadata (product version, codebook,
//! hashes, delivery ids), which the product puts into the footer and into the Arrow schema.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use burgerpeiling::codebook::Codebook;
use burgerpeiling::municipality::Municipalities;
use burgerpeiling::synth::{self, SynthOptions};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn duckdb_reads_the_lake_with_hive_partitioning() {
    let dir = tempfile::tempdir().unwrap();
    let config = Path::new(ROOT).join("config");
    let (cb, m) = (Codebook::load(&config).unwrap(), Municipalities::load(&config).unwrap());
    let opts = SynthOptions {
        out: dir.path().join("s"),
        municipalities: 3,
        years: (2021, 2023),
        respondents: 50,
        ..SynthOptions::default()
    };
    let generated = synth::synth(&opts, &cb, &m).unwrap().deliveries;
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for d in &generated {
        *expected.entry(d.year.to_string()).or_default() += d.respondents.len();
    }
    let lake = dir.path().join("lake");
    let out = common::run_args(common::binary().arg("-q"), &dir.path().join("s"), &lake, &dir.path().join("state"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let script = Path::new(ROOT).join("tests/duckdb_reads_lake.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&lake)
        .arg(serde_json::to_string(&expected).unwrap())
        .output()
        .expect("python3 is needed for this test (.ci/run installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "DuckDB did not read the lake as expected (needs `pip install duckdb`):\n{text}");
    assert!(text.contains("duckdb: ok"), "{text}");

    let mut files = vec![lake.join("deliveries.parquet"), lake.join("weighting.parquet")];
    files.extend(expected.keys().map(|year| lake.join(format!("respondents/jaar={year}/part-0000.parquet"))));
    let out = Command::new("python3")
        .arg(Path::new(ROOT).join("tests/engines_read_metadata.py"))
        .args(&files)
        .output()
        .expect("python3 is needed for this test (.ci/run installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "an engine does not show the file metadata (needs `pip install pyarrow polars duckdb`):\n{text}"
    );
    assert!(text.contains("metadata: ok") && text.matches(": ok").count() == 3 * files.len() + 1, "{text}");
}
