//! An in-process broker per test, on 127.0.0.1.

#![allow(dead_code, clippy::unwrap_used)]

use weir_broker::{Broker, BrokerConfig};
use weir_client::admin::NewTopic;
use weir_client::{Admin, ClientConfig};

pub struct TestBroker {
    pub broker: Broker,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl TestBroker {
    pub async fn start(extra: &[&str]) -> TestBroker {
        Self::start_in(tempfile::tempdir().unwrap(), 0, extra).await
    }

    /// Starts on `port` (0: any) with data in `dir`.
    pub async fn start_in(dir: tempfile::TempDir, port: u16, extra: &[&str]) -> TestBroker {
        let mut overrides = vec![
            format!("listeners=PLAINTEXT://127.0.0.1:{port}"),
            format!("log.dirs={}", dir.path().display()),
        ];
        overrides.extend(extra.iter().map(|s| s.to_string()));
        let config = BrokerConfig::from_properties("", &overrides).unwrap();
        let broker = Broker::start(config).await.unwrap();
        let port = broker.local_addr().port();
        TestBroker { broker, dir, port }
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Creates `name` with `partitions` partitions; returns the admin client it used.
    pub async fn create_topic(&self, name: &str, partitions: i32) -> Admin {
        let admin = Admin::connect(ClientConfig::new(self.bootstrap()))
            .await
            .unwrap();
        admin
            .create_topics(&[NewTopic::new(name, partitions, 1)])
            .await
            .unwrap();
        admin
    }

    pub async fn stop(self) -> (tempfile::TempDir, u16) {
        self.broker.shutdown().await.unwrap();
        (self.dir, self.port)
    }
}

/// A TCP proxy on 127.0.0.1 in front of a broker that can swallow requests (the fault
/// injection point for retries and sequence gaps): while `drop_requests` is on, bytes from the
/// client are read and thrown away, so requests time out without reaching the broker.
pub struct DropProxy {
    pub port: u16,
    drop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    target: std::sync::Arc<std::sync::Mutex<Option<std::net::SocketAddr>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DropProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DropProxy {
    pub async fn start() -> DropProxy {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let drop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let target: std::sync::Arc<std::sync::Mutex<Option<std::net::SocketAddr>>> =
            Default::default();
        let (d, t) = (drop.clone(), target.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Some(addr) = *t.lock().unwrap() else {
                    continue;
                };
                let Ok(broker) = tokio::net::TcpStream::connect(addr).await else {
                    continue;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut br, mut bw) = broker.into_split();
                let d = d.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) if !d.load(Ordering::SeqCst) => {
                                if bw.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                            Ok(_) => {}
                        }
                    }
                });
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut br, &mut cw).await;
                });
            }
        });
        DropProxy {
            port,
            drop,
            target,
            task,
        }
    }

    pub fn set_target(&self, port: u16) {
        *self.target.lock().unwrap() = Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }

    pub fn drop_requests(&self, on: bool) {
        self.drop.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}
