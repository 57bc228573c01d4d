//! `weir consume`: kafka-console-consumer. Prints one record per line (the value by default).
//!
//! `--property print.timestamp=true`, `print.partition`, `print.offset`, `print.headers`,
//! `print.key`, `print.value` choose the columns, in Kafka's order (timestamp, partition, offset,
//! headers, key, value), separated by `key.separator` (`\t`); `headers.separator` (`,`),
//! `line.separator` (`\n`) and `null.literal` (`null`) as in Kafka's DefaultMessageFormatter.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use weir_client::{Admin, Consumer, ConsumerConfig, ConsumerRecord, TopicPartition};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    bootstrap_server: String,
    #[arg(long)]
    topic: String,
    /// The consumer group to join (committed offsets, auto commit).
    #[arg(long)]
    group: Option<String>,
    /// Start at the earliest offset when there is no committed one.
    #[arg(long)]
    from_beginning: bool,
    /// Consume only this partition (no group).
    #[arg(long)]
    partition: Option<i32>,
    /// With --partition: earliest, latest or an offset (default latest).
    #[arg(long)]
    offset: Option<String>,
    /// Exit after this many records.
    #[arg(long)]
    max_messages: Option<u64>,
    /// Exit when no record arrived for this long.
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// read_uncommitted or read_committed.
    #[arg(long)]
    isolation_level: Option<String>,
    /// Output format: print.key, print.value, print.headers, print.timestamp, print.partition,
    /// print.offset, key.separator, headers.separator, line.separator, null.literal; repeatable.
    #[arg(long = "property", value_name = "KEY=VALUE")]
    properties: Vec<String>,
    /// A consumer setting by Kafka name, `key=value`; repeatable.
    #[arg(long = "consumer-property", value_name = "KEY=VALUE")]
    consumer_properties: Vec<String>,
}

struct Format {
    key: bool,
    value: bool,
    headers: bool,
    timestamp: bool,
    partition: bool,
    offset: bool,
    key_separator: String,
    headers_separator: String,
    line_separator: String,
    null_literal: String,
}

impl Format {
    fn from(props: &[String]) -> anyhow::Result<Format> {
        let mut map = HashMap::new();
        for p in props {
            let (k, v) = crate::key_value(p)?;
            map.insert(k, v);
        }
        for k in map.keys() {
            if !matches!(
                k.as_str(),
                "print.key"
                    | "print.value"
                    | "print.headers"
                    | "print.timestamp"
                    | "print.partition"
                    | "print.offset"
                    | "key.separator"
                    | "headers.separator"
                    | "line.separator"
                    | "null.literal"
                    | "key.deserializer"
                    | "value.deserializer"
                    | "headers.deserializer"
            ) {
                bail!("unknown --property {k}");
            }
        }
        let flag = |k: &str, d: bool| -> anyhow::Result<bool> {
            match map.get(k).map(|v| v.trim()) {
                None => Ok(d),
                Some("true") => Ok(true),
                Some("false") => Ok(false),
                Some(v) => bail!("--property {k}={v}: expected true or false"),
            }
        };
        let get = |k: &str, d: &str| map.get(k).cloned().unwrap_or_else(|| d.to_string());
        Ok(Format {
            key: flag("print.key", false)?,
            value: flag("print.value", true)?,
            headers: flag("print.headers", false)?,
            timestamp: flag("print.timestamp", false)?,
            partition: flag("print.partition", false)?,
            offset: flag("print.offset", false)?,
            key_separator: get("key.separator", "\t"),
            headers_separator: get("headers.separator", ","),
            line_separator: get("line.separator", "\n"),
            null_literal: get("null.literal", "null"),
        })
    }

    fn bytes<'a>(&'a self, b: &'a Option<bytes::Bytes>) -> &'a [u8] {
        match b {
            Some(b) => b,
            None => self.null_literal.as_bytes(),
        }
    }

    fn write(&self, out: &mut impl Write, r: &ConsumerRecord) -> std::io::Result<()> {
        let sep = self.key_separator.as_bytes();
        if self.timestamp {
            let kind = if r.log_append_time {
                "LogAppendTime"
            } else {
                "CreateTime"
            };
            if r.timestamp < 0 {
                out.write_all(b"NO_TIMESTAMP")?;
            } else {
                write!(out, "{kind}:{}", r.timestamp)?;
            }
            out.write_all(sep)?;
        }
        if self.partition {
            write!(out, "Partition:{}", r.partition)?;
            out.write_all(sep)?;
        }
        if self.offset {
            write!(out, "Offset:{}", r.offset)?;
            out.write_all(sep)?;
        }
        if self.headers {
            if r.headers.is_empty() {
                out.write_all(b"NO_HEADERS")?;
            }
            for (i, (k, v)) in r.headers.iter().enumerate() {
                if i > 0 {
                    out.write_all(self.headers_separator.as_bytes())?;
                }
                out.write_all(k.as_bytes())?;
                out.write_all(b":")?;
                out.write_all(self.bytes(v))?;
            }
            out.write_all(sep)?;
        }
        if self.key {
            out.write_all(self.bytes(&r.key))?;
            out.write_all(sep)?;
        }
        if self.value {
            out.write_all(self.bytes(&r.value))?;
        }
        out.write_all(self.line_separator.as_bytes())
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let format = Format::from(&args.properties)?;
    let mut config = ConsumerConfig::new(&args.bootstrap_server);
    config.set("client.id", "weir-console-consumer")?;
    if args.from_beginning {
        config.set("auto.offset.reset", "earliest")?;
    }
    if let Some(l) = &args.isolation_level {
        config.set("isolation.level", l)?;
    }
    for p in &args.consumer_properties {
        let (k, v) = crate::key_value(p)?;
        config.set(&k, &v)?;
    }
    if let Some(g) = &args.group {
        if args.partition.is_some() {
            bail!("--group cannot be combined with --partition");
        }
        config.set("group.id", g)?;
    }
    if args.offset.is_some() && args.partition.is_none() {
        bail!("--offset needs --partition");
    }
    if args.partition.is_some() && args.from_beginning && args.offset.is_some() {
        bail!("--from-beginning cannot be combined with --offset");
    }
    let admin = Admin::connect(config.client.clone())
        .await
        .context("cannot connect")?;
    let mut consumer = Consumer::with_cluster(admin.cluster().clone(), config.clone());
    subscribe_or_assign(&admin, &mut consumer, &args).await?;

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut count: u64 = 0;
    let idle = args.timeout_ms.map(Duration::from_millis);
    let mut last_record = Instant::now();
    let result: anyhow::Result<()> = async {
        loop {
            if args.max_messages.is_some_and(|m| count >= m) {
                break;
            }
            let wait = idle
                .map(|i| i.saturating_sub(last_record.elapsed()))
                .unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(1));
            let joined = consumer.group_member().is_some();
            let records = consumer.poll(wait).await?;
            if args.group.is_some() && !joined {
                // --timeout-ms counts from the moment the group was joined.
                last_record = Instant::now();
            }
            if records.is_empty() {
                if idle.is_some_and(|i| last_record.elapsed() >= i) {
                    break;
                }
                continue;
            }
            last_record = Instant::now();
            for r in &records {
                if args.max_messages.is_some_and(|m| count >= m) {
                    break;
                }
                format.write(&mut out, r)?;
                count += 1;
            }
            out.flush()?;
        }
        Ok(())
    }
    .await;
    out.flush()?;
    drop(out);
    eprintln!("Processed a total of {count} messages");
    consumer.close().await?;
    result
}

async fn subscribe_or_assign(
    admin: &Admin,
    consumer: &mut Consumer,
    args: &Args,
) -> anyhow::Result<()> {
    let topics = admin
        .describe_topics(Some(std::slice::from_ref(&args.topic)))
        .await?;
    let Some(t) = topics.into_iter().next() else {
        bail!("topic {} does not exist", args.topic);
    };
    if let Some(p) = args.partition {
        if !t.partitions.iter().any(|m| m.partition == p) {
            bail!(
                "partition {p} of {} does not exist ({} partitions)",
                args.topic,
                t.partitions.len()
            );
        }
        let tp = TopicPartition::new(&args.topic, p);
        consumer.assign(vec![tp.clone()]).await?;
        match args.offset.as_deref() {
            Some("earliest") => consumer.seek_to_beginning(&[tp])?,
            Some("latest") | None if !args.from_beginning => consumer.seek_to_end(&[tp])?,
            None => consumer.seek_to_beginning(&[tp])?,
            Some(o) => {
                let offset: i64 = o.parse().with_context(|| {
                    format!("--offset {o}: expected earliest, latest or a number")
                })?;
                if offset < 0 {
                    bail!("--offset {o}: must not be negative");
                }
                consumer.seek(&tp, offset)?;
            }
        }
        return Ok(());
    }
    if args.group.is_some() {
        // Committed offsets first, auto.offset.reset (earliest with --from-beginning) else.
        consumer.subscribe(vec![args.topic.clone()]).await?;
        return Ok(());
    }
    let tps: Vec<TopicPartition> = t
        .partitions
        .iter()
        .map(|p| TopicPartition::new(&args.topic, p.partition))
        .collect();
    consumer.assign(tps).await?;
    if !args.from_beginning {
        consumer.seek_to_end(&[])?;
    }
    Ok(())
}
