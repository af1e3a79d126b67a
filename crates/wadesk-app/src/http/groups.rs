//! `/api/v2/groups`: groups of agents in Freshdesk's shape. Anyone of the account reads them;
//! admins create and change them. `agent_ids` and `escalate_to` must be agents of the account.

use axum::{
    Json,
    extract::{Path, State},
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{GroupFields, GroupId, GroupRecord, StoreError};
use ticketing_core::AgentId;

use super::{
    AppState,
    api::{ApiError, ApiJson, Caller, FieldError, pagination, rfc3339, with_next_link},
};

fn group_json(g: &GroupRecord) -> Value {
    let f = &g.fields;
    json!({
        "id": g.id.get(),
        "name": f.name,
        "description": f.description,
        "agent_ids": f.agent_ids.iter().map(|a| a.get()).collect::<Vec<_>>(),
        "escalate_to": f.escalate_to.map(AgentId::get),
        "unassigned_for": f.unassigned_for,
        "business_hour_id": f.business_hours_id,
        "group_type": "support_agent_group",
        "auto_ticket_assign": f.auto_ticket_assign,
        "created_at": rfc3339(g.created_at),
        "updated_at": rfc3339(g.updated_at),
    })
}

/// The body of `POST` and `PUT /api/v2/groups[/{id}]`.
#[derive(Debug, Deserialize)]
pub(super) struct GroupBody {
    name: Option<Value>,
    description: Option<Value>,
    agent_ids: Option<Value>,
    escalate_to: Option<Value>,
    unassigned_for: Option<Value>,
    business_hour_id: Option<Value>,
    auto_ticket_assign: Option<Value>,
}

/// Freshdesk's `unassigned_for` values.
const UNASSIGNED_FOR: [&str; 9] = ["30m", "1h", "2h", "4h", "8h", "12h", "1d", "2d", "3d"];

fn err(field: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
        code: code.into(),
    }
}

fn merge(mut f: GroupFields, body: GroupBody) -> Result<GroupFields, ApiError> {
    let mut errors = Vec::new();
    match body.name {
        None => {}
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 255 => {
            f.name = s.trim().to_owned();
        }
        Some(_) => errors.push(err(
            "name",
            "invalid_value",
            "It should be a non-empty string of at most 255 characters",
        )),
    }
    match body.description {
        None => {}
        Some(Value::Null) => f.description = None,
        Some(Value::String(s)) if s.chars().count() <= 10_000 => f.description = Some(s),
        Some(_) => errors.push(err("description", "invalid_value", "It should be a string")),
    }
    match body.agent_ids {
        None => {}
        Some(Value::Array(ids)) => {
            match ids
                .iter()
                .map(|v| v.as_i64().filter(|n| *n > 0).map(AgentId))
                .collect::<Option<Vec<_>>>()
            {
                Some(ids) => f.agent_ids = ids,
                None => errors.push(err(
                    "agent_ids",
                    "invalid_value",
                    "It should be a list of agent ids",
                )),
            }
        }
        Some(_) => errors.push(err(
            "agent_ids",
            "datatype_mismatch",
            "It should be an array of integers",
        )),
    }
    match body.escalate_to {
        None => {}
        Some(Value::Null) => f.escalate_to = None,
        Some(v) => match v.as_i64().filter(|n| *n > 0) {
            Some(n) => f.escalate_to = Some(AgentId(n)),
            None => errors.push(err(
                "escalate_to",
                "invalid_value",
                "It should be an agent id",
            )),
        },
    }
    match body.unassigned_for {
        None => {}
        Some(Value::Null) => f.unassigned_for = None,
        Some(Value::String(s)) if UNASSIGNED_FOR.contains(&s.as_str()) => {
            f.unassigned_for = Some(s)
        }
        Some(_) => errors.push(err(
            "unassigned_for",
            "invalid_value",
            format!(
                "It should be one of these values: '{}'",
                UNASSIGNED_FOR.join(",")
            ),
        )),
    }
    match body.business_hour_id {
        None => {}
        Some(Value::Null) => f.business_hours_id = None,
        Some(v) => match v.as_i64().filter(|n| *n > 0) {
            Some(n) => f.business_hours_id = Some(n),
            None => errors.push(err(
                "business_hour_id",
                "invalid_value",
                "It should be a business hours id",
            )),
        },
    }
    match body.auto_ticket_assign {
        None => {}
        Some(Value::Bool(b)) => f.auto_ticket_assign = i64::from(b),
        Some(v) => match v.as_i64() {
            Some(n @ 0..=1) => f.auto_ticket_assign = n,
            _ => errors.push(err(
                "auto_ticket_assign",
                "invalid_value",
                "It should be 0 or 1",
            )),
        },
    }
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(ApiError::validation(errors))
    }
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::validation(vec![err(
            "agent_ids",
            "invalid_value",
            "There is no agent with one of these ids in your account",
        )]),
        StoreError::Conflict(_) => ApiError::new(
            StatusCode::CONFLICT,
            "Validation failed",
            "name",
            "duplicate_value",
            "A group with this name already exists",
        ),
        other => other.into(),
    }
}

fn group_id(raw: &str) -> Result<GroupId, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(GroupId)
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v2/groups`.
pub(super) async fn list(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    let page = pagination(uri.query())?;
    let groups = app.store.list_groups(caller.account.id, page).await?;
    Ok(with_next_link(
        "/api/v2/groups",
        page,
        groups.iter().map(group_json).collect(),
    ))
}

/// `GET /api/v2/groups/{id}`.
pub(super) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let g = app
        .store
        .get_group(caller.account.id, group_id(&id)?)
        .await?;
    Ok(Json(group_json(&g)))
}

/// `POST /api/v2/groups` (admins).
pub(super) async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<GroupBody>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    if body.name.is_none() {
        return Err(ApiError::validation(vec![err(
            "name",
            "missing_field",
            "It should be a non-empty string",
        )]));
    }
    let fields = merge(GroupFields::default(), body)?;
    let g = app
        .store
        .create_group(caller.account.id, &fields, app.clock.now())
        .await
        .map_err(store_error)?;
    Ok((StatusCode::CREATED, Json(group_json(&g))).into_response())
}

/// `PUT /api/v2/groups/{id}` (admins): fields left out keep their values.
pub(super) async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GroupBody>,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let id = group_id(&id)?;
    let current = app.store.get_group(caller.account.id, id).await?;
    let fields = merge(current.fields, body)?;
    let g = app
        .store
        .update_group(caller.account.id, id, &fields, app.clock.now())
        .await
        .map_err(store_error)?;
    Ok(Json(group_json(&g)))
}
