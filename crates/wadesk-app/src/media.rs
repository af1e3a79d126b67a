//! Media, both ways: the inbound download job, attachment URLs, and the check of outbound
//! attachments against WhatsApp's types and size limits.
//!
//! **Inbound.** When the tickets job adds an inbound media message to a ticket, it queues one
//! download per attachment in the same transaction ([`enqueue_entry_media`]). The download job
//! ([`run_media`]) leases queued rows, asks Meta for the file's metadata (`GET /{media-id}` with
//! the number's access token), downloads the URL (valid 5 minutes) with the bearer token,
//! checks the file against Meta's sha256 and size, stores it in the [`BlobStore`] under its
//! content address, and records the result on the row and on the entry's attachment, in one
//! transaction (the downloads finished meanwhile share it: one per account and batch, so a
//! burst of files does not queue on the account's ticket lock once per file). An expired URL (404 on the download) is answered by fetching the metadata again
//! once; transient failures (5xx, refused connections, timeouts, Meta's retryable codes) are
//! retried with exponential back-off; a sha256 mismatch is retried a few times; media Meta no
//! longer has (404 with a fresh URL, or an id that does not exist) fail at once. A failed
//! download is shown on the attachment (`whatsapp_media_status: failed`,
//! `whatsapp_media_error`) and retried on `POST /api/v2/attachments/{id}/retry`.
//!
//! **Attachment URLs.** An attachment's `id` is `entry id × 1000 + position`; its
//! `attachment_url` is `GET /api/v2/attachments/{id}` signed for its account with an expiry
//! ([`UrlSigner`]), so a browser can open it without the API key; the same path with the API
//! key (HTTP Basic) works for agents of the owning account.
//!
//! **Outbound.** [`check_outbound`] decides whether a file may be sent, and as what.

use std::{collections::HashMap, sync::Arc, time::Duration as StdDuration};

use bytes::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use store::{
    EntryRow, MediaDownload, MediaFinish, MediaOutcome, NewMediaDownload, Store, StoreError,
    TicketTx, WaNumber,
};
use ticketing_core::AccountId;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use wa_client::graph::{AccessToken, GraphClient, GraphClientError, MediaKind};

use crate::{
    blob::{BlobKey, BlobStore},
    clock::Clock,
};

/// Attachments per entry that the id scheme (`entry × 1000 + position`) can address.
pub const MAX_ATTACHMENTS_PER_ENTRY: u32 = 1000;
/// The longest one Graph request of the media job may take (metadata, or a whole file).
pub const DOWNLOAD_TIMEOUT: StdDuration = StdDuration::from_secs(240);
/// How long a signed attachment URL stays valid.
pub const ATTACHMENT_URL_TTL: time::Duration = time::Duration::hours(1);

// ------------------------------------------------------------------ attachment ids and URLs

/// The Freshdesk attachment id of position `index` of entry `entry`.
pub fn attachment_id(entry: store::EntryId, index: u32) -> i64 {
    entry.0 * i64::from(MAX_ATTACHMENTS_PER_ENTRY) + i64::from(index)
}

/// The entry and position an attachment id names.
pub fn split_attachment_id(id: i64) -> Option<(store::EntryId, u32)> {
    if id <= 0 {
        return None;
    }
    let per = i64::from(MAX_ATTACHMENTS_PER_ENTRY);
    let index = u32::try_from(id % per).ok()?;
    Some((store::EntryId(id / per), index))
}

/// Signs and checks attachment URLs: HMAC-SHA256 over `account:attachment:expires` with a key
/// kept in the database (the same for every process), so a URL works on any server.
#[derive(Clone)]
pub struct UrlSigner {
    key: Arc<[u8]>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner(<redacted>)")
    }
}

impl UrlSigner {
    /// A signer with this key.
    pub fn new(key: &[u8]) -> Self {
        Self {
            key: Arc::from(key),
        }
    }

    /// Loads the database's key, storing a fresh random one first if there is none.
    pub async fn load(store: &dyn Store) -> Result<Self, StoreError> {
        let candidate = crate::new_api_key();
        let key = store.url_signing_key(&candidate).await?;
        Ok(Self::new(key.as_bytes()))
    }

    fn payload(account: AccountId, attachment: i64, expires: i64) -> String {
        format!("attachment:{}:{attachment}:{expires}", account.0)
    }

    /// The signature (hex) of a URL.
    pub fn signature(&self, account: AccountId, attachment: i64, expires: i64) -> String {
        let header = wa_client::signature::sign(
            &self.key,
            Self::payload(account, attachment, expires).as_bytes(),
        );
        header.trim_start_matches("sha256=").to_owned()
    }

    /// Whether `signature` is right and `expires` not past (constant-time comparison).
    pub fn verify(
        &self,
        account: AccountId,
        attachment: i64,
        expires: i64,
        signature: &str,
        now: OffsetDateTime,
    ) -> bool {
        expires >= now.unix_timestamp()
            && wa_client::signature::verify_signature(
                &self.key,
                Self::payload(account, attachment, expires).as_bytes(),
                Some(&format!("sha256={signature}")),
            )
            .is_ok()
    }

    /// `/api/v2/attachments/{id}?account=…&expires=…&signature=…`, valid for
    /// [`ATTACHMENT_URL_TTL`] from `now`, prefixed with `base` (e.g. `https://help.example.com`).
    pub fn url(
        &self,
        base: &str,
        account: AccountId,
        attachment: i64,
        now: OffsetDateTime,
    ) -> String {
        let expires = (now + ATTACHMENT_URL_TTL).unix_timestamp();
        format!(
            "{}/api/v2/attachments/{attachment}?account={}&expires={expires}&signature={}",
            base.trim_end_matches('/'),
            account.0,
            self.signature(account, attachment, expires)
        )
    }
}

/// What the HTTP layer needs for media: the blob store and the URL signer.
#[derive(Debug, Clone)]
pub struct MediaService {
    /// Where files are kept.
    pub blobs: Arc<dyn BlobStore>,
    /// Signs attachment URLs.
    pub signer: UrlSigner,
    /// Prefix of attachment URLs (`WADESK_PUBLIC_URL`; empty: URLs relative to the server).
    pub public_url: String,
}

impl MediaService {
    /// The rendered attachments of an entry: stored metadata with `id`, and, for a downloaded
    /// inbound file, a signed `attachment_url` (`null` while it is pending or failed).
    pub fn render_attachments(&self, e: &EntryRow, now: OffsetDateTime) -> Value {
        let list = e.fields.attachments.as_array().cloned().unwrap_or_default();
        Value::Array(
            list.into_iter()
                .enumerate()
                .map(|(i, mut a)| {
                    let id = attachment_id(e.id, u32::try_from(i).unwrap_or(u32::MAX));
                    if let Some(o) = a.as_object_mut() {
                        o.insert("id".into(), json!(id));
                        // An agent's file: kept in the blob store from the start.
                        if o.remove("blob_key").is_some() {
                            let url = self.signer.url(&self.public_url, e.account_id, id, now);
                            o.insert("attachment_url".into(), json!(url));
                            return a;
                        }
                        match o.get("whatsapp_media_status").and_then(Value::as_str) {
                            Some("done") => {
                                let url = self.signer.url(&self.public_url, e.account_id, id, now);
                                o.insert("attachment_url".into(), json!(url));
                            }
                            // Inbound media not downloaded (yet): nothing to open.
                            Some(_) => {
                                o.insert("attachment_url".into(), Value::Null);
                            }
                            // Not inbound media: whatever its writer stored.
                            None => {
                                o.entry("attachment_url").or_insert(Value::Null);
                            }
                        }
                    }
                    a
                })
                .collect(),
        )
    }
}

// ------------------------------------------------------------------ queueing (tickets job)

/// Queues the download of every inbound media attachment of a freshly inserted entry, in the
/// tickets job's transaction. Called by `tickets::add_entry`.
pub async fn enqueue_entry_media(
    tx: &mut dyn TicketTx,
    row: &EntryRow,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let (Some(number), true) = (row.number_id, row.fields.incoming) else {
        return Ok(0);
    };
    let items: Vec<NewMediaDownload> = row
        .fields
        .attachments
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let media_id = a.get("whatsapp_media_id")?.as_str()?;
            let index = u32::try_from(i)
                .ok()
                .filter(|i| *i < MAX_ATTACHMENTS_PER_ENTRY)?;
            (!media_id.is_empty()).then(|| NewMediaDownload {
                entry_id: row.id,
                attachment_index: index,
                number_id: number,
                wa_media_id: media_id.to_owned(),
                kind: a
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("document")
                    .to_owned(),
                mime_type: a
                    .get("content_type")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                sha256: a.get("sha256").and_then(Value::as_str).map(str::to_owned),
                filename: a.get("name").and_then(Value::as_str).map(str::to_owned),
            })
        })
        .collect();
    if items.is_empty() {
        return Ok(0);
    }
    tx.enqueue_media(&items, now).await
}

// ------------------------------------------------------------------ the download job

/// Settings of the media download job.
#[derive(Debug, Clone)]
pub struct MediaSettings {
    /// This loop's name in leases.
    pub worker_id: String,
    /// How long a claimed download stays leased (longer than a download can take).
    pub lease: time::Duration,
    /// Downloads claimed at once.
    pub batch: u32,
    /// How often to look for work.
    pub poll: StdDuration,
    /// Attempts after which a transient failure becomes final.
    pub max_attempts: u32,
    /// Attempts after which a sha256 mismatch becomes final.
    pub max_checksum_attempts: u32,
}

impl MediaSettings {
    /// Defaults with a worker id unique to this process.
    pub fn new(role: &str) -> Self {
        Self {
            worker_id: format!("{}-media", crate::jobs::InboxSettings::new(role).worker_id),
            // Two requests of at most DOWNLOAD_TIMEOUT each, then the blob write.
            lease: time::Duration::minutes(10),
            batch: 8,
            poll: StdDuration::from_millis(200),
            max_attempts: 10,
            max_checksum_attempts: 3,
        }
    }
}

/// Why one download attempt failed.
#[derive(Debug)]
enum Failure {
    /// Try again later.
    Transient(String),
    /// The file did not match Meta's sha256 or size.
    Checksum(String),
    /// Do not try again until asked.
    Final(String),
}

fn classify(what: &str, e: &GraphClientError) -> Failure {
    let text = format!("{what}: {e}");
    if let Some(g) = e.graph_error()
        && (g.http_status == 404 || (g.code == 100 && g.message.contains("does not exist")))
    {
        return Failure::Final(format!("{what}: Meta does not have this media ({e})"));
    }
    match e {
        GraphClientError::Http { status: 404, .. } => Failure::Final(format!(
            "{what}: Meta answered 404 Not Found even for a fresh URL"
        )),
        GraphClientError::Http {
            status: 401 | 403, ..
        } => Failure::Final(format!(
            "{what}: the number's access token was refused ({e})"
        )),
        // A GET has no effect at Meta: an unknown outcome is as safe to retry as a refusal.
        _ if e.retry().is_retryable() || e.is_outcome_unknown() => Failure::Transient(text),
        _ => Failure::Final(text),
    }
}

/// Whether Meta's sha256 (hex, or base64 in some payloads) is this digest.
pub fn sha256_matches(expected: &str, digest: &[u8; 32]) -> bool {
    use base64::Engine;
    let expected = expected.trim();
    expected.eq_ignore_ascii_case(&hex::encode(digest))
        || expected == base64::engine::general_purpose::STANDARD.encode(digest)
}

/// One download: metadata, file (fresh metadata once if the URL expired), checks, blob.
async fn download_one(
    graph: &GraphClient,
    blobs: &dyn BlobStore,
    token: &AccessToken,
    phone_number_id: &str,
    item: &NewMediaDownload,
) -> Result<(BlobKey, u64, String), Failure> {
    let mut meta = graph
        .media_metadata(token, &item.wa_media_id, Some(phone_number_id))
        .await
        .map_err(|e| classify("GET /{media-id}", &e))?;
    let file = match graph.download_media(token, &meta.url).await {
        Err(GraphClientError::Http { status: 404, .. }) => {
            // The URL's 5 minutes are over (or it was never good): ask for a fresh one.
            tracing::debug!(media = %item.wa_media_id, "download URL expired; fetching a fresh one");
            meta = graph
                .media_metadata(token, &item.wa_media_id, Some(phone_number_id))
                .await
                .map_err(|e| classify("GET /{media-id}", &e))?;
            graph.download_media(token, &meta.url).await
        }
        other => other,
    }
    .map_err(|e| classify("downloading the media URL", &e))?;
    let digest: [u8; 32] = Sha256::digest(&file.bytes).into();
    if !sha256_matches(&meta.sha256, &digest) {
        return Err(Failure::Checksum(format!(
            "sha256 mismatch: Meta reports {}, the {} bytes downloaded hash to {}",
            meta.sha256,
            file.bytes.len(),
            hex::encode(digest)
        )));
    }
    let size = file.bytes.len() as u64;
    if meta.file_size != 0 && meta.file_size != size {
        return Err(Failure::Checksum(format!(
            "size mismatch: Meta reports {} bytes, {size} were downloaded",
            meta.file_size
        )));
    }
    let key = BlobKey::for_sha256(&digest);
    if !blobs
        .exists(&key)
        .await
        .map_err(|e| Failure::Transient(e.to_string()))?
    {
        blobs
            .put(&key, Bytes::clone(&file.bytes))
            .await
            .map_err(|e| Failure::Transient(e.to_string()))?;
    }
    let content_type = if meta.mime_type.is_empty() {
        file.content_type
            .or_else(|| item.mime_type.clone())
            .unwrap_or_else(|| "application/octet-stream".into())
    } else {
        meta.mime_type
    };
    Ok((key, size, content_type))
}

fn backoff(attempts: u32) -> time::Duration {
    time::Duration::seconds((1i64 << attempts.clamp(1, 10)).min(600))
}

/// Works one claimed download to its outcome and the patch for its attachment (recorded by
/// [`Store::finish_media_batch`]). `numbers` are the numbers of the download's account (read
/// once per claimed batch): the one the media came to holds the access token.
pub async fn download(
    clock: &dyn Clock,
    graph: &GraphClient,
    blobs: &dyn BlobStore,
    settings: &MediaSettings,
    numbers: &[WaNumber],
    row: &MediaDownload,
) -> MediaFinish {
    let number = numbers.iter().find(|n| n.id == row.item.number_id);
    let result = match &number {
        None => Err(Failure::Final("the number is no longer connected".into())),
        Some(n) => {
            let token = AccessToken::new(n.access_token.expose());
            download_one(graph, blobs, &token, &n.phone_number_id, &row.item).await
        }
    };
    let now = clock.now();
    let (outcome, patch) = match result {
        Ok((key, size, content_type)) => (
            MediaOutcome::Done {
                blob_key: key.as_str().to_owned(),
                size,
                content_type: content_type.clone(),
            },
            json!({
                "whatsapp_media_status": "done",
                "whatsapp_media_error": null,
                "size": size,
                "content_type": content_type,
            }),
        ),
        Err(failure) => {
            let (error, give_up) = match failure {
                Failure::Final(e) => (e, true),
                Failure::Checksum(e) => (e, row.attempts >= settings.max_checksum_attempts),
                Failure::Transient(e) => (e, row.attempts >= settings.max_attempts),
            };
            if give_up {
                metrics::counter!("wadesk_media_downloads_total", "outcome" => "failed")
                    .increment(1);
                tracing::warn!(download = %row.id, media = %row.item.wa_media_id, attempts = row.attempts, error.message = %error, "media download failed");
                (
                    MediaOutcome::Failed {
                        error: error.clone(),
                    },
                    json!({"whatsapp_media_status": "failed", "whatsapp_media_error": error}),
                )
            } else {
                metrics::counter!("wadesk_media_downloads_total", "outcome" => "retry")
                    .increment(1);
                tracing::info!(download = %row.id, media = %row.item.wa_media_id, attempts = row.attempts, error.message = %error, "media download will be retried");
                (
                    MediaOutcome::Retry {
                        error: error.clone(),
                        retry_at: now + backoff(row.attempts),
                    },
                    json!({"whatsapp_media_status": "pending", "whatsapp_media_error": error}),
                )
            }
        }
    };
    if matches!(outcome, MediaOutcome::Done { .. }) {
        metrics::counter!("wadesk_media_downloads_total", "outcome" => "done").increment(1);
    }
    MediaFinish {
        id: row.id,
        outcome,
        attachment_patch: patch,
    }
}

/// Records finished downloads as they come from `finished`: whatever has arrived by the time
/// the previous batch is recorded goes in the next one (no linger), so a burst of files takes
/// each account's ticket lock once per batch, while a slow file does not hold back the others.
async fn record_downloads(
    store: &dyn Store,
    clock: &dyn Clock,
    worker: &str,
    mut finished: tokio::sync::mpsc::UnboundedReceiver<MediaFinish>,
) {
    while let Some(first) = finished.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = finished.try_recv() {
            batch.push(more);
        }
        match store.finish_media_batch(worker, &batch, clock.now()).await {
            Ok(results) => {
                for (f, r) in batch.iter().zip(results) {
                    match r {
                        Ok(_) => {}
                        Err(StoreError::LeaseLost) => {
                            tracing::warn!(download = %f.id, "lease lost while downloading; another worker has it");
                        }
                        Err(e) => {
                            tracing::warn!(download = %f.id, error.message = %e, "recording a media download failed; its lease will expire");
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(downloads = batch.len(), error.message = %e, "recording media downloads failed; their leases will expire");
            }
        }
    }
}

/// Runs the media download job until `shutdown` is cancelled.
pub async fn run_media(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    graph: GraphClient,
    blobs: Arc<dyn BlobStore>,
    settings: MediaSettings,
    shutdown: CancellationToken,
) {
    tracing::info!(worker = %settings.worker_id, "media loop started");
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        let claimed = store
            .claim_media(
                &settings.worker_id,
                clock.now(),
                settings.lease,
                settings.batch,
            )
            .await;
        let wait = match claimed {
            Ok(rows) if rows.is_empty() => settings.poll,
            Ok(rows) => {
                failures = 0;
                // Each account's numbers (they hold the access tokens), read once per batch;
                // an account whose numbers cannot be read leaves its downloads to their leases.
                let mut numbers: HashMap<AccountId, Option<Vec<WaNumber>>> = HashMap::new();
                for row in &rows {
                    if numbers.contains_key(&row.account_id) {
                        continue;
                    }
                    let list = store.list_numbers(row.account_id).await;
                    if let Err(e) = &list {
                        tracing::warn!(account = %row.account_id, error.message = %e, "reading the numbers for media downloads failed; their leases will expire");
                    }
                    numbers.insert(row.account_id, list.ok());
                }
                let (tx, finished) = tokio::sync::mpsc::unbounded_channel();
                let work = rows.iter().filter_map(|row| {
                    let numbers = numbers.get(&row.account_id)?.as_deref()?;
                    let tx = tx.clone();
                    let (clock, graph, blobs, settings) =
                        (clock.as_ref(), &graph, blobs.as_ref(), &settings);
                    Some(async move {
                        let f = download(clock, graph, blobs, settings, numbers, row).await;
                        // The receiver lives until every sender is dropped.
                        let _ = tx.send(f);
                    })
                });
                let downloads = futures::future::join_all(work);
                drop(tx);
                tokio::join!(
                    downloads,
                    record_downloads(
                        store.as_ref(),
                        clock.as_ref(),
                        &settings.worker_id,
                        finished
                    )
                );
                continue;
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(error.message = %e, "claiming media downloads failed");
                StdDuration::from_millis(200 * u64::from(failures.min(25)))
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    tracing::info!(worker = %settings.worker_id, "media loop stopped");
}

// ------------------------------------------------------------------ outbound attachments

const KB: u64 = 1024;
const MB: u64 = 1024 * 1024;

/// Why a file cannot be sent on WhatsApp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentError {
    /// WhatsApp does not accept this MIME type.
    #[error(
        "WhatsApp does not accept files of type {mime_type}; accepted: images (image/jpeg, image/png), \
         video (video/mp4, video/3gpp), audio (audio/aac, audio/amr, audio/mpeg, audio/mp4, audio/ogg with the opus \
         codec), stickers (image/webp) and documents (text/plain, PDF, Word, Excel, PowerPoint)"
    )]
    UnsupportedType {
        /// The type given.
        mime_type: String,
    },
    /// Too big for its kind.
    #[error(
        "the file is {size} bytes; WhatsApp accepts {kind} files of at most {limit_text} ({limit} bytes)"
    )]
    TooLarge {
        /// The kind it would be sent as.
        kind: &'static str,
        /// Its size.
        size: u64,
        /// The limit in bytes.
        limit: u64,
        /// The limit as WhatsApp states it (e.g. `5 MB`).
        limit_text: &'static str,
    },
    /// An empty file.
    #[error("the file is empty")]
    Empty,
}

/// What an outbound file will be sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundMedia {
    /// The message type.
    pub kind: MediaKind,
    /// Its size limit in bytes.
    pub limit: u64,
}

/// Checks a file an agent wants to send against WhatsApp's types and size limits
/// (`../shared/reference/whatsapp-cloud-api.md` section 6; MB as 1024 × 1024 bytes):
/// images `image/jpeg`, `image/png` up to 5 MB; video `video/mp4`, `video/3gpp` up to 16 MB;
/// audio `audio/aac`, `audio/amr`, `audio/mpeg`, `audio/mp4`, `audio/ogg` (opus only) up to
/// 16 MB; stickers `image/webp` up to 100 KB static or 500 KB animated; documents (plain text,
/// PDF, Word, Excel, PowerPoint) up to 100 MB. `mime_type` may carry parameters
/// (`audio/ogg; codecs=opus`); `animated` only matters for stickers.
pub fn check_outbound(
    mime_type: &str,
    size: u64,
    animated: bool,
) -> Result<OutboundMedia, AttachmentError> {
    let lower = mime_type.trim().to_ascii_lowercase();
    let mut parts = lower.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default();
    let params: Vec<&str> = parts.collect();
    let unsupported = || AttachmentError::UnsupportedType {
        mime_type: mime_type.trim().to_owned(),
    };
    let (kind, limit, limit_text) = match essence {
        "image/jpeg" | "image/png" => (MediaKind::Image, 5 * MB, "5 MB"),
        "video/mp4" | "video/3gpp" => (MediaKind::Video, 16 * MB, "16 MB"),
        "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" => {
            (MediaKind::Audio, 16 * MB, "16 MB")
        }
        // Base audio/ogg is not supported: only the opus codec.
        "audio/ogg" if params.iter().any(|p| p.replace(' ', "") == "codecs=opus") => {
            (MediaKind::Audio, 16 * MB, "16 MB")
        }
        "image/webp" if animated => (MediaKind::Sticker, 500 * KB, "500 KB (animated sticker)"),
        "image/webp" => (MediaKind::Sticker, 100 * KB, "100 KB (static sticker)"),
        "text/plain"
        | "application/pdf"
        | "application/msword"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.ms-excel"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.ms-powerpoint"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation" => {
            (MediaKind::Document, 100 * MB, "100 MB")
        }
        _ => return Err(unsupported()),
    };
    if size == 0 {
        return Err(AttachmentError::Empty);
    }
    if size > limit {
        return Err(AttachmentError::TooLarge {
            kind: kind.as_str(),
            size,
            limit,
            limit_text,
        });
    }
    Ok(OutboundMedia { kind, limit })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbound_limits_per_kind() {
        let ok = |m: &str, s: u64, a: bool| check_outbound(m, s, a).map(|o| o.kind);
        assert_eq!(ok("image/jpeg", 5 * MB, false), Ok(MediaKind::Image));
        assert_eq!(ok("IMAGE/PNG", 1, false), Ok(MediaKind::Image));
        assert!(matches!(
            check_outbound("image/jpeg", 5 * MB + 1, false),
            Err(AttachmentError::TooLarge { limit, .. }) if limit == 5 * MB
        ));
        assert_eq!(ok("video/mp4", 16 * MB, false), Ok(MediaKind::Video));
        assert_eq!(ok("video/3gpp", 1, false), Ok(MediaKind::Video));
        assert!(check_outbound("video/mp4", 16 * MB + 1, false).is_err());
        for a in [
            "audio/aac",
            "audio/amr",
            "audio/mpeg",
            "audio/mp4",
            "audio/ogg; codecs=opus",
        ] {
            assert_eq!(ok(a, 16 * MB, false), Ok(MediaKind::Audio), "{a}");
            assert!(check_outbound(a, 16 * MB + 1, false).is_err(), "{a}");
        }
        assert!(matches!(
            check_outbound("audio/ogg", 10, false),
            Err(AttachmentError::UnsupportedType { .. })
        ));
        assert_eq!(ok("image/webp", 100 * KB, false), Ok(MediaKind::Sticker));
        assert!(check_outbound("image/webp", 100 * KB + 1, false).is_err());
        assert_eq!(ok("image/webp", 500 * KB, true), Ok(MediaKind::Sticker));
        assert!(check_outbound("image/webp", 500 * KB + 1, true).is_err());
        assert_eq!(
            ok("application/pdf", 100 * MB, false),
            Ok(MediaKind::Document)
        );
        assert!(check_outbound("application/pdf", 100 * MB + 1, false).is_err());
        for bad in [
            "image/gif",
            "application/zip",
            "text/html",
            "",
            "video/quicktime",
        ] {
            assert!(
                matches!(
                    check_outbound(bad, 10, false),
                    Err(AttachmentError::UnsupportedType { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            check_outbound("text/plain", 0, false),
            Err(AttachmentError::Empty)
        );
    }

    #[test]
    fn errors_name_the_limit() {
        let e = check_outbound("image/png", 6 * MB, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("5 MB") && e.contains("image"), "{e}");
        let e = check_outbound("image/webp", 200 * KB, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("100 KB"), "{e}");
        let e = check_outbound("application/x-msdownload", 1, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("application/x-msdownload"), "{e}");
    }

    #[test]
    fn attachment_ids_round_trip() {
        let id = attachment_id(store::EntryId(42), 3);
        assert_eq!(id, 42_003);
        assert_eq!(split_attachment_id(id), Some((store::EntryId(42), 3)));
        assert_eq!(split_attachment_id(0), None);
        assert_eq!(split_attachment_id(-5), None);
    }

    #[test]
    fn signed_urls_verify_and_expire() {
        let s = UrlSigner::new(b"k");
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let sig = s.signature(AccountId(1), 42_000, now.unix_timestamp() + 10);
        assert!(s.verify(AccountId(1), 42_000, now.unix_timestamp() + 10, &sig, now));
        assert!(!s.verify(AccountId(2), 42_000, now.unix_timestamp() + 10, &sig, now));
        assert!(!s.verify(AccountId(1), 42_001, now.unix_timestamp() + 10, &sig, now));
        assert!(!s.verify(AccountId(1), 42_000, now.unix_timestamp() + 11, &sig, now));
        assert!(!s.verify(
            AccountId(1),
            42_000,
            now.unix_timestamp() + 10,
            &sig,
            now + time::Duration::seconds(11)
        ));
        assert!(!UrlSigner::new(b"other").verify(
            AccountId(1),
            42_000,
            now.unix_timestamp() + 10,
            &sig,
            now
        ));
        let url = s.url("http://h", AccountId(1), 42_000, now);
        assert!(
            url.starts_with("http://h/api/v2/attachments/42000?account=1&expires="),
            "{url}"
        );
    }

    #[test]
    fn failures_are_classified_by_meta_code_and_status() {
        let api = |status: u16, code: i64, message: &str| {
            GraphClientError::Api(Box::new(
                wa_client::graph::GraphError::from_json(
                    status,
                    &json!({"error": {"message": message, "type": "OAuthException", "code": code}}),
                )
                .unwrap(),
            ))
        };
        let is = |f: Failure| match f {
            Failure::Transient(_) => "transient",
            Failure::Checksum(_) => "checksum",
            Failure::Final(_) => "final",
        };
        let http = |status: u16| GraphClientError::Http {
            status,
            body: String::new(),
        };
        assert_eq!(is(classify("x", &http(500))), "transient");
        assert_eq!(is(classify("x", &http(503))), "transient");
        assert_eq!(is(classify("x", &http(404))), "final");
        assert_eq!(is(classify("x", &http(401))), "final");
        assert_eq!(
            is(classify("x", &api(400, 130429, "(#130429) Rate limit hit"))),
            "transient"
        );
        assert_eq!(
            is(classify(
                "x",
                &api(500, 2, "Service temporarily unavailable")
            )),
            "transient"
        );
        assert_eq!(
            is(classify(
                "x",
                &api(
                    400,
                    100,
                    "Unsupported get request. Object with ID '1' does not exist"
                )
            )),
            "final"
        );
        assert_eq!(
            is(classify("x", &api(401, 190, "Invalid OAuth access token"))),
            "final"
        );
        assert!(matches!(
            classify("x", &http(404)),
            Failure::Final(e) if e.contains("404")
        ));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), time::Duration::seconds(2));
        assert_eq!(backoff(2), time::Duration::seconds(4));
        assert_eq!(backoff(9), time::Duration::seconds(512));
        assert_eq!(backoff(10), time::Duration::seconds(600));
        assert_eq!(backoff(40), time::Duration::seconds(600));
    }

    #[test]
    fn sha256_hex_or_base64() {
        let d: [u8; 32] = Sha256::digest(b"abc").into();
        assert!(sha256_matches(&hex::encode(d), &d));
        assert!(sha256_matches(&hex::encode(d).to_uppercase(), &d));
        use base64::Engine;
        assert!(sha256_matches(
            &base64::engine::general_purpose::STANDARD.encode(d),
            &d
        ));
        assert!(!sha256_matches("00", &d));
    }
}
