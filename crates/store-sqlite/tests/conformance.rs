//! The storage conformance suite against SQLite: once on a temporary database file (the real
//! configuration: WAL, a writer and a reader pool) and once in memory.

#![allow(clippy::expect_used)] // test harness code outside #[test] functions
use std::sync::Arc;

use store::Store;
use store_sqlite::SqliteStore;
use store_tests::Harness;

/// A fresh database file in a temporary directory, removed afterwards.
struct TempFile;

impl Harness for TempFile {
    type Fixture = tempfile::TempDir;

    async fn setup() -> Option<(Arc<dyn Store>, Self::Fixture)> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("wadesk.db").display());
        let store = SqliteStore::connect(&url).await.expect("open SQLite file");
        Some((Arc::new(store), dir))
    }

    async fn teardown(_dir: Self::Fixture) {}
}

/// A private in-memory database.
struct Memory;

impl Harness for Memory {
    type Fixture = ();

    async fn setup() -> Option<(Arc<dyn Store>, Self::Fixture)> {
        let store = SqliteStore::connect("sqlite::memory:")
            .await
            .expect("open in-memory SQLite");
        Some((Arc::new(store), ()))
    }

    async fn teardown(_: Self::Fixture) {}
}

store_tests::conformance_tests!(TempFile);

mod in_memory {
    store_tests::conformance_tests!(super::Memory);
}
