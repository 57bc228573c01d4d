//! # weir-broker
//!
//! The Kafka-speaking server: listeners, connections, and one handler per Kafka API.
//!
//! ## Layout
//! - [`Broker`] (`server.rs`): start-up (log dir, `meta.properties`, metadata log, partition
//!   logs), listeners, background flushing, clean shutdown.
//! - `connection.rs`: one task per connection; frames in, responses out in request order.
//! - `handlers/`: one file per API (`produce.rs`, `fetch.rs`, ...), dispatched from
//!   `handlers/mod.rs`.
//! - `state.rs`: [`BrokerState`], what handlers share: settings, the metadata image, the
//!   hosted partitions.
//! - `zero_copy.rs`: Fetch responses whose record bytes go out with `sendfile`.
//! - `retention_task.rs`: the background retention pass (`log.retention.check.interval.ms`).
//! - `cleaner_task.rs`: the background log cleaner of compacted topics (`log.cleaner.backoff.ms`).
//! - `recompress.rs`: `compression.type` conversion and the key check of compacted topics.
//! - `blocking.rs`: how connection tasks run storage work (`block_in_place` or `spawn_blocking`).
//! - `codes.rs`: the one mapping from internal errors to Kafka error codes.
//!
//! What it does not own: byte layout on disk (`weir-storage`), metadata records and config
//! definitions (`weir-metadata`), partition state (`weir-replication`), the wire codecs
//! (`weir-protocol` over `kafka-protocol`). Nothing depends on this crate except the `weir`
//! binary and the end-to-end tests.

mod blocking;
mod cleaner_task;
mod codes;
mod connection;
mod error;
pub mod groups;
mod handlers;
mod meta_properties;
mod recompress;
mod retention_task;
mod server;
mod state;
mod topic_admin;
mod topic_config;
pub mod txns;
mod zero_copy;

pub use error::BrokerError;
pub use server::Broker;
pub use state::BrokerState;
pub use weir_metadata::config::BrokerConfig;
