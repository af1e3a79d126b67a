// Shared by `store-sqlite` and `store-postgres`: each adapter's `src/webhooks.rs` names its
// database (`Db`, `DbRow`), `AdapterStore` (with `read_pool` and `write_pool`) and `SKIP_LOCKED`
// (the row-locking clause of a claim: empty on SQLite, whose one writer serialises claims,
// `FOR UPDATE SKIP LOCKED` on PostgreSQL), then includes this file.
use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::{QueryBuilder, Row};
use store::{
    NewWebhookDelivery, Page, StoreError, StoreResult, WebhookDelivery, WebhookDeliveryId,
    WebhookOutcome, WebhookState, WebhookStore,
};
use ticketing_core::{AccountId, TicketId};
use time::{Duration, OffsetDateTime};

use crate::convert::{db_err, duration_millis, instant, millis};

const WEBHOOK_COLUMNS: &str = "id, account_id, idempotency_key, event, ticket_id, method, url, headers, \
     content_type, body, max_attempts, state, attempts, next_attempt_at, leased_by, lease_until, \
     last_status, last_error, created_at, updated_at";

fn wcol<'r, T>(row: &'r DbRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

fn webhook_row(row: &DbRow) -> StoreResult<WebhookDelivery> {
    let state: String = wcol(row, "state")?;
    let headers: String = wcol(row, "headers")?;
    let headers: BTreeMap<String, String> = serde_json::from_str(&headers)
        .map_err(|e| StoreError::Corrupt(format!("column headers: {e}")))?;
    let max_attempts: i64 = wcol(row, "max_attempts")?;
    let attempts: i64 = wcol(row, "attempts")?;
    let status: Option<i64> = wcol(row, "last_status")?;
    Ok(WebhookDelivery {
        id: WebhookDeliveryId(wcol(row, "id")?),
        account_id: AccountId(wcol(row, "account_id")?),
        request: NewWebhookDelivery {
            idempotency_key: wcol(row, "idempotency_key")?,
            event: wcol(row, "event")?,
            ticket_id: wcol::<Option<i64>>(row, "ticket_id")?.map(TicketId),
            method: wcol(row, "method")?,
            url: wcol(row, "url")?,
            headers,
            content_type: wcol(row, "content_type")?,
            body: wcol(row, "body")?,
            max_attempts: u32::try_from(max_attempts.max(0)).unwrap_or(u32::MAX),
        },
        state: WebhookState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("webhook state {state:?}")))?,
        attempts: u32::try_from(attempts.max(0)).unwrap_or(u32::MAX),
        next_attempt_at: instant(wcol(row, "next_attempt_at")?)?,
        leased_by: wcol(row, "leased_by")?,
        lease_until: wcol::<Option<i64>>(row, "lease_until")?
            .map(instant)
            .transpose()?,
        last_status: status.and_then(|s| u16::try_from(s).ok()),
        last_error: wcol(row, "last_error")?,
        created_at: instant(wcol(row, "created_at")?)?,
        updated_at: instant(wcol(row, "updated_at")?)?,
    })
}

/// Queues deliveries (skipping idempotency keys the account already has); answers how many
/// were new. Used by the store and by ticket transactions.
pub(crate) async fn enqueue_webhooks<'c, E>(
    executor: E,
    account: AccountId,
    deliveries: &[NewWebhookDelivery],
    now: OffsetDateTime,
) -> StoreResult<u64>
where
    E: sqlx::Executor<'c, Database = Db>,
{
    if deliveries.is_empty() {
        return Ok(0);
    }
    let now = millis(now);
    let mut rows = Vec::with_capacity(deliveries.len());
    for d in deliveries {
        let headers = serde_json::to_string(&d.headers)
            .map_err(|e| StoreError::Backend(format!("serialising headers: {e}")))?;
        rows.push((d, headers));
    }
    let mut qb = QueryBuilder::<Db>::new(
        "INSERT INTO webhook_deliveries (account_id, idempotency_key, event, ticket_id, method, url, \
         headers, content_type, body, max_attempts, state, attempts, next_attempt_at, created_at, \
         updated_at) ",
    );
    qb.push_values(rows, |mut b, (d, headers)| {
        b.push_bind(account.0)
            .push_bind(d.idempotency_key.clone())
            .push_bind(d.event.clone())
            .push_bind(d.ticket_id.map(|t| t.0))
            .push_bind(d.method.clone())
            .push_bind(d.url.clone())
            .push_bind(headers)
            .push_bind(d.content_type.clone())
            .push_bind(d.body.clone())
            .push_bind(i64::from(d.max_attempts.max(1)))
            .push_bind(WebhookState::Pending.as_str())
            .push_bind(0i64)
            .push_bind(now)
            .push_bind(now)
            .push_bind(now);
    });
    qb.push(" ON CONFLICT (account_id, idempotency_key) DO NOTHING");
    let done = qb.build().execute(executor).await.map_err(db_err)?;
    Ok(done.rows_affected())
}

#[async_trait]
impl WebhookStore for AdapterStore {
    async fn enqueue_webhooks(
        &self,
        account: AccountId,
        deliveries: &[NewWebhookDelivery],
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        enqueue_webhooks(self.write_pool(), account, deliveries, now).await
    }

    async fn claim_webhooks(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = millis(now);
        let until = now.saturating_add(duration_millis(lease));
        let mut qb = QueryBuilder::<Db>::new(
            "UPDATE webhook_deliveries SET state = 'sending', attempts = attempts + 1, leased_by = ",
        );
        qb.push_bind(worker.to_owned())
            .push(", lease_until = ")
            .push_bind(until)
            .push(", updated_at = ")
            .push_bind(now)
            .push(
                " WHERE id IN (SELECT id FROM webhook_deliveries \
                 WHERE (state = 'pending' AND next_attempt_at <= ",
            )
            .push_bind(now)
            .push(") OR (state = 'sending' AND lease_until <= ")
            .push_bind(now)
            .push(") ORDER BY id LIMIT ")
            .push_bind(i64::from(limit))
            .push(SKIP_LOCKED)
            .push(format!(") RETURNING {WEBHOOK_COLUMNS}"));
        let rows = qb
            .build()
            .fetch_all(self.write_pool())
            .await
            .map_err(db_err)?;
        let mut out = rows
            .iter()
            .map(webhook_row)
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|d| d.id);
        Ok(out)
    }

    async fn finish_webhook(
        &self,
        id: WebhookDeliveryId,
        worker: &str,
        outcome: &WebhookOutcome,
        now: OffsetDateTime,
    ) -> StoreResult<WebhookDelivery> {
        let mut qb = QueryBuilder::<Db>::new("UPDATE webhook_deliveries SET state = ");
        match outcome {
            WebhookOutcome::Delivered { status } => {
                qb.push_bind(WebhookState::Delivered.as_str())
                    .push(", last_status = ")
                    .push_bind(i64::from(*status))
                    .push(", last_error = NULL");
            }
            WebhookOutcome::Retry { at, status, error } => {
                // Given up once every allowed attempt was made.
                qb.push("CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END")
                    .push(", next_attempt_at = ")
                    .push_bind(millis(*at))
                    .push(", last_status = ")
                    .push_bind(status.map(i64::from))
                    .push(", last_error = ")
                    .push_bind(error.clone());
            }
            WebhookOutcome::Failed { status, error } => {
                qb.push_bind(WebhookState::Failed.as_str())
                    .push(", last_status = ")
                    .push_bind(status.map(i64::from))
                    .push(", last_error = ")
                    .push_bind(error.clone());
            }
        }
        qb.push(", leased_by = NULL, lease_until = NULL, updated_at = ")
            .push_bind(millis(now))
            .push(" WHERE id = ")
            .push_bind(id.0)
            .push(" AND state = 'sending' AND leased_by = ")
            .push_bind(worker.to_owned())
            .push(format!(" RETURNING {WEBHOOK_COLUMNS}"));
        let row = qb
            .build()
            .fetch_optional(self.write_pool())
            .await
            .map_err(db_err)?
            .ok_or(StoreError::LeaseLost)?;
        webhook_row(&row)
    }

    async fn webhook_delivery(
        &self,
        account: AccountId,
        id: WebhookDeliveryId,
    ) -> StoreResult<WebhookDelivery> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook_deliveries WHERE id = "
        ));
        qb.push_bind(id.0)
            .push(" AND account_id = ")
            .push_bind(account.0);
        let row = qb
            .build()
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?;
        webhook_row(&row)
    }

    async fn list_webhook_deliveries(
        &self,
        account: AccountId,
        page: Page,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook_deliveries WHERE account_id = "
        ));
        qb.push_bind(account.0)
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(page.per_page))
            .push(" OFFSET ")
            .push_bind(page.offset());
        let rows = qb
            .build()
            .fetch_all(self.read_pool())
            .await
            .map_err(db_err)?;
        rows.iter().map(webhook_row).collect()
    }
}
