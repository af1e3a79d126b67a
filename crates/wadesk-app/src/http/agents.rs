//! `/api/v2/agents`: agents in Freshdesk's shape, their API keys and roles.
//!
//! Anyone of the account may read agents; only admins create, change or re-key them. A new
//! agent's API key is in the creation answer (`api_key`) and nowhere else; `POST
//! /agents/{id}/rotate_api_key` replaces it (the old key stops working at once) and shows the
//! new one once. Roles: `role` `admin` or `agent` (wadesk's extension), with Freshdesk's
//! `role_ids` 1 (admin) and 2 (agent) mirroring it.

use axum::{
    Json,
    extract::{Path, State},
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{AgentChange, AgentDetails, AgentRecord, StoreError};
use ticketing_core::{AgentId, Role};

use super::{
    AppState,
    api::{ApiError, ApiJson, Caller, FieldError, pagination, rfc3339, with_next_link},
};

/// An agent as Freshdesk shows it.
pub(super) fn agent_json(r: &AgentRecord) -> Value {
    let a = &r.agent;
    let d = &r.details;
    json!({
        "id": a.id.get(),
        "available": d.available,
        "occasional": d.occasional,
        "signature": d.signature,
        "ticket_scope": d.ticket_scope,
        "group_ids": r.group_ids.iter().map(|g| g.get()).collect::<Vec<_>>(),
        "role_ids": [if a.role == Role::Admin { 1 } else { 2 }],
        "skill_ids": [],
        "role": a.role.as_str(),
        "type": "support_agent",
        "focus_mode": true,
        "available_since": null,
        "last_active_at": null,
        "created_at": rfc3339(a.created_at),
        "updated_at": rfc3339(a.updated_at),
        "contact": {
            "active": true,
            "email": a.email,
            "job_title": d.job_title,
            "language": d.language,
            "last_login_at": null,
            "mobile": d.mobile,
            "name": a.name,
            "phone": d.phone,
            "time_zone": d.time_zone,
            "created_at": rfc3339(a.created_at),
            "updated_at": rfc3339(a.updated_at),
        },
    })
}

/// The body of `POST` and `PUT /api/v2/agents[/{id}]`: Freshdesk's fields at the top level
/// (`name`, `email`, `phone`, … as Freshdesk's create call takes them) or inside `contact`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AgentBody {
    name: Option<String>,
    email: Option<String>,
    phone: Option<Value>,
    mobile: Option<Value>,
    job_title: Option<Value>,
    language: Option<String>,
    time_zone: Option<String>,
    signature: Option<Value>,
    ticket_scope: Option<Value>,
    available: Option<Value>,
    occasional: Option<Value>,
    role: Option<String>,
    role_ids: Option<Vec<Value>>,
    contact: Option<Box<AgentBody>>,
}

fn err(field: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
        code: code.into(),
    }
}

fn text(
    errors: &mut Vec<FieldError>,
    field: &str,
    v: Option<&Value>,
    max: usize,
) -> Option<Option<String>> {
    match v? {
        Value::Null => Some(None),
        Value::String(s) if s.chars().count() <= max => {
            Some(Some(s.trim().to_owned()).filter(|s| !s.is_empty()))
        }
        Value::String(_) => {
            errors.push(err(
                field,
                "invalid_value",
                format!("It should be at most {max} characters"),
            ));
            None
        }
        _ => {
            errors.push(err(field, "datatype_mismatch", "It should be a string"));
            None
        }
    }
}

fn boolean(errors: &mut Vec<FieldError>, field: &str, v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        _ => {
            errors.push(err(field, "datatype_mismatch", "It should be a boolean"));
            None
        }
    }
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
        && email.len() <= 255
}

/// Merges a request into `base`, validating every field given.
fn merge(base: AgentChange, body: AgentBody) -> Result<AgentChange, ApiError> {
    // Fields inside `contact` win over top-level ones.
    let mut body = body;
    if let Some(c) = body.contact.take() {
        let c = *c;
        body.name = c.name.or(body.name);
        body.email = c.email.or(body.email);
        body.phone = c.phone.or(body.phone);
        body.mobile = c.mobile.or(body.mobile);
        body.job_title = c.job_title.or(body.job_title);
        body.language = c.language.or(body.language);
        body.time_zone = c.time_zone.or(body.time_zone);
    }
    let mut errors = Vec::new();
    let mut out = base;
    if let Some(name) = body.name {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 255 {
            errors.push(err(
                "name",
                "invalid_value",
                "It should be a non-empty string of at most 255 characters",
            ));
        }
        out.name = name;
    }
    if let Some(email) = body.email {
        let email = email.trim().to_owned();
        if !valid_email(&email) {
            errors.push(err(
                "email",
                "invalid_value",
                "It should be a valid email address",
            ));
        }
        out.email = email;
    }
    let d = &mut out.details;
    if let Some(v) = text(&mut errors, "phone", body.phone.as_ref(), 255) {
        d.phone = v;
    }
    if let Some(v) = text(&mut errors, "mobile", body.mobile.as_ref(), 255) {
        d.mobile = v;
    }
    if let Some(v) = text(&mut errors, "job_title", body.job_title.as_ref(), 255) {
        d.job_title = v;
    }
    if let Some(v) = text(&mut errors, "signature", body.signature.as_ref(), 8000) {
        d.signature = v;
    }
    if let Some(l) = body.language {
        if l.is_empty() || l.len() > 16 {
            errors.push(err(
                "language",
                "invalid_value",
                "It should be a language code such as en",
            ));
        }
        d.language = l;
    }
    if let Some(tz) = body.time_zone {
        if tz.is_empty() || tz.len() > 64 {
            errors.push(err(
                "time_zone",
                "invalid_value",
                "It should be a time zone name",
            ));
        }
        d.time_zone = tz;
    }
    if let Some(v) = &body.ticket_scope {
        match v.as_i64() {
            Some(n @ 1..=3) => d.ticket_scope = n,
            _ => errors.push(err(
                "ticket_scope",
                "invalid_value",
                "It should be one of these values: '1,2,3'",
            )),
        }
    }
    if let Some(b) = boolean(&mut errors, "available", body.available.as_ref()) {
        d.available = b;
    }
    if let Some(b) = boolean(&mut errors, "occasional", body.occasional.as_ref()) {
        d.occasional = b;
    }
    if let Some(role) = body.role {
        match role.parse::<Role>() {
            Ok(r) => out.role = r,
            Err(_) => errors.push(err(
                "role",
                "invalid_value",
                "It should be one of these values: 'admin,agent'",
            )),
        }
    } else if let Some(ids) = body.role_ids {
        // Freshdesk's role ids: 1 Account Administrator (and 2 Administrator) are admins here.
        let ids: Option<Vec<i64>> = ids.iter().map(Value::as_i64).collect();
        match ids {
            Some(ids) if !ids.is_empty() => {
                out.role = if ids.contains(&1) {
                    Role::Admin
                } else {
                    Role::Agent
                }
            }
            _ => errors.push(err(
                "role_ids",
                "invalid_value",
                "It should be a non-empty list of role ids (1 admin, 2 agent)",
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::validation(errors))
    }
}

fn agent_id(raw: &str) -> Result<AgentId, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(AgentId)
        .ok_or_else(ApiError::not_found)
}

fn email_conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(m) if m.contains("email") => ApiError::new(
            StatusCode::CONFLICT,
            "Validation failed",
            "email",
            "duplicate_value",
            "An agent with this email already exists in the account",
        ),
        StoreError::Conflict(m) if m.contains("admin") => ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            "role",
            "last_admin",
            "The account must keep at least one admin",
        ),
        other => other.into(),
    }
}

/// `GET /api/v2/agents`.
pub(super) async fn list(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    let page = pagination(uri.query())?;
    let agents = app.store.list_agents(caller.account.id, page).await?;
    Ok(with_next_link(
        "/api/v2/agents",
        page,
        agents.iter().map(agent_json).collect(),
    ))
}

/// `GET /api/v2/agents/me`.
pub(super) async fn me(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let r = app
        .store
        .get_agent(caller.account.id, caller.agent.id)
        .await?;
    Ok(Json(agent_json(&r)))
}

/// `GET /api/v2/agents/{id}`.
pub(super) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let r = app
        .store
        .get_agent(caller.account.id, agent_id(&id)?)
        .await?;
    Ok(Json(agent_json(&r)))
}

/// `POST /api/v2/agents` (admins): answers 201 with the agent and, once, its `api_key`.
pub(super) async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<AgentBody>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let has_name = body.name.is_some() || body.contact.as_ref().is_some_and(|c| c.name.is_some());
    let has_email =
        body.email.is_some() || body.contact.as_ref().is_some_and(|c| c.email.is_some());
    let mut missing = Vec::new();
    if !has_email {
        missing.push(err(
            "email",
            "missing_field",
            "It should be a valid email address",
        ));
    }
    if !missing.is_empty() {
        return Err(ApiError::validation(missing));
    }
    let base = AgentChange {
        name: String::new(),
        email: String::new(),
        role: Role::Agent,
        details: AgentDetails::default(),
    };
    let mut change = merge(base, body)?;
    if !has_name {
        change.name = change
            .email
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned();
    }
    let key = crate::new_api_key();
    let created = app
        .store
        .create_agent(
            caller.account.id,
            &store::NewAgent {
                name: change.name.clone(),
                email: change.email.clone(),
                role: change.role,
                api_key_hash: super::hash_api_key(&key),
            },
            &change.details,
            app.clock.now(),
        )
        .await
        .map_err(email_conflict)?;
    tracing::info!(account = %caller.account.id, agent = %created.agent.id, "agent created");
    let mut out = agent_json(&created);
    out["api_key"] = Value::String(key);
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `PUT /api/v2/agents/{id}` (admins).
pub(super) async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AgentBody>,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let id = agent_id(&id)?;
    let current = app.store.get_agent(caller.account.id, id).await?;
    let base = AgentChange {
        name: current.agent.name.clone(),
        email: current.agent.email.clone(),
        role: current.agent.role,
        details: current.details.clone(),
    };
    let change = merge(base, body)?;
    let updated = app
        .store
        .update_agent(caller.account.id, id, &change, app.clock.now())
        .await
        .map_err(email_conflict)?;
    Ok(Json(agent_json(&updated)))
}

/// `POST /api/v2/agents/{id}/rotate_api_key`: admins for anyone of the account, any agent for
/// themselves. Answers the agent with the new `api_key` (shown once).
pub(super) async fn rotate_api_key(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = agent_id(&id)?;
    if id != caller.agent.id {
        caller.require_admin()?;
    }
    let key = crate::new_api_key();
    let updated = app
        .store
        .set_agent_api_key(
            caller.account.id,
            id,
            &super::hash_api_key(&key),
            app.clock.now(),
        )
        .await?;
    tracing::info!(account = %caller.account.id, agent = %id, "API key rotated");
    let mut out = agent_json(&updated);
    out["api_key"] = Value::String(key);
    Ok(Json(out))
}
