//! Heartbeat: keeps a member's session alive and tells it when to rejoin.

use std::sync::Arc;

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};
use weir_protocol::ResponseError;

use crate::groups;
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: HeartbeatRequest,
    _version: i16,
) -> HeartbeatResponse {
    let error = match groups::coordinator(state).await {
        Ok(c) => c
            .call(move |core, now| (core.heartbeat(&request, now), Default::default()))
            .await
            .unwrap_or(Some(ResponseError::CoordinatorNotAvailable)),
        Err(e) => Some(e),
    };
    HeartbeatResponse::default().with_error_code(error.map_or(0, |e| e.code()))
}
