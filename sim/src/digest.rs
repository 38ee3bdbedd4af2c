//! A digest of a simulation's outcome — every final history and the ordered fault log — so
//! two runs of one seed can be compared (madsim's own determinism check only compares its
//! random draws and timing).

use std::collections::BTreeMap;

use endure_core::history::HistoryEvent;

use crate::faults::Fault;

/// 64-bit FNV-1a, stable across platforms and releases (unlike `std`'s hashers).
#[derive(Clone, Copy, Debug)]
struct Fnv(u64);

impl Fnv {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }
}

/// The digest of final histories (by workflow id, in id order) and the fault log.
pub fn outcome_digest(histories: &BTreeMap<String, Vec<HistoryEvent>>, faults: &[Fault]) -> u64 {
    let mut hash = Fnv(Fnv::OFFSET);
    for (id, history) in histories {
        hash.write(id.as_bytes());
        for event in history {
            // Debug output is deterministic for our types and covers every field.
            hash.write(format!("{event:?}").as_bytes());
        }
    }
    for fault in faults {
        hash.write(format!("{fault:?}").as_bytes());
    }
    hash.0
}

#[cfg(test)]
mod tests {
    use endure_core::history::samples::quickstart_history;

    use super::*;
    use crate::faults::FaultKind;

    #[test]
    fn the_digest_sees_histories_and_faults() {
        let mut histories = BTreeMap::new();
        histories.insert("a".to_owned(), quickstart_history().events);
        let fault = Fault {
            at_millis: 5,
            kind: FaultKind::Kill,
            detail: "worker-1".into(),
        };
        let base = outcome_digest(&histories, std::slice::from_ref(&fault));
        assert_eq!(
            base,
            outcome_digest(&histories, std::slice::from_ref(&fault))
        );
        assert_ne!(base, outcome_digest(&histories, &[]));
        histories.get_mut("a").unwrap().pop();
        assert_ne!(base, outcome_digest(&histories, &[fault]));
    }
}
