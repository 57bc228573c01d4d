//! The consumer against a real in-process broker.

// Test support code panics on setup failure by design: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use support::TestBroker;
use weir_client::{
    ClientError, Consumer, ConsumerConfig, ConsumerRecord, Producer, ProducerConfig,
    ProducerRecord, ResponseError, TopicPartition,
};

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
        b.create_topic(&t, 3).await;
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
    b.create_topic("s", 1).await;
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
    b.create_topic("o", 1).await;
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
    b.create_topic("p", 2).await;
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

/// Three members of one group split a 6-partition topic; every record is consumed once, also
/// across the rebalances as members join.
async fn group_splits_topic(strategy: &str) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let b = TestBroker::start(&["group.initial.rebalance.delay.ms=0"]).await;
    let t = format!("g-{strategy}");
    b.create_topic(&t, 6).await;
    produce(&b, &t, 6, 600, "none").await;
    let total = 1200;
    let count = Arc::new(AtomicUsize::new(0));
    let assignments: Arc<Mutex<HashMap<usize, Vec<TopicPartition>>>> = Arc::default();
    let mut tasks = Vec::new();
    for i in 0..3 {
        let config = consumer_config(
            &b,
            &[
                ("group.id", strategy),
                ("auto.offset.reset", "earliest"),
                ("partition.assignment.strategy", strategy),
                ("heartbeat.interval.ms", "100"),
                ("auto.commit.interval.ms", "200"),
                ("max.poll.records", "50"),
            ],
        );
        let t = t.clone();
        let count = count.clone();
        let assignments = assignments.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Consumer::new(config).await.unwrap();
            c.subscribe(vec![t]).await.unwrap();
            let mut seen = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            while count.load(Ordering::SeqCst) < total {
                assert!(Instant::now() < deadline, "member {i} timed out");
                let records = c.poll(Duration::from_millis(100)).await.unwrap();
                count.fetch_add(records.len(), Ordering::SeqCst);
                seen.extend(records.iter().map(|r| (r.partition, r.offset)));
                assignments.lock().unwrap().insert(i, c.assignment());
            }
            c.close().await.unwrap();
            seen
        }));
    }
    // Once the group is stable (two partitions each), the second half is produced.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "group never stabilised");
        let a = assignments.lock().unwrap().clone();
        if a.len() == 3 && a.values().all(|v| v.len() == 2) {
            let mut all: Vec<TopicPartition> = a.values().flatten().cloned().collect();
            all.sort();
            all.dedup();
            assert_eq!(all.len(), 6);
            if strategy == "range" {
                // Contiguous ranges: 0-1, 2-3, 4-5.
                for v in a.values() {
                    assert_eq!(v[0].partition % 2, 0);
                    assert_eq!(v[1].partition, v[0].partition + 1);
                }
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    produce(&b, &t, 6, 600, "none").await;
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "a record was consumed twice");
    assert_eq!(n, total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_of_three_with_range() {
    group_splits_topic("range").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_of_three_with_roundrobin() {
    group_splits_topic("roundrobin").await;
}

#[tokio::test]
async fn committed_offsets_survive_a_restart() {
    let b = TestBroker::start(&["group.initial.rebalance.delay.ms=0"]).await;
    b.create_topic("c", 2).await;
    produce(&b, "c", 2, 100, "none").await;
    let props = [
        ("group.id", "cg"),
        ("auto.offset.reset", "earliest"),
        ("enable.auto.commit", "false"),
        ("max.poll.records", "30"),
    ];
    let mut c = Consumer::new(consumer_config(&b, &props)).await.unwrap();
    c.subscribe(vec!["c".into()]).await.unwrap();
    let first = poll_n(&mut c, 30).await;
    c.commit_sync().await.unwrap();
    let tps = [TopicPartition::new("c", 0), TopicPartition::new("c", 1)];
    let committed = c.committed(&tps).await.unwrap();
    let sum: i64 = committed.iter().map(|(_, o)| o.unwrap_or(0)).sum();
    assert_eq!(sum as usize, first.len());
    c.close().await.unwrap();
    // A new member continues where the commit left off: nothing twice, nothing lost.
    let mut c = Consumer::new(consumer_config(&b, &props)).await.unwrap();
    c.subscribe(vec!["c".into()]).await.unwrap();
    let rest = poll_n(&mut c, 100 - first.len()).await;
    let mut all: Vec<(i32, i64)> = first
        .iter()
        .chain(rest.iter())
        .map(|r| (r.partition, r.offset))
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 100);
    // assign() with a group.id starts at the committed offsets too.
    c.commit_sync().await.unwrap();
    c.close().await.unwrap();
    let mut c = Consumer::new(consumer_config(&b, &props)).await.unwrap();
    c.assign(tps.to_vec()).await.unwrap();
    assert_eq!(c.position(&tps[0]).await.unwrap(), 50);
    assert_eq!(c.position(&tps[1]).await.unwrap(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rebalance_listener_sees_revoke_and_assign() {
    use std::sync::{Arc, Mutex};
    use weir_client::RebalanceListener;
    struct Log(Arc<Mutex<Vec<String>>>);
    impl RebalanceListener for Log {
        fn on_partitions_revoked(&mut self, p: &[TopicPartition]) {
            self.0.lock().unwrap().push(format!("revoked {}", p.len()));
        }
        fn on_partitions_assigned(&mut self, p: &[TopicPartition]) {
            self.0.lock().unwrap().push(format!("assigned {}", p.len()));
        }
    }
    let b = TestBroker::start(&["group.initial.rebalance.delay.ms=0"]).await;
    b.create_topic("rl", 2).await;
    let props = [("group.id", "rl"), ("heartbeat.interval.ms", "100")];
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut c1 = Consumer::new(consumer_config(&b, &props)).await.unwrap();
    c1.subscribe_with_listener(vec!["rl".into()], Box::new(Log(log.clone())))
        .await
        .unwrap();
    c1.poll(Duration::from_millis(100)).await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["assigned 2"]);
    let second = tokio::spawn({
        let config = consumer_config(&b, &props);
        async move {
            let mut c2 = Consumer::new(config).await.unwrap();
            c2.subscribe(vec!["rl".into()]).await.unwrap();
            let deadline = Instant::now() + Duration::from_secs(20);
            while c2.assignment().len() != 1 {
                assert!(Instant::now() < deadline);
                c2.poll(Duration::from_millis(100)).await.unwrap();
            }
            c2
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while c1.assignment().len() != 1 {
        assert!(Instant::now() < deadline);
        c1.poll(Duration::from_millis(100)).await.unwrap();
    }
    let c2 = second.await.unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        ["assigned 2", "revoked 2", "assigned 1"]
    );
    c2.close().await.unwrap();
    c1.close().await.unwrap();
    assert_eq!(log.lock().unwrap().last().unwrap(), "revoked 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_of_three_with_sticky() {
    group_splits_topic("sticky").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_of_three_with_cooperative_sticky() {
    group_splits_topic("cooperative-sticky").await;
}

/// With `cooperative-sticky` a member keeps its partitions through a rebalance and gives up
/// only the one that moves to the new member (revoke, rejoin, then the second round assigns it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cooperative_rebalance_revokes_only_moved_partitions() {
    use std::sync::{Arc, Mutex};
    use weir_client::RebalanceListener;
    struct Log(Arc<Mutex<Vec<String>>>);
    impl RebalanceListener for Log {
        fn on_partitions_revoked(&mut self, p: &[TopicPartition]) {
            self.0.lock().unwrap().push(format!("revoked {}", p.len()));
        }
        fn on_partitions_assigned(&mut self, p: &[TopicPartition]) {
            self.0.lock().unwrap().push(format!("assigned {}", p.len()));
        }
    }
    let b = TestBroker::start(&["group.initial.rebalance.delay.ms=0"]).await;
    b.create_topic("coop", 2).await;
    let props = [
        ("group.id", "coop"),
        ("heartbeat.interval.ms", "100"),
        ("partition.assignment.strategy", "cooperative-sticky"),
    ];
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut c1 = Consumer::new(consumer_config(&b, &props)).await.unwrap();
    c1.subscribe_with_listener(vec!["coop".into()], Box::new(Log(log.clone())))
        .await
        .unwrap();
    c1.poll(Duration::from_millis(100)).await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["assigned 2"]);
    let kept_before = c1.assignment();
    let second = tokio::spawn({
        let config = consumer_config(&b, &props);
        async move {
            let mut c2 = Consumer::new(config).await.unwrap();
            c2.subscribe(vec!["coop".into()]).await.unwrap();
            let deadline = Instant::now() + Duration::from_secs(20);
            while c2.assignment().len() != 1 {
                assert!(Instant::now() < deadline);
                c2.poll(Duration::from_millis(100)).await.unwrap();
            }
            c2
        }
    });
    // c1 keeps polling: it takes part in both rounds.
    let deadline = Instant::now() + Duration::from_secs(20);
    while c1.assignment().len() != 1 || !second.is_finished() {
        assert!(Instant::now() < deadline);
        c1.poll(Duration::from_millis(100)).await.unwrap();
    }
    let c2 = second.await.unwrap();
    let log_now = log.lock().unwrap().clone();
    assert!(log_now.contains(&"revoked 1".to_string()), "{log_now:?}");
    assert!(!log_now.contains(&"revoked 2".to_string()), "{log_now:?}");
    assert!(kept_before.contains(&c1.assignment()[0]));
    assert_ne!(c1.assignment(), c2.assignment());
    c2.close().await.unwrap();
    c1.close().await.unwrap();
}

/// A pattern subscription takes every matching topic, and a matching topic created later once
/// the metadata is looked up again (`metadata.max.age.ms`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pattern_subscription_follows_new_topics() {
    let b = TestBroker::start(&["group.initial.rebalance.delay.ms=0"]).await;
    b.create_topic("metrics-a", 2).await;
    b.create_topic("metrics-b", 1).await;
    b.create_topic("logs", 1).await;
    produce(&b, "metrics-a", 2, 10, "none").await;
    produce(&b, "logs", 1, 10, "none").await;
    let props = [
        ("group.id", "pat"),
        ("auto.offset.reset", "earliest"),
        ("metadata.max.age.ms", "300"),
        ("heartbeat.interval.ms", "100"),
    ];
    let mut c = Consumer::new(consumer_config(&b, &props)).await.unwrap();
    assert!(c.subscribe_pattern("metrics-(").await.is_err());
    c.subscribe_pattern("metrics-.*").await.unwrap();
    let records = poll_n(&mut c, 10).await;
    assert!(records.iter().all(|r| &*r.topic == "metrics-a"));
    let topics: Vec<String> = c.assignment().iter().map(|tp| tp.to_string()).collect();
    assert_eq!(topics, ["metrics-a-0", "metrics-a-1", "metrics-b-0"]);
    b.create_topic("metrics-c", 1).await;
    produce(&b, "metrics-c", 1, 5, "none").await;
    let records = poll_n(&mut c, 5).await;
    assert!(
        records.iter().all(|r| &*r.topic == "metrics-c"),
        "{records:?}"
    );
    assert!(c
        .assignment()
        .contains(&TopicPartition::new("metrics-c", 0)));
    c.close().await.unwrap();
}

/// commit_async sends the commit and returns; the future and the callback report the outcome.
#[tokio::test]
async fn async_commits_with_future_and_callback() {
    let b = TestBroker::start(&["group.initial.rebalance.delay.ms=0"]).await;
    b.create_topic("ac", 1).await;
    produce(&b, "ac", 1, 20, "none").await;
    let props = [
        ("group.id", "ac"),
        ("auto.offset.reset", "earliest"),
        ("enable.auto.commit", "false"),
        ("max.poll.records", "5"),
    ];
    let mut c = Consumer::new(consumer_config(&b, &props)).await.unwrap();
    c.subscribe(vec!["ac".into()]).await.unwrap();
    let tp = TopicPartition::new("ac", 0);
    poll_n(&mut c, 5).await;
    let position = c.position(&tp).await.unwrap();
    // Several commits in flight at once are answered in order: the last one wins.
    let first = c.commit_offsets_async(&[(tp.clone(), 1)]).await.unwrap();
    let second = c.commit_async().await.unwrap();
    first.await.unwrap();
    second.await.unwrap();
    assert_eq!(
        c.committed(std::slice::from_ref(&tp)).await.unwrap()[0].1,
        Some(position)
    );
    let (tx, rx) = tokio::sync::oneshot::channel();
    c.commit_offsets_async(&[(tp.clone(), 3)])
        .await
        .unwrap()
        .await
        .unwrap();
    c.commit_async_with_callback(move |r| {
        let _ = tx.send(r);
    })
    .await
    .unwrap();
    rx.await.unwrap().unwrap();
    assert_eq!(
        c.committed(std::slice::from_ref(&tp)).await.unwrap()[0].1,
        Some(position)
    );
    c.close().await.unwrap();
}
