//! AddPartitionsToTxn: adds partitions to a producer's ongoing transaction. v0-v3 carry one
//! transaction; v4 (the batched form brokers use) carries several and answers per
//! transaction. Partitions of unknown topics fail with `UNKNOWN_TOPIC_OR_PARTITION` and the
//! others of the same request with `OPERATION_NOT_ATTEMPTED`, as Kafka does.

use std::sync::Arc;

use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, TransactionalId,
};
use weir_protocol::ResponseError;

use crate::{txns, BrokerState};

pub async fn handle(
    state: &Arc<BrokerState>,
    request: AddPartitionsToTxnRequest,
    version: i16,
) -> AddPartitionsToTxnResponse {
    if version >= 4 {
        let mut results = Vec::with_capacity(request.transactions.len());
        for t in request.transactions {
            let topics = add(
                state,
                &t.transactional_id,
                t.producer_id.0,
                t.producer_epoch,
                &t.topics,
                t.verify_only,
                version,
            )
            .await;
            results.push(
                AddPartitionsToTxnResult::default()
                    .with_transactional_id(t.transactional_id)
                    .with_topic_results(topics),
            );
        }
        return AddPartitionsToTxnResponse::default().with_results_by_transaction(results);
    }
    let topics = add(
        state,
        &request.v3_and_below_transactional_id,
        request.v3_and_below_producer_id.0,
        request.v3_and_below_producer_epoch,
        &request.v3_and_below_topics,
        false,
        version,
    )
    .await;
    AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(topics)
}

async fn add(
    state: &Arc<BrokerState>,
    tid: &TransactionalId,
    producer_id: i64,
    epoch: i16,
    topics: &[AddPartitionsToTxnTopic],
    verify_only: bool,
    version: i16,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let image = state.image();
    let mut wanted = Vec::new();
    let mut unknown = false;
    for t in topics {
        let known = image.topic(t.name.as_str());
        for &p in &t.partitions {
            if !known.is_some_and(|k| k.partitions.contains_key(&p)) {
                unknown = true;
            }
            wanted.push((t.name.to_string(), p));
        }
    }
    let result: Result<(), ResponseError> = if unknown {
        Err(ResponseError::OperationNotAttempted)
    } else {
        match txns::coordinator(state).await {
            Err(e) => Err(e),
            Ok(c) => {
                let tid = tid.to_string();
                let parts = wanted.clone();
                if verify_only {
                    // KIP-890 verification: are the partitions already in the transaction?
                    let all = parts
                        .iter()
                        .all(|(t, p)| c.check_produce(producer_id, epoch, t, *p).is_ok());
                    if all {
                        Ok(())
                    } else {
                        Err(ResponseError::InvalidTxnState)
                    }
                } else {
                    c.call(move |core, now| {
                        core.add_partitions(&tid, producer_id, epoch, &parts, now)
                    })
                    .await
                    .unwrap_or(Err(ResponseError::CoordinatorNotAvailable))
                }
            }
        }
    };
    topics
        .iter()
        .map(|t| {
            let known = image.topic(t.name.as_str());
            let results = t
                .partitions
                .iter()
                .map(|&p| {
                    let code = if !known.is_some_and(|k| k.partitions.contains_key(&p)) {
                        ResponseError::UnknownTopicOrPartition.code()
                    } else {
                        match result {
                            Ok(()) => 0,
                            Err(e) => txns::for_version(e, version, 2).code(),
                        }
                    };
                    AddPartitionsToTxnPartitionResult::default()
                        .with_partition_index(p)
                        .with_partition_error_code(code)
                })
                .collect();
            AddPartitionsToTxnTopicResult::default()
                .with_name(t.name.clone())
                .with_results_by_partition(results)
        })
        .collect()
}
