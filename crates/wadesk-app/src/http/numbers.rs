//! `/api/v2/whatsapp/numbers`: connecting a number already registered with Meta
//! (CONTRACT section 3). Onboarding a new number through OTP comes with the accounts issue.

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use store::{NewNumber, NumberStatus, Secret, WaNumber};
use ticketing_core::ThreadingInterval;

use super::{
    AppState,
    api::{ApiError, ApiJson, Caller, FieldError, rfc3339},
};

/// An account holds at most this many numbers.
pub(crate) const MAX_NUMBERS_PER_ACCOUNT: u32 = 10;

/// The body of `POST /api/v2/whatsapp/numbers`.
#[derive(Debug, Deserialize)]
pub(super) struct CreateNumber {
    phone_number_id: Option<String>,
    waba_id: Option<String>,
    display_phone_number: Option<String>,
    access_token: Option<String>,
    name: Option<String>,
    threading_interval_hours: Option<serde_json::Value>,
    app_secret: Option<String>,
    // Onboarding fields (a later issue).
    display_name: Option<String>,
    phone_number: Option<String>,
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
    status: NumberStatus,
    has_app_secret: bool,
    created_at: String,
    updated_at: String,
}

impl From<&WaNumber> for NumberView {
    fn from(n: &WaNumber) -> Self {
        Self {
            id: n.id.get(),
            phone_number_id: n.phone_number_id.clone(),
            waba_id: n.waba_id.clone(),
            display_phone_number: n.display_phone_number.clone(),
            name: n.name.clone(),
            threading_interval_hours: n.threading_interval.hours(),
            status: n.status,
            has_app_secret: n.app_secret.is_some(),
            created_at: rfc3339(n.created_at),
            updated_at: rfc3339(n.updated_at),
        }
    }
}

fn whatsapp_plan(caller: &Caller) -> Result<(), ApiError> {
    if caller.account.plan.has_whatsapp() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "The WhatsApp channel is not available on your plan.",
            "",
            "plan_restricted",
            format!(
                "Plan '{}' has no WhatsApp channel; upgrade to growth, pro or enterprise.",
                caller.account.plan
            ),
        ))
    }
}

fn field(name: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: name.into(),
        message: message.into(),
        code: code.into(),
    }
}

fn required(errors: &mut Vec<FieldError>, name: &str, v: &Option<String>, max: usize) -> String {
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

fn digits_id(errors: &mut Vec<FieldError>, name: &str, v: &str) {
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
    caller.require_admin()?;
    whatsapp_plan(&caller)?;
    if body.phone_number_id.is_none()
        && (body.display_name.is_some() || body.phone_number.is_some())
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Onboarding is not available yet",
            "phone_number_id",
            "not_supported",
            "Onboarding a new number through OTP verification is not built yet; connect a number that is already registered with Meta by giving its phone_number_id.",
        ));
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
    let threading_interval = match &body.threading_interval_hours {
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
    };
    let app_secret = match body.app_secret.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(s) => Some(Secret::new(s)),
    };
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
        .map_err(|e| match e {
            store::StoreError::Conflict(_) => ApiError::new(
                StatusCode::CONFLICT,
                "Conflict",
                "phone_number_id",
                "duplicate_value",
                "This phone_number_id is already connected.",
            ),
            store::StoreError::LimitReached(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Limit reached",
                "phone_number_id",
                "limit_reached",
                format!(
                    "An account can connect at most {MAX_NUMBERS_PER_ACCOUNT} WhatsApp numbers."
                ),
            ),
            other => other.into(),
        })?;
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
    Ok((StatusCode::CREATED, Json(NumberView::from(&number))).into_response())
}

/// `GET /api/v2/whatsapp/numbers`.
pub(super) async fn list(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<NumberView>>, ApiError> {
    let numbers = app.store.list_numbers(caller.account.id).await?;
    Ok(Json(numbers.iter().map(NumberView::from).collect()))
}

/// The body of `PUT /api/v2/whatsapp/numbers/{id}`.
#[derive(Debug, Deserialize)]
pub(super) struct UpdateNumber {
    threading_interval_hours: Option<serde_json::Value>,
}

/// `PUT /api/v2/whatsapp/numbers/{id}` (admins): changes the threading interval, which applies
/// to the next message processed; tickets already made are not regrouped.
pub(super) async fn update(
    State(app): State<AppState>,
    caller: Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
    ApiJson(body): ApiJson<UpdateNumber>,
) -> Result<Json<NumberView>, ApiError> {
    caller.require_admin()?;
    let id = id
        .parse::<i64>()
        .map(ticketing_core::NumberId)
        .map_err(|_| ApiError::not_found())?;
    let numbers = app.store.list_numbers(caller.account.id).await?;
    if !numbers.iter().any(|n| n.id == id) {
        return Err(ApiError::not_found());
    }
    if let Some(v) = &body.threading_interval_hours {
        let interval = v
            .as_i64()
            .and_then(|h| ThreadingInterval::from_hours(h).ok())
            .ok_or_else(|| {
                ApiError::validation(vec![field(
                    "threading_interval_hours",
                    "invalid_value",
                    "It should be a whole number of hours from 1 to 48",
                )])
            })?;
        app.store
            .set_threading_interval(caller.account.id, id, interval, app.clock.now())
            .await?;
    }
    let numbers = app.store.list_numbers(caller.account.id).await?;
    let number = numbers
        .iter()
        .find(|n| n.id == id)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(NumberView::from(number)))
}
