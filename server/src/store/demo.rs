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
