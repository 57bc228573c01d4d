use thiserror::Error;

/// Failures that stop the broker or a metadata change; request-level problems are answered
/// with Kafka error codes instead (see [`crate::codes`]).
#[derive(Debug, Error)]
pub enum BrokerError {
    #[error("metadata: {0}")]
    Metadata(#[from] weir_metadata::MetadataError),
    #[error("replication: {0}")]
    Replication(#[from] weir_replication::ReplicationError),
    #[error("config: {0}")]
    Config(String),
    #[error("I/O on {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot bind listener {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("a lock was poisoned by a panic in another thread")]
    Poisoned,
}
