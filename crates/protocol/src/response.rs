//! Response framing: size prefix, response header, body.

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::buf::ByteBufMut;
use kafka_protocol::protocol::Encodable;

use crate::request::api_name;
use crate::ProtocolError;

/// Encodes a complete response frame (size prefix included).
///
/// ApiVersions always answers with header v0 so that a client that sent an unsupported version
/// can still read the error (KIP-511).
pub fn encode_response(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<BytesMut, ProtocolError> {
    let mut buf = BytesMut::with_capacity(256);
    buf.put_i32(0);
    write_response_header(&mut buf, api_key, api_version, correlation_id)?;
    body.encode(&mut buf, api_version)
        .map_err(|e| ProtocolError::Encode {
            api: api_name(api_key),
            version: api_version,
            reason: format!("{e:#}"),
        })?;
    patch_frame_size(&mut buf[..])?;
    Ok(buf)
}

/// Writes the response header for `api_key`/`api_version`.
pub fn write_response_header<B: ByteBufMut>(
    buf: &mut B,
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
) -> Result<(), ProtocolError> {
    let header_version = if api_key == ApiKey::ApiVersions {
        0
    } else {
        api_key.response_header_version(api_version)
    };
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(buf, header_version)
        .map_err(|e| ProtocolError::Encode {
            api: api_name(api_key),
            version: api_version,
            reason: e.to_string(),
        })
}

/// Writes the frame's length into its first four bytes.
pub fn patch_frame_size(frame: &mut [u8]) -> Result<(), ProtocolError> {
    let size = frame.len().saturating_sub(4);
    let size = i32::try_from(size).map_err(|_| ProtocolError::FrameTooLarge {
        size,
        max: i32::MAX as usize,
    })?;
    if let Some(prefix) = frame.get_mut(..4) {
        prefix.copy_from_slice(&size.to_be_bytes());
    }
    Ok(())
}
