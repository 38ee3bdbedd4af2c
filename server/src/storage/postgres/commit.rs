//! One group commit as one PostgreSQL transaction, in two round trips whatever the
//! batch's size ([`super::pipeline`]): (1) `BEGIN` and the reads every write is conditioned
//! on — the shards' ranges (locked `FOR SHARE`, so a new owner's `acquire_shard` waits for
//! this commit and then fences it out), the runs' versions, the current runs and the
//! request ids; (2) the writes the checks accepted ([`super::decide`]), every statement in
//! order, multi-row where a write has several rows of a table, and `COMMIT` behind them.
//! If any of those statements fails the transaction is aborted, and PostgreSQL answers the
//! `COMMIT` with a rollback, not an error — so the commit counts as done only when every
//! statement before it succeeded. A batch every write of which is rejected ends with a
//! `ROLLBACK` instead. On any error the caller discards the connection.

use endure_core::history::History;
use endure_core::storage::*;
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;

use super::columns::{Columns, encode, run_bytes, status_code, time_bigint, to_bigint};
use super::decide::{self, Reads, Snapshot};
use super::errors::PgError;
use super::pipeline::{self, Pending};

/// A parameter of a pipelined statement.
type Param = Box<dyn ToSql + Sync + Send>;

const READ_SHARDS: &str =
    "SELECT shard, range_id FROM endure_shards WHERE shard = ANY($1) FOR SHARE";
const READ_EXECUTIONS: &str = "SELECT e.namespace, e.workflow_id, e.run_id, e.shard, \
     e.db_version, e.next_event_id, e.status FROM endure_executions e \
     JOIN UNNEST($1::text[], $2::text[], $3::bytea[]) AS k(namespace, workflow_id, run_id) \
     ON e.namespace = k.namespace AND e.workflow_id = k.workflow_id AND e.run_id = k.run_id";
const READ_CURRENT_RUNS: &str = "SELECT c.namespace, c.workflow_id, c.run_id \
     FROM endure_current_runs c \
     JOIN UNNEST($1::text[], $2::text[]) AS k(namespace, workflow_id) \
     ON c.namespace = k.namespace AND c.workflow_id = k.workflow_id";
const READ_REQUESTS: &str = "SELECT r.namespace, r.workflow_id, r.request_id, r.run_id \
     FROM endure_requests r \
     JOIN UNNEST($1::text[], $2::text[], $3::text[]) AS k(namespace, workflow_id, request_id) \
     ON r.namespace = k.namespace AND r.workflow_id = k.workflow_id \
     AND r.request_id = k.request_id";

/// The statements of the write phase, by what they do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    DeleteExecution,
    DeleteHistory,
    DeleteDeadline,
    DeleteVisibility,
    DeleteRequestsOfRun,
    DeleteCurrentRunIfRun,
    InsertHistory,
    UpsertDeadline,
    InsertDispatch,
    DeleteDispatch,
    UpsertVisibility,
    UpsertExecution,
    UpsertCurrentRun,
    InsertRequests,
}

impl Op {
    const ALL: [Self; 14] = [
        Self::DeleteExecution,
        Self::DeleteHistory,
        Self::DeleteDeadline,
        Self::DeleteVisibility,
        Self::DeleteRequestsOfRun,
        Self::DeleteCurrentRunIfRun,
        Self::InsertHistory,
        Self::UpsertDeadline,
        Self::InsertDispatch,
        Self::DeleteDispatch,
        Self::UpsertVisibility,
        Self::UpsertExecution,
        Self::UpsertCurrentRun,
        Self::InsertRequests,
    ];

    fn sql(self) -> &'static str {
        match self {
            Self::DeleteExecution => {
                "DELETE FROM endure_executions WHERE namespace = $1 AND workflow_id = $2 AND run_id = $3"
            }
            Self::DeleteHistory => {
                "DELETE FROM endure_history WHERE namespace = $1 AND workflow_id = $2 AND run_id = $3"
            }
            Self::DeleteDeadline => {
                "DELETE FROM endure_deadlines WHERE namespace = $1 AND workflow_id = $2 AND run_id = $3"
            }
            Self::DeleteVisibility => {
                "DELETE FROM endure_visibility WHERE namespace = $1 AND workflow_id = $2 AND run_id = $3"
            }
            Self::DeleteRequestsOfRun => {
                "DELETE FROM endure_requests WHERE namespace = $1 AND workflow_id = $2 AND run_id = $3"
            }
            Self::DeleteCurrentRunIfRun => {
                "DELETE FROM endure_current_runs WHERE namespace = $1 AND workflow_id = $2 AND run_id = $3"
            }
            Self::InsertHistory => {
                "INSERT INTO endure_history \
                 (namespace, workflow_id, run_id, first_event_id, last_event_id, events) \
                 VALUES ($1, $2, $3, $4, $5, $6)"
            }
            Self::UpsertDeadline => {
                "INSERT INTO endure_deadlines (namespace, workflow_id, run_id, shard, due) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (namespace, workflow_id, run_id) \
                 DO UPDATE SET shard = excluded.shard, due = excluded.due"
            }
            Self::InsertDispatch => {
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
                 task_queue, status, start_time, close_time, body) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (namespace, workflow_id, run_id) DO UPDATE SET \
                 workflow_type = excluded.workflow_type, task_queue = excluded.task_queue, \
                 status = excluded.status, start_time = excluded.start_time, \
                 close_time = excluded.close_time, body = excluded.body"
            }
            Self::UpsertExecution => {
                "INSERT INTO endure_executions (namespace, workflow_id, run_id, shard, \
                 db_version, next_event_id, status, state) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (namespace, workflow_id, run_id) DO UPDATE SET \
                 shard = excluded.shard, db_version = excluded.db_version, \
                 next_event_id = excluded.next_event_id, status = excluded.status, \
                 state = excluded.state"
            }
            Self::UpsertCurrentRun => {
                "INSERT INTO endure_current_runs \
                 (namespace, workflow_id, run_id, status, start_request_id) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (namespace, workflow_id) DO UPDATE SET \
                 run_id = excluded.run_id, status = excluded.status, \
                 start_request_id = excluded.start_request_id"
            }
            Self::InsertRequests => {
                "INSERT INTO endure_requests (namespace, workflow_id, request_id, run_id) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bytea[]) \
                 ON CONFLICT (namespace, workflow_id, request_id) DO UPDATE SET run_id = excluded.run_id"
            }
        }
    }
}

/// What one commit cost: round trips to the database and rows written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Cost {
    /// Round trips (waits for the database's answer).
    pub(super) round_trips: u64,
    /// Rows inserted, updated or deleted.
    pub(super) rows: u64,
}

/// Runs the batch in one transaction on `client`. Nothing is applied unless it returns
/// `Ok`; a driver error says whether a retry may help ([`PgError::disposition`]). After an
/// error the connection may be inside a transaction: discard it.
pub(super) async fn commit(
    client: &deadpool_postgres::Object,
    writes: &[WorkflowWrite],
    cost: &mut Cost,
) -> Result<Vec<Result<(), WriteRejection>>, PgError> {
    let mut reads_prepared = Vec::with_capacity(READS.len());
    for sql in READS {
        reads_prepared.push(client.prepare_cached(sql).await?);
    }
    let mut statements = Vec::with_capacity(Op::ALL.len());
    for op in Op::ALL {
        statements.push(client.prepare_cached(op.sql()).await?);
    }
    let mut snapshot = read_snapshot(client, &reads_prepared, &decide::reads(writes)).await?;
    cost.round_trips += 1;
    let results = decide::decide(&mut snapshot, writes);
    let accepted: Vec<&WorkflowWrite> = writes
        .iter()
        .zip(&results)
        .filter(|(_, result)| result.is_ok())
        .map(|(write, _)| write)
        .collect();
    if accepted.is_empty() {
        client.batch_execute("ROLLBACK").await?;
        cost.round_trips += 1;
        return Ok(results);
    }
    let mut plan = Vec::new();
    for write in accepted {
        plan_write(write, &mut plan).map_err(PgError::Store)?;
    }
    let mut pipeline: Vec<Pending<'_, u64>> = plan
        .iter()
        .map(|(op, params)| {
            let statement: &Statement = &statements[*op as usize];
            let statement: Pending<'_, u64> = Box::pin(
                client.execute_raw(
                    statement,
                    params
                        .iter()
                        .map(|param| param.as_ref() as &(dyn ToSql + Sync)),
                ),
            );
            statement
        })
        .collect();
    pipeline.push(Box::pin(async {
        client.batch_execute("COMMIT").await.map(|()| 0)
    }));
    // Every answer is Ok only if every statement succeeded, so the COMMIT committed.
    let rows = pipeline::in_order(pipeline).await?;
    cost.round_trips += 1;
    cost.rows += rows.iter().sum::<u64>();
    Ok(results)
}

/// The reads, in the order `read_snapshot` takes their prepared statements.
const READS: [&str; 4] = [
    READ_SHARDS,
    READ_EXECUTIONS,
    READ_CURRENT_RUNS,
    READ_REQUESTS,
];

/// Opens the transaction and reads what the checks need, in one round trip.
async fn read_snapshot(
    client: &deadpool_postgres::Object,
    prepared: &[Statement],
    reads: &Reads,
) -> Result<Snapshot, PgError> {
    let shards: Vec<i32> = reads.shards.iter().map(|shard| shard_int(*shard)).collect();
    let (exec_namespaces, exec_workflows, exec_runs) = {
        let mut columns = (Vec::new(), Vec::new(), Vec::new());
        for key in &reads.executions {
            columns.0.push(key.namespace.as_str());
            columns.1.push(key.workflow_id.as_str());
            columns.2.push(run_bytes(key.run_id));
        }
        columns
    };
    let (current_namespaces, current_workflows): (Vec<&str>, Vec<&str>) = reads
        .workflows
        .iter()
        .map(|(namespace, workflow_id)| (namespace.as_str(), workflow_id.as_str()))
        .unzip();
    let mut request_columns = (Vec::new(), Vec::new(), Vec::new());
    for (namespace, workflow_id, request_id) in &reads.requests {
        request_columns.0.push(namespace.as_str());
        request_columns.1.push(workflow_id.as_str());
        request_columns.2.push(request_id.as_str());
    }
    let shard_params: [&(dyn ToSql + Sync); 1] = [&shards];
    let execution_params: [&(dyn ToSql + Sync); 3] =
        [&exec_namespaces, &exec_workflows, &exec_runs];
    let current_params: [&(dyn ToSql + Sync); 2] = [&current_namespaces, &current_workflows];
    let request_params: [&(dyn ToSql + Sync); 3] =
        [&request_columns.0, &request_columns.1, &request_columns.2];
    // Sent in this order: BEGIN first, then the reads inside the transaction.
    let mut answers = pipeline::in_order(vec![
        Box::pin(async { client.batch_execute("BEGIN").await.map(|()| Vec::new()) }),
        Box::pin(client.query(&prepared[0], &shard_params)),
        Box::pin(client.query(&prepared[1], &execution_params)),
        Box::pin(client.query(&prepared[2], &current_params)),
        Box::pin(client.query(&prepared[3], &request_params)),
    ])
    .await?
    .into_iter()
    .skip(1);
    let mut next = || answers.next().unwrap_or_default();
    let (shard_rows, execution_rows, current_rows, request_rows) = (next(), next(), next(), next());
    let mut snapshot = Snapshot::default();
    for row in &shard_rows {
        let what = || "a shard row".to_owned();
        let columns = Columns::new(row, &what);
        snapshot.ranges.insert(
            ShardId(columns.integer(0).map_err(PgError::Store)?),
            RangeId(columns.unsigned(1).map_err(PgError::Store)?),
        );
    }
    for row in &execution_rows {
        let what = || "an execution row".to_owned();
        let columns = Columns::new(row, &what);
        let stored = (|| {
            Ok::<_, StorageError>(ExecutionRow {
                key: columns.execution_key(0)?,
                shard: ShardId(columns.integer(3)?),
                db_version: columns.unsigned(4)?,
                next_event_id: columns.event_id(5)?,
                status: columns.status(6)?,
                state: Vec::new(),
            })
        })()
        .map_err(PgError::Store)?;
        snapshot.executions.insert(stored.key.clone(), stored);
    }
    for row in &current_rows {
        let what = || "a current-run row".to_owned();
        let columns = Columns::new(row, &what);
        let key = columns.execution_key(0).map_err(PgError::Store)?;
        snapshot
            .current_runs
            .insert((key.namespace, key.workflow_id), key.run_id);
    }
    for row in &request_rows {
        let what = || "a request row".to_owned();
        let columns = Columns::new(row, &what);
        let record = request_record(&columns).map_err(PgError::Store)?;
        snapshot.requests.insert(
            (
                record.namespace.clone(),
                record.workflow_id.clone(),
                record.request_id.clone(),
            ),
            record,
        );
    }
    Ok(snapshot)
}

/// A request row: namespace, workflow id, request id, run id.
pub(super) fn request_record(columns: &Columns<'_>) -> Result<RequestRecord, StorageError> {
    let corrupt = |error: endure_core::ValidationError| StorageError::Corrupt {
        what: "a request row".into(),
        reason: error.to_string(),
    };
    Ok(RequestRecord {
        namespace: endure_core::Namespace::new(columns.text(0)?).map_err(corrupt)?,
        workflow_id: endure_core::WorkflowId::new(columns.text(1)?).map_err(corrupt)?,
        request_id: endure_core::RequestId::new(columns.text(2)?).map_err(corrupt)?,
        run_id: columns.run_id(3)?,
    })
}

/// The key columns of a run: namespace, workflow id, run id.
fn run_params(key: &ExecutionKey) -> Vec<Param> {
    vec![
        Box::new(key.namespace.as_str().to_owned()),
        Box::new(key.workflow_id.as_str().to_owned()),
        Box::new(run_bytes(key.run_id)),
    ]
}

/// Appends the statements of one accepted write, in the order the model applies them.
fn plan_write(write: &WorkflowWrite, plan: &mut Vec<(Op, Vec<Param>)>) -> Result<(), StorageError> {
    // `decide` refused every write with a value beyond a column (`check_fits`).
    let malformed = |rejection: WriteRejection| StorageError::Corrupt {
        what: "a checked write".into(),
        reason: rejection.to_string(),
    };
    if let Some(deletion) = &write.deletion {
        for op in [
            Op::DeleteExecution,
            Op::DeleteHistory,
            Op::DeleteDeadline,
            Op::DeleteVisibility,
            Op::DeleteRequestsOfRun,
            Op::DeleteCurrentRunIfRun,
        ] {
            plan.push((op, run_params(&deletion.key)));
        }
    }
    for run in &write.runs {
        let key = &run.row.key;
        if let (Some(first), Some(last)) = (run.history.first(), run.history.last()) {
            let mut params = run_params(key);
            params.push(Box::new(
                to_bigint(first.event_id.get(), "event id").map_err(malformed)?,
            ));
            params.push(Box::new(
                to_bigint(last.event_id.get(), "event id").map_err(malformed)?,
            ));
            params.push(Box::new(encode(&History {
                events: run.history.clone(),
            })?));
            plan.push((Op::InsertHistory, params));
        }
        match run.deadline {
            DeadlineUpdate::Keep => {}
            DeadlineUpdate::Set(time) => {
                let mut params = run_params(key);
                params.push(Box::new(shard_int(run.row.shard)));
                params.push(Box::new(time_bigint(time).map_err(malformed)?));
                plan.push((Op::UpsertDeadline, params));
            }
            DeadlineUpdate::Clear => plan.push((Op::DeleteDeadline, run_params(key))),
        }
        if !run.dispatch_inserts.is_empty() {
            let mut namespaces = Vec::new();
            let mut queues = Vec::new();
            let mut ids = Vec::new();
            let mut bodies = Vec::new();
            for row in &run.dispatch_inserts {
                namespaces.push(row.namespace.as_str().to_owned());
                queues.push(row.task_queue.as_str().to_owned());
                ids.push(to_bigint(row.task_id, "task id").map_err(malformed)?);
                bodies.push(encode(row)?);
            }
            plan.push((
                Op::InsertDispatch,
                vec![
                    Box::new(namespaces),
                    Box::new(queues),
                    Box::new(ids),
                    Box::new(bodies),
                ],
            ));
        }
        if !run.dispatch_deletes.is_empty() {
            let mut namespaces = Vec::new();
            let mut queues = Vec::new();
            let mut ids = Vec::new();
            for dispatch in &run.dispatch_deletes {
                namespaces.push(dispatch.namespace.as_str().to_owned());
                queues.push(dispatch.task_queue.as_str().to_owned());
                ids.push(to_bigint(dispatch.task_id, "task id").map_err(malformed)?);
            }
            plan.push((
                Op::DeleteDispatch,
                vec![Box::new(namespaces), Box::new(queues), Box::new(ids)],
            ));
        }
        if let Some(visibility) = &run.visibility {
            let mut params = run_params(key);
            params.push(Box::new(visibility.workflow_type.as_str().to_owned()));
            params.push(Box::new(visibility.task_queue.as_str().to_owned()));
            params.push(Box::new(status_code(visibility.status)));
            params.push(Box::new(
                time_bigint(visibility.start_time).map_err(malformed)?,
            ));
            let close = match visibility.close_time {
                Some(time) => Some(time_bigint(time).map_err(malformed)?),
                None => None,
            };
            params.push(Box::new(close));
            params.push(Box::new(encode(visibility)?));
            plan.push((Op::UpsertVisibility, params));
        }
        let mut params = run_params(key);
        params.push(Box::new(shard_int(run.row.shard)));
        params.push(Box::new(
            to_bigint(run.row.db_version, "db version").map_err(malformed)?,
        ));
        params.push(Box::new(
            to_bigint(run.row.next_event_id.get(), "event id").map_err(malformed)?,
        ));
        params.push(Box::new(status_code(run.row.status)));
        params.push(Box::new(run.row.state.clone()));
        plan.push((Op::UpsertExecution, params));
    }
    if let Some(current) = &write.current_run {
        plan.push((
            Op::UpsertCurrentRun,
            vec![
                Box::new(write.namespace.as_str().to_owned()),
                Box::new(write.workflow_id.as_str().to_owned()),
                Box::new(run_bytes(current.new.run_id)),
                Box::new(status_code(current.new.status)),
                Box::new(
                    current
                        .new
                        .start_request_id
                        .as_ref()
                        .map(|id| id.as_str().to_owned()),
                ),
            ],
        ));
    }
    if !write.request_ids.is_empty() {
        let mut columns: (Vec<String>, Vec<String>, Vec<String>, Vec<Vec<u8>>) = Default::default();
        for record in &write.request_ids {
            columns.0.push(record.namespace.as_str().to_owned());
            columns.1.push(record.workflow_id.as_str().to_owned());
            columns.2.push(record.request_id.as_str().to_owned());
            columns.3.push(run_bytes(record.run_id));
        }
        plan.push((
            Op::InsertRequests,
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

/// A shard as an `INTEGER`.
pub(super) fn shard_int(shard: ShardId) -> i32 {
    i32::try_from(shard.0).unwrap_or(i32::MAX)
}
