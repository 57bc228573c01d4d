//! Settings shared by every client (producer, admin, and later the consumer), with Kafka's names.

use std::time::Duration;

use crate::ClientError;

/// Connection and metadata settings common to all clients.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `bootstrap.servers`: `host:port` addresses tried in order until one answers.
    pub bootstrap_servers: Vec<String>,
    /// `client.id`, sent in every request header.
    pub client_id: String,
    /// `request.timeout.ms` (30000): how long to wait for one response.
    pub request_timeout: Duration,
    /// `metadata.max.age.ms` (300000): metadata is refreshed at least this often.
    pub metadata_max_age: Duration,
    /// `reconnect.backoff.ms` (50): first wait before reconnecting to a broker.
    pub reconnect_backoff: Duration,
    /// `reconnect.backoff.max.ms` (1000): the wait doubles up to this.
    pub reconnect_backoff_max: Duration,
    /// `socket.connection.setup.timeout.ms` (10000).
    pub connection_setup_timeout: Duration,
    /// `retry.backoff.ms` (100): wait before retrying a failed request.
    pub retry_backoff: Duration,
    /// Largest response frame accepted from a broker.
    pub max_response_size: usize,
}

impl ClientConfig {
    pub fn new(bootstrap_servers: impl AsRef<str>) -> Self {
        ClientConfig {
            bootstrap_servers: split_servers(bootstrap_servers.as_ref()),
            client_id: "weir-client".to_string(),
            request_timeout: Duration::from_millis(30_000),
            metadata_max_age: Duration::from_millis(300_000),
            reconnect_backoff: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_millis(1000),
            connection_setup_timeout: Duration::from_millis(10_000),
            retry_backoff: Duration::from_millis(100),
            max_response_size: 512 * 1024 * 1024,
        }
    }

    /// Sets one property by its Kafka name. Returns `Ok(false)` for a key this struct does not
    /// own, so that the producer or consumer config can try it.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ClientError> {
        match key {
            "bootstrap.servers" => self.bootstrap_servers = split_servers(value),
            "client.id" => self.client_id = value.to_string(),
            "request.timeout.ms" => self.request_timeout = parse_ms(key, value)?,
            "metadata.max.age.ms" => self.metadata_max_age = parse_ms(key, value)?,
            "reconnect.backoff.ms" => self.reconnect_backoff = parse_ms(key, value)?,
            "reconnect.backoff.max.ms" => self.reconnect_backoff_max = parse_ms(key, value)?,
            "socket.connection.setup.timeout.ms" => {
                self.connection_setup_timeout = parse_ms(key, value)?
            }
            "retry.backoff.ms" => self.retry_backoff = parse_ms(key, value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn split_servers(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) fn invalid(key: &str, value: &str, reason: impl Into<String>) -> ClientError {
    ClientError::InvalidConfig {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

pub(crate) fn parse_num<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ClientError> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(key, value, "not a valid number"))
}

pub(crate) fn parse_ms(key: &str, value: &str) -> Result<Duration, ClientError> {
    Ok(Duration::from_millis(parse_num::<u64>(key, value)?))
}

pub(crate) fn parse_bool(key: &str, value: &str) -> Result<bool, ClientError> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(key, value, "expected true or false")),
    }
}
