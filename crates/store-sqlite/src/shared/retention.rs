// Shared by `store-sqlite` and `store-postgres`: each adapter's `src/retention.rs` names its
// database (`Db`), `AdapterStore` (with `begin_write`) and `FOR_UPDATE` (the row-locking clause:
// empty on SQLite, whose write transactions hold the one write lock, `FOR UPDATE` on
// PostgreSQL), and its `lib.rs` defines `PRUNED`; then it includes this file.
use sqlx::{QueryBuilder, Row};
use store::{DeliveryId, DeliveryState, PruneReport, StoreError, StoreResult};
use time::OffsetDateTime;

use crate::convert::{db_err, millis};

/// [`store::Store::requeue_delivery`]: back to pending, if the delivery exists, is finished and
/// still has its body.
pub(crate) async fn requeue_delivery(
    store: &AdapterStore,
    id: DeliveryId,
    now: OffsetDateTime,
) -> StoreResult<()> {
    let mut tx = store.begin_write().await?;
    let mut find = QueryBuilder::<Db>::new(format!(
        "SELECT state, {} AS pruned FROM deliveries WHERE id = ",
        crate::PRUNED
    ));
    find.push_bind(id.0).push(" ").push(FOR_UPDATE);
    let found = find
        .build()
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .map(|row| -> StoreResult<(String, bool)> {
            Ok((
                row.try_get("state").map_err(db_err)?,
                row.try_get("pruned").map_err(db_err)?,
            ))
        })
        .transpose()?;
    if let Err(refused) = may_requeue(found) {
        // Ended at once: on PostgreSQL the row lock lasts until the rollback arrives.
        tx.rollback().await.map_err(db_err)?;
        return Err(refused);
    }
    let mut requeue = QueryBuilder::<Db>::new(
        "UPDATE deliveries SET state = 'pending', processed_at = NULL, locked_by = NULL, \
         locked_until = NULL, next_attempt_at = ",
    );
    requeue.push_bind(millis(now)).push(" WHERE id = ").push_bind(id.0);
    requeue.build().execute(&mut *tx).await.map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

/// Whether a delivery, found as `(state, pruned)`, may go back to pending: it exists, is
/// finished, and still has its body.
fn may_requeue(found: Option<(String, bool)>) -> StoreResult<()> {
    let (state, pruned) = found.ok_or(StoreError::NotFound)?;
    if pruned {
        return Err(StoreError::Conflict(
            "the delivery's body was pruned by retention; it cannot be processed again".to_owned(),
        ));
    }
    match crate::convert::state(&state)? {
        DeliveryState::Pending => Err(StoreError::Conflict(
            "the delivery is already pending".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// [`store::Store::prune_delivery_bodies`]: one transaction that reads the cursor, walks the
/// deliveries after it by primary key, empties the processed ones' bodies and moves the cursor.
pub(crate) async fn prune_delivery_bodies(
    store: &AdapterStore,
    before: OffsetDateTime,
    limit: u32,
) -> StoreResult<PruneReport> {
    // A walk of nothing would never catch up: at least one delivery per call.
    let limit = limit.max(1);
    let mut tx = store.begin_write().await?;
    let cursor: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT last_id FROM delivery_retention WHERE id = 1 {FOR_UPDATE}"
    )))
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let mut walk = QueryBuilder::<Db>::new(
        "SELECT id, received_at, state FROM deliveries WHERE id > ",
    );
    walk.push_bind(cursor)
        .push(" ORDER BY id LIMIT ")
        .push_bind(i64::from(limit));
    let rows = walk.build().fetch_all(&mut *tx).await.map_err(db_err)?;
    let before = millis(before);
    let mut report = PruneReport {
        caught_up: rows.len() < limit as usize,
        ..PruneReport::default()
    };
    let mut last = cursor;
    let mut processed = 0u32;
    for row in &rows {
        let received_at: i64 = row.try_get("received_at").map_err(db_err)?;
        let state = crate::convert::state(row.try_get("state").map_err(db_err)?)?;
        if received_at >= before || state == DeliveryState::Pending {
            report.caught_up = true;
            break;
        }
        last = row.try_get("id").map_err(db_err)?;
        report.examined += 1;
        processed += u32::from(state == DeliveryState::Processed);
    }
    if report.examined == 0 {
        // Ended now, not when the connection is next used: on PostgreSQL the transaction holds
        // the cursor's row lock until its rollback reaches the server, and the next call would
        // wait for it.
        tx.rollback().await.map_err(db_err)?;
        return Ok(report);
    }
    if processed > 0 {
        let mut prune = QueryBuilder::<Db>::new("UPDATE deliveries SET body = ");
        prune
            .push_bind(Vec::<u8>::new())
            .push(" WHERE id > ")
            .push_bind(cursor)
            .push(" AND id <= ")
            .push_bind(last)
            .push(" AND state = 'processed'");
        let done = prune.build().execute(&mut *tx).await.map_err(db_err)?;
        report.pruned = u32::try_from(done.rows_affected()).unwrap_or(u32::MAX);
    }
    let mut advance = QueryBuilder::<Db>::new("UPDATE delivery_retention SET last_id = ");
    advance.push_bind(last).push(" WHERE id = 1");
    advance.build().execute(&mut *tx).await.map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(report)
}
