//! The producer: `send` puts records into per-partition batches; a background sender ships them.
//!
//! ```text
//! send(record) --partitioner--> RecordAccumulator (batch per partition, buffer.memory bound)
//!                                   | full / linger.ms / flush
//!                                   v
//!                               Sender task --Produce--> leader's BrokerConnection
//!                                   ^                         |
//!                                   +---- answers, retries <--+
//! ```
//!
//! ```no_run
//! # async fn demo() -> Result<(), weir_client::ClientError> {
//! use weir_client::{Producer, ProducerConfig, ProducerRecord};
//! let mut config = ProducerConfig::new("127.0.0.1:9092");
//! config.set("linger.ms", "10")?.set("compression.type", "lz4")?;
//! let producer = Producer::new(config).await?;
//! let delivery = producer.send(ProducerRecord::new("events").key(b"k").value(b"v")).await?;
//! let metadata = delivery.await?;
//! println!("written at {}-{}@{}", metadata.topic, metadata.partition, metadata.offset);
//! producer.close().await?;
//! # Ok(()) }
//! ```

mod accumulator;
mod batch;
pub mod config;
pub mod partitioner;
pub mod record;
mod sender;
mod transaction;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::cluster::Cluster;
use crate::ClientError;
use accumulator::RecordAccumulator;
use config::ProducerConfig;
use record::{DeliveryFuture, ProducerRecord, RecordMetadata};
use sender::{Sender, Shared};

/// A Kafka producer (see the module docs). Cheap to clone; clones share one sender. When the
/// last clone is dropped, records already sent are still delivered in the background.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    sender: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Producer {
    /// Connects to the cluster and starts the sender task.
    pub async fn new(config: ProducerConfig) -> Result<Producer, ClientError> {
        let idempotent = config.idempotence()?;
        if config.buffer_memory > (Semaphore::MAX_PERMITS >> 1) || config.batch_size == 0 {
            return Err(crate::config::invalid(
                "buffer.memory",
                &config.buffer_memory.to_string(),
                "out of range",
            ));
        }
        let cluster =
            Cluster::connect(config.client.clone(), config.allow_auto_create_topics).await?;
        Self::with_cluster(config, cluster, idempotent)
    }

    /// A producer on an existing [`Cluster`] (shared with other clients).
    pub fn with_cluster(
        config: ProducerConfig,
        cluster: Arc<Cluster>,
        idempotent: bool,
    ) -> Result<Producer, ClientError> {
        // A transactional producer is always idempotent.
        let idempotent = idempotent || config.transactional_id.is_some();
        let txn = config.transactional_id.clone().map(|tid| {
            Arc::new(transaction::TransactionManager::new(
                tid,
                config.transaction_timeout,
                config.max_block,
                config.client.retry_backoff,
            ))
        });
        let shared = Arc::new(Shared {
            txn,
            in_flight: Default::default(),
            idempotent,
            cluster,
            accumulator: RecordAccumulator::new(config.batch_size),
            memory: Semaphore::new(config.buffer_memory),
            wake: Notify::new(),
            progress: Notify::new(),
            flushing: Default::default(),
            closing: Default::default(),
            config,
        });
        let handle = tokio::spawn(Sender::new(shared.clone()).run());
        Ok(Producer {
            inner: Arc::new(Inner {
                shared,
                sender: Mutex::new(Some(handle)),
            }),
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.shared.config
    }

    /// Whether this producer is idempotent.
    pub fn is_idempotent(&self) -> bool {
        self.inner.shared.idempotent
    }

    /// The shared connections and metadata.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.inner.shared.cluster
    }

    /// Puts `record` in its partition's batch. Returns once it is buffered (waiting up to
    /// `max.block.ms` for topic metadata or `buffer.memory`); the returned future resolves when
    /// the broker acknowledged it.
    pub async fn send(&self, record: ProducerRecord<'_>) -> Result<DeliveryFuture, ClientError> {
        self.enqueue(record, None).await
    }

    /// Like [`Producer::send`], calling `callback` (on the sender task: keep it short) with the
    /// outcome instead of returning a future.
    pub async fn send_with_callback<F>(
        &self,
        record: ProducerRecord<'_>,
        callback: F,
    ) -> Result<(), ClientError>
    where
        F: FnOnce(Result<RecordMetadata, ClientError>) + Send + 'static,
    {
        self.enqueue(record, Some(Box::new(callback)))
            .await
            .map(|_| ())
    }

    async fn enqueue(
        &self,
        record: ProducerRecord<'_>,
        callback: Option<record::Callback>,
    ) -> Result<DeliveryFuture, ClientError> {
        let shared = &self.inner.shared;
        let cfg = &shared.config;
        if shared.closing.load(Ordering::Acquire) {
            return Err(ClientError::ProducerClosed);
        }
        if let Some(txn) = &shared.txn {
            txn.check_send()?;
        }
        let start = Instant::now();
        let size = batch::estimate_size(&record);
        if size > cfg.max_request_size {
            return Err(ClientError::RecordTooLarge {
                size,
                limit: cfg.max_request_size,
                limit_name: "max.request.size",
            });
        }
        if size > cfg.buffer_memory {
            return Err(ClientError::RecordTooLarge {
                size,
                limit: cfg.buffer_memory,
                limit_name: "buffer.memory",
            });
        }
        let partitions = self.partition_count(record.topic, start).await?;
        let partition = match record.partition {
            Some(p) if p >= 0 && p < partitions => p,
            Some(p) => {
                return Err(ClientError::UnknownPartition {
                    topic: record.topic.to_string(),
                    partition: p,
                    partitions,
                })
            }
            None => cfg
                .partitioner
                .partition(record.topic, record.key, record.value, partitions),
        };
        let permits = u32::try_from(size).unwrap_or(u32::MAX);
        match shared.memory.try_acquire_many(permits) {
            Ok(p) => p.forget(),
            Err(_) => {
                let left = cfg.max_block.saturating_sub(start.elapsed());
                match tokio::time::timeout(left, shared.memory.acquire_many(permits)).await {
                    Ok(Ok(p)) => p.forget(),
                    Ok(Err(_)) => return Err(ClientError::ProducerClosed),
                    Err(_) => {
                        return Err(ClientError::BufferExhausted {
                            size,
                            waited: start.elapsed(),
                        })
                    }
                }
            }
        }
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        let appended = shared.accumulator.append(
            record.topic,
            partition,
            &record,
            timestamp,
            permits as usize,
            callback,
        );
        if appended.wake_sender {
            shared.wake.notify_one();
        }
        Ok(appended.future)
    }

    /// Number of partitions of `topic`, fetching metadata (up to `max.block.ms`) if needed.
    async fn partition_count(&self, topic: &str, start: Instant) -> Result<i32, ClientError> {
        let shared = &self.inner.shared;
        let cluster = &shared.cluster;
        let mut last_error = None;
        loop {
            if let Some(t) = cluster.metadata().topic(topic) {
                return Ok(t.partitions.len() as i32);
            }
            let waited = start.elapsed();
            if waited >= shared.config.max_block {
                return Err(last_error.unwrap_or(ClientError::UnknownTopic {
                    topic: topic.to_string(),
                    waited,
                }));
            }
            cluster.add_topic(topic);
            match cluster.refresh_metadata().await {
                Ok(()) => {
                    if let Some(t) = cluster.metadata().topics.get(topic) {
                        if let Some(e) = t.error.filter(|e| !e.is_retriable()) {
                            return Err(ClientError::Kafka {
                                context: format!("metadata for {topic}"),
                                error: e,
                            });
                        }
                    }
                }
                Err(e) => last_error = Some(e),
            }
            if cluster.metadata().topic(topic).is_none() {
                let left = shared.config.max_block.saturating_sub(start.elapsed());
                tokio::time::sleep(shared.config.client.retry_backoff.min(left)).await;
            }
        }
    }

    /// Sends everything buffered now (ignoring `linger.ms`) and waits until every record sent
    /// before the call is acknowledged or failed.
    pub async fn flush(&self) -> Result<(), ClientError> {
        self.wait_until_drained(|| false).await;
        Ok(())
    }

    /// Sends everything buffered now (ignoring `linger.ms`) and waits until no record is
    /// pending, or until `give_up` says waiting is pointless.
    async fn wait_until_drained(&self, give_up: impl Fn() -> bool) {
        let shared = &self.inner.shared;
        shared.flushing.fetch_add(1, Ordering::AcqRel);
        shared.wake.notify_one();
        loop {
            let progress = shared.progress.notified();
            tokio::pin!(progress);
            progress.as_mut().enable();
            if shared.accumulator.lock().pending_records == 0 || give_up() {
                break;
            }
            // The sender notifies on every completion; the timeout only guards against a
            // missed wake-up.
            let _ = tokio::time::timeout(Duration::from_millis(100), progress).await;
        }
        shared.flushing.fetch_sub(1, Ordering::AcqRel);
    }

    /// Flushes, then stops the sender. Later `send`s fail with [`ClientError::ProducerClosed`].
    pub async fn close(&self) -> Result<(), ClientError> {
        self.flush().await?;
        let shared = &self.inner.shared;
        shared.closing.store(true, Ordering::Release);
        shared.wake.notify_one();
        let handle = self.inner.sender.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            let _ = h.await;
        }
        Ok(())
    }
}
