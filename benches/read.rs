//! Reading speed per delivery format on the 340,000-respondent synthetic corpus
//! (57 municipalities × 2015-2024 × ~600 respondents, 55% xlsx, 45% csv).
//!
//! The corpus is synthesised once into `target/bench-corpus/` (deterministic, seed 1) and reused.
//! Criterion reports bytes/s; rows/s is printed beside it from the corpus' row count.

use std::path::{Path, PathBuf};

use burgerpeiling::codebook::{Codebook, canonical_name};
use burgerpeiling::ingest::{self, Format};
use burgerpeiling::municipality::Municipalities;
use burgerpeiling::synth::{self, SynthOptions};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn corpus(cb: &Codebook, m: &Municipalities) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/bench-corpus");
    if !out.join("population/population.csv").exists() {
        let _ = std::fs::remove_dir_all(&out);
        let opts = SynthOptions {
            out: out.clone(),
            seed: 1,
            municipalities: 57,
            years: (2015, 2024),
            respondents: 600,
            messy: false,
        };
        synth::synth(&opts, cb, m).expect("synthesise the benchmark corpus");
    }
    out.join("inbox")
}

fn read_formats(c: &mut Criterion) {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let cb = Codebook::load(&config).expect("config");
    let m = Municipalities::load(&config).expect("config");
    let inbox = ingest::discover(&corpus(&cb, &m), u64::MAX).expect("inbox");
    let known = |name: &str| cb.is_known(&canonical_name(name));

    let mut group = c.benchmark_group("read");
    group.sample_size(10);
    for format in [Format::Csv, Format::Xlsx] {
        let files: Vec<_> = inbox.deliveries.iter().filter(|d| d.format == format).collect();
        let bytes: u64 = files.iter().map(|d| d.bytes).sum();
        let rows: usize = files
            .iter()
            .map(|d| ingest::read(&d.path, d.format, &d.id, &known, u64::MAX).0.map_or(0, |t| t.rows.len()))
            .sum();
        eprintln!("{}: {} files, {bytes} bytes, {rows} rows", format.as_str(), files.len());
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(format.as_str(), |b| {
            b.iter(|| {
                files
                    .iter()
                    .map(|d| ingest::read(&d.path, d.format, &d.id, &known, u64::MAX).0.map_or(0, |t| t.rows.len()))
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, read_formats);
criterion_main!(benches);
