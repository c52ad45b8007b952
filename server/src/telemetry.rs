//! The desktop fleet's counters (`POST /v1/telemetry`): the sums of every
//! sampled session's uploads, shown in `/metrics` as
//! `ledgerline_client_<counter>_total`, and the limit of one upload per
//! token per [`UPLOAD_EVERY`].

use std::{
    collections::HashMap,
    fmt::Write,
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Mutex,
    },
    time::Duration,
};

use ledgerline_wire::TelemetryUpload;
use tokio::time::Instant;

/// A token uploads at most once this often; sooner is a 429.
pub const UPLOAD_EVERY: Duration = Duration::from_secs(60);

/// Past this many tokens remembered (or twice what the last pruning kept),
/// the ones whose minute is over are forgotten: the map holds about one
/// minute's uploaders, and pruning costs O(1) per upload on average.
const PRUNE_AT: usize = 4096;

#[derive(Debug, Default)]
pub struct ClientTelemetry {
    sums: [AtomicU64; TelemetryUpload::NAMES.len()],
    uploads: AtomicU64,
    /// When each token last uploaded. A std Mutex: looked up and set,
    /// never held across `.await`.
    last: Mutex<Uploaders>,
}

#[derive(Debug)]
struct Uploaders {
    at: HashMap<String, Instant>,
    prune_at: usize,
}

impl Default for Uploaders {
    fn default() -> Self {
        Uploaders {
            at: HashMap::new(),
            prune_at: PRUNE_AT,
        }
    }
}

impl ClientTelemetry {
    /// Takes the upload of `token_id` unless it uploaded less than
    /// [`UPLOAD_EVERY`] ago; then `Err` with how long it must wait.
    pub fn accept(&self, token_id: &str, upload: &TelemetryUpload) -> Result<(), Duration> {
        let now = Instant::now();
        {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(at) = last.at.get(token_id) {
                let next = *at + UPLOAD_EVERY;
                if now < next {
                    return Err(next - now);
                }
            }
            if last.at.len() >= last.prune_at {
                last.at.retain(|_, at| now < *at + UPLOAD_EVERY);
                last.prune_at = PRUNE_AT.max(last.at.len() * 2);
            }
            last.at.insert(token_id.to_owned(), now);
        }
        for (sum, v) in self.sums.iter().zip(upload.values()) {
            // Saturating: a sum that reached u64::MAX stays there.
            let _ = sum.fetch_update(Relaxed, Relaxed, |s| Some(s.saturating_add(v)));
        }
        self.uploads.fetch_add(1, Relaxed);
        Ok(())
    }

    /// The Prometheus series of the sums and the upload count.
    pub fn render(&self, out: &mut String) {
        let _ = write!(
            out,
            "# HELP ledgerline_client_telemetry_uploads_total Counter uploads taken from sampled desktop sessions.\n\
             # TYPE ledgerline_client_telemetry_uploads_total counter\n\
             ledgerline_client_telemetry_uploads_total {}\n",
            self.uploads.load(Relaxed)
        );
        for (name, sum) in TelemetryUpload::NAMES.iter().zip(&self.sums) {
            let _ = write!(
                out,
                "# HELP ledgerline_client_{name}_total The desktop core's {name}, summed over the sampled sessions' uploads.\n\
                 # TYPE ledgerline_client_{name}_total counter\n\
                 ledgerline_client_{name}_total {}\n",
                sum.load(Relaxed)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_upload_per_token_per_minute_and_the_sums_add_up() {
        let t = ClientTelemetry::default();
        let up = TelemetryUpload {
            leader_acquired: 2,
            polls: 5,
            ..TelemetryUpload::default()
        };
        t.accept("a", &up).unwrap();
        t.accept("b", &up).unwrap();
        let wait = t.accept("a", &up).unwrap_err();
        assert_eq!(wait, UPLOAD_EVERY);
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(t.accept("a", &up).unwrap_err(), Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(1)).await;
        t.accept("a", &up).unwrap();
        let mut text = String::new();
        t.render(&mut text);
        for line in [
            "ledgerline_client_leader_acquired_total 6",
            "ledgerline_client_polls_total 15",
            "ledgerline_client_leader_lost_total 0",
            "ledgerline_client_telemetry_uploads_total 3",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_whose_minute_is_over_are_forgotten() {
        let t = ClientTelemetry::default();
        let up = TelemetryUpload::default();
        for i in 0..PRUNE_AT {
            t.accept(&format!("old-{i}"), &up).unwrap();
        }
        tokio::time::advance(UPLOAD_EVERY).await;
        t.accept("new", &up).unwrap();
        let last = t.last.lock().unwrap();
        assert_eq!(last.at.len(), 1, "only the new token is remembered");
        assert_eq!(last.prune_at, PRUNE_AT);
    }
}
