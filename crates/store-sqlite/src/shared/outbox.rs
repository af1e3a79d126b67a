// Shared by `store-sqlite` and `store-postgres`: each adapter's `src/outbox.rs` names its
// database (`Db`, `DbRow`), its hooks (`AdapterStore` with `outbox_tx`, `read_pool`,
// `write_pool`; `LOCK_ROWS` and `SKIP_LOCKED`, the row-locking suffixes, empty on SQLite whose
// single writer serialises every write transaction; `NUMBER_COLUMNS`), then includes this file.
// Every statement is built with `QueryBuilder`, so the same text serves both databases.
use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::json;
use sqlx::{QueryBuilder, Row, Transaction};
use store::{
    EntryId, EntryRow, LinkOutcome, NewSend, OutboundTx, OutboxId, OutboxRow, OutboxStore,
    SendLimits, SendOutcome, SendState, StoreError, StoreResult, TemplateRow, TemplateStore,
    WaNumber,
};
use ticketing_core::{AccountId, ContactId, NumberId, TicketId};
use time::{Duration, OffsetDateTime};

use crate::convert::{db_err, duration_millis, instant, millis};
use crate::tickets::{ENTRY_COLUMNS, Tx, entry};

const OUTBOX_COLUMNS: &str = "id, account_id, number_id, ticket_id, entry_id, recipient, payload, state, attempts, \
     next_attempt_at, leased_by, lease_until, unknown_since, wamid, last_error, error_code, created_at, updated_at";
const TEMPLATE_COLUMNS: &str =
    "number_id, template_id, name, language, status, category, parameter_format, components, synced_at";

/// The title an entry shows when its send's outcome stayed unknown.
pub(crate) const OUTCOME_UNKNOWN_TITLE: &str = "Outcome unknown";

fn ocol<'r, T>(row: &'r DbRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

fn ojson(row: &DbRow, name: &str) -> StoreResult<serde_json::Value> {
    let raw: String = ocol(row, name)?;
    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

fn json_text(v: &serde_json::Value) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("serialising JSON: {e}")))
}

fn opt_instant(ms: Option<i64>) -> StoreResult<Option<OffsetDateTime>> {
    ms.map(instant).transpose()
}

fn outbox_row(row: &DbRow) -> StoreResult<OutboxRow> {
    let state: String = ocol(row, "state")?;
    let attempts: i64 = ocol(row, "attempts")?;
    Ok(OutboxRow {
        id: OutboxId(ocol(row, "id")?),
        account_id: AccountId(ocol(row, "account_id")?),
        number_id: NumberId(ocol(row, "number_id")?),
        ticket_id: TicketId(ocol(row, "ticket_id")?),
        entry_id: EntryId(ocol(row, "entry_id")?),
        recipient: ocol(row, "recipient")?,
        payload: ojson(row, "payload")?,
        state: SendState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("column state: {state:?}")))?,
        attempts: i32::try_from(attempts)
            .map_err(|_| StoreError::Corrupt(format!("column attempts: {attempts}")))?,
        next_attempt_at: instant(ocol(row, "next_attempt_at")?)?,
        leased_by: ocol(row, "leased_by")?,
        lease_until: opt_instant(ocol(row, "lease_until")?)?,
        unknown_since: opt_instant(ocol(row, "unknown_since")?)?,
        wamid: ocol(row, "wamid")?,
        last_error: ocol(row, "last_error")?,
        error_code: ocol(row, "error_code")?,
        created_at: instant(ocol(row, "created_at")?)?,
        updated_at: instant(ocol(row, "updated_at")?)?,
    })
}

fn template_row(row: &DbRow) -> StoreResult<TemplateRow> {
    Ok(TemplateRow {
        number_id: NumberId(ocol(row, "number_id")?),
        template_id: ocol(row, "template_id")?,
        name: ocol(row, "name")?,
        language: ocol(row, "language")?,
        status: ocol(row, "status")?,
        category: ocol(row, "category")?,
        parameter_format: ocol(row, "parameter_format")?,
        components: ojson(row, "components")?,
        synced_at: instant(ocol(row, "synced_at")?)?,
    })
}

fn outbox_rows(rows: Vec<DbRow>) -> StoreResult<Vec<OutboxRow>> {
    rows.iter().map(outbox_row).collect()
}

/// A token bucket as stored.
#[derive(Debug, Clone)]
struct Bucket {
    key: String,
    tokens: f64,
    updated_at: i64,
    blocked_until: i64,
    dirty: bool,
}

impl Bucket {
    /// Tokens available at `now` with `per_ms` refill, at most `burst`; none while blocked.
    fn available(&self, now: i64, per_ms: f64, burst: f64) -> f64 {
        if self.blocked_until > now {
            return 0.0;
        }
        let elapsed = (now - self.updated_at.max(self.blocked_until)).max(0) as f64;
        (self.tokens + elapsed * per_ms).min(burst)
    }

    /// Takes one token if there is one; else the instant (ms) when there will be one.
    fn take(&mut self, now: i64, per_ms: f64, burst: f64) -> Result<(), i64> {
        if self.blocked_until > now {
            return Err(self.blocked_until);
        }
        let avail = self.available(now, per_ms, burst);
        if avail >= 1.0 {
            self.tokens = avail - 1.0;
            // Another worker may have recorded a later instant: never move back (that would
            // credit the same interval twice).
            self.updated_at = self.updated_at.max(now);
            self.dirty = true;
            Ok(())
        } else {
            let wait = ((1.0 - avail) / per_ms).ceil().max(1.0) as i64;
            Err(now + wait)
        }
    }
}

async fn load_bucket(
    tx: &mut Transaction<'static, Db>,
    key: &str,
    burst: f64,
    now: i64,
) -> StoreResult<Bucket> {
    let mut qb = QueryBuilder::<Db>::new(
        "INSERT INTO send_buckets (key, tokens, updated_at, blocked_until) VALUES (",
    );
    qb.push_bind(key.to_owned())
        .push(", ")
        .push_bind(burst)
        .push(", ")
        .push_bind(now)
        .push(", 0) ON CONFLICT (key) DO NOTHING");
    qb.build().execute(&mut **tx).await.map_err(db_err)?;
    let mut qb = QueryBuilder::<Db>::new(
        "SELECT tokens, updated_at, blocked_until FROM send_buckets WHERE key = ",
    );
    qb.push_bind(key.to_owned()).push(LOCK_ROWS);
    let row = qb.build().fetch_one(&mut **tx).await.map_err(db_err)?;
    Ok(Bucket {
        key: key.to_owned(),
        tokens: ocol(&row, "tokens")?,
        updated_at: ocol(&row, "updated_at")?,
        blocked_until: ocol(&row, "blocked_until")?,
        dirty: false,
    })
}

async fn save_bucket(tx: &mut Transaction<'static, Db>, b: &Bucket) -> StoreResult<()> {
    let mut qb = QueryBuilder::<Db>::new("UPDATE send_buckets SET tokens = ");
    qb.push_bind(b.tokens)
        .push(", updated_at = ")
        .push_bind(b.updated_at)
        .push(", blocked_until = ")
        .push_bind(b.blocked_until)
        .push(" WHERE key = ")
        .push_bind(b.key.clone());
    qb.build().execute(&mut **tx).await.map_err(db_err)?;
    Ok(())
}

/// Blocks a bucket until `until` (never shortening an existing block); when the block ends it
/// holds one token and refills from there.
async fn block_bucket(
    tx: &mut Transaction<'static, Db>,
    key: &str,
    until: i64,
    now: i64,
) -> StoreResult<()> {
    let mut b = load_bucket(tx, key, 0.0, now).await?;
    b.blocked_until = b.blocked_until.max(until);
    b.tokens = 1.0;
    b.updated_at = b.blocked_until;
    save_bucket(tx, &b).await
}

fn number_key(number: NumberId) -> String {
    format!("n:{}", number.0)
}

fn pair_key(number: NumberId, recipient: &str) -> String {
    format!("p:{}:{}", number.0, recipient)
}

async fn lock_send(tx: &mut Transaction<'static, Db>, id: OutboxId) -> StoreResult<OutboxRow> {
    let mut qb = QueryBuilder::<Db>::new(format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = "));
    qb.push_bind(id.0).push(LOCK_ROWS);
    let row = qb
        .build()
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::NotFound)?;
    outbox_row(&row)
}

/// Sets the entry of a send failed with `error` (unless a status already moved it to `failed`).
async fn fail_entry(
    tx: &mut Transaction<'static, Db>,
    entry: EntryId,
    error: &serde_json::Value,
    now: i64,
) -> StoreResult<()> {
    let mut qb = QueryBuilder::<Db>::new("UPDATE ticket_entries SET wa_status = 'failed', wa_error = ");
    qb.push_bind(json_text(error)?)
        .push(", updated_at = ")
        .push_bind(now)
        .push(" WHERE id = ")
        .push_bind(entry.0);
    qb.build().execute(&mut **tx).await.map_err(db_err)?;
    Ok(())
}

/// Gives the entry of a send its wamid, unless it has one.
async fn entry_wamid(
    tx: &mut Transaction<'static, Db>,
    entry: EntryId,
    wamid: &str,
    now: i64,
) -> StoreResult<()> {
    let mut qb = QueryBuilder::<Db>::new("UPDATE ticket_entries SET wamid = ");
    qb.push_bind(wamid.to_owned())
        .push(", updated_at = ")
        .push_bind(now)
        .push(" WHERE wamid IS NULL AND id = ")
        .push_bind(entry.0);
    qb.build().execute(&mut **tx).await.map_err(db_err)?;
    Ok(())
}

fn last_inbound_query(account: AccountId, contact: ContactId, number: NumberId) -> QueryBuilder<Db> {
    let mut qb = QueryBuilder::<Db>::new(
        "SELECT MAX(e.created_at) AS at FROM ticket_entries e JOIN tickets t ON t.id = e.ticket_id \
         WHERE t.account_id = ",
    );
    qb.push_bind(account.0)
        .push(" AND t.requester_id = ")
        .push_bind(contact.0)
        .push(" AND e.number_id = ")
        .push_bind(number.0)
        .push(" AND e.incoming = ")
        .push_bind(true)
        .push(" AND e.private = ")
        .push_bind(false);
    qb
}

fn max_at(row: &DbRow) -> StoreResult<Option<OffsetDateTime>> {
    opt_instant(ocol::<Option<i64>>(row, "at")?)
}

#[async_trait]
impl OutboundTx for Tx {
    async fn insert_send(
        &mut self,
        ticket: TicketId,
        entry: EntryId,
        send: &NewSend,
        now: OffsetDateTime,
    ) -> StoreResult<OutboxRow> {
        let now = millis(now);
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO outbox (account_id, number_id, ticket_id, entry_id, recipient, payload, state, \
             attempts, next_attempt_at, created_at, updated_at) VALUES (",
        );
        let mut s = qb.separated(", ");
        s.push_bind(self.account.0)
            .push_bind(send.number_id.0)
            .push_bind(ticket.0)
            .push_bind(entry.0)
            .push_bind(send.recipient.clone())
            .push_bind(json_text(&send.payload)?)
            .push_bind(SendState::Queued.as_str())
            .push_bind(0i64)
            .push_bind(now)
            .push_bind(now)
            .push_bind(now);
        qb.push(format!(") RETURNING {OUTBOX_COLUMNS}"));
        let row = qb.build().fetch_one(self.db().await?).await.map_err(db_err)?;
        outbox_row(&row)
    }

    async fn last_inbound_at(
        &mut self,
        contact: ContactId,
        number: NumberId,
    ) -> StoreResult<Option<OffsetDateTime>> {
        let row = last_inbound_query(self.account, contact, number)
            .build()
            .fetch_one(self.db().await?)
            .await
            .map_err(db_err)?;
        max_at(&row)
    }
}

#[async_trait]
impl OutboxStore for AdapterStore {
    async fn begin_outbound(&self, account: AccountId) -> StoreResult<Box<dyn OutboundTx>> {
        let tx = self.begin_ticket_tx(account).await?;
        Ok(Box::new(Tx::new(tx, account)))
    }

    async fn begin_outbound_for(
        &self,
        account: AccountId,
        customers: &[String],
    ) -> StoreResult<Box<dyn OutboundTx>> {
        let tx = self.begin_customer_tx(account, customers).await?;
        Ok(Box::new(Tx::new(tx, account)))
    }

    async fn last_inbound_at(
        &self,
        account: AccountId,
        contact: ContactId,
        number: NumberId,
    ) -> StoreResult<Option<OffsetDateTime>> {
        let row = last_inbound_query(account, contact, number)
            .build()
            .fetch_one(self.read_pool())
            .await
            .map_err(db_err)?;
        max_at(&row)
    }

    async fn due_send_numbers(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<NumberId>> {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT number_id, MIN(next_attempt_at) AS due FROM outbox WHERE state = 'queued' \
             AND next_attempt_at <= ",
        );
        qb.push_bind(millis(now))
            .push(" GROUP BY number_id ORDER BY due, number_id LIMIT ")
            .push_bind(i64::from(limit));
        let rows = qb
            .build()
            .fetch_all(self.read_pool())
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok(NumberId(ocol(r, "number_id")?)))
            .collect()
    }

    async fn claim_sends(
        &self,
        worker: &str,
        number: NumberId,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
        limits: &SendLimits,
    ) -> StoreResult<Vec<OutboxRow>> {
        let now_ms = millis(now);
        let number_per_ms = limits.per_number_per_second.max(0.001) / 1000.0;
        let number_burst = limits.per_number_burst.max(1.0);
        let pair_per_ms = 1.0 / (duration_millis(limits.pair_interval).max(1) as f64);
        let pair_burst = limits.pair_burst.max(1.0);
        let mut tx = self.outbox_tx().await?;
        let mut nb = load_bucket(&mut tx, &number_key(number), number_burst, now_ms).await?;
        let navail = nb.available(now_ms, number_per_ms, number_burst);
        let want = (navail.floor() as i64).min(i64::from(limit));
        if want <= 0 {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state = 'queued' AND number_id = "
        ));
        qb.push_bind(number.0)
            .push(" AND next_attempt_at <= ")
            .push_bind(now_ms)
            .push(" ORDER BY next_attempt_at, id LIMIT ")
            .push_bind(want * 4)
            .push(SKIP_LOCKED);
        let candidates = outbox_rows(qb.build().fetch_all(&mut *tx).await.map_err(db_err)?)?;
        let mut pairs: HashMap<String, Bucket> = HashMap::new();
        let mut claimed = Vec::new();
        let lease_until = millis(now + lease);
        for row in candidates {
            if claimed.len() as i64 >= want {
                break;
            }
            let key = pair_key(number, &row.recipient);
            if !pairs.contains_key(&key) {
                let b = load_bucket(&mut tx, &key, pair_burst, now_ms).await?;
                pairs.insert(key.clone(), b);
            }
            let Some(pb) = pairs.get_mut(&key) else {
                continue;
            };
            match pb.take(now_ms, pair_per_ms, pair_burst) {
                Ok(()) => {
                    let mut qb = QueryBuilder::<Db>::new(
                        "UPDATE outbox SET state = 'sending', attempts = attempts + 1, leased_by = ",
                    );
                    qb.push_bind(worker.to_owned())
                        .push(", lease_until = ")
                        .push_bind(lease_until)
                        .push(", updated_at = ")
                        .push_bind(now_ms)
                        .push(" WHERE id = ")
                        .push_bind(row.id.0)
                        .push(format!(" RETURNING {OUTBOX_COLUMNS}"));
                    let r = qb.build().fetch_one(&mut *tx).await.map_err(db_err)?;
                    claimed.push(outbox_row(&r)?);
                }
                Err(next) => {
                    let mut qb = QueryBuilder::<Db>::new("UPDATE outbox SET next_attempt_at = ");
                    qb.push_bind(next)
                        .push(" WHERE id = ")
                        .push_bind(row.id.0);
                    qb.build().execute(&mut *tx).await.map_err(db_err)?;
                }
            }
        }
        for b in pairs.values().filter(|b| b.dirty) {
            save_bucket(&mut tx, b).await?;
        }
        if !claimed.is_empty() {
            nb.tokens = navail - claimed.len() as f64;
            nb.updated_at = nb.updated_at.max(now_ms);
            save_bucket(&mut tx, &nb).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(claimed)
    }

    async fn finish_send(
        &self,
        id: OutboxId,
        worker: &str,
        outcome: &SendOutcome,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let now_ms = millis(now);
        let mut tx = self.outbox_tx().await?;
        let row = lock_send(&mut tx, id).await?;
        let held = row.leased_by.as_deref() == Some(worker)
            && matches!(row.state, SendState::Sending | SendState::Unknown);
        if !held {
            return Err(StoreError::LeaseLost);
        }
        let mut qb = QueryBuilder::<Db>::new("UPDATE outbox SET updated_at = ");
        qb.push_bind(now_ms);
        match outcome {
            SendOutcome::Accepted { wamid } => {
                qb.push(", state = 'sent', leased_by = NULL, lease_until = NULL, unknown_since = NULL, wamid = ")
                    .push_bind(wamid.clone());
                entry_wamid(&mut tx, row.entry_id, wamid, now_ms).await?;
            }
            SendOutcome::Retry {
                at,
                code,
                error,
                block_pair_until,
                block_number_until,
            } => {
                qb.push(", state = 'queued', leased_by = NULL, lease_until = NULL, unknown_since = NULL, next_attempt_at = ")
                    .push_bind(millis(*at))
                    .push(", last_error = ")
                    .push_bind(error.clone())
                    .push(", error_code = ")
                    .push_bind(*code);
                if let Some(until) = block_pair_until {
                    let key = pair_key(row.number_id, &row.recipient);
                    block_bucket(&mut tx, &key, millis(*until), now_ms).await?;
                }
                if let Some(until) = block_number_until {
                    block_bucket(&mut tx, &number_key(row.number_id), millis(*until), now_ms)
                        .await?;
                }
            }
            SendOutcome::Failed { code, title, error } => {
                qb.push(", state = 'failed', leased_by = NULL, lease_until = NULL, unknown_since = NULL, last_error = ")
                    .push_bind(error.clone())
                    .push(", error_code = ")
                    .push_bind(*code);
                fail_entry(
                    &mut tx,
                    row.entry_id,
                    &json!({"code": code, "title": title}),
                    now_ms,
                )
                .await?;
            }
            SendOutcome::Unknown { error } => {
                qb.push(", state = 'unknown', leased_by = NULL, lease_until = NULL, unknown_since = ")
                    .push_bind(row.unknown_since.map_or(now_ms, millis))
                    .push(", last_error = ")
                    .push_bind(error.clone());
            }
        }
        qb.push(" WHERE id = ").push_bind(id.0);
        qb.build().execute(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn expire_sends(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let now_ms = millis(now);
        // The worker keeps its name on the row, so a late answer from it still counts.
        let mut qb = QueryBuilder::<Db>::new(
            "UPDATE outbox SET state = 'unknown', last_error = 'the lease expired while sending (worker stopped?)', \
             unknown_since = ",
        );
        qb.push_bind(now_ms)
            .push(", updated_at = ")
            .push_bind(now_ms)
            .push(" WHERE state = 'sending' AND lease_until < ")
            .push_bind(now_ms);
        let done = qb
            .build()
            .execute(self.write_pool())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn reconcile_sends(
        &self,
        now: OffsetDateTime,
        timeout: Duration,
    ) -> StoreResult<Vec<OutboxRow>> {
        let now_ms = millis(now);
        let mut tx = self.outbox_tx().await?;
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state = 'unknown' AND unknown_since <= "
        ));
        qb.push_bind(millis(now - timeout))
            .push(" ORDER BY id")
            .push(SKIP_LOCKED);
        let rows = outbox_rows(qb.build().fetch_all(&mut *tx).await.map_err(db_err)?)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let error = format!(
                "outcome unknown: no status webhook confirmed the send within the reconciliation timeout; \
                 not resent automatically ({})",
                row.last_error.as_deref().unwrap_or("no error recorded")
            );
            let mut qb = QueryBuilder::<Db>::new(
                "UPDATE outbox SET state = 'failed', leased_by = NULL, lease_until = NULL, last_error = ",
            );
            qb.push_bind(error.clone())
                .push(", updated_at = ")
                .push_bind(now_ms)
                .push(" WHERE id = ")
                .push_bind(row.id.0)
                .push(format!(" RETURNING {OUTBOX_COLUMNS}"));
            let r = qb.build().fetch_one(&mut *tx).await.map_err(db_err)?;
            let mut qb = QueryBuilder::<Db>::new(
                "UPDATE ticket_entries SET wa_status = 'failed', wa_error = ",
            );
            qb.push_bind(json_text(&json!({
                "code": null,
                "title": OUTCOME_UNKNOWN_TITLE,
                "message": "WhatsApp did not confirm this message; it was not sent again. Check with the customer or send it again.",
            }))?)
            .push(", updated_at = ")
            .push_bind(now_ms)
            .push(" WHERE wa_status IS NULL AND id = ")
            .push_bind(row.entry_id.0);
            qb.build().execute(&mut *tx).await.map_err(db_err)?;
            out.push(outbox_row(&r)?);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn link_send(
        &self,
        id: OutboxId,
        number: NumberId,
        wamid: &str,
        now: OffsetDateTime,
    ) -> StoreResult<LinkOutcome> {
        let now_ms = millis(now);
        let mut tx = self.outbox_tx().await?;
        let row = match lock_send(&mut tx, id).await {
            Ok(r) if r.number_id == number => r,
            Ok(_) | Err(StoreError::NotFound) => return Ok(LinkOutcome::NotFound),
            Err(e) => return Err(e),
        };
        match row.wamid.as_deref() {
            Some(w) if w == wamid => return Ok(LinkOutcome::AlreadyLinked),
            Some(_) => return Ok(LinkOutcome::Mismatch),
            None => {}
        }
        let reconciled_unknown = row.state == SendState::Failed
            && row
                .last_error
                .as_deref()
                .is_some_and(|e| e.starts_with("outcome unknown"));
        let state = match row.state {
            SendState::Failed if !reconciled_unknown => SendState::Failed,
            _ => SendState::Sent,
        };
        let mut qb = QueryBuilder::<Db>::new("UPDATE outbox SET state = ");
        qb.push_bind(state.as_str())
            .push(", wamid = ")
            .push_bind(wamid.to_owned())
            .push(", lease_until = NULL, unknown_since = NULL, updated_at = ")
            .push_bind(now_ms)
            .push(" WHERE id = ")
            .push_bind(id.0);
        qb.build().execute(&mut *tx).await.map_err(db_err)?;
        if reconciled_unknown {
            // Meta did accept it after all: the status webhooks decide the entry's state now.
            let mut qb = QueryBuilder::<Db>::new(
                "UPDATE ticket_entries SET wa_status = NULL, wa_error = NULL WHERE wa_status = 'failed' AND id = ",
            );
            qb.push_bind(row.entry_id.0);
            qb.build().execute(&mut *tx).await.map_err(db_err)?;
        }
        entry_wamid(&mut tx, row.entry_id, wamid, now_ms).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(LinkOutcome::Linked)
    }

    async fn send(&self, id: OutboxId) -> StoreResult<OutboxRow> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = "));
        qb.push_bind(id.0);
        let row = qb
            .build()
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?;
        outbox_row(&row)
    }

    async fn ticket_sends(
        &self,
        account: AccountId,
        ticket: TicketId,
    ) -> StoreResult<Vec<OutboxRow>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE account_id = "
        ));
        qb.push_bind(account.0)
            .push(" AND ticket_id = ")
            .push_bind(ticket.0)
            .push(" ORDER BY id");
        outbox_rows(
            qb.build()
                .fetch_all(self.read_pool())
                .await
                .map_err(db_err)?,
        )
    }

    async fn entry(&self, account: AccountId, id: EntryId) -> StoreResult<EntryRow> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {ENTRY_COLUMNS} FROM ticket_entries WHERE account_id = "
        ));
        qb.push_bind(account.0).push(" AND id = ").push_bind(id.0);
        let row = qb
            .build()
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?;
        entry(&row)
    }
}

#[async_trait]
impl TemplateStore for AdapterStore {
    async fn replace_templates(
        &self,
        number: NumberId,
        templates: &[TemplateRow],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let now_ms = millis(now);
        let mut tx = self.outbox_tx().await?;
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM wa_templates WHERE number_id = ");
        qb.push_bind(number.0);
        qb.build().execute(&mut *tx).await.map_err(db_err)?;
        for t in templates {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "INSERT INTO wa_templates ({TEMPLATE_COLUMNS}) VALUES ("
            ));
            let mut s = qb.separated(", ");
            s.push_bind(number.0)
                .push_bind(t.template_id.clone())
                .push_bind(t.name.clone())
                .push_bind(t.language.clone())
                .push_bind(t.status.clone())
                .push_bind(t.category.clone())
                .push_bind(t.parameter_format.clone())
                .push_bind(json_text(&t.components)?)
                .push_bind(now_ms);
            // Meta lists a name and language once; a duplicate in its answer keeps the last.
            qb.push(
                ") ON CONFLICT (number_id, name, language) DO UPDATE SET template_id = excluded.template_id, \
                 status = excluded.status, category = excluded.category, \
                 parameter_format = excluded.parameter_format, components = excluded.components",
            );
            qb.build().execute(&mut *tx).await.map_err(db_err)?;
        }
        let mut qb =
            QueryBuilder::<Db>::new("INSERT INTO wa_template_syncs (number_id, synced_at) VALUES (");
        qb.push_bind(number.0)
            .push(", ")
            .push_bind(now_ms)
            .push(") ON CONFLICT (number_id) DO UPDATE SET synced_at = excluded.synced_at");
        qb.build().execute(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn list_templates(
        &self,
        account: AccountId,
        number: NumberId,
    ) -> StoreResult<Vec<TemplateRow>> {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT t.number_id, t.template_id, t.name, t.language, t.status, t.category, \
             t.parameter_format, t.components, t.synced_at FROM wa_templates t \
             JOIN wa_numbers n ON n.id = t.number_id WHERE n.account_id = ",
        );
        qb.push_bind(account.0)
            .push(" AND t.number_id = ")
            .push_bind(number.0)
            .push(" ORDER BY t.name, t.language");
        let rows = qb
            .build()
            .fetch_all(self.read_pool())
            .await
            .map_err(db_err)?;
        rows.iter().map(template_row).collect()
    }

    async fn set_template_status(
        &self,
        template_id: &str,
        status: &str,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        let mut qb = QueryBuilder::<Db>::new("UPDATE wa_templates SET status = ");
        qb.push_bind(status.to_owned())
            .push(", synced_at = ")
            .push_bind(millis(now))
            .push(" WHERE template_id = ")
            .push_bind(template_id.to_owned());
        let done = qb
            .build()
            .execute(self.write_pool())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn templates_synced_at(&self, number: NumberId) -> StoreResult<Option<OffsetDateTime>> {
        let mut qb =
            QueryBuilder::<Db>::new("SELECT synced_at FROM wa_template_syncs WHERE number_id = ");
        qb.push_bind(number.0);
        let row = qb
            .build()
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_err)?;
        row.map(|r| instant(ocol(&r, "synced_at")?)).transpose()
    }

    async fn all_numbers(&self) -> StoreResult<Vec<WaNumber>> {
        let rows = QueryBuilder::<Db>::new(format!(
            "SELECT {NUMBER_COLUMNS} FROM wa_numbers ORDER BY id"
        ))
        .build()
        .fetch_all(self.read_pool())
            .await
            .map_err(db_err)?;
        rows.iter().map(crate::convert::number).collect()
    }

    async fn job_cursor(&self, name: &str) -> StoreResult<i64> {
        let mut qb = QueryBuilder::<Db>::new("SELECT position FROM job_cursors WHERE name = ");
        qb.push_bind(name.to_owned());
        let row = qb
            .build()
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_err)?;
        row.map_or(Ok(0), |r| ocol(&r, "position"))
    }

    async fn advance_job_cursor(&self, name: &str, position: i64) -> StoreResult<()> {
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO job_cursors (name, position) VALUES (");
        qb.push_bind(name.to_owned())
            .push(", ")
            .push_bind(position)
            .push(
                ") ON CONFLICT (name) DO UPDATE SET position = CASE WHEN excluded.position > job_cursors.position \
                 THEN excluded.position ELSE job_cursors.position END",
            );
        qb.build()
            .execute(self.write_pool())
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
