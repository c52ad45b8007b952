//! The app under WebDriver: prerequisites (skip loudly outside CI, fail
//! under `CI=true`), `tauri-driver` on free ports with the app's
//! environment, and the dozen W3C WebDriver calls the tests make, over
//! plain HTTP with reqwest. Also the app's processes, found through
//! `/proc` by binary and data dir.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use serde_json::{json, Value};

use crate::wait::until;

/// What an e2e run needs on the machine.
pub(crate) struct Prereqs {
    pub(crate) tauri_driver: PathBuf,
    pub(crate) app: PathBuf,
}

/// `Some` when everything is there. Otherwise: under `CI=true` a panic (a
/// missing prerequisite is a failure there), elsewhere a loud skip.
pub(crate) fn prerequisites(test: &str) -> Option<Prereqs> {
    let mut missing = Vec::new();
    if std::env::var_os("DISPLAY").is_none() {
        missing.push("DISPLAY (run under xvfb-run)".to_owned());
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        missing.push("a D-Bus session bus (run under dbus-run-session)".to_owned());
    }
    let tauri_driver = find_program("tauri-driver");
    if tauri_driver.is_none() {
        missing.push("tauri-driver (cargo install tauri-driver --locked)".to_owned());
    }
    if find_program("WebKitWebDriver").is_none() {
        missing.push("WebKitWebDriver (apt-get install webkit2gtk-driver)".to_owned());
    }
    if missing.is_empty() {
        return Some(Prereqs {
            tauri_driver: tauri_driver.expect("checked"),
            app: PathBuf::from(env!("CARGO_BIN_EXE_ledgerline")),
        });
    }
    let msg = format!("e2e {test}: missing {}", missing.join(", "));
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    eprintln!("\n!!!!!!!! SKIPPED {msg} !!!!!!!!\n");
    None
}

fn find_program(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running `tauri-driver` (and, once a session starts, the app).
pub(crate) struct Driver {
    child: Child,
    port: u16,
    http: reqwest::Client,
}

impl Driver {
    /// Starts tauri-driver with the app's environment `env` (the app
    /// inherits it through WebKitWebDriver) and waits until both of its
    /// ports listen.
    pub(crate) async fn start(pre: &Prereqs, env: &[(String, String)]) -> Result<Driver> {
        let port = free_port()?;
        let native_port = free_port()?;
        let child = Command::new(&pre.tauri_driver)
            .args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .spawn()
            .context("starting tauri-driver")?;
        let driver = Driver {
            child,
            port,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
        };
        until("tauri-driver listens", Duration::from_secs(20), || async {
            Ok(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && std::net::TcpStream::connect(("127.0.0.1", native_port)).is_ok())
        })
        .await?;
        Ok(driver)
    }

    /// Launches the app with `args` and opens a WebDriver session on it.
    pub(crate) async fn session(&self, pre: &Prereqs, args: &[&str]) -> Result<Session> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": pre.app, "args": args},
        }}});
        let resp: Value = self
            .http
            .post(format!("http://127.0.0.1:{}/session", self.port))
            .json(&caps)
            .send()
            .await?
            .json()
            .await?;
        let id = resp["value"]["sessionId"]
            .as_str()
            .with_context(|| format!("no session: {resp}"))?;
        Ok(Session {
            http: self.http.clone(),
            base: format!("http://127.0.0.1:{}/session/{id}", self.port),
        })
    }
}

impl Drop for Driver {
    /// SIGTERM, not SIGKILL, so tauri-driver stops WebKitWebDriver too.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver session: the app, and the window commands go to.
pub(crate) struct Session {
    http: reqwest::Client,
    base: String,
}

impl Session {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp: Value = req.send().await?.json().await?;
        if let Some(err) = resp["value"].get("error") {
            bail!("webdriver {path}: {err} {}", resp["value"]["message"]);
        }
        Ok(resp["value"].clone())
    }

    /// Runs `script` (a function body; may `return` a value or a promise).
    pub(crate) async fn exec(&self, script: &str, args: Value) -> Result<Value> {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Runs `script` as an async WebDriver script: it ends by calling its
    /// last argument with the result.
    pub(crate) async fn exec_async(&self, script: &str, args: Value) -> Result<Value> {
        let out = self
            .call(
                reqwest::Method::POST,
                "/execute/async",
                Some(json!({"script": script, "args": args})),
            )
            .await?;
        match out.get("err") {
            Some(e) => bail!("script failed: {e}"),
            None => Ok(out),
        }
    }

    /// [`Session::invoke`] with a `Channel` argument named `channel`, as the
    /// UI's `new Channel(...)` passes one; returns the answer and how many
    /// messages the channel got.
    pub(crate) async fn invoke_with_channel(
        &self,
        command: &str,
        args: Value,
        channel: &str,
    ) -> Result<(Value, u64)> {
        let script =
            "const [cmd, args, channel] = arguments; const done = arguments[arguments.length - 1];\
            const i = window.__TAURI_INTERNALS__; let got = 0;\
            args[channel] = `__CHANNEL__:${i.transformCallback(() => { got += 1; })}`;\
            i.invoke(cmd, args).then(\
              (v) => done({ok: v === undefined ? null : v, got}),\
              (e) => done({err: e}));";
        let out = self
            .call(
                reqwest::Method::POST,
                "/execute/async",
                Some(json!({"script": script, "args": [command, args, channel]})),
            )
            .await?;
        match out.get("ok") {
            Some(v) => Ok((v.clone(), out["got"].as_u64().unwrap_or(0))),
            None => bail!("{command} rejected: {}", out["err"]),
        }
    }

    /// Calls an app command from the current window, as the UI does.
    pub(crate) async fn invoke(&self, command: &str, args: Value) -> Result<Value> {
        let script = "const [cmd, args] = arguments; const done = arguments[arguments.length - 1];\
            window.__TAURI_INTERNALS__.invoke(cmd, args).then(\
              (v) => done({ok: v === undefined ? null : v}),\
              (e) => done({err: e}));";
        let out = self
            .call(
                reqwest::Method::POST,
                "/execute/async",
                Some(json!({"script": script, "args": [command, args]})),
            )
            .await?;
        match out.get("ok") {
            Some(v) => Ok(v.clone()),
            None => bail!("{command} rejected: {}", out["err"]),
        }
    }

    pub(crate) async fn handles(&self) -> Result<Vec<String>> {
        let v = self
            .call(reqwest::Method::GET, "/window/handles", None)
            .await?;
        Ok(serde_json::from_value(v)?)
    }

    pub(crate) async fn switch_to(&self, handle: &str) -> Result<()> {
        self.call(
            reqwest::Method::POST,
            "/window",
            Some(json!({"handle": handle})),
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn url(&self) -> Result<String> {
        let v = self.call(reqwest::Method::GET, "/url", None).await?;
        Ok(serde_json::from_value(v)?)
    }

    /// A PNG of the current window, written to `path`.
    pub(crate) async fn screenshot(&self, path: &Path) -> Result<()> {
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().context("screenshot is not a string")?)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        eprintln!("[e2e] screenshot {}", path.display());
        Ok(())
    }

    /// The element matching `css`.
    pub(crate) async fn find(&self, css: &str) -> Result<String> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("no element id for {css}"))
    }

    pub(crate) async fn click(&self, element: &str) -> Result<()> {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn clear(&self, element: &str) -> Result<()> {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            Some(json!({})),
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn send_keys(&self, element: &str, text: &str) -> Result<()> {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await?;
        Ok(())
    }

    /// Ends the session (the app is closed).
    pub(crate) async fn end(self) -> Result<()> {
        self.http.delete(&self.base).send().await?;
        Ok(())
    }
}

/// The `ledgerline` processes running with data dir `data_dir`.
pub(crate) fn app_processes(app: &Path, data_dir: &Path) -> Vec<u32> {
    let app = std::fs::canonicalize(app).unwrap_or_else(|_| app.to_owned());
    let marker = format!("LEDGERLINE_DATA_DIR={}", data_dir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            exe.as_deref() == Some(app.as_path())
                && environ.split(|b| *b == 0).any(|kv| kv == marker.as_bytes())
        })
        .collect()
}
