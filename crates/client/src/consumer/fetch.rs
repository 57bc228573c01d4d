//! Building Fetch requests and turning their answers into records (in a spawned task, so
//! decoding and decompression run while the caller handles the previous records).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use tokio::sync::mpsc;
use uuid::Uuid;
use weir_protocol::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use weir_protocol::kafka_protocol::messages::fetch_response::AbortedTransaction;
use weir_protocol::kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};
use weir_protocol::kafka_protocol::protocol::StrBytes;
use weir_protocol::kafka_protocol::records::{RecordBatchDecoder, TimestampType};
use weir_protocol::ResponseError;

use super::config::{ConsumerConfig, IsolationLevel};
use super::{ConsumerRecord, TopicPartition};
use crate::connection::BrokerConnection;
use crate::metadata::ClusterMetadata;
use crate::ClientError;

/// What one partition's fetch brought.
pub(crate) struct FetchedPartition {
    pub tp: TopicPartition,
    pub error: Option<ResponseError>,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    pub records: Vec<ConsumerRecord>,
    /// The offset after the last complete batch (the fetch offset when none).
    pub next_fetch_offset: i64,
}

/// A finished fetch: the node, what was asked (partition, offset, seek generation) and the
/// decoded answer.
pub(crate) struct FetchDone {
    pub node: i32,
    pub requested: Vec<(TopicPartition, i64, u64)>,
    pub result: Result<Vec<FetchedPartition>, ClientError>,
}

/// Sends one Fetch for `partitions` on `conn`; the answer arrives on `done`. Returns the
/// partitions that were asked for (those whose topic id is known when the version needs one).
pub(crate) fn send(
    conn: &Arc<BrokerConnection>,
    node: i32,
    config: &ConsumerConfig,
    metadata: &ClusterMetadata,
    partitions: Vec<(TopicPartition, i64, u64)>,
    done: mpsc::UnboundedSender<FetchDone>,
) -> Result<Vec<TopicPartition>, ClientError> {
    let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
    let mut ids: HashMap<Uuid, Arc<str>> = HashMap::new();
    let mut names: HashMap<String, Arc<str>> = HashMap::new();
    for (tp, offset, _) in &partitions {
        topics.entry(tp.topic.as_str()).or_default().push(
            FetchPartition::default()
                .with_partition(tp.partition)
                .with_fetch_offset(*offset)
                .with_partition_max_bytes(config.max_partition_fetch_bytes),
        );
    }
    let request = FetchRequest::default()
        .with_max_wait_ms(i32::try_from(config.fetch_max_wait.as_millis()).unwrap_or(i32::MAX))
        .with_min_bytes(config.fetch_min_bytes)
        .with_max_bytes(config.fetch_max_bytes)
        .with_isolation_level(config.isolation_level.code())
        .with_topics(
            topics
                .into_iter()
                .map(|(t, ps)| {
                    let id = metadata
                        .topics
                        .get(t)
                        .map(|m| m.topic_id)
                        .unwrap_or_default();
                    let name: Arc<str> = Arc::from(t);
                    ids.insert(id, name.clone());
                    names.insert(t.to_string(), name);
                    FetchTopic::default()
                        .with_topic(TopicName(StrBytes::from_string(t.to_string())))
                        .with_topic_id(id)
                        .with_partitions(ps)
                })
                .collect(),
        );
    let future = conn.enqueue(&request)?;
    let sent = partitions.iter().map(|(tp, _, _)| tp.clone()).collect();
    let node_offsets: HashMap<TopicPartition, i64> = partitions
        .iter()
        .map(|(tp, o, _)| (tp.clone(), *o))
        .collect();
    let read_committed = config.isolation_level == IsolationLevel::ReadCommitted;
    tokio::spawn(async move {
        let result = future
            .wait()
            .await
            .and_then(|r| decode(r, &ids, &names, &node_offsets, read_committed));
        let _ = done.send(FetchDone {
            node,
            requested: partitions,
            result,
        });
    });
    Ok(sent)
}

fn decode(
    response: FetchResponse,
    ids: &HashMap<Uuid, Arc<str>>,
    names: &HashMap<String, Arc<str>>,
    offsets: &HashMap<TopicPartition, i64>,
    read_committed: bool,
) -> Result<Vec<FetchedPartition>, ClientError> {
    if let Some(e) = ClientError::kafka("fetch", response.error_code) {
        return Err(e);
    }
    let mut out = Vec::new();
    for t in response.responses {
        let topic = if t.topic.0.is_empty() {
            ids.get(&t.topic_id).cloned()
        } else {
            names.get(t.topic.0.as_str()).cloned()
        };
        let Some(topic) = topic else { continue };
        for p in t.partitions {
            let tp = TopicPartition::new(topic.to_string(), p.partition_index);
            let Some(&fetch_offset) = offsets.get(&tp) else {
                continue;
            };
            let error = ResponseError::try_from_code(p.error_code);
            let mut fetched = FetchedPartition {
                tp,
                error,
                high_watermark: p.high_watermark,
                last_stable_offset: p.last_stable_offset,
                log_start_offset: p.log_start_offset,
                records: Vec::new(),
                next_fetch_offset: fetch_offset,
            };
            if error.is_none() {
                if let Some(records) = p.records {
                    let aborted = if read_committed {
                        p.aborted_transactions.unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    decode_records(&topic, records, fetch_offset, aborted, &mut fetched)?;
                }
            }
            out.push(fetched);
        }
    }
    Ok(out)
}

const BATCH_HEADER: usize = 61;

fn decode_records(
    topic: &Arc<str>,
    mut data: Bytes,
    fetch_offset: i64,
    mut aborted: Vec<AbortedTransaction>,
    out: &mut FetchedPartition,
) -> Result<(), ClientError> {
    aborted.sort_by_key(|a| a.first_offset);
    let mut aborted = aborted.into_iter().peekable();
    let mut aborted_pids: HashSet<i64> = HashSet::new();
    let codec_error = |reason: String| ClientError::Codec {
        api: "Fetch",
        reason: format!("{topic}-{}: {reason}", out.tp.partition),
    };
    while data.len() >= BATCH_HEADER {
        let base_offset = (&data[0..8]).get_i64();
        let length = (&data[8..12]).get_i32();
        let total =
            12 + usize::try_from(length).map_err(|_| codec_error("negative length".into()))?;
        if data.len() < total {
            break; // a partial batch at the end of the answer
        }
        let magic = data[16] as i8;
        if magic != 2 {
            return Err(codec_error(format!("record batch magic {magic}")));
        }
        let attributes = (&data[21..23]).get_i16();
        let last_offset = base_offset + i64::from((&data[23..27]).get_i32());
        let producer_id = (&data[43..51]).get_i64();
        let transactional = attributes & 0x10 != 0;
        let control = attributes & 0x20 != 0;
        let mut batch = data.split_to(total);
        out.next_fetch_offset = out.next_fetch_offset.max(last_offset + 1);
        if last_offset < fetch_offset {
            continue;
        }
        while let Some(a) = aborted.peek() {
            if a.first_offset > last_offset {
                break;
            }
            aborted_pids.insert(a.producer_id.0);
            aborted.next();
        }
        if control {
            if !aborted_pids.is_empty() {
                let set = RecordBatchDecoder::decode(&mut batch)
                    .map_err(|e| codec_error(format!("{e:#}")))?;
                // Control record key: version (i16), type (i16): 0 abort, 1 commit.
                let abort = set
                    .records
                    .first()
                    .and_then(|r| r.key.as_ref())
                    .is_some_and(|k| k.len() >= 4 && (&k[2..4]).get_i16() == 0);
                if abort {
                    aborted_pids.remove(&producer_id);
                }
            }
            continue;
        }
        if transactional && aborted_pids.contains(&producer_id) {
            continue;
        }
        let set =
            RecordBatchDecoder::decode(&mut batch).map_err(|e| codec_error(format!("{e:#}")))?;
        for r in set.records {
            if r.offset < fetch_offset {
                continue;
            }
            out.records.push(ConsumerRecord {
                topic: topic.clone(),
                partition: out.tp.partition,
                offset: r.offset,
                timestamp: r.timestamp,
                log_append_time: r.timestamp_type == TimestampType::LogAppend,
                key: r.key,
                value: r.value,
                headers: r
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                leader_epoch: r.partition_leader_epoch,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use bytes::{BufMut, BytesMut};
    use weir_protocol::kafka_protocol::messages::ProducerId;
    use weir_protocol::kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions,
    };

    use super::*;

    fn batch(buf: &mut BytesMut, base: i64, n: i64, pid: i64, control: Option<i16>) {
        let records: Vec<Record> = (0..n)
            .map(|i| Record {
                transactional: pid >= 0,
                control: control.is_some(),
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: pid,
                producer_epoch: 0,
                timestamp_type: TimestampType::Creation,
                offset: base + i,
                sequence: if control.is_some() { -1 } else { i as i32 },
                timestamp: 1,
                key: control.map(|t| {
                    let mut k = BytesMut::new();
                    k.put_i16(0);
                    k.put_i16(t);
                    k.freeze()
                }),
                value: Some(Bytes::from(format!("v{}", base + i))),
                headers: Default::default(),
            })
            .collect();
        RecordBatchEncoder::encode(
            buf,
            &records,
            &RecordEncodeOptions {
                version: 2,
                compression: Compression::None,
            },
        )
        .unwrap();
    }

    fn run(data: Bytes, fetch_offset: i64, aborted: Vec<AbortedTransaction>) -> FetchedPartition {
        let mut out = FetchedPartition {
            tp: TopicPartition::new("t", 0),
            error: None,
            high_watermark: 0,
            last_stable_offset: 0,
            log_start_offset: 0,
            records: Vec::new(),
            next_fetch_offset: fetch_offset,
        };
        decode_records(&Arc::from("t"), data, fetch_offset, aborted, &mut out).unwrap();
        out
    }

    #[test]
    fn read_committed_drops_aborted_batches_and_markers() {
        let mut buf = BytesMut::new();
        batch(&mut buf, 0, 2, -1, None); // plain 0-1
        batch(&mut buf, 2, 2, 7, None); // pid 7, aborted: 2-3
        batch(&mut buf, 4, 2, 8, None); // pid 8, committed: 4-5
        batch(&mut buf, 6, 1, 7, Some(0)); // abort marker of 7
        batch(&mut buf, 7, 1, 8, Some(1)); // commit marker of 8
        batch(&mut buf, 8, 1, 7, None); // pid 7 again, a new transaction: 8
        let data = buf.freeze();
        let aborted = vec![AbortedTransaction::default()
            .with_producer_id(ProducerId(7))
            .with_first_offset(2)];
        let out = run(data.clone(), 0, aborted);
        let offsets: Vec<i64> = out.records.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [0, 1, 4, 5, 8]);
        assert_eq!(out.next_fetch_offset, 9);
        // read_uncommitted keeps the aborted records, never the markers.
        let out = run(data.clone(), 0, Vec::new());
        let offsets: Vec<i64> = out.records.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [0, 1, 2, 3, 4, 5, 8]);
        // A fetch offset inside a batch skips the records before it; a partial batch at the
        // end is left for the next fetch.
        let cut = data.slice(..data.len() - 5);
        let out = run(cut, 1, Vec::new());
        let offsets: Vec<i64> = out.records.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [1, 2, 3, 4, 5]);
        assert_eq!(out.next_fetch_offset, 8);
    }
}
