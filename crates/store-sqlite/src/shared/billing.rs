// Shared by `store-sqlite` and `store-postgres`: each adapter's `src/billing.rs` names its
// database (`Db`, `DbRow`), its hooks (`AdapterStore`, `begin_billing_tx`, `read_pool`,
// `write_pool`, `EVENT_COLUMNS`) and `CLAIM_LOCK` (the row-locking suffix of the claim's SELECT),
// then includes this file. Every statement is built with `QueryBuilder`, so the same text
// serves both databases.
use async_trait::async_trait;
use sqlx::{QueryBuilder, Row};
use store::{
    BillingFact, BillingFactId, BillingFactKind, BillingReport, BillingSettings, BillingStore,
    Event, EventId, NewBillingFact, StoreError, StoreResult,
};
use ticketing_core::{AccountId, NumberId};
use time::{Duration, OffsetDateTime};

use crate::convert::{db_err, duration_millis, instant, millis};

/// Rows per multi-row `INSERT` of billing facts (16 bound values each).
const FACT_CHUNK_ROWS: usize = 500;

const FACT_COLUMNS: &str = "id, key, event_id, account_id, number_id, kind, waba_id, phone_number_id, message_id, \
     customer, status, at, template_category, entry_point, pricing, conversation";

fn bcol<'r, T>(row: &'r DbRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

fn json_opt(row: &DbRow, name: &str) -> StoreResult<Option<serde_json::Value>> {
    bcol::<Option<String>>(row, name)?
        .map(|raw| {
            serde_json::from_str(&raw)
                .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
        })
        .transpose()
}

fn json_text(v: Option<&serde_json::Value>) -> StoreResult<Option<String>> {
    v.map(|v| {
        serde_json::to_string(v)
            .map_err(|e| StoreError::Backend(format!("serialising JSON: {e}")))
    })
    .transpose()
}

fn fact(row: &DbRow) -> StoreResult<BillingFact> {
    let kind: String = bcol(row, "kind")?;
    Ok(BillingFact {
        id: BillingFactId(bcol(row, "id")?),
        fact: NewBillingFact {
            key: bcol(row, "key")?,
            event_id: EventId(bcol(row, "event_id")?),
            account_id: AccountId(bcol(row, "account_id")?),
            number_id: NumberId(bcol(row, "number_id")?),
            kind: BillingFactKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("billing fact kind {kind:?}")))?,
            waba_id: bcol(row, "waba_id")?,
            phone_number_id: bcol(row, "phone_number_id")?,
            message_id: bcol(row, "message_id")?,
            customer: bcol(row, "customer")?,
            status: bcol(row, "status")?,
            at: instant(bcol(row, "at")?)?,
            template_category: bcol(row, "template_category")?,
            entry_point: bcol(row, "entry_point")?,
            pricing: json_opt(row, "pricing")?,
            conversation: json_opt(row, "conversation")?,
        },
    })
}

fn push_ids(qb: &mut QueryBuilder<Db>, ids: &[i64]) {
    let mut s = qb.separated(", ");
    for id in ids {
        s.push_bind(*id);
    }
}

#[async_trait]
impl BillingStore for AdapterStore {
    async fn claim_billing_events(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<Event>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = millis(now);
        let until = now.saturating_add(duration_millis(lease));
        let mut tx = self.begin_billing_tx().await?;
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT event_id FROM billing_queue WHERE lease_until IS NULL OR lease_until <= ",
        );
        qb.push_bind(now)
            .push(" ORDER BY event_id LIMIT ")
            .push_bind(i64::from(limit))
            .push(CLAIM_LOCK);
        let picked = qb.build().fetch_all(&mut *tx).await.map_err(db_err)?;
        let ids = picked
            .iter()
            .map(|r| bcol::<i64>(r, "event_id"))
            .collect::<StoreResult<Vec<i64>>>()?;
        if ids.is_empty() {
            tx.commit().await.map_err(db_err)?;
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new("UPDATE billing_queue SET leased_by = ");
        qb.push_bind(worker.to_owned())
            .push(", lease_until = ")
            .push_bind(until)
            .push(" WHERE event_id IN (");
        push_ids(&mut qb, &ids);
        qb.push(")");
        qb.build().execute(&mut *tx).await.map_err(db_err)?;
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {EVENT_COLUMNS} FROM events WHERE id IN ("));
        push_ids(&mut qb, &ids);
        qb.push(") ORDER BY id");
        let rows = qb.build().fetch_all(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        rows.iter().map(crate::convert::event).collect()
    }

    async fn record_billing_facts(
        &self,
        worker: &str,
        done: &[EventId],
        facts: &[NewBillingFact],
    ) -> StoreResult<BillingReport> {
        let mut report = BillingReport::default();
        let mut tx = self.begin_billing_tx().await?;
        for chunk in facts.chunks(FACT_CHUNK_ROWS) {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO billing_facts (key, event_id, account_id, number_id, kind, waba_id, \
                 phone_number_id, message_id, customer, status, at, template_category, entry_point, \
                 pricing, conversation) ",
            );
            let mut bad = None;
            qb.push_values(chunk, |mut b, f| {
                let pricing = json_text(f.pricing.as_ref());
                let conversation = json_text(f.conversation.as_ref());
                let (pricing, conversation) = match (pricing, conversation) {
                    (Ok(p), Ok(c)) => (p, c),
                    (Err(e), _) | (_, Err(e)) => {
                        bad = Some(e);
                        (None, None)
                    }
                };
                b.push_bind(f.key.clone())
                    .push_bind(f.event_id.0)
                    .push_bind(f.account_id.0)
                    .push_bind(f.number_id.0)
                    .push_bind(f.kind.as_str())
                    .push_bind(f.waba_id.clone())
                    .push_bind(f.phone_number_id.clone())
                    .push_bind(f.message_id.clone())
                    .push_bind(f.customer.clone())
                    .push_bind(f.status.clone())
                    .push_bind(millis(f.at))
                    .push_bind(f.template_category.clone())
                    .push_bind(f.entry_point.clone())
                    .push_bind(pricing)
                    .push_bind(conversation);
            });
            if let Some(e) = bad {
                return Err(e);
            }
            qb.push(" ON CONFLICT (key) DO NOTHING");
            let inserted = qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
            report.recorded += inserted;
            report.duplicates += chunk.len() as u64 - inserted.min(chunk.len() as u64);
        }
        let ids: Vec<i64> = done.iter().map(|e| e.0).collect();
        for chunk in ids.chunks(FACT_CHUNK_ROWS) {
            let mut qb = QueryBuilder::<Db>::new("DELETE FROM billing_queue WHERE leased_by = ");
            qb.push_bind(worker.to_owned()).push(" AND event_id IN (");
            push_ids(&mut qb, chunk);
            qb.push(")");
            report.dequeued += qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
        }
        tx.commit().await.map_err(db_err)?;
        Ok(report)
    }

    async fn list_billing_facts(
        &self,
        account: AccountId,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<Vec<BillingFact>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {FACT_COLUMNS} FROM billing_facts WHERE account_id = "
        ));
        qb.push_bind(account.0)
            .push(" AND at >= ")
            .push_bind(millis(from))
            .push(" AND at < ")
            .push_bind(millis(until))
            .push(" ORDER BY at, id");
        let rows = qb
            .build()
            .fetch_all(self.read_pool())
            .await
            .map_err(db_err)?;
        rows.iter().map(fact).collect()
    }

    async fn billing_backlog(&self) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM billing_queue")
            .fetch_one(self.read_pool())
            .await
            .map_err(db_err)?;
        let n: i64 = bcol(&row, "n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn billing_settings(&self, account: AccountId) -> StoreResult<BillingSettings> {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT time_zone, currency, rate_cards FROM billing_settings WHERE account_id = ",
        );
        qb.push_bind(account.0);
        let row = qb
            .build()
            .fetch_optional(self.read_pool())
        .await
        .map_err(db_err)?;
        match row {
            None => Ok(BillingSettings::default()),
            Some(row) => Ok(BillingSettings {
                time_zone: bcol(&row, "time_zone")?,
                currency: bcol(&row, "currency")?,
                rate_cards: bcol(&row, "rate_cards")?,
            }),
        }
    }

    async fn set_billing_settings(
        &self,
        account: AccountId,
        settings: &BillingSettings,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO billing_settings (account_id, time_zone, currency, rate_cards, updated_at) VALUES (",
        );
        let mut s = qb.separated(", ");
        s.push_bind(account.0)
            .push_bind(settings.time_zone.clone())
            .push_bind(settings.currency.clone())
            .push_bind(settings.rate_cards.clone())
            .push_bind(millis(now));
        qb.push(
            ") ON CONFLICT (account_id) DO UPDATE SET time_zone = excluded.time_zone, \
             currency = excluded.currency, rate_cards = excluded.rate_cards, \
             updated_at = excluded.updated_at",
        );
        qb.build()
            .execute(self.write_pool())
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
