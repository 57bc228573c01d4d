//! The one place where Weir's internal errors become Kafka error codes.

use weir_protocol::ResponseError;
use weir_replication::ReplicationError;
use weir_storage::StorageError;

/// Wall-clock milliseconds since the Unix epoch (Kafka timestamps).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub fn storage_error(e: &StorageError) -> ResponseError {
    match e {
        StorageError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        StorageError::OutOfOrderSequence { .. } => ResponseError::OutOfOrderSequenceNumber,
        // Since Kafka 2.7 a produce from an old epoch gets INVALID_PRODUCER_EPOCH, not the
        // fatal PRODUCER_FENCED (which InitProducerId and EndTxn answer).
        StorageError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
        StorageError::MixedDuplicateBatches => ResponseError::InvalidRecord,
        _ => ResponseError::KafkaStorageError,
    }
}

pub fn replication_error(e: &ReplicationError) -> ResponseError {
    match e {
        ReplicationError::Storage(s) => storage_error(s),
        ReplicationError::UnknownPartition { .. } => ResponseError::UnknownTopicOrPartition,
        ReplicationError::Io { .. } | ReplicationError::Poisoned => {
            ResponseError::KafkaStorageError
        }
    }
}
