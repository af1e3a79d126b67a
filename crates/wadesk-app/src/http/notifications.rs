//! `GET /api/v2/notifications`: what SLA reminders and escalations produced for the account,
//! newest first, with whom they are for.

use axum::{
    extract::{RawQuery, State},
    response::Response,
};
use serde_json::{Value, json};

use super::{
    AppState,
    api::{ApiError, Caller, pagination, rfc3339, with_next_link},
};

/// `GET /api/v2/notifications[?page=&per_page=]`.
pub(super) async fn list(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let page = pagination(query.as_deref())?;
    let rows = app
        .store
        .list_notifications(caller.account.id, page)
        .await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let n = &r.notification;
            let mut v = json!({
                "id": r.id,
                "type": n.kind,
                "ticket_id": n.ticket_id,
                "key": n.key,
                "fell_due_at": rfc3339(n.at),
                "created_at": rfc3339(r.created_at),
                "updated_at": rfc3339(r.created_at),
            });
            if let (Some(o), Some(d)) = (v.as_object_mut(), n.data.as_object()) {
                for (k, val) in d {
                    o.insert(k.clone(), val.clone());
                }
            }
            v
        })
        .collect();
    Ok(with_next_link("/api/v2/notifications", page, items))
}
