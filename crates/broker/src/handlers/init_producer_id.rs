//! InitProducerId: hands idempotent producers a producer id and epoch.
//!
//! Ids come from blocks of [`PRODUCER_ID_BLOCK_SIZE`] taken from the metadata log (a
//! `ProducerIds` record per block, Kafka's `ProducerIdsRecord`), so an id is never handed out
//! twice, across restarts too, and a producer costs no metadata write.
//!
//! Without a `transactional_id` Kafka always answers a fresh id with epoch 0, whatever
//! producer id and epoch a v3+ request carries (KIP-360's epoch bump for idempotent producers
//! happens in the client; only the transaction coordinator bumps epochs of ids it knows), and
//! so does Weir. With a `transactional_id` the transaction coordinator answers
//! (`weir_coordinator::TransactionCoordinator::init_producer_id`): a new id, or the known id
//! with its epoch bumped, fencing the older instance.

use std::sync::{Arc, Mutex};

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use weir_metadata::MetadataRecord;
use weir_protocol::ResponseError;

use crate::error::BrokerError;
use crate::BrokerState;

/// Producer ids taken from the metadata log at a time (Kafka's block size).
pub const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;

/// The block of producer ids this broker is handing out: `next..end`.
#[derive(Debug, Default)]
pub struct ProducerIdManager {
    block: Mutex<(i64, i64)>,
}

impl ProducerIdManager {
    /// A new producer id, taking a new block from the metadata log when the current one is
    /// used up. Blocking (the metadata commit fsyncs): call from a blocking thread.
    pub fn generate(&self, state: &BrokerState) -> Result<i64, BrokerError> {
        let mut block = self.block.lock().map_err(|_| BrokerError::Poisoned)?;
        if block.0 >= block.1 {
            let node_id = state.node_id;
            let image = state.commit(|image| {
                Ok::<_, std::convert::Infallible>(vec![MetadataRecord::ProducerIds {
                    broker_id: node_id,
                    next_producer_id: image.next_producer_id() + PRODUCER_ID_BLOCK_SIZE,
                }])
            })?;
            let end = match image {
                Ok(image) => image.next_producer_id(),
                Err(never) => match never {},
            };
            *block = (end - PRODUCER_ID_BLOCK_SIZE, end);
            tracing::debug!(start = block.0, end, "took a producer id block");
        }
        let id = block.0;
        block.0 += 1;
        Ok(id)
    }
}

pub async fn handle(
    state: &Arc<BrokerState>,
    request: InitProducerIdRequest,
    version: i16,
) -> InitProducerIdResponse {
    let failed = |error: ResponseError| {
        InitProducerIdResponse::default()
            .with_error_code(error.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    // kafka-protocol's default for the nullable field is `Some("")`; Kafka treats only null as
    // "no transactional id", but no client sends an empty one.
    if request
        .transactional_id
        .as_ref()
        .is_some_and(|t| !t.0.is_empty())
    {
        return transactional(state, request, version).await;
    }
    let state2 = state.clone();
    let id = tokio::task::spawn_blocking(move || state2.producer_ids.generate(&state2)).await;
    match id {
        Ok(Ok(id)) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(0),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "producer id allocation failed");
            failed(ResponseError::CoordinatorNotAvailable)
        }
        Err(e) => {
            tracing::error!(error = %e, "producer id task failed");
            failed(ResponseError::CoordinatorNotAvailable)
        }
    }
}

/// InitProducerId with a transactional id, answered by the transaction coordinator.
async fn transactional(
    state: &Arc<BrokerState>,
    request: InitProducerIdRequest,
    version: i16,
) -> InitProducerIdResponse {
    let failed = |error: ResponseError| {
        InitProducerIdResponse::default()
            .with_error_code(crate::txns::for_version(error, version, 4).code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    let txns = match crate::txns::coordinator(state).await {
        Ok(t) => t,
        Err(e) => return failed(e),
    };
    let tid = request
        .transactional_id
        .as_ref()
        .map(|t| t.0.to_string())
        .unwrap_or_default();
    let timeout = request.transaction_timeout_ms;
    let expected = (request.producer_id.0, request.producer_epoch);
    let state2 = state.clone();
    let result = txns
        .call(move |core, now| {
            let mut allocate = || match state2.producer_ids.generate(&state2) {
                Ok(id) => Some(id),
                Err(e) => {
                    tracing::error!(error = %e, "producer id allocation failed");
                    None
                }
            };
            core.init_producer_id(&tid, timeout, expected, now, &mut allocate)
        })
        .await
        .unwrap_or(Err(ResponseError::CoordinatorNotAvailable));
    match result {
        Ok((id, epoch)) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(epoch),
        Err(e) => failed(e),
    }
}
