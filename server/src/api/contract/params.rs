//! The query and path parameters' rules.

use super::*;

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

pub(super) fn parameter_rules(doc: &mut Value, poll_timeout: Duration) {
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
