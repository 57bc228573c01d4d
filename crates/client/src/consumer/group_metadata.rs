//! What a transactional producer needs to know about a consumer's group membership.

/// A consumer's group, generation and member id (Kafka's `ConsumerGroupMetadata`), passed to
/// [`crate::Producer::send_offsets_to_transaction`]: the group coordinator refuses offsets from
/// a member that is no longer in the generation, so a zombie cannot commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupMetadata {
    pub group_id: String,
    /// `-1` when not known (offsets are then accepted from any member, as in Kafka).
    pub generation_id: i32,
    /// Empty when not known.
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

impl ConsumerGroupMetadata {
    /// Metadata naming only the group (no generation or member checks).
    pub fn new(group_id: impl Into<String>) -> Self {
        ConsumerGroupMetadata {
            group_id: group_id.into(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
        }
    }
}
