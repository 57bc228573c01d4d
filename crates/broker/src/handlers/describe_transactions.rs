//! DescribeTransactions (for `kafka-transactions.sh describe` and admin clients): the state,
//! producer id and epoch, timeout, start time and partitions of each transactional id.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use weir_protocol::ResponseError;

use crate::{txns, BrokerState};

pub async fn handle(
    state: &Arc<BrokerState>,
    request: DescribeTransactionsRequest,
    _version: i16,
) -> DescribeTransactionsResponse {
    let coordinator = txns::coordinator(state).await;
    let states = request
        .transactional_ids
        .into_iter()
        .map(|tid| {
            let base = TransactionState::default().with_transactional_id(tid.clone());
            let c = match &coordinator {
                Ok(c) => c,
                Err(e) => return base.with_error_code(e.code()),
            };
            match c.read(|core| core.describe(tid.as_str())) {
                None => base.with_error_code(ResponseError::TransactionalIdNotFound.code()),
                Some(d) => {
                    let m = d.metadata;
                    let mut topics: BTreeMap<String, Vec<i32>> = BTreeMap::new();
                    for (t, p) in m.partitions {
                        topics.entry(t).or_default().push(p);
                    }
                    base.with_transaction_state(StrBytes::from_static_str(m.state.name()))
                        .with_transaction_timeout_ms(m.timeout_ms)
                        .with_transaction_start_time_ms(m.start_ms)
                        .with_producer_id(ProducerId(m.producer_id))
                        .with_producer_epoch(m.producer_epoch)
                        .with_topics(
                            topics
                                .into_iter()
                                .map(|(t, ps)| {
                                    TopicData::default()
                                        .with_topic(TopicName(StrBytes::from_string(t)))
                                        .with_partitions(ps)
                                })
                                .collect(),
                        )
                }
            }
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}
