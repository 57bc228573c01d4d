//! The assignors give the same assignments as the Java client for the same JoinGroup.

#![allow(clippy::unwrap_used)]

mod assignor_vectors;

use std::collections::HashMap;

use weir_client::consumer::assignor::assign;
use weir_client::{MemberSubscription, TopicPartition};

fn tp(s: &str) -> TopicPartition {
    let (t, p) = s.rsplit_once('-').unwrap();
    TopicPartition::new(t, p.parse().unwrap())
}

#[test]
fn assignments_match_the_java_client() {
    let mut checked: HashMap<&str, usize> = HashMap::new();
    for (i, v) in assignor_vectors::all().enumerate() {
        let members: Vec<MemberSubscription> = v
            .members
            .iter()
            .map(|m| MemberSubscription {
                member_id: m.id.to_string(),
                group_instance_id: m.instance.map(str::to_string),
                topics: m.topics.iter().map(|t| t.to_string()).collect(),
                owned_partitions: m.owned.iter().map(|s| tp(s)).collect(),
                generation: m.generation,
            })
            .collect();
        let partitions: HashMap<String, i32> = v
            .partitions
            .iter()
            .map(|(t, n)| (t.to_string(), *n))
            .collect();
        let got = assign(v.assignor, &members, &partitions).unwrap();
        for (member, expected) in v.expected {
            let mut mine: Vec<String> = got[*member].iter().map(|tp| tp.to_string()).collect();
            mine.sort();
            assert_eq!(
                mine, *expected,
                "vector {i} ({}), member {member}",
                v.assignor
            );
        }
        *checked.entry(v.assignor).or_default() += 1;
    }
    for name in ["range", "roundrobin", "sticky", "cooperative-sticky"] {
        assert!(
            checked.get(name).copied().unwrap_or(0) >= 8,
            "{name}: {checked:?}"
        );
    }
}
