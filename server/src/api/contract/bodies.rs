//! The request and response bodies' rules (`/components/schemas`), and
//! finance integrity's (approvals, the lock date, history).

use super::*;

pub(super) fn body_rules(doc: &mut Value) {
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
pub(super) fn integrity_rules(doc: &mut Value) {
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
