//! The cluster's part of the port on PostgreSQL: `endure_members` and
//! `endure_shard_leases`, timed by the database's clock (`clock_timestamp()`), so no
//! node's clock is ever compared with another's.
//!
//! A lease lives in its own table, apart from the range in `endure_shards`, so that a
//! renewal — every few seconds per shard — never takes the lock that commits share on
//! the range row. Only an acquire bumps the range, inside a transaction that first locks
//! the lease row: two nodes racing for one shard serialise there, and the range bump
//! waits for any commit of the old range still in flight.

use std::time::Duration;

use endure_core::cluster::{Member, NodeName, ShardLease};
use endure_core::storage::{Acquired, ClusterStore, MemberRecord, RangeId, ShardId, StorageError};

use super::columns::Columns;
use super::{PostgresStorage, shard_int};

/// A duration as the milliseconds a statement adds to `clock_timestamp()`.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Milliseconds from now to a `TIMESTAMPTZ` expression, never negative.
macro_rules! remaining_ms {
    ($column:literal) => {
        concat!(
            "GREATEST(0, floor(EXTRACT(EPOCH FROM (",
            $column,
            " - clock_timestamp())) * 1000))::int8"
        )
    };
}

const LEASES: &str = concat!(
    "SELECT s.shard, s.range_id, \
     CASE WHEN l.range_id = s.range_id THEN l.owner END, \
     CASE WHEN l.range_id = s.range_id AND l.owner IS NOT NULL THEN ",
    remaining_ms!("l.expires"),
    " ELSE 0 END \
     FROM endure_shards s LEFT JOIN endure_shard_leases l ON l.shard = s.shard \
     ORDER BY s.shard"
);

const LEASE_OF: &str = concat!(
    "SELECT l.shard, s.range_id, \
     CASE WHEN l.range_id = s.range_id THEN l.owner END, \
     CASE WHEN l.range_id = s.range_id AND l.owner IS NOT NULL THEN ",
    remaining_ms!("l.expires"),
    " ELSE 0 END \
     FROM endure_shard_leases l LEFT JOIN endure_shards s ON s.shard = l.shard \
     WHERE l.shard = $1 FOR UPDATE OF l"
);

const MEMBERS: &str = concat!(
    "SELECT node, address, ",
    "GREATEST(0, floor(EXTRACT(EPOCH FROM (clock_timestamp() - heartbeat)) * 1000))::int8, ",
    remaining_ms!("expires"),
    " FROM endure_members WHERE expires > clock_timestamp() ORDER BY node COLLATE \"C\""
);

const RENEW: &str = "UPDATE endure_shard_leases l \
     SET expires = clock_timestamp() + $4::int8 * interval '1 millisecond' \
     FROM endure_shards s \
     WHERE l.shard = $1 AND s.shard = $1 AND l.owner = $2 AND l.range_id = $3 AND s.range_id = $3";

const RELEASE: &str = "UPDATE endure_shard_leases l SET owner = NULL, expires = NULL \
     FROM endure_shards s \
     WHERE l.shard = $1 AND s.shard = $1 AND l.owner = $2 AND l.range_id = $3 AND s.range_id = $3";

/// A lease row read back as the port's view; `range_id` NULL (no range row yet) is 0.
fn lease(row: &tokio_postgres::Row) -> Result<ShardLease, StorageError> {
    let what = || "a shard lease".to_owned();
    let columns = Columns::new(row, &what);
    let owner = columns
        .optional_text(2)?
        .map(|owner| {
            NodeName::new(owner).map_err(|error| StorageError::Corrupt {
                what: what(),
                reason: error.to_string(),
            })
        })
        .transpose()?;
    let range: Option<i64> = row.try_get(1).map_err(|error| StorageError::Corrupt {
        what: what(),
        reason: error.to_string(),
    })?;
    Ok(ShardLease {
        shard: ShardId(columns.integer(0)?),
        range: RangeId(range.map_or(0, |range| range.max(0) as u64)),
        owner,
        remaining: Duration::from_millis(columns.unsigned(3)?),
    })
}

impl ClusterStore for PostgresStorage {
    async fn heartbeat(&self, member: &Member, ttl: Duration) -> Result<(), StorageError> {
        self.query(
            "INSERT INTO endure_members (node, address, heartbeat, expires) \
             VALUES ($1, $2, clock_timestamp(), clock_timestamp() + $3::int8 * interval '1 millisecond') \
             ON CONFLICT (node) DO UPDATE SET address = EXCLUDED.address, \
             heartbeat = EXCLUDED.heartbeat, expires = EXCLUDED.expires",
            &[&member.node.as_str(), &member.address, &millis(ttl)],
        )
        .await
        .map(drop)
    }

    async fn leave(&self, node: &NodeName) -> Result<(), StorageError> {
        self.query(
            "DELETE FROM endure_members WHERE node = $1",
            &[&node.as_str()],
        )
        .await
        .map(drop)
    }

    async fn members(&self) -> Result<Vec<MemberRecord>, StorageError> {
        let rows = self.query(MEMBERS, &[]).await?;
        rows.iter()
            .map(|row| {
                let what = || "a member row".to_owned();
                let columns = Columns::new(row, &what);
                let corrupt = |error: endure_core::cluster::NodeNameError| StorageError::Corrupt {
                    what: what(),
                    reason: error.to_string(),
                };
                let node = NodeName::new(columns.text(0)?).map_err(corrupt)?;
                Ok(MemberRecord {
                    member: Member::new(node, columns.text(1)?).map_err(corrupt)?,
                    heartbeat_age: Duration::from_millis(columns.unsigned(2)?),
                    remaining: Duration::from_millis(columns.unsigned(3)?),
                })
            })
            .collect()
    }

    async fn shard_leases(&self) -> Result<Vec<ShardLease>, StorageError> {
        self.query(LEASES, &[]).await?.iter().map(lease).collect()
    }

    async fn acquire_lease(
        &self,
        shard: ShardId,
        node: &NodeName,
        duration: Duration,
    ) -> Result<Acquired, StorageError> {
        let mut client = self.client().await?;
        let transaction = client
            .transaction()
            .await
            .map_err(|error| self.fail(error.into()))?;
        let shard_param = shard_int(shard);
        let step = async {
            transaction
                .execute(
                    "INSERT INTO endure_shard_leases (shard, owner, range_id, expires) \
                     VALUES ($1, NULL, 0, NULL) ON CONFLICT (shard) DO NOTHING",
                    &[&shard_param],
                )
                .await?;
            let current = transaction.query_one(LEASE_OF, &[&shard_param]).await?;
            Ok::<_, tokio_postgres::Error>(current)
        };
        let current = step.await.map_err(|error| self.fail(error.into()))?;
        let current = lease(&current)?;
        if !current.takeable_by(node) {
            transaction
                .rollback()
                .await
                .map_err(|error| self.fail(error.into()))?;
            return Ok(Acquired::Held(current));
        }
        let step = async {
            let bumped = transaction
                .query_one(
                    "INSERT INTO endure_shards (shard, range_id) VALUES ($1, 1) \
                     ON CONFLICT (shard) DO UPDATE SET range_id = endure_shards.range_id + 1 \
                     RETURNING range_id",
                    &[&shard_param],
                )
                .await?;
            let range: i64 = bumped.try_get(0)?;
            transaction
                .execute(
                    "UPDATE endure_shard_leases SET owner = $2, range_id = $3, \
                     expires = clock_timestamp() + $4::int8 * interval '1 millisecond' \
                     WHERE shard = $1",
                    &[&shard_param, &node.as_str(), &range, &millis(duration)],
                )
                .await?;
            transaction.commit().await?;
            Ok::<_, tokio_postgres::Error>(range)
        };
        let range = step.await.map_err(|error| self.fail(error.into()))?;
        Ok(Acquired::Taken(RangeId(range.max(0) as u64)))
    }

    async fn renew_lease(
        &self,
        shard: ShardId,
        node: &NodeName,
        range: RangeId,
        duration: Duration,
    ) -> Result<bool, StorageError> {
        let range = i64::try_from(range.0).unwrap_or(i64::MAX);
        let client = self.client().await?;
        let statement = client
            .prepare_cached(RENEW)
            .await
            .map_err(|error| self.fail(error.into()))?;
        let changed = client
            .execute(
                &statement,
                &[&shard_int(shard), &node.as_str(), &range, &millis(duration)],
            )
            .await
            .map_err(|error| self.fail(error.into()))?;
        Ok(changed == 1)
    }

    async fn release_lease(
        &self,
        shard: ShardId,
        node: &NodeName,
        range: RangeId,
    ) -> Result<bool, StorageError> {
        let range = i64::try_from(range.0).unwrap_or(i64::MAX);
        let client = self.client().await?;
        let statement = client
            .prepare_cached(RELEASE)
            .await
            .map_err(|error| self.fail(error.into()))?;
        let changed = client
            .execute(&statement, &[&shard_int(shard), &node.as_str(), &range])
            .await
            .map_err(|error| self.fail(error.into()))?;
        Ok(changed == 1)
    }
}
