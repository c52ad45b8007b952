//! Waiting on conditions with deadlines — never a fixed sleep.

use std::{future::Future, time::Duration};

use anyhow::{bail, Result};
use tokio::time::Instant;

/// Polls `check` every 50 ms until it returns `Ok(true)`; fails with the
/// last error (or "timed out") at the deadline.
pub(crate) async fn until<F, Fut>(what: &str, within: Duration, mut check: F) -> Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let start = Instant::now();
    let mut last_err = None;
    loop {
        match check().await {
            Ok(true) => return Ok(start.elapsed()),
            Ok(false) => {}
            Err(e) => last_err = Some(e),
        }
        if start.elapsed() > within {
            match last_err {
                Some(e) => bail!("timed out after {within:?} waiting for {what}: {e:#}"),
                None => bail!("timed out after {within:?} waiting for {what}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
