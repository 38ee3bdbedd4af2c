//! `endure admin check`: a store file checked page by page and record by record
//! (`endure_server::storage::check`), for an operator who suspects corruption; and
//! `endure admin schema status|migrate` for a PostgreSQL store.

use endure_core::storage::StorageError;
use endure_server::storage::PostgresStorage;
use endure_server::storage::check as check_store;

use crate::args::{AdminCheckArgs, PostgresArgs, SchemaCommand};
use crate::error::CliError;
use crate::render::say;

/// Checks the file, prints what it holds and any damage; a corrupt file is an error (exit 6).
pub(crate) fn check(args: &AdminCheckArgs) -> Result<(), CliError> {
    let path = args.db.display();
    if !args.db.exists() {
        return Err(CliError::Usage(format!("{path} does not exist")));
    }
    let report = match check_store(&args.db) {
        Ok(report) => report,
        Err(StorageError::InUse) => {
            return Err(CliError::Server(format!(
                "{path} is open in another process; stop the server using it, then check it"
            )));
        }
        Err(error @ (StorageError::Corrupt { .. } | StorageError::Panicked(_))) => {
            return Err(CliError::Corrupt(format!(
                "{path} is corrupt: {error}. Restore it from a backup; the engine refuses to serve from it"
            )));
        }
        Err(error) => return Err(CliError::Server(format!("cannot check {path}: {error}"))),
    };
    for (table, records) in &report.tables {
        say(format!("{table:<16} {records:>12} records"))?;
    }
    if report.log_records > 0 {
        say(format!(
            "write-ahead log: {} records not yet in the file (the next start applies them)",
            report.log_records
        ))?;
    }
    if report.is_sound() {
        return say(format!(
            "{path} is sound: every page verified and every record decoded"
        ));
    }
    for problem in &report.problems {
        say(format!("damaged: {problem}"))?;
    }
    let unlisted = report.problem_count - report.problems.len() as u64;
    if unlisted > 0 {
        say(format!("… and {unlisted} more"))?;
    }
    Err(CliError::Corrupt(format!(
        "{path} is corrupt: {} records do not decode. Restore it from a backup",
        report.problem_count
    )))
}

/// `endure admin schema status|migrate`: prints the applied and latest versions and the
/// migrations pending (or just applied).
pub(crate) async fn schema(command: SchemaCommand) -> Result<(), CliError> {
    let (args, migrate): (&PostgresArgs, bool) = match &command {
        SchemaCommand::Status(args) => (args, false),
        SchemaCommand::Migrate(args) => (args, true),
    };
    let shown = crate::server::redact(&args.postgres);
    let failed = |error: StorageError| CliError::Server(format!("{shown}: {error}"));
    let before = PostgresStorage::schema_status(&args.postgres)
        .await
        .map_err(failed)?;
    if before.applied > before.latest {
        return Err(CliError::Server(format!(
            "{shown}: the schema is at version {}, newer than this build knows ({}); upgrade Endure",
            before.applied, before.latest
        )));
    }
    if !migrate {
        say(format!(
            "schema version {} of {} (this build's latest)",
            before.applied, before.latest
        ))?;
        for pending in before.pending() {
            say(format!(
                "pending: {} {}",
                pending.version, pending.description
            ))?;
        }
        return Ok(());
    }
    let after = PostgresStorage::migrate(&args.postgres)
        .await
        .map_err(failed)?;
    for applied in before.pending() {
        say(format!(
            "applied: {} {}",
            applied.version, applied.description
        ))?;
    }
    say(format!(
        "schema version {} of {} (up to date)",
        after.applied, after.latest
    ))
}
