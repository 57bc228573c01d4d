//! Classic group membership (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and
//! committed offsets (OffsetFetch, OffsetCommit) for the consumer.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use weir_protocol::kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use weir_protocol::kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as OwnedTopic;
use weir_protocol::kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use weir_protocol::kafka_protocol::messages::leave_group_request::MemberIdentity;
use weir_protocol::kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use weir_protocol::kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use weir_protocol::kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use weir_protocol::kafka_protocol::messages::{
    ApiKey, ConsumerProtocolAssignment, ConsumerProtocolSubscription, GroupId, HeartbeatRequest,
    JoinGroupRequest, LeaveGroupRequest, OffsetCommitRequest, OffsetCommitResponse,
    OffsetFetchRequest, SyncGroupRequest, TopicName,
};
use weir_protocol::kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use weir_protocol::ResponseError;

use super::assignor::{self, MemberSubscription};
use super::config::ConsumerConfig;
use super::sticky_assignor;
use super::TopicPartition;
use crate::cluster::Cluster;
use crate::connection::BrokerConnection;
use crate::ClientError;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn codec(api: &'static str, e: impl std::fmt::Display) -> ClientError {
    ClientError::Codec {
        api,
        reason: e.to_string(),
    }
}

fn encode_versioned<T: Encodable>(
    what: &'static str,
    msg: &T,
    version: i16,
) -> Result<Bytes, ClientError> {
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    msg.encode(&mut buf, version).map_err(|e| codec(what, e))?;
    Ok(buf.freeze())
}

pub(crate) fn decode_versioned<T: Decodable>(
    what: &'static str,
    b: Bytes,
) -> Result<T, ClientError> {
    decode_with_version(what, b).map(|(_, t)| t)
}

/// Decodes a consumer protocol message and says which version it was (newer versions are
/// read as the newest this client knows, as Kafka's forward compatibility rule allows).
fn decode_with_version<T: Decodable>(
    what: &'static str,
    mut b: Bytes,
) -> Result<(i16, T), ClientError> {
    if b.len() < 2 {
        return Err(codec(what, "too short"));
    }
    let version = b.get_i16().clamp(0, 3);
    T::decode(&mut b, version)
        .map(|t| (version, t))
        .map_err(|e| codec(what, e))
}

/// Membership state of one consumer in its group.
pub(crate) struct Group {
    cluster: Arc<Cluster>,
    pub group_id: String,
    pub instance_id: Option<String>,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    heartbeat_interval: Duration,
    retry_backoff: Duration,
    strategies: Vec<String>,
    coordinator: Option<i32>,
    pub member_id: String,
    pub generation: i32,
    pub subscription: Vec<String>,
    /// The assignment of the last completed join and its generation: the `sticky` assignor's
    /// user data and the `cooperative-sticky` generation.
    last_assignment: Vec<TopicPartition>,
    last_generation: i32,
    /// Set by the heartbeat task (or a failed commit) when the member must rejoin.
    pub rejoin: Arc<AtomicBool>,
    /// Set when an async commit saw a coordinator error: look the coordinator up again.
    coordinator_lost: Arc<AtomicBool>,
    pub wake: Arc<Notify>,
    heartbeat: Option<JoinHandle<()>>,
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
    }
}

fn kafka_error(code: i16) -> Option<ResponseError> {
    ResponseError::try_from_code(code)
}

fn is_coordinator_error(e: ResponseError) -> bool {
    matches!(
        e,
        ResponseError::NotCoordinator
            | ResponseError::CoordinatorNotAvailable
            | ResponseError::CoordinatorLoadInProgress
    )
}

/// Reads an OffsetCommit answer; errors that mean the member left the generation ask for a
/// rejoin.
struct CommitOutcome {
    group_id: String,
    rejoin: Arc<AtomicBool>,
    coordinator_lost: Arc<AtomicBool>,
}

impl CommitOutcome {
    fn check(&self, response: &OffsetCommitResponse) -> Result<(), ClientError> {
        let error = response
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .find_map(|p| kafka_error(p.error_code));
        let Some(e) = error else {
            return Ok(());
        };
        if matches!(
            e,
            ResponseError::RebalanceInProgress
                | ResponseError::IllegalGeneration
                | ResponseError::UnknownMemberId
                | ResponseError::FencedInstanceId
        ) {
            self.rejoin.store(true, Ordering::Release);
        }
        Err(ClientError::Kafka {
            context: format!("commit offsets of group {}", self.group_id),
            error: e,
        })
    }
}

impl Group {
    pub fn new(cluster: Arc<Cluster>, group_id: String, config: &ConsumerConfig) -> Group {
        Group {
            cluster,
            group_id,
            instance_id: config.group_instance_id.clone(),
            session_timeout: config.session_timeout,
            rebalance_timeout: config.max_poll_interval,
            heartbeat_interval: config.heartbeat_interval,
            retry_backoff: config.client.retry_backoff,
            strategies: config.assignment_strategy.clone(),
            coordinator: None,
            member_id: String::new(),
            generation: -1,
            subscription: Vec::new(),
            last_assignment: Vec::new(),
            last_generation: -1,
            rejoin: Arc::new(AtomicBool::new(true)),
            coordinator_lost: Arc::new(AtomicBool::new(false)),
            wake: Arc::new(Notify::new()),
            heartbeat: None,
        }
    }

    pub(crate) async fn coordinator(
        &mut self,
    ) -> Result<(i32, Arc<BrokerConnection>), ClientError> {
        if self.coordinator_lost.swap(false, Ordering::AcqRel) {
            self.coordinator = None;
        }
        if let Some(node) = self.coordinator {
            match self.cluster.connection(node).await {
                Ok(c) => return Ok((node, c)),
                Err(_) => self.coordinator = None,
            }
        }
        let node = self.cluster.find_coordinator(0, &self.group_id).await?;
        let conn = self.cluster.connection(node).await?;
        self.coordinator = Some(node);
        Ok((node, conn))
    }

    fn coordinator_error(&mut self, e: ResponseError) -> bool {
        if is_coordinator_error(e) {
            self.coordinator = None;
            return true;
        }
        false
    }

    fn stop_heartbeat(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
    }

    /// The JoinGroup metadata for assignor `protocol`: a ConsumerProtocolSubscription v3
    /// (as the Java consumer sends) with the partitions still `owned` (cooperative rebalancing
    /// keeps them across the join), the generation, and the assignor's user data.
    fn subscription_metadata(
        &self,
        protocol: &str,
        owned: &[TopicPartition],
    ) -> Result<Bytes, ClientError> {
        let user_data = match protocol {
            "sticky" => Some(sticky_assignor::encode_sticky_user_data(
                &self.last_assignment,
                self.last_generation,
            )),
            "cooperative-sticky" => {
                Some(Bytes::copy_from_slice(&self.last_generation.to_be_bytes()))
            }
            _ => None,
        };
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for tp in owned {
            by_topic.entry(&tp.topic).or_default().push(tp.partition);
        }
        let subscription = ConsumerProtocolSubscription::default()
            .with_topics(self.subscription.iter().map(|t| s(t)).collect())
            .with_user_data(user_data)
            .with_owned_partitions(
                by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        OwnedTopic::default()
                            .with_topic(TopicName(s(t)))
                            .with_partitions(ps)
                    })
                    .collect(),
            )
            .with_generation_id(self.generation)
            .with_rack_id(None);
        encode_versioned("ConsumerProtocolSubscription", &subscription, 3)
    }

    /// Joins (or rejoins) the group and returns this member's assignment. `owned`: the
    /// partitions this member keeps through the rebalance (cooperative protocol; empty for
    /// eager ones, which give everything up first).
    pub async fn join(
        &mut self,
        owned: &[TopicPartition],
    ) -> Result<Vec<TopicPartition>, ClientError> {
        self.stop_heartbeat();
        self.rejoin.store(false, Ordering::Release);
        let mut protocols = Vec::new();
        for name in &self.strategies {
            protocols.push(
                JoinGroupRequestProtocol::default()
                    .with_name(s(name))
                    .with_metadata(self.subscription_metadata(name, owned)?),
            );
        }
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            if attempts > 50 {
                return Err(ClientError::Kafka {
                    context: format!(
                        "join group {}: gave up after {attempts} attempts",
                        self.group_id
                    ),
                    error: ResponseError::RebalanceInProgress,
                });
            }
            let (_, conn) = match self.coordinator().await {
                Ok(c) => c,
                Err(e) if e.is_retriable() => {
                    tokio::time::sleep(self.retry_backoff).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let request = JoinGroupRequest::default()
                .with_group_id(GroupId(s(&self.group_id)))
                .with_session_timeout_ms(self.session_timeout.as_millis() as i32)
                .with_rebalance_timeout_ms(self.rebalance_timeout.as_millis() as i32)
                .with_member_id(s(&self.member_id))
                .with_group_instance_id(self.instance_id.as_deref().map(s))
                .with_protocol_type(s("consumer"))
                .with_protocols(protocols.clone());
            // The coordinator answers JoinGroup only once every member rejoined, which may take
            // the whole rebalance timeout: wait that long plus 5 s, as Java's
            // JOIN_GROUP_TIMEOUT_LAPSE, and at least request.timeout.ms.
            let join_timeout = (self.rebalance_timeout + Duration::from_secs(5))
                .max(self.cluster.config().request_timeout);
            let join = match conn.send_with_timeout(&request, join_timeout).await {
                Ok(r) => r,
                Err(e) if e.is_retriable() => {
                    self.coordinator = None;
                    tokio::time::sleep(self.retry_backoff).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match kafka_error(join.error_code) {
                None => {}
                Some(ResponseError::MemberIdRequired) => {
                    self.member_id = join.member_id.to_string();
                    continue;
                }
                Some(ResponseError::UnknownMemberId) | Some(ResponseError::IllegalGeneration) => {
                    self.member_id.clear();
                    continue;
                }
                Some(ResponseError::RebalanceInProgress) => continue,
                Some(e) if self.coordinator_error(e) => {
                    tokio::time::sleep(self.retry_backoff).await;
                    continue;
                }
                Some(e) => {
                    return Err(ClientError::Kafka {
                        context: format!("join group {}", self.group_id),
                        error: e,
                    })
                }
            }
            self.member_id = join.member_id.to_string();
            self.generation = join.generation_id;
            let protocol = join
                .protocol_name
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default();
            let assignments = if join.leader.as_str() == self.member_id && !join.skip_assignment {
                self.lead(&protocol, &join.members).await?
            } else {
                Vec::new()
            };
            let sync = SyncGroupRequest::default()
                .with_group_id(GroupId(s(&self.group_id)))
                .with_generation_id(self.generation)
                .with_member_id(s(&self.member_id))
                .with_group_instance_id(self.instance_id.as_deref().map(s))
                .with_assignments(assignments);
            let sync = if conn.version(ApiKey::SyncGroup).unwrap_or(0) >= 5 {
                sync.with_protocol_type(Some(s("consumer")))
                    .with_protocol_name(Some(s(&protocol)))
            } else {
                sync
            };
            let response = match conn.send(&sync).await {
                Ok(r) => r,
                Err(e) if e.is_retriable() => {
                    self.coordinator = None;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match kafka_error(response.error_code) {
                None => {}
                Some(ResponseError::RebalanceInProgress) => continue,
                Some(ResponseError::UnknownMemberId) | Some(ResponseError::IllegalGeneration) => {
                    self.member_id.clear();
                    continue;
                }
                Some(e) if self.coordinator_error(e) => continue,
                Some(e) => {
                    return Err(ClientError::Kafka {
                        context: format!("sync group {}", self.group_id),
                        error: e,
                    })
                }
            }
            let mut mine = Vec::new();
            if !response.assignment.is_empty() {
                let a: ConsumerProtocolAssignment =
                    decode_versioned("ConsumerProtocolAssignment", response.assignment)?;
                for t in a.assigned_partitions {
                    for p in t.partitions {
                        mine.push(TopicPartition::new(t.topic.0.to_string(), p));
                    }
                }
            }
            mine.sort();
            self.last_assignment = mine.clone();
            self.last_generation = self.generation;
            self.start_heartbeat(conn);
            return Ok(mine);
        }
    }

    async fn lead(
        &mut self,
        protocol: &str,
        members: &[weir_protocol::kafka_protocol::messages::join_group_response::JoinGroupResponseMember],
    ) -> Result<Vec<SyncGroupRequestAssignment>, ClientError> {
        let mut subs = Vec::new();
        for m in members {
            let (version, sub): (i16, ConsumerProtocolSubscription) =
                decode_with_version("ConsumerProtocolSubscription", m.metadata.clone())?;
            let field_owned: Vec<TopicPartition> = sub
                .owned_partitions
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(|&p| TopicPartition::new(t.topic.0.to_string(), p))
                })
                .collect();
            let user_data = sub.user_data.as_deref().unwrap_or_default();
            // Where each sticky assignor reads the previous assignment and its generation
            // (Kafka's memberData): `sticky` from its user data only (an eager member owns
            // nothing when it joins); `cooperative-sticky` from the subscription, the
            // generation from the v2+ field or else its user data.
            let (owned_partitions, generation) = match protocol {
                "sticky" => sticky_assignor::decode_sticky_user_data(user_data).unwrap_or_default(),
                "cooperative-sticky" => {
                    let generation = if version >= 2 && sub.generation_id >= 0 {
                        sub.generation_id
                    } else {
                        user_data
                            .first_chunk::<4>()
                            .map_or(-1, |b| i32::from_be_bytes(*b))
                    };
                    (field_owned, generation)
                }
                _ => (field_owned, -1),
            };
            subs.push(MemberSubscription {
                member_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.as_ref().map(|g| g.to_string()),
                topics: sub.topics.iter().map(|t| t.to_string()).collect(),
                owned_partitions,
                generation,
            });
        }
        let mut new_topic = false;
        for sub in &subs {
            for t in &sub.topics {
                new_topic |= self.cluster.add_topic(t);
            }
        }
        let known = self.cluster.metadata();
        let missing = subs
            .iter()
            .flat_map(|s| s.topics.iter())
            .any(|t| known.topic(t).is_none());
        if new_topic || missing {
            self.cluster.refresh_metadata().await?;
        }
        let metadata = self.cluster.metadata();
        let partitions: HashMap<String, i32> = subs
            .iter()
            .flat_map(|s| s.topics.iter())
            .filter_map(|t| {
                metadata
                    .topic(t)
                    .map(|m| (t.clone(), m.partitions.len() as i32))
            })
            .collect();
        let assignment = assignor::assign(protocol, &subs, &partitions).ok_or_else(|| {
            crate::config::invalid(
                "partition.assignment.strategy",
                protocol,
                "the group chose an assignor this client does not have",
            )
        })?;
        let mut out = Vec::new();
        for (member, tps) in assignment {
            let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            for tp in tps {
                by_topic.entry(tp.topic).or_default().push(tp.partition);
            }
            let a = ConsumerProtocolAssignment::default().with_assigned_partitions(
                by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        AssignedTopic::default()
                            .with_topic(TopicName(s(&t)))
                            .with_partitions(ps)
                    })
                    .collect(),
            );
            out.push(
                SyncGroupRequestAssignment::default()
                    .with_member_id(s(&member))
                    .with_assignment(encode_versioned("ConsumerProtocolAssignment", &a, 0)?),
            );
        }
        Ok(out)
    }

    fn start_heartbeat(&mut self, conn: Arc<BrokerConnection>) {
        let request = HeartbeatRequest::default()
            .with_group_id(GroupId(s(&self.group_id)))
            .with_generation_id(self.generation)
            .with_member_id(s(&self.member_id))
            .with_group_instance_id(self.instance_id.as_deref().map(s));
        let rejoin = self.rejoin.clone();
        let wake = self.wake.clone();
        let interval = self.heartbeat_interval;
        let cluster = self.cluster.clone();
        let node = self.coordinator;
        self.heartbeat = Some(tokio::spawn(async move {
            let mut conn = conn;
            loop {
                tokio::time::sleep(interval).await;
                if conn.is_dead() {
                    match node {
                        Some(n) => match cluster.connection(n).await {
                            Ok(c) => conn = c,
                            Err(_) => continue,
                        },
                        None => return,
                    }
                }
                let Ok(response) = conn.send(&request).await else {
                    continue;
                };
                if response.error_code != 0 {
                    rejoin.store(true, Ordering::Release);
                    wake.notify_one();
                    return;
                }
            }
        }));
    }

    /// Committed offsets of `tps` (`-1`: none).
    pub async fn fetch_committed(
        &mut self,
        tps: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, i64>, ClientError> {
        self.fetch_committed_of(Some(tps)).await
    }

    /// Committed offsets of `tps`, or of every partition the group committed (`None`).
    pub async fn fetch_committed_of(
        &mut self,
        tps: Option<&[TopicPartition]>,
    ) -> Result<HashMap<TopicPartition, i64>, ClientError> {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for tp in tps.unwrap_or_default() {
            by_topic.entry(&tp.topic).or_default().push(tp.partition);
        }
        let all = tps.is_none();
        for _ in 0..20 {
            let (_, conn) = match self.coordinator().await {
                Ok(c) => c,
                Err(e) if e.is_retriable() => {
                    tokio::time::sleep(self.retry_backoff).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let v8 = conn.version(ApiKey::OffsetFetch).unwrap_or(1) >= 8;
            let request = if v8 {
                OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                    .with_group_id(GroupId(s(&self.group_id)))
                    .with_topics((!all).then(|| {
                        by_topic
                            .iter()
                            .map(|(t, ps)| {
                                OffsetFetchRequestTopics::default()
                                    .with_name(TopicName(s(t)))
                                    .with_partition_indexes(ps.clone())
                            })
                            .collect()
                    }))])
            } else {
                OffsetFetchRequest::default()
                    .with_group_id(GroupId(s(&self.group_id)))
                    .with_topics((!all).then(|| {
                        by_topic
                            .iter()
                            .map(|(t, ps)| {
                                OffsetFetchRequestTopic::default()
                                    .with_name(TopicName(s(t)))
                                    .with_partition_indexes(ps.clone())
                            })
                            .collect()
                    }))
            };
            let response = match conn.send(&request).await {
                Ok(r) => r,
                Err(e) if e.is_retriable() => {
                    self.coordinator = None;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut out = HashMap::new();
            let mut group_error = kafka_error(response.error_code);
            let mut push = |t: &str, p: i32, o: i64, code: i16| -> Option<ResponseError> {
                out.insert(TopicPartition::new(t, p), o);
                kafka_error(code)
            };
            let mut partition_error = None;
            if v8 {
                for g in &response.groups {
                    group_error = group_error.or(kafka_error(g.error_code));
                    for t in &g.topics {
                        for p in &t.partitions {
                            partition_error = partition_error.or(push(
                                &t.name.0,
                                p.partition_index,
                                p.committed_offset,
                                p.error_code,
                            ));
                        }
                    }
                }
            } else {
                for t in &response.topics {
                    for p in &t.partitions {
                        partition_error = partition_error.or(push(
                            &t.name.0,
                            p.partition_index,
                            p.committed_offset,
                            p.error_code,
                        ));
                    }
                }
            }
            match group_error.or(partition_error) {
                None => return Ok(out),
                Some(e) if self.coordinator_error(e) => {
                    tokio::time::sleep(self.retry_backoff).await;
                }
                Some(ResponseError::UnstableOffsetCommit) => {
                    tokio::time::sleep(self.retry_backoff).await;
                }
                Some(e) => {
                    return Err(ClientError::Kafka {
                        context: format!("fetch committed offsets of group {}", self.group_id),
                        error: e,
                    })
                }
            }
        }
        Err(ClientError::Kafka {
            context: format!("fetch committed offsets of group {}", self.group_id),
            error: ResponseError::CoordinatorNotAvailable,
        })
    }

    /// Commits `offsets` for this generation. `REBALANCE_IN_PROGRESS` and friends ask for a
    /// rejoin and are returned as errors.
    pub async fn commit(&mut self, offsets: &[(TopicPartition, i64)]) -> Result<(), ClientError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let request = self.commit_request(offsets);
        let mut last = None;
        for _ in 0..10 {
            let (_, conn) = match self.coordinator().await {
                Ok(c) => c,
                Err(e) if e.is_retriable() => {
                    tokio::time::sleep(self.retry_backoff).await;
                    last = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let response = match conn.send(&request).await {
                Ok(r) => r,
                Err(e) if e.is_retriable() => {
                    self.coordinator = None;
                    last = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            match self.commit_outcome().check(&response) {
                Ok(()) => return Ok(()),
                Err(e) if e.kafka_error().is_some_and(|k| self.coordinator_error(k)) => {
                    last = Some(e);
                    tokio::time::sleep(self.retry_backoff).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(ClientError::Kafka {
            context: format!("commit offsets of group {}", self.group_id),
            error: ResponseError::CoordinatorNotAvailable,
        }))
    }

    /// Sends an OffsetCommit without waiting: the returned future yields the outcome (no
    /// retries, as Kafka's `commitAsync`; a coordinator error makes the next request look the
    /// coordinator up again). Commits sent one after the other are answered in order.
    pub async fn commit_async(
        &mut self,
        offsets: &[(TopicPartition, i64)],
    ) -> Result<
        impl std::future::Future<Output = Result<(), ClientError>> + Send + 'static,
        ClientError,
    > {
        let pending = if offsets.is_empty() {
            None
        } else {
            let request = self.commit_request(offsets);
            let (_, conn) = self.coordinator().await?;
            Some(conn.enqueue(&request)?)
        };
        let outcome = self.commit_outcome();
        Ok(async move {
            let Some(pending) = pending else {
                return Ok(());
            };
            let result = pending.wait().await.and_then(|r| outcome.check(&r));
            if let Err(e) = &result {
                if e.kafka_error().is_none_or(is_coordinator_error) {
                    outcome.coordinator_lost.store(true, Ordering::Release);
                }
            }
            result
        })
    }

    fn commit_outcome(&self) -> CommitOutcome {
        CommitOutcome {
            group_id: self.group_id.clone(),
            rejoin: self.rejoin.clone(),
            coordinator_lost: self.coordinator_lost.clone(),
        }
    }

    fn commit_request(&self, offsets: &[(TopicPartition, i64)]) -> OffsetCommitRequest {
        let mut by_topic: BTreeMap<&str, Vec<(i32, i64)>> = BTreeMap::new();
        for (tp, o) in offsets {
            by_topic
                .entry(&tp.topic)
                .or_default()
                .push((tp.partition, *o));
        }
        OffsetCommitRequest::default()
            .with_group_id(GroupId(s(&self.group_id)))
            .with_generation_id_or_member_epoch(self.generation)
            .with_member_id(s(&self.member_id))
            .with_group_instance_id(self.instance_id.as_deref().map(s))
            .with_topics(
                by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        OffsetCommitRequestTopic::default()
                            .with_name(TopicName(s(t)))
                            .with_partitions(
                                ps.into_iter()
                                    .map(|(p, o)| {
                                        OffsetCommitRequestPartition::default()
                                            .with_partition_index(p)
                                            .with_committed_offset(o)
                                            .with_committed_leader_epoch(-1)
                                            .with_committed_metadata(Some(s("")))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            )
    }

    /// Leaves the group (static members stay, as in Kafka).
    pub async fn leave(&mut self) -> Result<(), ClientError> {
        self.stop_heartbeat();
        if self.member_id.is_empty() || self.instance_id.is_some() {
            return Ok(());
        }
        let (_, conn) = self.coordinator().await?;
        let request = if conn.version(ApiKey::LeaveGroup).unwrap_or(0) >= 3 {
            LeaveGroupRequest::default()
                .with_group_id(GroupId(s(&self.group_id)))
                .with_members(vec![MemberIdentity::default()
                    .with_member_id(s(&self.member_id))
                    .with_group_instance_id(None)])
        } else {
            LeaveGroupRequest::default()
                .with_group_id(GroupId(s(&self.group_id)))
                .with_member_id(s(&self.member_id))
        };
        conn.send(&request).await?;
        self.member_id.clear();
        self.generation = -1;
        Ok(())
    }
}
