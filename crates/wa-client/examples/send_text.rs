//! Sends a WhatsApp text message with `wa-client`, against an in-process `wa-sim` (no Meta account needed).
//!
//! Run with `cargo run -p wa-client --example send_text`. Against Meta instead, build the client with
//! `GraphConfig::default()` (graph.facebook.com) and your own phone number id and access token.

use wa_client::graph::{AccessToken, GraphClient, GraphConfig, OutgoingMessage};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = wa_sim::Simulator::start(wa_sim::SimConfig::default()).await?;
    let client = GraphClient::new(
        GraphConfig::new(sim.base_url(), "v23.0"),
        reqwest::Client::new(),
    );
    let token = AccessToken::new(wa_sim::DEFAULT_TOKEN);

    let message =
        OutgoingMessage::text("+16505551234", "Hello from wadesk").callback_data("example-1");
    match client
        .send(&token, wa_sim::DEFAULT_PHONE_NUMBER_ID, &message)
        .await
    {
        Ok(sent) => println!("accepted: {}", sent.message_id().unwrap_or("?")),
        Err(e) => {
            // Decide by Meta's code, not the HTTP status; never resend blindly when the outcome is unknown.
            println!("failed: {e}; advice: {:?}", e.retry());
            return Err(e.into());
        }
    }
    let request = sim.requests().pop().ok_or("the simulator saw nothing")?;
    println!(
        "the simulator received {} {} with {}",
        request.method, request.path, request.json
    );
    Ok(())
}
