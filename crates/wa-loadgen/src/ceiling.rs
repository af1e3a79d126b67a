//! The HTTP ceiling: `POST /webhooks/whatsapp` served by the same stack as wadesk-server (axum,
//! the same tower-http layers, `wa_client::signature::verify_signature` over the raw body),
//! storing nothing. What wadesk reaches is reported as a share of this.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::LoadgenError;

/// Counters of the ceiling server.
#[derive(Debug, Default)]
pub struct CeilingCounters {
    /// Deliveries answered 200.
    pub accepted: AtomicU64,
    /// Deliveries answered 401.
    pub refused: AtomicU64,
}

#[derive(Clone)]
struct CeilingState {
    secret: Arc<Vec<u8>>,
    counters: Arc<CeilingCounters>,
}

/// The ceiling's router: the webhook route with the body limit, trace and catch-panic layers
/// wadesk's router has, and `GET /stats`.
pub fn router(secret: &str, counters: Arc<CeilingCounters>) -> Router {
    let state = CeilingState {
        secret: Arc::new(secret.as_bytes().to_vec()),
        counters,
    };
    Router::new()
        .route(
            "/webhooks/whatsapp",
            post(receive).layer(DefaultBodyLimit::max(wadesk_app::http::MAX_WEBHOOK_BODY)),
        )
        .route("/stats", get(stats))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .with_state(state)
}

async fn receive(
    State(s): State<CeilingState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let header = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    match wa_client::signature::verify_signature(&s.secret, &body, header) {
        Ok(()) => {
            s.counters.accepted.fetch_add(1, Ordering::Relaxed);
            (StatusCode::OK, "EVENT_RECEIVED")
        }
        Err(_) => {
            s.counters.refused.fetch_add(1, Ordering::Relaxed);
            (StatusCode::UNAUTHORIZED, "invalid signature")
        }
    }
}

async fn stats(State(s): State<CeilingState>) -> String {
    format!(
        "accepted {}\nrefused {}\n",
        s.counters.accepted.load(Ordering::Relaxed),
        s.counters.refused.load(Ordering::Relaxed)
    )
}

/// Serves the ceiling on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    secret: &str,
    shutdown: CancellationToken,
) -> Result<(), LoadgenError> {
    let app = router(secret, Arc::new(CeilingCounters::default()));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    Ok(())
}
