//! ListGroups: every group this broker coordinates, filtered by state (v4+) and type (v5+):
//! `classic` groups and `consumer` (KIP-848) groups, whose states are `Empty`, `Assigning`,
//! `Reconciling` and `Stable`.

use std::sync::Arc;

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{ListGroupsRequest, ListGroupsResponse};
use kafka_protocol::protocol::StrBytes;
use weir_coordinator::group_id;

use crate::groups;
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: ListGroupsRequest,
    version: i16,
) -> ListGroupsResponse {
    let coordinator = match groups::coordinator(state).await {
        Ok(c) => c,
        Err(e) => return ListGroupsResponse::default().with_error_code(e.code()),
    };
    let states: Vec<String> = request
        .states_filter
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let types: Vec<String> = request
        .types_filter
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let groups = coordinator
        .read(|core| core.list_groups())
        .into_iter()
        .filter(|g| states.is_empty() || states.contains(&g.state.to_lowercase()))
        .filter(|g| types.is_empty() || types.iter().any(|t| t == g.group_type))
        .map(|g| {
            let listed = ListedGroup::default()
                .with_group_id(group_id(&g.group_id))
                .with_protocol_type(StrBytes::from_string(g.protocol_type));
            let listed = if version >= 4 {
                listed.with_group_state(StrBytes::from_static_str(g.state))
            } else {
                listed
            };
            if version >= 5 {
                listed.with_group_type(StrBytes::from_static_str(g.group_type))
            } else {
                listed
            }
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}
