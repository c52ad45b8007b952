// Loading a table's snapshot. The UI sends no `limit`: it wants every row of
// the query. If the shell answers with fewer rows than `total` (it capped the
// page), the rest is fetched with `offset`; when the cache moved on between
// pages (a different `seq`), rows may have shifted, so the load starts over
// (a few times, then it settles for what it has and says so).

import type { Row, RowPage, RowQuery } from "./types";

export interface Snapshot {
  rows: Row[];
  /** The lowest seq among the pages: batches from here on are applied on top. */
  seq: number;
  /** Rows `total` promised that were not loaded (0 normally). */
  missing: number;
}

export async function loadAll(
  listRows: (q: RowQuery) => Promise<RowPage>,
  query: RowQuery,
  maxRestarts = 3,
): Promise<Snapshot> {
  for (let attempt = 0; ; attempt++) {
    const first = await listRows(query);
    const rows = [...first.rows];
    let seq = first.seq;
    let consistent = true;
    while (rows.length < first.total) {
      const page = await listRows({ ...query, offset: rows.length });
      if (page.rows.length === 0) break;
      rows.push(...page.rows);
      if (page.seq !== first.seq) {
        consistent = false;
        seq = Math.min(seq, page.seq);
        break;
      }
    }
    if (consistent || attempt >= maxRestarts) {
      const unique = new Map(rows.map((r) => [r.id, r]));
      return { rows: [...unique.values()], seq, missing: Math.max(0, first.total - unique.size) };
    }
  }
}
