// Shared by `store-sqlite` and `store-postgres`: each adapter's `src/sla.rs` names its database
// (`Db`, `DbRow`) and `AdapterStore` (with `read_pool` and `write_pool`), then includes this file.
use async_trait::async_trait;
use sqlx::{QueryBuilder, Row};
use store::{
    NewNotification, NotificationRow, Page, SlaDue, SlaStore, StoreError, StoreResult, TicketSla,
};
use ticketing_core::{AccountId, TicketId};
use time::OffsetDateTime;

use crate::convert::{db_err, instant, millis};

const SLA_COLUMNS: &str = "ticket_id, policy_id, history, fr_due_by, nr_due_by, due_by, \
     fr_escalated, nr_escalated, is_escalated, next_event_at, checked_until";

fn col<'r, T>(row: &'r DbRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

fn opt_instant(ms: Option<i64>) -> StoreResult<Option<OffsetDateTime>> {
    ms.map(instant).transpose()
}

fn json_text(v: &serde_json::Value) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("serialising JSON: {e}")))
}

fn json_of(row: &DbRow, name: &str) -> StoreResult<serde_json::Value> {
    let raw: String = col(row, name)?;
    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

fn sla(row: &DbRow) -> StoreResult<TicketSla> {
    Ok(TicketSla {
        ticket_id: TicketId(col(row, "ticket_id")?),
        policy_id: col(row, "policy_id")?,
        history: json_of(row, "history")?,
        fr_due_by: opt_instant(col(row, "fr_due_by")?)?,
        nr_due_by: opt_instant(col(row, "nr_due_by")?)?,
        due_by: opt_instant(col(row, "due_by")?)?,
        fr_escalated: col(row, "fr_escalated")?,
        nr_escalated: col(row, "nr_escalated")?,
        is_escalated: col(row, "is_escalated")?,
        next_event_at: opt_instant(col(row, "next_event_at")?)?,
        checked_until: instant(col(row, "checked_until")?)?,
    })
}

/// Inserts or replaces a ticket's SLA state. On replace, `checked_until` never moves back and the
/// escalation flags stay set once set (the timer job owns them).
pub(crate) async fn put_sla<'c, E>(
    executor: E,
    account: AccountId,
    s: &TicketSla,
) -> StoreResult<()>
where
    E: sqlx::Executor<'c, Database = Db>,
{
    put_slas(executor, account, std::slice::from_ref(s)).await
}

/// Writes several tickets' SLA states in one statement. Each ticket at most once (a database
/// cannot update one row twice in one statement): see [`merge_sla`].
pub(crate) async fn put_slas<'c, E>(
    executor: E,
    account: AccountId,
    list: &[TicketSla],
) -> StoreResult<()>
where
    E: sqlx::Executor<'c, Database = Db>,
{
    if list.is_empty() {
        return Ok(());
    }
    let mut qb = QueryBuilder::<Db>::new(format!(
        "INSERT INTO ticket_sla (account_id, {SLA_COLUMNS}) "
    ));
    let mut failed = None;
    qb.push_values(list, |mut b, s| {
        let history = json_text(&s.history).unwrap_or_else(|e| {
            failed = Some(e);
            String::new()
        });
        b.push_bind(account.0)
            .push_bind(s.ticket_id.0)
            .push_bind(s.policy_id)
            .push_bind(history)
            .push_bind(s.fr_due_by.map(millis))
            .push_bind(s.nr_due_by.map(millis))
            .push_bind(s.due_by.map(millis))
            .push_bind(s.fr_escalated)
            .push_bind(s.nr_escalated)
            .push_bind(s.is_escalated)
            .push_bind(s.next_event_at.map(millis))
            .push_bind(millis(s.checked_until));
    });
    if let Some(e) = failed {
        return Err(e);
    }
    qb.push(
            " ON CONFLICT (ticket_id) DO UPDATE SET policy_id = excluded.policy_id, \
             history = excluded.history, fr_due_by = excluded.fr_due_by, \
             nr_due_by = excluded.nr_due_by, due_by = excluded.due_by, \
             fr_escalated = (ticket_sla.fr_escalated OR excluded.fr_escalated), \
             nr_escalated = (ticket_sla.nr_escalated OR excluded.nr_escalated), \
             is_escalated = (ticket_sla.is_escalated OR excluded.is_escalated), next_event_at = excluded.next_event_at, \
             checked_until = CASE WHEN ticket_sla.checked_until > excluded.checked_until \
             THEN ticket_sla.checked_until ELSE excluded.checked_until END WHERE ticket_sla.account_id = excluded.account_id",
        );
    qb.build().execute(executor).await.map_err(db_err)?;
    Ok(())
}

/// What the stored row becomes when `newer` is written over `older` (the upsert's rule):
/// escalation flags only ever turn on, `checked_until` never moves back, the rest is `newer`'s.
pub(crate) fn merge_sla(older: &TicketSla, newer: &TicketSla) -> TicketSla {
    TicketSla {
        fr_escalated: older.fr_escalated || newer.fr_escalated,
        nr_escalated: older.nr_escalated || newer.nr_escalated,
        is_escalated: older.is_escalated || newer.is_escalated,
        checked_until: older.checked_until.max(newer.checked_until),
        ..newer.clone()
    }
}

/// The SLA state of several tickets of one account.
pub(crate) async fn get_slas<'c, E>(
    executor: E,
    account: AccountId,
    tickets: &[TicketId],
) -> StoreResult<Vec<TicketSla>>
where
    E: sqlx::Executor<'c, Database = Db>,
{
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<Db>::new(format!(
        "SELECT {SLA_COLUMNS} FROM ticket_sla WHERE account_id = "
    ));
    qb.push_bind(account.0).push(" AND ticket_id IN (");
    let mut sep = qb.separated(", ");
    for t in tickets {
        sep.push_bind(t.0);
    }
    qb.push(") ORDER BY ticket_id");
    let rows = qb.build().fetch_all(executor).await.map_err(db_err)?;
    rows.iter().map(sla).collect()
}

#[async_trait]
impl SlaStore for AdapterStore {
    async fn put_ticket_sla(&self, account: AccountId, s: &TicketSla) -> StoreResult<()> {
        put_sla(self.write_pool(), account, s).await
    }

    async fn ticket_sla(
        &self,
        account: AccountId,
        ticket: TicketId,
    ) -> StoreResult<Option<TicketSla>> {
        Ok(self.ticket_slas(account, &[ticket]).await?.pop())
    }

    async fn ticket_slas(
        &self,
        account: AccountId,
        tickets: &[TicketId],
    ) -> StoreResult<Vec<TicketSla>> {
        get_slas(self.read_pool(), account, tickets).await
    }

    async fn advance_sla(
        &self,
        account: AccountId,
        read: &TicketSla,
        checked_until: OffsetDateTime,
        next_event_at: Option<OffsetDateTime>,
        escalated: [bool; 3],
    ) -> StoreResult<bool> {
        let mut qb = QueryBuilder::<Db>::new("UPDATE ticket_sla SET checked_until = ");
        qb.push_bind(millis(checked_until))
            .push(", next_event_at = ")
            .push_bind(next_event_at.map(millis))
            .push(", fr_escalated = (fr_escalated OR ")
            .push_bind(escalated[0])
            .push("), nr_escalated = (nr_escalated OR ")
            .push_bind(escalated[1])
            .push("), is_escalated = (is_escalated OR ")
            .push_bind(escalated[2])
            .push(") WHERE account_id = ")
            .push_bind(account.0)
            .push(" AND ticket_id = ")
            .push_bind(read.ticket_id.0)
            .push(" AND history = ")
            .push_bind(json_text(&read.history)?)
            .push(" AND checked_until = ")
            .push_bind(millis(read.checked_until));
        let done = qb
            .build()
            .execute(self.write_pool())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn due_slas(&self, now: OffsetDateTime, limit: u32) -> StoreResult<Vec<SlaDue>> {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT account_id, ticket_id FROM ticket_sla WHERE next_event_at IS NOT NULL \
             AND next_event_at <= ",
        );
        qb.push_bind(millis(now))
            .push(" ORDER BY next_event_at, ticket_id LIMIT ")
            .push_bind(i64::from(limit));
        let rows = qb
            .build()
            .fetch_all(self.read_pool())
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(SlaDue {
                    account_id: AccountId(col(r, "account_id")?),
                    ticket_id: TicketId(col(r, "ticket_id")?),
                })
            })
            .collect()
    }

    async fn insert_notifications(
        &self,
        account: AccountId,
        notifications: &[NewNotification],
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        if notifications.is_empty() {
            return Ok(0);
        }
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO notifications (account_id, ticket_id, event_key, kind, data, at, created_at) ",
        );
        let mut rows = Vec::with_capacity(notifications.len());
        for n in notifications {
            rows.push((n, json_text(&n.data)?));
        }
        qb.push_values(rows, |mut b, (n, data)| {
            b.push_bind(account.0)
                .push_bind(n.ticket_id.0)
                .push_bind(n.key.clone())
                .push_bind(n.kind.clone())
                .push_bind(data)
                .push_bind(millis(n.at))
                .push_bind(millis(now));
        });
        qb.push(" ON CONFLICT (account_id, event_key) DO NOTHING");
        let done = qb
            .build()
            .execute(self.write_pool())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn list_notifications(
        &self,
        account: AccountId,
        page: Page,
    ) -> StoreResult<Vec<NotificationRow>> {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT id, account_id, ticket_id, event_key, kind, data, at, created_at \
             FROM notifications WHERE account_id = ",
        );
        qb.push_bind(account.0)
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(page.per_page))
            .push(" OFFSET ")
            .push_bind(i64::from(page.page.saturating_sub(1)) * i64::from(page.per_page));
        let rows = qb
            .build()
            .fetch_all(self.read_pool())
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(NotificationRow {
                    id: col(r, "id")?,
                    account_id: AccountId(col(r, "account_id")?),
                    notification: NewNotification {
                        ticket_id: TicketId(col(r, "ticket_id")?),
                        key: col(r, "event_key")?,
                        kind: col(r, "kind")?,
                        data: json_of(r, "data")?,
                        at: instant(col(r, "at")?)?,
                    },
                    created_at: instant(col(r, "created_at")?)?,
                })
            })
            .collect()
    }
}
