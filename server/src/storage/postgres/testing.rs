//! Test support: a fresh database per test on the server `ENDURE_TEST_POSTGRES` names
//! (`scripts/with-postgres` starts a throwaway one). Used by this crate's and the SDK's
//! tests; not for production use.

use std::sync::atomic::{AtomicUsize, Ordering};

use endure_core::storage::StorageError;

/// The URL of the test database server, or `None` (with the reason printed) when tests
/// may skip. With `ENDURE_REQUIRE_POSTGRES` set (CI) a missing URL panics instead.
pub fn admin_url() -> Option<String> {
    match std::env::var("ENDURE_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("ENDURE_REQUIRE_POSTGRES").is_none(),
                "ENDURE_REQUIRE_POSTGRES is set but ENDURE_TEST_POSTGRES is not"
            );
            eprintln!(
                "skipped: set ENDURE_TEST_POSTGRES (or run under scripts/with-postgres) to test on PostgreSQL"
            );
            None
        }
    }
}

/// Creates a new, empty database on the server of `admin` (a URL of any database there)
/// and returns its URL.
pub async fn fresh_database(admin: &str) -> Result<String, StorageError> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "endure_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    super::databases::create(admin, &name).await
}
