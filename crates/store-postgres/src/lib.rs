//! PostgreSQL adapter of the storage port ([`store::Store`]).
//!
//! [`PostgresStore`] lets several processes (servers and workers) share one database:
//!
//! - **Claims** are one statement that picks due deliveries with `FOR UPDATE SKIP LOCKED` and
//!   leases them, so concurrent workers never receive the same delivery and never wait on each
//!   other.
//! - **Completion** locks the delivery row, checks the caller still holds the lease, records
//!   the events (`INSERT … ON CONFLICT (key) DO NOTHING`) and finishes the delivery in one
//!   transaction. Event recording is serialised by a transaction-scoped advisory lock so that
//!   event ids become visible in increasing order: a reader paging with
//!   [`store::Store::list_events`]`(after)` never skips an event committed late with a
//!   smaller id.
//! - **Tickets** of one account are written under the account row: `FOR NO KEY UPDATE` for a
//!   whole-account transaction (the REST API, the jobs), `FOR SHARE` plus an advisory lock per
//!   customer key for the tickets job's lanes ([`store::Store::ticket_lanes`]), which thereby
//!   apply batches of different customers at once and one customer's one at a time.
//! - **Bootstrap** runs under a transaction-scoped advisory lock (exactly one process creates
//!   the first account); **connecting a number** locks the account row, so the per-account
//!   limit holds under races, and the unique index settles races on `phone_number_id`.
//! - **Durability**: every connection runs with `synchronous_commit=on`, so an acknowledged
//!   write is on disk. [`store::Store::insert_deliveries`] writes a batch with one multi-row
//!   `INSERT` per chunk (one commit).
//! - **Migrations** live in `migrations/` (the same file names as `store-sqlite`'s), are
//!   embedded at compile time and run at connect.
//!
//! Instants are BIGINT Unix milliseconds (UTC), bodies BYTEA (byte-exact), event payloads JSON
//! text (see the migration for why not JSONB).
//!
//! For tests, [`PostgresStore::connect_fresh_schema`] gives a store confined to its own schema
//! (via `search_path`), and [`PostgresStore::drop_schema`] removes it again.
//!
//! This crate holds no business rules; it stores and fetches what the port describes,
//! atomically. TLS is not enabled: reach PostgreSQL over a private network or a local socket.

mod automation;
mod billing;
mod convert;
mod directory;
mod media;
mod outbox;
mod retention;
mod settings;
mod sla;
mod tickets;
mod webhooks;

use async_trait::async_trait;
use convert::{db_err, duration_millis, millis};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Executor, Postgres, QueryBuilder, Row, Transaction};
use std::str::FromStr;
use std::time::Duration as StdDuration;
use store::{
    Account, Agent, CompletionReport, Delivery, DeliveryCompletion, DeliveryFilter, DeliveryId,
    DeliveryState, DeliverySummary, Event, EventId, InboxStats, NewAgent, NewDelivery, NewEvent,
    NewNumber, Page, PruneReport, Store, StoreError, StoreResult, WaNumber,
};
use ticketing_core::{AccountId, Plan};
use time::{Duration, OffsetDateTime};

/// A statement assembled from this file's constant fragments (never from input).
macro_rules! sql {
    ($($t:tt)*) => {
        sqlx::AssertSqlSafe(format!($($t)*))
    };
}

/// The embedded migrations of this adapter.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Rows per `INSERT` of deliveries (their values bound as three arrays).
const DELIVERY_CHUNK_ROWS: usize = 1_000;
/// Body bytes per `INSERT` of deliveries: a protocol message stays far under 1 GiB.
const DELIVERY_CHUNK_BYTES: usize = 64 * 1024 * 1024;
/// Rows per multi-row `INSERT` of events (14 bound values each).
const EVENT_CHUNK_ROWS: usize = 500;
/// Connections in the pool shared by the jobs and the API (four of them the tickets job's lanes,
/// two the inbox loops).
const MAX_CONNECTIONS: u32 = 16;
/// Connections kept for [`Store::insert_deliveries`] alone, so an acknowledgement never waits
/// for a connection the jobs' lanes and loops hold. The group-commit writer sends one batch at
/// a time; the second is for a caller of its own. (It did not move the ack p99 under a
/// backlog, which is CPU shared with the jobs: docs/benchmarks.md, session 9.)
const INGEST_CONNECTIONS: u32 = 2;

/// Ticket batches of one account the tickets job applies at once ([`Store::ticket_lanes`]).
/// Measured on two cores (`wa-loadgen processing --lanes N`, docs/benchmarks.md): 1 → 2 → 4
/// lanes took the tickets job from 2,000 to 2,500–2,900 to 3,100–3,800 events/s, 8 fell back
/// to 3,000 (batches of a 200-event pass get too small). Four of the pool's sixteen connections.
const TICKET_LANES: usize = 4;

/// Inbox loops a process runs ([`Store::inbox_loops`]). Measured (`wa-loadgen processing
/// --inbox-loops N`, 20,000 deliveries, two cores): 1 loop 2,407–2,431 deliveries/s, 2 loops
/// 2,966–3,106, 3 loops 3,225, 4 loops 3,031; the events' advisory lock serialises their
/// recording, so more loops only overlap claiming and parsing with it.
const INBOX_LOOPS: usize = 2;
/// How long a call waits for a free connection.
const ACQUIRE_TIMEOUT: StdDuration = StdDuration::from_secs(60);

/// Second halves of the two-key advisory locks; the first half is the schema's hash, so
/// deployments in different schemas of one database do not contend.
const BOOTSTRAP_LOCK: i32 = 0x5744_0001;
const EVENTS_LOCK: i32 = 0x5744_0002;

const DELIVERY_COLUMNS: &str =
    "id, received_at, size, state, attempts, error, account_id, processed_at, body";
/// [`DELIVERY_COLUMNS`] qualified for the claim's `UPDATE … FROM`.
const CLAIMED_COLUMNS: &str = "d.id, d.received_at, d.size, d.state, d.attempts, d.error, d.account_id, d.processed_at, d.body";
/// Whether retention emptied the body (its length read from the row, not the body itself).
const PRUNED: &str = "(size > 0 AND octet_length(body) = 0)";
const SUMMARY_COLUMNS: &str = concat!(
    "id, received_at, size, state, attempts, error, account_id, processed_at, ",
    "(size > 0 AND octet_length(body) = 0) AS pruned"
);
pub(crate) const EVENT_COLUMNS: &str = "id, key, delivery_id, recorded_at, kind, field, waba_id, phone_number_id, account_id, \
     number_id, message_id, wa_id, subtype, wa_timestamp, payload";
pub(crate) const NUMBER_COLUMNS: &str = "id, account_id, phone_number_id, waba_id, display_phone_number, name, access_token, \
     app_secret, threading_interval_hours, status, created_at, updated_at";
const ACCOUNT_COLUMNS: &str = "id, name, plan, created_at, updated_at";
pub(crate) const AGENT_COLUMNS: &str = "id, account_id, name, email, role, created_at, updated_at";

/// The PostgreSQL implementation of [`Store`]. Cheap to clone: clones share the pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Webhook deliveries' inserts only ([`INGEST_CONNECTIONS`]).
    ingest: PgPool,
    /// The schema this store is confined to, when it was opened in one.
    schema: Option<String>,
    /// Seals numbers' secrets at rest, when a key is configured.
    cipher: Option<std::sync::Arc<store::SecretCipher>>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and brings the schema up to date.
    /// Tables live in the connection's default schema (normally `public`).
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        let options = options(url)?;
        let store = PostgresStore {
            pool: pool(options.clone(), MAX_CONNECTIONS).await?,
            ingest: pool(options, INGEST_CONNECTIONS).await?,
            schema: None,
            cipher: None,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Connects with every connection confined to `schema` (its `search_path`), creating the
    /// schema when missing, and brings it up to date. Several deployments (or test runs) can
    /// share one database this way.
    ///
    /// `schema` must be a plain lowercase identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes).
    pub async fn connect_in_schema(url: &str, schema: &str) -> StoreResult<PostgresStore> {
        Self::open_schema(url, schema, false).await
    }

    /// Like [`PostgresStore::connect_in_schema`], but first **drops** any schema of that name
    /// with everything in it, so the store starts empty. Meant for tests.
    pub async fn connect_fresh_schema(url: &str, schema: &str) -> StoreResult<PostgresStore> {
        Self::open_schema(url, schema, true).await
    }

    async fn open_schema(url: &str, schema: &str, fresh: bool) -> StoreResult<PostgresStore> {
        check_schema_name(schema)?;
        let base = options(url)?;
        {
            let mut conn = sqlx::ConnectOptions::connect(&base).await.map_err(db_err)?;
            if fresh {
                conn.execute(sql!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .await
                    .map_err(db_err)?;
            }
            conn.execute(sql!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .await
                .map_err(db_err)?;
            sqlx::Connection::close(conn).await.map_err(db_err)?;
        }
        let options = base.options([("search_path", schema)]);
        let store = PostgresStore {
            pool: pool(options.clone(), MAX_CONNECTIONS).await?,
            ingest: pool(options, INGEST_CONNECTIONS).await?,
            schema: Some(schema.to_owned()),
            cipher: None,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Drops the schema this store was opened in (see [`PostgresStore::connect_fresh_schema`])
    /// with all its tables, then closes the pool. Does nothing but close for a store opened
    /// with [`PostgresStore::connect`].
    pub async fn drop_schema(self) -> StoreResult<()> {
        if let Some(schema) = &self.schema {
            self.pool
                .execute(sql!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                .await
                .map_err(db_err)?;
        }
        self.ingest.close().await;
        self.pool.close().await;
        Ok(())
    }

    /// The schema this store is confined to, if any.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Encrypts numbers' access tokens and app secrets at rest with `key` (AES-256-GCM) from
    /// now on; values stored in plaintext before stay readable.
    pub fn with_secret_key(mut self, key: &store::SecretKey) -> StoreResult<Self> {
        self.cipher = Some(std::sync::Arc::new(store::SecretCipher::new(key)?));
        Ok(self)
    }

    /// The cipher for secrets, when a key is configured.
    fn cipher(&self) -> Option<&store::SecretCipher> {
        self.cipher.as_deref()
    }

    /// A write transaction for the directory.
    async fn begin_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.begin().await
    }

    /// Closes the pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.ingest.close().await;
        self.pool.close().await;
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migrating the PostgreSQL database: {e}")))
    }

    /// A transaction for one account's tickets: it locks the account row, so ticket writes of
    /// one account are serialised across processes (threading reads, then writes).
    async fn begin_ticket_tx(
        &self,
        account: AccountId,
    ) -> StoreResult<Transaction<'static, Postgres>> {
        let mut tx = self.begin().await?;
        let locked = sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE")
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if locked.is_none() {
            return Err(StoreError::NotFound);
        }
        Ok(tx)
    }

    /// A transaction for some customers' tickets of an account: it shares the account row
    /// (`FOR SHARE`, so it waits for and holds off [`Self::begin_ticket_tx`]), then takes a
    /// transaction-scoped advisory lock per customer key, in the keys' hash order (two such
    /// transactions sharing keys queue instead of deadlocking), in one statement. The row first:
    /// a transaction holding a key never waits for the row behind a whole-account one.
    async fn begin_customer_tx(
        &self,
        account: AccountId,
        customers: &[String],
    ) -> StoreResult<Transaction<'static, Postgres>> {
        let mut tx = self.begin().await?;
        let locked = sqlx::query(
            "WITH a AS MATERIALIZED (SELECT id FROM accounts WHERE id = $1 FOR SHARE) \
             SELECT a.id, (SELECT count(pg_advisory_xact_lock(s.k)) FROM \
               (SELECT DISTINCT hashtextextended(current_schema() || '/' || a.id || '/' || c, 0) AS k \
                FROM unnest($2::text[]) c ORDER BY k) s) AS keys \
             FROM a",
        )
        .bind(account.0)
        .bind(customers)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if locked.is_none() {
            return Err(StoreError::NotFound);
        }
        Ok(tx)
    }

    /// The pool for reads.
    fn read_pool(&self) -> &PgPool {
        &self.pool
    }

    /// The pool for writes outside a transaction.
    fn write_pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(db_err)
    }
}

fn options(url: &str) -> StoreResult<PgConnectOptions> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
    // An acknowledged write must be on disk whatever the server's default.
    Ok(options.options([("synchronous_commit", "on")]))
}

async fn pool(options: PgConnectOptions, max_connections: u32) -> StoreResult<PgPool> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(db_err)
}

fn check_schema_name(schema: &str) -> StoreResult<()> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && schema.len() <= 63 {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "invalid schema name {schema:?}: use [a-z_][a-z0-9_]*, at most 63 bytes"
        )))
    }
}

async fn commit(tx: Transaction<'static, Postgres>) -> StoreResult<()> {
    tx.commit().await.map_err(db_err)
}

/// Takes a transaction-scoped advisory lock private to this schema.
async fn advisory_lock(tx: &mut Transaction<'static, Postgres>, which: i32) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)")
        .bind(which)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Splits a batch into chunks under both the row and the byte limit.
fn delivery_chunks(batch: &[NewDelivery]) -> Vec<&[NewDelivery]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, d) in batch.iter().enumerate() {
        let rows = i - start;
        if rows > 0 && (rows >= DELIVERY_CHUNK_ROWS || bytes + d.body.len() > DELIVERY_CHUNK_BYTES)
        {
            chunks.push(&batch[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += d.body.len();
    }
    if start < batch.len() {
        chunks.push(&batch[start..]);
    }
    chunks
}

/// Locks the delivery row and checks that `worker` holds its lease.
fn reject_pending(completion: &DeliveryCompletion) -> StoreResult<()> {
    if completion.state == DeliveryState::Pending {
        return Err(StoreError::Conflict(
            "a delivery cannot be completed as pending; release it instead".to_owned(),
        ));
    }
    Ok(())
}

async fn lock_leased(
    tx: &mut Transaction<'static, Postgres>,
    id: DeliveryId,
    worker: &str,
) -> StoreResult<()> {
    let row = sqlx::query("SELECT state, locked_by FROM deliveries WHERE id = $1 FOR UPDATE")
        .bind(id.0)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::NotFound)?;
    let state: String = row.try_get("state").map_err(db_err)?;
    let locked_by: Option<String> = row.try_get("locked_by").map_err(db_err)?;
    if state == DeliveryState::Pending.as_str() && locked_by.as_deref() == Some(worker) {
        Ok(())
    } else {
        Err(StoreError::LeaseLost)
    }
}

/// Inserts one chunk of deliveries and returns their ids in input order.
async fn insert_chunk<'e, E>(executor: E, chunk: &[NewDelivery]) -> StoreResult<Vec<DeliveryId>>
where
    E: Executor<'e, Database = Postgres>,
{
    // One statement text whatever the batch's size (so one prepared statement), its rows as
    // three arrays.
    let received: Vec<i64> = chunk.iter().map(|d| millis(d.received_at)).collect();
    let sizes: Vec<i64> = chunk.iter().map(|d| d.body.len() as i64).collect();
    let bodies: Vec<&[u8]> = chunk.iter().map(|d| d.body.as_ref()).collect();
    let rows = sqlx::query(
        "INSERT INTO deliveries (received_at, next_attempt_at, size, body) \
         SELECT r, r, s, b FROM UNNEST($1::int8[], $2::int8[], $3::bytea[]) AS t (r, s, b) \
         RETURNING id",
    )
    .bind(&received)
    .bind(&sizes)
    .bind(&bodies)
    .fetch_all(executor)
    .await
    .map_err(db_err)?;
    // The identity column hands out increasing values in the arrays' order within one statement;
    // RETURNING's order is not promised, so sort.
    let mut ids = rows
        .iter()
        .map(|r| r.try_get::<i64, _>("id").map_err(db_err))
        .collect::<StoreResult<Vec<_>>>()?;
    if ids.len() != chunk.len() {
        return Err(StoreError::Backend(format!(
            "inserted {} deliveries, expected {}",
            ids.len(),
            chunk.len()
        )));
    }
    ids.sort_unstable();
    Ok(ids.into_iter().map(DeliveryId).collect())
}

/// Inserts the events of several deliveries, in delivery order, skipping keys already recorded
/// (also by an earlier delivery of the same batch); answers how many each delivery recorded.
async fn record_batch_events(
    tx: &mut Transaction<'static, Postgres>,
    items: &[&(DeliveryId, DeliveryCompletion)],
    now: i64,
) -> StoreResult<std::collections::HashMap<i64, u64>> {
    let mut recorded = std::collections::HashMap::new();
    let all: Vec<(DeliveryId, &NewEvent)> = items
        .iter()
        .flat_map(|(id, c)| c.events.iter().map(move |e| (*id, e)))
        .collect();
    for chunk in all.chunks(EVENT_CHUNK_ROWS) {
        let payloads = chunk
            .iter()
            .map(|(_, e)| serde_json::to_string(&e.payload))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Backend(format!("serialising an event payload: {e}")))?;
        let mut qb = QueryBuilder::<Postgres>::new(
            "INSERT INTO events (key, delivery_id, recorded_at, kind, field, waba_id, phone_number_id, \
             account_id, number_id, message_id, wa_id, subtype, wa_timestamp, payload) ",
        );
        qb.push_values(
            chunk.iter().zip(payloads),
            |mut b, ((delivery, e), payload)| {
                b.push_bind(e.key.clone())
                    .push_bind(delivery.0)
                    .push_bind(now)
                    .push_bind(e.kind.as_str())
                    .push_bind(e.field.clone())
                    .push_bind(e.waba_id.clone())
                    .push_bind(e.phone_number_id.clone())
                    .push_bind(e.account_id.map(|a| a.0))
                    .push_bind(e.number_id.map(|n| n.0))
                    .push_bind(e.message_id.clone())
                    .push_bind(e.wa_id.clone())
                    .push_bind(e.subtype.clone())
                    .push_bind(e.wa_timestamp.map(millis))
                    .push_bind(payload);
            },
        );
        qb.push(" ON CONFLICT (key) DO NOTHING RETURNING delivery_id");
        let rows = qb.build().fetch_all(&mut **tx).await.map_err(db_err)?;
        for row in rows {
            let d: i64 = row.try_get(0).map_err(db_err)?;
            *recorded.entry(d).or_insert(0u64) += 1;
        }
    }
    Ok(recorded)
}

/// Creates an account and its first admin inside `tx`.
async fn insert_account(
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    plan: Plan,
    admin: &NewAgent,
    now: OffsetDateTime,
) -> StoreResult<(Account, Agent)> {
    let now = millis(now);
    let account = sqlx::query(sql!(
        "INSERT INTO accounts (name, plan, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         RETURNING {ACCOUNT_COLUMNS}"
    ))
    .bind(name)
    .bind(plan.as_str())
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)?;
    let account = convert::account(&account)?;
    let agent = sqlx::query(sql!(
        "INSERT INTO agents (account_id, name, email, role, api_key_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {AGENT_COLUMNS}"
    ))
    .bind(account.id.0)
    .bind(&admin.name)
    .bind(&admin.email)
    .bind(admin.role.as_str())
    .bind(&admin.api_key_hash)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok((account, convert::agent(&agent)?))
}

fn rows<T>(rows: Vec<PgRow>, f: fn(&PgRow) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

fn count(row: &PgRow, name: &str) -> StoreResult<u64> {
    let n: i64 = row.try_get(name).map_err(db_err)?;
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative count {name}")))
}

#[async_trait]
impl Store for PostgresStore {
    fn ticket_lanes(&self) -> usize {
        TICKET_LANES
    }

    fn inbox_loops(&self) -> usize {
        INBOX_LOOPS
    }

    async fn reconnect(&self) -> StoreResult<Option<std::sync::Arc<dyn Store>>> {
        // The same connection options (and so the same schema) and the same cipher; new pools,
        // whose connections the calling runtime drives. No migrations: this store's ran them.
        // The ingest pool connects only if used (the jobs never insert deliveries).
        let options = (*self.pool.connect_options()).clone();
        Ok(Some(std::sync::Arc::new(PostgresStore {
            pool: pool(options.clone(), MAX_CONNECTIONS).await?,
            ingest: PgPoolOptions::new()
                .max_connections(INGEST_CONNECTIONS)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_lazy_with(options),
            schema: self.schema.clone(),
            cipher: self.cipher.clone(),
        })))
    }

    async fn insert_deliveries(&self, batch: &[NewDelivery]) -> StoreResult<Vec<DeliveryId>> {
        let chunks = delivery_chunks(batch);
        match chunks.as_slice() {
            [] => Ok(Vec::new()),
            // One statement is its own transaction: no BEGIN/COMMIT round trips.
            [only] => insert_chunk(&self.ingest, only).await,
            _ => {
                let mut tx = self.ingest.begin().await.map_err(db_err)?;
                let mut ids = Vec::with_capacity(batch.len());
                for chunk in chunks {
                    ids.extend(insert_chunk(&mut *tx, chunk).await?);
                }
                commit(tx).await?;
                Ok(ids)
            }
        }
    }

    async fn claim_deliveries(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = millis(now);
        let until = now.saturating_add(duration_millis(lease));
        // One statement: rows another claimer has locked are skipped, and a row whose lease
        // another claimer just took is re-checked against the WHERE clause and dropped.
        let claimed = sqlx::query(sql!(
            "WITH picked AS MATERIALIZED ( \
                 SELECT id FROM deliveries \
                 WHERE state = 'pending' AND next_attempt_at <= $3 \
                   AND (locked_until IS NULL OR locked_until <= $3) \
                 ORDER BY id LIMIT $4 \
                 FOR UPDATE SKIP LOCKED) \
             UPDATE deliveries d SET attempts = d.attempts + 1, locked_by = $1, locked_until = $2 \
             FROM picked WHERE d.id = picked.id \
             RETURNING {CLAIMED_COLUMNS}"
        ))
        .bind(worker)
        .bind(until)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut claimed = rows(claimed, convert::delivery)?;
        claimed.sort_by_key(|d| d.id);
        Ok(claimed)
    }

    async fn complete_delivery(
        &self,
        id: DeliveryId,
        worker: &str,
        completion: &DeliveryCompletion,
        now: OffsetDateTime,
    ) -> StoreResult<CompletionReport> {
        // A batch of one: the same checks and statements as a claimed batch.
        self.complete_deliveries(worker, &[(id, completion.clone())], now)
            .await?
            .pop()
            .ok_or_else(|| StoreError::Backend("no result for the completed delivery".into()))?
    }

    async fn complete_deliveries(
        &self,
        worker: &str,
        items: &[(DeliveryId, DeliveryCompletion)],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<StoreResult<CompletionReport>>> {
        for (_, completion) in items {
            reject_pending(completion)?;
        }
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let now = millis(now);
        let mut tx = self.begin().await?;
        // The whole batch in a few statements, not three per delivery: the leases checked
        // (and, on PostgreSQL, the rows locked) at once, the events of every delivery in
        // multi-row INSERTs, the deliveries finished by one UPDATE per outcome.
        let mut qb = QueryBuilder::<Postgres>::new(
            "SELECT id, state, locked_by FROM deliveries WHERE id IN (",
        );
        let mut sep = qb.separated(", ");
        for (id, _) in items {
            sep.push_bind(id.0);
        }
        qb.push(") FOR UPDATE");
        let leases = qb.build().fetch_all(&mut *tx).await.map_err(db_err)?;
        let mut held = std::collections::HashSet::with_capacity(items.len());
        let mut found = std::collections::HashSet::with_capacity(items.len());
        for row in &leases {
            let id: i64 = row.try_get("id").map_err(db_err)?;
            let state: String = row.try_get("state").map_err(db_err)?;
            let locked_by: Option<String> = row.try_get("locked_by").map_err(db_err)?;
            found.insert(id);
            if state == DeliveryState::Pending.as_str() && locked_by.as_deref() == Some(worker) {
                held.insert(id);
            }
        }
        if items.iter().any(|(id, _)| !found.contains(&id.0)) {
            return Err(StoreError::NotFound);
        }
        let mine: Vec<&(DeliveryId, DeliveryCompletion)> =
            items.iter().filter(|(id, _)| held.remove(&id.0)).collect();
        // The events lock keeps event ids in commit order.
        if mine.iter().any(|(_, c)| !c.events.is_empty()) {
            advisory_lock(&mut tx, EVENTS_LOCK).await?;
        }
        let recorded = record_batch_events(&mut tx, &mine, now).await?;
        // One UPDATE per distinct outcome (nearly always one: processed, no error, one account).
        let mut groups: Vec<(&DeliveryCompletion, Vec<i64>)> = Vec::new();
        for (id, c) in &mine {
            match groups.iter_mut().find(|(g, _)| {
                g.state == c.state && g.error == c.error && g.account_id == c.account_id
            }) {
                Some((_, ids)) => ids.push(id.0),
                None => groups.push((c, vec![id.0])),
            }
        }
        for (c, ids) in groups {
            let mut qb = QueryBuilder::<Postgres>::new("UPDATE deliveries SET state = ");
            qb.push_bind(c.state.as_str())
                .push(", error = ")
                .push_bind(c.error.clone())
                .push(", account_id = ")
                .push_bind(c.account_id.map(|a| a.0))
                .push(", processed_at = ")
                .push_bind(now)
                .push(", locked_by = NULL, locked_until = NULL WHERE id IN (");
            let mut sep = qb.separated(", ");
            for id in ids {
                sep.push_bind(id);
            }
            qb.push(")");
            qb.build().execute(&mut *tx).await.map_err(db_err)?;
        }
        commit(tx).await?;
        Ok(items
            .iter()
            .map(|(id, c)| {
                if !mine.iter().any(|(m, _)| m == id) {
                    return Err(StoreError::LeaseLost);
                }
                let n = recorded.get(&id.0).copied().unwrap_or(0);
                Ok(CompletionReport {
                    recorded: n,
                    duplicates: c.events.len() as u64 - n,
                })
            })
            .collect())
    }

    async fn release_delivery(
        &self,
        id: DeliveryId,
        worker: &str,
        error: &str,
        retry_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        lock_leased(&mut tx, id, worker).await?;
        sqlx::query(
            "UPDATE deliveries SET error = $1, next_attempt_at = $2, locked_by = NULL, locked_until = NULL \
             WHERE id = $3",
        )
        .bind(error)
        .bind(millis(retry_at))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        commit(tx).await
    }

    async fn get_delivery(&self, id: DeliveryId) -> StoreResult<Delivery> {
        let row = sqlx::query(sql!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::NotFound)?;
        convert::delivery(&row)
    }

    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        page: Page,
    ) -> StoreResult<Vec<DeliverySummary>> {
        let mut qb = QueryBuilder::<Postgres>::new(format!(
            "SELECT {SUMMARY_COLUMNS} FROM deliveries WHERE TRUE"
        ));
        if let Some(state) = filter.state {
            qb.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(account) = filter.account_id {
            qb.push(" AND (account_id = ").push_bind(account.0);
            if filter.include_unassigned {
                qb.push(" OR account_id IS NULL");
            }
            qb.push(")");
        }
        qb.push(" ORDER BY id DESC LIMIT ")
            .push_bind(page.limit())
            .push(" OFFSET ")
            .push_bind(page.offset());
        let found = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows(found, convert::summary)
    }

    async fn requeue_delivery(&self, id: DeliveryId, now: OffsetDateTime) -> StoreResult<()> {
        retention::requeue_delivery(self, id, now).await
    }

    async fn prune_delivery_bodies(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<PruneReport> {
        retention::prune_delivery_bodies(self, before, limit).await
    }

    async fn inbox_stats(&self) -> StoreResult<InboxStats> {
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM deliveries WHERE state = 'pending') AS pending, \
               (SELECT MIN(received_at) FROM deliveries WHERE state = 'pending') AS oldest, \
               (SELECT COUNT(*) FROM deliveries WHERE state = 'quarantined') AS quarantined, \
               (SELECT COUNT(*) FROM deliveries WHERE state = 'unrouted') AS unrouted, \
               (SELECT COUNT(*) FROM events) AS events",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        let oldest: Option<i64> = row.try_get("oldest").map_err(db_err)?;
        Ok(InboxStats {
            pending: count(&row, "pending")?,
            oldest_pending_received_at: oldest.map(convert::instant).transpose()?,
            quarantined: count(&row, "quarantined")?,
            unrouted: count(&row, "unrouted")?,
            events: count(&row, "events")?,
        })
    }

    async fn list_events(&self, after: Option<EventId>, limit: u32) -> StoreResult<Vec<Event>> {
        let found = sqlx::query(sql!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after.map_or(0, |e| e.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows(found, convert::event)
    }

    async fn create_account(
        &self,
        name: &str,
        plan: Plan,
        admin: &NewAgent,
        now: OffsetDateTime,
    ) -> StoreResult<(Account, Agent)> {
        let mut tx = self.begin().await?;
        let created = insert_account(&mut tx, name, plan, admin, now).await?;
        commit(tx).await?;
        Ok(created)
    }

    async fn bootstrap_account(
        &self,
        name: &str,
        admin: &NewAgent,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Account, Agent)>> {
        let mut tx = self.begin().await?;
        // Held until commit: a second process waits here, then sees the first one's agent.
        advisory_lock(&mut tx, BOOTSTRAP_LOCK).await?;
        let any_agent: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM agents)")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if any_agent {
            return Ok(None);
        }
        let created = insert_account(&mut tx, name, Plan::Growth, admin, now).await?;
        commit(tx).await?;
        Ok(Some(created))
    }

    async fn get_account(&self, id: AccountId) -> StoreResult<Account> {
        let row = sqlx::query(sql!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?;
        convert::account(&row)
    }

    async fn set_account_plan(
        &self,
        id: AccountId,
        plan: Plan,
        now: OffsetDateTime,
    ) -> StoreResult<Account> {
        let row = sqlx::query(sql!(
            "UPDATE accounts SET plan = $1, updated_at = $2 WHERE id = $3 RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(plan.as_str())
        .bind(millis(now))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::NotFound)?;
        convert::account(&row)
    }

    async fn find_agent_by_api_key_hash(&self, api_key_hash: &str) -> StoreResult<Option<Agent>> {
        let row = sqlx::query(sql!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE api_key_hash = $1"
        ))
        .bind(api_key_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(convert::agent).transpose()
    }

    async fn connect_number(
        &self,
        number: &NewNumber,
        max_per_account: u32,
        now: OffsetDateTime,
    ) -> StoreResult<WaNumber> {
        let now = millis(now);
        let mut tx = self.begin().await?;
        // Serialises connects per account (NO KEY UPDATE does not block foreign-key checks
        // of other writers referencing the account).
        let locked = sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE")
            .bind(number.account_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if locked.is_none() {
            return Err(StoreError::NotFound);
        }
        let taken: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM wa_numbers WHERE phone_number_id = $1)",
        )
        .bind(&number.phone_number_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if taken {
            return Err(StoreError::Conflict(
                "this phone_number_id is already connected".to_owned(),
            ));
        }
        let held: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM wa_numbers WHERE account_id = $1 AND status <> 'disconnected'",
        )
        .bind(number.account_id.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if held >= i64::from(max_per_account) {
            return Err(StoreError::LimitReached(format!(
                "an account holds at most {max_per_account} WhatsApp numbers"
            )));
        }
        // A concurrent connect of the same phone_number_id to another account is settled by
        // the unique constraint (mapped to Conflict).
        let row = sqlx::query(sql!(
            "INSERT INTO wa_numbers (account_id, phone_number_id, waba_id, display_phone_number, name, \
             access_token, app_secret, threading_interval_hours, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {NUMBER_COLUMNS}"
        ))
        .bind(number.account_id.0)
        .bind(&number.phone_number_id)
        .bind(&number.waba_id)
        .bind(&number.display_phone_number)
        .bind(&number.name)
        .bind(store::seal_opt(self.cipher(), number.access_token.expose())?)
        .bind(
            number
                .app_secret
                .as_ref()
                .map(|s| store::seal_opt(self.cipher(), s.expose()))
                .transpose()?,
        )
        .bind(number.threading_interval.hours() as i32)
        .bind(number.status.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let created = store::open_number(self.cipher(), convert::number(&row)?)?;
        commit(tx).await?;
        Ok(created)
    }

    async fn list_numbers(&self, account: AccountId) -> StoreResult<Vec<WaNumber>> {
        let found = sqlx::query(sql!(
            "SELECT {NUMBER_COLUMNS} FROM wa_numbers WHERE account_id = $1 ORDER BY id"
        ))
        .bind(account.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        found
            .iter()
            .map(|r| store::open_number(self.cipher(), convert::number(r)?))
            .collect()
    }

    async fn find_number_by_phone_number_id(
        &self,
        phone_number_id: &str,
    ) -> StoreResult<Option<WaNumber>> {
        let row = sqlx::query(sql!(
            "SELECT {NUMBER_COLUMNS} FROM wa_numbers WHERE phone_number_id = $1"
        ))
        .bind(phone_number_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref()
            .map(|r| store::open_number(self.cipher(), convert::number(r)?))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_rows_and_bytes() {
        let batch = |sizes: &[usize]| -> Vec<NewDelivery> {
            sizes
                .iter()
                .map(|&n| NewDelivery {
                    received_at: OffsetDateTime::UNIX_EPOCH,
                    body: vec![b'x'; n].into(),
                })
                .collect()
        };
        let many = batch(&[1; 2_500]);
        let lens: Vec<_> = delivery_chunks(&many).iter().map(|c| c.len()).collect();
        assert_eq!(lens, vec![1_000, 1_000, 500]);
        let big = DELIVERY_CHUNK_BYTES / 2 + 1;
        let heavy = batch(&[big, big, big]);
        let lens: Vec<_> = delivery_chunks(&heavy).iter().map(|c| c.len()).collect();
        assert_eq!(lens, vec![1, 1, 1]);
        assert!(delivery_chunks(&[]).is_empty());
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema_name("wadesk_test_1").is_ok());
        assert!(check_schema_name("_x").is_ok());
        for bad in [
            "",
            "1abc",
            "Upper",
            "a-b",
            "a\"; DROP TABLE x; --",
            &"a".repeat(64),
        ] {
            assert!(check_schema_name(bad).is_err(), "{bad:?}");
        }
    }
}
