//! Onboarding a new WhatsApp number (CONTRACT section 3), a state machine persisted per number:
//!
//! ```text
//! POST /whatsapp/numbers (no phone_number_id)  → unverified      (Graph: POST /{waba}/phone_numbers)
//! POST …/{id}/request_code {code_method}        → code_requested  (Graph: POST /{pnid}/request_code)
//! POST …/{id}/verify_code {code}                → verified        (Graph: POST /{pnid}/verify_code)
//! POST …/{id}/register {pin}                    → connected       (Graph: POST /{pnid}/register)
//! ```
//!
//! Each step checks the state first (out of order: 409 `invalid_state`, nothing sent to Meta),
//! then calls the Graph API and moves the state only when Meta said yes. Meta's refusals come
//! back verbatim in the Freshdesk error shape with Meta's code (wrong or expired code 136025,
//! registration rate limit 133016 as 429, …); the state does not move, Meta's error is kept on
//! the number (`last_error`), and the step can be retried. `request_code` can be repeated (a new
//! code) until the number is verified. Only a connected number is routed.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use store::{NewNumber, NumberOnboarding, NumberRecord, NumberStatus, Secret};
use ticketing_core::canonicalize_phone;
use wa_client::graph::{AccessToken, CodeMethod, GraphClientError};

use super::{
    AppState,
    api::{ApiError, ApiJson, Caller, FieldError},
    numbers::{
        CreateNumber, MAX_NUMBERS_PER_ACCOUNT, NumberView, api_status, connect_error, digits_id,
        field, interval_or_default, limit_error, number_id, optional_secret, required,
    },
};

/// `POST /api/v2/whatsapp/numbers` without `phone_number_id`: adds the number to the WhatsApp
/// Business Account at Meta and stores it as `unverified` (201).
pub(super) async fn add(
    app: AppState,
    caller: Caller,
    body: CreateNumber,
) -> Result<Response, ApiError> {
    let mut errors = Vec::new();
    let waba_id = required(&mut errors, "waba_id", &body.waba_id, 64);
    digits_id(&mut errors, "waba_id", &waba_id);
    let access_token = required(&mut errors, "access_token", &body.access_token, 4096);
    let display_name = required(&mut errors, "display_name", &body.display_name, 512);
    let business_manager_id = required(
        &mut errors,
        "business_manager_id",
        &body.business_manager_id,
        64,
    );
    digits_id(&mut errors, "business_manager_id", &business_manager_id);
    let phone = required(&mut errors, "phone_number", &body.phone_number, 32);
    let (cc, national) = match split_phone(&phone, body.cc.as_deref()) {
        Some(parts) => parts,
        None => {
            if !phone.is_empty() {
                errors.push(field(
                    "phone_number",
                    "invalid_value",
                    "It should be a phone number in international format, e.g. +1 555 010 0199",
                ));
            }
            (String::new(), String::new())
        }
    };
    let threading_interval = interval_or_default(&mut errors, &body.threading_interval_hours);
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
        _ => display_name.clone(),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    // Refuse the 11th before Meta adds a number we could not keep (the store checks again,
    // atomically).
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
    let token = AccessToken::new(access_token.clone());
    let phone_number_id = app
        .graph
        .add_phone_number(&token, &waba_id, &cc, &national, &display_name)
        .await
        .map_err(|e| graph_error("phone_number", &e))?;
    let now = app.clock.now();
    let number = app
        .store
        .connect_number(
            &NewNumber {
                account_id: caller.account.id,
                phone_number_id,
                waba_id,
                display_phone_number: format!("+{cc} {national}"),
                name,
                access_token: Secret::new(access_token),
                app_secret: optional_secret(&body.app_secret),
                threading_interval,
                status: NumberStatus::Unverified,
            },
            MAX_NUMBERS_PER_ACCOUNT,
            now,
        )
        .await
        .map_err(connect_error)?;
    let record = app
        .store
        .set_number_state(
            caller.account.id,
            number.id,
            &[NumberStatus::Unverified],
            NumberStatus::Unverified,
            &NumberOnboarding {
                business_manager_id: Some(business_manager_id),
                display_name: Some(display_name),
                ..Default::default()
            },
            now,
        )
        .await?;
    tracing::info!(account = %caller.account.id, number = %number.id, "WhatsApp number added for onboarding");
    Ok((StatusCode::CREATED, Json(NumberView::of(&record))).into_response())
}

/// Splits a phone number into Meta's `cc` and `phone_number`. With an explicit `cc`, the
/// number's digits (without a leading `+cc`) are the rest.
fn split_phone(phone: &str, cc: Option<&str>) -> Option<(String, String)> {
    if let Some(cc) = cc.map(|c| c.trim().trim_start_matches('+')) {
        if cc.is_empty() || cc.len() > 3 || !cc.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let national = if phone.trim_start().starts_with('+') {
            digits.strip_prefix(cc)?.to_owned()
        } else {
            digits
        };
        return (4..=14)
            .contains(&national.len())
            .then(|| (cc.to_owned(), national));
    }
    let e164 = canonicalize_phone(phone, None).ok()?;
    let code = e164.calling_code()?.to_string();
    let national = e164.digits().strip_prefix(code.as_str())?.to_owned();
    (!national.is_empty()).then_some((code, national))
}

/// Meta's error for a step, in the Freshdesk shape (see [`ApiError::from_graph`]).
fn graph_error(field: &str, e: &GraphClientError) -> ApiError {
    ApiError::from_graph(field, e)
}

fn out_of_order(r: &NumberRecord, step: &str, needs: &str) -> ApiError {
    ApiError::conflict(
        "status",
        "invalid_state",
        format!(
            "Cannot {step}: the number is {}; this step needs a number that is {needs}.",
            api_status(&r.number, &r.onboarding)
        ),
    )
}

/// Keeps Meta's error on the number for admins, without moving its state (best effort).
async fn keep_error(app: &AppState, caller: &Caller, r: &NumberRecord, e: &GraphClientError) {
    let mut o = r.onboarding.clone();
    o.last_error = Some(match e.graph_error() {
        Some(g) => g.raw.to_string(),
        None => e.to_string(),
    });
    let status = r.number.status;
    if let Err(err) = app
        .store
        .set_number_state(
            caller.account.id,
            r.number.id,
            &[status],
            status,
            &o,
            app.clock.now(),
        )
        .await
    {
        tracing::warn!(error.message = %err, "could not keep Meta's onboarding error");
    }
}

/// A state change after Meta said yes; a concurrent step that moved the number first is 409.
fn state_error(e: store::StoreError) -> ApiError {
    match e {
        store::StoreError::Conflict(m) => ApiError::conflict(
            "status",
            "invalid_state",
            format!("Another request changed the number meanwhile ({m}); read it and retry."),
        ),
        other => other.into(),
    }
}

/// The body of `POST …/request_code`.
#[derive(Debug, Deserialize)]
pub(super) struct RequestCode {
    code_method: Option<String>,
    language: Option<String>,
}

/// `POST /api/v2/whatsapp/numbers/{id}/request_code`: Meta sends a code by SMS or voice call.
pub(super) async fn request_code(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RequestCode>,
) -> Result<Json<NumberView>, ApiError> {
    caller.require_whatsapp_admin()?;
    let r = app
        .store
        .get_number(caller.account.id, number_id(&id)?)
        .await?;
    let mut errors: Vec<FieldError> = Vec::new();
    let method = match body
        .code_method
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("SMS") => CodeMethod::Sms,
        Some("VOICE") => CodeMethod::Voice,
        Some(_) => {
            errors.push(field(
                "code_method",
                "invalid_value",
                "It should be one of these values: 'SMS,VOICE'",
            ));
            CodeMethod::Sms
        }
    };
    let language = body.language.unwrap_or_else(|| "en_US".into());
    if language.is_empty()
        || language.len() > 16
        || !language
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        errors.push(field(
            "language",
            "invalid_value",
            "It should be a language code such as en_US",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if r.number.status != NumberStatus::Unverified {
        return Err(out_of_order(
            &r,
            "request a code",
            "unverified or code_requested",
        ));
    }
    let token = AccessToken::new(r.number.access_token.expose());
    if let Err(e) = app
        .graph
        .request_code(&token, &r.number.phone_number_id, method, &language)
        .await
    {
        keep_error(&app, &caller, &r, &e).await;
        return Err(graph_error("code_method", &e));
    }
    let mut o = r.onboarding.clone();
    o.code_requested_at = Some(app.clock.now());
    o.code_method = Some(method.as_str().to_owned());
    o.last_error = None;
    let r = app
        .store
        .set_number_state(
            caller.account.id,
            r.number.id,
            &[NumberStatus::Unverified],
            NumberStatus::Unverified,
            &o,
            app.clock.now(),
        )
        .await
        .map_err(state_error)?;
    Ok(Json(NumberView::of(&r)))
}

/// The body of `POST …/verify_code`.
#[derive(Debug, Deserialize)]
pub(super) struct VerifyCode {
    code: Option<serde_json::Value>,
}

/// `POST /api/v2/whatsapp/numbers/{id}/verify_code`: checks the code Meta sent.
pub(super) async fn verify_code(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VerifyCode>,
) -> Result<Json<NumberView>, ApiError> {
    caller.require_whatsapp_admin()?;
    let r = app
        .store
        .get_number(caller.account.id, number_id(&id)?)
        .await?;
    let code = match &body.code {
        Some(serde_json::Value::String(s)) => s.replace(['-', ' '], ""),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    if code.is_empty() || code.len() > 10 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(vec![field(
            "code",
            "invalid_value",
            "It should be the digits of the code Meta sent, e.g. \"123456\"",
        )]));
    }
    if r.number.status != NumberStatus::Unverified || r.onboarding.code_requested_at.is_none() {
        return Err(out_of_order(&r, "verify a code", "code_requested"));
    }
    let token = AccessToken::new(r.number.access_token.expose());
    if let Err(e) = app
        .graph
        .verify_code(&token, &r.number.phone_number_id, &code)
        .await
    {
        keep_error(&app, &caller, &r, &e).await;
        return Err(graph_error("code", &e));
    }
    let mut o = r.onboarding.clone();
    o.last_error = None;
    let r = app
        .store
        .set_number_state(
            caller.account.id,
            r.number.id,
            &[NumberStatus::Unverified],
            NumberStatus::Verified,
            &o,
            app.clock.now(),
        )
        .await
        .map_err(state_error)?;
    Ok(Json(NumberView::of(&r)))
}

/// The body of `POST …/register`.
#[derive(Debug, Deserialize)]
pub(super) struct Register {
    pin: Option<serde_json::Value>,
}

/// `POST /api/v2/whatsapp/numbers/{id}/register`: registers the verified number for the Cloud
/// API with its two-step-verification PIN; the number is connected (routed) afterwards. Meta's
/// display-name review status is read from the number's fields.
pub(super) async fn register(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Register>,
) -> Result<Json<NumberView>, ApiError> {
    caller.require_whatsapp_admin()?;
    let r = app
        .store
        .get_number(caller.account.id, number_id(&id)?)
        .await?;
    let pin = match &body.pin {
        Some(serde_json::Value::String(s)) => s.trim().to_owned(),
        Some(serde_json::Value::Number(n)) => format!("{n:0>6}"),
        _ => String::new(),
    };
    if pin.len() != 6 || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(vec![field(
            "pin",
            "invalid_value",
            "It should be a 6-digit two-step verification PIN, e.g. \"123456\"",
        )]));
    }
    if r.number.status != NumberStatus::Verified {
        return Err(out_of_order(&r, "register", "verified"));
    }
    let token = AccessToken::new(r.number.access_token.expose());
    if let Err(e) = app
        .graph
        .register(&token, &r.number.phone_number_id, &pin)
        .await
    {
        keep_error(&app, &caller, &r, &e).await;
        return Err(graph_error("pin", &e));
    }
    let mut o = r.onboarding.clone();
    o.last_error = None;
    // Display-name review state, best effort: registration succeeded whatever this says.
    match app
        .graph
        .phone_number(
            &token,
            &r.number.phone_number_id,
            &["name_status", "verified_name"],
        )
        .await
    {
        Ok(info) => {
            o.name_status = info.name_status.or(o.name_status);
            o.display_name = info.verified_name.or(o.display_name);
        }
        Err(e) => tracing::info!(error.message = %e, "could not read the display-name status"),
    }
    let r = app
        .store
        .set_number_state(
            caller.account.id,
            r.number.id,
            &[NumberStatus::Verified],
            NumberStatus::Connected,
            &o,
            app.clock.now(),
        )
        .await
        .map_err(state_error)?;
    tracing::info!(account = %caller.account.id, number = %r.number.id, "WhatsApp number registered and connected");
    Ok(Json(NumberView::of(&r)))
}

#[cfg(test)]
mod tests {
    use super::split_phone;

    #[test]
    fn phones_split_into_country_code_and_number() {
        assert_eq!(
            split_phone("+1 555 010 0199", None),
            Some(("1".into(), "5550100199".into()))
        );
        assert_eq!(
            split_phone("+44 7700 900123", None),
            Some(("44".into(), "7700900123".into()))
        );
        assert_eq!(
            split_phone("555 010 0199", Some("1")),
            Some(("1".into(), "5550100199".into()))
        );
        assert_eq!(
            split_phone("+1 555 010 0199", Some("+1")),
            Some(("1".into(), "5550100199".into()))
        );
        assert_eq!(split_phone("hello", None), None);
        assert_eq!(split_phone("+1 555", Some("x")), None);
    }
}
