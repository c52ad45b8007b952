//! The multi-row statements writes of rows are made of: upserts with
//! their version check, exact writes of journaled states (the fold),
//! deletes, the look-up of what `rows` holds, and the plain write of one
//! row (optimistic edits).

use super::{
    overlay::{Base, Journaled},
    *,
};

/// Rows per multi-row statement: 17 columns × 1000 = 17000 bind
/// parameters, under SQLite's 32766 (also ids per `DELETE … WHERE id IN (…)`):
/// a 1000-event poll answer is one statement.
pub(super) const CHUNK: usize = 1000;
/// Inserts only the rows whose id is new, and says which: rows expected
/// to be new skip the look-up of what they held before.
const INSERT_NEW_TAIL: &str = " ON CONFLICT(id) DO NOTHING RETURNING id";

pub(super) const UPSERT_TAIL: &str = " ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, \
    property_id = excluded.property_id, amount_minor = excluded.amount_minor, \
    currency = excluded.currency, category = excluded.category, memo = excluded.memo, \
    occurred_on = excluded.occurred_on, status = excluded.status, version = excluded.version, \
    client_mutation_id = excluded.client_mutation_id, created_by = excluded.created_by, \
    created_at = excluded.created_at, updated_at = excluded.updated_at, \
    pending_sync = excluded.pending_sync, sync_error = excluded.sync_error, \
    rejection_reason = excluded.rejection_reason WHERE excluded.version > rows.version RETURNING id";

/// [`UPSERT_TAIL`] for rows whose indexed columns (`property_id`,
/// `occurred_on`, `status`) hold what the row already holds: the same
/// result, but SQLite rewrites the entries of every index whose column is
/// in the `SET` list, changed or not, so leaving them out spares the three
/// list indexes (2.5–3× cheaper per updated row in the `sqlite3` CLI).
const UPSERT_TAIL_SAME_KEYS: &str = " ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, \
    amount_minor = excluded.amount_minor, \
    currency = excluded.currency, category = excluded.category, memo = excluded.memo, \
    version = excluded.version, \
    client_mutation_id = excluded.client_mutation_id, created_by = excluded.created_by, \
    created_at = excluded.created_at, updated_at = excluded.updated_at, \
    pending_sync = excluded.pending_sync, sync_error = excluded.sync_error, \
    rejection_reason = excluded.rejection_reason WHERE excluded.version > rows.version RETURNING id";

/// Inserts rows, or updates them to a higher version only (an event for a
/// version already shown changes nothing);
/// returns the ids actually written. `likely_new` (most of them are new
/// rows, e.g. a burst of `added` events) tries one plain insert of the
/// chunk first and looks up only the rows it left.
pub(crate) async fn upsert_rows(
    conn: &mut SqliteConnection,
    rows: &[Row],
    likely_new: bool,
) -> Result<Vec<String>, sqlx::Error> {
    let mut written = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let all: Vec<&Row> = chunk.iter().collect();
        let chunk: Vec<&Row> = if likely_new {
            let mut inserted: HashSet<String> = upsert_chunk(conn, &all, INSERT_NEW_TAIL)
                .await?
                .into_iter()
                .collect();
            written.extend(inserted.iter().cloned());
            // The first row of an inserted id went in; a later one of the
            // same id (a snapshot may hold one twice) still upserts.
            all.into_iter()
                .filter(|r| !inserted.remove(&r.id))
                .collect()
        } else {
            all
        };
        if chunk.is_empty() {
            continue;
        }
        // What the existing rows hold in their indexed columns: rows that
        // keep them (and new rows) take the upsert that leaves the indexes be.
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT id, property_id, occurred_on, status FROM rows WHERE id IN (",
        );
        let mut sep = qb.separated(", ");
        for r in &chunk {
            sep.push_bind(r.id.as_str());
        }
        qb.push(")");
        let mut prior: HashMap<String, (String, NaiveDate, String)> = HashMap::new();
        for p in qb.build().fetch_all(&mut *conn).await? {
            prior.insert(p.try_get(0)?, (p.try_get(1)?, p.try_get(2)?, p.try_get(3)?));
        }
        // An id twice in one statement (the later row upserts over the
        // earlier one) takes the full upsert too.
        let mut seen: HashSet<&str> = HashSet::with_capacity(chunk.len());
        let mut moved: HashSet<&str> = HashSet::new();
        for r in &chunk {
            let keeps = prior
                .get(&r.id)
                .is_none_or(|(property_id, occurred_on, status)| {
                    r.property_id == *property_id
                        && r.occurred_on == *occurred_on
                        && r.status.as_str() == status
                });
            if !seen.insert(r.id.as_str()) || !keeps {
                moved.insert(r.id.as_str());
            }
        }
        let (moving, keeping): (Vec<&Row>, Vec<&Row>) =
            chunk.iter().partition(|r| moved.contains(r.id.as_str()));
        written.extend(upsert_chunk(conn, &keeping, UPSERT_TAIL_SAME_KEYS).await?);
        written.extend(upsert_chunk(conn, &moving, UPSERT_TAIL).await?);
    }
    Ok(written)
}

/// One multi-row `INSERT … ON CONFLICT` of `rows` ending in `tail`; returns
/// the ids written.
pub(super) async fn upsert_chunk(
    conn: &mut SqliteConnection,
    rows: &[&Row],
    tail: &str,
) -> Result<Vec<String>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    chunk_statement(rows, tail)
        .build_query_scalar()
        .fetch_all(&mut *conn)
        .await
}

/// The multi-row `INSERT INTO rows … VALUES (…), … {tail}` of `rows`.
pub(super) fn chunk_statement<'a>(rows: &[&'a Row], tail: &str) -> QueryBuilder<'a, Sqlite> {
    let mut qb = QueryBuilder::<Sqlite>::new(format!("INSERT INTO rows ({COLS}) "));
    qb.push_values(rows, |mut b, r| {
        b.push_bind(r.id.as_str())
            .push_bind(r.kind.as_str())
            .push_bind(r.property_id.as_str())
            .push_bind(r.amount_minor)
            .push_bind(r.currency.as_str())
            .push_bind(r.category.as_str())
            .push_bind(r.memo.as_str())
            .push_bind(r.occurred_on)
            .push_bind(r.status.as_str())
            .push_bind(r.version)
            .push_bind(r.client_mutation_id.as_deref())
            .push_bind(r.created_by.as_str())
            .push_bind(r.created_at)
            .push_bind(r.updated_at)
            .push_bind(r.pending_sync)
            .push_bind(r.sync_error.as_deref())
            .push_bind(r.rejection_reason.as_deref());
    });
    qb.push(tail);
    qb
}

/// Deletes rows by id; returns the ids that existed.
pub(crate) async fn delete_rows(
    conn: &mut SqliteConnection,
    ids: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let mut deleted = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new("DELETE FROM rows WHERE id IN (");
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(id.as_str());
        }
        qb.push(") RETURNING id");
        let ids: Vec<String> = qb.build_query_scalar().fetch_all(&mut *conn).await?;
        deleted.extend(ids);
    }
    Ok(deleted)
}

/// Writes one row as it is (no version check): optimistic edits and rollbacks.
pub(crate) async fn put_row(conn: &mut SqliteConnection, row: &Row) -> Result<(), sqlx::Error> {
    delete_rows(conn, std::slice::from_ref(&row.id)).await?;
    upsert_chunk(conn, &[row], UPSERT_TAIL).await?;
    Ok(())
}

/// [`UPSERT_TAIL`] / [`UPSERT_TAIL_SAME_KEYS`] without the version check or
/// the `RETURNING`: the state written is the one the cache holds.
fn exact(tail: &str) -> &str {
    tail.trim_end_matches(" WHERE excluded.version > rows.version RETURNING id")
}

/// Writes journaled states into `rows` exactly: each `(row, base)` is an
/// id's state (`None`: deleted) and what `rows` holds of it, so no look-up
/// is needed and a row that keeps its list columns leaves the indexes be.
/// In primary-key order: each B-tree page is visited once per statement.
pub(super) async fn write_states(
    conn: &mut SqliteConnection,
    states: &mut [Journaled],
) -> Result<(), sqlx::Error> {
    states.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let deletes: Vec<String> = states
        .iter()
        .filter(|s| s.row.is_none() && s.base.is_some())
        .map(|s| s.id.to_string())
        .collect();
    delete_rows(conn, &deletes).await?;
    let (keeping, moving): (Vec<_>, Vec<_>) = states
        .iter()
        .filter_map(|s| s.row.as_deref().map(|r| (r, s.base.as_ref())))
        .partition(|(r, base)| {
            base.is_some_and(|b| {
                *b.property_id == *r.property_id
                    && b.occurred_on == r.occurred_on
                    && b.status == r.status
            })
        });
    for (rows, tail) in [
        (keeping, exact(UPSERT_TAIL_SAME_KEYS)),
        (moving, exact(UPSERT_TAIL)),
    ] {
        let rows: Vec<&Row> = rows.into_iter().map(|(r, _)| r).collect();
        for chunk in rows.chunks(CHUNK) {
            chunk_statement(chunk, tail)
                .build()
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// What `rows` holds of `ids` (those it holds). One result row per chunk,
/// a JSON object: sqlx hands each result row over from its worker thread
/// on its own (3–5 µs a row here, more than the look-up).
pub(super) async fn bases(
    conn: &mut SqliteConnection,
    ids: &[&str],
) -> Result<HashMap<String, Base>, sqlx::Error> {
    let mut held = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT json_group_object(id, json_array(version, property_id, kind, status, occurred_on)) \
             FROM rows WHERE id IN (",
        );
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(")");
        let json: String = qb.build_query_scalar().fetch_one(&mut *conn).await?;
        let found: HashMap<String, (i64, String, String, String, NaiveDate)> =
            serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(e.into()))?;
        for (id, (version, property_id, kind, status, occurred_on)) in found {
            let base = Base {
                version,
                property_id: property_id.into(),
                kind: TransactionKind::parse(&kind).ok_or_else(|| queries::bad("kind", &kind))?,
                status: TransactionStatus::parse(&status)
                    .ok_or_else(|| queries::bad("status", &status))?,
                occurred_on,
            };
            held.insert(id, base);
        }
    }
    Ok(held)
}
