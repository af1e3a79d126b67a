// Shared by `store-sqlite` and `store-postgres`: each adapter's `src/settings.rs` names its
// database (`Db`, `DbRow`) and `AdapterStore` (with `read_pool` and `write_pool`), then includes
// this file. Every statement is built with `QueryBuilder`, so the same text serves both.
use async_trait::async_trait;
use sqlx::{QueryBuilder, Row};
use store::{NewSettingsDoc, SettingsDoc, SettingsStore, StoreError, StoreResult};
use ticketing_core::AccountId;
use time::OffsetDateTime;

use crate::convert::{db_err, instant, millis};

const COLUMNS: &str = "id, account_id, kind, position, unique_key, body, created_at, updated_at";

fn col<'r, T>(row: &'r DbRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Corrupt(format!("settings_documents.{name}: {e}")))
}

fn doc(row: &DbRow) -> StoreResult<SettingsDoc> {
    let body: String = col(row, "body")?;
    Ok(SettingsDoc {
        id: col(row, "id")?,
        account_id: AccountId(col(row, "account_id")?),
        kind: col(row, "kind")?,
        position: col(row, "position")?,
        unique_key: col(row, "unique_key")?,
        body: serde_json::from_str(&body)
            .map_err(|e| StoreError::Corrupt(format!("settings_documents.body: {e}")))?,
        created_at: instant(col(row, "created_at")?)?,
        updated_at: instant(col(row, "updated_at")?)?,
    })
}

fn body_text(v: &serde_json::Value) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("serialising a document: {e}")))
}

fn not_found(_kind: &str, _id: i64) -> StoreError {
    StoreError::NotFound
}

#[async_trait]
impl SettingsStore for AdapterStore {
    async fn insert_settings(
        &self,
        account: AccountId,
        new: &NewSettingsDoc,
        now: OffsetDateTime,
    ) -> StoreResult<SettingsDoc> {
        let now = millis(now);
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO settings_documents \
             (account_id, kind, position, unique_key, body, created_at, updated_at) SELECT ",
        );
        qb.push_bind(account.0).push(", ").push_bind(new.kind.clone()).push(", ");
        match new.position {
            Some(p) => {
                qb.push_bind(p);
            }
            None => {
                qb.push(
                    "(SELECT COALESCE(MAX(position), 0) + 1 FROM settings_documents \
                     WHERE account_id = ",
                )
                .push_bind(account.0)
                .push(" AND kind = ")
                .push_bind(new.kind.clone())
                .push(")");
            }
        }
        qb.push(", ")
            .push_bind(new.unique_key.clone())
            .push(", ")
            .push_bind(body_text(&new.body)?)
            .push(", ")
            .push_bind(now)
            .push(", ")
            .push_bind(now)
            .push(format!(" RETURNING {COLUMNS}"));
        let row = qb
            .build()
            .fetch_one(self.write_pool())
            .await
            .map_err(|e| match db_err(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "{} {:?} already exists",
                    new.kind,
                    new.unique_key.as_deref().unwrap_or_default()
                )),
                other => other,
            })?;
        doc(&row)
    }

    async fn update_settings(
        &self,
        account: AccountId,
        kind: &str,
        id: i64,
        position: Option<i64>,
        body: &serde_json::Value,
        now: OffsetDateTime,
    ) -> StoreResult<SettingsDoc> {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new("UPDATE settings_documents SET body = ");
        qb.push_bind(body_text(body)?)
            .push(", updated_at = ")
            .push_bind(millis(now));
        if let Some(p) = position {
            qb.push(", position = ").push_bind(p);
        }
        qb.push(" WHERE id = ")
            .push_bind(id)
            .push(" AND account_id = ")
            .push_bind(account.0)
            .push(" AND kind = ")
            .push_bind(kind.to_owned())
            .push(format!(" RETURNING {COLUMNS}"));
        let row = qb
            .build()
            .fetch_optional(self.write_pool())
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found(kind, id))?;
        doc(&row)
    }

    async fn get_settings(
        &self,
        account: AccountId,
        kind: &str,
        id: i64,
    ) -> StoreResult<SettingsDoc> {
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new(format!("SELECT {COLUMNS} FROM settings_documents WHERE id = "));
        qb.push_bind(id)
            .push(" AND account_id = ")
            .push_bind(account.0)
            .push(" AND kind = ")
            .push_bind(kind.to_owned());
        let row = qb
            .build()
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found(kind, id))?;
        doc(&row)
    }

    async fn find_settings_by_key(
        &self,
        account: AccountId,
        kind: &str,
        unique_key: &str,
    ) -> StoreResult<Option<SettingsDoc>> {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
            "SELECT {COLUMNS} FROM settings_documents WHERE account_id = "
        ));
        qb.push_bind(account.0)
            .push(" AND kind = ")
            .push_bind(kind.to_owned())
            .push(" AND unique_key = ")
            .push_bind(unique_key.to_owned());
        qb.build()
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_err)?
            .as_ref()
            .map(doc)
            .transpose()
    }

    async fn list_settings(
        &self,
        account: AccountId,
        kind: &str,
    ) -> StoreResult<Vec<SettingsDoc>> {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
            "SELECT {COLUMNS} FROM settings_documents WHERE account_id = "
        ));
        qb.push_bind(account.0)
            .push(" AND kind = ")
            .push_bind(kind.to_owned())
            .push(" ORDER BY position, id");
        qb.build()
            .fetch_all(self.read_pool())
            .await
            .map_err(db_err)?
            .iter()
            .map(doc)
            .collect()
    }

    async fn delete_settings(&self, account: AccountId, kind: &str, id: i64) -> StoreResult<()> {
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new("DELETE FROM settings_documents WHERE id = ");
        qb.push_bind(id)
            .push(" AND account_id = ")
            .push_bind(account.0)
            .push(" AND kind = ")
            .push_bind(kind.to_owned());
        let done = qb
            .build()
            .execute(self.write_pool())
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(not_found(kind, id));
        }
        Ok(())
    }
}
