//! `/api/v2/whatsapp/webhook_deliveries`: the stored webhook deliveries, for admins to inspect
//! quarantined or unrouted bodies and process them again.
//!
//! An admin sees the deliveries routed to their account. Deliveries that belong to no account
//! (unparseable bodies, numbers nobody connected) are visible to the admins of the operator
//! account, the first account of the installation (the one `WADESK_BOOTSTRAP_API_KEY` creates).

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde::Serialize;
use store::{Delivery, DeliveryFilter, DeliveryId, DeliveryState, DeliverySummary};
use ticketing_core::AccountId;

use super::{
    AppState,
    api::{ApiError, Caller, FieldError, form_pairs, pagination, rfc3339, with_next_link},
};

/// The operator account: sees deliveries that belong to no account.
pub(crate) const OPERATOR_ACCOUNT: AccountId = AccountId(1);

#[derive(Debug, Serialize)]
pub(super) struct DeliveryView {
    id: i64,
    state: DeliveryState,
    received_at: String,
    processed_at: Option<String>,
    size: i64,
    /// Retention emptied the body (`WADESK_DELIVERY_RETENTION_DAYS`): no `body` then.
    body_pruned: bool,
    attempts: i32,
    error: Option<String>,
    account_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
}

impl From<&DeliverySummary> for DeliveryView {
    fn from(d: &DeliverySummary) -> Self {
        Self {
            id: d.id.0,
            state: d.state,
            received_at: rfc3339(d.received_at),
            processed_at: d.processed_at.map(rfc3339),
            size: d.size,
            body_pruned: d.pruned,
            attempts: d.attempts,
            error: d.error.clone(),
            account_id: d.account_id.map(AccountId::get),
            body: None,
            body_base64: None,
        }
    }
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        let (body, body_base64) = match std::str::from_utf8(&d.body) {
            _ if d.pruned => (None, None),
            Ok(s) => (Some(s.to_owned()), None),
            Err(_) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(&d.body)),
            ),
        };
        Self {
            id: d.id.0,
            state: d.state,
            received_at: rfc3339(d.received_at),
            processed_at: d.processed_at.map(rfc3339),
            size: d.size,
            body_pruned: d.pruned,
            attempts: d.attempts,
            error: d.error.clone(),
            account_id: d.account_id.map(AccountId::get),
            body,
            body_base64,
        }
    }
}

fn visible(caller: &Caller, account: Option<AccountId>) -> bool {
    match account {
        Some(a) => a == caller.account.id,
        None => caller.account.id == OPERATOR_ACCOUNT,
    }
}

/// `GET /api/v2/whatsapp/webhook_deliveries?state=quarantined`.
pub(super) async fn list(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let page = pagination(query.as_deref())?;
    let mut state = None;
    for (k, v) in form_pairs(query.as_deref().unwrap_or("")) {
        if k == "state" {
            state = Some(DeliveryState::parse(&v).ok_or_else(|| {
                ApiError::validation(vec![FieldError {
                    field: "state".into(),
                    message: "It should be one of pending, processed, quarantined, unrouted".into(),
                    code: "invalid_value".into(),
                }])
            })?);
        }
    }
    let filter = DeliveryFilter {
        state,
        account_id: Some(caller.account.id),
        include_unassigned: caller.account.id == OPERATOR_ACCOUNT,
    };
    let rows = app.store.list_deliveries(&filter, page).await?;
    let views: Vec<DeliveryView> = rows.iter().map(DeliveryView::from).collect();
    Ok(with_next_link(
        "/api/v2/whatsapp/webhook_deliveries",
        page,
        views,
    ))
}

async fn load(app: &AppState, caller: &Caller, id: i64) -> Result<Delivery, ApiError> {
    caller.require_admin()?;
    let d = app.store.get_delivery(DeliveryId(id)).await?;
    if visible(caller, d.account_id) {
        Ok(d)
    } else {
        Err(ApiError::not_found())
    }
}

/// `GET /api/v2/whatsapp/webhook_deliveries/{id}`: with the raw body (as text when it is
/// UTF-8, else as `body_base64`).
pub(super) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<DeliveryView>, ApiError> {
    let d = load(&app, &caller, id).await?;
    Ok(Json(DeliveryView::from(&d)))
}

/// `POST /api/v2/whatsapp/webhook_deliveries/{id}/reprocess`: back to pending; the job loop
/// takes it again. Events recorded before are not doubled.
pub(super) async fn reprocess(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let d = load(&app, &caller, id).await?;
    if d.state == DeliveryState::Pending {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            "state",
            "already_pending",
            "This delivery is already waiting for processing.",
        ));
    }
    if d.pruned {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            "body",
            "body_pruned",
            "Retention emptied this delivery's body (WADESK_DELIVERY_RETENTION_DAYS); it cannot be processed again.",
        ));
    }
    app.store.requeue_delivery(d.id, app.clock.now()).await?;
    let d = app.store.get_delivery(d.id).await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryView::from(&d))).into_response())
}
