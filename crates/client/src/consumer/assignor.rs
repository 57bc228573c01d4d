//! Client-side partition assignors, exactly as Kafka's Java client defines them: the group
//! leader runs one over every member's subscription. `range` and `roundrobin` are here;
//! `sticky` and `cooperative-sticky` in [`super::sticky_assignor`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::TopicPartition;

/// One member's subscription as the leader sees it in JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSubscription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub topics: Vec<String>,
    /// The partitions the member owned in its last generation (sticky assignors only): from
    /// `owned_partitions` of the subscription (`cooperative-sticky`) or the `sticky`
    /// assignor's user data.
    pub owned_partitions: Vec<TopicPartition>,
    /// The generation those partitions were owned in; -1 when unknown.
    pub generation: i32,
}

/// Kafka's `MemberInfo` order: members with a `group.instance.id` first, by that id; then the
/// others by member id.
fn member_order(a: &MemberSubscription, b: &MemberSubscription) -> std::cmp::Ordering {
    match (&a.group_instance_id, &b.group_instance_id) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.member_id.cmp(&b.member_id),
    }
}

/// Assignment per member id. Every member appears, possibly with no partitions.
pub type Assignment = BTreeMap<String, Vec<TopicPartition>>;

/// Assignor names this client implements, as Kafka spells them.
pub const ASSIGNORS: [&str; 4] = ["range", "roundrobin", "sticky", "cooperative-sticky"];

/// Runs the assignor called `name` (one of [`ASSIGNORS`]). `members` are in JoinGroup order
/// (the sticky assignors depend on it, as Java's do).
pub fn assign(
    name: &str,
    members: &[MemberSubscription],
    partitions_per_topic: &HashMap<String, i32>,
) -> Option<Assignment> {
    use super::sticky_assignor::sticky;
    match name {
        "range" => Some(range(members, partitions_per_topic)),
        "roundrobin" => Some(round_robin(members, partitions_per_topic)),
        "sticky" => Some(sticky(members, partitions_per_topic, false)),
        "cooperative-sticky" => Some(sticky(members, partitions_per_topic, true)),
        _ => None,
    }
}

/// `RangeAssignor`: per topic, the members subscribed to it in `MemberInfo` order each get a
/// contiguous range; the first `partitions % members` get one extra.
pub fn range(
    members: &[MemberSubscription],
    partitions_per_topic: &HashMap<String, i32>,
) -> Assignment {
    let mut out: Assignment = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    let mut by_topic: BTreeMap<&str, Vec<&MemberSubscription>> = BTreeMap::new();
    for m in members {
        for t in &m.topics {
            by_topic.entry(t.as_str()).or_default().push(m);
        }
    }
    for (topic, mut subscribers) in by_topic {
        let Some(&n) = partitions_per_topic.get(topic) else {
            continue;
        };
        subscribers.sort_by(|a, b| member_order(a, b));
        subscribers.dedup_by(|a, b| a.member_id == b.member_id);
        let c = subscribers.len() as i32;
        let per = n / c;
        let extra = n % c;
        for (i, m) in subscribers.iter().enumerate() {
            let i = i as i32;
            let start = per * i + i.min(extra);
            let len = per + i32::from(i < extra);
            let list = out.entry(m.member_id.clone()).or_default();
            list.extend((start..start + len).map(|p| TopicPartition::new(topic, p)));
        }
    }
    out
}

/// `RoundRobinAssignor`: all partitions of all subscribed topics (topics sorted, partitions in
/// order) dealt to members in `MemberInfo` order, skipping members not subscribed to the topic.
pub fn round_robin(
    members: &[MemberSubscription],
    partitions_per_topic: &HashMap<String, i32>,
) -> Assignment {
    let mut out: Assignment = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    let mut sorted: Vec<&MemberSubscription> = members.iter().collect();
    sorted.sort_by(|a, b| member_order(a, b));
    if sorted.is_empty() {
        return out;
    }
    let topics: BTreeSet<&str> = members
        .iter()
        .flat_map(|m| m.topics.iter().map(String::as_str))
        .collect();
    let mut next = 0usize;
    for topic in topics {
        let Some(&n) = partitions_per_topic.get(topic) else {
            continue;
        };
        for p in 0..n {
            while !sorted[next % sorted.len()]
                .topics
                .iter()
                .any(|t| t == topic)
            {
                next += 1;
            }
            let m = sorted[next % sorted.len()];
            next += 1;
            out.entry(m.member_id.clone())
                .or_default()
                .push(TopicPartition::new(topic, p));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, topics: &[&str]) -> MemberSubscription {
        MemberSubscription {
            member_id: id.into(),
            group_instance_id: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            owned_partitions: Vec::new(),
            generation: -1,
        }
    }

    fn names(a: &Assignment, id: &str) -> Vec<String> {
        a[id].iter().map(|tp| tp.to_string()).collect()
    }

    // The examples of Kafka's RangeAssignor and RoundRobinAssignor javadoc: C0, C1 subscribed
    // to t0 and t1, each with 3 partitions.
    #[test]
    fn range_matches_the_kafka_javadoc() {
        let parts = HashMap::from([("t0".to_string(), 3), ("t1".to_string(), 3)]);
        let a = range(&[m("C1", &["t0", "t1"]), m("C0", &["t0", "t1"])], &parts);
        assert_eq!(names(&a, "C0"), ["t0-0", "t0-1", "t1-0", "t1-1"]);
        assert_eq!(names(&a, "C1"), ["t0-2", "t1-2"]);
    }

    #[test]
    fn round_robin_matches_the_kafka_javadoc() {
        let parts = HashMap::from([("t0".to_string(), 3), ("t1".to_string(), 3)]);
        let a = round_robin(&[m("C0", &["t0", "t1"]), m("C1", &["t0", "t1"])], &parts);
        assert_eq!(names(&a, "C0"), ["t0-0", "t0-2", "t1-1"]);
        assert_eq!(names(&a, "C1"), ["t0-1", "t1-0", "t1-2"]);
        // Unequal subscriptions: C0 t0; C1 t0, t1; C2 t0, t1, t2 (t0 1, t1 2, t2 3 partitions).
        let parts = HashMap::from([
            ("t0".to_string(), 1),
            ("t1".to_string(), 2),
            ("t2".to_string(), 3),
        ]);
        let a = round_robin(
            &[
                m("C0", &["t0"]),
                m("C1", &["t0", "t1"]),
                m("C2", &["t0", "t1", "t2"]),
            ],
            &parts,
        );
        assert_eq!(names(&a, "C0"), ["t0-0"]);
        assert_eq!(names(&a, "C1"), ["t1-0"]);
        assert_eq!(names(&a, "C2"), ["t1-1", "t2-0", "t2-1", "t2-2"]);
    }

    #[test]
    fn static_members_sort_first() {
        let parts = HashMap::from([("t".to_string(), 4)]);
        let mut b = m("a-member", &["t"]);
        let mut z = m("z-member", &["t"]);
        z.group_instance_id = Some("i0".into());
        b.group_instance_id = None;
        let a = range(&[b, z], &parts);
        assert_eq!(names(&a, "z-member"), ["t-0", "t-1"]);
        assert_eq!(names(&a, "a-member"), ["t-2", "t-3"]);
    }
}
