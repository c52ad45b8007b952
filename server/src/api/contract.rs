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

/// Applies every rule to `doc`, the generated document as JSON.
pub fn apply(doc: &mut Value, poll_timeout: Duration) {
    body_rules(doc);
    integrity_rules(doc);
    parameter_rules(doc, poll_timeout);
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

fn body_rules(doc: &mut Value) {
    let not_blank = text::not_blank_pattern();
    let schemas = "/components/schemas";
    merge(
        doc,
        &format!("{schemas}/Currency"),
        json!({"enum": Currency::codes()}),
    );
    // A deleted row is only `{id}`: without this a whole transaction
    // matches both `oneOf` branches.
    merge(
        doc,
        &format!("{schemas}/EventRow/oneOf/1"),
        json!({"additionalProperties": false}),
    );
    merge(
        doc,
        &format!("{schemas}/LoginRequest/properties/email"),
        json!({"minLength": 1, "maxLength": auth::MAX_EMAIL_LEN, "pattern": not_blank}),
    );
    merge(
        doc,
        &format!("{schemas}/LoginRequest/properties/password"),
        json!({"minLength": 1, "maxLength": auth::MAX_PASSWORD_LEN}),
    );
    let amount =
        json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_AMOUNT_MINOR});
    let category = json!({"type": "string", "minLength": 1, "maxLength": MAX_CATEGORY_LEN, "pattern": not_blank});
    let memo = json!({"type": "string", "maxLength": MAX_MEMO_LEN});
    let mut property_id = id_rule();
    property_id["type"] = json!("string");

    let new = format!("{schemas}/NewTransaction/properties");
    set(doc, &format!("{new}/amount_minor"), amount.clone());
    set(doc, &format!("{new}/category"), category.clone());
    set(doc, &format!("{new}/memo"), memo.clone());
    set(doc, &format!("{new}/property_id"), property_id.clone());
    set(doc, &format!("{new}/occurred_on"), date_rule());
    merge(doc, &format!("{new}/client_mutation_id"), id_rule());

    // A patch sets at least one field besides `version`; a field it sends
    // is never null (omit it to leave it alone).
    // (`client_mutation_id` only names the change, so it does not count.)
    let patch = format!("{schemas}/TransactionPatch");
    let changes: Vec<Value> = [
        "kind",
        "property_id",
        "amount_minor",
        "currency",
        "category",
        "memo",
        "occurred_on",
    ]
    .iter()
    .map(|field| json!({"required": [field]}))
    .collect();
    merge(doc, &patch, json!({"anyOf": changes}));
    let fields = format!("{patch}/properties");
    merge(
        doc,
        &format!("{fields}/version"),
        json!({"minimum": 1, "description": "The `version` the change was based on; a stale one is a 409."}),
    );
    set(doc, &format!("{fields}/amount_minor"), amount);
    set(doc, &format!("{fields}/category"), category);
    set(doc, &format!("{fields}/memo"), memo);
    set(doc, &format!("{fields}/property_id"), property_id);
    set(doc, &format!("{fields}/occurred_on"), date_rule());
    set(
        doc,
        &format!("{fields}/kind"),
        schema_ref("TransactionKind"),
    );
    set(doc, &format!("{fields}/currency"), schema_ref("Currency"));
    merge(doc, &format!("{fields}/client_mutation_id"), id_rule());

    // A telemetry upload names known counters only, each a bounded increase.
    let upload = format!("{schemas}/TelemetryUpload");
    merge(doc, &upload, json!({"additionalProperties": false}));
    for name in TelemetryUpload::NAMES {
        set(
            doc,
            &format!("{upload}/properties/{name}"),
            json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": MAX_COUNTER_DELTA, "default": 0}),
        );
    }
}

/// The finance-integrity fields (issue 11): the lock-date body, the
/// reason of a rejection, a history entry's `changes`, `as_of_seq`, and
/// the fields the server omits rather than send as null.
fn integrity_rules(doc: &mut Value) {
    let schemas = "/components/schemas";
    // Required, null included: `{}` is a 400, not "no lock date".
    let lock_date = json!({
        "type": ["string", "null"], "format": "date", "pattern": DATE_PATTERN,
        "description": "`YYYY-MM-DD`, or null for none. Required: `{}` is refused."
    });
    merge(
        doc,
        &format!("{schemas}/LockDate"),
        json!({"required": ["lock_date"]}),
    );
    merge(
        doc,
        &format!("{schemas}/LockDate/properties/lock_date"),
        lock_date.clone(),
    );
    // The `settings.lock_date` row is only `{lock_date}`: without this a
    // whole transaction matches it too.
    merge(
        doc,
        &format!("{schemas}/EventRow/oneOf/2"),
        json!({"required": ["lock_date"], "additionalProperties": false}),
    );
    merge(
        doc,
        &format!("{schemas}/EventRow/oneOf/2/properties/lock_date"),
        lock_date,
    );
    // Omitted when there is none, never null.
    let mut moved_from = id_rule();
    moved_from["type"] = json!("string");
    set(
        doc,
        &format!("{schemas}/Event/properties/moved_from_property_id"),
        moved_from,
    );
    let mut rejection_reason = reason_rule();
    rejection_reason["description"] =
        json!("Why it was rejected, when the approver said so: only on a rejected row (omitted otherwise).");
    set(
        doc,
        &format!("{schemas}/Transaction/properties/rejection_reason"),
        rejection_reason,
    );
    // `changes`: each field a change touched, to `[from, to]` (null before
    // a create and after a delete).
    set(
        doc,
        &format!("{schemas}/HistoryItem/properties/changes"),
        json!({
            "type": "object",
            "propertyNames": {"enum": HISTORY_FIELDS},
            "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2},
            "description": "Each changed field to `[from, to]`; `null` for a field before a create or after a delete."
        }),
    );
    // Every report says which seq it reflects.
    for report in ["ProfitLoss", "DailyApproval", "TodayPending"] {
        let pointer = format!("{schemas}/{report}/required");
        let required = doc
            .pointer_mut(&pointer)
            .and_then(Value::as_array_mut)
            .unwrap_or_else(|| panic!("no {pointer} in the OpenAPI document"));
        required.push(json!("as_of_seq"));
        merge(
            doc,
            &format!("{schemas}/{report}/properties/as_of_seq"),
            json!({"description": "The org's event seq this reflects: every change up to and including it is counted, none after it (one snapshot)."}),
        );
    }
}

/// The schema of `name` among `op`'s parameters.
fn parameter<'a>(doc: &'a mut Value, op: &str, name: &str) -> &'a mut Map<String, Value> {
    let parameters = doc
        .pointer_mut(&format!("{op}/parameters"))
        .and_then(Value::as_array_mut)
        .unwrap_or_else(|| panic!("{op} has no parameters"));
    parameters
        .iter_mut()
        .find(|p| p["name"] == name)
        .and_then(|p| p.get_mut("schema"))
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("{op} has no parameter {name}"))
}

fn rule(doc: &mut Value, op: &str, name: &str, rule: Value) {
    let Value::Object(rule) = rule else {
        unreachable!("rules are objects")
    };
    parameter(doc, op, name).extend(rule);
}

fn parameter_rules(doc: &mut Value, poll_timeout: Duration) {
    const LIST: &str = "/paths/~1v1~1transactions/get";
    const PROFIT_LOSS: &str = "/paths/~1v1~1reports~1profit-loss/get";
    const DAILY: &str = "/paths/~1v1~1approvals~1daily/get";
    const TODAY: &str = "/paths/~1v1~1approvals~1today-pending/get";
    const POLL: &str = "/paths/~1v1~1realtime~1poll/get";
    for op in [LIST, PROFIT_LOSS, DAILY, TODAY] {
        rule(doc, op, "property_id", id_rule());
    }
    for (op, name) in [
        (LIST, "from"),
        (LIST, "to"),
        (PROFIT_LOSS, "from"),
        (PROFIT_LOSS, "to"),
        (DAILY, "date"),
    ] {
        rule(doc, op, name, date_rule());
    }
    rule(
        doc,
        LIST,
        "limit",
        json!({"minimum": 1, "maximum": PageLimit::MAX}),
    );
    rule(
        doc,
        LIST,
        "after",
        json!({"format": PAGE_CURSOR_FORMAT, "minLength": 1, "maxLength": 256, "pattern": "^[A-Za-z0-9_-]+$"}),
    );
    rule(doc, POLL, "cursor", json!({"pattern": CURSOR_PATTERN}));
    // Delete, approve and reject take the mutation's id for idempotent replays.
    for op in [
        "/paths/~1v1~1transactions~1{id}/delete",
        "/paths/~1v1~1transactions~1{id}~1approve/post",
        "/paths/~1v1~1transactions~1{id}~1reject/post",
    ] {
        rule(doc, op, "client_mutation_id", id_rule());
    }
    // Approve and reject decide about a version (a stale one is a 409);
    // reject says why.
    const APPROVE: &str = "/paths/~1v1~1transactions~1{id}~1approve/post";
    const REJECT: &str = "/paths/~1v1~1transactions~1{id}~1reject/post";
    for op in [APPROVE, REJECT] {
        rule(doc, op, "version", json!({"minimum": 1}));
    }
    let Value::Object(reason) = reason_rule() else {
        unreachable!("a rule is an object")
    };
    parameter(doc, REJECT, "reason").extend(reason);
    let item = format!("[^,]{{1,{MAX_ID_LEN}}}");
    let more = realtime::MAX_PROPERTIES - 1;
    rule(
        doc,
        POLL,
        "property_id",
        json!({"pattern": format!("^{item}(,{item}){{0,{more}}}$")}),
    );
    let max_ms = u64::try_from(poll_timeout.as_millis()).unwrap_or(u64::MAX);
    *parameter(doc, POLL, "timeout_ms") =
        json!({"type": "integer", "minimum": 1, "maximum": max_ms})
            .as_object()
            .cloned()
            .unwrap_or_default();
    // Every `{id}` is an id.
    let paths: Vec<String> = doc["paths"]
        .as_object()
        .map(|paths| {
            paths
                .keys()
                .filter(|p| p.contains("{id}"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    for path in paths {
        let escaped = path.replace('~', "~0").replace('/', "~1");
        let methods: Vec<String> = doc["paths"][&path]
            .as_object()
            .map(|ops| ops.keys().cloned().collect())
            .unwrap_or_default();
        for method in methods {
            rule(doc, &format!("/paths/{escaped}/{method}"), "id", id_rule());
        }
    }
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
