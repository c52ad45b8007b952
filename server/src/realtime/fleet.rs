//! What the hub offers the bus between server instances (`crate::bus`):
//! which orgs it wants events of, a way to learn an org's head without its
//! events (so a lost message's gap is filled from the log), and the list of
//! buffers to check after the bus was unhealthy.
//!
//! # Which orgs an instance wants
//! The bus carries every org's events to every instance. An instance takes
//! (decodes and publishes to its hub) only those of orgs it has a buffer
//! for, or that a poll is reading from the log right now ([`Interest`]).
//! The second is what makes a late start safe: a poll that finds no buffer
//! registers its interest *before* it reads the log, so an event committed
//! after that read is either in the read or delivered by the bus — never
//! dropped in between. [`Hub::wants`] checks the interest *before* the
//! buffer for the same reason (a buffer that appears between the two checks
//! was created after the poll's log read, whose interest was seen).

use std::sync::Arc;

use super::{backfill, Hub, Shared};

/// A poll's interest in an org while it reads the log; dropped, it ends.
pub(super) struct Interest<'a> {
    shared: &'a Shared,
    org: Arc<str>,
}

impl<'a> Interest<'a> {
    pub(super) fn new(shared: &'a Shared, org: &Arc<str>) -> Self {
        *shared
            .orgs
            .interest(org)
            .entry(Arc::clone(org))
            .or_default() += 1;
        Interest {
            shared,
            org: Arc::clone(org),
        }
    }
}

impl Drop for Interest<'_> {
    fn drop(&mut self) {
        let mut interest = self.shared.orgs.interest(&self.org);
        if let Some(count) = interest.get_mut(&*self.org) {
            *count -= 1;
            if *count == 0 {
                interest.remove(&*self.org);
            }
        }
    }
}

impl Hub {
    /// Whether events of `org_id` from the bus are wanted here: it has a
    /// buffer, or a poll is reading its log. The bus skips everything else
    /// without decoding it.
    pub fn wants(&self, org_id: &str) -> bool {
        let orgs = &self.shared.orgs;
        orgs.interest(org_id).contains_key(org_id) || orgs.lock(org_id).contains_key(org_id)
    }

    /// Learns that `org_id`'s log reaches `head` (a head check, or another
    /// instance's announcement). If the buffer is behind, the missing events
    /// are read from the log and its parked polls woken. Orgs without a
    /// buffer are ignored: their next poll reads the log anyway.
    pub fn announce(&self, org_id: &str, head: u64) {
        let shared = &self.shared;
        let claimed = {
            let mut shard = shared.orgs.lock(org_id);
            let Some(state) = shard.get_mut(org_id) else {
                return;
            };
            state.buffer.saw(head);
            state.claim_backfill().then(|| Arc::clone(&state.key))
        };
        if let Some(org) = claimed {
            if !shared.cancel.is_cancelled() {
                backfill::spawn(shared, org);
            }
        }
    }

    /// Every buffered org and the head its buffer claims: what a head check
    /// compares with the log after the bus may have lost messages.
    pub fn buffered_heads(&self) -> Vec<(Arc<str>, u64)> {
        let mut heads = Vec::new();
        for shard in self.shared.orgs.shards() {
            heads.extend(
                shard
                    .values()
                    .map(|state| (Arc::clone(&state.key), state.buffer.seen())),
            );
        }
        heads
    }
}
