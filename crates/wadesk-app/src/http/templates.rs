//! `GET /api/v2/whatsapp/numbers/{id}/templates` and `POST …/templates/sync`: the message
//! templates of a number, as last synced from Meta.

use axum::{
    Json,
    extract::{Path, State},
};
use serde_json::{Value, json};
use store::TemplateRow;
use ticketing_core::NumberId;

use super::{
    AppState,
    api::{ApiError, Caller, rfc3339},
};
use crate::templates::{SyncError, placeholders, sync_number};

fn template_json(t: &TemplateRow) -> Value {
    let body = t
        .components
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "BODY"))
        .and_then(|c| c["text"].as_str())
        .unwrap_or_default();
    json!({
        "id": t.template_id,
        "name": t.name,
        "language": t.language,
        "status": t.status,
        "category": t.category,
        "parameter_format": t.parameter_format.clone().unwrap_or_else(|| "POSITIONAL".into()),
        "parameters": placeholders(body),
        "components": t.components,
        "synced_at": rfc3339(t.synced_at),
    })
}

async fn number_of(app: &AppState, caller: &Caller, id: &str) -> Result<store::WaNumber, ApiError> {
    let id = id.parse::<i64>().map_err(|_| ApiError::not_found())?;
    app.store
        .list_numbers(caller.account.id)
        .await?
        .into_iter()
        .find(|n| n.id == NumberId(id))
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v2/whatsapp/numbers/{id}/templates`.
pub(super) async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let number = number_of(&app, &caller, &id).await?;
    let rows = app
        .store
        .list_templates(caller.account.id, number.id)
        .await?;
    let synced_at = app.store.templates_synced_at(number.id).await?;
    Ok(Json(json!({
        "number_id": number.id.0,
        "synced_at": synced_at.map(rfc3339),
        "templates": rows.iter().map(template_json).collect::<Vec<_>>(),
    })))
}

/// `POST /api/v2/whatsapp/numbers/{id}/templates/sync` (admins): reads the templates from Meta
/// now.
pub(super) async fn sync(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let number = number_of(&app, &caller, &id).await?;
    let graph = crate::outbound::graph_client(&app.config);
    match sync_number(app.store.as_ref(), &graph, &number, app.clock.now()).await {
        Ok(rows) => Ok(Json(json!({
            "number_id": number.id.0,
            "synced_at": rfc3339(app.clock.now()),
            "templates": rows.iter().map(template_json).collect::<Vec<_>>(),
        }))),
        Err(SyncError::Store(e)) => Err(e.into()),
        Err(SyncError::Graph(e)) => {
            let (code, message) = match e.graph_error() {
                Some(g) => (g.code.to_string(), g.message.clone()),
                None => ("graph_unavailable".to_owned(), e.to_string()),
            };
            Err(ApiError::new(
                axum::http::StatusCode::BAD_GATEWAY,
                "Meta refused or could not be reached",
                "",
                &code,
                message,
            ))
        }
    }
}
