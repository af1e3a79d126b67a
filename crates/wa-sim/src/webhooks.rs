//! What the simulator POSTs: signed `messages` notifications (customer messages and statuses).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::Shared;
use crate::config::StatusPlan;
use crate::state::{AcceptedMessage, WebhookDelivery};

/// Wraps a `messages` change value in Meta's envelope.
pub(crate) fn envelope(waba_id: &str, value: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": waba_id, "changes": [{ "value": value, "field": "messages" }] }]
    })
}

/// Signs and POSTs `body` to the configured webhook URL; records the delivery. Returns the receiver's status.
pub(crate) async fn deliver(shared: &Arc<Shared>, body: Value) -> Option<u16> {
    let url = shared.lock().webhook_url.clone();
    let raw = serde_json::to_vec(&body).unwrap_or_default();
    let signature = wa_client::signature::sign(shared.config.app_secret.as_bytes(), &raw);
    let Some(url) = url else {
        shared.lock().webhooks.push(WebhookDelivery {
            url: String::new(),
            body,
            signature,
            response_status: None,
            error: Some("no webhook URL configured".into()),
        });
        return None;
    };
    let result = shared
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", &signature)
        .body(raw)
        .send()
        .await;
    let (response_status, error) = match result {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    if let Some(e) = &error {
        tracing::warn!(%url, error = %e, "webhook delivery failed");
    }
    shared.lock().webhooks.push(WebhookDelivery {
        url,
        body,
        signature,
        response_status,
        error,
    });
    response_status
}

/// Pricing and conversation category of an accepted message.
fn category(shared: &Shared, message: &AcceptedMessage) -> (String, bool) {
    if message.message_type != "template" {
        return ("service".into(), false);
    }
    let name = message
        .body
        .pointer("/template/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let state = shared.lock();
    let category = state
        .templates
        .iter()
        .find(|t| t.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|t| t.get("category")?.as_str())
        .unwrap_or("MARKETING")
        .to_ascii_lowercase();
    drop(state);
    let billable =
        category != "utility" || !in_window(shared, &message.phone_number_id, &message.wa_id);
    (category, billable)
}

pub(crate) fn in_window(shared: &Shared, phone_number_id: &str, wa_id: &str) -> bool {
    let now = (shared.config.clock)().unix_timestamp();
    shared
        .lock()
        .last_customer_message
        .get(&(phone_number_id.to_owned(), wa_id.to_owned()))
        .is_some_and(|last| now - last < 24 * 3600)
}

/// Emits the status webhooks of an accepted message, in order, as Meta would.
pub(crate) async fn emit_statuses(shared: Arc<Shared>, message: AcceptedMessage, plan: StatusPlan) {
    let (waba_id, display) = {
        let state = shared.lock();
        match state.numbers.get(&message.phone_number_id) {
            Some(n) => (n.info.waba_id.clone(), n.info.display_phone_number.clone()),
            None => return,
        }
    };
    let (category, billable) = category(&shared, &message);
    let steps = plan.steps();
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        message.wamid.as_bytes(),
    ));
    let conversation_id = digest.get(..32).unwrap_or_default().to_owned();
    for (index, step) in steps.iter().enumerate() {
        if !shared.config.status_delay.is_zero() {
            tokio::time::sleep(shared.config.status_delay).await;
        }
        let now = (shared.config.clock)().unix_timestamp();
        let mut status = json!({
            "id": message.wamid,
            "status": step,
            "timestamp": now.to_string(),
            "recipient_id": message.wa_id,
        });
        // conversation and pricing: with `sent` and with the next status (delivered or read), as Meta does.
        if *step != "failed" && index <= 1 {
            let mut conversation = json!({ "id": conversation_id, "origin": { "type": category } });
            if *step == "sent" {
                conversation["expiration_timestamp"] = Value::String((now + 24 * 3600).to_string());
            }
            status["conversation"] = conversation;
            status["pricing"] = json!({
                "billable": billable,
                "pricing_model": "PMP",
                "type": if billable { "regular" } else { "free_customer_service" },
                "category": category,
            });
        }
        if let StatusPlan::Failed {
            code,
            title,
            details,
        } = &plan
        {
            status["errors"] = json!([{
                "code": code, "title": title, "message": title,
                "error_data": { "details": details },
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
            }]);
        }
        if let Some(data) = &message.biz_opaque_callback_data {
            status["biz_opaque_callback_data"] = Value::String(data.clone());
        }
        let value = json!({
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": display, "phone_number_id": message.phone_number_id },
            "statuses": [status],
        });
        deliver(&shared, envelope(&waba_id, value)).await;
    }
}
