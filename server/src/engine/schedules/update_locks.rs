//! One schedule's updates, one at a time. An update is checked against the schedule's
//! conflict token, then sent to the schedule's run as a signal; two updates naming the same
//! token must not both pass the check before either signal is written, or the second is
//! answered "taken" and then dropped by the schedule as stale. A schedule's calls are
//! served by the node that owns its shard, so a lock in that node's engine is enough.

use endure_core::{Namespace, WorkflowId};

/// Locks striped over the schedule ids: bounded memory, and updates are rare enough that
/// two schedules sharing a stripe wait for each other at worst.
pub(crate) struct UpdateLocks {
    stripes: Box<[tokio::sync::Mutex<()>]>,
}

/// How many stripes: more than the schedules a namespace updates at one moment.
const STRIPES: usize = 64;

impl Default for UpdateLocks {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }
}

impl UpdateLocks {
    /// Waits until no other update of `schedule_id` in `namespace` is between its check
    /// and its signal; held until the guard drops.
    pub(crate) async fn lock(
        &self,
        namespace: &Namespace,
        schedule_id: &WorkflowId,
    ) -> tokio::sync::MutexGuard<'_, ()> {
        // FNV-1a: a fixed hash, the same in every process and run.
        let hash = namespace
            .as_str()
            .bytes()
            .chain([0])
            .chain(schedule_id.as_str().bytes())
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            });
        let stripe = usize::try_from(hash % STRIPES as u64).unwrap_or(0);
        self.stripes[stripe].lock().await
    }
}
