//! Topic-level configs: Kafka's names, types, defaults, allowed values and broker synonyms;
//! resolution of a topic's effective values; DescribeConfigs entries.
//!
//! A topic's effective value of a config is, highest precedence first: the topic's override
//! (`DYNAMIC_TOPIC_CONFIG`), the first broker synonym that is set (dynamic broker, then
//! `server.properties` / `--override`), the default. Defaults are Kafka 3.x's.

use std::collections::BTreeMap;

use super::broker::{
    broker_config_def, BrokerConfig, CLEANUP_POLICIES, COMPRESSION_TYPES, TIMESTAMP_TYPES,
};
use super::{
    parse_list, validate_value, ConfigEntry, ConfigError, ConfigSource, ConfigSynonym, ConfigType,
    Validator,
};

/// A broker-level config that sets a topic config's default, with the factor converting its
/// unit to the topic config's (e.g. hours -> ms: 3_600_000; 1 = same unit or not numeric).
#[derive(Debug, Clone, Copy)]
pub struct BrokerSynonym {
    pub name: &'static str,
    pub factor: i64,
}

/// Definition of one topic config.
#[derive(Debug, Clone, Copy)]
pub struct TopicConfigDef {
    pub name: &'static str,
    pub config_type: ConfigType,
    pub default: &'static str,
    pub validator: Validator,
    /// Broker synonyms, highest precedence first.
    pub synonyms: &'static [BrokerSynonym],
    pub sensitive: bool,
    pub documentation: &'static str,
}

const fn syn(name: &'static str) -> BrokerSynonym {
    BrokerSynonym { name, factor: 1 }
}

const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;
const LONG_MAX: &str = "9223372036854775807";

const fn def(
    name: &'static str,
    config_type: ConfigType,
    default: &'static str,
    validator: Validator,
    synonyms: &'static [BrokerSynonym],
    documentation: &'static str,
) -> TopicConfigDef {
    TopicConfigDef {
        name,
        config_type,
        default,
        validator,
        synonyms,
        sensitive: false,
        documentation,
    }
}

use ConfigType::{Boolean, Double, Int, List, Long, String as Str};
use Validator::{Any, AtLeast, DoubleBetween, ListOf, OneOf};

/// Every topic config Weir knows.
pub static TOPIC_CONFIGS: &[TopicConfigDef] = &[
    def(
        "cleanup.policy",
        List,
        "delete",
        ListOf(CLEANUP_POLICIES),
        &[syn("log.cleanup.policy")],
        "delete, compact, or both.",
    ),
    def(
        "compression.type",
        Str,
        "producer",
        OneOf(COMPRESSION_TYPES),
        &[syn("compression.type")],
        "Compression of stored batches; producer keeps the producer's codec.",
    ),
    def(
        "delete.retention.ms",
        Long,
        "86400000",
        AtLeast(0),
        &[syn("log.cleaner.delete.retention.ms")],
        "How long tombstones are kept on compacted topics.",
    ),
    def(
        "file.delete.delay.ms",
        Long,
        "60000",
        AtLeast(0),
        &[syn("log.segment.delete.delay.ms")],
        "Delay before a deleted segment's file is removed.",
    ),
    def(
        "flush.messages",
        Long,
        LONG_MAX,
        AtLeast(1),
        &[syn("log.flush.interval.messages")],
        "Messages between forced fsyncs.",
    ),
    def(
        "flush.ms",
        Long,
        LONG_MAX,
        AtLeast(0),
        &[syn("log.flush.interval.ms")],
        "Milliseconds between forced fsyncs.",
    ),
    def(
        "index.interval.bytes",
        Int,
        "4096",
        AtLeast(0),
        &[syn("log.index.interval.bytes")],
        "Bytes between offset index entries.",
    ),
    def(
        "max.compaction.lag.ms",
        Long,
        LONG_MAX,
        AtLeast(1),
        &[syn("log.cleaner.max.compaction.lag.ms")],
        "Maximum time a message stays uncompacted.",
    ),
    def(
        "max.message.bytes",
        Int,
        "1048588",
        AtLeast(0),
        &[syn("message.max.bytes")],
        "Largest record batch accepted.",
    ),
    def(
        "message.downconversion.enable",
        Boolean,
        "true",
        Any,
        &[syn("log.message.downconversion.enable")],
        "Down-convert batches for old fetch versions.",
    ),
    def(
        "message.timestamp.after.max.ms",
        Long,
        LONG_MAX,
        AtLeast(0),
        &[syn("log.message.timestamp.after.max.ms")],
        "How far in the future a CreateTime timestamp may be.",
    ),
    def(
        "message.timestamp.before.max.ms",
        Long,
        LONG_MAX,
        AtLeast(0),
        &[syn("log.message.timestamp.before.max.ms")],
        "How far in the past a CreateTime timestamp may be.",
    ),
    def(
        "message.timestamp.difference.max.ms",
        Long,
        LONG_MAX,
        AtLeast(0),
        &[syn("log.message.timestamp.difference.max.ms")],
        "Deprecated: used for before/after.max.ms when those are unset.",
    ),
    def(
        "message.timestamp.type",
        Str,
        "CreateTime",
        OneOf(TIMESTAMP_TYPES),
        &[syn("log.message.timestamp.type")],
        "CreateTime or LogAppendTime.",
    ),
    def(
        "min.cleanable.dirty.ratio",
        Double,
        "0.5",
        DoubleBetween(0.0, 1.0),
        &[syn("log.cleaner.min.cleanable.ratio")],
        "Dirty ratio that makes a log eligible for cleaning.",
    ),
    def(
        "min.compaction.lag.ms",
        Long,
        "0",
        AtLeast(0),
        &[syn("log.cleaner.min.compaction.lag.ms")],
        "Minimum time a message stays uncompacted.",
    ),
    def(
        "min.insync.replicas",
        Int,
        "1",
        AtLeast(1),
        &[syn("min.insync.replicas")],
        "Minimum ISR size for acks=all.",
    ),
    def(
        "preallocate",
        Boolean,
        "false",
        Any,
        &[syn("log.preallocate")],
        "Preallocate segment files.",
    ),
    def(
        "retention.bytes",
        Long,
        "-1",
        Any,
        &[syn("log.retention.bytes")],
        "Maximum partition size before old segments are deleted; -1 = no limit.",
    ),
    def(
        "retention.ms",
        Long,
        "604800000",
        AtLeast(-1),
        &[
            syn("log.retention.ms"),
            BrokerSynonym {
                name: "log.retention.minutes",
                factor: MINUTE_MS,
            },
            BrokerSynonym {
                name: "log.retention.hours",
                factor: HOUR_MS,
            },
        ],
        "How long data is kept; -1 = no limit.",
    ),
    def(
        "segment.bytes",
        Int,
        "1073741824",
        AtLeast(14),
        &[syn("log.segment.bytes")],
        "Maximum segment file size.",
    ),
    def(
        "segment.index.bytes",
        Int,
        "10485760",
        AtLeast(4),
        &[syn("log.index.size.max.bytes")],
        "Maximum offset index size.",
    ),
    def(
        "segment.jitter.ms",
        Long,
        "0",
        AtLeast(0),
        &[
            syn("log.roll.jitter.ms"),
            BrokerSynonym {
                name: "log.roll.jitter.hours",
                factor: HOUR_MS,
            },
        ],
        "Maximum random jitter subtracted from segment.ms.",
    ),
    def(
        "segment.ms",
        Long,
        "604800000",
        AtLeast(1),
        &[
            syn("log.roll.ms"),
            BrokerSynonym {
                name: "log.roll.hours",
                factor: HOUR_MS,
            },
        ],
        "Maximum segment age before it is rolled.",
    ),
    def(
        "unclean.leader.election.enable",
        Boolean,
        "false",
        Any,
        &[syn("unclean.leader.election.enable")],
        "Allow a leader outside the ISR.",
    ),
];

/// The definition of a topic config key.
pub fn topic_config_def(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// Checks a topic config: the key must be known and the value valid for it.
pub fn validate_topic_config(name: &str, value: &str) -> Result<(), ConfigError> {
    let def = topic_config_def(name).ok_or_else(|| ConfigError::UnknownKey {
        key: name.to_string(),
    })?;
    validate_value(name, def.config_type, def.validator, value)
}

/// `message.timestamp.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

/// `compression.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionType {
    Producer,
    Uncompressed,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

/// `cleanup.policy`: delete, compact, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    pub delete: bool,
    pub compact: bool,
}

/// A topic's effective configs, typed. The broker converts this into the storage crate's
/// `LogConfig`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedTopicConfig {
    pub cleanup_policy: CleanupPolicy,
    pub compression_type: CompressionType,
    pub delete_retention_ms: i64,
    pub file_delete_delay_ms: i64,
    pub flush_messages: i64,
    pub flush_ms: i64,
    pub index_interval_bytes: u32,
    pub max_compaction_lag_ms: i64,
    pub max_message_bytes: i32,
    /// `message.timestamp.before.max.ms`, or the deprecated `difference.max.ms` when unset.
    pub message_timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms`, or the deprecated `difference.max.ms` when unset.
    pub message_timestamp_after_max_ms: i64,
    pub message_timestamp_type: TimestampType,
    pub min_cleanable_dirty_ratio: f64,
    pub min_compaction_lag_ms: i64,
    pub min_insync_replicas: i32,
    pub preallocate: bool,
    pub retention_bytes: i64,
    pub retention_ms: i64,
    pub segment_bytes: u64,
    pub segment_index_bytes: u32,
    pub segment_jitter_ms: i64,
    pub segment_ms: i64,
    pub unclean_leader_election_enable: bool,
}

/// Resolution and description of a topic's configs from its overrides and the broker config.
#[derive(Debug, Clone, Copy)]
pub struct TopicConfigView;

/// One config's effective value: (value, source, synonyms in precedence order).
fn lookup(
    def: &TopicConfigDef,
    overrides: &BTreeMap<String, String>,
    broker: &BrokerConfig,
) -> (String, ConfigSource, Vec<ConfigSynonym>) {
    let mut synonyms = Vec::new();
    let mut effective: Option<(String, ConfigSource)> = None;
    if let Some(v) = overrides.get(def.name) {
        if validate_topic_config(def.name, v).is_ok() {
            effective = Some((v.clone(), ConfigSource::DynamicTopic));
        }
        synonyms.push(ConfigSynonym {
            name: def.name.to_string(),
            value: Some(v.clone()),
            source: ConfigSource::DynamicTopic,
        });
    }
    // Dynamic broker values before static ones, as Kafka lists them.
    for wanted in [ConfigSource::DynamicBroker, ConfigSource::StaticBroker] {
        for s in def.synonyms {
            if let Some((v, source)) = broker.explicit(s.name) {
                if source != wanted {
                    continue;
                }
                if effective.is_none() {
                    effective = convert(v, s.factor).map(|v| (v, source));
                }
                synonyms.push(ConfigSynonym {
                    name: s.name.to_string(),
                    value: Some(v.to_string()),
                    source,
                });
            }
        }
    }
    // The default, named after the broker key that carries it in Kafka (the last synonym).
    let default_synonym = def
        .synonyms
        .last()
        .and_then(|s| broker_config_def(s.name))
        .and_then(|d| d.default.map(|v| (d.name, v)));
    synonyms.push(match default_synonym {
        Some((name, v)) => ConfigSynonym {
            name: name.to_string(),
            value: Some(v.to_string()),
            source: ConfigSource::Default,
        },
        None => ConfigSynonym {
            name: def.name.to_string(),
            value: Some(def.default.to_string()),
            source: ConfigSource::Default,
        },
    });
    let (value, source) = effective.unwrap_or((def.default.to_string(), ConfigSource::Default));
    (value, source, synonyms)
}

/// Converts a broker synonym's value to the topic config's unit.
fn convert(value: &str, factor: i64) -> Option<String> {
    if factor == 1 {
        return Some(value.trim().to_string());
    }
    let n: i64 = value.trim().parse().ok()?;
    // -1 (no limit) stays -1 whatever the unit.
    if n < 0 {
        return Some(n.to_string());
    }
    Some(n.saturating_mul(factor).to_string())
}

impl TopicConfigView {
    /// The effective typed configs of a topic.
    pub fn resolve(
        topic_overrides: &BTreeMap<String, String>,
        broker: &BrokerConfig,
    ) -> ResolvedTopicConfig {
        let values: BTreeMap<&'static str, String> = TOPIC_CONFIGS
            .iter()
            .map(|d| (d.name, lookup(d, topic_overrides, broker).0))
            .collect();
        let raw = |name: &str| values.get(name).map(String::as_str).unwrap_or("");
        // Values were validated when set; a value that still does not parse falls back to
        // the default so that resolution never fails.
        fn num<T: std::str::FromStr + Default>(raw: &str, name: &str) -> T {
            raw.trim()
                .parse()
                .ok()
                .or_else(|| topic_config_def(name).and_then(|d| d.default.parse().ok()))
                .unwrap_or_default()
        }
        let long = |name: &str| num::<i64>(raw(name), name);
        let int = |name: &str| num::<i32>(raw(name), name);
        let boolean = |name: &str| raw(name).trim().eq_ignore_ascii_case("true");

        let policies = parse_list(raw("cleanup.policy"));
        let cleanup_policy = CleanupPolicy {
            delete: policies.contains(&"delete"),
            compact: policies.contains(&"compact"),
        };
        let compression_type = match raw("compression.type").trim() {
            "uncompressed" => CompressionType::Uncompressed,
            "gzip" => CompressionType::Gzip,
            "snappy" => CompressionType::Snappy,
            "lz4" => CompressionType::Lz4,
            "zstd" => CompressionType::Zstd,
            _ => CompressionType::Producer,
        };
        let message_timestamp_type = match raw("message.timestamp.type").trim() {
            "LogAppendTime" => TimestampType::LogAppendTime,
            _ => TimestampType::CreateTime,
        };
        let difference = long("message.timestamp.difference.max.ms");
        let or_difference = |v: i64| if v == i64::MAX { difference } else { v };
        ResolvedTopicConfig {
            cleanup_policy,
            compression_type,
            delete_retention_ms: long("delete.retention.ms"),
            file_delete_delay_ms: long("file.delete.delay.ms"),
            flush_messages: long("flush.messages"),
            flush_ms: long("flush.ms"),
            index_interval_bytes: u32::try_from(int("index.interval.bytes")).unwrap_or(4096),
            max_compaction_lag_ms: long("max.compaction.lag.ms"),
            max_message_bytes: int("max.message.bytes"),
            message_timestamp_before_max_ms: or_difference(long("message.timestamp.before.max.ms")),
            message_timestamp_after_max_ms: or_difference(long("message.timestamp.after.max.ms")),
            message_timestamp_type,
            min_cleanable_dirty_ratio: num::<f64>(
                raw("min.cleanable.dirty.ratio"),
                "min.cleanable.dirty.ratio",
            ),
            min_compaction_lag_ms: long("min.compaction.lag.ms"),
            min_insync_replicas: int("min.insync.replicas"),
            preallocate: boolean("preallocate"),
            retention_bytes: long("retention.bytes"),
            retention_ms: long("retention.ms"),
            segment_bytes: u64::try_from(int("segment.bytes")).unwrap_or(1_073_741_824),
            segment_index_bytes: u32::try_from(int("segment.index.bytes")).unwrap_or(10_485_760),
            segment_jitter_ms: long("segment.jitter.ms"),
            segment_ms: long("segment.ms"),
            unclean_leader_election_enable: boolean("unclean.leader.election.enable"),
        }
    }

    /// DescribeConfigs entries for a topic: every known topic config, in name order, with its
    /// effective value, source and synonyms. Callers filter by requested keys and drop
    /// synonyms / documentation when the request did not ask for them.
    pub fn describe(
        topic_overrides: &BTreeMap<String, String>,
        broker: &BrokerConfig,
    ) -> Vec<ConfigEntry> {
        TOPIC_CONFIGS
            .iter()
            .map(|def| {
                let (value, source, synonyms) = lookup(def, topic_overrides, broker);
                ConfigEntry {
                    name: def.name.to_string(),
                    value: (!def.sensitive).then_some(value),
                    source,
                    read_only: false,
                    sensitive: def.sensitive,
                    synonyms,
                    config_type: def.config_type,
                    documentation: Some(def.documentation.to_string()),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_valid_and_match_broker_defaults() -> Result<(), ConfigError> {
        let broker = BrokerConfig::new();
        for d in TOPIC_CONFIGS {
            validate_topic_config(d.name, d.default)?;
            assert!(!d.synonyms.is_empty(), "{} has a broker synonym", d.name);
            for s in d.synonyms {
                assert!(
                    broker_config_def(s.name).is_some(),
                    "{} is a broker config",
                    s.name
                );
            }
            // With no broker config set, the broker default of the last synonym, converted,
            // is the topic default.
            let last = d.synonyms.last().and_then(|s| {
                broker_config_def(s.name)
                    .and_then(|b| b.default)
                    .and_then(|v| convert(v, s.factor))
            });
            if let Some(v) = last {
                assert_eq!(v, d.default, "{}", d.name);
            }
            let (value, source, _) = lookup(d, &BTreeMap::new(), &broker);
            assert_eq!((value.as_str(), source), (d.default, ConfigSource::Default));
        }
        Ok(())
    }

    #[test]
    fn validation_rules() {
        assert!(validate_topic_config("segment.bytes", "14").is_ok());
        assert!(validate_topic_config("segment.bytes", "13").is_err());
        assert!(validate_topic_config("max.message.bytes", "-1").is_err());
        assert!(validate_topic_config("cleanup.policy", "compact,delete").is_ok());
        assert!(validate_topic_config("cleanup.policy", "forever").is_err());
        assert!(validate_topic_config("compression.type", "zstd").is_ok());
        assert!(validate_topic_config("compression.type", "brotli").is_err());
        assert!(validate_topic_config("message.timestamp.type", "LogAppendTime").is_ok());
        assert!(validate_topic_config("message.timestamp.type", "logappendtime").is_err());
        assert!(validate_topic_config("retention.ms", "-1").is_ok());
        assert!(validate_topic_config("min.cleanable.dirty.ratio", "2").is_err());
        assert!(matches!(
            validate_topic_config("retention.weeks", "1"),
            Err(ConfigError::UnknownKey { ref key }) if key == "retention.weeks"
        ));
    }

    #[test]
    fn resolve_defaults() {
        let r = TopicConfigView::resolve(&BTreeMap::new(), &BrokerConfig::new());
        assert_eq!(r.segment_bytes, 1_073_741_824);
        assert_eq!(r.segment_ms, 604_800_000);
        assert_eq!(r.retention_ms, 604_800_000);
        assert_eq!(r.retention_bytes, -1);
        assert_eq!(r.max_message_bytes, 1_048_588);
        assert_eq!(r.index_interval_bytes, 4096);
        assert_eq!(r.segment_index_bytes, 10_485_760);
        assert_eq!(r.flush_messages, i64::MAX);
        assert_eq!(r.flush_ms, i64::MAX);
        assert_eq!(r.message_timestamp_type, TimestampType::CreateTime);
        assert_eq!(r.compression_type, CompressionType::Producer);
        assert_eq!(
            r.cleanup_policy,
            CleanupPolicy {
                delete: true,
                compact: false
            }
        );
        assert_eq!(r.min_insync_replicas, 1);
        assert_eq!(r.message_timestamp_before_max_ms, i64::MAX);
    }

    #[test]
    fn resolve_precedence_topic_then_broker_synonyms_then_default() -> Result<(), ConfigError> {
        let broker = BrokerConfig::from_properties(
            "log.retention.hours=1\nlog.retention.minutes=2\nlog.roll.hours=3\nlog.segment.bytes=1000",
            &[],
        )?;
        let r = TopicConfigView::resolve(&BTreeMap::new(), &broker);
        assert_eq!(r.retention_ms, 2 * 60_000, "minutes beat hours");
        assert_eq!(r.segment_ms, 3 * 3_600_000);
        assert_eq!(r.segment_bytes, 1000);

        let r = TopicConfigView::resolve(
            &overrides(&[("retention.ms", "5"), ("cleanup.policy", "compact, delete")]),
            &broker,
        );
        assert_eq!(r.retention_ms, 5);
        assert_eq!(
            r.cleanup_policy,
            CleanupPolicy {
                delete: true,
                compact: true
            }
        );

        let dynamic = broker.with_dynamic(&overrides(&[("log.segment.bytes", "2000")]));
        let r = TopicConfigView::resolve(&BTreeMap::new(), &dynamic);
        assert_eq!(r.segment_bytes, 2000);
        Ok(())
    }

    #[test]
    fn deprecated_timestamp_difference_applies_when_before_after_unset() {
        let r = TopicConfigView::resolve(
            &overrides(&[
                ("message.timestamp.difference.max.ms", "1000"),
                ("message.timestamp.after.max.ms", "10"),
            ]),
            &BrokerConfig::new(),
        );
        assert_eq!(r.message_timestamp_before_max_ms, 1000);
        assert_eq!(r.message_timestamp_after_max_ms, 10);
    }

    #[test]
    fn describe_sources_and_synonyms() -> Result<(), ConfigError> {
        let broker = BrokerConfig::from_properties("log.retention.hours=24", &[])?;
        let entries = TopicConfigView::describe(&overrides(&[("segment.bytes", "2048")]), &broker);
        assert_eq!(entries.len(), TOPIC_CONFIGS.len());
        let get = |n: &str| entries.iter().find(|e| e.name == n);

        let seg = get("segment.bytes").ok_or(ConfigError::UnknownKey {
            key: "segment.bytes".into(),
        })?;
        assert_eq!(seg.value.as_deref(), Some("2048"));
        assert_eq!(seg.source, ConfigSource::DynamicTopic);
        assert_eq!(seg.config_type, ConfigType::Int);
        assert_eq!(seg.synonyms.len(), 2);
        assert_eq!(seg.synonyms[1].name, "log.segment.bytes");
        assert_eq!(seg.synonyms[1].source, ConfigSource::Default);

        let ret = get("retention.ms").ok_or(ConfigError::UnknownKey {
            key: "retention.ms".into(),
        })?;
        assert_eq!(ret.value.as_deref(), Some("86400000"));
        assert_eq!(ret.source, ConfigSource::StaticBroker);
        assert_eq!(
            ret.synonyms,
            vec![
                ConfigSynonym {
                    name: "log.retention.hours".into(),
                    value: Some("24".into()),
                    source: ConfigSource::StaticBroker
                },
                ConfigSynonym {
                    name: "log.retention.hours".into(),
                    value: Some("168".into()),
                    source: ConfigSource::Default
                },
            ]
        );

        let ct = get("compression.type").ok_or(ConfigError::UnknownKey {
            key: "compression.type".into(),
        })?;
        assert_eq!(ct.source, ConfigSource::Default);
        assert_eq!(ct.value.as_deref(), Some("producer"));
        Ok(())
    }
}
