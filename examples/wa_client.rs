//! `wa-client` on its own, without the rest of wadesk: send a WhatsApp message through the Cloud
//! API and verify a webhook as Meta signs it.
//!
//! The Cloud API here is wadesk's simulator (`wa-sim`), started in-process on loopback; point
//! `GraphConfig::base_url` at `https://graph.facebook.com` and use your own token and number to
//! talk to Meta instead.
//!
//! Run with `cargo run -p wadesk-examples --example wa_client`.

use std::time::Duration;

use wa_client::{
    graph::{AccessToken, GraphClient, GraphConfig, OutgoingMessage},
    signature::{sign, verify_signature},
    webhook::parse_notification,
};
use wa_sim::{DEFAULT_APP_SECRET, DEFAULT_PHONE_NUMBER_ID, DEFAULT_TOKEN, SimConfig, Simulator};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sim = Simulator::start(SimConfig::default()).await?;
    println!("Cloud API simulator on {}", sim.base_url());

    // 1. Send a text, then a reply quoting it.
    let graph = GraphClient::new(
        GraphConfig::new(sim.base_url(), "v23.0"),
        reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()?,
    );
    let token = AccessToken::new(DEFAULT_TOKEN);
    let sent = graph
        .send_text(
            &token,
            DEFAULT_PHONE_NUMBER_ID,
            "16505551234",
            "Hello from wa-client!",
        )
        .await?;
    let wamid = sent
        .messages
        .first()
        .map(|m| m.id.clone())
        .unwrap_or_default();
    println!("sent: {wamid}");
    let reply = OutgoingMessage::text("16505551234", "And this quotes it.").reply_to(&wamid);
    let sent = graph.send(&token, DEFAULT_PHONE_NUMBER_ID, &reply).await?;
    println!("replied: {:?}", sent.messages.first().map(|m| &m.id));
    // What Meta received (the simulator records it), with the bearer token.
    for r in sim.requests() {
        println!(
            "  {} {} ({}): {}",
            r.method,
            r.path,
            r.authorization.as_deref().unwrap_or("-"),
            r.json
        );
    }

    // 2. Verify a webhook delivery: the signature is over the raw bytes, checked in constant
    // time, before anything is parsed.
    let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Ana"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.EXAMPLE","timestamp":"1749416383","type":"text","text":{"body":"Hi!"}}]}}]}]}"#;
    let header = sign(DEFAULT_APP_SECRET.as_bytes(), body);
    verify_signature(DEFAULT_APP_SECRET.as_bytes(), body, Some(&header))?;
    println!("signature {header}: valid");
    let tampered = String::from_utf8_lossy(body).replace("Hi!", "Hi?");
    let refused = verify_signature(
        DEFAULT_APP_SECRET.as_bytes(),
        tampered.as_bytes(),
        Some(&header),
    );
    println!("the same signature over changed bytes: {refused:?}");
    let notification = parse_notification(body)?;
    for entry in &notification.entry {
        for change in &entry.changes {
            println!("change `{}`: {:?}", change.field, change.value);
        }
    }
    Ok(())
}
