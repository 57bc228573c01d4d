//! The producer against a real in-process broker: every option, checked by reading the log

// Test support code panics on setup failure by design: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! back with ListOffsets and the broker's own Fetch through the admin/raw paths.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::TestBroker;
use weir_client::admin::OffsetSpec;
use weir_client::{
    Acks, Admin, ClientConfig, ClientError, Compression, Partitioner, Producer, ProducerConfig,
    ProducerRecord,
};

async fn end_offsets(admin: &Admin, topic: &str) -> Vec<i64> {
    admin
        .list_offsets(topic, None, OffsetSpec::Latest)
        .await
        .unwrap()
        .iter()
        .map(|o| o.offset)
        .collect()
}

fn config(b: &TestBroker, props: &[(&str, &str)]) -> ProducerConfig {
    let mut c = ProducerConfig::new(b.bootstrap());
    for (k, v) in props {
        c.set(k, v).unwrap();
    }
    c
}

#[tokio::test]
async fn offsets_are_consecutive_for_every_acks_and_codec() {
    let b = TestBroker::start(&[]).await;
    let admin = b.create_topic("t", 1).await;
    let mut expected = 0i64;
    for acks in ["0", "1", "all"] {
        for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
            let p = Producer::new(config(&b, &[("acks", acks), ("compression.type", codec)]))
                .await
                .unwrap();
            assert_eq!(p.is_idempotent(), acks == "all");
            let mut futures = Vec::new();
            for i in 0..200 {
                let v = format!("{acks}-{codec}-{i}");
                futures.push(
                    p.send(ProducerRecord::new("t").value(v.as_bytes()))
                        .await
                        .unwrap(),
                );
            }
            for (i, f) in futures.into_iter().enumerate() {
                let md = f.await.unwrap();
                assert_eq!(md.partition, 0);
                if acks == "0" {
                    assert_eq!(md.offset, -1);
                } else {
                    assert_eq!(md.offset, expected + i as i64, "acks={acks} {codec}");
                }
            }
            p.close().await.unwrap();
            expected += 200;
            // acks=0 records are written too (checked via the log end offset).
            let mut end = 0;
            for _ in 0..100 {
                end = end_offsets(&admin, "t").await[0];
                if end == expected {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_eq!(end, expected, "acks={acks} {codec}");
        }
    }
}

#[tokio::test]
async fn keys_go_where_the_java_client_puts_them() {
    let b = TestBroker::start(&[]).await;
    let _admin = b.create_topic("keys", 7).await;
    let p = Producer::new(config(&b, &[])).await.unwrap();
    // Partitions from the Java client (see partitioner.rs: toPositive(murmur2(k)) % 7).
    for (key, partition) in [
        ("key-0", 0),
        ("key-1", 5),
        ("key-42", 3),
        ("a", 5),
        ("abc", 4),
    ] {
        let md = p
            .send(ProducerRecord::new("keys").key(key.as_bytes()).value(b"v"))
            .await
            .unwrap()
            .await
            .unwrap();
        assert_eq!(md.partition, partition, "{key}");
    }
    p.close().await.unwrap();
}

#[tokio::test]
async fn sticky_round_robin_and_custom_partitioners() {
    let b = TestBroker::start(&[]).await;
    let admin = b.create_topic("p", 4).await;
    // Sticky: null keys fill one partition per batch.size bytes.
    let p = Producer::new(config(&b, &[("batch.size", "1000"), ("linger.ms", "0")]))
        .await
        .unwrap();
    let mut parts = Vec::new();
    for _ in 0..40 {
        let f = p
            .send(ProducerRecord::new("p").value(&[7u8; 92]))
            .await
            .unwrap();
        parts.push(f.partition().1);
    }
    p.flush().await.unwrap();
    // 100 bytes per record: the partition changes every 10 records.
    for chunk in parts.chunks(10) {
        assert!(chunk.iter().all(|&x| x == chunk[0]), "{parts:?}");
    }
    assert!(parts.windows(2).any(|w| w[0] != w[1]), "{parts:?}");
    p.close().await.unwrap();

    let p = Producer::new(config(&b, &[("partitioner.class", "round_robin")]))
        .await
        .unwrap();
    let before = end_offsets(&admin, "p").await;
    for _ in 0..8 {
        p.send(ProducerRecord::new("p").value(b"x")).await.unwrap();
    }
    p.flush().await.unwrap();
    let after = end_offsets(&admin, "p").await;
    let diff: Vec<i64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(diff, vec![2, 2, 2, 2]);
    p.close().await.unwrap();

    struct Always3;
    impl Partitioner for Always3 {
        fn partition(&self, _: &str, _: Option<&[u8]>, _: Option<&[u8]>, _: i32) -> i32 {
            3
        }
    }
    let mut c = config(&b, &[]);
    c.partitioner = Arc::new(Always3);
    let p = Producer::new(c).await.unwrap();
    let md = p
        .send(ProducerRecord::new("p").key(b"k").value(b"x"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(md.partition, 3);
    let explicit = p
        .send(ProducerRecord::new("p").partition(1).value(b"x"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(explicit.partition, 1);
    let err = p
        .send(ProducerRecord::new("p").partition(9))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::UnknownPartition { partitions: 4, .. }),
        "{err}"
    );
    p.close().await.unwrap();
}

#[tokio::test]
async fn linger_and_batch_size_shape_batches() {
    let b = TestBroker::start(&[]).await;
    let _admin = b.create_topic("l", 1).await;
    // A long linger: nothing is sent until the batch is full or flushed.
    let p = Producer::new(config(
        &b,
        &[("linger.ms", "60000"), ("batch.size", "100000")],
    ))
    .await
    .unwrap();
    let f = p
        .send(ProducerRecord::new("l").value(b"wait"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(f.try_result().is_none(), "sent before linger.ms or flush");
    p.flush().await.unwrap();
    assert_eq!(f.try_result().unwrap().unwrap().offset, 0);
    // A full batch goes without waiting for linger.
    let mut last = None;
    for _ in 0..200 {
        last = Some(
            p.send(ProducerRecord::new("l").value(&[1u8; 1000]))
                .await
                .unwrap(),
        );
    }
    // 200 KB with batch.size 100 KB: full batches leave at once, only the tail waits.
    let first = last.take().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let admin = Admin::connect(ClientConfig::new(b.bootstrap()))
        .await
        .unwrap();
    assert!(
        end_offsets(&admin, "l").await[0] > 1,
        "full batches were not sent"
    );
    last = Some(first);
    p.close().await.unwrap();
    assert_eq!(last.unwrap().await.unwrap().offset, 200);
}

#[tokio::test]
async fn headers_timestamps_and_callbacks() {
    let b = TestBroker::start(&[]).await;
    let admin = b.create_topic("h", 1).await;
    let p = Producer::new(config(&b, &[])).await.unwrap();
    let md = p
        .send(
            ProducerRecord::new("h")
                .key(b"k")
                .value(b"v")
                .header("trace", b"abc")
                .timestamp(1_600_000_000_000),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(md.timestamp, 1_600_000_000_000);
    let called = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        let c = called.clone();
        p.send_with_callback(ProducerRecord::new("h").value(b"cb"), move |r| {
            assert!(r.is_ok());
            c.fetch_add(1, Ordering::SeqCst);
        })
        .await
        .unwrap();
    }
    p.flush().await.unwrap();
    assert_eq!(called.load(Ordering::SeqCst), 10);
    let by_time = admin
        .list_offsets("h", None, OffsetSpec::Timestamp(1_500_000_000_000))
        .await
        .unwrap();
    assert_eq!(by_time[0].offset, 0);
    assert_eq!(by_time[0].timestamp, 1_600_000_000_000);
    p.close().await.unwrap();
    let err = p
        .send(ProducerRecord::new("h").value(b"late"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::ProducerClosed));
}

#[tokio::test]
async fn buffer_full_waits_then_fails_after_max_block() {
    let b = TestBroker::start(&[]).await;
    let _admin = b.create_topic("m", 1).await;
    // Long linger and a tiny buffer: the third 1 KB record cannot fit.
    let p = Producer::new(config(
        &b,
        &[
            ("buffer.memory", "2500"),
            ("linger.ms", "60000"),
            ("batch.size", "100000"),
            ("max.block.ms", "300"),
        ],
    ))
    .await
    .unwrap();
    p.send(ProducerRecord::new("m").value(&[0u8; 1000]))
        .await
        .unwrap();
    p.send(ProducerRecord::new("m").value(&[0u8; 1000]))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let err = p
        .send(ProducerRecord::new("m").value(&[0u8; 1000]))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::BufferExhausted { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(250));
    // Space comes back once the buffered records are sent: a blocked send then succeeds.
    let p2 = p.clone();
    let waiter = tokio::spawn(async move {
        p2.send(ProducerRecord::new("m").value(&[0u8; 1000]))
            .await
            .map(|_| ())
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    p.flush().await.unwrap();
    waiter.await.unwrap().unwrap();
    let too_big = p
        .send(ProducerRecord::new("m").value(&[0u8; 3000]))
        .await
        .unwrap_err();
    assert!(
        matches!(too_big, ClientError::RecordTooLarge { .. }),
        "{too_big}"
    );
    p.close().await.unwrap();
}

#[tokio::test]
async fn idempotence_on_and_off_and_conflicting_settings() {
    let b = TestBroker::start(&[]).await;
    let _admin = b.create_topic("i", 1).await;
    for (props, idem) in [
        (vec![], true),
        (vec![("enable.idempotence", "false")], false),
        (vec![("acks", "1")], false),
    ] {
        let p = Producer::new(config(&b, &props)).await.unwrap();
        assert_eq!(p.is_idempotent(), idem, "{props:?}");
        for _ in 0..50 {
            p.send(ProducerRecord::new("i").value(b"x")).await.unwrap();
        }
        p.close().await.unwrap();
    }
    let mut c = config(&b, &[("acks", "1"), ("enable.idempotence", "true")]);
    c.acks = Acks::Leader;
    let err = Producer::new(c).await.err().unwrap();
    assert!(matches!(err, ClientError::InvalidConfig { .. }), "{err}");
}

#[tokio::test]
async fn retries_across_a_broker_restart_keep_order_without_duplicates() {
    let b = TestBroker::start(&[]).await;
    let admin = b.create_topic("r", 1).await;
    drop(admin);
    let mut c = config(
        &b,
        &[
            ("linger.ms", "1"),
            ("retry.backoff.ms", "20"),
            ("reconnect.backoff.max.ms", "100"),
        ],
    );
    c.compression = Compression::Lz4;
    let p = Producer::new(c).await.unwrap();
    let mut futures = Vec::new();
    for i in 0..500 {
        futures.push(
            p.send(ProducerRecord::new("r").value(format!("{i}").as_bytes()))
                .await
                .unwrap(),
        );
    }
    p.flush().await.unwrap();
    let (dir, port) = b.stop().await;
    // Sent while the broker is down: buffered, retried once it is back.
    for i in 500..1000 {
        futures.push(
            p.send(ProducerRecord::new("r").value(format!("{i}").as_bytes()))
                .await
                .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = TestBroker::start_in(dir, port, &[]).await;
    let mut last = -1;
    for f in futures {
        let md = tokio::time::timeout(Duration::from_secs(30), f.wait())
            .await
            .expect("delivery")
            .unwrap();
        assert_eq!(md.offset, last + 1, "order and no gaps/duplicates");
        last = md.offset;
    }
    p.close().await.unwrap();
    let admin = Admin::connect(ClientConfig::new(b.bootstrap()))
        .await
        .unwrap();
    assert_eq!(end_offsets(&admin, "r").await, vec![1000]);
}

#[tokio::test]
async fn delivery_timeout_fails_records_when_no_broker_answers() {
    let b = TestBroker::start(&[]).await;
    let _admin = b.create_topic("d", 1).await;
    let p = Producer::new(config(
        &b,
        &[
            ("delivery.timeout.ms", "500"),
            ("request.timeout.ms", "200"),
            ("retry.backoff.ms", "20"),
        ],
    ))
    .await
    .unwrap();
    p.send(ProducerRecord::new("d").value(b"ok"))
        .await
        .unwrap()
        .await
        .unwrap();
    let _ = b.stop().await;
    let f = p
        .send(ProducerRecord::new("d").value(b"lost"))
        .await
        .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), f.wait())
        .await
        .expect("fails within delivery.timeout.ms")
        .unwrap_err();
    assert!(matches!(err, ClientError::DeliveryTimeout { .. }), "{err}");
}

/// A batch that was sent but never reached the broker expires (delivery.timeout.ms): its
/// sequence number is missing from the log, so the idempotent producer moves to a new epoch
/// and starts again at sequence 0 (KIP-360) instead of failing every later batch of the
/// partition with OUT_OF_ORDER_SEQUENCE_NUMBER.
#[tokio::test]
async fn an_expired_batch_bumps_the_epoch_and_later_batches_succeed() {
    use support::DropProxy;
    use weir_client::{Consumer, ConsumerConfig, TopicPartition};
    let proxy = DropProxy::start().await;
    let b = TestBroker::start(&[&format!(
        "advertised.listeners=PLAINTEXT://127.0.0.1:{}",
        proxy.port
    )])
    .await;
    proxy.set_target(b.port);
    let mut c = ProducerConfig::new(proxy.addr());
    for (k, v) in [
        ("linger.ms", "0"),
        ("request.timeout.ms", "400"),
        ("delivery.timeout.ms", "1500"),
        ("retry.backoff.ms", "50"),
        ("reconnect.backoff.max.ms", "100"),
    ] {
        c.set(k, v).unwrap();
    }
    let p = Producer::new(c).await.unwrap();
    assert!(p.is_idempotent());
    let send = |v: &'static [u8]| {
        let p = p.clone();
        async move {
            p.send(ProducerRecord::new("gap").value(v).partition(0))
                .await
                .unwrap()
                .await
        }
    };
    let step = Duration::from_secs(10);
    tokio::time::timeout(step, send(b"a"))
        .await
        .expect("first")
        .unwrap();
    proxy.drop_requests(true);
    let err = tokio::time::timeout(step, send(b"lost"))
        .await
        .expect("the lost batch expires")
        .unwrap_err();
    assert!(matches!(err, ClientError::DeliveryTimeout { .. }), "{err}");
    proxy.drop_requests(false);
    // Without the epoch bump this batch would carry sequence 2 where the broker expects 1.
    let md = tokio::time::timeout(Duration::from_secs(10), send(b"c"))
        .await
        .expect("delivered after the bump")
        .unwrap();
    assert_eq!(md.offset, 1);
    send(b"d").await.unwrap();
    p.close().await.unwrap();

    let mut cc = ConsumerConfig::new(b.bootstrap());
    cc.set("auto.offset.reset", "earliest").unwrap();
    let mut consumer = Consumer::new(cc).await.unwrap();
    consumer
        .assign(vec![TopicPartition::new("gap", 0)])
        .await
        .unwrap();
    let mut values = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while values.len() < 3 {
        assert!(std::time::Instant::now() < deadline, "{values:?}");
        for r in consumer.poll(Duration::from_millis(200)).await.unwrap() {
            values.push(r.value.unwrap());
        }
    }
    assert_eq!(values, [&b"a"[..], b"c", b"d"]);
}
