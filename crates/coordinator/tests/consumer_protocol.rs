//! The consumer group protocol of KIP-848 on the I/O-free coordinator, with explicit time and
//! no sockets: joins, incremental reconciliation (revoke first, then assign), epochs and
//! fencing, leave, static members, session and revocation timeouts, offset commits with the
//! member epoch, and the shared classic/consumer group id space.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::{
    ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, GroupId, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;
use weir_coordinator::{
    CommitPartition, CoordinatorConfig, GroupCoordinator, MemberState, TopicInfo,
};

const TOPIC: Uuid = Uuid::from_u128(0xabc);
const SESSION: i64 = 45_000;
const REBALANCE: i32 = 30_000;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn topics(name: &str) -> Option<TopicInfo> {
    (name == "t").then_some(TopicInfo {
        topic_id: TOPIC,
        partitions: 6,
    })
}

fn core() -> GroupCoordinator {
    GroupCoordinator::new(CoordinatorConfig::default(), 0)
}

fn join_req(instance: Option<&str>, assignor: &str) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(sb("g")))
        .with_member_epoch(0)
        .with_instance_id(instance.map(sb))
        .with_rebalance_timeout_ms(REBALANCE)
        .with_subscribed_topic_names(Some(vec![TopicName(sb("t"))]))
        .with_server_assignor(Some(sb(assignor)))
        .with_topic_partitions(Some(Vec::new()))
}

fn beat_req(member: &str, epoch: i32, owned: &[i32]) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(sb("g")))
        .with_member_id(sb(member))
        .with_member_epoch(epoch)
        .with_rebalance_timeout_ms(-1)
        .with_topic_partitions(Some(vec![TopicPartitions::default()
            .with_topic_id(TOPIC)
            .with_partitions(owned.to_vec())]))
}

fn send(
    c: &mut GroupCoordinator,
    req: &ConsumerGroupHeartbeatRequest,
    now: i64,
) -> ConsumerGroupHeartbeatResponse {
    c.consumer_group_heartbeat(req, "client", "/127.0.0.1", &topics, now)
        .0
}

/// The partitions of the response's assignment (`None` when it carries none).
fn assigned(r: &ConsumerGroupHeartbeatResponse) -> Option<BTreeSet<i32>> {
    r.assignment.as_ref().map(|a| {
        a.topic_partitions
            .iter()
            .filter(|tp| tp.topic_id == TOPIC)
            .flat_map(|tp| tp.partitions.iter().copied())
            .collect()
    })
}

fn id(r: &ConsumerGroupHeartbeatResponse) -> String {
    r.member_id
        .as_ref()
        .map(|m| m.to_string())
        .unwrap_or_default()
}

fn set(v: impl IntoIterator<Item = i32>) -> BTreeSet<i32> {
    v.into_iter().collect()
}

/// Member 1 alone, then member 2: returns both ids after the incremental handover.
fn two_members(c: &mut GroupCoordinator, assignor: &str) -> (String, String) {
    let r1 = send(c, &join_req(None, assignor), 0);
    assert_eq!(r1.error_code, 0);
    assert_eq!(r1.member_epoch, 1);
    assert_eq!(assigned(&r1), Some(set(0..6)));
    let m1 = id(&r1);

    let r2 = send(c, &join_req(None, assignor), 100);
    assert_eq!(r2.error_code, 0);
    let m2 = id(&r2);
    // Member 1 still owns everything: member 2 is at epoch 2 with nothing yet.
    assert_eq!(r2.member_epoch, 2);
    assert_eq!(assigned(&r2), Some(set([])));
    let g = c.consumer_group("g").unwrap();
    assert_eq!(g.members[&m2].state, MemberState::UnreleasedPartitions);
    assert_eq!(g.state().name(), "Reconciling");

    // Member 1 is told to keep half and revoke the rest; it stays at epoch 1 meanwhile.
    let r = send(c, &beat_req(&m1, 1, &[0, 1, 2, 3, 4, 5]), 200);
    assert_eq!(r.error_code, 0);
    assert_eq!(r.member_epoch, 1);
    let kept = assigned(&r).unwrap();
    assert_eq!(kept.len(), 3);
    assert!(kept.is_subset(&set(0..6)));
    // Member 2 still gets nothing while member 1 has not confirmed.
    let r = send(c, &beat_req(&m2, 2, &[]), 250);
    assert_eq!(r.member_epoch, 2);
    assert!(assigned(&r).is_none_or(|a| a.is_empty()));

    // Member 1 confirms the revocation: epoch 2, its kept partitions untouched.
    let owned: Vec<i32> = kept.iter().copied().collect();
    let r = send(c, &beat_req(&m1, 1, &owned), 300);
    assert_eq!(r.member_epoch, 2);
    assert!(assigned(&r).is_none(), "assignment unchanged, not resent");
    // Now member 2 gets the other half.
    let r = send(c, &beat_req(&m2, 2, &[]), 400);
    assert_eq!(r.member_epoch, 2);
    let theirs = assigned(&r).unwrap();
    assert_eq!(theirs, set(0..6).difference(&kept).copied().collect());
    assert_eq!(c.consumer_group("g").unwrap().state().name(), "Stable");
    (m1, m2)
}

#[test]
fn second_member_gets_half_after_the_first_revokes_it_uniform() {
    two_members(&mut core(), "uniform");
}

#[test]
fn second_member_gets_half_after_the_first_revokes_it_range() {
    two_members(&mut core(), "range");
}

#[test]
fn epochs_are_checked() {
    let mut c = core();
    let (m1, _) = two_members(&mut c, "uniform");
    let ahead = send(&mut c, &beat_req(&m1, 7, &[]), 500);
    assert_eq!(ahead.error_code, ResponseError::FencedMemberEpoch.code());
    // The previous epoch with a subset of the assignment is the lost-response case: accepted.
    let g = c.consumer_group("g").unwrap();
    let owned: Vec<i32> = g.members[&m1].assigned[&TOPIC].iter().copied().collect();
    let previous = send(&mut c, &beat_req(&m1, 1, &owned), 510);
    assert_eq!(previous.error_code, 0);
    assert_eq!(previous.member_epoch, 2);
    let older = send(&mut c, &beat_req(&m1, 1, &owned), 520);
    assert_eq!(older.error_code, 0, "epoch 1 is still the previous one");
    let unknown = send(&mut c, &beat_req("ghost", 2, &[]), 530);
    assert_eq!(unknown.error_code, ResponseError::UnknownMemberId.code());
}

#[test]
fn leave_hands_the_partitions_to_the_others() {
    let mut c = core();
    let (m1, m2) = two_members(&mut c, "uniform");
    let epoch = c.consumer_group("g").unwrap().group_epoch;
    let leave = send(&mut c, &beat_req(&m1, -1, &[]), 1000);
    assert_eq!((leave.error_code, leave.member_epoch), (0, -1));
    assert_eq!(c.consumer_group("g").unwrap().group_epoch, epoch + 1);
    let g = c.consumer_group("g").unwrap();
    let mine: Vec<i32> = g.members[&m2].assigned[&TOPIC].iter().copied().collect();
    let r = send(&mut c, &beat_req(&m2, 2, &mine), 1100);
    assert_eq!(r.member_epoch, 3);
    assert_eq!(assigned(&r), Some(set(0..6)));
}

#[test]
fn session_timeout_fences_a_silent_member() {
    let mut c = core();
    let (m1, m2) = two_members(&mut c, "uniform");
    // Member 2 keeps heartbeating; member 1 goes silent after t=300.
    let g = c.consumer_group("g").unwrap();
    let mine: Vec<i32> = g.members[&m2].assigned[&TOPIC].iter().copied().collect();
    send(&mut c, &beat_req(&m2, 2, &mine), 30_000);
    assert!(c.next_deadline() <= 300 + SESSION);
    c.tick(300 + SESSION);
    let g = c.consumer_group("g").unwrap();
    assert!(!g.members.contains_key(&m1));
    assert!(g.members.contains_key(&m2));
    let r = send(&mut c, &beat_req(&m2, 2, &mine), 300 + SESSION + 1);
    assert_eq!(assigned(&r), Some(set(0..6)));
    let r = send(&mut c, &beat_req(&m1, 2, &[]), 300 + SESSION + 2);
    assert_eq!(r.error_code, ResponseError::UnknownMemberId.code());
}

#[test]
fn a_member_that_does_not_revoke_is_fenced_after_its_rebalance_timeout() {
    let mut c = core();
    let m1 = id(&send(&mut c, &join_req(None, "uniform"), 0));
    let m2 = id(&send(&mut c, &join_req(None, "uniform"), 10));
    let r = send(&mut c, &beat_req(&m1, 1, &[0, 1, 2, 3, 4, 5]), 20);
    assert_eq!(assigned(&r).map(|a| a.len()), Some(3));
    // Member 1 keeps heartbeating but never gives up the revoked partitions.
    for t in [10_000, 20_000] {
        let r = send(&mut c, &beat_req(&m1, 1, &[0, 1, 2, 3, 4, 5]), t);
        assert_eq!(r.error_code, 0);
    }
    assert_eq!(c.next_deadline(), 20 + i64::from(REBALANCE));
    c.tick(20 + i64::from(REBALANCE));
    assert!(!c.consumer_group("g").unwrap().members.contains_key(&m1));
    let r = send(&mut c, &beat_req(&m2, 2, &[]), 30_100);
    assert_eq!(assigned(&r), Some(set(0..6)));
    let r = send(&mut c, &beat_req(&m1, 1, &[]), 30_200);
    assert_eq!(r.error_code, ResponseError::UnknownMemberId.code());
}

#[test]
fn static_member_leaves_temporarily_and_comes_back_with_its_partitions() {
    let mut c = core();
    let r = send(&mut c, &join_req(Some("i1"), "uniform"), 0);
    let m1 = id(&r);
    let leave = send(
        &mut c,
        &beat_req(&m1, -2, &[]).with_instance_id(Some(sb("i1"))),
        100,
    );
    assert_eq!((leave.error_code, leave.member_epoch), (0, -2));
    // While it is away, another instance with the same id is refused only if unreleased;
    // it was released, so the new process takes over.
    let back = send(&mut c, &join_req(Some("i1"), "uniform"), 200);
    assert_eq!(back.error_code, 0);
    assert_ne!(id(&back), m1);
    assert_eq!(assigned(&back), Some(set(0..6)));
    // A second process with the same instance id while the first is active is refused.
    let dup = send(&mut c, &join_req(Some("i1"), "uniform"), 300);
    assert_eq!(dup.error_code, ResponseError::UnreleasedInstanceId.code());
}

#[test]
fn offset_commit_uses_the_member_epoch() {
    let mut c = core();
    let r = send(&mut c, &join_req(None, "uniform"), 0);
    let m1 = id(&r);
    let p = |offset| CommitPartition {
        topic: "t".into(),
        partition: 0,
        offset,
        leader_epoch: -1,
        metadata: None,
    };
    let commit = |c: &mut GroupCoordinator, epoch, version| {
        c.offset_commit_request("g", epoch, &m1, None, version, &[p(5)], 10)
            .map(|(errors, _)| errors)
            .map_err(|e| e.code())
    };
    assert_eq!(
        commit(&mut c, 0, 9),
        Err(ResponseError::StaleMemberEpoch.code())
    );
    assert_eq!(
        commit(&mut c, 2, 9),
        Err(ResponseError::FencedMemberEpoch.code())
    );
    assert_eq!(
        commit(&mut c, 1, 8),
        Err(ResponseError::UnsupportedVersion.code())
    );
    let (errors, records) = c
        .offset_commit_request("g", 1, &m1, None, 9, &[p(5)], 10)
        .unwrap();
    assert_eq!(errors, vec![None]);
    for record in records {
        c.replay(record, 10);
    }
    let fetched = c.offset_fetch("g", Some(vec![("t".into(), vec![0])]));
    assert_eq!(fetched[0].1[0].1.as_ref().map(|o| o.offset), Some(5));
    assert_eq!(c.validate_offset_fetch("g", Some(&m1), 1), None);
    assert_eq!(
        c.validate_offset_fetch("g", Some(&m1), 0),
        Some(ResponseError::StaleMemberEpoch)
    );
    assert_eq!(
        c.validate_offset_fetch("g", Some("ghost"), 1),
        Some(ResponseError::UnknownMemberId)
    );
    // Admin-style commits (epoch -1) are refused while the group has members.
    let simple = c.offset_commit_request("g", -1, "", None, 9, &[p(6)], 20);
    assert_eq!(simple.err(), Some(ResponseError::UnknownMemberId));
    // The group lists and describes as a consumer group.
    let listed = c.list_groups();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].group_type, listed[0].state),
        ("consumer", "Stable")
    );
    let d = c.describe_group("g");
    assert_eq!(
        (d.protocol_type.as_str(), d.protocol.as_str()),
        ("consumer", "uniform")
    );
    assert_eq!(d.members[0].client_host, "/127.0.0.1");
}

#[test]
fn a_restarted_coordinator_answers_unknown_member_and_the_member_rejoins() {
    let mut c = core();
    let m1 = id(&send(&mut c, &join_req(None, "uniform"), 0));
    let mut restarted = core();
    let r = send(&mut restarted, &beat_req(&m1, 1, &[0, 1, 2, 3, 4, 5]), 10);
    assert_eq!(r.error_code, ResponseError::UnknownMemberId.code());
    let again = send(&mut restarted, &join_req(None, "uniform"), 20);
    assert_eq!((again.error_code, again.member_epoch), (0, 1));
    assert_eq!(assigned(&again), Some(set(0..6)));
}

#[test]
fn classic_and_consumer_groups_share_the_id_space() {
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    use kafka_protocol::messages::JoinGroupRequest;
    let mut c = core();
    send(&mut c, &join_req(None, "uniform"), 0);
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(sb("g")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(sb("consumer"))
        .with_protocols(vec![
            JoinGroupRequestProtocol::default().with_name(sb("range"))
        ]);
    let fx = c.join_group(&join, 5, "client", "/h", 1, 10);
    let code = fx.replies.iter().find_map(|(_, r)| match r {
        weir_coordinator::Reply::Join(j) => Some(j.error_code),
        _ => None,
    });
    assert_eq!(code, Some(ResponseError::InconsistentGroupProtocol.code()));

    // A classic group with members: the consumer protocol is told it is not its group.
    let fx = c.join_group(
        &join.clone().with_group_id(GroupId(sb("classic"))),
        3,
        "c",
        "/h",
        2,
        10,
    );
    assert!(
        fx.replies.is_empty(),
        "parked in the initial rebalance delay"
    );
    assert_eq!(c.group("classic").map(|g| g.members.len()), Some(1));
    let (r, _) = c.consumer_group_heartbeat(
        &join_req(None, "uniform").with_group_id(GroupId(sb("classic"))),
        "client",
        "/h",
        &topics,
        20,
    );
    assert_eq!(r.error_code, ResponseError::GroupIdNotFound.code());
}

#[test]
fn invalid_requests_are_refused() {
    let mut c = core();
    let regex = join_req(None, "uniform").with_subscribed_topic_regex(Some(sb("t.*")));
    assert_eq!(
        send(&mut c, &regex, 0).error_code,
        ResponseError::InvalidRequest.code()
    );
    // librdkafka sends an empty regex along with topic names: that is no regex.
    let empty_regex = join_req(None, "uniform").with_subscribed_topic_regex(Some(sb("")));
    assert_eq!(send(&mut c, &empty_regex, 0).error_code, 0);
    let no_timeout = join_req(None, "uniform").with_rebalance_timeout_ms(-1);
    assert_eq!(
        send(&mut c, &no_timeout, 0).error_code,
        ResponseError::InvalidRequest.code()
    );
    let assignor = join_req(None, "sticky");
    assert_eq!(
        send(&mut c, &assignor, 0).error_code,
        ResponseError::UnsupportedAssignor.code()
    );
    let no_id = beat_req("", 3, &[]);
    assert_eq!(
        send(&mut c, &no_id, 0).error_code,
        ResponseError::InvalidRequest.code()
    );
}

/// The async shell's timer fences a silent consumer-protocol member once
/// `group.consumer.session.timeout.ms` has passed on tokio's (paused) clock, and not before.
#[tokio::test(start_paused = true)]
async fn service_timer_expires_consumer_sessions_on_paused_time() {
    use std::time::Duration;
    use weir_coordinator::GroupCoordinatorService;

    let service = GroupCoordinatorService::new(
        CoordinatorConfig {
            consumer_session_timeout_ms: 10_000,
            ..Default::default()
        },
        1,
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let timers = tokio::spawn(service.clone().run_timers(stopped));
    let joined = service
        .call(|core, now| {
            core.consumer_group_heartbeat(
                &join_req(None, "uniform"),
                "client",
                "/127.0.0.1",
                &topics,
                now,
            )
        })
        .await
        .unwrap();
    assert_eq!((joined.error_code, joined.member_epoch), (0, 1));
    let members = || service.read(|c| c.consumer_group("g").map_or(0, |g| g.members.len()));

    tokio::time::sleep(Duration::from_millis(9_000)).await;
    assert_eq!(members(), 1, "still within the session");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // The tick runs on a blocking thread: give it a moment of (paused) time to finish.
    for _ in 0..100 {
        if members() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        members(),
        0,
        "fenced after group.consumer.session.timeout.ms"
    );
    stop.send(true).unwrap();
    timers.await.unwrap();
}

/// Every change is written as KIP-848 records: replaying them (whole, or compacted to the
/// last value per key) rebuilds the same group, and its members go on with their epochs.
#[test]
fn consumer_groups_are_rebuilt_from_their_records() {
    use std::collections::BTreeMap;
    use weir_coordinator::CoordinatorRecord;

    let mut c = core();
    let mut log: Vec<(bytes::Bytes, Option<bytes::Bytes>)> = Vec::new();
    let mut logged = |c: &mut GroupCoordinator, req: &ConsumerGroupHeartbeatRequest, now| {
        let (r, fx) = c.consumer_group_heartbeat(req, "client", "/127.0.0.1", &topics, now);
        log.extend(fx.records.iter().map(CoordinatorRecord::encode));
        r
    };
    let m1 = id(&logged(&mut c, &join_req(None, "range"), 0));
    let m2 = id(&logged(&mut c, &join_req(None, "range"), 10));
    let m3 = id(&logged(&mut c, &join_req(None, "range"), 15));
    // Member 1 is told to revoke and has not yet: the restart catches it mid-reconciliation.
    let r = logged(&mut c, &beat_req(&m1, 1, &[0, 1, 2, 3, 4, 5]), 20);
    assert_eq!(r.member_epoch, 1);
    // Member 3 leaves.
    logged(&mut c, &beat_req(&m3, -1, &[]), 30);
    assert!(!log.is_empty());

    let replay = |entries: &[(bytes::Bytes, Option<bytes::Bytes>)]| {
        let mut fresh = core();
        for (k, v) in entries {
            if let Some(r) = CoordinatorRecord::decode(k, v.as_deref()).unwrap() {
                fresh.replay(r, 1000);
            }
        }
        fresh
    };
    let compacted: Vec<_> = log
        .iter()
        .cloned()
        .map(|(k, v)| (k.clone(), (k, v)))
        .collect::<BTreeMap<_, _>>()
        .into_values()
        .collect();
    let original = c.consumer_group("g").unwrap();
    for mut restarted in [replay(&log), replay(&compacted)] {
        let g = restarted.consumer_group("g").unwrap();
        assert_eq!(
            (g.group_epoch, g.assignment_epoch),
            (original.group_epoch, original.assignment_epoch)
        );
        assert_eq!(g.target, original.target);
        assert_eq!(g.subscription_metadata, original.subscription_metadata);
        assert_eq!(g.members.len(), 2);
        assert!(!g.members.contains_key(&m3));
        for (mid, m) in &original.members {
            let r = &g.members[mid];
            assert_eq!(
                (r.member_epoch, r.previous_member_epoch, r.state),
                (m.member_epoch, m.previous_member_epoch, m.state)
            );
            assert_eq!(
                (&r.assigned, &r.pending_revocation),
                (&m.assigned, &m.pending_revocation)
            );
            assert_eq!(r.subscribed_topic_names, m.subscribed_topic_names);
            assert_eq!(r.client_host, "/127.0.0.1");
            assert_eq!(
                r.session_deadline,
                1000 + SESSION,
                "sessions restart at load"
            );
        }
        // The members carry on with their epochs: member 1 finishes revoking, member 2 then
        // gets what member 1 gave up.
        let kept: Vec<i32> = g.members[&m1].assigned[&TOPIC].iter().copied().collect();
        let r = send(&mut restarted, &beat_req(&m1, 1, &kept), 1100);
        assert_eq!(r.error_code, 0);
        // Member 3's leave bumped the group epoch: the new target is computed at this epoch.
        assert_eq!(r.member_epoch, original.group_epoch);
        let kept: Vec<i32> = assigned(&r).map_or(kept, |a| a.into_iter().collect());
        let m2_epoch = original.members[&m2].member_epoch;
        let r = send(&mut restarted, &beat_req(&m2, m2_epoch, &[]), 1200);
        assert_eq!(r.error_code, 0);
        let theirs = assigned(&r).unwrap();
        assert_eq!(theirs.len() + kept.len(), 6);
        assert!(theirs.iter().all(|p| !kept.contains(p)));
    }
}
