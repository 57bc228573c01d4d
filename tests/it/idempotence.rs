//! Idempotent producers on the wire: InitProducerId, duplicates, sequence gaps, fencing,
//! and deduplication across a restart.

use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, ProducerId, RequestKind, ResponseKind, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use weir_protocol::batch::BatchIter;

use crate::produce_fetch::{ensure_topic, fetch, fetch_request, produce};
use crate::support::{batch, Client, TestBroker};

/// A batch of `values` from producer `pid`/`epoch` with base sequence `seq`.
fn idempotent(values: &[&[u8]], pid: i64, epoch: i16, seq: i32) -> Vec<u8> {
    let mut b = batch(values);
    b[43..51].copy_from_slice(&pid.to_be_bytes());
    b[51..53].copy_from_slice(&epoch.to_be_bytes());
    b[53..57].copy_from_slice(&seq.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

async fn init_producer_id(client: &mut Client, req: InitProducerIdRequest) -> (i16, i64, i16) {
    let ResponseKind::InitProducerId(resp) = client
        .request(ApiKey::InitProducerId, 4, RequestKind::InitProducerId(req))
        .await
    else {
        panic!("wrong response type")
    };
    (resp.error_code, resp.producer_id.0, resp.producer_epoch)
}

async fn new_producer(client: &mut Client) -> i64 {
    let req = InitProducerIdRequest::default()
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let (err, pid, epoch) = init_producer_id(client, req).await;
    assert_eq!((err, epoch), (0, 0));
    assert!(pid >= 0);
    pid
}

async fn batch_count(client: &mut Client, topic_id: uuid::Uuid) -> (i64, usize) {
    let (err, hw, records) = fetch(client, fetch_request(topic_id, 0, 1, 100)).await;
    assert_eq!(err, 0);
    (hw, BatchIter::new(&records).count())
}

#[tokio::test]
async fn init_producer_id_hands_out_distinct_ids() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let a = new_producer(&mut c).await;
    let b = new_producer(&mut c).await;
    assert_ne!(a, b);
    // Kafka gives an idempotent (non-transactional) producer a fresh id even when it names
    // its current one.
    let req = InitProducerIdRequest::default()
        .with_producer_id(ProducerId(b))
        .with_producer_epoch(0);
    let (err, c_id, epoch) = init_producer_id(&mut c, req).await;
    assert_eq!((err, epoch), (0, 0));
    assert!(c_id != a && c_id != b);

    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("tx"))))
        .with_transaction_timeout_ms(60_000);
    let (err, pid, epoch) = init_producer_id(&mut c, req).await;
    assert_eq!((err, epoch), (0, 0), "the transaction coordinator answers");
    assert!(pid != a && pid != b);

    // Ids never repeat across a restart: a new block is taken from the metadata log.
    let dir = broker.stop().await;
    let broker = TestBroker::start_in(dir, &[]).await;
    let mut c = broker.client().await;
    let d = new_producer(&mut c).await;
    assert!(d > c_id, "{d} after restart, {c_id} before");
    broker.stop().await;
}

#[tokio::test]
async fn retries_are_deduplicated_gaps_and_old_epochs_refused() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let id = ensure_topic(&mut c, "idem").await;
    let pid = new_producer(&mut c).await;

    let first = idempotent(&[b"a", b"b", b"c"], pid, 0, 0);
    assert_eq!(produce(&mut c, "idem", first.clone(), -1).await, (0, 0));
    // The same batch again (a retry after a lost response): same offset, not written twice.
    assert_eq!(produce(&mut c, "idem", first.clone(), -1).await, (0, 0));
    assert_eq!(batch_count(&mut c, id).await, (3, 1));

    // A gap: OUT_OF_ORDER_SEQUENCE_NUMBER, nothing written.
    let gap = idempotent(&[b"x"], pid, 0, 5);
    assert_eq!(produce(&mut c, "idem", gap, -1).await, (45, -1));
    let second = idempotent(&[b"d"], pid, 0, 3);
    assert_eq!(produce(&mut c, "idem", second.clone(), -1).await, (0, 3));
    // Both remembered batches are recognised.
    assert_eq!(produce(&mut c, "idem", first, -1).await, (0, 0));
    assert_eq!(produce(&mut c, "idem", second, -1).await, (0, 3));

    // Another producer's batches are independent; non-idempotent ones are not checked.
    let other = new_producer(&mut c).await;
    let other_batch = idempotent(&[b"o"], other, 0, 0);
    assert_eq!(produce(&mut c, "idem", other_batch, -1).await, (0, 4));
    assert_eq!(produce(&mut c, "idem", batch(&[b"plain"]), 1).await, (0, 5));
    assert_eq!(produce(&mut c, "idem", batch(&[b"plain"]), 1).await, (0, 6));

    // A bumped epoch restarts at sequence 0 and fences the older epoch.
    assert_eq!(
        produce(&mut c, "idem", idempotent(&[b"e"], pid, 1, 4), -1).await,
        (45, -1)
    );
    assert_eq!(
        produce(&mut c, "idem", idempotent(&[b"e"], pid, 1, 0), -1).await,
        (0, 7)
    );
    assert_eq!(
        produce(&mut c, "idem", idempotent(&[b"z"], pid, 0, 4), -1).await,
        (47, -1),
        "INVALID_PRODUCER_EPOCH"
    );
    assert_eq!(batch_count(&mut c, id).await, (8, 6));
    broker.stop().await;
}

#[tokio::test]
async fn deduplication_survives_a_restart() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let id = ensure_topic(&mut c, "idem-restart").await;
    let pid = new_producer(&mut c).await;
    let mut last = Vec::new();
    for i in 0..10 {
        last = idempotent(&[b"r", b"s"], pid, 0, i * 2);
        let (err, offset) = produce(&mut c, "idem-restart", last.clone(), -1).await;
        assert_eq!((err, offset), (0, i64::from(i) * 2));
    }
    let dir = broker.stop().await;
    let broker = TestBroker::start_in(dir, &[]).await;
    let mut c = broker.client().await;
    assert_eq!(produce(&mut c, "idem-restart", last, -1).await, (0, 18));
    assert_eq!(batch_count(&mut c, id).await, (20, 10));
    let next = idempotent(&[b"t"], pid, 0, 20);
    assert_eq!(produce(&mut c, "idem-restart", next, -1).await, (0, 20));
    broker.stop().await;
}
