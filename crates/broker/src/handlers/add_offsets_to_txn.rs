//! AddOffsetsToTxn: adds the group's `__consumer_offsets` partition to the transaction, so
//! the offsets a later TxnOffsetCommit sends are committed (or dropped) with it.

use std::sync::Arc;

use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};
use weir_protocol::ResponseError;

use crate::{txns, BrokerState};

pub async fn handle(
    state: &Arc<BrokerState>,
    request: AddOffsetsToTxnRequest,
    version: i16,
) -> AddOffsetsToTxnResponse {
    let result = match txns::coordinator(state).await {
        Err(e) => Err(e),
        Ok(_) if request.group_id.is_empty() => Err(ResponseError::InvalidGroupId),
        Ok(c) => {
            let tid = request.transactional_id.to_string();
            let group = request.group_id.to_string();
            let (pid, epoch) = (request.producer_id.0, request.producer_epoch);
            c.call(move |core, now| core.add_offsets(&tid, pid, epoch, &group, now))
                .await
                .unwrap_or(Err(ResponseError::CoordinatorNotAvailable))
        }
    };
    AddOffsetsToTxnResponse::default().with_error_code(match result {
        Ok(()) => 0,
        Err(e) => txns::for_version(e, version, 2).code(),
    })
}
