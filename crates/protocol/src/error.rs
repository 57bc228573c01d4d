use thiserror::Error;

/// Why a frame, header or body could not be decoded or encoded.
///
/// Each variant maps to one reaction in the broker: an unparseable frame closes the connection,
/// an unsupported version is answered with `UNSUPPORTED_VERSION`.
#[derive(Debug, Error)]
pub enum ProtocolError {
    #[error("frame of {size} bytes exceeds socket.request.max.bytes ({max})")]
    FrameTooLarge { size: usize, max: usize },
    #[error("negative frame size {size}")]
    NegativeFrameSize { size: i32 },
    #[error("frame too short for a request header ({len} bytes)")]
    TruncatedHeader { len: usize },
    #[error("unknown API key {api_key}")]
    UnknownApiKey { api_key: i16 },
    #[error("API key {api_key} version {api_version} is not supported")]
    UnsupportedVersion { api_key: i16, api_version: i16 },
    #[error("malformed request header: {reason}")]
    MalformedHeader { reason: String },
    #[error("malformed {api} v{version} request body: {reason}")]
    MalformedBody {
        api: &'static str,
        version: i16,
        reason: String,
    },
    #[error("failed to encode {api} v{version} response: {reason}")]
    Encode {
        api: &'static str,
        version: i16,
        reason: String,
    },
    #[error("record batch: {0}")]
    Batch(#[from] crate::batch::BatchError),
}
