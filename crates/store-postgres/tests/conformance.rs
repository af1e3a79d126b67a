//! The storage conformance suite against PostgreSQL, each check in a schema of its own.
//!
//! Runs when `WADESK_TEST_DATABASE_URL` names a database (for example
//! `postgres://postgres@127.0.0.1:5432/test`); otherwise every check says it was skipped.

#![allow(clippy::expect_used)] // test harness code outside #[test] functions

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};

use store::Store;
use store_postgres::PostgresStore;
use store_tests::Harness;

/// The database to test against, or `None` (after saying so) to skip.
fn database_url() -> Option<String> {
    match std::env::var("WADESK_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            // Written to stderr directly, not through the test harness's capture, and once.
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: WADESK_TEST_DATABASE_URL is not set"
                );
            });
            None
        }
    }
}

/// A schema name unique to this process and check.
fn schema_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "wadesk_conformance_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh schema per check, dropped afterwards.
struct FreshSchema;

impl Harness for FreshSchema {
    type Fixture = PostgresStore;

    async fn setup() -> Option<(Arc<dyn Store>, Self::Fixture)> {
        let url = database_url()?;
        let store = PostgresStore::connect_fresh_schema(&url, &schema_name())
            .await
            .expect("open a fresh PostgreSQL schema");
        Some((Arc::new(store.clone()), store))
    }

    async fn teardown(store: Self::Fixture) {
        store.drop_schema().await.expect("drop the test schema");
    }
}

store_tests::conformance_tests!(FreshSchema);
