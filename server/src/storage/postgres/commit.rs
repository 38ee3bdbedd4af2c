//! One group commit as one PostgreSQL transaction. When the batch's writes are independent
//! of one another it takes one round trip ([`super::optimistic`]); otherwise, or when a
//! condition failed, two whatever the batch's size ([`super::pipeline`]): (1) `BEGIN` and the reads every write is conditioned
//! on — the shards' ranges (locked `FOR SHARE`, so a new owner's `acquire_shard` waits for
//! this commit and then fences it out), the runs' versions, the current runs and the
//! request ids; (2) the writes the checks accepted ([`super::decide`]), merged into one
//! multi-row statement per table ([`super::plan`]), and `COMMIT` behind them.
//! If any of those statements fails the transaction is aborted, and PostgreSQL answers the
//! `COMMIT` with a rollback, not an error — so the commit counts as done only when every
//! statement before it succeeded. A batch every write of which is rejected ends with a
//! `ROLLBACK` instead. On any error the caller discards the connection.

use endure_core::storage::*;
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;

use super::columns::{Columns, run_bytes};
use super::decide::{self, Reads, Snapshot};
use super::errors::PgError;
use super::optimistic::{self, Check};
use super::pipeline::{self, Pending};
use super::plan::{self, Op, shard_int};

const READ_SHARDS: &str =
    "SELECT shard, range_id FROM endure_shards WHERE shard = ANY($1) FOR SHARE";
const READ_EXECUTIONS: &str = "SELECT e.namespace, e.workflow_id, e.run_id, \
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
    if let Some(check) = Check::of(writes) {
        let check_statement = client.prepare_cached(optimistic::CHECK).await?;
        if at_once(client, &check_statement, &check, &statements, writes, cost).await? {
            return Ok(writes.iter().map(|_| Ok(())).collect());
        }
    }
    let mut snapshot = read_snapshot(client, &reads_prepared, &decide::reads(writes)).await?;
    cost.round_trips += 1;
    let results = decide::decide(&mut snapshot, writes).map_err(PgError::Store)?;
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
    let plan = plan::plan(&accepted).map_err(PgError::Store)?;
    let mut pipeline = writes_of(client, &statements, &plan);
    pipeline.push(Box::pin(async {
        client.batch_execute("COMMIT").await.map(|()| 0)
    }));
    // Every answer is Ok only if every statement succeeded, so the COMMIT committed.
    let rows = pipeline::in_order(pipeline).await?;
    cost.round_trips += 1;
    cost.rows += rows.iter().sum::<u64>();
    Ok(results)
}

/// The statements of `plan`, each answering the rows it wrote.
fn writes_of<'a>(
    client: &'a deadpool_postgres::Object,
    statements: &'a [Statement],
    plan: &'a [plan::Statement],
) -> Vec<Pending<'a, u64>> {
    plan.iter()
        .map(|(op, params)| {
            let statement: Pending<'_, u64> = Box::pin(
                client.execute_raw(
                    &statements[*op as usize],
                    params
                        .iter()
                        .map(|param| param.as_ref() as &(dyn ToSql + Sync)),
                ),
            );
            statement
        })
        .collect()
}

/// Commits every write of the batch in one round trip ([`super::optimistic`]): `BEGIN`,
/// the check of every condition, the writes and `COMMIT`, pipelined. `Ok(false)`: a
/// condition failed, nothing was applied, and the connection is out of its transaction
/// again (the `COMMIT` rolled it back), ready for the careful path.
async fn at_once(
    client: &deadpool_postgres::Object,
    check_statement: &Statement,
    check: &Check,
    statements: &[Statement],
    writes: &[WorkflowWrite],
    cost: &mut Cost,
) -> Result<bool, PgError> {
    let all: Vec<&WorkflowWrite> = writes.iter().collect();
    let plan = plan::plan(&all).map_err(PgError::Store)?;
    let check_params = check.params();
    let mut pipeline: Vec<Pending<'_, u64>> = Vec::with_capacity(plan.len() + 3);
    pipeline.push(Box::pin(async {
        client.batch_execute("BEGIN").await.map(|()| 0)
    }));
    pipeline.push(Box::pin(async {
        client
            .execute_raw(
                check_statement,
                check_params
                    .iter()
                    .map(|param| param.as_ref() as &(dyn ToSql + Sync)),
            )
            .await
            .map(|_| 0)
    }));
    pipeline.extend(writes_of(client, statements, &plan));
    pipeline.push(Box::pin(async {
        client.batch_execute("COMMIT").await.map(|()| 0)
    }));
    let mut answers = pipeline::every_answer(pipeline).await;
    cost.round_trips += 1;
    if let Some(Err(error)) = answers.get(1)
        && optimistic::is_condition_failure(error)
    {
        // The statements after the check did nothing; the COMMIT answered a rollback.
        return match answers.pop() {
            Some(Ok(_)) => Ok(false),
            Some(Err(error)) => Err(error.into()),
            None => Ok(false),
        };
    }
    // Every answer is Ok only if every statement succeeded, so the COMMIT committed.
    let rows: Vec<u64> = answers.into_iter().collect::<Result<_, _>>()?;
    cost.rows += rows.iter().sum::<u64>();
    Ok(true)
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
            Ok::<_, StorageError>((
                columns.execution_key(0)?,
                StoredRun {
                    db_version: columns.unsigned(3)?,
                    next_event_id: columns.event_id(4)?,
                    status: columns.status(5)?,
                },
            ))
        })()
        .map_err(PgError::Store)?;
        snapshot.executions.insert(stored.0, stored.1);
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
