//! The rules of `/openapi.json` that the types alone do not carry: every
//! request field's real limits (lengths, bounds, patterns, enums, date
//! ranges), which fields may not be null, unique operation ids, the links
//! from `POST /v1/transactions` to the `{id}` operations, and the one rule
//! that depends on the running server (`timeout_ms` up to its poll timeout).
//!
//! The limits are the server's own constants, so the document cannot drift
//! from what the handlers check; `tests/api/contract.rs` checks the two
//! against each other and schemathesis (`scripts/schemathesis.sh`) checks
//! both against the running server. Rules that JSON Schema cannot state
//! (`from` ≤ `to`, the profit-loss range) are in the operations'
//! descriptions.

use std::time::Duration;

use ledgerline_wire::{
    money::MAX_AMOUNT_MINOR, rules::MAX_REASON_LEN, telemetry::MAX_COUNTER_DELTA, Currency,
    TelemetryUpload,
};
use serde_json::{json, Map, Value};

use super::{auth, realtime};
use crate::{
    domain::{
        page::PageLimit,
        text,
        transaction::{MAX_CATEGORY_LEN, MAX_ID_LEN, MAX_MEMO_LEN},
    },
    store::history::FIELDS as HISTORY_FIELDS,
};

/// A `YYYY-MM-DD` day whose year is in [`YEARS`] (1900–9999); with
/// `format: date` for the calendar.
pub const DATE_PATTERN: &str =
    "^(19[0-9]{2}|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";

/// A realtime cursor: `epoch.seq` (or a bare seq from before epochs); a seq
/// of up to 20 digits larger than any event gets a reset.
pub const CURSOR_PATTERN: &str = "^([A-Za-z0-9]{1,16}\\.)?[0-9]{1,20}$";

/// The `format` of the transaction list's `after=` (base64url of the last
/// row's key): the `next` of the previous page, nothing a client composes.
pub const PAGE_CURSOR_FORMAT: &str = "ledgerline-page-cursor";

mod bodies;
mod params;

/// Applies every rule to `doc`, the generated document as JSON.
pub fn apply(doc: &mut Value, poll_timeout: Duration) {
    bodies::body_rules(doc);
    bodies::integrity_rules(doc);
    params::parameter_rules(doc, poll_timeout);
    operation_ids(doc);
    common_errors(doc);
    links(doc);
}

fn id_rule() -> Value {
    json!({"minLength": 1, "maxLength": MAX_ID_LEN})
}

fn date_rule() -> Value {
    json!({"type": "string", "format": "date", "pattern": DATE_PATTERN})
}

/// A rejection's reason: 1 to [`MAX_REASON_LEN`] characters, not blank.
fn reason_rule() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": MAX_REASON_LEN, "pattern": text::not_blank_pattern()})
}

/// Merges `rule` into the object at `pointer`.
fn merge(doc: &mut Value, pointer: &str, rule: Value) {
    let target = doc
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in the OpenAPI document"));
    let (Value::Object(target), Value::Object(rule)) = (target, rule) else {
        panic!("{pointer} is not an object");
    };
    target.extend(rule);
}

/// Replaces the schema at `pointer`.
fn set(doc: &mut Value, pointer: &str, schema: Value) {
    *doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in the OpenAPI document")) = schema;
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The errors any operation may answer: the router's URI and header
/// limits ([`super::limits`]) and an internal error (a failed database, a
/// caught panic).
fn common_errors(doc: &mut Value) {
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": schema_ref("ErrorBody")}}
        })
    };
    let common = [
        ("414", error("the path and query are longer than 32 KiB")),
        ("431", error("the request headers are larger than 32 KiB")),
        ("500", error("internal error")),
    ];
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for op in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in op.values_mut() {
            let Some(responses) = op["responses"].as_object_mut() else {
                continue;
            };
            for (status, response) in &common {
                responses
                    .entry(status.to_string())
                    .or_insert_with(|| response.clone());
            }
        }
    }
}

/// `operationId`s as `{method}_{path}` (`get_v1_transactions_id`): utoipa
/// names them after the handler functions, and two are called `list`.
fn operation_ids(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, ops) in paths.iter_mut() {
        let Some(ops) = ops.as_object_mut() else {
            continue;
        };
        for (method, op) in ops.iter_mut() {
            op["operationId"] = json!(operation_id(method, path));
        }
    }
}

/// The `operationId` of `method` on `path`.
pub fn operation_id(method: &str, path: &str) -> String {
    let words: Vec<&str> = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    format!("{method}_{}", words.join("_"))
}

/// Links from a created transaction to every operation on its `{id}`, and
/// from the property list to creating one there, so a stateful client (or
/// fuzzer) can follow them.
fn links(doc: &mut Value) {
    let by_id = json!({"id": "$response.body#/id"});
    let mut links = Map::new();
    for (name, method, path) in [
        ("GetTransaction", "get", "/v1/transactions/{id}"),
        ("UpdateTransaction", "patch", "/v1/transactions/{id}"),
        ("DeleteTransaction", "delete", "/v1/transactions/{id}"),
        (
            "ApproveTransaction",
            "post",
            "/v1/transactions/{id}/approve",
        ),
        ("RejectTransaction", "post", "/v1/transactions/{id}/reject"),
        (
            "GetTransactionHistory",
            "get",
            "/v1/transactions/{id}/history",
        ),
    ] {
        let mut link = json!({
            "operationId": operation_id(method, path),
            "parameters": by_id,
        });
        if method == "patch" {
            link["requestBody"] = json!({"version": "$response.body#/version", "memo": "edited"});
        }
        links.insert(name.to_owned(), link);
    }
    let created = "/paths/~1v1~1transactions/post/responses";
    for status in ["201", "200"] {
        merge(
            doc,
            &format!("{created}/{status}"),
            json!({"links": links.clone()}),
        );
    }
    merge(
        doc,
        "/paths/~1v1~1properties/get/responses/200",
        json!({"links": {"CreateTransaction": {
            "operationId": operation_id("post", "/v1/transactions"),
            "requestBody": {
                "kind": "revenue",
                "property_id": "$response.body#/0/id",
                "amount_minor": 100,
                "currency": "USD",
                "category": "rooms",
                "occurred_on": "2026-11-20"
            }
        }}}),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::transaction::YEARS;

    #[test]
    fn the_date_pattern_spells_out_the_supported_years() {
        assert_eq!(YEARS, 1900..=9999);
    }

    #[test]
    fn operation_ids_are_method_and_path_words() {
        assert_eq!(
            operation_id("get", "/v1/transactions/{id}"),
            "get_v1_transactions_id"
        );
        assert_eq!(
            operation_id("get", "/v1/reports/profit-loss"),
            "get_v1_reports_profit_loss"
        );
    }
}
