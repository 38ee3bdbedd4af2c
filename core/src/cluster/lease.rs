//! Shard leases: how long a node may serve a shard, and what it does on each tick.
//!
//! The store keeps each shard's lease by *its own* clock: an acquire or renewal sets the
//! expiry to the store's now plus [`LeaseConfig::duration`]. The holder measures on its
//! own clock from the moment it *sent* the request that succeeded, which is no later than
//! the moment the store stamped it, and stops serving [`LeaseConfig::margin`] before the
//! duration has passed. So however far the nodes' clocks stand apart, a holder has stopped
//! before any other node can take the shard, as long as clocks *run* at about the same
//! rate (the margin absorbs drift and a stop's own latency). Safety never rests on this:
//! a node that took a shard bumped its range, and the store refuses every write of an
//! older range; the margin only keeps a stale holder from answering reads or handing out
//! tasks it can no longer complete.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{NodeName, rendezvous_owner};
use crate::storage::{RangeId, ShardId};
use crate::time::Timestamp;

/// How leases and membership are timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    /// How long an acquire or renewal holds a shard, by the store's clock.
    pub duration: Duration,
    /// How often a holder renews; several renewals fit in one duration, so one slow round
    /// trip does not lose the shard.
    pub renew_every: Duration,
    /// How long before the lease's end, measured from sending the last successful
    /// renewal, the holder stops serving.
    pub margin: Duration,
    /// How often a node writes its member row.
    pub heartbeat_every: Duration,
    /// How long a member row lives without a heartbeat, by the store's clock; a node
    /// silent that long leaves the placement.
    pub member_ttl: Duration,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(10),
            renew_every: Duration::from_secs(2),
            margin: Duration::from_secs(2),
            heartbeat_every: Duration::from_secs(2),
            member_ttl: Duration::from_secs(10),
        }
    }
}

impl LeaseConfig {
    /// Whether the timings make sense: a renewal period and a margin that fit in the
    /// duration with room for at least one retry.
    pub fn check(&self) -> Result<(), String> {
        if self
            .margin
            .saturating_add(self.renew_every.saturating_mul(2))
            > self.duration
        {
            return Err(format!(
                "a lease of {:?} leaves no room for two renewals every {:?} and a margin of {:?}",
                self.duration, self.renew_every, self.margin
            ));
        }
        if self.heartbeat_every.saturating_mul(2) > self.member_ttl {
            return Err(format!(
                "a member heartbeating every {:?} would drop out of a {:?} membership",
                self.heartbeat_every, self.member_ttl
            ));
        }
        Ok(())
    }
}

/// A lease this node holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldLease {
    /// The range it took the shard at.
    pub range: RangeId,
    /// When (on this node's clock) the acquire or renewal that last succeeded was sent.
    pub renewed_at: Timestamp,
}

impl HeldLease {
    /// Until when (on this node's clock) it may serve the shard.
    pub fn serving_until(&self, config: &LeaseConfig) -> Timestamp {
        self.renewed_at
            .saturating_add(config.duration.saturating_sub(config.margin))
    }
}

/// A shard's lease as the store sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardLease {
    /// The shard.
    pub shard: ShardId,
    /// Its current range.
    pub range: RangeId,
    /// The node holding it; `None` when released or never taken by a cluster node.
    pub owner: Option<NodeName>,
    /// How long the lease still runs, by the store's clock; zero when expired or free.
    pub remaining: Duration,
}

impl ShardLease {
    /// Whether `node` may take it now: nobody holds it, its holder let it expire, or the
    /// holder is `node` itself (an earlier life of the same node).
    pub fn takeable_by(&self, node: &NodeName) -> bool {
        match &self.owner {
            None => true,
            Some(owner) => owner == node || self.remaining.is_zero(),
        }
    }
}

/// What a node does about one shard on a tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseAction {
    /// Stop serving at once: the lease may end before a renewal lands, or another node
    /// took it.
    Stop {
        /// The shard.
        shard: ShardId,
    },
    /// Stop serving, then hand the lease back: the shard belongs on another live node.
    Release {
        /// The shard.
        shard: ShardId,
        /// The range held.
        range: RangeId,
    },
    /// Renew the lease.
    Renew {
        /// The shard.
        shard: ShardId,
        /// The range held.
        range: RangeId,
    },
    /// Take the shard and start serving it.
    Acquire {
        /// The shard.
        shard: ShardId,
    },
}

/// One tick of node `me`: what to do about each of `shard_count` shards, given the live
/// `members` (the node itself counts as one), the store's `leases` and the leases `held`,
/// at `now` on the node's clock. Stops come first, then releases, renewals and acquires,
/// each in shard order.
pub fn plan_leases(
    me: &NodeName,
    members: &[NodeName],
    shard_count: u32,
    leases: &BTreeMap<ShardId, ShardLease>,
    held: &BTreeMap<ShardId, HeldLease>,
    now: Timestamp,
    config: &LeaseConfig,
) -> Vec<LeaseAction> {
    let mut live: Vec<&NodeName> = members.iter().collect();
    if !live.contains(&me) {
        live.push(me);
    }
    let (mut stops, mut releases, mut renewals, mut acquires) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for index in 0..shard_count {
        let shard = ShardId(index);
        let belongs = rendezvous_owner(shard, live.iter().copied());
        let stored = leases.get(&shard);
        match held.get(&shard) {
            Some(lease) => {
                let taken = stored.is_some_and(|stored| {
                    stored.range != lease.range || stored.owner.as_ref() != Some(me)
                });
                if taken || now >= lease.serving_until(config) {
                    stops.push(LeaseAction::Stop { shard });
                } else if belongs != Some(me) {
                    releases.push(LeaseAction::Release {
                        shard,
                        range: lease.range,
                    });
                } else if now >= lease.renewed_at.saturating_add(config.renew_every) {
                    renewals.push(LeaseAction::Renew {
                        shard,
                        range: lease.range,
                    });
                }
            }
            None if belongs == Some(me) && stored.is_none_or(|stored| stored.takeable_by(me)) => {
                acquires.push(LeaseAction::Acquire { shard });
            }
            None => {}
        }
    }
    stops.extend(releases);
    stops.extend(renewals);
    stops.extend(acquires);
    stops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::placement;

    fn node(name: &str) -> NodeName {
        NodeName::new(name).unwrap()
    }

    fn at(seconds: u64) -> Timestamp {
        Timestamp::from_unix_seconds(1_000 + seconds)
    }

    fn lease(shard: ShardId, range: u64, owner: Option<&str>, remaining: u64) -> ShardLease {
        ShardLease {
            shard,
            range: RangeId(range),
            owner: owner.map(node),
            remaining: Duration::from_secs(remaining),
        }
    }

    #[test]
    fn the_default_timings_hold_together() {
        LeaseConfig::default().check().unwrap();
        let tight = LeaseConfig {
            duration: Duration::from_secs(3),
            ..LeaseConfig::default()
        };
        assert!(tight.check().is_err());
    }

    #[test]
    fn a_lone_node_takes_every_free_or_expired_shard_and_none_held_by_a_live_lease() {
        let me = node("a");
        let leases = BTreeMap::from([
            (ShardId(1), lease(ShardId(1), 4, Some("gone"), 0)),
            (ShardId(2), lease(ShardId(2), 7, Some("other"), 5)),
            (ShardId(3), lease(ShardId(3), 2, None, 0)),
        ]);
        let actions = plan_leases(
            &me,
            &[],
            4,
            &leases,
            &BTreeMap::new(),
            at(0),
            &LeaseConfig::default(),
        );
        assert_eq!(
            actions,
            vec![
                LeaseAction::Acquire { shard: ShardId(0) },
                LeaseAction::Acquire { shard: ShardId(1) },
                LeaseAction::Acquire { shard: ShardId(3) },
            ],
            "shard 2's lease still runs for its holder"
        );
    }

    #[test]
    fn a_node_takes_back_its_own_lease_from_an_earlier_life() {
        let me = node("a");
        let leases = BTreeMap::from([(ShardId(0), lease(ShardId(0), 3, Some("a"), 8))]);
        let actions = plan_leases(
            &me,
            std::slice::from_ref(&me),
            1,
            &leases,
            &BTreeMap::new(),
            at(0),
            &LeaseConfig::default(),
        );
        assert_eq!(actions, vec![LeaseAction::Acquire { shard: ShardId(0) }]);
    }

    #[test]
    fn a_holder_renews_on_its_period_and_stops_before_the_lease_can_end() {
        let config = LeaseConfig::default();
        let me = node("a");
        let held = BTreeMap::from([(
            ShardId(0),
            HeldLease {
                range: RangeId(5),
                renewed_at: at(0),
            },
        )]);
        let leases = BTreeMap::from([(ShardId(0), lease(ShardId(0), 5, Some("a"), 9))]);
        let tick = |now| {
            plan_leases(
                &me,
                std::slice::from_ref(&me),
                1,
                &leases,
                &held,
                now,
                &config,
            )
        };
        assert!(tick(at(1)).is_empty());
        let renew = LeaseAction::Renew {
            shard: ShardId(0),
            range: RangeId(5),
        };
        assert_eq!(tick(at(2)), vec![renew.clone()]);
        assert_eq!(tick(at(7)), vec![renew]);
        // duration 10 s − margin 2 s after the last successful renewal was sent.
        assert_eq!(tick(at(8)), vec![LeaseAction::Stop { shard: ShardId(0) }]);
        assert!(held[&ShardId(0)].serving_until(&config) < at(10));
    }

    #[test]
    fn a_holder_whose_shard_was_taken_stops_at_once() {
        let me = node("a");
        let held = BTreeMap::from([(
            ShardId(0),
            HeldLease {
                range: RangeId(5),
                renewed_at: at(0),
            },
        )]);
        for stored in [
            lease(ShardId(0), 6, Some("b"), 10),
            lease(ShardId(0), 5, None, 0),
        ] {
            let leases = BTreeMap::from([(ShardId(0), stored)]);
            let actions = plan_leases(
                &me,
                std::slice::from_ref(&me),
                1,
                &leases,
                &held,
                at(1),
                &LeaseConfig::default(),
            );
            assert_eq!(actions, vec![LeaseAction::Stop { shard: ShardId(0) }]);
        }
    }

    #[test]
    fn a_joining_node_gets_its_shards_by_handoff_not_by_theft() {
        let (a, b) = (node("a"), node("b"));
        let members = vec![a.clone(), b.clone()];
        let shard_count = 16;
        let moving: Vec<ShardId> = placement(shard_count, &members)
            .into_iter()
            .filter(|(_, owner)| *owner == b)
            .map(|(shard, _)| shard)
            .collect();
        assert!(!moving.is_empty());
        let held: BTreeMap<_, _> = (0..shard_count)
            .map(|index| {
                let lease = HeldLease {
                    range: RangeId(1),
                    renewed_at: at(0),
                };
                (ShardId(index), lease)
            })
            .collect();
        let leases: BTreeMap<_, _> = (0..shard_count)
            .map(|index| (ShardId(index), lease(ShardId(index), 1, Some("a"), 10)))
            .collect();
        let config = LeaseConfig::default();
        // The newcomer waits: every shard's lease is live and held by a.
        let newcomer = plan_leases(
            &b,
            &members,
            shard_count,
            &leases,
            &BTreeMap::new(),
            at(1),
            &config,
        );
        assert!(newcomer.is_empty(), "{newcomer:?}");
        // The holder hands back exactly the shards that now belong on b.
        let holder = plan_leases(&a, &members, shard_count, &leases, &held, at(1), &config);
        let released: Vec<ShardId> = holder
            .iter()
            .map(|action| match action {
                LeaseAction::Release { shard, range } => {
                    assert_eq!(*range, RangeId(1));
                    *shard
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(released, moving);
        // Once released, the newcomer takes them.
        let mut after = leases.clone();
        for shard in &moving {
            after.insert(*shard, lease(*shard, 1, None, 0));
        }
        let newcomer = plan_leases(
            &b,
            &members,
            shard_count,
            &after,
            &BTreeMap::new(),
            at(2),
            &config,
        );
        let acquired: Vec<ShardId> = newcomer
            .iter()
            .map(|action| match action {
                LeaseAction::Acquire { shard } => *shard,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(acquired, moving);
    }
}
