//! Produce, fetch, list offsets and restart against an in-process broker.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, FetchRequest, ListOffsetsRequest, MetadataRequest, ProduceRequest, RequestKind,
    ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use weir_protocol::batch::BatchIter;

use crate::support::{batch, Client, TestBroker};

pub fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// Auto-creates `topic` through a Metadata request and returns its id.
pub async fn ensure_topic(client: &mut Client, topic: &str) -> uuid::Uuid {
    let req = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(topic_name(topic)))
        ]))
        .with_allow_auto_topic_creation(true);
    let ResponseKind::Metadata(resp) = client
        .request(ApiKey::Metadata, 12, RequestKind::Metadata(req))
        .await
    else {
        panic!("wrong response type")
    };
    assert_eq!(resp.topics[0].error_code, 0);
    assert_eq!(resp.topics[0].partitions.len(), 1);
    resp.topics[0].topic_id
}

pub async fn produce(client: &mut Client, topic: &str, records: Vec<u8>, acks: i16) -> (i16, i64) {
    let req = ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(Bytes::from(records)))])]);
    let ResponseKind::Produce(resp) = client
        .request(ApiKey::Produce, 9, RequestKind::Produce(req))
        .await
    else {
        panic!("wrong response type")
    };
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

pub fn fetch_request(
    topic_id: uuid::Uuid,
    offset: i64,
    min_bytes: i32,
    max_wait_ms: i32,
) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic_id(topic_id)
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])])
}

/// Fetches partition 0 at `offset`; returns (error code, high watermark, record bytes).
pub async fn fetch(client: &mut Client, req: FetchRequest) -> (i16, i64, Bytes) {
    let ResponseKind::Fetch(resp) = client
        .request(ApiKey::Fetch, 13, RequestKind::Fetch(req))
        .await
    else {
        panic!("wrong response type")
    };
    let p = &resp.responses[0].partitions[0];
    (
        p.error_code,
        p.high_watermark,
        p.records.clone().unwrap_or_default(),
    )
}

#[tokio::test]
async fn produced_batches_come_back_byte_for_byte_with_offsets() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let id = ensure_topic(&mut c, "t1").await;
    let b1 = batch(&[b"a", b"bb", b"ccc"]);
    let b2 = batch(&[b"dddd"]);
    assert_eq!(produce(&mut c, "t1", b1.clone(), 1).await, (0, 0));
    assert_eq!(produce(&mut c, "t1", b2.clone(), -1).await, (0, 3));

    let (err, hw, records) = fetch(&mut c, fetch_request(id, 0, 1, 100)).await;
    assert_eq!((err, hw), (0, 4));
    let batches: Vec<_> = BatchIter::new(&records).map(|b| b.unwrap()).collect();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0].base_offset(), 0);
    assert_eq!(batches[1].base_offset(), 3);
    // Everything after the base offset is exactly what the producer sent.
    assert_eq!(&batches[0].as_bytes()[8..], &b1[8..]);
    assert_eq!(&batches[1].as_bytes()[8..], &b2[8..]);
    batches[1].validate().unwrap();

    // A fetch in the middle of a batch returns that whole batch.
    let (_, _, records) = fetch(&mut c, fetch_request(id, 3, 1, 100)).await;
    assert_eq!(
        BatchIter::new(&records)
            .next()
            .unwrap()
            .unwrap()
            .base_offset(),
        3
    );

    // Past the log end: OFFSET_OUT_OF_RANGE (1).
    let (err, _, _) = fetch(&mut c, fetch_request(id, 99, 1, 100)).await;
    assert_eq!(err, 1);
    broker.stop().await;
}

#[tokio::test]
async fn parked_fetch_is_woken_by_an_append() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let id = ensure_topic(&mut c, "wake").await;
    let addr = broker.broker.local_addr();
    let producer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut p = Client::connect(addr).await;
        produce(&mut p, "wake", batch(&[b"x"]), 1).await
    });
    let started = std::time::Instant::now();
    // max_wait 30 s: only the append can end this fetch early.
    let (err, hw, records) = fetch(&mut c, fetch_request(id, 0, 1, 30_000)).await;
    assert_eq!((err, hw), (0, 1));
    assert!(!records.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "fetch was not woken by the append"
    );
    assert_eq!(producer.await.unwrap(), (0, 0));
    broker.stop().await;
}

#[tokio::test]
async fn data_and_offsets_survive_restart() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let id = ensure_topic(&mut c, "durable").await;
    for i in 0..10u8 {
        assert_eq!(
            produce(&mut c, "durable", batch(&[&[i], &[i, i]]), 1)
                .await
                .0,
            0
        );
    }
    drop(c);
    let dir = broker.stop().await;
    let broker = TestBroker::start_in(dir, &[]).await;
    let mut c = broker.client().await;
    assert_eq!(
        ensure_topic(&mut c, "durable").await,
        id,
        "topic id changed"
    );
    let (err, hw, records) = fetch(&mut c, fetch_request(id, 0, 1, 100)).await;
    assert_eq!((err, hw), (0, 20));
    assert_eq!(BatchIter::new(&records).count(), 10);
    assert_eq!(
        produce(&mut c, "durable", batch(&[b"next"]), 1).await,
        (0, 20)
    );
    broker.stop().await;
}

#[tokio::test]
async fn list_offsets_earliest_latest_and_by_time() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    ensure_topic(&mut c, "lo").await;
    produce(&mut c, "lo", batch(&[b"1", b"2"]), 1).await;
    let query = |ts: i64| {
        ListOffsetsRequest::default()
            .with_replica_id(kafka_protocol::messages::BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(topic_name("lo"))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(ts)])])
    };
    let mut answers = Vec::new();
    for ts in [-2, -1, 0, i64::MAX / 2] {
        let ResponseKind::ListOffsets(resp) = c
            .request(ApiKey::ListOffsets, 7, RequestKind::ListOffsets(query(ts)))
            .await
        else {
            panic!()
        };
        let p = &resp.topics[0].partitions[0];
        assert_eq!(p.error_code, 0);
        answers.push(p.offset);
    }
    assert_eq!(answers, vec![0, 2, 0, -1]);
    broker.stop().await;
}
