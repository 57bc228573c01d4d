//! FindCoordinator: this broker coordinates every group and every transactional id (it is the
//! only one, and it leads every `__consumer_offsets` and `__transaction_state` partition). The
//! first request of each key type creates and loads that topic.

use std::sync::Arc;

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use weir_protocol::ResponseError;

use crate::groups;
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let keys = if version >= 4 {
        request.coordinator_keys
    } else {
        vec![request.key]
    };
    let mut coordinators = Vec::with_capacity(keys.len());
    for key in keys {
        let result = match request.key_type {
            0 if key.is_empty() => Err(ResponseError::InvalidRequest),
            0 => groups::coordinator(state).await.map(|_| ()),
            1 if key.is_empty() => Err(ResponseError::InvalidRequest),
            1 => crate::txns::coordinator(state).await.map(|_| ()),
            _ => Err(ResponseError::InvalidRequest),
        };
        let c = Coordinator::default().with_key(key);
        coordinators.push(match result {
            Ok(()) => c
                .with_node_id(BrokerId(state.node_id))
                .with_host(StrBytes::from_string(state.advertised_host.clone()))
                .with_port(state.advertised_port),
            Err(e) => c
                .with_node_id(BrokerId(-1))
                .with_host(StrBytes::default())
                .with_port(-1)
                .with_error_code(e.code())
                .with_error_message((version >= 1).then(|| StrBytes::from_string(e.to_string()))),
        });
    }
    if version >= 4 {
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let c = coordinators.pop().unwrap_or_default();
    let resp = FindCoordinatorResponse::default()
        .with_error_code(c.error_code)
        .with_node_id(c.node_id)
        .with_host(c.host)
        .with_port(c.port);
    if version >= 1 {
        resp.with_error_message(c.error_message)
    } else {
        resp
    }
}
