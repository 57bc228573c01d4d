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

fn kafka_time(ms: i64) -> String {
    // Kafka prints yyyy-MM-dd HH:mm:ss:SSS in local time; UTC here.
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}:{:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
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
    let mut ages: Vec<i64> = Vec::with_capacity(args.messages.min(10_000_000) as usize);
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
            ages.push((now - r.timestamp).max(0));
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
    ages.sort_unstable();
    let avg = if ages.is_empty() {
        0.0
    } else {
        ages.iter().sum::<i64>() as f64 / ages.len() as f64
    };
    let max = ages.last().copied().unwrap_or(0);
    let (p50, p95, p99, p999) = (
        percentile(&ages, 0.5),
        percentile(&ages, 0.95),
        percentile(&ages, 0.99),
        percentile(&ages, 0.999),
    );
    let rps = count as f64 / elapsed;
    let mbps = mb / elapsed;
    println!(
        "{count} records received, {rps:.1} records/sec ({mbps:.2} MB/sec), {avg:.2} ms avg latency, {max} ms max latency, {p50} ms 50th, {p95} ms 95th, {p99} ms 99th, {p999} ms 99.9th."
    );
    if args.json {
        println!(
            "{{\"records\": {count}, \"bytes\": {bytes}, \"elapsed_s\": {elapsed:.3}, \"rebalance_ms\": {rebalance_ms:.0}, \"records_per_sec\": {rps:.1}, \"mb_per_sec\": {mbps:.2}, \"fetch_records_per_sec\": {:.1}, \"avg_latency_ms\": {avg:.3}, \"max_latency_ms\": {max}, \"p50_ms\": {p50}, \"p95_ms\": {p95}, \"p99_ms\": {p99}, \"p999_ms\": {p999}}}",
            count as f64 / fetch_s
        );
    }
    if count < args.messages {
        bail!("only {count} of {} records arrived", args.messages);
    }
    Ok(())
}
