//! `/openapi.json` states the server's real rules: the limits the handlers
//! check, the poll timeout of *this* server, unique operation ids, error
//! responses, and the links a stateful client follows from a created
//! transaction. (schemathesis checks the same document against the server
//! in `scripts/schemathesis.sh`.)

use std::collections::HashSet;

use ledgerline_server::RealtimeConfig;
use ledgerline_wire::{telemetry::MAX_COUNTER_DELTA, TelemetryUpload};
use serde_json::Value;

use crate::helpers::{spawn_app_with, TestApp};

async fn document(app: &TestApp) -> Value {
    app.client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn param<'a>(op: &'a Value, name: &str) -> &'a Value {
    op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| &p["schema"])
        .unwrap_or_else(|| panic!("no {name}"))
}

#[tokio::test]
async fn request_fields_carry_their_real_rules() {
    let app = spawn_app_with(RealtimeConfig {
        poll_timeout_ms: 4_321,
        ..RealtimeConfig::default()
    })
    .await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let new = &schemas["NewTransaction"]["properties"];
    assert_eq!(new["amount_minor"]["minimum"], 1);
    assert_eq!(new["amount_minor"]["maximum"], 1_i64 << 42);
    assert_eq!(new["category"]["maxLength"], 100);
    assert!(new["category"]["pattern"].is_string());
    assert_eq!(new["memo"]["maxLength"], 2_000);
    assert_eq!(new["property_id"]["maxLength"], 128);
    assert_eq!(new["occurred_on"]["format"], "date");
    assert!(new["occurred_on"]["pattern"]
        .as_str()
        .unwrap()
        .starts_with("^(19"));
    let required: Vec<&str> = schemas["NewTransaction"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(required.contains(&"amount_minor") && !required.contains(&"memo"));

    let patch = &schemas["TransactionPatch"];
    // At least one change; `version` and `client_mutation_id` alone are not.
    let alternatives: Vec<&str> = patch["anyOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["required"][0].as_str().unwrap())
        .collect();
    assert!(alternatives.contains(&"memo") && alternatives.contains(&"occurred_on"));
    assert!(!alternatives.contains(&"version") && !alternatives.contains(&"client_mutation_id"));
    assert_eq!(patch["properties"]["client_mutation_id"]["maxLength"], 128);
    assert_eq!(patch["properties"]["version"]["minimum"], 1);
    assert_eq!(
        patch["properties"]["category"]["type"], "string",
        "never null"
    );

    let codes = schemas["Currency"]["enum"].as_array().unwrap();
    assert!(codes.contains(&Value::from("EUR")) && !codes.contains(&Value::from("BTC")));
    assert_eq!(
        schemas["LoginRequest"]["properties"]["password"]["maxLength"],
        1_024
    );

    let poll = &doc["paths"]["/v1/realtime/poll"]["get"];
    assert_eq!(
        param(poll, "timeout_ms")["maximum"],
        4_321,
        "this server's timeout"
    );
    assert_eq!(param(poll, "timeout_ms")["type"], "integer");
    assert!(param(poll, "cursor")["pattern"].is_string());
    let list = &doc["paths"]["/v1/transactions"]["get"];
    assert_eq!(param(list, "limit")["minimum"], 1);
    assert_eq!(param(list, "limit")["maximum"], 5000);
    assert_eq!(param(list, "from")["format"], "date");
    let one = &doc["paths"]["/v1/transactions/{id}"]["get"];
    assert_eq!(param(one, "id")["maxLength"], 128);

    // Every counter the handler takes, bounded as it checks; nothing else.
    let upload = &schemas["TelemetryUpload"];
    assert_eq!(upload["additionalProperties"], false);
    let fields = upload["properties"].as_object().unwrap();
    assert_eq!(fields.len(), TelemetryUpload::NAMES.len());
    for name in TelemetryUpload::NAMES {
        assert_eq!(fields[name]["minimum"], 0, "{name}");
        assert_eq!(fields[name]["maximum"], MAX_COUNTER_DELTA, "{name}");
    }
    assert!(upload["required"].as_array().is_none_or(Vec::is_empty));
    let post = &doc["paths"]["/v1/telemetry"]["post"];
    for status in ["204", "400", "401", "413", "429"] {
        assert!(post["responses"][status].is_object(), "{status}");
    }
}

#[tokio::test]
async fn every_operation_has_a_unique_id_and_its_error_responses() {
    let app = spawn_app_with(RealtimeConfig::default()).await;
    let doc = document(&app).await;
    let mut ids = HashSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "{id} twice");
            let responses = op["responses"].as_object().unwrap();
            if op.get("security").is_some() {
                assert!(responses.contains_key("401"), "{method} {path}");
            }
            if op.get("parameters").is_some() || op.get("requestBody").is_some() {
                assert!(responses.contains_key("400"), "{method} {path}: no 400");
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    let login = &doc["paths"]["/v1/auth/login"]["post"]["responses"]["429"];
    assert!(login["headers"]["Retry-After"].is_object(), "{login}");
}

#[tokio::test]
async fn a_created_transaction_links_to_every_operation_on_its_id() {
    let app = spawn_app_with(RealtimeConfig::default()).await;
    let doc = document(&app).await;
    let ids: HashSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ops| ops.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap())
        .collect();
    let links = doc["paths"]["/v1/transactions"]["post"]["responses"]["201"]["links"]
        .as_object()
        .unwrap();
    let targets: HashSet<&str> = links
        .values()
        .map(|l| {
            assert_eq!(l["parameters"]["id"], "$response.body#/id");
            l["operationId"].as_str().unwrap()
        })
        .collect();
    for target in [
        "get_v1_transactions_id",
        "patch_v1_transactions_id",
        "delete_v1_transactions_id",
        "post_v1_transactions_id_approve",
        "post_v1_transactions_id_reject",
        "get_v1_transactions_id_history",
    ] {
        assert!(targets.contains(target), "no link to {target}");
        assert!(ids.contains(target), "{target} is no operation");
    }
}

#[tokio::test]
async fn the_integrity_inputs_and_fields_carry_their_real_rules() {
    let app = spawn_app_with(RealtimeConfig::default()).await;
    let doc = document(&app).await;
    for action in ["approve", "reject"] {
        let op = &doc["paths"][format!("/v1/transactions/{{id}}/{action}")]["post"];
        assert_eq!(param(op, "version")["minimum"], 1, "{action}");
        assert_eq!(param(op, "version")["type"], "integer");
        assert_eq!(param(op, "client_mutation_id")["maxLength"], 128);
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.contains_key("409") && responses.contains_key("403"));
    }
    let reject = &doc["paths"]["/v1/transactions/{id}/reject"]["post"];
    let reason = param(reject, "reason");
    assert_eq!(reason["minLength"], 1);
    assert_eq!(reason["maxLength"], ledgerline_wire::rules::MAX_REASON_LEN);
    assert!(reason["pattern"].is_string(), "not blank");

    let schemas = &doc["components"]["schemas"];
    let lock = &schemas["LockDate"];
    assert_eq!(lock["required"], serde_json::json!(["lock_date"]));
    assert_eq!(lock["additionalProperties"], false);
    let date = &lock["properties"]["lock_date"];
    assert_eq!(date["type"], serde_json::json!(["string", "null"]));
    assert_eq!(date["format"], "date");
    assert!(date["pattern"].as_str().unwrap().starts_with("^(19"));
    let settings = &doc["paths"]["/v1/settings/lock-date"];
    assert_eq!(
        settings["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/LockDate"
    );
    assert!(settings["put"]["responses"]["403"].is_object());
    assert!(settings["get"]["responses"]["200"].is_object());

    let history = &doc["paths"]["/v1/transactions/{id}/history"]["get"];
    assert_eq!(param(history, "id")["maxLength"], 128);
    assert!(history["responses"]["404"].is_object());
    let changes = &schemas["HistoryItem"]["properties"]["changes"];
    assert_eq!(changes["type"], "object");
    assert_eq!(changes["additionalProperties"]["type"], "array");
    assert_eq!(changes["additionalProperties"]["minItems"], 2);
    assert_eq!(changes["additionalProperties"]["maxItems"], 2);
    let fields = changes["propertyNames"]["enum"].as_array().unwrap();
    assert!(
        fields.contains(&Value::from("rejection_reason"))
            && fields.contains(&Value::from("status"))
    );

    for report in ["ProfitLoss", "DailyApproval", "TodayPending"] {
        let required = schemas[report]["required"].as_array().unwrap();
        assert!(required.contains(&Value::from("as_of_seq")), "{report}");
        assert_eq!(schemas[report]["properties"]["as_of_seq"]["minimum"], 0);
    }
    // Omitted when absent, never null.
    let reason = &schemas["Transaction"]["properties"]["rejection_reason"];
    assert_eq!(reason["type"], "string");
    assert_eq!(reason["maxLength"], 500);
    let moved = &schemas["Event"]["properties"]["moved_from_property_id"];
    assert_eq!(moved["type"], "string");
    assert_eq!(moved["maxLength"], 128);

    let types = schemas["EventType"]["enum"].as_array().unwrap();
    assert!(types.contains(&Value::from("settings.lock_date")));
    // Each row variant is told apart from the others: a lock-date row is
    // only `{lock_date}`, a deleted one only `{id}`.
    let rows = schemas["EventRow"]["oneOf"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["additionalProperties"], false);
    assert_eq!(rows[2]["additionalProperties"], false);
    assert_eq!(rows[2]["required"], serde_json::json!(["lock_date"]));
    assert_eq!(rows[2]["properties"]["lock_date"]["format"], "date");
}
