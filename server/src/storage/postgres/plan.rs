//! The statements of a group commit's accepted writes, as few as the batch allows: the
//! writes' rows are merged into one multi-row statement per table and kind (`UNNEST` of
//! column arrays) — a batch of a hundred transitions is about nine statements, not six
//! hundred. Merging keeps what applying the writes in order would leave: the last row of a
//! key wins (a run written twice, a deadline set then cleared), a backlog row added and
//! then removed is neither inserted nor deleted, and a run deletion is a barrier — what came
//! before it is flushed first, so it deletes what earlier writes of the batch made. Pure:
//! no IO; `commit` sends the plan.

use std::collections::BTreeMap;

use endure_core::history::History;
use endure_core::storage::*;
use endure_core::{Namespace, RequestId, RunId, TaskQueueName, WorkflowId};
use tokio_postgres::types::ToSql;

use super::columns::{encode, run_bytes, status_code, time_bigint, to_bigint};
use super::visibility::{TERM_SEPARATOR, search_terms};

/// A parameter of a statement.
pub(super) type Param = Box<dyn ToSql + Sync + Send>;

/// A run's key as columns.
type RunKey = (Namespace, WorkflowId, RunId);

/// The statements a plan uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Op {
    DeleteExecution,
    DeleteHistory,
    DeleteDeadline,
    DeleteVisibility,
    DeleteRequestsOfRun,
    DeleteCurrentRunIfRun,
    UpsertExecutions,
    InsertHistory,
    UpsertDeadlines,
    DeleteDeadlines,
    UpsertDispatch,
    DeleteDispatch,
    UpsertVisibility,
    UpsertCurrentRuns,
    UpsertRequests,
}

impl Op {
    /// Every statement, in the order of their prepared handles.
    pub(super) const ALL: [Self; 15] = [
        Self::DeleteExecution,
        Self::DeleteHistory,
        Self::DeleteDeadline,
        Self::DeleteVisibility,
        Self::DeleteRequestsOfRun,
        Self::DeleteCurrentRunIfRun,
        Self::UpsertExecutions,
        Self::InsertHistory,
        Self::UpsertDeadlines,
        Self::DeleteDeadlines,
        Self::UpsertDispatch,
        Self::DeleteDispatch,
        Self::UpsertVisibility,
        Self::UpsertCurrentRuns,
        Self::UpsertRequests,
    ];

    /// The statement's SQL.
    pub(super) fn sql(self) -> &'static str {
        match self {
            Self::DeleteExecution => {
                "DELETE FROM endure_executions \
                 WHERE namespace = $1 AND workflow_id = $2 AND run_id = $3"
            }
            Self::DeleteHistory => {
                "DELETE FROM endure_history \
                 WHERE namespace = $1 AND workflow_id = $2 AND run_id = $3"
            }
            Self::DeleteDeadline => {
                "DELETE FROM endure_deadlines \
                 WHERE namespace = $1 AND workflow_id = $2 AND run_id = $3"
            }
            Self::DeleteVisibility => {
                "DELETE FROM endure_visibility \
                 WHERE namespace = $1 AND workflow_id = $2 AND run_id = $3"
            }
            Self::DeleteRequestsOfRun => {
                "DELETE FROM endure_requests \
                 WHERE namespace = $1 AND workflow_id = $2 AND run_id = $3"
            }
            Self::DeleteCurrentRunIfRun => {
                "DELETE FROM endure_current_runs \
                 WHERE namespace = $1 AND workflow_id = $2 AND run_id = $3"
            }
            Self::UpsertExecutions => {
                "INSERT INTO endure_executions (namespace, workflow_id, run_id, shard, \
                 db_version, next_event_id, status, state) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::int4[], \
                 $5::int8[], $6::int8[], $7::int2[], $8::bytea[]) \
                 ON CONFLICT (namespace, workflow_id, run_id) DO UPDATE SET \
                 shard = excluded.shard, db_version = excluded.db_version, \
                 next_event_id = excluded.next_event_id, status = excluded.status, \
                 state = excluded.state"
            }
            Self::InsertHistory => {
                "INSERT INTO endure_history \
                 (namespace, workflow_id, run_id, first_event_id, last_event_id, events) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::int8[], \
                 $5::int8[], $6::bytea[])"
            }
            Self::UpsertDeadlines => {
                "INSERT INTO endure_deadlines (namespace, workflow_id, run_id, shard, due) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::int4[], \
                 $5::int8[]) ON CONFLICT (namespace, workflow_id, run_id) \
                 DO UPDATE SET shard = excluded.shard, due = excluded.due"
            }
            Self::DeleteDeadlines => {
                "DELETE FROM endure_deadlines d \
                 USING UNNEST($1::text[], $2::text[], $3::bytea[]) AS k(namespace, workflow_id, run_id) \
                 WHERE d.namespace = k.namespace AND d.workflow_id = k.workflow_id \
                 AND d.run_id = k.run_id"
            }
            Self::UpsertDispatch => {
                "INSERT INTO endure_dispatch (namespace, task_queue, task_id, body) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::bytea[]) \
                 ON CONFLICT (namespace, task_queue, task_id) DO UPDATE SET body = excluded.body"
            }
            Self::DeleteDispatch => {
                "DELETE FROM endure_dispatch d \
                 USING UNNEST($1::text[], $2::text[], $3::int8[]) AS k(namespace, task_queue, task_id) \
                 WHERE d.namespace = k.namespace AND d.task_queue = k.task_queue \
                 AND d.task_id = k.task_id"
            }
            Self::UpsertVisibility => {
                "INSERT INTO endure_visibility (namespace, workflow_id, run_id, workflow_type, \
                 task_queue, status, start_time, close_time, body, search_terms) \
                 SELECT n, w, r, t, q, s, st, ct, b, string_to_array(terms, chr(31)) \
                 FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::text[], $5::text[], \
                 $6::int2[], $7::int8[], $8::int8[], $9::bytea[], $10::text[]) \
                 AS v(n, w, r, t, q, s, st, ct, b, terms) \
                 ON CONFLICT (namespace, workflow_id, run_id) DO UPDATE SET \
                 workflow_type = excluded.workflow_type, task_queue = excluded.task_queue, \
                 status = excluded.status, start_time = excluded.start_time, \
                 close_time = excluded.close_time, body = excluded.body, \
                 search_terms = excluded.search_terms"
            }
            Self::UpsertCurrentRuns => {
                "INSERT INTO endure_current_runs \
                 (namespace, workflow_id, run_id, status, start_request_id) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::int2[], \
                 $5::text[]) ON CONFLICT (namespace, workflow_id) DO UPDATE SET \
                 run_id = excluded.run_id, status = excluded.status, \
                 start_request_id = excluded.start_request_id"
            }
            Self::UpsertRequests => {
                "INSERT INTO endure_requests (namespace, workflow_id, request_id, run_id) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bytea[]) \
                 ON CONFLICT (namespace, workflow_id, request_id) DO UPDATE SET run_id = excluded.run_id"
            }
        }
    }
}

/// One statement to send: which, and its parameters.
pub(super) type Statement = (Op, Vec<Param>);

/// The rows accepted writes leave, merged by key since the last barrier.
#[derive(Default)]
struct Merged<'a> {
    executions: BTreeMap<RunKey, &'a ExecutionRow>,
    /// History batches: distinct first event ids, so never merged.
    history: Vec<(&'a ExecutionKey, &'a [endure_core::history::HistoryEvent])>,
    /// A run's deadline: set (shard, time) or cleared.
    deadlines: BTreeMap<RunKey, Option<(ShardId, endure_core::time::Timestamp)>>,
    /// A backlog row: present (inserted last) or absent (deleted last).
    dispatch: BTreeMap<(Namespace, TaskQueueName, u64), Option<&'a DispatchRow>>,
    visibility: BTreeMap<RunKey, &'a VisibilityRow>,
    current_runs: BTreeMap<(Namespace, WorkflowId), &'a CurrentRun>,
    requests: BTreeMap<(Namespace, WorkflowId, RequestId), &'a RequestRecord>,
}

fn run_key(key: &ExecutionKey) -> RunKey {
    (key.namespace.clone(), key.workflow_id.clone(), key.run_id)
}

/// The statements that apply `writes` (every one accepted) in order.
pub(super) fn plan(writes: &[&WorkflowWrite]) -> Result<Vec<Statement>, StorageError> {
    let mut statements = Vec::new();
    let mut merged = Merged::default();
    for write in writes {
        if let Some(deletion) = &write.deletion {
            std::mem::take(&mut merged).flush(&mut statements)?;
            for op in [
                Op::DeleteExecution,
                Op::DeleteHistory,
                Op::DeleteDeadline,
                Op::DeleteVisibility,
                Op::DeleteRequestsOfRun,
                Op::DeleteCurrentRunIfRun,
            ] {
                let key = &deletion.key;
                statements.push((
                    op,
                    vec![
                        Box::new(key.namespace.as_str().to_owned()),
                        Box::new(key.workflow_id.as_str().to_owned()),
                        Box::new(run_bytes(key.run_id)),
                    ],
                ));
            }
        }
        merged.add(write);
    }
    merged.flush(&mut statements)?;
    Ok(statements)
}

impl<'a> Merged<'a> {
    fn add(&mut self, write: &'a WorkflowWrite) {
        for run in &write.runs {
            let key = run_key(&run.row.key);
            if !run.history.is_empty() {
                self.history.push((&run.row.key, &run.history));
            }
            match run.deadline {
                DeadlineUpdate::Keep => {}
                DeadlineUpdate::Set(time) => {
                    self.deadlines
                        .insert(key.clone(), Some((run.row.shard, time)));
                }
                DeadlineUpdate::Clear => {
                    self.deadlines.insert(key.clone(), None);
                }
            }
            for row in &run.dispatch_inserts {
                self.dispatch.insert(
                    (row.namespace.clone(), row.task_queue.clone(), row.task_id),
                    Some(row),
                );
            }
            for deleted in &run.dispatch_deletes {
                self.dispatch.insert(
                    (
                        deleted.namespace.clone(),
                        deleted.task_queue.clone(),
                        deleted.task_id,
                    ),
                    None,
                );
            }
            if let Some(visibility) = &run.visibility {
                self.visibility.insert(key.clone(), visibility);
            }
            self.executions.insert(key, &run.row);
        }
        if let Some(current) = &write.current_run {
            self.current_runs.insert(
                (write.namespace.clone(), write.workflow_id.clone()),
                &current.new,
            );
        }
        for record in &write.request_ids {
            self.requests.insert(
                (
                    record.namespace.clone(),
                    record.workflow_id.clone(),
                    record.request_id.clone(),
                ),
                record,
            );
        }
    }

    /// Appends one statement per table and kind with rows, then forgets the rows.
    fn flush(self, statements: &mut Vec<Statement>) -> Result<(), StorageError> {
        // `decide` refused every write with a value beyond a column (`check_fits`), so a
        // failed conversion here is a bug.
        let fits = |result: Result<i64, WriteRejection>| {
            result.map_err(|rejection| StorageError::Corrupt {
                what: "a checked write".into(),
                reason: rejection.to_string(),
            })
        };
        if !self.executions.is_empty() {
            let mut columns = RunColumns::default();
            let mut shards = Vec::new();
            let mut versions = Vec::new();
            let mut next_ids = Vec::new();
            let mut statuses = Vec::new();
            let mut states = Vec::new();
            for (key, row) in &self.executions {
                columns.push(key);
                shards.push(shard_int(row.shard));
                versions.push(fits(to_bigint(row.db_version, "db version"))?);
                next_ids.push(fits(to_bigint(row.next_event_id.get(), "event id"))?);
                statuses.push(status_code(row.status));
                states.push(row.state.clone());
            }
            let mut params = columns.into_params();
            params.extend([
                Box::new(shards) as Param,
                Box::new(versions),
                Box::new(next_ids),
                Box::new(statuses),
                Box::new(states),
            ]);
            statements.push((Op::UpsertExecutions, params));
        }
        if !self.history.is_empty() {
            let mut columns = RunColumns::default();
            let mut firsts = Vec::new();
            let mut lasts = Vec::new();
            let mut bodies = Vec::new();
            for (key, events) in &self.history {
                let (Some(first), Some(last)) = (events.first(), events.last()) else {
                    continue;
                };
                columns.push(&run_key(key));
                firsts.push(fits(to_bigint(first.event_id.get(), "event id"))?);
                lasts.push(fits(to_bigint(last.event_id.get(), "event id"))?);
                bodies.push(encode(&History {
                    events: events.to_vec(),
                })?);
            }
            let mut params = columns.into_params();
            params.extend([Box::new(firsts) as Param, Box::new(lasts), Box::new(bodies)]);
            statements.push((Op::InsertHistory, params));
        }
        let (set, cleared): (Vec<_>, Vec<_>) = self
            .deadlines
            .iter()
            .partition(|(_, deadline)| deadline.is_some());
        if !set.is_empty() {
            let mut columns = RunColumns::default();
            let mut shards = Vec::new();
            let mut dues = Vec::new();
            for (key, deadline) in set {
                if let Some((shard, time)) = deadline {
                    columns.push(key);
                    shards.push(shard_int(*shard));
                    dues.push(fits(time_bigint(*time))?);
                }
            }
            let mut params = columns.into_params();
            params.extend([Box::new(shards) as Param, Box::new(dues)]);
            statements.push((Op::UpsertDeadlines, params));
        }
        if !cleared.is_empty() {
            let mut columns = RunColumns::default();
            for (key, _) in cleared {
                columns.push(key);
            }
            statements.push((Op::DeleteDeadlines, columns.into_params()));
        }
        let mut present = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut absent = (Vec::new(), Vec::new(), Vec::new());
        for ((namespace, queue, task_id), row) in &self.dispatch {
            let task_id = fits(to_bigint(*task_id, "task id"))?;
            match row {
                Some(row) => {
                    present.0.push(namespace.as_str().to_owned());
                    present.1.push(queue.as_str().to_owned());
                    present.2.push(task_id);
                    present.3.push(encode(*row)?);
                }
                None => {
                    absent.0.push(namespace.as_str().to_owned());
                    absent.1.push(queue.as_str().to_owned());
                    absent.2.push(task_id);
                }
            }
        }
        if !present.0.is_empty() {
            statements.push((
                Op::UpsertDispatch,
                vec![
                    Box::new(present.0),
                    Box::new(present.1),
                    Box::new(present.2),
                    Box::new(present.3),
                ],
            ));
        }
        if !absent.0.is_empty() {
            statements.push((
                Op::DeleteDispatch,
                vec![Box::new(absent.0), Box::new(absent.1), Box::new(absent.2)],
            ));
        }
        if !self.visibility.is_empty() {
            let mut columns = RunColumns::default();
            let mut types = Vec::new();
            let mut queues = Vec::new();
            let mut statuses = Vec::new();
            let mut starts = Vec::new();
            let mut closes: Vec<Option<i64>> = Vec::new();
            let mut bodies = Vec::new();
            // One string per row (an array of arrays does not unnest row by row): the
            // statement splits it at the separator, which no term holds.
            let mut terms = Vec::new();
            for (key, row) in &self.visibility {
                columns.push(key);
                types.push(row.workflow_type.as_str().to_owned());
                queues.push(row.task_queue.as_str().to_owned());
                statuses.push(status_code(row.status));
                starts.push(fits(time_bigint(row.start_time))?);
                closes.push(match row.close_time {
                    Some(time) => Some(fits(time_bigint(time))?),
                    None => None,
                });
                bodies.push(encode(*row)?);
                terms.push(search_terms(&row.search_attributes).join(&TERM_SEPARATOR.to_string()));
            }
            let mut params = columns.into_params();
            params.extend([
                Box::new(types) as Param,
                Box::new(queues),
                Box::new(statuses),
                Box::new(starts),
                Box::new(closes),
                Box::new(bodies),
                Box::new(terms),
            ]);
            statements.push((Op::UpsertVisibility, params));
        }
        if !self.current_runs.is_empty() {
            let mut namespaces = Vec::new();
            let mut workflows = Vec::new();
            let mut runs = Vec::new();
            let mut statuses = Vec::new();
            let mut requests: Vec<Option<String>> = Vec::new();
            for ((namespace, workflow_id), current) in &self.current_runs {
                namespaces.push(namespace.as_str().to_owned());
                workflows.push(workflow_id.as_str().to_owned());
                runs.push(run_bytes(current.run_id));
                statuses.push(status_code(current.status));
                requests.push(
                    current
                        .start_request_id
                        .as_ref()
                        .map(|id| id.as_str().to_owned()),
                );
            }
            statements.push((
                Op::UpsertCurrentRuns,
                vec![
                    Box::new(namespaces),
                    Box::new(workflows),
                    Box::new(runs),
                    Box::new(statuses),
                    Box::new(requests),
                ],
            ));
        }
        if !self.requests.is_empty() {
            let mut columns: (Vec<String>, Vec<String>, Vec<String>, Vec<Vec<u8>>) =
                Default::default();
            for record in self.requests.values() {
                columns.0.push(record.namespace.as_str().to_owned());
                columns.1.push(record.workflow_id.as_str().to_owned());
                columns.2.push(record.request_id.as_str().to_owned());
                columns.3.push(run_bytes(record.run_id));
            }
            statements.push((
                Op::UpsertRequests,
                vec![
                    Box::new(columns.0),
                    Box::new(columns.1),
                    Box::new(columns.2),
                    Box::new(columns.3),
                ],
            ));
        }
        Ok(())
    }
}

/// The key columns of many runs, as three arrays.
#[derive(Default)]
struct RunColumns {
    namespaces: Vec<String>,
    workflows: Vec<String>,
    runs: Vec<Vec<u8>>,
}

impl RunColumns {
    fn push(&mut self, (namespace, workflow_id, run_id): &RunKey) {
        self.namespaces.push(namespace.as_str().to_owned());
        self.workflows.push(workflow_id.as_str().to_owned());
        self.runs.push(run_bytes(*run_id));
    }

    fn into_params(self) -> Vec<Param> {
        vec![
            Box::new(self.namespaces),
            Box::new(self.workflows),
            Box::new(self.runs),
        ]
    }
}

/// A shard as an `INTEGER`.
pub(super) fn shard_int(shard: ShardId) -> i32 {
    i32::try_from(shard.0).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use endure_core::{EventId, WorkflowExecutionStatus};

    use super::super::fixtures::{row_of, write_of};
    use super::*;

    fn key(run: u128) -> ExecutionKey {
        ExecutionKey {
            namespace: Namespace::default(),
            workflow_id: WorkflowId::new("order").unwrap(),
            run_id: RunId::from_u128(run),
        }
    }

    fn dispatch(task_id: u64) -> DispatchRow {
        DispatchRow {
            namespace: Namespace::default(),
            task_queue: TaskQueueName::new("q").unwrap(),
            task_id,
            execution: key(1),
            task: DispatchTask::WorkflowTask {
                scheduled_event_id: EventId::FIRST,
                attempt: 1,
            },
            directive: None,
        }
    }

    fn write(version: u64) -> WorkflowWrite {
        let mut row = row_of(key(1), version, 1, WorkflowExecutionStatus::Running);
        row.state = Vec::new();
        write_of(RunCondition::DbVersion(version - 1), row)
    }

    fn ops(statements: &[Statement]) -> Vec<Op> {
        statements.iter().map(|(op, _)| *op).collect()
    }

    #[test]
    fn writes_of_a_batch_merge_into_one_statement_per_table() {
        let mut first = write(2);
        first.runs[0].dispatch_inserts = vec![dispatch(7)];
        first.runs[0].deadline =
            DeadlineUpdate::Set(endure_core::time::Timestamp::from_unix_seconds(5));
        let mut second = write(3);
        second.runs[0].dispatch_deletes = vec![dispatch(7).key()];
        second.runs[0].deadline = DeadlineUpdate::Clear;
        let statements = plan(&[&first, &second]).unwrap();
        // One execution upsert (the last version), the deadline cleared, and the backlog
        // row added then taken: deleted, never inserted.
        assert_eq!(
            ops(&statements),
            [
                Op::UpsertExecutions,
                Op::DeleteDeadlines,
                Op::DeleteDispatch
            ]
        );
        assert_eq!(statements[0].1.len(), 8);
    }

    #[test]
    fn a_deletion_is_a_barrier() {
        let created = write(2);
        let deletion = WorkflowWrite {
            runs: Vec::new(),
            deletion: Some(RunDeletion {
                key: key(1),
                db_version: 2,
            }),
            ..write(2)
        };
        let statements = plan(&[&created, &deletion]).unwrap();
        assert_eq!(
            ops(&statements),
            [
                Op::UpsertExecutions,
                Op::DeleteExecution,
                Op::DeleteHistory,
                Op::DeleteDeadline,
                Op::DeleteVisibility,
                Op::DeleteRequestsOfRun,
                Op::DeleteCurrentRunIfRun,
            ]
        );
    }
}
