use thiserror::Error;

/// Failures of the replica manager. Storage failures are carried unchanged so the broker can
/// map each to its Kafka error code.
#[derive(Debug, Error)]
pub enum ReplicationError {
    #[error(transparent)]
    Storage(#[from] weir_storage::StorageError),
    #[error("I/O on {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("partition {topic}-{partition} is not hosted here")]
    UnknownPartition { topic: String, partition: i32 },
    #[error("a lock was poisoned by a panic in another thread")]
    Poisoned,
}
