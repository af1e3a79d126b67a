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
use rules_engine::{
    Env, ExecutionMode, Rule, RuleId, RuleType, Trigger, ValidationErrors, evaluate,
};
use serde_json::{Map, Value, json};
use store::{NewSettingsDoc, SettingsDoc, StoreError};
use ticketing_core::TicketId;

use crate::automation::{Calendars, SETTINGS_KIND, execution_mode, load_rules, rule_kind};

use super::{
    AppState,
    api::{ApiError, ApiJson, Caller, FieldError, path_id, rfc3339},
};

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
    let mode = execution_mode(app.store.as_ref(), caller.account.id, t).await?;
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

/// `POST /api/v2/automations/{type}/rules/dry_run` `{"ticket_id": N}`: which rules of a type would
/// match the ticket now and why (every condition with its result), and what they would do.
/// Nothing is changed. Ticket-creation rules see the ticket's first message; time triggers see the
/// ticket as the hourly sweep would. Ticket-update rules need an update to react to, so they are
/// explained against none (their events do not match).
pub(super) async fn dry_run(
    State(app): State<AppState>,
    caller: Caller,
    Path(kind): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let t = rule_type(&kind)?;
    let Some(ticket_id) = body.get("ticket_id").and_then(Value::as_i64) else {
        return Err(invalid(
            "ticket_id",
            "missing_field",
            "It should be the id of a ticket",
        ));
    };
    let account = caller.account.id;
    let store = app.store.as_ref();
    let ticket = store.ticket(account, TicketId(ticket_id)).await?;
    let entries = store.entries(account, ticket.id).await?;
    let first = entries
        .iter()
        .find(|e| e.fields.incoming)
        .and_then(|row| crate::tickets::domain_entry(row).ok());
    let contact = store.contact(account, ticket.fields.requester_id).await?;
    let rules = load_rules(store, account, t).await?;
    let mode = execution_mode(store, account, t).await?;
    let calendars = Calendars::load(store, account).await?;
    let now = app.clock.now();
    let description = entries
        .iter()
        .find(|e| e.fields.incoming)
        .map(|e| e.fields.body_text.clone())
        .unwrap_or_default();
    let sla = store.ticket_sla(account, ticket.id).await?;
    let view = crate::automation::ticket_view(
        &ticket,
        crate::automation::TicketContext {
            contact: &contact,
            description_text: &description,
        },
        sla.as_ref(),
    );
    let trigger = match t {
        RuleType::TicketCreation => Trigger::TicketCreated {
            message: first.as_ref().map(crate::automation::message_view),
        },
        RuleType::TimeTriggers => Trigger::TimeSweep,
        RuleType::TicketUpdates => Trigger::TicketUpdated(rules_engine::Update {
            performer: rules_engine::Performer::Agent(caller.agent.id),
            events: Vec::new(),
            message: None,
        }),
    };
    let run = {
        let env = Env::new(now, &calendars);
        evaluate(&rules, mode, &view, &trigger, &env)
    };
    Ok(Json(json!({
        "ticket_id": ticket.id,
        "automation_type_id": t.code(),
        "execution_mode": mode,
        "matched": run.matched(),
        "rules": run.rules,
        "effects": run.effects,
    })))
}

/// `GET /api/v2/tickets/{id}/automation_log`: every automation run on the ticket, oldest first:
/// which rules were considered, which matched and why, and what each action did.
pub(super) async fn ticket_log(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let id = TicketId(path_id(&id)?);
    let account = caller.account.id;
    // 404 for another account's ticket, as everywhere.
    app.store.ticket(account, id).await?;
    let rows = app.store.automation_log(account, id).await?;
    Ok(Json(
        rows.iter()
            .map(|r| {
                let mut v = r.log.run.clone();
                if let Some(o) = v.as_object_mut() {
                    o.insert("id".into(), json!(r.id));
                    o.insert("ticket_id".into(), json!(r.ticket_id));
                    o.insert("automation_type_id".into(), json!(r.log.rule_type));
                    o.insert("trigger".into(), json!(r.log.trigger));
                    o.insert("created_at".into(), json!(rfc3339(r.log.created_at)));
                }
                v
            })
            .collect(),
    ))
}
