//! The `ledgerline-server` binary: flags, tracing, store, bind, [`run`].
//! Everything else is in the library.

use std::io::IsTerminal;

use anyhow::Context;
use clap::Parser;
use ledgerline_server::{
    config::{Cli, Command, DatabaseArgs, SeedArgs, ServeArgs},
    domain::password,
    run,
    store::{demo::DEMO_PASSWORD, seed::SeedPlan, Backend, SqliteFileLock},
    AppState, Store,
};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// With `--features mimalloc`: evicted org buffers go back to the OS (glibc
/// kept all 1.9 GiB after evicting 1M buffers) and a buffered org costs
/// ~1.1 KB instead of ~2.7 KB, but an idle long-poll costs ~29 KiB instead
/// of ~21.5 KiB. Off by default: waiters outnumber buffered orgs on a busy
/// instance (docs/bench/README.md, "Allocators").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
        Command::Seed(args) => seed(args).await,
        Command::NewEpoch(args) => new_epoch(args).await,
    }
}

async fn open(args: &DatabaseArgs) -> anyhow::Result<Store> {
    Store::open_with(&args.database_url, &args.store_options())
        .await
        .context("opening the database")
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Held until the process exits: one server per SQLite file.
    let _lock = SqliteFileLock::acquire(&args.database.database_url)?;
    let store = open(&args.database).await?;
    if store.backend() == Backend::Sqlite && args.realtime.nats_url.is_some() {
        anyhow::bail!(
            "--nats-url is for a fleet on Postgres; a SQLite file serves one instance \
             (use --database-url postgres://…)"
        );
    }
    if args.no_demo {
        tracing::info!("--no-demo: no demo organizations");
    } else if store
        .ensure_demo()
        .await
        .context("creating the demo data")?
    {
        tracing::info!("created the demo organizations on an empty database");
    }
    tracing::info!(backend = ?store.backend(), epoch = store.epoch(), "database ready");
    // One file descriptor per connection: the budget is derived from this.
    let before = ledgerline_server::conn::budget::open_file_limit();
    let limit = ledgerline_server::conn::budget::raise_open_file_limit();
    tracing::info!(before, limit, "open-file limit raised to its hard limit");
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    println!("listening on http://{addr}");
    let state = AppState::start(store.clone(), args.realtime)
        .await
        .context("connecting to NATS")?;
    run(listener, state, shutdown).await.context("serving")?;
    store.close().await;
    Ok(())
}

async fn new_epoch(args: DatabaseArgs) -> anyhow::Result<()> {
    let store = open(&args).await?;
    let before = store.epoch().to_owned();
    let after = store.new_epoch().await.context("changing the epoch")?;
    println!("epoch {before} -> {after}: cursors of {before} now get reset: true");
    store.close().await;
    Ok(())
}

async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    let store = open(&args.database).await?;
    store
        .ensure_demo()
        .await
        .context("creating the demo data")?;
    // One hash for every seeded user: argon2 per user would take hours.
    let hash = tokio::task::spawn_blocking(|| password::hash(DEMO_PASSWORD)).await??;
    let plan = SeedPlan {
        orgs: args.orgs,
        properties: args.properties,
        users: args.users,
    };
    let report = store.seed(plan, &hash).await.context("seeding")?;
    println!(
        "seeded {} orgs ({} properties, {} users) in {:.2}s: {:.0} orgs/s",
        report.orgs,
        report.properties,
        report.users,
        report.elapsed.as_secs_f64(),
        report.orgs_per_second()
    );
    store.close().await;
    Ok(())
}

/// Cancel `shutdown` on SIGINT or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    shutdown.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
    shutdown.cancel();
}
