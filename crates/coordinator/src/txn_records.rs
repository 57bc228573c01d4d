//! The records of `__transaction_state`, in Kafka's own key/value schemas
//! (`TransactionLogKey` / `TransactionLogValue`), so the topic reads like Kafka's.
//!
//! - Key: `version: int16` (0), `transactionalId: string`.
//! - Value v0: `producerId: int64, producerEpoch: int16, transactionTimeoutMs: int32,
//!   transactionStatus: int8, transactionPartitions: nullable [topic: string,
//!   partitionIds: [int32]], transactionLastUpdateTimestampMs: int64,
//!   transactionStartTimestampMs: int64`. Non-flexible encoding (as `records.rs`).
//!   Value v1 (flexible, KIP-890 fields) is not read; Weir writes v0.
//! - A null value is a tombstone: the transactional id expired.
//!
//! The topic is compacted: the latest record per transactional id is its state, and replaying
//! the topic from its start rebuilds the transaction coordinator.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{BufMut, Bytes, BytesMut};

use crate::records::{put_string, Reader};
use crate::CoordinatorError;

/// Kafka's name of the transaction coordinator's internal topic.
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

/// A transaction's state, with Kafka's `TransactionState` byte ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    Dead,
    PrepareEpochFence,
}

impl TxnState {
    pub fn id(self) -> i8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
            TxnState::Dead => 6,
            TxnState::PrepareEpochFence => 7,
        }
    }

    pub fn from_id(id: i8) -> Option<TxnState> {
        Some(match id {
            0 => TxnState::Empty,
            1 => TxnState::Ongoing,
            2 => TxnState::PrepareCommit,
            3 => TxnState::PrepareAbort,
            4 => TxnState::CompleteCommit,
            5 => TxnState::CompleteAbort,
            6 => TxnState::Dead,
            7 => TxnState::PrepareEpochFence,
            _ => return None,
        })
    }

    /// Kafka's names, as DescribeTransactions and ListTransactions report them.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }
}

/// One transactional id's state, as `TransactionLogValue` stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// The partitions of the ongoing (or completing) transaction.
    pub partitions: BTreeSet<(String, i32)>,
    pub last_update_ms: i64,
    /// `-1` when no transaction is open.
    pub start_ms: i64,
}

/// A decoded `__transaction_state` record; `value: None` is a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnRecord {
    pub transactional_id: String,
    pub value: Option<TxnMetadata>,
}

impl TxnRecord {
    pub fn encode(&self) -> (Bytes, Option<Bytes>) {
        let mut key = BytesMut::new();
        key.put_i16(0);
        put_string(&mut key, &self.transactional_id);
        let value = self.value.as_ref().map(|v| {
            let mut b = BytesMut::new();
            b.put_i16(0);
            b.put_i64(v.producer_id);
            b.put_i16(v.producer_epoch);
            b.put_i32(v.timeout_ms);
            b.put_i8(v.state.id());
            let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for (t, p) in &v.partitions {
                by_topic.entry(t).or_default().push(*p);
            }
            b.put_i32(i32::try_from(by_topic.len()).unwrap_or(i32::MAX));
            for (t, ps) in by_topic {
                put_string(&mut b, t);
                b.put_i32(i32::try_from(ps.len()).unwrap_or(i32::MAX));
                for p in ps {
                    b.put_i32(p);
                }
            }
            b.put_i64(v.last_update_ms);
            b.put_i64(v.start_ms);
            b.freeze()
        });
        (key.freeze(), value)
    }

    /// Decodes a record; `Ok(None)` for key versions other than 0.
    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Option<Self>, CoordinatorError> {
        let mut k = Reader::new(key, "TransactionLogKey");
        if k.i16()? != 0 {
            return Ok(None);
        }
        let transactional_id = k.string()?;
        let value = match value {
            None => None,
            Some(v) => {
                let mut r = Reader::new(v, "TransactionLogValue");
                let version = r.i16()?;
                if version != 0 {
                    return Err(r.error(format!("unsupported version {version}")));
                }
                let producer_id = r.i64()?;
                let producer_epoch = r.i16()?;
                let timeout_ms = r.i32()?;
                let status = r.take(1)?.first().copied().unwrap_or(0);
                let state = TxnState::from_id(i8::from_be_bytes([status]))
                    .ok_or_else(|| r.error(format!("unknown state {status}")))?;
                let mut partitions = BTreeSet::new();
                let topics = r.i32()?;
                for _ in 0..topics.max(0) {
                    let topic = r.string()?;
                    let count = r.i32()?;
                    for _ in 0..count.max(0) {
                        partitions.insert((topic.clone(), r.i32()?));
                    }
                }
                let last_update_ms = r.i64()?;
                let start_ms = r.i64()?;
                Some(TxnMetadata {
                    producer_id,
                    producer_epoch,
                    timeout_ms,
                    state,
                    partitions,
                    last_update_ms,
                    start_ms,
                })
            }
        };
        Ok(Some(TxnRecord {
            transactional_id,
            value,
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn records_round_trip() {
        let rec = TxnRecord {
            transactional_id: "tx".into(),
            value: Some(TxnMetadata {
                producer_id: 7,
                producer_epoch: 3,
                timeout_ms: 60_000,
                state: TxnState::PrepareCommit,
                partitions: [
                    ("a".to_string(), 0),
                    ("a".to_string(), 2),
                    ("b".to_string(), 1),
                ]
                .into_iter()
                .collect(),
                last_update_ms: 10,
                start_ms: 5,
            }),
        };
        let (k, v) = rec.encode();
        assert_eq!(TxnRecord::decode(&k, v.as_deref()).unwrap(), Some(rec));
        let tomb = TxnRecord {
            transactional_id: "tx".into(),
            value: None,
        };
        let (k, v) = tomb.encode();
        assert_eq!(TxnRecord::decode(&k, v.as_deref()).unwrap(), Some(tomb));
        assert!(TxnRecord::decode(&k, Some(&[0, 0, 1])).is_err());
    }
}
