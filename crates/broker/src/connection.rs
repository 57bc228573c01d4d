//! One client connection: frames in, responses out, strictly in request order.

use std::os::fd::AsFd;
use std::sync::Arc;

use bytes::BytesMut;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse, ResponseKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use weir_protocol::frame::split_frame;
use weir_protocol::request::{decode_request, HeaderPrefix};
use weir_protocol::response::encode_response;
use weir_protocol::{ProtocolError, ResponseError};
use weir_storage::ReadSlice;

use crate::handlers::{self, api_versions, Reply};
use crate::zero_copy::Chunk;
use crate::BrokerState;

/// Serves one connection until the peer closes it, sends an unparseable frame, or the broker
/// shuts down. Requests are handled one at a time, so responses leave in request order (as
/// Kafka guarantees per connection); other connections are served by their own tasks.
pub async fn serve(state: Arc<BrokerState>, mut stream: TcpStream) {
    let peer = stream.peer_addr().ok();
    // The client host as Kafka reports it in DescribeGroups (Java's `InetAddress.toString()`).
    let client_host = peer.map(|p| format!("/{}", p.ip())).unwrap_or_default();
    let _ = stream.set_nodelay(true);
    let max_frame = state.socket_request_max_bytes;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        let frame = match split_frame(&mut buf, max_frame) {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                if buf.capacity() - buf.len() < 16 * 1024 {
                    buf.reserve(64 * 1024);
                }
                match stream.read_buf(&mut buf).await {
                    Ok(0) => return,
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::debug!(?peer, error = %e, "read failed");
                        return;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(?peer, error = %e, "closing connection: bad frame");
                return;
            }
        };
        let prefix = match HeaderPrefix::read(&frame) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(?peer, error = %e, "closing connection: bad header");
                return;
            }
        };
        let reply = match decode_request(frame) {
            Ok(request) => handlers::handle(&state, request, &client_host).await,
            Err(ProtocolError::UnsupportedVersion { api_key, .. })
                if api_key == ApiKey::ApiVersions as i16 =>
            {
                // KIP-511: answer with v0 and UNSUPPORTED_VERSION so the client can retry with
                // a version we list.
                let body = api_versions::supported_versions(
                    ApiVersionsResponse::default()
                        .with_error_code(ResponseError::UnsupportedVersion.code()),
                );
                match encode_response(
                    ApiKey::ApiVersions,
                    0,
                    prefix.correlation_id,
                    &ResponseKind::ApiVersions(body),
                ) {
                    Ok(frame) => Reply::Frame(vec![Chunk::Memory(frame.freeze())]),
                    Err(_) => return,
                }
            }
            Err(e) => {
                // Like Kafka, a request we cannot parse (unknown key, unsupported version,
                // malformed body) closes this connection only.
                tracing::warn!(?peer, api_key = prefix.api_key, api_version = prefix.api_version, error = %e, "closing connection");
                return;
            }
        };
        let chunks = match reply {
            Reply::None => continue,
            Reply::Frame(chunks) => chunks,
            Reply::Message(api_key, version, body) => {
                match encode_response(api_key, version, prefix.correlation_id, &body) {
                    Ok(frame) => vec![Chunk::Memory(frame.freeze())],
                    Err(e) => {
                        tracing::error!(?peer, error = %e, "closing connection: cannot encode response");
                        return;
                    }
                }
            }
            Reply::Close => return,
        };
        if let Err(e) = write_chunks(&mut stream, chunks).await {
            tracing::debug!(?peer, error = %e, "write failed");
            return;
        }
    }
}

async fn write_chunks(stream: &mut TcpStream, chunks: Vec<Chunk>) -> std::io::Result<()> {
    for chunk in chunks {
        match chunk {
            Chunk::Memory(bytes) => stream.write_all(&bytes).await?,
            Chunk::File(slice) => send_file(stream, &slice).await?,
        }
    }
    Ok(())
}

/// Sends a segment range with `sendfile(2)`: page cache to socket, no user-space copy.
async fn send_file(stream: &mut TcpStream, slice: &ReadSlice) -> std::io::Result<()> {
    let mut offset = i64::try_from(slice.position)
        .map_err(|_| std::io::Error::other("segment position out of range"))?;
    let mut remaining = slice.len;
    while remaining > 0 {
        stream.writable().await?;
        let sent = stream.try_io(Interest::WRITABLE, || {
            nix::sys::sendfile::sendfile(
                stream.as_fd(),
                slice.file.as_fd(),
                Some(&mut offset),
                remaining,
            )
            .map_err(std::io::Error::from)
        });
        match sent {
            Ok(0) => {
                // The file is shorter than the range we promised in the frame header: the
                // frame cannot be completed, so the connection must be dropped.
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "segment shorter than the fetched range",
                ));
            }
            Ok(n) => remaining -= n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
