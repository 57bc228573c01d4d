//! Bad input gets its Kafka error code, the broker keeps serving, and the log is unchanged.

use kafka_protocol::messages::metadata_request::MetadataRequest;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, RequestKind, ResponseKind};

use crate::produce_fetch::{ensure_topic, fetch, fetch_request, produce, topic_name};
use crate::support::{batch, TestBroker};

const CORRUPT_MESSAGE: i16 = 2;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const MESSAGE_TOO_LARGE: i16 = 10;
const UNSUPPORTED_VERSION: i16 = 35;
const INVALID_RECORD: i16 = 87;

#[tokio::test]
async fn corrupted_crc_is_rejected_and_nothing_is_appended() {
    let broker = TestBroker::start(&[]).await;
    let mut c = broker.client().await;
    let id = ensure_topic(&mut c, "crc").await;
    let mut bad = batch(&[b"hello"]);
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    assert_eq!(produce(&mut c, "crc", bad, 1).await.0, CORRUPT_MESSAGE);
    // A good batch followed by a bad one: the whole set is refused.
    let mut set = batch(&[b"good"]);
    let mut tail = batch(&[b"bad"]);
    tail[16] = 1; // magic v1
    set.extend(tail);
    assert_eq!(produce(&mut c, "crc", set, 1).await.0, INVALID_RECORD);
    let (err, hw, records) = fetch(&mut c, fetch_request(id, 0, 0, 0)).await;
    assert_eq!((err, hw, records.len()), (0, 0, 0));
    // Still serving on the same connection.
    assert_eq!(produce(&mut c, "crc", batch(&[b"ok"]), 1).await, (0, 0));
    broker.stop().await;
}

#[tokio::test]
async fn oversized_batch_gets_message_too_large() {
    let broker = TestBroker::start(&["message.max.bytes=1000"]).await;
    let mut c = broker.client().await;
    let id = ensure_topic(&mut c, "big").await;
    let value = vec![7u8; 2000];
    assert_eq!(
        produce(&mut c, "big", batch(&[&value]), 1).await.0,
        MESSAGE_TOO_LARGE
    );
    let (_, hw, _) = fetch(&mut c, fetch_request(id, 0, 0, 0)).await;
    assert_eq!(hw, 0);
    broker.stop().await;
}

#[tokio::test]
async fn unsupported_versions_and_garbage_close_only_that_connection() {
    let broker = TestBroker::start(&[]).await;

    // ApiVersions at an unknown version: v0 answer with UNSUPPORTED_VERSION and the table.
    let mut c = broker.client().await;
    let mut frame = c.frame(
        ApiKey::ApiVersions,
        3,
        &RequestKind::ApiVersions(ApiVersionsRequest::default()),
    );
    frame[6..8].copy_from_slice(&99i16.to_be_bytes());
    c.send_raw(&frame).await;
    let mut resp = c.read_frame().await.unwrap();
    let _header =
        <kafka_protocol::messages::ResponseHeader as kafka_protocol::protocol::Decodable>::decode(
            &mut resp, 0,
        )
        .unwrap();
    let ResponseKind::ApiVersions(v) =
        ResponseKind::decode(ApiKey::ApiVersions, &mut resp, 0).unwrap()
    else {
        panic!()
    };
    assert_eq!(v.error_code, UNSUPPORTED_VERSION);
    assert!(v
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::Produce as i16));

    // Metadata at an unknown version: the connection is closed, as Kafka does.
    let mut c = broker.client().await;
    let mut frame = c.frame(
        ApiKey::Metadata,
        12,
        &RequestKind::Metadata(MetadataRequest::default()),
    );
    frame[6..8].copy_from_slice(&99i16.to_be_bytes());
    c.send_raw(&frame).await;
    assert!(c.read_frame().await.is_none());

    // A frame claiming 2 GiB and one of random bytes: closed.
    let mut c = broker.client().await;
    c.send_raw(&[0x7f, 0xff, 0xff, 0xff, 1, 2, 3]).await;
    assert!(c.read_frame().await.is_none());
    let mut c = broker.client().await;
    c.send_raw(&[0, 0, 0, 6, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02])
        .await;
    assert!(c.read_frame().await.is_none());

    // A truncated Produce body: closed.
    let mut c = broker.client().await;
    let mut frame = c.frame(
        ApiKey::Metadata,
        12,
        &RequestKind::Metadata(MetadataRequest::default().with_topics(None)),
    );
    let len = frame.len();
    frame.truncate(len - 1);
    let size = (frame.len() - 4) as i32;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    c.send_raw(&frame).await;
    assert!(c.read_frame().await.is_none());

    // The broker still serves everyone else.
    let mut c = broker.client().await;
    ensure_topic(&mut c, "alive").await;
    broker.stop().await;
}

#[tokio::test]
async fn unknown_topic_without_auto_create() {
    let broker = TestBroker::start(&["auto.create.topics.enable=false"]).await;
    let mut c = broker.client().await;
    let req = MetadataRequest::default()
        .with_topics(Some(vec![
            kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
                .with_name(Some(topic_name("nope"))),
        ]))
        .with_allow_auto_topic_creation(true);
    let ResponseKind::Metadata(resp) = c
        .request(ApiKey::Metadata, 12, RequestKind::Metadata(req))
        .await
    else {
        panic!()
    };
    assert_eq!(resp.topics[0].error_code, UNKNOWN_TOPIC_OR_PARTITION);
    assert_eq!(
        produce(&mut c, "nope", batch(&[b"x"]), 1).await.0,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    broker.stop().await;
}
