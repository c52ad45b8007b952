//! A keyed leading-and-trailing throttle: for each key, the first hit fires
//! at once, further hits within the window only mark the key dirty, and a
//! dirty key fires once when its window closes. So a burst costs at most one
//! fire per window per key, and the last fire always comes after the last
//! hit. Time is `tokio::time::Instant`, so tests run on a paused clock.

use std::{collections::HashMap, hash::Hash, time::Duration};

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
struct Throttle {
    last_fire: Instant,
    window: Duration,
    dirty: bool,
}

impl Throttle {
    fn due_at(&self) -> Instant {
        self.last_fire + self.window
    }
}

/// Leading + trailing throttles, one per key.
#[derive(Debug)]
pub struct Debouncer<K> {
    throttles: HashMap<K, Throttle>,
}

impl<K> Default for Debouncer<K> {
    fn default() -> Self {
        Debouncer {
            throttles: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq + Clone> Debouncer<K> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a hit; `true` means fire now (the leading edge).
    pub fn hit(&mut self, key: K, now: Instant, window: Duration) -> bool {
        match self.throttles.get_mut(&key) {
            Some(t) if now < t.due_at() => {
                t.dirty = true;
                false
            }
            _ => {
                self.throttles.insert(
                    key,
                    Throttle {
                        last_fire: now,
                        window,
                        dirty: false,
                    },
                );
                true
            }
        }
    }

    /// When the next trailing fire is due, if any key is dirty.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.throttles
            .values()
            .filter(|t| t.dirty)
            .map(Throttle::due_at)
            .min()
    }

    /// The keys whose trailing fire is due at `now` (each counts as a fire
    /// and opens a new window); forgets keys idle for a whole window.
    pub fn due(&mut self, now: Instant) -> Vec<K> {
        let mut fired = Vec::new();
        self.throttles.retain(|key, t| {
            if now < t.due_at() {
                return true;
            }
            if t.dirty {
                t.dirty = false;
                t.last_fire = now;
                fired.push(key.clone());
                true
            } else {
                false
            }
        });
        fired
    }

    pub fn forget(&mut self, key: &K) {
        self.throttles.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::{sync::mpsc, time::sleep_until};

    /// The loop shape the aggregates refresher uses: hits arrive on a
    /// channel; fires happen on a hit's leading edge or at the deadline.
    async fn run(
        mut hits: mpsc::UnboundedReceiver<&'static str>,
        window: Duration,
    ) -> Vec<Instant> {
        let mut debouncer = Debouncer::new();
        let mut fires = Vec::new();
        loop {
            let deadline = debouncer.next_deadline();
            tokio::select! {
                hit = hits.recv() => match hit {
                    Some(key) => if debouncer.hit(key, Instant::now(), window) { fires.push(Instant::now()) },
                    None if deadline.is_none() => return fires,
                    None => {
                        sleep_until(deadline.unwrap_or_else(Instant::now)).await;
                        for _ in debouncer.due(Instant::now()) { fires.push(Instant::now()) }
                    }
                },
                _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    for _ in debouncer.due(Instant::now()) { fires.push(Instant::now()) }
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_five_second_burst_fires_at_most_seven_times_and_last_after_the_last_event() {
        let window = Duration::from_millis(1000);
        let (tx, rx) = mpsc::unbounded_channel();
        let consumer = tokio::spawn(run(rx, window));
        let start = Instant::now();
        let mut last_event = start;
        // An event every 13 ms for 5 s.
        while Instant::now() - start < Duration::from_secs(5) {
            tx.send("profit_loss").unwrap();
            last_event = Instant::now();
            tokio::time::sleep(Duration::from_millis(13)).await;
        }
        drop(tx);
        let fires = consumer.await.unwrap();
        assert!(fires.len() <= 5 + 2, "{} fires", fires.len());
        assert!(
            fires.len() >= 5,
            "a throttle fires about once a window: {}",
            fires.len()
        );
        assert!(
            *fires.last().unwrap() >= last_event,
            "the last fire follows the last event"
        );
        for pair in fires.windows(2) {
            assert!(pair[1] - pair[0] >= window, "at most one fire per window");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_single_event_fires_exactly_once() {
        let (tx, rx) = mpsc::unbounded_channel();
        let consumer = tokio::spawn(run(rx, Duration::from_millis(1000)));
        tx.send("daily").unwrap();
        drop(tx);
        assert_eq!(consumer.await.unwrap().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn keys_are_throttled_independently() {
        let (tx, rx) = mpsc::unbounded_channel();
        let consumer = tokio::spawn(run(rx, Duration::from_millis(1000)));
        for _ in 0..3 {
            tx.send("a").unwrap();
            tx.send("b").unwrap();
        }
        drop(tx);
        // Each key: one leading fire plus one trailing fire.
        assert_eq!(consumer.await.unwrap().len(), 4);
    }

    #[test]
    fn idle_keys_are_forgotten() {
        let mut d = Debouncer::new();
        let t0 = Instant::now();
        let w = Duration::from_millis(10);
        assert!(d.hit(1, t0, w));
        assert!(d.due(t0 + w).is_empty());
        assert!(d.throttles.is_empty());
        assert!(d.hit(1, t0 + w, w));
    }
}
