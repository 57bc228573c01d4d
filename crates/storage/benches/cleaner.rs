//! Log cleaner throughput: a 64 MiB log of 100-record batches (200-byte random letters as
//! values) over 10,000 keys, uncompressed and lz4, cleaned in one pass (plan, offset map,
//! rewrite, swap). The figure is bytes of log cleaned per second on one thread (the cleaner
//! uses one core). Most batches of that log lose all their records; `lz4-100k-keys` has each
//! key about three times, so most batches lose some records and are rebuilt (decompressed
//! twice and compressed again), the cleaner's slowest case.
//!
//! Criterion's figure is wall time, which other processes on a shared machine stretch; the
//! bench also prints the cleaning thread's own CPU time per pass (from
//! `/proc/thread-self/schedstat`), the "MB/s per core" the issue asks for.
//!
//! `cargo bench -p weir-storage --bench cleaner`

// Bench setup panics on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use weir_storage::cleaner_codec::{codec, keyed_batch};
use weir_storage::{CleanerConfig, Log, LogConfig};

const LOG_BYTES: usize = 64 << 20;
const PER_BATCH: usize = 100;

fn batches(codec: i16, key_count: usize) -> Vec<Vec<u8>> {
    // Values of random printable bytes, so that lz4 compresses little (as real payloads).
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut random_value = || -> Vec<u8> {
        (0..200)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                b'a' + (state % 26) as u8
            })
            .collect()
    };
    let mut out = Vec::new();
    let mut size = 0;
    let mut i = 0usize;
    while size < LOG_BYTES {
        let keys: Vec<Vec<u8>> = (0..PER_BATCH)
            .map(|j| format!("key-{:06}", (i + j * 7919) % key_count).into_bytes())
            .collect();
        let values: Vec<Vec<u8>> = (0..PER_BATCH).map(|_| random_value()).collect();
        let records: Vec<_> = keys
            .iter()
            .zip(&values)
            .map(|(k, v)| (Some(k.as_slice()), Some(v.as_slice())))
            .collect();
        let b = keyed_batch(&records, 1_000, codec);
        size += b.len();
        out.push(b);
        i += PER_BATCH;
    }
    out
}

/// Nanoseconds this thread has run on a CPU (Linux schedstat; 0 elsewhere).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn clean_once(batches: &[Vec<u8>]) -> (Duration, Duration, u64) {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 8 << 20,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), config, 0).unwrap();
    for b in batches {
        log.append(b, 1_000).unwrap();
    }
    let cleaner = CleanerConfig {
        min_cleanable_dirty_ratio: 0.0,
        ..CleanerConfig::default()
    };
    let start = Instant::now();
    let cpu_start = thread_cpu_ns();
    let plan = log
        .plan_cleaning(&cleaner, 0, log.log_end_offset(), 2_000)
        .unwrap()
        .unwrap();
    let stats = log.install_cleaned(plan.clean().unwrap()).unwrap();
    let cpu = Duration::from_nanos(thread_cpu_ns().saturating_sub(cpu_start));
    (start.elapsed(), cpu, stats.bytes_before)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("cleaner");
    group.sample_size(10);
    for (name, codec, keys) in [
        ("none", codec::NONE, 10_000),
        ("lz4", codec::LZ4, 10_000),
        ("lz4-100k-keys", codec::LZ4, 100_000),
    ] {
        let batches = batches(codec, keys);
        let (_, _, cleaned_bytes) = clean_once(&batches);
        group.throughput(Throughput::Bytes(cleaned_bytes));
        let mut cpu = Vec::new();
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let (wall, on_cpu, _) = clean_once(&batches);
                        cpu.push(on_cpu);
                        wall
                    })
                    .sum()
            })
        });
        cpu.sort();
        if let Some(median) = cpu.get(cpu.len() / 2).filter(|d| !d.is_zero()) {
            let mib_s = cleaned_bytes as f64 / (1 << 20) as f64 / median.as_secs_f64();
            println!(
                "cleaner/{name}: median CPU time {:.1} ms per pass over {} runs: {mib_s:.0} MiB/s per core",
                median.as_secs_f64() * 1e3,
                cpu.len()
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
