//! Reading speed per delivery format (xlsx, csv, xls, sav) on the corpus of issue 9
//! (`benches/common`: 60 municipalities × 2015-2024 × ~567 respondents, about 340,000 rows).
//!
//! Each format's files are read one after another (the pipeline reads several at once).
//! Criterion reports bytes/s; rows/s is printed beside it from the corpus' row count.

mod common;

use burgerpeiling::ingest::Format;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn read_formats(c: &mut Criterion) {
    let corpus = common::corpus();
    let mut group = c.benchmark_group("read");
    group.sample_size(10);
    for format in [Format::Csv, Format::Xlsx, Format::Xls, Format::Sav] {
        let files: Vec<_> = corpus.deliveries.iter().filter(|d| d.format == format).collect();
        let bytes: u64 = files.iter().map(|d| d.bytes).sum();
        let rows: usize = files.iter().map(|d| common::read(&corpus, d).rows.len()).sum();
        eprintln!("{}: {} files, {bytes} bytes, {rows} rows", format.as_str(), files.len());
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(format.as_str(), |b| {
            b.iter(|| files.iter().map(|d| common::read(&corpus, d).rows.len()).sum::<usize>())
        });
    }
    group.finish();
}

criterion_group!(benches, read_formats);
criterion_main!(benches);
