//! EndTxn: commits or aborts the producer's transaction. The coordinator records
//! `PrepareCommit`/`PrepareAbort`, stores the transaction's offsets (on commit), writes the
//! COMMIT/ABORT markers to every partition of the transaction and records the completion
//! before answering.

use std::sync::Arc;

use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse};
use weir_protocol::ResponseError;

use crate::{txns, BrokerState};

pub async fn handle(
    state: &Arc<BrokerState>,
    request: EndTxnRequest,
    version: i16,
) -> EndTxnResponse {
    let result = match txns::coordinator(state).await {
        Err(e) => Err(e),
        Ok(c) => {
            let tid = request.transactional_id.to_string();
            let (pid, epoch, commit) = (
                request.producer_id.0,
                request.producer_epoch,
                request.committed,
            );
            c.call(move |core, now| core.end_txn(&tid, pid, epoch, commit, now))
                .await
                .unwrap_or(Err(ResponseError::CoordinatorNotAvailable))
        }
    };
    EndTxnResponse::default().with_error_code(match result {
        Ok(()) => 0,
        Err(e) => txns::for_version(e, version, 2).code(),
    })
}
