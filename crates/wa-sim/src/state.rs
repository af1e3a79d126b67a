//! The simulator's in-memory world.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::config::{FailureRule, SimConfig, SimNumber, StatusPlan};

/// One HTTP request the simulator received on a Graph path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// Sequence number (0-based).
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Path, e.g. `/v23.0/106540352242922/messages`.
    pub path: String,
    /// Query string (without `?`), if any.
    pub query: Option<String>,
    /// `Authorization` header, verbatim.
    pub authorization: Option<String>,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// The body as JSON when it is JSON, else `null`.
    pub json: Value,
    /// The body as text (lossy), for form and multipart bodies (multipart file contents are elided).
    pub body_text: String,
    /// The HTTP status answered.
    pub response_status: u16,
}

/// A message the simulator accepted (a customer's phone would show it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcceptedMessage {
    /// The wamid given back.
    pub wamid: String,
    /// Sending number.
    pub phone_number_id: String,
    /// `to` as sent.
    pub to: String,
    /// The recipient's WhatsApp id (digits of `to`).
    pub wa_id: String,
    /// Message `type`.
    pub message_type: String,
    /// The request body.
    pub body: Value,
    /// `biz_opaque_callback_data`, if any.
    pub biz_opaque_callback_data: Option<String>,
    /// When the simulator accepted it (by its clock), e.g. to measure a sender's rate.
    pub received_at: time::OffsetDateTime,
}

/// A webhook the simulator POSTed (or tried to).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookDelivery {
    /// Target URL.
    pub url: String,
    /// The body sent.
    pub body: Value,
    /// `X-Hub-Signature-256` sent.
    pub signature: String,
    /// Receiver's HTTP status, or `None` when the POST failed.
    pub response_status: Option<u16>,
    /// Transport error text, if any.
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Media {
    pub(crate) bytes: bytes::Bytes,
    pub(crate) mime_type: String,
    pub(crate) sha256: String,
    pub(crate) owner: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub(crate) info: SimNumber,
    pub(crate) code_requested: bool,
    pub(crate) verified: bool,
    pub(crate) registered: bool,
    pub(crate) pin: Option<String>,
    pub(crate) profile: serde_json::Map<String, Value>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) numbers: HashMap<String, Number>,
    pub(crate) waba_tokens: HashMap<String, String>,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) accepted: Vec<AcceptedMessage>,
    pub(crate) webhooks: Vec<WebhookDelivery>,
    pub(crate) failures: Vec<FailureRule>,
    pub(crate) media: HashMap<String, Media>,
    pub(crate) media_faults: HashMap<String, crate::config::MediaFault>,
    pub(crate) templates: Vec<Value>,
    pub(crate) status_plan: StatusPlan,
    pub(crate) status_plan_by_recipient: HashMap<String, StatusPlan>,
    pub(crate) webhook_url: Option<String>,
    pub(crate) otp: String,
    /// Injected errors for account-management edges (`request_code`, `verify_code`, `register`,
    /// `whatsapp_business_profile`, `phone_numbers`): (edge, error, times left).
    pub(crate) edge_failures: Vec<(String, crate::EdgeFailure, u32)>,
    /// (phone_number_id, wa_id) → unix time of the customer's last message.
    pub(crate) last_customer_message: HashMap<(String, String), i64>,
    pub(crate) counter: u64,
}

impl State {
    pub(crate) fn new(config: &SimConfig) -> Self {
        let numbers = config
            .numbers
            .iter()
            .map(|n| {
                let mut profile = serde_json::Map::new();
                profile.insert(
                    "about".into(),
                    Value::String("Hey there! I am using WhatsApp.".into()),
                );
                let number = Number {
                    info: n.clone(),
                    code_requested: false,
                    verified: true,
                    registered: true,
                    pin: None,
                    profile,
                };
                (n.phone_number_id.clone(), number)
            })
            .collect();
        Self {
            numbers,
            waba_tokens: config
                .wabas
                .iter()
                .map(|w| (w.id.clone(), w.token.clone()))
                .collect(),
            requests: Vec::new(),
            accepted: Vec::new(),
            webhooks: Vec::new(),
            failures: Vec::new(),
            media: HashMap::new(),
            media_faults: HashMap::new(),
            templates: config.templates.clone(),
            status_plan: config.status_plan.clone(),
            status_plan_by_recipient: HashMap::new(),
            webhook_url: config.webhook_url.clone(),
            otp: config.otp.clone(),
            edge_failures: Vec::new(),
            last_customer_message: HashMap::new(),
            counter: 0,
        }
    }

    pub(crate) fn next_id(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    pub(crate) fn new_wamid(&mut self) -> String {
        let n = self.next_id();
        format!("wamid.HBgLc2ltdWxhdG9yFQIAERgS{n:016X}AA==")
    }

    pub(crate) fn new_numeric_id(&mut self) -> String {
        let n = self.next_id();
        format!("{}", 1_000_000_000_000_000u64 + n)
    }

    /// Whether `token` may act for WABA `waba_id`.
    pub(crate) fn token_for_waba(&self, waba_id: &str, token: &str) -> bool {
        self.waba_tokens.get(waba_id).is_some_and(|t| t == token)
            || self
                .numbers
                .values()
                .any(|n| n.info.waba_id == waba_id && n.info.token == token)
    }

    pub(crate) fn known_token(&self, token: &str) -> bool {
        self.waba_tokens.values().any(|t| t == token)
            || self.numbers.values().any(|n| n.info.token == token)
    }

    /// Takes the first injected error for `edge` (consuming one of its times).
    pub(crate) fn take_edge_failure(&mut self, edge: &str) -> Option<crate::EdgeFailure> {
        let index = self.edge_failures.iter().position(|(e, _, _)| e == edge)?;
        let failure = self.edge_failures[index].1.clone();
        self.edge_failures[index].2 -= 1;
        if self.edge_failures[index].2 == 0 {
            self.edge_failures.remove(index);
        }
        Some(failure)
    }

    /// Takes the first failure rule matching this send (consuming one of its `times`).
    pub(crate) fn take_failure(
        &mut self,
        phone_number_id: &str,
        to: &str,
        callback: Option<&str>,
    ) -> Option<FailureRule> {
        let digits = digits_of(to);
        let index = self.failures.iter().position(|rule| {
            rule.phone_number_id
                .as_deref()
                .is_none_or(|p| p == phone_number_id)
                && rule
                    .to
                    .as_deref()
                    .is_none_or(|t| t == to || digits_of(t) == digits)
                && rule
                    .biz_opaque_callback_data
                    .as_deref()
                    .is_none_or(|c| Some(c) == callback)
                && rule.times != Some(0)
        })?;
        let rule = self.failures[index].clone();
        if let Some(times) = &mut self.failures[index].times {
            *times -= 1;
            if *times == 0 {
                self.failures.remove(index);
            }
        }
        Some(rule)
    }
}

/// The digits of a phone number as WhatsApp ids write it (`+1 (650) 555-1234` → `16505551234`).
pub(crate) fn digits_of(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}
