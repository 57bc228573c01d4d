//! The `range` server-side assignor (Kafka's server `RangeAssignor`): topic by topic, the
//! members subscribed to the topic, in member id order, get consecutive ranges of
//! `partitions / members` partitions, the first `partitions % members` one more. Members with
//! the same subscriptions therefore get the same partition numbers of co-partitioned topics.
//!
//! Like Kafka's, it is sticky: before filling the ranges, each member keeps the partitions it
//! already had, up to its share, so adding a member only moves what the newcomer takes.

use std::collections::{BTreeMap, BTreeSet};

use crate::assignor::{empty_for, give, Assignment, AssignmentSpec, PartitionAssignor};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct RangeAssignor;

impl PartitionAssignor for RangeAssignor {
    fn name(&self) -> &'static str {
        "range"
    }

    fn assign(&self, spec: &AssignmentSpec) -> BTreeMap<String, Assignment> {
        let mut out = empty_for(spec);
        for (&topic, &count) in &spec.topics {
            let members = spec.subscribers(&topic);
            if members.is_empty() || count <= 0 {
                continue;
            }
            let total = usize::try_from(count).unwrap_or(0);
            let base = total / members.len();
            let mut extras = total % members.len();
            let mut taken: BTreeSet<i32> = BTreeSet::new();
            let mut counts: Vec<usize> = vec![0; members.len()];
            // Sticky phase: keep current partitions of this topic up to the member's share.
            for (i, id) in members.iter().enumerate() {
                let current: Vec<i32> = spec
                    .members
                    .get(*id)
                    .and_then(|m| m.current.get(&topic))
                    .map(|ps| ps.iter().copied().filter(|&p| p < count).collect())
                    .unwrap_or_default();
                let limit = if current.len() > base && extras > 0 {
                    extras -= 1;
                    base + 1
                } else {
                    base
                };
                for &p in current.iter().take(limit) {
                    taken.insert(p);
                    give(&mut out, id, topic, p);
                }
                if let Some(c) = counts.get_mut(i) {
                    *c = current.len().min(limit);
                }
            }
            // Range phase: the rest in ascending order, members in id order, each up to its
            // share (`base`, or `base + 1` while extra slots remain).
            let mut free = (0..count).filter(|p| !taken.contains(p));
            for (i, id) in members.iter().enumerate() {
                let Some(c) = counts.get_mut(i) else { continue };
                let want = if *c > base {
                    *c
                } else if extras > 0 {
                    extras -= 1;
                    base + 1
                } else {
                    base
                };
                while *c < want {
                    let Some(p) = free.next() else { break };
                    give(&mut out, id, topic, p);
                    *c += 1;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assignor::AssignmentMember;
    use uuid::Uuid;

    fn member(subscribed: &[Uuid], current: Assignment) -> AssignmentMember {
        AssignmentMember {
            subscribed: subscribed.iter().copied().collect(),
            current,
        }
    }

    #[test]
    fn fresh_group_gets_consecutive_ranges_like_kafka() {
        let t = Uuid::from_u128(7);
        let spec = AssignmentSpec {
            members: [
                ("a".to_string(), member(&[t], Assignment::new())),
                ("b".to_string(), member(&[t], Assignment::new())),
            ]
            .into(),
            topics: [(t, 5)].into(),
        };
        let out = RangeAssignor.assign(&spec);
        assert_eq!(
            out.get("a").and_then(|a| a.get(&t)),
            Some(&[0, 1, 2].into())
        );
        assert_eq!(out.get("b").and_then(|a| a.get(&t)), Some(&[3, 4].into()));
    }

    #[test]
    fn a_new_member_takes_only_the_excess() {
        let t = Uuid::from_u128(7);
        let spec = AssignmentSpec {
            members: [
                // "a" sorts first but is the newcomer: "z" keeps the first half it had.
                ("a".to_string(), member(&[t], Assignment::new())),
                (
                    "z".to_string(),
                    member(&[t], [(t, (0..6).collect())].into()),
                ),
            ]
            .into(),
            topics: [(t, 6)].into(),
        };
        let out = RangeAssignor.assign(&spec);
        assert_eq!(
            out.get("z").and_then(|a| a.get(&t)),
            Some(&[0, 1, 2].into())
        );
        assert_eq!(
            out.get("a").and_then(|a| a.get(&t)),
            Some(&[3, 4, 5].into())
        );
    }
}
