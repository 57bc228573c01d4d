//! Consumer settings with Kafka's names and defaults.

use std::time::Duration;

use crate::config::{invalid, parse_bool, parse_ms, parse_num};
use crate::{ClientConfig, ClientError};

/// `auto.offset.reset`: where to start when a partition has no valid position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
    /// Fail instead (`NoOffsetForPartition` / `OFFSET_OUT_OF_RANGE` reach the caller).
    None,
}

/// `isolation.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    ReadUncommitted,
    ReadCommitted,
}

impl IsolationLevel {
    pub(crate) fn code(self) -> i8 {
        match self {
            IsolationLevel::ReadUncommitted => 0,
            IsolationLevel::ReadCommitted => 1,
        }
    }
}

/// Consumer settings; [`ConsumerConfig::set`] takes Kafka's property names.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Connection and metadata settings (`bootstrap.servers`, `client.id`, ...).
    pub client: ClientConfig,
    /// `group.id` (none): needed for `subscribe` and committed offsets.
    pub group_id: Option<String>,
    /// `group.instance.id` (none): static membership.
    pub group_instance_id: Option<String>,
    /// `fetch.min.bytes` (1).
    pub fetch_min_bytes: i32,
    /// `fetch.max.wait.ms` (500).
    pub fetch_max_wait: Duration,
    /// `fetch.max.bytes` (52428800).
    pub fetch_max_bytes: i32,
    /// `max.partition.fetch.bytes` (1048576).
    pub max_partition_fetch_bytes: i32,
    /// `max.poll.records` (500).
    pub max_poll_records: usize,
    /// `auto.offset.reset` (latest).
    pub auto_offset_reset: OffsetReset,
    /// `isolation.level` (read_uncommitted).
    pub isolation_level: IsolationLevel,
    /// `enable.auto.commit` (true; only with a `group.id`).
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms` (5000).
    pub auto_commit_interval: Duration,
    /// `session.timeout.ms` (45000).
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms` (3000).
    pub heartbeat_interval: Duration,
    /// `max.poll.interval.ms` (300000): the rebalance timeout sent with JoinGroup.
    pub max_poll_interval: Duration,
    /// `partition.assignment.strategy` (default range, roundrobin), in preference order, from
    /// `range`, `roundrobin`, `sticky` and `cooperative-sticky` (or the Java class names).
    /// Rebalances are cooperative when `cooperative-sticky` is the only one listed.
    pub assignment_strategy: Vec<String>,
    /// `check.crcs` is always on; `allow.auto.create.topics` (false for the consumer here).
    pub allow_auto_create_topics: bool,
}

impl ConsumerConfig {
    pub fn new(bootstrap_servers: impl AsRef<str>) -> Self {
        let mut client = ClientConfig::new(bootstrap_servers);
        client.client_id = "weir-consumer".to_string();
        ConsumerConfig {
            client,
            group_id: None,
            group_instance_id: None,
            fetch_min_bytes: 1,
            fetch_max_wait: Duration::from_millis(500),
            fetch_max_bytes: 52_428_800,
            max_partition_fetch_bytes: 1_048_576,
            max_poll_records: 500,
            auto_offset_reset: OffsetReset::Latest,
            isolation_level: IsolationLevel::ReadUncommitted,
            enable_auto_commit: true,
            auto_commit_interval: Duration::from_millis(5000),
            session_timeout: Duration::from_millis(45_000),
            heartbeat_interval: Duration::from_millis(3000),
            max_poll_interval: Duration::from_millis(300_000),
            assignment_strategy: vec!["range".into(), "roundrobin".into()],
            allow_auto_create_topics: false,
        }
    }

    /// Sets one property by its Kafka name; unknown names are an error.
    pub fn set(&mut self, key: &str, value: &str) -> Result<&mut Self, ClientError> {
        if self.client.set(key, value)? {
            return Ok(self);
        }
        match key {
            "group.id" => self.group_id = Some(value.to_string()).filter(|g| !g.is_empty()),
            "group.instance.id" => {
                self.group_instance_id = Some(value.to_string()).filter(|g| !g.is_empty())
            }
            "fetch.min.bytes" => self.fetch_min_bytes = parse_num(key, value)?,
            "fetch.max.wait.ms" => self.fetch_max_wait = parse_ms(key, value)?,
            "fetch.max.bytes" => self.fetch_max_bytes = parse_num(key, value)?,
            "max.partition.fetch.bytes" => self.max_partition_fetch_bytes = parse_num(key, value)?,
            "max.poll.records" => {
                let n: usize = parse_num(key, value)?;
                if n == 0 {
                    return Err(invalid(key, value, "must be at least 1"));
                }
                self.max_poll_records = n;
            }
            "auto.offset.reset" => {
                self.auto_offset_reset = match value.trim() {
                    "earliest" => OffsetReset::Earliest,
                    "latest" => OffsetReset::Latest,
                    "none" => OffsetReset::None,
                    _ => return Err(invalid(key, value, "expected earliest, latest or none")),
                }
            }
            "isolation.level" => {
                self.isolation_level = match value.trim() {
                    "read_uncommitted" => IsolationLevel::ReadUncommitted,
                    "read_committed" => IsolationLevel::ReadCommitted,
                    _ => {
                        return Err(invalid(
                            key,
                            value,
                            "expected read_uncommitted or read_committed",
                        ))
                    }
                }
            }
            "enable.auto.commit" => self.enable_auto_commit = parse_bool(key, value)?,
            "auto.commit.interval.ms" => self.auto_commit_interval = parse_ms(key, value)?,
            "session.timeout.ms" => self.session_timeout = parse_ms(key, value)?,
            "heartbeat.interval.ms" => self.heartbeat_interval = parse_ms(key, value)?,
            "max.poll.interval.ms" => self.max_poll_interval = parse_ms(key, value)?,
            "partition.assignment.strategy" => {
                let mut names = Vec::new();
                for s in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    // Java class names are accepted too.
                    let short = match s.rsplit('.').next().unwrap_or(s) {
                        "RangeAssignor" => "range",
                        "RoundRobinAssignor" => "roundrobin",
                        "StickyAssignor" => "sticky",
                        "CooperativeStickyAssignor" => "cooperative-sticky",
                        other => other,
                    };
                    if !crate::consumer::assignor::ASSIGNORS.contains(&short) {
                        return Err(invalid(
                            key,
                            value,
                            "supported: range, roundrobin, sticky, cooperative-sticky",
                        ));
                    }
                    names.push(short.to_string());
                }
                if names.is_empty() {
                    return Err(invalid(key, value, "at least one assignor is needed"));
                }
                self.assignment_strategy = names;
            }
            "allow.auto.create.topics" => self.allow_auto_create_topics = parse_bool(key, value)?,
            "check.crcs" | "key.deserializer" | "value.deserializer" => {}
            _ => return Err(invalid(key, value, "unknown consumer property")),
        }
        Ok(self)
    }
}
