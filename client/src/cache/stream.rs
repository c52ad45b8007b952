//! A first snapshot written page by page as the server sends it
//! ([`Cache::stream_page`], then [`Cache::finish_stream`]), instead of all at
//! once at the end ([`Cache::replace_all`]): a window shows the first rows
//! while the rest still come.
//!
//! The server's pages come in list order (`occurred_on DESC, id DESC`, the
//! order windows read by), so after each page every server row up to its last
//! key — the *frontier* — is in the cache, and every later row sorts after it.
//! A window that has read its table up to the frontier of one page reads on
//! `after` that frontier when the next page is in (`SyncProgress::frontier`),
//! and never re-reads the table when the snapshot finishes. The rows are not
//! published as patches: a 60k-row month would be hundreds of rate-limited
//! messages per window, where reading them by keyset is a few pages.
//!
//! Into an empty cache the rows arrive in `rows_by_date`'s order, so the
//! other two list indexes are dropped for the stream and built in one
//! sorted pass at its end ([`Cache::begin_stream`]); opening a cache
//! builds any a crash left missing.
//!
//! Only a cache without a seq streams (a first sync, or one a crash cut short);
//! a re-snapshot of a cache that has one (`reset`) goes through
//! [`Cache::replace_all`]. The seq is set only by [`Cache::finish_stream`]: a
//! crash in between leaves no seq, and the next start streams again over what
//! is there (an upsert of the same version changes nothing).

use super::*;
use statements::{chunk_statement, CHUNK, UPSERT_TAIL};

/// The list indexes a first sync into an empty cache builds at its end
/// instead of row by row (as the migrations leave them, `0005`; a test
/// compares them). `rows_by_date` stays: windows page by it meanwhile.
const DEFERRED_INDEXES: [(&str, &str); 2] = [
    (
        "rows_by_property",
        "CREATE INDEX IF NOT EXISTS rows_by_property ON rows (property_id, occurred_on DESC, id DESC, kind)",
    ),
    (
        "rows_by_status",
        "CREATE INDEX IF NOT EXISTS rows_by_status ON rows (status, occurred_on DESC, id DESC, kind)",
    ),
];

/// Builds the deferred list indexes if they are missing: at the end of a
/// streamed sync, and when a cache is opened (a stream a crash cut short).
pub(super) async fn ensure_indexes(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    for (_, create) in DEFERRED_INDEXES {
        sqlx::query(create).execute(&mut *conn).await?;
    }
    Ok(())
}

impl Cache {
    /// Starts a first snapshot; returns whether the cache already held
    /// server rows (a stream a crash cut short: its end compares ids).
    /// Into a cache holding none, the rows come in one index's order, so
    /// every other list index is dropped until [`Cache::finish_stream`]
    /// builds it in one pass (a sorted build, several times cheaper than an
    /// entry per row).
    pub async fn begin_stream(&self) -> Result<bool, sqlx::Error> {
        // Whatever the journal holds counts as held.
        self.settle().await?;
        if self.has_server_rows().await? {
            return Ok(true);
        }
        let mut w = self.write().await?;
        for (name, _) in DEFERRED_INDEXES {
            sqlx::query(&format!("DROP INDEX IF EXISTS {name}"))
                .execute(&mut *w.tx)
                .await?;
        }
        self.finish(w, Vec::new()).await?;
        Ok(false)
    }

    /// Writes one page of a first snapshot in one transaction: rows with a
    /// write still queued keep their overlay, a created row replaces its
    /// optimistic `local-<cmid>` twin (published, so windows drop it), and
    /// versions never go back. Returns the page's frontier: its last key.
    pub async fn stream_page(&self, rows: Vec<Transaction>) -> Result<Option<RowKey>, sqlx::Error> {
        let frontier = rows.last().map(|t| RowKey {
            occurred_on: t.occurred_on,
            id: t.id.clone(),
        });
        let mut w = self.write().await?;
        let protected = queued_targets(&mut w.tx).await?;
        let locals: Vec<String> = rows
            .iter()
            .filter_map(|t| t.client_mutation_id.as_deref().map(Row::local_id))
            .collect();
        let patches: Vec<Patch> = delete_rows(&mut w.tx, &locals)
            .await?
            .into_iter()
            .map(|id| Patch::Remove { id })
            .collect();
        let upserts: Vec<Row> = rows
            .into_iter()
            .filter(|t| !protected.contains(&t.id))
            .map(Row::confirmed)
            .collect();
        // Versions never go back; nothing is read back (no `RETURNING`: its
        // rows would cross sqlx's worker one by one, and the page is not
        // published — windows read it).
        let tail = UPSERT_TAIL.trim_end_matches(" RETURNING id");
        for chunk in upserts.chunks(CHUNK) {
            let chunk: Vec<&Row> = chunk.iter().collect();
            chunk_statement(&chunk, tail)
                .build()
                .execute(&mut *w.tx)
                .await?;
        }
        self.finish(w, patches).await?;
        Ok(frontier)
    }

    /// Ends a streamed snapshot: rows of the server the pages did not hold
    /// go (`seen`: every id the pages held; `None` when the cache held no
    /// server rows when the stream began, so there is nothing to compare),
    /// and the cache moves to `head`. Returns how many rows it removed.
    pub async fn finish_stream(
        &self,
        head: u64,
        seen: Option<&HashSet<String>>,
    ) -> Result<usize, sqlx::Error> {
        let mut w = self.write().await?;
        let mut patches = Vec::new();
        if let Some(seen) = seen {
            let protected = queued_targets(&mut w.tx).await?;
            let gone: Vec<String> =
                sqlx::query_scalar("SELECT id FROM rows WHERE pending_sync = 0")
                    .fetch_all(&mut *w.tx)
                    .await?
                    .into_iter()
                    .filter(|id: &String| {
                        !seen.contains(id) && !protected.contains(id) && !id.starts_with("local-")
                    })
                    .collect();
            for id in delete_rows(&mut w.tx, &gone).await? {
                patches.push(Patch::Remove { id });
            }
        }
        ensure_indexes(&mut w.tx).await?;
        set_seq(&mut w.tx, head).await?;
        let removed = patches.len();
        self.finish_at(w, Some(head), patches).await?;
        Ok(removed)
    }

    /// Whether the cache holds rows of the server (not only optimistic ones).
    pub async fn has_server_rows(&self) -> Result<bool, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM rows WHERE id NOT LIKE 'local-%')")
            .fetch_one(&mut *conn)
            .await
    }
}

/// Rows with a write on its way: a snapshot leaves their overlay alone.
pub(super) async fn queued_targets(
    conn: &mut SqliteConnection,
) -> Result<HashSet<String>, sqlx::Error> {
    Ok(
        sqlx::query_scalar("SELECT target_id FROM outbox WHERE state = 'queued'")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::{open_temp, txn};

    async fn index_sql(cache: &Cache) -> Vec<(String, String)> {
        sqlx::query_as(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rows' \
             AND sql IS NOT NULL ORDER BY name",
        )
        .fetch_all(cache.pool())
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_first_stream_defers_two_list_indexes_and_builds_them_as_the_migration_does() {
        let (_dir, cache) = open_temp().await;
        let migrated = index_sql(&cache).await;
        assert_eq!(migrated.len(), 3, "{migrated:?}");
        cache.begin_stream().await.unwrap();
        let during: Vec<String> = index_sql(&cache).await.into_iter().map(|i| i.0).collect();
        assert_eq!(during, ["rows_by_date"]);
        cache.stream_page(vec![txn("t1", 1, None)]).await.unwrap();
        cache.finish_stream(3, None).await.unwrap();
        let built: Vec<(String, String)> = index_sql(&cache)
            .await
            .into_iter()
            .map(|(n, sql)| (n, sql.replace("IF NOT EXISTS ", "")))
            .collect();
        assert_eq!(built, migrated);
        // A cache with server rows keeps its indexes through a stream.
        cache.begin_stream().await.unwrap();
        assert_eq!(index_sql(&cache).await.len(), 3);
    }

    #[tokio::test]
    async fn a_streamed_page_replaces_an_optimistic_row_by_its_confirmed_one() {
        let (_dir, cache) = open_temp().await;
        let confirmed = txn("t2", 1, Some("m1"));
        let mut local = Row::confirmed(confirmed.clone());
        local.id = Row::local_id("m1");
        local.pending_sync = true;
        {
            let mut w = cache.write().await.unwrap();
            put_row(&mut w.tx, &local).await.unwrap();
            cache.finish(w, Vec::new()).await.unwrap();
        }
        assert!(!cache.has_server_rows().await.unwrap());
        let mut sub = cache.subscribe().await.unwrap();
        let frontier = cache
            .stream_page(vec![confirmed, txn("t1", 1, None)])
            .await
            .unwrap();
        assert_eq!(frontier.map(|k| k.id).as_deref(), Some("t1"));
        let batch = sub.batches.recv().await.unwrap();
        assert!(matches!(&batch.patches[..], [Patch::Remove { id }] if id == "local-m1"));
        let mut ids: Vec<String> = cache
            .all_rows()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        ids.sort();
        assert_eq!(ids, ["t1", "t2"]);
        assert_eq!(
            cache.seq().await.unwrap(),
            None,
            "the seq waits for the end"
        );
        assert_eq!(cache.finish_stream(7, None).await.unwrap(), 0);
        assert_eq!(cache.seq().await.unwrap(), Some(7));
    }
}
