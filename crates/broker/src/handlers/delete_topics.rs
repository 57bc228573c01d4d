//! DeleteTopics (v1-v6): removes topics by name (`topic_names`, v1-v5) or by name or id
//! (`topics`, v6), one metadata commit per topic; committing removes the topic's partition
//! directories (see `BrokerState::commit`).
//!
//! As Kafka's KRaft controller: `delete.topic.enable=false` fails every topic with
//! `TOPIC_DELETION_DISABLED` (`INVALID_REQUEST` before v3); an unknown name is
//! `UNKNOWN_TOPIC_OR_PARTITION`, an unknown id `UNKNOWN_TOPIC_ID`; an entry with neither or
//! both of name and id, a name or id given twice, or a name that maps to an id also given is
//! `INVALID_REQUEST`.
//!
//! Deliberate difference from Kafka: internal topics (names starting with `__`) are refused
//! with `INVALID_REQUEST`. Kafka lets a client delete `__consumer_offsets` and friends, which
//! only ever destroys state the broker needs.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;
use weir_metadata::topics::{delete_topic_by_id_records, delete_topic_records};
use weir_protocol::ResponseError;

use crate::topic_admin::{self, AdminError};
use crate::BrokerState;

/// One topic of the request, once checked for shape.
#[derive(Debug, Clone)]
enum Target {
    Name(String),
    Id(Uuid),
}

/// One line of the response: name (if known), id (nil if not known), outcome.
type Line = (Option<String>, Uuid, Result<(), AdminError>);

pub async fn handle(
    state: &Arc<BrokerState>,
    request: DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    let mut lines: Vec<Line> = Vec::new();
    let mut targets: Vec<Target> = Vec::new();

    // Collect names and ids, as Kafka does: duplicates are answered once with an error.
    let mut names: Vec<String> = request
        .topic_names
        .iter()
        .map(|n| n.0.to_string())
        .collect();
    let mut ids: Vec<Uuid> = Vec::new();
    for topic in &request.topics {
        match (&topic.name, topic.topic_id.is_nil()) {
            (None, true) => lines.push((
                None,
                Uuid::nil(),
                Err(invalid("Neither topic name nor id were specified.")),
            )),
            (None, false) => ids.push(topic.topic_id),
            (Some(name), true) => names.push(name.0.to_string()),
            (Some(name), false) => lines.push((
                Some(name.0.to_string()),
                topic.topic_id,
                Err(invalid("You may not specify both topic name and topic id.")),
            )),
        }
    }

    if !state.config.delete_topic_enable() {
        let error = if version < 3 {
            AdminError::new(ResponseError::InvalidRequest, "Topic deletion is disabled.")
        } else {
            AdminError::new(
                ResponseError::TopicDeletionDisabled,
                "Topic deletion is disabled.",
            )
        };
        lines.extend(
            names
                .into_iter()
                .map(|n| (Some(n), Uuid::nil(), Err(error.clone()))),
        );
        lines.extend(ids.into_iter().map(|id| (None, id, Err(error.clone()))));
        return response(lines);
    }

    let duplicate_names = duplicates(&names);
    for name in &duplicate_names {
        lines.push((
            Some(name.clone()),
            Uuid::nil(),
            Err(invalid("Duplicate topic name.")),
        ));
    }
    let duplicate_ids = duplicates(&ids);
    for id in &duplicate_ids {
        lines.push((None, *id, Err(invalid("Duplicate topic id."))));
    }
    names.retain(|n| !duplicate_names.contains(n));
    ids.retain(|id| !duplicate_ids.contains(id));

    // A name that maps to an id also given names the same topic twice.
    let image = state.image();
    let by_id: HashSet<&str> = ids
        .iter()
        .filter_map(|id| image.topic_by_id(id))
        .map(|t| t.name.as_str())
        .collect();
    for name in names {
        if by_id.contains(name.as_str()) {
            let id = image.topic(&name).map_or(Uuid::nil(), |t| t.topic_id);
            lines.push((
                Some(name),
                id,
                Err(invalid(
                    "The provided topic name maps to an ID that was already supplied.",
                )),
            ));
        } else {
            targets.push(Target::Name(name));
        }
    }
    targets.extend(ids.into_iter().map(Target::Id));

    let state2 = state.clone();
    let deleted = topic_admin::blocking(move || {
        Ok(targets
            .into_iter()
            .map(|target| delete_one(&state2, target))
            .collect::<Vec<Line>>())
    })
    .await;
    match deleted {
        Ok(deleted) => lines.extend(deleted),
        Err(e) => lines.push((None, Uuid::nil(), Err(AdminError::internal(&e)))),
    }
    response(lines)
}

/// Deletes one topic with its own commit. Blocking.
fn delete_one(state: &BrokerState, target: Target) -> Line {
    let image = state.image();
    let (name, id) = match &target {
        Target::Name(name) => (
            Some(name.clone()),
            image.topic(name).map_or(Uuid::nil(), |t| t.topic_id),
        ),
        Target::Id(id) => (image.topic_by_id(id).map(|t| t.name.clone()), *id),
    };
    if let Some(n) = name.as_deref().filter(|n| topic_admin::is_internal(n)) {
        let error = invalid(&format!("Internal topic '{n}' cannot be deleted."));
        return (name, id, Err(error));
    }
    let result = state.commit(|image| match &target {
        Target::Name(name) => delete_topic_records(image, name),
        Target::Id(id) => delete_topic_by_id_records(image, *id),
    });
    let outcome = match result {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(AdminError::from(e)),
        Err(e) => Err(AdminError::internal(&e)),
    };
    (name, id, outcome)
}

fn invalid(message: &str) -> AdminError {
    AdminError::new(ResponseError::InvalidRequest, message)
}

/// Items that appear more than once, each once, in first-seen order.
fn duplicates<T: Clone + Eq + std::hash::Hash>(items: &[T]) -> Vec<T> {
    let mut counts: HashMap<&T, usize> = HashMap::new();
    for item in items {
        *counts.entry(item).or_default() += 1;
    }
    let mut seen = HashSet::new();
    items
        .iter()
        .filter(|i| counts.get(i).copied().unwrap_or(0) > 1 && seen.insert(*i))
        .cloned()
        .collect()
}

fn response(lines: Vec<Line>) -> DeleteTopicsResponse {
    DeleteTopicsResponse::default().with_responses(
        lines
            .into_iter()
            .map(|(name, id, outcome)| {
                let result = DeletableTopicResult::default()
                    .with_name(name.map(|n| TopicName(StrBytes::from_string(n))))
                    .with_topic_id(id);
                match outcome {
                    Ok(()) => result,
                    Err(e) => result
                        .with_error_code(e.code.code())
                        .with_error_message(e.message.map(StrBytes::from_string)),
                }
            })
            .collect(),
    )
}
