//! The PostgreSQL schema: numbered migrations, applied in order and recorded in
//! `endure_schema_version`, one transaction each.
//!
//! Kept to SQL that CockroachDB and YugabyteDB accept too: plain tables and indexes, no
//! advisory locks, no LISTEN/NOTIFY, no extensions. Queries that order by text say
//! `COLLATE "C"` (byte order, as the engine's ids order), and the indexes they use are
//! built with it.

use tokio_postgres::GenericClient;

use super::errors::{PgError, classify};
use endure_core::storage::StorageError;

/// One migration: its version, what it does, and its statements.
#[derive(Debug)]
pub struct Migration {
    /// Its number; versions run 1, 2, 3… without gaps.
    pub version: i32,
    /// What it changes, for `endure admin schema status`.
    pub description: &'static str,
    sql: &'static str,
}

/// Every migration this build knows, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "tables of the Storage port (format version 4 bodies)",
        sql: r#"
CREATE TABLE IF NOT EXISTS endure_meta (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS endure_shards (
    shard INTEGER PRIMARY KEY,
    range_id BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS endure_executions (
    namespace TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id BYTEA NOT NULL,
    shard INTEGER NOT NULL,
    db_version BIGINT NOT NULL,
    next_event_id BIGINT NOT NULL,
    status SMALLINT NOT NULL,
    state BYTEA NOT NULL,
    PRIMARY KEY (namespace, workflow_id, run_id)
) WITH (fillfactor = 80);
CREATE TABLE IF NOT EXISTS endure_current_runs (
    namespace TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id BYTEA NOT NULL,
    status SMALLINT NOT NULL,
    start_request_id TEXT,
    PRIMARY KEY (namespace, workflow_id)
) WITH (fillfactor = 80);
CREATE TABLE IF NOT EXISTS endure_history (
    namespace TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id BYTEA NOT NULL,
    first_event_id BIGINT NOT NULL,
    last_event_id BIGINT NOT NULL,
    events BYTEA NOT NULL,
    PRIMARY KEY (namespace, workflow_id, run_id, first_event_id)
);
CREATE TABLE IF NOT EXISTS endure_deadlines (
    namespace TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id BYTEA NOT NULL,
    shard INTEGER NOT NULL,
    due BIGINT NOT NULL,
    PRIMARY KEY (namespace, workflow_id, run_id)
) WITH (fillfactor = 80);
CREATE INDEX IF NOT EXISTS endure_deadlines_due
    ON endure_deadlines (shard, due, namespace COLLATE "C", workflow_id COLLATE "C", run_id);
CREATE TABLE IF NOT EXISTS endure_dispatch (
    namespace TEXT NOT NULL,
    task_queue TEXT NOT NULL,
    task_id BIGINT NOT NULL,
    body BYTEA NOT NULL,
    PRIMARY KEY (namespace, task_queue, task_id)
);
CREATE TABLE IF NOT EXISTS endure_requests (
    namespace TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    run_id BYTEA NOT NULL,
    PRIMARY KEY (namespace, workflow_id, request_id)
);
CREATE TABLE IF NOT EXISTS endure_visibility (
    namespace TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id BYTEA NOT NULL,
    workflow_type TEXT NOT NULL,
    task_queue TEXT NOT NULL,
    status SMALLINT NOT NULL,
    start_time BIGINT NOT NULL,
    close_time BIGINT,
    body BYTEA NOT NULL,
    search_terms TEXT[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (namespace, workflow_id, run_id)
) WITH (fillfactor = 80);
CREATE INDEX IF NOT EXISTS endure_visibility_by_start
    ON endure_visibility (namespace, start_time DESC, workflow_id COLLATE "C", run_id);
CREATE INDEX IF NOT EXISTS endure_visibility_by_type
    ON endure_visibility (namespace, workflow_type, start_time DESC);
CREATE INDEX IF NOT EXISTS endure_visibility_by_status
    ON endure_visibility (namespace, status, start_time DESC);
CREATE INDEX IF NOT EXISTS endure_visibility_terms
    ON endure_visibility USING GIN (search_terms);
CREATE TABLE IF NOT EXISTS endure_namespaces (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    body BYTEA NOT NULL
);
"#,
    },
    Migration {
        version: 2,
        description: "cluster member rows and shard leases",
        sql: r#"
CREATE TABLE IF NOT EXISTS endure_members (
    node TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    heartbeat TIMESTAMPTZ NOT NULL,
    expires TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS endure_shard_leases (
    shard INTEGER PRIMARY KEY,
    owner TEXT,
    range_id BIGINT NOT NULL,
    expires TIMESTAMPTZ
);
"#,
    },
];

/// The newest schema version this build knows.
pub fn latest_version() -> i32 {
    MIGRATIONS.last().map_or(0, |migration| migration.version)
}

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS endure_schema_version (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)";

/// Where a database's schema stands against this build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaStatus {
    /// The newest version applied (0: none).
    pub applied: i32,
    /// The newest version this build knows.
    pub latest: i32,
}

impl SchemaStatus {
    /// Migrations this build would apply.
    pub fn pending(&self) -> impl Iterator<Item = &'static Migration> + '_ {
        MIGRATIONS
            .iter()
            .filter(move |migration| migration.version > self.applied)
    }
}

/// The applied version, read without changing anything (0 for an empty database).
pub(super) async fn status(client: &impl GenericClient) -> Result<SchemaStatus, StorageError> {
    let applied = if !version_table_exists(client).await? {
        0
    } else {
        client
            .query_one(
                "SELECT COALESCE(max(version), 0) FROM endure_schema_version",
                &[],
            )
            .await
            .map_err(|error| classify(PgError::from(error)))?
            .try_get::<_, i32>(0)
            .map_err(|error| classify(PgError::from(error)))?
    };
    Ok(SchemaStatus {
        applied,
        latest: latest_version(),
    })
}

async fn version_table_exists(client: &impl GenericClient) -> Result<bool, StorageError> {
    let row = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_name = 'endure_schema_version' AND table_schema = current_schema()",
            &[],
        )
        .await
        .map_err(|error| classify(PgError::from(error)))?;
    let count: i64 = row
        .try_get(0)
        .map_err(|error| classify(PgError::from(error)))?;
    Ok(count > 0)
}

/// Why the schema cannot be used by this build.
pub(super) fn too_new(status: &SchemaStatus) -> StorageError {
    StorageError::Database {
        code: "endure:schema".into(),
        message: format!(
            "the database's schema is at version {}, newer than this build knows ({}); upgrade Endure before pointing it at this database",
            status.applied, status.latest
        ),
    }
}

/// Applies every migration the database lacks, each in its own transaction, and returns
/// the resulting status. Refuses a schema newer than this build. Two servers migrating
/// at once do not both apply a migration: the second one's insert of the version row
/// conflicts, its transaction rolls back, and it reads the version again.
pub(super) async fn migrate(
    client: &mut tokio_postgres::Client,
) -> Result<SchemaStatus, StorageError> {
    if !version_table_exists(&*client).await? {
        match client
            .batch_execute(VERSION_TABLE)
            .await
            .map_err(PgError::from)
        {
            Ok(()) => {}
            // Another server created it at the same moment: PostgreSQL's catalog refuses
            // the second `CREATE TABLE IF NOT EXISTS` of a race (a unique violation, or
            // "type endure_schema_version already exists"). It exists now.
            Err(error) if error.is_concurrent_creation() => {}
            Err(error) => return Err(classify(error)),
        }
    }
    let mut conflicts = 0;
    loop {
        let current = status(&*client).await?;
        if current.applied > current.latest {
            return Err(too_new(&current));
        }
        let Some(next) = current.pending().next() else {
            return Ok(current);
        };
        match apply(client, next).await {
            Ok(()) => {
                tracing::info!(
                    version = next.version,
                    description = next.description,
                    "applied a schema migration"
                );
            }
            // Someone else applied it first: read the version again.
            Err(error) if error.is_unique_violation() && conflicts < 8 => conflicts += 1,
            Err(error) => return Err(classify(error)),
        }
    }
}

async fn apply(client: &mut tokio_postgres::Client, migration: &Migration) -> Result<(), PgError> {
    let transaction = client.transaction().await?;
    transaction
        .execute(
            "INSERT INTO endure_schema_version (version, description) VALUES ($1, $2)",
            &[&migration.version, &migration.description],
        )
        .await?;
    transaction.batch_execute(migration.sql).await?;
    transaction.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_run_without_gaps() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, index + 1);
        }
        assert_eq!(latest_version() as usize, MIGRATIONS.len());
    }

    #[test]
    fn pending_migrations_are_those_above_the_applied_version() {
        let fresh = SchemaStatus {
            applied: 0,
            latest: latest_version(),
        };
        assert_eq!(fresh.pending().count(), MIGRATIONS.len());
        let current = SchemaStatus {
            applied: latest_version(),
            latest: latest_version(),
        };
        assert_eq!(current.pending().count(), 0);
    }
}
