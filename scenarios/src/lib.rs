//! `endure-scenarios`: named simulation scenarios, one per feature and fault.
//!
//! Scenarios are integration tests under `tests/`, compiled only with `--cfg madsim`
//! (DESIGN §7). This library is empty on purpose: it exists so the scenarios have a crate.
