//! `weir perf produce`: Kafka's ProducerPerformance on the native producer.
//!
//! Sends `--num-records` records of `--record-size` bytes (random letters, as Kafka's tool) at
//! `--throughput` records/s (`-1`: as fast as possible). Every record's latency (send to
//! acknowledgement) is recorded by its callback. Prints Kafka's lines: every 5 s a window
//! summary (on a terminal, a live progress line instead), then the total with avg, max and
//! p50/p95/p99/p99.9; with `--json`, a last line that is one JSON object with those figures.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use weir_client::{Producer, ProducerConfig, ProducerRecord};

use super::latency::Latencies;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    topic: String,
    #[arg(long)]
    num_records: u64,
    #[arg(long)]
    record_size: usize,
    /// Records per second; -1 for no limit.
    #[arg(long, allow_negative_numbers = true)]
    throughput: f64,
    /// Producer settings by Kafka name, `key=value ...` (must include bootstrap.servers unless
    /// --bootstrap-server is given).
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
    producer_props: Vec<String>,
    #[arg(long)]
    bootstrap_server: Option<String>,
    /// Print one JSON object with the final figures as the last line.
    #[arg(long)]
    json: bool,
    /// Seconds between window reports (Kafka: 5).
    #[arg(long, default_value_t = 5.0)]
    reporting_interval: f64,
}

/// Latency and byte counters, fed by the delivery callbacks.
struct Stats {
    start: Instant,
    count: u64,
    bytes: u64,
    errors: u64,
    first_error: Option<String>,
    latencies: Latencies,
    window: Window,
}

struct Window {
    start: Instant,
    count: u64,
    bytes: u64,
    latency_sum_ms: f64,
    latency_max_ms: f64,
}

impl Window {
    fn new(now: Instant) -> Self {
        Window {
            start: now,
            count: 0,
            bytes: 0,
            latency_sum_ms: 0.0,
            latency_max_ms: 0.0,
        }
    }
}

const MB: f64 = 1024.0 * 1024.0; // Kafka's tool divides by 1024*1024

impl Stats {
    fn record(&mut self, latency: Duration, bytes: usize) {
        let ms = latency.as_secs_f64() * 1000.0;
        self.count += 1;
        self.bytes += bytes as u64;
        self.latencies.record(latency);
        let w = &mut self.window;
        w.count += 1;
        w.bytes += bytes as u64;
        w.latency_sum_ms += ms;
        w.latency_max_ms = w.latency_max_ms.max(ms);
    }

    fn window_line(&mut self, now: Instant) -> String {
        let w = std::mem::replace(&mut self.window, Window::new(now));
        let secs = now.duration_since(w.start).as_secs_f64().max(1e-9);
        format!(
            "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
            w.count,
            w.count as f64 / secs,
            w.bytes as f64 / MB / secs,
            if w.count > 0 { w.latency_sum_ms / w.count as f64 } else { 0.0 },
            w.latency_max_ms
        )
    }
}

/// Paces sends to `rate` records/s (Kafka's ThroughputThrottler, without busy waiting).
struct Throttle {
    rate: f64,
    start: Instant,
}

impl Throttle {
    async fn wait(&self, sent: u64) {
        if self.rate <= 0.0 {
            return;
        }
        let due = self.start + Duration::from_secs_f64(sent as f64 / self.rate);
        let now = Instant::now();
        if due > now + Duration::from_millis(1) {
            tokio::time::sleep(due - now).await;
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.record_size == 0 {
        bail!("--record-size must be at least 1");
    }
    let mut bootstrap = args.bootstrap_server.clone();
    let mut props = Vec::new();
    for p in &args.producer_props {
        let (k, v) = crate::key_value(p)?;
        if k == "bootstrap.servers" {
            bootstrap = Some(v);
        } else {
            props.push((k, v));
        }
    }
    let bootstrap =
        bootstrap.context("bootstrap.servers missing (--producer-props bootstrap.servers=H:P)")?;
    let mut config = ProducerConfig::new(&bootstrap);
    for (k, v) in &props {
        config.set(k, v)?;
    }
    let producer = Producer::new(config).await.context("cannot connect")?;

    // Random uppercase letters, as Kafka's tool fills its payload.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let payload: Vec<u8> = (0..args.record_size)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            b'A' + (seed % 26) as u8
        })
        .collect();

    let start = Instant::now();
    let stats = Arc::new(Mutex::new(Stats {
        start,
        count: 0,
        bytes: 0,
        errors: 0,
        first_error: None,
        latencies: Latencies::with_capacity(args.num_records),
        window: Window::new(start),
    }));
    let terminal = std::io::stdout().is_terminal();
    let interval = Duration::from_secs_f64(args.reporting_interval.max(0.1));
    let reporter = {
        let stats = stats.clone();
        let total = args.num_records;
        tokio::spawn(async move {
            let tick = if terminal {
                Duration::from_millis(500)
            } else {
                interval
            };
            let mut next_window = Instant::now() + interval;
            loop {
                tokio::time::sleep(tick).await;
                let now = Instant::now();
                let Ok(mut s) = stats.lock() else { return };
                if terminal {
                    let secs = now.duration_since(s.start).as_secs_f64().max(1e-9);
                    let line = format!(
                        "\r{} / {} records ({:.0}%), {:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency   ",
                        s.count,
                        total,
                        100.0 * s.count as f64 / total.max(1) as f64,
                        s.count as f64 / secs,
                        s.bytes as f64 / MB / secs,
                        s.latencies.avg_ms(),
                    );
                    print!("{line}");
                    let _ = std::io::stdout().flush();
                } else if now >= next_window {
                    println!("{}", s.window_line(now));
                    next_window = now + interval;
                }
            }
        })
    };

    let throttle = Throttle {
        rate: args.throughput,
        start,
    };
    let size = args.record_size;
    for i in 0..args.num_records {
        throttle.wait(i).await;
        let sent_at = Instant::now();
        let s = stats.clone();
        producer
            .send_with_callback(
                ProducerRecord::new(&args.topic).value(&payload),
                move |result| {
                    let latency = sent_at.elapsed();
                    if let Ok(mut s) = s.lock() {
                        match result {
                            Ok(_) => s.record(latency, size),
                            Err(e) => {
                                s.errors += 1;
                                if s.first_error.is_none() {
                                    s.first_error = Some(e.to_string());
                                }
                            }
                        }
                    }
                },
            )
            .await?;
    }
    producer.flush().await?;
    let elapsed = start.elapsed().as_secs_f64().max(1e-9);
    producer.close().await?;
    reporter.abort();
    if terminal {
        println!();
    }
    let mut s = match stats.lock() {
        Ok(s) => s,
        Err(p) => p.into_inner(),
    };
    if let Some(e) = &s.first_error {
        bail!(
            "{} of {} records failed; first error: {e}",
            s.errors,
            args.num_records
        );
    }
    let l = s.latencies.summary();
    let rps = s.count as f64 / elapsed;
    let mbps = s.bytes as f64 / MB / elapsed;
    println!(
        "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency, {:.0} ms 50th, {:.0} ms 95th, {:.0} ms 99th, {:.0} ms 99.9th.",
        s.count, rps, mbps, l.avg_ms, l.max_ms, l.p50_ms, l.p95_ms, l.p99_ms, l.p999_ms
    );
    if args.json {
        println!(
            "{{\"records\": {}, \"record_size\": {}, \"elapsed_s\": {:.3}, \"records_per_sec\": {:.1}, \"mb_per_sec\": {:.2}, {}}}",
            s.count,
            size,
            elapsed,
            rps,
            mbps,
            l.json_fields()
        );
    }
    Ok(())
}
