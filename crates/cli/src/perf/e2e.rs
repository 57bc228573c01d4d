//! `weir perf e2e`: end-to-end latency, from `send` to the record coming out of a consumer's
//! `poll`, at a fixed rate (Kafka's EndToEndLatency sends one record at a time; a fixed rate
//! is closer to how a latency budget is stated, e.g. "p99 under 5 ms at 5,000 records/s").
//!
//! One process runs both sides on one clock: each record carries the run's id and its send
//! time (a monotonic offset from the run's start) in its first 16 bytes, so latency needs no
//! synchronised wall clocks and records of other producers on the topic are ignored. The
//! consumer is assigned every partition at its end before the first send (no group, so no
//! rebalance in the measurement).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use weir_client::admin::NewTopic;
use weir_client::{
    Admin, Consumer, ConsumerConfig, Producer, ProducerConfig, ProducerRecord, TopicPartition,
};

use super::latency::Latencies;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    bootstrap_server: String,
    #[arg(long)]
    topic: String,
    #[arg(long, default_value_t = 10_000)]
    num_records: u64,
    /// Bytes per record (at least 16: the run id and send time).
    #[arg(long, default_value_t = 100)]
    record_size: usize,
    /// Records per second.
    #[arg(long, default_value_t = 5000.0)]
    throughput: f64,
    /// Producer settings by Kafka name, `key=value ...` (default acks=1, linger.ms=0).
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
    producer_props: Vec<String>,
    /// Consumer settings by Kafka name, `key=value ...`.
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
    consumer_props: Vec<String>,
    /// Give up when no record arrived for this many ms after the last send.
    #[arg(long, default_value_t = 10_000)]
    timeout: u64,
    /// Print one JSON object with the final figures as the last line.
    #[arg(long)]
    json: bool,
}

/// First bytes of every record: run id, then micros since the run's start.
const STAMP: usize = 16;

pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.record_size < STAMP {
        bail!("--record-size must be at least {STAMP} (the run id and send time)");
    }
    if args.throughput <= 0.0 {
        bail!("--throughput must be a positive rate in records/s");
    }
    let partitions = partitions_of(&args.bootstrap_server, &args.topic).await?;

    let mut cconfig = ConsumerConfig::new(&args.bootstrap_server);
    cconfig.set("client.id", "perf-e2e-consumer")?;
    for p in &args.consumer_props {
        let (k, v) = crate::key_value(p)?;
        cconfig.set(&k, &v)?;
    }
    let mut consumer = Consumer::new(cconfig).await.context("cannot connect")?;
    let tps: Vec<TopicPartition> = partitions
        .iter()
        .map(|&p| TopicPartition::new(&args.topic, p))
        .collect();
    consumer.assign(tps.clone()).await?;
    consumer.seek_to_end(&tps)?;
    // Resolve the end offsets now: records sent before this would otherwise be skipped.
    for tp in &tps {
        consumer.position(tp).await?;
    }

    let mut pconfig = ProducerConfig::new(&args.bootstrap_server);
    pconfig.set("acks", "1")?;
    pconfig.set("linger.ms", "0")?;
    for p in &args.producer_props {
        let (k, v) = crate::key_value(p)?;
        pconfig.set(&k, &v)?;
    }
    let producer = Producer::new(pconfig).await.context("cannot connect")?;

    let run_id = u64::from(std::process::id()) << 32 | u64::from(rand_u32());
    let start = Instant::now();
    let total = args.num_records;
    let idle = Duration::from_millis(args.timeout);
    let receiver = tokio::spawn(async move {
        let mut latencies = Latencies::with_capacity(total);
        let terminal = std::io::stdout().is_terminal();
        let mut last_report = Instant::now();
        let mut last_record = Instant::now();
        while (latencies.len() as u64) < total && last_record.elapsed() < idle {
            let records = consumer.poll(Duration::from_millis(100)).await?;
            let now = start.elapsed();
            for r in &records {
                let Some(v) = r.value.as_deref() else {
                    continue;
                };
                let Some((id, sent)) = stamp_of(v) else {
                    continue;
                };
                if id == run_id {
                    latencies.record(now.saturating_sub(Duration::from_micros(sent)));
                    last_record = Instant::now();
                }
            }
            if terminal && last_report.elapsed() >= Duration::from_millis(500) {
                last_report = Instant::now();
                print!(
                    "\r{} / {total} records, {:.2} ms avg latency   ",
                    latencies.len(),
                    latencies.avg_ms()
                );
                let _ = std::io::stdout().flush();
            }
        }
        if terminal {
            println!();
        }
        consumer.close().await?;
        anyhow::Ok(latencies)
    });

    let mut payload = vec![b'x'; args.record_size];
    payload[..8].copy_from_slice(&run_id.to_be_bytes());
    let errors = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    for i in 0..total {
        // Fixed schedule from the start, so a slow send does not lower the rate after it.
        let due = start + Duration::from_secs_f64(i as f64 / args.throughput);
        tokio::time::sleep_until(due.into()).await;
        let sent = start.elapsed().as_micros() as u64;
        payload[8..STAMP].copy_from_slice(&sent.to_be_bytes());
        let errors = errors.clone();
        producer
            .send_with_callback(ProducerRecord::new(&args.topic).value(&payload), move |r| {
                if r.is_err() {
                    errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
            .await?;
    }
    producer.flush().await?;
    producer.close().await?;
    let mut latencies = receiver.await.context("consumer task")??;
    let failed = errors.load(std::sync::atomic::Ordering::Relaxed);
    let l = latencies.summary();
    println!(
        "{} records at {:.0} records/s, {:.3} ms avg latency, {:.3} ms max latency, {:.3} ms 50th, {:.3} ms 95th, {:.3} ms 99th, {:.3} ms 99.9th.",
        l.count, args.throughput, l.avg_ms, l.max_ms, l.p50_ms, l.p95_ms, l.p99_ms, l.p999_ms
    );
    if args.json {
        println!(
            "{{\"records\": {}, \"record_size\": {}, \"throughput\": {:.1}, {}}}",
            l.count,
            args.record_size,
            args.throughput,
            l.json_fields()
        );
    }
    if failed > 0 {
        bail!("{failed} of {total} sends failed");
    }
    if (l.count as u64) < total {
        bail!(
            "only {} of {total} records came back within {} ms",
            l.count,
            args.timeout
        );
    }
    Ok(())
}

/// The run id and send time a record of this tool starts with.
fn stamp_of(value: &[u8]) -> Option<(u64, u64)> {
    let id = u64::from_be_bytes(value.get(..8)?.try_into().ok()?);
    let sent = u64::from_be_bytes(value.get(8..STAMP)?.try_into().ok()?);
    Some((id, sent))
}

/// A run id that differs between runs of the same pid (time-seeded; not for cryptography).
fn rand_u32() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or(0)
}

/// The topic's partitions, creating it (one partition) when it does not exist, as Kafka's tool.
async fn partitions_of(bootstrap: &str, topic: &str) -> anyhow::Result<Vec<i32>> {
    let admin = Admin::connect(weir_client::ClientConfig::new(bootstrap))
        .await
        .context("cannot connect")?;
    let wanted = [topic.to_string()];
    for attempt in 0..2 {
        let m = admin.cluster().fetch_metadata(Some(&wanted), false).await?;
        if let Some(t) = m.topics.get(topic) {
            if t.error.is_none() && !t.partitions.is_empty() {
                return Ok(t.partitions.iter().map(|p| p.partition).collect());
            }
        }
        if attempt == 0 {
            admin.create_topics(&[NewTopic::new(topic, 1, 1)]).await?;
        }
    }
    bail!("topic {topic} has no partitions after creating it")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_round_trips_and_short_values_are_ignored() {
        let mut v = vec![0u8; 20];
        v[..8].copy_from_slice(&7u64.to_be_bytes());
        v[8..16].copy_from_slice(&1234u64.to_be_bytes());
        assert_eq!(stamp_of(&v), Some((7, 1234)));
        assert_eq!(stamp_of(b"short"), None);
    }
}
