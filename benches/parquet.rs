//! Writing one survey year (about 34,000 rows × 190 columns): `assemble` (keys and lake order),
//! `lake::year_record_batch` (the Arrow batch), Parquet encoding with the lake's settings into
//! memory, and `lake::publish_year` (encode, fsync, swap the partition in) on a scratch lake
//! under `target/bench-scratch/`. Throughput in rows.

mod common;

use burgerpeiling::{assemble, lake};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use parquet::arrow::ArrowWriter;

fn write_year(c: &mut Criterion) {
    let corpus = common::corpus();
    let cb = &corpus.config.codebook;
    let batches = common::kept_batches(&corpus, common::YEAR);
    let table = assemble::assemble(common::YEAR, batches.iter().collect());
    let weights = common::weigh(&corpus, &table);
    let rows = table.rows;
    let record_batch = lake::year_record_batch(&rows, batches.clone(), cb, &weights).expect("the year's record batch");
    let encode = || {
        let props = lake::writer_properties(&[]).expect("writer properties");
        let mut writer =
            ArrowWriter::try_new(Vec::new(), record_batch.schema(), Some(props)).expect("a Parquet writer");
        writer.write(&record_batch).expect("encode the year");
        writer.into_inner().expect("finish the file")
    };
    eprintln!("year {}: {} rows, {} bytes of Parquet", common::YEAR, record_batch.num_rows(), encode().len());

    let lake_dir = common::scratch("parquet-lake");
    let staging = lake::staging_dir(&lake_dir, "bench").expect("a staging directory");
    let mut group = c.benchmark_group("parquet");
    group.sample_size(10);
    group.throughput(Throughput::Elements(record_batch.num_rows() as u64));
    group.bench_function("assemble", |b| {
        b.iter(|| assemble::assemble(common::YEAR, batches.iter().collect()).rows.len())
    });
    group.bench_function("record batch", |b| {
        // The copy of the batches the call takes is made outside the timed part.
        b.iter_batched(
            || batches.clone(),
            |batches| lake::year_record_batch(&rows, batches, cb, &weights).expect("record batch").num_rows(),
            criterion::BatchSize::LargeInput,
        )
    });
    group.bench_function("encode", |b| b.iter(|| encode().len()));
    group.bench_function("publish year", |b| {
        b.iter(|| {
            let props = lake::writer_properties(&[]).expect("writer properties");
            lake::publish_year(
                &lake_dir,
                &staging,
                lake::YearPartition::Respondents,
                common::YEAR,
                &record_batch,
                props,
            )
            .expect("publish")
            .bytes
        })
    });
    group.finish();
}

criterion_group!(benches, write_year);
criterion_main!(benches);
