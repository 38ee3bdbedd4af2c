//! Which workers polled each task queue lately (Temporal's `DescribeTaskQueue` pollers):
//! identity, last access time and deployment version, per queue half. In memory only,
//! bounded: entries older than [`POLLER_SEEN_FOR`] are forgotten, and a queue half keeps
//! at most [`POLLERS_TRACKED_MAX`] identities (the oldest go first).

use std::collections::BTreeMap;
use std::time::Duration;

use endure_core::limits::POLLERS_TRACKED_MAX;
use endure_core::protocol::PollerInfo;
use endure_core::time::Timestamp;
use endure_core::versioning::WorkerDeploymentVersion;
use endure_core::{Namespace, TaskQueueName};
use parking_lot::Mutex;

/// How long a poller stays listed after its last poll (Temporal's five minutes).
pub(crate) const POLLER_SEEN_FOR: Duration = Duration::from_secs(300);

/// A queue half: its namespace, queue, and whether it is the workflow half.
type Half = (Namespace, TaskQueueName, bool);

/// Pollers by queue half and identity.
#[derive(Default)]
pub(crate) struct PollersSeen {
    seen: Mutex<BTreeMap<Half, BTreeMap<String, PollerInfo>>>,
}

impl PollersSeen {
    /// Records a poll of `identity` at `now`.
    pub(crate) fn record(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        workflow: bool,
        identity: &str,
        version: Option<&WorkerDeploymentVersion>,
        now: Timestamp,
    ) {
        let mut seen = self.seen.lock();
        let half = seen
            .entry((namespace.clone(), task_queue.clone(), workflow))
            .or_default();
        half.insert(
            identity.to_owned(),
            PollerInfo {
                identity: identity.to_owned(),
                last_access_time: now,
                deployment_version: version.cloned(),
            },
        );
        if half.len() > POLLERS_TRACKED_MAX {
            forget_stale(half, now);
            while half.len() > POLLERS_TRACKED_MAX {
                let oldest = half
                    .values()
                    .min_by_key(|poller| poller.last_access_time)
                    .map(|poller| poller.identity.clone());
                match oldest {
                    Some(identity) => half.remove(&identity),
                    None => break,
                };
            }
        }
    }

    /// The pollers of a queue half seen within [`POLLER_SEEN_FOR`] of `now`, latest first.
    pub(crate) fn pollers(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        workflow: bool,
        now: Timestamp,
    ) -> Vec<PollerInfo> {
        let mut seen = self.seen.lock();
        let Some(half) = seen.get_mut(&(namespace.clone(), task_queue.clone(), workflow)) else {
            return Vec::new();
        };
        forget_stale(half, now);
        let mut pollers: Vec<PollerInfo> = half.values().cloned().collect();
        pollers.sort_by(|a, b| {
            b.last_access_time
                .cmp(&a.last_access_time)
                .then_with(|| a.identity.cmp(&b.identity))
        });
        pollers
    }
}

fn forget_stale(half: &mut BTreeMap<String, PollerInfo>, now: Timestamp) {
    half.retain(|_, poller| poller.last_access_time.saturating_add(POLLER_SEEN_FOR) >= now);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pollers_are_listed_latest_first_and_forgotten_after_five_minutes() {
        let seen = PollersSeen::default();
        let (namespace, queue) = (Namespace::default(), TaskQueueName::new("q").unwrap());
        let t0 = Timestamp::from_unix_seconds(1_795_860_000);
        seen.record(&namespace, &queue, true, "a", None, t0);
        seen.record(
            &namespace,
            &queue,
            true,
            "b",
            None,
            t0.saturating_add(Duration::from_secs(60)),
        );
        seen.record(&namespace, &queue, false, "c", None, t0);
        let at = t0.saturating_add(Duration::from_secs(120));
        let names = |pollers: Vec<PollerInfo>| -> Vec<String> {
            pollers.into_iter().map(|p| p.identity).collect()
        };
        assert_eq!(
            names(seen.pollers(&namespace, &queue, true, at)),
            ["b", "a"]
        );
        assert_eq!(names(seen.pollers(&namespace, &queue, false, at)), ["c"]);
        let later = t0.saturating_add(Duration::from_secs(330));
        assert_eq!(names(seen.pollers(&namespace, &queue, true, later)), ["b"]);
    }

    #[test]
    fn a_queue_half_keeps_at_most_its_limit_of_identities() {
        let seen = PollersSeen::default();
        let (namespace, queue) = (Namespace::default(), TaskQueueName::new("q").unwrap());
        let t0 = Timestamp::from_unix_seconds(1_795_860_000);
        for n in 0..=POLLERS_TRACKED_MAX {
            let at = t0.saturating_add(Duration::from_millis(n as u64));
            seen.record(&namespace, &queue, true, &format!("w{n}"), None, at);
        }
        let pollers = seen.pollers(&namespace, &queue, true, t0);
        assert_eq!(pollers.len(), POLLERS_TRACKED_MAX);
        assert!(
            pollers.iter().all(|p| p.identity != "w0"),
            "the oldest went first"
        );
    }
}
