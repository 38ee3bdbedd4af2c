//! The fault log: every fault a simulation injects, in order, with its simulated time. A
//! scenario asserts its faults fired; the reproducibility check hashes the log.

use std::sync::Arc;

use parking_lot::Mutex;

/// What kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// A node was killed (its tasks dropped, its connections reset).
    Kill,
    /// A killed node was started again.
    Restart,
    /// Two nodes were cut off from each other.
    Partition,
    /// A partition was healed.
    Heal,
    /// Every connection of a node was closed.
    ConnectionsDropped,
    /// A crash point was armed on the engine's disk (inside some coming commit).
    CrashPointArmed,
    /// The engine's disk lost power (at an armed crash point or at once).
    PowerLoss,
    /// The engine's next fsync fails with EIO (its store must stop).
    FsyncError,
    /// Messages from one node to another stop (one way only); the other way still flows.
    Clog,
    /// A one-way clog was lifted.
    Unclog,
    /// A node was frozen: its tasks stop running, its timers and peers' do not (a long GC
    /// pause, a stopped VM).
    Pause,
    /// A frozen node runs again.
    Resume,
    /// The engine's clock jumped forward or back.
    ClockJump,
    /// A hostile peer connected: trickling a frame, never reading replies, or holding idle
    /// connections.
    SlowPeer,
    /// A read of the engine's disk found a corrupt page (the device reported it).
    CorruptRead,
    /// A client's or worker's credential was revoked on the server.
    CredentialRevoked,
    /// A node was stopped gracefully (SIGTERM: it hands its shards on and leaves).
    Stop,
    /// Sockets take part of each write, or none for a moment (a full send buffer).
    ShortWrites,
}

/// One injected fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Simulated milliseconds since the log was created.
    pub at_millis: u128,
    /// Its kind.
    pub kind: FaultKind,
    /// Which nodes, why.
    pub detail: String,
}

/// The ordered log of a run's faults (cheap to clone; clones share the log).
#[derive(Clone, Debug)]
pub struct FaultLog {
    origin: tokio::time::Instant,
    faults: Arc<Mutex<Vec<Fault>>>,
}

impl Default for FaultLog {
    fn default() -> Self {
        Self::new()
    }
}

impl FaultLog {
    /// An empty log whose times count from now.
    #[allow(
        clippy::disallowed_methods,
        reason = "the simulator's own clock, for the log's timestamps; not an engine input"
    )]
    pub fn new() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
            faults: Arc::default(),
        }
    }

    /// Records a fault injected now.
    pub fn record(&self, kind: FaultKind, detail: impl Into<String>) {
        let fault = Fault {
            at_millis: self.origin.elapsed().as_millis(),
            kind,
            detail: detail.into(),
        };
        tracing::info!(?fault, "fault injected");
        self.faults.lock().push(fault);
        INJECTED.with(|injected| injected.set(injected.get() + 1));
    }

    /// How many faults of `kind` were injected.
    pub fn count(&self, kind: FaultKind) -> usize {
        self.faults.lock().iter().filter(|f| f.kind == kind).count()
    }

    /// The faults so far, in order.
    pub fn entries(&self) -> Vec<Fault> {
        self.faults.lock().clone()
    }
}

thread_local! {
    /// Faults injected on this thread — one seed's run (`seeds` runs each seed on a thread of
    /// its own) — for the soak report. Reporting only: nothing simulated reads it.
    static INJECTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many faults this thread's scenario run has injected so far.
pub fn injected_on_this_thread() -> u64 {
    INJECTED.with(std::cell::Cell::get)
}
