//! The consumer group protocol of KIP-848 on [`GroupCoordinator`]: ConsumerGroupHeartbeat
//! (join, heartbeat, reconcile, leave), ConsumerGroupDescribe, and the session and revocation
//! timers, after Kafka's `GroupMetadataManager.consumerGroupHeartbeat`.
//!
//! Unlike the classic protocol nothing is parked: every heartbeat is answered at once with the
//! member's epoch and, when it changed, its assignment. The coordinator computes assignments
//! itself with the group's server-side assignor ([`crate::assignor`]).
//!
//! Every change to a consumer group is written to `__consumer_offsets` as Kafka's records of
//! key versions 3 to 8 ([`crate::consumer_records`]): each call compares the group before and
//! after and returns the records that differ (tombstones for what went away). Replaying them
//! at start-up rebuilds members, epochs and assignments, so members carry on across a restart
//! with the epochs they had; their sessions restart at load time.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_describe_response::{
    self as describe, DescribedGroup,
};
use kafka_protocol::messages::consumer_group_heartbeat_response::{
    Assignment as HeartbeatAssignment, TopicPartitions,
};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
use kafka_protocol::messages::{
    ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, TopicName,
};
use kafka_protocol::messages::{ConsumerProtocolAssignment, ConsumerProtocolSubscription};
use kafka_protocol::protocol::{Encodable, StrBytes};

use crate::assignor::{assignor, Assignment, TopicInfo};
use crate::consumer_group::{ConsumerGroup, ConsumerMember, MemberState};
use crate::consumer_records::{ConsumerRecord, CurrentAssignment, MemberMetadata};
use crate::coordinator::{Effects, GroupCoordinator, GroupDescription, MemberDescription};
use crate::records::CoordinatorRecord;

/// Member epoch of a member leaving the group.
pub const LEAVE_GROUP_MEMBER_EPOCH: i32 = -1;
/// Member epoch of a static member leaving temporarily (it keeps its partitions until its
/// session expires or it comes back).
pub const LEAVE_GROUP_STATIC_MEMBER_EPOCH: i32 = -2;

fn sb(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn error(e: ResponseError, message: impl Into<String>) -> ConsumerGroupHeartbeatResponse {
    ConsumerGroupHeartbeatResponse::default()
        .with_error_code(e.code())
        .with_error_message(Some(StrBytes::from_string(message.into())))
        .with_member_epoch(0)
}

impl GroupCoordinator {
    /// ConsumerGroupHeartbeat. `topics` looks a topic up in the cluster metadata. The
    /// effects hold the records of what changed in the group, to append before answering.
    pub fn consumer_group_heartbeat(
        &mut self,
        req: &ConsumerGroupHeartbeatRequest,
        client_id: &str,
        client_host: &str,
        topics: &dyn Fn(&str) -> Option<TopicInfo>,
        now: i64,
    ) -> (ConsumerGroupHeartbeatResponse, Effects) {
        let group_id = req.group_id.0.to_string();
        let before = self.consumer_groups.get(&group_id).map(group_records);
        let resp =
            self.consumer_group_heartbeat_in_memory(req, client_id, client_host, topics, now);
        let after = self.consumer_groups.get(&group_id).map(group_records);
        let fx = Effects {
            replies: Vec::new(),
            records: diff_records(&group_id, before, after),
        };
        (resp, fx)
    }

    fn consumer_group_heartbeat_in_memory(
        &mut self,
        req: &ConsumerGroupHeartbeatRequest,
        client_id: &str,
        client_host: &str,
        topics: &dyn Fn(&str) -> Option<TopicInfo>,
        now: i64,
    ) -> ConsumerGroupHeartbeatResponse {
        if let Err((e, message)) = self.validate_heartbeat(req) {
            return error(e, message);
        }
        let group_id = req.group_id.0.to_string();
        if let Some(classic) = self.groups.get(&group_id) {
            if !classic.members.is_empty() || !classic.pending_members.is_empty() {
                return error(
                    ResponseError::GroupIdNotFound,
                    format!("Group {group_id} is not a consumer group."),
                );
            }
        }
        let result = if req.member_epoch < 0 {
            self.consumer_leave(&group_id, req, now)
        } else {
            self.consumer_heartbeat(&group_id, req, client_id, client_host, topics, now)
        };
        result.unwrap_or_else(|(e, message)| error(e, message))
    }

    /// The request checks of Kafka's `throwIfConsumerGroupHeartbeatRequestIsInvalid`.
    fn validate_heartbeat(
        &self,
        req: &ConsumerGroupHeartbeatRequest,
    ) -> Result<(), (ResponseError, String)> {
        let invalid = |m: &str| Err((ResponseError::InvalidRequest, m.to_string()));
        if req.group_id.0.is_empty() {
            return invalid("GroupId can't be empty.");
        }
        if req.instance_id.as_ref().is_some_and(|i| i.is_empty()) {
            return invalid("InstanceId can't be empty.");
        }
        if req.rack_id.as_ref().is_some_and(|r| r.is_empty()) {
            return invalid("RackId can't be empty.");
        }
        // An empty regex means "no regex" (librdkafka sends one with a topic-name
        // subscription); a real one is not supported.
        if req
            .subscribed_topic_regex
            .as_ref()
            .is_some_and(|r| !r.is_empty())
        {
            return invalid("SubscribedTopicRegex is not supported yet.");
        }
        match req.member_epoch {
            0 => {
                if req.rebalance_timeout_ms == -1 {
                    return invalid("RebalanceTimeoutMs must be provided in first request.");
                }
                if req.topic_partitions.as_ref().is_none_or(|t| !t.is_empty()) {
                    return invalid("TopicPartitions must be empty when (re-)joining.");
                }
                if req.subscribed_topic_names.is_none() {
                    return invalid("SubscribedTopicNames must be set in first request.");
                }
            }
            LEAVE_GROUP_STATIC_MEMBER_EPOCH if req.instance_id.is_none() => {
                return invalid("InstanceId can't be null.");
            }
            e if e < LEAVE_GROUP_STATIC_MEMBER_EPOCH => {
                return invalid(&format!("MemberEpoch {e} is invalid."));
            }
            _ => {}
        }
        if req.member_epoch != 0 && req.member_id.is_empty() {
            return invalid("MemberId can't be empty.");
        }
        if let Some(name) = &req.server_assignor {
            if !self
                .config
                .consumer_assignors
                .iter()
                .any(|a| a == name.as_str())
            {
                return Err((
                    ResponseError::UnsupportedAssignor,
                    format!("ServerAssignor {name} is not supported."),
                ));
            }
        }
        Ok(())
    }

    fn consumer_leave(
        &mut self,
        group_id: &str,
        req: &ConsumerGroupHeartbeatRequest,
        now: i64,
    ) -> Result<ConsumerGroupHeartbeatResponse, (ResponseError, String)> {
        let Some(group) = self.consumer_groups.get_mut(group_id) else {
            return Err((
                ResponseError::GroupIdNotFound,
                format!("Group {group_id} not found."),
            ));
        };
        let member_id = req.member_id.to_string();
        let member_id = match req.instance_id.as_ref().map(|i| i.to_string()) {
            Some(instance) => match group.static_members.get(&instance) {
                None => {
                    return Err((
                        ResponseError::UnknownMemberId,
                        format!("Instance id {instance} is unknown."),
                    ))
                }
                Some(holder) if *holder != member_id => {
                    return Err((
                        ResponseError::FencedInstanceId,
                        format!("Instance id {instance} is held by another member."),
                    ))
                }
                Some(holder) => holder.clone(),
            },
            None => member_id,
        };
        let Some(member) = group.members.get(&member_id).cloned() else {
            return Err((
                ResponseError::UnknownMemberId,
                format!("Member {member_id} is not a member of group {group_id}."),
            ));
        };
        if req.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH {
            // The static member keeps its partitions for its session: a restart within the
            // session timeout gets them back without moving anything.
            let mut m = member;
            m.member_epoch = LEAVE_GROUP_STATIC_MEMBER_EPOCH;
            m.revocation_deadline = None;
            group.put_member(m);
            tracing::info!(group = group_id, member = %member_id, "static member left temporarily");
        } else {
            group.remove_member(&member_id);
            group.group_epoch += 1;
            tracing::info!(group = group_id, member = %member_id, "member left the consumer group");
            self.note_if_empty(group_id, now);
        }
        Ok(ConsumerGroupHeartbeatResponse::default()
            .with_member_id(Some(sb(&member_id)))
            .with_member_epoch(req.member_epoch))
    }

    #[allow(clippy::too_many_lines)]
    fn consumer_heartbeat(
        &mut self,
        group_id: &str,
        req: &ConsumerGroupHeartbeatRequest,
        client_id: &str,
        client_host: &str,
        topics: &dyn Fn(&str) -> Option<TopicInfo>,
        now: i64,
    ) -> Result<ConsumerGroupHeartbeatResponse, (ResponseError, String)> {
        let joining = req.member_epoch == 0;
        let config = self.config.clone();
        if !self.consumer_groups.contains_key(group_id) {
            if !joining {
                // Memberships are not persisted: after a restart the member is unknown and
                // rejoins with epoch 0.
                return Err((
                    ResponseError::UnknownMemberId,
                    format!(
                        "Member {} is not a member of group {group_id}.",
                        req.member_id
                    ),
                ));
            }
            self.consumer_groups.insert(
                group_id.to_string(),
                ConsumerGroup::new(group_id.to_string()),
            );
        }
        let member_id = if req.member_id.is_empty() {
            // Java 3.x clients let the coordinator choose the id (KIP-1082 moved it to the
            // client in 4.0).
            uuid::Uuid::new_v4().to_string()
        } else {
            req.member_id.to_string()
        };
        let instance_id = req.instance_id.as_ref().map(|i| i.to_string());
        let Some(group) = self.consumer_groups.get_mut(group_id) else {
            return Err((ResponseError::CoordinatorNotAvailable, String::new()));
        };

        // The member as it was, or a new one.
        let existing = group.members.get(&member_id).cloned();
        let mut fresh = false;
        let before: ConsumerMember = match (&instance_id, existing) {
            (Some(instance), _) if joining => {
                match group.static_members.get(instance).cloned() {
                    Some(old_id) if old_id != member_id => {
                        let Some(old) = group.members.get(&old_id).cloned() else {
                            return Err((ResponseError::UnknownServerError, String::new()));
                        };
                        if old.member_epoch != LEAVE_GROUP_STATIC_MEMBER_EPOCH {
                            return Err((
                                ResponseError::UnreleasedInstanceId,
                                format!(
                                    "Static member {old_id} with instance id {instance} is not released yet."
                                ),
                            ));
                        }
                        // The new instance takes over the old one's partitions and target.
                        let target = group.target.remove(&old_id);
                        group.remove_member(&old_id);
                        let mut m = old;
                        m.member_id = member_id.clone();
                        m.member_epoch = 0;
                        m.previous_member_epoch = 0;
                        if let Some(t) = target {
                            group.target.insert(member_id.clone(), t);
                        }
                        group.put_member(m.clone());
                        m
                    }
                    Some(_) => match group.members.get(&member_id).cloned() {
                        Some(m) => rejoin(group, m),
                        None => return Err((ResponseError::UnknownServerError, String::new())),
                    },
                    None => {
                        fresh = true;
                        ConsumerMember::new(member_id.clone(), now)
                    }
                }
            }
            (_, Some(m)) if joining => rejoin(group, m),
            (_, None) if joining => {
                fresh = true;
                ConsumerMember::new(member_id.clone(), now)
            }
            (_, None) => {
                return Err((
                    ResponseError::UnknownMemberId,
                    format!("Member {member_id} is not a member of group {group_id}."),
                ))
            }
            (instance, Some(m)) => {
                if let Some(instance) = instance {
                    if group.static_members.get(instance) != Some(&member_id) {
                        return Err((
                            ResponseError::FencedInstanceId,
                            format!("Instance id {instance} is held by another member."),
                        ));
                    }
                }
                let owned = owned_partitions(req);
                check_member_epoch(&m, req.member_epoch, owned.as_ref())?;
                m
            }
        };
        if fresh {
            let size = group.members.len();
            if usize::try_from(config.consumer_max_size).is_ok_and(|max| size >= max) {
                return Err((
                    ResponseError::GroupMaxSizeReached,
                    format!(
                        "The consumer group has reached its maximum capacity of {size} members."
                    ),
                ));
            }
        }

        // Update what the request says about the member.
        let mut member = before.clone();
        member.client_id = client_id.to_string();
        member.client_host = client_host.to_string();
        if instance_id.is_some() {
            member.instance_id = instance_id.clone();
        }
        if let Some(rack) = &req.rack_id {
            member.rack_id = Some(rack.to_string());
        }
        if req.rebalance_timeout_ms != -1 {
            member.rebalance_timeout_ms = req.rebalance_timeout_ms;
        }
        let mut bump = fresh;
        if let Some(names) = &req.subscribed_topic_names {
            let names: BTreeSet<String> = names.iter().map(|n| n.0.to_string()).collect();
            if names != member.subscribed_topic_names {
                member.subscribed_topic_names = names;
                bump = true;
            }
        }
        if let Some(name) = &req.server_assignor {
            if member.server_assignor.as_deref() != Some(name.as_str()) {
                member.server_assignor = Some(name.to_string());
                bump = true;
            }
        }
        member.session_deadline = now.saturating_add(i64::from(config.consumer_session_timeout_ms));
        group.put_member(member);

        // The subscribed topics' metadata: a topic created, deleted or grown changes the
        // assignment as a member change does.
        let metadata = group
            .subscribed_topic_names()
            .into_iter()
            .filter_map(|name| topics(&name).map(|t| (name, t)))
            .collect();
        if metadata != group.subscription_metadata {
            group.subscription_metadata = metadata;
            bump = true;
        }
        if bump {
            group.group_epoch += 1;
            tracing::debug!(
                group = group_id,
                epoch = group.group_epoch,
                "consumer group epoch bumped"
            );
        }
        if group.group_epoch > group.assignment_epoch {
            let name = group
                .preferred_assignor(&config.consumer_assignors)
                .unwrap_or("uniform");
            if let Some(a) = assignor(name) {
                group.compute_target(a);
            }
        }

        // Reconcile towards the target.
        let owned = owned_partitions(req);
        let Some(current) = group.members.get(&member_id).cloned() else {
            return Err((ResponseError::UnknownServerError, String::new()));
        };
        let mut next = group.reconcile(&current, owned.as_ref());
        if next.state == MemberState::UnrevokedPartitions {
            let newly = current.state != MemberState::UnrevokedPartitions
                || current.member_epoch != next.member_epoch;
            if newly || next.revocation_deadline.is_none() {
                next.revocation_deadline =
                    Some(now.saturating_add(i64::from(next.rebalance_timeout_ms.max(0))));
            }
        } else {
            next.revocation_deadline = None;
        }
        group.put_member(next.clone());

        let full = joining
            || (req.rebalance_timeout_ms != -1
                && req.subscribed_topic_names.is_some()
                && req.topic_partitions.is_some());
        let mut resp = ConsumerGroupHeartbeatResponse::default()
            .with_member_id(Some(sb(&member_id)))
            .with_member_epoch(next.member_epoch)
            .with_heartbeat_interval_ms(config.consumer_heartbeat_interval_ms);
        if full || next.assigned != before.assigned {
            resp = resp.with_assignment(Some(heartbeat_assignment(&next.assigned)));
        }
        Ok(resp)
    }

    /// When a consumer group loses its last member, its offsets start their retention clock.
    fn note_if_empty(&mut self, group_id: &str, now: i64) {
        let empty = self
            .consumer_groups
            .get(group_id)
            .is_some_and(|g| g.members.is_empty());
        if empty {
            if let Some(g) = self.groups.get_mut(group_id) {
                g.current_state_timestamp = now;
            }
        }
    }

    /// ConsumerGroupDescribe of one group.
    pub fn consumer_group_describe(&self, group_id: &str) -> DescribedGroup {
        let described = DescribedGroup::default().with_group_id(crate::group_id(group_id));
        let Some(group) = self.consumer_groups.get(group_id) else {
            let message = if self
                .groups
                .get(group_id)
                .is_some_and(|g| !g.members.is_empty())
            {
                format!("Group {group_id} is not a consumer group.")
            } else {
                format!("Group {group_id} not found.")
            };
            return described
                .with_error_code(ResponseError::GroupIdNotFound.code())
                .with_error_message(Some(StrBytes::from_string(message)))
                .with_group_state(sb("Dead"));
        };
        let to_describe = |a: &Assignment| {
            describe::Assignment::default().with_topic_partitions(
                a.iter()
                    .map(|(topic, partitions)| {
                        describe::TopicPartitions::default()
                            .with_topic_id(*topic)
                            .with_topic_name(TopicName(sb(group.topic_name(topic).unwrap_or(""))))
                            .with_partitions(partitions.iter().copied().collect())
                    })
                    .collect(),
            )
        };
        let empty = Assignment::new();
        let members = group
            .members
            .values()
            .map(|m| {
                describe::Member::default()
                    .with_member_id(sb(&m.member_id))
                    .with_instance_id(m.instance_id.as_deref().map(sb))
                    .with_rack_id(m.rack_id.as_deref().map(sb))
                    .with_member_epoch(m.member_epoch)
                    .with_client_id(sb(&m.client_id))
                    .with_client_host(sb(&m.client_host))
                    .with_subscribed_topic_names(
                        m.subscribed_topic_names
                            .iter()
                            .map(|n| TopicName(sb(n)))
                            .collect(),
                    )
                    .with_assignment(to_describe(&m.assigned))
                    .with_target_assignment(to_describe(
                        group.target.get(&m.member_id).unwrap_or(&empty),
                    ))
                    // 1 = the consumer protocol (0 would be a classic member).
                    .with_member_type(1)
            })
            .collect();
        described
            .with_group_state(sb(group.state().name()))
            .with_group_epoch(group.group_epoch)
            .with_assignment_epoch(group.assignment_epoch)
            .with_assignor_name(sb(&group.assignor_name))
            .with_members(members)
    }

    /// The consumer group of `group_id`, if it uses the consumer protocol.
    pub fn consumer_group(&self, group_id: &str) -> Option<&ConsumerGroup> {
        self.consumer_groups.get(group_id)
    }

    /// The earliest session or revocation deadline of a consumer-group member.
    pub(crate) fn consumer_next_deadline(&self) -> Option<i64> {
        self.consumer_groups
            .values()
            .flat_map(|g| g.members.values())
            .flat_map(|m| [Some(m.session_deadline), m.revocation_deadline])
            .flatten()
            .min()
    }

    /// Fences members whose session expired or who did not revoke within their rebalance
    /// timeout; the group epoch moves on so the others get their partitions.
    pub(crate) fn consumer_tick(&mut self, now: i64, fx: &mut Effects) {
        let mut emptied = Vec::new();
        for group in self.consumer_groups.values_mut() {
            let before = group_records(group);
            let expired: Vec<(String, &'static str)> = group
                .members
                .values()
                .filter_map(|m| {
                    if m.session_deadline <= now {
                        Some((m.member_id.clone(), "session expired"))
                    } else if m.revocation_deadline.is_some_and(|d| d <= now)
                        && m.state == MemberState::UnrevokedPartitions
                    {
                        Some((
                            m.member_id.clone(),
                            "did not revoke within the rebalance timeout",
                        ))
                    } else {
                        None
                    }
                })
                .collect();
            if expired.is_empty() {
                continue;
            }
            for (id, why) in expired {
                tracing::info!(group = %group.group_id, member = %id, "consumer group member fenced: {why}");
                group.remove_member(&id);
            }
            group.group_epoch += 1;
            fx.records.extend(diff_records(
                &group.group_id,
                Some(before),
                Some(group_records(group)),
            ));
            if group.members.is_empty() {
                emptied.push(group.group_id.clone());
            }
        }
        for id in emptied {
            self.note_if_empty(&id, now);
        }
    }
}

/// A member that rejoins with epoch 0 under its old id (it was fenced, or lost its state):
/// it starts over with nothing owned.
fn rejoin(group: &mut ConsumerGroup, mut m: ConsumerMember) -> ConsumerMember {
    m.member_epoch = 0;
    m.previous_member_epoch = 0;
    m.state = MemberState::Stable;
    m.assigned = Assignment::new();
    m.pending_revocation = Assignment::new();
    m.revocation_deadline = None;
    group.put_member(m.clone());
    m
}

/// The member's epoch check of Kafka's `throwIfMemberEpochIsInvalid`: a newer epoch than the
/// coordinator gave is fenced; an older one only passes when it is the previous epoch and
/// the member owns no more than its current assignment (the response with the new epoch was
/// lost).
fn check_member_epoch(
    m: &ConsumerMember,
    received: i32,
    owned: Option<&Assignment>,
) -> Result<(), (ResponseError, String)> {
    let fenced = || {
        Err((
            ResponseError::FencedMemberEpoch,
            format!(
                "The consumer group member has a greater or smaller epoch ({received}) than the one known by the coordinator ({}).",
                m.member_epoch
            ),
        ))
    };
    if received > m.member_epoch {
        return fenced();
    }
    if received < m.member_epoch {
        let subset = owned.is_some_and(|o| {
            o.iter().all(|(t, ps)| {
                m.assigned
                    .get(t)
                    .is_some_and(|a| ps.iter().all(|p| a.contains(p)))
            })
        });
        if received != m.previous_member_epoch || !subset {
            return fenced();
        }
    }
    Ok(())
}

fn owned_partitions(req: &ConsumerGroupHeartbeatRequest) -> Option<Assignment> {
    req.topic_partitions.as_ref().map(|tps| {
        let mut a = Assignment::new();
        for tp in tps {
            if !tp.partitions.is_empty() {
                a.entry(tp.topic_id)
                    .or_default()
                    .extend(tp.partitions.iter().copied());
            }
        }
        a
    })
}

fn heartbeat_assignment(a: &Assignment) -> HeartbeatAssignment {
    HeartbeatAssignment::default().with_topic_partitions(
        a.iter()
            .map(|(topic, partitions)| {
                TopicPartitions::default()
                    .with_topic_id(*topic)
                    .with_partitions(partitions.iter().copied().collect())
            })
            .collect(),
    )
}

impl GroupCoordinator {
    /// Applies a KIP-848 record read back from `__consumer_offsets` at start-up. Members come
    /// back with the epochs and assignments they had and a fresh session.
    pub(crate) fn replay_consumer(&mut self, record: ConsumerRecord, now: i64) {
        let session = i64::from(self.config.consumer_session_timeout_ms);
        let group_id = record.group().to_string();
        if let ConsumerRecord::Metadata { epoch: None, .. } = record {
            self.consumer_groups.remove(&group_id);
            return;
        }
        let group = self
            .consumer_groups
            .entry(group_id.clone())
            .or_insert_with(|| ConsumerGroup::new(group_id));
        let member_or_new = |g: &ConsumerGroup, id: &str| {
            g.members.get(id).cloned().unwrap_or_else(|| {
                let mut m = ConsumerMember::new(id.to_string(), now);
                m.session_deadline = now.saturating_add(session);
                m
            })
        };
        match record {
            ConsumerRecord::Metadata { epoch, .. } => group.group_epoch = epoch.unwrap_or(0),
            ConsumerRecord::PartitionMetadata { value, .. } => {
                group.subscription_metadata = value
                    .map(|(_, topics)| topics.into_iter().collect())
                    .unwrap_or_default();
            }
            ConsumerRecord::MemberMetadata {
                member,
                value: Some(v),
                ..
            } => {
                let mut m = member_or_new(group, &member);
                m.instance_id = v.instance_id;
                m.rack_id = v.rack_id;
                m.client_id = v.client_id;
                m.client_host = v.client_host;
                m.subscribed_topic_names = v.subscribed_topic_names.into_iter().collect();
                m.rebalance_timeout_ms = v.rebalance_timeout_ms;
                m.server_assignor = v.server_assignor;
                group.put_member(m);
            }
            ConsumerRecord::MemberMetadata {
                member,
                value: None,
                ..
            } => {
                group.remove_member(&member);
            }
            ConsumerRecord::TargetAssignmentMetadata { epoch, .. } => {
                group.assignment_epoch = epoch.unwrap_or(0);
            }
            ConsumerRecord::TargetAssignmentMember { member, value, .. } => match value {
                Some(a) => {
                    group.target.insert(member, a);
                }
                None => {
                    group.target.remove(&member);
                }
            },
            ConsumerRecord::CurrentMemberAssignment {
                member,
                value: Some(c),
                ..
            } => {
                let mut m = member_or_new(group, &member);
                m.member_epoch = c.member_epoch;
                m.previous_member_epoch = c.previous_member_epoch;
                m.state = c.state;
                m.assigned = c.assigned;
                m.pending_revocation = c.pending_revocation;
                m.revocation_deadline = (m.state == MemberState::UnrevokedPartitions)
                    .then(|| now.saturating_add(i64::from(m.rebalance_timeout_ms.max(0))));
                group.put_member(m);
            }
            ConsumerRecord::CurrentMemberAssignment { value: None, .. } => {}
        }
        if group.assignor_name.is_empty() {
            if let Some(name) = group
                .preferred_assignor(&self.config.consumer_assignors)
                .map(str::to_string)
            {
                group.assignor_name = name;
            }
        }
    }

    /// The records that erase a consumer group (DeleteGroups, expiry, or a classic group
    /// taking the id over).
    pub(crate) fn consumer_group_tombstones(&self, group_id: &str) -> Vec<CoordinatorRecord> {
        let before = self.consumer_groups.get(group_id).map(group_records);
        diff_records(group_id, before, None)
    }
}

/// Which record a [`ConsumerRecord`] is, for comparing two snapshots: key version, member id.
type RecordKey = (i16, String);

/// Every record that describes `g` now, by key.
fn group_records(g: &ConsumerGroup) -> BTreeMap<RecordKey, ConsumerRecord> {
    let group = g.group_id.clone();
    let mut out = BTreeMap::new();
    out.insert(
        (3, String::new()),
        ConsumerRecord::Metadata {
            group: group.clone(),
            epoch: Some(g.group_epoch),
        },
    );
    out.insert(
        (4, String::new()),
        ConsumerRecord::PartitionMetadata {
            group: group.clone(),
            value: Some((
                g.group_epoch,
                g.subscription_metadata
                    .iter()
                    .map(|(n, t)| (n.clone(), *t))
                    .collect(),
            )),
        },
    );
    out.insert(
        (6, String::new()),
        ConsumerRecord::TargetAssignmentMetadata {
            group: group.clone(),
            epoch: Some(g.assignment_epoch),
        },
    );
    for (id, m) in &g.members {
        out.insert(
            (5, id.clone()),
            ConsumerRecord::MemberMetadata {
                group: group.clone(),
                member: id.clone(),
                value: Some(MemberMetadata {
                    instance_id: m.instance_id.clone(),
                    rack_id: m.rack_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    subscribed_topic_names: m.subscribed_topic_names.iter().cloned().collect(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    server_assignor: m.server_assignor.clone(),
                }),
            },
        );
        out.insert(
            (8, id.clone()),
            ConsumerRecord::CurrentMemberAssignment {
                group: group.clone(),
                member: id.clone(),
                value: Some(CurrentAssignment {
                    member_epoch: m.member_epoch,
                    previous_member_epoch: m.previous_member_epoch,
                    state: m.state,
                    assigned: m.assigned.clone(),
                    pending_revocation: m.pending_revocation.clone(),
                }),
            },
        );
    }
    for (id, a) in &g.target {
        out.insert(
            (7, id.clone()),
            ConsumerRecord::TargetAssignmentMember {
                group: group.clone(),
                member: id.clone(),
                value: Some(a.clone()),
            },
        );
    }
    out
}

/// The records that take the log from `before` to `after`: changed or new records in
/// Kafka's write order (member metadata, group epoch, targets, target epoch, current
/// assignments), then tombstones for what went away (current assignments, targets, members,
/// and the group's own records last when the group itself is gone).
fn diff_records(
    group_id: &str,
    before: Option<BTreeMap<RecordKey, ConsumerRecord>>,
    after: Option<BTreeMap<RecordKey, ConsumerRecord>>,
) -> Vec<CoordinatorRecord> {
    let before = before.unwrap_or_default();
    let after = after.unwrap_or_default();
    let mut out = Vec::new();
    for kind in [5, 4, 3, 7, 6, 8] {
        for ((k, _), r) in after.iter().filter(|((k, _), _)| *k == kind) {
            let key = (*k, member_of(r));
            if before.get(&key) != Some(r) {
                out.push(CoordinatorRecord::Consumer(r.clone()));
            }
        }
    }
    for kind in [8, 7, 5, 6, 4, 3] {
        for ((k, member), _) in before.iter().filter(|((k, _), _)| *k == kind) {
            if after.contains_key(&(*k, member.clone())) {
                continue;
            }
            let group = group_id.to_string();
            let member = member.clone();
            out.push(CoordinatorRecord::Consumer(match kind {
                8 => ConsumerRecord::CurrentMemberAssignment {
                    group,
                    member,
                    value: None,
                },
                7 => ConsumerRecord::TargetAssignmentMember {
                    group,
                    member,
                    value: None,
                },
                5 => ConsumerRecord::MemberMetadata {
                    group,
                    member,
                    value: None,
                },
                6 => ConsumerRecord::TargetAssignmentMetadata { group, epoch: None },
                4 => ConsumerRecord::PartitionMetadata { group, value: None },
                _ => ConsumerRecord::Metadata { group, epoch: None },
            }));
        }
    }
    out
}

fn member_of(r: &ConsumerRecord) -> String {
    match r {
        ConsumerRecord::MemberMetadata { member, .. }
        | ConsumerRecord::TargetAssignmentMember { member, .. }
        | ConsumerRecord::CurrentMemberAssignment { member, .. } => member.clone(),
        _ => String::new(),
    }
}

/// DescribeGroups of a consumer-protocol group, in the classic shape: the consumer protocol
/// type, the server assignor as the protocol, and each member's subscription and assignment
/// encoded as the classic `ConsumerProtocolSubscription` / `ConsumerProtocolAssignment` (v0),
/// so tools written for classic groups can read them.
pub(crate) fn describe_consumer_group(cg: &ConsumerGroup) -> GroupDescription {
    let members = cg
        .members
        .values()
        .map(|m| {
            let subscription = ConsumerProtocolSubscription::default().with_topics(
                m.subscribed_topic_names
                    .iter()
                    .map(|t| StrBytes::from_string(t.clone()))
                    .collect(),
            );
            let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(
                m.assigned
                    .iter()
                    .map(|(topic, partitions)| {
                        TopicPartition::default()
                            .with_topic(kafka_protocol::messages::TopicName(StrBytes::from_string(
                                cg.topic_name(topic).unwrap_or_default().to_string(),
                            )))
                            .with_partitions(partitions.iter().copied().collect())
                    })
                    .collect(),
            );
            MemberDescription {
                member_id: m.member_id.clone(),
                group_instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                metadata: encode_v0(&subscription),
                assignment: encode_v0(&assignment),
            }
        })
        .collect();
    GroupDescription {
        state: cg.state().name(),
        protocol_type: "consumer".to_string(),
        protocol: cg.assignor_name.clone(),
        members,
    }
}

/// A consumer protocol message with its version prefix (v0).
fn encode_v0<M: Encodable>(message: &M) -> Bytes {
    let mut buf = bytes::BytesMut::new();
    bytes::BufMut::put_i16(&mut buf, 0);
    if message.encode(&mut buf, 0).is_err() {
        return Bytes::new();
    }
    buf.freeze()
}
