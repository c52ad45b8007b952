//! Reading `rows`: the SQL of pages with their filters, counts and single
//! rows, and decoding a row from SQLite (`merge` lays the journal over them).

use super::*;

/// Up to `limit` rows of `q` in list order: after `q.after` (a keyset
/// walk of the index whose order this is), else from `q.offset`.
/// How many rows match `q`'s filters: one index walk, one query.
pub(crate) async fn count(conn: &mut SqliteConnection, q: &RowQuery) -> Result<u64, sqlx::Error> {
    let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM rows");
    push_filters(&mut count, q, true);
    let n: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
    Ok(n as u64)
}

pub(crate) async fn page(
    conn: &mut SqliteConnection,
    q: &RowQuery,
    limit: u32,
) -> Result<Vec<Row>, sqlx::Error> {
    page_select("", q, limit)
        .build()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(decode_row)
        .collect()
}

/// `q` with its offset turned into the key of the row before its page, so
/// the page is a keyset walk from there: an offset page steps over every
/// row it skips producing each one (a full row, through the JSON page's
/// subquery), while the key of one row is a walk of the index alone (a
/// jump to the end of a 60k-row month: 78 ms → a few). `None`: the offset
/// is past the last row.
pub(super) async fn keyset_of_offset(
    conn: &mut SqliteConnection,
    q: &RowQuery,
) -> Result<Option<RowQuery>, sqlx::Error> {
    let offset = q.offset.unwrap_or(0);
    if q.after.is_some() || offset == 0 {
        return Ok(Some(q.clone()));
    }
    let before = RowQuery {
        offset: Some(offset - 1),
        ..q.clone()
    };
    let key: Option<String> = page_select_of("", "occurred_on || id", &before, 1)
        .build_query_scalar()
        .fetch_optional(&mut *conn)
        .await?;
    key.map(|k| {
        Ok(RowQuery {
            after: Some(split_key(&k)?),
            offset: None,
            ..q.clone()
        })
    })
    .transpose()
}

/// `occurred_on || id` back into its key.
pub(super) fn split_key(key: &str) -> Result<RowKey, sqlx::Error> {
    let (day, id) = key.split_at_checked(10).ok_or_else(|| bad("key", key))?;
    Ok(RowKey {
        occurred_on: day.parse().map_err(|_| bad("occurred_on", day))?,
        id: id.to_owned(),
    })
}

/// The id part of an `occurred_on || id` key.
pub(super) fn key_id(key: &str) -> &str {
    key.get(10..).unwrap_or_default()
}

/// The statement of [`page`], after `prefix` (`EXPLAIN QUERY PLAN `, in tests).
pub(super) fn page_select<'a>(prefix: &str, q: &RowQuery, limit: u32) -> QueryBuilder<'a, Sqlite> {
    page_select_of(prefix, COLS, q, limit)
}

/// [`page_select`] of `cols`.
pub(super) fn page_select_of<'a>(
    prefix: &str,
    cols: &str,
    q: &RowQuery,
    limit: u32,
) -> QueryBuilder<'a, Sqlite> {
    let mut select = QueryBuilder::<Sqlite>::new(format!("{prefix}SELECT {cols} FROM rows"));
    match &q.after {
        None => push_filters(&mut select, q, true),
        Some(after) => {
            // The key is the walk's upper bound, as one row-value range on
            // the index: a plain `occurred_on <= to` beside it would take
            // its place as the bound and make every page rescan the rows
            // before the key. `to` is folded in instead.
            push_filters(&mut select, q, false);
            let (day, id) = match q.to {
                Some(to) if to < after.occurred_on => {
                    (to.succ_opt().unwrap_or(to).to_string(), String::new())
                }
                _ => (after.occurred_on.to_string(), after.id.clone()),
            };
            select.push(if has_filters(q) { " AND " } else { " WHERE " });
            select.push("(occurred_on, id) < (");
            select.push_bind(day);
            select.push(", ");
            select.push_bind(id);
            select.push(")");
        }
    }
    select.push(" ORDER BY occurred_on DESC, id DESC LIMIT ");
    select.push_bind(limit as i64);
    if q.after.is_none() {
        select.push(" OFFSET ");
        select.push_bind(q.offset.unwrap_or(0) as i64);
    }
    select
}

/// Whether [`push_filters`] without `to` pushed a `WHERE`.
fn has_filters(q: &RowQuery) -> bool {
    q.property_id.is_some() || q.kind.is_some() || q.status.is_some() || q.from.is_some()
}

/// The `WHERE` of `q`'s filters (`to` only when `with_to`).
pub(super) fn push_filters(qb: &mut QueryBuilder<'_, Sqlite>, q: &RowQuery, with_to: bool) {
    let mut sep = " WHERE ";
    let mut and = |qb: &mut QueryBuilder<'_, Sqlite>, clause: &str| {
        qb.push(sep);
        qb.push(clause);
        sep = " AND ";
    };
    if let Some(p) = &q.property_id {
        and(qb, "property_id = ");
        qb.push_bind(p.clone());
    }
    if let Some(k) = q.kind {
        and(qb, "kind = ");
        qb.push_bind(k.as_str());
    }
    if let Some(s) = q.status {
        and(qb, "status = ");
        qb.push_bind(s.as_str());
    }
    if let Some(from) = q.from {
        and(qb, "occurred_on >= ");
        qb.push_bind(from.to_string());
    }
    if let Some(to) = q.to.filter(|_| with_to) {
        and(qb, "occurred_on <= ");
        qb.push_bind(to.to_string());
    }
}

pub(crate) async fn get_row(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLS} FROM rows WHERE id = ?"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(decode_row)
        .transpose()
}

pub(super) fn bad(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("cache column {column} holds {value:?}").into())
}

pub(super) fn decode_row(r: &SqliteRow) -> Result<Row, sqlx::Error> {
    let kind: &str = r.try_get("kind")?;
    let status: &str = r.try_get("status")?;
    let currency: &str = r.try_get("currency")?;
    Ok(Row {
        id: r.try_get("id")?,
        kind: TransactionKind::parse(kind).ok_or_else(|| bad("kind", kind))?,
        property_id: r.try_get("property_id")?,
        amount_minor: r.try_get("amount_minor")?,
        currency: currency.parse().map_err(|_| bad("currency", currency))?,
        category: r.try_get("category")?,
        memo: r.try_get("memo")?,
        occurred_on: r.try_get::<NaiveDate, _>("occurred_on")?,
        status: TransactionStatus::parse(status).ok_or_else(|| bad("status", status))?,
        version: r.try_get("version")?,
        client_mutation_id: r.try_get("client_mutation_id")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get::<DateTime<Utc>, _>("created_at")?,
        updated_at: r.try_get::<DateTime<Utc>, _>("updated_at")?,
        pending_sync: r.try_get("pending_sync")?,
        sync_error: r.try_get("sync_error")?,
        rejection_reason: r.try_get("rejection_reason")?,
    })
}
