//! The transactional producer against a real in-process broker: commit and abort across
//! partitions seen through both isolation levels, zombie fencing, consume-transform-produce
//! with offsets committed inside the transaction.

// Test support code panics on setup failure by design: a failed setup is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::TestBroker;
use weir_client::{
    ClientError, Consumer, ConsumerConfig, ConsumerRecord, Producer, ProducerConfig,
    ProducerRecord, ResponseError, TopicPartition,
};

const BROKER: &[&str] = &[
    "group.initial.rebalance.delay.ms=0",
    "transaction.state.log.num.partitions=3",
    "offsets.topic.num.partitions=3",
];

async fn txn_producer(b: &TestBroker, id: &str, props: &[(&str, &str)]) -> Producer {
    let mut c = ProducerConfig::new(b.bootstrap());
    c.set("transactional.id", id).unwrap();
    for (k, v) in props {
        c.set(k, v).unwrap();
    }
    Producer::new(c).await.unwrap()
}

fn consumer_config(b: &TestBroker, props: &[(&str, &str)]) -> ConsumerConfig {
    let mut c = ConsumerConfig::new(b.bootstrap());
    c.set("auto.offset.reset", "earliest").unwrap();
    for (k, v) in props {
        c.set(k, v).unwrap();
    }
    c
}

/// Everything readable from `topic` at `isolation`: polls until `expect` records arrived, then
/// half a second more to catch any extra.
async fn read_all(
    b: &TestBroker,
    topic: &str,
    partitions: i32,
    isolation: &str,
    expect: usize,
) -> Vec<ConsumerRecord> {
    let mut c = Consumer::new(consumer_config(b, &[("isolation.level", isolation)]))
        .await
        .unwrap();
    c.assign(
        (0..partitions)
            .map(|p| TopicPartition::new(topic, p))
            .collect(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while out.len() < expect {
        assert!(
            Instant::now() < deadline,
            "{isolation}: {} of {expect}",
            out.len()
        );
        out.extend(c.poll(Duration::from_millis(200)).await.unwrap());
    }
    out.extend(c.poll(Duration::from_millis(500)).await.unwrap());
    out
}

fn values(records: &[ConsumerRecord]) -> Vec<String> {
    let mut v: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn commit_one_abort_another_across_three_partitions() {
    let b = TestBroker::start(BROKER).await;
    b.create_topic("tx", 3).await;
    let p = txn_producer(&b, "tx-1", &[]).await;
    // Outside a transaction a transactional producer refuses to send.
    let err = p
        .send(ProducerRecord::new("tx").value(b"x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::InvalidTransactionState { .. }),
        "{err}"
    );
    p.init_transactions().await.unwrap();
    let err = p
        .send(ProducerRecord::new("tx").value(b"x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::InvalidTransactionState { .. }),
        "{err}"
    );

    let mut committed = Vec::new();
    let mut aborted = Vec::new();
    for (round, commit) in [(0, true), (1, false), (2, true)] {
        p.begin_transaction().unwrap();
        let mut futures = Vec::new();
        for i in 0..9 {
            let v = format!("{}-{round}-{i}", if commit { "c" } else { "a" });
            let r = ProducerRecord::new("tx")
                .value(v.as_bytes())
                .partition(i % 3);
            futures.push(p.send(r).await.unwrap());
            if commit {
                committed.push(v)
            } else {
                aborted.push(v)
            }
        }
        if commit {
            p.commit_transaction().await.unwrap();
        } else {
            // Written to the log first, so that read_uncommitted sees the aborted records.
            p.flush().await.unwrap();
            p.abort_transaction().await.unwrap();
        }
        for f in futures {
            f.await.unwrap();
        }
    }
    committed.sort();
    let mut both = [committed.clone(), aborted].concat();
    both.sort();
    let rc = read_all(&b, "tx", 3, "read_committed", committed.len()).await;
    assert_eq!(values(&rc), committed);
    let ru = read_all(&b, "tx", 3, "read_uncommitted", both.len()).await;
    assert_eq!(values(&ru), both);

    // Records still buffered when the transaction is aborted are never sent.
    let p = txn_producer(
        &b,
        "tx-2",
        &[("linger.ms", "60000"), ("batch.size", "1000000")],
    )
    .await;
    p.init_transactions().await.unwrap();
    p.begin_transaction().unwrap();
    let f = p
        .send(ProducerRecord::new("tx").value(b"never").partition(0))
        .await
        .unwrap();
    p.abort_transaction().await.unwrap();
    assert!(matches!(f.await, Err(ClientError::TransactionAborted)));
    // Commit with nothing sent is a no-op; the producer goes on.
    p.begin_transaction().unwrap();
    p.commit_transaction().await.unwrap();
    p.begin_transaction().unwrap();
    p.send(ProducerRecord::new("tx").value(b"late").partition(1))
        .await
        .unwrap();
    p.commit_transaction().await.unwrap();
    let rc = read_all(&b, "tx", 3, "read_committed", committed.len() + 1).await;
    assert!(values(&rc).contains(&"late".to_string()));
    assert!(!values(&rc).contains(&"never".to_string()));
}

#[tokio::test]
async fn a_second_producer_with_the_same_id_fences_the_first() {
    let b = TestBroker::start(BROKER).await;
    b.create_topic("fz", 2).await;
    let old = txn_producer(&b, "zombie", &[]).await;
    old.init_transactions().await.unwrap();
    old.begin_transaction().unwrap();
    old.send(ProducerRecord::new("fz").value(b"old-1").partition(0))
        .await
        .unwrap()
        .await
        .unwrap();

    let new = txn_producer(&b, "zombie", &[]).await;
    new.init_transactions().await.unwrap();

    // The old instance's next batch and its commit are refused: it is fenced for good.
    let sent = old
        .send(ProducerRecord::new("fz").value(b"old-2").partition(1))
        .await;
    let err = match sent {
        Ok(f) => match f.await {
            Err(e) => e,
            Ok(_) => old.commit_transaction().await.unwrap_err(),
        },
        Err(e) => e,
    };
    let err = match err {
        ClientError::ProducerFatal { .. } => err,
        _ => old.commit_transaction().await.unwrap_err(),
    };
    assert!(matches!(err, ClientError::ProducerFatal { .. }), "{err}");
    assert!(
        matches!(
            err.kafka_error(),
            Some(ResponseError::ProducerFenced | ResponseError::InvalidProducerEpoch)
        ),
        "{err}"
    );
    assert!(matches!(
        old.begin_transaction(),
        Err(ClientError::ProducerFatal { .. })
    ));
    assert!(matches!(
        old.abort_transaction().await,
        Err(ClientError::ProducerFatal { .. })
    ));

    new.begin_transaction().unwrap();
    new.send(ProducerRecord::new("fz").value(b"new").partition(0))
        .await
        .unwrap();
    new.commit_transaction().await.unwrap();
    let rc = read_all(&b, "fz", 2, "read_committed", 1).await;
    assert_eq!(values(&rc), ["new"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_transform_produce_commits_offsets_in_the_transaction() {
    let b = TestBroker::start(BROKER).await;
    b.create_topic("in", 3).await;
    b.create_topic("out", 3).await;
    let input = Producer::new(ProducerConfig::new(b.bootstrap()))
        .await
        .unwrap();
    for i in 0..60 {
        let v = format!("r{i}");
        input
            .send(
                ProducerRecord::new("in")
                    .value(v.as_bytes())
                    .partition(i % 3),
            )
            .await
            .unwrap();
    }
    input.close().await.unwrap();

    let mut consumer = Consumer::new(consumer_config(
        &b,
        &[
            ("group.id", "ctp"),
            ("enable.auto.commit", "false"),
            ("isolation.level", "read_committed"),
            ("max.poll.records", "7"),
        ],
    ))
    .await
    .unwrap();
    consumer.subscribe(vec!["in".into()]).await.unwrap();
    let producer = txn_producer(&b, "ctp-worker", &[]).await;
    producer.init_transactions().await.unwrap();

    let tps: Vec<TopicPartition> = (0..3).map(|p| TopicPartition::new("in", p)).collect();
    let mut done = 0;
    let mut aborted_once = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    while done < 60 {
        assert!(Instant::now() < deadline, "{done} of 60 processed");
        let records = consumer.poll(Duration::from_millis(200)).await.unwrap();
        if records.is_empty() {
            continue;
        }
        producer.begin_transaction().unwrap();
        let mut next: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        for r in &records {
            let v = String::from_utf8_lossy(r.value.as_deref().unwrap()).to_uppercase();
            producer
                .send(
                    ProducerRecord::new("out")
                        .value(v.as_bytes())
                        .partition(r.partition),
                )
                .await
                .unwrap();
            next.insert(TopicPartition::new(&*r.topic, r.partition), r.offset + 1);
        }
        let offsets: Vec<(TopicPartition, i64)> = next.into_iter().collect();
        let group = consumer.group_metadata().unwrap();
        assert!(group.generation_id > 0 && !group.member_id.is_empty());
        producer
            .send_offsets_to_transaction(&offsets, &group)
            .await
            .unwrap();
        if !aborted_once {
            // The first round is aborted: neither its output nor its offsets count, and the
            // consumer goes back to the committed offsets (none yet: the beginning).
            aborted_once = true;
            producer.flush().await.unwrap();
            producer.abort_transaction().await.unwrap();
            assert!(consumer
                .committed(&tps)
                .await
                .unwrap()
                .iter()
                .all(|(_, o)| o.is_none()));
            for tp in &tps {
                consumer.seek(tp, 0).unwrap();
            }
            continue;
        }
        producer.commit_transaction().await.unwrap();
        done += records.len();
    }
    let committed = consumer.committed(&tps).await.unwrap();
    assert_eq!(
        committed.iter().map(|(_, o)| *o).collect::<Vec<_>>(),
        [Some(20), Some(20), Some(20)]
    );
    let out = read_all(&b, "out", 3, "read_committed", 60).await;
    let mut expected: Vec<String> = (0..60).map(|i| format!("R{i}")).collect();
    expected.sort();
    assert_eq!(values(&out), expected, "every input record exactly once");
    // The aborted round's output is in the log, invisible to read_committed only.
    let raw = read_all(&b, "out", 3, "read_uncommitted", 61).await;
    assert!(raw.len() > 60);
}

/// A batch sent into the void (a proxy swallows the request) expires: the transaction can only
/// be aborted; the abort bumps the epoch (InitProducerId with the current id and epoch,
/// KIP-360) so that the next transaction starts its sequences at 0 and commits.
#[tokio::test]
async fn a_lost_batch_makes_the_transaction_abortable_and_the_abort_bumps_the_epoch() {
    let proxy = support::DropProxy::start().await;
    let mut props: Vec<String> = BROKER.iter().map(|s| s.to_string()).collect();
    props.push(format!(
        "advertised.listeners=PLAINTEXT://127.0.0.1:{}",
        proxy.port
    ));
    let props: Vec<&str> = props.iter().map(String::as_str).collect();
    let b = TestBroker::start(&props).await;
    proxy.set_target(b.port);
    b.create_topic("lost", 1).await;
    let mut c = ProducerConfig::new(proxy.addr());
    for (k, v) in [
        ("transactional.id", "lossy"),
        ("linger.ms", "0"),
        ("request.timeout.ms", "400"),
        ("delivery.timeout.ms", "1500"),
        ("retry.backoff.ms", "50"),
        ("reconnect.backoff.max.ms", "100"),
    ] {
        c.set(k, v).unwrap();
    }
    let p = Producer::new(c).await.unwrap();
    p.init_transactions().await.unwrap();
    p.begin_transaction().unwrap();
    p.send(ProducerRecord::new("lost").value(b"x").partition(0))
        .await
        .unwrap()
        .await
        .unwrap();
    proxy.drop_requests(true);
    let f = p
        .send(ProducerRecord::new("lost").value(b"y").partition(0))
        .await
        .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("the lost batch expires")
        .unwrap_err();
    assert!(matches!(err, ClientError::DeliveryTimeout { .. }), "{err}");
    proxy.drop_requests(false);
    let err = p.commit_transaction().await.unwrap_err();
    assert!(
        matches!(err, ClientError::TransactionAbortable { .. }),
        "{err}"
    );
    assert!(matches!(
        p.send(ProducerRecord::new("lost").value(b"no")).await,
        Err(ClientError::TransactionAbortable { .. })
    ));
    p.abort_transaction().await.unwrap();
    p.begin_transaction().unwrap();
    let f = p
        .send(ProducerRecord::new("lost").value(b"z").partition(0))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), p.commit_transaction())
        .await
        .expect("commit after the bump")
        .unwrap();
    f.await.unwrap();
    let rc = read_all(&b, "lost", 1, "read_committed", 1).await;
    assert_eq!(values(&rc), ["z"]);
}
