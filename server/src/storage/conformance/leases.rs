//! The contract of [`ClusterStore`]: member rows and shard leases, expiring by the store's
//! clock, and a lease taken by one node fencing every write of the range before it.

use std::time::Duration;

use endure_core::cluster::{Member, NodeName};
use endure_core::storage::*;

use super::{commit_one, key, run_write, write};

/// Runs every check of the cluster's part, each on a new store from `make`.
pub async fn run_cluster<S: ClusterStore, F: Fn() -> S>(make: F) {
    members_heartbeat_list_and_leave(&make()).await;
    members_expire_without_heartbeats(&make()).await;
    a_live_lease_is_exclusive_and_a_release_hands_it_on(&make()).await;
    an_expired_lease_is_taken_and_fences_its_old_holder(&make()).await;
    a_single_node_acquire_clears_the_owner(&make()).await;
    racing_acquires_have_one_winner(&make()).await;
}

fn node(name: &str) -> NodeName {
    NodeName::new(name).expect("a valid node name")
}

fn member(name: &str, port: u16) -> Member {
    Member::new(node(name), format!("127.0.0.1:{port}")).expect("a valid member")
}

/// Real time passes (the store's own clock is not the caller's to move).
async fn pass(duration: Duration) {
    tokio::time::sleep(duration).await;
}

const LONG: Duration = Duration::from_secs(60);

/// Heartbeats write rows listed by name with their age; a leave removes one at once.
async fn members_heartbeat_list_and_leave<S: ClusterStore>(store: &S) {
    assert!(store.members().await.expect("members").is_empty());
    store
        .heartbeat(&member("node-b", 2), LONG)
        .await
        .expect("heartbeat");
    store
        .heartbeat(&member("node-a", 1), LONG)
        .await
        .expect("heartbeat");
    // A heartbeat with a new address (a restart elsewhere) replaces the row.
    store
        .heartbeat(&member("node-a", 3), LONG)
        .await
        .expect("heartbeat");
    let members = store.members().await.expect("members");
    let listed: Vec<(&str, &str)> = members
        .iter()
        .map(|record| (record.member.node.as_str(), record.member.address.as_str()))
        .collect();
    assert_eq!(
        listed,
        vec![("node-a", "127.0.0.1:3"), ("node-b", "127.0.0.1:2")],
        "members by name, one row each, the latest address"
    );
    for record in &members {
        assert!(record.heartbeat_age < Duration::from_secs(10), "{record:?}");
        assert!(
            record.remaining > Duration::from_secs(50) && record.remaining <= LONG,
            "{record:?}"
        );
    }
    store.leave(&node("node-a")).await.expect("leave");
    let members = store.members().await.expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].member.node, node("node-b"));
}

/// A member whose time runs out without a heartbeat is no longer listed.
async fn members_expire_without_heartbeats<S: ClusterStore>(store: &S) {
    store
        .heartbeat(&member("short", 1), Duration::from_millis(50))
        .await
        .expect("heartbeat");
    store
        .heartbeat(&member("long", 2), LONG)
        .await
        .expect("heartbeat");
    pass(Duration::from_millis(150)).await;
    let members = store.members().await.expect("members");
    assert_eq!(
        members.len(),
        1,
        "the silent member dropped out: {members:?}"
    );
    assert_eq!(members[0].member.node, node("long"));
}

/// Of two nodes, only one holds a live lease; the other's renewal and release change
/// nothing; a release lets the other take the shard at once, at a higher range.
async fn a_live_lease_is_exclusive_and_a_release_hands_it_on<S: ClusterStore>(store: &S) {
    let shard = ShardId(3);
    let (a, b) = (node("a"), node("b"));
    let Acquired::Taken(first) = store.acquire_lease(shard, &a, LONG).await.expect("acquire")
    else {
        panic!("a free shard is taken");
    };
    match store.acquire_lease(shard, &b, LONG).await.expect("acquire") {
        Acquired::Held(lease) => {
            assert_eq!(lease.owner.as_ref(), Some(&a));
            assert_eq!(lease.range, first);
            assert!(lease.remaining > Duration::from_secs(50), "{lease:?}");
        }
        Acquired::Taken(range) => panic!("b took a live lease of a at {range:?}"),
    }
    assert!(
        store
            .renew_lease(shard, &a, first, LONG)
            .await
            .expect("renew")
    );
    assert!(
        !store
            .renew_lease(shard, &b, first, LONG)
            .await
            .expect("renew")
    );
    assert!(
        !store
            .release_lease(shard, &b, first)
            .await
            .expect("release")
    );
    let leases = store.shard_leases().await.expect("leases");
    assert_eq!(leases.len(), 1);
    assert_eq!((leases[0].shard, leases[0].range), (shard, first));
    assert_eq!(leases[0].owner.as_ref(), Some(&a));
    // The same node taking its own shard again (an earlier life of it) gets a new range.
    let Acquired::Taken(again) = store.acquire_lease(shard, &a, LONG).await.expect("acquire")
    else {
        panic!("a node takes back its own lease");
    };
    assert!(again > first);
    assert!(
        !store
            .renew_lease(shard, &a, first, LONG)
            .await
            .expect("renew")
    );
    assert!(
        store
            .release_lease(shard, &a, again)
            .await
            .expect("release")
    );
    let leases = store.shard_leases().await.expect("leases");
    assert_eq!(leases[0].owner, None, "released: {leases:?}");
    assert_eq!(leases[0].remaining, Duration::ZERO);
    let Acquired::Taken(third) = store.acquire_lease(shard, &b, LONG).await.expect("acquire")
    else {
        panic!("a released shard is taken at once");
    };
    assert!(third > again);
    assert!(
        !store
            .renew_lease(shard, &a, again, LONG)
            .await
            .expect("renew")
    );
}

/// A lease not renewed in time is taken by another node, and its old holder's writes,
/// renewals and releases are all refused.
async fn an_expired_lease_is_taken_and_fences_its_old_holder<S: ClusterStore>(store: &S) {
    let shard = ShardId(0);
    let (a, b) = (node("a"), node("b"));
    let Acquired::Taken(old) = store
        .acquire_lease(shard, &a, Duration::from_millis(50))
        .await
        .expect("acquire")
    else {
        panic!("a free shard is taken");
    };
    let run = key("fenced", 1);
    commit_one(
        store,
        write(
            shard,
            old,
            "fenced",
            vec![run_write(&run, shard, RunCondition::Create, 1, 2)],
        ),
    )
    .await
    .expect("the holder writes");
    pass(Duration::from_millis(150)).await;
    let leases = store.shard_leases().await.expect("leases");
    assert_eq!(leases[0].remaining, Duration::ZERO, "expired: {leases:?}");
    let Acquired::Taken(new) = store.acquire_lease(shard, &b, LONG).await.expect("acquire") else {
        panic!("an expired lease is taken");
    };
    assert!(new > old);
    let stale = write(
        shard,
        old,
        "fenced",
        vec![run_write(&run, shard, RunCondition::DbVersion(1), 3, 1)],
    );
    assert!(
        matches!(
            commit_one(store, stale).await,
            Err(WriteRejection::ShardOwnershipLost { .. })
        ),
        "the old holder's range is fenced"
    );
    assert!(
        !store
            .renew_lease(shard, &a, old, LONG)
            .await
            .expect("renew")
    );
    assert!(!store.release_lease(shard, &a, old).await.expect("release"));
    let fresh = write(
        shard,
        new,
        "fenced",
        vec![run_write(&run, shard, RunCondition::DbVersion(1), 3, 1)],
    );
    commit_one(store, fresh)
        .await
        .expect("the new holder writes");
}

/// A single-node engine's unconditional acquire moves the range past a cluster lease: the
/// lease reads as ownerless and its holder can no longer renew it.
async fn a_single_node_acquire_clears_the_owner<S: ClusterStore>(store: &S) {
    let shard = ShardId(1);
    let a = node("a");
    let Acquired::Taken(leased) = store.acquire_lease(shard, &a, LONG).await.expect("acquire")
    else {
        panic!("a free shard is taken");
    };
    let taken = store.acquire_shard(shard).await.expect("acquire_shard");
    assert!(taken > leased);
    let leases = store.shard_leases().await.expect("leases");
    assert_eq!(leases[0].range, taken);
    assert_eq!(leases[0].owner, None);
    assert!(
        !store
            .renew_lease(shard, &a, leased, LONG)
            .await
            .expect("renew")
    );
}

/// Nodes racing for one free shard: exactly one takes it; the others see its lease.
async fn racing_acquires_have_one_winner<S: ClusterStore>(store: &S) {
    let shard = ShardId(5);
    let nodes: Vec<NodeName> = (0..4)
        .map(|index| node(&format!("racer-{index}")))
        .collect();
    let (a, b, c, d) = tokio::join!(
        store.acquire_lease(shard, &nodes[0], LONG),
        store.acquire_lease(shard, &nodes[1], LONG),
        store.acquire_lease(shard, &nodes[2], LONG),
        store.acquire_lease(shard, &nodes[3], LONG),
    );
    let answers = [a, b, c, d];
    let mut winners = Vec::new();
    for (racer, answer) in nodes.iter().zip(answers) {
        match answer.expect("acquire") {
            Acquired::Taken(range) => winners.push((racer.clone(), range)),
            Acquired::Held(lease) => assert!(lease.owner.is_some(), "{lease:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "one winner: {winners:?}");
    let leases = store.shard_leases().await.expect("leases");
    assert_eq!(leases[0].owner.as_ref(), Some(&winners[0].0));
    assert_eq!(leases[0].range, winners[0].1);
}
