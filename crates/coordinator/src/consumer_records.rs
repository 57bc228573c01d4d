//! The KIP-848 consumer-group records of `__consumer_offsets` (key versions 3 to 8), in
//! Kafka 3.9's schemas, so a restarted coordinator knows its consumer groups' members, epochs
//! and assignments and running members carry on without being fenced.
//!
//! | key | key fields | value (version 0, flexible encoding) |
//! |---|---|---|
//! | 3 | group | `ConsumerGroupMetadataValue { Epoch }` |
//! | 4 | group | `ConsumerGroupPartitionMetadataValue { Epoch, Topics [TopicId, TopicName, NumPartitions, PartitionRacks []] }` |
//! | 5 | group, member | `ConsumerGroupMemberMetadataValue { InstanceId?, RackId?, ClientId, ClientHost, SubscribedTopicNames [], SubscribedTopicRegex?, RebalanceTimeoutMs, ServerAssignor? }` |
//! | 6 | group | `ConsumerGroupTargetAssignmentMetadataValue { AssignmentEpoch }` |
//! | 7 | group, member | `ConsumerGroupTargetAssignmentMemberValue { TopicPartitions [TopicId, Partitions []] }` |
//! | 8 | group, member | `ConsumerGroupCurrentMemberAssignmentValue { MemberEpoch, PreviousMemberEpoch, State, AssignedPartitions [], PartitionsPendingRevocation [] }` |
//!
//! Keys are non-flexible (an `int16` version, then `int16`-length strings). Values start with
//! an `int16` version (0), then the flexible encoding: compact strings and arrays (unsigned
//! varint length + 1, 0 for null), 16-byte UUIDs, and an empty tagged-field section (a 0
//! varint) closing every struct. Weir writes no tagged fields and skips any it reads.

use bytes::{BufMut, Bytes, BytesMut};
use uuid::Uuid;

use crate::assignor::{Assignment, TopicInfo};
use crate::consumer_group::MemberState;
use crate::records::{put_string, Reader};
use crate::CoordinatorError;

/// A member's subscription and identity (`ConsumerGroupMemberMetadataValue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMetadata {
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: Vec<String>,
    pub rebalance_timeout_ms: i32,
    pub server_assignor: Option<String>,
}

/// A member's reconciliation state (`ConsumerGroupCurrentMemberAssignmentValue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentAssignment {
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    pub state: MemberState,
    pub assigned: Assignment,
    pub pending_revocation: Assignment,
}

/// One KIP-848 record; `None` values are tombstones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerRecord {
    /// Key 3: the group epoch.
    Metadata { group: String, epoch: Option<i32> },
    /// Key 4: the subscribed topics the group epoch was computed with.
    PartitionMetadata {
        group: String,
        value: Option<(i32, Vec<(String, TopicInfo)>)>,
    },
    /// Key 5.
    MemberMetadata {
        group: String,
        member: String,
        value: Option<MemberMetadata>,
    },
    /// Key 6: the target assignment's epoch.
    TargetAssignmentMetadata { group: String, epoch: Option<i32> },
    /// Key 7: a member's target assignment.
    TargetAssignmentMember {
        group: String,
        member: String,
        value: Option<Assignment>,
    },
    /// Key 8: a member's epochs and current assignment.
    CurrentMemberAssignment {
        group: String,
        member: String,
        value: Option<CurrentAssignment>,
    },
}

/// Kafka's `MemberState` values as stored in the State field.
fn state_code(s: MemberState) -> i8 {
    match s {
        MemberState::Stable => 0,
        MemberState::UnrevokedPartitions => 1,
        MemberState::UnreleasedPartitions => 2,
    }
}

/// An unknown state (Kafka's UNKNOWN, 127) reloads as Stable; the member's epoch checks and
/// next reconciliation put it right.
fn state_of(code: i8) -> MemberState {
    match code {
        1 => MemberState::UnrevokedPartitions,
        2 => MemberState::UnreleasedPartitions,
        _ => MemberState::Stable,
    }
}

impl ConsumerRecord {
    pub fn group(&self) -> &str {
        match self {
            ConsumerRecord::Metadata { group, .. }
            | ConsumerRecord::PartitionMetadata { group, .. }
            | ConsumerRecord::MemberMetadata { group, .. }
            | ConsumerRecord::TargetAssignmentMetadata { group, .. }
            | ConsumerRecord::TargetAssignmentMember { group, .. }
            | ConsumerRecord::CurrentMemberAssignment { group, .. } => group,
        }
    }

    /// Key and value bytes (value `None` for a tombstone).
    pub fn encode(&self) -> (Bytes, Option<Bytes>) {
        let mut key = BytesMut::new();
        let value: Option<Bytes> = match self {
            ConsumerRecord::Metadata { group, epoch } => {
                key.put_i16(3);
                put_string(&mut key, group);
                epoch.map(epoch_value)
            }
            ConsumerRecord::PartitionMetadata { group, value } => {
                key.put_i16(4);
                put_string(&mut key, group);
                value.as_ref().map(|(epoch, topics)| {
                    let mut b = value_header();
                    b.put_i32(*epoch);
                    put_len(&mut b, topics.len());
                    for (name, t) in topics {
                        b.put_slice(t.topic_id.as_bytes());
                        put_compact_string(&mut b, name);
                        b.put_i32(t.partitions);
                        put_len(&mut b, 0); // PartitionRacks: Weir has no racks.
                        end_struct(&mut b);
                    }
                    end_struct(&mut b);
                    b.freeze()
                })
            }
            ConsumerRecord::MemberMetadata {
                group,
                member,
                value,
            } => {
                key.put_i16(5);
                put_string(&mut key, group);
                put_string(&mut key, member);
                value.as_ref().map(|m| {
                    let mut b = value_header();
                    put_compact_nullable_string(&mut b, m.instance_id.as_deref());
                    put_compact_nullable_string(&mut b, m.rack_id.as_deref());
                    put_compact_string(&mut b, &m.client_id);
                    put_compact_string(&mut b, &m.client_host);
                    put_len(&mut b, m.subscribed_topic_names.len());
                    for t in &m.subscribed_topic_names {
                        put_compact_string(&mut b, t);
                    }
                    put_compact_nullable_string(&mut b, None); // SubscribedTopicRegex
                    b.put_i32(m.rebalance_timeout_ms);
                    put_compact_nullable_string(&mut b, m.server_assignor.as_deref());
                    end_struct(&mut b);
                    b.freeze()
                })
            }
            ConsumerRecord::TargetAssignmentMetadata { group, epoch } => {
                key.put_i16(6);
                put_string(&mut key, group);
                epoch.map(epoch_value)
            }
            ConsumerRecord::TargetAssignmentMember {
                group,
                member,
                value,
            } => {
                key.put_i16(7);
                put_string(&mut key, group);
                put_string(&mut key, member);
                value.as_ref().map(|a| {
                    let mut b = value_header();
                    put_assignment(&mut b, a);
                    end_struct(&mut b);
                    b.freeze()
                })
            }
            ConsumerRecord::CurrentMemberAssignment {
                group,
                member,
                value,
            } => {
                key.put_i16(8);
                put_string(&mut key, group);
                put_string(&mut key, member);
                value.as_ref().map(|c| {
                    let mut b = value_header();
                    b.put_i32(c.member_epoch);
                    b.put_i32(c.previous_member_epoch);
                    b.put_i8(state_code(c.state));
                    put_assignment(&mut b, &c.assigned);
                    put_assignment(&mut b, &c.pending_revocation);
                    end_struct(&mut b);
                    b.freeze()
                })
            }
        };
        (key.freeze(), value)
    }

    /// Decodes a record of key version 3 to 8; `key` is positioned after the version.
    pub(crate) fn decode(
        version: i16,
        key: &mut Reader<'_>,
        value: Option<&[u8]>,
    ) -> Result<Option<Self>, CoordinatorError> {
        let group = key.string()?;
        let record = match version {
            3 => ConsumerRecord::Metadata {
                group,
                epoch: value
                    .map(|v| value_reader(v, "ConsumerGroupMetadataValue")?.i32())
                    .transpose()?,
            },
            4 => ConsumerRecord::PartitionMetadata {
                group,
                value: value.map(decode_partition_metadata).transpose()?,
            },
            5 => ConsumerRecord::MemberMetadata {
                group,
                member: key.string()?,
                value: value.map(decode_member_metadata).transpose()?,
            },
            6 => ConsumerRecord::TargetAssignmentMetadata {
                group,
                epoch: value
                    .map(|v| value_reader(v, "ConsumerGroupTargetAssignmentMetadataValue")?.i32())
                    .transpose()?,
            },
            7 => ConsumerRecord::TargetAssignmentMember {
                group,
                member: key.string()?,
                value: value
                    .map(|v| {
                        let mut r = value_reader(v, "ConsumerGroupTargetAssignmentMemberValue")?;
                        read_assignment(&mut r)
                    })
                    .transpose()?,
            },
            8 => ConsumerRecord::CurrentMemberAssignment {
                group,
                member: key.string()?,
                value: value.map(decode_current_assignment).transpose()?,
            },
            _ => return Ok(None),
        };
        Ok(Some(record))
    }
}

/// The value of the two records that hold only an epoch (keys 3 and 6).
fn epoch_value(epoch: i32) -> Bytes {
    let mut b = value_header();
    b.put_i32(epoch);
    end_struct(&mut b);
    b.freeze()
}

fn value_header() -> BytesMut {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b
}

/// The empty tagged-field section that closes a flexible struct.
fn end_struct(b: &mut BytesMut) {
    put_uvarint(b, 0);
}

fn put_uvarint(b: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        b.put_u8(u8::try_from(v & 0x7f).unwrap_or(0) | 0x80);
        v >>= 7;
    }
    b.put_u8(u8::try_from(v).unwrap_or(0));
}

/// A compact array or string length: `n + 1`.
fn put_len(b: &mut BytesMut, n: usize) {
    put_uvarint(b, u64::try_from(n).unwrap_or(u64::MAX - 1) + 1);
}

fn put_compact_string(b: &mut BytesMut, s: &str) {
    put_len(b, s.len());
    b.put_slice(s.as_bytes());
}

fn put_compact_nullable_string(b: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_compact_string(b, s),
        None => put_uvarint(b, 0),
    }
}

fn put_assignment(b: &mut BytesMut, a: &Assignment) {
    put_len(b, a.len());
    for (topic, partitions) in a {
        b.put_slice(topic.as_bytes());
        put_len(b, partitions.len());
        for p in partitions {
            b.put_i32(*p);
        }
        end_struct(b);
    }
}

/// A reader past a value's version, which must be 0.
fn value_reader<'a>(v: &'a [u8], what: &'static str) -> Result<Reader<'a>, CoordinatorError> {
    let mut r = Reader::new(v, what);
    let version = r.i16()?;
    if version != 0 {
        return Err(r.error(format!("unknown version {version}")));
    }
    Ok(r)
}

fn uvarint(r: &mut Reader<'_>) -> Result<u64, CoordinatorError> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = r.take(1)?.first().copied().unwrap_or(0);
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(r.error("varint too long".into()))
}

/// A compact length: `None` for null.
fn compact_len(r: &mut Reader<'_>) -> Result<Option<usize>, CoordinatorError> {
    let n = uvarint(r)?;
    if n == 0 {
        return Ok(None);
    }
    usize::try_from(n - 1)
        .map(Some)
        .map_err(|e| r.error(e.to_string()))
}

fn compact_nullable_string(r: &mut Reader<'_>) -> Result<Option<String>, CoordinatorError> {
    let Some(len) = compact_len(r)? else {
        return Ok(None);
    };
    let raw = r.take(len)?;
    String::from_utf8(raw.to_vec())
        .map(Some)
        .map_err(|e| r.error(e.to_string()))
}

fn compact_string(r: &mut Reader<'_>) -> Result<String, CoordinatorError> {
    compact_nullable_string(r).map(Option::unwrap_or_default)
}

fn uuid(r: &mut Reader<'_>) -> Result<Uuid, CoordinatorError> {
    let raw = r.take(16)?;
    Uuid::from_slice(raw).map_err(|e| r.error(e.to_string()))
}

/// Skips a struct's tagged fields.
fn skip_tags(r: &mut Reader<'_>) -> Result<(), CoordinatorError> {
    let count = uvarint(r)?;
    for _ in 0..count {
        let _tag = uvarint(r)?;
        let size = uvarint(r)?;
        let size = usize::try_from(size).map_err(|e| r.error(e.to_string()))?;
        r.take(size)?;
    }
    Ok(())
}

fn read_assignment(r: &mut Reader<'_>) -> Result<Assignment, CoordinatorError> {
    let mut a = Assignment::new();
    let topics = compact_len(r)?.unwrap_or(0);
    for _ in 0..topics {
        let topic = uuid(r)?;
        let count = compact_len(r)?.unwrap_or(0);
        let mut partitions = std::collections::BTreeSet::new();
        for _ in 0..count {
            partitions.insert(r.i32()?);
        }
        skip_tags(r)?;
        if !partitions.is_empty() {
            a.insert(topic, partitions);
        }
    }
    Ok(a)
}

fn decode_partition_metadata(
    v: &[u8],
) -> Result<(i32, Vec<(String, TopicInfo)>), CoordinatorError> {
    let mut r = value_reader(v, "ConsumerGroupPartitionMetadataValue")?;
    let epoch = r.i32()?;
    let count = compact_len(&mut r)?.unwrap_or(0);
    let mut topics = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let topic_id = uuid(&mut r)?;
        let name = compact_string(&mut r)?;
        let partitions = r.i32()?;
        let racks = compact_len(&mut r)?.unwrap_or(0);
        for _ in 0..racks {
            let _partition = r.i32()?;
            let names = compact_len(&mut r)?.unwrap_or(0);
            for _ in 0..names {
                compact_string(&mut r)?;
            }
            skip_tags(&mut r)?;
        }
        skip_tags(&mut r)?;
        topics.push((
            name,
            TopicInfo {
                topic_id,
                partitions,
            },
        ));
    }
    Ok((epoch, topics))
}

fn decode_member_metadata(v: &[u8]) -> Result<MemberMetadata, CoordinatorError> {
    let mut r = value_reader(v, "ConsumerGroupMemberMetadataValue")?;
    let instance_id = compact_nullable_string(&mut r)?;
    let rack_id = compact_nullable_string(&mut r)?;
    let client_id = compact_string(&mut r)?;
    let client_host = compact_string(&mut r)?;
    let count = compact_len(&mut r)?.unwrap_or(0);
    let mut subscribed_topic_names = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        subscribed_topic_names.push(compact_string(&mut r)?);
    }
    let _regex = compact_nullable_string(&mut r)?;
    let rebalance_timeout_ms = r.i32()?;
    let server_assignor = compact_nullable_string(&mut r)?;
    Ok(MemberMetadata {
        instance_id,
        rack_id,
        client_id,
        client_host,
        subscribed_topic_names,
        rebalance_timeout_ms,
        server_assignor,
    })
}

fn decode_current_assignment(v: &[u8]) -> Result<CurrentAssignment, CoordinatorError> {
    let mut r = value_reader(v, "ConsumerGroupCurrentMemberAssignmentValue")?;
    let member_epoch = r.i32()?;
    let previous_member_epoch = r.i32()?;
    let state = state_of(i8::from_be_bytes([r
        .take(1)?
        .first()
        .copied()
        .unwrap_or(0)]));
    let assigned = read_assignment(&mut r)?;
    let pending_revocation = read_assignment(&mut r)?;
    Ok(CurrentAssignment {
        member_epoch,
        previous_member_epoch,
        state,
        assigned,
        pending_revocation,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::records::CoordinatorRecord;

    fn round_trip(r: ConsumerRecord) {
        let (k, v) = r.encode();
        let decoded = CoordinatorRecord::decode(&k, v.as_deref()).unwrap();
        assert_eq!(decoded, Some(CoordinatorRecord::Consumer(r)));
    }

    #[test]
    fn consumer_group_records_round_trip() {
        let t = Uuid::from_u128(0x1234);
        let a: Assignment = [(t, [0, 2, 5].into())].into();
        round_trip(ConsumerRecord::Metadata {
            group: "g".into(),
            epoch: Some(7),
        });
        round_trip(ConsumerRecord::PartitionMetadata {
            group: "g".into(),
            value: Some((
                7,
                vec![(
                    "orders".into(),
                    TopicInfo {
                        topic_id: t,
                        partitions: 6,
                    },
                )],
            )),
        });
        round_trip(ConsumerRecord::MemberMetadata {
            group: "g".into(),
            member: "m".into(),
            value: Some(MemberMetadata {
                instance_id: Some("i".into()),
                rack_id: None,
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                subscribed_topic_names: vec!["orders".into()],
                rebalance_timeout_ms: 300_000,
                server_assignor: Some("range".into()),
            }),
        });
        round_trip(ConsumerRecord::TargetAssignmentMetadata {
            group: "g".into(),
            epoch: Some(7),
        });
        round_trip(ConsumerRecord::TargetAssignmentMember {
            group: "g".into(),
            member: "m".into(),
            value: Some(a.clone()),
        });
        round_trip(ConsumerRecord::CurrentMemberAssignment {
            group: "g".into(),
            member: "m".into(),
            value: Some(CurrentAssignment {
                member_epoch: 7,
                previous_member_epoch: 6,
                state: MemberState::UnrevokedPartitions,
                assigned: a,
                pending_revocation: [(t, [1].into())].into(),
            }),
        });
        round_trip(ConsumerRecord::CurrentMemberAssignment {
            group: "g".into(),
            member: "m".into(),
            value: None,
        });
    }

    #[test]
    fn the_group_epoch_value_is_kafkas_bytes() {
        let (k, v) = ConsumerRecord::Metadata {
            group: "g".into(),
            epoch: Some(1),
        }
        .encode();
        assert_eq!(&k[..], &[0, 3, 0, 1, b'g']);
        // version 0, epoch 1, no tagged fields.
        assert_eq!(v.as_deref(), Some(&[0, 0, 0, 0, 0, 1, 0][..]));
    }
}
