//! `weir dump-log`: kafka-dump-log for `.log` segment files.
//!
//! Prints each batch's header fields and whether its CRC is valid; with `--print-data-log`
//! (or `--deep-iteration`) each record too, decompressed, with its key and payload.

use std::path::PathBuf;

use anyhow::Context;
use bytes::Bytes;
use weir_protocol::batch::{BatchHeader, LOG_OVERHEAD};
use weir_protocol::kafka_protocol::records::RecordBatchDecoder;

#[derive(clap::Args)]
pub struct Args {
    /// Segment files, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    files: Vec<PathBuf>,
    /// Print each record with its key and payload.
    #[arg(long)]
    print_data_log: bool,
    /// Print each record (without payload unless --print-data-log).
    #[arg(long)]
    deep_iteration: bool,
}

fn codec_name(c: i16) -> &'static str {
    match c {
        0 => "none",
        1 => "gzip",
        2 => "snappy",
        3 => "lz4",
        4 => "zstd",
        _ => "unknown",
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    for path in &args.files {
        dump(path, &args)?;
    }
    Ok(())
}

fn dump(path: &PathBuf, args: &Args) -> anyhow::Result<()> {
    let data = Bytes::from(
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    println!("Dumping {}", path.display());
    let start = path
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    println!("Log starting offset: {start}");
    let mut pos = 0usize;
    while pos < data.len() {
        let rest = &data[pos..];
        let header = match BatchHeader::parse(rest) {
            Ok(h) => h,
            Err(e) => {
                println!(
                    "Found {} invalid bytes at the end of {} ({e})",
                    rest.len(),
                    path.display()
                );
                break;
            }
        };
        let size = header.total_len();
        let crc_ok = header.verify_crc().is_ok();
        let count = header.record_count();
        let base_seq = header.base_sequence();
        let last_seq = if base_seq < 0 {
            -1
        } else {
            base_seq.wrapping_add(header.last_offset_delta())
        };
        let ts_type = if header.is_log_append_time() {
            "LogAppendTime"
        } else {
            "CreateTime"
        };
        println!(
            "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {} producerId: {} producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} isControl: {} position: {} {}: {} size: {} magic: 2 compresscodec: {} crc: {} isvalid: {}",
            header.base_offset(),
            header.last_offset(),
            count,
            base_seq,
            last_seq,
            header.producer_id(),
            header.producer_epoch(),
            header.partition_leader_epoch(),
            header.is_transactional(),
            header.is_control(),
            pos,
            ts_type,
            header.max_timestamp(),
            size,
            codec_name(header.compression_codec()),
            header.stored_crc(),
            crc_ok
        );
        if (args.print_data_log || args.deep_iteration) && crc_ok {
            let mut batch = data.slice(pos..pos + size);
            match RecordBatchDecoder::decode(&mut batch) {
                Ok(set) => {
                    for r in set.records {
                        let mut line = format!(
                            "| offset: {} {}: {} keySize: {} valueSize: {} sequence: {} headerKeys: [{}]",
                            r.offset,
                            ts_type,
                            r.timestamp,
                            r.key.as_ref().map_or(-1, |k| k.len() as i64),
                            r.value.as_ref().map_or(-1, |v| v.len() as i64),
                            r.sequence,
                            r.headers.keys().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
                        );
                        if args.print_data_log {
                            if let Some(k) = &r.key {
                                line.push_str(&format!(" key: {}", String::from_utf8_lossy(k)));
                            }
                            let payload = r
                                .value
                                .as_ref()
                                .map(|v| String::from_utf8_lossy(v).into_owned());
                            line.push_str(&format!(
                                " payload: {}",
                                payload.unwrap_or_else(|| "null".into())
                            ));
                        }
                        println!("{line}");
                    }
                }
                Err(e) => println!("| records cannot be decoded: {e:#}"),
            }
        }
        pos += size.max(LOG_OVERHEAD);
    }
    Ok(())
}
