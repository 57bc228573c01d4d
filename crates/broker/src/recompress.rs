//! What the produce path does inside batches, and only for topics that ask for it:
//!
//! - **`compression.type`** other than `producer`: a batch in another codec is decompressed
//!   and recompressed with the topic's codec (`uncompressed` means codec none), keeping its
//!   offset deltas, timestamps, producer id/epoch/sequence and the records' bytes (headers
//!   included) exactly; only the header's length, codec bits and CRC change. Kafka does the
//!   same, and it is the only place besides the log cleaner where the broker decompresses.
//! - **Compacted topics** (`cleanup.policy` containing `compact`): every record needs a key;
//!   a record without one fails the partition's request with `INVALID_RECORD`, as in Kafka.
//!
//! Topics with neither keep the zero-copy path: nothing here runs for them.

use bytes::Bytes;
use weir_metadata::config::topic::CompressionType;
use weir_protocol::batch::BatchIter;
use weir_protocol::ResponseError;
use weir_storage::cleaner_codec::{self, codec};

/// The codec id `compression.type` asks for; `None` for `producer` (keep the batch's).
pub(crate) fn target_codec(compression_type: CompressionType) -> Option<i16> {
    match compression_type {
        CompressionType::Producer => None,
        CompressionType::Uncompressed => Some(codec::NONE),
        CompressionType::Gzip => Some(codec::GZIP),
        CompressionType::Snappy => Some(codec::SNAPPY),
        CompressionType::Lz4 => Some(codec::LZ4),
        CompressionType::Zstd => Some(codec::ZSTD),
    }
}

/// Checks keys (when `compact`) and converts codecs (when `target` is set and differs) in a
/// validated record set. Returns the record set to append: `records` itself when no batch
/// changed.
pub(crate) fn prepare(
    records: Bytes,
    target: Option<i16>,
    compact: bool,
) -> Result<Bytes, (ResponseError, Option<String>)> {
    let convert = |c: i16| target.is_some_and(|t| t != c);
    let needs_work = compact
        || BatchIter::new(&records)
            .filter_map(Result::ok)
            .any(|b| convert(b.compression_codec()));
    if !needs_work {
        return Ok(records);
    }
    let undecodable =
        |e: weir_protocol::batch::BatchError| (ResponseError::CorruptMessage, Some(e.to_string()));
    let mut out = Vec::with_capacity(records.len());
    let mut changed = false;
    for batch in BatchIter::new(&records) {
        let batch = batch.map_err(undecodable)?;
        let section = cleaner_codec::records_section(&batch).map_err(undecodable)?;
        if compact {
            let parsed = cleaner_codec::records(&section).map_err(undecodable)?;
            if parsed.iter().any(|r| r.key.is_none()) {
                return Err((
                    ResponseError::InvalidRecord,
                    Some(
                        "Compacted topic cannot accept message without key in topic partition"
                            .to_string(),
                    ),
                ));
            }
        }
        match target.filter(|&t| t != batch.compression_codec()) {
            Some(t) => {
                let rebuilt =
                    cleaner_codec::rebuild_batch(&batch, &section, batch.record_count(), t)
                        .map_err(undecodable)?;
                out.extend_from_slice(&rebuilt);
                changed = true;
            }
            None => out.extend_from_slice(batch.as_bytes()),
        }
    }
    Ok(if changed { Bytes::from(out) } else { records })
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_protocol::batch::BatchHeader;
    use weir_storage::cleaner_codec::keyed_batch;

    #[test]
    fn converts_codecs_and_keeps_producer_batches() {
        let batch = Bytes::from(keyed_batch(
            &[(Some(b"k"), Some(b"v1")), (Some(b"k2"), None)],
            1_000,
            codec::GZIP,
        ));
        let same = prepare(batch.clone(), None, false).unwrap();
        assert_eq!(same, batch);
        for t in [codec::NONE, codec::SNAPPY, codec::LZ4, codec::ZSTD] {
            let out = prepare(batch.clone(), Some(t), false).unwrap();
            let h = BatchHeader::parse(&out).unwrap();
            h.validate().unwrap();
            assert_eq!(h.compression_codec(), t);
            assert_eq!(h.record_count(), 2);
            assert_eq!(h.base_timestamp(), 1_000);
            let back = prepare(out.clone(), Some(codec::GZIP), false).unwrap();
            let section = cleaner_codec::records_section(&BatchHeader::parse(&back).unwrap());
            let orig = cleaner_codec::records_section(&BatchHeader::parse(&batch).unwrap());
            assert_eq!(section.unwrap(), orig.unwrap());
        }
        assert_eq!(
            prepare(batch.clone(), Some(codec::GZIP), true).unwrap(),
            batch
        );
    }

    #[test]
    fn compacted_topics_reject_null_keys() {
        let batch = Bytes::from(keyed_batch(
            &[(Some(b"k"), Some(b"v")), (None, Some(b"v"))],
            1,
            codec::LZ4,
        ));
        let err = prepare(batch.clone(), None, true).unwrap_err();
        assert_eq!(err.0, ResponseError::InvalidRecord);
        assert!(prepare(batch, None, false).is_ok());
    }
}
