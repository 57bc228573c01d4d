//! Storage engine micro-benchmarks: append throughput and random reads.
//!
//! `cargo bench -p weir-storage` (about a minute). Appends go to the page cache (no fsync,
//! the default `flush.messages`), so they measure the engine's overhead plus a memcpy into the
//! kernel, not the disk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use weir_storage::test_util::batch_of_len;
use weir_storage::{Log, LogConfig};

/// Appended bytes after which the bench log is thrown away (untimed) to bound disk use.
const RESET_BYTES: usize = 512 << 20;

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    for size in [16 << 10, 1 << 20] {
        let records = batch_of_len(size, 0);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{}KiB", size >> 10)),
            &size,
            |b, &size| {
                b.iter_custom(|iters| {
                    let mut elapsed = Duration::ZERO;
                    let mut dir = tempfile::tempdir().unwrap();
                    let mut log = Log::open(dir.path(), LogConfig::default(), 0).unwrap();
                    let mut written = 0;
                    for _ in 0..iters {
                        if written >= RESET_BYTES {
                            log.delete().unwrap();
                            dir = tempfile::tempdir().unwrap();
                            log = Log::open(dir.path(), LogConfig::default(), 0).unwrap();
                            written = 0;
                        }
                        let start = Instant::now();
                        log.append(&records, 0).unwrap();
                        elapsed += start.elapsed();
                        written += size;
                    }
                    log.delete().unwrap();
                    elapsed
                })
            },
        );
    }
    group.finish();
}

/// xorshift64: deterministic offsets without a rand dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn read(c: &mut Criterion) {
    // 256 MiB of 1 KiB batches (262,144 of them) in four 64 MiB segments, 4 KiB index interval.
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 64 << 20,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), config, 0).unwrap();
    // Timestamps step by 1000 every 256 batches, for the timestamp lookups.
    let mut records = batch_of_len(1024, 0);
    for i in 0..(256 << 10) {
        if i % 256 == 0 {
            records = batch_of_len(1024, i64::from(i / 256) * 1000);
        }
        log.append(&records, 0).unwrap();
    }
    let max_ts: u64 = 1023 * 1000 + 1; // largest timestamp written, inclusive
    let leo = log.log_end_offset();
    let mut group = c.benchmark_group("read_random_offset");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for (name, max_bytes) in [("one_batch", 1usize), ("1MiB", 1 << 20)] {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                let offset = (next(&mut state) % leo as u64) as i64;
                let data = log.read(offset, max_bytes, true, leo).unwrap();
                assert!(data.slice.is_some());
                data
            })
        });
    }
    let mut state = 1u64;
    group.bench_function("offset_for_timestamp", |b| {
        b.iter(|| {
            let ts = (next(&mut state) % max_ts) as i64;
            log.offset_for_timestamp(ts).unwrap().unwrap()
        })
    });
    group.finish();
    log.delete().unwrap();
}

criterion_group!(benches, append, read);
criterion_main!(benches);
