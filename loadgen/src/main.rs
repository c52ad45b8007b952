//! The `ledgerline-loadgen` binary: flags, one single-threaded runtime (the
//! generator gets one core; a thread pool would only add hand-offs), and the
//! chosen command.

use clap::{Parser, Subcommand};
use ledgerline_loadgen::{fill, grip, rate, run, sessions};

/// Long-poll load generator for Ledgerline, Nchan and Pushpin.
#[derive(Debug, Parser)]
#[command(name = "ledgerline-loadgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Park waiters, publish, measure.
    Run(run::RunArgs),
    /// Mint bearer tokens for seeded Ledgerline orgs into its database.
    MintSessions(sessions::MintArgs),
    /// Serve as Pushpin's GRIP backend.
    GripBackend(grip::GripArgs),
    /// Publish one event to each org, then watch idle eviction.
    FillOrgs(fill::FillArgs),
    /// Poll requests per second per server core (polls answered at once).
    PollRate(rate::RateArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.command {
            Command::Run(args) => {
                let result = run::run(args).await?;
                println!("{}", run::describe(&result));
            }
            Command::MintSessions(args) => {
                let n = sessions::mint(&args).await?;
                println!("minted sessions for {n} orgs into {}", args.out.display());
            }
            Command::GripBackend(args) => grip::serve(args).await?,
            Command::PollRate(args) => {
                let out = args.json_out.clone();
                let r = rate::run(args).await?;
                println!("{}", rate::describe(&r));
                if let Some(path) = out {
                    use std::io::Write;
                    let mut file = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)?;
                    writeln!(file, "{}", serde_json::to_string(&r)?)?;
                }
            }
            Command::FillOrgs(args) => {
                let r = fill::run(args).await?;
                println!(
                    "{} orgs: published {} ({} failed) in {:.1}s ({:.0}/s); RSS {:.1} → {:.1} MiB (peak {:.1}); {:.0} B per buffered org; after eviction {:.1} MiB, buffered orgs {:?}",
                    r.orgs,
                    r.published,
                    r.failed,
                    r.publish_s,
                    r.publishes_per_s,
                    r.rss_before_bytes as f64 / 1048576.0,
                    r.rss_after_publish_bytes as f64 / 1048576.0,
                    r.rss_peak_bytes as f64 / 1048576.0,
                    r.rss_per_buffered_org_bytes,
                    r.rss_end_bytes as f64 / 1048576.0,
                    r.buffered_orgs_end
                );
            }
        }
        Ok(())
    })
}
