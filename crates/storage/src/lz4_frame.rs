//! The LZ4 frame format (what Kafka's `lz4` codec stores in a batch's records section) read
//! and written block by block on top of the `lz4` crate's block functions, for the log
//! cleaner.
//!
//! Why not the general frame decoder: it verifies the frame's optional XXH32 content and
//! block checksums, which cost as much as the decompression itself (a fifth of a compressed
//! cleaning's CPU in the cleaner bench), and copies the data through several buffers. A
//! batch's bytes are covered by its CRC-32C, which the cleaner checks, so the inner checksums
//! add nothing there. Frames this module does not handle (linked blocks, a dictionary,
//! concatenated frames) make [`decompress_into`] return `None`, and the caller uses the
//! general decoder.
//!
//! Frames written by [`compress_into`] are what Kafka's own `KafkaLZ4BlockOutputStream`
//! writes: version 1, independent blocks of at most 64 KiB, no content size, no checksums
//! besides the header's; blocks are compressed with LZ4's fast mode (the compression level is
//! not part of the format: any LZ4 reader, Kafka's included, decodes them).
//!
//! Frame layout: magic `0x184D2204` (LE), FLG, BD, [content size: 8], [dictionary id: 4],
//! header checksum (1: second byte of XXH32 of FLG..), then blocks (`u32` LE size, high bit
//! set for a stored block; data; [block checksum: 4]) up to a zero size, then [content
//! checksum: 4].

use std::io;

/// Magic number of an LZ4 frame.
const MAGIC: u32 = 0x184D_2204;
/// FLG of the frames written: version 01, independent blocks, nothing optional.
const FLG_WRITTEN: u8 = 0x60;
/// BD of the frames written: 64 KiB blocks.
const BD_WRITTEN: u8 = 0x40;
/// Header checksum of `[FLG_WRITTEN, BD_WRITTEN]`: `(XXH32(seed 0) >> 8) & 0xFF`.
const HC_WRITTEN: u8 = 0x82;
/// Largest block written.
const BLOCK: usize = 64 * 1024;
/// A block size with this bit set is stored uncompressed.
const STORED: u32 = 0x8000_0000;

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn invalid(reason: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason.to_string())
}

/// Decompresses the single LZ4 frame `data` into `out` from position 0, growing `out` (never
/// shrinking it: the caller reuses it, and only bytes before the returned length are
/// meaningful). Returns the decompressed length, `Ok(None)` for a frame this reader leaves to
/// the general decoder (see the module docs), or an error for a corrupt frame.
pub fn decompress_into(data: &[u8], out: &mut Vec<u8>) -> io::Result<Option<usize>> {
    if u32_at(data, 0) != Some(MAGIC) {
        return Ok(None);
    }
    let (Some(&flg), Some(&bd)) = (data.get(4), data.get(5)) else {
        return Err(invalid("truncated lz4 frame header"));
    };
    let version = flg >> 6;
    let independent = flg & 0x20 != 0;
    let block_checksum = flg & 0x10 != 0;
    let content_size = flg & 0x08 != 0;
    let content_checksum = flg & 0x04 != 0;
    let dictionary = flg & 0x01 != 0;
    if version != 1 || !independent || dictionary {
        return Ok(None);
    }
    let max_block = match (bd >> 4) & 0x07 {
        4 => 64 << 10,
        5 => 256 << 10,
        6 => 1 << 20,
        7 => 4 << 20,
        _ => return Err(invalid("invalid lz4 block size")),
    };
    // Magic, FLG, BD, [content size], header checksum.
    let mut at = 6 + if content_size { 8 } else { 0 } + 1;
    let mut len = 0usize;
    loop {
        let size = u32_at(data, at).ok_or_else(|| invalid("truncated lz4 frame"))?;
        at += 4;
        if size == 0 {
            break;
        }
        let stored = size & STORED != 0;
        let size = (size & !STORED) as usize;
        let block = data
            .get(at..at + size)
            .ok_or_else(|| invalid("lz4 block past the end of the frame"))?;
        at += size + if block_checksum { 4 } else { 0 };
        if out.len() < len + max_block {
            out.resize(len + max_block, 0);
        }
        let dest = out.get_mut(len..len + max_block).unwrap_or_default();
        if stored {
            let dest = dest
                .get_mut(..size)
                .ok_or_else(|| invalid("stored lz4 block larger than the block size"))?;
            dest.copy_from_slice(block);
            len += size;
        } else {
            let max = i32::try_from(max_block).unwrap_or(i32::MAX);
            len += lz4::block::decompress_to_buffer(block, Some(max), dest)?;
        }
    }
    if content_checksum {
        at += 4;
    }
    if at != data.len() {
        // Trailing bytes: another frame (or garbage) for the general decoder to judge.
        return Ok(None);
    }
    Ok(Some(len))
}

/// Appends to `out` one LZ4 frame holding `data` (see the module docs for its format).
pub fn compress_into(data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&[FLG_WRITTEN, BD_WRITTEN, HC_WRITTEN]);
    let bound = lz4::block::compress_bound(BLOCK)?;
    for chunk in data.chunks(BLOCK) {
        let size_at = out.len();
        out.resize(size_at + 4 + bound, 0);
        let dest = out.get_mut(size_at + 4..).unwrap_or_default();
        let written = lz4::block::compress_to_buffer(chunk, None, false, dest)?;
        if written < chunk.len() {
            out.truncate(size_at + 4 + written);
            let size = u32::try_from(written).map_err(|_| invalid("lz4 block too large"))?;
            out.get_mut(size_at..size_at + 4)
                .unwrap_or_default()
                .copy_from_slice(&size.to_le_bytes());
        } else {
            // Incompressible: stored as is, as LZ4 writers do.
            out.truncate(size_at);
            let size = u32::try_from(chunk.len()).map_err(|_| invalid("lz4 block too large"))?;
            out.extend_from_slice(&(size | STORED).to_le_bytes());
            out.extend_from_slice(chunk);
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{Bytes, BytesMut};
    use weir_protocol::kafka_protocol::compression::{Compressor, Decompressor, Lz4};

    fn sample(len: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..len)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Half compressible text, half noise.
                if (i / 1000) % 2 == 0 {
                    b"weir log cleaner "[i % 17]
                } else {
                    state as u8
                }
            })
            .collect()
    }

    fn general_decode(frame: &[u8]) -> Vec<u8> {
        let mut src = Bytes::copy_from_slice(frame);
        Lz4::decompress(&mut src, |b: &mut Bytes| Ok(b.to_vec())).expect("general decoder")
    }

    fn general_encode(data: &[u8]) -> Vec<u8> {
        let mut dst = BytesMut::new();
        Lz4::compress(&mut dst, |b: &mut BytesMut| {
            b.extend_from_slice(data);
            Ok(())
        })
        .expect("general encoder");
        dst.to_vec()
    }

    #[test]
    fn written_frames_are_read_by_the_general_decoder_and_back() {
        for len in [0, 1, 100, BLOCK - 1, BLOCK, BLOCK + 1, 5 * BLOCK + 333] {
            let data = sample(len);
            let mut frame = Vec::new();
            compress_into(&data, &mut frame).unwrap();
            // The general decoder checks the header checksum too.
            assert_eq!(general_decode(&frame), data, "len {len}");
            let mut out = vec![7u8; 3];
            let n = decompress_into(&frame, &mut out).unwrap().unwrap();
            assert_eq!(&out[..n], &data[..], "len {len}");
        }
    }

    #[test]
    fn reads_frames_with_checksums_from_the_general_encoder() {
        let data = sample(300_000);
        let frame = general_encode(&data);
        let mut out = Vec::new();
        let n = decompress_into(&frame, &mut out).unwrap().unwrap();
        assert_eq!(&out[..n], &data[..]);
        // The buffer is reused: a shorter frame decodes at position 0.
        let small = general_encode(b"short");
        let n = decompress_into(&small, &mut out).unwrap().unwrap();
        assert_eq!(&out[..n], b"short");
    }

    #[test]
    fn leaves_unusual_frames_to_the_general_decoder_and_rejects_corrupt_ones() {
        let mut frame = Vec::new();
        compress_into(&sample(1000), &mut frame).unwrap();
        let mut out = Vec::new();
        // Linked blocks.
        let mut linked = frame.clone();
        linked[4] &= !0x20;
        assert!(decompress_into(&linked, &mut out).unwrap().is_none());
        // Two frames back to back.
        let mut two = frame.clone();
        two.extend_from_slice(&frame);
        assert!(decompress_into(&two, &mut out).unwrap().is_none());
        // Not a frame.
        assert!(decompress_into(b"nope", &mut out).unwrap().is_none());
        // Truncated.
        assert!(decompress_into(&frame[..frame.len() - 5], &mut out).is_err());
        // A compressed block that does not decode.
        let mut bad = frame.clone();
        let last = bad.len() - 6;
        bad[11..last].iter_mut().for_each(|b| *b = 0xff);
        assert!(decompress_into(&bad, &mut out).is_err());
    }
}
