//! What the journal holds that `rows` does not yet: each journaled row's
//! state (or its deletion), in memory, with what `rows` holds of it and the
//! list order of the live ones. Readers merge it over `rows`
//! (`merge`), so nothing they read waits for a fold.
//!
//! Changed only by the holder of the writer lock, and only together with
//! the commit that makes `rows` and the journal agree with it (under the
//! overlay's write guard): a reader holding the read guard across its read
//! transaction sees the two as one state.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::NaiveDate;
use ledgerline_wire::{TransactionKind, TransactionStatus};

use crate::view::{Row, RowKey, RowQuery};

/// What `rows` holds of an id, as far as lists are concerned: its version
/// and the columns the filters read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Base {
    pub version: i64,
    /// Shared: an apply copies a base per row it journals.
    pub property_id: Arc<str>,
    pub kind: TransactionKind,
    pub status: TransactionStatus,
    pub occurred_on: NaiveDate,
}

impl Base {
    pub(crate) fn of(row: &Row) -> Base {
        Base {
            version: row.version,
            property_id: Arc::from(row.property_id.as_str()),
            kind: row.kind,
            status: row.status,
            occurred_on: row.occurred_on,
        }
    }

    /// Whether `q`'s filters (not its key) keep a row with these columns.
    pub(crate) fn matches(&self, q: &RowQuery) -> bool {
        filters_keep(
            q,
            &self.property_id,
            self.kind,
            self.status,
            self.occurred_on,
        )
    }
}

fn filters_keep(
    q: &RowQuery,
    property_id: &str,
    kind: TransactionKind,
    status: TransactionStatus,
    day: NaiveDate,
) -> bool {
    q.property_id.as_deref().is_none_or(|p| p == property_id)
        && q.kind.is_none_or(|k| k == kind)
        && q.status.is_none_or(|s| s == status)
        && q.from.is_none_or(|f| day >= f)
        && q.to.is_none_or(|t| day <= t)
}

/// Whether `q`'s filters keep `row` (not its key).
pub(crate) fn row_matches(q: &RowQuery, row: &Row) -> bool {
    filters_keep(q, &row.property_id, row.kind, row.status, row.occurred_on)
}

/// Whether `(day, id)` sorts after `key` in list order (newest first, then
/// id descending): the rows a keyset page `after` it holds.
pub(crate) fn sorts_after(day: NaiveDate, id: &str, key: &RowKey) -> bool {
    (day, id) < (key.occurred_on, key.id.as_str())
}

/// A slot taken out to be written into `rows`: its id, state and base.
pub(crate) struct Journaled {
    pub id: Arc<str>,
    pub row: Option<Arc<Row>>,
    pub base: Option<Base>,
}

/// One journaled id.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// The journal row (`n`) holding its last entry.
    pub n: u64,
    /// Its state now (shared with the patch that published it); `None`:
    /// deleted.
    pub row: Option<Arc<Row>>,
    /// What `rows` holds of it; `None`: no row.
    pub base: Option<Base>,
}

/// The hasher of the apply path's maps: ids are the cache's own, not an
/// attacker's, and SipHash was a tenth of an apply.
pub(crate) type Hasher = foldhash::fast::RandomState;

#[derive(Default)]
pub(crate) struct Overlay {
    slots: HashMap<Arc<str>, Slot, Hasher>,
    /// The live slots' keys in list order, sorted when a reader needs them
    /// (an apply only appends: a sorted insert per row at a random place in
    /// a 100k-key tree was a fifth of an apply). A std Mutex: taken by
    /// readers under the read guard, never across `.await`.
    order: Mutex<Order>,
}

/// Keys `(day, id)` ascending (lists walk them backwards), and the keys
/// put since they were sorted. A key whose slot has gone, or moved to
/// another day, is stale: skipped, and dropped when they outnumber the
/// live ones.
#[derive(Default)]
struct Order {
    sorted: Vec<(NaiveDate, Arc<str>)>,
    fresh: Vec<(NaiveDate, Arc<str>)>,
}

impl Order {
    /// Sorts the fresh keys into the sorted ones (one merge pass).
    fn refresh(&mut self, slots: &HashMap<Arc<str>, Slot, Hasher>) {
        if !self.fresh.is_empty() {
            let mut fresh = std::mem::take(&mut self.fresh);
            fresh.sort_unstable();
            let old = std::mem::take(&mut self.sorted);
            let mut merged = Vec::with_capacity(old.len() + fresh.len());
            let (mut a, mut b) = (old.into_iter().peekable(), fresh.into_iter().peekable());
            loop {
                let next = match (a.peek(), b.peek()) {
                    (Some(x), Some(y)) if x <= y => a.next(),
                    (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                    (Some(_), None) => a.next(),
                    (None, None) => break,
                };
                merged.extend(next);
            }
            merged.dedup();
            self.sorted = merged;
        }
        if self.sorted.len() > 2 * slots.len() + 1024 {
            self.sorted
                .retain(|(day, id)| live(slots, *day, id).is_some());
        }
    }
}

/// The live row of `id` if it is on `day`.
fn live<'a>(
    slots: &'a HashMap<Arc<str>, Slot, Hasher>,
    day: NaiveDate,
    id: &str,
) -> Option<&'a Row> {
    slots
        .get(id)?
        .row
        .as_deref()
        .filter(|r| r.occurred_on == day)
}

impl Overlay {
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Slot> {
        self.slots.get(id)
    }

    /// The slots of `ids` (those it has), to be written into `rows`.
    pub(crate) fn take_out<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Vec<Journaled> {
        ids.into_iter()
            .filter_map(|id| {
                let (id, s) = self.slots.get_key_value(id)?;
                Some(Journaled {
                    id: id.clone(),
                    row: s.row.clone(),
                    base: s.base.clone(),
                })
            })
            .collect()
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.slots.contains_key(id)
    }

    /// Makes room for `more` slots at once (not doubling its way there).
    pub(crate) fn reserve(&mut self, more: usize) {
        self.slots.reserve(more);
    }

    /// Sets `id`'s slot.
    pub(crate) fn put(&mut self, id: Arc<str>, slot: Slot) {
        let day = slot.row.as_ref().map(|r| r.occurred_on);
        let old = self.slots.insert(id.clone(), slot);
        let keyed = old
            .and_then(|s| s.row)
            .is_some_and(|r| Some(r.occurred_on) == day);
        if let (Some(day), false) = (day, keyed) {
            let order = self.order.get_mut().unwrap_or_else(|p| p.into_inner());
            order.fresh.push((day, id));
        }
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<Slot> {
        self.slots.remove(id)
    }

    pub(crate) fn clear(&mut self) {
        self.slots = HashMap::default();
        *self.order.get_mut().unwrap_or_else(|p| p.into_inner()) = Order::default();
    }

    /// Up to `limit` live rows `q`'s filters keep, in list order, after
    /// `after`.
    pub(crate) fn rows(&self, q: &RowQuery, after: Option<&RowKey>, limit: usize) -> Vec<&Row> {
        let mut order = self.order.lock().unwrap_or_else(|p| p.into_inner());
        order.refresh(&self.slots);
        let end = match after {
            Some(k) => order
                .sorted
                .partition_point(|(day, id)| sorts_after(*day, id, k)),
            None => order.sorted.len(),
        };
        order.sorted[..end]
            .iter()
            .rev()
            .filter_map(|(day, id)| live(&self.slots, *day, id))
            .filter(|r| row_matches(q, r))
            .take(limit)
            .collect()
    }

    /// Whether the journal changes what `q`'s filters keep: a slot whose
    /// row, or what `rows` holds of it, they keep. (Live traffic on other
    /// properties or days leaves a window's reads on the plain path.)
    pub(crate) fn touches(&self, q: &RowQuery) -> bool {
        self.slots.values().any(|s| {
            s.row.as_ref().is_some_and(|r| row_matches(q, r))
                || s.base.as_ref().is_some_and(|b| b.matches(q))
        })
    }

    /// How many more rows `q` matches with the journal than in `rows`.
    pub(crate) fn count_delta(&self, q: &RowQuery) -> i64 {
        self.slots
            .values()
            .map(|s| {
                i64::from(s.row.as_ref().is_some_and(|r| row_matches(q, r)))
                    - i64::from(s.base.as_ref().is_some_and(|b| b.matches(q)))
            })
            .sum()
    }

    /// The live row written for client mutation `cmid`, if one is journaled.
    pub(crate) fn by_mutation(&self, cmid: &str) -> Option<&Row> {
        self.slots
            .values()
            .filter_map(|s| s.row.as_deref())
            .find(|r| r.client_mutation_id.as_deref() == Some(cmid))
    }
}
