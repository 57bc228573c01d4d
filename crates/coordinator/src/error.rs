use thiserror::Error;

/// Failures of the coordinator: undecodable `__consumer_offsets` records and appends that did
/// not reach the log. Request-level rejections are Kafka error codes in the responses instead.
#[derive(Debug, Error)]
pub enum CoordinatorError {
    #[error("malformed {what} record: {reason}")]
    MalformedRecord { what: &'static str, reason: String },
    #[error("cannot encode record batch: {reason}")]
    Encode { reason: String },
    #[error("__consumer_offsets partition {partition} is not loaded")]
    PartitionNotLoaded { partition: i32 },
    #[error("__consumer_offsets-{partition}: {source}")]
    Log {
        partition: i32,
        source: weir_replication::ReplicationError,
    },
    #[error("__consumer_offsets-{partition} read: {reason}")]
    Read { partition: i32, reason: String },
}
