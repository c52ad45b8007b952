//! The JSON body of a poll's answer, serialized once for every poll that
//! gets the same batch. Ten polls of an org woken by one publish, all from
//! the same cursor with the same filter, get the same events up to the same
//! cursor: the first serializes the body, the others take the same bytes
//! (a `Bytes` clone) from a small cache that forgets bodies after a second.
//!
//! The key is everything the body depends on: org, the cursor polled from,
//! the cursor reached and the filter. The events between two cursors of an
//! org never change, so equal keys mean equal bodies. Only batches with
//! events are cached; empty answers are a few bytes, and `retry_after_ms`
//! is jittered per poll.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use ledgerline_wire::{Cursor, Event};
use moka::sync::Cache;
use serde::{Serialize, Serializer};

use super::{filter::PropertyFilter, poll::Batch};

/// How long a body is kept for the next poll that gets it.
const KEEP: Duration = Duration::from_secs(1);
/// Most bytes of bodies kept.
const MAX_BYTES: u64 = 32 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    org: Arc<str>,
    after: u64,
    cursor: u64,
    filter: PropertyFilter,
}

pub(super) struct Bodies {
    cache: Cache<Key, Bytes>,
}

impl Bodies {
    pub(super) fn new() -> Self {
        Bodies {
            cache: Cache::builder()
                .max_capacity(MAX_BYTES)
                .weigher(|_, body: &Bytes| u32::try_from(body.len()).unwrap_or(u32::MAX))
                .time_to_live(KEEP)
                .build(),
        }
    }

    /// The body of `batch`, the answer to a poll of `org` from `after`
    /// under `filter`; `cursor` is the batch's cursor as sent.
    pub(super) fn get(
        &self,
        org: &Arc<str>,
        after: Option<u64>,
        filter: &PropertyFilter,
        batch: &Batch,
        cursor: &Cursor,
    ) -> Bytes {
        let cacheable = !batch.events.is_empty() && !batch.reset && batch.retry_after_ms.is_none();
        let Some(after) = after.filter(|_| cacheable) else {
            return serialize(batch, cursor);
        };
        let key = Key {
            org: Arc::clone(org),
            after,
            cursor: batch.cursor,
            filter: filter.clone(),
        };
        self.cache.get_with(key, || serialize(batch, cursor))
    }
}

/// `PollResponse`'s JSON, written from the shared events.
pub(super) fn serialize(batch: &Batch, cursor: &Cursor) -> Bytes {
    let body = Body {
        events: Events(&batch.events),
        cursor: cursor.to_string(),
        reset: batch.reset,
        retry_after_ms: batch.retry_after_ms,
    };
    // Serializing plain data into a Vec cannot fail.
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

/// Field for field the wire's `PollResponse` (a unit test holds them equal).
#[derive(Serialize)]
struct Body<'a> {
    events: Events<'a>,
    cursor: String,
    reset: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<u64>,
}

struct Events<'a>(&'a [Arc<Event>]);

impl Serialize for Events<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|e| &**e))
    }
}

#[cfg(test)]
mod tests {
    use ledgerline_wire::PollResponse;

    use super::*;
    use crate::realtime::tests::event;

    fn batch(events: usize, retry_after_ms: Option<u64>) -> Batch {
        Batch {
            events: (1..=events as u64)
                .map(|seq| Arc::new(event(seq, "p1")))
                .collect(),
            cursor: events as u64,
            reset: false,
            retry_after_ms,
        }
    }

    #[test]
    fn the_body_is_the_wires_poll_response() {
        let cursor = Cursor::with_epoch("ab12", 2);
        for b in [batch(2, None), batch(0, Some(1500))] {
            let wire = PollResponse {
                events: b.events.iter().map(|e| Event::clone(e)).collect(),
                cursor: cursor.to_string(),
                reset: b.reset,
                retry_after_ms: b.retry_after_ms,
            };
            assert_eq!(serialize(&b, &cursor), serde_json::to_vec(&wire).unwrap());
        }
    }

    #[test]
    fn polls_that_get_the_same_batch_share_one_body() {
        let bodies = Bodies::new();
        let org: Arc<str> = Arc::from("org");
        let b = batch(3, None);
        let cursor = Cursor::at(3);
        let all = PropertyFilter::all();
        let first = bodies.get(&org, Some(0), &all, &b, &cursor);
        let second = bodies.get(&org, Some(0), &all, &b, &cursor);
        assert_eq!(first.as_ptr(), second.as_ptr(), "the same bytes");
        let staff = PropertyFilter::new(Some(vec!["p1".into()]), None);
        let other = bodies.get(&org, Some(0), &staff, &b, &cursor);
        assert_ne!(
            first.as_ptr(),
            other.as_ptr(),
            "another filter, another body"
        );
        assert_eq!(first, other);
    }
}
