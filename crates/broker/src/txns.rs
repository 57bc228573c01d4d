//! The broker's side of the transaction coordinator: creating `__transaction_state`, handing
//! its partitions (and a way to reach every partition, for markers) to the coordinator, which
//! replays them, and its settings from the broker config.
//!
//! As for groups, the topic is created by the first request that needs the coordinator
//! (FindCoordinator with key type 1, or InitProducerId with a transactional id); an existing
//! one is replayed at start-up, and transactions a crash left half-completed are finished
//! then, before the listeners answer.
//!
//! Transactions need `__consumer_offsets` too (AddOffsetsToTxn, TxnOffsetCommit), so loading
//! the transaction coordinator loads the group coordinator first.

use std::sync::Arc;

use weir_coordinator::{
    PartitionLookup, TxnConfig, TxnCoordinatorService, TRANSACTION_STATE_TOPIC,
};
use weir_metadata::config::BrokerConfig;
use weir_protocol::ResponseError;

use crate::{groups, topic_admin, BrokerState};

/// The coordinator's settings, from the broker config (Kafka's names and defaults).
pub fn txn_config(config: &BrokerConfig) -> TxnConfig {
    TxnConfig {
        max_timeout_ms: config
            .get("transaction.max.timeout.ms")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(900_000),
        offsets_partitions: config.offsets_topic_num_partitions(),
        id_expiration_ms: config
            .get("transactional.id.expiration.ms")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(604_800_000),
    }
}

/// The transaction coordinator, loaded: creates `__transaction_state` if it is missing and
/// replays it on first use. The error is the code to answer with.
pub async fn coordinator(
    state: &Arc<BrokerState>,
) -> Result<Arc<TxnCoordinatorService>, ResponseError> {
    let txns = state.txns.clone();
    if txns.is_loaded() {
        return Ok(txns);
    }
    groups::coordinator(state).await?;
    let _guard = state.txns_load.lock().await;
    if txns.is_loaded() {
        return Ok(txns);
    }
    let num_partitions = txns.num_partitions();
    topic_admin::ensure_internal_topic(
        state,
        TRANSACTION_STATE_TOPIC,
        num_partitions,
        state.config.transaction_state_log_replication_factor(),
        "transaction.state.log.segment.bytes",
    )
    .await?;
    load(state).await?;
    Ok(txns)
}

/// Hands the existing `__transaction_state` partitions to the coordinator, which replays them.
pub async fn load(state: &Arc<BrokerState>) -> Result<(), ResponseError> {
    let mut partitions = Vec::new();
    for index in 0..state.txns.num_partitions() {
        match state.partition(TRANSACTION_STATE_TOPIC, index) {
            Some(p) => partitions.push(p),
            None => return Err(ResponseError::CoordinatorNotAvailable),
        }
    }
    let weak = Arc::downgrade(state);
    let lookup: PartitionLookup = Arc::new(move |topic: &str, index: i32| {
        weak.upgrade().and_then(|s| s.partition(topic, index))
    });
    let txns = state.txns.clone();
    tokio::task::spawn_blocking(move || txns.load(partitions, lookup))
        .await
        .map_err(|_| ResponseError::CoordinatorNotAvailable)?
        .map_err(|e| {
            tracing::error!(error = %e, "cannot load {TRANSACTION_STATE_TOPIC}");
            ResponseError::CoordinatorLoadInProgress
        })
}

/// KIP-588: requests older than `fenced_since` know `INVALID_PRODUCER_EPOCH`, not
/// `PRODUCER_FENCED`, and get that instead, as Kafka answers them.
pub fn for_version(error: ResponseError, version: i16, fenced_since: i16) -> ResponseError {
    if error == ResponseError::ProducerFenced && version < fenced_since {
        ResponseError::InvalidProducerEpoch
    } else {
        error
    }
}
