//! Contacts, tickets, conversation entries and event outcomes ([`store::TicketStore`]).
//!
//! The implementation is shared with the SQLite adapter: this file names the database and the
//! adapter's hooks, and includes `../../store-sqlite/src/shared/tickets.rs`.

use crate::{EVENT_COLUMNS, PostgresStore as AdapterStore};
use sqlx::Postgres as Db;
use sqlx::postgres::PgRow as DbRow;

include!("../../store-sqlite/src/shared/tickets.rs");

/// Ids for the rows `plan` expects (contacts, tickets, entries), drawn from the tables' identity
/// sequences in one statement (a sequence never gives an id twice, so what the transaction
/// reserved before, `_above`, needs no care). Ids drawn and not used are skipped, as a
/// rolled-back insert skips one.
async fn reserve_ids(
    conn: &mut sqlx::PgConnection,
    plan: InsertPlan,
    _above: [i64; 3],
) -> StoreResult<[Vec<i64>; 3]> {
    let rows = sqlx::query(
        "SELECT 0 AS t, nextval(pg_get_serial_sequence('contacts', 'id')) AS id \
         FROM generate_series(1, $1::int) \
         UNION ALL SELECT 1, nextval(pg_get_serial_sequence('tickets', 'id')) \
         FROM generate_series(1, $2::int) \
         UNION ALL SELECT 2, nextval(pg_get_serial_sequence('ticket_entries', 'id')) \
         FROM generate_series(1, $3::int)",
    )
    .bind(i64::from(plan.contacts))
    .bind(i64::from(plan.tickets))
    .bind(i64::from(plan.entries))
    .fetch_all(conn)
    .await
    .map_err(crate::convert::db_err)?;
    let mut ids: [Vec<i64>; 3] = Default::default();
    for row in &rows {
        let table: i32 = row.try_get("t").map_err(crate::convert::db_err)?;
        let id: i64 = row.try_get("id").map_err(crate::convert::db_err)?;
        let slot = usize::try_from(table)
            .ok()
            .and_then(|t| ids.get_mut(t))
            .ok_or_else(|| StoreError::Corrupt(format!("id reservation: table {table}")))?;
        slot.push(id);
    }
    for list in &mut ids {
        list.sort_unstable();
    }
    Ok(ids)
}

/// `SELECT` of the account's contacts whose `column` is one of `values`: one index lookup per
/// value, as a lateral join over the list. The plain `column IN (…)` is planned from
/// statistics, and before the table's first `ANALYZE` (a new database taking its first burst)
/// PostgreSQL guessed that the account holds a handful of contacts and filtered all of them
/// (6.9 ms at 20,000 contacts, where the lookups take 0.1 ms); `OFFSET 0` keeps the lateral
/// subquery from being flattened into a join the planner could turn the same way.
fn push_contacts_matching(
    qb: &mut QueryBuilder<Db>,
    account: AccountId,
    column: &str,
    values: &[String],
) {
    qb.push("SELECT c.* FROM unnest(")
        .push_bind(values.to_vec())
        .push(format!(
            "::text[]) AS k(v) CROSS JOIN LATERAL (SELECT {CONTACT_COLUMNS} FROM contacts \
             WHERE account_id = "
        ))
        .push_bind(account.0)
        .push(format!(" AND {column} = k.v OFFSET 0) c"));
}

/// Each of `requesters`' latest live ticket on `number` ([`TicketTx::latest_tickets`]): one
/// index lookup per requester, as a lateral join over the list, for the reason given at
/// [`push_contacts_matching`] (a window over `requester_id IN (…)` was planned, before the first
/// `ANALYZE`, as a filter over every ticket of the account: 10–20 ms a batch at 60,000
/// tickets). The same order as SQLite's window: latest message (or creation), then id.
fn latest_tickets_query(
    account: AccountId,
    number: NumberId,
    requesters: &[ContactId],
) -> QueryBuilder<Db> {
    let ids: Vec<i64> = requesters.iter().map(|r| r.0).collect();
    let mut qb = QueryBuilder::<Db>::new("SELECT t.* FROM unnest(");
    qb.push_bind(ids)
        .push(format!(
            "::bigint[]) AS r(id) CROSS JOIN LATERAL (SELECT {TICKET_COLUMNS} FROM tickets \
             WHERE account_id = "
        ))
        .push_bind(account.0)
        .push(" AND requester_id = r.id AND number_id = ")
        .push_bind(number.0)
        .push(" AND deleted = ")
        .push_bind(false)
        .push(" ORDER BY COALESCE(last_message_at, created_at) DESC, id DESC LIMIT 1) t");
    qb
}
