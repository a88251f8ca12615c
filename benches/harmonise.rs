//! Harmonising speed: one survey year's raw tables (60 deliveries, about 34,000 rows) onto the
//! canonical schema, for a 2019-dataformat year (codes recoded) and a 2022 one. Deliveries are
//! harmonised one after another (the pipeline harmonises several at once); throughput in rows.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn harmonise_year(c: &mut Criterion) {
    let corpus = common::corpus();
    let mut group = c.benchmark_group("harmonise");
    group.sample_size(10);
    for year in [common::YEAR_2019, common::YEAR] {
        let tables = common::tables(&corpus, year);
        let rows: usize = tables.iter().map(|(_, t)| t.rows.len()).sum();
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_function(format!("year {year}"), |b| {
            b.iter(|| {
                tables
                    .iter()
                    .map(|(d, t)| common::harmonise_one(&corpus, d, t).batch.map_or(0, |b| b.len()))
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, harmonise_year);
criterion_main!(benches);
