//! Consumer groups over the wire: FindCoordinator, JoinGroup (MEMBER_ID_REQUIRED first),
//! SyncGroup, Heartbeat, OffsetCommit/OffsetFetch, LeaveGroup, and offsets surviving a restart;
//! the KIP-848 consumer protocol (ConsumerGroupHeartbeat, ConsumerGroupDescribe, OffsetCommit
//! with the member epoch, ListGroups by type).

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::TopicName;
use kafka_protocol::messages::{
    ApiKey, ConsumerGroupDescribeRequest, ConsumerGroupHeartbeatRequest, DescribeGroupsRequest,
    FindCoordinatorRequest, GroupId, HeartbeatRequest, JoinGroupRequest, JoinGroupResponse,
    LeaveGroupRequest, ListGroupsRequest, OffsetCommitRequest, OffsetFetchRequest, RequestKind,
    ResponseKind, SyncGroupRequest,
};
use kafka_protocol::protocol::StrBytes;

use crate::produce_fetch::{ensure_topic, topic_name};
use crate::support::{Client, TestBroker};

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn gid(s: &str) -> GroupId {
    GroupId(sb(s))
}

async fn join(client: &mut Client, group: &str, member_id: &str) -> JoinGroupResponse {
    let req = JoinGroupRequest::default()
        .with_group_id(gid(group))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(sb(member_id))
        .with_protocol_type(sb("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(sb("range"))
            .with_metadata(Bytes::from_static(b"sub"))]);
    let ResponseKind::JoinGroup(resp) = client
        .request(ApiKey::JoinGroup, 9, RequestKind::JoinGroup(req))
        .await
    else {
        panic!("wrong response type")
    };
    resp
}

async fn sync(
    client: &mut Client,
    group: &str,
    generation: i32,
    member_id: &str,
    assignments: Vec<(&str, &'static [u8])>,
) -> (i16, Bytes) {
    let req = SyncGroupRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(generation)
        .with_member_id(sb(member_id))
        .with_protocol_type(Some(sb("consumer")))
        .with_protocol_name(Some(sb("range")))
        .with_assignments(
            assignments
                .into_iter()
                .map(|(m, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(sb(m))
                        .with_assignment(Bytes::from_static(a))
                })
                .collect(),
        );
    let ResponseKind::SyncGroup(resp) = client
        .request(ApiKey::SyncGroup, 5, RequestKind::SyncGroup(req))
        .await
    else {
        panic!("wrong response type")
    };
    (resp.error_code, resp.assignment)
}

async fn heartbeat(client: &mut Client, group: &str, generation: i32, member_id: &str) -> i16 {
    let req = HeartbeatRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(generation)
        .with_member_id(sb(member_id));
    let ResponseKind::Heartbeat(resp) = client
        .request(ApiKey::Heartbeat, 4, RequestKind::Heartbeat(req))
        .await
    else {
        panic!("wrong response type")
    };
    resp.error_code
}

async fn commit(
    client: &mut Client,
    group: &str,
    generation: i32,
    member_id: &str,
    topic: &str,
    offset: i64,
) -> i16 {
    let req = OffsetCommitRequest::default()
        .with_group_id(gid(group))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(sb(member_id))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(offset)
                .with_committed_leader_epoch(3)
                .with_committed_metadata(Some(sb("meta")))])]);
    let ResponseKind::OffsetCommit(resp) = client
        .request(ApiKey::OffsetCommit, 8, RequestKind::OffsetCommit(req))
        .await
    else {
        panic!("wrong response type")
    };
    resp.topics[0].partitions[0].error_code
}

/// (offset, leader epoch, metadata) of partition 0 through the v8 multi-group form.
async fn fetch_offset(client: &mut Client, group: &str) -> (i64, i32, String) {
    let req = OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
        .with_group_id(gid(group))
        .with_topics(None)]);
    let ResponseKind::OffsetFetch(resp) = client
        .request(ApiKey::OffsetFetch, 8, RequestKind::OffsetFetch(req))
        .await
    else {
        panic!("wrong response type")
    };
    let g = &resp.groups[0];
    assert_eq!(g.error_code, 0);
    match g.topics.first() {
        None => (-1, -1, String::new()),
        Some(t) => {
            let p = &t.partitions[0];
            (
                p.committed_offset,
                p.committed_leader_epoch,
                p.metadata
                    .as_ref()
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
            )
        }
    }
}

async fn find_coordinator(client: &mut Client, group: &str) -> (i16, i32) {
    let req = FindCoordinatorRequest::default()
        .with_key_type(0)
        .with_coordinator_keys(vec![sb(group)]);
    let ResponseKind::FindCoordinator(resp) = client
        .request(
            ApiKey::FindCoordinator,
            4,
            RequestKind::FindCoordinator(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    let c = &resp.coordinators[0];
    (c.error_code, c.node_id.0)
}

#[tokio::test]
async fn two_members_join_sync_heartbeat_commit_and_leave() {
    let broker = TestBroker::start(&["group.initial.rebalance.delay.ms=0"]).await;
    let mut admin = broker.client().await;
    ensure_topic(&mut admin, "orders").await;
    assert_eq!(find_coordinator(&mut admin, "g1").await, (0, 1));

    // First join: MEMBER_ID_REQUIRED with an id, then the real join completes at once
    // (the only member has joined).
    let mut c1 = broker.client().await;
    let first = join(&mut c1, "g1", "").await;
    assert_eq!(first.error_code, 79, "MEMBER_ID_REQUIRED");
    let m1 = first.member_id.to_string();
    assert!(!m1.is_empty());
    let j1 = join(&mut c1, "g1", &m1).await;
    assert_eq!(j1.error_code, 0);
    assert_eq!(j1.generation_id, 1);
    assert_eq!(j1.leader.as_str(), m1);
    assert_eq!(j1.members.len(), 1);
    assert_eq!(
        sync(&mut c1, "g1", 1, &m1, vec![(&m1, b"a1")]).await,
        (0, Bytes::from_static(b"a1"))
    );
    assert_eq!(heartbeat(&mut c1, "g1", 1, &m1).await, 0);
    assert_eq!(
        heartbeat(&mut c1, "g1", 0, &m1).await,
        22,
        "ILLEGAL_GENERATION"
    );
    assert_eq!(
        heartbeat(&mut c1, "g1", 1, "nobody").await,
        25,
        "UNKNOWN_MEMBER_ID"
    );

    // A second member: its join is parked until the first rejoins after a heartbeat says
    // REBALANCE_IN_PROGRESS.
    let mut c2 = broker.client().await;
    let m2 = join(&mut c2, "g1", "").await.member_id.to_string();
    let join2 = tokio::spawn(async move {
        let r = join(&mut c2, "g1", &m2).await;
        (c2, m2, r)
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        heartbeat(&mut c1, "g1", 1, &m1).await,
        27,
        "REBALANCE_IN_PROGRESS"
    );
    let j1 = join(&mut c1, "g1", &m1).await;
    let (mut c2, m2, j2) = join2.await.unwrap();
    assert_eq!((j1.error_code, j2.error_code), (0, 0));
    assert_eq!((j1.generation_id, j2.generation_id), (2, 2));
    assert_eq!(j1.members.len(), 2, "the leader gets every member");
    assert!(j2.members.is_empty());
    // The follower's sync waits for the leader's.
    let sync2 = tokio::spawn(async move {
        let r = sync(&mut c2, "g1", 2, &m2, vec![]).await;
        (c2, m2, r)
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (e, a) = sync(
        &mut c1,
        "g1",
        2,
        &m1,
        vec![(&m1, b"x"), (&j2.member_id, b"y")],
    )
    .await;
    assert_eq!((e, a), (0, Bytes::from_static(b"x")));
    let (mut c2, m2, (e, a)) = sync2.await.unwrap();
    assert_eq!((e, a), (0, Bytes::from_static(b"y")));

    // Commit and fetch; generation checks apply.
    assert_eq!(commit(&mut c1, "g1", 2, &m1, "orders", 42).await, 0);
    assert_eq!(commit(&mut c1, "g1", 1, &m1, "orders", 43).await, 22);
    assert_eq!(
        commit(&mut c1, "g1", 2, &m1, "nope", 1).await,
        3,
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    assert_eq!(
        fetch_offset(&mut admin, "g1").await,
        (42, 3, "meta".to_string())
    );
    assert_eq!(fetch_offset(&mut admin, "unknown").await.0, -1);

    // m2 leaves (batched v5 form); m1 learns from its heartbeat and rejoins alone.
    let req = LeaveGroupRequest::default()
        .with_group_id(gid("g1"))
        .with_members(vec![MemberIdentity::default().with_member_id(sb(&m2))]);
    let ResponseKind::LeaveGroup(resp) = c2
        .request(ApiKey::LeaveGroup, 5, RequestKind::LeaveGroup(req))
        .await
    else {
        panic!()
    };
    assert_eq!((resp.error_code, resp.members[0].error_code), (0, 0));
    assert_eq!(heartbeat(&mut c1, "g1", 2, &m1).await, 27);
    let j1 = join(&mut c1, "g1", &m1).await;
    assert_eq!(
        (j1.error_code, j1.generation_id, j1.members.len()),
        (0, 3, 1)
    );

    let ResponseKind::DescribeGroups(d) = admin
        .request(
            ApiKey::DescribeGroups,
            5,
            RequestKind::DescribeGroups(
                DescribeGroupsRequest::default().with_groups(vec![gid("g1")]),
            ),
        )
        .await
    else {
        panic!()
    };
    assert_eq!(d.groups[0].group_state.as_str(), "CompletingRebalance");
    // The member's host is the peer address of its connection, printed as Kafka does.
    assert_eq!(d.groups[0].members.len(), 1);
    assert_eq!(d.groups[0].members[0].client_host.as_str(), "/127.0.0.1");
    let ResponseKind::ListGroups(l) = admin
        .request(
            ApiKey::ListGroups,
            4,
            RequestKind::ListGroups(ListGroupsRequest::default()),
        )
        .await
    else {
        panic!()
    };
    assert_eq!(l.groups.len(), 1);
    assert_eq!(l.groups[0].group_id.as_str(), "g1");
}

#[tokio::test]
async fn committed_offsets_and_groups_survive_restart() {
    let broker = TestBroker::start(&["group.initial.rebalance.delay.ms=0"]).await;
    let mut c = broker.client().await;
    ensure_topic(&mut c, "events").await;
    // A simple (non-member) commit, as `assign()` consumers do.
    assert_eq!(commit(&mut c, "standalone", -1, "", "events", 7).await, 0);
    let m = join(&mut c, "members", "").await.member_id.to_string();
    let j = join(&mut c, "members", &m).await;
    assert_eq!(
        sync(&mut c, "members", j.generation_id, &m, vec![(&m, b"p0")])
            .await
            .0,
        0
    );
    assert_eq!(
        commit(&mut c, "members", j.generation_id, &m, "events", 11).await,
        0
    );
    drop(c);
    let dir = broker.stop().await;

    let broker = TestBroker::start_in(dir, &["group.initial.rebalance.delay.ms=0"]).await;
    let mut c = broker.client().await;
    assert_eq!(fetch_offset(&mut c, "standalone").await.0, 7);
    assert_eq!(
        fetch_offset(&mut c, "members").await,
        (11, 3, "meta".to_string())
    );
    // The member is still known (Stable, same generation) until its session expires.
    assert_eq!(heartbeat(&mut c, "members", j.generation_id, &m).await, 0);
    let (e, a) = sync(&mut c, "members", j.generation_id, &m, vec![]).await;
    assert_eq!((e, a), (0, Bytes::from_static(b"p0")));
}

#[tokio::test]
async fn consumer_protocol_heartbeat_describe_commit_and_list() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let topic_id = ensure_topic(&mut c, "kip848").await;
    let join = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(gid("cg"))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(30_000)
        .with_subscribed_topic_names(Some(vec![TopicName(sb("kip848"))]))
        .with_server_assignor(Some(sb("range")))
        .with_topic_partitions(Some(Vec::new()));
    let ResponseKind::ConsumerGroupHeartbeat(r) = c
        .request(
            ApiKey::ConsumerGroupHeartbeat,
            0,
            RequestKind::ConsumerGroupHeartbeat(join),
        )
        .await
    else {
        panic!("wrong response type")
    };
    assert_eq!((r.error_code, r.member_epoch), (0, 1));
    assert_eq!(
        r.heartbeat_interval_ms, 5000,
        "group.consumer.heartbeat.interval.ms"
    );
    let member = r.member_id.clone().unwrap_or_default();
    assert!(!member.is_empty());
    let assignment = r.assignment.expect("a joining member gets its assignment");
    assert_eq!(assignment.topic_partitions.len(), 1);
    assert_eq!(assignment.topic_partitions[0].topic_id, topic_id);
    assert_eq!(assignment.topic_partitions[0].partitions, vec![0]);

    // OffsetCommit v9 carries the member epoch: the current one is accepted, an older one is
    // stale.
    let commit_with = |epoch: i32| {
        OffsetCommitRequest::default()
            .with_group_id(gid("cg"))
            .with_generation_id_or_member_epoch(epoch)
            .with_member_id(member.clone())
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(topic_name("kip848"))
                .with_partitions(vec![OffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(3)])])
    };
    for (epoch, expected) in [(1, 0), (0, 113)] {
        let ResponseKind::OffsetCommit(resp) = c
            .request(
                ApiKey::OffsetCommit,
                9,
                RequestKind::OffsetCommit(commit_with(epoch)),
            )
            .await
        else {
            panic!()
        };
        assert_eq!(
            resp.topics[0].partitions[0].error_code, expected,
            "epoch {epoch}"
        );
    }
    assert_eq!(fetch_offset(&mut c, "cg").await.0, 3);

    let ResponseKind::ConsumerGroupDescribe(d) = c
        .request(
            ApiKey::ConsumerGroupDescribe,
            0,
            RequestKind::ConsumerGroupDescribe(
                ConsumerGroupDescribeRequest::default()
                    .with_group_ids(vec![gid("cg"), gid("nope")]),
            ),
        )
        .await
    else {
        panic!()
    };
    let g = &d.groups[0];
    assert_eq!((g.error_code, g.group_state.as_str()), (0, "Stable"));
    assert_eq!((g.group_epoch, g.assignment_epoch), (1, 1));
    assert_eq!(g.assignor_name.as_str(), "range");
    assert_eq!(g.members[0].client_host.as_str(), "/127.0.0.1");
    assert_eq!(
        g.members[0].assignment.topic_partitions[0]
            .topic_name
            .0
            .as_str(),
        "kip848"
    );
    assert_eq!(d.groups[1].error_code, 69, "GROUP_ID_NOT_FOUND");

    // ListGroups v5 filters by type.
    let list = |types: Vec<&str>| {
        ListGroupsRequest::default().with_types_filter(types.into_iter().map(sb).collect())
    };
    for (types, expected) in [(vec!["consumer"], 1), (vec!["classic"], 0)] {
        let ResponseKind::ListGroups(l) = c
            .request(
                ApiKey::ListGroups,
                5,
                RequestKind::ListGroups(list(types.clone())),
            )
            .await
        else {
            panic!()
        };
        assert_eq!(l.groups.len(), expected, "{types:?}");
        if let Some(g) = l.groups.first() {
            assert_eq!(
                (g.group_type.as_str(), g.group_state.as_str()),
                ("consumer", "Stable")
            );
        }
    }

    // Leaving with epoch -1 empties the group.
    let leave = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(gid("cg"))
        .with_member_id(member.clone())
        .with_member_epoch(-1);
    let ResponseKind::ConsumerGroupHeartbeat(r) = c
        .request(
            ApiKey::ConsumerGroupHeartbeat,
            0,
            RequestKind::ConsumerGroupHeartbeat(leave),
        )
        .await
    else {
        panic!()
    };
    assert_eq!((r.error_code, r.member_epoch), (0, -1));
}

#[tokio::test]
async fn consumer_protocol_member_keeps_its_epoch_across_a_restart() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let topic_id = ensure_topic(&mut c, "kip848r").await;
    let join = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(gid("cgr"))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(30_000)
        .with_subscribed_topic_names(Some(vec![TopicName(sb("kip848r"))]))
        .with_topic_partitions(Some(Vec::new()));
    let ResponseKind::ConsumerGroupHeartbeat(r) = c
        .request(
            ApiKey::ConsumerGroupHeartbeat,
            0,
            RequestKind::ConsumerGroupHeartbeat(join),
        )
        .await
    else {
        panic!("wrong response type")
    };
    assert_eq!((r.error_code, r.member_epoch), (0, 1));
    let member = r.member_id.clone().unwrap_or_default();
    drop(c);
    let dir = broker.stop().await;

    // The group's records in __consumer_offsets bring the member back with its epoch.
    let broker = TestBroker::start_in(dir, &[]).await;
    let mut c = broker.client().await;
    let beat = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(gid("cgr"))
        .with_member_id(member.clone())
        .with_member_epoch(1)
        .with_rebalance_timeout_ms(-1)
        .with_topic_partitions(Some(vec![
            kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions::default()
                .with_topic_id(topic_id)
                .with_partitions(vec![0]),
        ]));
    let ResponseKind::ConsumerGroupHeartbeat(r) = c
        .request(
            ApiKey::ConsumerGroupHeartbeat,
            0,
            RequestKind::ConsumerGroupHeartbeat(beat),
        )
        .await
    else {
        panic!("wrong response type")
    };
    assert_eq!((r.error_code, r.member_epoch), (0, 1), "not fenced");
    let ResponseKind::ConsumerGroupDescribe(d) = c
        .request(
            ApiKey::ConsumerGroupDescribe,
            0,
            RequestKind::ConsumerGroupDescribe(
                ConsumerGroupDescribeRequest::default().with_group_ids(vec![gid("cgr")]),
            ),
        )
        .await
    else {
        panic!()
    };
    let g = &d.groups[0];
    assert_eq!(
        (g.error_code, g.group_state.as_str(), g.group_epoch),
        (0, "Stable", 1)
    );
    assert_eq!(g.members[0].member_id, member);
    assert_eq!(
        g.members[0].assignment.topic_partitions[0].partitions,
        vec![0]
    );
}
