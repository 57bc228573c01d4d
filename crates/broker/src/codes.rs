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
