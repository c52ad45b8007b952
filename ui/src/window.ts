// The rows a table holds: a run of its list around what is on screen, not
// all of it. A 60,000-row month is ~22 MB of JSON; a table shows ~40 rows.
// Pure, like rows.ts: every function returns a new value.
//
// A `Held` is rows [offset, offset + n) of the query's list in a RowStore
// bounded to their keys (rows.ts `bounds`), and the query's `total`. The
// table draws `total` slots and a placeholder where no row is held; it says
// which slots are on screen and `plan` says what to read for them:
// - on from the held rows by keyset (`after` their last key) while the
//   screen's last slot comes within MARGIN of their end;
// - a window by offset around the screen when it is above the held rows or
//   far below them (a scrollbar drag, End): one offset page whatever the
//   distance (tableRows.ts `windowPage` reads one in the far half cheaper).
// `trim` lets go of rows far from the screen once more than MAX_HELD are held.
//
// Batches (`applyCounted`) change the held rows by the rows.ts rules. The
// total moves with them only where that is certain: a held row removed or
// leaving the query. When the held rows are the whole list the total is
// their count. Otherwise a patch about a row not held (it may be new, or
// moved from outside the run, or never have matched) or a held row moving
// outside the run leaves the count unsure: the caller reads it again
// (`list_rows` limit 1 counts), or — when rows are held from an offset,
// which such a patch may have shifted — reads the window again.

import { applyBatch, fromSnapshot, isLocalId, keyOf, LOCAL_PREFIX, matchesQuery, mergePage, type RowStore } from "./rows";
import type { PatchBatch, Row, RowKey, RowPage, RowQuery } from "./types";

/** Rows of the first read: a screenful and some to scroll. */
export const FIRST_PAGE = 200;
/** Rows of a read on by keyset. */
export const PAGE = 500;
/** Rows held, read ahead, beyond the screen's last slot. */
export const MARGIN = 500;
/** Rows a window read by offset starts above the screen and reaches below it. */
export const AROUND = 300;
/** More held than this and rows far from the screen are let go. */
export const MAX_HELD = 3000;
/** `list_rows` pages at most this many rows. */
export const MAX_LIMIT = 5000;

export interface Held {
  readonly store: RowStore;
  /** List index of `store.sorted[0]`. */
  readonly offset: number;
  /** Do the held rows reach the end of the list (as far as this table knows)? */
  readonly end: boolean;
  /** How many rows the query matches. */
  readonly total: number;
}

/** Slots on screen: first and last index (inclusive). */
export interface Range {
  readonly first: number;
  readonly last: number;
}

/** A read `plan` asks for. */
export type Read =
  | { readonly kind: "window"; readonly offset: number; readonly limit: number }
  | { readonly kind: "after"; readonly after: RowKey; readonly limit: number };

export function heldCount(h: Held): number {
  return h.store.sorted.length;
}

/** Are the held rows the whole list? */
export function isWhole(h: Held): boolean {
  return h.offset === 0 && h.end;
}

/** The row at list index `i`, if held. */
export function rowAt(h: Held, i: number): Row | undefined {
  return h.store.sorted[i - h.offset];
}

/** The `list_rows` query of a read. */
export function queryOf(query: RowQuery, read: Read): RowQuery {
  const { limit: _l, offset: _o, after: _a, ...filters } = query;
  if (read.kind === "after") return { ...filters, limit: read.limit, after: read.after };
  // From the start: a first page (counted, like an offset page, and one index walk).
  return read.offset === 0 ? { ...filters, limit: read.limit } : { ...filters, limit: read.limit, offset: read.offset };
}

/** The first read of a table showing `range` (a first page when it shows the top). */
export function firstRead(range: Range): Read {
  return range.last < FIRST_PAGE / 2 ? { kind: "window", offset: 0, limit: FIRST_PAGE } : windowRead(range);
}

/** A window by offset around `range`, from `above` rows above it. */
export function windowRead(range: Range, above = AROUND): Read {
  const offset = Math.max(0, range.first - above);
  const limit = Math.min(MAX_LIMIT, range.last + 1 + AROUND - offset);
  return { kind: "window", offset, limit };
}

/** Held rows from a window read (a first or offset page: counted). */
export function fromWindow(query: RowQuery, read: Read & { kind: "window" }, page: RowPage): Held {
  const first = page.rows[0];
  const end = page.next === null;
  const bounds = { from: read.offset === 0 || !first ? null : keyOf(first), to: end ? null : page.next };
  const store = fromSnapshot(query, page.rows, page.seq, bounds);
  // An offset past the end (rows went meanwhile) holds nothing from there.
  const offset = Math.min(read.offset, page.total ?? read.offset);
  return { store, offset, end, total: Math.max(page.total ?? 0, offset + store.sorted.length) };
}

/** A page read on `after` the held rows joins them. */
export function withPage(h: Held, page: RowPage): Held {
  const store = mergePage(h.store, page.rows, page.next);
  const end = page.next === null;
  const n = store.sorted.length;
  return { store, offset: h.offset, end, total: h.offset === 0 && end ? n : Math.max(h.total, h.offset + n) };
}

/**
 * The table's sync wrote more rows (a streamed first sync: they come after
 * every row the cache had): held rows that reached the end no longer do.
 */
export function moreMayFollow(h: Held): Held {
  if (!h.end) return h;
  const last = h.store.sorted[h.store.sorted.length - 1];
  // Nothing held from the start: read from the start again.
  if (!last && h.offset === 0) return { ...h, end: false };
  const to = last ? keyOf(last) : h.store.bounds.from;
  return { ...h, end: false, store: { ...h.store, bounds: { from: h.store.bounds.from, to } } };
}

/** What to read for the slots on screen, if anything. */
export function plan(h: Held, range: Range): Read | null {
  const n = heldCount(h);
  const heldEnd = h.offset + n;
  // Above the held rows, or close to their top: a window there, reaching
  // well up (the screen is likely moving up: fewer re-reads, each an offset page).
  if (h.offset > 0 && range.first < h.offset + AROUND / 4) return windowRead(range, 2 * MARGIN);
  if (h.end || range.last + MARGIN < heldEnd) return null;
  const to = h.store.bounds.to;
  // Nothing held yet: from the top; far below the held rows: a window there; near: on by keyset.
  if (to === null) return firstRead(range);
  if (range.first > heldEnd + PAGE) return windowRead(range);
  return { kind: "after", after: to, limit: Math.min(MAX_LIMIT, Math.max(PAGE, range.last + MARGIN - heldEnd)) };
}

/** Let go of held rows far from the screen once more than MAX_HELD are held. */
export function trim(h: Held, range: Range): Held {
  const rows = h.store.sorted;
  if (rows.length <= MAX_HELD) return h;
  const lo = Math.max(0, range.first - MARGIN - h.offset);
  const hi = Math.min(rows.length, Math.max(lo + 1, range.last + 1 + MARGIN - h.offset));
  if (lo === 0 && hi === rows.length) return h;
  const kept = rows.slice(lo, hi);
  const from = lo > 0 && kept[0] ? keyOf(kept[0]) : h.store.bounds.from;
  const dropsEnd = hi < rows.length;
  const last = kept[kept.length - 1];
  const to = dropsEnd && last ? keyOf(last) : h.store.bounds.to;
  const store = fromSnapshot(h.store.query, kept, h.store.seq, { from, to });
  return { store, offset: h.offset + lo, end: h.end && !dropsEnd, total: h.total };
}

/**
 * One batch on held rows: the rows by the rows.ts rules, the total where
 * certain; `delta` is how far the total moved, `unsure` says it may be off.
 */
export function applyCounted(h: Held, b: PatchBatch): { held: Held; delta: number; unsure: boolean } {
  const before = h.store;
  if (b.seq < before.seq) return { held: h, delta: 0, unsure: false }; // older than the held rows
  const store = applyBatch(before, b);
  if (isWhole(h)) {
    const n = store.sorted.length;
    return { held: store === before ? h : { ...h, store, total: n }, delta: n - h.total, unsure: false };
  }
  let unsure = false;
  for (const p of b.patches) {
    if (p.op === "remove") {
      if (!before.byId.has(p.id)) unsure = true;
      continue;
    }
    const r = p.row;
    const cmid = r.client_mutation_id;
    // A confirmed row taking its optimistic row's place is the same entry.
    const was = before.byId.has(r.id) || (!!cmid && !isLocalId(r.id) && before.byId.has(LOCAL_PREFIX + cmid));
    // Not held: new, moved in from outside the run, or never in the query.
    if (!was) unsure = true;
    // Held, still in the query, now outside the run: it moved, it did not go.
    else if (!store.byId.has(r.id) && matchesQuery(r, before.query)) unsure = true;
  }
  const n = store.sorted.length;
  const delta = unsure ? 0 : n - before.sorted.length;
  const total = Math.max(h.total + delta, h.offset + n);
  return { held: { ...h, store, total }, delta, unsure };
}
