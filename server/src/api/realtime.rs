//! `GET /v1/realtime/poll`: the long-poll. The query is parsed once here into
//! a [`PollRequest`] — cursor, property filter, timeout — and handed to the
//! hub; the hub's answer is the body, its errors map to 401 and 503.
//!
//! Property lists are checked against the caller's org and scope: an id that
//! is not one of the org's properties, or that a staff token may not see, is
//! a 404 like every other unpermitted resource (it does not reveal whether
//! the property exists). An empty list (`property_id=`) or an empty item is a
//! 400: "no properties" is never what a client means; so is an item over
//! 128 characters or more than 64 items. Items are not trimmed.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::IntoResponse,
};
use bytes::Bytes;
use ledgerline_wire::{cursor::is_epoch, Cursor, ErrorBody, PollResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    error::ApiError,
    extract::{check_id, Query},
    principal::Principal,
};
use crate::{
    realtime::{Batch, PollError, PollRequest, PropertyFilter},
    state::AppState,
};

/// Most property ids one poll may name.
pub const MAX_PROPERTIES: usize = 64;

/// Longest cursor, in digits (`u64::MAX` has 20).
pub const CURSOR_DIGITS: usize = 20;

/// The query as sent; [`PollParams::parse`] checks it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PollQuery {
    /// The `cursor` of the previous answer. Omitted: answer at once with the
    /// head cursor and no events.
    pub cursor: Option<String>,
    /// Comma-separated property ids to narrow the events to (each must be
    /// one the caller may see). Omitted: every property the caller may see.
    pub property_id: Option<String>,
    /// Longest wait in milliseconds, 1 to the server's poll timeout (the
    /// default).
    pub timeout_ms: Option<String>,
}

/// A checked poll query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollParams {
    pub cursor: Option<Cursor>,
    /// Deduplicated, in the order given.
    pub properties: Option<Vec<String>>,
    pub timeout: Option<Duration>,
}

impl PollParams {
    /// Checks `query` against a server whose poll timeout is `max_timeout`.
    pub fn parse(query: PollQuery, max_timeout: Duration) -> Result<PollParams, ApiError> {
        let cursor = query.cursor.as_deref().map(cursor).transpose()?;
        let properties = query
            .property_id
            .map(|list| property_list(&list))
            .transpose()?;
        let timeout = query
            .timeout_ms
            .map(|t| timeout(&t, max_timeout))
            .transpose()?;
        Ok(PollParams {
            cursor,
            properties,
            timeout,
        })
    }
}

fn property_list(list: &str) -> Result<Vec<String>, ApiError> {
    let items: Vec<&str> = list.split(',').collect();
    if items.len() > MAX_PROPERTIES {
        return Err(ApiError::BadRequest(format!(
            "property_id names more than {MAX_PROPERTIES} properties"
        )));
    }
    let mut ids: Vec<String> = Vec::new();
    for id in items {
        if id.is_empty() {
            return Err(ApiError::BadRequest(
                "property_id must be ids separated by single commas; omit it for all".into(),
            ));
        }
        check_id("property_id", id)?;
        if !ids.iter().any(|seen| seen == id) {
            ids.push(id.to_owned());
        }
    }
    Ok(ids)
}

/// A cursor: what `Cursor` parses (`epoch.seq`, or a bare seq), and one
/// whose seq is any other run of at most [`CURSOR_DIGITS`] digits as a
/// cursor past every event (it gets a reset,
/// like any cursor ahead of the log).
fn cursor(raw: &str) -> Result<Cursor, ApiError> {
    let error = match raw.parse::<Cursor>() {
        Ok(cursor) => return Ok(cursor),
        Err(e) => ApiError::BadRequest(e.to_string()),
    };
    // Well-formed but past u64: ahead of every log, so a reset, not a 400.
    let (epoch, digits) = match raw.split_once('.') {
        Some((epoch, digits)) if is_epoch(epoch) => (Some(epoch), digits),
        Some(_) => return Err(error),
        None => (None, raw),
    };
    if (1..=CURSOR_DIGITS).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(match epoch {
            Some(epoch) => Cursor::with_epoch(epoch, u64::MAX),
            None => Cursor::at(u64::MAX),
        });
    }
    Err(error)
}

fn timeout(raw: &str, max: Duration) -> Result<Duration, ApiError> {
    let max_ms = max.as_millis();
    let bad = || {
        ApiError::BadRequest(format!(
            "timeout_ms must be a whole number from 1 to {max_ms}"
        ))
    };
    if raw.is_empty() || raw.len() > 20 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let ms: u64 = raw.parse().map_err(|_| bad())?;
    if ms == 0 || u128::from(ms) > max_ms {
        return Err(bad());
    }
    Ok(Duration::from_millis(ms))
}

/// Wait for the org's next events after `cursor` that the caller may see.
#[utoipa::path(
    get, path = "/v1/realtime/poll", tag = "realtime",
    security(("bearer" = [])),
    params(PollQuery),
    responses(
        (status = 200, description = "events after the cursor (maybe none: timeout, waiter cap with `retry_after_ms`, or `reset: true`)", body = PollResponse),
        (status = 400, description = "bad cursor, property list or timeout_ms", body = ErrorBody),
        (status = 401, description = "missing, invalid or revoked token (also ends a waiting poll)", body = ErrorBody),
        (status = 404, description = "a property the caller may not see", body = ErrorBody),
        (status = 503, description = "the event log could not be read; retry", body = ErrorBody),
    )
)]
pub async fn poll(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<PollQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let prepared = prepare(&state, &principal, query).await?;
    let result = state.hub().poll_batch(&prepared.request).await;
    let body = answer(&state, &prepared, result)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    ))
}

/// A poll checked and ready for the hub.
#[derive(Debug)]
pub struct Prepared {
    pub request: PollRequest,
    /// The cursor named another epoch: the answer is a `reset`.
    pub foreign: bool,
}

/// Checks `query` for `principal` and turns it into the hub's request:
/// what the handler above and the connection layer's lean poll path
/// (`crate::conn`) both do before they wait.
pub async fn prepare(
    state: &AppState,
    principal: &Principal,
    query: PollQuery,
) -> Result<Prepared, ApiError> {
    let params = PollParams::parse(query, state.config().poll_timeout())?;
    if let Some(wanted) = &params.properties {
        // The org's property ids come from the session cache: no database
        // query on the poll path in steady state.
        let org = state
            .sessions()
            .org_properties(state.store(), &principal.org_id)
            .await?;
        if !wanted
            .iter()
            .all(|id| principal.can_see(id) && org.iter().any(|p| p == id))
        {
            return Err(ApiError::NotFound);
        }
    }
    // A cursor of another database (another epoch: a different database,
    // or this one before a restore) cannot be compared with this log's
    // seqs: answer `reset` with the head, so the client re-snapshots. A
    // bare seq (issued before epochs existed) is taken as this database's.
    let foreign = params
        .cursor
        .as_ref()
        .and_then(|c| c.epoch())
        .is_some_and(|epoch| epoch != state.store().epoch());
    let request = PollRequest {
        org_id: Arc::from(principal.org_id.as_str()),
        token_id: Arc::from(principal.token_id.as_str()),
        cursor: params.cursor.filter(|_| !foreign).map(|c| c.seq()),
        filter: PropertyFilter::new(principal.properties.clone(), params.properties),
        timeout: params.timeout,
    };
    Ok(Prepared { request, foreign })
}

/// The hub's answer to `prepared` as the JSON body of a 200 (shared by every
/// poll that gets the same events), or the error to answer instead.
pub fn answer(
    state: &AppState,
    prepared: &Prepared,
    result: Result<Batch, PollError>,
) -> Result<Bytes, ApiError> {
    match result {
        Ok(mut batch) => {
            batch.reset |= prepared.foreign;
            Ok(state.hub().body(&prepared.request, &batch))
        }
        Err(PollError::Revoked) => Err(ApiError::Unauthorized("the token was revoked")),
        Err(PollError::Log(err)) => Err(ApiError::Unavailable(err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_secs(25);

    fn query(
        cursor: Option<&str>,
        property_id: Option<&str>,
        timeout_ms: Option<&str>,
    ) -> PollQuery {
        PollQuery {
            cursor: cursor.map(Into::into),
            property_id: property_id.map(Into::into),
            timeout_ms: timeout_ms.map(Into::into),
        }
    }

    #[test]
    fn a_full_query_parses() {
        let p = PollParams::parse(query(Some("42"), Some("p1,p2,p1"), Some("1500")), MAX).unwrap();
        assert_eq!(p.cursor, Some(Cursor::at(42)));
        assert_eq!(p.properties, Some(vec!["p1".into(), "p2".into()]));
        assert_eq!(p.timeout, Some(Duration::from_millis(1500)));
        let none = PollParams::parse(PollQuery::default(), MAX).unwrap();
        assert_eq!(
            (none.cursor, none.properties, none.timeout),
            (None, None, None)
        );
    }

    #[test]
    fn bad_cursors_are_refused() {
        for bad in ["", "-1", "abc", "1.5.", "e.-1", "+1", "e.+1"] {
            assert!(
                PollParams::parse(query(Some(bad), None, None), MAX).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn digit_cursors_past_u64_are_past_every_event() {
        for far in [
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
        ] {
            let p = PollParams::parse(query(Some(far), None, None), MAX).unwrap();
            assert_eq!(p.cursor, Some(Cursor::at(u64::MAX)), "{far}");
            let with_epoch = format!("ab12.{far}");
            let p = PollParams::parse(query(Some(&with_epoch), None, None), MAX).unwrap();
            assert_eq!(p.cursor, Some(Cursor::with_epoch("ab12", u64::MAX)));
        }
    }

    #[test]
    fn empty_property_lists_and_items_are_refused() {
        let long = "p".repeat(129);
        for bad in ["", ",", "p1,", ",p1", "p1,,p2", &long] {
            assert!(
                PollParams::parse(query(None, Some(bad), None), MAX).is_err(),
                "{bad:?}"
            );
        }
        let many = (0..=MAX_PROPERTIES)
            .map(|i| format!("p{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(PollParams::parse(query(None, Some(&many), None), MAX).is_err());
    }

    #[test]
    fn timeouts_must_be_within_the_servers() {
        for bad in [
            "",
            "0",
            "-5",
            "+5",
            "1e3",
            "abc",
            "25001",
            "99999999999999999999999",
        ] {
            assert!(
                PollParams::parse(query(None, None, Some(bad)), MAX).is_err(),
                "{bad:?}"
            );
        }
        for good in ["1", "25000"] {
            assert!(
                PollParams::parse(query(None, None, Some(good)), MAX).is_ok(),
                "{good}"
            );
        }
    }
}
