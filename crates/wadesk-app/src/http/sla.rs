//! `/api/v2/sla_policies` and `/api/v2/business_hours` (CONTRACT section 4), in Freshdesk's shapes.
//!
//! Bodies are validated by `sla-engine` (the same parser the SLA timers use, so what is accepted
//! here is exactly what the engine can run) and kept as settings documents. Every account has a
//! default policy and a default business-hours calendar, created on first use; there is exactly
//! one of each, even when several servers race, because each is stored under the unique key
//! `default`.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};
use store::{NewSettingsDoc, SettingsDoc, StoreError};
use ticketing_core::AccountId;

use super::{
    AppState,
    api::{ApiError, ApiJson, Caller, FieldError, path_id, rfc3339},
};

/// The settings kind of SLA policies.
pub const POLICY_KIND: &str = "sla_policy";
/// The settings kind of business-hours calendars.
pub const HOURS_KIND: &str = "business_hours";
const DEFAULT_KEY: &str = "default";

/// The policy every account starts with: Freshdesk's default targets (first response within
/// 1, 4, 8 and 12 hours from Urgent to Low; resolution within 4, 24, 72 and 72 hours), counted in
/// business hours, with escalation on.
pub fn default_policy_json() -> Value {
    let target = |respond: i64, resolve: i64| {
        json!({
            "respond_within": respond * 3600,
            "resolve_within": resolve * 3600,
            "business_hours": true,
            "escalation_enabled": true,
        })
    };
    json!({
        "name": "Default SLA Policy",
        "description": "The policy for every ticket no other policy matches.",
        "is_default": true,
        "active": true,
        "position": 1,
        "sla_target": {
            "priority_4": target(1, 4),
            "priority_3": target(4, 24),
            "priority_2": target(8, 72),
            "priority_1": target(12, 72),
        },
        "escalation": {},
    })
}

/// The calendar every account starts with: Monday to Friday, 9:00 am to 6:00 pm, UTC.
pub fn default_business_hours_json() -> Value {
    let day = json!({"start_time": "9:00 am", "end_time": "6:00 pm"});
    json!({
        "name": "Default business hours",
        "description": "Monday to Friday, 9 to 6, UTC. Change the time zone and hours to yours.",
        "is_default": true,
        "time_zone": "Etc/UTC",
        "business_hours": {
            "monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day,
        },
        "holidays": [],
    })
}

fn sla_error(e: &sla_engine::SlaError) -> ApiError {
    let (field, code) = match e {
        sla_engine::SlaError::Invalid { field, code, .. } => (field.clone(), code.as_str()),
        _ => (String::new(), "invalid_value"),
    };
    let message = match e {
        sla_engine::SlaError::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    };
    ApiError::validation(vec![FieldError {
        field,
        message,
        code: code.to_owned(),
    }])
}

fn invalid(field: &str, code: &str, message: &str) -> ApiError {
    ApiError::validation(vec![FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
        code: code.to_owned(),
    }])
}

fn object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.as_object()
        .ok_or_else(|| invalid("", "datatype_mismatch", "The body should be a JSON object"))
}

/// A document as the API shows it: its body with `id`, `position`, `created_at`, `updated_at`.
fn view(doc: &SettingsDoc) -> Value {
    let mut v = doc.body.clone();
    if let Some(o) = v.as_object_mut() {
        o.insert("id".into(), json!(doc.id));
        o.insert("position".into(), json!(doc.position));
        o.insert("created_at".into(), json!(rfc3339(doc.created_at)));
        o.insert("updated_at".into(), json!(rfc3339(doc.updated_at)));
    }
    v
}

/// Creates the default document of `kind` unless it exists; safe under races.
async fn ensure_default(
    app: &AppState,
    account: AccountId,
    kind: &str,
    body: Value,
) -> Result<(), ApiError> {
    if app
        .store
        .find_settings_by_key(account, kind, DEFAULT_KEY)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let doc = NewSettingsDoc {
        kind: kind.to_owned(),
        position: Some(if kind == POLICY_KIND { 0 } else { 1 }),
        unique_key: Some(DEFAULT_KEY.to_owned()),
        body,
    };
    match app
        .store
        .insert_settings(account, &doc, app.clock.now())
        .await
    {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Every SLA policy of an account, the default included, in matching order, as the engine
/// reads them.
pub async fn account_policies(
    app: &AppState,
    account: AccountId,
) -> Result<Vec<SettingsDoc>, ApiError> {
    ensure_default(app, account, POLICY_KIND, default_policy_json()).await?;
    Ok(app.store.list_settings(account, POLICY_KIND).await?)
}

// ------------------------------------------------------------------ SLA policies

/// Validates a policy body and renders it canonically (what is stored).
fn normalise_policy(body: &Value) -> Result<Value, ApiError> {
    let policy = sla_engine::policy_from_freshdesk_json(body).map_err(|e| sla_error(&e))?;
    let mut out = sla_engine::policy_to_freshdesk_json(&policy);
    if let (Some(o), Some(d)) = (out.as_object_mut(), body.get("description")) {
        o.insert("description".into(), d.clone());
    }
    Ok(out)
}

fn position_of(body: &Map<String, Value>) -> Result<Option<i64>, ApiError> {
    match body.get("position") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().filter(|p| *p > 0).map(Some).ok_or_else(|| {
            invalid(
                "position",
                "invalid_value",
                "It should be a positive integer",
            )
        }),
    }
}

/// `GET /api/v2/sla_policies`.
pub(super) async fn list_policies(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Value>>, ApiError> {
    let docs = account_policies(&app, caller.account.id).await?;
    Ok(Json(docs.iter().map(view).collect()))
}

/// `GET /api/v2/sla_policies/{id}`.
pub(super) async fn show_policy(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id)?;
    ensure_default(&app, caller.account.id, POLICY_KIND, default_policy_json()).await?;
    let doc = app
        .store
        .get_settings(caller.account.id, POLICY_KIND, id)
        .await?;
    Ok(Json(view(&doc)))
}

/// `POST /api/v2/sla_policies` (admins).
pub(super) async fn create_policy(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let o = object(&body)?;
    if o.get("is_default") == Some(&Value::Bool(true)) {
        return Err(invalid(
            "is_default",
            "invalid_value",
            "An account has one default policy; edit it with PUT instead",
        ));
    }
    let position = position_of(o)?;
    let mut stored = normalise_policy(&body)?;
    if let Some(s) = stored.as_object_mut() {
        s.remove("position");
    }
    ensure_default(&app, caller.account.id, POLICY_KIND, default_policy_json()).await?;
    let doc = app
        .store
        .insert_settings(
            caller.account.id,
            &NewSettingsDoc {
                kind: POLICY_KIND.into(),
                position,
                unique_key: None,
                body: stored,
            },
            app.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view(&doc))).into_response())
}

/// Top-level keys of `patch` replace those of `base` (Freshdesk's PUT semantics).
fn merged(base: &Value, patch: &Map<String, Value>) -> Value {
    let mut out = base.as_object().cloned().unwrap_or_default();
    for (k, v) in patch {
        out.insert(k.clone(), v.clone());
    }
    for k in ["id", "created_at", "updated_at"] {
        out.remove(k);
    }
    Value::Object(out)
}

/// `PUT /api/v2/sla_policies/{id}` (admins).
pub(super) async fn update_policy(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let id = path_id(&id)?;
    let patch = object(&body)?;
    let account = caller.account.id;
    ensure_default(&app, account, POLICY_KIND, default_policy_json()).await?;
    let current = app.store.get_settings(account, POLICY_KIND, id).await?;
    let is_default = current.unique_key.as_deref() == Some(DEFAULT_KEY);
    if let Some(v) = patch.get("is_default")
        && v != &Value::Bool(is_default)
    {
        return Err(invalid(
            "is_default",
            "invalid_value",
            "Which policy is the default cannot be changed",
        ));
    }
    if is_default && patch.get("active") == Some(&Value::Bool(false)) {
        return Err(invalid(
            "active",
            "invalid_value",
            "The default policy cannot be deactivated",
        ));
    }
    let position = position_of(patch)?;
    let mut next = merged(&current.body, patch);
    if let Some(o) = next.as_object_mut() {
        o.insert(
            "position".into(),
            json!(position.unwrap_or(current.position)),
        );
    }
    let mut stored = normalise_policy(&next)?;
    if let Some(s) = stored.as_object_mut() {
        s.remove("position");
    }
    let doc = app
        .store
        .update_settings(account, POLICY_KIND, id, position, &stored, app.clock.now())
        .await?;
    Ok(Json(view(&doc)))
}

// ------------------------------------------------------------------ business hours

/// Validates a business-hours body and renders it canonically, keeping the caller's `name`,
/// `description` and `time_zone` (Freshdesk's zone names stay as given).
fn normalise_hours(body: &Value, is_default: bool) -> Result<Value, ApiError> {
    let o = object(body)?;
    let name = match o.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::String(_)) => {
            return Err(invalid("name", "invalid_value", "It should not be blank"));
        }
        Some(_) => {
            return Err(invalid(
                "name",
                "datatype_mismatch",
                "It should be a String",
            ));
        }
        None => return Err(invalid("name", "missing_field", "It should be a String")),
    };
    for key in o.keys() {
        if ![
            "id",
            "name",
            "description",
            "is_default",
            "time_zone",
            "business_hours",
            "holidays",
            "position",
            "created_at",
            "updated_at",
        ]
        .contains(&key.as_str())
        {
            return Err(invalid(
                key,
                "invalid_field",
                "Unexpected/invalid field in request",
            ));
        }
    }
    let calendar = sla_engine::calendar_from_freshdesk_json(body).map_err(|e| sla_error(&e))?;
    let mut out = sla_engine::calendar_to_freshdesk_json(&calendar);
    if let Some(m) = out.as_object_mut() {
        m.insert("name".into(), json!(name));
        m.insert(
            "description".into(),
            o.get("description").cloned().unwrap_or(Value::Null),
        );
        m.insert("is_default".into(), json!(is_default));
        if let Some(tz) = o.get("time_zone") {
            m.insert("time_zone".into(), tz.clone());
        }
    }
    Ok(out)
}

/// `GET /api/v2/business_hours`.
pub(super) async fn list_hours(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Value>>, ApiError> {
    let account = caller.account.id;
    ensure_default(&app, account, HOURS_KIND, default_business_hours_json()).await?;
    let docs = app.store.list_settings(account, HOURS_KIND).await?;
    Ok(Json(docs.iter().map(view).collect()))
}

/// `GET /api/v2/business_hours/{id}`.
pub(super) async fn show_hours(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id)?;
    let account = caller.account.id;
    ensure_default(&app, account, HOURS_KIND, default_business_hours_json()).await?;
    Ok(Json(view(
        &app.store.get_settings(account, HOURS_KIND, id).await?,
    )))
}

/// `POST /api/v2/business_hours` (admins).
pub(super) async fn create_hours(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    if object(&body)?.get("is_default") == Some(&Value::Bool(true)) {
        return Err(invalid(
            "is_default",
            "invalid_value",
            "An account has one default calendar; edit it with PUT instead",
        ));
    }
    let stored = normalise_hours(&body, false)?;
    let account = caller.account.id;
    ensure_default(&app, account, HOURS_KIND, default_business_hours_json()).await?;
    let doc = app
        .store
        .insert_settings(
            account,
            &NewSettingsDoc {
                kind: HOURS_KIND.into(),
                position: None,
                unique_key: None,
                body: stored,
            },
            app.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view(&doc))).into_response())
}

/// `PUT /api/v2/business_hours/{id}` (admins).
pub(super) async fn update_hours(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let id = path_id(&id)?;
    let patch = object(&body)?;
    let account = caller.account.id;
    ensure_default(&app, account, HOURS_KIND, default_business_hours_json()).await?;
    let current = app.store.get_settings(account, HOURS_KIND, id).await?;
    let is_default = current.unique_key.as_deref() == Some(DEFAULT_KEY);
    if let Some(v) = patch.get("is_default")
        && v != &Value::Bool(is_default)
    {
        return Err(invalid(
            "is_default",
            "invalid_value",
            "Which calendar is the default cannot be changed",
        ));
    }
    let stored = normalise_hours(&merged(&current.body, patch), is_default)?;
    let doc = app
        .store
        .update_settings(account, HOURS_KIND, id, None, &stored, app.clock.now())
        .await?;
    Ok(Json(view(&doc)))
}

/// `GET /api/v2/sla_settings`: which statuses stop the SLA clock (besides Resolved and Closed,
/// which always do).
pub(super) async fn show_settings(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let statuses = crate::sla::stopping_statuses(app.store.as_ref(), caller.account.id).await?;
    Ok(Json(json!({"sla_timer_stopped_statuses": statuses})))
}

/// `PUT /api/v2/sla_settings` `{"sla_timer_stopped_statuses": [3]}` (admins). Statuses 3
/// (Pending), 4 and 5 may be listed; Open never stops the clock, Resolved and Closed always do.
/// Applies to the due times computed from then on (each ticket's at its next change).
pub(super) async fn update_settings(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    const FIELD: &str = "sla_timer_stopped_statuses";
    let invalid = |code: &str, message: &str| {
        ApiError::validation(vec![FieldError {
            field: FIELD.into(),
            message: message.into(),
            code: code.into(),
        }])
    };
    let Some(o) = body.as_object() else {
        return Err(invalid(
            "datatype_mismatch",
            "The body should be a JSON object",
        ));
    };
    if let Some(k) = o.keys().find(|k| k.as_str() != FIELD) {
        return Err(ApiError::validation(vec![FieldError {
            field: k.clone(),
            message: "Unexpected/invalid field in request".into(),
            code: "invalid_field".into(),
        }]));
    }
    let list = match o.get(FIELD) {
        None => return Err(invalid("missing_field", "It should be an Array")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("datatype_mismatch", "It should be an Array")),
    };
    let mut statuses: Vec<i64> = Vec::new();
    for v in list {
        match v.as_i64() {
            Some(s) if (3..=5).contains(&s) => {
                if !statuses.contains(&s) {
                    statuses.push(s);
                }
            }
            _ => {
                return Err(invalid(
                    "invalid_value",
                    "It should contain elements that are in the list 3,4,5",
                ));
            }
        }
    }
    statuses.sort_unstable();
    let account = caller.account.id;
    let stored = json!({ FIELD: statuses });
    let kind = crate::sla::SETTINGS_KIND;
    let now = app.clock.now();
    match app.store.find_settings_by_key(account, kind, kind).await? {
        Some(doc) => {
            app.store
                .update_settings(account, kind, doc.id, None, &stored, now)
                .await?;
        }
        None => {
            let new = NewSettingsDoc {
                kind: kind.into(),
                position: None,
                unique_key: Some(kind.into()),
                body: stored.clone(),
            };
            match app.store.insert_settings(account, &new, now).await {
                Ok(_) => {}
                // Another request created it meanwhile: write ours over it.
                Err(StoreError::Conflict(_)) => {
                    if let Some(doc) = app.store.find_settings_by_key(account, kind, kind).await? {
                        app.store
                            .update_settings(account, kind, doc.id, None, &stored, now)
                            .await?;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(Json(stored))
}
