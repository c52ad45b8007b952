//! One org's buffer: a contiguous window of its most recent events, oldest
//! first, and the out-of-order events held until the gap before them fills.
//!
//! The window always holds exactly the seqs `floor + 1 ..= head`, so a reader
//! can never see seq N+1 without N. It is a cache of the durable log and may
//! drop anything at any time (capacity, TTL, a rebase): a cursor below
//! `floor` is simply served from the log by the caller. `seen` is the highest
//! seq anyone has told this buffer exists; `seen > head` means a gap, which
//! the caller fills from the log (see `backfill`). Everything here is
//! synchronous and runs under the org's shard lock.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::Arc,
    time::Duration,
};

use ledgerline_wire::Event;
use tokio::time::Instant;

use super::filter::PropertyFilter;

#[derive(Debug)]
struct Entry {
    event: Arc<Event>,
    /// When it entered this buffer, for the TTL.
    at: Instant,
}

#[derive(Debug)]
pub(super) struct Buffer {
    /// Seqs `floor + 1 ..= head`, ascending, no holes.
    window: VecDeque<Entry>,
    floor: u64,
    /// Events with seq > head + 1, held until the seqs before them arrive.
    pending: BTreeMap<u64, Entry>,
    /// The highest seq this buffer knows to be committed.
    seen: u64,
}

/// What the window says about the events after a cursor.
#[derive(Debug)]
pub(super) enum Read {
    /// Some events after the cursor pass the filter. `cursor` is the last seq
    /// scanned: past every hidden event before, between and after them, but
    /// never past a visible event that did not fit in the batch.
    Events {
        events: Vec<Arc<Event>>,
        cursor: u64,
    },
    /// Nothing after the cursor is visible; the reader is up to date at
    /// `cursor` (the head).
    UpToDate { cursor: u64 },
    /// The window does not start right after the cursor: ask the log.
    Miss,
}

impl Buffer {
    /// An empty window whose head is `head`.
    pub(super) fn at(head: u64) -> Self {
        Buffer {
            window: VecDeque::new(),
            floor: head,
            pending: BTreeMap::new(),
            seen: head,
        }
    }

    pub(super) fn head(&self) -> u64 {
        self.floor + self.window.len() as u64
    }

    #[cfg(test)]
    pub(super) fn floor(&self) -> u64 {
        self.floor
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.window.len()
    }

    /// The highest seq known to be committed (at least the head).
    pub(super) fn seen(&self) -> u64 {
        self.seen
    }

    /// Learns that seqs up to `seq` are committed without their events (a
    /// head check): past the head, that is a gap to fill from the log.
    pub(super) fn saw(&mut self, seq: u64) {
        self.seen = self.seen.max(seq);
    }

    /// Events are known to exist past the head: a gap to fill from the log.
    pub(super) fn has_gap(&self) -> bool {
        self.seen > self.head()
    }

    /// Takes freshly published events (any order, duplicates allowed).
    /// Returns whether the head advanced.
    pub(super) fn publish(
        &mut self,
        events: impl IntoIterator<Item = Arc<Event>>,
        now: Instant,
        capacity: usize,
    ) -> bool {
        let before = self.head();
        for event in events {
            let seq = event.seq;
            self.seen = self.seen.max(seq);
            let head = self.head();
            if seq <= head {
                // Already here, or older than the window: the log has it.
                continue;
            }
            let entry = Entry { event, at: now };
            if seq == head + 1 {
                self.window.push_back(entry);
            } else {
                self.pending.insert(seq, entry);
            }
        }
        self.settle(capacity);
        self.head() > before
    }

    /// Takes a run read from the log: contiguous seqs `after + 1 ..`. If it
    /// connects to the window it extends it; if it starts past the head the
    /// window is rebased onto it (what lies between is the log's to serve).
    /// Returns whether the head advanced.
    pub(super) fn merge(
        &mut self,
        after: u64,
        run: &[Arc<Event>],
        now: Instant,
        capacity: usize,
    ) -> bool {
        let before = self.head();
        let end = after + run.len() as u64;
        if after > before {
            self.window.clear();
            self.floor = after;
        }
        let head = self.head();
        for event in run.iter().filter(|e| e.seq > head) {
            debug_assert_eq!(event.seq, self.head() + 1, "log runs are contiguous");
            self.window.push_back(Entry {
                event: Arc::clone(event),
                at: now,
            });
        }
        self.seen = self.seen.max(end);
        self.settle(capacity);
        self.head() > before
    }

    /// The log has nothing past the head although more was announced (a
    /// bogus or rolled-back publish): trust the log.
    pub(super) fn forget_gap(&mut self) {
        self.seen = self.head();
        self.pending.clear();
    }

    /// Moves pending events that became contiguous into the window, drops
    /// stale ones, and enforces the capacity on both.
    fn settle(&mut self, capacity: usize) {
        loop {
            let head = self.head();
            let Some(entry) = self.pending.first_entry() else {
                break;
            };
            if *entry.key() > head + 1 {
                break;
            }
            let entry = entry.remove();
            if entry.event.seq == head + 1 {
                self.window.push_back(entry);
            }
        }
        // Dropping a held event loses nothing: `seen` still says it exists,
        // so the gap is filled from the log.
        while self.pending.len() > capacity {
            self.pending.pop_last();
        }
        while self.window.len() > capacity {
            self.window.pop_front();
            self.floor += 1;
        }
    }

    /// Drops events older than `ttl`. Returns how many left the window.
    pub(super) fn expire(&mut self, now: Instant, ttl: Duration) -> usize {
        let mut dropped = 0;
        while self
            .window
            .front()
            .is_some_and(|e| now.saturating_duration_since(e.at) >= ttl)
        {
            self.window.pop_front();
            self.floor += 1;
            dropped += 1;
        }
        self.pending
            .retain(|_, e| now.saturating_duration_since(e.at) < ttl);
        dropped
    }

    /// The events after `after` that pass `filter`, at most `max` of them.
    pub(super) fn read(&self, after: u64, filter: &PropertyFilter, max: usize) -> Read {
        if after < self.floor || after > self.head() {
            return Read::Miss;
        }
        let start = (after - self.floor) as usize;
        let (events, cursor) = scan(
            self.window.range(start..).map(|e| &e.event),
            after,
            filter,
            max,
        );
        if events.is_empty() {
            Read::UpToDate { cursor }
        } else {
            Read::Events { events, cursor }
        }
    }
}

/// Scans ascending events after `after`, keeping those `filter` allows (at
/// most `max`). Returns them and the cursor to hand back: the last seq
/// scanned, stopping just before the first visible event that did not fit.
pub(super) fn scan<'a>(
    events: impl Iterator<Item = &'a Arc<Event>>,
    after: u64,
    filter: &PropertyFilter,
    max: usize,
) -> (Vec<Arc<Event>>, u64) {
    let mut visible = Vec::new();
    let mut cursor = after;
    for event in events {
        if let Some(seen) = filter.view(event) {
            if visible.len() == max {
                break;
            }
            visible.push(seen);
        }
        cursor = event.seq;
    }
    (visible, cursor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::tests::event;

    fn seqs(read: &Read) -> (Vec<u64>, u64) {
        match read {
            Read::Events { events, cursor } => (events.iter().map(|e| e.seq).collect(), *cursor),
            Read::UpToDate { cursor } => (vec![], *cursor),
            Read::Miss => panic!("unexpected miss"),
        }
    }

    fn arcs(seqs: impl IntoIterator<Item = u64>, property: &str) -> Vec<Arc<Event>> {
        seqs.into_iter()
            .map(|s| Arc::new(event(s, property)))
            .collect()
    }

    #[test]
    fn out_of_order_publish_is_held_until_the_gap_fills() {
        let now = Instant::now();
        let mut b = Buffer::at(4);
        assert!(!b.publish(arcs([6], "p1"), now, 16));
        assert_eq!(b.head(), 4);
        assert!(b.has_gap());
        assert!(matches!(
            b.read(4, &PropertyFilter::all(), 10),
            Read::UpToDate { cursor: 4 }
        ));
        assert!(b.publish(arcs([5], "p1"), now, 16));
        assert_eq!(b.head(), 6);
        assert!(!b.has_gap());
        assert_eq!(
            seqs(&b.read(4, &PropertyFilter::all(), 10)),
            (vec![5, 6], 6)
        );
    }

    #[test]
    fn duplicates_and_stale_events_are_ignored() {
        let now = Instant::now();
        let mut b = Buffer::at(0);
        b.publish(arcs([1, 2, 2, 1, 3], "p1"), now, 16);
        assert_eq!(
            seqs(&b.read(0, &PropertyFilter::all(), 10)),
            (vec![1, 2, 3], 3)
        );
    }

    #[test]
    fn capacity_drops_the_oldest_and_raises_the_floor() {
        let now = Instant::now();
        let mut b = Buffer::at(0);
        b.publish(arcs(1..=10, "p1"), now, 4);
        assert_eq!((b.floor(), b.head(), b.len()), (6, 10, 4));
        assert!(matches!(b.read(5, &PropertyFilter::all(), 10), Read::Miss));
        assert_eq!(
            seqs(&b.read(6, &PropertyFilter::all(), 10)),
            (vec![7, 8, 9, 10], 10)
        );
    }

    #[test]
    fn ttl_expiry_raises_the_floor_but_keeps_the_head() {
        let now = Instant::now();
        let mut b = Buffer::at(0);
        b.publish(arcs(1..=2, "p1"), now, 16);
        b.publish(arcs(3..=3, "p1"), now + Duration::from_secs(10), 16);
        assert_eq!(
            b.expire(now + Duration::from_secs(60), Duration::from_secs(60)),
            2
        );
        assert_eq!((b.floor(), b.head()), (2, 3));
        assert_eq!(
            b.expire(now + Duration::from_secs(70), Duration::from_secs(60)),
            1
        );
        assert_eq!((b.floor(), b.head()), (3, 3));
        assert!(matches!(
            b.read(3, &PropertyFilter::all(), 10),
            Read::UpToDate { cursor: 3 }
        ));
    }

    #[test]
    fn batch_limit_never_skips_a_visible_event() {
        let now = Instant::now();
        let mut b = Buffer::at(0);
        b.publish(arcs([1], "p1"), now, 16);
        b.publish(arcs([2], "p2"), now, 16);
        b.publish(arcs([3], "p1"), now, 16);
        b.publish(arcs([4], "p2"), now, 16);
        let only_p1 = PropertyFilter::new(Some(vec!["p1".into()]), None);
        // One fits: the cursor stops after the hidden 2, before visible 3.
        assert_eq!(seqs(&b.read(0, &only_p1, 1)), (vec![1], 2));
        assert_eq!(seqs(&b.read(2, &only_p1, 1)), (vec![3], 4));
        assert_eq!(seqs(&b.read(4, &only_p1, 1)), (vec![], 4));
    }

    #[test]
    fn merge_extends_a_connected_run_and_rebases_a_later_one() {
        let now = Instant::now();
        let mut b = Buffer::at(3);
        assert!(b.merge(2, &arcs(3..=5, "p1"), now, 16));
        assert_eq!((b.floor(), b.head()), (3, 5));
        assert!(b.merge(8, &arcs(9..=9, "p1"), now, 16));
        assert_eq!((b.floor(), b.head()), (8, 9));
        assert!(matches!(b.read(5, &PropertyFilter::all(), 10), Read::Miss));
    }

    #[test]
    fn merge_drains_held_events_and_closes_the_gap() {
        let now = Instant::now();
        let mut b = Buffer::at(0);
        b.publish(arcs([4, 5], "p1"), now, 16);
        assert!(b.has_gap());
        assert!(b.merge(0, &arcs(1..=3, "p1"), now, 16));
        assert_eq!(b.head(), 5);
        assert!(!b.has_gap());
    }
}
