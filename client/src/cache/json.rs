//! A page of rows as JSON written by SQLite itself ([`Cache::list_json`]),
//! for the window's `list_rows`: the page is one result row, so none of
//! its rows crosses sqlx's worker thread one by one, is decoded into a
//! [`Row`] and is serialized again. The same page, the same JSON values as
//! `serde_json::to_value(cache.list(q))` (a unit test compares them).

use serde::Serialize;
use serde_json::value::RawValue;

use super::*;
use queries::{count, keyset_of_offset, page_select, split_key};

/// [`RowPage`] whose `rows` are already JSON.
#[derive(Debug, Serialize)]
pub struct RowPageJson {
    pub rows: Box<RawValue>,
    pub total: Option<u64>,
    pub seq: u64,
    pub next: Option<RowKey>,
}

/// A timestamp as serde writes a `DateTime<Utc>` (`…Z`), from the text
/// sqlx stored (`…+00:00`, the same digits).
fn utc(column: &str) -> String {
    format!(
        "CASE WHEN substr({column}, -6) = '+00:00' \
         THEN substr({column}, 1, length({column}) - 6) || 'Z' ELSE {column} END"
    )
}

/// One [`Row`] as a JSON object, in serde's field names.
fn row_object() -> String {
    format!(
        "json_object('id', id, 'kind', kind, 'property_id', property_id, \
         'amount_minor', amount_minor, 'currency', currency, 'category', category, \
         'memo', memo, 'occurred_on', occurred_on, 'status', status, 'version', version, \
         'client_mutation_id', client_mutation_id, 'created_by', created_by, \
         'created_at', {}, 'updated_at', {}, \
         'pending_sync', json(CASE WHEN pending_sync THEN 'true' ELSE 'false' END), \
         'sync_error', sync_error, 'rejection_reason', rejection_reason)",
        utc("created_at"),
        utc("updated_at")
    )
}

impl Cache {
    /// [`Cache::list`] with the rows as one JSON array built by SQLite:
    /// the same read transaction, count, seq and `next`. While the journal
    /// holds rows not folded yet that the query keeps, the merged page is
    /// serialized instead.
    pub async fn list_json(&self, q: &RowQuery) -> Result<RowPageJson, sqlx::Error> {
        let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let overlay = self.overlay.read().await;
        if overlay.touches(q) {
            drop(overlay);
            let page = self.list(q).await?;
            return Ok(RowPageJson {
                rows: serde_json::value::to_raw_value(&page.rows)
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                total: page.total,
                seq: page.seq,
                next: page.next,
            });
        }
        let mut tx = self.pool.begin().await?;
        let (rows, n, last): (String, i64, Option<String>) = match keyset_of_offset(&mut tx, q)
            .await?
        {
            None => ("[]".to_owned(), 0, None),
            Some(walk) => {
                // The page's last key is its smallest `occurred_on || id`:
                // the date is fixed-width text, so that orders as the pair does.
                let mut select = page_select(
                        &format!(
                            "SELECT coalesce(json_group_array({} ORDER BY occurred_on DESC, id DESC), '[]'), \
                             count(*), min(occurred_on || id) FROM (",
                            row_object()
                        ),
                        &walk,
                        limit,
                    );
                select.push(")");
                select.build_query_as().fetch_one(&mut *tx).await?
            }
        };
        let total = match q.after {
            None => Some(count(&mut tx, q).await?),
            Some(_) => None,
        };
        let seq = get_seq(&mut tx).await?.unwrap_or(0);
        tx.commit().await?;
        drop(overlay);
        let next = match last {
            Some(last) if n == i64::from(limit) => Some(split_key(&last)?),
            _ => None,
        };
        Ok(RowPageJson {
            rows: RawValue::from_string(rows).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            total,
            seq,
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::{open_temp, txn};

    #[tokio::test]
    async fn a_json_page_is_the_page_serde_writes_with_the_same_next() {
        let (_dir, cache) = open_temp().await;
        let mut rows = Vec::new();
        for i in 0..23 {
            let mut t = txn(&format!("t{i:02}"), 1 + i % 3, (i % 4 == 0).then_some("m"));
            t.occurred_on = NaiveDate::from_ymd_opt(2026, 11, 1 + (i % 5) as u32).unwrap();
            t.memo = format!("\"quoted\" \\ memo — ünïcode {i}\n");
            t.rejection_reason = (i % 3 == 0).then(|| "not ours".to_owned());
            t.created_at += chrono::Duration::microseconds(i * 1234);
            rows.push(t);
        }
        cache.replace_all(rows, 9).await.unwrap();
        {
            // An optimistic row: pending, with an error.
            let mut w = cache.write().await.unwrap();
            let mut local = Row::confirmed(txn("local-x", 1, Some("x")));
            local.pending_sync = true;
            local.sync_error = Some("refused".into());
            put_row(&mut w.tx, &local).await.unwrap();
            cache.finish(w, Vec::new()).await.unwrap();
        }
        let queries = [
            RowQuery {
                limit: Some(7),
                ..RowQuery::default()
            },
            RowQuery {
                limit: Some(100),
                ..RowQuery::default()
            },
            RowQuery {
                limit: Some(4),
                from: NaiveDate::from_ymd_opt(2026, 11, 2),
                to: NaiveDate::from_ymd_opt(2026, 11, 4),
                kind: Some(TransactionKind::Revenue),
                ..RowQuery::default()
            },
            RowQuery {
                limit: Some(50),
                status: Some(TransactionStatus::Approved),
                ..RowQuery::default()
            },
        ];
        for q in queries {
            let mut q = q;
            let mut pages = 0;
            loop {
                let want = cache.list(&q).await.unwrap();
                let got = cache.list_json(&q).await.unwrap();
                assert_eq!(
                    serde_json::from_str::<serde_json::Value>(
                        &serde_json::to_string(&got).unwrap()
                    )
                    .unwrap(),
                    serde_json::to_value(&want).unwrap(),
                    "{q:?}"
                );
                pages += 1;
                match want.next {
                    Some(next) => q.after = Some(next),
                    None => break,
                }
            }
            assert!(pages >= 1);
        }
    }
}
