//! Bearer tokens for seeded Ledgerline orgs, minted straight into the
//! `sessions` table the way `POST /v1/auth/login` stores them (sha256 hex of
//! the token). A real login costs one argon2 verification (tens of
//! milliseconds on the one core the server gets), so 10k orgs would spend
//! minutes logging in before the benchmark starts; the script still does one
//! real login to check the path.

use std::{io::Write, str::FromStr};

use anyhow::Context;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions},
    QueryBuilder, Sqlite,
};

#[derive(Debug, Clone, clap::Args)]
pub struct MintArgs {
    /// The server's database (the server need not run).
    #[arg(long)]
    pub database_url: String,
    /// Seeded orgs to mint for, in seed order.
    #[arg(long)]
    pub orgs: usize,
    /// Tokens per org: accountant (who publishes), owner, manager — the
    /// roles that see every property, so every waiter sees every event.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub tokens_per_org: u8,
    /// Output: one line per org, `org_id \t property_id \t token…`.
    #[arg(long)]
    pub out: std::path::PathBuf,
}

/// A fresh token: 48 hex characters (the server accepts 16–128 of
/// `[A-Za-z0-9_-]`).
pub fn new_token() -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// What the server stores for a token: hex sha256.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Mint and write the sessions file; returns the number of orgs written.
pub async fn mint(args: &MintArgs) -> anyhow::Result<usize> {
    let options = SqliteConnectOptions::from_str(&args.database_url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .context("opening the database")?;
    let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT o.id, u.id, u.role,
                (SELECT p.id FROM properties p WHERE p.org_id = o.id ORDER BY p.rowid LIMIT 1)
         FROM (SELECT id, rowid AS r FROM orgs WHERE name LIKE 'Seed Org %' ORDER BY rowid LIMIT ?1) o
         JOIN users u ON u.org_id = o.id AND u.role IN ('accountant', 'owner', 'manager')
         ORDER BY o.r, CASE u.role WHEN 'accountant' THEN 0 WHEN 'owner' THEN 1 ELSE 2 END",
    )
    .bind(args.orgs as i64)
    .fetch_all(&pool)
    .await
    .context("reading seeded orgs")?;

    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let expires = now_ms + 30 * 24 * 3_600_000;
    let mut lines: Vec<(String, String, Vec<String>)> = Vec::new();
    // (session id, token hash, user id, org id)
    let mut sessions: Vec<(String, String, String, String)> = Vec::new();
    for (org_id, user_id, _role, property) in rows {
        let property = property.context("a seeded org without properties")?;
        if lines.last().map(|l| &l.0) != Some(&org_id) {
            lines.push((org_id.clone(), property, Vec::new()));
        }
        let line = lines.last_mut().expect("pushed above");
        if line.2.len() >= usize::from(args.tokens_per_org) {
            continue;
        }
        let token = new_token();
        sessions.push((
            format!("bench-{}", new_token()),
            token_hash(&token),
            user_id,
            org_id,
        ));
        line.2.push(token);
    }
    let mut tx = pool.begin().await?;
    for chunk in sessions.chunks(5_000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO sessions (id, token_hash, user_id, org_id, created_at, expires_at) ",
        );
        q.push_values(chunk, |mut b, (id, hash, user, org)| {
            b.push_bind(id)
                .push_bind(hash)
                .push_bind(user)
                .push_bind(org)
                .push_bind(now_ms)
                .push_bind(expires);
        });
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    pool.close().await;

    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&args.out)
            .with_context(|| format!("creating {}", args.out.display()))?,
    );
    for (org, property, tokens) in &lines {
        writeln!(out, "{org}\t{property}\t{}", tokens.join("\t"))?;
    }
    out.flush()?;
    Ok(lines.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_plausible_bearer_tokens_and_hash_like_the_server() {
        let t = new_token();
        assert_eq!(t.len(), 48);
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(t, new_token());
        // sha256("abc")
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
