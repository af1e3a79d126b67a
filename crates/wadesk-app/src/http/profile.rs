//! `GET|PUT /api/v2/whatsapp/numbers/{id}/business_profile` (CONTRACT section 3): the number's
//! WhatsApp business profile, read from and written to Meta's `whatsapp_business_profile`, with
//! the business name kept alongside in wadesk (Meta's profile has no name field; the display
//! name is set through onboarding).
//!
//! A `PUT` is checked against Meta's limits before anything is sent: `about` 1 to 139
//! characters, `address` at most 256, `description` at most 512, `email` a valid address of at
//! most 128, `websites` at most 2, each `http://` or `https://` and at most 256, `vertical` empty
//! or one of Meta's values; `business_name` at most 512. Each violation is a 422 naming the
//! field. Admins only, on a plan with the WhatsApp channel.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde_json::{Map, Value, json};
use store::NumberRecord;
use wa_client::graph::{AccessToken, BusinessProfile, BusinessProfileUpdate, VERTICALS};

use super::{
    AppState,
    api::{ApiError, ApiJson, Caller, FieldError},
    numbers::number_id,
};

const TEXT_FIELDS: [&str; 5] = ["about", "address", "description", "email", "vertical"];

fn profile_json(p: &BusinessProfile, r: &NumberRecord) -> Value {
    json!({
        "number_id": r.number.id.get(),
        "business_name": r.onboarding.business_name.clone().or_else(|| r.onboarding.display_name.clone()),
        "about": p.about,
        "address": p.address,
        "description": p.description,
        "email": p.email,
        "vertical": p.vertical,
        "websites": p.websites.clone().unwrap_or_default(),
        "profile_picture_url": p.profile_picture_url,
    })
}

fn invalid(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
        code: "invalid_value".into(),
    }
}

fn unprocessable(errors: Vec<FieldError>) -> ApiError {
    ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        description: "Validation failed".into(),
        errors,
    }
}

/// `GET /api/v2/whatsapp/numbers/{id}/business_profile`.
pub(super) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require_whatsapp_admin()?;
    let r = app
        .store
        .get_number(caller.account.id, number_id(&id)?)
        .await?;
    let token = AccessToken::new(r.number.access_token.expose());
    let p = app
        .graph
        .business_profile(&token, &r.number.phone_number_id)
        .await
        .map_err(|e| ApiError::from_graph("", &e))?;
    Ok(Json(profile_json(&p, &r)))
}

/// Checks a `PUT` body's types and Meta's limits; returns the update for Meta and the business
/// name, or every violation.
fn parse_update(
    body: &Map<String, Value>,
) -> Result<(BusinessProfileUpdate, Option<String>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut text = |name: &str| -> Option<String> {
        match body.get(name) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                errors.push(invalid(name, "It should be a string"));
                None
            }
        }
    };
    let mut update = BusinessProfileUpdate {
        about: text(TEXT_FIELDS[0]),
        address: text(TEXT_FIELDS[1]),
        description: text(TEXT_FIELDS[2]),
        email: text(TEXT_FIELDS[3]),
        vertical: text(TEXT_FIELDS[4]),
        ..Default::default()
    };
    let business_name = text("business_name");
    match body.get("websites") {
        None => {}
        Some(Value::Array(items)) => {
            let sites: Option<Vec<String>> = items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect();
            match sites {
                Some(s) => update.websites = Some(s),
                None => errors.push(invalid("websites", "It should be an array of URLs")),
            }
        }
        Some(_) => errors.push(invalid("websites", "It should be an array of URLs")),
    }
    if let Some(name) = &business_name
        && (name.trim().is_empty() || name.chars().count() > 512)
    {
        errors.push(invalid(
            "business_name",
            "It should be a non-empty string of at most 512 characters",
        ));
    }
    for e in update.validate() {
        let message = match e.field {
            "about" => "It should be 1 to 139 characters".to_owned(),
            "address" => "It should be at most 256 characters".to_owned(),
            "description" => "It should be at most 512 characters".to_owned(),
            "email" => "It should be a valid email address of at most 128 characters".to_owned(),
            "websites" => format!(
                "At most 2 websites, each starting with http:// or https:// and at most 256 characters ({})",
                e.message
            ),
            "vertical" => format!("It should be empty or one of: {}", VERTICALS.join(", ")),
            _ => e.message.clone(),
        };
        if !errors.iter().any(|x| x.field == e.field) {
            errors.push(invalid(e.field, message));
        }
    }
    if errors.is_empty() {
        Ok((update, business_name.map(|n| n.trim().to_owned())))
    } else {
        Err(errors)
    }
}

/// `PUT /api/v2/whatsapp/numbers/{id}/business_profile`: changes the fields given (others are
/// left alone) and answers the profile as Meta then reports it.
pub(super) async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    caller.require_whatsapp_admin()?;
    let id = number_id(&id)?;
    let (update, business_name) = parse_update(&body).map_err(unprocessable)?;
    let r = app.store.get_number(caller.account.id, id).await?;
    let token = AccessToken::new(r.number.access_token.expose());
    let touches_meta = update != BusinessProfileUpdate::default();
    if touches_meta {
        app.graph
            .update_business_profile(&token, &r.number.phone_number_id, &update)
            .await
            .map_err(|e| ApiError::from_graph("", &e))?;
    }
    let r = match business_name {
        Some(name) => {
            let mut o = r.onboarding.clone();
            o.business_name = Some(name);
            let status = r.number.status;
            app.store
                .set_number_state(
                    caller.account.id,
                    id,
                    &[status],
                    status,
                    &o,
                    app.clock.now(),
                )
                .await?
        }
        None => r,
    };
    let p = app
        .graph
        .business_profile(&token, &r.number.phone_number_id)
        .await
        .map_err(|e| ApiError::from_graph("", &e))?;
    Ok(Json(profile_json(&p, &r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: Value) -> Vec<String> {
        let Value::Object(m) = v else { panic!() };
        match parse_update(&m) {
            Ok(_) => vec![],
            Err(e) => e.into_iter().map(|f| f.field).collect(),
        }
    }

    #[test]
    fn every_limit_names_its_field() {
        assert!(
            fields(json!({"about": "a".repeat(139), "websites": ["https://a.example"]})).is_empty()
        );
        assert_eq!(fields(json!({"about": ""})), ["about"]);
        assert_eq!(fields(json!({"about": "a".repeat(140)})), ["about"]);
        assert_eq!(fields(json!({"address": "a".repeat(257)})), ["address"]);
        assert_eq!(
            fields(json!({"description": "a".repeat(513)})),
            ["description"]
        );
        assert_eq!(fields(json!({"email": "nope"})), ["email"]);
        assert_eq!(
            fields(json!({"email": format!("{}@x.example", "a".repeat(120))})),
            ["email"]
        );
        assert_eq!(
            fields(json!({"websites": ["https://a", "https://b", "https://c"]})),
            ["websites"]
        );
        assert_eq!(fields(json!({"websites": ["ftp://a"]})), ["websites"]);
        assert_eq!(fields(json!({"websites": "https://a"})), ["websites"]);
        assert_eq!(fields(json!({"vertical": "SPACESHIPS"})), ["vertical"]);
        assert_eq!(fields(json!({"about": 5})), ["about"]);
        assert_eq!(fields(json!({"business_name": ""})), ["business_name"]);
    }
}
