//! SQLite adapter of the storage port ([`store::Store`]).
//!
//! [`SqliteStore`] keeps everything in one SQLite file (or in memory, for tests):
//!
//! - **Durable**: WAL journal with `synchronous=FULL`, so a write that returned `Ok` survives
//!   a crash or power loss. [`store::Store::insert_deliveries`] writes a whole batch with one
//!   multi-row `INSERT` per chunk and one commit (one flush), which is what makes group commit
//!   cheap.
//! - **No `SQLITE_BUSY` under concurrency**: all writes go through a writer pool of exactly one
//!   connection, and every write transaction starts with `BEGIN IMMEDIATE`, so a transaction
//!   never has to upgrade a read lock (the case SQLite cannot wait for). Writers from other
//!   processes are waited for with a busy timeout. Reads use a separate pool and, thanks to WAL,
//!   never block the writer nor are blocked by it.
//! - **Webhook deliveries first**: the other writers take turns in a lane, one transaction at a
//!   time, so a batch of deliveries (requests waiting for their acknowledgement) waits for at
//!   most the transaction holding the writer, not for every job queued before it.
//! - **Migrations** live in `migrations/`, are embedded at compile time and run at connect.
//!
//! Instants are stored as INTEGER Unix milliseconds (UTC); values finer than a millisecond are
//! truncated. Bodies are BLOBs, stored byte for byte; event payloads are JSON text.
//!
//! This crate is not the place for business rules: it stores and fetches what the port
//! describes, atomically, and nothing more. It is single-node by nature; run several processes
//! on one database with `store-postgres`.

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
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
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

/// The name of the writer connection's worker thread, followed by a number. sqlx runs each
/// SQLite connection on a thread of its own; every statement is a hand-over to that thread and
/// back, which costs far less when the thread that sends it runs on the same CPU (see
/// `docs/design/20261129_jobs_cpu.md`). A name, unlike a handle, lets the application find the
/// thread in `/proc/self/task` and place it. At most 15 bytes with the number (Linux's limit).
pub const WRITER_THREAD_PREFIX: &str = "sqlite-w-";
/// The name of the reader connections' worker threads, followed by a number.
pub const READER_THREAD_PREFIX: &str = "sqlite-r-";

/// The embedded migrations of this adapter.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Rows per multi-row `INSERT` of deliveries (3 bound values each, far under SQLite's 32,766).
const DELIVERY_CHUNK_ROWS: usize = 1_000;
/// Body bytes per multi-row `INSERT` of deliveries, so one statement stays a sane size.
const DELIVERY_CHUNK_BYTES: usize = 64 * 1024 * 1024;
/// Rows per multi-row `INSERT` of events (14 bound values each).
const EVENT_CHUNK_ROWS: usize = 500;
/// How long a connection waits for another process's write lock before failing.
const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(30);
/// How often a job waiting for its turn at the writer checks for a turn left behind.
const STALE_TURN_CHECK: StdDuration = StdDuration::from_secs(1);

/// How long a write waits for the single writer connection.
const WRITER_ACQUIRE_TIMEOUT: StdDuration = StdDuration::from_secs(120);
/// Connections in the reader pool.
const READERS: u32 = 4;

const DELIVERY_COLUMNS: &str =
    "id, received_at, size, state, attempts, error, account_id, processed_at, body";
/// Whether retention emptied the body (its length read from the row, not the body itself).
const PRUNED: &str = "(size > 0 AND length(body) = 0)";
const SUMMARY_COLUMNS: &str = concat!(
    "id, received_at, size, state, attempts, error, account_id, processed_at, ",
    "(size > 0 AND length(body) = 0) AS pruned"
);
pub(crate) const EVENT_COLUMNS: &str = "id, key, delivery_id, recorded_at, kind, field, waba_id, phone_number_id, account_id, \
     number_id, message_id, wa_id, subtype, wa_timestamp, payload";
pub(crate) const NUMBER_COLUMNS: &str = "id, account_id, phone_number_id, waba_id, display_phone_number, name, access_token, \
     app_secret, threading_interval_hours, status, created_at, updated_at";
const ACCOUNT_COLUMNS: &str = "id, name, plan, created_at, updated_at";
pub(crate) const AGENT_COLUMNS: &str = "id, account_id, name, email, role, created_at, updated_at";

/// The SQLite implementation of [`Store`]. Cheap to clone: clones share the pools.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection: every write goes through it.
    writer: SqlitePool,
    /// Connections for reads (the writer pool itself for in-memory databases).
    reader: SqlitePool,
    /// Seals numbers' secrets at rest, when a key is configured.
    cipher: Option<std::sync::Arc<store::SecretCipher>>,
    /// Held by the jobs' write transaction that has or waits for the connection
    /// ([`SqliteStore::write`]).
    lane: Lane,
}

/// One job transaction at a time at the writer connection, from before it queues for the
/// connection until the connection is back in the pool, so a delivery batch that comes meanwhile
/// is next ([`SqliteStore::write`]).
#[derive(Debug, Clone, Default)]
struct Lane {
    turn: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// The holder's turn while its transaction has the connection: given up by the pool's
    /// `after_release` hook when the connection comes back.
    held: std::sync::Arc<std::sync::Mutex<Option<tokio::sync::OwnedMutexGuard<()>>>>,
}

impl Lane {
    /// Waits for the turn. A turn left behind by a connection that came back without the
    /// hook (its return task was cancelled with its runtime) is noticed by the connection
    /// being idle while a turn is held, and given up.
    async fn take_turn(
        &self,
        writer: &SqlitePool,
    ) -> StoreResult<tokio::sync::OwnedMutexGuard<()>> {
        let deadline = tokio::time::Instant::now() + WRITER_ACQUIRE_TIMEOUT;
        loop {
            let wait = (tokio::time::Instant::now() + STALE_TURN_CHECK).min(deadline);
            if let Ok(turn) = tokio::time::timeout_at(wait, self.turn.clone().lock_owned()).await {
                return Ok(turn);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::Backend(format!(
                    "no turn at the SQLite writer within {WRITER_ACQUIRE_TIMEOUT:?}"
                )));
            }
            if writer.num_idle() > 0 {
                let stale = self.held.lock().unwrap_or_else(|e| e.into_inner()).take();
                drop(stale);
            }
        }
    }

    /// The writer pool's options with the hook that ends a turn when the connection is back.
    fn on(&self, options: SqlitePoolOptions) -> SqlitePoolOptions {
        let held = self.held.clone();
        options.after_release(move |_conn, _meta| {
            let turn = held.lock().unwrap_or_else(|e| e.into_inner()).take();
            drop(turn);
            Box::pin(async { Ok(true) })
        })
    }
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `url` and brings its schema up to date.
    ///
    /// Accepted forms: `sqlite://path/to/file.db`, `sqlite:path/to/file.db`, a plain path, and
    /// `sqlite::memory:` for a private in-memory database (lost when the store is dropped).
    /// The directory of a file must already exist.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        let base = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid SQLite URL {url:?}: {e}")))?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Full);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");

        let lane = Lane::default();
        let store = if in_memory {
            // One connection holds the database alive and serves reads and writes.
            let pool = lane
                .on(SqlitePoolOptions::new())
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(WRITER_ACQUIRE_TIMEOUT)
                .connect_with(base.thread_name(|id| format!("{WRITER_THREAD_PREFIX}{id}")))
                .await
                .map_err(db_err)?;
            SqliteStore {
                writer: pool.clone(),
                reader: pool,
                cipher: None,
                lane,
            }
        } else {
            // The one writer connection is kept for the life of the pool, so its worker thread
            // (named `sqlite-w-N`, see [`WRITER_THREAD_PREFIX`]) can be placed on a CPU once.
            let writer = lane
                .on(SqlitePoolOptions::new())
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(WRITER_ACQUIRE_TIMEOUT)
                .connect_with(
                    base.clone()
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .thread_name(|id| format!("{WRITER_THREAD_PREFIX}{id}")),
                )
                .await
                .map_err(db_err)?;
            // The writer has created the file and switched it to WAL (a persistent setting).
            let reader = SqlitePoolOptions::new()
                .max_connections(READERS)
                .connect_with(base.thread_name(|id| format!("{READER_THREAD_PREFIX}{id}")))
                .await
                .map_err(db_err)?;
            SqliteStore {
                writer,
                reader,
                cipher: None,
                lane,
            }
        };
        MIGRATOR
            .run(&store.writer)
            .await
            .map_err(|e| StoreError::Backend(format!("migrating the SQLite database: {e}")))?;
        Ok(store)
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

    /// A write transaction for the directory (holds the write lock from its first statement).
    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.write().await
    }

    /// Closes both pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// A write transaction for one account's tickets (SQLite has one writer: it serialises).
    async fn begin_ticket_tx(
        &self,
        _account: AccountId,
    ) -> StoreResult<Transaction<'static, Sqlite>> {
        self.write().await
    }

    /// A write transaction for some customers' tickets: the same one writer.
    async fn begin_customer_tx(
        &self,
        account: AccountId,
        _customers: &[String],
    ) -> StoreResult<Transaction<'static, Sqlite>> {
        self.begin_ticket_tx(account).await
    }

    /// The pool for reads.
    fn read_pool(&self) -> &SqlitePool {
        &self.reader
    }

    /// The pool for writes outside a transaction.
    fn write_pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// Starts a write transaction that holds SQLite's write lock from its first statement.
    ///
    /// The pool serves its waiters first come, first served, and the jobs open many short
    /// transactions: left alone, a batch of webhook deliveries (requests waiting for their
    /// acknowledgement) arriving behind several of them would wait for them all. So every other
    /// writer takes a turn in a [`Lane`], one at a time, from before it queues for the
    /// connection until the connection is back in the pool: a delivery batch
    /// ([`Store::insert_deliveries`], which skips the lane) waits for at most the transaction
    /// holding the connection, and the jobs still get the connection between two batches (the
    /// pool is fair), so a steady stream of deliveries cannot starve them.
    async fn write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        let turn = self.lane.take_turn(&self.writer).await?;
        let tx = self.begin_immediate().await?;
        // Given up when the transaction ends and its connection is back in the pool.
        *self.lane.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(turn);
        Ok(tx)
    }

    /// `BEGIN IMMEDIATE` on the writer connection, in the pool's order.
    async fn begin_immediate(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)
    }
}

async fn commit(tx: Transaction<'static, Sqlite>) -> StoreResult<()> {
    tx.commit().await.map_err(db_err)
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

/// Where the lease of a delivery stands, read inside a write transaction.
fn reject_pending(completion: &DeliveryCompletion) -> StoreResult<()> {
    if completion.state == DeliveryState::Pending {
        return Err(StoreError::Conflict(
            "a delivery cannot be completed as pending; release it instead".to_owned(),
        ));
    }
    Ok(())
}

async fn check_lease(
    tx: &mut Transaction<'static, Sqlite>,
    id: DeliveryId,
    worker: &str,
) -> StoreResult<()> {
    let row = sqlx::query("SELECT state, locked_by FROM deliveries WHERE id = ?")
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

/// Inserts the events of several deliveries, in delivery order, skipping keys already recorded
/// (also by an earlier delivery of the same batch); answers how many each delivery recorded.
async fn record_batch_events(
    tx: &mut Transaction<'static, Sqlite>,
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
        let mut qb = QueryBuilder::<Sqlite>::new(
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
    tx: &mut Transaction<'static, Sqlite>,
    name: &str,
    plan: Plan,
    admin: &NewAgent,
    now: OffsetDateTime,
) -> StoreResult<(Account, Agent)> {
    let now = millis(now);
    let account = sqlx::query(sql!(
        "INSERT INTO accounts (name, plan, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING {ACCOUNT_COLUMNS}"
    ))
    .bind(name)
    .bind(plan.as_str())
    .bind(now)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)?;
    let account = convert::account(&account)?;
    let agent = sqlx::query(sql!(
        "INSERT INTO agents (account_id, name, email, role, api_key_hash, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {AGENT_COLUMNS}"
    ))
    .bind(account.id.0)
    .bind(&admin.name)
    .bind(&admin.email)
    .bind(admin.role.as_str())
    .bind(&admin.api_key_hash)
    .bind(now)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok((account, convert::agent(&agent)?))
}

fn rows<T>(rows: Vec<SqliteRow>, f: fn(&SqliteRow) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

fn count(row: &SqliteRow, name: &str) -> StoreResult<u64> {
    let n: i64 = row.try_get(name).map_err(db_err)?;
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative count {name}")))
}

#[async_trait]
impl Store for SqliteStore {
    fn runtime_independent(&self) -> bool {
        true
    }

    async fn insert_deliveries(&self, batch: &[NewDelivery]) -> StoreResult<Vec<DeliveryId>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        // Ahead of the jobs' lane (`write`): a request waits for this commit.
        let mut tx = self.begin_immediate().await?;
        let mut ids = Vec::with_capacity(batch.len());
        for chunk in delivery_chunks(batch) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "INSERT INTO deliveries (received_at, next_attempt_at, size, body) ",
            );
            qb.push_values(chunk, |mut b, d| {
                let at = millis(d.received_at);
                b.push_bind(at)
                    .push_bind(at)
                    .push_bind(d.body.len() as i64)
                    .push_bind(d.body.as_ref());
            });
            qb.push(" RETURNING id");
            let rows = qb.build().fetch_all(&mut *tx).await.map_err(db_err)?;
            // One statement under the write lock assigns increasing ids in VALUES order;
            // RETURNING's own order is unspecified, so sort.
            let mut chunk_ids = rows
                .iter()
                .map(|r| r.try_get::<i64, _>("id").map_err(db_err))
                .collect::<StoreResult<Vec<_>>>()?;
            if chunk_ids.len() != chunk.len() {
                return Err(StoreError::Backend(format!(
                    "inserted {} deliveries, expected {}",
                    chunk_ids.len(),
                    chunk.len()
                )));
            }
            chunk_ids.sort_unstable();
            ids.extend(chunk_ids.into_iter().map(DeliveryId));
        }
        commit(tx).await?;
        Ok(ids)
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
        let mut tx = self.write().await?;
        let claimed = sqlx::query(sql!(
            "UPDATE deliveries SET attempts = attempts + 1, locked_by = ?, locked_until = ? \
             WHERE id IN (SELECT id FROM deliveries \
                          WHERE state = 'pending' AND next_attempt_at <= ? \
                            AND (locked_until IS NULL OR locked_until <= ?) \
                          ORDER BY id LIMIT ?) \
             RETURNING {DELIVERY_COLUMNS}"
        ))
        .bind(worker)
        .bind(until)
        .bind(now)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        commit(tx).await?;
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
        let mut tx = self.write().await?;
        // The whole batch in a few statements, not three per delivery: the leases checked
        // (and, on PostgreSQL, the rows locked) at once, the events of every delivery in
        // multi-row INSERTs, the deliveries finished by one UPDATE per outcome.
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT id, state, locked_by FROM deliveries WHERE id IN (",
        );
        let mut sep = qb.separated(", ");
        for (id, _) in items {
            sep.push_bind(id.0);
        }
        qb.push(")");
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
            let mut qb = QueryBuilder::<Sqlite>::new("UPDATE deliveries SET state = ");
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
        let mut tx = self.write().await?;
        check_lease(&mut tx, id, worker).await?;
        sqlx::query(
            "UPDATE deliveries SET error = ?, next_attempt_at = ?, locked_by = NULL, locked_until = NULL \
             WHERE id = ?",
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
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?"
        ))
        .bind(id.0)
        .fetch_optional(&self.reader)
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
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {SUMMARY_COLUMNS} FROM deliveries WHERE 1 = 1"
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
        let found = qb.build().fetch_all(&self.reader).await.map_err(db_err)?;
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
        .fetch_one(&self.reader)
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
            "SELECT {EVENT_COLUMNS} FROM events WHERE id > ? ORDER BY id LIMIT ?"
        ))
        .bind(after.map_or(0, |e| e.0))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
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
        let mut tx = self.write().await?;
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
        // BEGIN IMMEDIATE holds the database's write lock (across processes too) from here to
        // the commit, so the check and the insert are one step.
        let mut tx = self.write().await?;
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
        let row = sqlx::query(sql!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(&self.reader)
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
        let mut tx = self.write().await?;
        let row = sqlx::query(sql!(
            "UPDATE accounts SET plan = ?, updated_at = ? WHERE id = ? RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(plan.as_str())
        .bind(millis(now))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::NotFound)?;
        let account = convert::account(&row)?;
        commit(tx).await?;
        Ok(account)
    }

    async fn find_agent_by_api_key_hash(&self, api_key_hash: &str) -> StoreResult<Option<Agent>> {
        let row = sqlx::query(sql!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE api_key_hash = ?"
        ))
        .bind(api_key_hash)
        .fetch_optional(&self.reader)
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
        let mut tx = self.write().await?;
        let account_exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?)")
                .bind(number.account_id.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        if !account_exists {
            return Err(StoreError::NotFound);
        }
        let taken: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM wa_numbers WHERE phone_number_id = ?)",
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
            "SELECT COUNT(*) FROM wa_numbers WHERE account_id = ? AND status <> 'disconnected'",
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
        let row = sqlx::query(sql!(
            "INSERT INTO wa_numbers (account_id, phone_number_id, waba_id, display_phone_number, name, \
             access_token, app_secret, threading_interval_hours, status, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {NUMBER_COLUMNS}"
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
        .bind(number.threading_interval.hours())
        .bind(number.status.as_str())
        .bind(now)
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
            "SELECT {NUMBER_COLUMNS} FROM wa_numbers WHERE account_id = ? ORDER BY id"
        ))
        .bind(account.0)
        .fetch_all(&self.reader)
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
            "SELECT {NUMBER_COLUMNS} FROM wa_numbers WHERE phone_number_id = ?"
        ))
        .bind(phone_number_id)
        .fetch_optional(&self.reader)
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
    use time::macros::datetime;

    fn batch(sizes: &[usize]) -> Vec<NewDelivery> {
        sizes
            .iter()
            .map(|&n| NewDelivery {
                received_at: datetime!(2026-11-29 12:00 UTC),
                body: vec![b'x'; n].into(),
            })
            .collect()
    }

    #[test]
    fn chunks_respect_rows_and_bytes() {
        let many = batch(&vec![1; 2_500]);
        let chunks = delivery_chunks(&many);
        assert_eq!(
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
            vec![1_000, 1_000, 500]
        );

        let big = DELIVERY_CHUNK_BYTES / 2 + 1;
        let heavy = batch(&[big, big, big]);
        let chunks = delivery_chunks(&heavy);
        assert_eq!(
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
            vec![1, 1, 1]
        );

        // A single body over the byte limit still gets its own chunk.
        let huge = batch(&[DELIVERY_CHUNK_BYTES + 1]);
        assert_eq!(delivery_chunks(&huge).len(), 1);
        assert!(delivery_chunks(&[]).is_empty());
    }

    async fn pragma(pool: &SqlitePool, name: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
            .fetch_one(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn every_connection_is_durable_with_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        for pool in [&store.writer, &store.reader] {
            assert_eq!(pragma(pool, "synchronous").await, 2, "synchronous=FULL");
            assert_eq!(pragma(pool, "foreign_keys").await, 1);
            assert_eq!(pragma(pool, "busy_timeout").await, 30_000);
        }
        assert_eq!(store.writer.options().get_max_connections(), 1);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&store.reader)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }

    /// A job's transaction that records `label` as a delivery (ids give the commit order).
    async fn job_writes(store: SqliteStore, label: &'static str) {
        let mut tx = store.write().await.unwrap();
        sqlx::query(
            "INSERT INTO deliveries (received_at, next_attempt_at, size, body) VALUES (0, 0, 0, ?)",
        )
        .bind(label.as_bytes())
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn a_turn_left_behind_is_given_up() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        // The migrations' connection goes back to the pool in a task of its own; let it.
        tokio::time::sleep(StdDuration::from_millis(200)).await;
        assert_eq!(store.writer.num_idle(), 1);
        // As if a job's connection had come back without the hook: a turn held, the
        // connection idle.
        let turn = store.lane.turn.clone().lock_owned().await;
        *store.lane.held.lock().unwrap() = Some(turn);
        let started = std::time::Instant::now();
        job_writes(store.clone(), "after").await;
        let waited = started.elapsed();
        assert!(
            waited >= STALE_TURN_CHECK && waited < STALE_TURN_CHECK * 3,
            "{waited:?}"
        );
        // The hook gave the new turn up: the next write does not wait.
        tokio::time::sleep(StdDuration::from_millis(200)).await;
        let started = std::time::Instant::now();
        job_writes(store.clone(), "next").await;
        assert!(started.elapsed() < STALE_TURN_CHECK);
    }

    #[tokio::test]
    async fn a_waiting_delivery_batch_goes_before_the_jobs_queued_behind_one() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("q.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        let settle = || tokio::time::sleep(StdDuration::from_millis(100));
        // A transaction holds the writer; two jobs queue for it, then a delivery batch.
        let holder = store.write().await.unwrap();
        let job1 = tokio::spawn(job_writes(store.clone(), "job1"));
        settle().await;
        let job2 = tokio::spawn(job_writes(store.clone(), "job2"));
        settle().await;
        let ingest = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut one = batch(&[0]);
                one[0].body = b"ingest".to_vec().into();
                store.insert_deliveries(&one).await.unwrap()
            })
        };
        settle().await;
        holder.commit().await.unwrap();
        let _ = tokio::join!(job1, job2, ingest);
        let order: Vec<Vec<u8>> = sqlx::query_scalar("SELECT body FROM deliveries ORDER BY id")
            .fetch_all(&store.reader)
            .await
            .unwrap();
        // The jobs waited in the lane, so the batch went first (in arrival order, last).
        assert_eq!(
            order,
            [b"ingest".to_vec(), b"job1".to_vec(), b"job2".to_vec()]
        );
    }
}
