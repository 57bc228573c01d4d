//! An in-process broker per test, on 127.0.0.1.

#![allow(dead_code, clippy::unwrap_used)]

use weir_broker::{Broker, BrokerConfig};

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

    pub async fn stop(self) -> (tempfile::TempDir, u16) {
        self.broker.shutdown().await.unwrap();
        (self.dir, self.port)
    }
}
