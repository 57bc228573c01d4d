//! What goes into [`crate::Producer::send`] and what comes back.

use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

use crate::ClientError;

/// A record to send. It borrows its bytes: `send` copies them into a batch, so a caller can
/// reuse its buffers as soon as `send` returned.
#[derive(Debug, Clone)]
pub struct ProducerRecord<'a> {
    pub topic: &'a str,
    /// `None`: the partitioner chooses.
    pub partition: Option<i32>,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// Milliseconds since the epoch; `None`: now.
    pub timestamp: Option<i64>,
    pub headers: Vec<(&'a str, Option<&'a [u8]>)>,
}

impl<'a> ProducerRecord<'a> {
    pub fn new(topic: &'a str) -> Self {
        ProducerRecord {
            topic,
            partition: None,
            key: None,
            value: None,
            timestamp: None,
            headers: Vec::new(),
        }
    }
    pub fn key(mut self, key: &'a [u8]) -> Self {
        self.key = Some(key);
        self
    }
    pub fn value(mut self, value: &'a [u8]) -> Self {
        self.value = Some(value);
        self
    }
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }
    pub fn timestamp(mut self, timestamp_ms: i64) -> Self {
        self.timestamp = Some(timestamp_ms);
        self
    }
    pub fn header(mut self, key: &'a str, value: &'a [u8]) -> Self {
        self.headers.push((key, Some(value)));
        self
    }
}

/// Where a record was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    pub topic: Arc<str>,
    pub partition: i32,
    /// `-1` with `acks=0`.
    pub offset: i64,
    /// The record's timestamp (`CreateTime`), or the broker's append time for topics with
    /// `message.timestamp.type=LogAppendTime`.
    pub timestamp: i64,
}

/// A callback run once a record is acknowledged or failed.
pub type Callback = Box<dyn FnOnce(Result<RecordMetadata, ClientError>) + Send + 'static>;

/// What the broker said about a whole batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchOutcome {
    pub base_offset: i64,
    /// `-1` unless the topic uses `LogAppendTime`.
    pub log_append_time: i64,
}

/// Shared by every record of one batch: set once, when the batch is done.
#[derive(Debug)]
pub(crate) struct BatchCompletion {
    pub topic: Arc<str>,
    pub partition: i32,
    result: OnceLock<Result<BatchOutcome, ClientError>>,
    done: Notify,
}

impl BatchCompletion {
    pub fn new(topic: Arc<str>, partition: i32) -> Arc<Self> {
        Arc::new(BatchCompletion {
            topic,
            partition,
            result: OnceLock::new(),
            done: Notify::new(),
        })
    }

    pub fn complete(&self, result: Result<BatchOutcome, ClientError>) {
        let _ = self.result.set(result);
        self.done.notify_waiters();
    }

    pub fn metadata(
        &self,
        offset_delta: i32,
        timestamp: i64,
    ) -> Option<Result<RecordMetadata, ClientError>> {
        self.result.get().map(|r| match r {
            Ok(o) => Ok(RecordMetadata {
                topic: self.topic.clone(),
                partition: self.partition,
                offset: if o.base_offset < 0 {
                    -1
                } else {
                    o.base_offset + i64::from(offset_delta)
                },
                timestamp: if o.log_append_time >= 0 {
                    o.log_append_time
                } else {
                    timestamp
                },
            }),
            Err(e) => Err(e.clone()),
        })
    }
}

/// The pending outcome of one `send`: `.await` it (or call [`DeliveryFuture::wait`]).
#[derive(Debug)]
pub struct DeliveryFuture {
    pub(crate) batch: Arc<BatchCompletion>,
    pub(crate) offset_delta: i32,
    pub(crate) timestamp: i64,
}

impl DeliveryFuture {
    /// The topic and partition the record was put in.
    pub fn partition(&self) -> (&str, i32) {
        (&self.batch.topic, self.batch.partition)
    }

    /// Waits until the record's batch was acknowledged or failed.
    pub async fn wait(self) -> Result<RecordMetadata, ClientError> {
        loop {
            let notified = self.batch.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(r) = self.batch.metadata(self.offset_delta, self.timestamp) {
                return r;
            }
            notified.await;
        }
    }

    /// The outcome if it is already known.
    pub fn try_result(&self) -> Option<Result<RecordMetadata, ClientError>> {
        self.batch.metadata(self.offset_delta, self.timestamp)
    }
}

impl std::future::IntoFuture for DeliveryFuture {
    type Output = Result<RecordMetadata, ClientError>;
    type IntoFuture =
        std::pin::Pin<Box<dyn std::future::Future<Output = Self::Output> + Send + 'static>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.wait())
    }
}
