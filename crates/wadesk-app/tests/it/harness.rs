//! Starts wadesk in-process on an ephemeral port with a fresh database.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use store::{EventKind, InboxStats, Store};
use tokio_util::sync::CancellationToken;
use wadesk_app::{Config, SystemClock, Wadesk};

pub const SECRET: &str = "test-app-secret";
pub const API_KEY: &str = "test-admin-key";
pub const VERIFY_TOKEN: &str = "test-verify-token";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
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
                if std::env::var("WADESK_TEST_DATABASE_URL").is_err() {
                    eprintln!("skipped: WADESK_TEST_DATABASE_URL is not set");
                    return;
                }
                super::$name($crate::harness::Backend::Postgres).await;
            }
        }
    };
}
pub(crate) use on_both;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub shutdown: CancellationToken,
    pub server: tokio::task::JoinHandle<Result<(), wadesk_app::AppError>>,
    _dir: tempfile::TempDir,
}

pub async fn fresh_store(backend: Backend, dir: &tempfile::TempDir) -> Arc<dyn Store> {
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", dir.path().join("wadesk.db").display());
            wadesk_app::open_store(&url).await.expect("open sqlite")
        }
        Backend::Postgres => {
            let url = std::env::var("WADESK_TEST_DATABASE_URL").expect("url");
            Arc::new(store_postgres::PostgresStore::connect_isolated(&url).await.expect("open postgres"))
        }
    }
}

pub fn config(run_jobs: bool) -> Config {
    Config::from_vars([
        ("WADESK_APP_SECRET".to_string(), SECRET.to_string()),
        ("WADESK_VERIFY_TOKEN".to_string(), VERIFY_TOKEN.to_string()),
        ("WADESK_BOOTSTRAP_API_KEY".to_string(), API_KEY.to_string()),
        ("WADESK_RUN_JOBS".to_string(), run_jobs.to_string()),
        ("WADESK_LISTEN".to_string(), "127.0.0.1:0".to_string()),
    ])
    .expect("config")
}

impl TestApp {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, true).await
    }

    pub async fn start_with(backend: Backend, run_jobs: bool) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = fresh_store(backend, &dir).await;
        let wadesk = Wadesk::with_store(config(run_jobs), store.clone(), Arc::new(SystemClock)).await.expect("open");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(wadesk.serve(listener, shutdown.clone()));
        let client = reqwest::Client::builder().no_proxy().build().expect("client");
        Self { addr, client, store, shutdown, server, _dir: dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn post_webhook(&self, body: impl Into<Vec<u8>>, signature: Option<String>) -> reqwest::Response {
        let mut req = self.client.post(self.url("/webhooks/whatsapp")).header("content-type", "application/json");
        if let Some(sig) = signature {
            req = req.header("x-hub-signature-256", sig);
        }
        req.body(body.into()).send().await.expect("request")
    }

    pub async fn post_signed(&self, body: &[u8]) -> reqwest::Response {
        self.post_webhook(body.to_vec(), Some(wa_client::signature::sign(SECRET.as_bytes(), body))).await
    }

    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(&format!("/api/v2{path}"))).basic_auth(API_KEY, Some("X"))
    }

    pub async fn connect_number(&self, phone_number_id: &str) -> serde_json::Value {
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
    pub async fn drained(&self) -> InboxStats {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let stats = self.store.inbox_stats().await.expect("stats");
            if stats.pending == 0 {
                return stats;
            }
            assert!(tokio::time::Instant::now() < deadline, "inbox did not drain: {stats:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn events(&self) -> Vec<store::Event> {
        self.store.list_events(None, 100_000).await.expect("events")
    }

    pub async fn event_keys(&self, kind: EventKind) -> Vec<String> {
        let mut keys: Vec<String> =
            self.events().await.into_iter().filter(|e| e.event.kind == kind).map(|e| e.event.key).collect();
        keys.sort();
        keys
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let res = tokio::time::timeout(Duration::from_secs(10), self.server).await;
        assert!(matches!(res, Ok(Ok(Ok(())))), "server did not stop cleanly: {res:?}");
    }
}

/// A `messages` notification with the given messages and statuses for one number.
pub fn notification(pnid: &str, messages: Vec<serde_json::Value>, statuses: Vec<serde_json::Value>) -> serde_json::Value {
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

pub fn text(id: &str, ts: i64, body: &str) -> serde_json::Value {
    serde_json::json!({
        "from": "16505551234", "id": id, "timestamp": ts.to_string(), "type": "text", "text": { "body": body }
    })
}

pub fn status(id: &str, status: &str, ts: i64) -> serde_json::Value {
    serde_json::json!({
        "id": id, "status": status, "timestamp": ts.to_string(), "recipient_id": "16505551234"
    })
}
