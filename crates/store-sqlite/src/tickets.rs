//! Contacts, tickets, conversation entries and event outcomes ([`store::TicketStore`]).
//!
//! The implementation is shared with the PostgreSQL adapter: this file names the database and the
//! adapter's hooks, and includes `shared/tickets.rs`.

use crate::{EVENT_COLUMNS, SqliteStore as AdapterStore};
use sqlx::Sqlite as Db;
use sqlx::sqlite::SqliteRow as DbRow;

include!("shared/tickets.rs");

/// Ids for the rows `plan` expects (contacts, tickets, entries), after the highest each table
/// has given out and after `above` (what the transaction reserved before). The ticket
/// transaction holds SQLite's write lock from its first statement, so no other writer can
/// take them; ids a transaction reserves and does not use are given out again.
async fn reserve_ids(
    conn: &mut sqlx::SqliteConnection,
    plan: InsertPlan,
    above: [i64; 3],
) -> StoreResult<[Vec<i64>; 3]> {
    let row = sqlx::query(
        "SELECT \
         MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'contacts'), 0), \
             COALESCE((SELECT MAX(id) FROM contacts), 0)), \
         MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'tickets'), 0), \
             COALESCE((SELECT MAX(id) FROM tickets), 0)), \
         MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'ticket_entries'), 0), \
             COALESCE((SELECT MAX(id) FROM ticket_entries), 0))",
    )
    .fetch_one(conn)
    .await
    .map_err(crate::convert::db_err)?;
    let after = |i: usize, n: u32| -> StoreResult<Vec<i64>> {
        let last: i64 = row.try_get(i).map_err(crate::convert::db_err)?;
        let last = last.max(above[i]);
        Ok((1..=i64::from(n)).map(|k| last + k).collect())
    };
    Ok([
        after(0, plan.contacts)?,
        after(1, plan.tickets)?,
        after(2, plan.entries)?,
    ])
}

/// `SELECT` of the account's contacts whose `column` is one of `values`: one `IN` list, which
/// SQLite answers from the column's index.
fn push_contacts_matching(
    qb: &mut QueryBuilder<Db>,
    account: AccountId,
    column: &str,
    values: &[String],
) {
    qb.push(format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = "
    ))
    .push_bind(account.0)
    .push(" AND ");
    push_in(qb, column, values);
}

/// Each of `requesters`' latest live ticket on `number` ([`TicketTx::latest_tickets`]): one
/// window over their tickets, which SQLite reads from the requester index.
fn latest_tickets_query(
    account: AccountId,
    number: NumberId,
    requesters: &[ContactId],
) -> QueryBuilder<Db> {
    let mut qb = QueryBuilder::<Db>::new(format!(
        "SELECT {TICKET_COLUMNS} FROM (SELECT {TICKET_COLUMNS}, ROW_NUMBER() OVER (\
         PARTITION BY requester_id ORDER BY COALESCE(last_message_at, created_at) DESC, id DESC) AS rn \
         FROM tickets WHERE account_id = "
    ));
    qb.push_bind(account.0)
        .push(" AND number_id = ")
        .push_bind(number.0)
        .push(" AND deleted = ")
        .push_bind(false)
        .push(" AND requester_id IN (");
    let mut sep = qb.separated(", ");
    for r in requesters {
        sep.push_bind(r.0);
    }
    qb.push(")) latest WHERE rn = 1");
    qb
}
