use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use weir_protocol::ResponseError;

/// What went wrong in the client. Cloneable, because one failed batch fails every record in it.
///
/// Kafka error codes returned by a broker are carried as [`ResponseError`] so a caller can match
/// on them (`NOT_LEADER_OR_FOLLOWER`, `TOPIC_ALREADY_EXISTS`, ...).
#[derive(Debug, Clone, Error)]
pub enum ClientError {
    #[error("invalid configuration {key}={value}: {reason}")]
    InvalidConfig {
        key: String,
        value: String,
        reason: String,
    },
    #[error("no bootstrap server could be reached ({addresses}): {reason}")]
    BootstrapFailed { addresses: String, reason: String },
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    #[error("connection to {addr} closed: {reason}")]
    ConnectionClosed { addr: String, reason: String },
    #[error("{api} request to {addr} timed out after {timeout:?}")]
    RequestTimeout {
        api: &'static str,
        addr: String,
        timeout: Duration,
    },
    #[error("broker {addr} does not support {api} (client and broker version ranges do not meet)")]
    UnsupportedApi { api: &'static str, addr: String },
    #[error("cannot encode or decode {api}: {reason}")]
    Codec { api: &'static str, reason: String },
    #[error("{context} ({error}, error code {})", error.code())]
    Kafka {
        context: String,
        error: ResponseError,
    },
    #[error("topic {topic} is not known to the cluster after {waited:?}")]
    UnknownTopic { topic: String, waited: Duration },
    #[error("partition {partition} of {topic} does not exist ({partitions} partitions)")]
    UnknownPartition {
        topic: String,
        partition: i32,
        partitions: i32,
    },
    #[error("no leader is known for {topic}-{partition}")]
    LeaderNotAvailable { topic: String, partition: i32 },
    #[error("record of {size} bytes is larger than {limit_name} ({limit})")]
    RecordTooLarge {
        size: usize,
        limit: usize,
        limit_name: &'static str,
    },
    #[error("buffer.memory is full: no space for {size} bytes after max.block.ms ({waited:?})")]
    BufferExhausted { size: usize, waited: Duration },
    #[error("record for {topic}-{partition} expired after delivery.timeout.ms ({timeout:?}){}", last_error.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default())]
    DeliveryTimeout {
        topic: String,
        partition: i32,
        timeout: Duration,
        last_error: Option<Box<ClientError>>,
    },
    #[error("producer is closed")]
    ProducerClosed,
    #[error("broker answered without the expected {what}")]
    MissingInResponse { what: String },
    /// A transactional call made in the wrong state (`begin_transaction` twice, `send` outside
    /// a transaction, ...): Kafka's `IllegalStateException`.
    #[error("transactional producer: cannot {operation} in state {state}")]
    InvalidTransactionState {
        operation: &'static str,
        state: &'static str,
    },
    /// The current transaction hit an error it cannot recover from: it can only be aborted
    /// (`abort_transaction`), after which the producer is usable again.
    #[error("the transaction must be aborted: {cause}")]
    TransactionAbortable { cause: Box<ClientError> },
    /// The producer was fenced (another instance with the same `transactional.id`) or hit
    /// another fatal error: it can only be closed.
    #[error("the producer is in a fatal state and must be closed: {cause}")]
    ProducerFatal { cause: Box<ClientError> },
    /// The record's transaction was aborted before the record was sent.
    #[error("record not sent: its transaction was aborted")]
    TransactionAborted,
}

impl ClientError {
    /// The Kafka error code behind this error, if a broker sent one.
    pub fn kafka_error(&self) -> Option<ResponseError> {
        match self {
            ClientError::Kafka { error, .. } => Some(*error),
            ClientError::TransactionAbortable { cause } | ClientError::ProducerFatal { cause } => {
                cause.kafka_error()
            }
            _ => None,
        }
    }

    /// Whether retrying the same request later may succeed (a lost connection, a timeout, a
    /// retriable Kafka error such as `NOT_LEADER_OR_FOLLOWER`).
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Connect { .. }
            | ClientError::ConnectionClosed { .. }
            | ClientError::RequestTimeout { .. }
            | ClientError::LeaderNotAvailable { .. } => true,
            ClientError::Kafka { error, .. } => error.is_retriable(),
            _ => false,
        }
    }

    pub(crate) fn kafka(context: impl Into<String>, code: i16) -> Option<ClientError> {
        ResponseError::try_from_code(code).map(|error| ClientError::Kafka {
            context: context.into(),
            error,
        })
    }
}
