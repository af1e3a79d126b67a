//! The account's directory: agents (with their Freshdesk fields and API keys), groups, and the
//! administration of WhatsApp numbers (one number, disconnection, onboarding state, business
//! name). Every method takes the caller's account and never sees another account's rows: an id
//! of another account is [`StoreError::NotFound`](crate::StoreError::NotFound).

use async_trait::async_trait;
use ticketing_core::{AccountId, AgentId, NumberId, Role};
use time::OffsetDateTime;

use crate::{Agent, NewAgent, NumberStatus, Page, StoreResult, WaNumber};

pub use ticketing_core::GroupId;

/// Freshdesk's agent fields beyond name, email and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentDetails {
    /// 1 global access, 2 group access, 3 restricted access.
    pub ticket_scope: i64,
    /// Whether the agent takes new tickets.
    pub available: bool,
    /// An occasional (day-pass) agent.
    pub occasional: bool,
    /// Phone.
    pub phone: Option<String>,
    /// Mobile.
    pub mobile: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Language code, e.g. `en`.
    pub language: String,
    /// Time zone name.
    pub time_zone: String,
    /// Signature (HTML).
    pub signature: Option<String>,
}

impl Default for AgentDetails {
    fn default() -> Self {
        Self {
            ticket_scope: 1,
            available: true,
            occasional: false,
            phone: None,
            mobile: None,
            job_title: None,
            language: "en".into(),
            time_zone: "UTC".into(),
            signature: None,
        }
    }
}

/// An agent with everything the API shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    /// Identity, account, name, email, role, times.
    pub agent: Agent,
    /// Freshdesk's other fields.
    pub details: AgentDetails,
    /// The groups the agent belongs to, ascending.
    pub group_ids: Vec<GroupId>,
}

/// What an agent update sets (the caller merges the request into the current record).
#[derive(Debug, Clone)]
pub struct AgentChange {
    /// Display name.
    pub name: String,
    /// Email, unique per account (ignoring case).
    pub email: String,
    /// Admin or agent.
    pub role: Role,
    /// The other fields.
    pub details: AgentDetails,
}

/// A group's fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupFields {
    /// Name, unique per account.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The member agents (all of the same account).
    pub agent_ids: Vec<AgentId>,
    /// Agent notified when a ticket stays unassigned.
    pub escalate_to: Option<AgentId>,
    /// Freshdesk's `unassigned_for`, e.g. `30m`.
    pub unassigned_for: Option<String>,
    /// Business hours of the group, when it has its own.
    pub business_hours_id: Option<i64>,
    /// Freshdesk's `auto_ticket_assign` (0 off, 1 round robin).
    pub auto_ticket_assign: i64,
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// Its id.
    pub id: GroupId,
    /// Its account.
    pub account_id: AccountId,
    /// Its fields (`agent_ids` ascending).
    pub fields: GroupFields,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// Where a number stands in onboarding, beyond [`NumberStatus`], and what Meta says about it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NumberOnboarding {
    /// The Facebook Business Manager id given at onboarding.
    pub business_manager_id: Option<String>,
    /// The WhatsApp Business display name (Meta's `verified_name`).
    pub display_name: Option<String>,
    /// Meta's display-name review state (`name_status`: `APPROVED`, `PENDING_REVIEW`, …).
    pub name_status: Option<String>,
    /// When the verification code was last requested (status `unverified` → API `code_requested`).
    pub code_requested_at: Option<OffsetDateTime>,
    /// How it was requested: `SMS` or `VOICE`.
    pub code_method: Option<String>,
    /// The business name kept alongside the business profile.
    pub business_name: Option<String>,
    /// Meta's last error on an onboarding step, as JSON text, for admins.
    pub last_error: Option<String>,
}

/// A number with its onboarding details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRecord {
    /// The number (secrets included; never shown by the API).
    pub number: WaNumber,
    /// Onboarding and profile details.
    pub onboarding: NumberOnboarding,
}

/// Agents, groups and number administration, scoped to one account.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    // ---------------------------------------------------------------- agents

    /// The account's agents, in id order.
    async fn list_agents(&self, account: AccountId, page: Page) -> StoreResult<Vec<AgentRecord>>;

    /// One agent of the account.
    async fn get_agent(&self, account: AccountId, id: AgentId) -> StoreResult<AgentRecord>;

    /// Creates an agent. A duplicate email (ignoring case) in the account is
    /// [`StoreError::Conflict`](crate::StoreError::Conflict).
    async fn create_agent(
        &self,
        account: AccountId,
        agent: &NewAgent,
        details: &AgentDetails,
        now: OffsetDateTime,
    ) -> StoreResult<AgentRecord>;

    /// Replaces an agent's fields. Fails with `Conflict` on a duplicate email, and with
    /// `Conflict` when it would leave the account without an admin.
    async fn update_agent(
        &self,
        account: AccountId,
        id: AgentId,
        change: &AgentChange,
        now: OffsetDateTime,
    ) -> StoreResult<AgentRecord>;

    /// Replaces an agent's API key hash; the old key stops working at once.
    async fn set_agent_api_key(
        &self,
        account: AccountId,
        id: AgentId,
        api_key_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<AgentRecord>;

    // ---------------------------------------------------------------- groups

    /// The account's groups, in id order.
    async fn list_groups(&self, account: AccountId, page: Page) -> StoreResult<Vec<GroupRecord>>;

    /// One group of the account.
    async fn get_group(&self, account: AccountId, id: GroupId) -> StoreResult<GroupRecord>;

    /// Creates a group. Agent ids of another account (or unknown) are `NotFound`; a duplicate
    /// name is `Conflict`.
    async fn create_group(
        &self,
        account: AccountId,
        fields: &GroupFields,
        now: OffsetDateTime,
    ) -> StoreResult<GroupRecord>;

    /// Replaces a group's fields and members, with the same rules as creation.
    async fn update_group(
        &self,
        account: AccountId,
        id: GroupId,
        fields: &GroupFields,
        now: OffsetDateTime,
    ) -> StoreResult<GroupRecord>;

    // ---------------------------------------------------------------- numbers

    /// One number of the account with its onboarding details.
    async fn get_number(&self, account: AccountId, id: NumberId) -> StoreResult<NumberRecord>;

    /// The onboarding details of the account's numbers, by number id (numbers without any are
    /// left out).
    async fn list_number_onboarding(
        &self,
        account: AccountId,
    ) -> StoreResult<Vec<(NumberId, NumberOnboarding)>>;

    /// Sets a number's status and onboarding details in one step, but only when its current
    /// status is one of `from` (else `Conflict`, nothing changed).
    async fn set_number_state(
        &self,
        account: AccountId,
        id: NumberId,
        from: &[NumberStatus],
        status: NumberStatus,
        onboarding: &NumberOnboarding,
        now: OffsetDateTime,
    ) -> StoreResult<NumberRecord>;

    /// Changes a number's name (for agents).
    async fn rename_number(
        &self,
        account: AccountId,
        id: NumberId,
        name: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Records Meta's display-name review decision for a number, whatever its account (from a
    /// `phone_number_name_update` webhook). Unknown numbers are ignored (`Ok(false)`).
    async fn set_name_status(
        &self,
        phone_number_id: &str,
        name_status: &str,
        display_name: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
}
