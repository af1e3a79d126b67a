//! The HTTP surface: the webhook receiver, the REST API, health and metrics.

mod agents;
mod api;
mod attachments;
pub mod automations;
mod billing;
mod contacts;
mod deliveries;
mod groups;
mod notifications;
mod numbers;
mod onboarding;
mod ops;
mod outgoing;
mod profile;
mod replies;
pub mod sla;
mod templates;
mod tickets;
mod webhook;

pub use api::{ApiError, Caller, FieldError, hash_api_key};

use std::sync::Arc;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post, put},
};
use store::Store;

use crate::{clock::Clock, config::Config, ingest::Ingestor, metrics::Metrics};

/// Meta's webhook payloads are at most 3 MB; anything larger is refused with 413.
pub const MAX_WEBHOOK_BODY: usize = 3 * 1024 * 1024;
/// REST API request bodies are small JSON documents.
pub const MAX_API_BODY: usize = 1024 * 1024;

/// What every handler shares. Every request clones it, so it is one reference-counted pointer
/// (cloning the parts themselves, Arcs and strings, showed in profiles of webhook ingest).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Wraps the parts.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
#[derive(Debug)]
pub struct Shared {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Group commit for webhook bodies.
    pub ingestor: Ingestor,
    /// Configuration.
    pub config: Arc<Config>,
    /// Prometheus.
    pub metrics: Metrics,
    /// Media files and attachment URLs.
    pub media: crate::media::MediaService,
    /// The Graph API client (onboarding, business profiles).
    pub graph: wa_client::graph::GraphClient,
}

/// The OpenAPI 3 description of `/api/v2`, hand-written (`http/openapi.json`).
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

async fn openapi() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI_JSON,
    )
        .into_response()
}

/// All routes.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/whatsapp/numbers",
            post(numbers::create).get(numbers::list),
        )
        .route("/whatsapp/billing", get(billing::statement))
        .route(
            "/whatsapp/billing/reconciliation",
            get(billing::reconciliation),
        )
        .route("/whatsapp/billing/estimate", get(billing::estimate))
        .route(
            "/whatsapp/billing/settings",
            get(billing::show_settings).put(billing::update_settings),
        )
        .route(
            "/whatsapp/billing/rate_cards",
            get(billing::show_rate_cards).put(billing::put_rate_cards),
        )
        .route("/whatsapp/numbers/{id}/templates", get(templates::list))
        .route(
            "/whatsapp/numbers/{id}/templates/sync",
            post(templates::sync),
        )
        .route(
            "/whatsapp/numbers/{id}",
            get(numbers::show)
                .put(numbers::update)
                .delete(numbers::disconnect),
        )
        .route(
            "/whatsapp/numbers/{id}/request_code",
            post(onboarding::request_code),
        )
        .route(
            "/whatsapp/numbers/{id}/verify_code",
            post(onboarding::verify_code),
        )
        .route(
            "/whatsapp/numbers/{id}/register",
            post(onboarding::register),
        )
        .route(
            "/whatsapp/numbers/{id}/business_profile",
            get(profile::show).put(profile::update),
        )
        .route("/agents", get(agents::list).post(agents::create))
        .route("/agents/me", get(agents::me))
        .route("/agents/{id}", get(agents::show).put(agents::update))
        .route("/agents/{id}/rotate_api_key", post(agents::rotate_api_key))
        .route("/groups", get(groups::list).post(groups::create))
        .route("/groups/{id}", get(groups::show).put(groups::update))
        .route("/whatsapp/webhook_deliveries", get(deliveries::list))
        .route("/whatsapp/webhook_deliveries/{id}", get(deliveries::show))
        .route(
            "/whatsapp/webhook_deliveries/{id}/reprocess",
            post(deliveries::reprocess),
        )
        .route("/openapi.json", get(openapi))
        .route("/tickets", get(tickets::list).post(replies::create))
        .route(
            "/tickets/{id}",
            get(tickets::show)
                .put(tickets::update)
                .delete(tickets::delete),
        )
        .route("/tickets/{id}/restore", put(tickets::restore))
        .route("/tickets/{id}/conversations", get(tickets::conversations))
        .route(
            "/tickets/{id}/reply",
            post(replies::reply).layer(DefaultBodyLimit::max(replies::MAX_REPLY_BODY)),
        )
        .route("/tickets/{id}/notes", post(replies::note))
        .route("/ticket_fields", get(tickets::fields))
        .route("/contacts", get(contacts::list).post(contacts::create))
        .route("/contacts/{id}", get(contacts::show).put(contacts::update))
        .route("/attachments/{id}", get(attachments::download))
        .route("/attachments/{id}/retry", post(attachments::retry))
        .route(
            "/sla_policies",
            get(sla::list_policies).post(sla::create_policy),
        )
        .route(
            "/sla_policies/{id}",
            get(sla::show_policy).put(sla::update_policy),
        )
        .route(
            "/business_hours",
            get(sla::list_hours).post(sla::create_hours),
        )
        .route(
            "/business_hours/{id}",
            get(sla::show_hours).put(sla::update_hours),
        )
        .route(
            "/automations/{type}/rules",
            get(automations::list).post(automations::create),
        )
        .route(
            "/automations/{type}/rules/{id}",
            get(automations::show)
                .put(automations::update)
                .delete(automations::delete),
        )
        .route(
            "/automations/{type}/rules/dry_run",
            post(automations::dry_run),
        )
        .route("/tickets/{id}/automation_log", get(automations::ticket_log))
        .route("/notifications", get(notifications::list))
        .route(
            "/sla_settings",
            get(sla::show_settings).put(sla::update_settings),
        )
        .route("/webhooks", get(outgoing::list).post(outgoing::create))
        .route("/webhooks/deliveries", get(outgoing::deliveries))
        .route(
            "/webhooks/{id}",
            get(outgoing::show)
                .put(outgoing::update)
                .delete(outgoing::delete),
        )
        .route(
            "/automations/{type}/settings",
            get(automations::show_settings).put(automations::update_settings),
        )
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(MAX_API_BODY));
    Router::new()
        .route(
            "/webhooks/whatsapp",
            get(webhook::handshake)
                .post(webhook::receive)
                .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY)),
        )
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .nest("/api/v2", api)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .with_state(state)
}
