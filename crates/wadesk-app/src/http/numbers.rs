//! `/api/v2/whatsapp/numbers` (CONTRACT section 3): connecting a number already registered with
//! Meta, reading, changing and disconnecting numbers. Onboarding a new number (OTP, PIN) is in
//! `onboarding.rs`, business profiles in `profile.rs`.
//!
//! Every handler is scoped to the caller's account (another account's id is 404). Changes need
//! an admin of an account whose plan has the WhatsApp channel; reads need neither, so data stays
//! visible after a downgrade. Access tokens and app secrets are never returned nor logged.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use store::{NewNumber, NumberOnboarding, NumberRecord, NumberStatus, Secret, WaNumber};
use ticketing_core::{NumberId, ThreadingInterval};

use super::{
    AppState,
    api::{ApiError, ApiJson, Caller, FieldError, rfc3339},
};

/// An account holds at most this many numbers.
pub(crate) const MAX_NUMBERS_PER_ACCOUNT: u32 = 10;

/// The body of `POST /api/v2/whatsapp/numbers`.
#[derive(Debug, Deserialize)]
pub(super) struct CreateNumber {
    pub(super) phone_number_id: Option<String>,
    pub(super) waba_id: Option<String>,
    pub(super) display_phone_number: Option<String>,
    pub(super) access_token: Option<String>,
    pub(super) name: Option<String>,
    pub(super) threading_interval_hours: Option<serde_json::Value>,
    pub(super) app_secret: Option<String>,
    // Onboarding fields (no `phone_number_id`): see `onboarding.rs`.
    pub(super) display_name: Option<String>,
    pub(super) phone_number: Option<String>,
    pub(super) business_manager_id: Option<String>,
    pub(super) cc: Option<String>,
}

/// A number as the API shows it: never the access token or app secret.
#[derive(Debug, Serialize)]
pub(super) struct NumberView {
    id: i64,
    phone_number_id: String,
    waba_id: String,
    display_phone_number: String,
    name: String,
    threading_interval_hours: i64,
    /// `unverified`, `code_requested`, `verified`, `connected` or `disconnected`.
    status: &'static str,
    has_app_secret: bool,
    display_name: Option<String>,
    name_status: Option<String>,
    business_manager_id: Option<String>,
    code_method: Option<String>,
    code_requested_at: Option<String>,
    created_at: String,
    updated_at: String,
}

/// The status the API shows: the stored status, with `unverified` split into `unverified` and
/// `code_requested` once a code was requested.
pub(super) fn api_status(n: &WaNumber, o: &NumberOnboarding) -> &'static str {
    match n.status {
        NumberStatus::Unverified if o.code_requested_at.is_some() => "code_requested",
        other => other.as_str(),
    }
}

impl NumberView {
    pub(super) fn new(n: &WaNumber, o: &NumberOnboarding) -> Self {
        Self {
            id: n.id.get(),
            phone_number_id: n.phone_number_id.clone(),
            waba_id: n.waba_id.clone(),
            display_phone_number: n.display_phone_number.clone(),
            name: n.name.clone(),
            threading_interval_hours: n.threading_interval.hours(),
            status: api_status(n, o),
            has_app_secret: n.app_secret.is_some(),
            display_name: o.display_name.clone(),
            name_status: o.name_status.clone(),
            business_manager_id: o.business_manager_id.clone(),
            code_method: o.code_method.clone(),
            code_requested_at: o.code_requested_at.map(rfc3339),
            created_at: rfc3339(n.created_at),
            updated_at: rfc3339(n.updated_at),
        }
    }

    pub(super) fn of(r: &NumberRecord) -> Self {
        Self::new(&r.number, &r.onboarding)
    }
}

pub(super) fn field(name: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: name.into(),
        message: message.into(),
        code: code.into(),
    }
}

pub(super) fn required(
    errors: &mut Vec<FieldError>,
    name: &str,
    v: &Option<String>,
    max: usize,
) -> String {
    match v.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push(field(
                name,
                "missing_field",
                "It should be a non-empty string",
            ));
            String::new()
        }
        Some(s) if s.chars().count() > max => {
            errors.push(field(
                name,
                "invalid_value",
                format!("It should be at most {max} characters"),
            ));
            String::new()
        }
        Some(s) => s.to_owned(),
    }
}

pub(super) fn digits_id(errors: &mut Vec<FieldError>, name: &str, v: &str) {
    if !v.is_empty() && !v.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(field(
            name,
            "invalid_value",
            "It should contain digits only, as Meta's ids do",
        ));
    }
}

/// `POST /api/v2/whatsapp/numbers`.
pub(super) async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateNumber>,
) -> Result<Response, ApiError> {
    caller.require_whatsapp_admin()?;
    if body.phone_number_id.is_none()
        && (body.display_name.is_some()
            || body.phone_number.is_some()
            || body.business_manager_id.is_some())
    {
        return super::onboarding::add(app, caller, body).await;
    }
    let mut errors = Vec::new();
    let phone_number_id = required(&mut errors, "phone_number_id", &body.phone_number_id, 64);
    digits_id(&mut errors, "phone_number_id", &phone_number_id);
    let waba_id = required(&mut errors, "waba_id", &body.waba_id, 64);
    digits_id(&mut errors, "waba_id", &waba_id);
    let display_phone_number = required(
        &mut errors,
        "display_phone_number",
        &body.display_phone_number,
        32,
    );
    let access_token = required(&mut errors, "access_token", &body.access_token, 4096);
    let name = match body.name.as_deref().map(str::trim) {
        Some(n) if n.chars().count() > 255 => {
            errors.push(field(
                "name",
                "invalid_value",
                "It should be at most 255 characters",
            ));
            String::new()
        }
        Some(n) if !n.is_empty() => n.to_owned(),
        _ => display_phone_number.clone(),
    };
    let threading_interval = interval_or_default(&mut errors, &body.threading_interval_hours);
    let app_secret = optional_secret(&body.app_secret);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let number = app
        .store
        .connect_number(
            &NewNumber {
                account_id: caller.account.id,
                phone_number_id,
                waba_id,
                display_phone_number,
                name,
                access_token: Secret::new(access_token),
                app_secret,
                threading_interval,
                status: NumberStatus::Connected,
            },
            MAX_NUMBERS_PER_ACCOUNT,
            app.clock.now(),
        )
        .await
        .map_err(connect_error)?;
    tracing::info!(account = %caller.account.id, number = %number.id, "WhatsApp number connected");
    // Its templates are read from Meta in the background (the templates job retries later).
    {
        let (store, config, clock, number) = (
            app.store.clone(),
            app.config.clone(),
            app.clock.clone(),
            number.clone(),
        );
        tokio::spawn(async move {
            let graph = crate::outbound::graph_client(&config);
            if let Err(e) =
                crate::templates::sync_number(store.as_ref(), &graph, &number, clock.now()).await
            {
                tracing::warn!(number = %number.id, error.message = %e, "template sync on connect failed");
            }
        });
    }
    Ok((
        StatusCode::CREATED,
        Json(NumberView::new(&number, &NumberOnboarding::default())),
    )
        .into_response())
}

/// The threading interval of a request, 24 hours when absent.
pub(super) fn interval_or_default(
    errors: &mut Vec<FieldError>,
    v: &Option<serde_json::Value>,
) -> ThreadingInterval {
    match v {
        None | Some(serde_json::Value::Null) => ThreadingInterval::DEFAULT,
        Some(v) => match v.as_i64().map(ThreadingInterval::from_hours) {
            Some(Ok(t)) => t,
            _ => {
                errors.push(field(
                    "threading_interval_hours",
                    "invalid_value",
                    "It should be a whole number of hours from 1 to 48",
                ));
                ThreadingInterval::DEFAULT
            }
        },
    }
}

/// An optional app secret (empty means none).
pub(super) fn optional_secret(v: &Option<String>) -> Option<Secret> {
    match v.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(s) => Some(Secret::new(s)),
    }
}

/// The answers to `connect_number`'s refusals.
pub(super) fn connect_error(e: store::StoreError) -> ApiError {
    match e {
        store::StoreError::Conflict(_) => ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            "phone_number_id",
            "duplicate_value",
            "This phone_number_id is already connected.",
        ),
        store::StoreError::LimitReached(_) => limit_error(),
        other => other.into(),
    }
}

pub(super) fn limit_error() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Limit reached",
        "phone_number_id",
        "limit_reached",
        format!("An account can connect at most {MAX_NUMBERS_PER_ACCOUNT} WhatsApp numbers."),
    )
}

/// `GET /api/v2/whatsapp/numbers`.
pub(super) async fn list(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<NumberView>>, ApiError> {
    let numbers = app.store.list_numbers(caller.account.id).await?;
    let onboarding: std::collections::HashMap<_, _> = app
        .store
        .list_number_onboarding(caller.account.id)
        .await?
        .into_iter()
        .collect();
    let none = NumberOnboarding::default();
    Ok(Json(
        numbers
            .iter()
            .map(|n| NumberView::new(n, onboarding.get(&n.id).unwrap_or(&none)))
            .collect(),
    ))
}

/// A number id from the path (anything else is 404).
pub(super) fn number_id(raw: &str) -> Result<NumberId, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(NumberId)
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v2/whatsapp/numbers/{id}`.
pub(super) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<NumberView>, ApiError> {
    let r = app
        .store
        .get_number(caller.account.id, number_id(&id)?)
        .await?;
    Ok(Json(NumberView::of(&r)))
}

/// The body of `PUT /api/v2/whatsapp/numbers/{id}`.
#[derive(Debug, Deserialize)]
pub(super) struct UpdateNumber {
    threading_interval_hours: Option<serde_json::Value>,
    name: Option<String>,
    status: Option<String>,
}

/// `PUT /api/v2/whatsapp/numbers/{id}` (admins): changes `threading_interval_hours` (applies to
/// the next message processed; tickets already made are not regrouped) and `name`; `"status":
/// "connected"` reconnects a disconnected number (as connecting it by `phone_number_id` does, the
/// admin vouches that it is registered with Meta).
pub(super) async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateNumber>,
) -> Result<Json<NumberView>, ApiError> {
    caller.require_whatsapp_admin()?;
    let id = number_id(&id)?;
    let current = app.store.get_number(caller.account.id, id).await?;
    let mut errors = Vec::new();
    let interval = match &body.threading_interval_hours {
        None => None,
        Some(v) => match v
            .as_i64()
            .and_then(|h| ThreadingInterval::from_hours(h).ok())
        {
            Some(i) => Some(i),
            None => {
                errors.push(field(
                    "threading_interval_hours",
                    "invalid_value",
                    "It should be a whole number of hours from 1 to 48",
                ));
                None
            }
        },
    };
    let name = match body.name.as_deref().map(str::trim) {
        None => None,
        Some(n) if !n.is_empty() && n.chars().count() <= 255 => Some(n.to_owned()),
        Some(_) => {
            errors.push(field(
                "name",
                "invalid_value",
                "It should be a non-empty string of at most 255 characters",
            ));
            None
        }
    };
    let reconnect = match body.status.as_deref() {
        None => false,
        Some("connected") => true,
        Some(_) => {
            errors.push(field(
                "status",
                "invalid_value",
                "Only 'connected' can be set here (to reconnect a disconnected number); use DELETE to disconnect and the onboarding steps to register",
            ));
            false
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = app.clock.now();
    if reconnect && current.number.status != NumberStatus::Connected {
        if current.number.status != NumberStatus::Disconnected {
            return Err(ApiError::conflict(
                "status",
                "invalid_state",
                format!(
                    "The number is {}; only a disconnected number can be reconnected here. Finish onboarding with request_code, verify_code and register.",
                    api_status(&current.number, &current.onboarding)
                ),
            ));
        }
        let held = app
            .store
            .list_numbers(caller.account.id)
            .await?
            .iter()
            .filter(|n| n.status != NumberStatus::Disconnected)
            .count();
        if held >= MAX_NUMBERS_PER_ACCOUNT as usize {
            return Err(limit_error());
        }
        app.store
            .set_number_state(
                caller.account.id,
                id,
                &[NumberStatus::Disconnected],
                NumberStatus::Connected,
                &current.onboarding,
                now,
            )
            .await?;
        tracing::info!(account = %caller.account.id, number = %id, "WhatsApp number reconnected");
    }
    if let Some(interval) = interval {
        app.store
            .set_threading_interval(caller.account.id, id, interval, now)
            .await?;
    }
    if let Some(name) = name {
        app.store
            .rename_number(caller.account.id, id, &name, now)
            .await?;
    }
    let r = app.store.get_number(caller.account.id, id).await?;
    Ok(Json(NumberView::of(&r)))
}

/// `DELETE /api/v2/whatsapp/numbers/{id}` (admins): disconnects the number. Routing stops at
/// once (deliveries for it are still stored, as `unrouted`, and can be re-processed after a
/// reconnection); its tickets, contacts and conversations are kept; it no longer counts towards
/// the ten numbers of the account. Nothing is changed at Meta. Answers 204.
pub(super) async fn disconnect(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require_whatsapp_admin()?;
    let id = number_id(&id)?;
    let current = app.store.get_number(caller.account.id, id).await?;
    if current.number.status == NumberStatus::Disconnected {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    app.store
        .set_number_state(
            caller.account.id,
            id,
            &[
                NumberStatus::Connected,
                NumberStatus::Unverified,
                NumberStatus::Verified,
            ],
            NumberStatus::Disconnected,
            &current.onboarding,
            app.clock.now(),
        )
        .await
        .map_err(|e| match e {
            // Disconnected meanwhile by another request: the same outcome.
            store::StoreError::Conflict(_) => ApiError::not_found(),
            other => other.into(),
        })?;
    tracing::info!(account = %caller.account.id, number = %id, "WhatsApp number disconnected");
    Ok(StatusCode::NO_CONTENT.into_response())
}
