//! The native menu: open a new finance window, the profit-loss report or
//! the approvals queue (property windows open from the UI's chooser or
//! `--open property:<id>`). The accelerators use Alt so they never shadow
//! the UI's own Ctrl/⌘+Shift shortcuts.

use tauri::{
    menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu},
    AppHandle, Manager, Runtime,
};

use crate::{state::Shell, target::WindowTarget, windows};

const OPEN_PREFIX: &str = "open:";
const QUIT: &str = "quit";

pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Menu<R>> {
    let item = |target: WindowTarget, text: &str, accel: &str| {
        MenuItem::with_id(
            app,
            format!("{OPEN_PREFIX}{target}"),
            text,
            true,
            Some(accel),
        )
    };
    let window = Submenu::with_items(
        app,
        "Window",
        true,
        &[
            &item(WindowTarget::Main, "New Finance Window", "CmdOrCtrl+Alt+N")?,
            &item(
                WindowTarget::ProfitLoss,
                "Profit and Loss Report",
                "CmdOrCtrl+Alt+R",
            )?,
            &item(
                WindowTarget::Approvals,
                "Approvals Queue",
                "CmdOrCtrl+Alt+A",
            )?,
            &PredefinedMenuItem::separator(app)?,
            &PredefinedMenuItem::close_window(app, None)?,
        ],
    )?;
    let file = Submenu::with_items(
        app,
        "File",
        true,
        &[&MenuItem::with_id(
            app,
            QUIT,
            "Quit",
            true,
            Some("CmdOrCtrl+Q"),
        )?],
    )?;
    Menu::with_items(app, &[&file, &window])
}

pub fn on_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    let id = event.id().as_ref();
    if id == QUIT {
        if let Some(shell) = app.try_state::<Shell>() {
            shell.begin_exit();
        }
        app.exit(0);
    } else if let Some(target) = id.strip_prefix(OPEN_PREFIX) {
        let result = target.parse().and_then(|t| windows::open(app, &t));
        if let Err(e) = result {
            tracing::error!(error = %e, "menu: could not open the window");
        }
    }
}
