//! `/api/v2/contacts` (CONTRACT section 4). Phones and mobiles are kept as given and also in
//! E.164, so a contact created with `+1 (415) 555-0100` is the WhatsApp user `14155550100`,
//! and searching with `phone=+14155550100` (raw `+`) finds both.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use store::{ContactFields, ContactLookup, TicketTx};
use ticketing_core::{ContactId, canonicalize_phone, lookup_variants};

use super::{
    AppState,
    api::{ApiError, ApiJson, Caller, FieldError, form_pairs, pagination, with_next_link},
    tickets::contact_json,
};

fn field_error(field: &str, code: &str, message: &str) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
        code: code.into(),
    }
}

/// Canonical forms of a number for search: itself and its country lookup variants.
fn search_numbers(raw: &str) -> Vec<String> {
    match canonicalize_phone(raw, None) {
        Ok(e) => {
            let mut v = vec![e.as_str().to_owned()];
            for x in lookup_variants(&e) {
                if !v.contains(&x.as_str().to_owned()) {
                    v.push(x.as_str().to_owned());
                }
            }
            v
        }
        // Not a number we can read: matches nothing.
        Err(_) => vec![format!("unparseable:{raw}")],
    }
}

/// `GET /api/v2/contacts[?phone=…|mobile=…|email=…]`.
pub(super) async fn list(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let page = pagination(query.as_deref())?;
    let mut lookup = ContactLookup::default();
    for (k, v) in form_pairs(query.as_deref().unwrap_or("")) {
        match k.as_str() {
            "phone" | "mobile" => lookup.phones.extend(search_numbers(&v)),
            "email" => lookup.email = Some(v),
            _ => {}
        }
    }
    let rows = app
        .store
        .list_contacts(caller.account.id, &lookup, page)
        .await?;
    let items: Vec<_> = rows.iter().map(contact_json).collect();
    Ok(with_next_link("/api/v2/contacts", page, items))
}

fn contact_id(raw: &str) -> Result<ContactId, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(ContactId)
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v2/contacts/{id}`.
pub(super) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let c = app
        .store
        .contact(caller.account.id, contact_id(&id)?)
        .await?;
    Ok(Json(contact_json(&c)))
}

/// The body of `POST` and `PUT /api/v2/contacts`.
#[derive(Debug, Deserialize)]
pub(super) struct ContactBody {
    name: Option<String>,
    email: Option<Option<String>>,
    phone: Option<Option<String>>,
    mobile: Option<Option<String>>,
}

/// Applies a body to fields, validating; returns field errors.
fn apply(body: ContactBody, f: &mut ContactFields) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(n) = body.name {
        if n.trim().is_empty() || n.chars().count() > 255 {
            errors.push(field_error(
                "name",
                "invalid_value",
                "It should be 1 to 255 characters",
            ));
        }
        f.name = n.trim().to_owned();
    }
    if let Some(e) = body.email {
        let e = e.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty());
        if let Some(e) = &e
            && (!e.contains('@') || e.len() > 254)
        {
            errors.push(field_error(
                "email",
                "invalid_value",
                "It should be in the 'valid email address' format",
            ));
        }
        f.email = e;
    }
    for (which, given) in [("phone", body.phone), ("mobile", body.mobile)] {
        let Some(given) = given else { continue };
        let given = given.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
        let canonical = given
            .as_deref()
            .and_then(|p| canonicalize_phone(p, None).ok())
            .map(|e| e.as_str().to_owned());
        if which == "phone" {
            f.phone = given;
            f.phone_e164 = canonical;
        } else {
            f.mobile = given;
            f.mobile_e164 = canonical;
        }
    }
    errors
}

/// 409 when another contact of the account has the same email, phone or mobile.
async fn check_unique(
    tx: &mut dyn TicketTx,
    f: &ContactFields,
    except: Option<ContactId>,
) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if let Some(e) = &f.email {
        let found = tx
            .find_contacts(&ContactLookup {
                email: Some(e.clone()),
                ..ContactLookup::default()
            })
            .await?;
        if found.iter().any(|c| Some(c.id) != except) {
            errors.push(field_error(
                "email",
                "duplicate_value",
                "It should be a unique value",
            ));
        }
    }
    for (field, e164) in [("phone", &f.phone_e164), ("mobile", &f.mobile_e164)] {
        let Some(e164) = e164 else { continue };
        let found = tx
            .find_contacts(&ContactLookup {
                phones: vec![e164.clone()],
                wa_ids: vec![e164[1..].to_owned()],
                ..ContactLookup::default()
            })
            .await?;
        if found.iter().any(|c| Some(c.id) != except) {
            errors.push(field_error(
                field,
                "duplicate_value",
                "It should be a unique value",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError {
            status: StatusCode::CONFLICT,
            description: "Validation failed".into(),
            errors,
        })
    }
}

/// `POST /api/v2/contacts`.
pub(super) async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ContactBody>,
) -> Result<Response, ApiError> {
    let mut f = ContactFields::default();
    let has_name = body.name.is_some();
    let mut errors = apply(body, &mut f);
    if !has_name {
        errors.push(field_error(
            "name",
            "missing_field",
            "It should be a/an String",
        ));
    }
    if f.email.is_none() && f.phone.is_none() && f.mobile.is_none() {
        errors.push(field_error(
            "requester",
            "missing_field",
            "Please fill at least 1 of email, mobile, phone fields",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = app.clock.now();
    let mut tx = app.store.begin_tickets(caller.account.id).await?;
    check_unique(tx.as_mut(), &f, None).await?;
    let row = tx.insert_contact(&f, now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(contact_json(&row))).into_response())
}

/// `PUT /api/v2/contacts/{id}`.
pub(super) async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ContactBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = contact_id(&id)?;
    let now = app.clock.now();
    let mut tx = app.store.begin_tickets(caller.account.id).await?;
    let row = tx.get_contact(id).await?;
    let mut f = row.fields.clone();
    let errors = apply(body, &mut f);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    check_unique(tx.as_mut(), &f, Some(id)).await?;
    let row = tx.update_contact(id, &f, now).await?;
    tx.commit().await?;
    Ok(Json(contact_json(&row)))
}
