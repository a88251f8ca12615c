//! Deduplication speed: rules 3-6 over one survey year's batches (`dedup::dedup_year`, parallel
//! over municipality-years), and the same followed by `kept_batches`, as the pipeline runs it.
//! The corpus plants no duplicates, so this is the cost of looking; throughput in rows.

mod common;

use burgerpeiling::dedup;
use burgerpeiling::harmonise::Batch;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn dedup_year(c: &mut Criterion) {
    let corpus = common::corpus();
    let batches = common::batches(&corpus, common::YEAR);
    let refs: Vec<&Batch> = batches.iter().collect();
    let opts = common::dedup_options(&corpus);
    let rows: usize = batches.iter().map(Batch::len).sum();
    let mut group = c.benchmark_group("dedup");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows as u64));
    group
        .bench_function(format!("year {}", common::YEAR), |b| b.iter(|| dedup::dedup_year(&refs, &opts).dropped.len()));
    group.bench_function(format!("year {} and kept batches", common::YEAR), |b| {
        b.iter(|| dedup::kept_batches(&refs, &dedup::dedup_year(&refs, &opts)).len())
    });
    group.finish();
}

criterion_group!(benches, dedup_year);
criterion_main!(benches);
