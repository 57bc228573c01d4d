//! The consumer against a real in-process broker.

// Test support code panics on setup failure by design: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use support::TestBroker;
use weir_client::admin::NewTopic;
use weir_client::{
    Admin, ClientConfig, ClientError, Consumer, ConsumerConfig, ConsumerRecord, Producer,
    ProducerConfig, ProducerRecord, ResponseError, TopicPartition,
};

async fn topic(b: &TestBroker, name: &str, partitions: i32) {
    let admin = Admin::connect(ClientConfig::new(b.bootstrap()))
        .await
        .unwrap();
    admin
        .create_topics(&[NewTopic::new(name, partitions, 1)])
        .await
        .unwrap();
}

/// Produces `n` records `k{i}`/`v{i}` with a header, round-robin over `partitions`.
async fn produce(b: &TestBroker, topic: &str, partitions: i32, n: usize, codec: &str) {
    let mut c = ProducerConfig::new(b.bootstrap());
    c.set("compression.type", codec).unwrap();
    c.set("linger.ms", "5").unwrap();
    let p = Producer::new(c).await.unwrap();
    let mut futures = Vec::new();
    for i in 0..n {
        let k = format!("k{i}");
        let v = format!("v{i}");
        let mut r = ProducerRecord::new(topic)
            .key(k.as_bytes())
            .value(v.as_bytes())
            .partition((i as i32) % partitions);
        r.headers.push(("h", Some(b"hv".as_slice())));
        futures.push(p.send(r).await.unwrap());
    }
    for f in futures {
        f.await.unwrap();
    }
    p.close().await.unwrap();
}

fn consumer_config(b: &TestBroker, props: &[(&str, &str)]) -> ConsumerConfig {
    let mut c = ConsumerConfig::new(b.bootstrap());
    for (k, v) in props {
        c.set(k, v).unwrap();
    }
    c
}

async fn poll_n(c: &mut Consumer, n: usize) -> Vec<ConsumerRecord> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut out = Vec::new();
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "got {} of {n} records",
            out.len()
        );
        out.extend(c.poll(Duration::from_millis(200)).await.unwrap());
    }
    out
}

#[tokio::test]
async fn assign_poll_reads_every_record_in_order_for_every_codec() {
    let b = TestBroker::start(&[]).await;
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let t = format!("t-{codec}");
        topic(&b, &t, 3).await;
        produce(&b, &t, 3, 3000, codec).await;
        let mut c = Consumer::new(consumer_config(
            &b,
            &[
                ("auto.offset.reset", "earliest"),
                ("max.poll.records", "100"),
            ],
        ))
        .await
        .unwrap();
        c.assign((0..3).map(|p| TopicPartition::new(&t, p)).collect())
            .await
            .unwrap();
        let mut seen: HashMap<i32, i64> = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut total = 0;
        while total < 3000 {
            assert!(Instant::now() < deadline);
            let batch = c.poll(Duration::from_millis(200)).await.unwrap();
            assert!(batch.len() <= 100);
            for r in batch {
                let next = seen.entry(r.partition).or_insert(0);
                assert_eq!(r.offset, *next, "{codec} partition {}", r.partition);
                *next += 1;
                let i = r.offset * 3 + i64::from(r.partition);
                assert_eq!(r.key.as_deref(), Some(format!("k{i}").as_bytes()));
                assert_eq!(r.value.as_deref(), Some(format!("v{i}").as_bytes()));
                assert_eq!(r.headers, vec![("h".to_string(), Some("hv".into()))]);
                assert_eq!(&*r.topic, t.as_str());
                assert!(r.timestamp > 0);
                total += 1;
            }
        }
        for p in 0..3 {
            let tp = TopicPartition::new(&t, p);
            assert_eq!(c.position(&tp).await.unwrap(), 1000);
            assert_eq!(c.lag(&tp), Some(0));
        }
        assert!(c.poll(Duration::from_millis(100)).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn seek_seek_to_beginning_end_and_latest_reset() {
    let b = TestBroker::start(&[]).await;
    topic(&b, "s", 1).await;
    produce(&b, "s", 1, 100, "none").await;
    let tp = TopicPartition::new("s", 0);
    // Default auto.offset.reset=latest: starts at the end.
    let mut c = Consumer::new(consumer_config(&b, &[])).await.unwrap();
    c.assign(vec![tp.clone()]).await.unwrap();
    assert_eq!(c.position(&tp).await.unwrap(), 100);
    assert!(c.poll(Duration::from_millis(200)).await.unwrap().is_empty());
    c.seek(&tp, 42).unwrap();
    let r = poll_n(&mut c, 58).await;
    assert_eq!(r.first().unwrap().offset, 42);
    assert_eq!(r.last().unwrap().offset, 99);
    c.seek_to_beginning(&[]).unwrap();
    assert_eq!(c.position(&tp).await.unwrap(), 0);
    let r = poll_n(&mut c, 100).await;
    assert_eq!(r[0].offset, 0);
    c.seek_to_end(std::slice::from_ref(&tp)).unwrap();
    assert_eq!(c.position(&tp).await.unwrap(), 100);
    // New records after the end arrive.
    produce(&b, "s", 1, 10, "lz4").await;
    let r = poll_n(&mut c, 10).await;
    assert_eq!(r[0].offset, 100);
    assert_eq!(r.len(), 10);
}

#[tokio::test]
async fn offset_out_of_range_resets_or_fails_with_none() {
    let b = TestBroker::start(&[]).await;
    topic(&b, "o", 1).await;
    produce(&b, "o", 1, 20, "none").await;
    let tp = TopicPartition::new("o", 0);
    let mut c = Consumer::new(consumer_config(&b, &[("auto.offset.reset", "earliest")]))
        .await
        .unwrap();
    c.assign(vec![tp.clone()]).await.unwrap();
    c.seek(&tp, 1000).unwrap();
    let r = poll_n(&mut c, 20).await;
    assert_eq!(r[0].offset, 0);

    let mut c = Consumer::new(consumer_config(&b, &[("auto.offset.reset", "none")]))
        .await
        .unwrap();
    c.assign(vec![tp.clone()]).await.unwrap();
    assert!(c.position(&tp).await.is_err());
    c.seek(&tp, 1000).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let err: ClientError = loop {
        assert!(Instant::now() < deadline);
        match c.poll(Duration::from_millis(200)).await {
            Err(e) => break e,
            Ok(r) => assert!(r.is_empty()),
        }
    };
    assert_eq!(err.kafka_error(), Some(ResponseError::OffsetOutOfRange));
}

#[tokio::test]
async fn pause_and_resume() {
    let b = TestBroker::start(&[]).await;
    topic(&b, "p", 2).await;
    produce(&b, "p", 2, 40, "none").await;
    let tp0 = TopicPartition::new("p", 0);
    let tp1 = TopicPartition::new("p", 1);
    let mut c = Consumer::new(consumer_config(&b, &[("auto.offset.reset", "earliest")]))
        .await
        .unwrap();
    c.assign(vec![tp0.clone(), tp1.clone()]).await.unwrap();
    c.pause(std::slice::from_ref(&tp1)).unwrap();
    assert_eq!(c.paused(), vec![tp1.clone()]);
    let r = poll_n(&mut c, 20).await;
    assert!(r.iter().all(|r| r.partition == 0));
    assert!(c.poll(Duration::from_millis(300)).await.unwrap().is_empty());
    c.resume(std::slice::from_ref(&tp1)).unwrap();
    let r = poll_n(&mut c, 20).await;
    assert!(r.iter().all(|r| r.partition == 1));
}
