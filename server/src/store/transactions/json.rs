//! A list page as the JSON the API answers, written by the database itself
//! ([`Store::list_transactions_json`]): the page is one result row, so no
//! row crosses sqlx's worker one by one, is decoded into a [`Transaction`]
//! and serialized again (a desktop's first sync of a 60k-row month reads
//! 60k rows). The one place the store speaks each engine's own SQL (JSON
//! functions); the values are those serde writes for a `Transaction`, which
//! the tests compare on both engines.

use super::*;
use crate::store::Backend;

/// One page: its rows as a JSON array, and the cursor of the next page.
pub struct JsonPage {
    pub items: String,
    pub next: Option<PageCursor>,
}

/// `column` (milliseconds) as serde writes a `DateTime<Utc>`: RFC 3339 in
/// UTC, `Z`, and the milliseconds only when there are some (`AutoSi`).
fn timestamp(backend: Backend, column: &str) -> String {
    let fraction = match backend {
        Backend::Sqlite => format!("printf('.%03d', {column} % 1000)"),
        Backend::Postgres => format!("'.' || lpad(({column} % 1000)::text, 3, '0')"),
    };
    let seconds = match backend {
        Backend::Sqlite => format!("strftime('%Y-%m-%dT%H:%M:%S', {column} / 1000, 'unixepoch')"),
        Backend::Postgres => format!(
            "to_char(to_timestamp({column} / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        ),
    };
    format!("({seconds} || CASE WHEN {column} % 1000 = 0 THEN '' ELSE {fraction} END || 'Z')")
}

/// One row as a JSON object with serde's field names; `rejection_reason`
/// only when set (`skip_serializing_if`).
fn object(backend: Backend) -> String {
    let build = match backend {
        Backend::Sqlite => "json_object",
        Backend::Postgres => "json_build_object",
    };
    let fields = format!(
        "'id', id, 'property_id', property_id, 'kind', kind, 'amount_minor', amount_minor, \
         'currency', currency, 'category', category, 'memo', memo, 'occurred_on', occurred_on, \
         'status', status, 'version', version, 'client_mutation_id', client_mutation_id, \
         'created_by', created_by, 'created_at', {}, 'updated_at', {}",
        timestamp(backend, "created_at"),
        timestamp(backend, "updated_at")
    );
    format!(
        "CASE WHEN rejection_reason IS NULL THEN {build}({fields}) \
         ELSE {build}({fields}, 'rejection_reason', rejection_reason) END"
    )
}

impl Store {
    /// [`Store::list_transactions`] as JSON: up to `filter.limit` rows (the
    /// filter asks one more, which only says whether there is a next page).
    pub async fn list_transactions_json(
        &self,
        org_id: &str,
        filter: &TransactionFilter,
        visible: Visible<'_>,
    ) -> Result<JsonPage, StoreError> {
        let shown = i64::from(filter.limit.saturating_sub(1));
        let array = match self.backend {
            Backend::Sqlite => "json_group_array",
            Backend::Postgres => "json_agg",
        };
        let cast = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => "::text",
        };
        // Rows numbered in list order; the last one numbered is the extra.
        let select = format!(
            "SELECT coalesce(({array}({object} ORDER BY occurred_on DESC, id DESC) \
                 FILTER (WHERE n <= {shown})){cast}, '[]'), \
               count(*), \
               min(occurred_on || '|' || id) FILTER (WHERE n <= {shown}) \
             FROM (SELECT *, row_number() OVER (ORDER BY occurred_on DESC, id DESC) AS n \
                   FROM (",
            object = object(self.backend),
        );
        let mut q = list_query(
            &format!("{select}SELECT {COLUMNS}"),
            org_id,
            filter,
            visible,
        );
        q.push(") AS page) AS numbered");
        let (items, n, last): (String, i64, Option<String>) = q.fetch_one(&self.read).await?;
        let next = match last {
            // `YYYY-MM-DD|id`: the date is fixed-width, so the smallest
            // concatenation is the smallest (date, id).
            Some(last) if n > shown => Some(
                last.split_at_checked(10)
                    .and_then(|(day, id)| {
                        Some(PageCursor {
                            occurred_on: parse_date(day)?,
                            id: id.strip_prefix('|')?.to_owned(),
                        })
                    })
                    .ok_or_else(|| StoreError::Corrupt(format!("page key {last:?}")))?,
            ),
            _ => None,
        };
        Ok(JsonPage { items, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row the JSON page holds is the row serde writes, for rows with
    /// and without a rejection reason or a mutation id, whole-second and
    /// millisecond timestamps, and a memo that needs escaping.
    #[tokio::test]
    async fn a_json_page_holds_the_rows_serde_writes_and_the_same_next() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        store.ensure_demo().await.unwrap();
        let (org, property, user) = sqlx::query_as::<_, (String, String, String)>(
            "SELECT u.org_id, p.id, u.id FROM users u JOIN properties p ON p.org_id = u.org_id \
             WHERE u.email = 'owner@demo.test' ORDER BY p.id LIMIT 1",
        )
        .fetch_one(&store.read)
        .await
        .unwrap();
        for i in 0..17i64 {
            sqlx::query(
                "INSERT INTO transactions (id, org_id, property_id, kind, amount_minor, currency, \
                 category, memo, occurred_on, status, version, client_mutation_id, created_by, \
                 created_at, updated_at, rejection_reason) \
                 VALUES ($1, $2, $3, 'expense', $4, 'USD', 'Repairs', $5, $6, $7, 1, $8, $9, $10, $11, $12)",
            )
            .bind(format!("json-{i:02}"))
            .bind(&org)
            .bind(&property)
            .bind(100 + i)
            .bind(format!("\"quoted\" \\ ünï — {i}\n\t"))
            .bind(format!("2026-11-{:02}", 1 + i % 4))
            .bind(if i % 3 == 0 { "rejected" } else { "pending" })
            .bind((i % 2 == 0).then(|| format!("m-{i}")))
            .bind(&user)
            .bind(1_764_590_400_000i64 + [0, 5, 120, 999][(i % 4) as usize])
            .bind(1_764_590_400_000 + i * 1000)
            .bind((i % 3 == 0).then_some("not ours"))
            .execute(&store.write)
            .await
            .unwrap();
        }
        for limit in [1, 4, 17, 50] {
            let mut after = None;
            loop {
                let filter = TransactionFilter {
                    from: NaiveDate::from_ymd_opt(2026, 11, 1),
                    after: after.clone(),
                    limit: limit + 1,
                    ..TransactionFilter::default()
                };
                let mut want = store.list_transactions(&org, &filter, None).await.unwrap();
                let want_next = (want.len() > limit as usize).then(|| {
                    want.truncate(limit as usize);
                    let t = want.last().unwrap();
                    PageCursor {
                        occurred_on: t.occurred_on,
                        id: t.id.clone(),
                    }
                });
                let got = store
                    .list_transactions_json(&org, &filter, None)
                    .await
                    .unwrap();
                let got_items: serde_json::Value = serde_json::from_str(&got.items).unwrap();
                assert_eq!(
                    got_items,
                    serde_json::to_value(&want).unwrap(),
                    "limit {limit}"
                );
                assert_eq!(
                    got.next.as_ref().map(ToString::to_string),
                    want_next.as_ref().map(ToString::to_string)
                );
                match got.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
        }
    }
}
