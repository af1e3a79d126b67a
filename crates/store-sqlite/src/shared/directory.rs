// Shared by `store-sqlite` and `store-postgres`: each adapter's `src/directory.rs` names its
// database (`Db`, `DbRow`) and its hooks (`AdapterStore` with `begin_write`, `read_pool`,
// `cipher`, and `AGENT_COLUMNS`, `NUMBER_COLUMNS`), then includes this file. Every statement is
// built with `QueryBuilder`, so the same text serves both databases.
use async_trait::async_trait;
use sqlx::{QueryBuilder, Row};
use store::{
    AgentChange, AgentDetails, AgentRecord, DirectoryStore, GroupFields, GroupId, GroupRecord,
    NumberOnboarding, NumberRecord, NumberStatus, Page, StoreError, StoreResult,
};
use ticketing_core::{AccountId, AgentId, NumberId, Role};
use time::OffsetDateTime;

use crate::convert::{db_err, instant, millis};

const DETAIL_COLUMNS: &str =
    "ticket_scope, available, occasional, phone, mobile, job_title, language, time_zone, signature";
const GROUP_COLUMNS: &str = "id, account_id, name, description, escalate_to, unassigned_for, \
     business_hours_id, auto_ticket_assign, created_at, updated_at";
const ONBOARDING_COLUMNS: &str = "number_id, business_manager_id, display_name, name_status, \
     code_requested_at, code_method, business_name, last_error";

fn dcol<'r, T>(row: &'r DbRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

fn details(row: &DbRow) -> StoreResult<AgentDetails> {
    Ok(AgentDetails {
        ticket_scope: dcol(row, "ticket_scope")?,
        available: dcol(row, "available")?,
        occasional: dcol(row, "occasional")?,
        phone: dcol(row, "phone")?,
        mobile: dcol(row, "mobile")?,
        job_title: dcol(row, "job_title")?,
        language: dcol(row, "language")?,
        time_zone: dcol(row, "time_zone")?,
        signature: dcol(row, "signature")?,
    })
}

fn onboarding(row: &DbRow) -> StoreResult<NumberOnboarding> {
    Ok(NumberOnboarding {
        business_manager_id: dcol(row, "business_manager_id")?,
        display_name: dcol(row, "display_name")?,
        name_status: dcol(row, "name_status")?,
        code_requested_at: dcol::<Option<i64>>(row, "code_requested_at")?
            .map(instant)
            .transpose()?,
        code_method: dcol(row, "code_method")?,
        business_name: dcol(row, "business_name")?,
        last_error: dcol(row, "last_error")?,
    })
}

fn group_row(row: &DbRow, agent_ids: Vec<AgentId>) -> StoreResult<GroupRecord> {
    Ok(GroupRecord {
        id: GroupId(dcol(row, "id")?),
        account_id: AccountId(dcol(row, "account_id")?),
        fields: GroupFields {
            name: dcol(row, "name")?,
            description: dcol(row, "description")?,
            agent_ids,
            escalate_to: dcol::<Option<i64>>(row, "escalate_to")?.map(AgentId),
            unassigned_for: dcol(row, "unassigned_for")?,
            business_hours_id: dcol(row, "business_hours_id")?,
            auto_ticket_assign: dcol(row, "auto_ticket_assign")?,
        },
        created_at: instant(dcol(row, "created_at")?)?,
        updated_at: instant(dcol(row, "updated_at")?)?,
    })
}

/// `(owner id, member id)` pairs of a membership query, grouped by owner.
async fn memberships<'e, E>(
    executor: E,
    by_agent: bool,
    account: AccountId,
    ids: &[i64],
) -> StoreResult<std::collections::HashMap<i64, Vec<i64>>>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let mut out: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let (owner, member) = if by_agent {
        ("agent_id", "group_id")
    } else {
        ("group_id", "agent_id")
    };
    let mut qb = QueryBuilder::<Db>::new(format!(
        "SELECT {owner} AS owner, {member} AS member FROM agent_group_members WHERE account_id = "
    ));
    qb.push_bind(account.0);
    qb.push(format!(" AND {owner} IN ("));
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    qb.push(format!(") ORDER BY {owner}, {member}"));
    for row in qb.build().fetch_all(executor).await.map_err(db_err)? {
        out.entry(dcol(&row, "owner")?)
            .or_default()
            .push(dcol(&row, "member")?);
    }
    Ok(out)
}

fn agent_records(
    rows: Vec<DbRow>,
    groups: &std::collections::HashMap<i64, Vec<i64>>,
) -> StoreResult<Vec<AgentRecord>> {
    rows.iter()
        .map(|row| {
            let agent = crate::convert::agent(row)?;
            let group_ids = groups
                .get(&agent.id.0)
                .map(|g| g.iter().copied().map(GroupId).collect())
                .unwrap_or_default();
            Ok(AgentRecord {
                details: details(row)?,
                agent,
                group_ids,
            })
        })
        .collect()
}

fn page_clause(qb: &mut QueryBuilder<Db>, page: Page) {
    qb.push(" LIMIT ");
    qb.push_bind(page.limit());
    qb.push(" OFFSET ");
    qb.push_bind(page.offset());
}

async fn agent_in<'e, E>(executor: E, account: AccountId, id: AgentId) -> StoreResult<Option<DbRow>>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let mut qb = QueryBuilder::<Db>::new(format!(
        "SELECT {AGENT_COLUMNS}, {DETAIL_COLUMNS} FROM agents WHERE account_id = "
    ));
    qb.push_bind(account.0);
    qb.push(" AND id = ");
    qb.push_bind(id.0);
    qb.build().fetch_optional(executor).await.map_err(db_err)
}

/// Checks that every agent id belongs to the account (`NotFound` otherwise).
async fn check_agents(
    tx: &mut sqlx::Transaction<'static, Db>,
    account: AccountId,
    fields: &GroupFields,
) -> StoreResult<()> {
    let mut ids: Vec<i64> = fields.agent_ids.iter().map(|a| a.0).collect();
    if let Some(e) = fields.escalate_to {
        ids.push(e.0);
    }
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    let mut qb = QueryBuilder::<Db>::new("SELECT COUNT(*) AS n FROM agents WHERE account_id = ");
    qb.push_bind(account.0);
    qb.push(" AND id IN (");
    let mut sep = qb.separated(", ");
    for id in &ids {
        sep.push_bind(*id);
    }
    qb.push(")");
    let row = qb.build().fetch_one(&mut **tx).await.map_err(db_err)?;
    let n: i64 = dcol(&row, "n")?;
    if n != ids.len() as i64 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

async fn replace_members(
    tx: &mut sqlx::Transaction<'static, Db>,
    account: AccountId,
    group: i64,
    agent_ids: &[AgentId],
) -> StoreResult<Vec<AgentId>> {
    let mut qb = QueryBuilder::<Db>::new("DELETE FROM agent_group_members WHERE group_id = ");
    qb.push_bind(group);
    qb.build().execute(&mut **tx).await.map_err(db_err)?;
    let mut ids: Vec<AgentId> = agent_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if !ids.is_empty() {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO agent_group_members (group_id, agent_id, account_id) ",
        );
        qb.push_values(&ids, |mut b, id| {
            b.push_bind(group).push_bind(id.0).push_bind(account.0);
        });
        qb.build().execute(&mut **tx).await.map_err(db_err)?;
    }
    Ok(ids)
}

fn group_conflict(e: StoreError) -> StoreError {
    match e {
        StoreError::Conflict(m) if m.contains("name") || m.contains("agent_groups") => {
            StoreError::Conflict("a group with this name already exists in the account".into())
        }
        other => other,
    }
}

async fn number_record<'e, E>(
    executor: E,
    store: &AdapterStore,
    account: AccountId,
    id: NumberId,
) -> StoreResult<NumberRecord>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let mut qb = QueryBuilder::<Db>::new(format!(
        "SELECT {NUMBER_COLUMNS_Q}, {ONBOARDING_COLUMNS_Q} FROM wa_numbers n \
         LEFT JOIN wa_number_onboarding o ON o.number_id = n.id WHERE n.account_id = ",
        NUMBER_COLUMNS_Q = qualified("n", NUMBER_COLUMNS),
        ONBOARDING_COLUMNS_Q = qualified("o", ONBOARDING_COLUMNS),
    ));
    qb.push_bind(account.0);
    qb.push(" AND n.id = ");
    qb.push_bind(id.0);
    let row = qb
        .build()
        .fetch_optional(executor)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::NotFound)?;
    Ok(NumberRecord {
        number: store::open_number(store.cipher(), crate::convert::number(&row)?)?,
        onboarding: onboarding(&row)?,
    })
}

fn qualified(alias: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl DirectoryStore for AdapterStore {
    async fn list_agents(&self, account: AccountId, page: Page) -> StoreResult<Vec<AgentRecord>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {AGENT_COLUMNS}, {DETAIL_COLUMNS} FROM agents WHERE account_id = "
        ));
        qb.push_bind(account.0);
        qb.push(" ORDER BY id");
        page_clause(&mut qb, page);
        let rows = qb
            .build()
            .fetch_all(self.read_pool())
            .await
            .map_err(db_err)?;
        let ids: Vec<i64> = rows
            .iter()
            .map(|r| dcol::<i64>(r, "id"))
            .collect::<StoreResult<_>>()?;
        let groups = memberships(self.read_pool(), true, account, &ids).await?;
        agent_records(rows, &groups)
    }

    async fn get_agent(&self, account: AccountId, id: AgentId) -> StoreResult<AgentRecord> {
        let row = agent_in(self.read_pool(), account, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let groups = memberships(self.read_pool(), true, account, &[id.0]).await?;
        agent_records(vec![row], &groups)?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    async fn create_agent(
        &self,
        account: AccountId,
        new: &store::NewAgent,
        d: &AgentDetails,
        now: OffsetDateTime,
    ) -> StoreResult<AgentRecord> {
        let now = millis(now);
        let mut tx = self.begin_write().await?;
        let mut qb = QueryBuilder::<Db>::new(format!(
            "INSERT INTO agents (account_id, name, email, role, api_key_hash, created_at, updated_at, \
             {DETAIL_COLUMNS}) "
        ));
        qb.push_values([()], |mut b, ()| {
            b.push_bind(account.0)
                .push_bind(new.name.clone())
                .push_bind(new.email.clone())
                .push_bind(new.role.as_str())
                .push_bind(new.api_key_hash.clone())
                .push_bind(now)
                .push_bind(now)
                .push_bind(d.ticket_scope)
                .push_bind(d.available)
                .push_bind(d.occasional)
                .push_bind(d.phone.clone())
                .push_bind(d.mobile.clone())
                .push_bind(d.job_title.clone())
                .push_bind(d.language.clone())
                .push_bind(d.time_zone.clone())
                .push_bind(d.signature.clone());
        });
        qb.push(format!(" RETURNING {AGENT_COLUMNS}, {DETAIL_COLUMNS}"));
        let row = qb.build().fetch_one(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        agent_records(vec![row], &Default::default())?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    async fn update_agent(
        &self,
        account: AccountId,
        id: AgentId,
        change: &AgentChange,
        now: OffsetDateTime,
    ) -> StoreResult<AgentRecord> {
        let mut tx = self.begin_write().await?;
        let current = agent_in(&mut *tx, account, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let was_admin = crate::convert::agent(&current)?.role == Role::Admin;
        if was_admin && change.role != Role::Admin {
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT COUNT(*) AS n FROM agents WHERE role = 'admin' AND account_id = ",
            );
            qb.push_bind(account.0);
            qb.push(" AND id <> ");
            qb.push_bind(id.0);
            let others: i64 = dcol(
                &qb.build().fetch_one(&mut *tx).await.map_err(db_err)?,
                "n",
            )?;
            if others == 0 {
                return Err(StoreError::Conflict(
                    "an account keeps at least one admin".into(),
                ));
            }
        }
        let d = &change.details;
        let mut qb = QueryBuilder::<Db>::new("UPDATE agents SET name = ");
        qb.push_bind(change.name.clone());
        qb.push(", email = ");
        qb.push_bind(change.email.clone());
        qb.push(", role = ");
        qb.push_bind(change.role.as_str());
        qb.push(", ticket_scope = ");
        qb.push_bind(d.ticket_scope);
        qb.push(", available = ");
        qb.push_bind(d.available);
        qb.push(", occasional = ");
        qb.push_bind(d.occasional);
        qb.push(", phone = ");
        qb.push_bind(d.phone.clone());
        qb.push(", mobile = ");
        qb.push_bind(d.mobile.clone());
        qb.push(", job_title = ");
        qb.push_bind(d.job_title.clone());
        qb.push(", language = ");
        qb.push_bind(d.language.clone());
        qb.push(", time_zone = ");
        qb.push_bind(d.time_zone.clone());
        qb.push(", signature = ");
        qb.push_bind(d.signature.clone());
        qb.push(", updated_at = ");
        qb.push_bind(millis(now));
        qb.push(" WHERE account_id = ");
        qb.push_bind(account.0);
        qb.push(" AND id = ");
        qb.push_bind(id.0);
        qb.build().execute(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        self.get_agent(account, id).await
    }

    async fn set_agent_api_key(
        &self,
        account: AccountId,
        id: AgentId,
        api_key_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<AgentRecord> {
        let mut tx = self.begin_write().await?;
        let mut qb = QueryBuilder::<Db>::new("UPDATE agents SET api_key_hash = ");
        qb.push_bind(api_key_hash);
        qb.push(", updated_at = ");
        qb.push_bind(millis(now));
        qb.push(" WHERE account_id = ");
        qb.push_bind(account.0);
        qb.push(" AND id = ");
        qb.push_bind(id.0);
        let done = qb.build().execute(&mut *tx).await.map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(db_err)?;
        self.get_agent(account, id).await
    }

    async fn list_groups(&self, account: AccountId, page: Page) -> StoreResult<Vec<GroupRecord>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {GROUP_COLUMNS} FROM agent_groups WHERE account_id = "
        ));
        qb.push_bind(account.0);
        qb.push(" ORDER BY id");
        page_clause(&mut qb, page);
        let rows = qb
            .build()
            .fetch_all(self.read_pool())
            .await
            .map_err(db_err)?;
        let ids: Vec<i64> = rows
            .iter()
            .map(|r| dcol::<i64>(r, "id"))
            .collect::<StoreResult<_>>()?;
        let members = memberships(self.read_pool(), false, account, &ids).await?;
        rows.iter()
            .map(|row| {
                let id: i64 = dcol(row, "id")?;
                let agents = members
                    .get(&id)
                    .map(|m| m.iter().copied().map(AgentId).collect())
                    .unwrap_or_default();
                group_row(row, agents)
            })
            .collect()
    }

    async fn get_group(&self, account: AccountId, id: GroupId) -> StoreResult<GroupRecord> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {GROUP_COLUMNS} FROM agent_groups WHERE account_id = "
        ));
        qb.push_bind(account.0);
        qb.push(" AND id = ");
        qb.push_bind(id.0);
        let row = qb
            .build()
            .fetch_optional(self.read_pool())
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?;
        let members = memberships(self.read_pool(), false, account, &[id.0]).await?;
        let agents = members
            .get(&id.0)
            .map(|m| m.iter().copied().map(AgentId).collect())
            .unwrap_or_default();
        group_row(&row, agents)
    }

    async fn create_group(
        &self,
        account: AccountId,
        f: &GroupFields,
        now: OffsetDateTime,
    ) -> StoreResult<GroupRecord> {
        let now = millis(now);
        let mut tx = self.begin_write().await?;
        check_agents(&mut tx, account, f).await?;
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO agent_groups (account_id, name, description, escalate_to, unassigned_for, \
             business_hours_id, auto_ticket_assign, created_at, updated_at) ",
        );
        qb.push_values([()], |mut b, ()| {
            b.push_bind(account.0)
                .push_bind(f.name.clone())
                .push_bind(f.description.clone())
                .push_bind(f.escalate_to.map(|a| a.0))
                .push_bind(f.unassigned_for.clone())
                .push_bind(f.business_hours_id)
                .push_bind(f.auto_ticket_assign)
                .push_bind(now)
                .push_bind(now);
        });
        qb.push(format!(" RETURNING {GROUP_COLUMNS}"));
        let row = qb
            .build()
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| group_conflict(db_err(e)))?;
        let id: i64 = dcol(&row, "id")?;
        let agents = replace_members(&mut tx, account, id, &f.agent_ids).await?;
        let group = group_row(&row, agents)?;
        tx.commit().await.map_err(db_err)?;
        Ok(group)
    }

    async fn update_group(
        &self,
        account: AccountId,
        id: GroupId,
        f: &GroupFields,
        now: OffsetDateTime,
    ) -> StoreResult<GroupRecord> {
        let mut tx = self.begin_write().await?;
        check_agents(&mut tx, account, f).await?;
        let mut qb = QueryBuilder::<Db>::new("UPDATE agent_groups SET name = ");
        qb.push_bind(f.name.clone());
        qb.push(", description = ");
        qb.push_bind(f.description.clone());
        qb.push(", escalate_to = ");
        qb.push_bind(f.escalate_to.map(|a| a.0));
        qb.push(", unassigned_for = ");
        qb.push_bind(f.unassigned_for.clone());
        qb.push(", business_hours_id = ");
        qb.push_bind(f.business_hours_id);
        qb.push(", auto_ticket_assign = ");
        qb.push_bind(f.auto_ticket_assign);
        qb.push(", updated_at = ");
        qb.push_bind(millis(now));
        qb.push(" WHERE account_id = ");
        qb.push_bind(account.0);
        qb.push(" AND id = ");
        qb.push_bind(id.0);
        qb.push(format!(" RETURNING {GROUP_COLUMNS}"));
        let row = qb
            .build()
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| group_conflict(db_err(e)))?
            .ok_or(StoreError::NotFound)?;
        let agents = replace_members(&mut tx, account, id.0, &f.agent_ids).await?;
        let group = group_row(&row, agents)?;
        tx.commit().await.map_err(db_err)?;
        Ok(group)
    }

    async fn get_number(&self, account: AccountId, id: NumberId) -> StoreResult<NumberRecord> {
        number_record(self.read_pool(), self, account, id).await
    }

    async fn list_number_onboarding(
        &self,
        account: AccountId,
    ) -> StoreResult<Vec<(NumberId, NumberOnboarding)>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {ONBOARDING_COLUMNS} FROM wa_number_onboarding WHERE account_id = "
        ));
        qb.push_bind(account.0);
        qb.push(" ORDER BY number_id");
        let rows = qb
            .build()
            .fetch_all(self.read_pool())
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok((NumberId(dcol(r, "number_id")?), onboarding(r)?)))
            .collect()
    }

    async fn set_number_state(
        &self,
        account: AccountId,
        id: NumberId,
        from: &[NumberStatus],
        status: NumberStatus,
        o: &NumberOnboarding,
        now: OffsetDateTime,
    ) -> StoreResult<NumberRecord> {
        let now = millis(now);
        let mut tx = self.begin_write().await?;
        let mut qb = QueryBuilder::<Db>::new("UPDATE wa_numbers SET status = ");
        qb.push_bind(status.as_str());
        qb.push(", updated_at = ");
        qb.push_bind(now);
        qb.push(" WHERE account_id = ");
        qb.push_bind(account.0);
        qb.push(" AND id = ");
        qb.push_bind(id.0);
        qb.push(" AND status IN (");
        let mut sep = qb.separated(", ");
        for s in from {
            sep.push_bind(s.as_str());
        }
        qb.push(")");
        let done = qb.build().execute(&mut *tx).await.map_err(db_err)?;
        if done.rows_affected() == 0 {
            // Not found, or in another state: tell which.
            let current = number_record(&mut *tx, self, account, id).await?;
            return Err(StoreError::Conflict(format!(
                "the number is {}",
                current.number.status.as_str()
            )));
        }
        let mut qb = QueryBuilder::<Db>::new(format!(
            "INSERT INTO wa_number_onboarding (account_id, updated_at, {ONBOARDING_COLUMNS}) "
        ));
        qb.push_values([()], |mut b, ()| {
            b.push_bind(account.0)
                .push_bind(now)
                .push_bind(id.0)
                .push_bind(o.business_manager_id.clone())
                .push_bind(o.display_name.clone())
                .push_bind(o.name_status.clone())
                .push_bind(o.code_requested_at.map(millis))
                .push_bind(o.code_method.clone())
                .push_bind(o.business_name.clone())
                .push_bind(o.last_error.clone());
        });
        qb.push(
            " ON CONFLICT (number_id) DO UPDATE SET business_manager_id = excluded.business_manager_id, \
             display_name = excluded.display_name, name_status = excluded.name_status, \
             code_requested_at = excluded.code_requested_at, code_method = excluded.code_method, \
             business_name = excluded.business_name, last_error = excluded.last_error, \
             updated_at = excluded.updated_at",
        );
        qb.build().execute(&mut *tx).await.map_err(db_err)?;
        let record = number_record(&mut *tx, self, account, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(record)
    }

    async fn rename_number(
        &self,
        account: AccountId,
        id: NumberId,
        name: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let mut qb = QueryBuilder::<Db>::new("UPDATE wa_numbers SET name = ");
        qb.push_bind(name);
        qb.push(", updated_at = ");
        qb.push_bind(millis(now));
        qb.push(" WHERE account_id = ");
        qb.push_bind(account.0);
        qb.push(" AND id = ");
        qb.push_bind(id.0);
        let done = qb.build().execute(&mut *tx).await.map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(db_err)
    }

    async fn set_name_status(
        &self,
        phone_number_id: &str,
        name_status: &str,
        display_name: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let now = millis(now);
        let mut tx = self.begin_write().await?;
        let mut qb =
            QueryBuilder::<Db>::new("SELECT id, account_id FROM wa_numbers WHERE phone_number_id = ");
        qb.push_bind(phone_number_id);
        let Some(row) = qb.build().fetch_optional(&mut *tx).await.map_err(db_err)? else {
            return Ok(false);
        };
        let id: i64 = dcol(&row, "id")?;
        let account: i64 = dcol(&row, "account_id")?;
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO wa_number_onboarding (number_id, account_id, name_status, display_name, updated_at) ",
        );
        qb.push_values([()], |mut b, ()| {
            b.push_bind(id)
                .push_bind(account)
                .push_bind(name_status)
                .push_bind(display_name)
                .push_bind(now);
        });
        qb.push(
            " ON CONFLICT (number_id) DO UPDATE SET name_status = excluded.name_status, \
             display_name = COALESCE(excluded.display_name, wa_number_onboarding.display_name), \
             updated_at = excluded.updated_at",
        );
        qb.build().execute(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }
}
