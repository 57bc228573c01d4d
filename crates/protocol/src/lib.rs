//! # weir-protocol
//!
//! Weir's view of the Kafka wire protocol, with no I/O and no async runtime.
//!
//! What this crate owns:
//! - [`frame`]: cutting length-prefixed frames out of a byte stream, bounded by
//!   `socket.request.max.bytes`;
//! - [`request`]: request header and body decoding into the typed messages of the
//!   `kafka-protocol` crate (generated from Kafka's JSON schemas), with version checks;
//! - [`response`]: response framing (header version chosen per API and version);
//! - [`api`]: the table of API keys and version ranges Weir implements, which ApiVersions
//!   advertises;
//! - [`batch`]: a zero-copy view of a record batch v2 header with validation (magic, CRC-32C,
//!   lengths, record count), and the in-place rewrites the broker is allowed to make.
//!
//! What it does not own: sockets, storage, and any broker state. Error codes sent to clients are
//! `kafka_protocol::error::ResponseError`; this crate's own failures are [`ProtocolError`].

pub mod api;
pub mod batch;
mod error;
pub mod frame;
pub mod request;
pub mod response;

pub use error::ProtocolError;
pub use kafka_protocol;
pub use kafka_protocol::error::ResponseError;
