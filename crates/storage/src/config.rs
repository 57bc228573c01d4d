//! Per-partition log settings.

/// Per-partition log settings, with Kafka's topic-level names and defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// `segment.bytes`: roll to a new segment before the active one would exceed this size
    /// (capped at `i32::MAX` like Kafka). Default 1 GiB.
    pub segment_bytes: u64,
    /// `segment.ms`: roll when this long has passed since the active segment's first append
    /// (measured with the `now_ms` given to `append`; see `LogSegment::rolling_base_ms`).
    /// Default 7 days.
    pub segment_ms: i64,
    /// `segment.index.bytes`: roll when an index file would exceed this size. Default 10 MiB.
    pub segment_index_bytes: u32,
    /// `index.interval.bytes`: bytes of log between two offset index entries. Default 4096.
    pub index_interval_bytes: u32,
    /// `flush.messages`: fsync after this many messages appended since the last flush.
    /// Default `i64::MAX` (leave it to the OS; durability comes from replication).
    pub flush_messages: i64,
    /// `flush.ms`: fsync when an append comes this long after the last flush. Checked on
    /// append only (Kafka checks it from a scheduler). Default `i64::MAX`.
    pub flush_ms: i64,
    /// `producer.id.expiration.ms` (a broker setting in Kafka): an idempotent producer's state
    /// is forgotten this long after its last batch's timestamp. Default 1 day.
    pub producer_id_expiration_ms: i64,
    /// `file.delete.delay.ms`: how long the files of a deleted or replaced segment stay on
    /// disk as `*.deleted` before they are removed. Default 1 minute.
    pub file_delete_delay_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            segment_bytes: 1_073_741_824,
            segment_ms: 604_800_000,
            segment_index_bytes: 10_485_760,
            index_interval_bytes: 4096,
            flush_messages: i64::MAX,
            flush_ms: i64::MAX,
            producer_id_expiration_ms: 86_400_000,
            file_delete_delay_ms: 60_000,
        }
    }
}
