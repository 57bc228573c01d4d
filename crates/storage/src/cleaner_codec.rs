//! Record-level access to a record batch v2, for the two places the broker looks inside
//! batches: the log cleaner (which drops records) and the produce path's `compression.type`
//! conversion (which changes the codec).
//!
//! Records are never re-encoded: a batch's records section is decompressed, the records kept
//! are copied byte for byte (their offset and timestamp deltas stay relative to the batch's
//! unchanged base offset and base timestamp, and headers, including duplicate header keys,
//! stay exactly as the producer wrote them), and the result is compressed again. Only the
//! header's length, attributes (codec bits), record count and CRC change.
//!
//! Record layout (Kafka's v2 record, varints are zigzag):
//! `length: varint, attributes: i8, timestampDelta: varlong, offsetDelta: varint,
//! keyLength: varint, key, valueLength: varint, value, headers: [varint count, ...]`.

use bytes::{Bytes, BytesMut};
use weir_protocol::batch::{BatchError, BatchHeader, BATCH_HEADER_LEN, LOG_OVERHEAD};
use weir_protocol::kafka_protocol::compression::{self as cmpr, Compressor, Decompressor};

/// Codec ids of the batch attributes (bits 0-2).
pub mod codec {
    pub const NONE: i16 = 0;
    pub const GZIP: i16 = 1;
    pub const SNAPPY: i16 = 2;
    pub const LZ4: i16 = 3;
    pub const ZSTD: i16 = 4;
}

fn undecodable(reason: impl std::fmt::Display) -> BatchError {
    BatchError::Undecodable {
        reason: reason.to_string(),
    }
}

/// Decompresses a batch's records section (`codec` from its attributes).
pub fn decompress(codec: i16, data: &[u8]) -> Result<Vec<u8>, BatchError> {
    let mut src = Bytes::copy_from_slice(data);
    let out = |b: &mut Bytes| Ok(b.to_vec());
    match codec {
        codec::NONE => Ok(data.to_vec()),
        codec::GZIP => cmpr::Gzip::decompress(&mut src, out),
        codec::SNAPPY => cmpr::Snappy::decompress(&mut src, out),
        codec::LZ4 => cmpr::Lz4::decompress(&mut src, out),
        codec::ZSTD => cmpr::Zstd::decompress(&mut src, out),
        codec => return Err(BatchError::UnknownCodec { codec }),
    }
    .map_err(undecodable)
}

/// Compresses a records section with `codec`.
pub fn compress(codec: i16, data: &[u8]) -> Result<Vec<u8>, BatchError> {
    let mut dst = BytesMut::new();
    let fill = |b: &mut BytesMut| {
        b.extend_from_slice(data);
        Ok(())
    };
    match codec {
        codec::NONE => return Ok(data.to_vec()),
        codec::GZIP => cmpr::Gzip::compress(&mut dst, fill),
        codec::SNAPPY => cmpr::Snappy::compress(&mut dst, fill),
        codec::LZ4 => cmpr::Lz4::compress(&mut dst, fill),
        codec::ZSTD => cmpr::Zstd::compress(&mut dst, fill),
        codec => return Err(BatchError::UnknownCodec { codec }),
    }
    .map_err(undecodable)?;
    Ok(dst.to_vec())
}

/// What the cleaner and the produce path need from one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// The whole record, length prefix included, as stored.
    pub raw: &'a [u8],
    pub offset_delta: i32,
    pub timestamp_delta: i64,
    pub key: Option<&'a [u8]>,
    /// `false` for a tombstone (null value).
    pub has_value: bool,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn varlong(&mut self) -> Result<i64, BatchError> {
        let mut z: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| undecodable("truncated varint"))?;
            self.pos += 1;
            z |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(((z >> 1) as i64) ^ -((z & 1) as i64));
            }
        }
        Err(undecodable("varint too long"))
    }

    fn varint(&mut self) -> Result<i32, BatchError> {
        i32::try_from(self.varlong()?).map_err(|_| undecodable("varint out of range"))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], BatchError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| undecodable("record field past its end"))?;
        let s = self.buf.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(s)
    }

    /// A nullable byte field (`-1` length is null).
    fn nullable(&mut self) -> Result<Option<&'a [u8]>, BatchError> {
        let len = self.varint()?;
        if len < 0 {
            return Ok(None);
        }
        self.take(len as usize).map(Some)
    }
}

/// The records of a decompressed records section, in order.
pub fn records(section: &[u8]) -> Result<Vec<RecordView<'_>>, BatchError> {
    RecordIter::new(section).collect()
}

/// Iterates over the records of a decompressed records section without allocating; stops
/// after the first error.
#[derive(Debug)]
pub struct RecordIter<'a> {
    section: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> RecordIter<'a> {
    pub fn new(section: &'a [u8]) -> Self {
        Self {
            section,
            pos: 0,
            failed: false,
        }
    }

    fn parse_next(&mut self) -> Result<RecordView<'a>, BatchError> {
        let mut cur = Cursor {
            buf: self.section,
            pos: self.pos,
        };
        let start = cur.pos;
        let len = cur.varint()?;
        let len = usize::try_from(len).map_err(|_| undecodable("negative record length"))?;
        let body = cur.take(len)?;
        let raw = self.section.get(start..cur.pos).unwrap_or_default();
        self.pos = cur.pos;
        let mut r = Cursor { buf: body, pos: 1 };
        if body.is_empty() {
            return Err(undecodable("empty record"));
        }
        let timestamp_delta = r.varlong()?;
        let offset_delta = r.varint()?;
        let key = r.nullable()?;
        let has_value = r.nullable()?.is_some();
        Ok(RecordView {
            raw,
            offset_delta,
            timestamp_delta,
            key,
            has_value,
        })
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<RecordView<'a>, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.section.len() {
            return None;
        }
        let item = self.parse_next();
        self.failed = item.is_err();
        Some(item)
    }
}

/// The decompressed records section of a batch.
pub fn records_section(batch: &BatchHeader<'_>) -> Result<Vec<u8>, BatchError> {
    let body = batch.as_bytes().get(BATCH_HEADER_LEN..).unwrap_or_default();
    decompress(batch.compression_codec(), body)
}

/// The records section of a batch: borrowed from the batch when it is uncompressed,
/// decompressed into `scratch` (reused from call to call; only the returned slice is
/// meaningful) otherwise. LZ4 frames are read by `lz4_frame.rs`, which skips their inner
/// checksums (the batch CRC covers the bytes).
pub fn records_section_in<'a>(
    batch: &'a BatchHeader<'_>,
    scratch: &'a mut Vec<u8>,
) -> Result<&'a [u8], BatchError> {
    let body = batch.as_bytes().get(BATCH_HEADER_LEN..).unwrap_or_default();
    match batch.compression_codec() {
        codec::NONE => Ok(body),
        c => {
            if c == codec::LZ4 {
                if let Some(len) =
                    crate::lz4_frame::decompress_into(body, scratch).map_err(undecodable)?
                {
                    return Ok(scratch.get(..len).unwrap_or_default());
                }
            }
            scratch.clear();
            decompress_into(c, body, scratch)?;
            Ok(scratch.as_slice())
        }
    }
}

/// Decompresses `data` (a records section compressed with `codec`) at the end of `out`.
pub fn decompress_into(codec: i16, data: &[u8], out: &mut Vec<u8>) -> Result<(), BatchError> {
    let mut src = Bytes::copy_from_slice(data);
    let fill = |b: &mut Bytes| {
        out.extend_from_slice(b);
        Ok(())
    };
    match codec {
        codec::NONE => {
            out.extend_from_slice(data);
            Ok(())
        }
        codec::GZIP => cmpr::Gzip::decompress(&mut src, fill),
        codec::SNAPPY => cmpr::Snappy::decompress(&mut src, fill),
        codec::LZ4 => cmpr::Lz4::decompress(&mut src, fill),
        codec::ZSTD => cmpr::Zstd::decompress(&mut src, fill),
        codec => return Err(BatchError::UnknownCodec { codec }),
    }
    .map_err(undecodable)
}

/// A new batch with `batch`'s header (base offset, last offset delta, timestamps, producer
/// id, epoch, base sequence, partition leader epoch, timestamp type and transactional/control
/// flags unchanged), the already-encoded records `records` (`count` of them) compressed with
/// `codec`, and the length, attributes, record count and CRC recomputed.
pub fn rebuild_batch(
    batch: &BatchHeader<'_>,
    records: &[u8],
    count: i32,
    codec: i16,
) -> Result<Vec<u8>, BatchError> {
    let mut out = Vec::new();
    rebuild_with(batch, records, count, codec, &mut out, |data, out| {
        out.extend_from_slice(&compress(codec, data)?);
        Ok(())
    })?;
    Ok(out)
}

/// [`rebuild_batch`] into `out` (cleared first), for the log cleaner: the buffer is reused,
/// and LZ4 is written by `lz4_frame.rs` in LZ4's fast mode (Kafka's own frame layout; the
/// level is not part of the format) rather than the high-compression mode of the general
/// encoder, whose cost would dominate the rewrite of batches that lose records.
pub fn rebuild_batch_into(
    batch: &BatchHeader<'_>,
    records: &[u8],
    count: i32,
    codec: i16,
    out: &mut Vec<u8>,
) -> Result<(), BatchError> {
    rebuild_with(batch, records, count, codec, out, |data, out| {
        if codec == codec::LZ4 {
            crate::lz4_frame::compress_into(data, out).map_err(undecodable)
        } else {
            out.extend_from_slice(&compress(codec, data)?);
            Ok(())
        }
    })
}

fn rebuild_with(
    batch: &BatchHeader<'_>,
    records: &[u8],
    count: i32,
    codec: i16,
    out: &mut Vec<u8>,
    compress_into: impl FnOnce(&[u8], &mut Vec<u8>) -> Result<(), BatchError>,
) -> Result<(), BatchError> {
    let header = batch
        .as_bytes()
        .get(..BATCH_HEADER_LEN)
        .ok_or(BatchError::Truncated {
            available: batch.total_len(),
            needed: BATCH_HEADER_LEN,
        })?;
    out.clear();
    out.extend_from_slice(header);
    if codec == codec::NONE {
        out.extend_from_slice(records);
    } else {
        compress_into(records, out)?;
    }
    let length = i32::try_from(out.len() - LOG_OVERHEAD)
        .map_err(|_| BatchError::InvalidLength { length: i32::MAX })?;
    out[8..12].copy_from_slice(&length.to_be_bytes());
    let attributes = (batch.attributes() & !0x07) | (codec & 0x07);
    out[21..23].copy_from_slice(&attributes.to_be_bytes());
    out[57..61].copy_from_slice(&count.to_be_bytes());
    let crc = crc32c::crc32c(&out[21..]);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// `batch` with its records compressed with `codec` instead (for `compression.type`).
pub fn recompress_batch(batch: &BatchHeader<'_>, codec: i16) -> Result<Vec<u8>, BatchError> {
    let section = records_section(batch)?;
    rebuild_batch(batch, &section, batch.record_count(), codec)
}

/// A record's key and value for [`keyed_batch`].
#[cfg(any(test, feature = "test-util"))]
pub type KeyValue<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// A valid v2 batch (base offset 0, CRC set) of records with the given keys and values
/// (`None` value: a tombstone), all with timestamp `timestamp`, compressed with `codec`.
/// For tests and benches (feature `test-util`).
#[cfg(any(test, feature = "test-util"))]
pub fn keyed_batch(records: &[KeyValue<'_>], timestamp: i64, codec: i16) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            out.push((z as u8) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
    }
    fn field(out: &mut Vec<u8>, f: Option<&[u8]>) {
        match f {
            None => varint(out, -1),
            Some(b) => {
                varint(out, b.len() as i64);
                out.extend_from_slice(b);
            }
        }
    }
    let mut section = Vec::new();
    for (i, (k, v)) in records.iter().enumerate() {
        let mut body = vec![0u8];
        varint(&mut body, 0);
        varint(&mut body, i as i64);
        field(&mut body, *k);
        field(&mut body, *v);
        varint(&mut body, 0);
        varint(&mut section, body.len() as i64);
        section.extend_from_slice(&body);
    }
    let count = records.len() as i32;
    let mut h = vec![0u8; BATCH_HEADER_LEN];
    h[16] = 2;
    h[23..27].copy_from_slice(&(count - 1).to_be_bytes());
    h[27..35].copy_from_slice(&timestamp.to_be_bytes());
    h[35..43].copy_from_slice(&timestamp.to_be_bytes());
    h[43..51].copy_from_slice(&(-1i64).to_be_bytes());
    h[51..53].copy_from_slice(&(-1i16).to_be_bytes());
    h[53..57].copy_from_slice(&(-1i32).to_be_bytes());
    h[8..12].copy_from_slice(&((BATCH_HEADER_LEN - LOG_OVERHEAD) as i32).to_be_bytes());
    BatchHeader::parse(&h)
        .and_then(|header| rebuild_batch(&header, &section, count, codec))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_protocol::batch::BatchIter;

    #[test]
    fn recompress_round_trips_every_codec() {
        let original = crate::test_util::batch(5, 500, 1_000);
        let header = BatchHeader::parse(&original).expect("batch");
        for c in [
            codec::GZIP,
            codec::SNAPPY,
            codec::LZ4,
            codec::ZSTD,
            codec::NONE,
        ] {
            let converted = recompress_batch(&header, c).expect("compress");
            let h = BatchHeader::parse(&converted).expect("parse");
            h.validate().expect("valid");
            assert_eq!(h.compression_codec(), c);
            assert_eq!(h.record_count(), 5);
            assert_eq!(h.base_timestamp(), 1_000);
            let back = recompress_batch(&h, codec::NONE).expect("decompress");
            assert_eq!(back, original, "codec {c}");
            assert_eq!(BatchIter::new(&back).count(), 1);
        }
    }

    #[test]
    fn records_are_parsed_with_keys_and_tombstones() {
        let original = crate::test_util::batch(3, 30, 5);
        let h = BatchHeader::parse(&original).expect("batch");
        let section = records_section(&h).expect("section");
        let recs = records(&section).expect("records");
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[2].offset_delta, 2);
        assert_eq!(recs[0].key, None);
        assert!(recs[0].has_value);
    }
}
