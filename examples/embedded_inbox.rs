//! Embeds wadesk in a program of your own: opens a SQLite database in a temporary folder, serves
//! the webhook receiver and the REST API on an ephemeral loopback port, connects a number, posts
//! a signed webhook delivery exactly as Meta would, and prints the events it was split into.
//!
//! Run with `cargo run -p wadesk-examples --example embedded_inbox`.

use std::{sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;
use wadesk_app::{Config, SystemClock, Wadesk};

const APP_SECRET: &str = "example-app-secret";
const API_KEY: &str = "example-admin-key";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = format!("sqlite://{}", dir.path().join("wadesk.db").display());
    let config = Config::from_vars([
        ("WADESK_DATABASE_URL".to_owned(), db.clone()),
        ("WADESK_APP_SECRET".to_owned(), APP_SECRET.to_owned()),
        ("WADESK_BOOTSTRAP_API_KEY".to_owned(), API_KEY.to_owned()),
    ])?;
    let store = wadesk_app::open_store(&db).await?;
    let wadesk = Wadesk::with_store(config, store.clone(), Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(wadesk.serve(listener, shutdown.clone()));
    println!("wadesk is listening on {base}");

    let http = reqwest::Client::builder().no_proxy().build()?;
    let number = http
        .post(format!("{base}/api/v2/whatsapp/numbers"))
        .basic_auth(API_KEY, Some("X"))
        .json(&serde_json::json!({
            "phone_number_id": "106540352242922", "waba_id": "102290129340398",
            "display_phone_number": "+1 555 0100", "access_token": "EAAG-example", "name": "Support"
        }))
        .send()
        .await?;
    println!("connected number: {}", number.text().await?);

    // Meta's own example of an inbound text message (webhooks reference, "messages").
    let body = serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
            "messages": [{"from": "16505551234", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                          "timestamp": "1749416383", "type": "text", "text": {"body": "Does it come in another color?"}}]
        }}]}]
    }))?;
    let signature = wa_client::signature::sign(APP_SECRET.as_bytes(), &body);
    let ack = http
        .post(format!("{base}/webhooks/whatsapp"))
        .header("x-hub-signature-256", signature)
        .body(body.clone())
        .send()
        .await?;
    println!(
        "webhook answered {} (the body is durable now)",
        ack.status()
    );
    let refused = http
        .post(format!("{base}/webhooks/whatsapp"))
        .body(body)
        .send()
        .await?;
    println!(
        "the same body without a signature answered {}",
        refused.status()
    );

    for _ in 0..100 {
        if store.inbox_stats().await?.pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for event in store.list_events(None, 100).await? {
        let e = &event.event;
        println!(
            "event {}: {} {} from {} at {:?}: {}",
            event.id,
            e.kind.as_str(),
            e.subtype.as_deref().unwrap_or(""),
            e.wa_id.as_deref().unwrap_or("?"),
            e.wa_timestamp,
            e.payload["message"]["text"]["body"]
        );
    }

    shutdown.cancel();
    server.await??;
    Ok(())
}
