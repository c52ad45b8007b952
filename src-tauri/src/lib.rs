//! Ledgerline desktop shell: the thin Tauri 2 glue between the webview
//! (`ui/`) and the desktop core (`ledgerline-client`). It owns no business
//! logic: each IPC command of `docs/desktop-api.md` is one call on the
//! [`ledgerline_client::Core`]; what the shell adds is windows — creating
//! them, restoring their layout, routing native focus to the core, and
//! feeding each window its own row-patch `Channel`.
//!
//! # Layout
//! - [`config`]: the environment knobs (data dir, auto sign-in, the core's
//!   intervals) turned into a [`ledgerline_client::CoreConfig`].
//! - [`kv`]: the core's `KvStore` over a tauri-plugin-store file.
//! - [`events`]: the core's `Emitter` as `emit` to every window.
//! - [`target`]: what a window shows (`property:<id>`, `report:profit-loss`,
//!   `approvals`, main), its URL, and the `--open` command line.
//! - [`layout`]: the saved window layout and the pure rules of restoring it.
//! - [`windows`]: creating windows, their native events, saving the layout.
//! - [`menu`]: the native menu and its shortcuts.
//! - [`state`]: [`state::Shell`], what every command reaches through `State`.
//! - [`commands`]: the `#[tauri::command]`s, one module per area.
//!
//! [`configure`] assembles the app for any [`tauri::Runtime`] (so it runs
//! under `tauri::test::mock_builder()`); [`run`] is the real entry point.

pub mod commands;
pub mod config;
pub mod events;
pub mod kv;
pub mod layout;
pub mod menu;
pub mod state;
pub mod target;
pub mod windows;

use std::sync::Arc;

use ledgerline_client::Core;
use tauri::{Builder, Manager, RunEvent, Runtime};

use crate::{config::ShellConfig, state::Shell, target::WindowTarget};

/// The store file (session, flags, window layout) inside the data dir.
pub const STORE_FILE: &str = "ledgerline.json";

/// The real app: single-instance first (a second launch hands its command
/// line to the running app and exits), then everything of [`configure`].
pub fn run() {
    init_tracing();
    let builder =
        tauri::Builder::default().plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            let target = target::open_arg(&argv).unwrap_or(WindowTarget::Main);
            tracing::info!(?target, "second launch: opening a window here instead");
            if let Err(e) = windows::open(app, &target) {
                tracing::error!(error = %e, "could not open the window a second launch asked for");
            }
        }));
    run_app(builder);
}

/// Runs the app assembled by [`configure`] until its last window closes.
pub fn run_app<R: Runtime>(builder: Builder<R>) {
    let app = configure(builder)
        .build(tauri::generate_context!())
        .expect("error while building the Ledgerline app");
    app.run(|app, event| {
        let Some(shell) = app.try_state::<Shell>() else {
            return;
        };
        match event {
            RunEvent::ExitRequested { .. } => shell.begin_exit(),
            RunEvent::Exit => {
                shell.flush();
                tauri::async_runtime::block_on(shell.core.shutdown());
            }
            _ => {}
        }
    });
}

/// Plugins, commands, menu, window events and the setup that opens the
/// core and the first windows. Generic so tests run it on the mock runtime.
pub fn configure<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(commands::handler())
        .menu(menu::build)
        .on_menu_event(menu::on_event)
        .on_window_event(windows::on_event)
        .setup(|app| setup(app.handle()).map_err(|e| e.into()))
}

fn setup<R: Runtime>(app: &tauri::AppHandle<R>) -> Result<(), String> {
    let config = ShellConfig::from_env(|name| std::env::var(name).ok())?;
    let data_dir = match &config.data_dir {
        Some(dir) => dir.clone(),
        None => app
            .path()
            .app_data_dir()
            .map_err(|e| format!("no app data dir: {e}"))?,
    };
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("creating {}: {e}", data_dir.display()))?;
    tracing::info!(data_dir = %data_dir.display(), "starting");
    let store = tauri_plugin_store::StoreBuilder::new(app, data_dir.join(STORE_FILE))
        .build()
        .map_err(|e| format!("opening the settings store: {e}"))?;
    let emitter = Arc::new(events::WindowEmitter::new(app.clone()));
    let kv = Arc::new(kv::PluginKv::new(store));
    let core = tauri::async_runtime::block_on(Core::open(
        config.core_config(&data_dir),
        kv.clone(),
        emitter,
    ))
    .map_err(|e| format!("opening the desktop core: {e}"))?;
    app.manage(Shell::new(core.clone(), kv, data_dir));

    if let Some(auto) = config.auto_sign_in.clone() {
        let core = core.clone();
        tauri::async_runtime::spawn(async move { auto.sign_in(&core).await });
    }

    let saved = app.state::<Shell>().saved_layout();
    let cli = target::open_arg(&std::env::args().collect::<Vec<_>>());
    for plan in layout::restore_plan(&saved, cli.as_ref()) {
        let window = windows::create(app, &plan.target, plan.geometry.as_ref())
            .map_err(|e| format!("opening a window: {e}"))?;
        // Back in its session, if that one is still signed in.
        if let Some(id) = plan.session {
            if let Some(view) = core.in_session(&id).session() {
                app.state::<Shell>().bind(window.label(), &id);
                windows::name_after(&window, &view);
            }
        }
    }
    windows::save_layout(app);
    Ok(())
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tao=warn,wry=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

#[cfg(test)]
mod tests {
    //! Command wiring on Tauri's mock runtime: real commands, a real core
    //! (signed out, cache in a temp dir), no display.

    use std::sync::Arc;

    use ledgerline_client::{Core, CoreConfig, MemoryStore, NoopEmitter};
    use serde_json::{json, Value};
    use tauri::{
        test::{
            get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
        },
        webview::InvokeRequest,
        App, Manager, WebviewWindow,
    };

    use crate::{commands, layout, state::Shell, target::WindowTarget, windows};

    fn app(dir: &std::path::Path) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
        let app = mock_builder()
            .plugin(tauri_plugin_store::Builder::default().build())
            .invoke_handler(commands::handler())
            .on_window_event(windows::on_event)
            .build(mock_context(noop_assets()))
            .expect("mock app");
        let store = tauri_plugin_store::StoreBuilder::new(&app, dir.join("store.json"))
            .build()
            .expect("store");
        let core = tauri::async_runtime::block_on(Core::open(
            CoreConfig::new(dir),
            Arc::new(MemoryStore::new()),
            Arc::new(NoopEmitter),
        ))
        .expect("core");
        let settings = Arc::new(crate::kv::PluginKv::new(store));
        app.manage(Shell::new(core, settings, dir.to_owned()));
        let main = windows::create(app.handle(), &WindowTarget::Main, None).expect("main window");
        (app, main)
    }

    fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, body: Value) -> Result<Value, Value> {
        get_ipc_response(
            window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: body.into(),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<Value>().unwrap())
    }

    #[test]
    fn open_window_opens_the_contract_url_and_saves_the_layout() {
        let dir = tempfile::tempdir().unwrap();
        let (app, main) = app(dir.path());
        assert_eq!(main.label(), "main");
        invoke(&main, "open_window", json!({"target": "approvals"})).unwrap();
        let shell = app.state::<Shell>();
        let open = shell.open_windows();
        assert_eq!(open.len(), 2);
        assert_eq!(open[1].1, WindowTarget::Approvals);
        let window = app.get_webview_window(&open[1].0).unwrap();
        assert!(window
            .url()
            .unwrap()
            .as_str()
            .ends_with("index.html?view=approvals"));
        let saved = shell.saved_layout();
        let targets: Vec<_> = saved.iter().map(|w| w.target.to_string()).collect();
        assert_eq!(targets, ["main", "approvals"]);
        assert_eq!(layout::restore_plan(&saved, None).len(), 2);
    }

    #[test]
    fn a_bad_target_is_an_invalid_command_error_naming_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, main) = app(dir.path());
        let err = invoke(&main, "open_window", json!({"target": "property:a&b"})).unwrap_err();
        assert_eq!(err["kind"], "invalid");
        assert_eq!(err["field"], "target");
    }

    #[test]
    fn signed_out_commands_answer_with_the_contract_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, main) = app(dir.path());
        assert_eq!(invoke(&main, "session", json!({})).unwrap(), Value::Null);
        let err = invoke(&main, "list_rows", json!({"query": {}})).unwrap_err();
        assert_eq!(err["kind"], "unauthorized");
        let diag = invoke(&main, "diagnostics", json!({})).unwrap();
        assert_eq!(diag["flags"]["FIN_LEADER_ENABLED"], true);
        let err = invoke(&main, "set_flag", json!({"name": "NOPE", "value": 1})).unwrap_err();
        assert_eq!(err["field"], "name");
    }

    #[test]
    fn closing_a_window_forgets_it_but_the_last_one_stays_in_the_layout() {
        let dir = tempfile::tempdir().unwrap();
        let (app, main) = app(dir.path());
        invoke(
            &main,
            "open_window",
            json!({"target": "report:profit-loss"}),
        )
        .unwrap();
        let shell = app.state::<Shell>();
        let report = app.get_webview_window(&shell.open_windows()[1].0).unwrap();
        // The mock runtime has no event loop to report the close: deliver it.
        windows::on_event(&report.as_ref().window(), &tauri::WindowEvent::Destroyed);
        let targets: Vec<_> = shell
            .saved_layout()
            .iter()
            .map(|w| w.target.to_string())
            .collect();
        assert_eq!(targets, ["main"]);
        windows::on_event(&main.as_ref().window(), &tauri::WindowEvent::Destroyed);
        assert!(shell.open_windows().is_empty());
        assert_eq!(shell.saved_layout().len(), 1);
    }

    #[test]
    fn menu_items_open_their_windows() {
        let dir = tempfile::tempdir().unwrap();
        let (app, _main) = app(dir.path());
        for id in ["open:report:profit-loss", "open:main", "open:nowhere"] {
            crate::menu::on_event(
                app.handle(),
                tauri::menu::MenuEvent {
                    id: tauri::menu::MenuId::new(id),
                },
            );
        }
        let shell = app.state::<Shell>();
        let targets: Vec<_> = shell
            .open_windows()
            .iter()
            .map(|(label, target)| format!("{label}={target}"))
            .collect();
        assert_eq!(
            targets,
            ["main=main", "report-2=report:profit-loss", "main-3=main"]
        );
    }

    #[test]
    fn windows_closing_while_the_app_quits_stay_in_the_layout() {
        let dir = tempfile::tempdir().unwrap();
        let (app, main) = app(dir.path());
        invoke(&main, "open_window", json!({"target": "approvals"})).unwrap();
        let shell = app.state::<Shell>();
        shell.begin_exit();
        for (label, _) in shell.open_windows() {
            let window = app.get_webview_window(&label).unwrap();
            windows::on_event(&window.as_ref().window(), &tauri::WindowEvent::Destroyed);
        }
        let targets: Vec<_> = shell
            .saved_layout()
            .iter()
            .map(|w| w.target.to_string())
            .collect();
        assert_eq!(targets, ["main", "approvals"]);
    }
}
