//! Starts wadesk in-process on an ephemeral port with a fresh database.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use store::{EventKind, InboxStats, Store};
use tokio_util::sync::CancellationToken;
use wadesk_app::{Config, SystemClock, Wadesk};

pub(crate) const SECRET: &str = "test-app-secret";
pub(crate) const API_KEY: &str = "test-admin-key";
pub(crate) const VERIFY_TOKEN: &str = "test-verify-token";

static SCHEMA_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body on SQLite, and on PostgreSQL when `WADESK_TEST_DATABASE_URL` is set.
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::harness::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if std::env::var("WADESK_TEST_DATABASE_URL").map_or(true, |v| v.is_empty()) {
                    // Straight to stderr, past the test harness's capture, so the skip is seen.
                    let _ = std::io::Write::write_all(
                        &mut std::io::stderr(),
                        concat!(
                            "skipped (PostgreSQL half of ",
                            module_path!(),
                            "): WADESK_TEST_DATABASE_URL is not set\n"
                        )
                        .as_bytes(),
                    );
                    return;
                }
                super::$name($crate::harness::Backend::Postgres).await;
            }
        }
    };
}
pub(crate) use on_both;

pub(crate) struct TestApp {
    pub(crate) addr: SocketAddr,
    pub(crate) client: reqwest::Client,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) shutdown: CancellationToken,
    pub(crate) server: tokio::task::JoinHandle<Result<(), wadesk_app::AppError>>,
    pg: Option<store_postgres::PostgresStore>,
    _dir: tempfile::TempDir,
}

pub(crate) async fn fresh_store_with_key(
    backend: Backend,
    dir: &tempfile::TempDir,
    key: Option<&store::SecretKey>,
) -> (Arc<dyn Store>, Option<store_postgres::PostgresStore>) {
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", dir.path().join("wadesk.db").display());
            (
                wadesk_app::open_store_with_key(&url, key)
                    .await
                    .expect("open sqlite"),
                None,
            )
        }
        Backend::Postgres => {
            let url = std::env::var("WADESK_TEST_DATABASE_URL").expect("url");
            {
                let schema = format!(
                    "wadesk_it_{}",
                    std::process::id() as u64 * 1_000_000
                        + SCHEMA_SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                );
                let pg = store_postgres::PostgresStore::connect_fresh_schema(&url, &schema)
                    .await
                    .expect("open postgres");
                let sealed = match key {
                    Some(k) => pg.clone().with_secret_key(k).expect("key"),
                    None => pg.clone(),
                };
                (Arc::new(sealed), Some(pg))
            }
        }
    }
}

pub(crate) fn config(run_jobs: bool) -> Config {
    config_with::<&str>(run_jobs, &[])
}

/// The test configuration with `extra` variables on top. Graph calls go to a closed loopback
/// port unless `WADESK_GRAPH_BASE_URL` is given (nothing leaves loopback).
pub(crate) fn config_with<V: AsRef<str>>(run_jobs: bool, extra: &[(&str, V)]) -> Config {
    let mut vars = vec![
        ("WADESK_APP_SECRET".to_string(), SECRET.to_string()),
        ("WADESK_VERIFY_TOKEN".to_string(), VERIFY_TOKEN.to_string()),
        ("WADESK_BOOTSTRAP_API_KEY".to_string(), API_KEY.to_string()),
        ("WADESK_RUN_JOBS".to_string(), run_jobs.to_string()),
        // Tests run many apps side by side in one process: their jobs stay on the shared
        // runtime (`affinity_it` covers `auto`).
        ("WADESK_JOBS_CPU".to_string(), "off".to_string()),
        ("WADESK_LISTEN".to_string(), "127.0.0.1:0".to_string()),
        (
            "WADESK_GRAPH_BASE_URL".to_string(),
            "http://127.0.0.1:9".to_string(),
        ),
    ];
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_ref().to_owned())),
    );
    Config::from_vars(vars).expect("config")
}

/// The database of a stopped [`TestApp`], kept until [`KeptDatabase::drop_now`].
pub(crate) struct KeptDatabase {
    pg: Option<store_postgres::PostgresStore>,
    _dir: tempfile::TempDir,
}

impl KeptDatabase {
    pub(crate) async fn drop_now(self) {
        if let Some(pg) = self.pg {
            pg.drop_schema().await.expect("drop the test schema");
        }
    }
}

impl TestApp {
    pub(crate) async fn start(backend: Backend) -> Self {
        Self::start_with(backend, true).await
    }

    pub(crate) async fn start_with(backend: Backend, run_jobs: bool) -> Self {
        Self::start_configured(backend, config(run_jobs), Arc::new(SystemClock)).await
    }

    /// Starts with extra configuration variables on top of the test configuration.
    pub(crate) async fn start_with_vars(
        backend: Backend,
        run_jobs: bool,
        vars: &[(&str, &str)],
    ) -> Self {
        let extra: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        Self::start_configured(
            backend,
            config_with(run_jobs, &extra),
            Arc::new(SystemClock),
        )
        .await
    }

    /// Starts with a configuration and clock of the caller's.
    pub(crate) async fn start_configured(
        backend: Backend,
        config: Config,
        clock: Arc<dyn wadesk_app::Clock>,
    ) -> Self {
        let mut config = config;
        let dir = tempfile::tempdir().expect("tempdir");
        // Media blobs go to the test's own directory.
        config.data_dir = dir.path().join("data");
        let (store, pg) = fresh_store_with_key(backend, &dir, config.secret_key.as_ref()).await;
        let wadesk = Wadesk::with_store(config, store.clone(), clock)
            .await
            .expect("open");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(wadesk.serve(listener, shutdown.clone()));
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        Self {
            addr,
            client,
            store,
            shutdown,
            server,
            pg,
            _dir: dir,
        }
    }

    /// `WADESK_DATA_DIR` of this app (media blobs live under `blobs/`).
    pub(crate) fn data_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("data")
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub(crate) async fn post_webhook(
        &self,
        body: impl Into<Vec<u8>>,
        signature: Option<String>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url("/webhooks/whatsapp"))
            .header("content-type", "application/json");
        if let Some(sig) = signature {
            req = req.header("x-hub-signature-256", sig);
        }
        req.body(body.into()).send().await.expect("request")
    }

    pub(crate) async fn post_signed(&self, body: &[u8]) -> reqwest::Response {
        self.post_webhook(
            body.to_vec(),
            Some(wa_client::signature::sign(SECRET.as_bytes(), body)),
        )
        .await
    }

    pub(crate) fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(&format!("/api/v2{path}")))
            .basic_auth(API_KEY, Some("X"))
    }

    /// `GET /api/v2{path}` as the admin: asserts a 200, returns its JSON.
    pub(crate) async fn get_json(&self, path: &str) -> serde_json::Value {
        let resp = self
            .api(reqwest::Method::GET, path)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.expect("a JSON answer")
    }

    pub(crate) fn api_as(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(&format!("/api/v2{path}")))
            .basic_auth(key, Some("X"))
    }

    pub(crate) async fn connect_number(&self, phone_number_id: &str) -> serde_json::Value {
        let resp = self
            .api(reqwest::Method::POST, "/whatsapp/numbers")
            .json(&serde_json::json!({
                "phone_number_id": phone_number_id,
                "waba_id": "102290129340398",
                "display_phone_number": "+1 555 0100",
                "access_token": "EAAG-test-token",
                "name": "Support",
            }))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 201, "connect {phone_number_id}");
        resp.json().await.expect("json")
    }

    /// Waits until no delivery is pending.
    pub(crate) async fn drained(&self) -> InboxStats {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let stats = self.store.inbox_stats().await.expect("stats");
            if stats.pending == 0 {
                return stats;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "inbox did not drain: {stats:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) async fn events(&self) -> Vec<store::Event> {
        self.store.list_events(None, 100_000).await.expect("events")
    }

    pub(crate) async fn event_keys(&self, kind: EventKind) -> Vec<String> {
        let mut keys: Vec<String> = self
            .events()
            .await
            .into_iter()
            .filter(|e| e.event.kind == kind)
            .map(|e| e.event.key)
            .collect();
        keys.sort();
        keys
    }

    /// Stops the server and hands back the PostgreSQL store (if any) for the caller to drop.
    /// Another connection to the same database, as a separate process would open it.
    pub(crate) async fn second_store(&self) -> Arc<dyn Store> {
        match &self.pg {
            None => {
                let url = format!("sqlite://{}", self._dir.path().join("wadesk.db").display());
                wadesk_app::open_store(&url)
                    .await
                    .expect("open sqlite again")
            }
            Some(pg) => {
                let url = std::env::var("WADESK_TEST_DATABASE_URL").expect("url");
                let schema = pg
                    .schema()
                    .expect("test stores live in a schema")
                    .to_owned();
                Arc::new(
                    store_postgres::PostgresStore::connect_in_schema(&url, &schema)
                        .await
                        .expect("open postgres again"),
                )
            }
        }
    }

    pub(crate) async fn stop_keeping_database(self) -> KeptDatabase {
        self.shutdown.cancel();
        let res = tokio::time::timeout(Duration::from_secs(10), self.server).await;
        assert!(
            matches!(res, Ok(Ok(Ok(())))),
            "server did not stop cleanly: {res:?}"
        );
        KeptDatabase {
            pg: self.pg,
            _dir: self._dir,
        }
    }

    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        let res = tokio::time::timeout(Duration::from_secs(10), self.server).await;
        assert!(
            matches!(res, Ok(Ok(Ok(())))),
            "server did not stop cleanly: {res:?}"
        );
        if let Some(pg) = self.pg {
            pg.drop_schema().await.expect("drop the test schema");
        }
    }
}

/// A `messages` notification with the given messages and statuses for one number.
pub(crate) fn notification(
    pnid: &str,
    messages: Vec<serde_json::Value>,
    statuses: Vec<serde_json::Value>,
) -> serde_json::Value {
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": { "display_phone_number": "15550783881", "phone_number_id": pnid },
                    "contacts": [{ "profile": { "name": "Sheena Nelson" }, "wa_id": "16505551234" }],
                    "messages": messages,
                    "statuses": statuses,
                }
            }]
        }]
    })
}

pub(crate) fn text(id: &str, ts: i64, body: &str) -> serde_json::Value {
    serde_json::json!({
        "from": "16505551234", "id": id, "timestamp": ts.to_string(), "type": "text", "text": { "body": body }
    })
}

pub(crate) fn status(id: &str, status: &str, ts: i64) -> serde_json::Value {
    serde_json::json!({
        "id": id, "status": status, "timestamp": ts.to_string(), "recipient_id": "16505551234"
    })
}
