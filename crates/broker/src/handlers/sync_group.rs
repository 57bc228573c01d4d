//! SyncGroup: the leader brings the assignment; followers are parked until it does.

use std::sync::Arc;

use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use weir_coordinator::Reply;
use weir_protocol::ResponseError;

use crate::groups;
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: SyncGroupRequest,
    _version: i16,
) -> SyncGroupResponse {
    let error = |e: ResponseError| SyncGroupResponse::default().with_error_code(e.code());
    let coordinator = match groups::coordinator(state).await {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    let reply = coordinator
        .call_parked(move |core, token, now| core.sync_group(&request, token, now))
        .await;
    match reply {
        Some(Reply::Sync(resp)) => resp,
        _ => error(ResponseError::CoordinatorNotAvailable),
    }
}
