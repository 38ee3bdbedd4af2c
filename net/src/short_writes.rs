//! Short writes, a fault for the simulator (compiled under `--cfg madsim` only): madsim's
//! streams take every write whole, where a real socket whose buffer is full takes part of
//! a write, or none of it until the peer reads. With short writes on, every [`Outbox`]
//! of the simulation — each connection's, on the server and in clients and workers — sees
//! its stream take a random part of each write, or none for now, so senders leave frames
//! half written and the flusher finishes them while others send.
//!
//! The setting is per thread, and a madsim runtime runs its whole simulation on one: a
//! simulation sets it when it starts, so tests on other threads are not affected.
//!
//! [`Outbox`]: crate::Outbox

use std::cell::Cell;

use madsim::rand::Rng;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static CUT: Cell<u64> = const { Cell::new(0) };
}

/// Turns short writes on or off for the simulation running on this thread, and sets its
/// count of writes cut short to zero.
pub fn set(on: bool) {
    ON.with(|cell| cell.set(on));
    CUT.with(|cell| cell.set(0));
}

/// Writes cut short (a part taken, or none) on this thread since [`set`].
pub fn cut() -> u64 {
    CUT.with(Cell::get)
}

/// Whether short writes are on for this thread's simulation.
pub fn on() -> bool {
    ON.with(Cell::get)
}

/// How many of `wanted` bytes the stream takes now: all when short writes are off; else
/// none one time in four, and otherwise from one byte to all of them, drawn from the
/// simulation's seeded generator.
pub(crate) fn allowance(wanted: usize) -> usize {
    if !on() || wanted == 0 {
        return wanted;
    }
    let mut rng = madsim::rand::thread_rng();
    let allowed = if rng.gen_bool(0.25) {
        0
    } else {
        rng.gen_range(1..=wanted)
    };
    if allowed < wanted {
        CUT.with(|cell| cell.set(cell.get() + 1));
    }
    allowed
}
