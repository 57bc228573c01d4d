//! The records of `__consumer_offsets`, in Kafka's own key/value schemas so that a log written
//! by Weir reads like Kafka's (and tools that decode it, such as `kafka-dump-log
//! --offsets-decoder`, understand it).
//!
//! Keys start with an `int16` version that says which schema follows:
//!
//! | key version | key schema | value schema |
//! |---|---|---|
//! | 0, 1 | `OffsetCommitKey { group: string, topic: string, partition: int32 }` | `OffsetCommitValue` v0–v3 |
//! | 2 | `GroupMetadataKey { group: string }` | `GroupMetadataValue` v0–v3 |
//! | 3–8 | KIP-848 consumer-group records (`consumer_records.rs`) | flexible, version 0 |
//! | 9+ | regex subscriptions, share and streams groups | skipped on replay |
//!
//! Weir writes key version 1 with `OffsetCommitValue` v3 (`offset: int64, leaderEpoch: int32,
//! metadata: string, commitTimestamp: int64`) and key version 2 with `GroupMetadataValue` v3
//! (`protocolType: string, generation: int32, protocol: nullable string, leader: nullable
//! string, currentStateTimestamp: int64, members: [memberId: string, groupInstanceId: nullable
//! string, clientId: string, clientHost: string, rebalanceTimeout: int32, sessionTimeout: int32,
//! subscription: bytes, assignment: bytes]`). All are non-flexible encodings: strings are an
//! `int16` length then UTF-8 (length -1 for null), bytes an `int32` length, arrays an `int32`
//! count. A null value is a tombstone: the offset was deleted, or the group is gone.
//!
//! The topic is compacted (`cleanup.policy=compact`), so the latest record per key is what
//! survives, and replaying the log from its start rebuilds the coordinator's state.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::consumer_records::ConsumerRecord;
use crate::CoordinatorError;

/// Kafka's name of the group coordinator's internal topic.
pub const CONSUMER_OFFSETS_TOPIC: &str = "__consumer_offsets";

/// The `__consumer_offsets` partition of a group: `Utils.abs(groupId.hashCode()) % n`, with
/// Java's `String.hashCode` over UTF-16 code units, exactly as Kafka places groups.
pub fn partition_for(group_id: &str, num_partitions: i32) -> i32 {
    let mut h: i32 = 0;
    for unit in group_id.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(i32::from(unit));
    }
    // Kafka's Utils.abs maps Integer.MIN_VALUE to 0.
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % num_partitions.max(1)
}

/// A committed offset, as `OffsetCommitValue` stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    pub offset: i64,
    /// `-1` when the client did not send one.
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
}

/// One member as `GroupMetadataValue` stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    /// The member's metadata for the selected protocol.
    pub subscription: Bytes,
    pub assignment: Bytes,
}

/// A group's membership after a rebalance, as `GroupMetadataValue` stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadataRecord {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub current_state_timestamp: i64,
    pub members: Vec<MemberRecord>,
}

/// A decoded `__consumer_offsets` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoordinatorRecord {
    /// `None`: tombstone (offset deleted or expired).
    Offset {
        group: String,
        topic: String,
        partition: i32,
        value: Option<OffsetAndMetadata>,
    },
    /// `None`: tombstone (group deleted or expired).
    GroupMetadata {
        group: String,
        value: Option<GroupMetadataRecord>,
    },
    /// A KIP-848 consumer-group record (key versions 3 to 8).
    Consumer(ConsumerRecord),
}

impl CoordinatorRecord {
    pub fn group(&self) -> &str {
        match self {
            CoordinatorRecord::Offset { group, .. }
            | CoordinatorRecord::GroupMetadata { group, .. } => group,
            CoordinatorRecord::Consumer(r) => r.group(),
        }
    }

    /// The record's key and value bytes (value `None` for a tombstone).
    pub fn encode(&self) -> (Bytes, Option<Bytes>) {
        let mut key = BytesMut::new();
        match self {
            CoordinatorRecord::Consumer(r) => r.encode(),
            CoordinatorRecord::Offset {
                group,
                topic,
                partition,
                value,
            } => {
                key.put_i16(1);
                put_string(&mut key, group);
                put_string(&mut key, topic);
                key.put_i32(*partition);
                let value = value.as_ref().map(|v| {
                    let mut b = BytesMut::new();
                    b.put_i16(3);
                    b.put_i64(v.offset);
                    b.put_i32(v.leader_epoch);
                    put_string(&mut b, &v.metadata);
                    b.put_i64(v.commit_timestamp);
                    b.freeze()
                });
                (key.freeze(), value)
            }
            CoordinatorRecord::GroupMetadata { group, value } => {
                key.put_i16(2);
                put_string(&mut key, group);
                let value = value.as_ref().map(|v| {
                    let mut b = BytesMut::new();
                    b.put_i16(3);
                    put_string(&mut b, &v.protocol_type);
                    b.put_i32(v.generation);
                    put_nullable_string(&mut b, v.protocol.as_deref());
                    put_nullable_string(&mut b, v.leader.as_deref());
                    b.put_i64(v.current_state_timestamp);
                    b.put_i32(i32::try_from(v.members.len()).unwrap_or(i32::MAX));
                    for m in &v.members {
                        put_string(&mut b, &m.member_id);
                        put_nullable_string(&mut b, m.group_instance_id.as_deref());
                        put_string(&mut b, &m.client_id);
                        put_string(&mut b, &m.client_host);
                        b.put_i32(m.rebalance_timeout_ms);
                        b.put_i32(m.session_timeout_ms);
                        put_bytes(&mut b, &m.subscription);
                        put_bytes(&mut b, &m.assignment);
                    }
                    b.freeze()
                });
                (key.freeze(), value)
            }
        }
    }

    /// Decodes a record; `Ok(None)` for key versions Weir does not use (9 and above: regex
    /// subscriptions, share and streams groups).
    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Option<Self>, CoordinatorError> {
        let mut k = Reader::new(key, "key");
        let version = k.i16()?;
        match version {
            0 | 1 => {
                let group = k.string()?;
                let topic = k.string()?;
                let partition = k.i32()?;
                let value = value.map(decode_offset_value).transpose()?;
                Ok(Some(CoordinatorRecord::Offset {
                    group,
                    topic,
                    partition,
                    value,
                }))
            }
            2 => {
                let group = k.string()?;
                let value = value.map(decode_group_value).transpose()?;
                Ok(Some(CoordinatorRecord::GroupMetadata { group, value }))
            }
            3..=8 => Ok(
                ConsumerRecord::decode(version, &mut k, value)?.map(CoordinatorRecord::Consumer)
            ),
            _ => Ok(None),
        }
    }
}

fn decode_offset_value(bytes: &[u8]) -> Result<OffsetAndMetadata, CoordinatorError> {
    let mut r = Reader::new(bytes, "OffsetCommitValue");
    let version = r.i16()?;
    if !(0..=4).contains(&version) {
        return Err(r.error(format!("unknown version {version}")));
    }
    let offset = r.i64()?;
    let leader_epoch = if version >= 3 { r.i32()? } else { -1 };
    let metadata = r.string()?;
    let commit_timestamp = r.i64()?;
    Ok(OffsetAndMetadata {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
    })
}

fn decode_group_value(bytes: &[u8]) -> Result<GroupMetadataRecord, CoordinatorError> {
    let mut r = Reader::new(bytes, "GroupMetadataValue");
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return Err(r.error(format!("unknown version {version}")));
    }
    let protocol_type = r.string()?;
    let generation = r.i32()?;
    let protocol = r.nullable_string()?;
    let leader = r.nullable_string()?;
    let current_state_timestamp = if version >= 2 { r.i64()? } else { -1 };
    let count = r.i32()?;
    let mut members = Vec::new();
    for _ in 0..count.max(0) {
        let member_id = r.string()?;
        let group_instance_id = if version >= 3 {
            r.nullable_string()?
        } else {
            None
        };
        let client_id = r.string()?;
        let client_host = r.string()?;
        let rebalance_timeout_ms = if version >= 1 { r.i32()? } else { -1 };
        let session_timeout_ms = r.i32()?;
        let subscription = r.bytes()?;
        let assignment = r.bytes()?;
        let rebalance_timeout_ms = if rebalance_timeout_ms < 0 {
            session_timeout_ms
        } else {
            rebalance_timeout_ms
        };
        members.push(MemberRecord {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms,
            session_timeout_ms,
            subscription,
            assignment,
        });
    }
    Ok(GroupMetadataRecord {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp,
        members,
    })
}

pub(crate) fn put_string(b: &mut BytesMut, s: &str) {
    b.put_i16(i16::try_from(s.len()).unwrap_or(i16::MAX));
    b.put_slice(
        s.as_bytes()
            .get(..usize::from(i16::MAX.unsigned_abs()))
            .unwrap_or(s.as_bytes()),
    );
}

pub(crate) fn put_nullable_string(b: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_string(b, s),
        None => b.put_i16(-1),
    }
}

fn put_bytes(b: &mut BytesMut, bytes: &[u8]) {
    b.put_i32(i32::try_from(bytes.len()).unwrap_or(i32::MAX));
    b.put_slice(bytes);
}

/// A bounds-checked reader: malformed input is an error, never a panic.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, what }
    }

    pub(crate) fn error(&self, reason: String) -> CoordinatorError {
        CoordinatorError::MalformedRecord {
            what: self.what,
            reason,
        }
    }

    pub(crate) fn need(&self, n: usize) -> Result<(), CoordinatorError> {
        if self.buf.remaining() < n {
            return Err(self.error(format!(
                "truncated: need {n} bytes, have {}",
                self.buf.len()
            )));
        }
        Ok(())
    }

    pub(crate) fn i16(&mut self) -> Result<i16, CoordinatorError> {
        self.need(2)?;
        Ok(self.buf.get_i16())
    }

    pub(crate) fn i32(&mut self) -> Result<i32, CoordinatorError> {
        self.need(4)?;
        Ok(self.buf.get_i32())
    }

    pub(crate) fn i64(&mut self) -> Result<i64, CoordinatorError> {
        self.need(8)?;
        Ok(self.buf.get_i64())
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], CoordinatorError> {
        self.need(len)?;
        let (head, tail) = self.buf.split_at(len);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn nullable_string(&mut self) -> Result<Option<String>, CoordinatorError> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let raw = self.take(usize::from(len.unsigned_abs()))?;
        String::from_utf8(raw.to_vec())
            .map(Some)
            .map_err(|e| self.error(e.to_string()))
    }

    pub(crate) fn string(&mut self) -> Result<String, CoordinatorError> {
        self.nullable_string().map(Option::unwrap_or_default)
    }

    pub(crate) fn bytes(&mut self) -> Result<Bytes, CoordinatorError> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(Bytes::new());
        }
        let len = usize::try_from(len).map_err(|e| self.error(e.to_string()))?;
        Ok(Bytes::copy_from_slice(self.take(len)?))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn partition_matches_java_string_hash_code() {
        // "my-group".hashCode() == -1906497762 (Java); abs % 50 == 12.
        assert_eq!(partition_for("my-group", 50), 12);
        assert_eq!(partition_for("", 50), 0);
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE; Utils.abs maps it to 0.
        assert_eq!(partition_for("polygenelubricants", 50), 0);
        // Non-ASCII: Java hashes UTF-16 code units.
        assert_eq!(partition_for("é", 50), 0xe9 % 50);
    }

    #[test]
    fn offset_and_group_records_round_trip() {
        let offset = CoordinatorRecord::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 3,
            value: Some(OffsetAndMetadata {
                offset: 42,
                leader_epoch: 7,
                metadata: "meta".into(),
                commit_timestamp: 1000,
            }),
        };
        let (k, v) = offset.encode();
        assert_eq!(&k[..2], &[0, 1]);
        assert_eq!(
            CoordinatorRecord::decode(&k, v.as_deref()).unwrap(),
            Some(offset)
        );
        let group = CoordinatorRecord::GroupMetadata {
            group: "g".into(),
            value: Some(GroupMetadataRecord {
                protocol_type: "consumer".into(),
                generation: 5,
                protocol: Some("range".into()),
                leader: Some("m1".into()),
                current_state_timestamp: 99,
                members: vec![MemberRecord {
                    member_id: "m1".into(),
                    group_instance_id: Some("i1".into()),
                    client_id: "c".into(),
                    client_host: "/127.0.0.1".into(),
                    rebalance_timeout_ms: 300_000,
                    session_timeout_ms: 45_000,
                    subscription: Bytes::from_static(b"sub"),
                    assignment: Bytes::from_static(b"asg"),
                }],
            }),
        };
        let (k, v) = group.encode();
        assert_eq!(
            CoordinatorRecord::decode(&k, v.as_deref()).unwrap(),
            Some(group)
        );
        let tomb = CoordinatorRecord::GroupMetadata {
            group: "g".into(),
            value: None,
        };
        let (k, v) = tomb.encode();
        assert!(v.is_none());
        assert_eq!(CoordinatorRecord::decode(&k, None).unwrap(), Some(tomb));
    }

    #[test]
    fn malformed_records_are_errors() {
        assert!(CoordinatorRecord::decode(&[0], None).is_err());
        assert!(CoordinatorRecord::decode(&[0, 1, 0, 5, b'a'], None).is_err());
        assert_eq!(CoordinatorRecord::decode(&[0, 9], None).unwrap(), None);
        assert!(
            CoordinatorRecord::decode(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 0], Some(&[0, 3, 1])).is_err()
        );
    }
}
