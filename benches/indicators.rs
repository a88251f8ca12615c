//! Indicators speed (issue 18): the whole catalogue — every respondent-level indicator, every
//! municipality-year figure and every national figure with its uncertainty — computed from the
//! lake's rows, for one survey year (what a nightly run that changed one year adds) and for all
//! ten years of the corpus at once, years in parallel as the year stage runs them. The lake's
//! rows are built here as the pipeline builds them (assemble, weigh, `lake::year_record_batch`);
//! only `pipeline::year_indicators` is timed.

mod common;

use arrow_array::RecordBatch;
use burgerpeiling::indicators::figures::PublicationRules;
use burgerpeiling::{assemble, lake, pipeline};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;

/// One survey year's rows as the lake partition holds them.
fn lake_rows(corpus: &common::Corpus, year: u16) -> RecordBatch {
    let batches = common::kept_batches(corpus, year);
    let table = assemble::assemble(year, batches.iter().collect());
    let weights = common::weigh(corpus, &table);
    let rows = table.rows;
    lake::year_record_batch(&rows, batches, &corpus.config.codebook, &weights).expect("the year's lake rows")
}

fn figure_count(year: u16, rows: &RecordBatch, corpus: &common::Corpus) -> usize {
    let rules = PublicationRules::default();
    let done = pipeline::year_indicators(year, rows.clone(), &corpus.config, &rules).expect("indicators");
    done.figures.municipality.num_rows() + done.figures.national.num_rows()
}

fn indicators(c: &mut Criterion) {
    let corpus = common::corpus();
    let years: Vec<(u16, RecordBatch)> = (2015..=2024).map(|y| (y, lake_rows(&corpus, y))).collect();
    let rows: usize = years.iter().map(|(_, b)| b.num_rows()).sum();
    let mut group = c.benchmark_group("indicators");
    group.sample_size(10);
    let (year, one) = years.iter().find(|(y, _)| *y == common::YEAR).expect("the benchmark year");
    group.throughput(Throughput::Elements(one.num_rows() as u64));
    group.bench_function(format!("catalogue, year {year}"), |b| b.iter(|| figure_count(*year, one, &corpus)));
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function("catalogue, all years", |b| {
        b.iter(|| years.par_iter().map(|(y, batch)| figure_count(*y, batch, &corpus)).sum::<usize>())
    });
    group.finish();
}

criterion_group!(benches, indicators);
criterion_main!(benches);
