//! Assignments computed by the Java client (kafka-clients 3.9.1, `compat/.deps/jars`) for the
//! `range`, `roundrobin`, `sticky` and `cooperative-sticky` assignors.
//!
//! How they were made: a throwaway Java program (not kept) built random groups from a fixed
//! seed: 1-3 topics of 1-8 partitions, 1-14 members with ids like `consumer-3-a1b2c3` put in a
//! `HashMap<String, Subscription>` in the order listed (as `ConsumerCoordinator` does), range
//! and roundrobin groups with some unequal subscriptions and static members, sticky groups
//! with equal subscriptions and a random previous assignment (some members new, some a
//! generation behind, a few partitions claimed twice); a second run made sticky and
//! cooperative-sticky groups with unequal subscriptions (Kafka's general algorithm). It called
//! `AbstractPartitionAssignor.assign(Map<String, Integer>, Map<String, Subscription>)` and
//! printed these literals. The subscriptions were built as the Java consumer sends them:
//! `sticky` carries the owned partitions and generation in its user data
//! (`StickyAssignor.serializeTopicPartitionAssignment`) and the generation in the
//! subscription; `cooperative-sticky` carries `ownedPartitions`, the generation in the
//! subscription and its user data (an INT32). Partition lists are sorted. One file per
//! assignor, the sticky ones split by which of Kafka's two algorithms the group exercises.

pub struct Member {
    pub id: &'static str,
    pub instance: Option<&'static str>,
    pub topics: &'static [&'static str],
    pub owned: &'static [&'static str],
    pub generation: i32,
}

pub struct Vector {
    pub assignor: &'static str,
    pub partitions: &'static [(&'static str, i32)],
    pub members: &'static [Member],
    pub expected: &'static [(&'static str, &'static [&'static str])],
}

mod cooperative_sticky_constrained;
mod cooperative_sticky_general;
mod range;
mod roundrobin;
mod sticky_constrained;
mod sticky_general;

/// A member as the vectors list it (id, static instance id, topics, owned partitions,
/// generation); one line each instead of a struct literal of seven.
pub const fn m(
    id: &'static str,
    instance: Option<&'static str>,
    topics: &'static [&'static str],
    owned: &'static [&'static str],
    generation: i32,
) -> Member {
    Member {
        id,
        instance,
        topics,
        owned,
        generation,
    }
}

/// Every vector, in the order of the files above.
pub fn all() -> impl Iterator<Item = &'static Vector> {
    [
        range::VECTORS,
        roundrobin::VECTORS,
        sticky_constrained::VECTORS,
        sticky_general::VECTORS,
        cooperative_sticky_constrained::VECTORS,
        cooperative_sticky_general::VECTORS,
    ]
    .into_iter()
    .flatten()
}
