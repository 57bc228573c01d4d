//! Log retention (time and size), DeleteRecords, DescribeLogDirs and timestamp validation
//! against an in-process broker whose retention pass runs every 100 ms.

use std::time::{Duration, Instant};

use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::describe_log_dirs_response::DescribeLogDirsResponse;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, DeleteRecordsRequest, DescribeLogDirsRequest, FetchRequest,
    IncrementalAlterConfigsRequest, ListOffsetsRequest, RequestKind, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;
use weir_protocol::batch::BatchIter;

use crate::produce_fetch::{fetch_request, produce, topic_name};
use crate::support::{batch, create_topic, Client, TestBroker};

const FAST_RETENTION: &[&str] = &["log.retention.check.interval.ms=100"];
const HOUR: i64 = 3_600_000;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A one-record batch whose first and max timestamps are `ts`.
fn batch_at(value: &[u8], ts: i64) -> Vec<u8> {
    let mut b = batch(&[value]);
    b[27..35].copy_from_slice(&ts.to_be_bytes());
    b[35..43].copy_from_slice(&ts.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

async fn set_config(client: &mut Client, topic: &str, key: &str, value: &str) {
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s(topic))
            .with_configs(vec![AlterableConfig::default()
                .with_name(s(key))
                .with_config_operation(0)
                .with_value(Some(s(value)))]),
    ]);
    let ResponseKind::IncrementalAlterConfigs(resp) = client
        .request(
            ApiKey::IncrementalAlterConfigs,
            1,
            RequestKind::IncrementalAlterConfigs(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    assert_eq!(resp.responses[0].error_code, 0);
}

/// ListOffsets earliest (-2) of partition 0.
async fn earliest(client: &mut Client, topic: &str) -> i64 {
    let req = ListOffsetsRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-2)])]);
    let ResponseKind::ListOffsets(resp) = client
        .request(ApiKey::ListOffsets, 7, RequestKind::ListOffsets(req))
        .await
    else {
        panic!("wrong response type")
    };
    let p = &resp.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    p.offset
}

/// Polls the earliest offset until `done` holds for it (at most 10 s); returns it.
async fn wait_for_earliest(client: &mut Client, topic: &str, done: impl Fn(i64) -> bool) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let e = earliest(client, topic).await;
        if done(e) {
            return e;
        }
        assert!(
            Instant::now() < deadline,
            "earliest offset of {topic} stuck at {e}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Fetch of partition 0: (error code, log start offset, base offset of the first batch).
async fn fetch_at(client: &mut Client, req: FetchRequest) -> (i16, i64, Option<i64>) {
    let ResponseKind::Fetch(resp) = client
        .request(ApiKey::Fetch, 13, RequestKind::Fetch(req))
        .await
    else {
        panic!("wrong response type")
    };
    let p = &resp.responses[0].partitions[0];
    let records = p.records.clone().unwrap_or_default();
    let first = BatchIter::new(&records)
        .next()
        .map(|b| b.unwrap().base_offset());
    (p.error_code, p.log_start_offset, first)
}

fn segment_files(broker: &TestBroker, topic: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(broker.dir.path().join(format!("{topic}-0")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    v.sort();
    v
}

/// The `.deleted` files of partition 0 of `topic`.
fn deleted_files(dir: &std::path::Path, topic: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join(format!("{topic}-0")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".deleted"))
        .collect();
    v.sort();
    v
}

/// Waits (at most 10 s) until the partition directory holds `n` segments: files are renamed
/// to `.deleted` when the log start offset moves.
async fn wait_for_segments(broker: &TestBroker, topic: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let files = segment_files(broker, topic);
        if files.len() == n {
            return files;
        }
        assert!(Instant::now() < deadline, "segments of {topic}: {files:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn delete_records(client: &mut Client, topic: &str, offset: i64, version: i16) -> (i16, i64) {
    let req = DeleteRecordsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![DeleteRecordsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![DeleteRecordsPartition::default()
                .with_partition_index(0)
                .with_offset(offset)])]);
    let ResponseKind::DeleteRecords(resp) = client
        .request(
            ApiKey::DeleteRecords,
            version,
            RequestKind::DeleteRecords(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    let p = &resp.topics[0].partitions[0];
    (p.error_code, p.low_watermark)
}

#[tokio::test]
async fn retention_ms_deletes_old_segments_and_moves_the_log_start() {
    let broker = TestBroker::start(FAST_RETENTION).await;
    let mut c = broker.client().await;
    // segment.bytes=14: every batch gets its own segment.
    let id = create_topic(&mut c, "rt", &[("segment.bytes", "14")]).await;
    let old = now_ms() - 2 * HOUR;
    for i in 0..3u8 {
        assert_eq!(produce(&mut c, "rt", batch_at(&[i], old), 1).await.0, 0);
    }
    for i in 3..5u8 {
        assert_eq!(
            produce(&mut c, "rt", batch_at(&[i], now_ms()), 1).await.0,
            0
        );
    }
    assert_eq!(segment_files(&broker, "rt").len(), 5);
    // Default retention (7 days): several passes delete nothing.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(earliest(&mut c, "rt").await, 0);

    // One hour, changed on the live topic: the three old segments go, the young ones stay.
    set_config(&mut c, "rt", "retention.ms", &HOUR.to_string()).await;
    assert_eq!(wait_for_earliest(&mut c, "rt", |e| e > 0).await, 3);
    assert_eq!(
        wait_for_segments(&broker, "rt", 2).await,
        vec!["00000000000000000003.log", "00000000000000000004.log"]
    );
    assert_eq!(fetch_at(&mut c, fetch_request(id, 0, 1, 0)).await.0, 1);
    assert_eq!(fetch_at(&mut c, fetch_request(id, 2, 1, 0)).await.0, 1);
    assert_eq!(
        fetch_at(&mut c, fetch_request(id, 3, 1, 0)).await,
        (0, 3, Some(3))
    );

    // The log start survives a restart (log-start-offset-checkpoint) and appends continue.
    drop(c);
    let dir = broker.stop().await;
    let cp = std::fs::read_to_string(dir.path().join("log-start-offset-checkpoint")).unwrap();
    assert!(cp.starts_with("0\n") && cp.contains("rt 0 3\n"), "{cp:?}");
    let broker = TestBroker::start_in(dir, FAST_RETENTION).await;
    let mut c = broker.client().await;
    assert_eq!(earliest(&mut c, "rt").await, 3);
    assert_eq!(
        produce(&mut c, "rt", batch_at(b"x", now_ms()), 1).await,
        (0, 5)
    );
    broker.stop().await;
}

/// Deleted segments wait as `.deleted` files for the topic's `file.delete.delay.ms`, then the
/// sweep removes them; with no delay they go at once; a restart removes leftovers.
#[tokio::test]
async fn deleted_segments_wait_file_delete_delay_ms() {
    let config = &[
        "log.retention.check.interval.ms=100",
        // Sweeps every 100 ms (a quarter of it).
        "log.segment.delete.delay.ms=400",
    ];
    let broker = TestBroker::start(config).await;
    let mut c = broker.client().await;
    let old = now_ms() - 2 * HOUR;
    for (topic, delay) in [("dd-slow", "1500"), ("dd-now", "0"), ("dd-left", "600000")] {
        let configs = [
            ("segment.bytes", "14"),
            ("file.delete.delay.ms", delay),
            ("retention.ms", "3600000"),
        ];
        create_topic(&mut c, topic, &configs).await;
        for i in 0..3u8 {
            assert_eq!(produce(&mut c, topic, batch_at(&[i], old), 1).await.0, 0);
        }
        let young = batch_at(b"y", now_ms());
        assert_eq!(produce(&mut c, topic, young, 1).await.0, 0);
    }
    let dir = broker.dir.path().to_path_buf();
    assert_eq!(wait_for_earliest(&mut c, "dd-slow", |e| e == 3).await, 3);
    let moved = Instant::now();
    let waiting = deleted_files(&dir, "dd-slow");
    let logs: Vec<_> = waiting
        .iter()
        .filter(|n| n.ends_with(".log.deleted"))
        .collect();
    assert_eq!(
        logs,
        [
            "00000000000000000000.log.deleted",
            "00000000000000000001.log.deleted",
            "00000000000000000002.log.deleted"
        ]
    );
    assert_eq!(
        segment_files(&broker, "dd-slow"),
        ["00000000000000000003.log"]
    );
    // Well inside the 1.5 s delay: still there (unless this machine stalled the test).
    tokio::time::sleep(Duration::from_millis(900)).await;
    let still = deleted_files(&dir, "dd-slow");
    if moved.elapsed() < Duration::from_millis(1_400) {
        assert_eq!(still, waiting);
    }
    // Then removed by the sweep.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !deleted_files(&dir, "dd-slow").is_empty() {
        assert!(
            Instant::now() < deadline,
            "still waiting: {:?}",
            deleted_files(&dir, "dd-slow")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // No delay: removed right after the pass, far sooner than the delayed topic's files.
    assert_eq!(wait_for_earliest(&mut c, "dd-now", |e| e == 3).await, 3);
    let deadline = Instant::now() + Duration::from_millis(500);
    while !deleted_files(&dir, "dd-now").is_empty() {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            deleted_files(&dir, "dd-now")
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // Ten minutes of delay: still there at shutdown, removed when the log is opened again.
    assert_eq!(wait_for_earliest(&mut c, "dd-left", |e| e == 3).await, 3);
    assert_eq!(deleted_files(&dir, "dd-left").len() % 3, 0);
    assert!(!deleted_files(&dir, "dd-left").is_empty());
    drop(c);
    let data = broker.stop().await;
    let broker = TestBroker::start_in(data, config).await;
    let mut c = broker.client().await;
    assert_eq!(earliest(&mut c, "dd-left").await, 3);
    assert!(deleted_files(broker.dir.path(), "dd-left").is_empty());
    broker.stop().await;
}

#[tokio::test]
async fn expired_active_segment_is_rolled_and_deleted() {
    let broker = TestBroker::start(FAST_RETENTION).await;
    let mut c = broker.client().await;
    let id = create_topic(&mut c, "idle", &[("retention.ms", "1000")]).await;
    let old = now_ms() - HOUR;
    for i in 0..4u8 {
        assert_eq!(produce(&mut c, "idle", batch_at(&[i], old), 1).await.0, 0);
    }
    // One (active) segment holding everything, all expired: rolled away, log start = LEO.
    assert_eq!(wait_for_earliest(&mut c, "idle", |e| e == 4).await, 4);
    assert_eq!(
        wait_for_segments(&broker, "idle", 1).await,
        vec!["00000000000000000004.log"]
    );
    let (err, start, first) = fetch_at(&mut c, fetch_request(id, 4, 1, 0)).await;
    assert_eq!((err, start, first), (0, 4, None));
    assert_eq!(
        produce(&mut c, "idle", batch_at(b"new", now_ms()), 1).await,
        (0, 4)
    );
    broker.stop().await;
}

#[tokio::test]
async fn retention_bytes_keeps_the_newest_segments() {
    let broker = TestBroker::start(FAST_RETENTION).await;
    let mut c = broker.client().await;
    let one = batch_at(b"0123456789", now_ms()).len();
    let id = create_topic(
        &mut c,
        "rb",
        &[
            ("segment.bytes", "14"),
            ("retention.bytes", &(2 * one).to_string()),
        ],
    )
    .await;
    for i in 0..6u8 {
        let b = batch_at(&[b'0' + i; 10], now_ms());
        assert_eq!(produce(&mut c, "rb", b, 1).await.0, 0);
    }
    // 6 segments of one batch each, 2 batches' worth kept.
    assert_eq!(wait_for_earliest(&mut c, "rb", |e| e >= 4).await, 4);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        earliest(&mut c, "rb").await,
        4,
        "deleted below retention.bytes"
    );
    wait_for_segments(&broker, "rb", 2).await;
    assert_eq!(fetch_at(&mut c, fetch_request(id, 1, 1, 0)).await.0, 1);
    assert_eq!(
        fetch_at(&mut c, fetch_request(id, 4, 1, 0)).await,
        (0, 4, Some(4))
    );
    broker.stop().await;
}

#[tokio::test]
async fn delete_records_moves_the_low_watermark() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let id = create_topic(&mut c, "dr", &[("segment.bytes", "14")]).await;
    for i in 0..10u8 {
        assert_eq!(
            produce(&mut c, "dr", batch_at(&[i], now_ms()), 1).await.0,
            0
        );
    }
    assert_eq!(delete_records(&mut c, "dr", 4, 2).await, (0, 4));
    assert_eq!(earliest(&mut c, "dr").await, 4);
    // Segments wholly below 4 are gone at once.
    assert_eq!(segment_files(&broker, "dr").len(), 6);
    assert_eq!(fetch_at(&mut c, fetch_request(id, 3, 1, 0)).await.0, 1);
    assert_eq!(
        fetch_at(&mut c, fetch_request(id, 4, 1, 0)).await,
        (0, 4, Some(4))
    );
    // Lower offsets change nothing; above the high watermark is out of range.
    assert_eq!(delete_records(&mut c, "dr", 2, 0).await, (0, 4));
    assert_eq!(delete_records(&mut c, "dr", 11, 1).await, (1, -1));
    assert_eq!(delete_records(&mut c, "dr", -7, 2).await, (1, -1));
    assert_eq!(delete_records(&mut c, "nope", 1, 2).await.0, 3);
    // -1: up to the high watermark. The empty active segment stays.
    assert_eq!(delete_records(&mut c, "dr", -1, 2).await, (0, 10));
    assert_eq!(segment_files(&broker, "dr").len(), 1);
    assert_eq!(fetch_at(&mut c, fetch_request(id, 9, 1, 0)).await.0, 1);

    drop(c);
    let dir = broker.stop().await;
    let broker = TestBroker::start_in(dir, &[]).await;
    let mut c = broker.client().await;
    assert_eq!(
        earliest(&mut c, "dr").await,
        10,
        "log start lost on restart"
    );
    assert_eq!(
        produce(&mut c, "dr", batch_at(b"x", now_ms()), 1).await,
        (0, 10)
    );
    broker.stop().await;
}

async fn ask(
    client: &mut Client,
    version: i16,
    req: DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    let ResponseKind::DescribeLogDirs(resp) = client
        .request(
            ApiKey::DescribeLogDirs,
            version,
            RequestKind::DescribeLogDirs(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    resp
}

#[tokio::test]
async fn describe_log_dirs_reports_partition_sizes_and_disk_space() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    create_topic(&mut c, "dl", &[]).await;
    create_topic(&mut c, "other", &[]).await;
    let b = batch_at(b"hello", now_ms());
    let size = b.len() as i64;
    produce(&mut c, "dl", b.clone(), 1).await;
    produce(&mut c, "dl", b, 1).await;

    let describe = |topics: Option<Vec<DescribableLogDirTopic>>| {
        DescribeLogDirsRequest::default().with_topics(topics)
    };
    let all = ask(&mut c, 4, describe(None)).await;
    assert_eq!(all.error_code, 0);
    assert_eq!(all.results.len(), 1);
    let dir = &all.results[0];
    assert_eq!(dir.error_code, 0);
    let canonical = std::fs::canonicalize(broker.dir.path()).unwrap();
    assert_eq!(dir.log_dir.to_string(), canonical.display().to_string());
    assert!(dir.total_bytes > 0 && dir.usable_bytes > 0 && dir.usable_bytes <= dir.total_bytes);
    let mut names: Vec<String> = dir.topics.iter().map(|t| t.name.0.to_string()).collect();
    names.sort();
    assert_eq!(names, vec!["dl", "other"]);
    let dl = dir
        .topics
        .iter()
        .find(|t| t.name.0.as_str() == "dl")
        .unwrap();
    assert_eq!(dl.partitions.len(), 1);
    assert_eq!(dl.partitions[0].partition_size, 2 * size);
    assert_eq!(dl.partitions[0].offset_lag, 0);
    assert!(!dl.partitions[0].is_future_key);

    // One topic, v1 (no disk space fields); unknown topics and partitions are left out.
    let one = ask(
        &mut c,
        1,
        describe(Some(vec![
            DescribableLogDirTopic::default()
                .with_topic(topic_name("dl"))
                .with_partitions(vec![0, 7]),
            DescribableLogDirTopic::default()
                .with_topic(topic_name("missing"))
                .with_partitions(vec![0]),
        ])),
    )
    .await;
    let topics = &one.results[0].topics;
    assert_eq!(topics.len(), 1);
    assert_eq!(topics[0].partitions.len(), 1);
    assert_eq!(topics[0].partitions[0].partition_size, 2 * size);
    broker.stop().await;
}

#[tokio::test]
async fn timestamps_outside_before_and_after_max_ms_are_rejected() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    create_topic(
        &mut c,
        "ts",
        &[
            ("message.timestamp.before.max.ms", &HOUR.to_string()),
            ("message.timestamp.after.max.ms", "60000"),
        ],
    )
    .await;
    let now = now_ms();
    assert_eq!(
        produce(&mut c, "ts", batch_at(b"old", now - 2 * HOUR), 1)
            .await
            .0,
        32
    );
    assert_eq!(
        produce(&mut c, "ts", batch_at(b"future", now + HOUR), 1)
            .await
            .0,
        32
    );
    assert_eq!(
        produce(&mut c, "ts", batch_at(b"ok", now - HOUR / 2), 1).await,
        (0, 0)
    );
    assert_eq!(
        produce(&mut c, "ts", batch_at(b"none", -1), 1).await,
        (0, 1)
    );
    // Nothing of a rejected request reached the log.
    assert_eq!(earliest(&mut c, "ts").await, 0);

    // LogAppendTime topics replace the timestamp, so the producer's is not checked.
    create_topic(
        &mut c,
        "lat",
        &[
            ("message.timestamp.type", "LogAppendTime"),
            ("message.timestamp.before.max.ms", "1000"),
        ],
    )
    .await;
    assert_eq!(
        produce(&mut c, "lat", batch_at(b"old", now - 2 * HOUR), 1).await,
        (0, 0)
    );
    broker.stop().await;
}

#[tokio::test]
async fn broker_default_timestamp_limits_apply() {
    let broker = TestBroker::start(&["log.message.timestamp.after.max.ms=1000"]).await;
    let mut c = broker.client().await;
    create_topic(&mut c, "bd", &[]).await;
    assert_eq!(
        produce(&mut c, "bd", batch_at(b"f", now_ms() + HOUR), 1)
            .await
            .0,
        32
    );
    assert_eq!(
        produce(&mut c, "bd", batch_at(b"p", now_ms() - 100 * HOUR), 1)
            .await
            .0,
        0
    );
    broker.stop().await;
}

#[tokio::test]
async fn api_versions_advertise_delete_records_and_describe_log_dirs() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let ResponseKind::ApiVersions(resp) = c
        .request(
            ApiKey::ApiVersions,
            3,
            RequestKind::ApiVersions(ApiVersionsRequest::default()),
        )
        .await
    else {
        panic!("wrong response type")
    };
    let range = |key: ApiKey| {
        resp.api_keys
            .iter()
            .find(|k| k.api_key == key as i16)
            .map(|k| (k.min_version, k.max_version))
    };
    assert_eq!(range(ApiKey::DeleteRecords), Some((0, 2)));
    assert_eq!(range(ApiKey::DescribeLogDirs), Some((1, 4)));
    broker.stop().await;
}

/// A small tmpfs mounted for the test's lifetime (needs root; `None` otherwise).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test]
async fn disk_full_fails_produce_keeps_reads_and_recovers() {
    let Some(disk) = SmallDisk::mount("4m") else {
        eprintln!("skipped: cannot mount a tmpfs (needs root)");
        return;
    };
    let data = tempfile::Builder::new()
        .tempdir_in(disk.dir.path())
        .unwrap();
    let broker = TestBroker::start_in(data, &[]).await;
    let mut c = broker.client().await;
    let id = create_topic(&mut c, "full", &[]).await;
    // Ballast to free later.
    let ballast = disk.dir.path().join("ballast");
    std::fs::write(&ballast, vec![1u8; 1 << 20]).unwrap();

    let value = vec![7u8; 64 * 1024];
    let mut acked = 0i64;
    let error = loop {
        let (err, offset) = produce(&mut c, "full", batch_at(&value, now_ms()), 1).await;
        if err != 0 {
            break err;
        }
        assert_eq!(offset, acked, "offsets stay contiguous");
        acked += 1;
        assert!(acked < 200, "a 4 MiB disk never filled");
    };
    assert_eq!(error, 56, "KAFKA_STORAGE_ERROR");
    assert!(acked > 0);
    // Reads keep working, and the failed append left nothing behind.
    let (err, start, first) = fetch_at(&mut c, fetch_request(id, 0, 1, 0)).await;
    assert_eq!((err, start, first), (0, 0, Some(0)));
    assert_eq!(
        fetch_at(&mut c, fetch_request(id, acked, 1, 0)).await,
        (0, 0, None)
    );

    // Space comes back: writes resume at the next offset.
    std::fs::remove_file(&ballast).unwrap();
    let (err, offset) = produce(&mut c, "full", batch_at(&value, now_ms()), 1).await;
    assert_eq!((err, offset), (0, acked));
    let (err, _, first) = fetch_at(&mut c, fetch_request(id, acked, 1, 0)).await;
    assert_eq!((err, first), (0, Some(acked)));
    drop(c);
    let _ = broker.broker.shutdown().await;
}
