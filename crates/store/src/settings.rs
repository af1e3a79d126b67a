//! Settings documents: an account's SLA policies, business-hours calendars, automation rules and
//! automation settings, kept as the JSON the domain crates (`sla-engine`, `rules-engine`) validate
//! and read back.
//!
//! The store does not interpret a document: it keeps it by `kind` (e.g. `sla_policy`,
//! `business_hours`, `automation_rule:1`), orders it by `position` then id, and guarantees at
//! most one document per (account, kind, `unique_key`) when a key is given, so "create the
//! default policy if there is none" is safe when several processes race.

use async_trait::async_trait;
use ticketing_core::AccountId;
use time::OffsetDateTime;

use crate::StoreResult;

/// A stored settings document.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsDoc {
    /// Its id (unique across kinds and accounts).
    pub id: i64,
    /// Its account.
    pub account_id: AccountId,
    /// What it is, e.g. `sla_policy`.
    pub kind: String,
    /// Order among the account's documents of this kind (ties broken by id).
    pub position: i64,
    /// A key unique within (account, kind), when the document is a singleton or a default.
    pub unique_key: Option<String>,
    /// The document.
    pub body: serde_json::Value,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// A document to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSettingsDoc {
    /// What it is.
    pub kind: String,
    /// Its position; `None` puts it after every document of its kind.
    pub position: Option<i64>,
    /// A key unique within (account, kind).
    pub unique_key: Option<String>,
    /// The document.
    pub body: serde_json::Value,
}

/// Settings documents, scoped by account.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// Inserts a document. Fails with [`crate::StoreError::Conflict`] when `unique_key` is
    /// already taken in (account, kind), and changes nothing then.
    async fn insert_settings(
        &self,
        account: AccountId,
        doc: &NewSettingsDoc,
        now: OffsetDateTime,
    ) -> StoreResult<SettingsDoc>;

    /// Replaces a document's body and, when given, its position. [`crate::StoreError::NotFound`]
    /// when the account has no such document of this kind.
    async fn update_settings(
        &self,
        account: AccountId,
        kind: &str,
        id: i64,
        position: Option<i64>,
        body: &serde_json::Value,
        now: OffsetDateTime,
    ) -> StoreResult<SettingsDoc>;

    /// One document. [`crate::StoreError::NotFound`] when the account has no such document of
    /// this kind.
    async fn get_settings(
        &self,
        account: AccountId,
        kind: &str,
        id: i64,
    ) -> StoreResult<SettingsDoc>;

    /// The document holding `unique_key`, if any.
    async fn find_settings_by_key(
        &self,
        account: AccountId,
        kind: &str,
        unique_key: &str,
    ) -> StoreResult<Option<SettingsDoc>>;

    /// The account's documents of a kind, by position then id.
    async fn list_settings(&self, account: AccountId, kind: &str) -> StoreResult<Vec<SettingsDoc>>;

    /// Deletes a document. [`crate::StoreError::NotFound`] when there is none.
    async fn delete_settings(&self, account: AccountId, kind: &str, id: i64) -> StoreResult<()>;
}
