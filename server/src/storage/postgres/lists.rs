//! Listing and counting runs: the SQL part of a visibility query ([`super::visibility`])
//! run over the visibility table in list order, and each row it returns checked by the
//! query itself, so the answer is exactly the model's.

use endure_core::Namespace;
use endure_core::storage::{StorageError, VisibilityQuery, VisibilityRow};
use futures_util::{StreamExt, pin_mut};
use tokio_postgres::types::ToSql;

use super::columns::Columns;
use super::{PostgresStorage, visibility};

impl PostgresStorage {
    /// Runs of a namespace matching `query`, in list order, skipping `offset`, at most
    /// `limit`.
    pub(super) async fn list(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<VisibilityRow>, StorageError> {
        let mut found = Vec::new();
        self.scan_visibility(namespace, query, |row| {
            found.push(row);
            found.len() < offset.saturating_add(limit)
        })
        .await?;
        Ok(found.into_iter().skip(offset).take(limit).collect())
    }

    /// The number of runs of a namespace matching `query`: a SQL count when the SQL says
    /// it exactly, else the rows counted as they are checked.
    pub(super) async fn count(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
    ) -> Result<u64, StorageError> {
        let pushed = visibility::pushdown(namespace, query);
        if pushed.exact {
            let sql = format!(
                "SELECT count(*) FROM endure_visibility WHERE {}",
                pushed.where_sql()
            );
            let params: Vec<&(dyn ToSql + Sync)> = pushed
                .params
                .iter()
                .map(|param| param.as_ref() as &(dyn ToSql + Sync))
                .collect();
            // Not kept prepared: filters come in endless shapes, and a connection's cache of
            // statements would grow with each.
            let client = self.client().await?;
            let rows = client
                .query(sql.as_str(), &params)
                .await
                .map_err(|error| self.fail(error.into()))?;
            let what = || "a visibility count".to_owned();
            return match rows.first() {
                Some(row) => Columns::new(row, &what).unsigned(0),
                None => Ok(0),
            };
        }
        let mut count = 0;
        self.scan_visibility(namespace, query, |_| {
            count += 1;
            true
        })
        .await?;
        Ok(count)
    }

    /// Streams the rows of `query` in list order (latest start first, then workflow id,
    /// then run id) to `take` until it returns `false`: the SQL part of the query narrows
    /// the rows, the filter checks each.
    async fn scan_visibility(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
        mut take: impl FnMut(VisibilityRow) -> bool,
    ) -> Result<(), StorageError> {
        let pushed = visibility::pushdown(namespace, query);
        let sql = format!(
            "SELECT body FROM endure_visibility WHERE {} \
             ORDER BY start_time DESC, workflow_id COLLATE \"C\", run_id",
            pushed.where_sql()
        );
        let client = self.client().await?;
        // Prepared for this scan only (dropped after it): filters come in endless shapes.
        let statement = client
            .prepare(&sql)
            .await
            .map_err(|error| self.fail(error.into()))?;
        let params = pushed
            .params
            .iter()
            .map(|param| param.as_ref() as &(dyn ToSql + Sync));
        let stream = client
            .query_raw(&statement, params)
            .await
            .map_err(|error| self.fail(error.into()))?;
        pin_mut!(stream);
        while let Some(row) = stream.next().await {
            let row = row.map_err(|error| self.fail(error.into()))?;
            let what = || format!("a visibility row of {namespace}");
            let visibility: VisibilityRow = Columns::new(&row, &what).record(0)?;
            if query.matches(&visibility) && !take(visibility) {
                break;
            }
        }
        Ok(())
    }
}
