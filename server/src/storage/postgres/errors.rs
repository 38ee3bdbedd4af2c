//! What a PostgreSQL failure means to the store: retry the transaction (serialization
//! failure, deadlock), report the database unavailable (connection refused or lost, server
//! shutting down — not fail-stop, the pool reconnects), or stop (anything else).

use endure_core::storage::StorageError;
use tokio_postgres::error::SqlState;

/// A failure of the driver or of the pool.
#[derive(Debug)]
pub(super) enum PgError {
    /// The driver's error (a statement refused, the connection lost…).
    Driver(tokio_postgres::Error),
    /// The pool could not hand out a connection.
    Pool(String),
    /// A row did not decode or a record did not encode: no retry fixes it.
    Store(StorageError),
}

impl From<tokio_postgres::Error> for PgError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Driver(error)
    }
}

impl From<deadpool_postgres::PoolError> for PgError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(error) => Self::Driver(error),
            other => Self::Pool(other.to_string()),
        }
    }
}

/// What to do about a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Disposition {
    /// Run the transaction again: nothing of it was applied.
    Retry,
    /// The database is unreachable: report it; a later call may succeed.
    Unavailable,
    /// No retry fixes it: stop the store.
    Fatal,
}

impl PgError {
    fn code(&self) -> Option<&SqlState> {
        match self {
            Self::Driver(error) => error.code(),
            Self::Pool(_) | Self::Store(_) => None,
        }
    }

    /// Whether a unique constraint refused an insert.
    pub(super) fn is_unique_violation(&self) -> bool {
        self.code() == Some(&SqlState::UNIQUE_VIOLATION)
    }

    /// Whether a `CREATE … IF NOT EXISTS` lost a race with another session's: PostgreSQL's
    /// catalog then refuses it as a unique violation, or — when the other's table (and its
    /// row type) was already there — as a duplicate table or type.
    pub(super) fn is_concurrent_creation(&self) -> bool {
        [
            SqlState::UNIQUE_VIOLATION,
            SqlState::DUPLICATE_TABLE,
            SqlState::DUPLICATE_OBJECT,
        ]
        .iter()
        .any(|code| self.code() == Some(code))
    }

    /// What to do about it.
    pub(super) fn disposition(&self) -> Disposition {
        match self {
            Self::Pool(_) => Disposition::Unavailable,
            Self::Store(_) => Disposition::Fatal,
            Self::Driver(error) => match error.code() {
                Some(code) => disposition_of(code.code()),
                // No SQLSTATE: the connection failed (closed, IO, timeout) or a row did not
                // convert. A closed or failed connection is unavailability; anything else is
                // a bug or corruption.
                None if error.is_closed() || is_io(error) => Disposition::Unavailable,
                None => Disposition::Fatal,
            },
        }
    }
}

fn is_io(error: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    // Connection errors without an IO cause (the server closed the socket) say so.
    let text = error.to_string();
    text.contains("connection") || text.contains("timed out")
}

/// The disposition of a SQLSTATE.
pub(super) fn disposition_of(code: &str) -> Disposition {
    match code {
        // serialization_failure, deadlock_detected: the transaction did nothing.
        "40001" | "40P01" => Disposition::Retry,
        // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections.
        "57P01" | "57P02" | "57P03" | "53300" => Disposition::Unavailable,
        // Class 08: connection exceptions.
        code if code.starts_with("08") => Disposition::Unavailable,
        _ => Disposition::Fatal,
    }
}

/// The storage error a failure becomes (for `Retry`, once retries are spent).
pub(super) fn classify(error: PgError) -> StorageError {
    let disposition = error.disposition();
    let (code, message) = match error {
        PgError::Store(error) => return error,
        PgError::Pool(message) => ("none".to_owned(), message),
        PgError::Driver(driver) => (
            driver
                .code()
                .map_or_else(|| "none".to_owned(), |code| code.code().to_owned()),
            driver
                .as_db_error()
                .map_or_else(|| driver.to_string(), |db| db.message().to_owned()),
        ),
    };
    match disposition {
        Disposition::Unavailable => StorageError::Unavailable(message),
        Disposition::Retry | Disposition::Fatal => StorageError::Database { code, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_map_to_what_a_retry_can_fix() {
        assert_eq!(disposition_of("40001"), Disposition::Retry);
        assert_eq!(disposition_of("40P01"), Disposition::Retry);
        assert_eq!(disposition_of("57P01"), Disposition::Unavailable);
        assert_eq!(disposition_of("08006"), Disposition::Unavailable);
        assert_eq!(disposition_of("53300"), Disposition::Unavailable);
        assert_eq!(disposition_of("23505"), Disposition::Fatal);
        assert_eq!(disposition_of("42P01"), Disposition::Fatal);
        assert_eq!(
            classify(PgError::Pool("timed out".into())),
            StorageError::Unavailable("timed out".into())
        );
    }
}
