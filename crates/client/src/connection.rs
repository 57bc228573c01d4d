//! One TCP connection to one broker, with pipelined requests.
//!
//! A writer task sends frames in the order they were enqueued; a reader task cuts response
//! frames and hands each to the waiter registered under its correlation id. Callers decode their
//! own responses, so decoding runs in parallel with the socket. Request versions are negotiated
//! once with ApiVersions: for every API, the highest version that both `kafka-protocol` and the
//! broker support.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use weir_protocol::kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, RequestHeader, ResponseHeader,
};
use weir_protocol::kafka_protocol::protocol::{
    Decodable, Encodable, HeaderVersion, Request, StrBytes,
};
use weir_protocol::request::api_name;

use crate::ClientError;

type Waiter = oneshot::Sender<Result<Bytes, ClientError>>;

struct Pending {
    waiters: HashMap<i32, Waiter>,
    /// Why the connection is unusable, once it is.
    closed: Option<String>,
}

/// A live connection to one broker (see the module docs).
pub struct BrokerConnection {
    addr: String,
    client_id: StrBytes,
    request_timeout: Duration,
    frames: mpsc::UnboundedSender<Bytes>,
    pending: Arc<Mutex<Pending>>,
    next_correlation_id: AtomicI32,
    /// Negotiated version per API key (index = key).
    versions: HashMap<i16, i16>,
    reader: JoinHandle<()>,
    dead: Arc<AtomicBool>,
}

impl std::fmt::Debug for BrokerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerConnection")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for BrokerConnection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// A response on its way; [`ResponseFuture::wait`] decodes it.
pub struct ResponseFuture<T> {
    rx: oneshot::Receiver<Result<Bytes, ClientError>>,
    api_key: ApiKey,
    version: i16,
    timeout: Duration,
    addr: String,
    pending: Arc<Mutex<Pending>>,
    dead: Arc<AtomicBool>,
    _response: std::marker::PhantomData<fn() -> T>,
}

impl<T: Decodable + HeaderVersion> ResponseFuture<T> {
    /// The negotiated version the request was sent with.
    pub fn version(&self) -> i16 {
        self.version
    }

    /// Waits for the response (up to `request.timeout.ms`) and decodes it. A timeout closes the
    /// connection, as in Kafka: the response of a timed-out request would be unattributable.
    pub async fn wait(self) -> Result<T, ClientError> {
        let api = api_name(self.api_key);
        let frame = match tokio::time::timeout(self.timeout, self.rx).await {
            Ok(Ok(result)) => result?,
            Ok(Err(_)) => {
                return Err(ClientError::ConnectionClosed {
                    addr: self.addr,
                    reason: "connection dropped".into(),
                })
            }
            Err(_) => {
                close(&self.pending, &self.dead, "request timed out");
                return Err(ClientError::RequestTimeout {
                    api,
                    addr: self.addr,
                    timeout: self.timeout,
                });
            }
        };
        decode_response::<T>(frame, self.api_key, self.version)
    }
}

fn decode_response<T: Decodable + HeaderVersion>(
    mut frame: Bytes,
    api_key: ApiKey,
    version: i16,
) -> Result<T, ClientError> {
    let api = api_name(api_key);
    // ApiVersions answers with header v0 whatever the request version (KIP-511).
    let header_version = if api_key == ApiKey::ApiVersions {
        0
    } else {
        T::header_version(version)
    };
    ResponseHeader::decode(&mut frame, header_version).map_err(|e| ClientError::Codec {
        api,
        reason: format!("response header: {e}"),
    })?;
    T::decode(&mut frame, version).map_err(|e| ClientError::Codec {
        api,
        reason: format!("{e:#}"),
    })
}

fn close(pending: &Mutex<Pending>, dead: &AtomicBool, reason: &str) {
    dead.store(true, Ordering::Release);
    let waiters = {
        let mut p = match pending.lock() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        if p.closed.is_none() {
            p.closed = Some(reason.to_string());
        }
        std::mem::take(&mut p.waiters)
    };
    for (_, w) in waiters {
        let _ = w.send(Err(ClientError::ConnectionClosed {
            addr: String::new(),
            reason: reason.to_string(),
        }));
    }
}

impl BrokerConnection {
    /// Connects, then negotiates API versions.
    pub async fn connect(
        addr: &str,
        client_id: &str,
        setup_timeout: Duration,
        request_timeout: Duration,
        max_response_size: usize,
    ) -> Result<BrokerConnection, ClientError> {
        let connect_err = |e: std::io::Error| ClientError::Connect {
            addr: addr.to_string(),
            source: Arc::new(e),
        };
        let stream = tokio::time::timeout(setup_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                connect_err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "socket.connection.setup.timeout.ms elapsed",
                ))
            })?
            .map_err(connect_err)?;
        stream.set_nodelay(true).map_err(connect_err)?;
        let (mut rd, mut wr) = stream.into_split();
        let pending = Arc::new(Mutex::new(Pending {
            waiters: HashMap::new(),
            closed: None,
        }));
        let dead = Arc::new(AtomicBool::new(false));
        let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();

        let (wp, wd) = (pending.clone(), dead.clone());
        tokio::spawn(async move {
            let mut coalesced = BytesMut::new();
            while let Some(frame) = rx.recv().await {
                let result = match rx.try_recv() {
                    Err(_) => wr.write_all(&frame).await,
                    Ok(next) => {
                        // Several frames queued: one write for all of them.
                        coalesced.clear();
                        coalesced.put_slice(&frame);
                        coalesced.put_slice(&next);
                        while coalesced.len() < 1 << 20 {
                            match rx.try_recv() {
                                Ok(f) => coalesced.put_slice(&f),
                                Err(_) => break,
                            }
                        }
                        wr.write_all(&coalesced).await
                    }
                };
                if let Err(e) = result {
                    close(&wp, &wd, &format!("write failed: {e}"));
                    return;
                }
            }
            let _ = wr.shutdown().await;
        });

        let (rp, rdd) = (pending.clone(), dead.clone());
        let reader = tokio::spawn(async move {
            let mut buf = BytesMut::with_capacity(64 * 1024);
            loop {
                loop {
                    match weir_protocol::frame::split_frame(&mut buf, max_response_size) {
                        Ok(Some(frame)) => {
                            let Some(cid) = frame.get(..4) else {
                                close(&rp, &rdd, "response frame shorter than its header");
                                return;
                            };
                            let cid = i32::from_be_bytes([cid[0], cid[1], cid[2], cid[3]]);
                            let waiter = match rp.lock() {
                                Ok(mut p) => p.waiters.remove(&cid),
                                Err(_) => None,
                            };
                            if let Some(w) = waiter {
                                let _ = w.send(Ok(frame));
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            close(&rp, &rdd, &format!("bad response frame: {e}"));
                            return;
                        }
                    }
                }
                if buf.capacity() - buf.len() < 16 * 1024 {
                    buf.reserve(64 * 1024);
                }
                match rd.read_buf(&mut buf).await {
                    Ok(0) => {
                        close(&rp, &rdd, "closed by the broker");
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        close(&rp, &rdd, &format!("read failed: {e}"));
                        return;
                    }
                }
            }
        });

        let mut conn = BrokerConnection {
            addr: addr.to_string(),
            client_id: StrBytes::from_string(client_id.to_string()),
            request_timeout,
            frames: tx,
            pending,
            next_correlation_id: AtomicI32::new(0),
            versions: HashMap::new(),
            reader,
            dead,
        };
        conn.negotiate_versions().await?;
        Ok(conn)
    }

    async fn negotiate_versions(&mut self) -> Result<(), ClientError> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("weir-client"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let mut response = self.enqueue_versioned(&request, 3)?.wait().await?;
        if response.error_code == 35 {
            // UNSUPPORTED_VERSION: the broker lists its range in a v0 answer.
            response = self.enqueue_versioned(&request, 0)?.wait().await?;
        }
        if let Some(e) = ClientError::kafka(
            format!("ApiVersions from {}", self.addr),
            response.error_code,
        ) {
            return Err(e);
        }
        for api in &response.api_keys {
            let Ok(key) = ApiKey::try_from(api.api_key) else {
                continue;
            };
            let ours = key.valid_versions();
            let min = ours.min.max(api.min_version);
            let max = ours.max.min(api.max_version);
            if min <= max {
                self.versions.insert(api.api_key, max);
            }
        }
        Ok(())
    }

    /// The broker address this connection was opened to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether the connection failed or was closed; a dead connection is replaced.
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// Closes the connection; pending requests fail with `ConnectionClosed`.
    pub fn close(&self, reason: &str) {
        close(&self.pending, &self.dead, reason);
    }

    /// The version that will be used for `key`, or `None` if client and broker share none.
    pub fn version(&self, key: ApiKey) -> Option<i16> {
        self.versions.get(&(key as i16)).copied()
    }

    fn negotiated<R: Request>(&self) -> Result<i16, ClientError> {
        let key = ApiKey::try_from(R::KEY).map_err(|_| ClientError::Codec {
            api: "Unknown",
            reason: format!("unknown API key {}", R::KEY),
        })?;
        self.version(key)
            .ok_or_else(|| ClientError::UnsupportedApi {
                api: api_name(key),
                addr: self.addr.clone(),
            })
    }

    fn encode<R: Request>(
        &self,
        request: &R,
        version: i16,
        cid: i32,
    ) -> Result<Bytes, ClientError> {
        let key = ApiKey::try_from(R::KEY).unwrap_or(ApiKey::ApiVersions);
        let api = api_name(key);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(cid)
            .with_client_id(Some(self.client_id.clone()));
        let header_version = R::header_version(version);
        let size = header
            .compute_size(header_version)
            .and_then(|h| request.compute_size(version).map(|b| h + b))
            .map_err(|e| ClientError::Codec {
                api,
                reason: format!("{e:#}"),
            })?;
        let mut buf = BytesMut::with_capacity(4 + size);
        buf.put_i32(i32::try_from(size).map_err(|_| ClientError::Codec {
            api,
            reason: format!("request of {size} bytes"),
        })?);
        header
            .encode(&mut buf, header_version)
            .and_then(|_| request.encode(&mut buf, version))
            .map_err(|e| ClientError::Codec {
                api,
                reason: format!("{e:#}"),
            })?;
        Ok(buf.freeze())
    }

    /// Sends `request` at the negotiated version; the returned future yields the response.
    /// Requests enqueued by one task reach the broker in the order they were enqueued.
    pub fn enqueue<R: Request>(
        &self,
        request: &R,
    ) -> Result<ResponseFuture<R::Response>, ClientError> {
        let version = self.negotiated::<R>()?;
        self.enqueue_versioned(request, version)
    }

    /// Like [`BrokerConnection::enqueue`] at an explicit version.
    pub fn enqueue_versioned<R: Request>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<ResponseFuture<R::Response>, ClientError> {
        let cid = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let frame = self.encode(request, version, cid)?;
        let (tx, rx) = oneshot::channel();
        {
            let mut p = self
                .pending
                .lock()
                .map_err(|_| self.closed_error("poisoned".into()))?;
            if let Some(reason) = &p.closed {
                return Err(self.closed_error(reason.clone()));
            }
            p.waiters.insert(cid, tx);
        }
        if self.frames.send(frame).is_err() {
            return Err(self.closed_error("writer stopped".into()));
        }
        Ok(ResponseFuture {
            rx,
            api_key: ApiKey::try_from(R::KEY).unwrap_or(ApiKey::ApiVersions),
            version,
            timeout: self.request_timeout,
            addr: self.addr.clone(),
            pending: self.pending.clone(),
            dead: self.dead.clone(),
            _response: std::marker::PhantomData,
        })
    }

    /// Sends a request the broker will not answer (Produce with `acks=0`).
    pub fn send_oneway<R: Request>(&self, request: &R) -> Result<(), ClientError> {
        let version = self.negotiated::<R>()?;
        let cid = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let frame = self.encode(request, version, cid)?;
        if let Ok(p) = self.pending.lock() {
            if let Some(reason) = &p.closed {
                return Err(self.closed_error(reason.clone()));
            }
        }
        self.frames
            .send(frame)
            .map_err(|_| self.closed_error("writer stopped".into()))
    }

    /// Sends `request` and waits for its response.
    pub async fn send<R: Request>(&self, request: &R) -> Result<R::Response, ClientError> {
        self.enqueue(request)?.wait().await
    }

    /// Like [`BrokerConnection::send`], waiting up to `timeout` instead of
    /// `request.timeout.ms` (JoinGroup, which the coordinator holds for up to the rebalance
    /// timeout).
    pub async fn send_with_timeout<R: Request>(
        &self,
        request: &R,
        timeout: Duration,
    ) -> Result<R::Response, ClientError> {
        let mut pending = self.enqueue(request)?;
        pending.timeout = timeout;
        pending.wait().await
    }

    fn closed_error(&self, reason: String) -> ClientError {
        ClientError::ConnectionClosed {
            addr: self.addr.clone(),
            reason,
        }
    }
}
