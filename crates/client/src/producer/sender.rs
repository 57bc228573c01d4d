//! The producer's background task: takes ready batches, sends Produce requests, handles answers.
//!
//! One task per producer. Each round it takes, per leader, at most one batch per partition into
//! one Produce request (Kafka's drain), keeping at most `max.in.flight.requests.per.connection`
//! requests per broker. Frames are enqueued on the connection from this task only, so batches of
//! one partition reach the broker in order. Answers come back on a channel; a retriable failure
//! puts the batch back at its place in its queue and holds the partition until the requests
//! still in flight for it are answered, so the retried batch goes first (with idempotence its
//! sequence number is kept; the broker acknowledges duplicates with their original offset).
//!
//! An idempotent producer whose batch left a gap in a partition's sequences (it failed or
//! expired after being sent, or the broker answered `OUT_OF_ORDER_SEQUENCE_NUMBER` for the next
//! batch, or `UNKNOWN_PRODUCER_ID`) bumps its epoch locally, as Java's does (KIP-360): that
//! partition's waiting batches are renumbered from 0 in the new epoch, and every other
//! partition starts at 0 once its batches in flight are answered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify, Semaphore};
use weir_protocol::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use weir_protocol::kafka_protocol::messages::{
    InitProducerIdRequest, ProduceRequest, ProduceResponse, TopicName,
};
use weir_protocol::kafka_protocol::protocol::StrBytes;
use weir_protocol::ResponseError;

use crate::cluster::Cluster;
use crate::producer::accumulator::RecordAccumulator;
use crate::producer::batch::ProducerBatch;
use crate::producer::config::{Acks, ProducerConfig};
use crate::producer::record::BatchOutcome;
use crate::producer::transaction::TransactionManager;
use crate::ClientError;

/// State shared by the producer handles and the sender task.
pub(crate) struct Shared {
    pub config: ProducerConfig,
    pub idempotent: bool,
    pub cluster: Arc<Cluster>,
    pub accumulator: RecordAccumulator,
    pub memory: Semaphore,
    pub wake: Notify,
    /// Notified whenever records complete (flush waits on it).
    pub progress: Notify,
    pub flushing: AtomicUsize,
    pub closing: AtomicBool,
    /// The transaction state, with a `transactional.id`.
    pub txn: Option<Arc<TransactionManager>>,
    /// Produce requests sent and not answered yet.
    pub in_flight: AtomicUsize,
}

impl Shared {
    /// Completes `batch`: its futures and callbacks get `result`, its memory is released.
    pub fn complete_batch(&self, batch: ProducerBatch, result: Result<BatchOutcome, ClientError>) {
        if let (Some(txn), Err(e)) = (&self.txn, &result) {
            txn.batch_failed(e, batch.sealed.is_some());
        }
        let ProducerBatch {
            completion,
            callbacks,
            reserved,
            count,
            ..
        } = batch;
        completion.complete(result);
        for (delta, ts, cb) in callbacks {
            if let Some(r) = completion.metadata(delta, ts) {
                cb(r);
            }
        }
        self.memory.add_permits(reserved);
        {
            let mut q = self.accumulator.lock();
            q.pending_records = q.pending_records.saturating_sub(count as u64);
        }
        self.progress.notify_waiters();
    }
}

type Drained = (Arc<str>, i32, ProducerBatch);

struct Completion {
    node: i32,
    batches: Vec<Drained>,
    result: Result<ProduceResponse, ClientError>,
}

pub(crate) struct Sender {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Completion>,
    rx: mpsc::UnboundedReceiver<Completion>,
    in_flight: HashMap<i32, usize>,
    connecting: Arc<std::sync::Mutex<std::collections::HashSet<i32>>>,
    producer_id: i64,
    producer_epoch: i16,
    next_pid_attempt: Instant,
    /// A batch left a gap in its partition's sequences (it failed after being sent, or the
    /// broker answered OUT_OF_ORDER_SEQUENCE_NUMBER / UNKNOWN_PRODUCER_ID for the next one):
    /// move to a new epoch, in which every partition starts again at sequence 0 (KIP-360, as
    /// the Java idempotent producer does it, locally; transactional producers bump through
    /// their coordinator when they abort).
    bump_epoch: bool,
}

fn is_metadata_error(e: ResponseError) -> bool {
    matches!(
        e,
        ResponseError::NotLeaderOrFollower
            | ResponseError::UnknownTopicOrPartition
            | ResponseError::LeaderNotAvailable
            | ResponseError::FencedLeaderEpoch
            | ResponseError::UnknownLeaderEpoch
            | ResponseError::KafkaStorageError
            | ResponseError::NotEnoughReplicas
    )
}

impl Sender {
    pub fn new(shared: Arc<Shared>) -> Sender {
        let (tx, rx) = mpsc::unbounded_channel();
        Sender {
            shared,
            tx,
            rx,
            in_flight: HashMap::new(),
            connecting: Arc::default(),
            producer_id: -1,
            producer_epoch: -1,
            next_pid_attempt: Instant::now(),
            bump_epoch: false,
        }
    }

    pub async fn run(mut self) {
        loop {
            while let Ok(c) = self.rx.try_recv() {
                self.handle(c);
            }
            let now = Instant::now();
            if self.shared.idempotent
                && self.shared.txn.is_none()
                && self.producer_id < 0
                && now >= self.next_pid_attempt
            {
                self.init_producer_id().await;
                continue;
            }
            let (sent, next_wake) = self.send_ready(Instant::now());
            if sent {
                continue;
            }
            let in_flight: usize = self.in_flight.values().sum();
            if self.shared.closing.load(Ordering::Acquire)
                && in_flight == 0
                && self.shared.accumulator.lock().pending_records == 0
            {
                return;
            }
            let mut wake = next_wake.unwrap_or(now + Duration::from_secs(1));
            if self.shared.idempotent && self.shared.txn.is_none() && self.producer_id < 0 {
                wake = wake.min(self.next_pid_attempt);
            }
            tokio::select! {
                _ = self.shared.wake.notified() => {}
                Some(c) = self.rx.recv() => self.handle(c),
                _ = tokio::time::sleep_until(wake.into()) => {}
            }
        }
    }

    async fn init_producer_id(&mut self) {
        let request = InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(i32::MAX);
        let result = async {
            let conn = self.shared.cluster.any_connection().await?;
            conn.send(&request).await
        }
        .await;
        match result {
            Ok(r) if r.error_code == 0 => {
                self.producer_id = r.producer_id.0;
                self.producer_epoch = r.producer_epoch;
                tracing::debug!(producer_id = self.producer_id, "idempotent producer id");
            }
            Ok(r) => {
                tracing::warn!(code = r.error_code, "InitProducerId failed");
                self.next_pid_attempt = Instant::now() + self.shared.config.client.retry_backoff;
            }
            Err(e) => {
                tracing::debug!(error = %e, "InitProducerId failed");
                self.next_pid_attempt = Instant::now() + self.shared.config.client.retry_backoff;
            }
        }
    }

    /// Sends one request per broker with what is ready. Returns whether anything was sent and
    /// when the next batch will be ready.
    fn send_ready(&mut self, now: Instant) -> (bool, Option<Instant>) {
        let shared = self.shared.clone();
        let cfg = &shared.config;
        let flush =
            shared.flushing.load(Ordering::Acquire) > 0 || shared.closing.load(Ordering::Acquire);
        let meta = shared.cluster.metadata();
        let txn = shared.txn.as_ref();
        if let Some(t) = txn {
            // The transaction manager owns the producer id and epoch.
            (self.producer_id, self.producer_epoch) = t.producer().unwrap_or((-1, -1));
        } else if std::mem::take(&mut self.bump_epoch) && self.producer_id >= 0 {
            if self.producer_epoch == i16::MAX {
                // Epochs are exhausted: a new producer id (InitProducerId) instead.
                self.producer_id = -1;
                self.producer_epoch = -1;
            } else {
                self.producer_epoch += 1;
            }
            tracing::info!(
                producer_id = self.producer_id,
                epoch = self.producer_epoch,
                "bumped the idempotent producer epoch after a sequence gap"
            );
        }
        let idempotent_only = shared.idempotent && txn.is_none();
        let current_producer = (self.producer_id, self.producer_epoch);
        let can_send = (!shared.idempotent || self.producer_id >= 0)
            && txn.is_none_or(|t| t.sending_allowed());
        if let Some(error) = txn.and_then(|t| t.undrained_error()) {
            let undrained = shared.accumulator.lock().drain_all();
            for batch in undrained {
                self.complete(batch, Err(error.clone()));
            }
        }
        let mut next_wake: Option<Instant> = None;
        let mut wake_at = |t: Instant| {
            next_wake = Some(next_wake.map_or(t, |w: Instant| w.min(t)));
        };
        let mut expired: Vec<ProducerBatch> = Vec::new();
        let mut by_node: HashMap<i32, (usize, Vec<Drained>)> = HashMap::new();
        let mut need_refresh = false;
        let mut missing_conn: Vec<i32> = Vec::new();
        {
            let mut q = shared.accumulator.lock();
            for (topic, parts) in q.topics.iter_mut() {
                for (p, queue) in parts.iter_mut().enumerate() {
                    let partition = p as i32;
                    while let Some(front) = queue.batches.front() {
                        if queue.in_flight == 0
                            && now.duration_since(front.created) >= cfg.delivery_timeout
                        {
                            if let Some(b) = queue.batches.pop_front() {
                                if idempotent_only && b.sealed.is_some() {
                                    // It was sent: the broker may or may not have its
                                    // sequence.
                                    queue.rewrite = true;
                                    self.bump_epoch = true;
                                }
                                expired.push(b);
                            }
                        } else {
                            break;
                        }
                    }
                    let Some(front) = queue.batches.front() else {
                        continue;
                    };
                    wake_at(front.created + cfg.delivery_timeout);
                    if !can_send {
                        continue;
                    }
                    if let Some(t) = queue.retry_after {
                        if t > now {
                            wake_at(t);
                            continue;
                        }
                        queue.retry_after = None;
                    }
                    if queue.retrying {
                        if queue.in_flight > 0 {
                            continue; // woken by the answers
                        }
                        queue.retrying = false;
                    }
                    let full = queue.batches.len() > 1
                        || front.sealed.is_some()
                        || front.records_len() >= cfg.batch_size;
                    let deadline = front.created + cfg.linger;
                    if !(full || flush || deadline <= now) {
                        wake_at(deadline);
                        continue;
                    }
                    let Some(leader) = meta.leader(topic, partition) else {
                        need_refresh = true;
                        wake_at(now + cfg.client.retry_backoff);
                        continue;
                    };
                    if self.in_flight.get(&leader).copied().unwrap_or(0) >= cfg.max_in_flight
                        || queue.in_flight >= cfg.max_in_flight
                    {
                        continue; // woken by the answers
                    }
                    if shared.cluster.cached_connection(leader).is_none() {
                        missing_conn.push(leader);
                        continue;
                    }
                    if txn.is_some_and(|t| !t.partition_ready(topic, partition)) {
                        continue; // woken when AddPartitionsToTxn is answered
                    }
                    if shared.idempotent && queue.producer != Some(current_producer) {
                        // Batches sealed in the old epoch are resent as they are, unless this
                        // partition's gap caused the bump; new batches wait for the answers in
                        // flight, then the partition starts over at sequence 0.
                        let old_retry = front.sealed.is_some() && !queue.rewrite;
                        if !old_retry {
                            if queue.in_flight > 0 {
                                continue; // woken by the answers
                            }
                            queue.producer = Some(current_producer);
                            queue.next_sequence = 0;
                            queue.last_acked = None;
                            if std::mem::take(&mut queue.rewrite) {
                                for b in queue.batches.iter_mut().filter(|b| b.sealed.is_some()) {
                                    b.reassign_producer(
                                        current_producer.0,
                                        current_producer.1,
                                        queue.next_sequence,
                                    );
                                    queue.next_sequence = queue.next_sequence.wrapping_add(b.count);
                                }
                            }
                        }
                    }
                    let Some(front) = queue.batches.front() else {
                        continue;
                    };
                    let entry = by_node.entry(leader).or_default();
                    let size = front
                        .sealed
                        .as_ref()
                        .map_or(front.records_len(), |b| b.len());
                    if !entry.1.is_empty() && entry.0 + size > cfg.max_request_size {
                        wake_at(now);
                        continue;
                    }
                    let Some(mut batch) = queue.batches.pop_front() else {
                        continue;
                    };
                    if batch.sealed.is_none() && shared.idempotent {
                        batch.base_sequence = queue.next_sequence;
                        queue.next_sequence = queue.next_sequence.wrapping_add(batch.count);
                    }
                    entry.0 += size;
                    queue.in_flight += 1;
                    entry.1.push((topic.clone(), partition, batch));
                }
            }
        }
        if need_refresh {
            shared.cluster.request_refresh();
        }
        if let Some(parts) = txn.and_then(|t| t.take_pending()) {
            let shared = shared.clone();
            tokio::spawn(async move {
                if let Some(t) = &shared.txn {
                    t.add_partitions(&shared.cluster, parts).await;
                }
                shared.wake.notify_one();
                shared.progress.notify_waiters();
            });
        }
        for node in missing_conn {
            self.connect_in_background(node);
        }
        for batch in expired {
            let err = ClientError::DeliveryTimeout {
                topic: batch.completion.topic.to_string(),
                partition: batch.completion.partition,
                timeout: cfg.delivery_timeout,
                last_error: batch.last_error.clone().map(Box::new),
            };
            self.complete(batch, Err(err));
        }
        let sent = !by_node.is_empty();
        for (node, (_, batches)) in by_node {
            self.send_to(node, batches);
        }
        (sent, next_wake)
    }

    fn connect_in_background(&self, node: i32) {
        let Ok(mut connecting) = self.connecting.lock() else {
            return;
        };
        if !connecting.insert(node) {
            return;
        }
        let shared = self.shared.clone();
        let connecting = self.connecting.clone();
        tokio::spawn(async move {
            if let Err(e) = shared.cluster.connection(node).await {
                tracing::debug!(node, error = %e, "connect failed");
                tokio::time::sleep(shared.config.client.retry_backoff).await;
            }
            if let Ok(mut c) = connecting.lock() {
                c.remove(&node);
            }
            shared.wake.notify_one();
        });
    }

    fn send_to(&mut self, node: i32, mut batches: Vec<Drained>) {
        let cfg = &self.shared.config;
        let mut topics: Vec<TopicProduceData> = Vec::new();
        let mut failed: Option<ClientError> = None;
        for (topic, partition, batch) in batches.iter_mut() {
            let seq = batch.base_sequence;
            let sealed = batch.seal(
                if self.shared.idempotent {
                    self.producer_id
                } else {
                    -1
                },
                if self.shared.idempotent {
                    self.producer_epoch
                } else {
                    -1
                },
                if self.shared.idempotent { seq } else { -1 },
                cfg.compression,
                self.shared.txn.is_some(),
            );
            let bytes = match sealed {
                Ok(b) => b,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            };
            let data = PartitionProduceData::default()
                .with_index(*partition)
                .with_records(Some(bytes));
            match topics.iter_mut().find(|t| t.name.0.as_str() == &**topic) {
                Some(t) => t.partition_data.push(data),
                None => topics.push(
                    TopicProduceData::default()
                        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                        .with_partition_data(vec![data]),
                ),
            }
        }
        if let Some(e) = failed {
            *self.in_flight.entry(node).or_default() += 1;
            self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
            self.handle(Completion {
                node,
                batches,
                result: Err(e),
            });
            return;
        }
        let request = ProduceRequest::default()
            .with_acks(cfg.acks.as_i16())
            .with_timeout_ms(
                i32::try_from(cfg.client.request_timeout.as_millis()).unwrap_or(i32::MAX),
            )
            .with_topic_data(topics);
        *self.in_flight.entry(node).or_default() += 1;
        self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
        let Some(conn) = self.shared.cluster.cached_connection(node) else {
            self.handle(Completion {
                node,
                batches,
                result: Err(ClientError::ConnectionClosed {
                    addr: format!("node {node}"),
                    reason: "connection lost".into(),
                }),
            });
            return;
        };
        if cfg.acks == Acks::None {
            let result = conn
                .send_oneway(&request)
                .map(|_| ProduceResponse::default());
            let result = match result {
                Ok(_) => Ok(acks0_response(&batches)),
                Err(e) => Err(e),
            };
            self.handle(Completion {
                node,
                batches,
                result,
            });
            return;
        }
        match conn.enqueue(&request) {
            Ok(fut) => {
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let result = fut.wait().await;
                    let _ = tx.send(Completion {
                        node,
                        batches,
                        result,
                    });
                });
            }
            Err(e) => self.handle(Completion {
                node,
                batches,
                result: Err(e),
            }),
        }
    }

    fn handle(&mut self, c: Completion) {
        if let Some(n) = self.in_flight.get_mut(&c.node) {
            *n = n.saturating_sub(1);
        }
        let _ = self
            .shared
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(1))
            });
        let mut refresh = false;
        let results: Vec<(Drained, Result<BatchOutcome, ClientError>)> = match c.result {
            Err(e) => {
                refresh = true;
                c.batches.into_iter().map(|d| (d, Err(e.clone()))).collect()
            }
            Ok(response) => c
                .batches
                .into_iter()
                .map(|d| {
                    let found = response
                        .responses
                        .iter()
                        .filter(|t| t.name.0.as_str() == &*d.0)
                        .flat_map(|t| t.partition_responses.iter())
                        .find(|p| p.index == d.1);
                    let r = match found {
                        None => Err(ClientError::MissingInResponse {
                            what: format!("partition {}-{}", d.0, d.1),
                        }),
                        // DUPLICATE_SEQUENCE_NUMBER: already written by an earlier attempt.
                        Some(p) if p.error_code == 0 || p.error_code == 46 => Ok(BatchOutcome {
                            base_offset: p.base_offset,
                            log_append_time: p.log_append_time_ms,
                        }),
                        Some(p) => {
                            let err = ClientError::kafka(
                                format!("produce to {}-{}", d.0, d.1),
                                p.error_code,
                            )
                            .unwrap_or(
                                ClientError::MissingInResponse {
                                    what: "an error code".into(),
                                },
                            );
                            if err.kafka_error().is_some_and(is_metadata_error) {
                                refresh = true;
                            }
                            Err(err)
                        }
                    };
                    (d, r)
                })
                .collect(),
        };
        if refresh {
            self.shared.cluster.request_refresh();
        }
        let now = Instant::now();
        let cfg = &self.shared.config;
        let mut done = Vec::new();
        {
            let mut q = self.shared.accumulator.lock();
            for ((topic, partition, mut batch), result) in results {
                let queue = q.queue_mut(&topic, partition);
                let Some(queue) = queue else {
                    done.push((batch, result));
                    continue;
                };
                queue.in_flight = queue.in_flight.saturating_sub(1);
                let err = match result {
                    Ok(o) => {
                        if batch.base_sequence >= 0 {
                            queue.last_acked =
                                Some(batch.base_sequence.wrapping_add(batch.count - 1));
                        }
                        done.push((batch, Ok(o)));
                        continue;
                    }
                    Err(e) => e,
                };
                let idempotent_only = self.shared.idempotent && self.shared.txn.is_none();
                // Java's canRetry for sequence errors: OUT_OF_ORDER_SEQUENCE_NUMBER for a
                // batch that is not the next one only says an earlier batch failed: retry.
                // For the next one it is a real gap: an idempotent producer bumps its epoch
                // and retries; a transactional one fails the batch (abort, then bump).
                // UNKNOWN_PRODUCER_ID: the broker lost the producer's state: bump and retry.
                let next = queue.last_acked.map_or(0, |s| s.wrapping_add(1));
                let retriable = match err.kafka_error() {
                    Some(ResponseError::OutOfOrderSequenceNumber) if self.shared.idempotent => {
                        if batch.base_sequence == next && idempotent_only {
                            queue.rewrite = true;
                            self.bump_epoch = true;
                        }
                        batch.base_sequence != next || idempotent_only
                    }
                    Some(ResponseError::UnknownProducerId) if idempotent_only => {
                        queue.rewrite = true;
                        self.bump_epoch = true;
                        true
                    }
                    _ => err.is_retriable(),
                };
                let expired = now.duration_since(batch.created) >= cfg.delivery_timeout;
                let gives_up = !(retriable && batch.attempts < cfg.retries && !expired);
                if gives_up && idempotent_only && batch.sealed.is_some() {
                    // The failed batch's sequence may be missing from the log: the next one
                    // would be out of order in this epoch.
                    queue.rewrite = true;
                    self.bump_epoch = true;
                }
                if retriable && batch.attempts < cfg.retries && !expired {
                    tracing::debug!(topic = %topic, partition, error = %err, "retrying batch");
                    batch.attempts += 1;
                    batch.last_error = Some(err);
                    queue.retry_after = Some(now + cfg.client.retry_backoff);
                    queue.retrying = true;
                    queue.reenqueue(batch);
                } else if retriable && expired {
                    let e = ClientError::DeliveryTimeout {
                        topic: topic.to_string(),
                        partition,
                        timeout: cfg.delivery_timeout,
                        last_error: Some(Box::new(err)),
                    };
                    done.push((batch, Err(e)));
                } else {
                    done.push((batch, Err(err)));
                }
            }
        }
        for (batch, result) in done {
            self.complete(batch, result);
        }
        self.shared.wake.notify_one();
    }

    fn complete(&self, batch: ProducerBatch, result: Result<BatchOutcome, ClientError>) {
        self.shared.complete_batch(batch, result);
    }
}

/// What `acks=0` "answers": every batch written, offsets unknown.
fn acks0_response(batches: &[Drained]) -> ProduceResponse {
    use weir_protocol::kafka_protocol::messages::produce_response::{
        PartitionProduceResponse, TopicProduceResponse,
    };
    let responses = batches
        .iter()
        .map(|(t, p, _)| {
            TopicProduceResponse::default()
                .with_name(TopicName(StrBytes::from_string(t.to_string())))
                .with_partition_responses(vec![PartitionProduceResponse::default()
                    .with_index(*p)
                    .with_base_offset(-1)
                    .with_log_append_time_ms(-1)])
        })
        .collect();
    ProduceResponse::default().with_responses(responses)
}
