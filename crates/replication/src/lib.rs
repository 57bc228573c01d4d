//! # weir-replication
//!
//! The replica manager: which partitions this broker hosts, each partition's log and its
//! replication state (today: a single-node leader whose ISR is itself, so the high watermark is
//! the log end offset), and the wakeups that let parked fetches (Kafka's fetch purgatory)
//! resume the moment an append lands, with no timer polling.
//!
//! Owns: [`Partition`], [`ReplicaManager`], the partition directories under `log.dirs` and the
//! `recovery-point-offset-checkpoint` file.
//! Does not own: the bytes on disk (`weir-storage`), which partitions should exist (the metadata
//! image, `weir-metadata`), or the wire protocol (`weir-broker`). Follower fetchers, ISR changes
//! and delayed produce for `acks=all` with several replicas attach here when the cluster work
//! lands.

mod error;
mod partition;
mod replica_manager;

pub use error::ReplicationError;
pub use partition::{FetchWaker, Partition};
pub use replica_manager::{ReplicaManager, TopicPartition};
