//! DeleteGroups: empty groups only (`NON_EMPTY_GROUP` otherwise); their offsets and metadata
//! are tombstoned in `__consumer_offsets`.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use crate::groups;
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: DeleteGroupsRequest,
    _version: i16,
) -> DeleteGroupsResponse {
    let ids: Vec<String> = request.groups_names.iter().map(|g| g.to_string()).collect();
    let errors = match groups::coordinator(state).await {
        Ok(c) => {
            let query = ids.clone();
            c.call(move |core, _now| {
                let (errors, records) = core.delete_groups(&query);
                (
                    errors,
                    weir_coordinator::Effects {
                        records,
                        ..Default::default()
                    },
                )
            })
            .await
            .unwrap_or_else(|| {
                vec![Some(weir_protocol::ResponseError::CoordinatorNotAvailable); ids.len()]
            })
        }
        Err(e) => vec![Some(e); ids.len()],
    };
    let results = request
        .groups_names
        .into_iter()
        .zip(errors)
        .map(|(g, e)| {
            DeletableGroupResult::default()
                .with_group_id(g)
                .with_error_code(e.map_or(0, |e| e.code()))
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}
