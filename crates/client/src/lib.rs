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
//!
//! # Transactions
//!
//! A producer with a `transactional.id` writes atomically across partitions, and can commit a
//! consumer group's offsets in the same transaction (consume-transform-produce). Consumers
//! with `isolation.level=read_committed` see only committed records.
//!
//! ```no_run
//! # async fn demo(consumer: &mut weir_client::Consumer) -> Result<(), weir_client::ClientError> {
//! use std::time::Duration;
//! use weir_client::{ClientError, Producer, ProducerConfig, ProducerRecord, TopicPartition};
//! let mut config = ProducerConfig::new("127.0.0.1:9092");
//! config.set("transactional.id", "enricher-1")?;
//! let producer = Producer::new(config).await?;
//! producer.init_transactions().await?; // fences older instances with the same id
//! loop {
//!     let records = consumer.poll(Duration::from_millis(500)).await?;
//!     if records.is_empty() {
//!         continue;
//!     }
//!     producer.begin_transaction()?;
//!     let mut offsets = Vec::new();
//!     for r in &records {
//!         producer.send(ProducerRecord::new("out").value(r.value.as_deref().unwrap_or_default())).await?;
//!         offsets.push((TopicPartition::new(&*r.topic, r.partition), r.offset + 1));
//!     }
//!     let group = consumer.group_metadata().expect("a group.id");
//!     producer.send_offsets_to_transaction(&offsets, &group).await?;
//!     match producer.commit_transaction().await {
//!         Ok(()) => {}
//!         // Fenced by a newer instance: stop.
//!         Err(e @ ClientError::ProducerFatal { .. }) => return Err(e),
//!         // Anything else: abort, go back to the committed offsets and try again.
//!         Err(_) => producer.abort_transaction().await?,
//!     }
//! }
//! # }
//! ```

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
pub use consumer::group_metadata::ConsumerGroupMetadata;
pub use consumer::{CommitFuture, Consumer, ConsumerRecord, RebalanceListener, TopicPartition};
pub use error::ClientError;
pub use metadata::{BrokerInfo, ClusterMetadata, PartitionMetadata, TopicMetadata};
pub use producer::config::{Acks, Compression, ProducerConfig};
pub use producer::partitioner::{
    murmur2, to_positive, DefaultPartitioner, Partitioner, RoundRobinPartitioner,
};
pub use producer::record::{DeliveryFuture, ProducerRecord, RecordMetadata};
pub use producer::Producer;
pub use weir_protocol::ResponseError;
