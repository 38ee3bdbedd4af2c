//! Deterministic randomness for workflow code: SplitMix64 seeded from the run (reseeded by a
//! reset), so replay draws the same numbers. The algorithm is fixed forever: histories
//! depend on it.

use endure_core::random::SplitMix64;

/// A seeded generator; never touches the OS.
#[derive(Clone, Debug)]
pub(crate) struct DeterministicRandom {
    rng: SplitMix64,
}

impl DeterministicRandom {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: SplitMix64::new(seed),
        }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// A random version-4 UUID in its text form.
    pub(crate) fn uuid(&mut self) -> String {
        let high = self.next_u64();
        let low = self.next_u64();
        let value = (u128::from(high) << 64 | u128::from(low)) & !(0xf << 76) & !(0x3 << 62)
            | (0x4 << 76)
            | (0x2 << 62);
        endure_core::RunId::from_u128(value).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers() {
        let mut a = DeterministicRandom::new(42);
        let mut b = DeterministicRandom::new(42);
        let drawn: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        assert_eq!(drawn, (0..4).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(drawn[0], DeterministicRandom::new(43).next_u64());
    }

    #[test]
    fn uuids_are_version_4() {
        let uuid = DeterministicRandom::new(7).uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"), "{uuid}");
    }
}
