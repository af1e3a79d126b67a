//! The media half of the port: the queue of inbound media files to download from Meta, one row
//! per attachment of an inbound WhatsApp message, and the blob each download produced.
//!
//! Rows are created in the [`crate::TicketTx`] that adds the message's entry
//! ([`crate::TicketTx::enqueue_media`]), so a message applied once has its downloads queued
//! once. The download job leases rows ([`MediaStore::claim_media`]) the way the inbox leases
//! deliveries, so several workers on one PostgreSQL never download the same file at once, and
//! finishes them with [`MediaStore::finish_media_batch`], which also patches each entry's
//! attachment JSON in the same transaction (one per account and batch).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use ticketing_core::{AccountId, NumberId};
use time::{Duration, OffsetDateTime};

use crate::{EntryId, StoreResult};

/// A media download row's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MediaDownloadId(pub i64);

impl std::fmt::Display for MediaDownloadId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a download stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaState {
    /// Waiting for its `next_attempt_at`.
    Pending,
    /// Leased by a worker.
    Downloading,
    /// Stored in the blob store.
    Done,
    /// Given up (visible to agents; retryable through the API).
    Failed,
}

impl MediaState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaState::Pending => "pending",
            MediaState::Downloading => "downloading",
            MediaState::Done => "done",
            MediaState::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(MediaState::Pending),
            "downloading" => Some(MediaState::Downloading),
            "done" => Some(MediaState::Done),
            "failed" => Some(MediaState::Failed),
            _ => None,
        }
    }
}

/// One inbound media file to download, as the tickets job queues it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMediaDownload {
    /// The entry carrying it.
    pub entry_id: EntryId,
    /// Its position in the entry's `attachments` array.
    pub attachment_index: u32,
    /// The number it came to (whose access token downloads it).
    pub number_id: NumberId,
    /// Meta's media id.
    pub wa_media_id: String,
    /// `image`, `video`, `audio`, `voice`, `document`, `sticker`.
    pub kind: String,
    /// MIME type from the webhook.
    pub mime_type: Option<String>,
    /// sha256 from the webhook (hex or base64, as Meta sent it).
    pub sha256: Option<String>,
    /// File name from the webhook (documents).
    pub filename: Option<String>,
}

/// A stored media download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDownload {
    /// Its id.
    pub id: MediaDownloadId,
    /// Its account.
    pub account_id: AccountId,
    /// What was queued.
    pub item: NewMediaDownload,
    /// Where it stands.
    pub state: MediaState,
    /// Claims so far.
    pub attempts: u32,
    /// Not claimable before this instant.
    pub next_attempt_at: OffsetDateTime,
    /// The last error (kept after a success for the record).
    pub error: Option<String>,
    /// The blob's key once stored.
    pub blob_key: Option<String>,
    /// Size in bytes once stored.
    pub size: Option<u64>,
    /// MIME type Meta reported at download time.
    pub content_type: Option<String>,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// How a leased download ends.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaOutcome {
    /// Stored.
    Done {
        /// The blob's key.
        blob_key: String,
        /// Size in bytes.
        size: u64,
        /// MIME type.
        content_type: String,
    },
    /// Try again at `retry_at` (state back to pending).
    Retry {
        /// Why it failed this time.
        error: String,
        /// When to try again.
        retry_at: OffsetDateTime,
    },
    /// Give up (state failed) until an agent asks for a retry.
    Failed {
        /// Why.
        error: String,
    },
}

/// One leased download's outcome and the patch for its attachment
/// ([`MediaStore::finish_media_batch`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MediaFinish {
    /// The leased row.
    pub id: MediaDownloadId,
    /// How it ended.
    pub outcome: MediaOutcome,
    /// Merged into the entry's attachment (a JSON object; empty changes nothing).
    pub attachment_patch: serde_json::Value,
}

/// The media download queue.
#[async_trait]
pub trait MediaStore: Send + Sync {
    /// Leases up to `limit` downloads that are pending and due, or downloading with an expired
    /// lease, earliest due first (returned by id); each claim increments `attempts` and sets
    /// the state to downloading. Two concurrent callers never receive the same row while its lease holds.
    async fn claim_media(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<MediaDownload>>;

    /// Finishes leased downloads: each row takes its outcome and, in the same transaction, its
    /// `attachment_patch` (a JSON object) is merged into element `attachment_index` of its
    /// entry's `attachments` (and the entry's `updated_at` set to `now`). The downloads of one
    /// account are finished in one transaction, so a burst of files takes the account's ticket
    /// lock once rather than once per file; if one of them cannot be recorded (its entry is
    /// gone or unreadable), the account's others are recorded one by one so the bad one does
    /// not hold them back.
    ///
    /// One result per element of `finishes`, in order: [`crate::StoreError::LeaseLost`] (and
    /// nothing changed) for a download `worker` no longer holds. The outer error is for a
    /// failure that left nothing recorded.
    async fn finish_media_batch(
        &self,
        worker: &str,
        finishes: &[MediaFinish],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<StoreResult<MediaDownload>>>;

    /// Finishes one leased download ([`MediaStore::finish_media_batch`] of one).
    async fn finish_media(
        &self,
        id: MediaDownloadId,
        worker: &str,
        outcome: &MediaOutcome,
        attachment_patch: &serde_json::Value,
        now: OffsetDateTime,
    ) -> StoreResult<MediaDownload> {
        let finish = MediaFinish {
            id,
            outcome: outcome.clone(),
            attachment_patch: attachment_patch.clone(),
        };
        self.finish_media_batch(worker, std::slice::from_ref(&finish), now)
            .await?
            .pop()
            .unwrap_or(Err(crate::StoreError::LeaseLost))
    }

    /// The download of one attachment of an entry of the account
    /// ([`crate::StoreError::NotFound`] for another account's).
    async fn media_for_attachment(
        &self,
        account: AccountId,
        entry: EntryId,
        attachment_index: u32,
    ) -> StoreResult<MediaDownload>;

    /// Puts a failed (or done) download of the account back to pending, due `now`, with its
    /// attempts reset, and merges `attachment_patch` into the entry's attachment, atomically.
    /// A download that is pending or downloading is left as it is.
    async fn retry_media(
        &self,
        account: AccountId,
        id: MediaDownloadId,
        attachment_patch: &serde_json::Value,
        now: OffsetDateTime,
    ) -> StoreResult<MediaDownload>;

    /// The key that signs attachment URLs: `candidate` is stored if none is yet, and the stored
    /// one is returned (the same to every process sharing the database).
    async fn url_signing_key(&self, candidate: &str) -> StoreResult<String>;
}
