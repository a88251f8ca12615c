//! Weighting speed: every municipality-year of one survey year (`pipeline::weigh_year` with
//! the pipeline's default options: post-stratification on age, or age × district, with sparse
//! cells merged and trimming) plus the year's national weights; throughput in rows.

mod common;

use burgerpeiling::assemble;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn weight_year(c: &mut Criterion) {
    let corpus = common::corpus();
    let batches = common::kept_batches(&corpus, common::YEAR);
    let table = assemble::assemble(common::YEAR, batches.iter().collect());
    let mut group = c.benchmark_group("weight");
    group.sample_size(10);
    group.throughput(Throughput::Elements(table.rows.len() as u64));
    group.bench_function(format!("year {}", common::YEAR), |b| b.iter(|| common::weigh(&corpus, &table).weight.len()));
    group.finish();
}

criterion_group!(benches, weight_year);
criterion_main!(benches);
