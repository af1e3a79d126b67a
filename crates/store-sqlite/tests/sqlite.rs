//! SQLite-specific behaviour: URL forms, pragmas, reopening, and two stores (as two processes
//! would) writing to one file at once.

use std::sync::Arc;

use sqlx::{Connection, Row, SqliteConnection};
use store::{NewDelivery, Store, StoreError};
use store_sqlite::SqliteStore;
use time::macros::datetime;

fn body(tag: &str) -> NewDelivery {
    NewDelivery {
        received_at: datetime!(2026-11-29 12:00 UTC),
        body: tag.as_bytes().to_vec().into(),
    }
}

#[tokio::test]
async fn accepts_every_url_form_and_creates_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (i, form) in ["sqlite://{}", "sqlite:{}", "{}"].iter().enumerate() {
        let path = dir.path().join(format!("db{i}.sqlite"));
        assert!(!path.exists());
        let url = form.replace("{}", &path.display().to_string());
        let store = SqliteStore::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        store.insert_deliveries(&[body("x")]).await.unwrap();
        store.close().await;
        assert!(path.exists(), "{url} created the file");
    }
    let memory = SqliteStore::connect("sqlite::memory:").await.unwrap();
    assert_eq!(
        memory.insert_deliveries(&[body("m")]).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_missing_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("no/such/dir/db.sqlite").display()
    );
    let err = SqliteStore::connect(&url).await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
}

#[tokio::test]
async fn reopening_keeps_data_and_the_file_stays_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wadesk.db");
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStore::connect(&url).await.unwrap();
    let ids = store.insert_deliveries(&[body("kept")]).await.unwrap();
    store.close().await;

    // Migrations are idempotent and the data is still there.
    let store = SqliteStore::connect(&url).await.unwrap();
    assert_eq!(&store.get_delivery(ids[0]).await.unwrap().body[..], b"kept");

    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode, "wal");
    let migrations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    // Every migration file ran.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count() as i64;
    assert_eq!(migrations, files);
    conn.close().await.unwrap();
    store.close().await;
}

/// Two stores on one file behave like two processes: each has its own writer connection, and
/// `BEGIN IMMEDIATE` plus the busy timeout make them wait for each other instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_never_fail_with_busy() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let first = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let second = Arc::new(SqliteStore::connect(&url).await.unwrap());
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let batch: Vec<_> = (0..5).map(|j| body(&format!("{i}-{j}"))).collect();
            store.insert_deliveries(&batch).await?;
            let claimed = store
                .claim_deliveries(
                    &format!("w{i}"),
                    datetime!(2026-11-29 13:00 UTC),
                    time::Duration::minutes(5),
                    3,
                )
                .await?;
            Ok::<usize, StoreError>(claimed.len())
        }));
    }
    let mut claimed = 0;
    for task in tasks {
        claimed += task.await.unwrap().unwrap();
    }
    assert_eq!(first.inbox_stats().await.unwrap().pending, 200);
    assert_eq!(
        claimed, 120,
        "every claim found its three deliveries, none twice"
    );
}
