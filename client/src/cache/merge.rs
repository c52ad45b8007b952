//! The reads windows and the core make: `rows` with the journal's overlay
//! laid over it, in one read transaction under the overlay's read guard,
//! so what they read is one state of the cache — the one its seq says —
//! whether or not the last answers are folded yet. Nothing waits for a
//! fold; an export reads settled rows instead (it reads for a long time,
//! and holding the guard that long would hold back the applies).

use super::{
    overlay::Overlay,
    queries::{decode_row, key_id, page_select_of, split_key},
    *,
};

impl Cache {
    /// One page of rows in list order (newest first, then id desc) and the
    /// seq, read in one read transaction so they agree. The first page (no
    /// `after`) and an `offset` page also count the matching rows; a keyset
    /// page (`after`) does not: it is one index walk from the key on.
    pub async fn list(&self, q: &RowQuery) -> Result<RowPage, sqlx::Error> {
        let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let overlay = self.overlay.read().await;
        let mut tx = self.pool.begin().await?;
        let merge = overlay.touches(q);
        let rows = if merge {
            merged_page(&mut tx, &overlay, q, limit as usize).await?
        } else {
            match queries::keyset_of_offset(&mut tx, q).await? {
                Some(walk) => page(&mut tx, &walk, limit).await?,
                None => Vec::new(),
            }
        };
        let total = match q.after {
            None if merge => {
                Some((count(&mut tx, q).await? as i64 + overlay.count_delta(q)).max(0) as u64)
            }
            None => Some(count(&mut tx, q).await?),
            Some(_) => None,
        };
        let seq = get_seq(&mut tx).await?.unwrap_or(0);
        tx.commit().await?;
        drop(overlay);
        let next = (rows.len() == limit as usize)
            .then(|| rows.last().map(RowKey::of))
            .flatten();
        Ok(RowPage {
            rows,
            total,
            seq,
            next,
        })
    }

    pub async fn get(&self, id: &str) -> Result<Option<Row>, sqlx::Error> {
        let overlay = self.overlay.read().await;
        if let Some(slot) = overlay.get(id) {
            return Ok(slot.row.as_deref().cloned());
        }
        let mut conn = self.pool.acquire().await?;
        get_row(&mut conn, id).await
    }

    /// The id of the row client mutation `cmid` created, if the cache has it.
    pub(crate) async fn id_of_mutation(&self, cmid: &str) -> Result<Option<String>, sqlx::Error> {
        let overlay = self.overlay.read().await;
        if let Some(row) = overlay.by_mutation(cmid) {
            return Ok(Some(row.id.clone()));
        }
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM rows WHERE client_mutation_id = ?")
                .bind(cmid)
                .fetch_optional(&self.pool)
                .await?;
        // A row the journal has deleted is not the cache's any more.
        Ok(id.filter(|id| !overlay.contains(id)))
    }

    /// Every row, for tests and tools (unordered).
    pub async fn all_rows(&self) -> Result<Vec<Row>, sqlx::Error> {
        let overlay = self.overlay.read().await;
        let q = RowQuery::default();
        let mut rows: Vec<Row> = sqlx::query(&format!("SELECT {COLS} FROM rows"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(decode_row)
            .filter(|r| r.as_ref().map_or(true, |r| !overlay.contains(&r.id)))
            .collect::<Result<_, _>>()?;
        rows.extend(overlay.rows(&q, None, usize::MAX).into_iter().cloned());
        Ok(rows)
    }

    /// A read transaction over settled rows (the journal folded, the
    /// snapshot pinned before the writer lock is let go): for a long read
    /// such as an export, which must not hold the overlay's guard.
    pub(crate) async fn read_settled(
        &self,
    ) -> Result<sqlx::Transaction<'static, Sqlite>, sqlx::Error> {
        let mut j = self.writer.lock().await;
        self.settle_locked(&mut j).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM journal")
            .fetch_one(&mut *tx)
            .await?;
        drop(j);
        Ok(tx)
    }
}

/// [`page`] with the overlay laid over it: `rows`' page without the ids the
/// overlay holds, merged in list order with the overlay's live rows `q`
/// keeps. `rows` is walked by keys alone (an index walk, one JSON array a
/// step) while the overlay shadows what it gives — after a burst that
/// updated every row, all of them — then only the rows kept are read.
async fn merged_page(
    conn: &mut SqliteConnection,
    overlay: &Overlay,
    q: &RowQuery,
    limit: usize,
) -> Result<Vec<Row>, sqlx::Error> {
    let skip = match q.after {
        None => q.offset.unwrap_or(0) as usize,
        Some(_) => 0,
    };
    let need = skip + limit;
    let mine: Vec<&Row> = overlay.rows(q, q.after.as_ref(), need);
    let mut kept: Vec<String> = Vec::with_capacity(need);
    let mut walk = RowQuery {
        offset: None,
        ..q.clone()
    };
    let mut chunk = need.max(64);
    loop {
        let mut select = page_select_of(
            "SELECT coalesce(json_group_array(k ORDER BY k DESC), '[]') FROM (",
            "occurred_on || id AS k",
            &walk,
            chunk as u32,
        );
        select.push(")");
        let keys: String = select.build_query_scalar().fetch_one(&mut *conn).await?;
        let keys: Vec<String> =
            serde_json::from_str(&keys).map_err(|e| sqlx::Error::Decode(e.into()))?;
        let full = keys.len() == chunk;
        let last = match keys.last() {
            Some(k) => Some(split_key(k)?),
            None => None,
        };
        kept.extend(keys.into_iter().filter(|k| !overlay.contains(key_id(k))));
        if !full || kept.len() >= need {
            break;
        }
        walk.after = last;
        chunk = (chunk * 4).min(50_000);
    }
    // The two lists merged by key (a key is `occurred_on || id`, fixed-width
    // date first: it sorts as the pair does), then only the page itself:
    // an offset page reads none of the rows it skips.
    let mine: Vec<(String, &Row)> = mine
        .into_iter()
        .map(|r| (format!("{}{}", r.occurred_on, r.id), r))
        .collect();
    let mut picked: Vec<Result<&Row, &str>> = Vec::with_capacity(limit);
    let (mut m, mut t) = (mine.iter().peekable(), kept.iter().peekable());
    for i in 0..need {
        let take_mine = match (m.peek(), t.peek()) {
            (Some((mk, _)), Some(tk)) => mk > *tk,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_mine {
            Ok(m.next().expect("peeked").1)
        } else {
            Err(key_id(t.next().expect("peeked")))
        };
        if i >= skip {
            picked.push(next);
        }
    }
    let mut theirs: HashMap<String, Row> = rows_by_id(conn, picked.iter().filter_map(|p| p.err()))
        .await?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    picked
        .into_iter()
        .map(|p| match p {
            Ok(row) => Ok(row.clone()),
            Err(id) => theirs
                .remove(id)
                .ok_or_else(|| queries::bad("rows", &format!("{id} went during the read"))),
        })
        .collect()
}

/// The rows of `ids`, by primary key (unordered).
async fn rows_by_id<'a>(
    conn: &mut SqliteConnection,
    ids: impl Iterator<Item = &'a str>,
) -> Result<Vec<Row>, sqlx::Error> {
    let ids: Vec<&str> = ids.collect();
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(statements::CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new(format!("SELECT {COLS} FROM rows WHERE id IN ("));
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(")");
        for r in qb.build().fetch_all(&mut *conn).await? {
            rows.push(decode_row(&r)?);
        }
    }
    Ok(rows)
}
