//! [`TransactionCoordinator`]: the I/O-free state machine of transactions.
//!
//! Fed requests and the time, each call returns a result for the client and [`TxnEffects`]:
//! an ordered list of [`TxnAction`]s for the shell to carry out (append a
//! `__transaction_state` record, write COMMIT/ABORT markers to the transaction's partitions,
//! store the offsets a transaction committed). The state in memory changes at once; a record
//! is the durable form of that change, and replaying the topic rebuilds it.
//!
//! Transitions, as Kafka's `TransactionCoordinator`:
//! - InitProducerId: a new id starts `Empty` at epoch 0; a known one gets its epoch bumped
//!   (fencing the older instance). An `Ongoing` transaction of the older instance is aborted
//!   first (with the bumped epoch, so its late writes are refused by the partitions).
//! - AddPartitionsToTxn / AddOffsetsToTxn: `Empty`/`Complete*`/`Ongoing` -> `Ongoing`.
//! - EndTxn: `Ongoing` -> `PrepareCommit`/`PrepareAbort` -> markers -> `CompleteCommit`/
//!   `CompleteAbort`. A retried EndTxn after completion succeeds; the other outcome is
//!   `INVALID_TXN_STATE`.
//! - `transaction.timeout.ms`: an `Ongoing` transaction older than its timeout is aborted
//!   with a bumped epoch (the producer is fenced).
//! - `transactional.id.expiration.ms`: an id with no transaction in progress (`Empty`,
//!   `Complete*`) and no change for that long is forgotten: a tombstone goes to
//!   `__transaction_state` (so compaction drops its history) and a later InitProducerId with
//!   that id starts afresh with a new producer id, as Kafka's `removeExpiredTransactionalIds`.
//!
//! Markers are written by this (single) broker directly, so `Prepare*` is only seen between
//! the shell's steps, or after a crash: [`TransactionCoordinator::complete_pending`] finishes
//! those on load.

use std::collections::{BTreeSet, HashMap};

use kafka_protocol::error::ResponseError;

use crate::records::{partition_for, CoordinatorRecord, CONSUMER_OFFSETS_TOPIC};
use crate::txn_records::{TxnMetadata, TxnRecord, TxnState};

/// The coordinator's settings (Kafka's names).
#[derive(Debug, Clone)]
pub struct TxnConfig {
    /// `transaction.max.timeout.ms`.
    pub max_timeout_ms: i32,
    /// `offsets.topic.num.partitions`: where AddOffsetsToTxn's group lives.
    pub offsets_partitions: i32,
    /// `transactional.id.expiration.ms`.
    pub id_expiration_ms: i64,
}

/// Markers to write: one control batch per partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMarker {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
    pub partitions: Vec<(String, i32)>,
}

/// One step for the shell, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum TxnAction {
    Append(TxnRecord),
    Markers(TxnMarker),
    /// Offset records of a committed transaction, for `__consumer_offsets`.
    CommitOffsets(Vec<CoordinatorRecord>),
}

#[derive(Debug, Default)]
pub struct TxnEffects {
    pub actions: Vec<TxnAction>,
}

/// A transaction as DescribeTransactions / ListTransactions report it.
#[derive(Debug, Clone)]
pub struct TxnDescription {
    pub transactional_id: String,
    pub metadata: TxnMetadata,
}

#[derive(Debug)]
struct Txn {
    meta: TxnMetadata,
    /// TxnOffsetCommit's offsets, stored when the transaction commits.
    pending_offsets: Vec<CoordinatorRecord>,
}

#[derive(Debug)]
pub struct TransactionCoordinator {
    config: TxnConfig,
    txns: HashMap<String, Txn>,
    /// producer id -> transactional id.
    by_producer: HashMap<i64, String>,
}

impl TransactionCoordinator {
    pub fn new(config: TxnConfig) -> Self {
        Self {
            config,
            txns: HashMap::new(),
            by_producer: HashMap::new(),
        }
    }

    /// Stores `meta` for `tid` and records the change.
    fn set(&mut self, tid: &str, meta: TxnMetadata, fx: &mut TxnEffects) {
        self.by_producer.insert(meta.producer_id, tid.to_string());
        fx.actions.push(TxnAction::Append(TxnRecord {
            transactional_id: tid.to_string(),
            value: Some(meta.clone()),
        }));
        match self.txns.get_mut(tid) {
            Some(t) => t.meta = meta,
            None => {
                self.txns.insert(
                    tid.to_string(),
                    Txn {
                        meta,
                        pending_offsets: Vec::new(),
                    },
                );
            }
        }
    }

    /// Ends the transaction of `tid` (which is `Ongoing`): prepare record, offsets (on
    /// commit), markers, complete record. `epoch` is the epoch the markers carry.
    fn end(&mut self, tid: &str, commit: bool, epoch: i16, now: i64, fx: &mut TxnEffects) {
        let Some(txn) = self.txns.get_mut(tid) else {
            return;
        };
        let offsets = std::mem::take(&mut txn.pending_offsets);
        let mut meta = txn.meta.clone();
        meta.producer_epoch = epoch;
        meta.state = if commit {
            TxnState::PrepareCommit
        } else {
            TxnState::PrepareAbort
        };
        meta.last_update_ms = now;
        self.set(tid, meta.clone(), fx);
        self.finish(tid, meta, offsets, commit, now, fx);
    }

    fn finish(
        &mut self,
        tid: &str,
        mut meta: TxnMetadata,
        offsets: Vec<CoordinatorRecord>,
        commit: bool,
        now: i64,
        fx: &mut TxnEffects,
    ) {
        if commit && !offsets.is_empty() {
            fx.actions.push(TxnAction::CommitOffsets(offsets));
        }
        let partitions: Vec<(String, i32)> =
            std::mem::take(&mut meta.partitions).into_iter().collect();
        if !partitions.is_empty() {
            fx.actions.push(TxnAction::Markers(TxnMarker {
                producer_id: meta.producer_id,
                producer_epoch: meta.producer_epoch,
                commit,
                partitions,
            }));
        }
        meta.state = if commit {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        meta.start_ms = -1;
        meta.last_update_ms = now;
        self.set(tid, meta, fx);
    }

    /// InitProducerId with a transactional id. `expected` is the v3+ request's producer id
    /// and epoch (`(-1, -1)` when none); `new_producer_id` hands out a fresh id.
    pub fn init_producer_id(
        &mut self,
        tid: &str,
        timeout_ms: i32,
        expected: (i64, i16),
        now: i64,
        new_producer_id: &mut dyn FnMut() -> Option<i64>,
    ) -> (Result<(i64, i16), ResponseError>, TxnEffects) {
        let mut fx = TxnEffects::default();
        if timeout_ms <= 0 || timeout_ms > self.config.max_timeout_ms {
            return (Err(ResponseError::InvalidTransactionTimeout), fx);
        }
        let current = self
            .txns
            .get(tid)
            .map(|t| t.meta.clone())
            .filter(|m| m.state != TxnState::Dead);
        let Some(meta) = current else {
            let Some(pid) = new_producer_id() else {
                return (Err(ResponseError::CoordinatorNotAvailable), fx);
            };
            let meta = TxnMetadata {
                producer_id: pid,
                producer_epoch: 0,
                timeout_ms,
                state: TxnState::Empty,
                partitions: BTreeSet::new(),
                last_update_ms: now,
                start_ms: -1,
            };
            self.set(tid, meta, &mut fx);
            return (Ok((pid, 0)), fx);
        };
        let (epid, eepoch) = expected;
        if epid >= 0 && (epid != meta.producer_id || eepoch != meta.producer_epoch) {
            return (Err(ResponseError::ProducerFenced), fx);
        }
        let mut epoch = meta.producer_epoch;
        match meta.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence => {
                return (Err(ResponseError::ConcurrentTransactions), fx);
            }
            TxnState::Ongoing => {
                // Fence the older instance: its transaction is aborted under a new epoch.
                epoch = epoch.saturating_add(1);
                self.end(tid, false, epoch, now, &mut fx);
            }
            _ => {}
        }
        let mut meta = self.txns.get(tid).map_or(meta, |t| t.meta.clone());
        if epoch >= i16::MAX - 1 {
            let Some(pid) = new_producer_id() else {
                return (Err(ResponseError::CoordinatorNotAvailable), fx);
            };
            meta.producer_id = pid;
            meta.producer_epoch = 0;
        } else {
            meta.producer_epoch = epoch + 1;
        }
        meta.timeout_ms = timeout_ms;
        meta.state = TxnState::Empty;
        meta.partitions.clear();
        meta.start_ms = -1;
        meta.last_update_ms = now;
        let result = (meta.producer_id, meta.producer_epoch);
        self.set(tid, meta, &mut fx);
        (Ok(result), fx)
    }

    /// The transaction of `tid` if `producer_id`/`epoch` are its current ones.
    fn check(&self, tid: &str, producer_id: i64, epoch: i16) -> Result<&Txn, ResponseError> {
        let txn = self
            .txns
            .get(tid)
            .filter(|t| t.meta.state != TxnState::Dead)
            .ok_or(ResponseError::InvalidProducerIdMapping)?;
        if txn.meta.producer_id != producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if txn.meta.producer_epoch != epoch {
            return Err(ResponseError::ProducerFenced);
        }
        Ok(txn)
    }

    /// AddPartitionsToTxn (and AddOffsetsToTxn, with the group's offsets partition).
    pub fn add_partitions(
        &mut self,
        tid: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
        now: i64,
    ) -> (Result<(), ResponseError>, TxnEffects) {
        let mut fx = TxnEffects::default();
        let meta = match self.check(tid, producer_id, epoch) {
            Ok(t) => t.meta.clone(),
            Err(e) => return (Err(e), fx),
        };
        match meta.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence => {
                return (Err(ResponseError::ConcurrentTransactions), fx)
            }
            TxnState::Dead => return (Err(ResponseError::InvalidTxnState), fx),
            _ => {}
        }
        let ongoing = meta.state == TxnState::Ongoing;
        if ongoing && partitions.iter().all(|p| meta.partitions.contains(p)) {
            return (Ok(()), fx);
        }
        let mut meta = meta;
        meta.partitions.extend(partitions.iter().cloned());
        meta.state = TxnState::Ongoing;
        if !ongoing {
            meta.start_ms = now;
        }
        meta.last_update_ms = now;
        self.set(tid, meta, &mut fx);
        (Ok(()), fx)
    }

    /// AddOffsetsToTxn: adds the group's `__consumer_offsets` partition.
    pub fn add_offsets(
        &mut self,
        tid: &str,
        producer_id: i64,
        epoch: i16,
        group_id: &str,
        now: i64,
    ) -> (Result<(), ResponseError>, TxnEffects) {
        let p = partition_for(group_id, self.config.offsets_partitions);
        self.add_partitions(
            tid,
            producer_id,
            epoch,
            &[(CONSUMER_OFFSETS_TOPIC.to_string(), p)],
            now,
        )
    }

    /// TxnOffsetCommit: keeps the (already validated) offset records until the transaction
    /// ends; they are stored on commit and dropped on abort.
    pub fn txn_offset_commit(
        &mut self,
        tid: &str,
        producer_id: i64,
        epoch: i16,
        records: Vec<CoordinatorRecord>,
    ) -> Result<(), ResponseError> {
        let state = self.check(tid, producer_id, epoch)?.meta.state;
        if state != TxnState::Ongoing {
            return Err(ResponseError::InvalidTxnState);
        }
        if let Some(txn) = self.txns.get_mut(tid) {
            txn.pending_offsets.extend(records);
        }
        Ok(())
    }

    /// Whether an ongoing transaction holds an offset of `group` for the partition (KIP-447:
    /// OffsetFetch with `require_stable` answers `UNSTABLE_OFFSET_COMMIT` then).
    pub fn has_pending_offset(&self, group: &str, topic: &str, partition: i32) -> bool {
        self.txns.values().any(|t| {
            t.meta.state == TxnState::Ongoing
                && t.pending_offsets.iter().any(|r| {
                    matches!(r, CoordinatorRecord::Offset { group: g, topic: tp, partition: p, .. }
                        if g == group && tp == topic && *p == partition)
                })
        })
    }

    /// EndTxn.
    pub fn end_txn(
        &mut self,
        tid: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        now: i64,
    ) -> (Result<(), ResponseError>, TxnEffects) {
        let mut fx = TxnEffects::default();
        let state = match self.check(tid, producer_id, epoch) {
            Ok(t) => t.meta.state,
            Err(e) => return (Err(e), fx),
        };
        let result = match state {
            TxnState::Ongoing => {
                self.end(tid, commit, epoch, now, &mut fx);
                Ok(())
            }
            TxnState::CompleteCommit if commit => Ok(()),
            TxnState::CompleteAbort if !commit => Ok(()),
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence => {
                Err(ResponseError::ConcurrentTransactions)
            }
            _ => Err(ResponseError::InvalidTxnState),
        };
        (result, fx)
    }

    /// Whether `producer_id` at `epoch` may write transactional batches to a partition: its
    /// transaction is ongoing and includes it.
    pub fn check_produce(
        &self,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), ResponseError> {
        let txn = self
            .by_producer
            .get(&producer_id)
            .and_then(|tid| self.txns.get(tid))
            .filter(|t| t.meta.producer_id == producer_id)
            .ok_or(ResponseError::InvalidProducerIdMapping)?;
        if epoch < txn.meta.producer_epoch {
            return Err(ResponseError::InvalidProducerEpoch);
        }
        if txn.meta.state != TxnState::Ongoing
            || !txn
                .meta
                .partitions
                .contains(&(topic.to_string(), partition))
        {
            return Err(ResponseError::InvalidTxnState);
        }
        Ok(())
    }

    /// Applies a record read back from `__transaction_state`.
    pub fn replay(&mut self, record: TxnRecord) {
        match record.value {
            Some(meta) => {
                self.by_producer
                    .insert(meta.producer_id, record.transactional_id.clone());
                let txn = self
                    .txns
                    .entry(record.transactional_id)
                    .or_insert_with(|| Txn {
                        meta: meta.clone(),
                        pending_offsets: Vec::new(),
                    });
                txn.meta = meta;
            }
            None => {
                if let Some(t) = self.txns.remove(&record.transactional_id) {
                    self.by_producer.remove(&t.meta.producer_id);
                }
            }
        }
    }

    /// After a replay: finishes transactions a crash left in `Prepare*` (markers again, then
    /// complete), as Kafka's coordinator does when it loads its partitions.
    pub fn complete_pending(&mut self, now: i64) -> TxnEffects {
        let mut fx = TxnEffects::default();
        let mut pending: Vec<(String, TxnMetadata)> = self
            .txns
            .iter()
            .filter(|(_, t)| {
                matches!(
                    t.meta.state,
                    TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence
                )
            })
            .map(|(k, t)| (k.clone(), t.meta.clone()))
            .collect();
        pending.sort_by(|a, b| a.0.cmp(&b.0));
        for (tid, meta) in pending {
            let commit = meta.state == TxnState::PrepareCommit;
            self.finish(&tid, meta, Vec::new(), commit, now, &mut fx);
        }
        fx
    }

    /// The earliest time at which [`TransactionCoordinator::tick`] has something to do.
    pub fn next_deadline(&self) -> i64 {
        self.txns
            .values()
            .filter_map(|t| self.deadline_of(&t.meta))
            .min()
            .unwrap_or(i64::MAX)
    }

    /// When `meta` times out (`Ongoing`) or expires (idle), if ever.
    fn deadline_of(&self, meta: &TxnMetadata) -> Option<i64> {
        match meta.state {
            TxnState::Ongoing => Some(meta.start_ms.saturating_add(i64::from(meta.timeout_ms))),
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => Some(
                meta.last_update_ms
                    .saturating_add(self.config.id_expiration_ms),
            ),
            _ => None,
        }
    }

    /// Aborts ongoing transactions past `transaction.timeout.ms`, bumping the epoch so the
    /// producer is fenced.
    pub fn tick(&mut self, now: i64) -> TxnEffects {
        let mut fx = TxnEffects::default();
        let mut expired: Vec<(String, i16)> = self
            .txns
            .iter()
            .filter(|(_, t)| {
                t.meta.state == TxnState::Ongoing
                    && t.meta.start_ms.saturating_add(i64::from(t.meta.timeout_ms)) <= now
            })
            .map(|(k, t)| (k.clone(), t.meta.producer_epoch))
            .collect();
        expired.sort();
        for (tid, epoch) in expired {
            tracing::info!(transactional_id = %tid, "aborting transaction past transaction.timeout.ms");
            self.end(&tid, false, epoch.saturating_add(1), now, &mut fx);
        }
        let mut idle: Vec<String> = self
            .txns
            .iter()
            .filter(|(_, t)| t.meta.state != TxnState::Ongoing)
            .filter(|(_, t)| self.deadline_of(&t.meta).is_some_and(|d| d <= now))
            .map(|(k, _)| k.clone())
            .collect();
        idle.sort();
        for tid in idle {
            tracing::info!(transactional_id = %tid, "forgetting transactional id past transactional.id.expiration.ms");
            if let Some(t) = self.txns.remove(&tid) {
                self.by_producer.remove(&t.meta.producer_id);
            }
            fx.actions.push(TxnAction::Append(TxnRecord {
                transactional_id: tid,
                value: None,
            }));
        }
        fx
    }

    pub fn describe(&self, tid: &str) -> Option<TxnDescription> {
        self.txns.get(tid).map(|t| TxnDescription {
            transactional_id: tid.to_string(),
            metadata: t.meta.clone(),
        })
    }

    pub fn list(&self) -> Vec<TxnDescription> {
        let mut out: Vec<TxnDescription> = self
            .txns
            .iter()
            .map(|(k, t)| TxnDescription {
                transactional_id: k.clone(),
                metadata: t.meta.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn core() -> TransactionCoordinator {
        TransactionCoordinator::new(TxnConfig {
            max_timeout_ms: 900_000,
            offsets_partitions: 50,
            id_expiration_ms: 604_800_000,
        })
    }

    fn init(c: &mut TransactionCoordinator, tid: &str, now: i64) -> (i64, i16) {
        let mut next = 100;
        c.init_producer_id(tid, 1000, (-1, -1), now, &mut || {
            next += 1;
            Some(next)
        })
        .0
        .unwrap()
    }

    fn tp(t: &str, p: i32) -> (String, i32) {
        (t.to_string(), p)
    }

    #[test]
    fn commit_writes_prepare_markers_complete() {
        let mut c = core();
        let (pid, epoch) = init(&mut c, "tx", 0);
        assert_eq!((pid, epoch), (101, 0));
        let (r, fx) = c.add_partitions("tx", pid, epoch, &[tp("a", 0), tp("a", 1)], 5);
        r.unwrap();
        assert_eq!(fx.actions.len(), 1);
        assert!(c.check_produce(pid, epoch, "a", 1).is_ok());
        assert_eq!(
            c.check_produce(pid, epoch, "a", 2),
            Err(ResponseError::InvalidTxnState)
        );
        let (r, fx) = c.end_txn("tx", pid, epoch, true, 10);
        r.unwrap();
        let kinds: Vec<_> = fx
            .actions
            .iter()
            .map(|a| match a {
                TxnAction::Append(r) => r.value.as_ref().unwrap().state.name(),
                TxnAction::Markers(m) => {
                    assert!(m.commit);
                    assert_eq!(m.partitions, vec![tp("a", 0), tp("a", 1)]);
                    "markers"
                }
                TxnAction::CommitOffsets(_) => "offsets",
            })
            .collect();
        assert_eq!(kinds, ["PrepareCommit", "markers", "CompleteCommit"]);
        // A retried EndTxn succeeds; the other outcome is refused.
        assert!(c.end_txn("tx", pid, epoch, true, 11).0.is_ok());
        assert_eq!(
            c.end_txn("tx", pid, epoch, false, 11).0,
            Err(ResponseError::InvalidTxnState)
        );
        assert_eq!(
            c.check_produce(pid, epoch, "a", 0),
            Err(ResponseError::InvalidTxnState)
        );
    }

    #[test]
    fn second_instance_fences_and_aborts_the_first() {
        let mut c = core();
        let (pid, e0) = init(&mut c, "tx", 0);
        c.add_partitions("tx", pid, e0, &[tp("a", 0)], 1).0.unwrap();
        let (r, fx) = c.init_producer_id("tx", 1000, (-1, -1), 2, &mut || None);
        let (pid2, e2) = r.unwrap();
        assert_eq!(pid2, pid);
        assert_eq!(e2, e0 + 2);
        assert!(fx.actions.iter().any(|a| matches!(a,
            TxnAction::Markers(m) if !m.commit && m.producer_epoch == e0 + 1)));
        assert_eq!(
            c.add_partitions("tx", pid, e0, &[tp("a", 0)], 3).0,
            Err(ResponseError::ProducerFenced)
        );
        assert_eq!(
            c.end_txn("tx", pid, e0, true, 3).0,
            Err(ResponseError::ProducerFenced)
        );
        assert_eq!(
            c.check_produce(pid, e0, "a", 0),
            Err(ResponseError::InvalidProducerEpoch)
        );
    }

    #[test]
    fn timeout_aborts_with_a_bumped_epoch() {
        let mut c = core();
        let (pid, e) = init(&mut c, "tx", 0);
        c.add_partitions("tx", pid, e, &[tp("a", 0)], 100)
            .0
            .unwrap();
        assert_eq!(c.next_deadline(), 1100);
        assert!(c.tick(1099).actions.is_empty());
        let fx = c.tick(1100);
        assert!(fx.actions.iter().any(|a| matches!(a,
            TxnAction::Markers(m) if !m.commit && m.producer_epoch == e + 1)));
        // Next: the aborted (now idle) id's expiration.
        assert_eq!(c.next_deadline(), 1100 + 604_800_000);
        assert_eq!(
            c.end_txn("tx", pid, e, true, 1200).0,
            Err(ResponseError::ProducerFenced)
        );
    }

    #[test]
    fn idle_ids_expire_with_a_tombstone_and_ongoing_ones_do_not() {
        let mut c = core();
        c.config.id_expiration_ms = 1000;
        let (idle_pid, e) = init(&mut c, "idle", 0);
        let (busy_pid, be) = init(&mut c, "busy", 0);
        c.add_partitions("idle", idle_pid, e, &[tp("a", 0)], 10)
            .0
            .unwrap();
        c.end_txn("idle", idle_pid, e, true, 20).0.unwrap();
        // "busy" stays Ongoing with a long transaction timeout.
        c.add_partitions("busy", busy_pid, be, &[tp("a", 1)], 30)
            .0
            .unwrap();
        assert_eq!(c.next_deadline(), 1020);
        assert!(c.tick(1019).actions.is_empty());
        let fx = c.tick(1020);
        assert_eq!(
            fx.actions,
            vec![TxnAction::Append(TxnRecord {
                transactional_id: "idle".to_string(),
                value: None
            })]
        );
        assert!(c.describe("idle").is_none());
        assert!(c.describe("busy").is_some());
        // The old producer id no longer belongs to a transaction: its writes are refused.
        assert!(c.check_produce(idle_pid, e, "a", 0).is_err());
        // The id starts again from a fresh producer id at epoch 0.
        let mut next = 500;
        let (r, _) = c.init_producer_id("idle", 1000, (-1, -1), 2000, &mut || {
            next += 1;
            Some(next)
        });
        assert_eq!(r.unwrap(), (501, 0));
        // Replaying the tombstone forgets the id too.
        let mut replayed = core();
        replayed.replay(TxnRecord {
            transactional_id: "busy".to_string(),
            value: c.describe("busy").map(|d| d.metadata),
        });
        replayed.replay(TxnRecord {
            transactional_id: "busy".to_string(),
            value: None,
        });
        assert!(replayed.describe("busy").is_none());
    }

    #[test]
    fn replay_rebuilds_state_and_completes_prepared() {
        let mut c = core();
        let (pid, e) = init(&mut c, "tx", 0);
        let (_, fx1) = c.add_partitions("tx", pid, e, &[tp("a", 0)], 1);
        let (_, fx2) = c.end_txn("tx", pid, e, false, 2);
        // Crash after the PrepareAbort record: replay all records up to it.
        let mut records: Vec<TxnRecord> = Vec::new();
        for a in fx1.actions.into_iter().chain(fx2.actions) {
            if let TxnAction::Append(r) = a {
                records.push(r);
            }
        }
        let prepare = records
            .iter()
            .position(|r| r.value.as_ref().unwrap().state == TxnState::PrepareAbort)
            .unwrap();
        let mut c2 = core();
        for r in records.into_iter().take(prepare + 1) {
            c2.replay(r);
        }
        let fx = c2.complete_pending(3);
        assert!(fx.actions.iter().any(|a| matches!(a,
            TxnAction::Markers(m) if !m.commit && m.partitions == vec![tp("a", 0)])));
        assert_eq!(
            c2.describe("tx").unwrap().metadata.state,
            TxnState::CompleteAbort
        );
    }

    #[test]
    fn offsets_are_committed_only_with_the_transaction() {
        let mut c = core();
        let (pid, e) = init(&mut c, "tx", 0);
        c.add_offsets("tx", pid, e, "g", 1).0.unwrap();
        let rec = CoordinatorRecord::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 0,
            value: None,
        };
        c.txn_offset_commit("tx", pid, e, vec![rec.clone()])
            .unwrap();
        assert!(c.has_pending_offset("g", "t", 0));
        assert!(!c.has_pending_offset("g", "t", 1));
        let (_, fx) = c.end_txn("tx", pid, e, true, 2);
        assert!(fx
            .actions
            .iter()
            .any(|a| *a == TxnAction::CommitOffsets(vec![rec.clone()])));
        assert!(!c.has_pending_offset("g", "t", 0));
        assert_eq!(
            c.txn_offset_commit("tx", pid, e, vec![rec]),
            Err(ResponseError::InvalidTxnState)
        );
        assert_eq!(
            c.init_producer_id("tx", 0, (-1, -1), 3, &mut || None).0,
            Err(ResponseError::InvalidTransactionTimeout)
        );
    }
}
