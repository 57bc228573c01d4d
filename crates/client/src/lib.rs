//! # weir-client
//!
//! A native Rust Kafka client: producer and admin client on a shared connection layer. It
//! talks to Weir and to any Kafka broker, with `kafka-protocol` as the wire codec.
//!
//! # Layout
//! - [`connection`]: one TCP connection per broker, pipelined requests matched by correlation
//!   id, API versions negotiated with ApiVersions, request timeout.
//! - [`cluster`]: the connection pool (bootstrap, reconnect with backoff) and the metadata cache
//!   (refreshed on leader errors and every `metadata.max.age.ms`); every client routes its
//!   requests through a [`Cluster`], so a consumer can share one with a producer.
//! - [`metadata`]: the cached view of brokers, topics and partitions.
//! - [`producer`]: [`Producer`], its record accumulator, v2 batch encoder, partitioners and
//!   sender task.
//! - [`admin`]: [`Admin`] for topics, partitions, configs, offsets and the cluster.
//! - [`ClientError`]: everything that can go wrong, with Kafka error codes as
//!   [`weir_protocol::ResponseError`].
//!
//! Settings keep Kafka's names: [`ClientConfig::set`] and [`ProducerConfig::set`] take
//! `bootstrap.servers`, `acks`, `linger.ms`, ... as strings.

pub mod admin;
pub mod cluster;
mod config;
pub mod connection;
pub mod consumer;
mod error;
pub mod metadata;
pub mod producer;

pub use admin::Admin;
pub use cluster::Cluster;
pub use config::ClientConfig;
pub use consumer::assignor::MemberSubscription;
pub use consumer::config::{ConsumerConfig, IsolationLevel, OffsetReset};
pub use consumer::{Consumer, ConsumerRecord, RebalanceListener, TopicPartition};
pub use error::ClientError;
pub use metadata::{BrokerInfo, ClusterMetadata, PartitionMetadata, TopicMetadata};
pub use producer::config::{Acks, Compression, ProducerConfig};
pub use producer::partitioner::{
    murmur2, to_positive, DefaultPartitioner, Partitioner, RoundRobinPartitioner,
};
pub use producer::record::{DeliveryFuture, ProducerRecord, RecordMetadata};
pub use producer::Producer;
pub use weir_protocol::ResponseError;
