//! A topic's effective settings (broker defaults overridden by the topic's configs), in the
//! shapes the produce path and the storage engine need.

use weir_metadata::config::topic::{CompressionType, TimestampType, TopicConfigView};
use weir_metadata::config::BrokerConfig;
use weir_metadata::TopicImage;
use weir_storage::{CleanerConfig, LogConfig, RetentionPolicy};

/// What the produce path checks per partition.
#[derive(Debug, Clone, Copy)]
pub struct TopicSettings {
    pub max_message_bytes: i32,
    pub log_append_time: bool,
    pub min_insync_replicas: i32,
    /// `message.timestamp.before.max.ms` / `after.max.ms`: how far a CreateTime timestamp may
    /// lie in the past / future.
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
    /// `cleanup.policy` contains `compact`: records need keys.
    pub compact: bool,
    /// `compression.type`: batches in another codec are recompressed (unless `producer`).
    pub compression_type: CompressionType,
}

pub fn settings(broker: &BrokerConfig, topic: &TopicImage) -> TopicSettings {
    let resolved = TopicConfigView::resolve(&topic.configs, broker);
    TopicSettings {
        max_message_bytes: resolved.max_message_bytes,
        log_append_time: resolved.message_timestamp_type == TimestampType::LogAppendTime,
        min_insync_replicas: resolved.min_insync_replicas,
        timestamp_before_max_ms: resolved.message_timestamp_before_max_ms,
        timestamp_after_max_ms: resolved.message_timestamp_after_max_ms,
        compact: resolved.cleanup_policy.compact,
        compression_type: resolved.compression_type,
    }
}

/// What retention deletes for the topic (`retention.ms`, `retention.bytes`, `cleanup.policy`).
pub fn retention_policy(broker: &BrokerConfig, topic: &TopicImage) -> RetentionPolicy {
    let r = TopicConfigView::resolve(&topic.configs, broker);
    RetentionPolicy {
        retention_ms: r.retention_ms,
        retention_bytes: r.retention_bytes,
        delete: r.cleanup_policy.delete,
    }
}

/// How the cleaner compacts the topic; `None` unless `cleanup.policy` contains `compact`.
pub fn cleaner_config(broker: &BrokerConfig, topic: &TopicImage) -> Option<CleanerConfig> {
    let r = TopicConfigView::resolve(&topic.configs, broker);
    r.cleanup_policy.compact.then_some(CleanerConfig {
        min_cleanable_dirty_ratio: r.min_cleanable_dirty_ratio,
        min_compaction_lag_ms: r.min_compaction_lag_ms,
        max_compaction_lag_ms: r.max_compaction_lag_ms,
        delete_retention_ms: r.delete_retention_ms,
        // Broker-wide settings (`log.cleaner.dedupe.buffer.size`, ...): the cleaner task's.
        ..CleanerConfig::default()
    })
}

/// The storage engine's view of the topic's configs.
pub fn log_config(broker: &BrokerConfig, topic: &TopicImage) -> LogConfig {
    let r = TopicConfigView::resolve(&topic.configs, broker);
    LogConfig {
        segment_bytes: r.segment_bytes,
        segment_ms: r.segment_ms,
        segment_index_bytes: r.segment_index_bytes,
        index_interval_bytes: r.index_interval_bytes,
        flush_messages: r.flush_messages,
        flush_ms: r.flush_ms,
        producer_id_expiration_ms: broker
            .get("producer.id.expiration.ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(86_400_000),
        file_delete_delay_ms: r.file_delete_delay_ms,
    }
}
