//! `/api/v2/tickets`, `/api/v2/tickets/{id}/conversations` and `/api/v2/ticket_fields`
//! (CONTRACT section 4): the Freshdesk read side over WhatsApp tickets, plus updates,
//! deletion and restore.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{ContactRow, EntryRow, TicketFields, TicketFilter, TicketRow};
use ticketing_core::{AgentId, ContactId, Priority, Source, Status, TicketId, conversation::Entry};

use super::{
    AppState,
    api::{ApiError, ApiJson, Caller, FieldError, form_pairs, pagination, rfc3339, with_next_link},
};

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(vec![FieldError {
        field: field.to_owned(),
        message: message.into(),
        code: "invalid_value".into(),
    }])
}

/// Entries in the order an agent reads them: WhatsApp time, then wamid, then id.
fn ordered(mut entries: Vec<EntryRow>) -> Vec<EntryRow> {
    entries.sort_by(|a, b| {
        (a.fields.created_at, a.fields.wamid.as_deref(), a.id).cmp(&(
            b.fields.created_at,
            b.fields.wamid.as_deref(),
            b.id,
        ))
    });
    entries
}

/// Splits entries into the description (the first customer WhatsApp message) and the rest.
pub(super) fn split_description(entries: Vec<EntryRow>) -> (Option<EntryRow>, Vec<EntryRow>) {
    let mut entries = ordered(entries);
    match entries
        .iter()
        .position(|e| !e.fields.private && (e.fields.wamid.is_some() || is_outbound(e)))
    {
        Some(i) => {
            let d = entries.remove(i);
            (Some(d), entries)
        }
        None => (None, entries),
    }
}

/// How attachments are shown: signed URLs need the media service and the time.
pub(super) struct Render<'a> {
    /// Media (URL signing).
    pub(super) media: &'a crate::media::MediaService,
    /// Now.
    pub(super) now: time::OffsetDateTime,
}

impl<'a> Render<'a> {
    pub(super) fn new(app: &'a AppState) -> Self {
        Self {
            media: &app.media,
            now: app.clock.now(),
        }
    }
}

fn attachments(e: &EntryRow, r: &Render<'_>) -> Value {
    let mut list = r.media.render_attachments(e, r.now);
    for a in list.as_array_mut().into_iter().flatten() {
        if let Some(o) = a.as_object_mut() {
            o.insert("created_at".into(), json!(rfc3339(e.fields.created_at)));
            o.insert("updated_at".into(), json!(rfc3339(e.fields.updated_at)));
        }
    }
    list
}

/// An agent's reply or template sent over WhatsApp (stored before it has a wamid).
fn is_outbound(e: &EntryRow) -> bool {
    e.fields.data.get("outbound").is_some_and(Value::is_object)
}

/// A note (private or public), not a WhatsApp message.
fn is_note(e: &EntryRow) -> bool {
    e.fields.private || e.fields.data.get("note").is_some()
}

/// The `whatsapp` sub-object of a conversation (or of a ticket's description).
fn whatsapp(e: &EntryRow) -> Value {
    let wamid = match &e.fields.wamid {
        Some(w) => Some(w.clone()),
        None if is_outbound(e) => None,
        None => return Value::Null,
    };
    let domain: Option<Entry> = serde_json::from_value(e.fields.data.clone()).ok();
    let status = e
        .fields
        .wa_status
        .clone()
        .or_else(|| (!e.fields.incoming).then(|| "pending".to_owned()));
    let (reaction, revoked_at, edits, unsupported) = match &domain {
        Some(d) => (
            d.reaction_emoji().map(str::to_owned),
            d.revoked.as_ref().map(|r| rfc3339(r.at)),
            d.edits
                .iter()
                .map(|x| {
                    json!({
                        "edited_at": rfc3339(x.at),
                        "body_text": x.content.body.clone().unwrap_or_default(),
                    })
                })
                .collect::<Vec<_>>(),
            d.unsupported.clone(),
        ),
        None => (None, None, Vec::new(), None),
    };
    json!({
        "message_id": wamid,
        "status": status,
        "error": e.fields.wa_error,
        "reply_to": e.fields.reply_to,
        "reaction": reaction,
        "revoked": revoked_at.is_some(),
        "revoked_at": revoked_at,
        "edits": edits,
        "unsupported_type": unsupported,
    })
}

pub(super) fn conversation(e: &EntryRow, requester: ContactId, r: &Render<'_>) -> Value {
    let agent = e.fields.data["outbound"]["user_id"]
        .as_i64()
        .or_else(|| e.fields.data["note"]["user_id"].as_i64());
    let note = is_note(e);
    json!({
        "id": e.id.0,
        "ticket_id": e.ticket_id.get(),
        "body": e.fields.body,
        "body_text": e.fields.body_text,
        "incoming": e.fields.incoming,
        "private": e.fields.private,
        "user_id": if e.fields.incoming { Some(requester.get()) } else { agent },
        "source": if note { 2 } else { Source::WhatsApp.code() },
        "category": if note { 2 } else { 1 },
        "support_email": null,
        "from_email": null,
        "to_emails": [],
        "cc_emails": [],
        "bcc_emails": [],
        "attachments": attachments(e, r),
        "created_at": rfc3339(e.fields.created_at),
        "updated_at": rfc3339(e.fields.updated_at),
        "whatsapp": whatsapp(e),
    })
}

/// Fills a ticket's SLA fields (`due_by`, `fr_due_by`, `nr_due_by`, `*_escalated`, and wadesk's
/// `sla_policy_id`) from its SLA state; without one they stay `null` and `false`.
fn with_sla(v: &mut Value, sla: Option<&store::TicketSla>) {
    let (Some(o), Some(s)) = (v.as_object_mut(), sla) else {
        return;
    };
    o.insert("due_by".into(), json!(s.due_by.map(rfc3339)));
    o.insert("fr_due_by".into(), json!(s.fr_due_by.map(rfc3339)));
    o.insert("nr_due_by".into(), json!(s.nr_due_by.map(rfc3339)));
    o.insert("is_escalated".into(), json!(s.is_escalated));
    o.insert("fr_escalated".into(), json!(s.fr_escalated));
    o.insert("nr_escalated".into(), json!(s.nr_escalated));
    o.insert("sla_policy_id".into(), json!(s.policy_id));
}

pub(super) fn ticket_json(t: &TicketRow, description: Option<&EntryRow>, r: &Render<'_>) -> Value {
    let f = &t.fields;
    let mut v = json!({
        "id": t.id.get(),
        "subject": f.subject,
        "status": f.status,
        "priority": f.priority,
        "source": f.source,
        "requester_id": f.requester_id.get(),
        "responder_id": f.responder_id.map(|a| a.get()),
        "group_id": f.group_id,
        "company_id": null,
        "product_id": null,
        "email_config_id": null,
        "type": f.ticket_type,
        "tags": f.tags,
        "cc_emails": [],
        "fwd_emails": [],
        "reply_cc_emails": [],
        "ticket_cc_emails": [],
        "to_emails": null,
        "spam": f.spam,
        "is_escalated": false,
        "fr_escalated": false,
        "nr_escalated": false,
        "due_by": null,
        "fr_due_by": null,
        "nr_due_by": null,
        "custom_fields": {},
        "deleted": f.deleted,
        "created_at": rfc3339(f.created_at),
        "updated_at": rfc3339(f.updated_at),
    });
    if let (Some(d), Some(o)) = (description, v.as_object_mut()) {
        o.insert("description".into(), json!(d.fields.body));
        o.insert("description_text".into(), json!(d.fields.body_text));
        o.insert("attachments".into(), attachments(d, r));
        o.insert("whatsapp".into(), whatsapp(d));
    }
    v
}

/// A contact as the API shows it.
pub(super) fn contact_json(c: &ContactRow) -> Value {
    let f = &c.fields;
    json!({
        "id": c.id.get(),
        "name": f.name,
        "email": f.email,
        "phone": f.phone,
        "mobile": f.mobile,
        "active": true,
        "address": null,
        "description": null,
        "job_title": null,
        "language": "en",
        "time_zone": null,
        "twitter_id": null,
        "facebook_id": null,
        "unique_external_id": null,
        "company_id": null,
        "other_emails": [],
        "tags": [],
        "custom_fields": {},
        "view_all_tickets": false,
        "deleted": false,
        "whatsapp": {"wa_id": f.wa_id, "bsuid": f.bsuid},
        "created_at": rfc3339(c.created_at),
        "updated_at": rfc3339(c.updated_at),
    })
}

fn ticket_id(raw: &str) -> Result<TicketId, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(TicketId)
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v2/tickets`.
pub(super) async fn list(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let page = pagination(query.as_deref())?;
    let mut filter = TicketFilter::default();
    for (k, v) in form_pairs(query.as_deref().unwrap_or("")) {
        match k.as_str() {
            "updated_since" => {
                let t =
                    time::OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc3339)
                        .or_else(|_| {
                            time::Date::parse(
                                &v,
                                time::macros::format_description!("[year]-[month]-[day]"),
                            )
                            .map(|d| d.midnight().assume_utc())
                        })
                        .map_err(|_| {
                            invalid("updated_since", "It should be an RFC 3339 timestamp")
                        })?;
                filter.updated_since = Some(t);
            }
            "requester_id" => {
                let id = v
                    .parse::<i64>()
                    .map_err(|_| invalid("requester_id", "It should be a number"))?;
                filter.requester_id = Some(ContactId(id));
            }
            // Freshdesk's predefined views: spam and deleted tickets are only listed on request.
            "filter" => match v.as_str() {
                "spam" => filter.spam = true,
                "deleted" => filter.deleted = true,
                _ => {
                    return Err(invalid(
                        "filter",
                        "It should be one of these values: 'spam,deleted'",
                    ));
                }
            },
            _ => {}
        }
    }
    let rows = app
        .store
        .list_tickets(caller.account.id, &filter, page)
        .await?;
    let render = Render::new(&app);
    let ids: Vec<_> = rows.iter().map(|t| t.id).collect();
    let slas = app.store.ticket_slas(caller.account.id, &ids).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|t| {
            let mut v = ticket_json(t, None, &render);
            with_sla(&mut v, slas.iter().find(|s| s.ticket_id == t.id));
            v
        })
        .collect();
    Ok(with_next_link("/api/v2/tickets", page, items))
}

/// `GET /api/v2/tickets/{id}[?include=conversations,requester,stats]`.
pub(super) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let id = ticket_id(&id)?;
    let account = caller.account.id;
    let ticket = app.store.ticket(account, id).await?;
    let entries = app.store.entries(account, id).await?;
    let (description, rest) = split_description(entries);
    let mut v = ticket_json(&ticket, description.as_ref(), &Render::new(&app));
    with_sla(&mut v, app.store.ticket_sla(account, id).await?.as_ref());
    if let Some(number) = ticket.fields.number_id {
        let last = app
            .store
            .last_inbound_at(account, ticket.fields.requester_id, number)
            .await?;
        let expires = crate::outbound::window_expires_at(last);
        if !v["whatsapp"].is_object() {
            v["whatsapp"] = json!({});
        }
        v["whatsapp"]["number_id"] = json!(number.0);
        v["whatsapp"]["customer_service_window_expires_at"] = json!(expires.map(rfc3339));
        v["whatsapp"]["customer_service_window_open"] =
            json!(crate::outbound::window_open(last, app.clock.now()));
    }
    let includes: Vec<String> = form_pairs(query.as_deref().unwrap_or(""))
        .into_iter()
        .filter(|(k, _)| k == "include")
        .flat_map(|(_, v)| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let o = v.as_object_mut().ok_or_else(|| invalid("", "internal"))?;
    for inc in includes {
        match inc.as_str() {
            "conversations" => {
                let list: Vec<Value> = rest
                    .iter()
                    .map(|e| conversation(e, ticket.fields.requester_id, &Render::new(&app)))
                    .collect();
                o.insert("conversations".into(), Value::Array(list));
            }
            "requester" => {
                let c = app
                    .store
                    .contact(account, ticket.fields.requester_id)
                    .await?;
                let mut r = contact_json(&c);
                if let Some(r) = r.as_object_mut() {
                    r.retain(|k, _| {
                        ["id", "name", "email", "mobile", "phone"].contains(&k.as_str())
                    });
                }
                o.insert("requester".into(), r);
            }
            "stats" => {
                let all = description.iter().chain(rest.iter());
                let last_in = all
                    .clone()
                    .filter(|e| e.fields.incoming && !e.fields.private)
                    .map(|e| e.fields.created_at)
                    .max();
                let first_out = all
                    .filter(|e| !e.fields.incoming && !e.fields.private)
                    .map(|e| e.fields.created_at)
                    .min();
                o.insert(
                    "stats".into(),
                    json!({
                        "agent_responded_at": first_out.map(rfc3339),
                        "requester_responded_at": last_in.map(rfc3339),
                        "first_responded_at": first_out.map(rfc3339),
                        "status_updated_at": rfc3339(ticket.fields.updated_at),
                        "reopened_at": null,
                        "resolved_at": null,
                        "closed_at": null,
                        "pending_since": null,
                    }),
                );
            }
            "" => {}
            other => {
                return Err(invalid(
                    "include",
                    format!("{other} is not one of conversations, requester, stats"),
                ));
            }
        }
    }
    Ok(Json(v))
}

/// `GET /api/v2/tickets/{id}/conversations`: every message after the description, every
/// reply and note, in WhatsApp-timestamp order.
pub(super) async fn conversations(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let id = ticket_id(&id)?;
    let page = pagination(query.as_deref())?;
    let ticket = app.store.ticket(caller.account.id, id).await?;
    let entries = app.store.entries(caller.account.id, id).await?;
    let (_, rest) = split_description(entries);
    let items: Vec<Value> = rest
        .iter()
        .skip(page.offset() as usize)
        .take(page.limit() as usize)
        .map(|e| conversation(e, ticket.fields.requester_id, &Render::new(&app)))
        .collect();
    Ok(with_next_link(
        &format!("/api/v2/tickets/{}/conversations", id.get()),
        page,
        items,
    ))
}

/// The body of `PUT /api/v2/tickets/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateTicket {
    status: Option<i64>,
    priority: Option<i64>,
    responder_id: Option<Option<i64>>,
    group_id: Option<Option<i64>>,
    tags: Option<Vec<String>>,
    subject: Option<String>,
    #[serde(rename = "type")]
    ticket_type: Option<Option<String>>,
    /// Resolution due time set by hand (RFC 3339).
    due_by: Option<String>,
    /// First-response due time set by hand (RFC 3339).
    fr_due_by: Option<String>,
}

fn parse_due(raw: &Option<String>) -> Result<Option<time::OffsetDateTime>, ()> {
    match raw {
        None => Ok(None),
        Some(s) => time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map(Some)
            .map_err(|_| ()),
    }
}

/// What an update changed, as events ticket-update rules react to.
fn update_events(before: &TicketFields, after: &TicketFields) -> Vec<rules_engine::TicketEvent> {
    use rules_engine::TicketEvent;
    let mut events = Vec::new();
    if before.status != after.status {
        events.push(TicketEvent::StatusChanged {
            from: ticketing_core::StatusCode(before.status),
            to: ticketing_core::StatusCode(after.status),
        });
    }
    if before.priority != after.priority
        && let (Some(from), Some(to)) = (
            Priority::from_code(before.priority),
            Priority::from_code(after.priority),
        )
    {
        events.push(TicketEvent::PriorityChanged { from, to });
    }
    if before.responder_id != after.responder_id {
        events.push(TicketEvent::Assigned {
            from: before.responder_id,
            to: after.responder_id,
        });
    }
    if before.group_id != after.group_id {
        events.push(TicketEvent::GroupChanged {
            from: before.group_id.map(ticketing_core::GroupId),
            to: after.group_id.map(ticketing_core::GroupId),
        });
    }
    events
}

/// Freshdesk's default ticket types, the values `type` accepts.
pub(crate) const TICKET_TYPES: [&str; 5] = [
    "Question",
    "Incident",
    "Problem",
    "Feature Request",
    "Refund",
];

/// `PUT /api/v2/tickets/{id}`.
pub(super) async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateTicket>,
) -> Result<Json<Value>, ApiError> {
    let id = ticket_id(&id)?;
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: &str| {
        errors.push(FieldError {
            field: field.into(),
            message: message.into(),
            code: "invalid_value".into(),
        })
    };
    if let Some(s) = body.status
        && Status::try_from(s).is_err()
    {
        bad("status", "It should be one of these values: '2,3,4,5'");
    }
    if let Some(p) = body.priority
        && Priority::try_from(p).is_err()
    {
        bad("priority", "It should be one of these values: '1,2,3,4'");
    }
    if let Some(Some(r)) = body.responder_id
        && r <= 0
    {
        bad("responder_id", "It should be a positive number");
    }
    if let Some(Some(g)) = body.group_id
        && g <= 0
    {
        bad("group_id", "It should be a positive number");
    }
    if let Some(s) = &body.subject
        && (s.trim().is_empty() || s.chars().count() > 255)
    {
        bad("subject", "It should be 1 to 255 characters");
    }
    if let Some(Some(t)) = &body.ticket_type
        && !TICKET_TYPES.contains(&t.as_str())
    {
        bad(
            "type",
            "It should be one of these values: 'Question,Incident,Problem,Feature Request,Refund'",
        );
    }
    let due_by = parse_due(&body.due_by).unwrap_or_else(|()| {
        bad(
            "due_by",
            "It should be a date-time in RFC 3339 format (2026-12-01T10:00:00Z)",
        );
        None
    });
    let fr_due_by = parse_due(&body.fr_due_by).unwrap_or_else(|()| {
        bad(
            "fr_due_by",
            "It should be a date-time in RFC 3339 format (2026-12-01T10:00:00Z)",
        );
        None
    });
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = app.clock.now();
    let sla_ctx = crate::sla::SlaContext::load(app.store.as_ref(), caller.account.id).await?;
    let rules =
        crate::automation::AccountRules::load(app.store.as_ref(), caller.account.id).await?;
    let mut tx = app.store.begin_outbound(caller.account.id).await?;
    let mut t = tx.get_ticket(id).await?;
    let before = t.fields.clone();
    let old_status = t.fields.status;
    if t.fields.deleted {
        return Err(ApiError::not_found());
    }
    // Due times set by hand, as Freshdesk checks them: after the ticket's creation, and the
    // resolution not before the first response (the one not given is the ticket's current one).
    let mut overrides = Vec::new();
    if due_by.is_some() || fr_due_by.is_some() {
        let current = tx.ticket_sla(id).await?;
        let created = t.fields.created_at;
        let mut errors = Vec::new();
        let mut bad = |field: &str, message: &str| {
            errors.push(FieldError {
                field: field.into(),
                message: message.into(),
                code: "invalid_value".into(),
            })
        };
        if due_by.is_some_and(|d| d < created) {
            bad("due_by", "It should be a date-time after created_at");
        }
        if fr_due_by.is_some_and(|d| d < created) {
            bad("fr_due_by", "It should be a date-time after created_at");
        }
        let effective_due = due_by.or(current.as_ref().and_then(|c| c.due_by));
        let effective_fr = fr_due_by.or(current.as_ref().and_then(|c| c.fr_due_by));
        if let (Some(d), Some(f)) = (effective_due, effective_fr)
            && d < f
        {
            let field = if due_by.is_some() {
                "due_by"
            } else {
                "fr_due_by"
            };
            bad(field, "due_by should not be before fr_due_by");
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        for (target, due) in [("first_response", fr_due_by), ("resolution", due_by)] {
            if let Some(due) = due {
                overrides.push((
                    now,
                    crate::sla::SlaChange::DueOverride {
                        target: target.into(),
                        due,
                    },
                ));
            }
        }
    }
    if let Some(s) = body.status {
        t.fields.status = s;
    }
    if let Some(p) = body.priority {
        t.fields.priority = p;
    }
    if let Some(r) = body.responder_id {
        t.fields.responder_id = r.map(AgentId);
    }
    if let Some(g) = body.group_id {
        t.fields.group_id = g;
    }
    if let Some(tags) = body.tags {
        t.fields.tags = tags;
    }
    if let Some(s) = body.subject {
        t.fields.subject = s;
        t.fields.subject_edited = true;
    }
    if let Some(ty) = body.ticket_type {
        t.fields.ticket_type = ty;
    }
    if t.fields.status != old_status {
        t.fields.status_changed_at = Some(now);
    }
    t.fields.updated_at = now;
    tx.update_ticket(id, &t.fields).await?;
    // A status change pauses, resumes or completes SLA timers; priority, group or agent changes
    // may select another policy or target. Either way the due times are recomputed.
    let mut changes: Vec<_> = (t.fields.status != old_status)
        .then_some((
            now,
            crate::sla::SlaChange::Status {
                status: t.fields.status,
            },
        ))
        .into_iter()
        .collect();
    changes.extend(overrides);
    crate::sla::record_changes(tx.as_mut(), &sla_ctx, &t, changes).await?;
    // Ticket-update rules react to what the agent changed, in the same transaction.
    let events = update_events(&before, &t.fields);
    crate::automation::on_agent_update(
        tx.as_mut(),
        rules.as_ref(),
        Some(&sla_ctx),
        &mut t,
        caller.agent.id,
        events,
        now,
    )
    .await?;
    tx.commit().await?;
    let entries = app.store.entries(caller.account.id, id).await?;
    let (description, _) = split_description(entries);
    let mut v = ticket_json(&t, description.as_ref(), &Render::new(&app));
    with_sla(
        &mut v,
        app.store.ticket_sla(caller.account.id, id).await?.as_ref(),
    );
    Ok(Json(v))
}

async fn set_deleted(
    app: &AppState,
    caller: &Caller,
    id: &str,
    deleted: bool,
) -> Result<Response, ApiError> {
    let id = ticket_id(id)?;
    let mut tx = app.store.begin_tickets(caller.account.id).await?;
    let mut t = tx.get_ticket(id).await?;
    if t.fields.deleted == deleted {
        return Err(ApiError::not_found());
    }
    t.fields.deleted = deleted;
    t.fields.updated_at = app.clock.now();
    tx.update_ticket(id, &t.fields).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /api/v2/tickets/{id}`: moves the ticket to the trash.
pub(super) async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    set_deleted(&app, &caller, &id, true).await
}

/// `PUT /api/v2/tickets/{id}/restore`.
pub(super) async fn restore(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    set_deleted(&app, &caller, &id, false).await
}

/// `GET /api/v2/ticket_fields`.
pub(super) async fn fields(_caller: Caller) -> Json<Value> {
    let choices = |all: Vec<(String, i64)>| -> Value {
        Value::Object(all.into_iter().map(|(l, c)| (l, json!(c))).collect())
    };
    let status: Vec<(String, i64)> = Status::ALL
        .iter()
        .map(|s| (s.label().to_owned(), s.code()))
        .collect();
    let priority: Vec<(String, i64)> = Priority::ALL
        .iter()
        .map(|s| (s.label().to_owned(), s.code()))
        .collect();
    let source: Vec<(String, i64)> = Source::ALL
        .iter()
        .map(|s| (s.label().to_owned(), s.code()))
        .collect();
    let field = |id: i64, name: &str, label: &str, ty: &str, position: i64, choices: Value| {
        json!({
            "id": id, "name": name, "label": label, "description": format!("Ticket {name}"),
            "type": ty, "default": true, "position": position,
            "required_for_closure": false, "required_for_agents": name == "subject",
            "required_for_customers": name == "subject", "customers_can_edit": name == "subject",
            "label_for_customers": label, "displayed_to_customers": true,
            "choices": choices,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        })
    };
    Json(json!([
        field(
            1,
            "requester",
            "Search a requester",
            "default_requester",
            1,
            json!([])
        ),
        field(2, "subject", "Subject", "default_subject", 2, json!([])),
        field(3, "source", "Source", "default_source", 3, choices(source)),
        field(4, "status", "Status", "default_status", 4, choices(status)),
        field(
            5,
            "priority",
            "Priority",
            "default_priority",
            5,
            choices(priority)
        ),
        field(6, "group", "Group", "default_group", 6, json!([])),
        field(7, "agent", "Agent", "default_agent", 7, json!([])),
        field(
            8,
            "description",
            "Description",
            "default_description",
            8,
            json!([])
        ),
    ]))
}
