//! JoinGroup: parked until the rebalance completes (every known member rejoined, or the
//! rebalance timeout passed). The connection waits with it, as in Kafka; clients talk to the
//! coordinator on a connection of its own.

use std::sync::Arc;

use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;
use weir_coordinator::Reply;
use weir_protocol::ResponseError;

use crate::groups;
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: JoinGroupRequest,
    version: i16,
    client_id: String,
    client_host: String,
) -> JoinGroupResponse {
    let member_id = request.member_id.clone();
    let error = |e: ResponseError| {
        fit(
            JoinGroupResponse::default()
                .with_error_code(e.code())
                .with_generation_id(-1)
                .with_member_id(member_id.clone()),
            version,
        )
    };
    let coordinator = match groups::coordinator(state).await {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    let reply = coordinator
        .call_parked(move |core, token, now| {
            core.join_group(&request, version, &client_id, &client_host, token, now)
        })
        .await;
    match reply {
        Some(Reply::Join(resp)) => fit(resp, version),
        _ => error(ResponseError::CoordinatorNotAvailable),
    }
}

/// Drops what `version` cannot carry: protocol names are non-nullable before v7, instance
/// ids appear in v5, skipping the assignment in v9.
fn fit(mut resp: JoinGroupResponse, version: i16) -> JoinGroupResponse {
    if version < 7 && resp.protocol_name.is_none() {
        resp.protocol_name = Some(StrBytes::default());
    }
    if version < 9 {
        resp.skip_assignment = false;
    }
    if version < 5 {
        for m in &mut resp.members {
            m.group_instance_id = None;
        }
    }
    resp
}
