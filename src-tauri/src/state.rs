//! [`Shell`]: what the shell keeps beside the core — the store file, the
//! data dir, and per window its target, its row subscriptions and its
//! watched report ranges, so closing a window releases what it held.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, MutexGuard,
    },
};

use ledgerline_client::{Core, ReportRange};

use crate::{
    kv::SettingsStore,
    layout::{self, SavedWindow, LAYOUT_KEY},
    target::WindowTarget,
};

/// Managed state (`app.state::<Shell>()`).
pub struct Shell {
    pub core: Core,
    pub data_dir: PathBuf,
    store: Arc<dyn SettingsStore>,
    // A std Mutex: held only to read or update these maps, never across `.await`.
    windows: Mutex<Windows>,
    /// Set once the app is quitting: windows closing then stay in the layout.
    exiting: AtomicBool,
}

#[derive(Default)]
struct Windows {
    /// Open windows in opening order: (label, target).
    open: Vec<(String, WindowTarget)>,
    next_id: u64,
    subscriptions: HashMap<String, Vec<u64>>,
    watches: HashMap<String, Vec<ReportRange>>,
    /// Which session each window belongs to (label → session id). A window
    /// not in here shows the first session signed in.
    sessions: HashMap<String, String>,
}

/// What a closed window held, for the caller to release.
pub struct Closed {
    pub was_open: usize,
    /// The session the window belonged to.
    pub session: Option<String>,
    pub subscriptions: Vec<u64>,
    pub watches: Vec<ReportRange>,
}

impl Shell {
    pub fn new(core: Core, store: Arc<dyn SettingsStore>, data_dir: PathBuf) -> Self {
        Shell {
            core,
            data_dir,
            store,
            windows: Mutex::new(Windows::default()),
            exiting: AtomicBool::new(false),
        }
    }

    /// The app is quitting (menu Quit, `app.exit`): the windows about to
    /// close are the layout to restore.
    pub fn begin_exit(&self) {
        self.exiting.store(true, Ordering::SeqCst);
    }

    pub fn is_exiting(&self) -> bool {
        self.exiting.load(Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, Windows> {
        self.windows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh window label: `main` for the first main window, then
    /// `<kind>-<n>`.
    pub fn next_label(&self, target: &WindowTarget) -> String {
        let mut w = self.lock();
        w.next_id += 1;
        let main_taken = w.open.iter().any(|(label, _)| label == "main");
        match target {
            WindowTarget::Main if !main_taken => "main".to_owned(),
            WindowTarget::Main => format!("main-{}", w.next_id),
            WindowTarget::Property(_) => format!("property-{}", w.next_id),
            WindowTarget::ProfitLoss => format!("report-{}", w.next_id),
            WindowTarget::Approvals => format!("approvals-{}", w.next_id),
            WindowTarget::History(_) => format!("history-{}", w.next_id),
        }
    }

    pub fn register_window(&self, label: &str, target: WindowTarget) {
        self.lock().open.push((label.to_owned(), target));
    }

    pub fn open_windows(&self) -> Vec<(String, WindowTarget)> {
        self.lock().open.clone()
    }

    /// Forgets a closed window and hands back what it held.
    pub fn close_window(&self, label: &str) -> Option<Closed> {
        let mut w = self.lock();
        let index = w.open.iter().position(|(l, _)| l == label)?;
        let was_open = w.open.len();
        w.open.remove(index);
        Some(Closed {
            was_open,
            session: w.sessions.remove(label),
            subscriptions: w.subscriptions.remove(label).unwrap_or_default(),
            watches: w.watches.remove(label).unwrap_or_default(),
        })
    }

    /// Makes window `label` one of session `id`'s windows.
    pub fn bind(&self, label: &str, session: &str) {
        self.lock()
            .sessions
            .insert(label.to_owned(), session.to_owned());
    }

    /// The session window `label` was bound to, if any.
    pub fn bound_session(&self, label: &str) -> Option<String> {
        self.lock().sessions.get(label).cloned()
    }

    /// The session window `label` belongs to: its own, else the first one.
    pub fn session_of(&self, label: &str) -> Option<String> {
        let bound = self.lock().sessions.get(label).cloned();
        bound.or_else(|| self.core.sessions().first().map(|s| s.id.clone()))
    }

    /// The core as window `label` sees it: bound to the window's session.
    pub fn core_for(&self, label: &str) -> Core {
        let bound = self.lock().sessions.get(label).cloned();
        match bound {
            Some(id) => self.core.in_session(&id),
            None => self.core.clone(),
        }
    }

    /// The core as a closed window saw it.
    pub fn core_of(&self, session: Option<&str>) -> Core {
        match session {
            Some(id) => self.core.in_session(id),
            None => self.core.clone(),
        }
    }

    pub fn add_subscription(&self, label: &str, id: u64) {
        self.lock()
            .subscriptions
            .entry(label.to_owned())
            .or_default()
            .push(id);
    }

    pub fn remove_subscription(&self, label: &str, id: u64) {
        if let Some(ids) = self.lock().subscriptions.get_mut(label) {
            ids.retain(|i| *i != id);
        }
    }

    pub fn add_watch(&self, label: &str, range: ReportRange) {
        self.lock()
            .watches
            .entry(label.to_owned())
            .or_default()
            .push(range);
    }

    /// Whether this window was watching `range` (one watch is released).
    pub fn remove_watch(&self, label: &str, range: &ReportRange) -> bool {
        let mut w = self.lock();
        let Some(ranges) = w.watches.get_mut(label) else {
            return false;
        };
        match ranges.iter().position(|r| r == range) {
            Some(i) => {
                ranges.remove(i);
                true
            }
            None => false,
        }
    }

    pub fn saved_layout(&self) -> Vec<SavedWindow> {
        match self.store.get(LAYOUT_KEY) {
            Ok(value) => layout::parse(value),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the saved layout");
                Vec::new()
            }
        }
    }

    /// Stores the layout; the plugin writes it to disk shortly after
    /// (debounced), and [`Shell::flush`] at exit.
    pub fn save_layout(&self, windows: &[SavedWindow]) {
        self.store
            .set_deferred(LAYOUT_KEY, layout::to_value(windows));
    }

    /// Writes the store file now.
    pub fn flush(&self) {
        if let Err(e) = self.store.flush() {
            tracing::error!(error = %e, "could not save the settings store");
        }
    }
}
