//! The transactional producer: Kafka's `TransactionManager`, and the `Producer` methods that
//! drive it.
//!
//! ```text
//! Uninitialized --init_transactions--> Ready --begin_transaction--> InTransaction
//!   InTransaction --commit_transaction--> Committing --EndTxn(commit)--> Ready
//!   InTransaction | Abortable --abort_transaction--> Aborting --EndTxn(abort)--> Ready
//!   a batch or request fails: Abortable (abort and go on) or Fatal (close the producer)
//! ```
//!
//! `init_transactions` finds the transaction coordinator (FindCoordinator, key type 1) and gets
//! the producer id and a bumped epoch with InitProducerId, which fences older instances with the
//! same `transactional.id`. The sender holds back each partition's first batch of a transaction
//! until an AddPartitionsToTxn (one request for every partition waiting) has added it.
//! `send_offsets_to_transaction` is AddOffsetsToTxn to the transaction coordinator, then
//! TxnOffsetCommit to the group coordinator. Commit waits until every record is acknowledged,
//! then sends EndTxn; abort fails the records not sent yet, waits for those in flight and sends
//! EndTxn. When a batch whose sequence number the broker may have seen failed, the next
//! sequence would leave a gap: after the abort the producer bumps its epoch with InitProducerId
//! carrying its current id and epoch (KIP-360) and starts every partition at sequence 0.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use weir_protocol::kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use weir_protocol::kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use weir_protocol::kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, ApiKey, EndTxnRequest, GroupId,
    InitProducerIdRequest, ProducerId, TopicName, TransactionalId, TxnOffsetCommitRequest,
};
use weir_protocol::kafka_protocol::protocol::{Request, StrBytes};
use weir_protocol::ResponseError;

use crate::cluster::Cluster;
use crate::consumer::group_metadata::ConsumerGroupMetadata;
use crate::producer::sender::Shared;
use crate::producer::Producer;
use crate::{ClientError, TopicPartition};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// Where the transactional producer is (see the module docs).
#[derive(Debug, Clone)]
pub(crate) enum TxnState {
    Uninitialized,
    Ready,
    InTransaction,
    Committing,
    Aborting,
    Abortable(ClientError),
    Fatal(ClientError),
}

impl TxnState {
    fn name(&self) -> &'static str {
        match self {
            TxnState::Uninitialized => "UNINITIALIZED",
            TxnState::Ready => "READY",
            TxnState::InTransaction => "IN_TRANSACTION",
            TxnState::Committing => "COMMITTING_TRANSACTION",
            TxnState::Aborting => "ABORTING_TRANSACTION",
            TxnState::Abortable(_) => "ABORTABLE_ERROR",
            TxnState::Fatal(_) => "FATAL_ERROR",
        }
    }
}

type Tp = (Arc<str>, i32);

struct Status {
    state: TxnState,
    producer_id: i64,
    epoch: i16,
    coordinator: Option<i32>,
    /// Partitions added to the ongoing transaction.
    added: HashSet<Tp>,
    /// Partitions with a batch waiting for AddPartitionsToTxn.
    pending: BTreeSet<Tp>,
    /// An AddPartitionsToTxn is in flight.
    adding: bool,
    /// Something was added (partitions or offsets): the coordinator knows the transaction, so
    /// ending it takes an EndTxn.
    started: bool,
    /// A batch that took a sequence number failed: bump the epoch after the abort.
    epoch_bump_required: bool,
}

/// The transactional state shared by the producer handles and the sender.
pub(crate) struct TransactionManager {
    pub transactional_id: String,
    timeout: Duration,
    max_block: Duration,
    retry_backoff: Duration,
    status: Mutex<Status>,
    /// Serialises init/commit/abort/send_offsets, which wait on the network.
    op: tokio::sync::Mutex<()>,
}

/// Errors that fence or break the producer for good (Kafka's fatal errors).
fn is_fatal(e: &ClientError) -> bool {
    matches!(
        e.kafka_error(),
        Some(
            ResponseError::ProducerFenced
                | ResponseError::InvalidProducerEpoch
                | ResponseError::TransactionalIdAuthorizationFailed
                | ResponseError::ClusterAuthorizationFailed
                | ResponseError::InvalidTxnState
                | ResponseError::UnsupportedVersion
                | ResponseError::UnsupportedForMessageFormat
        )
    )
}

/// Errors after which the same request is retried (after finding the coordinator again for the
/// coordinator errors).
fn is_retriable_txn_error(e: ResponseError) -> bool {
    matches!(
        e,
        ResponseError::NotCoordinator
            | ResponseError::CoordinatorNotAvailable
            | ResponseError::CoordinatorLoadInProgress
            | ResponseError::ConcurrentTransactions
            | ResponseError::UnknownTopicOrPartition
    ) || e.is_retriable()
}

impl TransactionManager {
    pub fn new(
        transactional_id: String,
        timeout: Duration,
        max_block: Duration,
        retry_backoff: Duration,
    ) -> TransactionManager {
        TransactionManager {
            transactional_id,
            timeout,
            max_block,
            retry_backoff,
            status: Mutex::new(Status {
                state: TxnState::Uninitialized,
                producer_id: -1,
                epoch: -1,
                coordinator: None,
                added: HashSet::new(),
                pending: BTreeSet::new(),
                adding: false,
                started: false,
                epoch_bump_required: false,
            }),
            op: tokio::sync::Mutex::new(()),
        }
    }

    fn status(&self) -> MutexGuard<'_, Status> {
        match self.status.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The producer id and epoch batches are sealed with, once initialised.
    pub fn producer(&self) -> Option<(i64, i16)> {
        let st = self.status();
        (st.producer_id >= 0).then_some((st.producer_id, st.epoch))
    }

    /// The error batches not sent yet fail with, once the transaction can only be aborted or the
    /// producer only closed (Java's `abortUndrainedBatches`).
    pub fn undrained_error(&self) -> Option<ClientError> {
        match &self.status().state {
            TxnState::Abortable(e) => Some(ClientError::TransactionAbortable {
                cause: Box::new(e.clone()),
            }),
            TxnState::Fatal(e) => Some(ClientError::ProducerFatal {
                cause: Box::new(e.clone()),
            }),
            _ => None,
        }
    }

    /// Whether the sender may drain batches now (inside a transaction that is not failing).
    pub fn sending_allowed(&self) -> bool {
        matches!(
            self.status().state,
            TxnState::InTransaction | TxnState::Committing
        )
    }

    /// Whether `topic`-`partition` is in the transaction; if not, it is queued for the next
    /// AddPartitionsToTxn and its batches wait.
    pub fn partition_ready(&self, topic: &Arc<str>, partition: i32) -> bool {
        let mut st = self.status();
        let tp = (topic.clone(), partition);
        if st.added.contains(&tp) {
            return true;
        }
        st.pending.insert(tp);
        false
    }

    /// The partitions to add now, unless an AddPartitionsToTxn is already in flight.
    pub fn take_pending(&self) -> Option<Vec<Tp>> {
        let mut st = self.status();
        let open = matches!(st.state, TxnState::InTransaction | TxnState::Committing);
        if st.adding || st.pending.is_empty() || !open {
            return None;
        }
        st.adding = true;
        Some(std::mem::take(&mut st.pending).into_iter().collect())
    }

    /// Checks that `send` may add a record now.
    pub fn check_send(&self) -> Result<(), ClientError> {
        match &self.status().state {
            TxnState::InTransaction => Ok(()),
            TxnState::Abortable(e) => Err(ClientError::TransactionAbortable {
                cause: Box::new(e.clone()),
            }),
            TxnState::Fatal(e) => Err(ClientError::ProducerFatal {
                cause: Box::new(e.clone()),
            }),
            other => Err(ClientError::InvalidTransactionState {
                operation: "send",
                state: other.name(),
            }),
        }
    }

    /// A batch failed for good (`sequenced`: it was sent, so the broker may have its sequence).
    pub fn batch_failed(&self, error: &ClientError, sequenced: bool) {
        if matches!(error, ClientError::TransactionAborted) {
            return;
        }
        let mut st = self.status();
        if sequenced {
            st.epoch_bump_required = true;
        }
        Self::fail_locked(&mut st, error.clone());
    }

    /// Moves to the error state `error` calls for, returning the error to give the caller.
    fn fail(&self, error: ClientError) -> ClientError {
        let mut st = self.status();
        Self::fail_locked(&mut st, error)
    }

    fn fail_locked(st: &mut Status, error: ClientError) -> ClientError {
        match (&st.state, error) {
            (TxnState::Fatal(e), _) => ClientError::ProducerFatal {
                cause: Box::new(e.clone()),
            },
            (_, e @ ClientError::ProducerFatal { .. }) => e,
            (_, e) if is_fatal(&e) => {
                st.state = TxnState::Fatal(e.clone());
                ClientError::ProducerFatal { cause: Box::new(e) }
            }
            (TxnState::Abortable(first), _) => ClientError::TransactionAbortable {
                cause: Box::new(first.clone()),
            },
            (_, e @ ClientError::TransactionAbortable { .. }) => e,
            (_, e) => {
                st.state = TxnState::Abortable(e.clone());
                ClientError::TransactionAbortable { cause: Box::new(e) }
            }
        }
    }

    /// The error for calling `operation` in a state that does not allow it.
    fn wrong_state(&self, operation: &'static str) -> ClientError {
        match &self.status().state {
            TxnState::Fatal(e) => ClientError::ProducerFatal {
                cause: Box::new(e.clone()),
            },
            other => ClientError::InvalidTransactionState {
                operation,
                state: other.name(),
            },
        }
    }

    /// Sends `request` to the transaction coordinator (at most at `max_version`), finding it
    /// first, and retries coordinator and concurrency errors until `deadline`. `error_of`
    /// picks the error out of the response.
    async fn call<R: Request>(
        &self,
        cluster: &Cluster,
        request: &R,
        max_version: Option<i16>,
        deadline: Instant,
        error_of: impl Fn(&R::Response) -> Option<ResponseError>,
    ) -> Result<R::Response, ClientError> {
        let what = weir_protocol::request::api_name(
            ApiKey::try_from(R::KEY).unwrap_or(ApiKey::ApiVersions),
        );
        let context = format!("{what} for transactional.id {}", self.transactional_id);
        loop {
            let result = async {
                let cached = self.status().coordinator;
                let node = match cached {
                    Some(n) => n,
                    None => {
                        let n = cluster.find_coordinator(1, &self.transactional_id).await?;
                        self.status().coordinator = Some(n);
                        n
                    }
                };
                let conn = cluster.connection(node).await?;
                let version = match (
                    conn.version(ApiKey::try_from(R::KEY).unwrap_or(ApiKey::ApiVersions)),
                    max_version,
                ) {
                    (Some(v), Some(max)) => v.min(max),
                    (Some(v), None) => v,
                    (None, _) => {
                        return Err(ClientError::UnsupportedApi {
                            api: what,
                            addr: conn.addr().to_string(),
                        })
                    }
                };
                let response = conn.enqueue_versioned(request, version)?.wait().await?;
                match error_of(&response) {
                    None => Ok(response),
                    Some(error) => Err(ClientError::Kafka {
                        context: context.clone(),
                        error,
                    }),
                }
            }
            .await;
            let error = match result {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            let retriable = match error.kafka_error() {
                Some(k) => is_retriable_txn_error(k),
                None => error.is_retriable(),
            };
            if !retriable || Instant::now() >= deadline {
                return Err(error);
            }
            if matches!(
                error.kafka_error(),
                Some(ResponseError::NotCoordinator | ResponseError::CoordinatorNotAvailable) | None
            ) {
                self.status().coordinator = None;
            }
            // CONCURRENT_TRANSACTIONS clears within milliseconds (the previous EndTxn is
            // finishing): Java retries it after 20 ms rather than retry.backoff.ms.
            let backoff = if error.kafka_error() == Some(ResponseError::ConcurrentTransactions) {
                Duration::from_millis(20)
            } else {
                self.retry_backoff
            };
            tracing::debug!(error = %error, "retrying transactional request");
            tokio::time::sleep(backoff.min(deadline.saturating_duration_since(Instant::now())))
                .await;
        }
    }

    /// InitProducerId with the transactional id; `current` (the producer id and epoch in use)
    /// asks the coordinator to bump that epoch rather than fence (KIP-360).
    async fn init_producer_id(
        &self,
        cluster: &Cluster,
        current: Option<(i64, i16)>,
    ) -> Result<(i64, i16), ClientError> {
        let (pid, epoch) = current.unwrap_or((-1, -1));
        let request = InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId(s(&self.transactional_id))))
            .with_transaction_timeout_ms(
                i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX),
            )
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch);
        let deadline = Instant::now() + self.max_block;
        let r = self
            .call(cluster, &request, None, deadline, |r| {
                ResponseError::try_from_code(r.error_code)
            })
            .await?;
        Ok((r.producer_id.0, r.producer_epoch))
    }

    /// Adds `partitions` to the transaction (run by a task the sender starts).
    pub async fn add_partitions(&self, cluster: &Cluster, partitions: Vec<Tp>) {
        let (pid, epoch) = self.producer().unwrap_or((-1, -1));
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in &partitions {
            by_topic.entry(t).or_default().push(*p);
        }
        // v4+ is the brokers' batched form (KIP-890); clients send v3 at most, as Java does.
        let request = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(TransactionalId(s(&self.transactional_id)))
            .with_v3_and_below_producer_id(ProducerId(pid))
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(
                by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        AddPartitionsToTxnTopic::default()
                            .with_name(TopicName(s(t)))
                            .with_partitions(ps)
                    })
                    .collect(),
            );
        let deadline = Instant::now() + self.max_block;
        let result = self
            .call(cluster, &request, Some(3), deadline, |r| {
                ResponseError::try_from_code(r.error_code).or_else(|| {
                    // OPERATION_NOT_ATTEMPTED only says another partition failed.
                    let codes = r
                        .results_by_topic_v3_and_below
                        .iter()
                        .flat_map(|t| t.results_by_partition.iter())
                        .filter_map(|p| ResponseError::try_from_code(p.partition_error_code));
                    let mut first = None;
                    for e in codes {
                        if e != ResponseError::OperationNotAttempted || first.is_none() {
                            first = Some(e);
                        }
                    }
                    first
                })
            })
            .await;
        let mut st = self.status();
        st.adding = false;
        match result {
            Ok(_) => {
                st.started = true;
                for tp in partitions {
                    st.pending.remove(&tp);
                    st.added.insert(tp);
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "AddPartitionsToTxn failed");
                Self::fail_locked(&mut st, e);
            }
        }
    }

    async fn end_txn(&self, cluster: &Cluster, commit: bool) -> Result<(), ClientError> {
        let (pid, epoch) = self.producer().unwrap_or((-1, -1));
        let request = EndTxnRequest::default()
            .with_transactional_id(TransactionalId(s(&self.transactional_id)))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_committed(commit);
        let deadline = Instant::now() + self.max_block;
        // EndTxn v5 is transaction version 2 (KIP-890, the epoch bumps with every EndTxn).
        self.call(cluster, &request, Some(4), deadline, |r| {
            ResponseError::try_from_code(r.error_code)
        })
        .await
        .map(|_| ())
    }

    /// Back to `Ready` after EndTxn: nothing is in the transaction any more.
    fn completed(&self) {
        let mut st = self.status();
        st.state = TxnState::Ready;
        st.added.clear();
        st.pending.clear();
        st.started = false;
    }
}

impl Producer {
    fn txn(&self) -> Result<&Arc<TransactionManager>, ClientError> {
        self.inner.shared.txn.as_ref().ok_or_else(|| {
            crate::config::invalid(
                "transactional.id",
                "",
                "transactions need a transactional.id",
            )
        })
    }

    /// Registers the `transactional.id` with its coordinator and gets the producer id and a new
    /// epoch, fencing any older producer with the same id (its open transaction is aborted).
    /// Call once, before the first transaction; waits up to `max.block.ms` per request.
    pub async fn init_transactions(&self) -> Result<(), ClientError> {
        let txn = self.txn()?;
        let _op = txn.op.lock().await;
        if !matches!(txn.status().state, TxnState::Uninitialized) {
            return Err(txn.wrong_state("init_transactions"));
        }
        let shared = &self.inner.shared;
        let (pid, epoch) = match txn.init_producer_id(&shared.cluster, None).await {
            Ok(r) => r,
            Err(e) if is_fatal(&e) => return Err(txn.fail(e)),
            Err(e) => return Err(e),
        };
        set_producer(shared, txn, pid, epoch);
        txn.status().state = TxnState::Ready;
        tracing::debug!(
            producer_id = pid,
            epoch,
            "transactional producer initialised"
        );
        Ok(())
    }

    /// Starts a transaction: every record sent until `commit_transaction` or
    /// `abort_transaction` belongs to it.
    pub fn begin_transaction(&self) -> Result<(), ClientError> {
        let txn = self.txn()?;
        let mut st = txn.status();
        if !matches!(st.state, TxnState::Ready) {
            drop(st);
            return Err(txn.wrong_state("begin_transaction"));
        }
        st.state = TxnState::InTransaction;
        Ok(())
    }

    /// Adds consumed offsets to the transaction: they are committed for the consumer's group
    /// if and only if the transaction commits (AddOffsetsToTxn, then TxnOffsetCommit with the
    /// group's generation and member id, so a zombie member's commit is refused). `offsets`
    /// are the next offsets to read.
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: &[(TopicPartition, i64)],
        group: &ConsumerGroupMetadata,
    ) -> Result<(), ClientError> {
        let txn = self.txn()?;
        let _op = txn.op.lock().await;
        if !matches!(txn.status().state, TxnState::InTransaction) {
            return Err(match &txn.status().state {
                TxnState::Abortable(e) => ClientError::TransactionAbortable {
                    cause: Box::new(e.clone()),
                },
                _ => txn.wrong_state("send_offsets_to_transaction"),
            });
        }
        let cluster = &self.inner.shared.cluster;
        let (pid, epoch) = txn.producer().unwrap_or((-1, -1));
        let deadline = Instant::now() + txn.max_block;
        let add = AddOffsetsToTxnRequest::default()
            .with_transactional_id(TransactionalId(s(&txn.transactional_id)))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_group_id(GroupId(s(&group.group_id)));
        if let Err(e) = txn
            .call(cluster, &add, None, deadline, |r| {
                ResponseError::try_from_code(r.error_code)
            })
            .await
        {
            return Err(txn.fail(e));
        }
        txn.status().started = true;
        let mut by_topic: BTreeMap<&str, Vec<(i32, i64)>> = BTreeMap::new();
        for (tp, o) in offsets {
            by_topic
                .entry(&tp.topic)
                .or_default()
                .push((tp.partition, *o));
        }
        let request = TxnOffsetCommitRequest::default()
            .with_transactional_id(TransactionalId(s(&txn.transactional_id)))
            .with_group_id(GroupId(s(&group.group_id)))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_generation_id(group.generation_id)
            .with_member_id(s(&group.member_id))
            .with_group_instance_id(group.group_instance_id.as_deref().map(s))
            .with_topics(
                by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        TxnOffsetCommitRequestTopic::default()
                            .with_name(TopicName(s(t)))
                            .with_partitions(
                                ps.into_iter()
                                    .map(|(p, o)| {
                                        TxnOffsetCommitRequestPartition::default()
                                            .with_partition_index(p)
                                            .with_committed_offset(o)
                                            .with_committed_leader_epoch(-1)
                                            .with_committed_metadata(Some(s("")))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let context = format!("TxnOffsetCommit for group {}", group.group_id);
        let mut coordinator: Option<i32> = None;
        loop {
            let result = async {
                let node = match coordinator {
                    Some(n) => n,
                    None => cluster.find_coordinator(0, &group.group_id).await?,
                };
                coordinator = Some(node);
                let response = cluster.send(node, &request).await?;
                let error = response
                    .topics
                    .iter()
                    .flat_map(|t| t.partitions.iter())
                    .find_map(|p| ResponseError::try_from_code(p.error_code));
                match error {
                    None => Ok(()),
                    Some(error) => Err(ClientError::Kafka {
                        context: context.clone(),
                        error,
                    }),
                }
            }
            .await;
            let error = match result {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let retriable = match error.kafka_error() {
                Some(k) => is_retriable_txn_error(k),
                None => error.is_retriable(),
            };
            if !retriable || Instant::now() >= deadline {
                // ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID: the consumer lost
                // its partitions (Java's CommitFailedException), an abortable error.
                return Err(txn.fail(error));
            }
            if matches!(
                error.kafka_error(),
                Some(ResponseError::NotCoordinator | ResponseError::CoordinatorNotAvailable) | None
            ) {
                coordinator = None;
            }
            tokio::time::sleep(txn.retry_backoff).await;
        }
    }

    /// Sends every buffered record, waits until all are acknowledged, then commits the
    /// transaction (EndTxn). If a record failed, the transaction cannot commit: the error is
    /// [`ClientError::TransactionAbortable`] and `abort_transaction` is next.
    pub async fn commit_transaction(&self) -> Result<(), ClientError> {
        let txn = self.txn()?;
        let _op = txn.op.lock().await;
        {
            let mut st = txn.status();
            match &st.state {
                TxnState::InTransaction | TxnState::Committing => st.state = TxnState::Committing,
                TxnState::Abortable(e) => {
                    return Err(ClientError::TransactionAbortable {
                        cause: Box::new(e.clone()),
                    })
                }
                _ => {
                    drop(st);
                    return Err(txn.wrong_state("commit_transaction"));
                }
            }
        }
        self.wait_until_sent(txn).await;
        match &txn.status().state {
            TxnState::Committing => {}
            TxnState::Abortable(e) => {
                return Err(ClientError::TransactionAbortable {
                    cause: Box::new(e.clone()),
                })
            }
            _ => return Err(txn.wrong_state("commit_transaction")),
        }
        if txn.status().started {
            if let Err(e) = txn.end_txn(&self.inner.shared.cluster, true).await {
                return Err(txn.fail(e));
            }
        }
        txn.completed();
        Ok(())
    }

    /// Aborts the transaction: records not sent yet fail with
    /// [`ClientError::TransactionAborted`], those in flight are waited for, and the coordinator
    /// writes ABORT markers so `read_committed` consumers skip everything the transaction
    /// wrote. Also the way out of [`ClientError::TransactionAbortable`].
    pub async fn abort_transaction(&self) -> Result<(), ClientError> {
        let txn = self.txn()?;
        let _op = txn.op.lock().await;
        {
            let mut st = txn.status();
            match &st.state {
                TxnState::InTransaction
                | TxnState::Committing
                | TxnState::Aborting
                | TxnState::Abortable(_) => st.state = TxnState::Aborting,
                _ => {
                    drop(st);
                    return Err(txn.wrong_state("abort_transaction"));
                }
            }
        }
        let shared = &self.inner.shared;
        // Records still in the accumulator never reach the broker. A batch that is waiting to
        // be retried was sent before: its sequence may or may not be in the log, so the
        // producer moves to a new epoch after the abort.
        let dropped = shared.accumulator.lock().drain_all();
        if dropped.iter().any(|b| b.sealed.is_some()) {
            txn.status().epoch_bump_required = true;
        }
        for batch in dropped {
            shared.complete_batch(batch, Err(ClientError::TransactionAborted));
        }
        self.wait_until_sent(txn).await;
        if matches!(txn.status().state, TxnState::Fatal(_)) {
            return Err(txn.wrong_state("abort_transaction"));
        }
        if txn.status().started {
            if let Err(e) = txn.end_txn(&shared.cluster, false).await {
                return Err(txn.fail(e));
            }
        }
        let bump = std::mem::take(&mut txn.status().epoch_bump_required);
        if bump {
            let current = txn.producer();
            match txn.init_producer_id(&shared.cluster, current).await {
                Ok((pid, epoch)) => {
                    tracing::debug!(producer_id = pid, epoch, "bumped the epoch after an abort");
                    set_producer(shared, txn, pid, epoch);
                }
                Err(e) => {
                    txn.status().epoch_bump_required = true;
                    return Err(txn.fail(e));
                }
            }
        }
        txn.completed();
        Ok(())
    }

    /// Waits until no record is buffered or in flight, or the transaction failed.
    async fn wait_until_sent(&self, txn: &TransactionManager) {
        let shared = &self.inner.shared;
        // Batches of a failed transaction are never sent: commit returns, abort drops them.
        self.wait_until_drained(|| {
            matches!(
                txn.status().state,
                TxnState::Abortable(_) | TxnState::Fatal(_)
            ) && shared.in_flight.load(Ordering::Acquire) == 0
        })
        .await;
    }

    /// The transactional id, for a transactional producer.
    pub fn transactional_id(&self) -> Option<&str> {
        self.inner
            .shared
            .txn
            .as_ref()
            .map(|t| t.transactional_id.as_str())
    }
}

/// Installs a new producer id and epoch: every partition starts again at sequence 0.
fn set_producer(shared: &Shared, txn: &TransactionManager, pid: i64, epoch: i16) {
    let mut q = shared.accumulator.lock();
    for queue in q.topics.values_mut().flat_map(|p| p.iter_mut()) {
        queue.next_sequence = 0;
    }
    let mut st = txn.status();
    st.producer_id = pid;
    st.epoch = epoch;
}
