//! LeaveGroup: one member (v0-v2) or a batch of members by id or `group.instance.id` (v3+).

use std::sync::Arc;

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};
use weir_protocol::ResponseError;

use crate::groups;
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: LeaveGroupRequest,
    version: i16,
) -> LeaveGroupResponse {
    let leaving: Vec<(String, Option<String>)> = if version >= 3 {
        request
            .members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.as_ref().map(|i| i.to_string()),
                )
            })
            .collect()
    } else {
        vec![(request.member_id.to_string(), None)]
    };
    let coordinator = match groups::coordinator(state).await {
        Ok(c) => c,
        Err(e) => return LeaveGroupResponse::default().with_error_code(e.code()),
    };
    let group_id = request.group_id.to_string();
    let query = leaving.clone();
    let result = coordinator
        .call(move |core, now| {
            let (top, errors, fx) = core.leave_group(&group_id, &query, now);
            ((top, errors), fx)
        })
        .await;
    let Some((top, errors)) = result else {
        return LeaveGroupResponse::default()
            .with_error_code(ResponseError::CoordinatorNotAvailable.code());
    };
    if let Some(e) = top {
        return LeaveGroupResponse::default().with_error_code(e.code());
    }
    let code = |e: &Option<ResponseError>| e.map_or(0, |e| e.code());
    if version < 3 {
        return LeaveGroupResponse::default().with_error_code(errors.first().map_or(0, code));
    }
    let members = leaving
        .into_iter()
        .zip(errors.iter())
        .map(|((member_id, instance), e)| {
            MemberResponse::default()
                .with_member_id(member_id.into())
                .with_group_instance_id(instance.map(Into::into))
                .with_error_code(code(e))
        })
        .collect();
    LeaveGroupResponse::default().with_members(members)
}
