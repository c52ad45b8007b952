//! The argon2 workers: a few dedicated threads, about one per core, that
//! check login passwords. A login first takes one of their slots (waiting at
//! most [`QUEUE_WAIT`]; past that it is refused and gets 429), so at most one
//! hash per worker runs at once however many logins arrive.
//!
//! Why not `spawn_blocking`: each argon2 check allocates its 19 MiB memory
//! block. On the blocking pool 400 concurrent logins ran on up to 512 threads
//! at once — 7.2 GiB — and glibc kept the memory in the threads' arenas
//! afterwards. A fixed set of threads bounds both: at most `workers` blocks
//! exist, each thread hashing in the one it keeps (`password::verify_in`).
//!
//! [`Hashers`] owns the threads: dropping it closes their job channel and
//! each one ends after its current job.

use std::{
    sync::{mpsc, Arc, Mutex, PoisonError},
    time::Duration,
};

use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::domain::password;

/// Longest a login waits for a free worker before it is refused.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// No worker became free within [`QUEUE_WAIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

struct Job {
    password: String,
    /// `None`: check against [`password::DUMMY_HASH`].
    hash: Option<String>,
    reply: oneshot::Sender<bool>,
    /// Held until the hash is done, even if the caller hung up meanwhile.
    _slot: OwnedSemaphorePermit,
}

/// Handle to the worker threads.
#[derive(Debug)]
pub struct Hashers {
    jobs: mpsc::Sender<Job>,
    slots: Arc<Semaphore>,
}

impl Hashers {
    /// Starts `workers` threads (at least one).
    pub fn new(workers: usize) -> Self {
        let workers = workers.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..workers {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&queue))
                .expect("spawning an argon2 worker thread");
        }
        Hashers {
            jobs,
            slots: Arc::new(Semaphore::new(workers)),
        }
    }

    /// One worker per core.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Whether `password` matches the PHC `hash`; with `None` it is checked
    /// against the dummy hash (and never matches), at the same cost.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, Busy> {
        let slot = tokio::time::timeout(QUEUE_WAIT, Arc::clone(&self.slots).acquire_owned())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            password,
            hash,
            reply,
            _slot: slot,
        };
        self.jobs.send(job).map_err(|_| Busy)?;
        answer.await.map_err(|_| Busy)
    }
}

/// A worker: takes jobs until the channel closes, hashing in one argon2
/// memory it keeps.
fn work(queue: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory = Vec::new();
    loop {
        // Held only while waiting for the next job, never while hashing.
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else { return };
        let matches = match &job.hash {
            Some(hash) => password::verify_in(&job.password, hash, &mut memory),
            None => {
                password::verify_in(&job.password, password::DUMMY_HASH, &mut memory);
                false
            }
        };
        // The caller may have hung up; nothing to do then.
        let _ = job.reply.send(matches);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checks_passwords_and_the_dummy_never_matches() {
        let hashers = Hashers::new(1);
        let hash = password::hash("demo").unwrap();
        assert_eq!(
            hashers.verify("demo".into(), Some(hash.clone())).await,
            Ok(true)
        );
        assert_eq!(hashers.verify("nope".into(), Some(hash)).await, Ok(false));
        assert_eq!(hashers.verify("demo".into(), None).await, Ok(false));
    }

    #[tokio::test]
    async fn never_runs_more_hashes_than_workers() {
        let hashers = Hashers::new(2);
        let hash = password::hash("demo").unwrap();
        let checks = (0..6).map(|_| hashers.verify("demo".into(), Some(hash.clone())));
        let seen_busy = async {
            let mut most = 0;
            loop {
                let busy = 2 - hashers.slots.available_permits();
                most = most.max(busy);
                assert!(busy <= 2);
                tokio::task::yield_now().await;
                if most == 2 {
                    return most;
                }
            }
        };
        let (answers, most) = tokio::join!(futures::future::join_all(checks), seen_busy);
        assert!(answers.iter().all(|a| *a == Ok(true)));
        assert_eq!(most, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_login_that_finds_every_worker_busy_too_long_is_refused() {
        let hashers = Hashers::new(1);
        let _held = Arc::clone(&hashers.slots).acquire_owned().await.unwrap();
        assert_eq!(hashers.verify("demo".into(), None).await, Err(Busy));
    }
}
