//! The seeded randomness of the process-crash tests: a seed from the environment (to rerun
//! a failure) or the wall clock, and a xorshift stream drawn from it.

/// The seed in `variable`, or one from the wall clock when it is unset.
#[allow(
    clippy::disallowed_methods,
    reason = "the seed of a real-process test comes from the clock unless given"
)]
pub(crate) fn seed(variable: &str) -> u64 {
    std::env::var(variable)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// A xorshift64 stream from `seed` (the same numbers for the same seed).
pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
