//! The window layout kept across starts: which windows were open, showing
//! what, where and how big. Saved (under [`LAYOUT_KEY`] in the store file)
//! whenever a window opens, moves, resizes or closes; read once at start.
//! This module is the pure part — what to save and what to open — so it is
//! tested without windows; [`crate::windows`] does the saving.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::target::WindowTarget;

/// The store key of the layout.
pub const LAYOUT_KEY: &str = "window_layout";

/// No more windows than this are restored (a runaway layout must not open
/// hundreds of windows at start).
pub const MAX_RESTORED: usize = 16;

const MIN_WIDTH: f64 = 480.0;
const MIN_HEIGHT: f64 = 360.0;
const MAX_SIDE: f64 = 16_384.0;
const MAX_OFFSET: f64 = 32_768.0;

/// A window's outer position and inner size, in logical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Geometry {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Geometry {
    /// Something a window can be given: finite, not tiny, not absurd.
    pub fn sanitized(self) -> Option<Geometry> {
        let all_finite = [self.x, self.y, self.width, self.height]
            .iter()
            .all(|v| v.is_finite());
        if !all_finite {
            return None;
        }
        Some(Geometry {
            x: self.x.clamp(-MAX_OFFSET, MAX_OFFSET),
            y: self.y.clamp(-MAX_OFFSET, MAX_OFFSET),
            width: self.width.clamp(MIN_WIDTH, MAX_SIDE),
            height: self.height.clamp(MIN_HEIGHT, MAX_SIDE),
        })
    }
}

/// One saved window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedWindow {
    pub target: WindowTarget,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geometry: Option<Geometry>,
    /// The session the window belonged to (none: the first one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// A window to open at start.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub target: WindowTarget,
    pub geometry: Option<Geometry>,
    pub session: Option<String>,
}

/// The saved layout from the store's value; unreadable entries (an old
/// format, a target this version does not know) are skipped, not fatal.
pub fn parse(value: Option<Value>) -> Vec<SavedWindow> {
    let Some(Value::Array(items)) = value else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| match serde_json::from_value::<SavedWindow>(item) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "skipping an unreadable saved window");
                None
            }
        })
        .collect()
}

/// The value to store for the windows open now, in their opening order.
pub fn to_value(windows: &[SavedWindow]) -> Value {
    serde_json::to_value(windows).unwrap_or(Value::Array(Vec::new()))
}

/// What to open at start: the saved windows (at most [`MAX_RESTORED`],
/// geometry sanitized), or one main window when nothing was saved; then the
/// command line's `--open` target unless the layout already shows it.
pub fn restore_plan(saved: &[SavedWindow], open: Option<&WindowTarget>) -> Vec<Planned> {
    let mut plan: Vec<Planned> = saved
        .iter()
        .take(MAX_RESTORED)
        .map(|w| Planned {
            target: w.target.clone(),
            geometry: w.geometry.and_then(Geometry::sanitized),
            session: w.session.clone(),
        })
        .collect();
    if plan.is_empty() {
        plan.push(Planned {
            target: WindowTarget::Main,
            geometry: None,
            session: None,
        });
    }
    if let Some(target) = open {
        if !plan.iter().any(|p| &p.target == target) {
            plan.push(Planned {
                target: target.clone(),
                geometry: None,
                session: None,
            });
        }
    }
    plan
}

/// Whether closing a window should drop it from the saved layout: yes,
/// unless it is the last one — closing the last window quits the app, and
/// the next start should bring that window back.
pub fn forget_on_close(open_windows_before_close: usize) -> bool {
    open_windows_before_close > 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn geo(x: f64, y: f64, width: f64, height: f64) -> Option<Geometry> {
        Some(Geometry {
            x,
            y,
            width,
            height,
        })
    }

    #[test]
    fn nothing_saved_opens_one_main_window() {
        let plan = restore_plan(&[], None);
        assert_eq!(
            plan,
            vec![Planned {
                target: WindowTarget::Main,
                geometry: None,
                session: None,
            }]
        );
    }

    #[test]
    fn saved_windows_come_back_in_order_with_their_geometry() {
        let saved = vec![
            SavedWindow {
                target: WindowTarget::Main,
                geometry: geo(10.0, 20.0, 1200.0, 800.0),
                session: None,
            },
            SavedWindow {
                target: WindowTarget::Approvals,
                geometry: geo(700.0, 40.0, 900.0, 600.0),
                session: None,
            },
        ];
        let value = to_value(&saved);
        let plan = restore_plan(&parse(Some(value)), None);
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[0].target, WindowTarget::Main);
        assert_eq!(plan[0].geometry, geo(10.0, 20.0, 1200.0, 800.0));
        assert_eq!(plan[1].target, WindowTarget::Approvals);
    }

    #[test]
    fn open_flag_adds_a_window_unless_the_layout_has_it() {
        let saved = vec![SavedWindow {
            target: WindowTarget::ProfitLoss,
            geometry: None,
            session: None,
        }];
        assert_eq!(
            restore_plan(&saved, Some(&WindowTarget::ProfitLoss)).len(),
            1
        );
        let plan = restore_plan(&[], Some(&WindowTarget::Property("p1".into())));
        let targets: Vec<_> = plan.iter().map(|p| p.target.to_string()).collect();
        assert_eq!(targets, ["main", "property:p1"]);
    }

    #[test]
    fn unreadable_entries_are_skipped_and_geometry_is_sanitized() {
        let value = json!([
            {"target": "no-such-view"},
            {"target": "approvals", "geometry": {"x": 1e9, "y": 0.0, "width": 10.0, "height": 99999.0}},
            "garbage",
        ]);
        let plan = restore_plan(&parse(Some(value)), None);
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].target, WindowTarget::Approvals);
        assert_eq!(plan[0].geometry, geo(MAX_OFFSET, 0.0, MIN_WIDTH, MAX_SIDE));
        assert!(parse(Some(json!({"not": "a list"}))).is_empty());
        assert!(Geometry {
            x: f64::NAN,
            y: 0.0,
            width: 1.0,
            height: 1.0
        }
        .sanitized()
        .is_none());
    }

    #[test]
    fn a_runaway_layout_is_capped() {
        let saved = vec![
            SavedWindow {
                target: WindowTarget::Main,
                geometry: None,
                session: None,
            };
            100
        ];
        assert_eq!(restore_plan(&saved, None).len(), MAX_RESTORED);
    }

    #[test]
    fn closing_the_last_window_keeps_it_in_the_layout() {
        assert!(!forget_on_close(1));
        assert!(forget_on_close(2));
    }

    #[test]
    fn a_window_keeps_its_session_across_a_save_and_a_restore() {
        let saved = vec![SavedWindow {
            target: WindowTarget::Approvals,
            geometry: None,
            session: Some("host--u1".into()),
        }];
        let value = serde_json::to_value(&saved).unwrap();
        let back = parse(Some(value));
        assert_eq!(back, saved);
        assert_eq!(
            restore_plan(&back, None)[0].session.as_deref(),
            Some("host--u1")
        );
    }
}
