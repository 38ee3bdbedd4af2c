//! Creating and dropping whole databases on a server, for benchmarks and tests that want a
//! database of their own (the role in the URL needs `CREATEDB`).

use endure_core::storage::StorageError;
use tokio_postgres::NoTls;

use super::errors::{PgError, classify};

/// Whether `name` is safe to paste into `CREATE DATABASE` (an identifier cannot be a
/// parameter): lowercase letters, digits and underscores, starting with a letter.
fn is_plain_identifier(name: &str) -> bool {
    name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Runs `statements` one by one (each in its own implicit transaction, as `CREATE
/// DATABASE` and `DROP DATABASE` need) on the server of `server`.
async fn run(server: &str, statements: &[String]) -> Result<(), StorageError> {
    let failed = |error: tokio_postgres::Error| classify(PgError::from(error));
    let (client, connection) = tokio_postgres::connect(server, NoTls)
        .await
        .map_err(failed)?;
    let driver = tokio::spawn(connection);
    for statement in statements {
        client.batch_execute(statement).await.map_err(failed)?;
    }
    drop(client);
    let _ = driver.await;
    Ok(())
}

fn checked(name: &str) -> Result<(), StorageError> {
    if is_plain_identifier(name) {
        return Ok(());
    }
    Err(StorageError::Database {
        code: "endure:name".into(),
        message: format!(
            "{name:?} is not a plain database name (lowercase letters, digits and _, at most 63)"
        ),
    })
}

/// Creates database `name` (dropping one of that name first) on the server of `server`
/// (a URL of any database there) and returns the new database's URL.
pub(super) async fn create(server: &str, name: &str) -> Result<String, StorageError> {
    checked(name)?;
    run(
        server,
        &[
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ],
    )
    .await?;
    let (base, query) = server.split_once('?').unwrap_or((server, ""));
    let host = base.rsplit_once('/').map_or(base, |(host, _)| host);
    Ok(if query.is_empty() {
        format!("{host}/{name}")
    } else {
        format!("{host}/{name}?{query}")
    })
}

/// Drops database `name` on the server of `server`, closing its connections first.
pub(super) async fn drop_named(server: &str, name: &str) -> Result<(), StorageError> {
    checked(name)?;
    run(
        server,
        &[format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::is_plain_identifier;

    #[test]
    fn only_plain_names_reach_the_sql() {
        assert!(is_plain_identifier("endure_bench_42"));
        assert!(!is_plain_identifier("x; DROP TABLE y"));
        assert!(!is_plain_identifier("Upper"));
        assert!(!is_plain_identifier("9lives"));
        assert!(!is_plain_identifier(&"a".repeat(64)));
    }
}
