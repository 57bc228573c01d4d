//! Builders of valid record batches v2 for tests and benches (feature `test-util`).

use weir_protocol::batch::{BATCH_HEADER_LEN, LOG_OVERHEAD};

/// A valid uncompressed v2 batch (CRC set) with base offset 0, `count` records whose values
/// together take about `payload` bytes, and `max_timestamp` as both base and max timestamp.
pub fn batch(count: i32, payload: usize, max_timestamp: i64) -> Vec<u8> {
    let count = count.max(1);
    let per_record = payload / count as usize;
    let mut records = Vec::with_capacity(payload + count as usize * 16);
    for i in 0..count {
        let mut body = Vec::with_capacity(per_record + 16);
        body.push(0); // attributes
        put_varint(&mut body, 0); // timestamp delta
        put_varint(&mut body, i64::from(i)); // offset delta
        put_varint(&mut body, -1); // key length (null)
        put_varint(&mut body, per_record as i64); // value length
        body.resize(body.len() + per_record, b'x');
        put_varint(&mut body, 0); // headers
        put_varint(&mut records, body.len() as i64);
        records.extend_from_slice(&body);
    }
    let mut b = vec![0u8; BATCH_HEADER_LEN];
    b.extend_from_slice(&records);
    let len = (b.len() - LOG_OVERHEAD) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    b[16] = 2;
    b[23..27].copy_from_slice(&(count - 1).to_be_bytes());
    b[27..35].copy_from_slice(&max_timestamp.to_be_bytes());
    b[35..43].copy_from_slice(&max_timestamp.to_be_bytes());
    b[43..51].copy_from_slice(&(-1i64).to_be_bytes());
    b[51..53].copy_from_slice(&(-1i16).to_be_bytes());
    b[53..57].copy_from_slice(&(-1i32).to_be_bytes());
    b[57..61].copy_from_slice(&count.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// `batch` stamped with a producer id, epoch and base sequence, and flagged transactional
/// if asked (CRC recomputed).
pub fn from_producer(
    mut batch: Vec<u8>,
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    transactional: bool,
) -> Vec<u8> {
    batch[43..51].copy_from_slice(&producer_id.to_be_bytes());
    batch[51..53].copy_from_slice(&epoch.to_be_bytes());
    batch[53..57].copy_from_slice(&base_sequence.to_be_bytes());
    if transactional {
        batch[22] |= 0x10;
    }
    set_crc(&mut batch);
    batch
}

/// A transaction marker: a control batch of one record whose key is version 0 and type 1
/// (COMMIT) or 0 (ABORT), and whose value is version 0 and coordinator epoch 0.
pub fn control_batch(producer_id: i64, epoch: i16, commit: bool, timestamp: i64) -> Vec<u8> {
    let mut body = vec![0u8]; // attributes
    put_varint(&mut body, 0); // timestamp delta
    put_varint(&mut body, 0); // offset delta
    put_varint(&mut body, 4);
    body.extend_from_slice(&[0, 0, 0, u8::from(commit)]);
    put_varint(&mut body, 6);
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    put_varint(&mut body, 0); // headers
    let mut b = batch(1, 0, timestamp);
    b.truncate(BATCH_HEADER_LEN);
    put_varint(&mut b, body.len() as i64);
    b.extend_from_slice(&body);
    let len = (b.len() - LOG_OVERHEAD) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    b[21..23].copy_from_slice(&0x30i16.to_be_bytes());
    from_producer(b, producer_id, epoch, -1, false)
}

fn set_crc(b: &mut [u8]) {
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// A batch of exactly `total_len` bytes (at least 70) holding one record.
pub fn batch_of_len(total_len: usize, max_timestamp: i64) -> Vec<u8> {
    let mut payload = total_len.saturating_sub(BATCH_HEADER_LEN + 8);
    loop {
        let b = batch(1, payload, max_timestamp);
        match b.len().cmp(&total_len) {
            std::cmp::Ordering::Equal => return b,
            std::cmp::Ordering::Greater if payload > 0 => payload -= 1,
            std::cmp::Ordering::Less => payload += 1,
            _ => return b,
        }
    }
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}
