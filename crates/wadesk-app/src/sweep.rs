//! The hourly sweep of time-trigger rules (automation type 3): once per hour across every server
//! and worker on the database, every ticket that is not Closed, deleted or spam is evaluated
//! against its account's time triggers, and each rule fires at most once per ticket.
//!
//! "Once per hour across processes" is a job slot (`store::AutomationStore`): the hour's slot is
//! claimed with a lease, the holder advances a cursor over ticket ids as it commits, and a holder
//! that dies leaves an expired lease that another process takes over from the cursor. Which rules
//! fired on a ticket is written in the same transaction as their effects, so a sweep resumed after
//! a crash never fires a rule twice.

use std::{collections::BTreeMap, sync::Arc, time::Duration as StdDuration};

use rules_engine::{RuleType, Trigger};
use store::{Store, StoreError, TicketRow};
use ticketing_core::{AccountId, TicketId};
use time::{Duration, OffsetDateTime};
use tokio_util::sync::CancellationToken;

use crate::{
    automation::{AccountRules, TicketContext, run_rules},
    clock::Clock,
    sla::SlaContext,
};

/// The job's name in the slot table.
pub const JOB: &str = "automation_time_sweep";

/// How often the sweep job looks for an unclaimed hour.
pub const SWEEP_POLL: StdDuration = StdDuration::from_secs(30);

const BATCH: u32 = 200;

/// How a sweep is run: who runs it and how long its lease lasts between commits.
#[derive(Debug, Clone)]
pub struct SweepSettings {
    /// This process's holder name.
    pub holder: String,
    /// Lease on the hour's slot, extended after every batch.
    pub lease: Duration,
    /// How often to look for an unclaimed hour.
    pub poll: StdDuration,
}

impl SweepSettings {
    /// Settings for a process of `role` (`server` or `worker`).
    pub fn new(role: &str) -> Self {
        Self {
            holder: format!("{}-sweep", crate::jobs::InboxSettings::new(role).worker_id),
            lease: Duration::minutes(5),
            poll: SWEEP_POLL,
        }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// The hour swept (Unix seconds of its start).
    pub slot: i64,
    /// Tickets evaluated.
    pub tickets: u64,
    /// Tickets on which at least one rule matched.
    pub matched: u64,
}

/// The hour `now` falls in, as the Unix seconds of its start.
pub fn hour_slot(now: OffsetDateTime) -> i64 {
    now.unix_timestamp().div_euclid(3600) * 3600
}

type AccountSetup = Option<(AccountRules, SlaContext)>;

async fn setup(store: &dyn Store, account: AccountId) -> Result<AccountSetup, StoreError> {
    let Some(rules) = AccountRules::load(store, account).await? else {
        return Ok(None);
    };
    if !rules.has(RuleType::TimeTriggers) {
        return Ok(None);
    }
    Ok(Some((rules, SlaContext::load(store, account).await?)))
}

async fn sweep_ticket(
    store: &dyn Store,
    rules: &AccountRules,
    sla: &SlaContext,
    listed: &TicketRow,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let mut tx = store.begin_outbound(listed.account_id).await?;
    // Read again in the transaction: an agent may have closed it since it was listed.
    let mut ticket = tx.get_ticket(listed.id).await?;
    let f = &ticket.fields;
    if f.deleted || f.spam || f.status == ticketing_core::Status::Closed.code() {
        return Ok(false);
    }
    let (contact, description) =
        crate::automation::requester_and_description(tx.as_mut(), &ticket).await?;
    let ctx = TicketContext {
        contact: &contact,
        description_text: &description,
    };
    let matched = run_rules(
        tx.as_mut(),
        rules,
        Some(sla),
        &mut ticket,
        ctx,
        Trigger::TimeSweep,
        now,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(matched)
}

/// Runs this hour's sweep if no other process has run it or is running it. `None` when the hour
/// is taken (or was lost to another process midway, after its lease expired).
pub async fn sweep_pass(
    store: &dyn Store,
    clock: &dyn Clock,
    settings: &SweepSettings,
) -> Result<Option<SweepReport>, StoreError> {
    let now = clock.now();
    let slot = hour_slot(now);
    let Some(mut cursor) = store
        .claim_job_slot(JOB, slot, &settings.holder, now, now + settings.lease)
        .await?
    else {
        return Ok(None);
    };
    let mut report = SweepReport {
        slot,
        ..SweepReport::default()
    };
    let mut accounts: BTreeMap<AccountId, AccountSetup> = BTreeMap::new();
    loop {
        let tickets = store.sweep_tickets(TicketId(cursor), BATCH).await?;
        let Some(last) = tickets.last().map(|t| t.id.get()) else {
            break;
        };
        for t in &tickets {
            let entry = match accounts.entry(t.account_id) {
                std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(setup(store, t.account_id).await?)
                }
            };
            let Some((rules, sla)) = entry.as_ref() else {
                continue;
            };
            report.tickets += 1;
            match sweep_ticket(store, rules, sla, t, clock.now()).await {
                Ok(true) => report.matched += 1,
                Ok(false) => {}
                // One ticket's failure (say, a requester removed meanwhile) does not stop the
                // hour; its rules have not fired, so the next hour tries again.
                Err(e) => {
                    tracing::warn!(ticket = %t.id, error.message = %e, "time triggers failed on a ticket");
                }
            }
        }
        cursor = last;
        let lease_until = clock.now() + settings.lease;
        if !store
            .advance_job_slot(JOB, slot, &settings.holder, cursor, lease_until)
            .await?
        {
            tracing::warn!(
                slot,
                "the hourly sweep's lease was lost; another process continues it"
            );
            return Ok(None);
        }
    }
    if !store
        .finish_job_slot(JOB, slot, &settings.holder, clock.now())
        .await?
    {
        return Ok(None);
    }
    metrics::counter!("wadesk_automation_sweeps_total").increment(1);
    metrics::counter!("wadesk_automation_sweep_tickets_total").increment(report.tickets);
    tracing::info!(
        slot,
        tickets = report.tickets,
        matched = report.matched,
        "hourly time-trigger sweep done"
    );
    Ok(Some(report))
}

/// The sweep loop: looks for this hour's unclaimed slot every `settings.poll` until `shutdown`.
pub async fn run_sweep(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: SweepSettings,
    shutdown: CancellationToken,
) {
    tracing::info!("time-trigger sweep loop started");
    while !shutdown.is_cancelled() {
        if let Err(e) = sweep_pass(store.as_ref(), clock.as_ref(), &settings).await {
            tracing::warn!(error.message = %e, "time-trigger sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.poll) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    tracing::info!("time-trigger sweep loop stopped");
}
