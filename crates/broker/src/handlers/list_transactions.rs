//! ListTransactions (for `kafka-transactions.sh list`): every transactional id with its
//! producer id and state, filtered by state names, producer ids and (v1+) by how long the
//! transaction has been running.

use std::sync::Arc;

use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{
    ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

use crate::{codes, txns, BrokerState};

const STATES: [&str; 8] = [
    "Empty",
    "Ongoing",
    "PrepareCommit",
    "PrepareAbort",
    "CompleteCommit",
    "CompleteAbort",
    "Dead",
    "PrepareEpochFence",
];

pub async fn handle(
    state: &Arc<BrokerState>,
    request: ListTransactionsRequest,
    version: i16,
) -> ListTransactionsResponse {
    let c = match txns::coordinator(state).await {
        Ok(c) => c,
        Err(e) => return ListTransactionsResponse::default().with_error_code(e.code()),
    };
    let unknown: Vec<StrBytes> = request
        .state_filters
        .iter()
        .filter(|s| !STATES.contains(&s.as_str()))
        .cloned()
        .collect();
    let now = codes::now_ms();
    let min_duration = if version >= 1 {
        request.duration_filter
    } else {
        -1
    };
    let states = c
        .read(|core| core.list())
        .into_iter()
        .filter(|d| {
            request.state_filters.is_empty()
                || request
                    .state_filters
                    .iter()
                    .any(|s| s.as_str() == d.metadata.state.name())
        })
        .filter(|d| {
            request.producer_id_filters.is_empty()
                || request
                    .producer_id_filters
                    .contains(&ProducerId(d.metadata.producer_id))
        })
        .filter(|d| {
            min_duration < 0
                || (d.metadata.start_ms >= 0
                    && now.saturating_sub(d.metadata.start_ms) >= min_duration)
        })
        .map(|d| {
            TransactionState::default()
                .with_transactional_id(TransactionalId(StrBytes::from_string(d.transactional_id)))
                .with_producer_id(ProducerId(d.metadata.producer_id))
                .with_transaction_state(StrBytes::from_static_str(d.metadata.state.name()))
        })
        .collect();
    ListTransactionsResponse::default()
        .with_unknown_state_filters(unknown)
        .with_transaction_states(states)
}
