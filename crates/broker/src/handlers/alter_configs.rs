//! STUB: being written.

use std::sync::Arc;

use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};

use crate::BrokerState;

pub async fn handle(
    _state: &Arc<BrokerState>,
    _request: AlterConfigsRequest,
    _version: i16,
) -> AlterConfigsResponse {
    AlterConfigsResponse::default()
}
