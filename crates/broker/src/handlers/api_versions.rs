//! ApiVersions: the API keys and version ranges this broker implements.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
use weir_protocol::api::SUPPORTED_APIS;

pub fn handle(_request: ApiVersionsRequest) -> ApiVersionsResponse {
    supported_versions(ApiVersionsResponse::default())
}

/// Fills `response` with Weir's API table (`weir_protocol::api::SUPPORTED_APIS`).
pub fn supported_versions(response: ApiVersionsResponse) -> ApiVersionsResponse {
    response.with_api_keys(
        SUPPORTED_APIS
            .iter()
            .map(|&(key, min, max)| {
                ApiVersion::default()
                    .with_api_key(key as i16)
                    .with_min_version(min)
                    .with_max_version(max)
            })
            .collect(),
    )
}
