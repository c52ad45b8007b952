//! The derived aggregates (profit-loss, daily approval, today-pending) of
//! the report ranges windows have open. [`Reports`] keeps the ref-counted
//! set of watched ranges and their latest figures; [`run`] refreshes them
//! from the server through a per-(range, aggregate) leading+trailing
//! [`Debouncer`] with the `FIN_DERIVED_DEBOUNCE_MS` window, and only for
//! ranges that the events' `affected_report_dates` intersect.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Arc, Mutex,
    },
    time::Duration,
};

use chrono::{NaiveDate, Utc};
use ledgerline_wire::{DailyApproval, Event, ProfitLoss, TodayPending};
use tokio::{
    sync::mpsc,
    task::JoinSet,
    time::{sleep_until, Instant},
};

use crate::{
    debounce::Debouncer,
    error::ApiError,
    session::SessionCtx,
    telemetry::Telemetry,
    view::{Aggregates, ReportRange},
};

/// One of the three derived aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    ProfitLoss,
    DailyApproval,
    TodayPending,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::ProfitLoss, Kind::DailyApproval, Kind::TodayPending];

    fn index(self) -> usize {
        self as usize
    }

    /// Whether a change on `date` of `property_id` may move this aggregate of `range`.
    pub fn affected_by(
        self,
        range: &ReportRange,
        property_id: &str,
        date: NaiveDate,
        today: NaiveDate,
    ) -> bool {
        range.covers_property(property_id)
            && match self {
                Kind::ProfitLoss => range.contains(date),
                Kind::DailyApproval => date == range.approval_day(today),
                Kind::TodayPending => date == today,
            }
    }
}

/// An applied event, as the refresher sees it.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub seq: u64,
    pub property_id: String,
    pub dates: Vec<NaiveDate>,
}

/// What the refresher is told.
#[derive(Debug, Clone)]
pub(crate) enum Msg {
    /// Events were applied.
    Changed(Vec<Change>),
    /// Everything may have changed (snapshot, back online).
    RefreshAll,
    /// A window came into focus and these figures are stale.
    Refresh(ReportRange, Kind),
}

impl Msg {
    /// What `events` change for the reports: each event's property (and
    /// the one a moved row left: a row that moved between properties
    /// changes the reports of both) on its dates, at its seq.
    pub(crate) fn changes<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<Change> {
        let mut changes = Vec::new();
        for e in events {
            for property in std::iter::once(&e.property_id).chain(&e.moved_from_property_id) {
                changes.push(Change {
                    seq: e.seq,
                    property_id: property.clone(),
                    dates: e.affected_report_dates.clone(),
                });
            }
        }
        changes
    }
}

enum Part {
    ProfitLoss(ProfitLoss),
    DailyApproval(DailyApproval),
    TodayPending(TodayPending),
}

#[derive(Debug)]
struct Watched {
    count: usize,
    latest: Aggregates,
    /// The generation of the fetch each part came from (a slow older fetch
    /// never overwrites a newer one), and when.
    generation: [u64; 3],
    fetched: [Option<Instant>; 3],
    /// The newest seq of an applied event that moves each part.
    changed_seq: [u64; 3],
}

impl Watched {
    /// The parts' `as_of_seq`, fetched or not (0).
    fn as_of(&self) -> [Option<u64>; 3] {
        let l = &self.latest;
        [
            l.profit_loss.as_ref().map(|p| p.as_of_seq),
            l.daily_approval.as_ref().map(|d| d.as_of_seq),
            l.today_pending.as_ref().map(|t| t.as_of_seq),
        ]
    }

    /// Re-derives "as of" and "catching up"; whether the latter changed.
    fn restamp(&mut self) -> bool {
        let as_of = self.as_of();
        let catching_up = Kind::ALL
            .into_iter()
            .any(|k| as_of[k.index()].is_some_and(|seq| self.changed_seq[k.index()] > seq));
        self.latest.as_of_seq = as_of.into_iter().flatten().min().unwrap_or(0);
        let changed = self.latest.catching_up != catching_up;
        self.latest.catching_up = catching_up;
        changed
    }
}

/// The watched ranges (ref-counted) and their latest figures.
#[derive(Debug, Default)]
pub struct Reports {
    // A std Mutex: map operations only, never held across `.await`.
    watched: Mutex<BTreeMap<ReportRange, Watched>>,
    generation: AtomicU64,
    fetches: [AtomicU64; 3],
    /// When each aggregate was last fetched by the refresher (any range).
    last_fetch: Mutex<[Option<Instant>; 3]>,
}

impl Reports {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<ReportRange, Watched>> {
        self.watched.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One more window watches `range`.
    pub fn watch(&self, range: &ReportRange) {
        self.lock()
            .entry(range.clone())
            .or_insert_with(|| Watched {
                count: 0,
                latest: Aggregates {
                    range: range.clone(),
                    profit_loss: None,
                    daily_approval: None,
                    today_pending: None,
                    fetched_at: Utc::now(),
                    as_of_seq: 0,
                    catching_up: false,
                },
                generation: [0; 3],
                fetched: [None; 3],
                changed_seq: [0; 3],
            })
            .count += 1;
    }

    /// One window fewer; the range is forgotten at zero.
    pub fn unwatch(&self, range: &ReportRange) {
        let mut watched = self.lock();
        if let Some(w) = watched.get_mut(range) {
            w.count = w.count.saturating_sub(1);
            if w.count == 0 {
                watched.remove(range);
            }
        }
    }

    pub fn ranges(&self) -> Vec<ReportRange> {
        self.lock().keys().cloned().collect()
    }

    pub fn latest(&self, range: &ReportRange) -> Option<Aggregates> {
        self.lock().get(range).map(|w| w.latest.clone())
    }

    /// The aggregates of `range` older than `stale` (or never fetched).
    pub fn stale(&self, range: &ReportRange, stale: Duration) -> Vec<Kind> {
        let now = Instant::now();
        let watched = self.lock();
        let Some(w) = watched.get(range) else {
            return Vec::new();
        };
        Kind::ALL
            .into_iter()
            .filter(|k| w.fetched[k.index()].is_none_or(|at| now - at >= stale))
            .collect()
    }

    /// Fetches of each aggregate so far (profit-loss, daily, today-pending).
    pub fn fetch_counts(&self) -> [u64; 3] {
        [0, 1, 2].map(|i| self.fetches[i].load(Relaxed))
    }

    /// When each aggregate was last fetched (profit-loss, daily, today-pending).
    pub fn last_fetches(&self) -> [Option<Instant>; 3] {
        *self.last_fetch.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn store(&self, range: &ReportRange, generation: u64, part: Part) -> Option<Aggregates> {
        let mut watched = self.lock();
        let w = watched.get_mut(range)?;
        let kind = match &part {
            Part::ProfitLoss(_) => Kind::ProfitLoss,
            Part::DailyApproval(_) => Kind::DailyApproval,
            Part::TodayPending(_) => Kind::TodayPending,
        };
        if w.generation[kind.index()] > generation {
            return None;
        }
        w.generation[kind.index()] = generation;
        w.fetched[kind.index()] = Some(Instant::now());
        match part {
            Part::ProfitLoss(p) => w.latest.profit_loss = Some(p),
            Part::DailyApproval(d) => w.latest.daily_approval = Some(d),
            Part::TodayPending(t) => w.latest.today_pending = Some(t),
        }
        w.latest.fetched_at = Utc::now();
        w.restamp();
        Some(w.latest.clone())
    }

    /// An applied event at `seq` moves `kind` of `range`: until figures as
    /// of it arrive, the range is catching up. Returns the figures to show
    /// when that turned it to catching up.
    fn changed(&self, range: &ReportRange, kind: Kind, seq: u64) -> Option<Aggregates> {
        let mut watched = self.lock();
        let w = watched.get_mut(range)?;
        let at = &mut w.changed_seq[kind.index()];
        *at = (*at).max(seq);
        w.restamp().then(|| w.latest.clone())
    }
}

/// Fetches one aggregate of `range`, stores it, and emits the range's figures.
pub(crate) async fn fetch(
    ctx: &SessionCtx,
    range: &ReportRange,
    kind: Kind,
) -> Result<(), ApiError> {
    let reports = &ctx.figures.reports;
    let generation = reports.generation.fetch_add(1, Relaxed) + 1;
    Telemetry::add(&ctx.telemetry.aggregate_fetches, 1);
    reports.fetches[kind.index()].fetch_add(1, Relaxed);
    reports.last_fetch.lock().unwrap_or_else(|p| p.into_inner())[kind.index()] =
        Some(Instant::now());
    let property = range.property_id.as_deref();
    let part = match kind {
        Kind::ProfitLoss => Part::ProfitLoss(ctx.api.profit_loss(range).await?),
        Kind::DailyApproval => {
            let day = range.approval_day(Utc::now().date_naive());
            Part::DailyApproval(ctx.api.daily_approval(day, property).await?)
        }
        Kind::TodayPending => Part::TodayPending(ctx.api.today_pending(property).await?),
    };
    if let Some(aggregates) = reports.store(range, generation, part) {
        ctx.emitter.aggregates(aggregates);
    }
    Ok(())
}

/// Fetches all three aggregates of `range` at once (a window opening it).
pub(crate) async fn fetch_all(ctx: &SessionCtx, range: &ReportRange) -> Result<(), ApiError> {
    let (a, b, c) = tokio::join!(
        fetch(ctx, range, Kind::ProfitLoss),
        fetch(ctx, range, Kind::DailyApproval),
        fetch(ctx, range, Kind::TodayPending)
    );
    a.and(b).and(c)
}

/// The refresher of one session.
pub(crate) async fn run(ctx: Arc<SessionCtx>, mut rx: mpsc::UnboundedReceiver<Msg>) {
    let mut debouncer: Debouncer<(ReportRange, Kind)> = Debouncer::new();
    let mut inflight = JoinSet::new();
    let fire = |inflight: &mut JoinSet<()>, key: (ReportRange, Kind)| {
        Telemetry::add(&ctx.telemetry.derived_debounce_fired, 1);
        let ctx = ctx.clone();
        inflight.spawn(async move {
            match fetch(&ctx, &key.0, key.1).await {
                Ok(()) => {}
                Err(ApiError::Unauthorized) => ctx.unauthorized(),
                Err(e) => tracing::debug!(error = %e, range = ?key.0, kind = ?key.1, "aggregate fetch failed"),
            }
        });
    };
    loop {
        let deadline = debouncer.next_deadline();
        tokio::select! {
            _ = ctx.life.cancel.cancelled() => break,
            msg = rx.recv() => {
                let Some(msg) = msg else { break };
                let window = Duration::from_millis(ctx.flags.derived_debounce_ms());
                let now = Instant::now();
                let today = Utc::now().date_naive();
                let ranges = ctx.figures.reports.ranges();
                let mut hits = Vec::new();
                match msg {
                    Msg::Changed(changes) => {
                        for range in &ranges {
                            for kind in Kind::ALL {
                                let newest = changes
                                    .iter()
                                    .filter(|c| {
                                        c.dates.iter().any(|d| {
                                            kind.affected_by(range, &c.property_id, *d, today)
                                        })
                                    })
                                    .map(|c| c.seq)
                                    .max();
                                if let Some(seq) = newest {
                                    if let Some(shown) = ctx.figures.reports.changed(range, kind, seq) {
                                        ctx.emitter.aggregates(shown);
                                    }
                                    hits.push((range.clone(), kind));
                                }
                            }
                        }
                    }
                    Msg::RefreshAll => {
                        for range in &ranges {
                            hits.extend(Kind::ALL.map(|k| (range.clone(), k)));
                        }
                    }
                    Msg::Refresh(range, kind) => hits.push((range, kind)),
                }
                for key in hits {
                    if debouncer.hit(key.clone(), now, window) {
                        fire(&mut inflight, key);
                    }
                }
            }
            _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                let watched = ctx.figures.reports.ranges();
                for key in debouncer.due(Instant::now()) {
                    if watched.contains(&key.0) {
                        fire(&mut inflight, key);
                    }
                }
            }
            Some(_) = inflight.join_next(), if !inflight.is_empty() => {}
        }
    }
    inflight.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(property: Option<&str>, from: &str, to: &str) -> ReportRange {
        ReportRange {
            property_id: property.map(str::to_owned),
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
        }
    }

    #[test]
    fn only_intersecting_ranges_and_matching_properties_are_affected() {
        let today: NaiveDate = "2026-11-27".parse().unwrap();
        let november = range(None, "2026-11-01", "2026-11-30");
        let p1_week = range(Some("p1"), "2026-11-21", "2026-11-27");
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(Kind::ProfitLoss.affected_by(&november, "p2", d("2026-11-03"), today));
        assert!(!Kind::ProfitLoss.affected_by(&november, "p2", d("2026-10-31"), today));
        assert!(!Kind::ProfitLoss.affected_by(&p1_week, "p2", d("2026-11-25"), today));
        assert!(Kind::ProfitLoss.affected_by(&p1_week, "p1", d("2026-11-25"), today));
        assert!(Kind::DailyApproval.affected_by(&p1_week, "p1", d("2026-11-27"), today));
        assert!(!Kind::DailyApproval.affected_by(&p1_week, "p1", d("2026-11-26"), today));
        // A range holding today counts today's approvals, not its last day's.
        assert!(Kind::DailyApproval.affected_by(&november, "p1", today, today));
        assert!(!Kind::DailyApproval.affected_by(&november, "p1", d("2026-11-30"), today));
        let october = range(None, "2026-10-01", "2026-10-31");
        assert!(Kind::DailyApproval.affected_by(&october, "p1", d("2026-10-31"), today));
        assert!(Kind::TodayPending.affected_by(&november, "p3", today, today));
        assert!(!Kind::TodayPending.affected_by(&november, "p3", d("2026-11-26"), today));
    }

    #[test]
    fn watching_is_ref_counted() {
        let reports = Reports::default();
        let r = range(None, "2026-11-01", "2026-11-30");
        reports.watch(&r);
        reports.watch(&r);
        reports.unwatch(&r);
        assert_eq!(reports.ranges(), vec![r.clone()]);
        reports.unwatch(&r);
        assert!(reports.ranges().is_empty());
        assert!(reports.latest(&r).is_none());
    }
}
