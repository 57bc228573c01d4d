//! STUB: being written.

use std::sync::Arc;

use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};

use crate::BrokerState;

pub async fn handle(
    _state: &Arc<BrokerState>,
    _request: IncrementalAlterConfigsRequest,
    _version: i16,
) -> IncrementalAlterConfigsResponse {
    IncrementalAlterConfigsResponse::default()
}
