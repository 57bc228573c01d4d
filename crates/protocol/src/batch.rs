//! A zero-copy view of Kafka record batches (magic v2) and the checks the broker makes on them.
//!
//! Layout of a v2 batch header (all integers big-endian; 61 bytes before the records):
//!
//! | offset | field                  | type  | note                                          |
//! |--------|------------------------|-------|-----------------------------------------------|
//! | 0      | base offset            | i64   | rewritten by the leader on append             |
//! | 8      | batch length           | i32   | bytes after this field                        |
//! | 12     | partition leader epoch | i32   | rewritten by the leader (not covered by CRC)  |
//! | 16     | magic                  | i8    | must be 2                                     |
//! | 17     | crc                    | u32   | CRC-32C of bytes 21..end                      |
//! | 21     | attributes             | i16   | codec (bits 0-2), timestamp type (bit 3), transactional (4), control (5) |
//! | 23     | last offset delta      | i32   |                                               |
//! | 27     | base timestamp         | i64   |                                               |
//! | 35     | max timestamp          | i64   | rewritten for LogAppendTime (CRC recomputed)  |
//! | 43     | producer id            | i64   |                                               |
//! | 51     | producer epoch         | i16   |                                               |
//! | 53     | base sequence          | i32   |                                               |
//! | 57     | record count           | i32   |                                               |
//! | 61     | records                | ...   | possibly compressed; never parsed here        |
//!
//! The broker validates headers and CRCs only; it never decompresses on the produce path.

use thiserror::Error;

/// Size of the fixed v2 batch header.
pub const BATCH_HEADER_LEN: usize = 61;
/// Bytes before the length field is complete (base offset + batch length).
pub const LOG_OVERHEAD: usize = 12;
/// Offset of the attributes field, where the CRC starts.
const CRC_START: usize = 21;

/// Why a batch was rejected. Each maps to a Kafka error code in the broker.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BatchError {
    #[error("batch truncated: {available} bytes available, {needed} needed")]
    Truncated { available: usize, needed: usize },
    #[error("unsupported magic {magic} (only v2 is accepted)")]
    UnsupportedMagic { magic: i8 },
    #[error("batch length {length} is invalid")]
    InvalidLength { length: i32 },
    #[error("CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch { stored: u32, computed: u32 },
    #[error("record count {count} does not match last offset delta {last_offset_delta}")]
    InvalidRecordCount { count: i32, last_offset_delta: i32 },
    #[error("unknown compression codec {codec}")]
    UnknownCodec { codec: i16 },
    #[error("empty record set")]
    Empty,
    #[error("records cannot be decoded: {reason}")]
    Undecodable { reason: String },
}

/// A read-only view of one record batch's header.
#[derive(Debug, Clone, Copy)]
pub struct BatchHeader<'a> {
    bytes: &'a [u8],
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    let mut x = [0u8; 2];
    x.copy_from_slice(&b[at..at + 2]);
    i16::from_be_bytes(x)
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(x)
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(x)
}

impl<'a> BatchHeader<'a> {
    /// Views the batch at the start of `bytes` after checking that its whole header and its
    /// declared length are present. Does not check the CRC (see [`BatchHeader::verify_crc`]).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BatchError> {
        if bytes.len() < BATCH_HEADER_LEN {
            return Err(BatchError::Truncated {
                available: bytes.len(),
                needed: BATCH_HEADER_LEN,
            });
        }
        let magic = bytes[16] as i8;
        if magic != 2 {
            return Err(BatchError::UnsupportedMagic { magic });
        }
        let length = be_i32(bytes, 8);
        let total = usize::try_from(length)
            .ok()
            .and_then(|l| l.checked_add(LOG_OVERHEAD))
            .filter(|&t| t >= BATCH_HEADER_LEN)
            .ok_or(BatchError::InvalidLength { length })?;
        if bytes.len() < total {
            return Err(BatchError::Truncated {
                available: bytes.len(),
                needed: total,
            });
        }
        Ok(Self {
            bytes: &bytes[..total],
        })
    }

    /// The whole batch, header included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
    /// Total size in bytes (batch length + 12).
    pub fn total_len(&self) -> usize {
        self.bytes.len()
    }
    pub fn base_offset(&self) -> i64 {
        be_i64(self.bytes, 0)
    }
    pub fn partition_leader_epoch(&self) -> i32 {
        be_i32(self.bytes, 12)
    }
    pub fn stored_crc(&self) -> u32 {
        be_i32(self.bytes, 17) as u32
    }
    pub fn attributes(&self) -> i16 {
        be_i16(self.bytes, 21)
    }
    /// Compression codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub fn compression_codec(&self) -> i16 {
        self.attributes() & 0x07
    }
    /// True when the batch uses LogAppendTime.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes() & 0x08 != 0
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes() & 0x10 != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes() & 0x20 != 0
    }
    pub fn last_offset_delta(&self) -> i32 {
        be_i32(self.bytes, 23)
    }
    pub fn base_timestamp(&self) -> i64 {
        be_i64(self.bytes, 27)
    }
    pub fn max_timestamp(&self) -> i64 {
        be_i64(self.bytes, 35)
    }
    pub fn producer_id(&self) -> i64 {
        be_i64(self.bytes, 43)
    }
    pub fn producer_epoch(&self) -> i16 {
        be_i16(self.bytes, 51)
    }
    pub fn base_sequence(&self) -> i32 {
        be_i32(self.bytes, 53)
    }
    pub fn record_count(&self) -> i32 {
        be_i32(self.bytes, 57)
    }
    /// Offset of the last record: base offset + last offset delta.
    pub fn last_offset(&self) -> i64 {
        self.base_offset() + i64::from(self.last_offset_delta())
    }

    /// CRC-32C over attributes..end, as stored in the header.
    pub fn computed_crc(&self) -> u32 {
        crc32c::crc32c(&self.bytes[CRC_START..])
    }

    pub fn verify_crc(&self) -> Result<(), BatchError> {
        let (stored, computed) = (self.stored_crc(), self.computed_crc());
        if stored == computed {
            Ok(())
        } else {
            Err(BatchError::CrcMismatch { stored, computed })
        }
    }

    /// Every check the broker makes on a batch a producer sent: magic, length, CRC, a known
    /// codec, and a record count consistent with the offset delta.
    pub fn validate(&self) -> Result<(), BatchError> {
        self.verify_crc()?;
        let codec = self.compression_codec();
        if codec > 4 {
            return Err(BatchError::UnknownCodec { codec });
        }
        let count = self.record_count();
        let delta = self.last_offset_delta();
        // Compaction may leave fewer records than the delta span, but a producer's batch holds
        // exactly delta + 1 records.
        if count <= 0 || delta < 0 || i64::from(count) != i64::from(delta) + 1 {
            return Err(BatchError::InvalidRecordCount {
                count,
                last_offset_delta: delta,
            });
        }
        Ok(())
    }
}

/// Iterates over the batches of a record set, failing on the first malformed one.
pub struct BatchIter<'a> {
    rest: &'a [u8],
}

impl<'a> BatchIter<'a> {
    pub fn new(records: &'a [u8]) -> Self {
        Self { rest: records }
    }
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = Result<BatchHeader<'a>, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match BatchHeader::parse(self.rest) {
            Ok(b) => {
                self.rest = &self.rest[b.total_len()..];
                Some(Ok(b))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// The offset and timestamp of the first record of `batch` whose timestamp is at or after
/// `target` (what ListOffsets by timestamp answers in Kafka), or `None` if every record is
/// older.
///
/// This decodes (and, for compressed batches, decompresses) the one batch: ListOffsets is not
/// a hot path, and Kafka does the same. For `LogAppendTime` batches every record carries the
/// batch's max timestamp, so the answer is the first record.
pub fn find_record_at_or_after(
    batch: &[u8],
    target: i64,
) -> Result<Option<(i64, i64)>, BatchError> {
    let header = BatchHeader::parse(batch)?;
    if header.is_log_append_time() {
        let ts = header.max_timestamp();
        return Ok((ts >= target).then(|| (header.base_offset(), ts)));
    }
    let mut bytes = bytes::Bytes::copy_from_slice(header.as_bytes());
    let set = kafka_protocol::records::RecordBatchDecoder::decode(&mut bytes).map_err(|e| {
        BatchError::Undecodable {
            reason: e.to_string(),
        }
    })?;
    Ok(set
        .records
        .iter()
        .find(|r| r.timestamp >= target)
        .map(|r| (r.offset, r.timestamp)))
}

/// In-place rewrites the leader makes to a batch it accepted.
pub mod rewrite {
    use super::{be_i16, CRC_START};

    /// Sets the base offset (bytes 0..8; not covered by the CRC).
    pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
        if let Some(b) = batch.get_mut(0..8) {
            b.copy_from_slice(&base_offset.to_be_bytes());
        }
    }

    /// Sets the partition leader epoch (bytes 12..16; not covered by the CRC).
    pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
        if let Some(b) = batch.get_mut(12..16) {
            b.copy_from_slice(&epoch.to_be_bytes());
        }
    }

    /// Marks the batch LogAppendTime with `now_ms` as max timestamp and recomputes the CRC,
    /// as Kafka does for topics with `message.timestamp.type=LogAppendTime`.
    pub fn set_log_append_time(batch: &mut [u8], now_ms: i64) {
        if batch.len() < super::BATCH_HEADER_LEN {
            return;
        }
        let attributes = be_i16(batch, 21) | 0x08;
        batch[21..23].copy_from_slice(&attributes.to_be_bytes());
        batch[35..43].copy_from_slice(&now_ms.to_be_bytes());
        let crc = crc32c::crc32c(&batch[CRC_START..]);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid uncompressed batch with `count` empty-valued records.
    pub(crate) fn sample_batch(count: i32) -> Vec<u8> {
        let mut records = Vec::new();
        for i in 0..count {
            // length, attributes, ts delta, offset delta, key len -1, value len 0, headers 0
            let body = [0u8, 0, (i as u8) << 1, 1, 0, 0];
            records.push((body.len() as u8) << 1);
            records.extend_from_slice(&body);
        }
        let mut b = vec![0u8; BATCH_HEADER_LEN];
        b.extend_from_slice(&records);
        let len = (b.len() - LOG_OVERHEAD) as i32;
        b[8..12].copy_from_slice(&len.to_be_bytes());
        b[16] = 2;
        b[23..27].copy_from_slice(&(count - 1).to_be_bytes());
        b[43..51].copy_from_slice(&(-1i64).to_be_bytes());
        b[57..61].copy_from_slice(&count.to_be_bytes());
        let crc = crc32c::crc32c(&b[CRC_START..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    #[test]
    fn valid_batch_passes_and_exposes_fields() {
        let b = sample_batch(3);
        let h = BatchHeader::parse(&b).unwrap();
        h.validate().unwrap();
        assert_eq!(h.record_count(), 3);
        assert_eq!(h.last_offset_delta(), 2);
        assert_eq!(h.total_len(), b.len());
    }

    #[test]
    fn corrupted_byte_fails_crc() {
        let mut b = sample_batch(2);
        let last = b.len() - 1;
        b[last] ^= 0xff;
        let err = BatchHeader::parse(&b).unwrap().validate().unwrap_err();
        assert!(matches!(err, BatchError::CrcMismatch { .. }));
    }

    #[test]
    fn wrong_magic_and_lengths_are_rejected() {
        let mut b = sample_batch(1);
        b[16] = 1;
        assert_eq!(
            BatchHeader::parse(&b).unwrap_err(),
            BatchError::UnsupportedMagic { magic: 1 }
        );
        let b = sample_batch(1);
        assert!(matches!(
            BatchHeader::parse(&b[..b.len() - 1]),
            Err(BatchError::Truncated { .. })
        ));
        let mut b = sample_batch(1);
        b[8..12].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(matches!(
            BatchHeader::parse(&b),
            Err(BatchError::InvalidLength { length: -5 })
        ));
    }

    #[test]
    fn rewrites_keep_crc_valid() {
        let mut b = sample_batch(2);
        rewrite::set_base_offset(&mut b, 42);
        rewrite::set_partition_leader_epoch(&mut b, 3);
        rewrite::set_log_append_time(&mut b, 1_700_000_000_000);
        let h = BatchHeader::parse(&b).unwrap();
        h.validate().unwrap();
        assert_eq!(h.base_offset(), 42);
        assert_eq!(h.last_offset(), 43);
        assert!(h.is_log_append_time());
        assert_eq!(h.max_timestamp(), 1_700_000_000_000);
    }

    /// A batch of five records with timestamps 100, 110, ..., 140, encoded by kafka-protocol.
    fn timed_batch(compression: kafka_protocol::records::Compression) -> Vec<u8> {
        use kafka_protocol::records::{
            Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
        };
        let records: Vec<Record> = (0..5)
            .map(|i| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: 40 + i,
                // kafka-protocol starts a new batch when offset - sequence changes.
                sequence: i as i32,
                timestamp: 100 + 10 * i,
                key: None,
                value: Some(bytes::Bytes::from_static(b"value")),
                headers: Default::default(),
            })
            .collect();
        let mut buf = bytes::BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            &records,
            &RecordEncodeOptions {
                version: 2,
                compression,
            },
        )
        .unwrap();
        buf.to_vec()
    }

    #[test]
    fn finds_the_exact_record_by_timestamp_even_compressed() {
        use kafka_protocol::records::Compression;
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let b = timed_batch(compression);
            assert_eq!(find_record_at_or_after(&b, 0).unwrap(), Some((40, 100)));
            assert_eq!(find_record_at_or_after(&b, 111).unwrap(), Some((42, 120)));
            assert_eq!(find_record_at_or_after(&b, 140).unwrap(), Some((44, 140)));
            assert_eq!(find_record_at_or_after(&b, 141).unwrap(), None);
        }
        let mut lat = timed_batch(Compression::None);
        rewrite::set_log_append_time(&mut lat, 500);
        assert_eq!(find_record_at_or_after(&lat, 120).unwrap(), Some((40, 500)));
    }

    #[test]
    fn iter_walks_concatenated_batches() {
        let mut set = sample_batch(1);
        set.extend(sample_batch(4));
        let counts: Vec<i32> = BatchIter::new(&set)
            .map(|b| b.unwrap().record_count())
            .collect();
        assert_eq!(counts, vec![1, 4]);
    }
}
