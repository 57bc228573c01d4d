//! DescribeCluster: cluster id, controller and brokers (what `kafka-cluster` and
//! `Admin.describeCluster` show).

use std::sync::Arc;

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

use crate::BrokerState;

pub fn handle(
    state: &Arc<BrokerState>,
    _request: DescribeClusterRequest,
    _version: i16,
) -> DescribeClusterResponse {
    let image = state.image();
    let brokers = image
        .brokers()
        .values()
        .map(|b| {
            DescribeClusterBroker::default()
                .with_broker_id(BrokerId(b.broker_id))
                .with_host(StrBytes::from_string(b.host.clone()))
                .with_port(i32::from(b.port))
                .with_rack(b.rack.clone().map(StrBytes::from_string))
        })
        .collect();
    DescribeClusterResponse::default()
        .with_cluster_id(StrBytes::from_string(state.cluster_id.clone()))
        .with_controller_id(BrokerId(state.node_id))
        .with_endpoint_type(1)
        .with_brokers(brokers)
}
