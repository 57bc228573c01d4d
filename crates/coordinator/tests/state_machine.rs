//! The group coordinator's state machine with explicit time and no sockets: join, sync,
//! heartbeat, leave, session and rebalance timeouts, static members, and replay.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    GroupId, HeartbeatRequest, JoinGroupRequest, JoinGroupResponse, SyncGroupRequest,
    SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use weir_coordinator::{
    CommitPartition, CoordinatorConfig, Effects, GroupCoordinator, GroupState, Reply, Token,
};

const SESSION: i32 = 10_000;
const REBALANCE: i32 = 30_000;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn core(initial_delay: i32) -> GroupCoordinator {
    GroupCoordinator::new(
        CoordinatorConfig {
            initial_rebalance_delay_ms: initial_delay,
            ..Default::default()
        },
        0,
    )
}

fn join_req(member: &str, instance: Option<&str>, protocols: &[&str]) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(sb("g")))
        .with_session_timeout_ms(SESSION)
        .with_rebalance_timeout_ms(REBALANCE)
        .with_member_id(sb(member))
        .with_group_instance_id(instance.map(sb))
        .with_protocol_type(sb("consumer"))
        .with_protocols(
            protocols
                .iter()
                .map(|p| {
                    JoinGroupRequestProtocol::default()
                        .with_name(sb(p))
                        .with_metadata(Bytes::from(format!("meta-{p}")))
                })
                .collect(),
        )
}

fn join_reply(fx: &Effects, token: Token) -> Option<JoinGroupResponse> {
    fx.replies.iter().find_map(|(t, r)| match r {
        Reply::Join(j) if *t == token => Some(j.clone()),
        _ => None,
    })
}

fn sync_reply(fx: &Effects, token: Token) -> Option<SyncGroupResponse> {
    fx.replies.iter().find_map(|(t, r)| match r {
        Reply::Sync(s) if *t == token => Some(s.clone()),
        _ => None,
    })
}

/// Dynamic member: MEMBER_ID_REQUIRED, then the real join. Returns the member id and the
/// effects of the second join.
fn join_new(c: &mut GroupCoordinator, token: Token, now: i64) -> (String, Effects) {
    let fx = c.join_group(
        &join_req("", None, &["range"]),
        9,
        "client",
        "/h",
        token,
        now,
    );
    let r = join_reply(&fx, token).unwrap();
    assert_eq!(r.error_code, 79);
    let id = r.member_id.to_string();
    let fx = c.join_group(
        &join_req(&id, None, &["range"]),
        9,
        "client",
        "/h",
        token,
        now,
    );
    (id, fx)
}

fn sync(
    c: &mut GroupCoordinator,
    member: &str,
    generation: i32,
    assignments: &[(&str, &str)],
    token: Token,
    now: i64,
) -> Effects {
    let req = SyncGroupRequest::default()
        .with_group_id(GroupId(sb("g")))
        .with_generation_id(generation)
        .with_member_id(sb(member))
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(sb(m))
                        .with_assignment(Bytes::from(a.to_string()))
                })
                .collect(),
        );
    c.sync_group(&req, token, now)
}

fn heartbeat(c: &mut GroupCoordinator, member: &str, generation: i32, now: i64) -> i16 {
    let req = HeartbeatRequest::default()
        .with_group_id(GroupId(sb("g")))
        .with_generation_id(generation)
        .with_member_id(sb(member));
    c.heartbeat(&req, now).map_or(0, |e| e.code())
}

fn state(c: &GroupCoordinator) -> GroupState {
    c.group("g").map_or(GroupState::Dead, |g| g.state)
}

/// Two members in a Stable group at generation 2, with assignments "a1"/"a2".
fn stable_pair(c: &mut GroupCoordinator) -> (String, String) {
    let (m1, fx) = join_new(c, 1, 0);
    assert_eq!(join_reply(&fx, 1).unwrap().generation_id, 1);
    let (m2, fx) = join_new(c, 2, 10);
    assert!(fx.replies.is_empty(), "parked until m1 rejoins");
    assert_eq!(state(c), GroupState::PreparingRebalance);
    assert_eq!(heartbeat(c, &m1, 1, 20), 27);
    let fx = c.join_group(&join_req(&m1, None, &["range"]), 9, "client", "/h", 3, 30);
    let leader = join_reply(&fx, 3).unwrap();
    let follower = join_reply(&fx, 2).unwrap();
    assert_eq!((leader.generation_id, follower.generation_id), (2, 2));
    assert_eq!(leader.leader.as_str(), m1);
    assert_eq!(leader.members.len(), 2);
    assert!(follower.members.is_empty());
    assert_eq!(
        leader.protocol_name.as_ref().map(|p| p.as_str()),
        Some("range")
    );
    let fx = sync(c, &m2, 2, &[], 4, 40);
    assert!(fx.replies.is_empty(), "follower waits for the leader");
    let fx = sync(c, &m1, 2, &[(&m1, "a1"), (&m2, "a2")], 5, 50);
    assert_eq!(sync_reply(&fx, 5).unwrap().assignment, Bytes::from("a1"));
    assert_eq!(sync_reply(&fx, 4).unwrap().assignment, Bytes::from("a2"));
    assert_eq!(
        fx.records.len(),
        1,
        "group metadata stored at the end of the rebalance"
    );
    assert_eq!(state(c), GroupState::Stable);
    (m1, m2)
}

#[test]
fn join_sync_and_heartbeat_errors() {
    let mut c = core(0);
    let (m1, m2) = stable_pair(&mut c);
    assert_eq!(heartbeat(&mut c, &m1, 2, 60), 0);
    assert_eq!(heartbeat(&mut c, &m1, 1, 60), 22, "ILLEGAL_GENERATION");
    assert_eq!(heartbeat(&mut c, "ghost", 2, 60), 25, "UNKNOWN_MEMBER_ID");
    let fx = sync(&mut c, &m2, 1, &[], 9, 60);
    assert_eq!(sync_reply(&fx, 9).unwrap().error_code, 22);
    // A stable follower rejoining with the same metadata gets the current generation back.
    let fx = c.join_group(&join_req(&m2, None, &["range"]), 9, "client", "/h", 10, 70);
    assert_eq!(join_reply(&fx, 10).unwrap().generation_id, 2);
    assert_eq!(state(&c), GroupState::Stable);
    // A newcomer without a protocol in common is refused.
    let fx = c.join_group(&join_req("", None, &["roundrobin"]), 9, "c", "/h", 11, 80);
    assert_eq!(
        join_reply(&fx, 11).unwrap().error_code,
        23,
        "INCONSISTENT_GROUP_PROTOCOL"
    );
    // Before v4 no MEMBER_ID_REQUIRED round trip.
    let fx = c.join_group(&join_req("", None, &["range"]), 3, "c", "/h", 12, 90);
    assert!(fx.replies.is_empty());
    assert_eq!(state(&c), GroupState::PreparingRebalance);
}

#[test]
fn leave_completes_the_rebalance_without_waiting() {
    let mut c = core(0);
    let (m1, m2) = stable_pair(&mut c);
    let (top, errors, _) = c.leave_group("g", &[(m2.clone(), None)], 100);
    assert_eq!(top, None);
    assert_eq!(errors, vec![None]);
    assert_eq!(heartbeat(&mut c, &m1, 2, 110), 27);
    let fx = c.join_group(&join_req(&m1, None, &["range"]), 9, "client", "/h", 20, 120);
    let r = join_reply(&fx, 20).expect("the only member rejoined: completes at once");
    assert_eq!((r.generation_id, r.members.len()), (3, 1));
    let (_, errors, _) = c.leave_group("g", &[(m2, None)], 130);
    assert_eq!(errors[0].map(|e| e.code()), Some(25));
}

#[test]
fn session_expiry_and_rebalance_timeout_remove_members() {
    let mut c = core(0);
    let (m1, m2) = stable_pair(&mut c);
    // m1 heartbeats, m2 goes silent: it expires at its deadline (last activity: its sync at 40).
    assert_eq!(heartbeat(&mut c, &m1, 2, 9_000), 0);
    assert_eq!(c.next_deadline(), 40 + i64::from(SESSION));
    let fx = c.tick(40 + i64::from(SESSION));
    assert!(fx.replies.is_empty());
    assert!(!c.group("g").unwrap().members.contains_key(&m2));
    assert_eq!(state(&c), GroupState::PreparingRebalance);
    // m1 never rejoins: at the rebalance timeout it is removed too and the group is Empty.
    let deadline = c.next_deadline();
    let fx = c.tick(deadline);
    assert_eq!(state(&c), GroupState::Empty);
    assert_eq!(fx.records.len(), 1, "the empty generation is stored");
    assert_eq!(c.group("g").unwrap().generation, 3);
}

#[test]
fn parked_join_survives_while_waiting_and_initial_delay_holds_the_first_join() {
    let mut c = core(3000);
    let (_, fx) = join_new(&mut c, 1, 0);
    assert!(
        fx.replies.is_empty(),
        "held by group.initial.rebalance.delay.ms"
    );
    assert_eq!(c.next_deadline(), 3000);
    let (_, fx) = join_new(&mut c, 2, 1000);
    assert!(fx.replies.is_empty());
    // A member joined during the delay: it extends once more.
    let fx = c.tick(3000);
    assert!(fx.replies.is_empty());
    let fx = c.tick(6000);
    assert_eq!(fx.replies.len(), 2);
    assert_eq!(state(&c), GroupState::CompletingRebalance);
}

#[test]
fn static_member_rejoining_with_a_new_id_keeps_its_assignment_without_rebalance() {
    let mut c = core(0);
    let fx = c.join_group(&join_req("", Some("i1"), &["range"]), 9, "c", "/h", 1, 0);
    let a = join_reply(&fx, 1).unwrap();
    let a_id = a.member_id.to_string();
    assert_eq!(a.generation_id, 1);
    let fx = c.join_group(&join_req("", Some("i2"), &["range"]), 9, "c", "/h", 2, 0);
    assert!(fx.replies.is_empty());
    let fx = c.join_group(&join_req(&a_id, Some("i1"), &["range"]), 9, "c", "/h", 3, 0);
    let b_id = join_reply(&fx, 2).unwrap().member_id.to_string();
    let fx = sync(&mut c, &a_id, 2, &[(&a_id, "pa"), (&b_id, "pb")], 4, 0);
    assert_eq!(sync_reply(&fx, 4).unwrap().error_code, 0);
    assert_eq!(state(&c), GroupState::Stable);

    // i2 restarts: new member id, same instance id, same protocols.
    let fx = c.join_group(&join_req("", Some("i2"), &["range"]), 9, "c", "/h", 5, 100);
    let r = join_reply(&fx, 5).unwrap();
    assert_eq!(r.error_code, 0);
    assert_eq!(r.generation_id, 2, "no new generation");
    let new_b = r.member_id.to_string();
    assert_ne!(new_b, b_id);
    assert_eq!(state(&c), GroupState::Stable, "the others do not rebalance");
    let fx = sync(&mut c, &new_b, 2, &[], 6, 100);
    assert_eq!(sync_reply(&fx, 6).unwrap().assignment, Bytes::from("pb"));
    // The old id is fenced.
    let req = HeartbeatRequest::default()
        .with_group_id(GroupId(sb("g")))
        .with_generation_id(2)
        .with_member_id(sb(&b_id))
        .with_group_instance_id(Some(sb("i2")));
    assert_eq!(c.heartbeat(&req, 100).map(|e| e.code()), Some(82));
    assert_eq!(heartbeat(&mut c, &a_id, 2, 100), 0);
}

#[test]
fn offsets_commit_checks_and_replay_rebuilds_the_same_state() {
    let mut c = core(0);
    let (m1, _m2) = stable_pair(&mut c);
    let p = |offset| CommitPartition {
        topic: "t".into(),
        partition: 0,
        offset,
        leader_epoch: 4,
        metadata: Some("m".into()),
    };
    let e = c
        .offset_commit("g", 1, &m1, None, &[p(5)], 200)
        .unwrap_err();
    assert_eq!(e.code(), 22);
    let e = c
        .offset_commit("g", 2, "ghost", None, &[p(5)], 200)
        .unwrap_err();
    assert_eq!(e.code(), 25);
    let e = c
        .offset_commit("g", -1, "", None, &[p(5)], 200)
        .unwrap_err();
    assert_eq!(e.code(), 25, "simple commits only for empty groups");
    let (errors, records) = c.offset_commit("g", 2, &m1, None, &[p(7)], 200).unwrap();
    assert_eq!(errors, vec![None]);
    assert!(
        c.offset_fetch("g", None).is_empty(),
        "applied only after the append"
    );
    let (_, simple) = c.offset_commit("solo", -1, "", None, &[p(3)], 210).unwrap();

    // Everything the coordinator would have written, replayed into a fresh core.
    let mut log = Vec::new();
    let (m_a, m_b) = {
        let g = c.group("g").unwrap();
        (g.metadata_record(), g.generation)
    };
    log.push(weir_coordinator::CoordinatorRecord::GroupMetadata {
        group: "g".into(),
        value: Some(m_a),
    });
    log.extend(records);
    log.extend(simple);
    for r in log.clone() {
        c.replay(r, 220);
    }
    let mut fresh = core(0);
    for r in log {
        let (k, v) = r.encode();
        let decoded = weir_coordinator::CoordinatorRecord::decode(&k, v.as_deref())
            .unwrap()
            .unwrap();
        fresh.replay(decoded, 300);
    }
    assert_eq!(fresh.offset_fetch("g", None), c.offset_fetch("g", None));
    assert_eq!(
        fresh.offset_fetch("g", None)[0].1[0]
            .1
            .as_ref()
            .unwrap()
            .offset,
        7
    );
    assert_eq!(
        fresh.offset_fetch("solo", None)[0].1[0]
            .1
            .as_ref()
            .unwrap()
            .offset,
        3
    );
    let g = fresh.group("g").unwrap();
    assert_eq!((g.state, g.generation), (GroupState::Stable, m_b));
    assert_eq!(g.members.len(), 2);
    assert_eq!(g.members[&m1].assignment, Bytes::from("a1"));
    assert_eq!(heartbeat(&mut fresh, &m1, 2, 300), 0);

    // Deleting: non-empty refused; the empty standalone group goes.
    let (errors, _) = fresh.delete_groups(&["g".into(), "solo".into(), "none".into()]);
    let codes: Vec<i16> = errors.iter().map(|e| e.map_or(0, |e| e.code())).collect();
    assert_eq!(codes, vec![68, 0, 69]);
}

#[test]
fn offsets_of_empty_groups_expire_after_retention() {
    let mut c = GroupCoordinator::new(
        CoordinatorConfig {
            initial_rebalance_delay_ms: 0,
            offsets_retention_ms: 1000,
            ..Default::default()
        },
        0,
    );
    let (_, records) = c
        .offset_commit(
            "solo",
            -1,
            "",
            None,
            &[CommitPartition {
                topic: "t".into(),
                partition: 0,
                offset: 1,
                leader_epoch: -1,
                metadata: None,
            }],
            0,
        )
        .unwrap();
    for r in records {
        c.replay(r, 0);
    }
    assert!(c.expire_offsets(500).is_empty());
    let tombstones = c.expire_offsets(1000);
    assert_eq!(tombstones.len(), 2, "the offset and the group");
    assert!(c.group("solo").is_none());
}
