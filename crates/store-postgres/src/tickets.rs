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
