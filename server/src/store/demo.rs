//! The demo data of the spec, created on an empty database: "Demo Hotels"
//! (five properties; owner, manager, accountant, and staff who sees only the
//! first property) and "Rival Inns", so isolation can be tried. Every demo
//! password is `demo`.

use ledgerline_wire::Role;

use super::{seed::Batch, Backend, FleetDuty, Store, StoreError};
use crate::domain::password;

/// The demo users' password.
pub const DEMO_PASSWORD: &str = "demo";

/// Demo Hotels' properties, in the order the API lists them (by name).
pub const DEMO_PROPERTIES: [&str; 5] = [
    "Demo Hotel Amsterdam",
    "Demo Hotel Berlin",
    "Demo Hotel Copenhagen",
    "Demo Hotel Dublin",
    "Demo Hotel Edinburgh",
];

impl Store {
    /// Create the demo organizations if there are no organizations at all.
    /// Returns whether it did.
    pub async fn ensure_demo(&self) -> Result<bool, StoreError> {
        let password_hash = tokio::task::spawn_blocking(|| password::hash(DEMO_PASSWORD))
            .await
            .map_err(|e| StoreError::Hash(e.to_string()))?
            .map_err(|e| StoreError::Hash(e.to_string()))?;
        let mut tx = self.write.begin().await?;
        if self.backend == Backend::Postgres {
            // Instances of a fleet starting together on an empty database:
            // the first creates the demo data, the others wait here and
            // then find it.
            // (Wrapped: the `Any` driver cannot carry a `void` column.)
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
                .bind(FleetDuty::Demo.key())
                .execute(&mut *tx)
                .await?;
        }
        let any: Option<String> = sqlx::query_scalar("SELECT id FROM orgs LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        if any.is_some() {
            return Ok(false);
        }
        let mut batch = Batch::default();
        let demo = batch.org("Demo Hotels");
        let properties: Vec<String> = DEMO_PROPERTIES
            .iter()
            .map(|name| batch.property(&demo, name))
            .collect();
        batch.user(&demo, "owner@demo.test", "Olivia Owner", Role::Owner);
        batch.user(&demo, "manager@demo.test", "Manuel Manager", Role::Manager);
        batch.user(
            &demo,
            "accountant@demo.test",
            "Ada Accountant",
            Role::Accountant,
        );
        let staff = batch.user(&demo, "staff@demo.test", "Sam Staff", Role::Staff);
        batch.assign(&staff, &properties[0]);

        let rival = batch.org("Rival Inns");
        batch.property(&rival, "Rival Inn Lisbon");
        batch.property(&rival, "Rival Inn Porto");
        batch.user(&rival, "owner@rival.test", "Rita Rival", Role::Owner);

        batch.insert(&mut tx, &password_hash).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// A busy month for benchmarks: `rows` pending transactions in the first
/// property of `email`'s org, half revenue, dated over the `days` days
/// from `first`, all created at `at` — written in one `INSERT … SELECT`
/// straight into a SQLite file (a fleet of clients would take minutes).
/// Ids are `bulk-000000` on.
pub async fn sqlite_busy_month(
    sqlite_url: &str,
    email: &str,
    rows: u32,
    first: chrono::NaiveDate,
    days: u32,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    let db = sqlx::SqlitePool::connect(sqlite_url).await?;
    sqlx::query(
        "INSERT INTO transactions (id, org_id, property_id, kind, amount_minor, currency, category, \
             memo, occurred_on, status, version, client_mutation_id, created_by, created_at, updated_at) \
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1), \
              owner AS (SELECT id, org_id FROM users WHERE email = ?2) \
         SELECT printf('bulk-%06d', i), (SELECT org_id FROM owner), \
             (SELECT id FROM properties WHERE org_id = (SELECT org_id FROM owner) ORDER BY id LIMIT 1), \
             CASE i % 2 WHEN 0 THEN 'revenue' ELSE 'expense' END, 100 + i % 9000, \
             (SELECT currency FROM orgs WHERE id = (SELECT org_id FROM owner)), 'bulk', 'row ' || i, \
             date(?3, '+' || (i % ?4) || ' days'), 'pending', 1, NULL, (SELECT id FROM owner), ?5, ?5 \
         FROM n",
    )
    .bind(rows)
    .bind(email)
    .bind(first.to_string())
    .bind(days)
    .bind(at.timestamp_millis())
    .execute(&db)
    .await?;
    db.close().await;
    Ok(())
}
