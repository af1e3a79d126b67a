//! Every webhook body under `tests/fixtures/` parses, re-serialises to exactly what it was, and is snapshotted.

// Test helpers outside #[test] functions panic on broken fixtures on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use wa_client::webhook::{ChangeValue, MessageContent, Notification, parse_notification};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn rel(path: &Path) -> String {
    path.strip_prefix(fixtures_dir())
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

/// pywa keeps its cases as `{case_name: notification}` bundles; these are not notifications themselves.
fn is_bundle(rel: &str) -> bool {
    rel.starts_with("pywa/updates/") || rel.starts_with("pywa/updates-v18-legacy/")
}

/// Checks that every message, status and change value re-serialises to the JSON it came from, and the whole
/// notification too. Returns the number of items checked.
fn assert_round_trip(name: &str, raw: &Value, parsed: &Notification) -> usize {
    let mut checked = 0;
    assert_eq!(
        &serde_json::to_value(parsed).unwrap(),
        raw,
        "{name}: notification round trip"
    );
    for (ei, entry) in parsed.entry.iter().enumerate() {
        for (ci, change) in entry.changes.iter().enumerate() {
            let raw_value = &raw["entry"][ei]["changes"][ci]["value"];
            assert_eq!(
                &serde_json::to_value(&change.value).unwrap(),
                raw_value,
                "{name}: change {ei}/{ci}"
            );
            checked += 1;
            let (messages, statuses) = match &change.value {
                ChangeValue::Messages(v) => (&v.messages, &v.statuses[..]),
                ChangeValue::SmbMessageEchoes(v) => (&v.message_echoes, &[][..]),
                _ => continue,
            };
            let key = if matches!(change.value, ChangeValue::SmbMessageEchoes(_)) {
                "message_echoes"
            } else {
                "messages"
            };
            for (mi, message) in messages.iter().enumerate() {
                assert_eq!(
                    &serde_json::to_value(message).unwrap(),
                    &raw_value[key][mi],
                    "{name}: message {mi}"
                );
                // The lead stores `to_value(message)` and re-reads it as a typed Message later.
                let reread: wa_client::webhook::Message =
                    serde_json::from_value(serde_json::to_value(message).unwrap()).unwrap();
                assert_eq!(&reread, message, "{name}: message {mi} re-read");
                checked += 1;
            }
            for (si, status) in statuses.iter().enumerate() {
                assert_eq!(
                    &serde_json::to_value(status).unwrap(),
                    &raw_value["statuses"][si],
                    "{name}: status {si}"
                );
                let reread: wa_client::webhook::Status =
                    serde_json::from_value(serde_json::to_value(status).unwrap()).unwrap();
                assert_eq!(&reread, status, "{name}: status {si} re-read");
                checked += 1;
            }
        }
    }
    checked
}

/// One line per change: field, typed case, and per message its type and content case.
fn describe(n: &Notification) -> String {
    let mut parts = Vec::new();
    for (_, change) in n.changes() {
        let field = if change.field.is_empty() {
            "<no field>"
        } else {
            change.field.as_str()
        };
        let desc = match &change.value {
            ChangeValue::Messages(v) => {
                let mut items: Vec<String> = v
                    .messages
                    .iter()
                    .map(|m| {
                        let case = match &m.content {
                            MessageContent::Unknown { .. } => "Unknown",
                            _ => "typed",
                        };
                        format!("message:{}({case})", m.type_name())
                    })
                    .collect();
                items.extend(
                    v.statuses
                        .iter()
                        .map(|s| format!("status:{}", s.status.as_str())),
                );
                items.extend(
                    v.errors
                        .iter()
                        .map(|e| format!("error:{}", e.code.unwrap_or_default())),
                );
                format!("Messages[{}]", items.join(","))
            }
            ChangeValue::SmbMessageEchoes(v) => format!(
                "SmbMessageEchoes[{}]",
                v.message_echoes
                    .iter()
                    .map(|m| m.type_name().to_owned())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            ChangeValue::AccountUpdate(v) => {
                format!("AccountUpdate({})", v.event.as_deref().unwrap_or(""))
            }
            ChangeValue::TemplateStatusUpdate(v) => {
                format!("TemplateStatusUpdate({})", v.event.as_deref().unwrap_or(""))
            }
            ChangeValue::TemplateQualityUpdate(_) => "TemplateQualityUpdate".to_owned(),
            ChangeValue::TemplateCategoryUpdate(_) => "TemplateCategoryUpdate".to_owned(),
            ChangeValue::PhoneNumberNameUpdate(_) => "PhoneNumberNameUpdate".to_owned(),
            ChangeValue::PhoneNumberQualityUpdate(_) => "PhoneNumberQualityUpdate".to_owned(),
            ChangeValue::BusinessCapabilityUpdate(_) => "BusinessCapabilityUpdate".to_owned(),
            ChangeValue::UserPreferences(_) => "UserPreferences".to_owned(),
            ChangeValue::Other(_) => "Other".to_owned(),
            ChangeValue::Unparsed { error, .. } => format!("Unparsed({error})"),
        };
        parts.push(format!("{field} => {desc}"));
    }
    parts.join("; ")
}

#[test]
fn every_fixture_parses_round_trips_and_matches_its_snapshot() {
    let mut files = Vec::new();
    json_files(&fixtures_dir(), &mut files);
    assert!(files.len() > 200, "fixtures missing: found {}", files.len());

    let mut overview = String::new();
    let mut bundles = Vec::new();
    let mut notifications = 0;
    let mut items = 0;
    for path in &files {
        let name = rel(path);
        let bytes = std::fs::read(path).unwrap();
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        if is_bundle(&name) {
            // Not a notification: {case: notification}. Every member must parse, and be the same JSON as the
            // split-out copy under cases*/ (which is parsed and snapshotted on its own).
            let Value::Object(cases) = &raw else {
                panic!("{name}: bundle is not an object")
            };
            assert!(
                parse_notification(&bytes).is_err(),
                "{name}: a bundle is not itself a notification"
            );
            let stem = path.file_stem().unwrap().to_string_lossy();
            let cases_dir = if name.contains("v18-legacy") {
                "pywa/cases-v18-legacy"
            } else {
                "pywa/cases"
            };
            for (case, body) in cases {
                let n = Notification::from_json(body.clone())
                    .unwrap_or_else(|e| panic!("{name}#{case}: {e}"));
                items += assert_round_trip(&format!("{name}#{case}"), body, &n);
                let split = fixtures_dir().join(format!("{cases_dir}/{stem}__{case}.json"));
                let split: Value = serde_json::from_slice(&std::fs::read(&split).unwrap()).unwrap();
                assert_eq!(&split, body, "{name}#{case} differs from its split copy");
            }
            bundles.push(name);
            continue;
        }
        let n = parse_notification(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        notifications += 1;
        items += assert_round_trip(&name, &raw, &n);
        writeln!(overview, "{name}: {}", describe(&n)).unwrap();
        let snapshot_name = name.trim_end_matches(".json").replace('/', "__");
        insta::with_settings!({ snapshot_path => "snapshots/fixtures", prepend_module_to_snapshot => false, description => name.as_str() }, {
            insta::assert_debug_snapshot!(snapshot_name, n);
        });
    }

    // The files that are not notifications, and why: asserted so that a new one cannot slip in unnoticed.
    bundles.sort();
    assert_eq!(
        bundles,
        [
            "pywa/updates-v18-legacy/callback_button.json",
            "pywa/updates-v18-legacy/callback_selection.json",
            "pywa/updates-v18-legacy/chat_opened.json",
            "pywa/updates-v18-legacy/flow_completion.json",
            "pywa/updates-v18-legacy/message.json",
            "pywa/updates-v18-legacy/message_status.json",
            "pywa/updates-v18-legacy/template_status.json",
            "pywa/updates/account_update.json",
            "pywa/updates/call_connect.json",
            "pywa/updates/call_permission_update.json",
            "pywa/updates/call_status.json",
            "pywa/updates/call_terminate.json",
            "pywa/updates/callback_button.json",
            "pywa/updates/callback_selection.json",
            "pywa/updates/deleted_message.json",
            "pywa/updates/edited_message.json",
            "pywa/updates/flow_completion.json",
            "pywa/updates/message.json",
            "pywa/updates/message_status.json",
            "pywa/updates/outgoing_message.json",
            "pywa/updates/system.json",
            "pywa/updates/template_category_update.json",
            "pywa/updates/template_components_update.json",
            "pywa/updates/template_quality_update.json",
            "pywa/updates/template_status_update.json",
            "pywa/updates/user_marketing_preferences.json",
        ]
    );
    assert_eq!(notifications, files.len() - bundles.len());
    assert!(items > notifications);
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("fixtures_overview", overview);
    });
}

#[test]
fn fixture_sources_are_kept() {
    for note in [
        "meta-docs/SOURCE.txt",
        "meta-docs/MANIFEST.tsv",
        "pywa/SOURCE.txt",
        "whatsapp-api-js/SOURCE.txt",
    ] {
        let text = std::fs::read_to_string(fixtures_dir().join(note)).unwrap();
        assert!(text.len() > 100, "{note} is empty");
    }
    // The manifest lists every meta-docs body.
    let manifest = std::fs::read_to_string(fixtures_dir().join("meta-docs/MANIFEST.tsv")).unwrap();
    let mut files = Vec::new();
    json_files(&fixtures_dir().join("meta-docs"), &mut files);
    let listed: BTreeMap<&str, ()> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .map(|f| (f, ()))
        .collect();
    for f in files {
        let file = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            listed.contains_key(file.as_str()),
            "{file} not in MANIFEST.tsv"
        );
    }
}
