//! `/api/v2/attachments/{id}`: the files of inbound WhatsApp media, and the retry of a failed
//! download (`docs/media.md`).
//!
//! An attachment is readable by agents of its account (HTTP Basic with their API key), or by
//! anyone holding its signed URL (`?account=…&expires=…&signature=…`, what `attachment_url`
//! gives, valid one hour) so that a browser can open it. Another account's agent gets 404, as
//! for every other object of another account.

use axum::{
    Json,
    extract::{FromRequestParts, Path, Query, State},
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{MediaDownload, MediaState};
use ticketing_core::AccountId;

use super::{AppState, api::ApiError, api::Caller};
use crate::{
    blob::BlobKey,
    media::{attachment_id, split_attachment_id},
};

/// The query of a signed attachment URL.
#[derive(Debug, Deserialize)]
pub(super) struct Signed {
    account: Option<i64>,
    expires: Option<i64>,
    signature: Option<String>,
}

fn parse_id(raw: &str) -> Result<(i64, store::EntryId, u32), ApiError> {
    raw.parse::<i64>()
        .ok()
        .and_then(|id| split_attachment_id(id).map(|(e, i)| (id, e, i)))
        .ok_or_else(ApiError::not_found)
}

/// A file name safe in a `Content-Disposition` header: printable ASCII without quotes,
/// backslashes or path separators; something readable when nothing is left.
fn safe_filename(m: &MediaDownload, id: i64) -> String {
    safe_name(
        m.item.filename.as_deref(),
        &m.item.kind,
        m.content_type.as_deref().or(m.item.mime_type.as_deref()),
        id,
    )
}

fn safe_name(filename: Option<&str>, kind: &str, content_type: Option<&str>, id: i64) -> String {
    let given: String = filename
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !"\"\\/;".contains(c) || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let given = given.trim().trim_start_matches('.').to_owned();
    if !given.is_empty() && given != kind {
        return given;
    }
    let ext = match content_type {
        Some(t) if t.starts_with("image/jpeg") => "jpg",
        Some(t) if t.starts_with("image/png") => "png",
        Some(t) if t.starts_with("image/webp") => "webp",
        Some(t) if t.starts_with("image/gif") => "gif",
        Some(t) if t.starts_with("video/mp4") => "mp4",
        Some(t) if t.starts_with("video/3gpp") => "3gp",
        Some(t) if t.starts_with("audio/ogg") => "ogg",
        Some(t) if t.starts_with("audio/mpeg") => "mp3",
        Some(t) if t.starts_with("audio/mp4") => "m4a",
        Some(t) if t.starts_with("audio/aac") => "aac",
        Some(t) if t.starts_with("audio/amr") => "amr",
        Some(t) if t.starts_with("application/pdf") => "pdf",
        Some(t) if t.starts_with("text/plain") => "txt",
        _ => "bin",
    };
    format!("{kind}-{id}.{ext}")
}

/// An agent's file on an outgoing entry (kept in the blob store when the reply was made):
/// its blob key, type and file name.
async fn outbound_file(
    app: &AppState,
    account: AccountId,
    entry: store::EntryId,
    index: u32,
    id: i64,
) -> Result<(String, String, String), ApiError> {
    let e = app.store.entry(account, entry).await?;
    let a = e
        .fields
        .attachments
        .as_array()
        .and_then(|l| l.get(usize::try_from(index).ok()?))
        .filter(|_| !e.fields.incoming)
        .ok_or_else(ApiError::not_found)?;
    let key = a
        .get("blob_key")
        .and_then(Value::as_str)
        .ok_or_else(ApiError::not_found)?;
    let content_type = a
        .get("content_type")
        .and_then(Value::as_str)
        .unwrap_or("application/octet-stream");
    let name = safe_name(
        a.get("name").and_then(Value::as_str),
        a.get("kind").and_then(Value::as_str).unwrap_or("file"),
        Some(content_type),
        id,
    );
    Ok((key.to_owned(), content_type.to_owned(), name))
}

/// Who may read: an agent of the account, or a valid signature.
async fn reader_account(
    app: &AppState,
    parts: &mut Parts,
    id: i64,
    signed: &Signed,
) -> Result<AccountId, ApiError> {
    if let (Some(account), Some(expires), Some(signature)) =
        (signed.account, signed.expires, signed.signature.as_deref())
    {
        let account = AccountId(account);
        if app
            .media
            .signer
            .verify(account, id, expires, signature, app.clock.now())
        {
            return Ok(account);
        }
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "This attachment link is invalid or has expired.",
            "signature",
            "invalid_signature",
            "open the attachment from a fresh copy of its ticket to get a new link",
        ));
    }
    let caller = Caller::from_request_parts(parts, app).await?;
    Ok(caller.account.id)
}

/// `GET /api/v2/attachments/{id}`: the file, with its type and name.
pub(super) async fn download(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    Query(signed): Query<Signed>,
    mut parts: Parts,
) -> Result<Response, ApiError> {
    let (id, entry, index) = parse_id(&raw)?;
    let account = reader_account(&app, &mut parts, id, &signed).await?;
    let m = match app.store.media_for_attachment(account, entry, index).await {
        Ok(m) => m,
        Err(store::StoreError::NotFound) => {
            // Not inbound media: an agent's file, perhaps.
            let (key, content_type, name) = outbound_file(&app, account, entry, index, id).await?;
            return serve(&app, id, &key, &content_type, &name).await;
        }
        Err(e) => return Err(e.into()),
    };
    let key = match (&m.state, &m.blob_key) {
        (MediaState::Done, Some(key)) => key,
        _ => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "The file has not been downloaded from WhatsApp.",
                "id",
                "media_not_downloaded",
                format!(
                    "the download is {}{}",
                    m.state.as_str(),
                    m.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
            ));
        }
    };
    let content_type = m
        .content_type
        .clone()
        .or_else(|| m.item.mime_type.clone())
        .unwrap_or_else(|| "application/octet-stream".into());
    serve(&app, id, key, &content_type, &safe_filename(&m, id)).await
}

/// The blob under `key` as the response, with its type and file name.
async fn serve(
    app: &AppState,
    id: i64,
    key: &str,
    content_type: &str,
    filename: &str,
) -> Result<Response, ApiError> {
    let key = BlobKey::parse(key).map_err(|e| {
        tracing::error!(attachment = id, error.message = %e, "stored blob key is invalid");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The file cannot be read.",
            "id",
            "internal_error",
            "invalid blob key",
        )
    })?;
    let bytes = match app.media.blobs.get(&key).await {
        Ok(Some(b)) => b,
        Ok(None) => {
            tracing::error!(attachment = id, key = %key, "blob missing from the blob store");
            return Err(ApiError::new(
                StatusCode::GONE,
                "The file is no longer stored.",
                "id",
                "media_missing",
                "retry the download with POST /api/v2/attachments/{id}/retry",
            ));
        }
        Err(e) => {
            tracing::error!(attachment = id, error.message = %e, "reading a blob failed");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The file cannot be read right now.",
                "id",
                "storage_unavailable",
                "try again later",
            ));
        }
    };
    let disposition = format!("attachment; filename=\"{filename}\"");
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(response)
}

/// `POST /api/v2/attachments/{id}/retry`: downloads a failed file again (agents of the account).
pub(super) async fn retry(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (id, entry, index) = parse_id(&raw)?;
    let account = caller.account.id;
    let m = app
        .store
        .media_for_attachment(account, entry, index)
        .await?;
    let m = if m.state == MediaState::Failed {
        app.store
            .retry_media(
                account,
                m.id,
                &json!({"whatsapp_media_status": "pending", "whatsapp_media_error": null}),
                app.clock.now(),
            )
            .await?
    } else {
        m
    };
    tracing::info!(
        attachment = id,
        state = m.state.as_str(),
        "media download retry requested"
    );
    Ok(Json(json!({
        "id": attachment_id(m.item.entry_id, m.item.attachment_index),
        "whatsapp_media_status": m.state.as_str(),
        "whatsapp_media_error": m.error,
        "attempts": m.attempts,
    })))
}
