//! What automation needs outside a ticket transaction: once-per-slot job runs shared by every
//! process on the database (the hourly time-trigger sweep), and the tickets such a sweep visits.

use async_trait::async_trait;
use ticketing_core::TicketId;
use time::OffsetDateTime;

use crate::{StoreResult, TicketRow};

/// Jobs that must run once per slot (an hour, say) across all servers and workers.
///
/// A slot is claimed with a lease; the holder advances a cursor as it works and finishes the
/// slot. A holder that dies leaves an expired lease: the next claimant takes over from the cursor.
/// A finished slot is never claimed again.
#[async_trait]
pub trait AutomationStore: Send + Sync {
    /// Claims `job`'s `slot` for `holder` until `lease_until`: when the slot is new, when its
    /// lease expired (at `now`) unfinished, or when `holder` already holds it. Returns the cursor
    /// to resume from, or `None` when another holder has it or it is finished.
    async fn claim_job_slot(
        &self,
        job: &str,
        slot: i64,
        holder: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> StoreResult<Option<i64>>;

    /// Stores `holder`'s progress on the slot and extends its lease. `false` when the holder no
    /// longer holds it (its lease expired and another process took the slot over).
    async fn advance_job_slot(
        &self,
        job: &str,
        slot: i64,
        holder: &str,
        cursor: i64,
        lease_until: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// Marks the slot done. `false` when the holder no longer holds it.
    async fn finish_job_slot(
        &self,
        job: &str,
        slot: i64,
        holder: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// Tickets of every account a time sweep visits (not Closed, not deleted, not spam), with ids
    /// greater than `after`, in id order, at most `limit`.
    async fn sweep_tickets(&self, after: TicketId, limit: u32) -> StoreResult<Vec<TicketRow>>;
}
