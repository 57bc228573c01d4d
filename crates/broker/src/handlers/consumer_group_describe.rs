//! ConsumerGroupDescribe (KIP-848): a consumer-protocol group's epochs, assignor and members
//! with their current and target assignments. A classic or unknown group answers
//! `GROUP_ID_NOT_FOUND`, as Kafka does.

use std::sync::Arc;

use kafka_protocol::messages::consumer_group_describe_response::DescribedGroup;
use kafka_protocol::messages::{ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse};

use crate::groups;
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: ConsumerGroupDescribeRequest,
    _version: i16,
) -> ConsumerGroupDescribeResponse {
    let coordinator = groups::coordinator(state).await;
    let groups = request
        .group_ids
        .into_iter()
        .map(|id| match &coordinator {
            Ok(c) => c.read(|core| core.consumer_group_describe(id.as_str())),
            Err(e) => DescribedGroup::default()
                .with_group_id(id)
                .with_error_code(e.code()),
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}
