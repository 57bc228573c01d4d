//! Weir's cluster metadata, as in Kafka's KRaft mode: a log of metadata records applied to an
//! in-memory image.
//!
//! # Layout
//!
//! - [`record`]: [`MetadataRecord`], the records of the metadata log (brokers, topics,
//!   partitions, configs).
//! - [`log`]: [`MetadataLog`], the local append-only metadata log file, its on-disk format and
//!   crash recovery.
//! - [`image`]: [`MetadataImage`], the state those records build (cheap to clone, for
//!   `Arc` snapshots).
//! - [`store`]: [`MetadataStore`], log + image: open/replay and `commit`.
//! - [`topics`]: the controller's I/O-free decisions for CreateTopics, DeleteTopics,
//!   CreatePartitions and (Incremental)AlterConfigs, returning records or a [`TopicError`].
//! - [`config`]: config definitions with Kafka's names and defaults: topic configs
//!   ([`config::topic`]) and the broker's `server.properties` ([`config::broker`]).
//!
//! # Not here
//!
//! Networking and Kafka request decoding (`weir-broker`, `weir-protocol`), partition data
//! (`weir-storage`; the broker converts [`config::topic::ResolvedTopicConfig`] into its
//! `LogConfig`), and replication of the metadata log, which will come later through a Raft
//! quorum built on `openraft` (log entries already carry offsets for that; see [`log`]).
//!
//! # Errors
//!
//! [`MetadataError`] is fatal for the metadata subsystem (I/O, a log that does not replay);
//! [`TopicError`] rejects one client request with one Kafka error code; [`ConfigError`] is a
//! bad config key or value.

pub mod config;
pub mod error;
pub mod image;
pub mod log;
pub mod record;
pub mod store;
pub mod topics;

pub use config::broker::{BrokerConfig, Listener};
pub use config::topic::{validate_topic_config, ResolvedTopicConfig, TopicConfigView};
pub use config::{ConfigEntry, ConfigError, ConfigSource, ConfigSynonym, ConfigType};
pub use error::{MetadataError, Result};
pub use image::{BrokerRegistration, MetadataImage, PartitionImage, TopicImage};
pub use log::{LogEntry, MetadataLog};
pub use record::{ConfigResource, MetadataRecord};
pub use store::MetadataStore;
pub use topics::{AlterConfigOp, TopicError};
