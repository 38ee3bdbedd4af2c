//! Swarm testing (DESIGN §7): the fault catalogue, a seed's choice of faults and knobs, and
//! how each fault is injected into a [`Cluster`] and repaired.

use std::time::Duration;

use madsim::rand::Rng;

use crate::cluster::{Cluster, ClusterConfig, ENGINE, StoreChoice};
use crate::disk::CrashPoint;
use crate::hostile::SlowPeer;

/// The faults a seed may enable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Kill the engine node and restart it a moment later.
    KillEngine,
    /// Lose power inside one of the engine's coming commits.
    PowerLoss,
    /// Fail the engine's next fsync with EIO (its store stops; the node is restarted).
    FsyncError,
    /// Cut a worker off from the engine, both ways, for a while.
    Partition,
    /// Stop messages one way between a worker and the engine for a while.
    OneWayClog,
    /// Freeze a worker longer than the heartbeat timeout.
    PauseWorker,
    /// Freeze the engine for a while.
    PauseEngine,
    /// Close every connection of a worker.
    DropConnections,
    /// Kill a worker and restart it a moment later.
    KillWorker,
    /// Jump the engine's clock forward or back by up to five seconds.
    ClockJump,
    /// A hostile peer: trickles a frame, never reads its replies, or holds idle connections
    /// (see [`crate::hostile`]).
    SlowPeer,
    /// One read of the engine's disk finds a corrupt page (the device reports it): the store
    /// must stop rather than go on without it; a supervisor then restarts the engine.
    CorruptRead,
}

/// Every fault of the catalogue.
pub const CATALOGUE: [Fault; 12] = [
    Fault::KillEngine,
    Fault::PowerLoss,
    Fault::FsyncError,
    Fault::Partition,
    Fault::OneWayClog,
    Fault::PauseWorker,
    Fault::PauseEngine,
    Fault::DropConnections,
    Fault::KillWorker,
    Fault::ClockJump,
    Fault::SlowPeer,
    Fault::CorruptRead,
];

/// The faults of the first catalogue: a seed draws them first and the knobs after, and the
/// faults added since last, so every older seed keeps its faults and knobs.
const FIRST_CATALOGUE_LEN: usize = 10;

/// The first catalogue, before the slow-peer and corrupt-read faults: a named regression
/// found with it chooses from it ([`choose_from`]) to replay its run exactly.
pub const FIRST_CATALOGUE: &[Fault] = CATALOGUE.split_at(FIRST_CATALOGUE_LEN).0;

/// Injects one fault into `cluster` (whose workers are `workers`) and, for the lasting
/// ones, waits it out and repairs it.
pub async fn inject(cluster: &Cluster, workers: &[&str], fault: Fault) {
    let (worker, lasting, point) = {
        let mut rng = madsim::rand::thread_rng();
        let point = if rng.gen_bool(0.5) {
            CrashPoint::AfterWrite(rng.gen_range(1..6))
        } else {
            CrashPoint::AfterSync(rng.gen_range(1..3))
        };
        (
            workers[rng.gen_range(0..workers.len())],
            Duration::from_millis(rng.gen_range(200..6_000)),
            point,
        )
    };
    match fault {
        Fault::KillEngine => {
            cluster.kill(ENGINE);
            tokio::time::sleep(lasting / 3).await;
            cluster.restart(ENGINE);
        }
        Fault::PowerLoss => {
            cluster.power_loss_inside_commit(point).await;
        }
        Fault::FsyncError => {
            cluster.fail_next_fsync();
            let disk = cluster
                .disk()
                .expect("the swarm runs on a simulated disk")
                .clone();
            for _ in 0..40 {
                if disk.sync_failures() > 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            // The store stopped; a supervisor restarts the node.
            cluster.power_loss();
        }
        Fault::Partition => {
            cluster.partition(worker, ENGINE);
            tokio::time::sleep(lasting).await;
            cluster.heal(worker, ENGINE);
        }
        Fault::OneWayClog => {
            let (from, to) = if madsim::rand::thread_rng().gen_bool(0.5) {
                (worker, ENGINE)
            } else {
                (ENGINE, worker)
            };
            cluster.clog(from, to);
            tokio::time::sleep(lasting).await;
            cluster.unclog(from, to);
        }
        Fault::PauseWorker => {
            // Longer than the heartbeat timeout: its activities are retried elsewhere.
            cluster.pause(worker);
            tokio::time::sleep(lasting).await;
            cluster.resume(worker);
        }
        Fault::PauseEngine => {
            cluster.pause(ENGINE);
            tokio::time::sleep(lasting / 2).await;
            cluster.resume(ENGINE);
        }
        Fault::DropConnections => cluster.drop_connections(worker),
        Fault::ClockJump => {
            let millis = madsim::rand::thread_rng().gen_range(-5_000..=5_000);
            cluster.jump_engine_clock(millis);
        }
        Fault::KillWorker => {
            cluster.kill(worker);
            tokio::time::sleep(lasting / 3).await;
            cluster.restart(worker);
        }
        Fault::SlowPeer => {
            let behaviour = SlowPeer::random(&mut madsim::rand::thread_rng());
            crate::hostile::slow_peer(cluster, behaviour);
        }
        Fault::CorruptRead => corrupt_read(cluster).await,
    }
}

/// Serves one corrupt page to the engine: at its next read of an uncached page, forced by a
/// restart half of the time. The store stops on it (or the start fails and is retried); a
/// supervisor then restarts the engine, which reads the page again as the disk has it.
async fn corrupt_read(cluster: &Cluster) {
    let disk = cluster
        .disk()
        .expect("the swarm runs on a simulated disk")
        .clone();
    let served_before = disk.corrupt_reads();
    disk.corrupt_next_read();
    if madsim::rand::thread_rng().gen_bool(0.5) {
        cluster.kill(ENGINE);
        cluster.restart(ENGINE);
    }
    for _ in 0..40 {
        if disk.corrupt_reads() > served_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let served = !disk.disarm_corrupt_read();
    cluster.faults.record(
        crate::faults::FaultKind::CorruptRead,
        if served {
            "served: the engine's store stopped, a supervisor restarts it"
        } else {
            "not served: the engine read nothing uncached"
        },
    );
    if served {
        cluster.power_loss();
    }
}

/// A seed's swarm: the faults it enables (each with probability one half) and the cluster
/// it runs on (on a simulated disk seeded with `seed`, with random clock skew, commit
/// delays, delayed and duplicated requests, and sometimes shrunken knobs: short long polls,
/// one shard or sixteen, group commits of one to three writes, worker caches of one or two
/// runs, short sticky timeouts; and for odd seeds, short writes on every connection).
pub fn choose(seed: u64) -> (Vec<Fault>, ClusterConfig) {
    choose_from(seed, &CATALOGUE)
}

/// [`choose`] from `catalogue`: the whole [`CATALOGUE`], or the [`FIRST_CATALOGUE`] (no
/// draws for the faults added since, so a seed runs as it did before they were).
pub fn choose_from(seed: u64, catalogue: &[Fault]) -> (Vec<Fault>, ClusterConfig) {
    let mut rng = madsim::rand::thread_rng();
    let mut enabled: Vec<Fault> = CATALOGUE[..FIRST_CATALOGUE_LEN]
        .iter()
        .copied()
        .filter(|_| rng.gen_bool(0.5))
        .collect();
    let config = ClusterConfig {
        store: StoreChoice::Disk { seed },
        max_clock_skew: Duration::from_millis(rng.gen_range(0..2_000)),
        max_commit_delay: Duration::from_millis(rng.gen_range(0..40)),
        duplicate_requests: if rng.gen_bool(0.3) { 0.1 } else { 0.0 },
        max_request_delay: Duration::from_millis(if rng.gen_bool(0.3) {
            rng.gen_range(1..300)
        } else {
            0
        }),
        ..ClusterConfig::default()
    };
    // Shrunken knobs: short long polls, one shard or many.
    let mut config = config;
    if rng.gen_bool(0.3) {
        config.engine.poll_wait = Duration::from_millis(rng.gen_range(50..2_000));
    }
    if rng.gen_bool(0.3) {
        config.engine.shard_count = if rng.gen_bool(0.5) { 1 } else { 16 };
    }
    if rng.gen_bool(0.3) {
        config.engine.commit_batch_max = rng.gen_range(1..4);
    }
    // Tiny worker caches (runs evicted and replayed) and short sticky timeouts (tasks
    // falling back to the normal queue).
    if rng.gen_bool(0.3) {
        config.worker.max_cached_workflows = rng.gen_range(1..3);
    }
    if rng.gen_bool(0.3) {
        config.worker.sticky_schedule_to_start_timeout =
            Duration::from_millis(rng.gen_range(200..2_000));
    }
    enabled.extend(
        catalogue
            .iter()
            .skip(FIRST_CATALOGUE_LEN)
            .copied()
            .filter(|_| rng.gen_bool(0.5)),
    );
    // Short writes on every connection for odd seeds of the whole catalogue: taken from the
    // seed, not drawn, so every seed keeps the draws above (and even seeds, such as the
    // named regressions', their runs).
    config.short_writes = catalogue.len() > FIRST_CATALOGUE_LEN && seed % 2 == 1;
    (enabled, config)
}

/// Throws faults drawn from `enabled` at `cluster`, one after another with a pause of up to
/// 1.5 s before each, until `finished` says the workload is done (and at least `at_least`
/// were thrown) or `max` were thrown; returns how many.
pub async fn throw(
    cluster: &Cluster,
    workers: &[&str],
    enabled: &[Fault],
    finished: impl Fn() -> bool,
    at_least: u32,
    max: u32,
) -> u32 {
    let mut thrown = 0;
    if enabled.is_empty() {
        return thrown;
    }
    while thrown < max && !(finished() && thrown >= at_least) {
        let (wait, fault) = {
            let mut rng = madsim::rand::thread_rng();
            (
                rng.gen_range(100..1_500),
                enabled[rng.gen_range(0..enabled.len())],
            )
        };
        tokio::time::sleep(Duration::from_millis(wait)).await;
        inject(cluster, workers, fault).await;
        thrown += 1;
    }
    thrown
}

/// Alternates an engine kill (restarted after 50–300 ms) and a power loss inside a commit,
/// one every `pause` milliseconds, until `finished` says so or `max` were thrown: dense
/// enough to land between the steps of a multi-commit protocol. Returns (kills, power
/// losses).
pub async fn kills_and_power_losses(
    cluster: &Cluster,
    finished: impl Fn() -> bool,
    max: u32,
    pause: std::ops::Range<u64>,
) -> (usize, usize) {
    let (mut kills, mut power_losses) = (0, 0);
    for round in 0..max {
        if finished() {
            break;
        }
        let (wait, down, point) = {
            let mut rng = madsim::rand::thread_rng();
            let point = if rng.gen_bool(0.5) {
                CrashPoint::AfterWrite(rng.gen_range(1..4))
            } else {
                CrashPoint::AfterSync(rng.gen_range(1..3))
            };
            (rng.gen_range(pause.clone()), rng.gen_range(50..300), point)
        };
        tokio::time::sleep(Duration::from_millis(wait)).await;
        if round % 2 == 0 {
            cluster.kill(ENGINE);
            tokio::time::sleep(Duration::from_millis(down)).await;
            cluster.restart(ENGINE);
            kills += 1;
        } else {
            cluster.power_loss_inside_commit(point).await;
            power_losses += 1;
        }
    }
    (kills, power_losses)
}
