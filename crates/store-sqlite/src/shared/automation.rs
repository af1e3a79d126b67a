// Shared by `store-sqlite` and `store-postgres`: each adapter's `src/automation.rs` names its
// database (`Db`, `DbRow`) and `AdapterStore` (with `read_pool` and `write_pool`), then includes
// this file.
use async_trait::async_trait;
use sqlx::{QueryBuilder, Row};
use store::{AutomationStore, StoreError, StoreResult, TicketRow};
use ticketing_core::TicketId;
use time::OffsetDateTime;

use crate::convert::{db_err, millis};

#[async_trait]
impl AutomationStore for AdapterStore {
    async fn claim_job_slot(
        &self,
        job: &str,
        slot: i64,
        holder: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> StoreResult<Option<i64>> {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO job_slots (job, slot, holder, lease_until, cursor) VALUES (",
        );
        let mut sep = qb.separated(", ");
        sep.push_bind(job.to_owned())
            .push_bind(slot)
            .push_bind(holder.to_owned())
            .push_bind(millis(lease_until))
            .push_bind(0_i64);
        qb.push(
            ") ON CONFLICT (job, slot) DO UPDATE SET holder = excluded.holder, \
             lease_until = excluded.lease_until WHERE job_slots.finished_at IS NULL \
             AND (job_slots.holder = excluded.holder OR job_slots.lease_until <= ",
        )
        .push_bind(millis(now))
        .push(") RETURNING cursor");
        let row = qb
            .build()
            .fetch_optional(self.write_pool())
            .await
            .map_err(db_err)?;
        row.map(|r: DbRow| {
            r.try_get::<i64, _>("cursor")
                .map_err(|e| StoreError::Corrupt(format!("column cursor: {e}")))
        })
        .transpose()
    }

    async fn advance_job_slot(
        &self,
        job: &str,
        slot: i64,
        holder: &str,
        cursor: i64,
        lease_until: OffsetDateTime,
    ) -> StoreResult<bool> {
        let mut qb = QueryBuilder::<Db>::new("UPDATE job_slots SET cursor = ");
        qb.push_bind(cursor)
            .push(", lease_until = ")
            .push_bind(millis(lease_until))
            .push(" WHERE job = ")
            .push_bind(job.to_owned())
            .push(" AND slot = ")
            .push_bind(slot)
            .push(" AND holder = ")
            .push_bind(holder.to_owned())
            .push(" AND finished_at IS NULL");
        let done = qb
            .build()
            .execute(self.write_pool())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_job_slot(
        &self,
        job: &str,
        slot: i64,
        holder: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let mut qb = QueryBuilder::<Db>::new("UPDATE job_slots SET finished_at = ");
        qb.push_bind(millis(now))
            .push(" WHERE job = ")
            .push_bind(job.to_owned())
            .push(" AND slot = ")
            .push_bind(slot)
            .push(" AND holder = ")
            .push_bind(holder.to_owned())
            .push(" AND finished_at IS NULL");
        let done = qb
            .build()
            .execute(self.write_pool())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn sweep_tickets(&self, after: TicketId, limit: u32) -> StoreResult<Vec<TicketRow>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {} FROM tickets WHERE id > ",
            crate::tickets::TICKET_COLUMNS
        ));
        qb.push_bind(after.0)
            .push(" AND deleted = ")
            .push_bind(false)
            .push(" AND spam = ")
            .push_bind(false)
            .push(" AND status <> 5 ORDER BY id LIMIT ")
            .push_bind(i64::from(limit));
        let rows = qb
            .build()
            .fetch_all(self.read_pool())
            .await
            .map_err(db_err)?;
        rows.iter().map(crate::tickets::ticket).collect()
    }
}
