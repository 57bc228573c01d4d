//! Fetch: whole batches from the segment files, long-polled on `min_bytes` / `max_wait_ms`.
//!
//! Sessionless full fetches only: a client asking for a fetch session (KIP-227) gets session
//! id 0, which tells it no session was created, and it keeps sending full requests. A fetch
//! that finds fewer than `min_bytes` parks on a waker registered with each partition it reads
//! and is resumed by the next append to any of them, or by its deadline: no timer polling.
//! Record bytes leave through `sendfile` (see [`crate::zero_copy`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes};
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, ProducerId, ResponseHeader,
};
use kafka_protocol::protocol::Encodable;
use tokio::sync::Notify;
use tokio::time::Instant;
use weir_protocol::response::write_response_header;
use weir_protocol::ResponseError;
use weir_replication::Partition;
use weir_storage::ReadSlice;

use crate::codes;
use crate::handlers::Reply;
use crate::zero_copy::{placeholder, SplicingBuf, MAX_PLACEHOLDER};
use crate::BrokerState;

/// One requested partition, resolved against the metadata.
struct Wanted {
    topic_slot: usize,
    index: i32,
    fetch_offset: i64,
    max_bytes: usize,
    partition: Result<Arc<Partition>, ResponseError>,
}

pub async fn handle(
    state: &Arc<BrokerState>,
    request: FetchRequest,
    version: i16,
    correlation_id: i32,
) -> Reply {
    let mut response = FetchResponse::default();
    if request.session_id != 0 || request.session_epoch > 0 {
        let error = if request.session_id != 0 {
            ResponseError::FetchSessionIdNotFound
        } else {
            ResponseError::InvalidFetchSessionEpoch
        };
        response = response.with_error_code(error.code());
        return encode(response, VecDeque::new(), version, correlation_id);
    }

    let image = state.image();
    let mut topics = Vec::with_capacity(request.topics.len());
    let mut wanted = Vec::new();
    for t in &request.topics {
        let topic = if version >= 13 {
            image.topic_by_id(&t.topic_id)
        } else {
            image.topic(t.topic.0.as_str())
        };
        let missing = if version >= 13 {
            ResponseError::UnknownTopicId
        } else {
            ResponseError::UnknownTopicOrPartition
        };
        let slot = topics.len();
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(t.topic.clone())
                .with_topic_id(t.topic_id),
        );
        for p in &t.partitions {
            let partition = topic.ok_or(missing).and_then(|topic| {
                state
                    .partition(&topic.name, p.partition)
                    .ok_or(ResponseError::UnknownTopicOrPartition)
            });
            wanted.push(Wanted {
                topic_slot: slot,
                index: p.partition,
                fetch_offset: p.fetch_offset,
                max_bytes: usize::try_from(p.partition_max_bytes).unwrap_or(0),
                partition,
            });
        }
    }

    let max_bytes = usize::try_from(request.max_bytes).unwrap_or(0);
    let read_committed = request.isolation_level == 1;
    let min_bytes = usize::try_from(request.min_bytes).unwrap_or(0);
    let deadline =
        Instant::now() + Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0));
    let waker = Arc::new(Notify::new());
    let mut registered = false;
    let reads = loop {
        let reads = read_all(&wanted, max_bytes, read_committed).await;
        let total: usize = reads.iter().map(|r| r.bytes()).sum();
        let any_error = reads.iter().any(|r| r.error.is_some());
        if total >= min_bytes || any_error || Instant::now() >= deadline {
            break reads;
        }
        if !registered {
            // Register first, then read again: an append between our read and the
            // registration would otherwise go unnoticed until the deadline.
            for p in wanted.iter().filter_map(|w| w.partition.as_ref().ok()) {
                p.register_waker(&waker);
            }
            registered = true;
            continue;
        }
        if tokio::time::timeout_at(deadline, waker.notified())
            .await
            .is_err()
        {
            break read_all(&wanted, max_bytes, read_committed).await;
        }
    };

    let mut files = VecDeque::new();
    for (w, r) in wanted.iter().zip(reads) {
        let mut data = PartitionData::default()
            .with_partition_index(w.index)
            .with_high_watermark(r.high_watermark)
            .with_last_stable_offset(r.last_stable_offset)
            .with_log_start_offset(r.log_start_offset)
            .with_preferred_read_replica(BrokerId(-1));
        if let Some(aborted) = &r.aborted {
            data = data.with_aborted_transactions(Some(
                aborted
                    .iter()
                    .map(|a| {
                        AbortedTransaction::default()
                            .with_producer_id(ProducerId(a.producer_id))
                            .with_first_offset(a.first_offset)
                    })
                    .collect(),
            ));
        }
        if let Some(error) = r.error {
            data = data
                .with_error_code(error.code())
                .with_records(Some(Bytes::new()));
        } else if let Some(slice) = r.slice {
            data = data.with_records(Some(placeholder(slice.len)));
            files.push_back(slice);
        } else {
            data = data.with_records(Some(Bytes::new()));
        }
        if let Some(t) = topics.get_mut(w.topic_slot) {
            t.partitions.push(data);
        }
    }
    response = response.with_responses(topics);
    encode(response, files, version, correlation_id)
}

/// What one partition contributes to the response.
struct PartitionRead {
    error: Option<ResponseError>,
    slice: Option<ReadSlice>,
    high_watermark: i64,
    last_stable_offset: i64,
    log_start_offset: i64,
    /// read_committed only: aborted transactions overlapping the returned range.
    aborted: Option<Vec<weir_storage::AbortedTxn>>,
}

impl PartitionRead {
    fn bytes(&self) -> usize {
        self.slice.as_ref().map_or(0, |s| s.len)
    }
}

/// Reads every wanted partition within the response and partition limits. Only the first
/// partition with data may exceed the limits, by returning one whole batch (KIP-74), so a
/// batch larger than the limits never blocks a consumer.
async fn read_all(wanted: &[Wanted], max_bytes: usize, read_committed: bool) -> Vec<PartitionRead> {
    let plan: Vec<(Result<Arc<Partition>, ResponseError>, i64, usize)> = wanted
        .iter()
        .map(|w| (w.partition.clone(), w.fetch_offset, w.max_bytes))
        .collect();
    let reads = tokio::task::spawn_blocking(move || {
        let mut remaining = max_bytes;
        let mut first = true;
        plan.into_iter()
            .map(|(partition, offset, partition_max)| {
                let partition = match partition {
                    Ok(p) => p,
                    Err(error) => {
                        return PartitionRead {
                            error: Some(error),
                            slice: None,
                            high_watermark: -1,
                            last_stable_offset: -1,
                            log_start_offset: -1,
                            aborted: None,
                        }
                    }
                };
                let limit = partition_max.min(remaining).min(MAX_PLACEHOLDER);
                let hw = partition.high_watermark();
                let start = partition.log_start_offset();
                let read = if read_committed {
                    partition
                        .read_committed(offset, limit, first)
                        .map(|(data, lso, aborted)| (data, lso, Some(aborted)))
                } else {
                    partition.read(offset, limit, first).map(|data| {
                        let lso = partition.last_stable_offset().unwrap_or(hw);
                        (data, lso, None)
                    })
                };
                match read {
                    Ok((data, lso, aborted)) => {
                        let slice = data.slice.filter(|s| s.len > 0 && s.len <= MAX_PLACEHOLDER);
                        if let Some(s) = &slice {
                            first = false;
                            remaining = remaining.saturating_sub(s.len);
                        }
                        PartitionRead {
                            error: None,
                            slice,
                            high_watermark: hw,
                            last_stable_offset: lso,
                            log_start_offset: start,
                            aborted,
                        }
                    }
                    Err(e) => PartitionRead {
                        error: Some(codes::replication_error(&e)),
                        slice: None,
                        high_watermark: hw,
                        last_stable_offset: hw,
                        log_start_offset: start,
                        aborted: None,
                    },
                }
            })
            .collect::<Vec<_>>()
    })
    .await;
    reads.unwrap_or_default()
}

/// Frames the response, splicing each placeholder with its file range.
fn encode(
    response: FetchResponse,
    files: VecDeque<ReadSlice>,
    version: i16,
    correlation_id: i32,
) -> Reply {
    let header_version = ApiKey::Fetch.response_header_version(version);
    let header_size = ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .compute_size(header_version);
    let size = header_size.and_then(|h| Ok(h + response.compute_size(version)?));
    let Ok(size) = size
        .map_err(|e| e.to_string())
        .and_then(|s| i32::try_from(s).map_err(|e| e.to_string()))
    else {
        tracing::error!("fetch response too large to frame");
        return Reply::Close;
    };
    let inline_estimate = 256 + 128 * files.len();
    let mut buf = SplicingBuf::new(inline_estimate, files);
    buf.put_i32(size);
    if write_response_header(&mut buf, ApiKey::Fetch, version, correlation_id).is_err()
        || response.encode(&mut buf, version).is_err()
    {
        tracing::error!("cannot encode fetch response");
        return Reply::Close;
    }
    match buf.finish() {
        Some(chunks) => Reply::Frame(chunks),
        None => {
            tracing::error!("fetch response lost a file range while encoding");
            Reply::Close
        }
    }
}
