//! The metadata log's and store's error type.
//!
//! `MetadataError` is fatal for the metadata subsystem (an I/O failure, a log that cannot be
//! replayed): the broker stops rather than answer from a stale or diverged image. Rejections of a
//! client's request are [`crate::TopicError`] (answered with a Kafka error code), and bad config
//! values are [`crate::ConfigError`].

use std::path::PathBuf;

use uuid::Uuid;

/// An error of the metadata log, image or store.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// An I/O operation on the metadata log failed.
    #[error("metadata log I/O error during {op} on {path}: {source}")]
    Io {
        /// What was being done (`open`, `append`, `fsync`, ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A change could not be encoded as a log entry.
    #[error("cannot encode metadata records: {source}")]
    Encode {
        #[source]
        source: serde_json::Error,
    },
    /// An encoded change is larger than a metadata log entry may be.
    #[error("metadata log entry of {len} bytes exceeds the limit of {max} bytes")]
    EntryTooLarge { len: usize, max: usize },
    /// An earlier append failed and the log could not be restored to its last good length;
    /// the log refuses further appends until it is reopened (which recovers it).
    #[error("metadata log {path} is failed after an earlier I/O error; reopen it")]
    LogFailed { path: PathBuf },
    /// A record refers to a topic id the image does not know.
    #[error("metadata record refers to unknown topic id {topic_id}")]
    UnknownTopicId { topic_id: Uuid },
    /// A record refers to a topic name the image does not know.
    #[error("metadata record refers to unknown topic '{name}'")]
    UnknownTopic { name: String },
    /// A producer id block record would hand out ids again.
    #[error("producer id block {next_producer_id} is below the current next id {current}")]
    ProducerIdsGoBack { current: i64, next_producer_id: i64 },
    /// A `Topic` record would give a name already held by another topic id.
    #[error("topic '{name}' already exists with id {existing}, cannot register id {topic_id}")]
    TopicNameConflict {
        name: String,
        existing: Uuid,
        topic_id: Uuid,
    },
    /// A `Topic` record would reuse a topic id held by another name.
    #[error("topic id {topic_id} is already used by topic '{existing}', cannot register '{name}'")]
    TopicIdConflict {
        topic_id: Uuid,
        existing: String,
        name: String,
    },
    /// A valid log entry held records that do not apply to the image built so far: the log
    /// was written by a different or buggy version.
    #[error("metadata log entry at offset {offset} does not apply: {source}")]
    Replay {
        offset: i64,
        #[source]
        source: Box<MetadataError>,
    },
}

/// Result alias for this crate's fatal errors.
pub type Result<T, E = MetadataError> = std::result::Result<T, E>;
