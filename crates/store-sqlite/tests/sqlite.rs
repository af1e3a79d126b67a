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
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    assert_eq!(migrations, files as i64);
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

/// With a secret key, access tokens and app secrets are sealed in the file (the plaintext
/// appears nowhere in the row), read back as plaintext, and unreadable without the key.
#[tokio::test]
async fn secrets_are_sealed_at_rest_with_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sealed.db");
    let url = format!("sqlite://{}", path.display());
    let key = store::SecretKey::parse(&"5a".repeat(32)).unwrap();
    let sealed = SqliteStore::connect(&url)
        .await
        .unwrap()
        .with_secret_key(&key)
        .unwrap();
    let (account, _) = sealed
        .create_account(
            "A",
            ticketing_core::Plan::Growth,
            &store_tests::checks::admin_for_tests("seal"),
            datetime!(2026-11-29 12:00 UTC),
        )
        .await
        .unwrap();
    let mut number = store_tests::checks::number_for_tests(account.id, "9001");
    number.access_token = store::Secret::new("EAAG-very-secret-token");
    number.app_secret = Some(store::Secret::new("per-number-app-secret"));
    let n = sealed
        .connect_number(&number, 10, datetime!(2026-11-29 12:00 UTC))
        .await
        .unwrap();
    assert_eq!(n.access_token.expose(), "EAAG-very-secret-token");
    let found = sealed
        .find_number_by_phone_number_id("9001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.app_secret.as_ref().map(store::Secret::expose),
        Some("per-number-app-secret")
    );
    sealed.close().await;

    let mut raw = SqliteConnection::connect(&url).await.unwrap();
    let row = sqlx::query("SELECT access_token, app_secret FROM wa_numbers")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    let token: String = row.get("access_token");
    let secret: String = row.get("app_secret");
    assert!(
        token.starts_with("enc:v1:") && !token.contains("secret-token"),
        "{token}"
    );
    assert!(
        secret.starts_with("enc:v1:") && !secret.contains("app-secret"),
        "{secret}"
    );
    raw.close().await.unwrap();

    let keyless = SqliteStore::connect(&url).await.unwrap();
    assert!(matches!(
        keyless.find_number_by_phone_number_id("9001").await,
        Err(StoreError::Corrupt(_))
    ));
}
