//! The reads a batch of ticket events makes, done once for the whole batch.
//!
//! Applying a message reads the contacts its sender may be, the sender's latest ticket on the
//! number and whether the message is on a ticket already, and a message joining a ticket reads
//! the ticket's thread and SLA state; a status reads the entry it is about. One at a time these
//! are up to five statements per message. [`BatchReads::load`] makes them for every event of
//! the batch in one statement each (the threads and SLA states of the tickets the forecast says
//! the messages join), inside the batch's transaction (which holds the account's ticket lock,
//! or on PostgreSQL its customers' locks: [`crate::lanes`]), and the batch then keeps the
//! answers up to date with what it writes itself. A read the answers do not cover (a sender identified by a second BSUID, a
//! ticket a rule changed) goes to the database as before, so the cache only ever saves
//! statements and never answers differently.
//!
//! Only the batch's optimistic pass uses it: the careful pass rolls back to savepoints, which a
//! cache could not follow, and reads everything from the database ([`BatchReads::none`]).

use std::collections::{HashMap, HashSet};

use store::{
    ContactLookup, ContactRow, EntryRow, Event, EventId, EventKind, InsertPlan, StoreError,
    TicketRow, TicketSla, TicketTx, WaNumber,
};
use ticketing_core::{
    ContactId, NumberId, Status, TicketId,
    contact::{ContactCandidate, ContactIdentity, match_contact},
    conversation::{EventPlan, InboundEvent, Thread, plan_event},
    threading::{LatestTicket, ThreadDecision, decide_thread},
};
use time::OffsetDateTime;

/// What a batch knows of the rows its events touch (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct BatchReads {
    /// Off: every read misses (the careful pass).
    enabled: bool,
    /// The contacts matching any covered identity, including those the batch wrote.
    contacts: Vec<ContactRow>,
    /// Identities the contacts are complete for.
    wa_ids: HashSet<String>,
    phones: HashSet<String>,
    bsuid: Option<String>,
    /// Contacts the batch created: they have no ticket the batch did not make.
    created: HashSet<ContactId>,
    /// Latest live ticket per (requester, number); `None`: known to have none.
    latest: HashMap<(ContactId, NumberId), Option<TicketRow>>,
    /// Entries by (number, wamid); `None`: known to be absent.
    entries: HashMap<(NumberId, String), Option<EntryRow>>,
    /// The rows the batch's messages are expected to create ([`BatchReads::plan`]).
    plan: InsertPlan,
    /// The WhatsApp thread of each ticket the batch's messages are expected to join (read in
    /// one statement) or have opened, as the batch leaves it.
    threads: HashMap<TicketId, Thread>,
    /// The SLA state of the same tickets; `None`: known to have none.
    slas: HashMap<TicketId, Option<TicketSla>>,
    /// Messages as `load` parsed them, for applying without parsing again.
    parsed: HashMap<EventId, InboundEvent>,
    /// The customer keys the batch's transaction holds, when it holds only those
    /// ([`crate::lanes`]): a contact with another key sends the batch to the careful path.
    within: Option<HashSet<String>>,
}

/// A message the batch will add to a ticket, as [`BatchReads::load`] read it.
struct NewMessage {
    number: NumberId,
    from: ContactIdentity,
    wamid: String,
    at: OffsetDateTime,
}

impl BatchReads {
    /// Answers nothing: every read goes to the database.
    pub(crate) fn none() -> Self {
        Self::default()
    }

    /// Reads, in `tx`, what `events` will ask for: about four statements per number used,
    /// whatever the number of events. `numbers` are the account's (their threading intervals
    /// tell which messages open tickets).
    pub(crate) async fn load(
        tx: &mut dyn TicketTx,
        events: &[&Event],
        numbers: &[WaNumber],
    ) -> Result<Self, StoreError> {
        let mut reads = BatchReads {
            enabled: true,
            ..Self::default()
        };
        let mut lookup = ContactLookup::default();
        let mut wamids: HashMap<NumberId, Vec<String>> = HashMap::new();
        let mut senders: HashSet<NumberId> = HashSet::new();
        let mut messages: Vec<NewMessage> = Vec::new();
        for event in events {
            let e = &event.event;
            let Some(number) = e.number_id else { continue };
            match e.kind {
                EventKind::Message => {
                    let at = e.wa_timestamp.unwrap_or(event.recorded_at);
                    let Ok(Some(inbound)) = crate::tickets::parse_message(e, at) else {
                        continue;
                    };
                    match plan_event(&inbound) {
                        EventPlan::AddEntry { entry } => {
                            let l = crate::tickets::lookup_for(&inbound.from);
                            for w in l.wa_ids {
                                if reads.wa_ids.insert(w.clone()) {
                                    lookup.wa_ids.push(w);
                                }
                            }
                            for p in l.phones {
                                if reads.phones.insert(p.clone()) {
                                    lookup.phones.push(p);
                                }
                            }
                            if let Some(b) = l.bsuid
                                && lookup.bsuid.is_none()
                            {
                                reads.bsuid = Some(b.clone());
                                lookup.bsuid = Some(b);
                            }
                            senders.insert(number);
                            wamids
                                .entry(number)
                                .or_default()
                                .push(entry.wamid.as_str().to_owned());
                            messages.push(NewMessage {
                                number,
                                wamid: entry.wamid.as_str().to_owned(),
                                at: entry.at,
                                from: inbound.from.clone(),
                            });
                        }
                        EventPlan::Annotate { target, .. } => {
                            wamids
                                .entry(number)
                                .or_default()
                                .push(target.as_str().to_owned());
                        }
                        EventPlan::Ignore { .. } | EventPlan::ChangeNumber { .. } => {}
                    }
                    reads.parsed.insert(event.id, inbound);
                }
                EventKind::Status => {
                    if let Some(id) = e.payload["status"]["id"].as_str() {
                        wamids.entry(number).or_default().push(id.to_owned());
                    }
                }
                EventKind::Error | EventKind::Field => {}
            }
        }
        if !lookup.is_empty() {
            reads.contacts = tx.find_contacts(&lookup).await?;
        }
        let ids: Vec<ContactId> = reads.contacts.iter().map(|c| c.id).collect();
        for &number in &senders {
            for &id in &ids {
                reads.latest.insert((id, number), None);
            }
            for t in tx.latest_tickets(&ids, number).await? {
                reads
                    .latest
                    .insert((t.fields.requester_id, number), Some(t));
            }
        }
        for (number, mut list) in wamids {
            list.sort();
            list.dedup();
            for w in &list {
                reads.entries.insert((number, w.clone()), None);
            }
            for row in tx.find_entries(number, &list).await? {
                if let Some(w) = row.fields.wamid.clone() {
                    reads.entries.insert((number, w), Some(row));
                }
            }
        }
        let (plan, joins) = reads.expected_inserts(&messages, numbers);
        reads.plan = plan;
        if !joins.is_empty() {
            let mut by_ticket: HashMap<TicketId, Vec<EntryRow>> =
                joins.iter().map(|&t| (t, Vec::new())).collect();
            for row in tx.tickets_entries(&joins).await? {
                by_ticket.entry(row.ticket_id).or_default().push(row);
            }
            reads.threads = by_ticket
                .into_iter()
                .map(|(t, rows)| (t, crate::tickets::thread_of(rows)))
                .collect();
            reads.slas = joins.iter().map(|&t| (t, None)).collect();
            for sla in tx.tickets_sla(&joins).await? {
                reads.slas.insert(sla.ticket_id, Some(sla));
            }
        }
        Ok(reads)
    }

    /// The rows the batch's messages are expected to create, for reserving their ids
    /// ([`TicketTx::reserve_inserts`]).
    pub(crate) fn plan(&self) -> InsertPlan {
        self.plan
    }

    /// What `messages` will create, as the answers read tell it: an entry per message not on a
    /// ticket yet, a contact per sender no contact matches, and a ticket per message the
    /// threading rules do not join to its sender's latest ticket (or to one an earlier message
    /// of the batch opened). A forecast, decided as [`crate::tickets`] decides; where it is
    /// wrong, an insert costs a statement of its own or a reserved id goes unused, and no row
    /// differs. Also the stored tickets the messages are expected to join, whose threads the
    /// batch reads at once.
    fn expected_inserts(
        &self,
        messages: &[NewMessage],
        numbers: &[WaNumber],
    ) -> (InsertPlan, Vec<TicketId>) {
        let mut plan = InsertPlan::default();
        let mut joins: Vec<TicketId> = Vec::new();
        let candidates: Vec<ContactCandidate> = self
            .contacts
            .iter()
            .map(crate::tickets::candidate)
            .collect();
        let mut seen: HashSet<(NumberId, &str)> = HashSet::new();
        let mut new_senders: HashSet<String> = HashSet::new();
        // The latest ticket per (sender, number) as the batch leaves it.
        let mut latest: HashMap<(String, NumberId), LatestTicket> = HashMap::new();
        for m in messages {
            let Some(number) = numbers.iter().find(|n| n.id == m.number) else {
                continue;
            };
            let stored = self.entries.get(&(m.number, m.wamid.clone()));
            if stored.is_some_and(Option::is_some) || !seen.insert((m.number, &m.wamid)) {
                continue;
            }
            plan.entries += 1;
            let sender = match match_contact(&candidates, &m.from) {
                Some(found) => {
                    let key = (format!("#{}", found.contact_id.0), m.number);
                    if let Some(Some(t)) = self.latest.get(&(found.contact_id, m.number))
                        && let Ok(view) = crate::tickets::latest_view(t)
                    {
                        latest.entry(key.clone()).or_insert(view);
                    }
                    key
                }
                None => {
                    let l = crate::tickets::lookup_for(&m.from);
                    let id = l.wa_ids.into_iter().next().or(l.bsuid).unwrap_or_default();
                    if new_senders.insert(id.clone()) {
                        plan.contacts += 1;
                    }
                    (id, m.number)
                }
            };
            match decide_thread(latest.get(&sender), number.threading_interval, m.at) {
                ThreadDecision::NewTicket => {
                    plan.tickets += 1;
                    let opened = LatestTicket {
                        ticket_id: TicketId(0),
                        status: Status::Open,
                        last_message_at: m.at,
                    };
                    latest.insert(sender, opened);
                }
                ThreadDecision::Join { ticket_id, .. } => {
                    if ticket_id != TicketId(0) && !joins.contains(&ticket_id) {
                        joins.push(ticket_id);
                    }
                    if let Some(t) = latest.get_mut(&sender) {
                        t.status = Status::Open;
                        t.last_message_at = t.last_message_at.max(m.at);
                    }
                }
            }
        }
        (plan, joins)
    }

    /// The batch's transaction holds these customer keys only ([`crate::lanes`]).
    pub(crate) fn keep_to(&mut self, keys: &[String]) {
        self.within = Some(keys.iter().cloned().collect());
    }

    /// `Later` when one of `contacts` carries a key the batch's transaction does not hold:
    /// a customer of another lane could match it at the same time, so the batch is applied
    /// on the whole account instead.
    pub(crate) fn check_within(
        &self,
        contacts: &[ContactRow],
    ) -> Result<(), crate::tickets::ApplyError> {
        match &self.within {
            Some(keys) if !contacts.iter().all(|c| crate::lanes::within(c, keys)) => Err(
                crate::tickets::ApplyError::Later("a contact shared with another lane".into()),
            ),
            _ => Ok(()),
        }
    }

    /// As [`TicketTx::find_contacts`].
    pub(crate) async fn find_contacts(
        &self,
        tx: &mut dyn TicketTx,
        lookup: &ContactLookup,
    ) -> Result<Vec<ContactRow>, StoreError> {
        let covered = self.enabled
            && lookup.email.is_none()
            && lookup.wa_ids.iter().all(|w| self.wa_ids.contains(w))
            && lookup.phones.iter().all(|p| self.phones.contains(p))
            && (lookup.bsuid.is_none() || lookup.bsuid == self.bsuid);
        if !covered {
            return tx.find_contacts(lookup).await;
        }
        let mut found: Vec<ContactRow> = self
            .contacts
            .iter()
            .filter(|c| matches(c, lookup))
            .cloned()
            .collect();
        found.sort_by_key(|c| c.id);
        Ok(found)
    }

    /// The batch created or changed `row`.
    pub(crate) fn put_contact(&mut self, row: &ContactRow, created: bool) {
        if !self.enabled {
            return;
        }
        if created {
            self.created.insert(row.id);
        }
        match self.contacts.iter_mut().find(|c| c.id == row.id) {
            Some(c) => *c = row.clone(),
            None => self.contacts.push(row.clone()),
        }
    }

    /// Contacts changed in a way the batch does not follow (a number change): forget them all.
    pub(crate) fn forget_contacts(&mut self) {
        self.contacts.clear();
        self.wa_ids.clear();
        self.phones.clear();
        self.bsuid = None;
        self.latest.clear();
    }

    /// As [`TicketTx::latest_ticket`].
    pub(crate) async fn latest_ticket(
        &self,
        tx: &mut dyn TicketTx,
        requester: ContactId,
        number: NumberId,
    ) -> Result<Option<TicketRow>, StoreError> {
        if self.enabled {
            if let Some(known) = self.latest.get(&(requester, number)) {
                return Ok(known.clone());
            }
            if self.created.contains(&requester) {
                return Ok(None);
            }
        }
        tx.latest_ticket(requester, number).await
    }

    /// The batch wrote `ticket` (created it, or joined a message to it) and knows every field:
    /// it is its requester's latest on its number unless a later one is known.
    pub(crate) fn put_ticket(&mut self, ticket: &TicketRow) {
        let Some(number) = ticket.fields.number_id else {
            return;
        };
        if !self.enabled {
            return;
        }
        let key = (ticket.fields.requester_id, number);
        if ticket.fields.deleted {
            self.latest.remove(&key);
            return;
        }
        let order = |t: &TicketRow| {
            (
                t.fields.last_message_at.unwrap_or(t.fields.created_at),
                t.id,
            )
        };
        match self.latest.get(&key) {
            Some(Some(known)) if known.id != ticket.id && order(known) > order(ticket) => {}
            Some(_) => {
                self.latest.insert(key, Some(ticket.clone()));
            }
            // Not known before: the database may hold a later one.
            None if self.created.contains(&ticket.fields.requester_id) => {
                self.latest.insert(key, Some(ticket.clone()));
            }
            None => {}
        }
    }

    /// `ticket` changed in ways the batch did not follow (rules ran on it, it was touched):
    /// the next read of it goes to the database.
    pub(crate) fn forget_ticket(&mut self, ticket: TicketId) {
        self.latest
            .retain(|_, t| t.as_ref().is_none_or(|t| t.id != ticket));
        self.threads.remove(&ticket);
        self.slas.remove(&ticket);
    }

    /// As [`TicketTx::ticket_sla`].
    pub(crate) async fn ticket_sla(
        &self,
        tx: &mut dyn TicketTx,
        ticket: TicketId,
    ) -> Result<Option<TicketSla>, StoreError> {
        if self.enabled
            && let Some(known) = self.slas.get(&ticket)
        {
            return Ok(known.clone());
        }
        tx.ticket_sla(ticket).await
    }

    /// The batch wrote the ticket's SLA state (`sla`, as [`TicketTx::ticket_sla`] now answers).
    pub(crate) fn put_sla(&mut self, sla: TicketSla) {
        if self.enabled {
            self.slas.insert(sla.ticket_id, Some(sla));
        }
    }

    /// The message event `event` as [`BatchReads::load`] parsed it (once: it is then the
    /// caller's); `None`: parse it.
    pub(crate) fn take_parsed(&mut self, event: EventId) -> Option<InboundEvent> {
        self.parsed.remove(&event)
    }

    /// The ticket's WhatsApp thread, when the batch knows it (it is then the caller's, to be
    /// given back with [`BatchReads::put_thread`] once changed); `None`: read it from the
    /// database.
    pub(crate) fn take_thread(&mut self, ticket: TicketId) -> Option<Thread> {
        self.threads.remove(&ticket)
    }

    /// The batch knows every WhatsApp entry of `ticket`: those of `thread`.
    pub(crate) fn put_thread(&mut self, ticket: TicketId, thread: Thread) {
        if self.enabled {
            self.threads.insert(ticket, thread);
        }
    }

    /// As [`TicketTx::find_entry`].
    pub(crate) async fn find_entry(
        &self,
        tx: &mut dyn TicketTx,
        number: NumberId,
        wamid: &str,
    ) -> Result<Option<EntryRow>, StoreError> {
        if self.enabled
            && let Some(known) = self.entries.get(&(number, wamid.to_owned()))
        {
            return Ok(known.clone());
        }
        tx.find_entry(number, wamid).await
    }

    /// The batch inserted or updated `row`.
    pub(crate) fn put_entry(&mut self, row: &EntryRow) {
        if !self.enabled {
            return;
        }
        if let (Some(number), Some(wamid)) = (row.number_id, row.fields.wamid.clone()) {
            self.entries.insert((number, wamid), Some(row.clone()));
        }
    }
}

/// Whether `c` matches any part of `lookup`, as the store's query decides.
fn matches(c: &ContactRow, lookup: &ContactLookup) -> bool {
    let f = &c.fields;
    f.wa_id.as_ref().is_some_and(|w| lookup.wa_ids.contains(w))
        || (lookup.bsuid.is_some() && f.bsuid == lookup.bsuid)
        || [&f.phone_e164, &f.mobile_e164]
            .into_iter()
            .flatten()
            .any(|p| lookup.phones.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::{ContactFields, NumberStatus, Secret, TicketFields};
    use ticketing_core::{AccountId, ThreadingInterval, contact::WaId};
    use time::{Duration, macros::datetime};

    const T0: OffsetDateTime = datetime!(2026-11-30 09:00 UTC);

    fn number(id: i64) -> WaNumber {
        WaNumber {
            id: NumberId(id),
            account_id: AccountId(1),
            phone_number_id: format!("pn{id}"),
            waba_id: "waba".into(),
            display_phone_number: "+1 555 0100".into(),
            name: "Support".into(),
            access_token: Secret::new("token"),
            app_secret: None,
            threading_interval: ThreadingInterval::default(),
            status: NumberStatus::Connected,
            created_at: T0,
            updated_at: T0,
        }
    }

    fn message(n: i64, wa_id: &str, wamid: &str, at: OffsetDateTime) -> NewMessage {
        NewMessage {
            number: NumberId(n),
            from: ContactIdentity::from_wa_id(WaId::parse(wa_id).expect("wa_id")),
            wamid: wamid.into(),
            at,
        }
    }

    fn known_contact(id: i64, wa_id: &str) -> ContactRow {
        ContactRow {
            id: ContactId(id),
            account_id: AccountId(1),
            fields: ContactFields {
                name: "Ana".into(),
                email: None,
                phone: None,
                mobile: Some(format!("+{wa_id}")),
                phone_e164: None,
                mobile_e164: Some(format!("+{wa_id}")),
                wa_id: Some(wa_id.into()),
                bsuid: None,
            },
            created_at: T0,
            updated_at: T0,
        }
    }

    fn ticket(id: i64, requester: i64, last_message_at: OffsetDateTime) -> TicketRow {
        TicketRow {
            id: TicketId(id),
            account_id: AccountId(1),
            fields: TicketFields {
                number_id: Some(NumberId(1)),
                requester_id: ContactId(requester),
                subject: "s".into(),
                subject_edited: false,
                status: 2,
                priority: 1,
                source: 13,
                responder_id: None,
                group_id: None,
                tags: Vec::new(),
                created_at: last_message_at,
                updated_at: last_message_at,
                last_message_at: Some(last_message_at),
                deleted: false,
                ticket_type: None,
                spam: false,
                status_changed_at: None,
                last_customer_message_at: Some(last_message_at),
                last_agent_response_at: None,
            },
        }
    }

    /// The forecast counts what the tickets job will create: a new sender's messages make one
    /// contact and one ticket; a known sender joins a recent ticket and opens a new one after the
    /// threading interval; a message already on a ticket, or twice in the batch, makes nothing.
    /// It also names the stored tickets the batch joins.
    #[test]
    fn forecast_counts_what_the_batch_creates() {
        let mut reads = BatchReads {
            enabled: true,
            ..BatchReads::default()
        };
        // Ana is known, with a ticket an hour old on number 1 and an old one on number 2.
        reads.contacts.push(known_contact(7, "16505550001"));
        reads.latest.insert(
            (ContactId(7), NumberId(1)),
            Some(ticket(70, 7, T0 - Duration::hours(1))),
        );
        reads.latest.insert(
            (ContactId(7), NumberId(2)),
            Some(ticket(71, 7, T0 - Duration::days(3))),
        );
        reads
            .entries
            .insert((NumberId(1), "wamid.stored".into()), Some(entry_row()));
        let messages = [
            // A new sender: one contact, one ticket, then a join.
            message(1, "16505550002", "wamid.b1", T0),
            message(1, "16505550002", "wamid.b2", T0 + Duration::minutes(1)),
            // Ana on number 1 joins her recent ticket; on number 2 opens a new one.
            message(1, "16505550001", "wamid.a1", T0),
            message(2, "16505550001", "wamid.a2", T0),
            // Already stored, or twice in the batch: nothing.
            message(1, "16505550001", "wamid.stored", T0),
            message(1, "16505550002", "wamid.b1", T0),
            // A number not connected: the event will fail, nothing is created.
            message(9, "16505550003", "wamid.c1", T0),
        ];
        let (plan, joins) = reads.expected_inserts(&messages, &[number(1), number(2)]);
        assert_eq!(
            plan,
            InsertPlan {
                contacts: 1,
                tickets: 2,
                entries: 4,
            }
        );
        // Only Ana's recent ticket is a stored ticket joined (its thread and SLA state are
        // read with the batch); the new sender's second message joins a ticket not made yet.
        assert_eq!(joins, [TicketId(70)]);
    }

    fn entry_row() -> EntryRow {
        EntryRow {
            id: store::EntryId(1),
            account_id: AccountId(1),
            ticket_id: TicketId(70),
            number_id: Some(NumberId(1)),
            fields: store::EntryFields {
                wamid: Some("wamid.stored".into()),
                incoming: true,
                private: false,
                body: String::new(),
                body_text: String::new(),
                attachments: serde_json::json!([]),
                wa_status: None,
                wa_error: None,
                reply_to: None,
                data: serde_json::json!({}),
                created_at: T0,
                updated_at: T0,
            },
        }
    }
}
