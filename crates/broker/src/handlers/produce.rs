//! Produce: validate each partition's batches, assign offsets, append, answer by `acks`.
//!
//! A partition's record set is accepted whole or not at all: every batch is checked (magic 2,
//! lengths, CRC-32C, record count, codec, `max.message.bytes`) before anything is written, and
//! the first failure becomes that partition's error code. Compressed batches are not
//! decompressed, except for compacted topics (every record needs a key) and topics whose
//! `compression.type` names another codec (see `recompress.rs`); otherwise the only bytes the
//! broker changes are the base offset (and, for `LogAppendTime` topics, the max timestamp
//! and CRC).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use weir_protocol::batch::{rewrite, BatchError, BatchIter};
use weir_protocol::ResponseError;

use weir_replication::ReplicationError;

use crate::codes;
use crate::BrokerState;

/// Handles a Produce request; `None` means no response is sent (`acks=0`).
pub async fn handle(
    state: &Arc<BrokerState>,
    request: ProduceRequest,
    _version: i16,
) -> Option<ProduceResponse> {
    let acks = request.acks;
    let state2 = state.clone();
    let responses = crate::blocking::run_blocking(move || append_all(&state2, request))
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "produce task failed");
            Vec::new()
        });
    (acks != 0).then(|| ProduceResponse::default().with_responses(responses))
}

fn append_all(state: &BrokerState, request: ProduceRequest) -> Vec<TopicProduceResponse> {
    let image = state.image();
    let acks = request.acks;
    let now = codes::now_ms();
    let mut out = Vec::with_capacity(request.topic_data.len());
    for topic_data in request.topic_data {
        let name = topic_data.name.0.to_string();
        let topic = image.topic(&name);
        let mut partitions = Vec::with_capacity(topic_data.partition_data.len());
        for data in topic_data.partition_data {
            let resp = PartitionProduceResponse::default().with_index(data.index);
            let result = match topic {
                None => Err((ResponseError::UnknownTopicOrPartition, None)),
                Some(_) if !matches!(acks, -1..=1) => {
                    Err((ResponseError::InvalidRequiredAcks, None))
                }
                Some(topic) => append_partition(state, topic, data.index, data.records, acks, now),
            };
            partitions.push(match result {
                Ok((base_offset, log_append_time, log_start)) => resp
                    .with_base_offset(base_offset)
                    .with_log_append_time_ms(log_append_time)
                    .with_log_start_offset(log_start),
                Err((error, message)) => resp
                    .with_error_code(error.code())
                    .with_base_offset(-1)
                    .with_log_append_time_ms(-1)
                    .with_log_start_offset(-1)
                    .with_error_message(message.map(StrBytes::from_string)),
            });
        }
        out.push(
            TopicProduceResponse::default()
                .with_name(topic_data.name)
                .with_partition_responses(partitions),
        );
    }
    out
}

type PartitionResult = Result<(i64, i64, i64), (ResponseError, Option<String>)>;

fn append_partition(
    state: &BrokerState,
    topic: &weir_metadata::TopicImage,
    index: i32,
    records: Option<Bytes>,
    acks: i16,
    now: i64,
) -> PartitionResult {
    let Some(partition) = state.partition(&topic.name, index) else {
        return Err((ResponseError::UnknownTopicOrPartition, None));
    };
    let settings = state.topic_settings(topic);
    if acks == -1 && settings.min_insync_replicas > 1 {
        // The ISR of a single-node partition is the leader alone.
        return Err((
            ResponseError::NotEnoughReplicas,
            Some(format!(
                "min.insync.replicas={} but the ISR has 1 member",
                settings.min_insync_replicas
            )),
        ));
    }
    let records = records.unwrap_or_default();
    validate(&records, settings.max_message_bytes)?;
    check_transactional(state, &records, &topic.name, index)?;
    if !settings.log_append_time {
        validate_timestamps(
            &records,
            now,
            settings.timestamp_before_max_ms,
            settings.timestamp_after_max_ms,
        )?;
    }
    // Compacted topics need keys; `compression.type` may ask for another codec. Neither
    // copies anything for other topics.
    let records = crate::recompress::prepare(
        records,
        crate::recompress::target_codec(settings.compression_type),
        settings.compact,
    )?;
    // The request's bytes go to the log as they are (the segment patches base offsets while
    // writing). Only LogAppendTime topics need a private copy, to stamp the time and CRC.
    let (records, log_append_time) = if settings.log_append_time {
        let mut owned = BytesMut::from(&records[..]);
        let mut at = 0;
        while let Some(len) = BatchIter::new(&owned[at..])
            .next()
            .and_then(Result::ok)
            .map(|b| b.total_len())
        {
            rewrite::set_log_append_time(&mut owned[at..at + len], now);
            at += len;
        }
        (owned.freeze(), now)
    } else {
        (records, -1)
    };
    match partition.append_as_leader(&records, now) {
        // A retried idempotent batch already in the log: acknowledged with its original
        // offset and no append time, as Kafka does.
        Ok(info) if info.duplicate => Ok((info.first_offset, -1, partition.log_start_offset())),
        Ok(info) => Ok((
            info.first_offset,
            log_append_time,
            partition.log_start_offset(),
        )),
        Err(ReplicationError::Storage(e)) if !e.is_fatal() => {
            // The client's fault (sequence gap, fenced epoch, ...): nothing was written.
            tracing::debug!(topic = %topic.name, partition = index, error = %e, "append refused");
            Err((codes::storage_error(&e), Some(e.to_string())))
        }
        Err(e) => {
            tracing::error!(topic = %topic.name, partition = index, error = %e, "append failed");
            Err((codes::replication_error(&e), Some(e.to_string())))
        }
    }
}

/// Checks every batch of a partition's record set; the first failure rejects the whole set.
fn validate(records: &[u8], max_message_bytes: i32) -> Result<(), (ResponseError, Option<String>)> {
    if records.is_empty() {
        return Err((
            ResponseError::InvalidRecord,
            Some("empty record set".to_string()),
        ));
    }
    for batch in BatchIter::new(records) {
        let batch = batch.map_err(batch_error)?;
        batch.validate().map_err(batch_error)?;
        if batch.total_len() > usize::try_from(max_message_bytes).unwrap_or(0) {
            return Err((
                ResponseError::MessageTooLarge,
                Some(format!(
                    "batch of {} bytes exceeds max.message.bytes {}",
                    batch.total_len(),
                    max_message_bytes
                )),
            ));
        }
        if batch.is_control() {
            return Err((
                ResponseError::InvalidRecord,
                Some("clients may not write control batches".to_string()),
            ));
        }
    }
    Ok(())
}

/// A transactional batch is accepted only from the current epoch of a producer whose ongoing
/// transaction includes the partition (AddPartitionsToTxn came first), so a zombie or a
/// producer that skipped AddPartitionsToTxn cannot leave data no marker will close.
fn check_transactional(
    state: &BrokerState,
    records: &[u8],
    topic: &str,
    index: i32,
) -> Result<(), (ResponseError, Option<String>)> {
    for batch in BatchIter::new(records).flatten() {
        if !batch.is_transactional() {
            continue;
        }
        state
            .txns
            .check_produce(batch.producer_id(), batch.producer_epoch(), topic, index)
            .map_err(|e| {
                (
                    e,
                    Some(format!(
                        "producer {} epoch {} has no ongoing transaction with {topic}-{index}",
                        batch.producer_id(),
                        batch.producer_epoch()
                    )),
                )
            })?;
    }
    Ok(())
}

/// `message.timestamp.before.max.ms` / `after.max.ms` for CreateTime topics, from batch
/// headers only: the batch's first timestamp must not lie more than `before` in the past and
/// its max timestamp not more than `after` in the future (Kafka checks each record; records
/// of a v2 batch lie between these two for every client that writes non-negative timestamp
/// deltas, which all do). `-1` (no timestamp) is not checked, as in Kafka.
fn validate_timestamps(
    records: &[u8],
    now: i64,
    before_max_ms: i64,
    after_max_ms: i64,
) -> Result<(), (ResponseError, Option<String>)> {
    let earliest = now.saturating_sub(before_max_ms);
    let latest = now.saturating_add(after_max_ms);
    for batch in BatchIter::new(records) {
        let batch = batch.map_err(batch_error)?;
        let (first, max) = (batch.base_timestamp(), batch.max_timestamp());
        let bad = [first, max]
            .into_iter()
            .find(|&ts| ts != -1 && (ts < earliest || ts > latest));
        if let Some(ts) = bad {
            return Err((
                ResponseError::InvalidTimestamp,
                Some(format!(
                    "timestamp {ts} of batch at offset {} is out of range: it should be \
                     within [{earliest}, {latest}]",
                    batch.base_offset()
                )),
            ));
        }
    }
    Ok(())
}

fn batch_error(e: BatchError) -> (ResponseError, Option<String>) {
    let code = match e {
        BatchError::UnsupportedMagic { .. } | BatchError::InvalidRecordCount { .. } => {
            ResponseError::InvalidRecord
        }
        BatchError::Truncated { .. }
        | BatchError::InvalidLength { .. }
        | BatchError::CrcMismatch { .. }
        | BatchError::UnknownCodec { .. }
        | BatchError::Empty
        | BatchError::Undecodable { .. } => ResponseError::CorruptMessage,
    };
    (code, Some(e.to_string()))
}
