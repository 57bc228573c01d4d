//! Broker start-up, listeners and shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use weir_metadata::{MetadataRecord, MetadataStore};
use weir_replication::ReplicaManager;

use crate::{connection, meta_properties, retention_task, BrokerConfig, BrokerError, BrokerState};

/// How often recovery points are flushed and checkpointed (Kafka's
/// `log.flush.offset.checkpoint.interval.ms` default).
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(60);

/// A running broker.
pub struct Broker {
    state: Arc<BrokerState>,
    local_addrs: Vec<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Broker {
    /// Opens the log directory, replays the metadata log, recovers the partition logs, binds
    /// the listeners and starts serving.
    pub async fn start(config: BrokerConfig) -> Result<Broker, BrokerError> {
        let log_dir = config
            .log_dirs()
            .into_iter()
            .next()
            .ok_or_else(|| BrokerError::Config("log.dirs is empty".into()))?;
        std::fs::create_dir_all(&log_dir).map_err(|source| BrokerError::Io {
            path: log_dir.clone(),
            source,
        })?;
        let node_id = config.node_id();
        let cluster_id = meta_properties::load_or_create(&log_dir, node_id)?;

        let mut listeners = Vec::new();
        let mut local_addrs = Vec::new();
        for l in config.listeners() {
            let host = if l.host.is_empty() {
                "0.0.0.0"
            } else {
                l.host.as_str()
            };
            let addr = format!("{host}:{}", l.port);
            let listener = TcpListener::bind(&addr)
                .await
                .map_err(|source| BrokerError::Bind {
                    addr: addr.clone(),
                    source,
                })?;
            let local = listener.local_addr().map_err(|source| BrokerError::Bind {
                addr: addr.clone(),
                source,
            })?;
            tracing::info!(listener = %l.name, address = %local, "listening");
            local_addrs.push(local);
            listeners.push(listener);
        }
        let first = *local_addrs
            .first()
            .ok_or_else(|| BrokerError::Config("listeners is empty".into()))?;
        let (advertised_host, advertised_port) = match config.advertised_listeners().first() {
            Some(a) if !a.host.is_empty() && a.port != 0 => (a.host.clone(), i32::from(a.port)),
            _ if first.ip().is_unspecified() => ("127.0.0.1".to_string(), i32::from(first.port())),
            _ => (first.ip().to_string(), i32::from(first.port())),
        };

        let (metadata, replicas) = tokio::task::spawn_blocking({
            let log_dir = log_dir.clone();
            let host = advertised_host.clone();
            let port = u16::try_from(advertised_port).unwrap_or(0);
            move || -> Result<(MetadataStore, ReplicaManager), BrokerError> {
                let mut metadata = MetadataStore::open(&log_dir)?;
                let registered = metadata.image().broker(node_id).cloned();
                if registered.is_none_or(|b| b.host != host || b.port != port) {
                    metadata.commit(vec![MetadataRecord::RegisterBroker {
                        broker_id: node_id,
                        host,
                        port,
                        rack: None,
                    }])?;
                }
                Ok((metadata, ReplicaManager::open(&log_dir)?))
            }
        })
        .await
        .map_err(|e| BrokerError::Config(format!("start-up task failed: {e}")))??;

        let state = tokio::task::spawn_blocking(move || {
            BrokerState::new(
                config,
                cluster_id,
                advertised_host,
                advertised_port,
                metadata,
                replicas,
            )
        })
        .await
        .map_err(|e| BrokerError::Config(format!("start-up task failed: {e}")))??;
        let state = Arc::new(state);
        if state
            .image()
            .topic(weir_coordinator::CONSUMER_OFFSETS_TOPIC)
            .is_some()
        {
            // Replay committed offsets and groups before serving.
            crate::groups::load(&state).await.map_err(|e| {
                BrokerError::Config(format!("cannot load __consumer_offsets: {e:?}"))
            })?;
        }
        if state
            .image()
            .topic(weir_coordinator::TRANSACTION_STATE_TOPIC)
            .is_some()
        {
            // Replay transactions (and finish those a crash interrupted) before serving.
            crate::txns::coordinator(&state).await.map_err(|e| {
                BrokerError::Config(format!("cannot load __transaction_state: {e:?}"))
            })?;
        }

        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for listener in listeners {
            tasks.spawn(accept_loop(state.clone(), listener, shutdown_rx.clone()));
        }
        tasks.spawn(retention_task::retention_loop(
            state.clone(),
            shutdown_rx.clone(),
        ));
        tasks.spawn(crate::cleaner_task::cleaner_loop(
            state.clone(),
            shutdown_rx.clone(),
        ));
        tasks.spawn(state.groups.clone().run_timers(shutdown_rx.clone()));
        tasks.spawn(state.txns.clone().run_timers(shutdown_rx.clone()));
        tasks.spawn(checkpoint_loop(state.clone(), shutdown_rx));
        Ok(Broker {
            state,
            local_addrs,
            shutdown,
            tasks,
        })
    }

    /// The bound address of the first listener (useful when it was configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addrs[0]
    }

    pub fn state(&self) -> &Arc<BrokerState> {
        &self.state
    }

    /// Stops accepting, closes connections, flushes every log and writes the recovery points,
    /// so the next start needs no recovery.
    pub async fn shutdown(mut self) -> Result<(), BrokerError> {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || state.replicas.flush_and_checkpoint())
            .await
            .map_err(|e| BrokerError::Config(format!("shutdown task failed: {e}")))??;
        tracing::info!("broker stopped cleanly");
        Ok(())
    }
}

async fn accept_loop(
    state: Arc<BrokerState>,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection::serve(state.clone(), stream));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    connections.shutdown().await;
}

async fn checkpoint_loop(state: Arc<BrokerState>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(CHECKPOINT_INTERVAL) => {
                let state = state.clone();
                let result = tokio::task::spawn_blocking(move || state.replicas.flush_and_checkpoint()).await;
                if let Ok(Err(e)) = result {
                    tracing::error!(error = %e, "checkpoint failed");
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}
