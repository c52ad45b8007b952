//! What a parked poll costs: the poll future's size (a check) and, as a
//! measurement, the resident memory of 100k parked polls.

use super::*;

/// The hub's per-waiter state is the poll future itself (the wait is an
/// intrusive node inside it; nothing is allocated per waiter). Run with
/// `--nocapture` to see the figures.
#[tokio::test(start_paused = true)]
async fn per_waiter_state_is_small() {
    let f = Fixture::default();
    let poll = f.hub.poll(all("org", 1));
    let future = std::mem::size_of_val(&poll);
    let notify = Arc::new(tokio::sync::Notify::new());
    let cancel = CancellationToken::new();
    println!("poll future: {future} bytes");
    println!(
        "  of which Sleep {}",
        std::mem::size_of::<tokio::time::Sleep>()
    );
    println!(
        "  OwnedNotified {}",
        std::mem::size_of_val(&notify.notified_owned())
    );
    println!(
        "  cancelled() {}",
        std::mem::size_of_val(&cancel.cancelled())
    );
    println!("  PollRequest {}", std::mem::size_of::<PollRequest>());
    println!(
        "per buffered org: OrgState {} bytes",
        std::mem::size_of::<orgs::OrgState>()
    );
    assert!(future <= 768, "poll future grew to {future} bytes");
}

/// Resident memory of this process, from `/proc/self/statm` (Linux).
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// A measurement, not a check: parks 100k polls over 20k orgs and prints
/// the resident memory each one costs (task + poll future + hub state), then
/// how long one publish takes to answer an org's 5000 parked polls.
/// `cargo test --release -p ledgerline-server parked_poll_footprint -- --ignored --nocapture`
#[test]
#[ignore = "measurement; run in release with --ignored --nocapture"]
fn parked_poll_footprint() {
    const ORGS: usize = 20_000;
    const PER_ORG: usize = 5;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let f = Fixture::default();
        let orgs: Vec<String> = (0..ORGS).map(|i| format!("org-{i:06}")).collect();
        for org in &orgs {
            f.write(org, "p1");
        }
        let before = rss_bytes().unwrap_or(0);
        let mut polls = Vec::with_capacity(ORGS * PER_ORG);
        for (i, org) in orgs.iter().enumerate() {
            for j in 0..PER_ORG {
                polls.push(f.spawn_poll(req(
                    org,
                    &format!("tok-{i}-{j}"),
                    Some(1),
                    PropertyFilter::all(),
                )));
            }
        }
        while f.waiters() < (ORGS * PER_ORG) as u64 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let after = rss_bytes().unwrap_or(0);
        println!(
            "{} parked polls: {:.0} bytes RSS each (task + future + hub state)",
            ORGS * PER_ORG,
            after.saturating_sub(before) as f64 / (ORGS * PER_ORG) as f64
        );

        // Fan-out: one org with 5000 parked polls.
        let mut wide = Vec::new();
        for j in 0..5000 {
            wide.push(f.spawn_poll(req(
                "wide",
                &format!("w{j}"),
                Some(0),
                PropertyFilter::all(),
            )));
        }
        while f.waiters() < (ORGS * PER_ORG + 5000) as u64 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let started = std::time::Instant::now();
        f.write("wide", "p1");
        for poll in wide {
            assert_eq!(seqs(&poll.await.unwrap().unwrap()), [1]);
        }
        println!(
            "one publish answered 5000 parked polls of an org in {:?}",
            started.elapsed()
        );

        let started = std::time::Instant::now();
        f.hub.shutdown().await;
        for poll in polls {
            poll.await.unwrap().unwrap();
        }
        println!(
            "shutdown answered {} parked polls in {:?}",
            ORGS * PER_ORG,
            started.elapsed()
        );
    });
}
