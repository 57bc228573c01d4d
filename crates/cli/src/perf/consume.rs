//! `weir perf consume`: Kafka's ConsumerPerformance on the native consumer.
//!
//! Reads `--messages` records of `--topic` from the beginning (with `--group`, from the group's
//! committed offsets; without, a fresh group `perf-consumer-<pid>` is used as in Kafka) and
//! prints Kafka's CSV lines (`start.time, end.time, data.consumed.in.MB, MB.sec, ...`), then a
//! summary with records/s, MB/s and the latency percentiles, where a record's latency is its
//! age when handed out (poll time minus record timestamp). On a terminal a progress line is
//! updated live; `--json` adds one JSON object as the last line.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use weir_client::{Consumer, ConsumerConfig};

use super::latency::Latencies;
use crate::time::kafka_time;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    bootstrap_server: String,
    #[arg(long)]
    topic: String,
    /// How many records to read.
    #[arg(long)]
    messages: u64,
    /// The consumer group (default: a fresh one).
    #[arg(long)]
    group: Option<String>,
    /// Give up when no record arrived for this many ms (Kafka: 10000).
    #[arg(long, default_value_t = 10_000)]
    timeout: u64,
    /// Consumer settings by Kafka name, `key=value ...`.
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
    consumer_props: Vec<String>,
    /// Print one JSON object with the final figures as the last line.
    #[arg(long)]
    json: bool,
    /// Milliseconds between progress updates on a terminal.
    #[arg(long, default_value_t = 1000)]
    reporting_interval: u64,
}

const MB: f64 = 1024.0 * 1024.0;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.messages == 0 {
        bail!("--messages must be at least 1");
    }
    let mut config = ConsumerConfig::new(&args.bootstrap_server);
    config.set("client.id", "perf-consumer-client")?;
    config.set("auto.offset.reset", "earliest")?;
    let group = args
        .group
        .clone()
        .unwrap_or_else(|| format!("perf-consumer-{}", std::process::id()));
    config.set("group.id", &group)?;
    for p in &args.consumer_props {
        let (k, v) = crate::key_value(p)?;
        config.set(&k, &v)?;
    }
    let start_ms = now_ms();
    let start = Instant::now();
    let mut consumer = Consumer::new(config).await.context("cannot connect")?;
    consumer.subscribe(vec![args.topic.clone()]).await?;
    let terminal = std::io::stdout().is_terminal();
    let idle = Duration::from_millis(args.timeout);
    let report_every = Duration::from_millis(args.reporting_interval.max(100));
    let mut last_report = Instant::now();
    let mut last_record = Instant::now();
    let mut count: u64 = 0;
    let mut bytes: u64 = 0;
    let mut ages = Latencies::with_capacity(args.messages);
    let mut joined_at: Option<Instant> = None;
    while count < args.messages {
        let joined = consumer.group_member().is_some();
        let records = consumer.poll(Duration::from_millis(100)).await?;
        if !joined && consumer.group_member().is_some() {
            joined_at = Some(Instant::now());
            last_record = Instant::now();
        }
        if records.is_empty() {
            if last_record.elapsed() >= idle {
                break;
            }
            continue;
        }
        last_record = Instant::now();
        let now = now_ms();
        for r in records.iter().take((args.messages - count) as usize) {
            count += 1;
            bytes += (r.value.as_ref().map_or(0, |v| v.len())
                + r.key.as_ref().map_or(0, |k| k.len())) as u64;
            ages.record(Duration::from_millis((now - r.timestamp).max(0) as u64));
        }
        if terminal && last_report.elapsed() >= report_every {
            last_report = Instant::now();
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            print!(
                "\r{count} records, {:.1} records/sec ({:.2} MB/sec)   ",
                count as f64 / secs,
                bytes as f64 / MB / secs
            );
            let _ = std::io::stdout().flush();
        }
    }
    let end_ms = now_ms();
    let elapsed = start.elapsed().as_secs_f64().max(1e-9);
    let rebalance_ms = joined_at.map_or(0.0, |j| (j - start).as_secs_f64() * 1000.0);
    let fetch_s = (elapsed - rebalance_ms / 1000.0).max(1e-9);
    consumer.close().await?;
    if terminal {
        println!();
    }
    if count < args.messages {
        eprintln!(
            "WARNING: Exiting before consuming the expected number of messages: timeout ({} ms) exceeded.",
            args.timeout
        );
    }
    let mb = bytes as f64 / MB;
    println!("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec");
    println!(
        "{}, {}, {:.4}, {:.4}, {}, {:.4}, {:.0}, {:.0}, {:.4}, {:.4}",
        kafka_time(start_ms),
        kafka_time(end_ms),
        mb,
        mb / elapsed,
        count,
        count as f64 / elapsed,
        rebalance_ms,
        fetch_s * 1000.0,
        mb / fetch_s,
        count as f64 / fetch_s
    );
    let l = ages.summary();
    let rps = count as f64 / elapsed;
    let mbps = mb / elapsed;
    println!(
        "{count} records received, {rps:.1} records/sec ({mbps:.2} MB/sec), {:.2} ms avg latency, {:.0} ms max latency, {:.0} ms 50th, {:.0} ms 95th, {:.0} ms 99th, {:.0} ms 99.9th.",
        l.avg_ms, l.max_ms, l.p50_ms, l.p95_ms, l.p99_ms, l.p999_ms
    );
    if args.json {
        println!(
            "{{\"records\": {count}, \"bytes\": {bytes}, \"elapsed_s\": {elapsed:.3}, \"rebalance_ms\": {rebalance_ms:.0}, \"records_per_sec\": {rps:.1}, \"mb_per_sec\": {mbps:.2}, \"fetch_records_per_sec\": {:.1}, {}}}",
            count as f64 / fetch_s,
            l.json_fields()
        );
    }
    if count < args.messages {
        bail!("only {count} of {} records arrived", args.messages);
    }
    Ok(())
}
