//! One handler per Kafka API. Each takes the decoded request and answers with a typed response
//! from `kafka-protocol` (or, for Fetch, a ready frame with file ranges to splice).

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use weir_protocol::request::DecodedRequest;

use crate::zero_copy::Chunk;
use crate::BrokerState;

pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod alter_configs;
pub mod api_versions;
pub mod consumer_group_describe;
pub mod consumer_group_heartbeat;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod describe_log_dirs;
pub mod describe_transactions;
pub mod end_txn;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod list_transactions;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod produce;
pub mod sync_group;
pub mod txn_offset_commit;

/// What a handler sends back.
pub enum Reply {
    /// A response message, framed by the connection.
    Message(ApiKey, i16, Box<ResponseKind>),
    /// A complete frame (size prefix included), possibly with file ranges.
    Frame(Vec<Chunk>),
    /// No response (Produce with acks=0).
    None,
    /// Close the connection without answering.
    Close,
}

/// Routes a request to its handler. `client_host` is the peer's address as Kafka prints it
/// (`/127.0.0.1`), for the group members' descriptions.
pub async fn handle(state: &Arc<BrokerState>, request: DecodedRequest, client_host: &str) -> Reply {
    let DecodedRequest {
        api_key,
        api_version,
        header,
        body,
    } = request;
    let v = api_version;
    let msg = |body| Reply::Message(api_key, v, Box::new(body));
    let client_id = || {
        header
            .client_id
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_default()
    };
    match body {
        RequestKind::ApiVersions(req) => msg(ResponseKind::ApiVersions(api_versions::handle(req))),
        RequestKind::Metadata(req) => msg(ResponseKind::Metadata(
            metadata::handle(state, req, v).await,
        )),
        RequestKind::Produce(req) => match produce::handle(state, req, v).await {
            Some(resp) => msg(ResponseKind::Produce(resp)),
            None => Reply::None,
        },
        RequestKind::Fetch(req) => fetch::handle(state, req, v, header.correlation_id).await,
        RequestKind::ListOffsets(req) => msg(ResponseKind::ListOffsets(
            list_offsets::handle(state, req, v).await,
        )),
        RequestKind::CreateTopics(req) => msg(ResponseKind::CreateTopics(
            create_topics::handle(state, req, v).await,
        )),
        RequestKind::DeleteTopics(req) => msg(ResponseKind::DeleteTopics(
            delete_topics::handle(state, req, v).await,
        )),
        RequestKind::CreatePartitions(req) => msg(ResponseKind::CreatePartitions(
            create_partitions::handle(state, req, v).await,
        )),
        RequestKind::DescribeConfigs(req) => msg(ResponseKind::DescribeConfigs(
            describe_configs::handle(state, req, v).await,
        )),
        RequestKind::AlterConfigs(req) => msg(ResponseKind::AlterConfigs(
            alter_configs::handle(state, req, v).await,
        )),
        RequestKind::IncrementalAlterConfigs(req) => msg(ResponseKind::IncrementalAlterConfigs(
            incremental_alter_configs::handle(state, req, v).await,
        )),
        RequestKind::DescribeCluster(req) => msg(ResponseKind::DescribeCluster(
            describe_cluster::handle(state, req, v),
        )),
        RequestKind::InitProducerId(req) => msg(ResponseKind::InitProducerId(
            init_producer_id::handle(state, req, v).await,
        )),
        RequestKind::DeleteRecords(req) => msg(ResponseKind::DeleteRecords(
            delete_records::handle(state, req, v).await,
        )),
        RequestKind::DescribeLogDirs(req) => msg(ResponseKind::DescribeLogDirs(
            describe_log_dirs::handle(state, req, v).await,
        )),
        RequestKind::FindCoordinator(req) => msg(ResponseKind::FindCoordinator(
            find_coordinator::handle(state, req, v).await,
        )),
        RequestKind::JoinGroup(req) => msg(ResponseKind::JoinGroup(
            join_group::handle(state, req, v, client_id(), client_host.to_string()).await,
        )),
        RequestKind::SyncGroup(req) => msg(ResponseKind::SyncGroup(
            sync_group::handle(state, req, v).await,
        )),
        RequestKind::Heartbeat(req) => msg(ResponseKind::Heartbeat(
            heartbeat::handle(state, req, v).await,
        )),
        RequestKind::LeaveGroup(req) => msg(ResponseKind::LeaveGroup(
            leave_group::handle(state, req, v).await,
        )),
        RequestKind::OffsetCommit(req) => msg(ResponseKind::OffsetCommit(
            offset_commit::handle(state, req, v).await,
        )),
        RequestKind::OffsetFetch(req) => msg(ResponseKind::OffsetFetch(
            offset_fetch::handle(state, req, v).await,
        )),
        RequestKind::ListGroups(req) => msg(ResponseKind::ListGroups(
            list_groups::handle(state, req, v).await,
        )),
        RequestKind::DescribeGroups(req) => msg(ResponseKind::DescribeGroups(
            describe_groups::handle(state, req, v).await,
        )),
        RequestKind::DeleteGroups(req) => msg(ResponseKind::DeleteGroups(
            delete_groups::handle(state, req, v).await,
        )),
        RequestKind::OffsetDelete(req) => msg(ResponseKind::OffsetDelete(
            offset_delete::handle(state, req, v).await,
        )),
        RequestKind::AddPartitionsToTxn(req) => msg(ResponseKind::AddPartitionsToTxn(
            add_partitions_to_txn::handle(state, req, v).await,
        )),
        RequestKind::AddOffsetsToTxn(req) => msg(ResponseKind::AddOffsetsToTxn(
            add_offsets_to_txn::handle(state, req, v).await,
        )),
        RequestKind::EndTxn(req) => msg(ResponseKind::EndTxn(end_txn::handle(state, req, v).await)),
        RequestKind::TxnOffsetCommit(req) => msg(ResponseKind::TxnOffsetCommit(
            txn_offset_commit::handle(state, req, v).await,
        )),
        RequestKind::DescribeTransactions(req) => msg(ResponseKind::DescribeTransactions(
            describe_transactions::handle(state, req, v).await,
        )),
        RequestKind::ListTransactions(req) => msg(ResponseKind::ListTransactions(
            list_transactions::handle(state, req, v).await,
        )),
        RequestKind::ConsumerGroupHeartbeat(req) => msg(ResponseKind::ConsumerGroupHeartbeat(
            consumer_group_heartbeat::handle(state, req, v, client_id(), client_host.to_string())
                .await,
        )),
        RequestKind::ConsumerGroupDescribe(req) => msg(ResponseKind::ConsumerGroupDescribe(
            consumer_group_describe::handle(state, req, v).await,
        )),
        other => {
            // decode_request only lets through keys listed in weir_protocol::api, and each of
            // those has an arm above; reaching here is a bug in that table.
            tracing::error!(?api_key, "no handler for advertised API: {other:?}");
            Reply::Close
        }
    }
}
