//! Windows: creating one for a [`WindowTarget`] (from the UI, the menu, the
//! command line, a second launch, or the saved layout), and the native
//! window events — focus refetches, moves and resizes save the layout, a
//! close releases the window's subscriptions and report watches.

use ledgerline_client::{CommandError, SessionView};
use tauri::{
    AppHandle, LogicalPosition, LogicalSize, Manager, Runtime, WebviewUrl, WebviewWindow,
    WebviewWindowBuilder, Window, WindowEvent,
};

use crate::{
    layout::{self, Geometry, SavedWindow},
    state::Shell,
    target::WindowTarget,
};

/// Opens a new window showing `target` and saves the layout.
pub fn open<R: Runtime>(app: &AppHandle<R>, target: &WindowTarget) -> Result<(), CommandError> {
    open_in(app, target, None)
}

/// Opens a new window showing `target` for `session` (None: the first
/// session) and saves the layout.
pub fn open_in<R: Runtime>(
    app: &AppHandle<R>,
    target: &WindowTarget,
    session: Option<&str>,
) -> Result<(), CommandError> {
    let shell = app.state::<Shell>();
    let window = create(app, target, None)?;
    if let Some(id) = session {
        shell.bind(window.label(), id);
        if let Some(view) = shell.core.in_session(id).session() {
            name_after(&window, &view);
        }
    }
    let _ = window.set_focus();
    save_layout(app);
    Ok(())
}

/// The window's title names its target and its session's org.
pub fn name_after<R: Runtime>(window: &WebviewWindow<R>, view: &SessionView) {
    let shell = window.state::<Shell>();
    let target = shell
        .open_windows()
        .into_iter()
        .find(|(label, _)| label == window.label())
        .map(|(_, t)| t)
        .unwrap_or(WindowTarget::Main);
    let _ = window.set_title(&format!("{} · {}", target.title(), view.org.name));
}

/// Creates (and registers) a window for `target`, at `geometry` if given.
pub fn create<R: Runtime>(
    app: &AppHandle<R>,
    target: &WindowTarget,
    geometry: Option<&Geometry>,
) -> Result<WebviewWindow<R>, CommandError> {
    let shell = app.state::<Shell>();
    let label = shell.next_label(target);
    let (width, height) = geometry
        .map(|g| (g.width, g.height))
        .unwrap_or_else(|| target.default_size());
    let mut builder = WebviewWindowBuilder::new(app, &label, WebviewUrl::App(target.url().into()))
        .title(target.title())
        .inner_size(width, height)
        .min_inner_size(480.0, 360.0);
    if let Some(g) = geometry {
        builder = builder.position(g.x, g.y);
    }
    let window = builder
        .build()
        .map_err(|e| CommandError::internal(format!("could not open a window: {e}")))?;
    shell.register_window(&label, target.clone());
    // A window belongs to a session from the start (the first one, unless
    // the caller binds it to another), so a session signing out later
    // never hands its windows to another organization.
    if let Some(view) = shell.core.session() {
        shell.bind(&label, &view.id);
        name_after(&window, &view);
    }
    tracing::info!(%label, %target, "window opened");
    Ok(window)
}

/// The native events of every window.
pub fn on_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    let app = window.app_handle();
    let Some(shell) = app.try_state::<Shell>() else {
        return;
    };
    match event {
        WindowEvent::Focused(true) => {
            // On the async runtime: the core spawns its refetches there
            // (this handler runs on the event loop's thread).
            let core = shell.core_for(window.label());
            tauri::async_runtime::spawn(async move {
                // Signed out: nothing to refetch.
                let _ = core.window_focused();
            });
        }
        WindowEvent::Moved(_) | WindowEvent::Resized(_) => save_layout(app),
        WindowEvent::Destroyed => {
            let Some(closed) = shell.close_window(window.label()) else {
                return;
            };
            let core = shell.core_of(closed.session.as_deref());
            for id in closed.subscriptions {
                core.unsubscribe(id);
            }
            for range in &closed.watches {
                core.unwatch_report(range);
            }
            if layout::forget_on_close(closed.was_open) && !shell.is_exiting() {
                save_layout(app);
            }
        }
        _ => {}
    }
}

/// Stores where every open window is now.
pub fn save_layout<R: Runtime>(app: &AppHandle<R>) {
    let shell = app.state::<Shell>();
    let windows: Vec<SavedWindow> = shell
        .open_windows()
        .into_iter()
        .filter_map(|(label, target)| {
            let window = app.get_webview_window(&label)?;
            Some(SavedWindow {
                session: shell.bound_session(&label),
                target,
                geometry: geometry(&window),
            })
        })
        .collect();
    if !windows.is_empty() {
        shell.save_layout(&windows);
    }
}

fn geometry<R: Runtime>(window: &WebviewWindow<R>) -> Option<Geometry> {
    let scale = window.scale_factor().ok()?;
    let position: LogicalPosition<f64> = window.outer_position().ok()?.to_logical(scale);
    let size: LogicalSize<f64> = window.inner_size().ok()?.to_logical(scale);
    Some(Geometry {
        x: position.x,
        y: position.y,
        width: size.width,
        height: size.height,
    })
}
