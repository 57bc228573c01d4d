//! The broker's static configuration: Kafka's `server.properties` format, Kafka's key names and
//! defaults, and Weir's embedded defaults so that `weir broker` starts with no file at all.
//!
//! Values come, lowest precedence first, from: the defaults in [`BROKER_CONFIGS`], the
//! properties file, `--override key=value` arguments, and dynamic broker configs from the
//! metadata image ([`BrokerConfig::with_dynamic`]). Keys Weir does not know are kept and listed
//! by [`BrokerConfig::unknown_keys`] so the caller can warn about them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{
    parse_list, validate_value, ConfigEntry, ConfigError, ConfigSource, ConfigSynonym, ConfigType,
    Validator,
};

/// Definition of one broker config.
#[derive(Debug, Clone, Copy)]
pub struct BrokerConfigDef {
    pub name: &'static str,
    pub config_type: ConfigType,
    /// `None`: unset by default (another key or a computed value applies).
    pub default: Option<&'static str>,
    pub validator: Validator,
    pub documentation: &'static str,
}

const fn def(
    name: &'static str,
    config_type: ConfigType,
    default: Option<&'static str>,
    validator: Validator,
    documentation: &'static str,
) -> BrokerConfigDef {
    BrokerConfigDef {
        name,
        config_type,
        default,
        validator,
        documentation,
    }
}

use ConfigType::{Boolean, Double, Int, List, Long, Short, String as Str};
use Validator::{Any, AtLeast, DoubleBetween, ListOf, OneOf};

const LONG_MAX: &str = "9223372036854775807";
const INT_MAX: &str = "2147483647";

/// Compression codecs a topic may be stored with (`producer`: keep the producer's).
pub const COMPRESSION_TYPES: &[&str] =
    &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];
/// Allowed `message.timestamp.type` values.
pub const TIMESTAMP_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];
/// Allowed `cleanup.policy` items.
pub const CLEANUP_POLICIES: &[&str] = &["compact", "delete"];

/// Every broker config Weir knows, with Kafka's (3.x) defaults except where Weir's single-node
/// embedded default differs (marked "Weir:").
pub static BROKER_CONFIGS: &[BrokerConfigDef] = &[
    def(
        "node.id",
        Int,
        Some("1"),
        AtLeast(0),
        "The node id of this server (Weir: 1 by default).",
    ),
    def(
        "broker.id",
        Int,
        None,
        AtLeast(0),
        "Legacy name of node.id; must match it when both are set.",
    ),
    def(
        "process.roles",
        List,
        Some("broker,controller"),
        ListOf(&["broker", "controller"]),
        "The roles this process plays (Weir: broker,controller).",
    ),
    def(
        "controller.quorum.voters",
        List,
        None,
        Any,
        "id@host:port of the controller quorum voters.",
    ),
    def(
        "controller.quorum.bootstrap.servers",
        List,
        None,
        Any,
        "host:port of controllers to bootstrap from.",
    ),
    def(
        "controller.listener.names",
        List,
        None,
        Any,
        "Listener names used by the controller.",
    ),
    def(
        "cluster.id",
        Str,
        None,
        Any,
        "The cluster id (normally kept in meta.properties).",
    ),
    def(
        "listeners",
        Str,
        Some("PLAINTEXT://127.0.0.1:9092"),
        Any,
        "Listeners as NAME://host:port (Weir: PLAINTEXT://127.0.0.1:9092).",
    ),
    def(
        "advertised.listeners",
        Str,
        None,
        Any,
        "Listeners published to clients; defaults to listeners.",
    ),
    def(
        "listener.security.protocol.map",
        Str,
        Some("SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT"),
        Any,
        "Listener name to security protocol.",
    ),
    def(
        "inter.broker.listener.name",
        Str,
        None,
        Any,
        "Listener used between brokers.",
    ),
    def("broker.rack", Str, None, Any, "Rack of this broker."),
    def(
        "log.dirs",
        Str,
        None,
        Any,
        "Comma-separated data directories; log.dir is used when unset.",
    ),
    def(
        "log.dir",
        Str,
        Some("./weir-data"),
        Any,
        "The data directory (Weir: ./weir-data).",
    ),
    def(
        "metadata.log.dir",
        Str,
        None,
        Any,
        "Directory of the metadata log; the first log dir when unset.",
    ),
    def(
        "num.partitions",
        Int,
        Some("1"),
        AtLeast(1),
        "Default number of partitions of a new topic.",
    ),
    def(
        "default.replication.factor",
        Int,
        Some("1"),
        AtLeast(1),
        "Default replication factor of a new topic.",
    ),
    def(
        "min.insync.replicas",
        Int,
        Some("1"),
        AtLeast(1),
        "Minimum ISR size for acks=all.",
    ),
    def(
        "auto.create.topics.enable",
        Boolean,
        Some("true"),
        Any,
        "Create a topic on first metadata request or produce.",
    ),
    def(
        "delete.topic.enable",
        Boolean,
        Some("true"),
        Any,
        "Allow DeleteTopics.",
    ),
    def(
        "auto.leader.rebalance.enable",
        Boolean,
        Some("true"),
        Any,
        "Move leadership back to preferred replicas.",
    ),
    def(
        "unclean.leader.election.enable",
        Boolean,
        Some("false"),
        Any,
        "Allow electing a leader outside the ISR.",
    ),
    def(
        "compression.type",
        Str,
        Some("producer"),
        OneOf(COMPRESSION_TYPES),
        "Default compression of topics.",
    ),
    def(
        "log.retention.hours",
        Int,
        Some("168"),
        Any,
        "Retention time in hours (lowest precedence).",
    ),
    def(
        "log.retention.minutes",
        Int,
        None,
        Any,
        "Retention time in minutes.",
    ),
    def(
        "log.retention.ms",
        Long,
        None,
        Any,
        "Retention time in ms (highest precedence); -1 = no limit.",
    ),
    def(
        "log.retention.bytes",
        Long,
        Some("-1"),
        Any,
        "Maximum partition size before deleting old segments.",
    ),
    def(
        "log.retention.check.interval.ms",
        Long,
        Some("300000"),
        AtLeast(1),
        "How often retention is checked.",
    ),
    def(
        "log.segment.bytes",
        Int,
        Some("1073741824"),
        AtLeast(14),
        "Maximum size of a segment file.",
    ),
    def(
        "log.roll.hours",
        Int,
        Some("168"),
        AtLeast(1),
        "Maximum segment age in hours.",
    ),
    def("log.roll.ms", Long, None, Any, "Maximum segment age in ms."),
    def(
        "log.roll.jitter.hours",
        Int,
        Some("0"),
        AtLeast(0),
        "Maximum jitter subtracted from the roll time, hours.",
    ),
    def(
        "log.roll.jitter.ms",
        Long,
        None,
        Any,
        "Maximum jitter subtracted from the roll time, ms.",
    ),
    def(
        "log.index.interval.bytes",
        Int,
        Some("4096"),
        AtLeast(0),
        "Bytes between offset index entries.",
    ),
    def(
        "log.index.size.max.bytes",
        Int,
        Some("10485760"),
        AtLeast(4),
        "Maximum size of an offset index.",
    ),
    def(
        "log.flush.interval.messages",
        Long,
        Some(LONG_MAX),
        AtLeast(1),
        "Messages before a forced fsync.",
    ),
    def(
        "log.flush.interval.ms",
        Long,
        None,
        Any,
        "Ms before a forced fsync; log.flush.scheduler.interval.ms when unset.",
    ),
    def(
        "log.flush.scheduler.interval.ms",
        Long,
        Some(LONG_MAX),
        Any,
        "How often the flusher checks.",
    ),
    def(
        "log.flush.offset.checkpoint.interval.ms",
        Int,
        Some("60000"),
        AtLeast(0),
        "How often the recovery point is checkpointed.",
    ),
    def(
        "log.cleanup.policy",
        List,
        Some("delete"),
        ListOf(CLEANUP_POLICIES),
        "Default cleanup policy.",
    ),
    def(
        "log.cleaner.enable",
        Boolean,
        Some("true"),
        Any,
        "Run the log cleaner (compaction).",
    ),
    def(
        "log.cleaner.threads",
        Int,
        Some("1"),
        AtLeast(0),
        "Log cleaner threads.",
    ),
    def(
        "log.cleaner.dedupe.buffer.size",
        Long,
        Some("134217728"),
        AtLeast(0),
        "The total memory used for log deduplication across all cleaner threads.",
    ),
    def(
        "log.cleaner.io.buffer.load.factor",
        Double,
        Some("0.9"),
        DoubleBetween(0.0, 1.0),
        "How full the cleaner's deduplication buffer may get.",
    ),
    def(
        "log.cleaner.io.max.bytes.per.second",
        Double,
        Some("1.7976931348623157E308"),
        DoubleBetween(0.0, f64::MAX),
        "The log cleaner will be throttled so that the sum of its read and write i/o will be less than this value on average.",
    ),
    def(
        "log.cleaner.backoff.ms",
        Long,
        Some("15000"),
        AtLeast(0),
        "How long the cleaner sleeps when no log needs cleaning.",
    ),
    def(
        "log.cleaner.delete.retention.ms",
        Long,
        Some("86400000"),
        AtLeast(0),
        "How long tombstones are kept.",
    ),
    def(
        "log.cleaner.min.compaction.lag.ms",
        Long,
        Some("0"),
        AtLeast(0),
        "Minimum age before a message is compacted.",
    ),
    def(
        "log.cleaner.max.compaction.lag.ms",
        Long,
        Some(LONG_MAX),
        AtLeast(1),
        "Maximum age before a message is compacted.",
    ),
    def(
        "log.cleaner.min.cleanable.ratio",
        Double,
        Some("0.5"),
        DoubleBetween(0.0, 1.0),
        "Dirty ratio that triggers cleaning.",
    ),
    def(
        "log.segment.delete.delay.ms",
        Long,
        Some("60000"),
        AtLeast(0),
        "Delay before a deleted segment's file is removed.",
    ),
    def(
        "log.preallocate",
        Boolean,
        Some("false"),
        Any,
        "Preallocate segment files.",
    ),
    def(
        "log.message.timestamp.type",
        Str,
        Some("CreateTime"),
        OneOf(TIMESTAMP_TYPES),
        "Default timestamp type.",
    ),
    def(
        "log.message.timestamp.difference.max.ms",
        Long,
        Some(LONG_MAX),
        AtLeast(0),
        "Deprecated: maximum timestamp difference.",
    ),
    def(
        "log.message.timestamp.before.max.ms",
        Long,
        Some(LONG_MAX),
        AtLeast(0),
        "Maximum age of a record timestamp.",
    ),
    def(
        "log.message.timestamp.after.max.ms",
        Long,
        Some(LONG_MAX),
        AtLeast(0),
        "Maximum future skew of a record timestamp.",
    ),
    def(
        "log.message.downconversion.enable",
        Boolean,
        Some("true"),
        Any,
        "Down-convert for old fetch versions.",
    ),
    def(
        "message.max.bytes",
        Int,
        Some("1048588"),
        AtLeast(0),
        "Largest record batch accepted.",
    ),
    def(
        "socket.request.max.bytes",
        Int,
        Some("104857600"),
        AtLeast(1),
        "Largest request accepted.",
    ),
    def(
        "socket.send.buffer.bytes",
        Int,
        Some("102400"),
        Any,
        "SO_SNDBUF; -1 = OS default.",
    ),
    def(
        "socket.receive.buffer.bytes",
        Int,
        Some("102400"),
        Any,
        "SO_RCVBUF; -1 = OS default.",
    ),
    def(
        "num.network.threads",
        Int,
        Some("3"),
        AtLeast(1),
        "Network threads.",
    ),
    def(
        "num.io.threads",
        Int,
        Some("8"),
        AtLeast(1),
        "Request handler threads.",
    ),
    def(
        "num.recovery.threads.per.data.dir",
        Int,
        Some("1"),
        AtLeast(1),
        "Threads for log recovery per data dir.",
    ),
    def(
        "background.threads",
        Int,
        Some("10"),
        AtLeast(1),
        "Background task threads.",
    ),
    def(
        "queued.max.requests",
        Int,
        Some("500"),
        AtLeast(1),
        "Requests queued before blocking network threads.",
    ),
    def(
        "max.connections",
        Int,
        Some(INT_MAX),
        AtLeast(0),
        "Maximum connections.",
    ),
    def(
        "connections.max.idle.ms",
        Long,
        Some("600000"),
        Any,
        "Idle connections are closed after this.",
    ),
    def(
        "fetch.max.bytes",
        Int,
        Some("57671680"),
        AtLeast(1024),
        "Maximum bytes of a fetch response.",
    ),
    def(
        "offsets.topic.num.partitions",
        Int,
        Some("50"),
        AtLeast(1),
        "Partitions of __consumer_offsets.",
    ),
    def(
        "offsets.topic.replication.factor",
        Short,
        Some("1"),
        AtLeast(1),
        "Replication factor of __consumer_offsets (Weir: 1; Kafka: 3).",
    ),
    def(
        "offsets.topic.segment.bytes",
        Int,
        Some("104857600"),
        AtLeast(1),
        "Segment size of __consumer_offsets.",
    ),
    def(
        "offsets.retention.minutes",
        Int,
        Some("10080"),
        AtLeast(1),
        "How long committed offsets of empty groups are kept.",
    ),
    def(
        "transaction.state.log.num.partitions",
        Int,
        Some("50"),
        AtLeast(1),
        "Partitions of __transaction_state.",
    ),
    def(
        "transaction.state.log.replication.factor",
        Short,
        Some("1"),
        AtLeast(1),
        "Replication factor of __transaction_state (Weir: 1; Kafka: 3).",
    ),
    def(
        "transaction.state.log.min.isr",
        Int,
        Some("1"),
        AtLeast(1),
        "min.insync.replicas of __transaction_state (Weir: 1; Kafka: 2).",
    ),
    def(
        "transaction.max.timeout.ms",
        Int,
        Some("900000"),
        AtLeast(1),
        "Largest transaction timeout a producer may ask for.",
    ),
    def(
        "transactional.id.expiration.ms",
        Int,
        Some("604800000"),
        AtLeast(1),
        "Idle time before a transactional id expires.",
    ),
    def(
        "producer.id.expiration.ms",
        Int,
        Some("86400000"),
        AtLeast(1),
        "Idle time before an idempotent producer's state expires.",
    ),
    def(
        "group.initial.rebalance.delay.ms",
        Int,
        Some("3000"),
        Any,
        "Delay of the first rebalance of a new group.",
    ),
    def(
        "group.min.session.timeout.ms",
        Int,
        Some("6000"),
        Any,
        "Smallest session timeout allowed.",
    ),
    def(
        "group.max.session.timeout.ms",
        Int,
        Some("1800000"),
        Any,
        "Largest session timeout allowed.",
    ),
    def(
        "group.max.size",
        Int,
        Some(INT_MAX),
        AtLeast(1),
        "Maximum members of a group.",
    ),
    def(
        "group.consumer.session.timeout.ms",
        Int,
        Some("45000"),
        AtLeast(1),
        "Session timeout of consumer-protocol (KIP-848) group members.",
    ),
    def(
        "group.consumer.heartbeat.interval.ms",
        Int,
        Some("5000"),
        AtLeast(1),
        "Heartbeat interval given to consumer-protocol (KIP-848) group members.",
    ),
    def(
        "group.consumer.assignors",
        List,
        Some("uniform,range"),
        ListOf(&["uniform", "range"]),
        "Server-side assignors of consumer-protocol groups; the first is the default.",
    ),
    def(
        "group.consumer.max.size",
        Int,
        Some(INT_MAX),
        AtLeast(1),
        "Maximum members of a consumer-protocol group.",
    ),
    def(
        "replica.lag.time.max.ms",
        Long,
        Some("30000"),
        Any,
        "Follower lag before it leaves the ISR.",
    ),
    def(
        "replica.fetch.max.bytes",
        Int,
        Some("1048576"),
        AtLeast(0),
        "Bytes per partition a follower fetches.",
    ),
    def(
        "replica.fetch.min.bytes",
        Int,
        Some("1"),
        Any,
        "Minimum bytes of a follower fetch.",
    ),
    def(
        "replica.fetch.wait.max.ms",
        Int,
        Some("500"),
        Any,
        "Maximum wait of a follower fetch.",
    ),
    def(
        "num.replica.fetchers",
        Int,
        Some("1"),
        Any,
        "Follower fetcher threads per source broker.",
    ),
    def(
        "replica.high.watermark.checkpoint.interval.ms",
        Long,
        Some("5000"),
        Any,
        "How often high watermarks are checkpointed.",
    ),
];

/// The definition of a broker config key.
pub fn broker_config_def(key: &str) -> Option<&'static BrokerConfigDef> {
    BROKER_CONFIGS.iter().find(|d| d.name == key)
}

/// Whether a broker config may be changed at run time (a dynamic broker config): in Weir, the
/// broker-level defaults of topic configs (`log.retention.ms`, `log.segment.bytes`, ...), which
/// Kafka also allows to update dynamically. Everything else needs a restart.
pub fn is_dynamic_broker_config(key: &str) -> bool {
    super::topic::TOPIC_CONFIGS
        .iter()
        .any(|d| d.synonyms.iter().any(|s| s.name == key))
}

/// A listener: `NAME://host:port`. An empty host means all interfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub host: String,
    pub port: u16,
}

/// Parses a `listeners` value: comma-separated `NAME://host:port` (IPv6 hosts in brackets).
pub fn parse_listeners(key: &str, value: &str) -> Result<Vec<Listener>, ConfigError> {
    let mut listeners: Vec<Listener> = Vec::new();
    for item in parse_list(value) {
        let bad = |reason: &str| ConfigError::invalid(key, value, format!("'{item}': {reason}"));
        let (name, address) = item
            .split_once("://")
            .ok_or_else(|| bad("expected NAME://host:port"))?;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad("listener name must be letters, digits or _"));
        }
        let (host, port) = if let Some(rest) = address.strip_prefix('[') {
            let (host, port) = rest
                .split_once("]:")
                .ok_or_else(|| bad("expected [ipv6]:port"))?;
            (host, port)
        } else {
            address
                .rsplit_once(':')
                .ok_or_else(|| bad("expected host:port"))?
        };
        let port = port
            .parse::<u16>()
            .map_err(|_| bad("port must be a number from 0 to 65535"))?;
        let name = name.to_ascii_uppercase();
        if listeners.iter().any(|l| l.name == name) {
            return Err(bad("each listener must have a different name"));
        }
        listeners.push(Listener {
            name,
            host: host.to_string(),
            port,
        });
    }
    if listeners.is_empty() {
        return Err(ConfigError::invalid(key, value, "no listener given"));
    }
    Ok(listeners)
}

/// Parses `java.util.Properties` text: `key=value`, `key: value` or `key value`, `#`/`!`
/// comment lines, `\` line continuations and `\t \n \r \\ \uXXXX` escapes. Keys and values are
/// trimmed. Later duplicates win when applied in order.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        // Join continuation lines: an odd number of trailing backslashes continues the line.
        let mut logical = trimmed.to_string();
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some(next) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        let key = unescape(key.trim());
        if key.is_empty() {
            continue;
        }
        out.push((key, unescape(value.trim())));
    }
    out
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => return (&line[..i], &line[i + 1..]),
            c if c.is_whitespace() => {
                let rest = line[i..].trim_start();
                let rest = rest
                    .strip_prefix('=')
                    .or_else(|| rest.strip_prefix(':'))
                    .unwrap_or(rest);
                return (&line[..i], rest);
            }
            _ => {}
        }
    }
    (line, "")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push('u');
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Parses one `--override key=value` argument.
pub fn parse_override(arg: &str) -> Result<(String, String), ConfigError> {
    match arg.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(ConfigError::InvalidOverride {
            arg: arg.to_string(),
        }),
    }
}

/// The broker's configuration. Every known key that is set has been validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerConfig {
    /// Keys set explicitly, with their source (`StaticBroker` or `DynamicBroker`).
    values: BTreeMap<String, (String, ConfigSource)>,
    unknown: Vec<String>,
}

impl BrokerConfig {
    /// All defaults: Weir's embedded single-node configuration.
    pub fn new() -> BrokerConfig {
        BrokerConfig::default()
    }

    /// Parses properties text, then applies `overrides` (each `key=value`) on top.
    pub fn from_properties(text: &str, overrides: &[String]) -> Result<BrokerConfig, ConfigError> {
        let mut config = BrokerConfig::new();
        for (key, value) in parse_properties(text) {
            config.set(&key, &value, ConfigSource::StaticBroker)?;
        }
        for arg in overrides {
            let (key, value) = parse_override(arg)?;
            config.set(&key, &value, ConfigSource::StaticBroker)?;
        }
        config.check()?;
        Ok(config)
    }

    /// Reads `path` (when given) as `server.properties`, then applies `overrides`.
    pub fn load(path: Option<&Path>, overrides: &[String]) -> Result<BrokerConfig, ConfigError> {
        let text = match path {
            Some(path) => std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
                path: path.to_path_buf(),
                source,
            })?,
            None => String::new(),
        };
        BrokerConfig::from_properties(&text, overrides)
    }

    /// Sets one key, validating it when known; unknown keys are kept and reported.
    pub fn set(&mut self, key: &str, value: &str, source: ConfigSource) -> Result<(), ConfigError> {
        match broker_config_def(key) {
            Some(def) => {
                validate_value(key, def.config_type, def.validator, value)?;
                if matches!(key, "listeners" | "advertised.listeners") {
                    parse_listeners(key, value)?;
                }
            }
            None => {
                if !self.unknown.iter().any(|k| k == key) {
                    self.unknown.push(key.to_string());
                }
            }
        }
        self.values
            .insert(key.to_string(), (value.trim().to_string(), source));
        Ok(())
    }

    /// Checks rules that span keys.
    fn check(&self) -> Result<(), ConfigError> {
        if let (Some((node, _)), Some((broker, _))) =
            (self.values.get("node.id"), self.values.get("broker.id"))
        {
            if node.parse::<i32>().ok() != broker.parse::<i32>().ok() {
                return Err(ConfigError::invalid(
                    "broker.id",
                    broker,
                    format!("must match node.id ({node}) when both are set"),
                ));
            }
        }
        Ok(())
    }

    /// A copy with `dynamic` (a broker's dynamic configs from the metadata image) applied on
    /// top as `DynamicBroker`. Invalid dynamic values are skipped with a warning (they were
    /// validated when committed).
    pub fn with_dynamic(&self, dynamic: &BTreeMap<String, String>) -> BrokerConfig {
        let mut config = self.clone();
        for (key, value) in dynamic {
            if let Err(e) = config.set(key, value, ConfigSource::DynamicBroker) {
                tracing::warn!(%e, "ignoring invalid dynamic broker config");
            }
        }
        config
    }

    /// Keys that are not Weir broker configs, in first-seen order (the caller warns).
    pub fn unknown_keys(&self) -> &[String] {
        &self.unknown
    }

    /// The raw value of a key: explicitly set, else its default.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.explicit(key)
            .map(|(v, _)| v)
            .or_else(|| broker_config_def(key).and_then(|d| d.default))
    }

    /// The value and source of a key only when set explicitly (file, override or dynamic).
    pub fn explicit(&self, key: &str) -> Option<(&str, ConfigSource)> {
        self.values.get(key).map(|(v, s)| (v.as_str(), *s))
    }

    /// Explicitly set keys and values, known and unknown.
    pub fn explicit_values(&self) -> impl Iterator<Item = (&str, &str, ConfigSource)> {
        self.values
            .iter()
            .map(|(k, (v, s))| (k.as_str(), v.as_str(), *s))
    }

    /// A numeric key's value. Known keys were validated when set, so parsing only falls back
    /// to `fallback` for a key without value or default.
    fn number<T: std::str::FromStr + Copy>(&self, key: &str, fallback: T) -> T {
        self.get(key)
            .and_then(|v| v.trim().parse::<T>().ok())
            .unwrap_or(fallback)
    }

    fn boolean(&self, key: &str, fallback: bool) -> bool {
        self.get(key)
            .map_or(fallback, |v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// DescribeConfigs entries for this broker: every known broker config, in table order,
    /// with its value, source, and synonyms (the explicit value, then the default).
    pub fn describe(&self) -> Vec<ConfigEntry> {
        BROKER_CONFIGS
            .iter()
            .map(|def| {
                let mut synonyms = Vec::new();
                if let Some((v, source)) = self.explicit(def.name) {
                    synonyms.push(ConfigSynonym {
                        name: def.name.to_string(),
                        value: Some(v.to_string()),
                        source,
                    });
                }
                if let Some(v) = def.default {
                    synonyms.push(ConfigSynonym {
                        name: def.name.to_string(),
                        value: Some(v.to_string()),
                        source: ConfigSource::Default,
                    });
                }
                ConfigEntry {
                    name: def.name.to_string(),
                    value: self.get(def.name).map(str::to_string),
                    source: self
                        .explicit(def.name)
                        .map_or(ConfigSource::Default, |(_, s)| s),
                    read_only: !is_dynamic_broker_config(def.name),
                    sensitive: false,
                    synonyms,
                    config_type: def.config_type,
                    documentation: Some(def.documentation.to_string()),
                }
            })
            .collect()
    }

    /// `node.id`, else `broker.id`, else 1.
    pub fn node_id(&self) -> i32 {
        match (self.explicit("node.id"), self.explicit("broker.id")) {
            (None, Some(_)) => self.number("broker.id", 1),
            _ => self.number("node.id", 1),
        }
    }

    /// `listeners`.
    pub fn listeners(&self) -> Vec<Listener> {
        self.get("listeners")
            .and_then(|v| parse_listeners("listeners", v).ok())
            .unwrap_or_default()
    }

    /// `advertised.listeners`, else `listeners`. A listener with an empty host is returned
    /// as is; the caller substitutes a reachable host name.
    pub fn advertised_listeners(&self) -> Vec<Listener> {
        match self.get("advertised.listeners") {
            Some(v) => parse_listeners("advertised.listeners", v).unwrap_or_default(),
            None => self.listeners(),
        }
    }

    /// `listener.security.protocol.map` as listener name -> security protocol.
    pub fn listener_security_protocol_map(&self) -> BTreeMap<String, String> {
        self.get("listener.security.protocol.map")
            .map(parse_list)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|pair| pair.split_once(':'))
            .map(|(l, p)| (l.trim().to_ascii_uppercase(), p.trim().to_ascii_uppercase()))
            .collect()
    }

    /// `log.dirs`, else `log.dir`.
    pub fn log_dirs(&self) -> Vec<PathBuf> {
        let value = self
            .get("log.dirs")
            .or_else(|| self.get("log.dir"))
            .unwrap_or("./weir-data");
        parse_list(value).into_iter().map(PathBuf::from).collect()
    }

    /// `metadata.log.dir`, else the first log dir: where the metadata log lives.
    pub fn metadata_log_dir(&self) -> PathBuf {
        self.get("metadata.log.dir")
            .map(PathBuf::from)
            .or_else(|| self.log_dirs().into_iter().next())
            .unwrap_or_else(|| PathBuf::from("./weir-data"))
    }

    pub fn num_partitions(&self) -> i32 {
        self.number("num.partitions", 1)
    }

    pub fn default_replication_factor(&self) -> i16 {
        let rf: i32 = self.number("default.replication.factor", 1);
        i16::try_from(rf).unwrap_or(i16::MAX)
    }

    pub fn min_insync_replicas(&self) -> i32 {
        self.number("min.insync.replicas", 1)
    }

    pub fn auto_create_topics_enable(&self) -> bool {
        self.boolean("auto.create.topics.enable", true)
    }

    pub fn delete_topic_enable(&self) -> bool {
        self.boolean("delete.topic.enable", true)
    }

    pub fn unclean_leader_election_enable(&self) -> bool {
        self.boolean("unclean.leader.election.enable", false)
    }

    pub fn socket_request_max_bytes(&self) -> i32 {
        self.number("socket.request.max.bytes", 104_857_600)
    }

    pub fn message_max_bytes(&self) -> i32 {
        self.number("message.max.bytes", 1_048_588)
    }

    pub fn num_network_threads(&self) -> i32 {
        self.number("num.network.threads", 3)
    }

    pub fn num_io_threads(&self) -> i32 {
        self.number("num.io.threads", 8)
    }

    pub fn offsets_topic_num_partitions(&self) -> i32 {
        self.number("offsets.topic.num.partitions", 50)
    }

    pub fn offsets_topic_replication_factor(&self) -> i16 {
        self.number("offsets.topic.replication.factor", 1)
    }

    pub fn transaction_state_log_num_partitions(&self) -> i32 {
        self.number("transaction.state.log.num.partitions", 50)
    }

    pub fn transaction_state_log_replication_factor(&self) -> i16 {
        self.number("transaction.state.log.replication.factor", 1)
    }

    pub fn group_initial_rebalance_delay_ms(&self) -> i32 {
        self.number("group.initial.rebalance.delay.ms", 3000)
    }

    pub fn group_min_session_timeout_ms(&self) -> i32 {
        self.number("group.min.session.timeout.ms", 6000)
    }

    pub fn group_max_session_timeout_ms(&self) -> i32 {
        self.number("group.max.session.timeout.ms", 1_800_000)
    }

    pub fn group_consumer_session_timeout_ms(&self) -> i32 {
        self.number("group.consumer.session.timeout.ms", 45_000)
    }

    pub fn group_consumer_heartbeat_interval_ms(&self) -> i32 {
        self.number("group.consumer.heartbeat.interval.ms", 5000)
    }

    /// `group.consumer.assignors`: server-side assignor names, the default first.
    pub fn group_consumer_assignors(&self) -> Vec<String> {
        let names: Vec<String> = self
            .get("group.consumer.assignors")
            .unwrap_or("uniform,range")
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if names.is_empty() {
            vec!["uniform".to_string(), "range".to_string()]
        } else {
            names
        }
    }

    pub fn replica_lag_time_max_ms(&self) -> i64 {
        self.number("replica.lag.time.max.ms", 30_000)
    }

    pub fn log_retention_check_interval_ms(&self) -> i64 {
        self.number("log.retention.check.interval.ms", 300_000)
    }

    pub fn process_roles(&self) -> Vec<String> {
        self.get("process.roles")
            .map(parse_list)
            .unwrap_or_default()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    pub fn cluster_id(&self) -> Option<&str> {
        self.get("cluster.id")
    }

    pub fn broker_rack(&self) -> Option<&str> {
        self.get("broker.rack")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_weirs_single_node() {
        let c = BrokerConfig::new();
        assert_eq!(c.node_id(), 1);
        assert_eq!(
            c.listeners(),
            vec![Listener {
                name: "PLAINTEXT".into(),
                host: "127.0.0.1".into(),
                port: 9092
            }]
        );
        assert_eq!(c.advertised_listeners(), c.listeners());
        assert_eq!(c.log_dirs(), vec![PathBuf::from("./weir-data")]);
        assert_eq!(c.num_partitions(), 1);
        assert_eq!(c.default_replication_factor(), 1);
        assert!(c.auto_create_topics_enable());
        assert_eq!(c.socket_request_max_bytes(), 104_857_600);
        assert_eq!(c.message_max_bytes(), 1_048_588);
        assert_eq!(c.offsets_topic_replication_factor(), 1);
        assert_eq!(c.get("log.flush.interval.ms"), None);
        assert_eq!(c.get("log.flush.interval.messages"), Some(LONG_MAX));
        assert!(c.unknown_keys().is_empty());
    }

    #[test]
    fn every_default_is_valid() -> Result<(), ConfigError> {
        for d in BROKER_CONFIGS {
            if let Some(v) = d.default {
                validate_value(d.name, d.config_type, d.validator, v)?;
            }
        }
        Ok(())
    }

    #[test]
    fn properties_syntax() {
        let text =
            "# comment\n! also comment\n  a=1\nb : 2\nc 3\nd=\\\n   continued\ne = x\\ty \n\nf\n";
        let got = parse_properties(text);
        let want: Vec<(String, String)> = [
            ("a", "1"),
            ("b", "2"),
            ("c", "3"),
            ("d", "continued"),
            ("e", "x\ty"),
            ("f", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn describe_reports_sources() -> Result<(), ConfigError> {
        let c = BrokerConfig::from_properties("num.partitions=4", &[])?
            .with_dynamic(&[("log.retention.ms".to_string(), "5".to_string())].into());
        let entries = c.describe();
        assert_eq!(entries.len(), BROKER_CONFIGS.len());
        let get = |n: &str| entries.iter().find(|e| e.name == n).cloned();
        let np = get("num.partitions");
        assert_eq!(np.as_ref().and_then(|e| e.value.as_deref()), Some("4"));
        assert_eq!(
            np.as_ref().map(|e| (e.source, e.read_only)),
            Some((ConfigSource::StaticBroker, true))
        );
        assert_eq!(np.map(|e| e.synonyms.len()), Some(2));
        let rm = get("log.retention.ms");
        assert_eq!(
            rm.as_ref().map(|e| (e.source, e.read_only)),
            Some((ConfigSource::DynamicBroker, false))
        );
        let fl = get("log.flush.interval.ms");
        assert_eq!(
            fl.map(|e| (e.value, e.source)),
            Some((None, ConfigSource::Default))
        );
        Ok(())
    }

    #[test]
    fn listeners_parse() -> Result<(), ConfigError> {
        let l = parse_listeners("listeners", "PLAINTEXT://:9092, internal://[::1]:9093")?;
        assert_eq!(l[0].host, "");
        assert_eq!(l[1].name, "INTERNAL");
        assert_eq!(l[1].host, "::1");
        assert_eq!(l[1].port, 9093);
        for bad in [
            "localhost:9092",
            "PLAINTEXT://host",
            "PLAINTEXT://h:99999",
            "A://h:1,A://h:2",
            "",
        ] {
            assert!(parse_listeners("listeners", bad).is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn node_id_and_broker_id() -> Result<(), ConfigError> {
        assert_eq!(
            BrokerConfig::from_properties("broker.id=7", &[])?.node_id(),
            7
        );
        assert_eq!(
            BrokerConfig::from_properties("node.id=3\nbroker.id=3", &[])?.node_id(),
            3
        );
        assert!(BrokerConfig::from_properties("node.id=3\nbroker.id=4", &[]).is_err());
        Ok(())
    }
}
