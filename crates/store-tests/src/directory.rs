//! Conformance checks of [`store::DirectoryStore`]: agents, groups, number administration.

#![allow(clippy::expect_used)]

use store::{
    AgentChange, AgentDetails, GroupFields, GroupId, NewAgent, NumberOnboarding, NumberStatus,
    Page, StoreError,
};
use ticketing_core::{AgentId, NumberId, Plan, Role};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::checks::{SharedStore, admin_for_tests, number_for_tests};

fn t0() -> OffsetDateTime {
    datetime!(2026-11-29 12:00:00 UTC)
}

fn new_agent(name: &str, email: &str, role: Role, hash: &str) -> NewAgent {
    NewAgent {
        name: name.into(),
        email: email.into(),
        role,
        api_key_hash: hash.into(),
    }
}

const ALL: Page = Page {
    page: 1,
    per_page: 100,
};

/// Agents are created with their Freshdesk fields, listed and read per account only, updated,
/// re-keyed; emails are unique per account ignoring case; the last admin stays an admin.
pub async fn agents_are_scoped_and_round_trip(store: SharedStore) {
    let (a, admin_a) = store
        .create_account("A", Plan::Growth, &admin_for_tests("da"), t0())
        .await
        .expect("a");
    let (b, admin_b) = store
        .create_account("B", Plan::Growth, &admin_for_tests("db"), t0())
        .await
        .expect("b");
    let details = AgentDetails {
        ticket_scope: 2,
        available: false,
        occasional: true,
        phone: Some("+1 555 0101".into()),
        mobile: None,
        job_title: Some("Support lead".into()),
        language: "fr".into(),
        time_zone: "Europe/Paris".into(),
        signature: Some("<p>Zoë</p>".into()),
    };
    let zoe = store
        .create_agent(
            a.id,
            &new_agent("Zoë", "zoe@example.com", Role::Agent, &"1".repeat(64)),
            &details,
            t0(),
        )
        .await
        .expect("create");
    assert_eq!(zoe.agent.account_id, a.id);
    assert_eq!(zoe.agent.role, Role::Agent);
    assert_eq!(zoe.details, details);
    assert!(zoe.group_ids.is_empty());
    let dup = store
        .create_agent(
            a.id,
            &new_agent("Z2", "ZOE@example.com", Role::Agent, &"2".repeat(64)),
            &AgentDetails::default(),
            t0(),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    // The same email in another account is fine.
    store
        .create_agent(
            b.id,
            &new_agent("Zoë B", "zoe@example.com", Role::Agent, &"3".repeat(64)),
            &AgentDetails::default(),
            t0(),
        )
        .await
        .expect("other account");

    let list = store.list_agents(a.id, ALL).await.expect("list");
    assert_eq!(
        list.iter().map(|r| r.agent.id).collect::<Vec<_>>(),
        vec![admin_a.id, zoe.agent.id]
    );
    assert_eq!(store.get_agent(a.id, zoe.agent.id).await.expect("get"), zoe);
    assert!(matches!(
        store.get_agent(b.id, zoe.agent.id).await,
        Err(StoreError::NotFound)
    ));
    let page2 = store
        .list_agents(
            a.id,
            Page {
                page: 2,
                per_page: 1,
            },
        )
        .await
        .expect("page 2");
    assert_eq!(page2.len(), 1);
    assert_eq!(page2[0].agent.id, zoe.agent.id);

    let later = t0() + Duration::minutes(5);
    let changed = store
        .update_agent(
            a.id,
            zoe.agent.id,
            &AgentChange {
                name: "Zoë Admin".into(),
                email: "zoe.admin@example.com".into(),
                role: Role::Admin,
                details: AgentDetails::default(),
            },
            later,
        )
        .await
        .expect("update");
    assert_eq!(changed.agent.role, Role::Admin);
    assert_eq!(changed.agent.email, "zoe.admin@example.com");
    assert_eq!(changed.details, AgentDetails::default());
    assert_eq!(changed.agent.updated_at, later);
    assert!(matches!(
        store
            .update_agent(
                b.id,
                zoe.agent.id,
                &AgentChange {
                    name: "x".into(),
                    email: "x@example.com".into(),
                    role: Role::Agent,
                    details: AgentDetails::default(),
                },
                later,
            )
            .await,
        Err(StoreError::NotFound)
    ));
    // B's only admin cannot be demoted.
    let demote = store
        .update_agent(
            b.id,
            admin_b.id,
            &AgentChange {
                name: admin_b.name.clone(),
                email: admin_b.email.clone(),
                role: Role::Agent,
                details: AgentDetails::default(),
            },
            later,
        )
        .await;
    assert!(matches!(demote, Err(StoreError::Conflict(_))), "{demote:?}");

    // A new key replaces the old one.
    store
        .set_agent_api_key(a.id, zoe.agent.id, &"9".repeat(64), later)
        .await
        .expect("rotate");
    assert!(
        store
            .find_agent_by_api_key_hash(&"1".repeat(64))
            .await
            .expect("old")
            .is_none()
    );
    assert_eq!(
        store
            .find_agent_by_api_key_hash(&"9".repeat(64))
            .await
            .expect("new")
            .map(|a| a.id),
        Some(zoe.agent.id)
    );
    assert!(matches!(
        store
            .set_agent_api_key(b.id, zoe.agent.id, &"8".repeat(64), later)
            .await,
        Err(StoreError::NotFound)
    ));
}

/// Groups hold agents of their own account only; names are unique per account; members show on
/// agents too.
pub async fn groups_are_scoped_and_hold_members(store: SharedStore) {
    let (a, admin_a) = store
        .create_account("A", Plan::Growth, &admin_for_tests("ga"), t0())
        .await
        .expect("a");
    let (b, admin_b) = store
        .create_account("B", Plan::Growth, &admin_for_tests("gb"), t0())
        .await
        .expect("b");
    let agent = store
        .create_agent(
            a.id,
            &new_agent("Ann", "ann@example.com", Role::Agent, &"4".repeat(64)),
            &AgentDetails::default(),
            t0(),
        )
        .await
        .expect("agent");
    let fields = GroupFields {
        name: "Billing".into(),
        description: Some("Money questions".into()),
        agent_ids: vec![agent.agent.id, admin_a.id, agent.agent.id],
        escalate_to: Some(admin_a.id),
        unassigned_for: Some("30m".into()),
        business_hours_id: None,
        auto_ticket_assign: 0,
    };
    let g = store
        .create_group(a.id, &fields, t0())
        .await
        .expect("group");
    let mut want = vec![admin_a.id, agent.agent.id];
    want.sort();
    assert_eq!(g.fields.agent_ids, want);
    assert_eq!(g.fields.escalate_to, Some(admin_a.id));
    assert_eq!(store.get_group(a.id, g.id).await.expect("get"), g);
    assert!(matches!(
        store.get_group(b.id, g.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .get_agent(a.id, agent.agent.id)
            .await
            .expect("agent")
            .group_ids,
        vec![g.id]
    );
    // Another account's agent is refused, and nothing is created.
    let foreign = GroupFields {
        name: "Sneaky".into(),
        agent_ids: vec![admin_b.id],
        ..Default::default()
    };
    assert!(matches!(
        store.create_group(a.id, &foreign, t0()).await,
        Err(StoreError::NotFound)
    ));
    let dup = store
        .create_group(
            a.id,
            &GroupFields {
                name: "BILLING".into(),
                ..Default::default()
            },
            t0(),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    // B may use the same name.
    let gb = store
        .create_group(
            b.id,
            &GroupFields {
                name: "Billing".into(),
                ..Default::default()
            },
            t0(),
        )
        .await
        .expect("b group");
    assert_eq!(
        store
            .list_groups(a.id, ALL)
            .await
            .expect("list")
            .iter()
            .map(|g| g.id)
            .collect::<Vec<_>>(),
        vec![g.id]
    );
    let later = t0() + Duration::hours(1);
    let updated = store
        .update_group(
            a.id,
            g.id,
            &GroupFields {
                name: "Billing & refunds".into(),
                agent_ids: vec![agent.agent.id],
                ..Default::default()
            },
            later,
        )
        .await
        .expect("update");
    assert_eq!(updated.fields.agent_ids, vec![agent.agent.id]);
    assert_eq!(updated.fields.description, None);
    assert_eq!(updated.updated_at, later);
    assert!(matches!(
        store
            .update_group(a.id, gb.id, &GroupFields::default(), later)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .update_group(a.id, GroupId(i64::MAX), &updated.fields, later)
            .await,
        Err(StoreError::NotFound)
    ));
    let _ = AgentId(0);
}

/// A number's state moves only from the states given; onboarding details are kept; numbers of
/// other accounts are invisible; a disconnected number does not count towards the limit.
pub async fn number_state_machine_is_atomic_and_scoped(store: SharedStore) {
    let (a, _) = store
        .create_account("A", Plan::Growth, &admin_for_tests("na"), t0())
        .await
        .expect("a");
    let (b, _) = store
        .create_account("B", Plan::Growth, &admin_for_tests("nb"), t0())
        .await
        .expect("b");
    let mut new = number_for_tests(a.id, "7001");
    new.status = NumberStatus::Unverified;
    let n = store.connect_number(&new, 10, t0()).await.expect("add");
    let rec = store.get_number(a.id, n.id).await.expect("get");
    assert_eq!(rec.number, n);
    assert_eq!(rec.onboarding, NumberOnboarding::default());
    assert!(matches!(
        store.get_number(b.id, n.id).await,
        Err(StoreError::NotFound)
    ));

    let onboarding = NumberOnboarding {
        business_manager_id: Some("123".into()),
        display_name: Some("Acme".into()),
        name_status: Some("PENDING_REVIEW".into()),
        code_requested_at: Some(t0()),
        code_method: Some("SMS".into()),
        business_name: None,
        last_error: None,
    };
    let later = t0() + Duration::minutes(1);
    let rec = store
        .set_number_state(
            a.id,
            n.id,
            &[NumberStatus::Unverified],
            NumberStatus::Unverified,
            &onboarding,
            later,
        )
        .await
        .expect("code requested");
    assert_eq!(rec.onboarding, onboarding);
    assert_eq!(rec.number.updated_at, later);
    // Out of order: registering needs `verified`.
    let wrong = store
        .set_number_state(
            a.id,
            n.id,
            &[NumberStatus::Verified],
            NumberStatus::Connected,
            &onboarding,
            later,
        )
        .await;
    assert!(matches!(wrong, Err(StoreError::Conflict(_))), "{wrong:?}");
    assert_eq!(
        store
            .get_number(a.id, n.id)
            .await
            .expect("get")
            .number
            .status,
        NumberStatus::Unverified
    );
    assert!(matches!(
        store
            .set_number_state(
                b.id,
                n.id,
                &[NumberStatus::Unverified],
                NumberStatus::Verified,
                &onboarding,
                later
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .set_number_state(
                a.id,
                NumberId(i64::MAX),
                &[NumberStatus::Unverified],
                NumberStatus::Verified,
                &onboarding,
                later
            )
            .await,
        Err(StoreError::NotFound)
    ));
    // Display-name review from a webhook.
    assert!(
        store
            .set_name_status("7001", "APPROVED", None, later)
            .await
            .expect("name")
    );
    assert!(
        !store
            .set_name_status("nope", "APPROVED", None, later)
            .await
            .expect("unknown")
    );
    let rec = store.get_number(a.id, n.id).await.expect("get");
    assert_eq!(rec.onboarding.name_status.as_deref(), Some("APPROVED"));
    assert_eq!(rec.onboarding.display_name.as_deref(), Some("Acme"));
    assert_eq!(
        store
            .list_number_onboarding(a.id)
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(
        store
            .list_number_onboarding(b.id)
            .await
            .expect("list b")
            .is_empty()
    );

    store
        .rename_number(a.id, n.id, "Sales", later)
        .await
        .expect("rename");
    assert!(matches!(
        store.rename_number(b.id, n.id, "x", later).await,
        Err(StoreError::NotFound)
    ));

    // Disconnected numbers leave room under the limit.
    store
        .set_number_state(
            a.id,
            n.id,
            &[
                NumberStatus::Unverified,
                NumberStatus::Verified,
                NumberStatus::Connected,
            ],
            NumberStatus::Disconnected,
            &onboarding,
            later,
        )
        .await
        .expect("disconnect");
    store
        .connect_number(&number_for_tests(a.id, "7002"), 1, later)
        .await
        .expect("room left by the disconnected number");
    let rec = store.get_number(a.id, n.id).await.expect("kept");
    assert_eq!(rec.number.status, NumberStatus::Disconnected);
    assert_eq!(rec.number.name, "Sales");
}
