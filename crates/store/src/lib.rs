//! The storage port: the one trait every database adapter implements, the rows it speaks in,
//! and its error type.
//!
//! This crate knows no SQL and no database driver. `store-sqlite` and `store-postgres` implement
//! [`Store`]; `store-tests` is the conformance suite both must pass, so the two behave alike.
//!
//! Instants cross this boundary as [`time::OffsetDateTime`]; adapters store them as Unix
//! milliseconds (UTC), which is portable, indexable and identical in both databases.

mod automation;
mod billing;
mod directory;
mod error;
mod media;
mod outbox;
mod secret_box;
mod settings;
mod sla;
mod tickets;
mod types;
mod webhooks;

pub use automation::*;
pub use billing::*;
pub use directory::*;
pub use error::{StoreError, StoreResult};
pub use media::*;
pub use outbox::*;
pub use secret_box::{SecretCipher, SecretKey, open_number, open_opt, seal_opt};
pub use settings::*;
pub use sla::*;
pub use tickets::*;
pub use types::*;
pub use webhooks::*;

use async_trait::async_trait;
use ticketing_core::{AccountId, Plan};
use time::{Duration, OffsetDateTime};

/// Everything wadesk persists. Implementations must be safe to share between tasks and, for
/// PostgreSQL, between processes: every method is atomic on its own.
#[async_trait]
pub trait Store:
    TicketStore
    + AutomationStore
    + MediaStore
    + SettingsStore
    + SlaStore
    + BillingStore
    + OutboxStore
    + TemplateStore
    + DirectoryStore
    + WebhookStore
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
{
    /// Whether this store's connections work from any tokio runtime of the process. SQLite's
    /// do (each connection is a thread of its own, reached through channels); PostgreSQL's do
    /// not (sockets registered with the I/O driver of the runtime that opened them, failing
    /// once it stops). Only such a store lets the application hand its own connections to
    /// the background jobs on a runtime of their own (`WADESK_JOBS_CPU`); another one must
    /// [`Store::reconnect`] there. `false` unless an adapter says otherwise.
    fn runtime_independent(&self) -> bool {
        false
    }

    /// A store on the same database whose connections belong to the tokio runtime that polls
    /// this future, so that the background jobs can run on a runtime of their own
    /// (`WADESK_JOBS_NICE`) with connections of their own. `None` (the default) where the
    /// store cannot open one, or need not because it is [`Store::runtime_independent`].
    async fn reconnect(&self) -> StoreResult<Option<std::sync::Arc<dyn Store>>> {
        Ok(None)
    }

    /// How many ticket transactions of one account the tickets job may run at once, each on
    /// its own customers ([`OutboxStore::begin_outbound_for`]). 1 (the default) where writes
    /// are serialised anyway (SQLite's one writer); PostgreSQL applies four batches at a time,
    /// so some batches' statements run while the job prepares the others'.
    fn ticket_lanes(&self) -> usize {
        1
    }

    /// How many inbox loops a process runs ([`Store::claim_deliveries`] leases are exclusive,
    /// so loops never share a delivery). 1 by default; PostgreSQL runs two, so one loop claims
    /// and parses while the other's events are recorded.
    fn inbox_loops(&self) -> usize {
        1
    }

    // ---------------------------------------------------------------- webhook inbox

    /// Stores a batch of raw webhook bodies durably, in one transaction (one commit, one flush),
    /// and returns their ids in the order given. When this returns `Ok`, every body in the batch
    /// survives a crash; when it returns `Err`, none of them was stored.
    async fn insert_deliveries(&self, batch: &[NewDelivery]) -> StoreResult<Vec<DeliveryId>>;

    /// Leases up to `limit` deliveries that are pending and due (`next_attempt_at <= now`), or
    /// whose previous lease has expired, oldest first. Each claim increments `attempts`.
    /// Two concurrent callers never receive the same delivery while its lease holds.
    async fn claim_deliveries(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>>;

    /// Finishes a leased delivery atomically: records `events` (each at most once across the
    /// whole database, by [`NewEvent::key`]; keys already present are skipped) and sets the
    /// delivery's outcome. Fails with [`StoreError::LeaseLost`] and changes nothing when
    /// `worker` no longer holds the lease.
    async fn complete_delivery(
        &self,
        id: DeliveryId,
        worker: &str,
        completion: &DeliveryCompletion,
        now: OffsetDateTime,
    ) -> StoreResult<CompletionReport>;

    /// Finishes several leased deliveries in ONE transaction (one commit, one flush), as
    /// [`Store::complete_delivery`] does for one. The answer has one entry per item, in order:
    /// an item whose lease was lost is `Err(StoreError::LeaseLost)` and changes nothing, the
    /// others are recorded. `Err` for the whole call means nothing was recorded (the caller
    /// may fall back to completing them one by one, so one bad item blocks none).
    async fn complete_deliveries(
        &self,
        worker: &str,
        items: &[(DeliveryId, DeliveryCompletion)],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<StoreResult<CompletionReport>>> {
        let mut out = Vec::with_capacity(items.len());
        for (id, completion) in items {
            match self.complete_delivery(*id, worker, completion, now).await {
                Err(StoreError::LeaseLost) => out.push(Err(StoreError::LeaseLost)),
                Err(e) => return Err(e),
                Ok(r) => out.push(Ok(r)),
            }
        }
        Ok(out)
    }

    /// Gives a leased delivery back after a transient failure: it stays pending, keeps `error`
    /// for admins, and becomes claimable again at `retry_at`.
    async fn release_delivery(
        &self,
        id: DeliveryId,
        worker: &str,
        error: &str,
        retry_at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// One delivery with its body.
    async fn get_delivery(&self, id: DeliveryId) -> StoreResult<Delivery>;

    /// Deliveries without their bodies, newest first.
    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        page: Page,
    ) -> StoreResult<Vec<DeliverySummary>>;

    /// Puts a finished delivery (quarantined, unrouted or processed) back to pending so the job
    /// loop processes it again. Events it already recorded are not doubled. Fails with
    /// [`StoreError::Conflict`] when it is pending already or its body was pruned.
    async fn requeue_delivery(&self, id: DeliveryId, now: OffsetDateTime) -> StoreResult<()>;

    /// Retention of raw bodies: walks deliveries in id order from where the last call stopped
    /// (a cursor kept in the database, shared by every process), at most `limit` of them (at
    /// least one), and empties the body of each processed one (`pruned` from then on; its
    /// size, events and the tickets made of them stay). The walk stops before the first delivery received at or
    /// after `before`, and before one still pending (it may yet be processed), so no delivery
    /// it should prune is passed over. Quarantined and unrouted deliveries it passes keep
    /// their bodies: they wait for an admin. Calls in several processes at once are
    /// serialised; a second call over the same deliveries prunes nothing.
    async fn prune_delivery_bodies(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<PruneReport>;

    /// Counts for health and metrics.
    async fn inbox_stats(&self) -> StoreResult<InboxStats>;

    /// Recorded events with `id > after`, in id order.
    async fn list_events(&self, after: Option<EventId>, limit: u32) -> StoreResult<Vec<Event>>;

    // ---------------------------------------------------------------- accounts and agents

    /// Creates an account with a first admin agent, atomically.
    async fn create_account(
        &self,
        name: &str,
        plan: Plan,
        admin: &NewAgent,
        now: OffsetDateTime,
    ) -> StoreResult<(Account, Agent)>;

    /// When no agent exists at all, creates an account on plan `growth` with `admin` as its
    /// admin and returns it; otherwise returns `None` and changes nothing. Safe when several
    /// processes start at once: exactly one of them creates the account.
    async fn bootstrap_account(
        &self,
        name: &str,
        admin: &NewAgent,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Account, Agent)>>;

    /// One account.
    async fn get_account(&self, id: AccountId) -> StoreResult<Account>;

    /// Changes an account's plan; data is kept whatever the plan.
    async fn set_account_plan(
        &self,
        id: AccountId,
        plan: Plan,
        now: OffsetDateTime,
    ) -> StoreResult<Account>;

    /// The agent whose API key hashes to `api_key_hash`, if any.
    async fn find_agent_by_api_key_hash(&self, api_key_hash: &str) -> StoreResult<Option<Agent>>;

    // ---------------------------------------------------------------- WhatsApp numbers

    /// Connects a number to an account. Fails with [`StoreError::Conflict`] when the
    /// `phone_number_id` is already connected (to any account) and with
    /// [`StoreError::LimitReached`] when the account already holds `max_per_account` numbers;
    /// the check and the insert are one atomic step.
    async fn connect_number(
        &self,
        number: &NewNumber,
        max_per_account: u32,
        now: OffsetDateTime,
    ) -> StoreResult<WaNumber>;

    /// The numbers of one account, in id order.
    async fn list_numbers(&self, account: AccountId) -> StoreResult<Vec<WaNumber>>;

    /// The connected number with Meta's `phone_number_id`, whatever its account.
    async fn find_number_by_phone_number_id(
        &self,
        phone_number_id: &str,
    ) -> StoreResult<Option<WaNumber>>;
}
