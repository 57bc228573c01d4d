//! DescribeGroups: state, protocol and members; an unknown group is reported as `Dead` with
//! no error, as Kafka does.

use std::sync::Arc;

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::groups;
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: DescribeGroupsRequest,
    version: i16,
) -> DescribeGroupsResponse {
    let coordinator = groups::coordinator(state).await;
    let groups = request
        .groups
        .into_iter()
        .map(|id| {
            let described = DescribedGroup::default().with_group_id(id.clone());
            let c = match &coordinator {
                Ok(c) => c,
                Err(e) => return described.with_error_code(e.code()),
            };
            let d = c.read(|core| core.describe_group(id.as_str()));
            let members = d
                .members
                .into_iter()
                .map(|m| {
                    DescribedGroupMember::default()
                        .with_member_id(StrBytes::from_string(m.member_id))
                        .with_group_instance_id(if version >= 4 {
                            m.group_instance_id.map(StrBytes::from_string)
                        } else {
                            None
                        })
                        .with_client_id(StrBytes::from_string(m.client_id))
                        .with_client_host(StrBytes::from_string(m.client_host))
                        .with_member_metadata(m.metadata)
                        .with_member_assignment(m.assignment)
                })
                .collect();
            described
                .with_group_state(StrBytes::from_static_str(d.state))
                .with_protocol_type(StrBytes::from_string(d.protocol_type))
                .with_protocol_data(StrBytes::from_string(d.protocol))
                .with_members(members)
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}
