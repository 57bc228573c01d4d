//! # weir-coordinator
//!
//! The group coordinator: consumer groups (Kafka's classic protocol: JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup) and committed offsets, kept as records in the compacted internal
//! topic `__consumer_offsets` and rebuilt by replaying it.
//!
//! ## Layout
//! - [`GroupCoordinator`] (`coordinator.rs`): the I/O-free state machine. Fed requests and the
//!   time, it returns [`Effects`]: replies to parked requests and records to append.
//! - [`Group`] (`group.rs`): one group's state, members and offsets.
//! - The consumer group protocol of KIP-848: [`ConsumerGroup`] (`consumer_group.rs`: epochs,
//!   target assignment, reconciliation), its requests on [`GroupCoordinator`]
//!   (`consumer_coordinator.rs`: ConsumerGroupHeartbeat, ConsumerGroupDescribe, timers) and
//!   the server-side assignors ([`assignor`], `uniform.rs`, `range.rs`); their records of
//!   key versions 3 to 8 in `__consumer_offsets` ([`consumer_records`]).
//! - `records.rs`: Kafka's key/value schemas of `__consumer_offsets` records, and the
//!   group-to-partition hash.
//! - [`GroupCoordinatorService`] (`service.rs`): the async shell: clock, timers, appends to the
//!   partitions, parked JoinGroup/SyncGroup replies.
//! - The transaction coordinator, built the same way: [`TransactionCoordinator`]
//!   (`txn_coordinator.rs`, I/O-free), its `__transaction_state` records (`txn_records.rs`)
//!   and [`TxnCoordinatorService`] (`txn_service.rs`, appends, markers, timeouts).
//!
//! Owns: group and offset semantics and their record format. Does not own: the wire (the
//! broker's handlers turn requests into calls here), which partitions exist (the broker
//! creates `__consumer_offsets` and hands its partitions over), or the log itself
//! (`weir-replication`).

pub mod assignor;
mod consumer_coordinator;
mod consumer_group;
pub mod consumer_records;
mod coordinator;
mod error;
mod group;
mod range;
pub mod records;
mod service;
mod txn_coordinator;
pub mod txn_records;
mod txn_service;
mod uniform;

pub use assignor::{Assignment, PartitionAssignor, TopicInfo};
pub use consumer_coordinator::{LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH};
pub use consumer_group::{ConsumerGroup, ConsumerGroupState, ConsumerMember, MemberState};
pub use coordinator::{
    group_id, CommitPartition, CoordinatorConfig, Effects, GroupCoordinator, GroupDescription,
    GroupListing, MemberDescription, Reply,
};
pub use error::CoordinatorError;
pub use group::{Group, GroupState, Member, Token};
pub use range::RangeAssignor;
pub use records::{partition_for, CoordinatorRecord, OffsetAndMetadata, CONSUMER_OFFSETS_TOPIC};
pub use service::GroupCoordinatorService;
pub use txn_coordinator::{
    TransactionCoordinator, TxnAction, TxnConfig, TxnDescription, TxnEffects, TxnMarker,
};
pub use txn_records::{TxnMetadata, TxnRecord, TxnState, TRANSACTION_STATE_TOPIC};
pub use txn_service::{PartitionLookup, TxnCoordinatorService};
pub use uniform::UniformAssignor;
