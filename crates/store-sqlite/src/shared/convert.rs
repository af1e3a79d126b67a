// Shared by `store-sqlite` and `store-postgres`: each adapter's `src/convert.rs` names its
// database (`Db`, `DbRow`), defines `db_err`, `attempts` and `threading_hours` (which differ),
// then includes this file.
use sqlx::Row;
use store::{
    Account, Agent, Delivery, DeliveryId, DeliveryState, DeliverySummary, Event, EventId,
    EventKind, NewEvent, NumberStatus, Secret, StoreError, StoreResult, WaNumber,
};
use ticketing_core::{AccountId, AgentId, NumberId, Plan, Role, ThreadingInterval};
use time::{Duration, OffsetDateTime};

/// An instant as Unix milliseconds (UTC), rounded down to the millisecond.
pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    // `OffsetDateTime` spans years ±9999, which is far inside i64 milliseconds.
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn duration_millis(d: Duration) -> i64 {
    let ms = d.whole_milliseconds();
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// Unix milliseconds back to an instant (UTC).
pub(crate) fn instant(ms: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| StoreError::Corrupt(format!("instant {ms} ms out of range: {e}")))
}

fn opt_instant(ms: Option<i64>) -> StoreResult<Option<OffsetDateTime>> {
    ms.map(instant).transpose()
}


fn col<'r, T>(row: &'r DbRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

fn parse<T>(name: &str, raw: &str, f: impl FnOnce(&str) -> Option<T>) -> StoreResult<T> {
    f(raw).ok_or_else(|| StoreError::Corrupt(format!("column {name}: unknown value {raw:?}")))
}

pub(crate) fn state(raw: &str) -> StoreResult<DeliveryState> {
    parse("state", raw, DeliveryState::parse)
}


pub(crate) fn delivery(row: &DbRow) -> StoreResult<Delivery> {
    let body: Vec<u8> = col(row, "body")?;
    let size: i64 = col(row, "size")?;
    Ok(Delivery {
        id: DeliveryId(col(row, "id")?),
        received_at: instant(col(row, "received_at")?)?,
        pruned: body.is_empty() && size > 0,
        size,
        body: body.into(),
        state: state(&col::<String>(row, "state")?)?,
        attempts: attempts(row)?,
        error: col(row, "error")?,
        account_id: col::<Option<i64>>(row, "account_id")?.map(AccountId),
        processed_at: opt_instant(col(row, "processed_at")?)?,
    })
}

pub(crate) fn summary(row: &DbRow) -> StoreResult<DeliverySummary> {
    Ok(DeliverySummary {
        id: DeliveryId(col(row, "id")?),
        received_at: instant(col(row, "received_at")?)?,
        size: col(row, "size")?,
        pruned: col(row, "pruned")?,
        state: state(&col::<String>(row, "state")?)?,
        attempts: attempts(row)?,
        error: col(row, "error")?,
        account_id: col::<Option<i64>>(row, "account_id")?.map(AccountId),
        processed_at: opt_instant(col(row, "processed_at")?)?,
    })
}

pub(crate) fn event(row: &DbRow) -> StoreResult<Event> {
    let payload: String = col(row, "payload")?;
    let payload = serde_json::from_str(&payload)
        .map_err(|e| StoreError::Corrupt(format!("column payload: {e}")))?;
    Ok(Event {
        id: EventId(col(row, "id")?),
        delivery_id: DeliveryId(col(row, "delivery_id")?),
        recorded_at: instant(col(row, "recorded_at")?)?,
        event: NewEvent {
            key: col(row, "key")?,
            kind: parse("kind", &col::<String>(row, "kind")?, EventKind::parse)?,
            field: col(row, "field")?,
            waba_id: col(row, "waba_id")?,
            phone_number_id: col(row, "phone_number_id")?,
            account_id: col::<Option<i64>>(row, "account_id")?.map(AccountId),
            number_id: col::<Option<i64>>(row, "number_id")?.map(NumberId),
            message_id: col(row, "message_id")?,
            wa_id: col(row, "wa_id")?,
            subtype: col(row, "subtype")?,
            wa_timestamp: opt_instant(col(row, "wa_timestamp")?)?,
            payload,
        },
    })
}

pub(crate) fn account(row: &DbRow) -> StoreResult<Account> {
    Ok(Account {
        id: AccountId(col(row, "id")?),
        name: col(row, "name")?,
        plan: parse("plan", &col::<String>(row, "plan")?, |s| {
            s.parse::<Plan>().ok()
        })?,
        created_at: instant(col(row, "created_at")?)?,
        updated_at: instant(col(row, "updated_at")?)?,
    })
}

pub(crate) fn agent(row: &DbRow) -> StoreResult<Agent> {
    Ok(Agent {
        id: AgentId(col(row, "id")?),
        account_id: AccountId(col(row, "account_id")?),
        name: col(row, "name")?,
        email: col(row, "email")?,
        role: parse("role", &col::<String>(row, "role")?, |s| {
            s.parse::<Role>().ok()
        })?,
        created_at: instant(col(row, "created_at")?)?,
        updated_at: instant(col(row, "updated_at")?)?,
    })
}

pub(crate) fn number(row: &DbRow) -> StoreResult<WaNumber> {
    let hours = threading_hours(row)?;
    Ok(WaNumber {
        id: NumberId(col(row, "id")?),
        account_id: AccountId(col(row, "account_id")?),
        phone_number_id: col(row, "phone_number_id")?,
        waba_id: col(row, "waba_id")?,
        display_phone_number: col(row, "display_phone_number")?,
        name: col(row, "name")?,
        access_token: Secret::new(col::<String>(row, "access_token")?),
        app_secret: col::<Option<String>>(row, "app_secret")?.map(Secret::new),
        threading_interval: ThreadingInterval::from_hours(hours)
            .map_err(|e| StoreError::Corrupt(format!("column threading_interval_hours: {e}")))?,
        status: parse(
            "status",
            &col::<String>(row, "status")?,
            NumberStatus::parse,
        )?,
        created_at: instant(col(row, "created_at")?)?,
        updated_at: instant(col(row, "updated_at")?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn millis_round_trip_and_truncate() {
        let t = datetime!(2026-11-29 12:34:56.789 UTC);
        assert_eq!(instant(millis(t)).unwrap(), t);
        let finer = datetime!(2026-11-29 12:34:56.789_999 UTC);
        assert_eq!(instant(millis(finer)).unwrap(), t);
        let before_epoch = datetime!(1969-12-31 23:59:59.999_5 UTC);
        assert_eq!(millis(before_epoch), -1);
        assert_eq!(millis(datetime!(1970-01-01 0:00 +02:00)), -7_200_000);
    }

    #[test]
    fn durations_in_millis() {
        assert_eq!(duration_millis(Duration::seconds(30)), 30_000);
        assert_eq!(duration_millis(Duration::microseconds(1_999)), 1);
    }

    #[test]
    fn out_of_range_instant_is_corrupt() {
        assert!(matches!(instant(i64::MAX), Err(StoreError::Corrupt(_))));
    }
}
