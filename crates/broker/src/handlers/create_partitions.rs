//! STUB: being written.

use std::sync::Arc;

use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use crate::BrokerState;

pub async fn handle(
    _state: &Arc<BrokerState>,
    _request: CreatePartitionsRequest,
    _version: i16,
) -> CreatePartitionsResponse {
    CreatePartitionsResponse::default()
}
