//! Bulk creation of organizations, their properties and users: the demo data
//! and the `seed` command's load-test data. Rows go in as multi-row `INSERT`s
//! inside large transactions; every user shares one password hash, computed
//! once by the caller (argon2 is deliberately slow).

use std::time::{Duration, Instant};

use chrono::Utc;
use ledgerline_wire::Role;
use sqlx::{Any, Transaction as DbTx};

use super::sql::Sql;

use super::{Store, StoreError};

/// Rows per multi-row `INSERT` (SQLite allows 32766 bound values; users take 6 each).
const ROWS_PER_INSERT: usize = 2_000;
/// Organizations per database transaction.
const ORGS_PER_TRANSACTION: u64 = 10_000;

/// Rows to insert, with their ids already chosen.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) orgs: Vec<(String, String)>,
    pub properties: Vec<(String, String, String)>,
    /// `(id, org_id, email, name, role)`
    pub users: Vec<(String, String, String, String, Role)>,
    /// `(user_id, property_id)`
    pub user_properties: Vec<(String, String)>,
}

impl Batch {
    pub(crate) fn org(&mut self, name: &str) -> String {
        let id = new_id();
        self.orgs.push((id.clone(), name.to_owned()));
        id
    }

    pub(crate) fn property(&mut self, org_id: &str, name: &str) -> String {
        let id = new_id();
        self.properties
            .push((id.clone(), org_id.to_owned(), name.to_owned()));
        id
    }

    pub(crate) fn user(&mut self, org_id: &str, email: &str, name: &str, role: Role) -> String {
        let id = new_id();
        self.users.push((
            id.clone(),
            org_id.to_owned(),
            email.to_owned(),
            name.to_owned(),
            role,
        ));
        id
    }

    pub(crate) fn assign(&mut self, user_id: &str, property_id: &str) {
        self.user_properties
            .push((user_id.to_owned(), property_id.to_owned()));
    }

    /// Insert everything inside `tx`.
    pub(crate) async fn insert(
        self,
        tx: &mut DbTx<'_, Any>,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        let now = Utc::now().timestamp_millis();
        for chunk in self.orgs.chunks(ROWS_PER_INSERT) {
            let mut q = Sql::new("INSERT INTO orgs (id, name, created_at) ");
            q.push_values(chunk, |mut b, (id, name)| {
                b.push_bind(id).push_bind(name).push_bind(now);
            });
            q.execute(&mut **tx).await?;
        }
        for chunk in self.properties.chunks(ROWS_PER_INSERT) {
            let mut q = Sql::new("INSERT INTO properties (id, org_id, name) ");
            q.push_values(chunk, |mut b, (id, org_id, name)| {
                b.push_bind(id).push_bind(org_id).push_bind(name);
            });
            q.execute(&mut **tx).await?;
        }
        for chunk in self.users.chunks(ROWS_PER_INSERT) {
            let mut q =
                Sql::new("INSERT INTO users (id, org_id, email, name, role, password_hash) ");
            q.push_values(chunk, |mut b, (id, org_id, email, name, role)| {
                b.push_bind(id)
                    .push_bind(org_id)
                    .push_bind(email)
                    .push_bind(name)
                    .push_bind(role.as_str())
                    .push_bind(password_hash);
            });
            q.execute(&mut **tx).await?;
        }
        for chunk in self.user_properties.chunks(ROWS_PER_INSERT) {
            let mut q = Sql::new("INSERT INTO user_properties (user_id, property_id) ");
            q.push_values(chunk, |mut b, (user_id, property_id)| {
                b.push_bind(user_id).push_bind(property_id);
            });
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The shape of each seeded organization.
#[derive(Debug, Clone, Copy)]
pub struct SeedPlan {
    pub orgs: u64,
    pub properties: u32,
    pub users: u32,
}

/// What a seed run did.
#[derive(Debug, Clone, Copy)]
pub struct SeedReport {
    pub orgs: u64,
    pub properties: u64,
    pub users: u64,
    pub elapsed: Duration,
}

impl SeedReport {
    pub fn orgs_per_second(&self) -> f64 {
        self.orgs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Role of the `n`th user of a seeded org: owner, manager, accountant, then staff.
fn seeded_role(n: u32) -> Role {
    match n {
        0 => Role::Owner,
        1 => Role::Manager,
        2 => Role::Accountant,
        _ => Role::Staff,
    }
}

impl Store {
    /// Create `plan.orgs` organizations named `Seed Org K`, numbered on from
    /// those already seeded, with users `userN@orgK.seed.test` sharing
    /// `password_hash`. Staff are assigned one property each.
    pub async fn seed(
        &self,
        plan: SeedPlan,
        password_hash: &str,
    ) -> Result<SeedReport, StoreError> {
        let started = Instant::now();
        let first: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM orgs WHERE name LIKE 'Seed Org %'")
                .fetch_one(&self.read)
                .await?;
        let first = u64::try_from(first).unwrap_or(0) + 1;
        let mut done = 0u64;
        while done < plan.orgs {
            let n = ORGS_PER_TRANSACTION.min(plan.orgs - done);
            let mut batch = Batch::default();
            for k in (first + done)..(first + done + n) {
                let org = batch.org(&format!("Seed Org {k}"));
                let properties: Vec<String> = (1..=plan.properties)
                    .map(|p| batch.property(&org, &format!("Seed Org {k} Property {p}")))
                    .collect();
                for u in 0..plan.users {
                    let role = seeded_role(u);
                    let email = format!("user{u}@org{k}.seed.test");
                    let user = batch.user(&org, &email, &format!("User {u} of Org {k}"), role);
                    if role.is_property_scoped() && !properties.is_empty() {
                        batch.assign(&user, &properties[u as usize % properties.len()]);
                    }
                }
            }
            let mut tx = self.write.begin().await?;
            batch.insert(&mut tx, password_hash).await?;
            tx.commit().await?;
            done += n;
        }
        Ok(SeedReport {
            orgs: plan.orgs,
            properties: plan.orgs * u64::from(plan.properties),
            users: plan.orgs * u64::from(plan.users),
            elapsed: started.elapsed(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_roles_start_with_owner_manager_accountant() {
        let roles: Vec<Role> = (0..5).map(seeded_role).collect();
        assert_eq!(
            roles,
            [
                Role::Owner,
                Role::Manager,
                Role::Accountant,
                Role::Staff,
                Role::Staff
            ]
        );
    }

    #[tokio::test]
    async fn seed_creates_the_planned_rows_and_numbers_on() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let plan = SeedPlan {
            orgs: 3,
            properties: 2,
            users: 5,
        };
        let report = store.seed(plan, "x").await.unwrap();
        assert_eq!((report.orgs, report.properties, report.users), (3, 6, 15));
        store.seed(SeedPlan { orgs: 1, ..plan }, "x").await.unwrap();
        let user = store
            .user_by_email("user4@org4.seed.test")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.role, Role::Staff);
        assert_eq!(store.assigned_properties(&user.id).await.unwrap().len(), 1);
    }
}
