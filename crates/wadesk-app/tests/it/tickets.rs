//! Inbound WhatsApp messages become tickets: scenarios over HTTP on both databases.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use store::NewAgent;
use ticketing_core::{Plan, Role};

use crate::harness::{API_KEY, Backend, TestApp, on_both};

const PNID: &str = "106540352242922";
const ANA: &str = "16505551234";
const HOUR: i64 = 3600;

/// A base WhatsApp timestamp ten days ago, on a whole hour.
fn t0() -> i64 {
    let now = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .unwrap()
        .as_secs() as i64;
    (now - 10 * 24 * HOUR) / HOUR * HOUR
}

fn msg(from: &str, id: &str, ts: i64, kind: &str, body: Value) -> Value {
    let mut m = json!({"from": from, "id": id, "timestamp": ts.to_string(), "type": kind});
    m[kind] = body;
    m
}

fn text(from: &str, id: &str, ts: i64, body: &str) -> Value {
    msg(from, id, ts, "text", json!({"body": body}))
}

fn delivery(pnid: &str, messages: Vec<Value>) -> Vec<u8> {
    let mut contacts: Vec<Value> = Vec::new();
    for m in &messages {
        let from = m["from"].as_str().unwrap_or_default().to_owned();
        if !contacts.iter().any(|c| c["wa_id"] == from.as_str()) {
            contacts.push(json!({"profile": {"name": format!("User {from}")}, "wa_id": from}));
        }
    }
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": pnid},
            "contacts": contacts,
            "messages": messages,
        }}]}]
    }))
    .unwrap()
}

impl TestApp {
    async fn send(&self, messages: Vec<Value>) {
        let body = delivery(PNID, messages);
        let resp = self.post_signed(&body).await;
        assert_eq!(resp.status(), 200);
        self.settled().await;
    }

    /// Waits until every delivery is split and every event has an outcome.
    async fn settled(&self) {
        self.drained().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if self
                .store
                .pending_ticket_events(1)
                .await
                .unwrap()
                .is_empty()
            {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "events not applied");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn tickets(&self) -> Vec<Value> {
        let mut v = self.get_json("/tickets").await.as_array().unwrap().clone();
        v.sort_by_key(|t| t["id"].as_i64());
        v
    }

    async fn conversations(&self, ticket: i64) -> Vec<Value> {
        self.get_json(&format!("/tickets/{ticket}/conversations"))
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    async fn set_status(&self, ticket: i64, status: i64) {
        let resp = self
            .api(Method::PUT, &format!("/tickets/{ticket}"))
            .json(&json!({"status": status}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
}

fn texts(conversations: &[Value]) -> Vec<String> {
    conversations
        .iter()
        .map(|c| c["body_text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn threading_interval_boundary_and_reopen(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let t = t0() - 5 * 24 * HOUR;
    app.send(vec![text(ANA, "wamid.A", t, "My order is late")])
        .await;
    app.send(vec![text(ANA, "wamid.B", t + 8 * HOUR, "Any news?")])
        .await;
    // Exactly 24 h after the latest message joins (inclusive boundary).
    app.send(vec![text(
        ANA,
        "wamid.C",
        t + 32 * HOUR,
        "Exactly a day later",
    )])
    .await;
    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let first = tickets[0]["id"].as_i64().unwrap();
    assert_eq!(tickets[0]["source"], 13);
    assert_eq!(tickets[0]["status"], 2);
    assert_eq!(tickets[0]["subject"], "My order is late");
    let one = app.get_json(&format!("/tickets/{first}")).await;
    assert_eq!(one["description_text"], "My order is late");
    assert_eq!(
        one["created_at"],
        time::OffsetDateTime::from_unix_timestamp(t)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    assert_eq!(
        texts(&app.conversations(first).await),
        ["Any news?", "Exactly a day later"]
    );

    // One second past the interval: a new ticket.
    app.send(vec![text(ANA, "wamid.D", t + 56 * HOUR + 1, "New problem")])
        .await;
    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 2);
    let second = tickets[1]["id"].as_i64().unwrap();
    assert_eq!(tickets[1]["subject"], "New problem");
    assert_eq!(tickets[1]["requester_id"], tickets[0]["requester_id"]);

    // Resolved, then a message within the interval: reopened.
    app.set_status(second, 4).await;
    app.send(vec![text(ANA, "wamid.E", t + 60 * HOUR, "Still broken")])
        .await;
    let t2 = app.get_json(&format!("/tickets/{second}")).await;
    assert_eq!(t2["status"], 2, "reopened");
    assert_eq!(texts(&app.conversations(second).await), ["Still broken"]);

    // Resolved, then a message beyond the interval: a new ticket; the old one stays resolved.
    app.set_status(second, 4).await;
    app.send(vec![text(ANA, "wamid.F", t + 85 * HOUR, "Another thing")])
        .await;
    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 3);
    assert_eq!(tickets[1]["status"], 4);
    assert_eq!(tickets[2]["status"], 2);
    app.stop().await;
}
on_both!(threading_interval_boundary_and_reopen);

/// `WADESK_JOBS_CPU` set: on SQLite the jobs run on their own runtime, bound to one CPU with
/// the database writer, and still turn messages into tickets; shutdown stops them. On
/// PostgreSQL the setting is ignored (the jobs stay on the main runtime).
async fn jobs_bound_to_one_cpu(backend: Backend) {
    let cpu = wadesk_app::affinity::allowed_cpus()
        .last()
        .copied()
        .unwrap_or(0)
        .to_string();
    let app = TestApp::start_with_vars(backend, true, &[("WADESK_JOBS_CPU", &cpu)]).await;
    app.connect_number(PNID).await;
    let t = t0();
    app.send(vec![
        text(ANA, "wamid.P1", t, "Where is my parcel?"),
        text("447700900123", "wamid.P2", t + 1, "Hello"),
    ])
    .await;
    app.send(vec![text(ANA, "wamid.P3", t + 60, "It was due today")])
        .await;
    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 2, "{tickets:?}");
    let ana = tickets
        .iter()
        .find(|t| t["subject"].as_str().is_some_and(|s| s.contains("parcel")))
        .expect("Ana's ticket");
    let texts = texts(&app.conversations(ana["id"].as_i64().unwrap()).await);
    assert_eq!(
        texts,
        vec!["It was due today"],
        "the first message is the description"
    );
    app.stop().await;
}
on_both!(jobs_bound_to_one_cpu);

async fn interval_of_48_hours(backend: Backend) {
    let app = TestApp::start(backend).await;
    let resp = app
        .api(Method::POST, "/whatsapp/numbers")
        .json(
            &json!({"phone_number_id": PNID, "waba_id": "102290129340398",
            "display_phone_number": "+1 555 0100", "access_token": "EAAG-x", "name": "Support",
            "threading_interval_hours": 48}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let t = t0() - 5 * 24 * HOUR;
    app.send(vec![text(ANA, "wamid.A", t, "Hello")]).await;
    app.send(vec![text(ANA, "wamid.B", t + 47 * HOUR, "Two days later")])
        .await;
    app.send(vec![text(ANA, "wamid.C", t + 95 * HOUR + 1, "Too late")])
        .await;
    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 2, "{tickets:?}");
    let first = tickets[0]["id"].as_i64().unwrap();
    assert_eq!(texts(&app.conversations(first).await), ["Two days later"]);
    app.stop().await;
}
on_both!(interval_of_48_hours);

async fn interval_changed_to_48_hours(backend: Backend) {
    let app = TestApp::start(backend).await;
    let number = app.connect_number(PNID).await;
    let t = t0() - 5 * 24 * HOUR;
    // Mon 10:00, resolved; Wed 09:00 would be a new ticket with 24 h …
    app.send(vec![text(ANA, "wamid.A", t, "Monday")]).await;
    let first = app.tickets().await[0]["id"].as_i64().unwrap();
    app.set_status(first, 4).await;
    // … but joins (and reopens) once the interval is 48 h.
    let resp = app
        .api(Method::PUT, &format!("/whatsapp/numbers/{}", number["id"]))
        .json(&json!({"threading_interval_hours": 48}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["threading_interval_hours"], 48);
    let bad = app
        .api(Method::PUT, &format!("/whatsapp/numbers/{}", number["id"]))
        .json(&json!({"threading_interval_hours": 49}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    app.send(vec![text(ANA, "wamid.B", t + 47 * HOUR, "Wednesday")])
        .await;
    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0]["status"], 2, "reopened");
    assert_eq!(texts(&app.conversations(first).await), ["Wednesday"]);
    app.stop().await;
}
on_both!(interval_changed_to_48_hours);

/// A message that cannot be applied is marked failed with its error; the rest go on. Status
/// webhooks move an outgoing entry's status forward only.
async fn bad_event_is_skipped_and_statuses_are_monotonic(backend: Backend) {
    let app = TestApp::start(backend).await;
    let number = app.connect_number(PNID).await;
    let t = t0();
    let bad = json!({"id": "wamid.NOSENDER", "timestamp": (t - 5).to_string(), "type": "text",
        "text": {"body": "who am I"}});
    app.send(vec![bad, text(ANA, "wamid.A", t, "Fine")]).await;
    assert_eq!(app.tickets().await.len(), 1);
    let events = app.events().await;
    let bad = events
        .iter()
        .find(|e| e.event.message_id.as_deref() == Some("wamid.NOSENDER"))
        .unwrap();
    let (outcome, error) = app.store.event_outcome(bad.id).await.unwrap().unwrap();
    assert_eq!(outcome, store::EventOutcome::Failed);
    assert!(error.unwrap().contains("sender"));

    // An outgoing entry (replies come with the outbound issue) and its statuses.
    let ticket = app.tickets().await[0]["id"].as_i64().unwrap();
    let account = app
        .store
        .find_agent_by_api_key_hash(&wadesk_app::http::hash_api_key(API_KEY))
        .await
        .unwrap()
        .unwrap()
        .account_id;
    let mut tx = app.store.begin_tickets(account).await.unwrap();
    let out = tx
        .insert_entry(
            ticketing_core::TicketId(ticket),
            Some(ticketing_core::NumberId(number["id"].as_i64().unwrap())),
            &store::EntryFields {
                wamid: Some("wamid.OUT".into()),
                incoming: false,
                private: false,
                body: "<div>On its way</div>".into(),
                body_text: "On its way".into(),
                attachments: json!([]),
                wa_status: Some("sent".into()),
                wa_error: None,
                reply_to: None,
                data: json!(null),
                created_at: time::OffsetDateTime::from_unix_timestamp(t + 10).unwrap(),
                updated_at: time::OffsetDateTime::from_unix_timestamp(t + 10).unwrap(),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let status = |s: &str, ts: i64| json!({"id": "wamid.OUT", "status": s, "timestamp": ts.to_string(), "recipient_id": ANA});
    let statuses = |list: Vec<Value>| {
        serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "1",
            "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1", "phone_number_id": PNID}, "statuses": list}}]}]}))
        .unwrap()
    };
    // read arrives before delivered: delivered does not move it back.
    app.post_signed(&statuses(vec![status("read", t + 30)]))
        .await;
    app.settled().await;
    app.post_signed(&statuses(vec![status("delivered", t + 20)]))
        .await;
    // A status for a message wadesk never sent is kept as an event only.
    app.post_signed(&statuses(vec![
        json!({"id": "wamid.UNKNOWN", "status": "sent",
        "timestamp": (t + 5).to_string(), "recipient_id": ANA}),
    ]))
    .await;
    app.settled().await;
    // The customer reacts to the reply.
    app.send(vec![msg(
        ANA,
        "wamid.RX",
        t + 40,
        "reaction",
        json!({"message_id": "wamid.OUT", "emoji": "🙏"}),
    )])
    .await;
    let conv = app.conversations(ticket).await;
    let out_json = conv.iter().find(|c| c["id"] == out.id.0).unwrap();
    assert_eq!(out_json["whatsapp"]["status"], "read");
    assert_eq!(out_json["whatsapp"]["reaction"], "🙏");
    assert_eq!(out_json["incoming"], false);

    // A reaction that arrives before the message it reacts to waits for it.
    let early = delivery(
        PNID,
        vec![msg(
            ANA,
            "wamid.RY",
            t + 60,
            "reaction",
            json!({"message_id": "wamid.LATER", "emoji": "🎉"}),
        )],
    );
    assert_eq!(app.post_signed(&early).await.status(), 200);
    app.drained().await;
    app.send(vec![text(ANA, "wamid.LATER", t + 50, "Arrives late")])
        .await;
    let conv = app.conversations(ticket).await;
    let later = conv
        .iter()
        .find(|c| c["whatsapp"]["message_id"] == "wamid.LATER")
        .unwrap();
    assert_eq!(later["whatsapp"]["reaction"], "🎉");
    app.stop().await;
}
on_both!(bad_event_is_skipped_and_statuses_are_monotonic);

async fn whatsapp_events(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let t = t0();
    // A group message creates nothing.
    let mut group = text(ANA, "wamid.G", t - 10, "in the group");
    group["group_id"] = json!("120363000000000000@g.us");
    app.send(vec![group]).await;
    assert!(app.tickets().await.is_empty());
    assert!(
        app.get_json("/contacts")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );

    app.send(vec![text(ANA, "wamid.A", t, "First")]).await;
    let mut reply = text(ANA, "wamid.R", t + 60, "Replying to my first");
    reply["context"] = json!({"from": ANA, "id": "wamid.A"});
    app.send(vec![reply]).await;
    app.send(vec![msg(
        ANA,
        "wamid.U",
        t + 120,
        "unsupported",
        json!({"type": "poll_creation"}),
    )])
    .await;
    app.send(vec![msg(
        ANA,
        "wamid.V",
        t + 130,
        "image",
        json!({"id": "MEDIA1", "mime_type": "image/jpeg", "sha256": "c2hh", "caption": "the box"}),
    )])
    .await;
    // Reaction removal delivered before the reaction it removes: the later one wins.
    app.send(vec![msg(
        ANA,
        "wamid.X2",
        t + 200,
        "reaction",
        json!({"message_id": "wamid.R", "emoji": ""}),
    )])
    .await;
    app.send(vec![msg(
        ANA,
        "wamid.X1",
        t + 190,
        "reaction",
        json!({"message_id": "wamid.R", "emoji": "👍"}),
    )])
    .await;
    app.send(vec![msg(
        ANA,
        "wamid.X3",
        t + 210,
        "reaction",
        json!({"message_id": "wamid.V", "emoji": "❤️"}),
    )])
    .await;
    app.send(vec![msg(
        ANA,
        "wamid.DEL",
        t + 300,
        "revoke",
        json!({"original_message_id": "wamid.U"}),
    )])
    .await;
    app.send(vec![msg(
        ANA,
        "wamid.ED",
        t + 400,
        "edit",
        json!({"original_message_id": "wamid.R",
        "message": {"type": "text", "text": {"body": "Edited text"}}}),
    )])
    .await;

    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let id = tickets[0]["id"].as_i64().unwrap();
    let conv = app.conversations(id).await;
    assert_eq!(
        conv.len(),
        3,
        "reactions, revokes and edits are not entries: {conv:?}"
    );
    let reply = &conv[0];
    assert_eq!(reply["whatsapp"]["message_id"], "wamid.R");
    assert_eq!(reply["whatsapp"]["reply_to"], "wamid.A");
    assert_eq!(reply["whatsapp"]["reaction"], Value::Null, "removed");
    assert_eq!(
        reply["body_text"], "Replying to my first",
        "the original stays"
    );
    assert_eq!(reply["whatsapp"]["edits"][0]["body_text"], "Edited text");
    assert_eq!(reply["incoming"], true);
    let unsupported = &conv[1];
    assert_eq!(
        unsupported["body_text"],
        "[Unsupported WhatsApp message (poll_creation): WhatsApp did not deliver its content. Ask the customer to send it another way.]"
    );
    assert_eq!(unsupported["whatsapp"]["revoked"], true);
    let image = &conv[2];
    assert_eq!(image["whatsapp"]["reaction"], "❤️");
    assert_eq!(image["attachments"][0]["content_type"], "image/jpeg");
    assert_eq!(image["attachments"][0]["whatsapp_media_id"], "MEDIA1");
    assert_eq!(image["body_text"], "the box");

    let full = app
        .get_json(&format!(
            "/tickets/{id}?include=conversations,requester,stats"
        ))
        .await;
    assert_eq!(full["description_text"], "First");
    assert_eq!(full["conversations"].as_array().unwrap().len(), 3);
    assert_eq!(full["requester"]["mobile"], "+16505551234");
    assert_eq!(full["requester"]["name"], "User 16505551234");
    assert!(full["stats"]["requester_responded_at"].is_string());
    app.stop().await;
}
on_both!(whatsapp_events);

async fn number_change(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let t = t0();
    app.send(vec![text(ANA, "wamid.A", t, "Hi")]).await;
    app.send(vec![msg(
        ANA,
        "wamid.SYS",
        t + 60,
        "system",
        json!({"body": "User A changed from +1 650 555 1234 to +1 650 555 9999",
               "wa_id": "16505559999", "type": "user_changed_number"}),
    )])
    .await;
    let contacts = app.get_json("/contacts").await;
    assert_eq!(contacts.as_array().unwrap().len(), 1);
    assert_eq!(contacts[0]["whatsapp"]["wa_id"], "16505559999");
    assert_eq!(contacts[0]["mobile"], "+16505559999");
    let id = app.tickets().await[0]["id"].as_i64().unwrap();
    let conv = app.conversations(id).await;
    assert_eq!(conv.len(), 1);
    assert_eq!(conv[0]["private"], true);
    assert_eq!(
        conv[0]["body_text"],
        "The customer changed their WhatsApp number from +16505551234 to +16505559999. The contact now uses the new number."
    );
    // The new number writes: same contact, same ticket.
    app.send(vec![text(
        "16505559999",
        "wamid.B",
        t + 120,
        "From my new phone",
    )])
    .await;
    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(app.get_json("/contacts").await.as_array().unwrap().len(), 1);
    app.stop().await;
}
on_both!(number_change);

async fn several_contacts_late_arrival_and_redelivery(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let t = t0();
    let batch = delivery(
        PNID,
        vec![
            text("5511987654321", "wamid.BR", t + 5, "Olá"),
            text("447700900123", "wamid.GB", t + 3, "Hello"),
            text(ANA, "wamid.US2", t + 60, "Second"),
        ],
    );
    assert_eq!(app.post_signed(&batch).await.status(), 200);
    // The same delivery again changes nothing.
    assert_eq!(app.post_signed(&batch).await.status(), 200);
    app.settled().await;
    // A late message, earlier than ANA's first, arrives afterwards.
    app.send(vec![text(ANA, "wamid.US1", t, "First, sent earlier")])
        .await;
    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 3, "{tickets:?}");
    let contacts = app.get_json("/contacts").await;
    assert_eq!(contacts.as_array().unwrap().len(), 3);
    let ana = contacts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["whatsapp"]["wa_id"] == ANA)
        .unwrap()["id"]
        .clone();
    let mine = app.get_json(&format!("/tickets?requester_id={ana}")).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let id = mine[0]["id"].as_i64().unwrap();
    let full = app.get_json(&format!("/tickets/{id}")).await;
    assert_eq!(full["description_text"], "First, sent earlier");
    assert_eq!(full["subject"], "First, sent earlier");
    assert_eq!(
        full["created_at"],
        time::OffsetDateTime::from_unix_timestamp(t)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    assert_eq!(texts(&app.conversations(id).await), ["Second"]);
    app.stop().await;
}
on_both!(several_contacts_late_arrival_and_redelivery);

async fn contacts_api_and_isolation(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let created = app
        .api(Method::POST, "/contacts")
        .json(&json!({"name": "Ana Agent-Typed", "phone": "+1 (650) 555-1234", "email": "ana@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["phone"], "+1 (650) 555-1234");
    let dup = app
        .api(Method::POST, "/contacts")
        .json(&json!({"name": "Someone", "mobile": "16505551234"}))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 409);
    let err: Value = dup.json().await.unwrap();
    assert_eq!(err["errors"][0]["code"], "duplicate_value");

    app.send(vec![text(ANA, "wamid.A", t0(), "Hello")]).await;
    let tickets = app.tickets().await;
    assert_eq!(tickets[0]["requester_id"], created["id"], "same person");
    let found = app.get_json("/contacts?phone=+16505551234").await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["name"], "Ana Agent-Typed", "a typed name is kept");
    assert_eq!(found[0]["whatsapp"]["wa_id"], ANA);
    assert!(
        app.get_json("/contacts?mobile=%2B14155550100")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.get_json("/contacts?email=ANA@example.com")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let id = tickets[0]["id"].as_i64().unwrap();
    let put = app
        .api(Method::PUT, &format!("/tickets/{id}"))
        .json(&json!({"priority": 3, "tags": ["vip"], "group_id": 7, "responder_id": 424242}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let put: Value = put.json().await.unwrap();
    assert_eq!(put["priority"], 3);
    assert_eq!(put["tags"], json!(["vip"]));
    assert_eq!(put["responder_id"], 424242);
    assert_eq!(put["group_id"], 7);
    let bad = app
        .api(Method::PUT, &format!("/tickets/{id}"))
        .json(&json!({"status": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let fields = app.get_json("/ticket_fields").await;
    let source = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "source")
        .unwrap();
    assert_eq!(source["choices"]["WhatsApp"], 13);

    // Another account sees nothing of this one.
    let hash = wadesk_app::http::hash_api_key("other-key");
    app.store
        .create_account(
            "other",
            Plan::Growth,
            &NewAgent {
                name: "Other".into(),
                email: "o@example.com".into(),
                role: Role::Admin,
                api_key_hash: hash,
            },
            time::OffsetDateTime::UNIX_EPOCH,
        )
        .await
        .unwrap();
    let other = |m: Method, p: &str| {
        app.client
            .request(m, app.url(&format!("/api/v2{p}")))
            .basic_auth("other-key", Some("X"))
    };
    let list: Value = other(Method::GET, "/tickets")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
    for p in [
        format!("/tickets/{id}"),
        format!("/contacts/{}", created["id"]),
        format!("/tickets/{id}/conversations"),
    ] {
        let r = other(Method::GET, &p).send().await.unwrap();
        assert_eq!(r.status(), 404, "{p}");
        let body: Value = r.json().await.unwrap();
        assert!(body["errors"].is_array());
    }
    assert_eq!(
        other(Method::DELETE, &format!("/tickets/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Delete and restore.
    let del = app
        .api(Method::DELETE, &format!("/tickets/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    assert!(app.tickets().await.is_empty());
    let restore = app
        .api(Method::PUT, &format!("/tickets/{id}/restore"))
        .send()
        .await
        .unwrap();
    assert_eq!(restore.status(), 204);
    assert_eq!(app.tickets().await.len(), 1);
    let unauth = app
        .client
        .get(app.url("/api/v2/tickets"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status(), 401);
    app.stop().await;
}
on_both!(contacts_api_and_isolation);

/// The OpenAPI document is served, is JSON, and every list it describes answers.
async fn openapi_document_matches_the_routes(backend: Backend) {
    let app = TestApp::start(backend).await;
    let resp = app
        .client
        .get(app.url("/api/v2/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    for required in [
        "/tickets",
        "/tickets/{id}",
        "/tickets/{id}/conversations",
        "/contacts",
        "/contacts/{id}",
        "/ticket_fields",
    ] {
        assert!(paths.contains_key(required), "{required}");
    }
    for (path, ops) in paths {
        if path.contains('{') || ops.get("get").is_none() {
            continue;
        }
        // Operations with a required query parameter (e.g. `month`) answer 400 without it.
        let needs_query = ops["get"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["in"] == "query" && p["required"] == true);
        if needs_query {
            continue;
        }
        let r = app.api(Method::GET, path).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
    }
    app.stop().await;
}
on_both!(openapi_document_matches_the_routes);

/// Many events of one batch, read once for the whole batch: later events see what earlier ones
/// wrote (the contact a first message created, the ticket it opened, the entry a reaction names),
/// exactly as when they are applied one by one.
async fn one_batch_sees_its_own_writes(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let t = t0();
    let bo = "5511987654321";
    // Bo's number without the ninth digit: the same customer, by WhatsApp's rules.
    let bo_old = "551187654321";
    app.send(vec![
        text(ANA, "wamid.A1", t, "First"),
        text(bo, "wamid.B1", t + 1, "Olá"),
        text(ANA, "wamid.A2", t + 2, "Second"),
        msg(
            ANA,
            "wamid.AR",
            t + 3,
            "reaction",
            json!({"message_id": "wamid.A2", "emoji": "👍"}),
        ),
        text(bo_old, "wamid.B2", t + 4, "Tudo bem?"),
        // Past the 24-hour threading interval: a second ticket for Ana, in the same batch.
        text(ANA, "wamid.A3", t + 30 * HOUR, "A day later"),
        text(ANA, "wamid.A4", t + 30 * HOUR + 1, "Still me"),
    ])
    .await;
    let contacts = app.get_json("/contacts").await;
    assert_eq!(contacts.as_array().unwrap().len(), 2, "{contacts}");
    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 3, "{tickets:?}");
    let by_subject = |s: &str| {
        tickets
            .iter()
            .find(|t| t["subject"] == s)
            .unwrap_or_else(|| panic!("no ticket {s}: {tickets:?}"))["id"]
            .as_i64()
            .unwrap()
    };
    let first = app.conversations(by_subject("First")).await;
    assert_eq!(
        texts(&first),
        ["Second"],
        "the description is the first message"
    );
    let ticket = app
        .get_json(&format!("/tickets/{}", by_subject("First")))
        .await;
    assert_eq!(ticket["description_text"], "First");
    let bo_ticket = by_subject("Olá");
    assert_eq!(texts(&app.conversations(bo_ticket).await), ["Tudo bem?"]);
    let later = app.conversations(by_subject("A day later")).await;
    assert_eq!(texts(&later), ["Still me"]);
    // The reaction found the message written earlier in the batch.
    let second = first
        .iter()
        .find(|c| c["whatsapp"]["message_id"] == "wamid.A2")
        .unwrap();
    assert_eq!(second["whatsapp"]["reaction"], "👍");
    app.stop().await;
}
on_both!(one_batch_sees_its_own_writes);

/// Many customers in one delivery: on PostgreSQL their events are applied in two lanes at once
/// (`Store::ticket_lanes`), and the result is the one-at-a-time result: a ticket per customer
/// with its messages in order, and, for a contact that two customers' numbers both match (a
/// phone and a mobile), the first to write wins it, as one at a time: Ana, who wrote first,
/// becomes that contact's WhatsApp identity, and Bo, ten seconds later, a contact of his own.
async fn customers_applied_side_by_side(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let t = t0();
    let bo = "16505559876";
    let created = app
        .api(Method::POST, "/contacts")
        .json(&json!({"name": "Ana and Bo", "phone": "+16505551234", "mobile": "+16505559876"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let shared: Value = created.json().await.unwrap();
    let others: Vec<String> = (0..12).map(|i| format!("4477009{i:05}")).collect();
    let mut messages = Vec::new();
    for round in 0..3i64 {
        for (i, o) in others.iter().enumerate() {
            let at = t + round * 60 + i as i64;
            messages.push(text(
                o,
                &format!("wamid.O{i}.{round}"),
                at,
                &format!("{o} #{round}"),
            ));
        }
    }
    messages.push(text(bo, "wamid.BO", t + 30, "From Bo's phone"));
    messages.push(text(ANA, "wamid.ANA", t + 20, "From Ana's phone"));
    app.send(messages).await;

    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 14, "{tickets:?}");
    for o in &others {
        let mine: Vec<&Value> = tickets
            .iter()
            .filter(|t| t["subject"].as_str() == Some(&format!("{o} #0")))
            .collect();
        assert_eq!(mine.len(), 1, "{o}: {tickets:?}");
        let id = mine[0]["id"].as_i64().unwrap();
        assert_eq!(
            texts(&app.conversations(id).await),
            [format!("{o} #1"), format!("{o} #2")]
        );
    }
    let theirs: Vec<&Value> = tickets
        .iter()
        .filter(|t| t["requester_id"] == shared["id"])
        .collect();
    assert_eq!(theirs.len(), 1, "{tickets:?}");
    assert_eq!(theirs[0]["subject"], "From Ana's phone");
    let bos = tickets
        .iter()
        .find(|t| t["subject"] == "From Bo's phone")
        .expect("Bo's ticket");
    assert_ne!(bos["requester_id"], shared["id"]);
    let contact = app.get_json(&format!("/contacts/{}", shared["id"])).await;
    assert_eq!(contact["whatsapp"]["wa_id"], ANA);
    assert_eq!(
        app.get_json("/contacts").await.as_array().unwrap().len(),
        14
    );
    app.stop().await;
}
on_both!(customers_applied_side_by_side);
