//! One record batch (v2) being filled for one partition, encoded in place.
//!
//! Records are written straight into the batch buffer in their wire form (varint lengths,
//! deltas), after 61 bytes left free for the batch header. Sealing fills the header and the
//! CRC-32C, or for a compressed batch compresses the records section into a new buffer. No
//! allocation happens per record; the buffer is allocated once per batch.

use std::sync::Arc;
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use weir_protocol::batch::BATCH_HEADER_LEN;
use weir_protocol::kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy, Zstd};

use crate::producer::config::Compression;
use crate::producer::record::{BatchCompletion, Callback, ProducerRecord};
use crate::ClientError;

/// Bytes a varint (zigzag) of `v` takes.
fn varint_len(v: i64) -> usize {
    let z = ((v << 1) ^ (v >> 63)) as u64;
    (64 - (z | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_varint(buf: &mut BytesMut, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.put_u8((z as u8) | 0x80);
        z >>= 7;
    }
    buf.put_u8(z as u8);
}

fn opt_len(b: Option<&[u8]>) -> usize {
    match b {
        Some(b) => varint_len(b.len() as i64) + b.len(),
        None => 1,
    }
}

fn put_opt(buf: &mut BytesMut, b: Option<&[u8]>) {
    match b {
        Some(b) => {
            put_varint(buf, b.len() as i64);
            buf.put_slice(b);
        }
        None => put_varint(buf, -1),
    }
}

/// Upper bound of a record's size in a batch, without knowing its deltas (for limits and
/// `buffer.memory`).
pub(crate) fn estimate_size(record: &ProducerRecord<'_>) -> usize {
    let headers: usize = record
        .headers
        .iter()
        .map(|(k, v)| opt_len(Some(k.as_bytes())) + opt_len(*v))
        .sum();
    5 + 1 + 10 + 5 + opt_len(record.key) + opt_len(record.value) + 5 + headers
}

/// A batch being filled (see the module docs).
pub(crate) struct ProducerBatch {
    buf: BytesMut,
    pub count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    pub created: Instant,
    pub completion: Arc<BatchCompletion>,
    pub callbacks: Vec<(i32, i64, Callback)>,
    /// Bytes of `buffer.memory` this batch holds.
    pub reserved: usize,
    /// Creation order within its partition (keeps retried batches in order).
    pub order: u64,
    pub sealed: Option<Bytes>,
    pub base_sequence: i32,
    pub attempts: u32,
    pub last_error: Option<ClientError>,
}

impl ProducerBatch {
    pub fn new(
        topic: Arc<str>,
        partition: i32,
        capacity: usize,
        order: u64,
        now: Instant,
    ) -> ProducerBatch {
        let mut buf = BytesMut::with_capacity(BATCH_HEADER_LEN + capacity);
        buf.put_bytes(0, BATCH_HEADER_LEN);
        ProducerBatch {
            buf,
            count: 0,
            base_timestamp: 0,
            max_timestamp: 0,
            created: now,
            completion: BatchCompletion::new(topic, partition),
            callbacks: Vec::new(),
            reserved: 0,
            order,
            sealed: None,
            base_sequence: -1,
            attempts: 0,
            last_error: None,
        }
    }

    /// Bytes of records so far (header excluded); 0 once sealed (the buffer moved into the
    /// sealed bytes).
    pub fn records_len(&self) -> usize {
        self.buf.len().saturating_sub(BATCH_HEADER_LEN)
    }

    /// Appends `record` unless it would take the batch past `limit` bytes (a first record is
    /// always accepted). Returns its offset delta.
    pub fn try_append(
        &mut self,
        record: &ProducerRecord<'_>,
        timestamp: i64,
        limit: usize,
    ) -> Option<i32> {
        if self.count == 0 {
            self.base_timestamp = timestamp;
        }
        let ts_delta = timestamp - self.base_timestamp;
        let offset_delta = self.count;
        let headers_len: usize = record
            .headers
            .iter()
            .map(|(k, v)| opt_len(Some(k.as_bytes())) + opt_len(*v))
            .sum();
        let body = 1
            + varint_len(ts_delta)
            + varint_len(i64::from(offset_delta))
            + opt_len(record.key)
            + opt_len(record.value)
            + varint_len(record.headers.len() as i64)
            + headers_len;
        let total = varint_len(body as i64) + body;
        if self.count > 0 && self.records_len() + total > limit {
            return None;
        }
        let buf = &mut self.buf;
        buf.reserve(total);
        put_varint(buf, body as i64);
        buf.put_u8(0); // attributes (unused in v2 records)
        put_varint(buf, ts_delta);
        put_varint(buf, i64::from(offset_delta));
        put_opt(buf, record.key);
        put_opt(buf, record.value);
        put_varint(buf, record.headers.len() as i64);
        for (k, v) in &record.headers {
            put_opt(buf, Some(k.as_bytes()));
            put_opt(buf, *v);
        }
        self.count += 1;
        if self.count == 1 || timestamp > self.max_timestamp {
            self.max_timestamp = timestamp;
        }
        Some(offset_delta)
    }

    /// Encodes the final batch once (header, optional compression, CRC); a retry resends the
    /// same bytes so the broker can recognise duplicates by sequence. `transactional` sets
    /// attribute bit 4 (the batch belongs to its producer's ongoing transaction).
    pub fn seal(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        base_sequence: i32,
        compression: Compression,
        transactional: bool,
    ) -> Result<Bytes, ClientError> {
        if let Some(b) = &self.sealed {
            return Ok(b.clone());
        }
        let mut out = if compression == Compression::None {
            std::mem::take(&mut self.buf)
        } else {
            let records = &self.buf[BATCH_HEADER_LEN..];
            let mut out = BytesMut::with_capacity(BATCH_HEADER_LEN + records.len() / 2 + 64);
            out.put_bytes(0, BATCH_HEADER_LEN);
            let fill = |tmp: &mut BytesMut| {
                tmp.put_slice(records);
                Ok(())
            };
            let r = match compression {
                Compression::Gzip => Gzip::compress(&mut out, fill),
                Compression::Snappy => Snappy::compress(&mut out, fill),
                Compression::Lz4 => Lz4::compress(&mut out, fill),
                Compression::Zstd => Zstd::compress(&mut out, fill),
                Compression::None => Ok(()),
            };
            r.map_err(|e| ClientError::Codec {
                api: "Produce",
                reason: format!("{compression:?} compression failed: {e:#}"),
            })?;
            self.buf = BytesMut::new();
            out
        };
        let length = (out.len() - 12) as i32;
        let header = &mut out[..BATCH_HEADER_LEN];
        header[0..8].copy_from_slice(&0i64.to_be_bytes());
        header[8..12].copy_from_slice(&length.to_be_bytes());
        header[12..16].copy_from_slice(&(-1i32).to_be_bytes());
        header[16] = 2;
        let attributes = compression.codec_id() | if transactional { 0x10 } else { 0 };
        header[21..23].copy_from_slice(&attributes.to_be_bytes());
        header[23..27].copy_from_slice(&(self.count - 1).to_be_bytes());
        header[27..35].copy_from_slice(&self.base_timestamp.to_be_bytes());
        header[35..43].copy_from_slice(&self.max_timestamp.to_be_bytes());
        header[43..51].copy_from_slice(&producer_id.to_be_bytes());
        header[51..53].copy_from_slice(&producer_epoch.to_be_bytes());
        header[53..57].copy_from_slice(&base_sequence.to_be_bytes());
        header[57..61].copy_from_slice(&self.count.to_be_bytes());
        let crc = crc32c::crc32c(&out[21..]);
        out[17..21].copy_from_slice(&crc.to_be_bytes());
        let bytes = out.freeze();
        self.base_sequence = base_sequence;
        self.sealed = Some(bytes.clone());
        Ok(bytes)
    }
}

impl ProducerBatch {
    /// Moves a sealed batch to another producer id, epoch and base sequence (after an epoch
    /// bump): rewrites those header fields and the CRC, the records stay as they are.
    pub fn reassign_producer(&mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) {
        self.base_sequence = base_sequence;
        let Some(sealed) = &self.sealed else {
            return;
        };
        if sealed.len() < BATCH_HEADER_LEN {
            return;
        }
        let mut out = BytesMut::from(&sealed[..]);
        out[43..51].copy_from_slice(&producer_id.to_be_bytes());
        out[51..53].copy_from_slice(&producer_epoch.to_be_bytes());
        out[53..57].copy_from_slice(&base_sequence.to_be_bytes());
        let crc = crc32c::crc32c(&out[21..]);
        out[17..21].copy_from_slice(&crc.to_be_bytes());
        self.sealed = Some(out.freeze());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_protocol::batch::BatchHeader;
    use weir_protocol::kafka_protocol::records::RecordBatchDecoder;

    #[test]
    fn varint_lengths() {
        for (v, n) in [
            (0i64, 1usize),
            (-1, 1),
            (63, 1),
            (64, 2),
            (-65, 2),
            (8191, 2),
            (8192, 3),
        ] {
            assert_eq!(varint_len(v), n, "{v}");
            let mut b = BytesMut::new();
            put_varint(&mut b, v);
            assert_eq!(b.len(), n, "{v}");
        }
    }

    #[test]
    fn sealed_batches_decode_with_kafka_protocol() {
        for codec in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut batch = ProducerBatch::new(Arc::from("t"), 0, 16384, 0, Instant::now());
            let r1 = ProducerRecord::new("t").key(b"k1").value(b"hello");
            let r2 = ProducerRecord::new("t").value(b"world").header("h", b"v");
            assert_eq!(batch.try_append(&r1, 1000, 16384), Some(0));
            assert_eq!(batch.try_append(&r2, 1005, 16384), Some(1));
            let bytes = batch
                .seal(7, 1, 42, codec, codec == Compression::Lz4)
                .unwrap();
            let header = BatchHeader::parse(&bytes).unwrap();
            header.validate().unwrap();
            assert_eq!(header.compression_codec(), codec.codec_id());
            assert_eq!(header.is_transactional(), codec == Compression::Lz4);
            assert_eq!(header.record_count(), 2);
            assert_eq!(header.base_sequence(), 42);
            assert_eq!(header.max_timestamp(), 1005);
            let mut b = bytes.clone();
            let set = RecordBatchDecoder::decode(&mut b).unwrap();
            assert_eq!(set.records.len(), 2);
            assert_eq!(set.records[0].key.as_deref(), Some(&b"k1"[..]));
            assert_eq!(set.records[1].value.as_deref(), Some(&b"world"[..]));
            assert_eq!(set.records[1].timestamp, 1005);
            assert_eq!(set.records[1].headers.len(), 1);
        }
    }

    #[test]
    fn a_sealed_batch_moves_to_a_new_epoch() {
        let mut batch = ProducerBatch::new(Arc::from("t"), 0, 16384, 0, Instant::now());
        batch.try_append(&ProducerRecord::new("t").value(b"v"), 1000, 16384);
        batch.seal(7, 1, 42, Compression::Zstd, false).unwrap();
        batch.reassign_producer(7, 2, 0);
        let bytes = batch.seal(0, 0, 0, Compression::None, false).unwrap();
        let header = BatchHeader::parse(&bytes).unwrap();
        header.validate().unwrap();
        assert_eq!((header.producer_id(), header.producer_epoch()), (7, 2));
        assert_eq!(header.base_sequence(), 0);
        assert_eq!(header.compression_codec(), Compression::Zstd.codec_id());
    }

    #[test]
    fn a_full_batch_refuses_more() {
        let mut batch = ProducerBatch::new(Arc::from("t"), 0, 100, 0, Instant::now());
        let r = ProducerRecord::new("t").value(&[0u8; 60]);
        assert!(batch.try_append(&r, 0, 100).is_some());
        assert!(batch.try_append(&r, 0, 100).is_none());
    }
}
