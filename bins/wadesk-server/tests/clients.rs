//! The unmodified public Freshdesk clients (`python-freshdesk` from PyPI, `freshdesk-api` from
//! npm) against the real `wadesk-server` binary on SQLite, with `wa-sim` as the Cloud API.
//!
//! `#[ignore]`d because it needs the clients installed (`.ci/run` does it: see
//! `tests/clients/README.md`). `WADESK_TEST_PYTHON` names the Python that has `python-freshdesk`
//! (default `python3`); `tests/clients/node/node_modules` must hold `freshdesk-api`. With
//! `WADESK_REQUIRE_CLIENTS=1` a missing client fails the test; otherwise it is skipped with a
//! note.

// Test support code outside #[test] functions panics on setup failures by design.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const KEY: &str = "clients-test-key";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("repository root")
        .to_path_buf()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn required() -> bool {
    std::env::var("WADESK_REQUIRE_CLIENTS").is_ok_and(|v| v == "1")
}

fn run_client(what: &str, mut cmd: Command, base: &str, ticket: i64) {
    let out = cmd
        .env("WADESK_URL", base)
        .env("WADESK_API_KEY", KEY)
        .env("WADESK_TICKET_ID", ticket.to_string())
        .output();
    match out {
        Err(e) if !required() => {
            eprintln!("skipped ({what}): cannot run it: {e}");
        }
        Err(e) => panic!("{what}: cannot run it: {e}"),
        Ok(out) => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            eprintln!("{stdout}{stderr}");
            let missing = stderr.contains("ModuleNotFoundError")
                || stderr.contains("Cannot find module 'freshdesk-api'");
            if missing && !required() {
                eprintln!("skipped ({what}): the client is not installed");
                return;
            }
            assert!(out.status.success(), "{what} failed:\n{stdout}\n{stderr}");
            assert!(stdout.contains("all checks passed"), "{what}: {stdout}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs python-freshdesk and freshdesk-api installed (.ci/run installs them)"]
async fn public_freshdesk_clients_work_against_wadesk() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let sim = wa_sim::Simulator::start(wa_sim::SimConfig {
        webhook_url: Some(format!("{base}/webhooks/whatsapp")),
        ..wa_sim::SimConfig::default()
    })
    .await
    .expect("simulator");
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_wadesk-server"))
            .env(
                "WADESK_DATABASE_URL",
                format!("sqlite://{}", dir.path().join("wadesk.db").display()),
            )
            .env("WADESK_LISTEN", format!("127.0.0.1:{port}"))
            .env("WADESK_APP_SECRET", wa_sim::DEFAULT_APP_SECRET)
            .env("WADESK_BOOTSTRAP_API_KEY", KEY)
            .env("WADESK_GRAPH_BASE_URL", sim.base_url())
            .env("WADESK_SECRET_KEY", "ab".repeat(32))
            .env("WADESK_DATA_DIR", dir.path().join("data"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start wadesk-server"),
    );
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "wadesk-server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connected = client
        .post(format!("{base}/api/v2/whatsapp/numbers"))
        .basic_auth(KEY, Some("X"))
        .json(&serde_json::json!({
            "phone_number_id": wa_sim::DEFAULT_PHONE_NUMBER_ID,
            "waba_id": wa_sim::DEFAULT_WABA_ID,
            "display_phone_number": "+1 555 078 3881",
            "access_token": wa_sim::DEFAULT_TOKEN,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(connected.status(), 201);
    let sent = sim
        .customer_message(wa_sim::CustomerMessage::text(
            wa_sim::DEFAULT_PHONE_NUMBER_ID,
            "16505551234",
            "Where is my parcel?",
        ))
        .await
        .unwrap();
    assert_eq!(sent.webhook_status, Some(200));
    let ticket = loop {
        let tickets: serde_json::Value = client
            .get(format!("{base}/api/v2/tickets"))
            .basic_auth(KEY, Some("X"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(id) = tickets[0]["id"].as_i64() {
            break id;
        }
        assert!(
            Instant::now() < deadline,
            "no ticket from the customer's message"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let clients = repo_root().join("tests/clients");
    let python = std::env::var("WADESK_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut py = Command::new(python);
    py.arg(clients.join("python_freshdesk_check.py"));
    run_client("python-freshdesk", py, &base, ticket);
    let mut node = Command::new("node");
    node.arg("check.js").current_dir(clients.join("node"));
    run_client("freshdesk-api", node, &base, ticket);
}
