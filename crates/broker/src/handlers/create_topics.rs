//! STUB: being written.

use std::sync::Arc;

use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};

use crate::BrokerState;

pub async fn handle(
    _state: &Arc<BrokerState>,
    _request: CreateTopicsRequest,
    _version: i16,
) -> CreateTopicsResponse {
    CreateTopicsResponse::default()
}
