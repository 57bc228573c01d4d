//! STUB: being written.

use std::sync::Arc;

use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};

use crate::BrokerState;

pub async fn handle(
    _state: &Arc<BrokerState>,
    _request: DeleteTopicsRequest,
    _version: i16,
) -> DeleteTopicsResponse {
    DeleteTopicsResponse::default()
}
