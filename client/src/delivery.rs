//! Delivery of patch batches to one window, with its guardrails: the
//! batches waiting for a window are coalesced (the last patch of each id
//! wins) into at most [`MAX_MESSAGES_PER_SEC`] messages a second, each at
//! most [`MAX_MESSAGE_BYTES`] of JSON (a larger backlog goes out in parts,
//! one a tick); every message names the seq of the one before it
//! (`prev_seq`), so a window that missed one sees the gap and re-reads its
//! tables.
//!
//! Serialization happens here, on the window's delivery task — never under
//! the cache's writer lock, which only hands each subscriber an `Arc` of
//! the batch — and once per patch, however many windows receive it: each
//! [`Published`] batch keeps its patches' JSON, and a message is those
//! pieces framed.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
    time::Duration,
};

use tokio::{sync::mpsc, time::Instant};

use crate::view::{Patch, PatchBatch};

/// The largest message a window is sent (bytes of JSON), unless one patch
/// alone is larger.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
pub const MAX_MESSAGES_PER_SEC: u32 = 60;

/// The time between two messages to one window.
pub fn tick() -> Duration {
    Duration::from_secs(1) / MAX_MESSAGES_PER_SEC
}

/// A batch as the cache published it, shared by every subscriber; its
/// patches are serialized once, by whichever delivery needs them first.
#[derive(Debug)]
pub struct Published {
    pub batch: Arc<PatchBatch>,
    json: OnceLock<Vec<String>>,
}

impl Published {
    pub fn new(batch: Arc<PatchBatch>) -> Arc<Published> {
        Arc::new(Published {
            batch,
            json: OnceLock::new(),
        })
    }

    fn patch_json(&self, i: usize) -> &str {
        &self.json.get_or_init(|| {
            self.batch
                .patches
                .iter()
                .map(|p| serde_json::to_string(p).expect("a patch serializes"))
                .collect()
        })[i]
    }
}

/// One message to a window: `json` is
/// `{"seq":…,"prev_seq":…,"patches":[…]}`, ready to send as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowMessage {
    pub seq: u64,
    pub prev_seq: u64,
    pub patches: usize,
    pub json: String,
}

fn patch_id(p: &Patch) -> &str {
    match p {
        Patch::Upsert { row } => &row.id,
        Patch::Remove { id } => id,
    }
}

/// The patches waiting for one window, in order, the last of each id only.
#[derive(Default)]
pub struct Pending {
    /// `(batch, index of the patch in it)`; `None` where a later patch of
    /// the same id took over.
    order: Vec<Option<(Arc<Published>, usize)>>,
    /// Where each id's latest patch is in `order`.
    at: HashMap<String, usize>,
    /// The newest seq pushed.
    seq: u64,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    pub fn push(&mut self, b: Arc<Published>) {
        self.seq = self.seq.max(b.batch.seq);
        for (i, p) in b.batch.patches.iter().enumerate() {
            let id = patch_id(p);
            if let Some(&j) = self.at.get(id) {
                self.order[j] = None;
            }
            self.at.insert(id.to_owned(), self.order.len());
            self.order.push(Some((b.clone(), i)));
        }
    }

    /// The next message after `prev_seq`: the oldest waiting patches, up to
    /// `max_bytes` of JSON (at least one patch). When everything waiting
    /// fits, its seq is the newest pushed; a part names the newest batch it
    /// carries a patch of.
    pub fn take(&mut self, prev_seq: u64, max_bytes: usize) -> Option<WindowMessage> {
        let mut body = String::new();
        let mut seq = prev_seq;
        let mut patches = 0;
        let mut used = 0;
        let head_room = 64; // `{"seq":…,"prev_seq":…,"patches":[` and `]}`
        for slot in &self.order {
            if let Some((b, i)) = slot {
                let json = b.patch_json(*i);
                if patches > 0 && head_room + body.len() + 1 + json.len() > max_bytes {
                    break;
                }
                if patches > 0 {
                    body.push(',');
                }
                body.push_str(json);
                seq = seq.max(b.batch.seq);
                patches += 1;
            }
            used += 1;
        }
        if patches == 0 {
            return None;
        }
        self.order.drain(..used);
        if self.order.iter().all(Option::is_none) {
            self.order.clear();
            self.at.clear();
            seq = seq.max(self.seq);
        } else {
            self.at.retain(|_, j| {
                let keep = *j >= used;
                *j = j.wrapping_sub(used);
                keep
            });
        }
        let json = format!("{{\"seq\":{seq},\"prev_seq\":{prev_seq},\"patches\":[{body}]}}");
        Some(WindowMessage {
            seq,
            prev_seq,
            patches,
            json,
        })
    }
}

/// A window's delivery loop: takes the batches the hub hands it, sends a
/// message at most once a [`tick`], coalescing whatever arrived meanwhile.
/// Starts after `seq` (what `subscribe` answered); ends when the hub drops
/// the sending side (the subscription was removed).
pub async fn run(
    mut rx: mpsc::UnboundedReceiver<Arc<Published>>,
    seq: u64,
    send: impl Fn(WindowMessage),
) {
    let mut prev = seq;
    let mut pending = Pending::default();
    let mut next_at = Instant::now();
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(b) => pending.push(b),
                None => return,
            }
        }
        // Until the next slot: whatever arrives joins this message.
        loop {
            tokio::select! {
                // The slot first: a flood of batches never holds a message back.
                biased;
                _ = tokio::time::sleep_until(next_at) => break,
                b = rx.recv() => match b {
                    Some(b) => pending.push(b),
                    None => return,
                },
            }
        }
        while let Ok(b) = rx.try_recv() {
            pending.push(b);
        }
        if let Some(msg) = pending.take(prev, MAX_MESSAGE_BYTES) {
            prev = msg.seq;
            send(msg);
            next_at = Instant::now() + tick();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cache::tests::txn, view::Row};

    fn upsert(id: &str, memo_len: usize, seq: u64) -> Arc<Published> {
        let mut t = txn(id, seq as i64, None);
        t.memo = "m".repeat(memo_len);
        Published::new(Arc::new(PatchBatch {
            seq,
            patches: vec![Patch::Upsert {
                row: Row::confirmed(t).into(),
            }],
        }))
    }

    fn parsed(m: &WindowMessage) -> PatchBatch {
        let v: serde_json::Value = serde_json::from_str(&m.json).unwrap();
        assert_eq!(v["prev_seq"], m.prev_seq);
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_backlog_over_64_kib_goes_out_in_parts_that_chain_by_seq() {
        let mut pending = Pending::default();
        for seq in 1..=100 {
            pending.push(upsert(&format!("t{seq}"), 1_500, seq));
        }
        let mut prev = 0;
        let mut ids = Vec::new();
        let mut parts = 0;
        while let Some(m) = pending.take(prev, MAX_MESSAGE_BYTES) {
            assert!(m.json.len() <= MAX_MESSAGE_BYTES, "{} bytes", m.json.len());
            assert_eq!(m.prev_seq, prev);
            assert!(m.seq >= prev);
            let b = parsed(&m);
            assert_eq!(b.seq, m.seq);
            ids.extend(b.patches.iter().map(|p| patch_id(p).to_owned()));
            prev = m.seq;
            parts += 1;
        }
        assert!(parts >= 3, "{parts} parts");
        assert_eq!(prev, 100, "the last part names the newest seq");
        let want: Vec<String> = (1..=100).map(|s| format!("t{s}")).collect();
        assert_eq!(ids, want, "every patch once, in order");
    }

    #[test]
    fn one_patch_larger_than_the_limit_still_goes_alone() {
        let mut pending = Pending::default();
        pending.push(upsert("big", 2_000, 1));
        let m = pending.take(0, 512).unwrap();
        assert_eq!((m.patches, m.seq), (1, 1));
        assert!(pending.take(1, 512).is_none());
    }

    #[test]
    fn the_last_patch_of_an_id_wins_and_takes_its_place_in_order() {
        let mut pending = Pending::default();
        pending.push(upsert("a", 0, 1));
        pending.push(upsert("b", 0, 2));
        pending.push(Published::new(Arc::new(PatchBatch {
            seq: 3,
            patches: vec![Patch::Remove { id: "a".into() }],
        })));
        let b = parsed(&pending.take(0, MAX_MESSAGE_BYTES).unwrap());
        assert_eq!(b.seq, 3);
        assert_eq!(
            b.patches,
            vec![
                Patch::Upsert {
                    row: Row::confirmed(txn("b", 2, None)).into()
                },
                Patch::Remove { id: "a".into() },
            ]
        );
        assert!(pending.is_empty());
    }

    #[test]
    fn a_batch_is_serialized_once_for_every_window() {
        let shared = upsert("a", 0, 1);
        let (mut one, mut two) = (Pending::default(), Pending::default());
        one.push(shared.clone());
        two.push(shared.clone());
        let a = one.take(0, MAX_MESSAGE_BYTES).unwrap();
        let first = shared.json.get().unwrap()[0].as_ptr();
        let b = two.take(0, MAX_MESSAGE_BYTES).unwrap();
        assert_eq!(shared.json.get().unwrap()[0].as_ptr(), first);
        assert_eq!(a.json, b.json);
    }

    /// 1000 batches in one second reach the window in at most 60 messages,
    /// every patch of them included, each message naming the one before.
    #[tokio::test(start_paused = true)]
    async fn a_flood_is_coalesced_to_at_most_60_messages_a_second() {
        let (tx, rx) = mpsc::unbounded_channel();
        let (out_tx, mut out) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(rx, 0, move |m| {
            let _ = out_tx.send((Instant::now(), m));
        }));
        let started = Instant::now();
        for seq in 1..=1_000u64 {
            tx.send(upsert(&format!("t{}", seq % 50), 0, seq)).unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut got = Vec::new();
        let deadline = started + Duration::from_secs(5);
        while got
            .last()
            .is_none_or(|(_, m): &(Instant, WindowMessage)| m.seq < 1_000)
        {
            let next = tokio::time::timeout_at(deadline, out.recv()).await;
            got.push(next.expect("the last batch arrives").unwrap());
        }
        let mut prev = 0;
        for (_, m) in &got {
            assert_eq!(m.prev_seq, prev);
            prev = m.seq;
        }
        for w in got.windows(2) {
            assert!(w[1].0 - w[0].0 >= tick(), "messages a tick apart");
        }
        let in_first_second = got
            .iter()
            .filter(|(at, _)| *at < started + Duration::from_secs(1))
            .count();
        assert!(in_first_second <= 60, "{in_first_second} messages");
        drop(tx);
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_window_gets_a_lone_batch_at_once() {
        let (tx, rx) = mpsc::unbounded_channel();
        let (out_tx, mut out) = mpsc::unbounded_channel();
        tokio::spawn(run(rx, 4, move |m| {
            let _ = out_tx.send((Instant::now(), m));
        }));
        let sent = Instant::now();
        tx.send(upsert("a", 0, 5)).unwrap();
        let (at, m) = out.recv().await.unwrap();
        assert_eq!(at, sent, "no tick to wait for");
        assert_eq!((m.prev_seq, m.seq, m.patches), (4, 5, 1));
    }
}
