//! `/api/v2/whatsapp/billing`: monthly statements (CONTRACT section 4), the reconciliation
//! report, the estimate of a template send, and the account's billing settings and rate cards.
//! Everything is scoped to the caller's account. See `docs/billing.md`.

use axum::{
    Json,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use billing_model::{
    BillingMonth, Category, DeliveryStatus, MarketTable, MessageKind, PhoneNumberId, RateCard,
    Statement, StatusUpdate, recipient_digits,
};
use serde::Serialize;
use serde_json::{Value, json};
use store::{BillingSettings, WaNumber};

use super::{
    AppState,
    api::{ApiError, ApiJson, Caller, FieldError, form_pairs},
};
use crate::billing::{self as wiring, BillingFailure};

fn invalid(field: &str, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(vec![FieldError {
        field: field.into(),
        message: message.into(),
        code: code.into(),
    }])
}

impl From<BillingFailure> for ApiError {
    fn from(e: BillingFailure) -> Self {
        match e {
            BillingFailure::Store(e) => e.into(),
            BillingFailure::Settings { field, message } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "The account's billing settings are unusable",
                field,
                "invalid_setting",
                message,
            ),
        }
    }
}

/// The query keys, last one winning.
fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    form_pairs(query.unwrap_or(""))
        .into_iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

fn month_param(query: Option<&str>) -> Result<BillingMonth, ApiError> {
    let raw = query_value(query, "month")
        .ok_or_else(|| invalid("month", "missing_field", "It should be a month as YYYY-MM"))?;
    let valid = raw.len() == 7 && raw.as_bytes()[4] == b'-';
    valid
        .then(|| raw.parse::<BillingMonth>().ok())
        .flatten()
        .ok_or_else(|| {
            invalid(
                "month",
                "invalid_value",
                format!("It should be a month as YYYY-MM, not {raw:?}"),
            )
        })
}

/// The caller's number named by `number_id` (wadesk's id), if the query names one.
async fn number_param(
    app: &AppState,
    caller: &Caller,
    query: Option<&str>,
    required: bool,
) -> Result<Option<WaNumber>, ApiError> {
    let Some(raw) = query_value(query, "number_id") else {
        return if required {
            Err(invalid(
                "number_id",
                "missing_field",
                "It should be the id of one of your numbers",
            ))
        } else {
            Ok(None)
        };
    };
    let id: i64 = raw
        .parse()
        .map_err(|_| invalid("number_id", "invalid_value", "It should be a number id"))?;
    let numbers = app.store.list_numbers(caller.account.id).await?;
    numbers
        .into_iter()
        .find(|n| n.id.get() == id)
        .map(Some)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "Resource not found",
                "number_id",
                "not_found",
                format!("No number {id} in your account."),
            )
        })
}

fn number_id_of(n: &PhoneNumberId) -> Value {
    n.as_str()
        .parse::<i64>()
        .map_or_else(|_| Value::String(n.to_string()), Value::from)
}

#[derive(Serialize)]
struct LineView {
    number_id: Value,
    market: String,
    category: Category,
    billable: u64,
    free: u64,
    amount_micros: i64,
}

#[derive(Serialize)]
struct StatementView {
    month: BillingMonth,
    currency: String,
    total_micros: i64,
    lines: Vec<LineView>,
}

fn statement_view(s: &Statement) -> StatementView {
    StatementView {
        month: s.month,
        currency: s.currency.to_string(),
        total_micros: s.total_micros,
        lines: s
            .lines
            .iter()
            .map(|l| LineView {
                number_id: number_id_of(&l.number),
                market: l.market.to_string(),
                category: l.category,
                billable: l.billable,
                free: l.free,
                amount_micros: l.amount_micros,
            })
            .collect(),
    }
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/csv"))
}

async fn month_statement(
    app: &AppState,
    caller: &Caller,
    query: Option<&str>,
) -> Result<Statement, ApiError> {
    let month = month_param(query)?;
    let number = number_param(app, caller, query, false).await?;
    let (statement, _) = wiring::statement(app.store.as_ref(), caller.account.id, month).await?;
    Ok(match number {
        Some(n) => statement.for_number(&PhoneNumberId::new(n.id.get().to_string())),
        None => statement,
    })
}

/// `GET /api/v2/whatsapp/billing?month=YYYY-MM[&number_id=…]`.
pub(super) async fn statement(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let s = month_statement(&app, &caller, query.as_deref()).await?;
    if wants_csv(&headers) {
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            s.to_csv(),
        )
            .into_response());
    }
    Ok(Json(statement_view(&s)).into_response())
}

/// A discrepancy or issue as the API shows it: `number_id` as wadesk's id, the kind's fields
/// at the top level.
fn flat_view(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut()
        && let Some(n) = obj.remove("number")
    {
        let id = n.as_str().map(PhoneNumberId::new).map(|p| number_id_of(&p));
        obj.insert("number_id".into(), id.unwrap_or(n));
    }
    // `{"kind": {"kind": "billable", "meta": …, "model": …}}` → `{"kind": "billable", "meta": …}`.
    if let Some(obj) = v.as_object_mut()
        && let Some(Value::Object(kind)) = obj.remove("kind")
    {
        obj.extend(kind);
    }
    v
}

/// `GET /api/v2/whatsapp/billing/reconciliation?month=YYYY-MM[&number_id=…]`: where Meta's
/// classification and the model's disagree, and what could not be priced.
pub(super) async fn reconciliation(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let s = month_statement(&app, &caller, query.as_deref()).await?;
    let discrepancies: Vec<Value> = s
        .discrepancies
        .iter()
        .map(|d| flat_view(serde_json::to_value(d).unwrap_or(Value::Null)))
        .collect();
    let issues: Vec<Value> = s
        .issues
        .iter()
        .map(|i| flat_view(serde_json::to_value(i).unwrap_or(Value::Null)))
        .collect();
    Ok(Json(json!({
        "month": s.month,
        "currency": s.currency.to_string(),
        "discrepancies": discrepancies,
        "issues": issues,
    }))
    .into_response())
}

fn card_view(card: &RateCard) -> Value {
    json!({
        "id": card.id.as_str(),
        "effective_from": card.effective_from.to_string(),
        "currency": card.currency.to_string(),
        "model": card.model,
        "source": card.source,
        "note": card.note,
    })
}

const ESTIMATE_ID: &str = "wadesk-estimate";

/// `GET /api/v2/whatsapp/billing/estimate?number_id=&phone=&category=`: what delivering one
/// template of `category` to `phone` from the number would cost now.
pub(super) async fn estimate(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query = query.as_deref();
    let number = number_param(&app, &caller, query, true)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let phone = query_value(query, "phone").ok_or_else(|| {
        invalid(
            "phone",
            "missing_field",
            "It should be the recipient's number",
        )
    })?;
    let digits =
        recipient_digits(&phone).map_err(|e| invalid("phone", "invalid_value", e.to_string()))?;
    let category: Category = query_value(query, "category")
        .ok_or_else(|| invalid("category", "missing_field", "It should be a template category"))?
        .parse()
        .ok()
        .filter(|c| {
            matches!(
                c,
                Category::Marketing
                    | Category::MarketingLite
                    | Category::Utility
                    | Category::Authentication
                    | Category::AuthenticationInternational
            )
        })
        .ok_or_else(|| {
            invalid(
                "category",
                "invalid_value",
                "It should be one of marketing, marketing_lite, utility, authentication, authentication_international",
            )
        })?;

    let now = app.clock.now();
    let settings = app.store.billing_settings(caller.account.id).await?;
    let month = BillingMonth::of(now, time::UtcOffset::UTC);
    let engine = wiring::engine_for(&settings, month)?;
    let month = BillingMonth::of(now, engine.offset());
    let from = month.start(engine.offset()) - wiring::LOOKBACK;
    // The month so far (free tier and volume tiers), plus the message as if delivered now.
    let mut ledger = wiring::ledger(app.store.as_ref(), caller.account.id, from, now).await?;
    let number_key = number.id.get().to_string();
    let in_service_window = ledger.inbound().any(|m| {
        m.number.as_str() == number_key
            && m.customer.as_str() == digits
            && m.at <= now
            && now < m.at + billing_model::engine::WINDOW
    });
    ledger.record_status(StatusUpdate {
        waba: number.waba_id.as_str().into(),
        number: number_key.as_str().into(),
        message_id: ESTIMATE_ID.into(),
        recipient: digits.as_str().into(),
        status: DeliveryStatus::Delivered,
        at: now,
        kind: Some(MessageKind::Template(category)),
        pricing: None,
        conversation: None,
    });
    let run = engine.run(&ledger);
    let day = now.to_offset(engine.offset()).date();
    let Some(card) = engine.book().in_force(engine.currency(), day) else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "No rate card in force",
            "",
            "no_rate_card",
            format!(
                "No {} rate card is in force on {day}; load one.",
                engine.currency()
            ),
        ));
    };
    let market = MarketTable::meta()
        .market_of(&digits, day)
        .map_err(|e| invalid("phone", "invalid_value", e.to_string()))?;
    let charge = run
        .charges
        .iter()
        .find(|c| c.message_id.as_str() == ESTIMATE_ID);
    let body = match charge {
        Some(c) => json!({
            "number_id": number.id.get(),
            "phone": digits,
            "market": c.market.to_string(),
            "category": c.category,
            "pricing_model": c.model,
            "free": c.free.is_some(),
            "free_reason": c.free,
            "amount_micros": (!c.unpriced).then_some(c.amount.micros),
            "currency": engine.currency().to_string(),
            "in_service_window": in_service_window,
            "card": card_view(card),
        }),
        // No unit starts: it rides on a conversation already open (conversation-based pricing).
        None => json!({
            "number_id": number.id.get(),
            "phone": digits,
            "market": market.to_string(),
            "category": category,
            "pricing_model": card.model,
            "free": true,
            "free_reason": "open_conversation",
            "amount_micros": 0,
            "currency": engine.currency().to_string(),
            "in_service_window": in_service_window,
            "card": card_view(card),
        }),
    };
    Ok(Json(body).into_response())
}

/// `GET /api/v2/whatsapp/billing/settings`.
pub(super) async fn show_settings(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let s = app.store.billing_settings(caller.account.id).await?;
    Ok(Json(json!({
        "time_zone": s.time_zone.unwrap_or_else(|| "UTC".into()),
        "currency": s.currency.unwrap_or_else(|| wiring::DEFAULT_CURRENCY.into()),
        "custom_rate_cards": s.rate_cards.is_some(),
    }))
    .into_response())
}

/// `PUT /api/v2/whatsapp/billing/settings` `{"time_zone": "Europe/Berlin", "currency": "EUR"}`
/// (admins). A key left out keeps its value; `null` resets it to the default.
pub(super) async fn update_settings(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<serde_json::Map<String, Value>>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let mut s = app.store.billing_settings(caller.account.id).await?;
    let mut errors = Vec::new();
    for (key, value) in &body {
        match (key.as_str(), value) {
            ("time_zone", Value::Null) => s.time_zone = None,
            ("time_zone", Value::String(tz)) if wiring::valid_time_zone(tz) => {
                s.time_zone = Some(tz.clone());
            }
            ("currency", Value::Null) => s.currency = None,
            ("currency", Value::String(c)) if c.parse::<billing_model::Currency>().is_ok() => {
                s.currency = Some(c.to_ascii_uppercase());
            }
            ("time_zone", _) => errors.push(FieldError {
                field: "time_zone".into(),
                message: "It should be an IANA time zone name such as Europe/Berlin".into(),
                code: "invalid_value".into(),
            }),
            ("currency", _) => errors.push(FieldError {
                field: "currency".into(),
                message: "It should be an ISO 4217 code such as USD".into(),
                code: "invalid_value".into(),
            }),
            (other, _) => errors.push(FieldError {
                field: other.into(),
                message: "Unexpected/invalid field in request".into(),
                code: "invalid_field".into(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    app.store
        .set_billing_settings(caller.account.id, &s, app.clock.now())
        .await?;
    show_settings(State(app), caller).await
}

fn cards_view(settings: &BillingSettings) -> Result<Value, ApiError> {
    let markets = MarketTable::meta();
    let book = wiring::rate_book(settings, &markets).map_err(|m| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The account's rate cards are unusable",
            "rate_cards",
            "invalid_setting",
            m,
        )
    })?;
    let sample: std::collections::BTreeSet<String> = billing_model::RateBook::sample()
        .cards()
        .iter()
        .map(|c| c.id.to_string())
        .collect();
    let cards: Vec<Value> = book
        .cards()
        .iter()
        .map(|c| {
            let mut v = card_view(c);
            v["built_in"] = Value::Bool(sample.contains(c.id.as_str()));
            v
        })
        .collect();
    Ok(json!({ "cards": cards, "custom": settings.rate_cards }))
}

/// `GET /api/v2/whatsapp/billing/rate_cards`: every card statements use (built-in samples and
/// the account's own) and the account's own card text.
pub(super) async fn show_rate_cards(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let s = app.store.billing_settings(caller.account.id).await?;
    Ok(Json(cards_view(&s)?).into_response())
}

/// `PUT /api/v2/whatsapp/billing/rate_cards` with the card text (billing-model's format) as the
/// body (admins): replaces the account's own cards. An empty body removes them. A card that
/// does not load is refused with 400 naming the line.
pub(super) async fn put_rate_cards(
    State(app): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let text = std::str::from_utf8(&body).map_err(|_| {
        invalid(
            "rate_cards",
            "invalid_value",
            "The body should be UTF-8 text",
        )
    })?;
    let mut s = app.store.billing_settings(caller.account.id).await?;
    s.rate_cards = (!text.trim().is_empty()).then(|| text.to_owned());
    wiring::rate_book(&s, &MarketTable::meta())
        .map_err(|m| invalid("rate_cards", "invalid_value", m))?;
    app.store
        .set_billing_settings(caller.account.id, &s, app.clock.now())
        .await?;
    Ok(Json(cards_view(&s)?).into_response())
}
