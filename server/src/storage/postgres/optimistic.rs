//! The one-round-trip commit: when a batch's writes cannot affect one another (no run
//! deletion, no workflow id or request id written twice), every condition they carry can
//! be checked by one statement inside the transaction, ahead of the writes. `BEGIN`, that
//! check, the writes and `COMMIT` then go out pipelined and come back in one round trip.
//! The check fails with an error when any condition fails, which aborts the transaction:
//! the writes after it do nothing and the `COMMIT` rolls back. The commit then runs the
//! careful way ([`super::commit`]), which reads the rows and tells each write its own
//! answer. A failed condition is rare (a shard lost, a request id repeated), so nearly
//! every commit costs one round trip.
//!
//! The check takes the same shared lock on the shards' rows as the careful path, so a new
//! owner's `acquire_shard` still waits for a commit in flight and then fences it out.
//! Pure: [`Check::of`] decides whether a batch may go this way and builds the check's
//! parameters; `commit` sends it.

use std::collections::BTreeSet;

use endure_core::storage::*;
use endure_core::{EventId, Namespace, RequestId, WorkflowId};
use tokio_postgres::error::SqlState;

use super::columns::{check_fits, run_bytes, to_bigint};
use super::plan::{Param, shard_int};

/// The check: one row, or an error naming how many conditions failed. The error is a
/// failed cast of text that holds the count, so the database cannot fold it into a
/// constant, and its log line says what happened.
pub(super) const CHECK: &str = "WITH ranges AS ( \
     SELECT shard, range_id FROM endure_shards WHERE shard = ANY($1::int4[]) FOR SHARE), \
     failed AS ( \
     SELECT count(*) AS n FROM UNNEST($1::int4[], $2::int8[]) AS k(shard, range_id) \
     LEFT JOIN ranges r ON r.shard = k.shard \
     WHERE COALESCE(r.range_id, 0) <> k.range_id \
     UNION ALL \
     SELECT count(*) FROM UNNEST($3::text[], $4::text[], $5::bytea[], $6::int8[], $7::int8[]) \
     AS k(namespace, workflow_id, run_id, db_version, next_event_id) \
     LEFT JOIN endure_executions e ON e.namespace = k.namespace \
     AND e.workflow_id = k.workflow_id AND e.run_id = k.run_id \
     WHERE e.db_version IS DISTINCT FROM k.db_version \
     OR (k.db_version IS NOT NULL AND e.next_event_id <> k.next_event_id) \
     UNION ALL \
     SELECT count(*) FROM UNNEST($8::text[], $9::text[], $10::bytea[]) \
     AS k(namespace, workflow_id, run_id) \
     LEFT JOIN endure_current_runs c ON c.namespace = k.namespace \
     AND c.workflow_id = k.workflow_id \
     WHERE c.run_id IS DISTINCT FROM k.run_id \
     UNION ALL \
     SELECT count(*) FROM endure_requests r \
     JOIN UNNEST($11::text[], $12::text[], $13::text[]) AS k(namespace, workflow_id, request_id) \
     ON r.namespace = k.namespace AND r.workflow_id = k.workflow_id \
     AND r.request_id = k.request_id) \
     SELECT CASE WHEN sum(n) = 0 THEN 0 \
     ELSE ('endure: ' || sum(n) || ' write conditions failed')::int END FROM failed";

/// Whether `error` is the check's own failure (a condition failed), as opposed to the
/// database's.
pub(super) fn is_condition_failure(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::INVALID_TEXT_REPRESENTATION)
}

/// The parameters of [`CHECK`] for one batch.
#[derive(Debug, PartialEq)]
pub(super) struct Check {
    /// Each shard and the range the writes expect of it.
    ranges: Vec<(i32, i64)>,
    /// Each run: its key, the version it must have (`None`: it must not exist) and, if it
    /// exists, the id of its next event (where the write's history continues).
    runs: Vec<(ExecutionKey, Option<i64>, i64)>,
    /// Each workflow id whose current run changes, and the run it must name now (`None`:
    /// no row).
    current_runs: Vec<(Namespace, WorkflowId, Option<endure_core::RunId>)>,
    /// Request ids that must not be recorded yet.
    requests: Vec<(Namespace, WorkflowId, RequestId)>,
}

impl Check {
    /// The check of `writes`, or `None` when the batch must take the careful path: a run
    /// deletion, a workflow id or request id written twice (a later write's condition
    /// would depend on an earlier one), or a write refused whatever is stored (its shape,
    /// a number no column holds, a new run whose history does not begin at event 1).
    pub(super) fn of(writes: &[WorkflowWrite]) -> Option<Self> {
        let mut check = Self {
            ranges: Vec::new(),
            runs: Vec::new(),
            current_runs: Vec::new(),
            requests: Vec::new(),
        };
        let mut ranges = BTreeSet::new();
        let mut workflows = BTreeSet::new();
        let mut requests = BTreeSet::new();
        if writes.is_empty() {
            return None;
        }
        for write in writes {
            if write.deletion.is_some()
                || check_write_shape(write).is_err()
                || check_fits(write).is_err()
                || !workflows.insert((&write.namespace, &write.workflow_id))
            {
                return None;
            }
            let range = to_bigint(write.range_id.0, "range").ok()?;
            ranges.insert((shard_int(write.shard), range));
            for run in &write.runs {
                let first = run
                    .history
                    .first()
                    .map_or(run.row.next_event_id, |event| event.event_id);
                let version = match run.condition {
                    RunCondition::Create if first == EventId::FIRST => None,
                    RunCondition::Create => return None,
                    RunCondition::DbVersion(version) => Some(to_bigint(version, "").ok()?),
                };
                let next = to_bigint(first.get(), "").ok()?;
                check.runs.push((run.row.key.clone(), version, next));
            }
            if let Some(current) = &write.current_run {
                check.current_runs.push((
                    write.namespace.clone(),
                    write.workflow_id.clone(),
                    current.expected,
                ));
            }
            for record in &write.request_ids {
                let key = (
                    record.namespace.clone(),
                    record.workflow_id.clone(),
                    record.request_id.clone(),
                );
                if !requests.insert(key.clone()) {
                    return None;
                }
                check.requests.push(key);
            }
        }
        check.ranges = ranges.into_iter().collect();
        Some(check)
    }

    /// The statement's parameters, in order.
    pub(super) fn params(&self) -> Vec<Param> {
        let (shards, ranges): (Vec<i32>, Vec<i64>) = self.ranges.iter().copied().unzip();
        let mut run_columns = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (key, version, next) in &self.runs {
            run_columns.0.push(key.namespace.as_str().to_owned());
            run_columns.1.push(key.workflow_id.as_str().to_owned());
            run_columns.2.push(run_bytes(key.run_id));
            run_columns.3.push(*version);
            run_columns.4.push(*next);
        }
        let mut current_columns = (Vec::new(), Vec::new(), Vec::new());
        for (namespace, workflow_id, run_id) in &self.current_runs {
            current_columns.0.push(namespace.as_str().to_owned());
            current_columns.1.push(workflow_id.as_str().to_owned());
            current_columns.2.push(run_id.map(run_bytes));
        }
        let mut request_columns = (Vec::new(), Vec::new(), Vec::new());
        for (namespace, workflow_id, request_id) in &self.requests {
            request_columns.0.push(namespace.as_str().to_owned());
            request_columns.1.push(workflow_id.as_str().to_owned());
            request_columns.2.push(request_id.as_str().to_owned());
        }
        vec![
            Box::new(shards),
            Box::new(ranges),
            Box::new(run_columns.0),
            Box::new(run_columns.1),
            Box::new(run_columns.2),
            Box::new(run_columns.3),
            Box::new(run_columns.4),
            Box::new(current_columns.0),
            Box::new(current_columns.1),
            Box::new(current_columns.2),
            Box::new(request_columns.0),
            Box::new(request_columns.1),
            Box::new(request_columns.2),
        ]
    }
}

#[cfg(test)]
mod tests {
    use endure_core::{RunId, WorkflowExecutionStatus};

    use super::super::fixtures::{key_of, row_of, write_of};
    use super::*;

    fn key(workflow: &str, run: u128) -> ExecutionKey {
        key_of(workflow, run)
    }

    /// A write of `workflow`'s run 1 at `condition`, with no history (the row's next event
    /// id says where it stands), on shard 3 at range 7.
    fn write(workflow: &str, condition: RunCondition, next: u64) -> WorkflowWrite {
        let version = match condition {
            RunCondition::Create => 1,
            RunCondition::DbVersion(version) => version + 1,
        };
        let mut row = row_of(
            key(workflow, 1),
            version,
            next,
            WorkflowExecutionStatus::Running,
        );
        row.shard = ShardId(3);
        WorkflowWrite {
            shard: ShardId(3),
            range_id: RangeId(7),
            ..write_of(condition, row)
        }
    }

    fn request(workflow: &str, id: &str) -> RequestRecord {
        RequestRecord {
            namespace: Namespace::default(),
            workflow_id: WorkflowId::new(workflow).unwrap(),
            request_id: RequestId::new(id).unwrap(),
            run_id: RunId::from_u128(1),
        }
    }

    #[test]
    fn writes_of_different_workflows_are_checked_in_one_statement() {
        let mut start = write("a", RunCondition::Create, 1);
        start.current_run = Some(CurrentRunWrite {
            expected: None,
            new: CurrentRun {
                run_id: RunId::from_u128(1),
                status: WorkflowExecutionStatus::Running,
                start_request_id: None,
            },
        });
        start.request_ids = vec![request("a", "r1")];
        let step = write("b", RunCondition::DbVersion(4), 9);
        let check = Check::of(&[start, step]).expect("independent writes");
        assert_eq!(check.ranges, vec![(3, 7)], "one shard, named once");
        assert_eq!(
            check.runs,
            vec![(key("a", 1), None, 1), (key("b", 1), Some(4), 9)]
        );
        assert_eq!(
            check.current_runs,
            vec![(Namespace::default(), WorkflowId::new("a").unwrap(), None)]
        );
        assert_eq!(check.requests.len(), 1);
        assert_eq!(check.params().len(), 13, "one per placeholder of CHECK");
    }

    #[test]
    fn writes_that_depend_on_one_another_take_the_careful_path() {
        let twice = [
            write("a", RunCondition::DbVersion(1), 2),
            write("a", RunCondition::DbVersion(2), 3),
        ];
        assert_eq!(Check::of(&twice), None, "one workflow id written twice");
        let mut first = write("a", RunCondition::DbVersion(1), 2);
        first.request_ids = vec![request("c", "r")];
        let mut second = write("b", RunCondition::DbVersion(1), 2);
        second.request_ids = vec![request("c", "r")];
        assert_eq!(Check::of(&[first, second]), None, "one request id twice");
        assert_eq!(Check::of(&[]), None);
    }

    #[test]
    fn deletions_and_writes_refused_whatever_is_stored_take_the_careful_path() {
        let mut deletion = write("a", RunCondition::DbVersion(1), 2);
        deletion.runs.clear();
        deletion.deletion = Some(RunDeletion {
            key: key("a", 1),
            db_version: 1,
        });
        assert_eq!(Check::of(&[deletion]), None);
        let late_start = write("a", RunCondition::Create, 5);
        assert_eq!(
            Check::of(&[late_start]),
            None,
            "a new run begins at event 1"
        );
        let mut huge = write("a", RunCondition::DbVersion(1), 2);
        huge.runs[0].deadline =
            DeadlineUpdate::Set(endure_core::time::Timestamp::from_unix_nanos(u64::MAX));
        assert_eq!(Check::of(&[huge]), None, "a time no BIGINT holds");
    }
}
