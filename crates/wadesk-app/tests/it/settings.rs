//! SLA policies, business hours and automation rules over the REST API: Freshdesk's shapes and
//! validation, defaults, ordering, roles and account isolation.

use reqwest::Method;
use serde_json::{Value, json};
use store::NewAgent;
use ticketing_core::{Plan, Role};

use crate::harness::{Backend, TestApp, on_both};

async fn agent_key(app: &TestApp, plan: Plan, role: Role, key: &str) {
    let agent = NewAgent {
        name: "Someone".into(),
        email: format!("{key}@example.com"),
        role,
        api_key_hash: wadesk_app::http::hash_api_key(key),
    };
    app.store
        .create_account(
            &format!("acct-{key}"),
            plan,
            &agent,
            time::OffsetDateTime::UNIX_EPOCH,
        )
        .await
        .unwrap();
}

async fn call(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app
        .client
        .request(method, app.url(&format!("/api/v2{path}")))
        .basic_auth(key, Some("X"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn target(respond: i64, resolve: i64) -> Value {
    json!({"respond_within": respond, "resolve_within": resolve, "business_hours": false, "escalation_enabled": true})
}

fn whatsapp_policy() -> Value {
    json!({
        "name": "WhatsApp VIP",
        "description": "Fast answers on WhatsApp",
        "applicable_to": {"sources": [13]},
        "sla_target": {
            "priority_4": target(900, 3600),
            "priority_3": target(1800, 7200),
            "priority_2": target(3600, 14400),
            "priority_1": target(7200, 28800),
        },
        "escalation": {
            "reminder_response": {"escalation_time": -600, "agent_ids": [-1]},
            "response": {"escalation_time": 0, "agent_ids": [-1]},
            "resolution": {"level_1": {"escalation_time": 0, "agent_ids": [-1]}}
        }
    })
}

fn first_error(body: &Value) -> (String, String) {
    let e = &body["errors"][0];
    (
        e["field"].as_str().unwrap_or_default().to_owned(),
        e["code"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn sla_policies_follow_freshdesk(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = crate::harness::API_KEY;

    // Every account has its default policy, once, however often it is listed.
    let (s, list) = call(&app, key, Method::GET, "/sla_policies", None).await;
    assert_eq!(s, 200);
    let (_, again) = call(&app, key, Method::GET, "/sla_policies", None).await;
    assert_eq!(list, again);
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["is_default"], true);
    assert!(list[0]["id"].is_i64());
    assert!(list[0]["created_at"].as_str().unwrap().ends_with('Z'));
    let default_id = list[0]["id"].as_i64().unwrap();

    let (s, created) = call(
        &app,
        key,
        Method::POST,
        "/sla_policies",
        Some(whatsapp_policy()),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["name"], "WhatsApp VIP");
    assert_eq!(created["applicable_to"]["sources"], json!([13]));
    assert_eq!(created["sla_target"]["priority_4"]["respond_within"], 900);
    assert_eq!(
        created["escalation"]["reminder_response"]["escalation_time"],
        -600
    );
    assert_eq!(created["description"], "Fast answers on WhatsApp");
    let id = created["id"].as_i64().unwrap();
    let (s, shown) = call(&app, key, Method::GET, &format!("/sla_policies/{id}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(shown, created);

    // Freshdesk's validation, each naming its field.
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            {
                let mut p = whatsapp_policy();
                p["sla_target"]
                    .as_object_mut()
                    .unwrap()
                    .remove("priority_2");
                p
            },
            "sla_target.priority_2",
            "",
        ),
        (
            {
                let mut p = whatsapp_policy();
                p["sla_target"]["priority_4"]["respond_within"] = json!(901);
                p
            },
            "sla_target.priority_4.respond_within",
            "invalid_value",
        ),
        (
            {
                let mut p = whatsapp_policy();
                p["sla_target"]["priority_4"]["resolve_within"] = json!(600);
                p
            },
            "sla_target.priority_4.resolve_within",
            "invalid_value",
        ),
        (
            {
                let mut p = whatsapp_policy();
                p["sla_target"]["priority_1"]["business_hours"] = json!("false");
                p
            },
            "sla_target.priority_1.business_hours",
            "datatype_mismatch",
        ),
        (
            {
                let mut p = whatsapp_policy();
                p["escalation"]["resolution"]["level_5"] =
                    json!({"escalation_time": 0, "agent_ids": [-1]});
                p
            },
            "escalation.resolution.level_5",
            "invalid_field",
        ),
        (
            {
                let mut p = whatsapp_policy();
                p["is_default"] = json!(true);
                p
            },
            "is_default",
            "invalid_value",
        ),
    ];
    for (body, field, code) in cases {
        let (s, err) = call(&app, key, Method::POST, "/sla_policies", Some(body)).await;
        assert_eq!(s, 400, "{err}");
        let (f, c) = first_error(&err);
        assert!(f.starts_with(field), "expected field {field}, got {err}");
        if !code.is_empty() {
            assert_eq!(c, code, "{err}");
        }
    }

    // PUT replaces the keys given and revalidates; the default stays the default and active.
    let (s, updated) = call(
        &app,
        key,
        Method::PUT,
        &format!("/sla_policies/{id}"),
        Some(json!({"name": "WhatsApp Gold", "position": 5})),
    )
    .await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(updated["name"], "WhatsApp Gold");
    assert_eq!(updated["position"], 5);
    assert_eq!(updated["applicable_to"]["sources"], json!([13]));
    let (s, _) = call(
        &app,
        key,
        Method::PUT,
        &format!("/sla_policies/{default_id}"),
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = call(
        &app,
        key,
        Method::PUT,
        &format!("/sla_policies/{id}"),
        Some(json!({"sla_target": {"priority_4": target(900, 3600)}})),
    )
    .await;
    assert_eq!(s, 400, "all four priorities are required on update too");
    let (s, _) = call(&app, key, Method::GET, "/sla_policies/999999", None).await;
    assert_eq!(s, 404);

    // Agents read but cannot write; another account sees none of it.
    agent_key(&app, Plan::Growth, Role::Agent, "agent-key").await;
    agent_key(&app, Plan::Growth, Role::Admin, "other-admin").await;
    let (s, _) = call(
        &app,
        "agent-key",
        Method::POST,
        "/sla_policies",
        Some(whatsapp_policy()),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = call(
        &app,
        "other-admin",
        Method::GET,
        &format!("/sla_policies/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = call(
        &app,
        "other-admin",
        Method::PUT,
        &format!("/sla_policies/{id}"),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(s, 404);
    let (_, theirs) = call(&app, "other-admin", Method::GET, "/sla_policies", None).await;
    assert_eq!(
        theirs.as_array().unwrap().len(),
        1,
        "only their own default"
    );
    app.stop().await;
}
on_both!(sla_policies_follow_freshdesk);

async fn business_hours_follow_freshdesk(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = crate::harness::API_KEY;
    let (s, list) = call(&app, key, Method::GET, "/business_hours", None).await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["is_default"], true);

    let body = json!({
        "name": "New York support",
        "time_zone": "Eastern Time (US & Canada)",
        "business_hours": {
            "monday": {"start_time": "9:00 am", "end_time": "6:00 pm"},
            "friday": [{"start_time": "9:00 am", "end_time": "12:00 pm"}, {"start_time": "1:00 pm", "end_time": "5:00 pm"}],
            "saturday": {"start_time": "10:00 pm", "end_time": "2:00 am"}
        },
        "holidays": [{"name": "Christmas", "date": "2026-12-25"}]
    });
    let (s, created) = call(&app, key, Method::POST, "/business_hours", Some(body)).await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["time_zone"], "Eastern Time (US & Canada)");
    assert_eq!(created["is_default"], false);
    assert_eq!(created["business_hours"]["monday"]["start_time"], "9:00 am");
    assert!(created["business_hours"]["friday"].is_array());
    assert!(
        created["business_hours"].get("tuesday").is_none(),
        "a weekday left out is closed"
    );
    assert_eq!(created["holidays"][0]["name"], "Christmas");
    let id = created["id"].as_i64().unwrap();

    let (s, err) = call(
        &app,
        key,
        Method::POST,
        "/business_hours",
        Some(json!({"name": "Nowhere", "time_zone": "Mars/Olympus", "business_hours": {}})),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(first_error(&err).0, "time_zone");
    let (s, err) = call(
        &app,
        key,
        Method::POST,
        "/business_hours",
        Some(json!({"name": "Bad", "time_zone": "Europe/Berlin", "business_hours": {"monday": {"start_time": "25:00", "end_time": "6:00 pm"}}})),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        first_error(&err).0.starts_with("business_hours.monday"),
        "{err}"
    );
    let (s, err) = call(
        &app,
        key,
        Method::POST,
        "/business_hours",
        Some(json!({"time_zone": "Europe/Berlin"})),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(first_error(&err), ("name".into(), "missing_field".into()));

    let (s, updated) = call(
        &app,
        key,
        Method::PUT,
        &format!("/business_hours/{id}"),
        Some(json!({"time_zone": "Asia/Kolkata"})),
    )
    .await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(updated["time_zone"], "Asia/Kolkata");
    assert_eq!(updated["name"], "New York support");
    let (s, shown) = call(
        &app,
        key,
        Method::GET,
        &format!("/business_hours/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(shown, updated);

    agent_key(&app, Plan::Growth, Role::Admin, "other-admin").await;
    let (s, _) = call(
        &app,
        "other-admin",
        Method::GET,
        &format!("/business_hours/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
    app.stop().await;
}
on_both!(business_hours_follow_freshdesk);

fn route_rule(name: &str, agent: i64) -> Value {
    json!({
        "name": name,
        "active": true,
        "conditions": [{"name": "set1", "match_type": "all", "properties": [
            {"resource_type": "ticket", "field_name": "source", "operator": "in", "value": [13]}
        ]}],
        "actions": [{"field_name": "responder_id", "value": agent}, {"field_name": "priority", "value": 3}]
    })
}

async fn automation_rules_follow_the_contract(backend: Backend) {
    let app = TestApp::start(backend).await;
    let key = crate::harness::API_KEY;

    let (s, a) = call(
        &app,
        key,
        Method::POST,
        "/automations/1/rules",
        Some(route_rule("WhatsApp to Ana", 7)),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["automation_type_id"], 1);
    assert_eq!(a["position"], 1);
    assert_eq!(a["conditions"][0]["properties"][0]["value"], json!([13]));
    let (s, b) = call(
        &app,
        key,
        Method::POST,
        "/automations/1/rules",
        Some(route_rule("Second", 8)),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(b["position"], 2);
    let mut first = route_rule("Before all", 9);
    first["position"] = json!(1);
    let (s, c) = call(&app, key, Method::POST, "/automations/1/rules", Some(first)).await;
    assert_eq!(s, 201);
    let (_, list) = call(&app, key, Method::GET, "/automations/1/rules", None).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["WhatsApp to Ana", "Before all", "Second"],
        "position, then id"
    );
    let (_, other_type) = call(&app, key, Method::GET, "/automations/4/rules", None).await;
    assert_eq!(other_type, json!([]));

    // Field-level validation with paths.
    let mut bad = route_rule("Bad", 7);
    bad["conditions"][0]["properties"][0]["operator"] = json!("is_greater_than");
    let (s, err) = call(&app, key, Method::POST, "/automations/1/rules", Some(bad)).await;
    assert!(s == 400 || s == 422, "{s} {err}");
    assert_eq!(
        first_error(&err).0,
        "conditions[0].properties[0].operator",
        "{err}"
    );
    let mut bad = route_rule("Bad", 7);
    bad.as_object_mut().unwrap().remove("actions");
    let (s, err) = call(&app, key, Method::POST, "/automations/1/rules", Some(bad)).await;
    assert_eq!(s, 400, "{err}");
    assert_eq!(first_error(&err).0, "actions");
    let (s, _) = call(
        &app,
        key,
        Method::POST,
        "/automations/2/rules",
        Some(route_rule("x", 1)),
    )
    .await;
    assert_eq!(s, 404, "type 2 does not exist");

    // Update, show, delete.
    let id = a["id"].as_i64().unwrap();
    let (s, up) = call(
        &app,
        key,
        Method::PUT,
        &format!("/automations/1/rules/{id}"),
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!(s, 200, "{up}");
    assert_eq!(up["active"], false);
    assert_eq!(up["name"], "WhatsApp to Ana");
    let (s, shown) = call(
        &app,
        key,
        Method::GET,
        &format!("/automations/1/rules/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(shown, up);
    let (s, _) = call(
        &app,
        key,
        Method::GET,
        &format!("/automations/4/rules/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 404, "a rule lives under its own type");

    // Execution modes: Freshdesk's defaults, then set.
    let (_, m1) = call(&app, key, Method::GET, "/automations/1/settings", None).await;
    assert_eq!(m1["execution_mode"], "first_matching");
    let (_, m4) = call(&app, key, Method::GET, "/automations/4/settings", None).await;
    assert_eq!(m4["execution_mode"], "all_matching");
    let (s, set) = call(
        &app,
        key,
        Method::PUT,
        "/automations/1/settings",
        Some(json!({"execution_mode": "all_matching"})),
    )
    .await;
    assert_eq!(s, 200, "{set}");
    let (_, m1) = call(&app, key, Method::GET, "/automations/1/settings", None).await;
    assert_eq!(m1["execution_mode"], "all_matching");
    let (s, _) = call(
        &app,
        key,
        Method::PUT,
        "/automations/1/settings",
        Some(json!({"execution_mode": "sometimes"})),
    )
    .await;
    assert_eq!(s, 400);

    // Roles and isolation.
    agent_key(&app, Plan::Growth, Role::Agent, "agent-key").await;
    agent_key(&app, Plan::Growth, Role::Admin, "other-admin").await;
    let (s, _) = call(
        &app,
        "agent-key",
        Method::DELETE,
        &format!("/automations/1/rules/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 403);
    for method in [Method::GET, Method::DELETE] {
        let (s, _) = call(
            &app,
            "other-admin",
            method,
            &format!("/automations/1/rules/{id}"),
            None,
        )
        .await;
        assert_eq!(s, 404);
    }
    let (_, theirs) = call(
        &app,
        "other-admin",
        Method::GET,
        "/automations/1/rules",
        None,
    )
    .await;
    assert_eq!(theirs, json!([]));

    let (s, _) = call(
        &app,
        key,
        Method::DELETE,
        &format!("/automations/1/rules/{}", c["id"]),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = call(
        &app,
        key,
        Method::DELETE,
        &format!("/automations/1/rules/{}", c["id"]),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (_, list) = call(&app, key, Method::GET, "/automations/1/rules", None).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    app.stop().await;
}
on_both!(automation_rules_follow_the_contract);
