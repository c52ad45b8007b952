//! The retention task: every so often it deletes events older than
//! `--event-retention-ms`, and sessions that expired or were revoked — on
//! one instance of a fleet at a time ([`FleetDuty::Retention`]). It is
//! owned by [`crate::run`], which cancels it on shutdown and waits for it.

use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::store::{FleetDuty, Store};

/// How often to prune for a given retention: a tenth of it, between a second
/// and ten minutes.
pub fn interval_for(retention: Duration) -> Duration {
    (retention / 10).clamp(Duration::from_secs(1), Duration::from_secs(600))
}

/// Prune (events and sessions) once now and then every [`interval_for`]`(retention)` until `shutdown`.
pub fn spawn(store: Store, retention: Duration, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval_for(retention));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticks.tick() => {}
            }
            // Once per fleet: the instance holding the duty prunes, the
            // others skip this round.
            let duty = match store.try_duty(FleetDuty::Retention).await {
                Ok(Some(duty)) => duty,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%error, "cannot claim the retention duty");
                    continue;
                }
            };
            let cutoff = Utc::now() - retention;
            match store.prune_events(cutoff).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "pruned old events"),
                Err(error) => tracing::warn!(%error, "pruning events failed"),
            }
            match store.prune_sessions(Utc::now()).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "pruned dead sessions"),
                Err(error) => tracing::warn!(%error, "pruning sessions failed"),
            }
            duty.release().await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_is_a_tenth_of_retention_within_bounds() {
        assert_eq!(
            interval_for(Duration::from_secs(100)),
            Duration::from_secs(10)
        );
        assert_eq!(
            interval_for(Duration::from_millis(10)),
            Duration::from_secs(1)
        );
        assert_eq!(
            interval_for(Duration::from_secs(7 * 24 * 3600)),
            Duration::from_secs(600)
        );
    }

    #[tokio::test]
    async fn task_stops_when_cancelled() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let token = CancellationToken::new();
        let task = spawn(store, Duration::from_secs(3600), token.clone());
        token.cancel();
        task.await.unwrap();
    }
}
