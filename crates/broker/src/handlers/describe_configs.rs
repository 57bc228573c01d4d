//! STUB: being written.

use std::sync::Arc;

use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};

use crate::BrokerState;

pub async fn handle(
    _state: &Arc<BrokerState>,
    _request: DescribeConfigsRequest,
    _version: i16,
) -> DescribeConfigsResponse {
    DescribeConfigsResponse::default()
}
