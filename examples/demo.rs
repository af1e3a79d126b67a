//! The whole loop on one machine, nothing to set up: wadesk (SQLite in a temporary folder) and
//! the Cloud API simulator (`wa-sim`) on loopback. A customer writes on WhatsApp, a ticket opens,
//! an agent replies through the REST API, the simulator receives the message exactly as Meta
//! would and answers with `sent`, `delivered` and `read` status webhooks, and the reply's status
//! on the ticket turns to `read`.
//!
//! Run with `cargo run -p wadesk-examples --example demo`.

use std::{sync::Arc, time::Duration};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use wa_sim::{
    CustomerMessage, DEFAULT_PHONE_NUMBER_ID, DEFAULT_TOKEN, DEFAULT_WABA_ID, SimConfig, Simulator,
};
use wadesk_app::{Config, SystemClock, Wadesk};

const APP_SECRET: &str = "demo-app-secret";
const API_KEY: &str = "demo-admin-key";
const CUSTOMER: &str = "16505551234";

/// Polls `f` every 50 ms for up to 30 s.
async fn until<T, F, Fut>(what: &str, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The Cloud API simulator: Meta's Graph API paths, signing its webhooks with our app secret.
    let sim = Simulator::start(SimConfig {
        app_secret: APP_SECRET.into(),
        ..SimConfig::default()
    })
    .await?;

    // wadesk, embedded, pointed at the simulator.
    let dir = tempfile::tempdir()?;
    let db = format!("sqlite://{}", dir.path().join("wadesk.db").display());
    let config = Config::from_vars([
        ("WADESK_DATABASE_URL".to_owned(), db.clone()),
        ("WADESK_APP_SECRET".to_owned(), APP_SECRET.to_owned()),
        ("WADESK_BOOTSTRAP_API_KEY".to_owned(), API_KEY.to_owned()),
        (
            "WADESK_GRAPH_BASE_URL".to_owned(),
            sim.base_url().to_owned(),
        ),
        (
            "WADESK_DATA_DIR".to_owned(),
            dir.path().join("data").display().to_string(),
        ),
    ])?;
    let store = wadesk_app::open_store(&db).await?;
    let wadesk = Wadesk::with_store(config, store, Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(wadesk.serve(listener, shutdown.clone()));
    sim.set_webhook_url(Some(format!("{base}/webhooks/whatsapp")));
    println!(
        "1. wadesk on {base}, the Cloud API simulator on {}",
        sim.base_url()
    );

    let http = reqwest::Client::builder().no_proxy().build()?;
    let api = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}/api/v2{path}"))
            .basic_auth(API_KEY, Some("X"))
    };
    let number: Value = api(reqwest::Method::POST, "/whatsapp/numbers")
        .json(&json!({
            "phone_number_id": DEFAULT_PHONE_NUMBER_ID, "waba_id": DEFAULT_WABA_ID,
            "display_phone_number": "+1 555 078 3881", "access_token": DEFAULT_TOKEN,
            "name": "Support"
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!(
        "2. connected WhatsApp number {} (id {})",
        number["display_phone_number"], number["id"]
    );

    let sent = sim
        .customer_message(CustomerMessage::text(
            DEFAULT_PHONE_NUMBER_ID,
            CUSTOMER,
            "Hi! My order #1042 has not arrived.",
        ))
        .await?;
    println!(
        "3. the customer +{CUSTOMER} wrote on WhatsApp (webhook answered {:?})",
        sent.webhook_status
    );

    let ticket: Value = until("the ticket", || async {
        let list: Value = api(reqwest::Method::GET, "/tickets")
            .send()
            .await?
            .json()
            .await?;
        Ok(list.as_array().and_then(|l| l.first()).cloned())
    })
    .await?;
    let id = ticket["id"].as_i64().unwrap_or_default();
    println!(
        "4. ticket #{id} opened: \"{}\" (source {}, status {}, first response due {})",
        ticket["subject"].as_str().unwrap_or_default(),
        ticket["source"],
        ticket["status"],
        ticket["fr_due_by"]
    );

    let reply: Value = api(reqwest::Method::POST, &format!("/tickets/{id}/reply"))
        .json(&json!({"body": "Sorry about that! It ships today, tracking number to follow."}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let conversation = reply["id"].as_i64().unwrap_or_default();
    println!(
        "5. the agent replied (conversation {conversation}, WhatsApp status {})",
        reply["whatsapp"]["status"]
    );

    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let read = until("the read status", || {
        let seen = seen.clone();
        let req = api(
            reqwest::Method::GET,
            &format!("/tickets/{id}/conversations"),
        );
        async move {
            let convs: Value = req.send().await?.json().await?;
            let c = convs
                .as_array()
                .and_then(|l| l.iter().find(|c| c["id"] == conversation))
                .cloned()
                .unwrap_or(Value::Null);
            let status = c["whatsapp"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if let Ok(mut seen) = seen.lock()
                && status != *seen
            {
                println!("   whatsapp.status: {status}");
                *seen = status.clone();
            }
            Ok((status == "read").then_some(c))
        }
    })
    .await?;
    println!(
        "6. the customer read it: {} is `read`",
        read["whatsapp"]["message_id"]
    );
    for m in sim.accepted_messages() {
        println!(
            "   the simulator accepted a {} message to +{}",
            m.message_type, m.to
        );
    }

    shutdown.cancel();
    server.await??;
    println!("done");
    Ok(())
}
