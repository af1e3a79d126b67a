//! The minimal numbers API and authentication.

use store::NewAgent;
use ticketing_core::{Plan, Role};

use crate::harness::{Backend, TestApp, on_both};

async fn create_account(app: &TestApp, plan: Plan, role: Role, key: &str) {
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

fn number_body(pnid: &str) -> serde_json::Value {
    serde_json::json!({
        "phone_number_id": pnid, "waba_id": "102290129340398", "display_phone_number": "+1 555 0100",
        "access_token": "EAAG-secret-token", "name": "Support", "threading_interval_hours": 12
    })
}

async fn connecting_numbers_follows_the_contract(backend: Backend) {
    let app = TestApp::start(backend).await;

    let anonymous = app
        .client
        .get(app.url("/api/v2/whatsapp/numbers"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong_key = app
        .client
        .get(app.url("/api/v2/whatsapp/numbers"))
        .basic_auth("nope", Some("X"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_key.status(), 401);
    let err: serde_json::Value = wrong_key.json().await.unwrap();
    assert!(
        err["description"].is_string() && err["errors"].is_array(),
        "Freshdesk error shape: {err}"
    );

    let created = app
        .api(reqwest::Method::POST, "/whatsapp/numbers")
        .json(&number_body("1001"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let n: serde_json::Value = created.json().await.unwrap();
    assert!(n["id"].is_i64());
    assert_eq!(n["phone_number_id"], "1001");
    assert_eq!(n["threading_interval_hours"], 12);
    assert_eq!(n["status"], "connected");
    assert!(
        n.get("access_token").is_none(),
        "the token is never returned: {n}"
    );
    assert!(!n.to_string().contains("EAAG-secret-token"));

    let dup = app
        .api(reqwest::Method::POST, "/whatsapp/numbers")
        .json(&number_body("1001"))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 409);

    for i in 2..=10 {
        let r = app
            .api(reqwest::Method::POST, "/whatsapp/numbers")
            .json(&number_body(&format!("100{i}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "number {i}");
    }
    let eleventh = app
        .api(reqwest::Method::POST, "/whatsapp/numbers")
        .json(&number_body("2000"))
        .send()
        .await
        .unwrap();
    assert_eq!(eleventh.status(), 422);
    let listed: Vec<serde_json::Value> = app
        .api(reqwest::Method::GET, "/whatsapp/numbers")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 10);

    for (body, field) in [
        (
            serde_json::json!({"phone_number_id": "3000", "waba_id": "1", "display_phone_number": "+1", "access_token": "t", "threading_interval_hours": 49}),
            "threading_interval_hours",
        ),
        (
            serde_json::json!({"phone_number_id": "3000", "waba_id": "1", "display_phone_number": "+1", "access_token": "t", "threading_interval_hours": 0}),
            "threading_interval_hours",
        ),
        (
            serde_json::json!({"waba_id": "1", "display_phone_number": "+1", "access_token": "t"}),
            "phone_number_id",
        ),
        (
            serde_json::json!({"phone_number_id": "abc", "waba_id": "1", "display_phone_number": "+1", "access_token": "t"}),
            "phone_number_id",
        ),
        (
            serde_json::json!({"phone_number_id": "3000", "waba_id": "1", "display_phone_number": "+1"}),
            "access_token",
        ),
    ] {
        let r = app
            .api(reqwest::Method::POST, "/whatsapp/numbers")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let e: serde_json::Value = r.json().await.unwrap();
        assert!(
            e["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["field"] == field),
            "{e}"
        );
    }
    let malformed = app
        .api(reqwest::Method::POST, "/whatsapp/numbers")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);

    create_account(&app, Plan::Free, Role::Admin, "free-admin").await;
    let free = app
        .client
        .post(app.url("/api/v2/whatsapp/numbers"))
        .basic_auth("free-admin", Some("X"))
        .json(&number_body("4000"))
        .send()
        .await
        .unwrap();
    assert_eq!(free.status(), 403);

    create_account(&app, Plan::Pro, Role::Agent, "pro-agent").await;
    let agent = app
        .client
        .post(app.url("/api/v2/whatsapp/numbers"))
        .basic_auth("pro-agent", Some("X"))
        .json(&number_body("5000"))
        .send()
        .await
        .unwrap();
    assert_eq!(agent.status(), 403);

    // Another account sees none of account 1's numbers or deliveries.
    create_account(&app, Plan::Pro, Role::Admin, "pro-admin").await;
    let theirs: Vec<serde_json::Value> = app
        .client
        .get(app.url("/api/v2/whatsapp/numbers"))
        .basic_auth("pro-admin", Some("X"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(theirs.is_empty());
    app.stop().await;
}
on_both!(connecting_numbers_follows_the_contract);
