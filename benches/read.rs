//! Reading speed per delivery format (xlsx, csv, xls, sav) on the corpus of issue 9
//! (`benches/common`: 60 municipalities × 2015-2024 × ~567 respondents, about 340,000 rows).
//!
//! Each format's files are read one after another (the pipeline reads several at once).
//! Criterion reports bytes/s; rows/s is printed beside it from the corpus' row count.
//! `inflate/xlsx` times inflating the `.xlsx` files' XML alone: the floor of `read/xlsx`.

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

/// The floor the `.xlsx` reader aims at (issue 17): inflating the parts it reads (sheets, shared
/// strings, styles, workbook and relationships) of every `.xlsx` in the corpus, nothing parsed.
fn inflate_xlsx(c: &mut Criterion) {
    use std::io::Read;
    let corpus = common::corpus();
    let files: Vec<Vec<u8>> = corpus
        .deliveries
        .iter()
        .filter(|d| d.format == Format::Xlsx)
        .map(|d| std::fs::read(&d.path).expect("read a corpus file"))
        .collect();
    let inflate_all = || {
        let mut xml = Vec::new();
        let mut total = 0u64;
        for bytes in &files {
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.as_slice())).expect("a zip");
            for i in 0..zip.len() {
                let mut entry = zip.by_index(i).expect("an entry");
                let name = entry.name().expect("a name").to_string();
                if name.starts_with("xl/") && name.ends_with(".xml") || name.ends_with(".rels") {
                    xml.clear();
                    total += entry.read_to_end(&mut xml).expect("inflate") as u64;
                }
            }
        }
        total
    };
    let xml_bytes = inflate_all();
    eprintln!("xlsx: {} files inflate to {xml_bytes} bytes of XML", files.len());
    let mut group = c.benchmark_group("inflate");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(xml_bytes));
    group.bench_function("xlsx", |b| b.iter(inflate_all));
    group.finish();
}

criterion_group!(benches, read_formats, inflate_xlsx);
criterion_main!(benches);
