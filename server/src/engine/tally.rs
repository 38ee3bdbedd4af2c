//! What the engine did since it was last asked: runs started and closed, commits and their
//! 99th-percentile latency. The dev server logs it once a minute; it needs no metrics
//! recorder, so the line is there whatever exporter (or none) is installed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Commit latency buckets: bucket `i` holds latencies below 2^i microseconds (the last one
/// everything longer, from about 36 minutes).
const BUCKETS: usize = 32;

/// Counts kept with relaxed atomics, read and reset by [`take`](Tally::take).
#[derive(Debug, Default)]
pub(crate) struct Tally {
    started: AtomicU64,
    closed: AtomicU64,
    commit_micros: [AtomicU64; BUCKETS],
}

/// A period's counts, from [`Engine::take_tally`](super::Engine::take_tally).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TallySummary {
    /// Workflow runs started.
    pub started: u64,
    /// Workflow runs closed.
    pub closed: u64,
    /// Storage transactions of the group committer.
    pub commits: u64,
    /// The commits' 99th-percentile latency, rounded up to a power of two microseconds;
    /// `None` without commits.
    pub commit_p99: Option<Duration>,
}

impl Tally {
    /// Counts `count` runs started.
    pub(crate) fn started(&self, count: u64) {
        self.started.fetch_add(count, Ordering::Relaxed);
    }

    /// Counts a run closed.
    pub(crate) fn closed(&self) {
        self.closed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a commit that took `latency`.
    pub(crate) fn commit(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let bucket = (u64::BITS - micros.leading_zeros()) as usize;
        self.commit_micros[bucket.min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
    }

    /// The counts since the last call, which start again from zero.
    pub(crate) fn take(&self) -> TallySummary {
        let buckets: Vec<u64> = self
            .commit_micros
            .iter()
            .map(|bucket| bucket.swap(0, Ordering::Relaxed))
            .collect();
        let commits: u64 = buckets.iter().sum();
        // The first bucket at or past 99 % of the commits, counted from the fastest.
        let wanted = commits - commits / 100;
        let mut seen = 0;
        let commit_p99 = buckets.iter().enumerate().find_map(|(index, count)| {
            seen += count;
            (commits > 0 && seen >= wanted).then(|| Duration::from_micros(1u64 << index))
        });
        TallySummary {
            started: self.started.swap(0, Ordering::Relaxed),
            closed: self.closed.swap(0, Ordering::Relaxed),
            commits,
            commit_p99,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_counts_runs_and_commits_and_the_next_starts_from_zero() {
        let tally = Tally::default();
        assert_eq!(tally.take(), TallySummary::default());
        tally.started(2);
        tally.closed();
        // 99 fast commits (300 µs: below 512) and one slow one (40 ms: below 65,536 µs).
        for _ in 0..99 {
            tally.commit(Duration::from_micros(300));
        }
        tally.commit(Duration::from_millis(40));
        assert_eq!(
            tally.take(),
            TallySummary {
                started: 2,
                closed: 1,
                commits: 100,
                commit_p99: Some(Duration::from_micros(512)),
            }
        );
        // Two slow ones in a hundred: the 99th percentile is slow.
        for _ in 0..98 {
            tally.commit(Duration::from_micros(300));
        }
        tally.commit(Duration::from_millis(40));
        tally.commit(Duration::from_millis(40));
        assert_eq!(tally.take().commit_p99, Some(Duration::from_micros(65_536)));
        assert_eq!(tally.take(), TallySummary::default());
        tally.commit(Duration::ZERO);
        tally.commit(Duration::from_secs(100_000));
        assert_eq!(tally.take().commits, 2);
    }
}
