//! `weir produce`: kafka-console-producer. One record per line of stdin.
//!
//! With `--property parse.key=true` a line is `key<key.separator>value` (separator `\t` by
//! default); with `parse.headers=true` it starts with `h1:v1,h2:v2<headers.delimiter>` (Kafka's
//! `headers.delimiter` `\t`, `headers.separator` `,`, `headers.key.separator` `:`).

use std::collections::HashMap;

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, BufReader};
use weir_client::{Producer, ProducerConfig, ProducerRecord};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    bootstrap_server: String,
    #[arg(long)]
    topic: String,
    /// Line parsing: parse.key, key.separator, parse.headers, headers.delimiter,
    /// headers.separator, headers.key.separator, null.marker; `key=value`, repeatable.
    #[arg(long = "property", value_name = "KEY=VALUE")]
    properties: Vec<String>,
    /// A producer setting by Kafka name, `key=value`; repeatable.
    #[arg(long = "producer-property", value_name = "KEY=VALUE")]
    producer_properties: Vec<String>,
    /// none, gzip, snappy, lz4 or zstd (gzip when given without a value, as in Kafka).
    #[arg(long, num_args = 0..=1, default_missing_value = "gzip")]
    compression_codec: Option<String>,
    /// acks: 0, 1 or all/-1 (default all).
    #[arg(long)]
    request_required_acks: Option<String>,
    /// Wait for each record's acknowledgement before reading the next line.
    #[arg(long)]
    sync: bool,
}

struct LineFormat {
    parse_key: bool,
    key_separator: String,
    parse_headers: bool,
    headers_delimiter: String,
    headers_separator: String,
    headers_key_separator: String,
    null_marker: Option<String>,
}

impl LineFormat {
    fn from(props: &[String]) -> anyhow::Result<LineFormat> {
        let mut map = HashMap::new();
        for p in props {
            let (k, v) = crate::key_value(p)?;
            map.insert(k, v);
        }
        let get = |k: &str, d: &str| map.get(k).cloned().unwrap_or_else(|| d.to_string());
        let f = LineFormat {
            parse_key: get("parse.key", "false") == "true",
            key_separator: get("key.separator", "\t"),
            parse_headers: get("parse.headers", "false") == "true",
            headers_delimiter: get("headers.delimiter", "\t"),
            headers_separator: get("headers.separator", ","),
            headers_key_separator: get("headers.key.separator", ":"),
            null_marker: map.get("null.marker").cloned(),
        };
        for k in map.keys() {
            if !matches!(
                k.as_str(),
                "parse.key"
                    | "key.separator"
                    | "parse.headers"
                    | "headers.delimiter"
                    | "headers.separator"
                    | "headers.key.separator"
                    | "null.marker"
                    | "ignore.error"
            ) {
                bail!("unknown --property {k}");
            }
        }
        Ok(f)
    }

    fn nullable<'a>(&self, s: &'a str) -> Option<&'a [u8]> {
        match &self.null_marker {
            Some(m) if m == s => None,
            _ => Some(s.as_bytes()),
        }
    }

    fn parse<'a>(
        &self,
        topic: &'a str,
        mut line: &'a str,
        n: usize,
    ) -> anyhow::Result<ProducerRecord<'a>> {
        let mut record = ProducerRecord::new(topic);
        if self.parse_headers {
            let (headers, rest) = line
                .split_once(self.headers_delimiter.as_str())
                .with_context(|| format!("line {n}: no headers delimiter"))?;
            line = rest;
            for h in headers
                .split(self.headers_separator.as_str())
                .filter(|h| !h.is_empty())
            {
                match h.split_once(self.headers_key_separator.as_str()) {
                    Some((k, v)) => record.headers.push((k, self.nullable(v))),
                    None => record.headers.push((h, None)),
                }
            }
        }
        if self.parse_key {
            let (k, v) = line
                .split_once(self.key_separator.as_str())
                .with_context(|| format!("line {n}: no key separator {:?}", self.key_separator))?;
            record.key = self.nullable(k);
            line = v;
        }
        record.value = self.nullable(line);
        Ok(record)
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let format = LineFormat::from(&args.properties)?;
    let mut config = ProducerConfig::new(&args.bootstrap_server);
    if let Some(c) = &args.compression_codec {
        config.set("compression.type", c)?;
    }
    if let Some(a) = &args.request_required_acks {
        config.set("acks", a)?;
    }
    for p in &args.producer_properties {
        let (k, v) = crate::key_value(p)?;
        config.set(&k, &v)?;
    }
    let producer = Producer::new(config).await.context("cannot connect")?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut pending = Vec::new();
    let mut n = 0;
    while let Some(line) = lines.next_line().await.context("reading stdin")? {
        n += 1;
        let record = format.parse(&args.topic, &line, n)?;
        let delivery = producer.send(record).await?;
        if args.sync {
            delivery.wait().await?;
        } else {
            pending.push(delivery);
            // Surface failures early and keep memory flat.
            if pending.len() >= 10_000 {
                for d in pending.drain(..) {
                    d.wait().await?;
                }
            }
        }
    }
    producer.flush().await?;
    for d in pending {
        d.wait().await?;
    }
    producer.close().await?;
    Ok(())
}
