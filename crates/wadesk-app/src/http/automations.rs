//! `/api/v2/automations/{type}/rules` and `/api/v2/automations/{type}/settings` (CONTRACT
//! section 4): Freshdesk's three kinds of automation, type 1 ticket creation, 4 ticket updates,
//! 3 time triggers (hourly).
//!
//! A rule body is validated by `rules-engine` (every field-level problem is reported, with its
//! path, e.g. `conditions[0].properties[1].operator`) and stored in the engine's canonical wire
//! shape, so what the API accepts is exactly what the engine runs.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use rules_engine::{ExecutionMode, Rule, RuleId, RuleType, ValidationErrors};
use serde_json::{Map, Value, json};
use store::{NewSettingsDoc, SettingsDoc, StoreError};
use ticketing_core::AccountId;

use super::{
    AppState,
    api::{ApiError, ApiJson, Caller, FieldError, path_id, rfc3339},
};

/// The settings kind of rules of one automation type.
pub fn rule_kind(rule_type: RuleType) -> String {
    format!("automation_rule:{}", rule_type.code())
}

const SETTINGS_KIND: &str = "automation_settings";

fn rule_type(raw: &str) -> Result<RuleType, ApiError> {
    raw.parse::<i64>()
        .ok()
        .and_then(RuleType::from_code)
        .ok_or_else(ApiError::not_found)
}

fn validation(errs: &ValidationErrors) -> ApiError {
    let mut e = ApiError::validation(
        errs.errors
            .iter()
            .map(|f| FieldError {
                field: f.field.clone(),
                message: f.message.clone(),
                code: f.code.as_str().to_owned(),
            })
            .collect(),
    );
    e.status = StatusCode::from_u16(errs.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    e
}

fn invalid(field: &str, code: &str, message: &str) -> ApiError {
    ApiError::validation(vec![FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
        code: code.to_owned(),
    }])
}

/// Validates a rule body; answers the canonical wire body (without `position`) and the
/// position asked for.
fn normalise(rule_type: RuleType, body: &Value) -> Result<(Value, Option<i64>), ApiError> {
    let Some(o) = body.as_object() else {
        return Err(invalid(
            "",
            "datatype_mismatch",
            "The body should be a JSON object",
        ));
    };
    let position = match o.get("position") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().filter(|p| *p > 0).ok_or_else(|| {
            invalid(
                "position",
                "invalid_value",
                "It should be a positive integer",
            )
        })?),
    };
    let mut clean = o.clone();
    for k in ["id", "created_at", "updated_at", "automation_type_id"] {
        clean.remove(k);
    }
    let rule = Rule::from_json_value(RuleId(0), rule_type, &Value::Object(clean))
        .map_err(|e| validation(&e))?;
    let mut wire = serde_json::to_value(rule.to_wire())
        .map_err(|e| invalid("", "invalid_value", &e.to_string()))?;
    if let Some(w) = wire.as_object_mut() {
        w.remove("position");
    }
    Ok((wire, position))
}

fn view(rule_type: RuleType, doc: &SettingsDoc) -> Value {
    let mut v = doc.body.clone();
    if let Some(o) = v.as_object_mut() {
        o.insert("id".into(), json!(doc.id));
        o.insert("position".into(), json!(doc.position));
        o.insert("automation_type_id".into(), json!(rule_type.code()));
        o.insert("created_at".into(), json!(rfc3339(doc.created_at)));
        o.insert("updated_at".into(), json!(rfc3339(doc.updated_at)));
    }
    v
}

/// The rules of one type, typed, in `position` order, for the job that runs them.
pub async fn account_rules(
    app: &AppState,
    account: AccountId,
    rule_type: RuleType,
) -> Result<Vec<Rule>, ApiError> {
    let docs = app
        .store
        .list_settings(account, &rule_kind(rule_type))
        .await?;
    let mut rules = Vec::with_capacity(docs.len());
    for doc in docs {
        let mut body = doc.body.clone();
        if let Some(o) = body.as_object_mut() {
            o.insert("position".into(), json!(doc.position));
        }
        match Rule::from_json_value(RuleId(doc.id), rule_type, &body) {
            Ok(rule) => rules.push(rule),
            // Stored rules were valid when written; one that no longer parses is skipped, loudly.
            Err(e) => {
                tracing::error!(rule = doc.id, error.message = %e, "stored rule is invalid; skipped")
            }
        }
    }
    Ok(rules)
}

/// The execution mode of one type: the account's setting, else Freshdesk's default.
pub async fn execution_mode(
    app: &AppState,
    account: AccountId,
    rule_type: RuleType,
) -> Result<ExecutionMode, ApiError> {
    let key = rule_type.code().to_string();
    Ok(app
        .store
        .find_settings_by_key(account, SETTINGS_KIND, &key)
        .await?
        .and_then(|d| serde_json::from_value(d.body["execution_mode"].clone()).ok())
        .unwrap_or_else(|| rule_type.default_execution_mode()))
}

/// `GET /api/v2/automations/{type}/rules`.
pub(super) async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Path(kind): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let t = rule_type(&kind)?;
    let docs = app
        .store
        .list_settings(caller.account.id, &rule_kind(t))
        .await?;
    Ok(Json(docs.iter().map(|d| view(t, d)).collect()))
}

/// `GET /api/v2/automations/{type}/rules/{id}`.
pub(super) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let t = rule_type(&kind)?;
    let id = path_id(&id)?;
    let doc = app
        .store
        .get_settings(caller.account.id, &rule_kind(t), id)
        .await?;
    Ok(Json(view(t, &doc)))
}

/// `POST /api/v2/automations/{type}/rules` (admins).
pub(super) async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Path(kind): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let t = rule_type(&kind)?;
    caller.require_admin()?;
    let (wire, position) = normalise(t, &body)?;
    let doc = app
        .store
        .insert_settings(
            caller.account.id,
            &NewSettingsDoc {
                kind: rule_kind(t),
                position,
                unique_key: None,
                body: wire,
            },
            app.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view(t, &doc))).into_response())
}

/// `PUT /api/v2/automations/{type}/rules/{id}` (admins): the keys given replace the stored ones.
pub(super) async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let t = rule_type(&kind)?;
    let id = path_id(&id)?;
    caller.require_admin()?;
    let Some(patch) = body.as_object() else {
        return Err(invalid(
            "",
            "datatype_mismatch",
            "The body should be a JSON object",
        ));
    };
    let account = caller.account.id;
    let current = app.store.get_settings(account, &rule_kind(t), id).await?;
    let mut next: Map<String, Value> = current.body.as_object().cloned().unwrap_or_default();
    for (k, v) in patch {
        next.insert(k.clone(), v.clone());
    }
    let (wire, position) = normalise(t, &Value::Object(next))?;
    let doc = app
        .store
        .update_settings(account, &rule_kind(t), id, position, &wire, app.clock.now())
        .await?;
    Ok(Json(view(t, &doc)))
}

/// `DELETE /api/v2/automations/{type}/rules/{id}` (admins): 204.
pub(super) async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let t = rule_type(&kind)?;
    let id = path_id(&id)?;
    caller.require_admin()?;
    app.store
        .delete_settings(caller.account.id, &rule_kind(t), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v2/automations/{type}/settings`.
pub(super) async fn show_settings(
    State(app): State<AppState>,
    caller: Caller,
    Path(kind): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = rule_type(&kind)?;
    let mode = execution_mode(&app, caller.account.id, t).await?;
    Ok(Json(
        json!({"automation_type_id": t.code(), "execution_mode": mode}),
    ))
}

/// `PUT /api/v2/automations/{type}/settings` `{"execution_mode": "first_matching"|"all_matching"}`
/// (admins).
pub(super) async fn update_settings(
    State(app): State<AppState>,
    caller: Caller,
    Path(kind): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let t = rule_type(&kind)?;
    caller.require_admin()?;
    let mode: ExecutionMode = match body.get("execution_mode") {
        Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
            invalid(
                "execution_mode",
                "invalid_value",
                "It should be one of these values: 'first_matching,all_matching'",
            )
        })?,
        None => {
            return Err(invalid(
                "execution_mode",
                "missing_field",
                "It should be one of these values: 'first_matching,all_matching'",
            ));
        }
    };
    let account = caller.account.id;
    let key = t.code().to_string();
    let stored = json!({"execution_mode": mode});
    let now = app.clock.now();
    match app
        .store
        .find_settings_by_key(account, SETTINGS_KIND, &key)
        .await?
    {
        Some(doc) => {
            app.store
                .update_settings(account, SETTINGS_KIND, doc.id, None, &stored, now)
                .await?;
        }
        None => {
            let new = NewSettingsDoc {
                kind: SETTINGS_KIND.into(),
                position: Some(t.code()),
                unique_key: Some(key.clone()),
                body: stored.clone(),
            };
            match app.store.insert_settings(account, &new, now).await {
                Ok(_) => {}
                // Another request created it meanwhile: write ours over it.
                Err(StoreError::Conflict(_)) => {
                    if let Some(doc) = app
                        .store
                        .find_settings_by_key(account, SETTINGS_KIND, &key)
                        .await?
                    {
                        app.store
                            .update_settings(account, SETTINGS_KIND, doc.id, None, &stored, now)
                            .await?;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(Json(
        json!({"automation_type_id": t.code(), "execution_mode": mode}),
    ))
}
