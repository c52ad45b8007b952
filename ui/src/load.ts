// Loading a table from the cache by keyset: a first page sized to what a
// table shows (and counted, once), then the rest in larger pages, each asked
// `after` the last row of the one before. Pages are handed over as they come,
// so the table shows its first rows at once and fills in while the user
// looks; the cache may move on between pages (live traffic) without a
// restart — the caller merges each page by its seq (rows.ts `mergePage`).

import type { RowKey, RowPage, RowQuery } from "./types";

/** Rows of the first page: a screenful and some to scroll. */
export const FIRST_PAGE = 200;
/** Rows of every later page. */
export const PAGE = 5000;

/**
 * Reads every page of `query` in list order, calling `onPage` with each
 * (`first` for the counted one). Stops early when `onPage` returns false.
 */
export async function loadPages(
  listRows: (q: RowQuery) => Promise<RowPage>,
  query: RowQuery,
  onPage: (page: RowPage, first: boolean) => boolean,
): Promise<void> {
  const { limit: _l, offset: _o, after: _a, ...filters } = query;
  let page = await listRows({ ...filters, limit: FIRST_PAGE });
  if (!onPage(page, true)) return;
  while (page.next) {
    page = await listRows({ ...filters, limit: PAGE, after: page.next });
    if (!onPage(page, false)) return;
  }
}

/**
 * Reads every row of `query` after `from` (all of them when null), in pages
 * of `PAGE`: a table following a streamed first sync reads what the sync
 * wrote since it last read.
 */
export async function loadAfter(
  listRows: (q: RowQuery) => Promise<RowPage>,
  query: RowQuery,
  from: RowKey | null,
  onPage: (page: RowPage) => boolean,
): Promise<void> {
  const { limit: _l, offset: _o, after: _a, ...filters } = query;
  let after: RowKey | null = from;
  do {
    const page: RowPage = await listRows(after ? { ...filters, limit: PAGE, after } : { ...filters, limit: PAGE });
    if (!onPage(page)) return;
    after = page.next;
  } while (after);
}
