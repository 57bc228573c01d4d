//! Request decoding: header, version check, typed body.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::Decodable;

use crate::{api, ProtocolError};

/// A request whose header and body decoded at a supported version.
#[derive(Debug)]
pub struct DecodedRequest {
    pub api_key: ApiKey,
    pub api_version: i16,
    pub header: RequestHeader,
    pub body: RequestKind,
}

/// The first fields of every request header, readable whatever the header version.
///
/// They let the broker answer (or log) a request it cannot decode further.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderPrefix {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

impl HeaderPrefix {
    /// Reads api key, api version and correlation id from the start of a frame.
    pub fn read(frame: &[u8]) -> Result<Self, ProtocolError> {
        let Some(head) = frame.get(..8) else {
            return Err(ProtocolError::TruncatedHeader { len: frame.len() });
        };
        let mut head = head;
        Ok(Self {
            api_key: head.get_i16(),
            api_version: head.get_i16(),
            correlation_id: head.get_i32(),
        })
    }
}

/// Decodes one frame (without its size prefix) into a typed request.
///
/// Fails with [`ProtocolError::UnsupportedVersion`] before touching the body when the version
/// is outside the range Weir advertises, so a client never gets a silent misparse.
pub fn decode_request(mut frame: Bytes) -> Result<DecodedRequest, ProtocolError> {
    let prefix = HeaderPrefix::read(&frame)?;
    let api_key = ApiKey::try_from(prefix.api_key).map_err(|_| ProtocolError::UnknownApiKey {
        api_key: prefix.api_key,
    })?;
    let supported = api::supported_range(api_key).ok_or(ProtocolError::UnsupportedVersion {
        api_key: prefix.api_key,
        api_version: prefix.api_version,
    })?;
    if prefix.api_version < supported.min || prefix.api_version > supported.max {
        return Err(ProtocolError::UnsupportedVersion {
            api_key: prefix.api_key,
            api_version: prefix.api_version,
        });
    }
    let header_version = api_key.request_header_version(prefix.api_version);
    let header = RequestHeader::decode(&mut frame, header_version).map_err(|e| {
        ProtocolError::MalformedHeader {
            reason: e.to_string(),
        }
    })?;
    let body = RequestKind::decode(api_key, &mut frame, prefix.api_version).map_err(|e| {
        ProtocolError::MalformedBody {
            api: api_name(api_key),
            version: prefix.api_version,
            reason: format!("{e:#}"),
        }
    })?;
    Ok(DecodedRequest {
        api_key,
        api_version: prefix.api_version,
        header,
        body,
    })
}

/// Kafka's name of an API, for logs and errors.
pub fn api_name(key: ApiKey) -> &'static str {
    match key {
        ApiKey::Produce => "Produce",
        ApiKey::Fetch => "Fetch",
        ApiKey::ListOffsets => "ListOffsets",
        ApiKey::Metadata => "Metadata",
        ApiKey::ApiVersions => "ApiVersions",
        ApiKey::CreateTopics => "CreateTopics",
        ApiKey::DeleteTopics => "DeleteTopics",
        ApiKey::CreatePartitions => "CreatePartitions",
        ApiKey::DescribeConfigs => "DescribeConfigs",
        ApiKey::AlterConfigs => "AlterConfigs",
        ApiKey::IncrementalAlterConfigs => "IncrementalAlterConfigs",
        ApiKey::DescribeCluster => "DescribeCluster",
        ApiKey::InitProducerId => "InitProducerId",
        ApiKey::DeleteRecords => "DeleteRecords",
        ApiKey::DescribeLogDirs => "DescribeLogDirs",
        ApiKey::FindCoordinator => "FindCoordinator",
        ApiKey::JoinGroup => "JoinGroup",
        ApiKey::SyncGroup => "SyncGroup",
        ApiKey::Heartbeat => "Heartbeat",
        ApiKey::LeaveGroup => "LeaveGroup",
        ApiKey::OffsetCommit => "OffsetCommit",
        ApiKey::OffsetFetch => "OffsetFetch",
        ApiKey::ListGroups => "ListGroups",
        ApiKey::DescribeGroups => "DescribeGroups",
        ApiKey::DeleteGroups => "DeleteGroups",
        ApiKey::OffsetDelete => "OffsetDelete",
        _ => "Other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::messages::{ApiVersionsRequest, MetadataRequest};
    use kafka_protocol::protocol::{Encodable, StrBytes};

    fn frame(key: ApiKey, version: i16, body: &impl Encodable) -> Bytes {
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(7)
            .with_client_id(Some(StrBytes::from_static_str("t")));
        let mut buf = BytesMut::new();
        header
            .encode(&mut buf, key.request_header_version(version))
            .unwrap();
        body.encode(&mut buf, version).unwrap();
        buf.freeze()
    }

    #[test]
    fn decodes_supported_versions() {
        let req = decode_request(frame(
            ApiKey::ApiVersions,
            3,
            &ApiVersionsRequest::default(),
        ))
        .unwrap();
        assert_eq!(req.api_key, ApiKey::ApiVersions);
        assert_eq!(req.header.correlation_id, 7);
        let req = decode_request(frame(ApiKey::Metadata, 12, &MetadataRequest::default())).unwrap();
        assert!(matches!(req.body, RequestKind::Metadata(_)));
    }

    #[test]
    fn rejects_unsupported_version_and_unknown_key() {
        let mut f = BytesMut::from(&frame(ApiKey::Metadata, 12, &MetadataRequest::default())[..]);
        f[2..4].copy_from_slice(&99i16.to_be_bytes());
        assert!(matches!(
            decode_request(f.freeze()),
            Err(ProtocolError::UnsupportedVersion {
                api_version: 99,
                ..
            })
        ));
        let bad = Bytes::from_static(&[0x7f, 0x7f, 0, 0, 0, 0, 0, 1]);
        assert!(matches!(
            decode_request(bad),
            Err(ProtocolError::UnknownApiKey { .. })
        ));
        assert!(matches!(
            decode_request(Bytes::from_static(&[0, 1])),
            Err(ProtocolError::TruncatedHeader { len: 2 })
        ));
    }

    #[test]
    fn truncated_body_is_malformed_not_a_panic() {
        let f = frame(ApiKey::Metadata, 12, &MetadataRequest::default());
        let cut = f.slice(..f.len() - 1);
        assert!(matches!(
            decode_request(cut),
            Err(ProtocolError::MalformedBody { .. })
        ));
    }
}
