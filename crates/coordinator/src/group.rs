//! One classic-protocol group: its state, members and committed offsets.
//!
//! The state machine is Kafka's (`GroupMetadata` in the classic coordinator):
//!
//! ```text
//! Empty --join--> PreparingRebalance --all joined / rebalance timeout--> CompletingRebalance
//!   ^                 ^      |                                                 |
//!   |                 |      +--no members left--> Empty                       | leader's SyncGroup
//!   |                 +--------member joins, leaves or expires-----------------+--> Stable
//! Dead: deleted (DeleteGroups, or expired with no offsets left)
//! ```

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use crate::records::{GroupMetadataRecord, MemberRecord, OffsetAndMetadata};

/// A parked JoinGroup or SyncGroup request, completed by the async shell when the core
/// produces its reply.
pub type Token = u64;

/// Kafka's group states, named as DescribeGroups and ListGroups report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// A member of a classic group.
#[derive(Debug, Clone)]
pub struct Member {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocol_type: String,
    /// `(protocol name, metadata)` in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    /// The member's JoinGroup parked until the rebalance completes.
    pub awaiting_join: Option<Token>,
    /// The member's SyncGroup parked until the leader sends the assignment.
    pub awaiting_sync: Option<Token>,
    /// Session expiry: the member is removed if no heartbeat (or join/sync/commit) comes
    /// before this time.
    pub heartbeat_deadline: i64,
    /// JoinGroup version the member last used (v9+ leaders may skip the assignment).
    pub join_version: i16,
    /// Order of arrival, to pick the first member as leader like Kafka's LinkedHashMap.
    pub seq: u64,
}

impl Member {
    pub fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    pub fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|(name, _)| name == protocol)
    }

    /// Whether `protocols` are the same as the member's (names and metadata, in order).
    pub fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }
}

/// A group: classic membership and committed offsets.
#[derive(Debug, Clone)]
pub struct Group {
    pub group_id: String,
    pub state: GroupState,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub generation: i32,
    pub leader: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// group.instance.id -> member id of the static member holding it.
    pub static_members: HashMap<String, String>,
    /// Members that were given an id with MEMBER_ID_REQUIRED and must rejoin with it before
    /// their session deadline.
    pub pending_members: HashMap<String, i64>,
    /// When PreparingRebalance ends even if some members have not rejoined.
    pub rebalance_deadline: Option<i64>,
    /// `group.initial.rebalance.delay.ms` of a new group: (next check, hard limit).
    pub initial_delay: Option<(i64, i64)>,
    pub offsets: BTreeMap<(String, i32), OffsetAndMetadata>,
    /// When the group entered its current state (drives offset expiry of empty groups).
    pub current_state_timestamp: i64,
    pub next_seq: u64,
    /// A member joined during the initial rebalance delay (which then extends).
    pub new_member_added: bool,
}

impl Group {
    pub fn new(group_id: String, now: i64) -> Self {
        Self {
            group_id,
            state: GroupState::Empty,
            protocol_type: None,
            protocol_name: None,
            generation: 0,
            leader: None,
            members: BTreeMap::new(),
            static_members: HashMap::new(),
            pending_members: HashMap::new(),
            rebalance_deadline: None,
            initial_delay: None,
            offsets: BTreeMap::new(),
            current_state_timestamp: now,
            next_seq: 0,
            new_member_added: false,
        }
    }

    pub fn transition(&mut self, state: GroupState, now: i64) {
        self.state = state;
        self.current_state_timestamp = now;
    }

    pub fn is(&self, state: GroupState) -> bool {
        self.state == state
    }

    /// A static member with `instance_id` exists and is held by another member id.
    pub fn is_static_member_fenced(&self, instance_id: Option<&str>, member_id: &str) -> bool {
        instance_id
            .and_then(|i| self.static_members.get(i))
            .is_some_and(|holder| holder != member_id)
    }

    /// Whether a new member with `protocol_type`/`protocols` can join: same protocol type and
    /// at least one protocol every member (and the newcomer) supports.
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        protocols
            .iter()
            .any(|(name, _)| self.members.values().all(|m| m.supports(name)))
    }

    /// Picks the protocol supported by every member with the most votes, each member voting
    /// for the first protocol it supports among the candidates (Kafka's `selectProtocol`).
    pub fn select_protocol(&self) -> Option<String> {
        let first = self.members.values().min_by_key(|m| m.seq)?;
        let candidates: Vec<&String> = first
            .protocols
            .iter()
            .map(|(name, _)| name)
            .filter(|name| self.members.values().all(|m| m.supports(name)))
            .collect();
        let mut votes: Vec<(&String, usize)> = candidates.iter().map(|c| (*c, 0)).collect();
        for m in self.members.values() {
            if let Some((name, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(&n)) {
                if let Some(v) = votes.iter_mut().find(|(c, _)| *c == name) {
                    v.1 += 1;
                }
            }
        }
        // Ties go to the earlier candidate in the first member's preference order.
        let mut best: Option<(&String, usize)> = None;
        for (name, count) in votes {
            if best.is_none_or(|(_, b)| count > b) {
                best = Some((name, count));
            }
        }
        best.map(|(name, _)| name.clone())
    }

    pub fn all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    pub fn max_rebalance_timeout(&self) -> i32 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// The `GroupMetadataValue` of the current generation.
    pub fn metadata_record(&self) -> GroupMetadataRecord {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        GroupMetadataRecord {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: self.protocol_name.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: self.current_state_timestamp,
            members: self
                .members
                .values()
                .map(|m| MemberRecord {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    subscription: m.metadata_for(&protocol),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    /// Restores membership from a replayed `GroupMetadataValue`: a group with members is
    /// Stable (their sessions restart at `now`), one without is Empty.
    pub fn load_metadata(&mut self, record: GroupMetadataRecord, now: i64) {
        self.protocol_type = (!record.protocol_type.is_empty()).then_some(record.protocol_type);
        self.generation = record.generation;
        self.protocol_name = record.protocol.clone();
        self.leader = record.leader;
        self.members.clear();
        self.static_members.clear();
        self.pending_members.clear();
        self.rebalance_deadline = None;
        self.initial_delay = None;
        let protocol = record.protocol.unwrap_or_default();
        for m in record.members {
            if let Some(instance) = &m.group_instance_id {
                self.static_members
                    .insert(instance.clone(), m.member_id.clone());
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            self.members.insert(
                m.member_id.clone(),
                Member {
                    member_id: m.member_id,
                    group_instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    protocol_type: self.protocol_type.clone().unwrap_or_default(),
                    protocols: vec![(protocol.clone(), m.subscription)],
                    assignment: m.assignment,
                    awaiting_join: None,
                    awaiting_sync: None,
                    heartbeat_deadline: now.saturating_add(i64::from(m.session_timeout_ms)),
                    join_version: 0,
                    seq,
                },
            );
        }
        let state = if self.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
        self.state = state;
        self.current_state_timestamp = if record.current_state_timestamp >= 0 {
            record.current_state_timestamp
        } else {
            now
        };
    }
}
