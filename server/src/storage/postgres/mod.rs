//! The PostgreSQL adapter of the Storage port (cargo feature `postgres`), for deployments
//! that outgrow one file: `tokio-postgres` behind a `deadpool-postgres` pool, prepared
//! statements, one transaction per group commit (`commit.rs`).
//!
//! Rows keep the columns that lists, deadlines, dispatch and leases query as real columns
//! with indexes ([`schema`]); a run's state, history batches, dispatch rows, visibility rows
//! and namespace records are `BYTEA` bodies in the project's versioned encoding, as in the
//! redb store. Failures (`errors.rs`): a serialization failure or deadlock reruns the
//! commit; a lost or refused connection is [`StorageError::Unavailable`] (the pool
//! reconnects and the engine retries); anything else stops the store, as an IO error stops
//! the redb one.

mod cluster;
mod columns;
mod commit;
mod databases;
mod decide;
mod errors;
#[cfg(test)]
mod fixtures;
mod lists;
mod optimistic;
mod pipeline;
mod plan;
pub mod schema;
pub mod testing;
mod visibility;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use endure_core::codec;
use endure_core::history::History;
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::{EventId, Namespace, RequestId, TaskQueueName, WorkflowId};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

use self::columns::{Columns, encode, run_bytes};
use self::errors::{Disposition, PgError, classify};
pub use self::schema::SchemaStatus;

/// How the store connects.
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// Connections in the pool (reads share them; a commit takes one).
    pub pool_size: usize,
    /// Apply missing schema migrations when opening (`false`: refuse a database that is
    /// behind, for operators who run `endure admin schema migrate` themselves).
    pub migrate: bool,
    /// How long a call waits for a connection before the database counts as unavailable.
    pub connect_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            migrate: true,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Commits rerun after a serialization failure or deadlock before the error is returned.
const COMMIT_ATTEMPTS_MAX: u32 = 8;

/// Reads of the shard count before a store that answers none counts as corrupt (a read
/// racing the first insert answers none once).
const SHARD_COUNT_ATTEMPTS: usize = 3;

/// History batches read per round trip while filling a page.
const HISTORY_BATCHES_PER_READ: i64 = 64;

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PostgresStorage {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    stopped: AtomicBool,
    /// Why it stopped: the first fatal failure.
    cause: OnceLock<String>,
    commits: AtomicU64,
    round_trips: AtomicU64,
    rows_written: AtomicU64,
}

/// What the store's group commits cost so far (for `endure bench`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PostgresCounts {
    /// Transactions committed (group commits with at least one accepted write).
    pub commits: u64,
    /// Round trips the group commits waited for.
    pub round_trips: u64,
    /// Rows the group commits inserted, updated or deleted.
    pub rows_written: u64,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("stopped", &self.inner.stopped.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A connection URL that does not parse.
fn bad_url(error: impl std::fmt::Display) -> StorageError {
    StorageError::Database {
        code: "endure:url".into(),
        message: format!(
            "the PostgreSQL URL does not parse ({error}); write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE"
        ),
    }
}

/// Run on every new connection: plan each prepared statement once for any parameters
/// (`plan_cache_mode = force_generic_plan`) rather than again for every call's values. The
/// store's statements are keyed lookups and `UNNEST`s of arrays, whose best plan does not
/// depend on the values; planning them per call was most of PostgreSQL's CPU per
/// transition (measured: latency p50 4.05 → 3.43 ms, steps 2.48 → 1.49 ms a step). Set
/// only where the setting exists (PostgreSQL 12 and later), so older Postgres-wire
/// databases connect unchanged.
const GENERIC_PLANS: &str = "SELECT set_config('plan_cache_mode', 'force_generic_plan', false) \
     WHERE current_setting('plan_cache_mode', true) IS NOT NULL";

fn pool(url: &str, options: &PostgresOptions) -> Result<Pool, StorageError> {
    let mut config: tokio_postgres::Config = url.parse().map_err(bad_url)?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(options.connect_timeout);
    }
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .post_create(deadpool_postgres::Hook::async_fn(|client, _| {
            Box::pin(async move {
                client
                    .batch_execute(GENERIC_PLANS)
                    .await
                    .map_err(deadpool_postgres::HookError::Backend)
            })
        }))
        .max_size(options.pool_size.max(1))
        .wait_timeout(Some(options.connect_timeout))
        .create_timeout(Some(options.connect_timeout))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|error| StorageError::Database {
            code: "endure:pool".into(),
            message: error.to_string(),
        })
}

impl PostgresStorage {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`),
    /// applies the schema migrations it lacks (unless `options.migrate` is off) and
    /// refuses a schema newer than this build.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<Self, StorageError> {
        let pool = pool(url, &options)?;
        let mut client = pool
            .get()
            .await
            .map_err(|error| classify(PgError::from(error)))?;
        let status = if options.migrate {
            schema::migrate(&mut client).await?
        } else {
            schema::status(&**client).await?
        };
        if status.applied > status.latest {
            return Err(schema::too_new(&status));
        }
        if status.applied < status.latest {
            return Err(StorageError::Database {
                code: "endure:schema".into(),
                message: format!(
                    "the database's schema is at version {}, this build needs {}; run `endure admin schema migrate`",
                    status.applied, status.latest
                ),
            });
        }
        drop(client);
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                stopped: AtomicBool::new(false),
                cause: OnceLock::new(),
                commits: AtomicU64::new(0),
                round_trips: AtomicU64::new(0),
                rows_written: AtomicU64::new(0),
            }),
        })
    }

    /// Creates database `name` (dropping one of that name first) on the server `server`
    /// names (a URL of any database there; the role needs `CREATEDB`) and returns its URL.
    /// `name` must be lowercase letters, digits and `_`.
    pub async fn create_database(server: &str, name: &str) -> Result<String, StorageError> {
        databases::create(server, name).await
    }

    /// Drops database `name` on the server `server` names, closing its connections.
    pub async fn drop_database(server: &str, name: &str) -> Result<(), StorageError> {
        databases::drop_named(server, name).await
    }

    /// What the group commits cost so far.
    pub fn counts(&self) -> PostgresCounts {
        PostgresCounts {
            commits: self.inner.commits.load(Ordering::Relaxed),
            round_trips: self.inner.round_trips.load(Ordering::Relaxed),
            rows_written: self.inner.rows_written.load(Ordering::Relaxed),
        }
    }

    /// Whether the database makes a commit durable before acknowledging it
    /// (`synchronous_commit` and `fsync` on).
    pub async fn commits_are_durable(&self) -> Result<bool, StorageError> {
        let rows = self
            .query(
                "SELECT current_setting('synchronous_commit'), current_setting('fsync')",
                &[],
            )
            .await?;
        let what = || "the database's settings".to_owned();
        let Some(row) = rows.first() else {
            return Ok(false);
        };
        let columns = Columns::new(row, &what);
        Ok(columns.text(0)? != "off" && columns.text(1)? == "on")
    }

    /// Where the database's schema stands against this build, changing nothing.
    pub async fn schema_status(url: &str) -> Result<SchemaStatus, StorageError> {
        let pool = pool(url, &PostgresOptions::default())?;
        let client = pool
            .get()
            .await
            .map_err(|error| classify(PgError::from(error)))?;
        schema::status(&**client).await
    }

    /// Applies the migrations the database lacks and returns the new status.
    pub async fn migrate(url: &str) -> Result<SchemaStatus, StorageError> {
        let pool = pool(url, &PostgresOptions::default())?;
        let mut client = pool
            .get()
            .await
            .map_err(|error| classify(PgError::from(error)))?;
        schema::migrate(&mut client).await
    }

    /// A pooled connection, unless the store is stopped.
    async fn client(&self) -> Result<deadpool_postgres::Object, StorageError> {
        if let Some(cause) = self.stopped() {
            return Err(StorageError::Stopped { cause });
        }
        self.inner
            .pool
            .get()
            .await
            .map_err(|error| self.fail(PgError::from(error)))
    }

    /// The storage error a failure becomes; a fatal one stops the store (logged once).
    fn fail(&self, error: PgError) -> StorageError {
        let fatal = error.disposition() == Disposition::Fatal;
        let error = classify(error);
        if fatal && !matches!(error, StorageError::Corrupt { .. }) {
            let cause = error.to_string();
            if self.inner.cause.set(cause.clone()).is_ok() {
                tracing::error!(%cause, "the PostgreSQL store is stopped");
            }
            self.inner.stopped.store(true, Ordering::Release);
        }
        error
    }

    /// Runs `sql` as a statement prepared once per connection and kept (the store's fixed
    /// statements).
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StorageError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(sql)
            .await
            .map_err(|error| self.fail(error.into()))?;
        client
            .query(&statement, params)
            .await
            .map_err(|error| self.fail(error.into()))
    }
}

fn shard_int(shard: ShardId) -> i32 {
    plan::shard_int(shard)
}

fn limit_bigint(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl Storage for PostgresStorage {
    fn stopped(&self) -> Option<String> {
        self.inner
            .stopped
            .load(Ordering::Acquire)
            .then(|| self.inner.cause.get().cloned().unwrap_or_default())
    }

    async fn shard_count(&self, proposed: u32) -> Result<u32, StorageError> {
        let proposed = i64::from(proposed);
        // A store whose count was never kept has as many as it holds; the first caller's
        // insert wins and every later one reads it. A caller racing the first one waits
        // for its insert, does nothing, and reads with a snapshot from before it: no row.
        // The statement run again then reads the winner's.
        let mut rows = Vec::new();
        for _ in 0..SHARD_COUNT_ATTEMPTS {
            rows = self
                .query(
                    "WITH held AS (SELECT (max(shard) + 1)::bigint AS count FROM endure_shards), \
                     inserted AS (INSERT INTO endure_meta (key, value) \
                     SELECT 'shard_count', COALESCE((SELECT count FROM held), $1::bigint) \
                     ON CONFLICT (key) DO NOTHING RETURNING value) \
                     SELECT value FROM inserted UNION ALL \
                     SELECT value FROM endure_meta WHERE key = 'shard_count'",
                    &[&proposed],
                )
                .await?;
            if !rows.is_empty() {
                break;
            }
        }
        let what = || "the shard count".to_owned();
        let row = rows.first().ok_or_else(|| StorageError::Corrupt {
            what: what(),
            reason: "no row".into(),
        })?;
        let count = Columns::new(row, &what).unsigned(0)?;
        u32::try_from(count).map_err(|_| StorageError::Corrupt {
            what: what(),
            reason: format!("{count} is not a shard count"),
        })
    }

    async fn acquire_shard(&self, shard: ShardId) -> Result<RangeId, StorageError> {
        let rows = self
            .query(
                "INSERT INTO endure_shards (shard, range_id) VALUES ($1, 1) \
                 ON CONFLICT (shard) DO UPDATE SET range_id = endure_shards.range_id + 1 \
                 RETURNING range_id",
                &[&shard_int(shard)],
            )
            .await?;
        let what = || format!("shard {}", shard.0);
        let row = rows.first().ok_or_else(|| StorageError::Corrupt {
            what: what(),
            reason: "no row returned".into(),
        })?;
        Ok(RangeId(Columns::new(row, &what).unsigned(0)?))
    }

    async fn commit(
        &self,
        writes: Vec<WorkflowWrite>,
    ) -> Result<Vec<Result<(), WriteRejection>>, StorageError> {
        let mut attempt = 0;
        loop {
            let client = self.client().await?;
            let mut cost = commit::Cost::default();
            let outcome = commit::commit(&client, &writes, &mut cost).await;
            self.inner
                .round_trips
                .fetch_add(cost.round_trips, Ordering::Relaxed);
            match outcome {
                Ok(results) => {
                    if cost.rows > 0 {
                        self.inner.commits.fetch_add(1, Ordering::Relaxed);
                        self.inner
                            .rows_written
                            .fetch_add(cost.rows, Ordering::Relaxed);
                    }
                    return Ok(results);
                }
                Err(error) => {
                    // It may hold an open or aborted transaction: never reuse it.
                    drop(deadpool_postgres::Object::take(client));
                    if error.disposition() == Disposition::Retry
                        && attempt + 1 < COMMIT_ATTEMPTS_MAX
                    {
                        attempt += 1;
                        tracing::debug!(?error, attempt, "commit conflicted; running it again");
                        tokio::time::sleep(Duration::from_millis(2 << attempt.min(6))).await;
                    } else {
                        return Err(self.fail(error));
                    }
                }
            }
        }
    }

    async fn load_execution(
        &self,
        key: &ExecutionKey,
    ) -> Result<Option<ExecutionRow>, StorageError> {
        let rows = self
            .query(
                "SELECT shard, db_version, next_event_id, status, state FROM endure_executions \
                 WHERE namespace = $1 AND workflow_id = $2 AND run_id = $3",
                &[
                    &key.namespace.as_str(),
                    &key.workflow_id.as_str(),
                    &run_bytes(key.run_id),
                ],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let what = || format!("execution {key:?}");
        let columns = Columns::new(row, &what);
        Ok(Some(ExecutionRow {
            key: key.clone(),
            shard: ShardId(columns.integer(0)?),
            db_version: columns.unsigned(1)?,
            next_event_id: columns.event_id(2)?,
            status: columns.status(3)?,
            state: columns.bytes(4)?,
        }))
    }

    async fn current_run(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
    ) -> Result<Option<CurrentRun>, StorageError> {
        let rows = self
            .query(
                "SELECT run_id, status, start_request_id FROM endure_current_runs \
                 WHERE namespace = $1 AND workflow_id = $2",
                &[&namespace.as_str(), &workflow_id.as_str()],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let what = || format!("current run of {workflow_id:?}");
        let columns = Columns::new(row, &what);
        let start_request_id = match columns.optional_text(2)? {
            Some(text) => Some(RequestId::new(text).map_err(|error| StorageError::Corrupt {
                what: what(),
                reason: error.to_string(),
            })?),
            None => None,
        };
        Ok(Some(CurrentRun {
            run_id: columns.run_id(0)?,
            status: columns.status(1)?,
            start_request_id,
        }))
    }

    async fn read_history(
        &self,
        key: &ExecutionKey,
        first_event_id: EventId,
    ) -> Result<HistoryPage, StorageError> {
        let run = run_bytes(key.run_id);
        let mut events = Vec::new();
        let mut bytes = 0;
        let mut after = i64::MIN;
        let first = i64::try_from(first_event_id.get()).unwrap_or(i64::MAX);
        loop {
            let rows = self
                .query(
                    "SELECT first_event_id, events FROM endure_history \
                     WHERE namespace = $1 AND workflow_id = $2 AND run_id = $3 \
                     AND last_event_id >= $4 AND first_event_id > $5 \
                     ORDER BY first_event_id LIMIT $6",
                    &[
                        &key.namespace.as_str(),
                        &key.workflow_id.as_str(),
                        &run,
                        &first,
                        &after,
                        &HISTORY_BATCHES_PER_READ,
                    ],
                )
                .await?;
            let fetched = rows.len();
            for row in &rows {
                let what = || format!("history of {key:?}");
                let columns = Columns::new(row, &what);
                after = i64::try_from(columns.unsigned(0)?).unwrap_or(i64::MAX);
                let batch: History = columns.record(1)?;
                for event in batch.events {
                    if event.event_id < first_event_id {
                        continue;
                    }
                    bytes += codec::encoded_size(&event);
                    events.push(event);
                }
            }
            // Enough for a page (and one event more, to name the next page), or no more.
            if bytes > HISTORY_PAGE_BYTES_MAX || fetched < HISTORY_BATCHES_PER_READ as usize {
                break;
            }
        }
        Ok(HistoryPage::cut(events))
    }

    async fn due_deadlines(
        &self,
        shard: ShardId,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<DeadlineRow>, StorageError> {
        let until = i64::try_from(until.unix_nanos()).unwrap_or(i64::MAX);
        let rows = self
            .query(
                "SELECT namespace, workflow_id, run_id, due FROM endure_deadlines \
                 WHERE shard = $1 AND due <= $2 \
                 ORDER BY due, namespace COLLATE \"C\", workflow_id COLLATE \"C\", run_id \
                 LIMIT $3",
                &[&shard_int(shard), &until, &limit_bigint(limit)],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let what = || format!("a deadline of shard {}", shard.0);
                let columns = Columns::new(row, &what);
                Ok(DeadlineRow {
                    time: columns.time(3)?,
                    execution: columns.execution_key(0)?,
                })
            })
            .collect()
    }

    async fn dispatch_rows(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        limit: usize,
    ) -> Result<Vec<DispatchRow>, StorageError> {
        let rows = self
            .query(
                "SELECT body FROM endure_dispatch WHERE namespace = $1 AND task_queue = $2 \
                 ORDER BY task_id LIMIT $3",
                &[
                    &namespace.as_str(),
                    &task_queue.as_str(),
                    &limit_bigint(limit),
                ],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let what = || format!("a backlog row of {task_queue:?}");
                Columns::new(row, &what).record(0)
            })
            .collect()
    }

    async fn find_request(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        request_id: &RequestId,
    ) -> Result<Option<RequestRecord>, StorageError> {
        let rows = self
            .query(
                "SELECT namespace, workflow_id, request_id, run_id FROM endure_requests \
                 WHERE namespace = $1 AND workflow_id = $2 AND request_id = $3",
                &[
                    &namespace.as_str(),
                    &workflow_id.as_str(),
                    &request_id.as_str(),
                ],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let what = || format!("request {request_id:?}");
        commit::request_record(&Columns::new(row, &what)).map(Some)
    }

    async fn list_visibility(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<VisibilityRow>, StorageError> {
        self.list(namespace, query, offset, limit).await
    }

    async fn count_visibility(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
    ) -> Result<u64, StorageError> {
        self.count(namespace, query).await
    }

    async fn put_namespace(
        &self,
        record: NamespaceRecord,
        expected: Option<u64>,
    ) -> Result<Result<(), WriteRejection>, StorageError> {
        let follows = record.version == expected.map_or(1, |version| version.saturating_add(1));
        let written = follows && {
            let body = encode(&record)?;
            let version = i64::try_from(record.version).unwrap_or(i64::MAX);
            let rows = match expected {
                None => {
                    self.query(
                        "INSERT INTO endure_namespaces (name, version, body) VALUES ($1, $2, $3) \
                         ON CONFLICT (name) DO NOTHING RETURNING version",
                        &[&record.name.as_str(), &version, &body],
                    )
                    .await?
                }
                Some(expected) => {
                    let expected = i64::try_from(expected).unwrap_or(i64::MAX);
                    self.query(
                        "UPDATE endure_namespaces SET version = $2, body = $3 \
                         WHERE name = $1 AND version = $4 RETURNING version",
                        &[&record.name.as_str(), &version, &body, &expected],
                    )
                    .await?
                }
            };
            !rows.is_empty()
        };
        if written {
            return Ok(Ok(()));
        }
        // Not written: say why, as the model does, from what is stored.
        let stored = self.namespace(&record.name).await?;
        Ok(Err(check_namespace_condition(
            &record,
            expected,
            stored.as_ref(),
        )
        .err()
        .unwrap_or(WriteRejection::NamespaceConditionFailed {
            name: record.name.clone(),
            expected,
            actual: stored.map(|stored| stored.version),
        })))
    }

    async fn namespace(&self, name: &Namespace) -> Result<Option<NamespaceRecord>, StorageError> {
        let rows = self
            .query(
                "SELECT body FROM endure_namespaces WHERE name = $1",
                &[&name.as_str()],
            )
            .await?;
        let what = || format!("namespace {name}");
        rows.first()
            .map(|row| Columns::new(row, &what).record(0))
            .transpose()
    }

    async fn list_namespaces(&self) -> Result<Vec<NamespaceRecord>, StorageError> {
        let rows = self
            .query(
                "SELECT body FROM endure_namespaces ORDER BY name COLLATE \"C\"",
                &[],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let what = || "a namespace".to_owned();
                Columns::new(row, &what).record(0)
            })
            .collect()
    }
}
