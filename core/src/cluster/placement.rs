//! Rendezvous (highest-random-weight) hashing: each shard belongs on the live node whose
//! hash with the shard is highest. A node joining takes about 1/N of the shards, each from
//! the node that had it; a node leaving gives only its own shards away.

use std::collections::BTreeMap;

use super::NodeName;
use crate::hashing::{FNV_BASIS, fnv1a, mix64};
use crate::storage::ShardId;

/// The weight of `node` for `shard`: stable across processes and releases.
fn weight(shard: ShardId, node: &NodeName) -> u64 {
    let hash = fnv1a(node.as_str().as_bytes(), FNV_BASIS);
    mix64(hash ^ mix64(u64::from(shard.0).wrapping_add(0x9e37_79b9_7f4a_7c15)))
}

/// The node among `members` that `shard` belongs on; `None` when there are none. Ties
/// (practically impossible) go to the smaller name, so every node agrees.
pub fn rendezvous_owner<'a>(
    shard: ShardId,
    members: impl IntoIterator<Item = &'a NodeName>,
) -> Option<&'a NodeName> {
    members
        .into_iter()
        .max_by(|a, b| weight(shard, a).cmp(&weight(shard, b)).then(b.cmp(a)))
}

/// Where every shard of a store of `shard_count` shards belongs among `members`.
pub fn placement(shard_count: u32, members: &[NodeName]) -> BTreeMap<ShardId, NodeName> {
    (0..shard_count)
        .filter_map(|index| {
            let shard = ShardId(index);
            rendezvous_owner(shard, members).map(|node| (shard, node.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(names: &[&str]) -> Vec<NodeName> {
        names
            .iter()
            .map(|name| NodeName::new(*name).unwrap())
            .collect()
    }

    #[test]
    fn every_shard_has_one_owner_and_the_order_of_members_does_not_matter() {
        let members = nodes(&["a", "b", "c"]);
        let mut reversed = members.clone();
        reversed.reverse();
        let forward = placement(256, &members);
        assert_eq!(forward.len(), 256);
        assert_eq!(forward, placement(256, &reversed));
        assert!(placement(8, &[]).is_empty());
    }

    #[test]
    fn shards_spread_about_evenly() {
        let members = nodes(&["node-1", "node-2", "node-3"]);
        let placed = placement(3_000, &members);
        for member in &members {
            let held = placed.values().filter(|node| *node == member).count();
            assert!(
                (800..=1_200).contains(&held),
                "{member} holds {held} of 3,000"
            );
        }
    }

    #[test]
    fn a_join_moves_about_one_in_n_and_only_to_the_newcomer() {
        let before = placement(4_000, &nodes(&["a", "b", "c"]));
        let after = placement(4_000, &nodes(&["a", "b", "c", "d"]));
        let moved: Vec<_> = before
            .iter()
            .filter(|(shard, node)| after[*shard] != **node)
            .collect();
        assert!(
            moved.iter().all(|(shard, _)| after[*shard].as_str() == "d"),
            "a shard moved between old members"
        );
        assert!(
            (800..=1_200).contains(&moved.len()),
            "{} moved",
            moved.len()
        );
    }

    #[test]
    fn a_leave_moves_only_the_leavers_shards() {
        let before = placement(1_000, &nodes(&["a", "b", "c"]));
        let after = placement(1_000, &nodes(&["a", "c"]));
        for (shard, node) in &before {
            if node.as_str() != "b" {
                assert_eq!(
                    &after[shard], node,
                    "shard {shard:?} moved though its node stayed"
                );
            }
        }
    }
}
