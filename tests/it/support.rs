//! A broker per test and a minimal wire client.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_broker::{Broker, BrokerConfig};

pub struct TestBroker {
    pub broker: Broker,
    pub dir: tempfile::TempDir,
}

impl TestBroker {
    pub async fn start(extra: &[&str]) -> TestBroker {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, extra).await
    }

    pub async fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> TestBroker {
        let mut overrides = vec![
            "listeners=PLAINTEXT://127.0.0.1:0".to_string(),
            format!("log.dirs={}", dir.path().display()),
        ];
        overrides.extend(extra.iter().map(|s| s.to_string()));
        let config = BrokerConfig::from_properties("", &overrides).unwrap();
        let broker = Broker::start(config).await.unwrap();
        TestBroker { broker, dir }
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.broker.local_addr()).await
    }

    /// Stops the broker cleanly and returns its data directory for a restart.
    pub async fn stop(self) -> tempfile::TempDir {
        self.broker.shutdown().await.unwrap();
        self.dir
    }
}

pub struct Client {
    stream: TcpStream,
    correlation_id: i32,
}

impl Client {
    pub async fn connect(addr: std::net::SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.unwrap();
        Client {
            stream,
            correlation_id: 0,
        }
    }

    /// Encodes a request frame (size prefix included).
    pub fn frame(&mut self, key: ApiKey, version: i16, body: &RequestKind) -> BytesMut {
        self.correlation_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("weir-it")));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, key.request_header_version(version))
            .unwrap();
        body.encode(&mut buf, version).unwrap();
        let size = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        buf
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Reads one response frame; `None` if the broker closed the connection.
    pub async fn read_frame(&mut self) -> Option<Bytes> {
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).await.ok()?;
        let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut body).await.ok()?;
        Some(Bytes::from(body))
    }

    pub async fn request(&mut self, key: ApiKey, version: i16, body: RequestKind) -> ResponseKind {
        let frame = self.frame(key, version, &body);
        self.send_raw(&frame).await;
        let mut resp = self.read_frame().await.expect("connection closed");
        let header_version = if key == ApiKey::ApiVersions {
            0
        } else {
            key.response_header_version(version)
        };
        let header = <ResponseHeader as kafka_protocol::protocol::Decodable>::decode(
            &mut resp,
            header_version,
        )
        .unwrap();
        assert_eq!(header.correlation_id, self.correlation_id);
        let decoded = ResponseKind::decode(key, &mut resp, version).unwrap();
        assert_eq!(resp.remaining(), 0, "trailing bytes in {key:?} response");
        decoded
    }
}

/// A valid uncompressed v2 batch of `values` (no keys, no headers), base offset 0.
pub fn batch(values: &[&[u8]]) -> Vec<u8> {
    fn varint(buf: &mut Vec<u8>, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        loop {
            let byte = (z & 0x7f) as u8;
            z >>= 7;
            if z == 0 {
                buf.push(byte);
                break;
            }
            buf.push(byte | 0x80);
        }
    }
    let mut records = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let mut body = vec![0u8]; // attributes
        varint(&mut body, 0); // timestamp delta
        varint(&mut body, i as i64); // offset delta
        varint(&mut body, -1); // key: null
        varint(&mut body, v.len() as i64);
        body.extend_from_slice(v);
        varint(&mut body, 0); // headers
        varint(&mut records, body.len() as i64);
        records.extend_from_slice(&body);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut b = Vec::new();
    b.put_i64(0); // base offset
    b.put_i32(0); // length, patched below
    b.put_i32(-1); // partition leader epoch
    b.put_i8(2); // magic
    b.put_u32(0); // crc, patched below
    b.put_i16(0); // attributes
    b.put_i32(values.len() as i32 - 1);
    b.put_i64(now);
    b.put_i64(now);
    b.put_i64(-1); // producer id
    b.put_i16(-1);
    b.put_i32(-1);
    b.put_i32(values.len() as i32);
    b.extend_from_slice(&records);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// Creates a one-partition topic with `configs` through CreateTopics v7; returns its id.
pub async fn create_topic(client: &mut Client, name: &str, configs: &[(&str, &str)]) -> uuid::Uuid {
    use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
    use kafka_protocol::messages::{CreateTopicsRequest, TopicName};
    let s = |v: &str| StrBytes::from_string(v.to_string());
    let topic = CreatableTopic::default()
        .with_name(TopicName(s(name)))
        .with_num_partitions(1)
        .with_replication_factor(1)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(s(k))
                        .with_value(Some(s(v)))
                })
                .collect(),
        );
    let req = CreateTopicsRequest::default()
        .with_topics(vec![topic])
        .with_timeout_ms(5000);
    let ResponseKind::CreateTopics(resp) = client
        .request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await
    else {
        panic!("wrong response type")
    };
    assert_eq!(resp.topics[0].error_code, 0, "{:?}", resp.topics[0]);
    resp.topics[0].topic_id
}
