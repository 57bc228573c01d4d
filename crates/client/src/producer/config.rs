//! Producer settings, named and defaulted as in Kafka's Java producer.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{invalid, parse_bool, parse_ms, parse_num};
use crate::producer::partitioner::{DefaultPartitioner, Partitioner, RoundRobinPartitioner};
use crate::{ClientConfig, ClientError};

/// `acks`: how many replicas must have a batch before the broker answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: no answer at all; offsets are reported as -1.
    None,
    /// `acks=1`: the leader appended it.
    Leader,
    /// `acks=all` (`-1`): every in-sync replica has it.
    All,
}

impl Acks {
    pub fn as_i16(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// `compression.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// The codec id in bits 0-2 of a batch's attributes.
    pub fn codec_id(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// Parses Kafka's names (`none`, `gzip`, `snappy`, `lz4`, `zstd`).
    pub fn parse(s: &str) -> Option<Compression> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "none" | "uncompressed" => Compression::None,
            "gzip" => Compression::Gzip,
            "snappy" => Compression::Snappy,
            "lz4" => Compression::Lz4,
            "zstd" => Compression::Zstd,
            _ => return None,
        })
    }
}

/// Everything a [`crate::Producer`] can be told. Build it with [`ProducerConfig::new`] and set
/// fields directly or by Kafka name with [`ProducerConfig::set`].
#[derive(Clone)]
pub struct ProducerConfig {
    pub client: ClientConfig,
    /// `acks` (default `all`).
    pub acks: Acks,
    /// `batch.size` (16384): bytes of records per partition batch.
    pub batch_size: usize,
    /// `linger.ms` (5): how long a batch that is not full waits for more records.
    pub linger: Duration,
    /// `buffer.memory` (32 MiB): records waiting to be sent; `send` waits when it is full.
    pub buffer_memory: usize,
    /// `max.block.ms` (60000): longest wait in `send` for metadata or buffer space.
    pub max_block: Duration,
    /// `compression.type` (none).
    pub compression: Compression,
    /// `partitioner.class`: the default (murmur2 keys, sticky null keys), round-robin, or yours.
    pub partitioner: Arc<dyn Partitioner>,
    /// `retries` (i32::MAX): retries are bounded by `delivery.timeout.ms` in practice.
    pub retries: u32,
    /// `delivery.timeout.ms` (120000): from `send` to success or failure, retries included.
    pub delivery_timeout: Duration,
    /// `max.in.flight.requests.per.connection` (5).
    pub max_in_flight: usize,
    /// `enable.idempotence`: `None` means Kafka's default, on unless `acks` is not `all`,
    /// retries are 0 or `max.in.flight.requests.per.connection` > 5.
    pub enable_idempotence: Option<bool>,
    /// `max.request.size` (1048576): largest record (and request) the producer sends.
    pub max_request_size: usize,
    /// `allow.auto.create.topics` (true).
    pub allow_auto_create_topics: bool,
    /// `transactional.id` (none): makes the producer transactional (and idempotent); see
    /// [`crate::Producer::init_transactions`].
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms` (60000): how long the coordinator lets a transaction stay open
    /// before it aborts it.
    pub transaction_timeout: Duration,
    /// The partitioner is still the built-in default (so `batch.size` also sets its
    /// sticky-switch threshold, as in Kafka).
    default_partitioner: bool,
}

impl std::fmt::Debug for ProducerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerConfig")
            .field("client", &self.client)
            .field("acks", &self.acks)
            .field("batch_size", &self.batch_size)
            .field("linger", &self.linger)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

impl ProducerConfig {
    pub fn new(bootstrap_servers: impl AsRef<str>) -> Self {
        ProducerConfig {
            client: ClientConfig::new(bootstrap_servers),
            acks: Acks::All,
            batch_size: 16_384,
            linger: Duration::from_millis(5),
            buffer_memory: 32 * 1024 * 1024,
            max_block: Duration::from_millis(60_000),
            compression: Compression::None,
            partitioner: Arc::new(DefaultPartitioner::new()),
            retries: i32::MAX as u32,
            delivery_timeout: Duration::from_millis(120_000),
            max_in_flight: 5,
            enable_idempotence: None,
            max_request_size: 1_048_576,
            allow_auto_create_topics: true,
            transactional_id: None,
            transaction_timeout: Duration::from_millis(60_000),
            default_partitioner: true,
        }
    }

    /// Sets one property by its Kafka name (`acks`, `linger.ms`, `compression.type`, ...).
    pub fn set(&mut self, key: &str, value: &str) -> Result<&mut Self, ClientError> {
        if self.client.set(key, value)? {
            return Ok(self);
        }
        match key {
            "acks" => {
                self.acks = match value.trim() {
                    "0" => Acks::None,
                    "1" => Acks::Leader,
                    "all" | "-1" => Acks::All,
                    _ => return Err(invalid(key, value, "expected 0, 1, all or -1")),
                }
            }
            "batch.size" => {
                self.batch_size = parse_num(key, value)?;
                if self.batch_size == 0 {
                    return Err(invalid(key, value, "must be at least 1"));
                }
                if self.default_partitioner {
                    self.partitioner =
                        Arc::new(DefaultPartitioner::with_batch_size(self.batch_size));
                }
            }
            "linger.ms" => self.linger = parse_ms(key, value)?,
            "buffer.memory" => self.buffer_memory = parse_num(key, value)?,
            "max.block.ms" => self.max_block = parse_ms(key, value)?,
            "compression.type" => {
                self.compression = Compression::parse(value).ok_or_else(|| {
                    invalid(key, value, "expected none, gzip, snappy, lz4 or zstd")
                })?
            }
            "partitioner.class" => {
                self.default_partitioner = matches!(value.trim(), "default" | "");
                self.partitioner = match value.trim() {
                    "default" | "" => {
                        Arc::new(DefaultPartitioner::with_batch_size(self.batch_size))
                    }
                    "round_robin"
                    | "roundrobin"
                    | "org.apache.kafka.clients.producer.RoundRobinPartitioner" => {
                        Arc::new(RoundRobinPartitioner::new())
                    }
                    _ => return Err(invalid(key, value, "expected default or round_robin")),
                }
            }
            "retries" => self.retries = parse_num(key, value)?,
            "delivery.timeout.ms" => self.delivery_timeout = parse_ms(key, value)?,
            "max.in.flight.requests.per.connection" => {
                self.max_in_flight = parse_num(key, value)?;
                if self.max_in_flight == 0 {
                    return Err(invalid(key, value, "must be at least 1"));
                }
            }
            "enable.idempotence" => self.enable_idempotence = Some(parse_bool(key, value)?),
            "max.request.size" => self.max_request_size = parse_num(key, value)?,
            "allow.auto.create.topics" => self.allow_auto_create_topics = parse_bool(key, value)?,
            "transactional.id" => {
                self.transactional_id = Some(value.to_string()).filter(|t| !t.is_empty())
            }
            "transaction.timeout.ms" => self.transaction_timeout = parse_ms(key, value)?,
            _ => return Err(invalid(key, value, "unknown producer property")),
        }
        Ok(self)
    }

    /// Whether the producer will be idempotent, resolving Kafka's default; an explicit
    /// `enable.idempotence=true` with conflicting settings is an error, as in Kafka. A
    /// `transactional.id` needs idempotence: it is then an error to turn it off or to conflict
    /// with it.
    pub fn idempotence(&self) -> Result<bool, ClientError> {
        if let Some(tid) = &self.transactional_id {
            if self.enable_idempotence == Some(false) {
                return Err(invalid(
                    "enable.idempotence",
                    "false",
                    format!("transactional.id={tid} needs idempotence"),
                ));
            }
            let mut explicit = self.clone();
            explicit.enable_idempotence = Some(true);
            explicit.transactional_id = None;
            return explicit.idempotence();
        }
        let conflicts = if self.acks != Acks::All {
            Some(("acks", "idempotence requires acks=all"))
        } else if self.retries == 0 {
            Some(("retries", "idempotence requires retries > 0"))
        } else if self.max_in_flight > 5 {
            Some((
                "max.in.flight.requests.per.connection",
                "idempotence requires at most 5",
            ))
        } else {
            None
        };
        match (self.enable_idempotence, conflicts) {
            (Some(true), Some((key, reason))) => Err(invalid(key, "", reason)),
            (Some(explicit), _) => Ok(explicit),
            (None, conflict) => Ok(conflict.is_none()),
        }
    }
}
