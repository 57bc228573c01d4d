//! Log compaction and `compression.type` against an in-process broker whose cleaner runs
//! every 100 ms: the latest value per key survives with its offset, records without keys
//! are refused by compacted topics, and batches are recompressed to the topic's codec.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use weir_protocol::batch::BatchIter;

use crate::produce_fetch::{fetch, fetch_request, produce};
use crate::support::{create_topic, Client, TestBroker};

const FAST_CLEANER: &[&str] = &["log.cleaner.backoff.ms=100"];
const INVALID_RECORD: i16 = 87;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A batch of `(key, value)` records encoded by kafka-protocol with `compression`.
fn keyed(records: &[(Option<&str>, Option<&str>)], compression: Compression) -> Vec<u8> {
    let ts = now_ms();
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch while offset - sequence is constant; a
            // non-idempotent batch's base sequence is -1.
            sequence: i as i32 - 1,
            timestamp: ts,
            key: k.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: v.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
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

type Model = BTreeMap<i64, (String, Option<String>)>;

/// Every record from `offset` on, as offset -> (key, value), checking offsets increase.
async fn read_all(client: &mut Client, id: uuid::Uuid, end: i64) -> Model {
    let mut out = Model::new();
    let mut offset = 0;
    while offset < end {
        let (err, _, bytes) = fetch(client, fetch_request(id, offset, 1, 100)).await;
        assert_eq!(err, 0);
        if bytes.is_empty() {
            break;
        }
        let mut buf = bytes.clone();
        for set in RecordBatchDecoder::decode_all(&mut buf).unwrap() {
            for r in set.records {
                assert!(
                    r.offset >= offset,
                    "offsets go back: {} < {offset}",
                    r.offset
                );
                let key = String::from_utf8(r.key.unwrap().to_vec()).unwrap();
                let value = r.value.map(|v| String::from_utf8(v.to_vec()).unwrap());
                out.insert(r.offset, (key, value));
                offset = r.offset + 1;
            }
        }
        // Batches emptied of trailing records still advance the position.
        if let Some(last) = BatchIter::new(&bytes).filter_map(Result::ok).last() {
            offset = offset.max(last.last_offset() + 1);
        }
    }
    out
}

/// Produces 2,000 records over 50 keys (every 13th a tombstone) to partition 0 of `topic`,
/// in batches of 10, alternately uncompressed and lz4; returns them and the log end offset.
async fn fill(c: &mut Client, topic: &str) -> (Model, i64) {
    let mut model = Model::new();
    let mut next = 0i64;
    for round in 0..200 {
        let mut records = Vec::new();
        for j in 0..10 {
            let i = round * 10 + j;
            let key = format!("key-{}", i % 50);
            let value = (i % 13 != 12).then(|| format!("value-{i}"));
            records.push((key, value));
        }
        let refs: Vec<_> = records
            .iter()
            .map(|(k, v)| (Some(k.as_str()), v.as_deref()))
            .collect();
        let codec = if round % 2 == 0 {
            Compression::None
        } else {
            Compression::Lz4
        };
        let (err, base) = produce(c, topic, keyed(&refs, codec), 1).await;
        assert_eq!((err, base), (0, next));
        for (k, v) in records {
            model.insert(next, (k, v));
            next += 1;
        }
    }
    (model, next)
}

#[tokio::test]
async fn cleaner_keeps_the_latest_value_per_key_with_its_offset() {
    let broker = TestBroker::start(FAST_CLEANER).await;
    let mut c = broker.client().await;
    let id = create_topic(
        &mut c,
        "compacted",
        &[
            ("cleanup.policy", "compact"),
            ("segment.bytes", "4096"),
            ("min.cleanable.dirty.ratio", "0.01"),
        ],
    )
    .await;
    let (model, next) = fill(&mut c, "compacted").await;
    let mut latest: BTreeMap<&str, i64> = BTreeMap::new();
    for (&o, (k, _)) in &model {
        latest.insert(k, o);
    }

    let deadline = Instant::now() + Duration::from_secs(20);
    let seen = loop {
        let seen = read_all(&mut c, id, next).await;
        if seen.len() < model.len() / 4 {
            break seen;
        }
        assert!(
            Instant::now() < deadline,
            "not cleaned: {} records",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Offsets unchanged: every record read is the one produced at that offset.
    for (o, record) in &seen {
        assert_eq!(model.get(o), Some(record), "offset {o}");
    }
    // The latest record of every key is there; a key's latest live value is its last one.
    for (key, &o) in &latest {
        let last = seen.iter().rev().find(|(_, (k, _))| k == key);
        let (last_offset, (_, value)) = last.unwrap_or_else(|| panic!("{key} lost"));
        assert_eq!(*last_offset, o, "{key}");
        assert_eq!(value, &model[&o].1);
    }
    broker.stop().await;
}

/// `cleaner-offset-checkpoint` is read at start: a log whose checkpoint says it is clean up to
/// its end is not cleaned (its dirty ratio is 0), the same log without the file is (ratio 1),
/// and the cleaning writes where it stopped to the file.
#[tokio::test]
async fn cleaner_checkpoint_is_loaded_at_start_and_written_after_cleaning() {
    let broker = TestBroker::start(&["log.cleaner.enable=false"]).await;
    let mut c = broker.client().await;
    let configs = [
        ("cleanup.policy", "compact"),
        ("segment.bytes", "4096"),
        ("min.cleanable.dirty.ratio", "0.5"),
    ];
    let id = create_topic(&mut c, "ckpt", &configs).await;
    let (model, next) = fill(&mut c, "ckpt").await;
    let dir = broker.stop().await;
    let checkpoint = dir.path().join("cleaner-offset-checkpoint");
    std::fs::write(&checkpoint, format!("0\n1\nckpt 0 {next}\n")).unwrap();

    // Clean up to the end according to the checkpoint: nothing to do, 15 passes long.
    let broker = TestBroker::start_in(dir, FAST_CLEANER).await;
    let mut c = broker.client().await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(read_all(&mut c, id, next).await, model, "cleaned anyway");
    let dir = broker.stop().await;
    assert_eq!(
        std::fs::read_to_string(&checkpoint).unwrap(),
        format!("0\n1\nckpt 0 {next}\n")
    );

    // Without the file the whole log is dirty: cleaned, and the file says where it stopped.
    std::fs::remove_file(&checkpoint).unwrap();
    let broker = TestBroker::start_in(dir, FAST_CLEANER).await;
    let mut c = broker.client().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while read_all(&mut c, id, next).await.len() >= model.len() / 4 {
        assert!(Instant::now() < deadline, "not cleaned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The pass writes the file after it has swapped in every partition's cleaned segments,
    // so a reader can see the cleaned log a moment before the file exists.
    let text = loop {
        match std::fs::read_to_string(&checkpoint) {
            Ok(text) => break text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                assert!(Instant::now() < deadline, "checkpoint not written");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("reading the checkpoint: {e}"),
        }
    };
    let offset: i64 = text
        .strip_prefix("0\n1\nckpt 0 ")
        .and_then(|rest| rest.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("checkpoint {text:?}"));
    assert!(offset > 0 && offset <= next, "{offset}");
    broker.stop().await;
}

/// With `log.cleaner.dedupe.buffer.size` far too small for the 50 keys, each pass maps what
/// fits (about 27 keys) and stops there: the checkpoint moves forward over several passes,
/// and the log still ends with the latest value of every key at its offset.
#[tokio::test]
async fn small_dedupe_buffer_compacts_over_several_passes() {
    // Written with the cleaner off, so that the first pass finds the whole log cleanable
    // (with a large enough map, one pass would clean it all).
    let broker = TestBroker::start(&["log.cleaner.enable=false"]).await;
    let mut c = broker.client().await;
    let configs = [
        ("cleanup.policy", "compact"),
        ("segment.bytes", "4096"),
        ("min.cleanable.dirty.ratio", "0.01"),
    ];
    let id = create_topic(&mut c, "small-map", &configs).await;
    let (model, next) = fill(&mut c, "small-map").await;
    let dir = broker.stop().await;
    let small = [
        "log.cleaner.backoff.ms=100",
        "log.cleaner.dedupe.buffer.size=800",
    ];
    let broker = TestBroker::start_in(dir, &small).await;
    let mut c = broker.client().await;
    let checkpoint = broker.dir.path().join("cleaner-offset-checkpoint");
    let mut seen_offsets = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let seen = loop {
        if let Some(offset) = std::fs::read_to_string(&checkpoint).ok().and_then(|t| {
            t.strip_prefix("0\n1\nsmall-map 0 ")?
                .trim_end()
                .parse::<i64>()
                .ok()
        }) {
            if seen_offsets.last() != Some(&offset) {
                seen_offsets.push(offset);
            }
        }
        let seen = read_all(&mut c, id, next).await;
        let mut keys: Vec<&String> = seen.values().map(|(k, _)| k).collect();
        keys.sort();
        keys.dedup();
        // Compacted: no more than one record per key outside the active segment's worth.
        if seen.len() < keys.len() + 200 {
            break seen;
        }
        assert!(
            Instant::now() < deadline,
            "not compacted: {} records",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(
        seen_offsets.len() >= 2 && seen_offsets.windows(2).all(|w| w[0] < w[1]),
        "checkpoint offsets {seen_offsets:?}"
    );
    let mut latest: BTreeMap<&str, i64> = BTreeMap::new();
    for (&o, (k, _)) in &model {
        latest.insert(k, o);
    }
    for (o, record) in &seen {
        assert_eq!(model.get(o), Some(record), "offset {o}");
    }
    for (key, &o) in &latest {
        let last = seen.iter().rev().find(|(_, (k, _))| k == key);
        let (last_offset, _) = last.unwrap_or_else(|| panic!("{key} lost"));
        assert_eq!(*last_offset, o, "{key}");
    }
    broker.stop().await;
}

#[tokio::test]
async fn compacted_topics_refuse_records_without_keys() {
    let broker = TestBroker::start(FAST_CLEANER).await;
    let mut c = broker.client().await;
    create_topic(&mut c, "keys", &[("cleanup.policy", "compact,delete")]).await;
    let bad = keyed(
        &[(Some("k"), Some("v")), (None, Some("v"))],
        Compression::Gzip,
    );
    assert_eq!(produce(&mut c, "keys", bad, 1).await.0, INVALID_RECORD);
    let good = keyed(
        &[(Some("k"), Some("v")), (Some("k2"), None)],
        Compression::Gzip,
    );
    assert_eq!(produce(&mut c, "keys", good, 1).await, (0, 0));
    // Other topics take records without keys.
    create_topic(&mut c, "plain", &[]).await;
    let nokey = keyed(&[(None, Some("v"))], Compression::None);
    assert_eq!(produce(&mut c, "plain", nokey, 1).await, (0, 0));
    broker.stop().await;
}

#[tokio::test]
async fn compression_type_recompresses_batches() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let cases = [
        ("producer", Compression::Gzip, 1),
        ("uncompressed", Compression::Gzip, 0),
        ("gzip", Compression::None, 1),
        ("snappy", Compression::Lz4, 2),
        ("lz4", Compression::Zstd, 3),
        ("zstd", Compression::Snappy, 4),
    ];
    for (target, sent, expected) in cases {
        let topic = format!("ct-{target}");
        let id = create_topic(&mut c, &topic, &[("compression.type", target)]).await;
        let records = [(Some("a"), Some("1")), (Some("b"), None), (None, Some("3"))];
        assert_eq!(
            produce(&mut c, &topic, keyed(&records, sent), 1).await,
            (0, 0)
        );
        let (err, _, bytes) = fetch(&mut c, fetch_request(id, 0, 1, 100)).await;
        assert_eq!(err, 0);
        let batch = BatchIter::new(&bytes).next().unwrap().unwrap();
        batch.validate().unwrap();
        assert_eq!(batch.compression_codec(), expected, "{target}");
        let mut buf = bytes.clone();
        let set = RecordBatchDecoder::decode(&mut buf).unwrap();
        let got: Vec<_> = set
            .records
            .iter()
            .map(|r| (r.offset, r.key.clone(), r.value.clone()))
            .collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (0, Some(Bytes::from("a")), Some(Bytes::from("1"))));
        assert_eq!(got[1], (1, Some(Bytes::from("b")), None));
        assert_eq!(got[2], (2, None, Some(Bytes::from("3"))));
    }
    broker.stop().await;
}
