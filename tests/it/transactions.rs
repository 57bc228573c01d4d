//! Transactions on the wire: FindCoordinator for transactional ids, InitProducerId with a
//! transactional id, AddPartitionsToTxn, transactional Produce, EndTxn with the markers it
//! writes, read_committed Fetch (last stable offset, aborted transactions), ListOffsets by
//! isolation level, fencing, and the coordinator's state across a restart.

use bytes::Bytes;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, ApiKey, DescribeTransactionsRequest, EndTxnRequest,
    FindCoordinatorRequest, InitProducerIdRequest, ListOffsetsRequest, ProducerId, RequestKind,
    ResponseKind, TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use weir_protocol::batch::BatchIter;

use crate::produce_fetch::{ensure_topic, fetch_request, produce};
use crate::support::{batch, Client, TestBroker};

fn tid(s: &'static str) -> TransactionalId {
    TransactionalId(StrBytes::from_static_str(s))
}

/// A transactional batch of `values` from `pid`/`epoch` at sequence `seq`.
fn txn_batch(values: &[&[u8]], pid: i64, epoch: i16, seq: i32) -> Vec<u8> {
    let mut b = batch(values);
    b[21..23].copy_from_slice(&0x10i16.to_be_bytes());
    b[43..51].copy_from_slice(&pid.to_be_bytes());
    b[51..53].copy_from_slice(&epoch.to_be_bytes());
    b[53..57].copy_from_slice(&seq.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

async fn init(c: &mut Client, id: &'static str) -> (i16, i64, i16) {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(tid(id)))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let ResponseKind::InitProducerId(r) = c
        .request(ApiKey::InitProducerId, 4, RequestKind::InitProducerId(req))
        .await
    else {
        panic!("wrong response type")
    };
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

async fn add_partition(c: &mut Client, id: &'static str, pid: i64, epoch: i16, topic: &str) -> i16 {
    let req = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(tid(id))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![0])]);
    let ResponseKind::AddPartitionsToTxn(r) = c
        .request(
            ApiKey::AddPartitionsToTxn,
            3,
            RequestKind::AddPartitionsToTxn(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
}

async fn end(c: &mut Client, id: &'static str, pid: i64, epoch: i16, commit: bool) -> i16 {
    let req = EndTxnRequest::default()
        .with_transactional_id(tid(id))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    let ResponseKind::EndTxn(r) = c.request(ApiKey::EndTxn, 3, RequestKind::EndTxn(req)).await
    else {
        panic!("wrong response type")
    };
    r.error_code
}

/// read_committed fetch of partition 0: (last stable offset, record bytes, aborted
/// transactions as (producer id, first offset)).
async fn fetch_committed(
    c: &mut Client,
    topic_id: uuid::Uuid,
    offset: i64,
) -> (i64, Bytes, Vec<(i64, i64)>) {
    let req = fetch_request(topic_id, offset, 0, 0).with_isolation_level(1);
    let ResponseKind::Fetch(resp) = c.request(ApiKey::Fetch, 13, RequestKind::Fetch(req)).await
    else {
        panic!("wrong response type")
    };
    let p = &resp.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    let aborted = p
        .aborted_transactions
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|a| (a.producer_id.0, a.first_offset))
        .collect();
    (
        p.last_stable_offset,
        p.records.clone().unwrap_or_default(),
        aborted,
    )
}

async fn latest(c: &mut Client, topic: &str, isolation: i8) -> i64 {
    let req = ListOffsetsRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_isolation_level(isolation)
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-1)])]);
    let ResponseKind::ListOffsets(r) = c
        .request(ApiKey::ListOffsets, 5, RequestKind::ListOffsets(req))
        .await
    else {
        panic!("wrong response type")
    };
    r.topics[0].partitions[0].offset
}

#[tokio::test]
async fn commit_abort_markers_and_read_committed() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let topic_id = ensure_topic(&mut c, "txn").await;

    let req = FindCoordinatorRequest::default()
        .with_key_type(1)
        .with_key(StrBytes::from_static_str("t1"));
    let ResponseKind::FindCoordinator(r) = c
        .request(
            ApiKey::FindCoordinator,
            3,
            RequestKind::FindCoordinator(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    assert_eq!(r.error_code, 0);
    assert!(r.port > 0);

    let (err, pid, epoch) = init(&mut c, "t1").await;
    assert_eq!((err, epoch), (0, 0));

    // Without AddPartitionsToTxn a transactional batch is refused.
    assert_eq!(
        produce(&mut c, "txn", txn_batch(&[b"x"], pid, epoch, 0), -1).await,
        (48, -1),
        "INVALID_TXN_STATE"
    );
    assert_eq!(add_partition(&mut c, "t1", pid, epoch, "txn").await, 0);
    assert_eq!(
        produce(&mut c, "txn", txn_batch(&[b"a", b"b"], pid, epoch, 0), -1).await,
        (0, 0)
    );
    // Open transaction: read_committed sees nothing and the LSO stays at its first offset.
    let (lso, records, _) = fetch_committed(&mut c, topic_id, 0).await;
    assert_eq!((lso, records.len()), (0, 0));
    assert_eq!(latest(&mut c, "txn", 1).await, 0);
    assert_eq!(latest(&mut c, "txn", 0).await, 2);

    assert_eq!(end(&mut c, "t1", pid, epoch, true).await, 0);
    // Retried EndTxn: fine; the other outcome: INVALID_TXN_STATE.
    assert_eq!(end(&mut c, "t1", pid, epoch, true).await, 0);
    assert_eq!(end(&mut c, "t1", pid, epoch, false).await, 48);
    // Data (0-1) and the COMMIT marker (2).
    let (lso, records, aborted) = fetch_committed(&mut c, topic_id, 0).await;
    assert_eq!(lso, 3);
    assert!(aborted.is_empty());
    let batches: Vec<_> = BatchIter::new(&records).map(Result::unwrap).collect();
    assert_eq!(batches.len(), 2);
    assert!(batches[1].is_control() && batches[1].is_transactional());

    // An aborted transaction is listed for read_committed consumers.
    assert_eq!(add_partition(&mut c, "t1", pid, epoch, "txn").await, 0);
    assert_eq!(
        produce(&mut c, "txn", txn_batch(&[b"c"], pid, epoch, 2), -1).await,
        (0, 3)
    );
    assert_eq!(end(&mut c, "t1", pid, epoch, false).await, 0);
    let (lso, _, aborted) = fetch_committed(&mut c, topic_id, 0).await;
    assert_eq!(lso, 5);
    assert_eq!(aborted, vec![(pid, 3)]);
    assert_eq!(latest(&mut c, "txn", 1).await, 5);

    // The state survives a restart, the aborted transaction too (rebuilt from the log).
    let dir = broker.stop().await;
    let broker = TestBroker::start_in(dir, &[]).await;
    let mut c = broker.client().await;
    let (_, _, aborted) = fetch_committed(&mut c, topic_id, 0).await;
    assert_eq!(aborted, vec![(pid, 3)]);
    let req = DescribeTransactionsRequest::default().with_transactional_ids(vec![tid("t1")]);
    let ResponseKind::DescribeTransactions(r) = c
        .request(
            ApiKey::DescribeTransactions,
            0,
            RequestKind::DescribeTransactions(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    let s = &r.transaction_states[0];
    assert_eq!((s.error_code, s.producer_id.0), (0, pid));
    assert_eq!(s.transaction_state.as_str(), "CompleteAbort");
    broker.stop().await;
}

#[tokio::test]
async fn a_new_instance_fences_the_old_and_aborts_its_transaction() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let topic_id = ensure_topic(&mut c, "fence").await;
    let (_, pid, e0) = init(&mut c, "tf").await;
    assert_eq!(add_partition(&mut c, "tf", pid, e0, "fence").await, 0);
    assert_eq!(
        produce(&mut c, "fence", txn_batch(&[b"z"], pid, e0, 0), -1).await,
        (0, 0)
    );
    let (err, pid2, e1) = init(&mut c, "tf").await;
    assert_eq!(err, 0);
    assert_eq!(pid2, pid);
    assert!(e1 > e0);
    // The zombie: fenced at the coordinator (PRODUCER_FENCED) and at the partition.
    assert_eq!(end(&mut c, "tf", pid, e0, true).await, 90);
    assert_eq!(add_partition(&mut c, "tf", pid, e0, "fence").await, 90);
    assert_eq!(
        produce(&mut c, "fence", txn_batch(&[b"z2"], pid, e0, 1), -1)
            .await
            .0,
        47,
        "INVALID_PRODUCER_EPOCH"
    );
    // Its open transaction was aborted: nothing for read_committed, an ABORT marker at 1.
    let (lso, _, aborted) = fetch_committed(&mut c, topic_id, 0).await;
    assert_eq!(lso, 2);
    assert_eq!(aborted, vec![(pid, 0)]);
    broker.stop().await;
}

#[tokio::test]
async fn list_transactions_and_batched_add_partitions() {
    use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTransaction;
    use kafka_protocol::messages::ListTransactionsRequest;

    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    ensure_topic(&mut c, "batched").await;
    let (_, pid, epoch) = init(&mut c, "tl").await;
    let (_, other, _) = init(&mut c, "tm").await;
    // v4: several transactions in one request (the form brokers use), answered per
    // transaction.
    let req = AddPartitionsToTxnRequest::default().with_transactions(vec![
        AddPartitionsToTxnTransaction::default()
            .with_transactional_id(tid("tl"))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(TopicName(StrBytes::from_static_str("batched")))
                .with_partitions(vec![0])]),
        AddPartitionsToTxnTransaction::default()
            .with_transactional_id(tid("tm"))
            .with_producer_id(ProducerId(other))
            .with_producer_epoch(epoch + 5)
            .with_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(TopicName(StrBytes::from_static_str("batched")))
                .with_partitions(vec![0])]),
    ]);
    let ResponseKind::AddPartitionsToTxn(r) = c
        .request(
            ApiKey::AddPartitionsToTxn,
            4,
            RequestKind::AddPartitionsToTxn(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    let codes: Vec<i16> = r
        .results_by_transaction
        .iter()
        .map(|t| t.topic_results[0].results_by_partition[0].partition_error_code)
        .collect();
    assert_eq!(codes, vec![0, 90], "ok, PRODUCER_FENCED");

    let list = |filters: Vec<&'static str>| {
        ListTransactionsRequest::default()
            .with_state_filters(filters.into_iter().map(StrBytes::from_static_str).collect())
            .with_duration_filter(-1)
    };
    let ResponseKind::ListTransactions(r) = c
        .request(
            ApiKey::ListTransactions,
            1,
            RequestKind::ListTransactions(list(vec![])),
        )
        .await
    else {
        panic!("wrong response type")
    };
    let mut all: Vec<(String, String)> = r
        .transaction_states
        .iter()
        .map(|s| {
            (
                s.transactional_id.to_string(),
                s.transaction_state.to_string(),
            )
        })
        .collect();
    all.sort();
    assert_eq!(
        all,
        vec![
            ("tl".to_string(), "Ongoing".to_string()),
            ("tm".to_string(), "Empty".to_string())
        ]
    );
    let ResponseKind::ListTransactions(r) = c
        .request(
            ApiKey::ListTransactions,
            1,
            RequestKind::ListTransactions(list(vec!["Ongoing", "Bogus"])),
        )
        .await
    else {
        panic!("wrong response type")
    };
    assert_eq!(r.transaction_states.len(), 1);
    assert_eq!(r.transaction_states[0].producer_id.0, pid);
    assert_eq!(
        r.unknown_state_filters,
        vec![StrBytes::from_static_str("Bogus")]
    );
    broker.stop().await;
}

#[tokio::test]
async fn transaction_timeout_aborts_and_fences() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let topic_id = ensure_topic(&mut c, "expire").await;
    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(tid("te")))
        .with_transaction_timeout_ms(300)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let ResponseKind::InitProducerId(r) = c
        .request(ApiKey::InitProducerId, 4, RequestKind::InitProducerId(req))
        .await
    else {
        panic!("wrong response type")
    };
    let (pid, epoch) = (r.producer_id.0, r.producer_epoch);
    assert_eq!(add_partition(&mut c, "te", pid, epoch, "expire").await, 0);
    assert_eq!(
        produce(&mut c, "expire", txn_batch(&[b"late"], pid, epoch, 0), -1).await,
        (0, 0)
    );
    // The coordinator's timer aborts it (no request needed): the LSO moves past the marker.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (lso, _, aborted) = fetch_committed(&mut c, topic_id, 0).await;
        if lso == 2 {
            assert_eq!(aborted, vec![(pid, 0)]);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not aborted: lso {lso}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        end(&mut c, "te", pid, epoch, true).await,
        90,
        "PRODUCER_FENCED"
    );
    broker.stop().await;
}

#[tokio::test]
async fn transactional_offsets_are_unstable_until_committed() {
    use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
    use kafka_protocol::messages::txn_offset_commit_request::{
        TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::{
        AddOffsetsToTxnRequest, GroupId, OffsetFetchRequest, TxnOffsetCommitRequest,
    };

    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    ensure_topic(&mut c, "offs").await;
    let (_, pid, epoch) = init(&mut c, "to").await;
    let group = GroupId(StrBytes::from_static_str("g-txn"));
    let req = AddOffsetsToTxnRequest::default()
        .with_transactional_id(tid("to"))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_group_id(group.clone());
    let ResponseKind::AddOffsetsToTxn(r) = c
        .request(
            ApiKey::AddOffsetsToTxn,
            3,
            RequestKind::AddOffsetsToTxn(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    assert_eq!(r.error_code, 0);
    let req = TxnOffsetCommitRequest::default()
        .with_transactional_id(tid("to"))
        .with_group_id(group.clone())
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_generation_id(-1)
        .with_topics(vec![TxnOffsetCommitRequestTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("offs")))
            .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(42)])]);
    let ResponseKind::TxnOffsetCommit(r) = c
        .request(
            ApiKey::TxnOffsetCommit,
            3,
            RequestKind::TxnOffsetCommit(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    assert_eq!(r.topics[0].partitions[0].error_code, 0);

    let fetch_req = OffsetFetchRequest::default()
        .with_group_id(group.clone())
        .with_require_stable(true)
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("offs")))
            .with_partition_indexes(vec![0])]));
    let ResponseKind::OffsetFetch(r) = c
        .request(
            ApiKey::OffsetFetch,
            7,
            RequestKind::OffsetFetch(fetch_req.clone()),
        )
        .await
    else {
        panic!("wrong response type")
    };
    let p = &r.topics[0].partitions[0];
    assert_eq!(
        (p.error_code, p.committed_offset),
        (88, -1),
        "UNSTABLE_OFFSET_COMMIT"
    );

    assert_eq!(end(&mut c, "to", pid, epoch, true).await, 0);
    let ResponseKind::OffsetFetch(r) = c
        .request(ApiKey::OffsetFetch, 7, RequestKind::OffsetFetch(fetch_req))
        .await
    else {
        panic!("wrong response type")
    };
    let p = &r.topics[0].partitions[0];
    assert_eq!((p.error_code, p.committed_offset), (0, 42));
    broker.stop().await;
}
