//! [`GroupCoordinator`]: the classic group protocol and committed offsets as an I/O-free state
//! machine, after Kafka's `GroupCoordinator` (the classic one, before KIP-848).
//!
//! It is fed requests and the current time (`now`, milliseconds) and answers with
//! [`Effects`]: replies for parked JoinGroup/SyncGroup requests (identified by a [`Token`])
//! and records to append to `__consumer_offsets`. It never blocks, sleeps or reads a clock;
//! the async shell ([`crate::GroupCoordinatorService`]) asks [`GroupCoordinator::next_deadline`]
//! when to call [`GroupCoordinator::tick`], appends the records, then delivers the replies.
//!
//! Offset commits are validated here ([`GroupCoordinator::offset_commit`]) but applied only
//! once their records are in the log, through the same [`GroupCoordinator::replay`] that
//! rebuilds the state at start-up, so an acknowledged commit is exactly what a restart sees.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{
    ConsumerProtocolSubscription, GroupId, HeartbeatRequest, JoinGroupRequest, JoinGroupResponse,
    SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::{Decodable, StrBytes};

use crate::consumer_group::ConsumerGroup;
use crate::group::{Group, GroupState, Member, Token};
use crate::records::{CoordinatorRecord, OffsetAndMetadata};

/// Kafka's `offset.metadata.max.bytes` default.
const OFFSET_METADATA_MAX_BYTES: usize = 4096;

/// The broker settings the coordinator follows (Kafka's names).
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// `group.initial.rebalance.delay.ms`
    pub initial_rebalance_delay_ms: i32,
    /// `group.min.session.timeout.ms`
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`
    pub max_session_timeout_ms: i32,
    /// `group.max.size`
    pub max_size: i32,
    /// `offsets.retention.minutes`, in milliseconds.
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms`
    pub offsets_retention_check_interval_ms: i64,
    /// `group.consumer.session.timeout.ms` (KIP-848 groups: the broker sets the session).
    pub consumer_session_timeout_ms: i32,
    /// `group.consumer.heartbeat.interval.ms`
    pub consumer_heartbeat_interval_ms: i32,
    /// `group.consumer.assignors`: server-side assignor names, the default first.
    pub consumer_assignors: Vec<String>,
    /// `group.consumer.max.size`
    pub consumer_max_size: i32,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        Self {
            initial_rebalance_delay_ms: 3000,
            min_session_timeout_ms: 6000,
            max_session_timeout_ms: 1_800_000,
            max_size: i32::MAX,
            offsets_retention_ms: 10080 * 60_000,
            offsets_retention_check_interval_ms: 600_000,
            consumer_session_timeout_ms: 45_000,
            consumer_heartbeat_interval_ms: 5000,
            consumer_assignors: vec!["uniform".to_string(), "range".to_string()],
            consumer_max_size: i32::MAX,
        }
    }
}

/// A reply to a parked request.
#[derive(Debug, Clone)]
pub enum Reply {
    Join(JoinGroupResponse),
    Sync(SyncGroupResponse),
}

/// What a call into the core asks the shell to do: append `records` (in order), then send
/// `replies`.
#[derive(Debug, Default)]
pub struct Effects {
    pub replies: Vec<(Token, Reply)>,
    pub records: Vec<CoordinatorRecord>,
}

/// One partition's part of an OffsetCommit: its error, and the offset to store if none.
#[derive(Debug, Clone)]
pub struct CommitPartition {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

/// A group as ListGroups reports it.
#[derive(Debug, Clone)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    /// Kafka's state name (`Stable`, `Empty`, ... and for consumer groups `Assigning`,
    /// `Reconciling`).
    pub state: &'static str,
    /// `classic` or `consumer` (ListGroups v5 `GroupType`).
    pub group_type: &'static str,
}

/// A member as DescribeGroups reports it.
#[derive(Debug, Clone)]
pub struct MemberDescription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: Bytes,
    pub assignment: Bytes,
}

/// A group as DescribeGroups reports it.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    /// Kafka's state name.
    pub state: &'static str,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<MemberDescription>,
}

/// The group coordinator's state: every group this broker coordinates.
#[derive(Debug)]
pub struct GroupCoordinator {
    pub(crate) config: CoordinatorConfig,
    /// Classic groups, and the committed offsets of every group (consumer-protocol groups'
    /// offsets too: they are stored and fetched the same way).
    pub(crate) groups: HashMap<String, Group>,
    /// Consumer-protocol (KIP-848) memberships, by group id ([`crate::consumer_coordinator`]).
    pub(crate) consumer_groups: HashMap<String, ConsumerGroup>,
    next_retention_check: i64,
    member_counter: u64,
}

fn s(v: &StrBytes) -> String {
    v.to_string()
}

fn sb(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn join_error(error: ResponseError, member_id: &str) -> Reply {
    Reply::Join(
        JoinGroupResponse::default()
            .with_error_code(error.code())
            .with_generation_id(-1)
            .with_member_id(sb(member_id)),
    )
}

fn sync_error(error: ResponseError) -> Reply {
    Reply::Sync(SyncGroupResponse::default().with_error_code(error.code()))
}

impl GroupCoordinator {
    pub fn new(config: CoordinatorConfig, now: i64) -> Self {
        Self {
            next_retention_check: now.saturating_add(config.offsets_retention_check_interval_ms),
            config,
            groups: HashMap::new(),
            consumer_groups: HashMap::new(),
            member_counter: 0,
        }
    }

    pub fn config(&self) -> &CoordinatorConfig {
        &self.config
    }

    pub fn group(&self, group_id: &str) -> Option<&Group> {
        self.groups.get(group_id)
    }

    fn new_member_id(&mut self, client_id: &str) -> String {
        self.member_counter += 1;
        format!("{client_id}-{}", uuid::Uuid::new_v4())
    }

    // ---------------------------------------------------------------- JoinGroup

    /// JoinGroup. The reply comes in the returned effects at once (errors, MEMBER_ID_REQUIRED,
    /// a stable member's rejoin) or later, from another call or a tick, when the rebalance
    /// completes.
    #[allow(clippy::too_many_arguments)]
    pub fn join_group(
        &mut self,
        req: &JoinGroupRequest,
        version: i16,
        client_id: &str,
        client_host: &str,
        token: Token,
        now: i64,
    ) -> Effects {
        let mut fx = Effects::default();
        let group_id = s(&req.group_id.0);
        let member_id = s(&req.member_id);
        let instance_id = req.group_instance_id.as_ref().map(s);
        let session = req.session_timeout_ms;
        let rebalance = if version == 0 || req.rebalance_timeout_ms <= 0 {
            session
        } else {
            req.rebalance_timeout_ms
        };
        let protocol_type = s(&req.protocol_type);
        let protocols: Vec<(String, Bytes)> = req
            .protocols
            .iter()
            .map(|p| (s(&p.name), p.metadata.clone()))
            .collect();
        let fail = |fx: &mut Effects, e: ResponseError| {
            fx.replies.push((token, join_error(e, &member_id)));
        };
        if group_id.is_empty() {
            fail(&mut fx, ResponseError::InvalidGroupId);
            return fx;
        }
        if session < self.config.min_session_timeout_ms
            || session > self.config.max_session_timeout_ms
        {
            fail(&mut fx, ResponseError::InvalidSessionTimeout);
            return fx;
        }
        // Classic and consumer groups share the id space: a classic member cannot join a
        // consumer group that has members; an empty one is replaced.
        if let Some(cg) = self.consumer_groups.get(&group_id) {
            if !cg.members.is_empty() {
                fail(&mut fx, ResponseError::InconsistentGroupProtocol);
                return fx;
            }
            fx.records.extend(self.consumer_group_tombstones(&group_id));
            self.consumer_groups.remove(&group_id);
        }
        if !self.groups.contains_key(&group_id) {
            if !member_id.is_empty() {
                fail(&mut fx, ResponseError::UnknownMemberId);
                return fx;
            }
            self.groups
                .insert(group_id.clone(), Group::new(group_id.clone(), now));
        }
        let new_member_id = if member_id.is_empty() {
            self.new_member_id(client_id)
        } else {
            String::new()
        };
        let config = self.config.clone();
        let Some(group) = self.groups.get_mut(&group_id) else {
            return fx;
        };
        if group.is(GroupState::Dead) {
            fail(&mut fx, ResponseError::CoordinatorNotAvailable);
            return fx;
        }
        let new = NewMember {
            instance_id: instance_id.clone(),
            client_id: client_id.to_string(),
            client_host: client_host.to_string(),
            session,
            rebalance,
            protocol_type: protocol_type.clone(),
            protocols: protocols.clone(),
            version,
            token,
        };

        if member_id.is_empty() {
            let members = group.members.len() + group.pending_members.len();
            if usize::try_from(config.max_size).is_ok_and(|max| members >= max) {
                fail(&mut fx, ResponseError::GroupMaxSizeReached);
                return fx;
            }
            if !group.supports_protocols(&protocol_type, &protocols) {
                fail(&mut fx, ResponseError::InconsistentGroupProtocol);
                return fx;
            }
            if let Some(instance) = &instance_id {
                if let Some(old_id) = group.static_members.get(instance).cloned() {
                    replace_static_member(
                        group,
                        &config,
                        &old_id,
                        new_member_id,
                        new,
                        now,
                        &mut fx,
                    );
                    return fx;
                }
                add_member_and_rebalance(group, &config, new_member_id, new, now, &mut fx);
            } else if version >= 4 {
                // KIP-394: hand out the id first, so a client that times out and retries is
                // not counted twice.
                group.pending_members.insert(
                    new_member_id.clone(),
                    now.saturating_add(i64::from(session)),
                );
                fx.replies.push((
                    token,
                    join_error(ResponseError::MemberIdRequired, &new_member_id),
                ));
            } else {
                add_member_and_rebalance(group, &config, new_member_id, new, now, &mut fx);
            }
            return fx;
        }

        // A member that already has an id.
        if group.pending_members.contains_key(&member_id) {
            if !group.supports_protocols(&protocol_type, &protocols) {
                fail(&mut fx, ResponseError::InconsistentGroupProtocol);
                return fx;
            }
            group.pending_members.remove(&member_id);
            add_member_and_rebalance(group, &config, member_id, new, now, &mut fx);
            return fx;
        }
        if group.is_static_member_fenced(instance_id.as_deref(), &member_id) {
            fail(&mut fx, ResponseError::FencedInstanceId);
            return fx;
        }
        if !group.members.contains_key(&member_id) || group.is(GroupState::Empty) {
            fail(&mut fx, ResponseError::UnknownMemberId);
            return fx;
        }
        if !group.supports_protocols(&protocol_type, &protocols) {
            fail(&mut fx, ResponseError::InconsistentGroupProtocol);
            return fx;
        }
        let is_leader = group.leader.as_deref() == Some(member_id.as_str());
        let matches = group
            .members
            .get(&member_id)
            .is_some_and(|m| m.matches(&protocols));
        match group.state {
            GroupState::PreparingRebalance => {
                update_member_and_rebalance(group, &config, &member_id, new, now, &mut fx);
            }
            GroupState::CompletingRebalance if matches => {
                // The member missed its JoinGroup response: send the current generation again.
                let reply = current_generation_reply(group, &member_id, is_leader, false);
                fx.replies.push((token, reply));
            }
            GroupState::Stable if matches && !is_leader => {
                let reply = current_generation_reply(group, &member_id, false, false);
                fx.replies.push((token, reply));
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                update_member_and_rebalance(group, &config, &member_id, new, now, &mut fx);
            }
            GroupState::Empty | GroupState::Dead => {
                fail(&mut fx, ResponseError::UnknownMemberId);
            }
        }
        fx
    }

    // ---------------------------------------------------------------- SyncGroup

    /// SyncGroup. Followers are parked until the leader's SyncGroup brings the assignment.
    pub fn sync_group(&mut self, req: &SyncGroupRequest, token: Token, now: i64) -> Effects {
        let mut fx = Effects::default();
        let group_id = s(&req.group_id.0);
        let member_id = s(&req.member_id);
        let instance_id = req.group_instance_id.as_ref().map(s);
        let Some(group) = self.groups.get_mut(&group_id) else {
            fx.replies
                .push((token, sync_error(ResponseError::UnknownMemberId)));
            return fx;
        };
        let error = if group.is(GroupState::Dead) {
            Some(ResponseError::CoordinatorNotAvailable)
        } else if group.is_static_member_fenced(instance_id.as_deref(), &member_id) {
            Some(ResponseError::FencedInstanceId)
        } else if !group.members.contains_key(&member_id) {
            Some(ResponseError::UnknownMemberId)
        } else if req.generation_id != group.generation {
            Some(ResponseError::IllegalGeneration)
        } else if req
            .protocol_type
            .as_ref()
            .is_some_and(|t| group.protocol_type.as_deref() != Some(t.as_str()))
            || req
                .protocol_name
                .as_ref()
                .is_some_and(|n| group.protocol_name.as_deref() != Some(n.as_str()))
        {
            Some(ResponseError::InconsistentGroupProtocol)
        } else {
            match group.state {
                GroupState::Empty => Some(ResponseError::UnknownMemberId),
                GroupState::PreparingRebalance => Some(ResponseError::RebalanceInProgress),
                _ => None,
            }
        };
        if let Some(e) = error {
            fx.replies.push((token, sync_error(e)));
            return fx;
        }
        let is_leader = group.leader.as_deref() == Some(member_id.as_str());
        if let Some(m) = group.members.get_mut(&member_id) {
            m.heartbeat_deadline = now.saturating_add(i64::from(m.session_timeout_ms));
        }
        if group.is(GroupState::Stable) {
            let assignment = group
                .members
                .get(&member_id)
                .map(|m| m.assignment.clone())
                .unwrap_or_default();
            fx.replies
                .push((token, Reply::Sync(sync_ok(group, assignment))));
            return fx;
        }
        // CompletingRebalance.
        if let Some(m) = group.members.get_mut(&member_id) {
            if let Some(old) = m.awaiting_sync.replace(token) {
                fx.replies
                    .push((old, sync_error(ResponseError::RebalanceInProgress)));
            }
        }
        if is_leader {
            let assignments: HashMap<String, Bytes> = req
                .assignments
                .iter()
                .map(|a| (s(&a.member_id), a.assignment.clone()))
                .collect();
            for m in group.members.values_mut() {
                m.assignment = assignments.get(&m.member_id).cloned().unwrap_or_default();
            }
            fx.records.push(CoordinatorRecord::GroupMetadata {
                group: group.group_id.clone(),
                value: Some(group.metadata_record()),
            });
            group.transition(GroupState::Stable, now);
            let replies: Vec<(Token, Bytes)> = group
                .members
                .values_mut()
                .filter_map(|m| m.awaiting_sync.take().map(|t| (t, m.assignment.clone())))
                .collect();
            for (t, assignment) in replies {
                fx.replies
                    .push((t, Reply::Sync(sync_ok(group, assignment))));
            }
        }
        fx
    }

    // ---------------------------------------------------------------- Heartbeat

    /// Heartbeat: refreshes the member's session; tells it to rejoin during a rebalance.
    pub fn heartbeat(&mut self, req: &HeartbeatRequest, now: i64) -> Option<ResponseError> {
        let member_id = s(&req.member_id);
        let instance_id = req.group_instance_id.as_ref().map(s);
        let Some(group) = self.groups.get_mut(req.group_id.0.as_str()) else {
            return Some(ResponseError::UnknownMemberId);
        };
        if group.is(GroupState::Dead) {
            return Some(ResponseError::CoordinatorNotAvailable);
        }
        if group.is(GroupState::Empty) {
            return Some(ResponseError::UnknownMemberId);
        }
        if group.is_static_member_fenced(instance_id.as_deref(), &member_id) {
            return Some(ResponseError::FencedInstanceId);
        }
        let generation = group.generation;
        let state = group.state;
        let Some(member) = group.members.get_mut(&member_id) else {
            return Some(ResponseError::UnknownMemberId);
        };
        if req.generation_id != generation {
            return Some(ResponseError::IllegalGeneration);
        }
        member.heartbeat_deadline = now.saturating_add(i64::from(member.session_timeout_ms));
        (state == GroupState::PreparingRebalance).then_some(ResponseError::RebalanceInProgress)
    }

    // ---------------------------------------------------------------- LeaveGroup

    /// LeaveGroup for `(member id, group instance id)` pairs; returns one error per member
    /// (top-level error first: `Some` when the whole request failed).
    pub fn leave_group(
        &mut self,
        group_id: &str,
        leaving: &[(String, Option<String>)],
        now: i64,
    ) -> (Option<ResponseError>, Vec<Option<ResponseError>>, Effects) {
        let mut fx = Effects::default();
        let config = self.config.clone();
        let Some(group) = self.groups.get_mut(group_id) else {
            let errors = leaving
                .iter()
                .map(|_| Some(ResponseError::UnknownMemberId))
                .collect();
            return (None, errors, fx);
        };
        if group.is(GroupState::Dead) {
            return (Some(ResponseError::CoordinatorNotAvailable), Vec::new(), fx);
        }
        let mut errors = Vec::with_capacity(leaving.len());
        for (member_id, instance_id) in leaving {
            let target = match instance_id {
                Some(instance) => match group.static_members.get(instance) {
                    None => Err(ResponseError::UnknownMemberId),
                    Some(held) if !member_id.is_empty() && held != member_id => {
                        Err(ResponseError::FencedInstanceId)
                    }
                    Some(held) => Ok(held.clone()),
                },
                None => Ok(member_id.clone()),
            };
            let error = match target {
                Err(e) => Some(e),
                Ok(id) if group.pending_members.remove(&id).is_some() => {
                    try_complete_join(group, &config, now, &mut fx);
                    None
                }
                Ok(id) if group.members.contains_key(&id) => {
                    remove_member_and_update_group(group, &config, &id, now, &mut fx);
                    None
                }
                Ok(_) => Some(ResponseError::UnknownMemberId),
            };
            errors.push(error);
        }
        (None, errors, fx)
    }

    // ---------------------------------------------------------------- offsets

    /// Validates an OffsetCommit at the group level (Kafka's `doCommitOffsets` checks) and,
    /// per partition, the metadata size. Returns the group error, or per-partition errors
    /// and the records to append for the accepted partitions. Nothing changes in memory
    /// until those records are appended and passed to [`GroupCoordinator::replay`]; a simple
    /// commit (generation -1) creates an empty group to hold the offsets.
    ///
    /// This is the transactional path (TxnOffsetCommit); OffsetCommit itself goes through
    /// [`GroupCoordinator::offset_commit_request`], which also checks the API version.
    #[allow(clippy::type_complexity)]
    pub fn offset_commit(
        &mut self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
        partitions: &[CommitPartition],
        now: i64,
    ) -> Result<(Vec<Option<ResponseError>>, Vec<CoordinatorRecord>), ResponseError> {
        self.commit_offsets(
            group_id,
            generation,
            member_id,
            instance_id,
            None,
            partitions,
            now,
        )
    }

    /// OffsetCommit of `api_version`: as [`GroupCoordinator::offset_commit`]; for a
    /// consumer-protocol group `generation` is the member epoch, and a member of such a group
    /// must use v9+ (which carries it), as Kafka requires.
    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    pub fn offset_commit_request(
        &mut self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
        api_version: i16,
        partitions: &[CommitPartition],
        now: i64,
    ) -> Result<(Vec<Option<ResponseError>>, Vec<CoordinatorRecord>), ResponseError> {
        self.commit_offsets(
            group_id,
            generation,
            member_id,
            instance_id,
            Some(api_version),
            partitions,
            now,
        )
    }

    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    fn commit_offsets(
        &mut self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
        api_version: Option<i16>,
        partitions: &[CommitPartition],
        now: i64,
    ) -> Result<(Vec<Option<ResponseError>>, Vec<CoordinatorRecord>), ResponseError> {
        if group_id.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        let consumer_group = self.consumer_groups.get(group_id);
        match self.groups.get_mut(group_id) {
            // Kafka's `ConsumerGroup.validateOffsetCommit`: anyone may commit to an empty
            // group with epoch -1; otherwise the member and its exact epoch.
            _ if consumer_group.is_some() => {
                let Some(cg) = consumer_group else {
                    return Err(ResponseError::CoordinatorNotAvailable);
                };
                if !(generation < 0 && cg.members.is_empty()) {
                    let Some(member) = cg.members.get(member_id) else {
                        return Err(ResponseError::UnknownMemberId);
                    };
                    if api_version.is_some_and(|v| v < 9) {
                        return Err(ResponseError::UnsupportedVersion);
                    }
                    if generation > member.member_epoch {
                        return Err(ResponseError::FencedMemberEpoch);
                    }
                    if generation < member.member_epoch {
                        return Err(ResponseError::StaleMemberEpoch);
                    }
                }
            }
            None if generation < 0 => {
                self.groups
                    .insert(group_id.to_string(), Group::new(group_id.to_string(), now));
            }
            None => return Err(ResponseError::IllegalGeneration),
            Some(group) => {
                if group.is(GroupState::Dead) {
                    return Err(ResponseError::CoordinatorNotAvailable);
                }
                if group.is_static_member_fenced(instance_id, member_id) {
                    return Err(ResponseError::FencedInstanceId);
                }
                if !(generation < 0 && group.is(GroupState::Empty)) {
                    if group.is(GroupState::CompletingRebalance) {
                        return Err(ResponseError::RebalanceInProgress);
                    }
                    let group_generation = group.generation;
                    let Some(member) = group.members.get_mut(member_id) else {
                        return Err(ResponseError::UnknownMemberId);
                    };
                    if generation != group_generation {
                        return Err(ResponseError::IllegalGeneration);
                    }
                    member.heartbeat_deadline =
                        now.saturating_add(i64::from(member.session_timeout_ms));
                }
            }
        }
        let mut errors = Vec::with_capacity(partitions.len());
        let mut records = Vec::new();
        for p in partitions {
            let metadata = p.metadata.clone().unwrap_or_default();
            if metadata.len() > OFFSET_METADATA_MAX_BYTES {
                errors.push(Some(ResponseError::OffsetMetadataTooLarge));
                continue;
            }
            errors.push(None);
            records.push(CoordinatorRecord::Offset {
                group: group_id.to_string(),
                topic: p.topic.clone(),
                partition: p.partition,
                value: Some(OffsetAndMetadata {
                    offset: p.offset,
                    leader_epoch: p.leader_epoch,
                    metadata,
                    commit_timestamp: now,
                }),
            });
        }
        Ok((errors, records))
    }

    /// The group-level check of an OffsetFetch (v9+ carries the member id and epoch): for a
    /// consumer-protocol group, a member that names itself must exist and give its current
    /// epoch (Kafka's `ConsumerGroup.validateOffsetFetch`). Admin fetches (no member) pass.
    pub fn validate_offset_fetch(
        &self,
        group_id: &str,
        member_id: Option<&str>,
        member_epoch: i32,
    ) -> Option<ResponseError> {
        let cg = self.consumer_groups.get(group_id)?;
        let member_id = member_id.filter(|m| !m.is_empty())?;
        if member_epoch < 0 {
            return None;
        }
        match cg.members.get(member_id) {
            None => Some(ResponseError::UnknownMemberId),
            Some(m) if m.member_epoch != member_epoch => Some(ResponseError::StaleMemberEpoch),
            Some(_) => None,
        }
    }

    /// Committed offsets of a group: for the requested topics and partitions (absent ones
    /// `None`), or every committed offset when `topics` is `None`.
    #[allow(clippy::type_complexity)]
    pub fn offset_fetch(
        &self,
        group_id: &str,
        topics: Option<Vec<(String, Vec<i32>)>>,
    ) -> Vec<(String, Vec<(i32, Option<OffsetAndMetadata>)>)> {
        let group = self.groups.get(group_id);
        match topics {
            Some(topics) => topics
                .into_iter()
                .map(|(topic, partitions)| {
                    let found = partitions
                        .into_iter()
                        .map(|p| {
                            let o = group.and_then(|g| g.offsets.get(&(topic.clone(), p)).cloned());
                            (p, o)
                        })
                        .collect();
                    (topic, found)
                })
                .collect(),
            None => {
                let mut by_topic: BTreeMap<String, Vec<(i32, Option<OffsetAndMetadata>)>> =
                    BTreeMap::new();
                if let Some(g) = group {
                    for ((topic, partition), o) in &g.offsets {
                        by_topic
                            .entry(topic.clone())
                            .or_default()
                            .push((*partition, Some(o.clone())));
                    }
                }
                by_topic.into_iter().collect()
            }
        }
    }

    /// OffsetDelete: the group error, or one error per requested partition and the tombstones
    /// (applied in memory at once, like DeleteGroups).
    #[allow(clippy::type_complexity)]
    pub fn offset_delete(
        &mut self,
        group_id: &str,
        topics: &[(String, Vec<i32>)],
    ) -> Result<
        (
            Vec<(String, Vec<(i32, Option<ResponseError>)>)>,
            Vec<CoordinatorRecord>,
        ),
        ResponseError,
    > {
        let Some(group) = self.groups.get_mut(group_id) else {
            return Err(ResponseError::GroupIdNotFound);
        };
        if group.is(GroupState::Dead) {
            return Err(ResponseError::GroupIdNotFound);
        }
        let consumer_subscriptions = self
            .consumer_groups
            .get(group_id)
            .map(|cg| cg.subscribed_topic_names().into_iter().collect::<Vec<_>>());
        let subscribed: Option<Vec<String>> = if let Some(topics) = consumer_subscriptions {
            Some(topics)
        } else if group.is(GroupState::Empty) {
            Some(Vec::new())
        } else if group.protocol_type.as_deref() == Some("consumer") {
            subscribed_topics(group)
        } else {
            return Err(ResponseError::NonEmptyGroup);
        };
        let mut results = Vec::new();
        let mut records = Vec::new();
        for (topic, partitions) in topics {
            let busy = subscribed.as_ref().is_none_or(|s| s.contains(topic));
            let mut out = Vec::new();
            for &p in partitions {
                if busy {
                    out.push((p, Some(ResponseError::GroupSubscribedToTopic)));
                    continue;
                }
                if group.offsets.remove(&(topic.clone(), p)).is_some() {
                    records.push(CoordinatorRecord::Offset {
                        group: group_id.to_string(),
                        topic: topic.clone(),
                        partition: p,
                        value: None,
                    });
                }
                out.push((p, None));
            }
            results.push((topic.clone(), out));
        }
        Ok((results, records))
    }

    // ---------------------------------------------------------------- admin

    pub fn list_groups(&self) -> Vec<GroupListing> {
        let mut out: Vec<GroupListing> = self
            .groups
            .values()
            .filter(|g| !g.is(GroupState::Dead) && !self.consumer_groups.contains_key(&g.group_id))
            .map(|g| GroupListing {
                group_id: g.group_id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state.name(),
                group_type: "classic",
            })
            .collect();
        out.extend(self.consumer_groups.values().map(|g| GroupListing {
            group_id: g.group_id.clone(),
            protocol_type: "consumer".to_string(),
            state: g.state().name(),
            group_type: "consumer",
        }));
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// DescribeGroups of one group; an unknown group is reported `Dead` as Kafka does.
    pub fn describe_group(&self, group_id: &str) -> GroupDescription {
        if let Some(cg) = self.consumer_groups.get(group_id) {
            return crate::consumer_coordinator::describe_consumer_group(cg);
        }
        let Some(g) = self.groups.get(group_id) else {
            return GroupDescription {
                state: GroupState::Dead.name(),
                protocol_type: String::new(),
                protocol: String::new(),
                members: Vec::new(),
            };
        };
        let protocol = g.protocol_name.clone().unwrap_or_default();
        let stable = g.is(GroupState::Stable);
        let mut members: Vec<&Member> = g.members.values().collect();
        members.sort_by_key(|m| m.seq);
        GroupDescription {
            state: g.state.name(),
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            // Kafka reports the protocol only once the group is Stable.
            protocol: if stable {
                protocol.clone()
            } else {
                String::new()
            },
            members: members
                .into_iter()
                .map(|m| MemberDescription {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata_for(&protocol)
                    } else {
                        Bytes::new()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
        }
    }

    /// DeleteGroups: one error per group, and the tombstones to append. Groups are removed
    /// from memory at once (Kafka marks them Dead before writing the tombstones).
    pub fn delete_groups(
        &mut self,
        group_ids: &[String],
    ) -> (Vec<Option<ResponseError>>, Vec<CoordinatorRecord>) {
        let mut errors = Vec::new();
        let mut records = Vec::new();
        for id in group_ids {
            if let Some(cg) = self.consumer_groups.get(id) {
                if !cg.members.is_empty() {
                    errors.push(Some(ResponseError::NonEmptyGroup));
                    continue;
                }
                records.extend(self.consumer_group_tombstones(id));
                self.consumer_groups.remove(id);
                if let Some(g) = self.groups.remove(id) {
                    records.extend(tombstones(&g));
                }
                errors.push(None);
                continue;
            }
            let error = match self.groups.get(id) {
                None => Some(ResponseError::GroupIdNotFound),
                Some(g) if g.is(GroupState::Dead) => Some(ResponseError::GroupIdNotFound),
                Some(g) if !g.is(GroupState::Empty) => Some(ResponseError::NonEmptyGroup),
                Some(g) => {
                    records.extend(tombstones(g));
                    self.groups.remove(id);
                    None
                }
            };
            errors.push(error);
        }
        (errors, records)
    }

    // ---------------------------------------------------------------- replay and time

    /// Applies a record read back from `__consumer_offsets` (at start-up, or just appended by
    /// an offset commit).
    pub fn replay(&mut self, record: CoordinatorRecord, now: i64) {
        match record {
            CoordinatorRecord::Offset {
                group,
                topic,
                partition,
                value,
            } => match value {
                Some(v) => {
                    self.groups
                        .entry(group.clone())
                        .or_insert_with(|| Group::new(group, now))
                        .offsets
                        .insert((topic, partition), v);
                }
                None => {
                    if let Some(g) = self.groups.get_mut(&group) {
                        g.offsets.remove(&(topic, partition));
                    }
                }
            },
            CoordinatorRecord::GroupMetadata { group, value } => match value {
                Some(v) => {
                    self.groups
                        .entry(group.clone())
                        .or_insert_with(|| Group::new(group, now))
                        .load_metadata(v, now);
                }
                None => {
                    self.groups.remove(&group);
                }
            },
            CoordinatorRecord::Consumer(r) => self.replay_consumer(r, now),
        }
    }

    /// The earliest time at which [`GroupCoordinator::tick`] has something to do.
    pub fn next_deadline(&self) -> i64 {
        let mut next = self.next_retention_check;
        if let Some(d) = self.consumer_next_deadline() {
            next = next.min(d);
        }
        for g in self.groups.values() {
            for &d in g.pending_members.values() {
                next = next.min(d);
            }
            if let Some(d) = g.rebalance_deadline {
                next = next.min(d);
            }
            if let Some((d, _)) = g.initial_delay {
                next = next.min(d);
            }
            for m in g.members.values() {
                if !keep_alive(g, m) {
                    next = next.min(m.heartbeat_deadline);
                }
            }
        }
        next
    }

    /// Expires sessions, pending members, rebalance timeouts, the initial rebalance delay,
    /// and (every `offsets.retention.check.interval.ms`) committed offsets.
    pub fn tick(&mut self, now: i64) -> Effects {
        let mut fx = Effects::default();
        let config = self.config.clone();
        for group in self.groups.values_mut() {
            let expired_pending: Vec<String> = group
                .pending_members
                .iter()
                .filter(|(_, &d)| d <= now)
                .map(|(id, _)| id.clone())
                .collect();
            for id in expired_pending {
                group.pending_members.remove(&id);
                try_complete_join(group, &config, now, &mut fx);
            }
            let expired: Vec<String> = group
                .members
                .values()
                .filter(|m| m.heartbeat_deadline <= now && !keep_alive(group, m))
                .map(|m| m.member_id.clone())
                .collect();
            for id in expired {
                tracing::info!(group = %group.group_id, member = %id, "member session expired");
                remove_member_and_update_group(group, &config, &id, now, &mut fx);
            }
            if let Some((check, limit)) = group.initial_delay {
                if check <= now && group.is(GroupState::PreparingRebalance) {
                    if group.new_member_added && check < limit {
                        group.new_member_added = false;
                        let delay = i64::from(config.initial_rebalance_delay_ms);
                        group.initial_delay = Some((now.saturating_add(delay).min(limit), limit));
                    } else {
                        group.initial_delay = None;
                        complete_join(group, &config, now, &mut fx);
                    }
                }
            }
            if group.rebalance_deadline.is_some_and(|d| d <= now)
                && group.is(GroupState::PreparingRebalance)
            {
                complete_join(group, &config, now, &mut fx);
            }
        }
        self.consumer_tick(now, &mut fx);
        if self.next_retention_check <= now {
            self.next_retention_check =
                now.saturating_add(config.offsets_retention_check_interval_ms);
            fx.records.extend(self.expire_offsets(now));
        }
        fx
    }

    /// Offsets past `offsets.retention.minutes`: every offset of a group that has been Empty
    /// that long, and each offset of a group without a protocol (simple commits) committed
    /// that long ago (Kafka 2.1+, KIP-211). Groups left empty with no offsets are deleted.
    /// The tombstones are applied here; the shell appends them.
    pub fn expire_offsets(&mut self, now: i64) -> Vec<CoordinatorRecord> {
        let retention = self.config.offsets_retention_ms;
        let mut records = Vec::new();
        let mut dead = Vec::new();
        for group in self.groups.values_mut() {
            if self
                .consumer_groups
                .get(&group.group_id)
                .is_some_and(|cg| !cg.members.is_empty())
            {
                // A consumer group with members keeps its offsets (Kafka expires them only
                // once the group is empty, as for classic groups).
                continue;
            }
            let expired: Vec<(String, i32)> = if group.protocol_type.is_none()
                && !self.consumer_groups.contains_key(&group.group_id)
            {
                group
                    .offsets
                    .iter()
                    .filter(|(_, o)| o.commit_timestamp.saturating_add(retention) <= now)
                    .map(|(k, _)| k.clone())
                    .collect()
            } else if group.is(GroupState::Empty)
                && group.current_state_timestamp.saturating_add(retention) <= now
            {
                group.offsets.keys().cloned().collect()
            } else {
                Vec::new()
            };
            for (topic, partition) in expired {
                group.offsets.remove(&(topic.clone(), partition));
                records.push(CoordinatorRecord::Offset {
                    group: group.group_id.clone(),
                    topic,
                    partition,
                    value: None,
                });
            }
            if group.is(GroupState::Empty) && group.offsets.is_empty() {
                let stale = group.generation > 0 || group.protocol_type.is_some();
                if stale && group.current_state_timestamp.saturating_add(retention) > now {
                    continue;
                }
                dead.push(group.group_id.clone());
                records.push(CoordinatorRecord::GroupMetadata {
                    group: group.group_id.clone(),
                    value: None,
                });
            }
        }
        for id in dead {
            self.groups.remove(&id);
            records.extend(self.consumer_group_tombstones(&id));
            self.consumer_groups.remove(&id);
        }
        records
    }
}

/// What a JoinGroup brings about a member.
struct NewMember {
    instance_id: Option<String>,
    client_id: String,
    client_host: String,
    session: i32,
    rebalance: i32,
    protocol_type: String,
    protocols: Vec<(String, Bytes)>,
    version: i16,
    token: Token,
}

/// Whether a member's session is suspended: it is parked in a join or sync of the ongoing
/// rebalance (Kafka's `shouldKeepAlive`).
fn keep_alive(group: &Group, m: &Member) -> bool {
    (m.awaiting_join.is_some() && group.is(GroupState::PreparingRebalance))
        || (m.awaiting_sync.is_some() && group.is(GroupState::CompletingRebalance))
}

fn sync_ok(group: &Group, assignment: Bytes) -> SyncGroupResponse {
    SyncGroupResponse::default()
        .with_protocol_type(group.protocol_type.as_deref().map(sb))
        .with_protocol_name(group.protocol_name.as_deref().map(sb))
        .with_assignment(assignment)
}

fn member_list(group: &Group) -> Vec<JoinGroupResponseMember> {
    let protocol = group.protocol_name.clone().unwrap_or_default();
    let mut members: Vec<&Member> = group.members.values().collect();
    members.sort_by_key(|m| m.seq);
    members
        .into_iter()
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(sb(&m.member_id))
                .with_group_instance_id(m.group_instance_id.as_deref().map(sb))
                .with_metadata(m.metadata_for(&protocol))
        })
        .collect()
}

fn current_generation_reply(
    group: &Group,
    member_id: &str,
    with_members: bool,
    skip: bool,
) -> Reply {
    Reply::Join(
        JoinGroupResponse::default()
            .with_generation_id(group.generation)
            .with_protocol_type(group.protocol_type.as_deref().map(sb))
            .with_protocol_name(group.protocol_name.as_deref().map(sb))
            .with_leader(sb(group.leader.as_deref().unwrap_or_default()))
            .with_skip_assignment(skip)
            .with_member_id(sb(member_id))
            .with_members(if with_members {
                member_list(group)
            } else {
                Vec::new()
            }),
    )
}

fn add_member_and_rebalance(
    group: &mut Group,
    config: &CoordinatorConfig,
    member_id: String,
    new: NewMember,
    now: i64,
    fx: &mut Effects,
) {
    if group.members.is_empty() {
        group.protocol_type = Some(new.protocol_type.clone());
    }
    if let Some(instance) = &new.instance_id {
        group
            .static_members
            .insert(instance.clone(), member_id.clone());
    }
    let seq = group.next_seq;
    group.next_seq += 1;
    group.members.insert(
        member_id.clone(),
        Member {
            member_id,
            group_instance_id: new.instance_id,
            client_id: new.client_id,
            client_host: new.client_host,
            rebalance_timeout_ms: new.rebalance,
            session_timeout_ms: new.session,
            protocol_type: new.protocol_type,
            protocols: new.protocols,
            assignment: Bytes::new(),
            awaiting_join: Some(new.token),
            awaiting_sync: None,
            heartbeat_deadline: now.saturating_add(i64::from(new.session)),
            join_version: new.version,
            seq,
        },
    );
    group.new_member_added = true;
    maybe_prepare_rebalance(group, config, now, fx);
}

fn update_member_and_rebalance(
    group: &mut Group,
    config: &CoordinatorConfig,
    member_id: &str,
    new: NewMember,
    now: i64,
    fx: &mut Effects,
) {
    if let Some(m) = group.members.get_mut(member_id) {
        m.protocols = new.protocols;
        m.rebalance_timeout_ms = new.rebalance;
        m.session_timeout_ms = new.session;
        m.client_id = new.client_id;
        m.client_host = new.client_host;
        m.join_version = new.version;
        m.heartbeat_deadline = now.saturating_add(i64::from(new.session));
        if let Some(old) = m.awaiting_join.replace(new.token) {
            // A retried JoinGroup replaces the parked one.
            fx.replies.push((
                old,
                join_error(ResponseError::RebalanceInProgress, member_id),
            ));
        }
    }
    maybe_prepare_rebalance(group, config, now, fx);
}

/// A static member (known `group.instance.id`) rejoined with a new member id: the new id
/// takes over the old member's place. The old id is fenced; no rebalance happens when the
/// group is Stable and the selected protocol stays the same (KIP-345).
#[allow(clippy::too_many_arguments)]
fn replace_static_member(
    group: &mut Group,
    config: &CoordinatorConfig,
    old_id: &str,
    new_id: String,
    new: NewMember,
    now: i64,
    fx: &mut Effects,
) {
    let Some(mut member) = group.members.remove(old_id) else {
        return;
    };
    if let Some(t) = member.awaiting_join.take() {
        fx.replies
            .push((t, join_error(ResponseError::FencedInstanceId, old_id)));
    }
    if let Some(t) = member.awaiting_sync.take() {
        fx.replies
            .push((t, sync_error(ResponseError::FencedInstanceId)));
    }
    member.member_id = new_id.clone();
    member.protocols = new.protocols;
    member.rebalance_timeout_ms = new.rebalance;
    member.session_timeout_ms = new.session;
    member.client_id = new.client_id;
    member.client_host = new.client_host;
    member.join_version = new.version;
    member.heartbeat_deadline = now.saturating_add(i64::from(new.session));
    member.awaiting_join = Some(new.token);
    if let Some(instance) = &member.group_instance_id {
        group
            .static_members
            .insert(instance.clone(), new_id.clone());
    }
    if group.leader.as_deref() == Some(old_id) {
        group.leader = Some(new_id.clone());
    }
    group.members.insert(new_id.clone(), member);
    let is_leader = group.leader.as_deref() == Some(new_id.as_str());
    match group.state {
        GroupState::Stable => {
            // A static leader is answered too (with the members, and skip_assignment from
            // v9; an older leader's SyncGroup in Stable just gets the stored assignment), as
            // Kafka does since KIP-814.
            let unchanged = group.select_protocol() == group.protocol_name;
            if unchanged {
                if let Some(m) = group.members.get_mut(&new_id) {
                    m.awaiting_join = None;
                }
                fx.records.push(CoordinatorRecord::GroupMetadata {
                    group: group.group_id.clone(),
                    value: Some(group.metadata_record()),
                });
                fx.replies.push((
                    new.token,
                    current_generation_reply(group, &new_id, is_leader, is_leader),
                ));
            } else {
                maybe_prepare_rebalance(group, config, now, fx);
            }
        }
        GroupState::CompletingRebalance => maybe_prepare_rebalance(group, config, now, fx),
        GroupState::PreparingRebalance => try_complete_join(group, config, now, fx),
        GroupState::Empty | GroupState::Dead => maybe_prepare_rebalance(group, config, now, fx),
    }
}

fn maybe_prepare_rebalance(
    group: &mut Group,
    config: &CoordinatorConfig,
    now: i64,
    fx: &mut Effects,
) {
    match group.state {
        GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty => {
            prepare_rebalance(group, config, now, fx);
        }
        GroupState::PreparingRebalance | GroupState::Dead => {}
    }
    try_complete_join(group, config, now, fx);
}

fn prepare_rebalance(group: &mut Group, config: &CoordinatorConfig, now: i64, fx: &mut Effects) {
    if group.is(GroupState::CompletingRebalance) {
        for m in group.members.values_mut() {
            m.assignment = Bytes::new();
            if let Some(t) = m.awaiting_sync.take() {
                fx.replies
                    .push((t, sync_error(ResponseError::RebalanceInProgress)));
            }
        }
    }
    let was_empty = group.is(GroupState::Empty);
    group.transition(GroupState::PreparingRebalance, now);
    let timeout = i64::from(group.max_rebalance_timeout());
    if was_empty && config.initial_rebalance_delay_ms > 0 {
        let delay = i64::from(config.initial_rebalance_delay_ms);
        let limit = now.saturating_add(timeout.max(delay));
        group.new_member_added = false;
        group.initial_delay = Some((now.saturating_add(delay).min(limit), limit));
        group.rebalance_deadline = None;
    } else {
        group.initial_delay = None;
        group.rebalance_deadline = Some(now.saturating_add(timeout));
    }
}

/// Completes the join phase as soon as every known member has rejoined (and no member
/// holding a MEMBER_ID_REQUIRED id is still expected): no waiting for the rebalance timeout.
fn try_complete_join(group: &mut Group, config: &CoordinatorConfig, now: i64, fx: &mut Effects) {
    if group.is(GroupState::PreparingRebalance)
        && group.initial_delay.is_none()
        && group.all_members_joined()
    {
        complete_join(group, config, now, fx);
    }
}

fn complete_join(group: &mut Group, _config: &CoordinatorConfig, now: i64, fx: &mut Effects) {
    // Members that did not rejoin in time leave the group.
    let gone: Vec<String> = group
        .members
        .values()
        .filter(|m| m.awaiting_join.is_none())
        .map(|m| m.member_id.clone())
        .collect();
    for id in gone {
        tracing::info!(group = %group.group_id, member = %id, "member did not rejoin before the rebalance timeout");
        if let Some(m) = group.members.remove(&id) {
            if let Some(instance) = &m.group_instance_id {
                group.static_members.remove(instance);
            }
            if let Some(t) = m.awaiting_sync {
                fx.replies
                    .push((t, sync_error(ResponseError::UnknownMemberId)));
            }
        }
    }
    group.rebalance_deadline = None;
    group.initial_delay = None;
    group.generation = group.generation.saturating_add(1);
    if group.members.is_empty() {
        group.protocol_name = None;
        group.leader = None;
        group.transition(GroupState::Empty, now);
        fx.records.push(CoordinatorRecord::GroupMetadata {
            group: group.group_id.clone(),
            value: Some(group.metadata_record()),
        });
        return;
    }
    group.protocol_name = group.select_protocol();
    let leader_present = group
        .leader
        .as_ref()
        .is_some_and(|l| group.members.contains_key(l));
    if !leader_present {
        group.leader = group
            .members
            .values()
            .min_by_key(|m| m.seq)
            .map(|m| m.member_id.clone());
    }
    group.transition(GroupState::CompletingRebalance, now);
    let leader = group.leader.clone().unwrap_or_default();
    let waiting: Vec<(String, Token)> = group
        .members
        .values_mut()
        .filter_map(|m| {
            m.heartbeat_deadline = now.saturating_add(i64::from(m.session_timeout_ms));
            m.awaiting_join.take().map(|t| (m.member_id.clone(), t))
        })
        .collect();
    for (id, token) in waiting {
        let is_leader = id == leader;
        fx.replies.push((
            token,
            current_generation_reply(group, &id, is_leader, false),
        ));
    }
}

fn remove_member_and_update_group(
    group: &mut Group,
    config: &CoordinatorConfig,
    member_id: &str,
    now: i64,
    fx: &mut Effects,
) {
    let Some(m) = group.members.remove(member_id) else {
        return;
    };
    if let Some(instance) = &m.group_instance_id {
        if group.static_members.get(instance).map(String::as_str) == Some(member_id) {
            group.static_members.remove(instance);
        }
    }
    if let Some(t) = m.awaiting_join {
        fx.replies
            .push((t, join_error(ResponseError::UnknownMemberId, member_id)));
    }
    if let Some(t) = m.awaiting_sync {
        fx.replies
            .push((t, sync_error(ResponseError::UnknownMemberId)));
    }
    match group.state {
        GroupState::Stable | GroupState::CompletingRebalance => {
            maybe_prepare_rebalance(group, config, now, fx);
        }
        GroupState::PreparingRebalance => try_complete_join(group, config, now, fx),
        GroupState::Empty | GroupState::Dead => {}
    }
}

/// Topics the members subscribe to (ConsumerProtocolSubscription); `None` when a member's
/// metadata cannot be decoded.
fn subscribed_topics(group: &Group) -> Option<Vec<String>> {
    let protocol = group.protocol_name.clone().unwrap_or_default();
    let mut topics = Vec::new();
    for m in group.members.values() {
        let mut buf = m.metadata_for(&protocol);
        if buf.len() < 2 {
            return None;
        }
        let version = bytes::Buf::get_i16(&mut buf).clamp(0, 3);
        let sub = ConsumerProtocolSubscription::decode(&mut buf, version).ok()?;
        topics.extend(sub.topics.iter().map(|t| t.to_string()));
    }
    Some(topics)
}

/// The tombstones that erase a group: its offsets, then its metadata.
fn tombstones(g: &Group) -> Vec<CoordinatorRecord> {
    let mut records: Vec<CoordinatorRecord> = g
        .offsets
        .keys()
        .map(|(topic, partition)| CoordinatorRecord::Offset {
            group: g.group_id.clone(),
            topic: topic.clone(),
            partition: *partition,
            value: None,
        })
        .collect();
    records.push(CoordinatorRecord::GroupMetadata {
        group: g.group_id.clone(),
        value: None,
    });
    records
}

/// A `GroupId` from a string (for the handlers' responses).
pub fn group_id(v: &str) -> GroupId {
    GroupId(sb(v))
}
