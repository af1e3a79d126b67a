//! `POST /api/v2/tickets/{id}/reply`, `POST /api/v2/tickets/{id}/notes` and
//! `POST /api/v2/tickets` (CONTRACT section 4): what agents write.
//!
//! A reply is stored (its conversation entry and its outbox row, in one transaction) and answered
//! 201 at once with `whatsapp.status` `pending`; the send job delivers it. A free-form reply is
//! refused with 422 `outside_customer_service_window` when the customer's last message is 24 hours
//! old or more (nothing is stored); a template may always be sent, after its parameters are checked
//! against the template. Notes are stored only: no WhatsApp send, no effect on the window or the
//! threading interval.

use axum::{
    Json,
    extract::{FromRequest, Multipart, Path, Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use store::{
    ContactFields, ContactRow, EntryFields, NewSend, OutboundTx, TemplateRow, TicketFields,
    TicketRow, WaNumber,
};
use ticketing_core::{
    AgentId, ContactId, Priority, Status, TicketId,
    contact::{ContactIdentity, WaId, canonicalize_phone},
    threading::{LatestTicket, ThreadDecision, decide_thread},
};
use time::OffsetDateTime;

use super::{
    AppState,
    api::{ApiError, ApiJson, Caller, FieldError, rfc3339},
    tickets::{Render, conversation, split_description, ticket_json},
};
use crate::{
    blob::BlobKey,
    media::{AttachmentError, OutboundMedia, check_outbound},
    outbound::{OutboundPayload, window_expires_at, window_open},
    templates::{TemplateProblem, check_send, sync_number},
    tickets::html,
};

/// WhatsApp's limit on a text message.
const MAX_TEXT_CHARS: usize = 4096;
/// WhatsApp's limit on a media caption.
const MAX_CAPTION_CHARS: usize = 1024;
/// The largest reply request: the largest file WhatsApp takes (a 100 MB document) and a form.
pub(super) const MAX_REPLY_BODY: usize = 100 * 1024 * 1024 + 1024 * 1024;

fn field_error(field: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
        code: code.to_owned(),
    }
}

fn unprocessable(description: &str, errors: Vec<FieldError>) -> ApiError {
    ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        description: description.to_owned(),
        errors,
    }
}

fn template_problems(problems: Vec<TemplateProblem>) -> ApiError {
    unprocessable(
        "The template cannot be sent as requested",
        problems
            .into_iter()
            .map(|p| field_error(&p.field, p.code, p.message))
            .collect(),
    )
}

fn ticket_id(raw: &str) -> Result<TicketId, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(TicketId)
        .ok_or_else(ApiError::not_found)
}

/// Freshdesk bodies are HTML; WhatsApp takes text: tags dropped, breaks and paragraphs as new
/// lines, the common entities decoded.
pub(super) fn html_to_text(body: &str) -> String {
    if !body.contains('<') && !body.contains('&') {
        return body.trim().to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end]
            .trim()
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let closing = rest[start + 1..].starts_with('/');
        if tag == "br"
            || (closing && matches!(tag.as_str(), "p" | "div" | "li" | "h1" | "h2" | "h3"))
        {
            out.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.trim().to_owned()
}

/// The body of `POST /tickets/{id}/reply`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ReplyBody {
    body: Option<String>,
    template: Option<Value>,
    user_id: Option<i64>,
    preview_url: Option<bool>,
    /// A wamid of the ticket to quote (WhatsApp's `context`).
    reply_to: Option<String>,
}

/// Where a ticket's messages go: its number and the recipient.
struct Route {
    number: WaNumber,
    contact: ContactRow,
    recipient: String,
}

async fn route(app: &AppState, caller: &Caller, ticket: &TicketRow) -> Result<Route, ApiError> {
    let Some(number_id) = ticket.fields.number_id else {
        return Err(unprocessable(
            "This ticket is not a WhatsApp conversation",
            vec![field_error(
                "",
                "not_a_whatsapp_ticket",
                "Only WhatsApp tickets (source 13) can be replied to here",
            )],
        ));
    };
    let number = app
        .store
        .list_numbers(caller.account.id)
        .await?
        .into_iter()
        .find(|n| n.id == number_id)
        .ok_or_else(|| {
            unprocessable(
                "The ticket's WhatsApp number is no longer connected",
                vec![field_error(
                    "",
                    "number_disconnected",
                    "Connect the number again to reply",
                )],
            )
        })?;
    let contact = app
        .store
        .contact(caller.account.id, ticket.fields.requester_id)
        .await?;
    let recipient = recipient_of(&contact).ok_or_else(|| {
        unprocessable(
            "The requester has no WhatsApp number",
            vec![field_error(
                "requester_id",
                "no_whatsapp_recipient",
                "The contact has no WhatsApp id, mobile or phone",
            )],
        )
    })?;
    Ok(Route {
        number,
        contact,
        recipient,
    })
}

/// Meta's `to`: the WhatsApp id when known, else the E.164 number.
fn recipient_of(contact: &ContactRow) -> Option<String> {
    let f = &contact.fields;
    f.wa_id
        .clone()
        .or_else(|| f.mobile_e164.clone())
        .or_else(|| f.phone_e164.clone())
}

/// Finds the template by name and language, syncing the number from Meta once if it is not
/// known yet.
async fn find_template(
    app: &AppState,
    caller: &Caller,
    number: &WaNumber,
    request: &Value,
) -> Result<TemplateRow, ApiError> {
    let name = request
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let language = request
        .get("language")
        .and_then(|l| l.as_str().or_else(|| l.get("code").and_then(Value::as_str)))
        .unwrap_or_default();
    let mut missing = Vec::new();
    if name.is_empty() {
        missing.push(field_error(
            "template.name",
            "missing_field",
            "The template's name is required",
        ));
    }
    if language.is_empty() {
        missing.push(field_error(
            "template.language",
            "missing_field",
            "The template's language code (e.g. en_US) is required",
        ));
    }
    if !missing.is_empty() {
        return Err(ApiError::validation(missing));
    }
    let find = |list: Vec<TemplateRow>| {
        list.into_iter()
            .find(|t| t.name == name && t.language == language)
    };
    if let Some(t) = find(
        app.store
            .list_templates(caller.account.id, number.id)
            .await?,
    ) {
        return Ok(t);
    }
    let graph = crate::outbound::graph_client(&app.config);
    match sync_number(app.store.as_ref(), &graph, number, app.clock.now()).await {
        Ok(rows) => {
            if let Some(t) = find(rows) {
                return Ok(t);
            }
        }
        Err(e) => {
            tracing::warn!(number = %number.id, error.message = %e, "template sync on demand failed")
        }
    }
    Err(unprocessable(
        "No such template",
        vec![field_error(
            "template.name",
            "template_not_found",
            format!(
                "The number has no template {name} in language {language} (sync with POST /api/v2/whatsapp/numbers/{}/templates/sync)",
                number.id.0
            ),
        )],
    ))
}

/// What to send and what the agent sees, from a reply body (free-form text or template).
struct Composed {
    payload: OutboundPayload,
    body_html: String,
    body_text: String,
    /// The entry's attachments (an agent's file: its metadata and blob key).
    attachments: Value,
    data: Value,
}

async fn compose(
    app: &AppState,
    caller: &Caller,
    number: &WaNumber,
    body: Option<&str>,
    template: Option<&Value>,
    (preview_url, reply_to): (bool, Option<String>),
    user_id: i64,
) -> Result<Composed, ApiError> {
    if let Some(request) = template {
        if !request.is_object() {
            return Err(ApiError::validation(vec![field_error(
                "template",
                "invalid_value",
                "It should be an object {\"name\", \"language\", \"parameters\"}",
            )]));
        }
        let t = find_template(app, caller, number, request).await?;
        let (components, text) = check_send(&t, request).map_err(template_problems)?;
        return Ok(Composed {
            payload: OutboundPayload::Template {
                name: t.name.clone(),
                language: t.language.clone(),
                components,
            },
            body_html: html(&text),
            body_text: text,
            attachments: json!([]),
            data: json!({"outbound": {"user_id": user_id, "kind": "template", "template": {"name": t.name, "language": t.language, "category": t.category}}}),
        });
    }
    let raw = body.unwrap_or_default();
    let text = html_to_text(raw);
    if text.is_empty() {
        return Err(ApiError::validation(vec![field_error(
            "body",
            "missing_field",
            "It should be a non-empty text (or send a `template`)",
        )]));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::validation(vec![field_error(
            "body",
            "invalid_value",
            format!("WhatsApp text messages hold at most {MAX_TEXT_CHARS} characters"),
        )]));
    }
    let body_html = if raw.contains('<') {
        raw.to_owned()
    } else {
        html(&text)
    };
    Ok(Composed {
        payload: OutboundPayload::Text {
            body: text.clone(),
            preview_url,
            reply_to: reply_to.clone(),
        },
        body_html,
        body_text: text,
        attachments: json!([]),
        data: json!({"outbound": {"user_id": user_id, "kind": "text"}}),
    })
}

/// A file of a multipart reply (`attachments[]`).
struct AgentFile {
    filename: String,
    content_type: String,
    bytes: Bytes,
}

/// A file that passed [`check_outbound`]: what it is sent as, and where it is kept.
struct CheckedFile {
    file: AgentFile,
    media: OutboundMedia,
    sha256: [u8; 32],
}

fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| {
            c.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "Validation failed",
            "attachments",
            "payload_too_large",
            format!(
                "The request is larger than {MAX_REPLY_BODY} bytes (WhatsApp takes files of at most 100 MB)"
            ),
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "Validation failed",
            "",
            "invalid_multipart",
            e.body_text(),
        )
    }
}

/// The type of a file part: its own `Content-Type`, or (when missing or generic, as curl
/// sends for most files) one guessed from the file name's extension.
fn file_type(declared: Option<&str>, filename: &str) -> String {
    let declared = declared.map(str::trim).filter(|t| !t.is_empty());
    if let Some(t) = declared
        && !t.eq_ignore_ascii_case("application/octet-stream")
    {
        return t.to_owned();
    }
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let guessed = match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "3gp" => "video/3gpp",
        "aac" => "audio/aac",
        "amr" => "audio/amr",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "ogg" | "opus" => "audio/ogg; codecs=opus",
        "txt" => "text/plain",
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _ => return declared.unwrap_or("application/octet-stream").to_owned(),
    };
    guessed.to_owned()
}

/// Whether a WebP file is animated (its `VP8X` header's animation flag).
fn webp_animated(bytes: &[u8]) -> bool {
    bytes.len() > 20
        && &bytes[0..4] == b"RIFF"
        && &bytes[8..12] == b"WEBP"
        && &bytes[12..16] == b"VP8X"
        && bytes[20] & 0x02 != 0
}

/// Reads Freshdesk's multipart reply: `body`, `user_id`, `preview_url`, `reply_to` as in the
/// JSON form, and at most one file in `attachments[]`. Other fields are ignored, as unknown
/// JSON keys are.
async fn read_multipart(
    app: &AppState,
    request: Request,
) -> Result<(ReplyBody, Option<AgentFile>), ApiError> {
    let mut form = Multipart::from_request(request, app).await.map_err(|e| {
        ApiError::new(
            e.status(),
            "Validation failed",
            "",
            "invalid_multipart",
            e.body_text(),
        )
    })?;
    let mut body = ReplyBody::default();
    let mut files: Vec<AgentFile> = Vec::new();
    let mut errors = Vec::new();
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "attachments[]" || name == "attachments" {
            let filename = field
                .file_name()
                .map(str::to_owned)
                .filter(|f| !f.trim().is_empty())
                .unwrap_or_else(|| "attachment".to_owned());
            let declared = field.content_type().map(str::to_owned);
            let bytes = field.bytes().await.map_err(multipart_error)?;
            let content_type = file_type(declared.as_deref(), &filename);
            files.push(AgentFile {
                filename,
                content_type,
                bytes,
            });
            continue;
        }
        let text = field.text().await.map_err(multipart_error)?;
        match name.as_str() {
            "body" => body.body = Some(text),
            "reply_to" => body.reply_to = Some(text).filter(|t| !t.is_empty()),
            "user_id" => match text.trim().parse::<i64>() {
                Ok(n) => body.user_id = Some(n),
                Err(_) => errors.push(field_error(
                    "user_id",
                    "datatype_mismatch",
                    "It should be a number",
                )),
            },
            "preview_url" => match text.trim() {
                "true" | "1" => body.preview_url = Some(true),
                "false" | "0" | "" => body.preview_url = Some(false),
                _ => errors.push(field_error(
                    "preview_url",
                    "datatype_mismatch",
                    "It should be true or false",
                )),
            },
            "template" => errors.push(field_error(
                "template",
                "invalid_field",
                "Templates are sent as JSON (application/json), without attachments",
            )),
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if files.len() > 1 {
        return Err(unprocessable(
            "Too many attachments",
            vec![field_error(
                "attachments",
                "invalid_value",
                format!(
                    "A WhatsApp reply carries at most one file; {} were given",
                    files.len()
                ),
            )],
        ));
    }
    Ok((body, files.pop()))
}

/// Checks a file against WhatsApp's types and size limits (422 on `attachments` otherwise).
fn check_file(file: AgentFile) -> Result<CheckedFile, ApiError> {
    let size = file.bytes.len() as u64;
    let animated = webp_animated(&file.bytes);
    let media = check_outbound(&file.content_type, size, animated).map_err(|e| {
        let code = match e {
            AttachmentError::UnsupportedType { .. } => "invalid_content_type",
            AttachmentError::TooLarge { .. } | AttachmentError::Empty => "invalid_size",
        };
        metrics::counter!("wadesk_replies_refused_total", "reason" => "attachment").increment(1);
        unprocessable(
            "The attachment cannot be sent on WhatsApp",
            vec![field_error(
                "attachments",
                code,
                format!("{}: {e}", file.filename),
            )],
        )
    })?;
    let sha256: [u8; 32] = Sha256::digest(&file.bytes).into();
    Ok(CheckedFile {
        file,
        media,
        sha256,
    })
}

/// The messages of a reply with a file: the file, with the body as its caption when its kind
/// takes one (image, video, document) and the text fits WhatsApp's 1024 characters; otherwise
/// the body is sent as a text message queued just before the file.
fn compose_attachment(
    checked: &CheckedFile,
    body: Option<&str>,
    reply_to: Option<String>,
    user_id: i64,
) -> Result<Vec<Composed>, ApiError> {
    let raw = body.unwrap_or_default();
    let text = html_to_text(raw);
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::validation(vec![field_error(
            "body",
            "invalid_value",
            format!("WhatsApp text messages hold at most {MAX_TEXT_CHARS} characters"),
        )]));
    }
    let kind = checked.media.kind.as_str();
    let takes_caption = matches!(kind, "image" | "video" | "document");
    let as_caption = !text.is_empty() && takes_caption && text.chars().count() <= MAX_CAPTION_CHARS;
    let mut out = Vec::new();
    let mut reply_to = reply_to;
    if !text.is_empty() && !as_caption {
        out.push(Composed {
            payload: OutboundPayload::Text {
                body: text.clone(),
                preview_url: false,
                reply_to: reply_to.take(),
            },
            body_html: if raw.contains('<') { raw.to_owned() } else { html(&text) },
            body_text: text.clone(),
            attachments: json!([]),
            data: json!({"outbound": {"user_id": user_id, "kind": "text", "with_attachment": true}}),
        });
    }
    let caption = as_caption.then(|| text.clone());
    let key = BlobKey::for_sha256(&checked.sha256);
    let f = &checked.file;
    out.push(Composed {
        payload: OutboundPayload::Attachment {
            kind: kind.to_owned(),
            blob_key: key.as_str().to_owned(),
            mime_type: f.content_type.clone(),
            filename: f.filename.clone(),
            caption: caption.clone(),
            reply_to,
        },
        body_html: match &caption {
            Some(_) if raw.contains('<') => raw.to_owned(),
            Some(c) => html(c),
            None => String::new(),
        },
        body_text: caption.clone().unwrap_or_default(),
        attachments: json!([{
            "name": f.filename,
            "content_type": f.content_type,
            "size": f.bytes.len(),
            "sha256": hex::encode(checked.sha256),
            "kind": kind,
            "caption": caption,
            "blob_key": key.as_str(),
        }]),
        data: json!({"outbound": {"user_id": user_id, "kind": "attachment", "media_kind": kind}}),
    });
    Ok(out)
}

fn window_closed(expired_at: Option<OffsetDateTime>) -> ApiError {
    let message = match expired_at {
        Some(t) => format!(
            "The customer service window closed at {}: the customer's last message is more than 24 hours old. Send an approved template instead.",
            rfc3339(t)
        ),
        None => "The customer has not written to this number: a conversation can only be started with an approved template.".to_owned(),
    };
    unprocessable(
        "Outside the 24-hour customer service window",
        vec![field_error(
            "body",
            "outside_customer_service_window",
            message,
        )],
    )
}

/// Inserts the outgoing entry and its send, and moves the ticket's last message time; in `tx`.
async fn queue_in(
    tx: &mut dyn OutboundTx,
    ticket: &mut TicketRow,
    number: &WaNumber,
    recipient: &str,
    composed: Composed,
    now: OffsetDateTime,
) -> Result<store::EntryRow, ApiError> {
    let entry = tx
        .insert_entry(
            ticket.id,
            Some(number.id),
            &EntryFields {
                wamid: None,
                incoming: false,
                private: false,
                body: composed.body_html,
                body_text: composed.body_text,
                attachments: composed.attachments,
                wa_status: None,
                wa_error: None,
                reply_to: match &composed.payload {
                    OutboundPayload::Text { reply_to, .. }
                    | OutboundPayload::Attachment { reply_to, .. } => reply_to.clone(),
                    _ => None,
                },
                data: composed.data,
                created_at: now,
                updated_at: now,
            },
        )
        .await?;
    let payload = serde_json::to_value(&composed.payload).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "",
            "internal_error",
            e.to_string(),
        )
    })?;
    tx.insert_send(
        ticket.id,
        entry.id,
        &NewSend {
            number_id: number.id,
            recipient: recipient.to_owned(),
            payload,
        },
        now,
    )
    .await?;
    // A reply keeps the thread: the threading interval counts from it.
    ticket.fields.last_message_at = Some(ticket.fields.last_message_at.map_or(now, |t| t.max(now)));
    ticket.fields.last_agent_response_at = Some(now);
    ticket.fields.updated_at = now;
    tx.update_ticket(ticket.id, &ticket.fields).await?;
    Ok(entry)
}

/// `POST /api/v2/tickets/{id}/reply`.
///
/// JSON (`body` or `template`), or Freshdesk's `multipart/form-data` with at most one file in
/// `attachments[]` (then `body` may be empty). A file is checked against WhatsApp's types and
/// limits, stored in the blob store (content-addressed) before the entry and its send are
/// committed, and uploaded to Meta by the send job.
pub(super) async fn reply(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let (body, file) = if is_multipart(&request) {
        read_multipart(&app, request).await?
    } else {
        // The route admits files up to 100 MB; a JSON reply stays within the API's limit.
        let (parts, body) = request.into_parts();
        let limited =
            axum::body::Body::new(http_body_util::Limited::new(body, super::MAX_API_BODY));
        let request = Request::from_parts(parts, limited);
        let ApiJson(body) = ApiJson::<ReplyBody>::from_request(request, &app).await?;
        (body, None)
    };
    let id = ticket_id(&id)?;
    let ticket = app.store.ticket(caller.account.id, id).await?;
    if ticket.fields.deleted {
        return Err(ApiError::not_found());
    }
    // A downgraded account keeps its tickets but sends nothing new on WhatsApp.
    caller.require_whatsapp_plan()?;
    let checked = file.map(check_file).transpose()?;
    if body.body.is_none() && body.template.is_none() && checked.is_none() {
        return Err(ApiError::validation(vec![field_error(
            "body",
            "missing_field",
            "It should be a non-empty text (or send a `template`)",
        )]));
    }
    if body.body.is_some() && body.template.is_some() {
        return Err(ApiError::validation(vec![field_error(
            "template",
            "invalid_field",
            "Send either a `body` (free-form text) or a `template`, not both",
        )]));
    }
    if let Some(quoted) = &body.reply_to {
        let on_ticket = app
            .store
            .entries(caller.account.id, id)
            .await?
            .iter()
            .any(|e| e.fields.wamid.as_deref() == Some(quoted.as_str()));
        if !on_ticket {
            return Err(ApiError::validation(vec![field_error(
                "reply_to",
                "invalid_value",
                "It should be the WhatsApp message id (wamid) of a message on this ticket",
            )]));
        }
    }
    let route = route(&app, &caller, &ticket).await?;
    let user_id = body.user_id.unwrap_or(caller.agent.id.0);
    let messages = match &checked {
        Some(c) => compose_attachment(c, body.body.as_deref(), body.reply_to.clone(), user_id)?,
        None => vec![
            compose(
                &app,
                &caller,
                &route.number,
                body.body.as_deref(),
                body.template.as_ref(),
                (body.preview_url.unwrap_or(false), body.reply_to.clone()),
                user_id,
            )
            .await?,
        ],
    };
    let free_form = messages
        .iter()
        .any(|m| !matches!(m.payload, OutboundPayload::Template { .. }));
    let now = app.clock.now();
    if let Some(c) = &checked {
        // Refused outside the window before the file is stored (checked again below, in the
        // transaction).
        let last = app
            .store
            .last_inbound_at(caller.account.id, route.contact.id, route.number.id)
            .await?;
        if !window_open(last, now) {
            metrics::counter!("wadesk_replies_refused_total", "reason" => "outside_window")
                .increment(1);
            return Err(window_closed(window_expires_at(last)));
        }
        store_file(&app, c).await?;
    }
    let sla = crate::sla::SlaContext::load(app.store.as_ref(), caller.account.id).await?;
    let rules =
        crate::automation::AccountRules::load(app.store.as_ref(), caller.account.id).await?;
    let mut tx = app.store.begin_outbound(caller.account.id).await?;
    if free_form {
        let last = tx
            .last_inbound_at(route.contact.id, route.number.id)
            .await?;
        if !window_open(last, now) {
            metrics::counter!("wadesk_replies_refused_total", "reason" => "outside_window")
                .increment(1);
            return Err(window_closed(window_expires_at(last)));
        }
    }
    let mut ticket = tx.get_ticket(id).await?;
    let mut entry = None;
    for composed in messages {
        entry = Some(
            queue_in(
                tx.as_mut(),
                &mut ticket,
                &route.number,
                &route.recipient,
                composed,
                now,
            )
            .await?,
        );
    }
    let entry = entry.ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "",
            "internal_error",
            "nothing to send",
        )
    })?;
    // The reply meets the first-response (or next-response) target.
    crate::sla::record(
        tx.as_mut(),
        &sla,
        &ticket,
        Some((now, crate::sla::SlaChange::AgentReply)),
    )
    .await?;
    crate::automation::on_agent_update(
        tx.as_mut(),
        rules.as_ref(),
        Some(&sla),
        &mut ticket,
        AgentId(user_id),
        vec![rules_engine::TicketEvent::ReplySent],
        now,
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("wadesk_replies_total").increment(1);
    Ok((
        StatusCode::CREATED,
        Json(conversation(
            &entry,
            ticket.fields.requester_id,
            &Render::new(&app),
        )),
    )
        .into_response())
}

/// Keeps an agent's file in the blob store under its content address (once: the same file
/// sent twice is stored once). A file stored for a reply whose transaction then fails stays
/// unreferenced, which is harmless (same key, same bytes, if it is sent again).
async fn store_file(app: &AppState, c: &CheckedFile) -> Result<(), ApiError> {
    let key = BlobKey::for_sha256(&c.sha256);
    let unavailable = |e: crate::blob::BlobError| {
        tracing::error!(error.message = %e, "storing an agent's attachment failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The file cannot be stored right now.",
            "attachments",
            "storage_unavailable",
            "try again later",
        )
    };
    if !app.media.blobs.exists(&key).await.map_err(unavailable)? {
        app.media
            .blobs
            .put(&key, Bytes::clone(&c.file.bytes))
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}

/// The body of `POST /tickets/{id}/notes`.
#[derive(Debug, Deserialize)]
pub(super) struct NoteBody {
    body: Option<String>,
    private: Option<bool>,
    user_id: Option<i64>,
}

/// `POST /api/v2/tickets/{id}/notes`.
pub(super) async fn note(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<Response, ApiError> {
    let id = ticket_id(&id)?;
    let raw = body.body.unwrap_or_default();
    let text = html_to_text(&raw);
    if text.is_empty() {
        return Err(ApiError::validation(vec![field_error(
            "body",
            "missing_field",
            "It should be a non-empty text",
        )]));
    }
    let now = app.clock.now();
    let rules =
        crate::automation::AccountRules::load(app.store.as_ref(), caller.account.id).await?;
    let sla = match &rules {
        Some(_) => Some(crate::sla::SlaContext::load(app.store.as_ref(), caller.account.id).await?),
        None => None,
    };
    let mut tx = app.store.begin_outbound(caller.account.id).await?;
    let mut ticket = tx.get_ticket(id).await?;
    if ticket.fields.deleted {
        return Err(ApiError::not_found());
    }
    let user_id = body.user_id.unwrap_or(caller.agent.id.0);
    let private = body.private.unwrap_or(true);
    let entry = tx
        .insert_entry(
            id,
            ticket.fields.number_id,
            &EntryFields {
                wamid: None,
                incoming: false,
                private,
                body: if raw.contains('<') {
                    raw.clone()
                } else {
                    html(&text)
                },
                body_text: text,
                attachments: json!([]),
                wa_status: None,
                wa_error: None,
                reply_to: None,
                data: json!({"note": {"user_id": user_id}}),
                created_at: now,
                updated_at: now,
            },
        )
        .await?;
    // A note changes neither the window nor the thread: only `updated_at`.
    ticket.fields.updated_at = now;
    tx.update_ticket(id, &ticket.fields).await?;
    crate::automation::on_agent_update(
        tx.as_mut(),
        rules.as_ref(),
        sla.as_ref(),
        &mut ticket,
        AgentId(user_id),
        vec![rules_engine::TicketEvent::NoteAdded { private }],
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(conversation(
            &entry,
            ticket.fields.requester_id,
            &Render::new(&app),
        )),
    )
        .into_response())
}

/// The body of `POST /api/v2/tickets` (Freshdesk's create-ticket shape, WhatsApp source only).
#[derive(Debug, Deserialize)]
pub(super) struct CreateTicket {
    subject: Option<String>,
    description: Option<String>,
    phone: Option<String>,
    name: Option<String>,
    requester_id: Option<i64>,
    status: Option<i64>,
    priority: Option<i64>,
    source: Option<i64>,
    responder_id: Option<i64>,
    group_id: Option<i64>,
    tags: Option<Vec<String>>,
    number_id: Option<i64>,
    template: Option<Value>,
    whatsapp: Option<Value>,
}

/// `POST /api/v2/tickets`: starts (or continues, within the number's threading interval) a
/// business-initiated WhatsApp conversation with an approved template (or, inside the customer
/// service window, a free-form `description`).
pub(super) async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateTicket>,
) -> Result<Response, ApiError> {
    caller.require_whatsapp_plan()?;
    let wa = body.whatsapp.clone().unwrap_or(Value::Null);
    let number_id = body.number_id.or_else(|| wa["number_id"].as_i64());
    let template = body
        .template
        .clone()
        .or_else(|| wa.get("template").cloned());
    let mut errors = Vec::new();
    if body.source.unwrap_or(13) != 13 {
        errors.push(field_error("source", "invalid_value", "Only WhatsApp tickets (source 13) can be created: wadesk has no other channel to send on"));
    }
    if number_id.is_none() {
        errors.push(field_error(
            "number_id",
            "missing_field",
            "The WhatsApp number (id from GET /api/v2/whatsapp/numbers) to write from is required",
        ));
    }
    if body.phone.is_none() && body.requester_id.is_none() {
        errors.push(field_error(
            "phone",
            "missing_field",
            "A phone number or a requester_id is required",
        ));
    }
    if template.is_none() && body.description.is_none() {
        errors.push(field_error(
            "template",
            "missing_field",
            "A template (or, inside the customer service window, a description) is required",
        ));
    }
    let status = body.status.unwrap_or(Status::Open.code());
    if Status::try_from(status).is_err() {
        errors.push(field_error(
            "status",
            "invalid_value",
            "It should be one of these values: '2,3,4,5'",
        ));
    }
    let priority = body.priority.unwrap_or(Priority::Low.code());
    if Priority::try_from(priority).is_err() {
        errors.push(field_error(
            "priority",
            "invalid_value",
            "It should be one of these values: '1,2,3,4'",
        ));
    }
    let phone = match body
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(p) => match canonicalize_phone(p, None) {
            Ok(e) => Some((p.to_owned(), e)),
            Err(e) => {
                errors.push(field_error(
                    "phone",
                    "invalid_value",
                    format!("Not a phone number: {e}"),
                ));
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let number = app
        .store
        .list_numbers(caller.account.id)
        .await?
        .into_iter()
        .find(|n| Some(n.id.0) == number_id)
        .ok_or_else(|| {
            ApiError::validation(vec![field_error(
                "number_id",
                "invalid_value",
                "No such WhatsApp number in this account",
            )])
        })?;
    let user_id = caller.agent.id.0;
    let composed = compose(
        &app,
        &caller,
        &number,
        body.description.as_deref(),
        template.as_ref(),
        (false, None),
        user_id,
    )
    .await?;
    let free_form = matches!(composed.payload, OutboundPayload::Text { .. });
    let now = app.clock.now();
    let sla = crate::sla::SlaContext::load(app.store.as_ref(), caller.account.id).await?;
    let mut tx = app.store.begin_outbound(caller.account.id).await?;
    let contact = match (body.requester_id, &phone) {
        (Some(r), _) => tx.get_contact(ContactId(r)).await.map_err(|_| {
            ApiError::validation(vec![field_error(
                "requester_id",
                "invalid_value",
                "No such contact",
            )])
        })?,
        (None, Some((given, e164))) => {
            let identity =
                ContactIdentity::from_wa_id(WaId::parse(e164.digits()).map_err(|e| {
                    ApiError::validation(vec![field_error("phone", "invalid_value", e.to_string())])
                })?);
            let found = tx
                .find_contacts(&crate::tickets::lookup_for(&identity))
                .await?;
            match found.into_iter().next() {
                Some(c) => c,
                None => {
                    tx.insert_contact(
                        &ContactFields {
                            name: body
                                .name
                                .clone()
                                .unwrap_or_else(|| e164.as_str().to_owned()),
                            phone: Some(given.clone()),
                            phone_e164: Some(e164.as_str().to_owned()),
                            ..ContactFields::default()
                        },
                        now,
                    )
                    .await?
                }
            }
        }
        (None, None) => {
            return Err(ApiError::validation(vec![field_error(
                "phone",
                "missing_field",
                "A phone number or a requester_id is required",
            )]));
        }
    };
    let recipient = recipient_of(&contact).ok_or_else(|| {
        unprocessable(
            "The requester has no WhatsApp number",
            vec![field_error(
                "requester_id",
                "no_whatsapp_recipient",
                "The contact has no WhatsApp id, mobile or phone",
            )],
        )
    })?;
    if free_form {
        let last = tx.last_inbound_at(contact.id, number.id).await?;
        if !window_open(last, now) {
            return Err(window_closed(window_expires_at(last)));
        }
    }
    let latest = tx.latest_ticket(contact.id, number.id).await?;
    let latest_view = latest.as_ref().map(|t| LatestTicket {
        ticket_id: t.id,
        status: Status::try_from(t.fields.status).unwrap_or(Status::Open),
        last_message_at: t.fields.last_message_at.unwrap_or(t.fields.created_at),
    });
    let (mut ticket, created) =
        match decide_thread(latest_view.as_ref(), number.threading_interval, now) {
            ThreadDecision::Join { ticket_id, reopen } => {
                let mut t = tx.get_ticket(ticket_id).await?;
                if reopen {
                    t.fields.status = Status::Open.code();
                }
                (t, false)
            }
            ThreadDecision::NewTicket => {
                let subject = body
                    .subject
                    .clone()
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| {
                        let first = composed
                            .body_text
                            .lines()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or("WhatsApp");
                        first.chars().take(100).collect()
                    });
                let t = tx
                    .insert_ticket(&TicketFields {
                        number_id: Some(number.id),
                        requester_id: contact.id,
                        subject,
                        subject_edited: body.subject.is_some(),
                        status,
                        priority,
                        source: 13,
                        responder_id: Some(body.responder_id.map_or(caller.agent.id, AgentId)),
                        group_id: body.group_id,
                        tags: body.tags.clone().unwrap_or_default(),
                        created_at: now,
                        updated_at: now,
                        last_message_at: Some(now),
                        deleted: false,
                        ticket_type: None,
                        spam: false,
                        status_changed_at: None,
                        last_customer_message_at: None,
                        last_agent_response_at: Some(now),
                    })
                    .await?;
                (t, true)
            }
        };
    queue_in(tx.as_mut(), &mut ticket, &number, &recipient, composed, now).await?;
    crate::sla::record(
        tx.as_mut(),
        &sla,
        &ticket,
        Some((now, crate::sla::SlaChange::AgentReply)),
    )
    .await?;
    let entries = tx.ticket_entries(ticket.id).await?;
    tx.commit().await?;
    let (description, _) = split_description(entries);
    let mut v = ticket_json(&ticket, description.as_ref(), &Render::new(&app));
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "description".into(),
            json!(description.as_ref().map(|d| d.fields.body.clone())),
        );
        o.insert("continued_existing_ticket".into(), json!(!created));
    }
    metrics::counter!("wadesk_business_initiated_total").increment(1);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text() {
        assert_eq!(html_to_text("Plain & simple"), "Plain & simple");
        assert_eq!(
            html_to_text("<div>Hi &amp; bye<br>line 2</div><p>para</p>"),
            "Hi & bye\nline 2\npara"
        );
        assert_eq!(html_to_text("a < b"), "a < b");
    }
}
