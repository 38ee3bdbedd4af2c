//! The tutorial's tests: the order workflow under faults, both charge versions. Under the
//! simulator (`RUSTFLAGS="--cfg madsim"`) the `simulation` module runs; in a normal build
//! the `chaos` module (no special flags).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[cfg(not(madsim))]
mod chaos;
#[cfg(madsim)]
mod simulation;
