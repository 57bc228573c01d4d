//! The `uniform` server-side assignor (Kafka's default `UniformAssignor`): spreads every
//! subscribed partition evenly over the members that subscribe to its topic, and keeps each
//! member's current partitions where that does not break the balance, so a rebalance moves as
//! few partitions as possible.
//!
//! With identical subscriptions (the common case) the result is exact: every member gets
//! `partitions / members` or one more, and a member keeps up to that many of the partitions it
//! had. With different subscriptions the balance is greedy (each unassigned partition goes to
//! the eligible member holding the fewest), which is even in practice but not the optimum
//! Kafka's general assignor searches for.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use crate::assignor::{
    all_partitions, empty_for, give, partition_count, Assignment, AssignmentSpec, PartitionAssignor,
};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct UniformAssignor;

impl PartitionAssignor for UniformAssignor {
    fn name(&self) -> &'static str {
        "uniform"
    }

    fn assign(&self, spec: &AssignmentSpec) -> BTreeMap<String, Assignment> {
        let mut out = empty_for(spec);
        if spec.members.is_empty() {
            return out;
        }
        let partitions = all_partitions(spec);
        let homogeneous = {
            let mut subs = spec.members.values().map(|m| &m.subscribed);
            let first = subs.next();
            subs.all(|s| Some(s) == first)
        };
        let members = spec.members.len();
        let (base, mut extras) = (partitions.len() / members, partitions.len() % members);

        // Sticky phase: members with the most current partitions keep theirs first, so the
        // extra slots (the `+1`s) go to members that already have the partitions.
        let mut order: Vec<&String> = spec.members.keys().collect();
        order.sort_by_key(|id| {
            let current = spec
                .members
                .get(*id)
                .map_or(0, |m| partition_count(&m.current));
            (std::cmp::Reverse(current), (*id).clone())
        });
        let mut taken: BTreeSet<(Uuid, i32)> = BTreeSet::new();
        let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
        for id in order {
            let Some(m) = spec.members.get(id) else {
                continue;
            };
            let valid: Vec<(Uuid, i32)> = m
                .current
                .iter()
                .filter(|(t, _)| m.subscribed.contains(t))
                .flat_map(|(&t, ps)| ps.iter().map(move |&p| (t, p)))
                .filter(|(t, p)| spec.topics.get(t).is_some_and(|&n| *p < n))
                .filter(|tp| !taken.contains(tp))
                .collect();
            let limit = if homogeneous {
                if valid.len() > base && extras > 0 {
                    extras -= 1;
                    base + 1
                } else {
                    base
                }
            } else {
                fair_share(spec, id)
            };
            for &(t, p) in valid.iter().take(limit) {
                taken.insert((t, p));
                give(&mut out, id, t, p);
            }
            counts.insert(id, valid.len().min(limit));
        }

        // Everything else goes to the eligible member holding the fewest partitions.
        for (t, p) in partitions {
            if taken.contains(&(t, p)) {
                continue;
            }
            let best = spec
                .subscribers(&t)
                .into_iter()
                .min_by_key(|id| (counts.get(id).copied().unwrap_or(0), (*id).clone()));
            if let Some(id) = best {
                give(&mut out, id, t, p);
                *counts.entry(id).or_default() += 1;
            }
        }
        out
    }
}

/// With different subscriptions: the partitions of `member`'s topics divided by the number of
/// members subscribing to any of them, rounded up.
fn fair_share(spec: &AssignmentSpec, member: &str) -> usize {
    let Some(m) = spec.members.get(member) else {
        return 0;
    };
    let eligible: usize = m
        .subscribed
        .iter()
        .filter_map(|t| spec.topics.get(t))
        .map(|&n| usize::try_from(n).unwrap_or(0))
        .sum();
    let sharers = spec
        .members
        .values()
        .filter(|o| o.subscribed.iter().any(|t| m.subscribed.contains(t)))
        .count()
        .max(1);
    eligible.div_ceil(sharers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assignor::AssignmentMember;

    fn spec(members: &[(&str, Assignment)], topic: Uuid, partitions: i32) -> AssignmentSpec {
        AssignmentSpec {
            members: members
                .iter()
                .map(|(id, current)| {
                    (
                        id.to_string(),
                        AssignmentMember {
                            subscribed: [topic].into(),
                            current: current.clone(),
                        },
                    )
                })
                .collect(),
            topics: [(topic, partitions)].into(),
        }
    }

    #[test]
    fn second_member_takes_half_and_first_keeps_the_rest() {
        let t = Uuid::from_u128(1);
        let all: Assignment = [(t, (0..6).collect())].into();
        let out = UniformAssignor.assign(&spec(&[("b", all), ("a", Assignment::new())], t, 6));
        let b = out
            .get("b")
            .and_then(|a| a.get(&t))
            .cloned()
            .unwrap_or_default();
        let a = out
            .get("a")
            .and_then(|a| a.get(&t))
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            b,
            [0, 1, 2].into(),
            "the old member keeps 3 of its partitions"
        );
        assert_eq!(a, [3, 4, 5].into());
    }

    #[test]
    fn odd_counts_are_balanced_within_one() {
        let t = Uuid::from_u128(1);
        let out = UniformAssignor.assign(&spec(
            &[
                ("a", Assignment::new()),
                ("b", Assignment::new()),
                ("c", Assignment::new()),
            ],
            t,
            7,
        ));
        let mut sizes: Vec<usize> = out.values().map(partition_count).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, vec![2, 2, 3]);
        let union: BTreeSet<i32> = out
            .values()
            .flat_map(|a| a.get(&t).cloned().unwrap_or_default())
            .collect();
        assert_eq!(union, (0..7).collect());
    }

    #[test]
    fn partitions_of_a_topic_go_only_to_its_subscribers() {
        let (t1, t2) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let spec = AssignmentSpec {
            members: [
                (
                    "a".to_string(),
                    AssignmentMember {
                        subscribed: [t1].into(),
                        current: Assignment::new(),
                    },
                ),
                (
                    "b".to_string(),
                    AssignmentMember {
                        subscribed: [t1, t2].into(),
                        current: Assignment::new(),
                    },
                ),
            ]
            .into(),
            topics: [(t1, 2), (t2, 2)].into(),
        };
        let out = UniformAssignor.assign(&spec);
        assert!(out.get("a").is_some_and(|a| !a.contains_key(&t2)));
        assert_eq!(out.get("b").and_then(|a| a.get(&t2)), Some(&[0, 1].into()));
        assert_eq!(out.values().map(partition_count).sum::<usize>(), 4);
    }
}
