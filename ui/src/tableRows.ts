// `useRows`: the rows a table holds (window.ts) — read from the cache as
// they come near the screen, kept current by the patch stream all along.
//
// One read at a time, each the next the table needs: the first window;
// a re-read of the window on screen (the query's `reloadToken` changed, the
// stream had a gap, or a patch may have shifted rows held from an offset);
// what `plan` asks for the slots on screen (`show`); a fresh count when a
// patch left it unsure or a streamed first sync wrote more (a window in
// the list's far half is read from its oldest days: `windowPage`). A read's rows
// are the cache's word at the read's seq: batches heard since it was sent,
// at or after that seq, are applied again on top (by the rows.ts rules,
// idempotent), so a read never undoes a newer batch. A table already
// showing rows keeps showing (and patching) them until a re-read is in.

import { useCallback, useEffect, useRef, useState } from "react";
import { queryKey } from "./filters";
import * as ipc from "./ipc";
import * as live from "./live";
import { applyPatches, compareRows } from "./rows";
import type { CommandError, PatchBatch, RowKey, RowPage, RowQuery } from "./types";
import {
  applyCounted,
  firstRead,
  fromWindow,
  isWhole,
  moreMayFollow,
  plan,
  queryOf,
  trim,
  withPage,
  type Held,
  type Range,
  type Read,
} from "./window";

export interface RowsState {
  /** The rows held and the query's total; null before the first read is in. */
  held: Held | null;
  /** Before the first read, and while the table reads itself again. */
  loading: boolean;
  error: CommandError | null;
}

export interface TableRows extends RowsState {
  /** The slots on screen (indices into the list): rows near them are read. */
  show(range: Range): void;
}

/** How often coalesced batches are applied: many batches → one render. */
const APPLY_EVERY_MS = 16;
/** A count (or a window) a patch left unsure is read again this much later: many patches → one read. */
const RECOUNT_MS = 200;

/** A batch heard while a read was in flight, and what it did to the total. */
interface Heard {
  batch: PatchBatch;
  delta: number;
  unsure: boolean;
}

type Job = { kind: "read"; read: Read } | { kind: "count" };

export function useRows(query: RowQuery | null, reloadToken = 0): TableRows {
  const [state, setState] = useState<RowsState>({ held: null, loading: true, error: null });
  const [gaps, setGaps] = useState(0);
  const key = query ? queryKey(query) : null;
  const queryRef = useRef(query);
  queryRef.current = query;
  const shownRef = useRef<Held | null>(null);
  shownRef.current = state.held;
  const rangeRef = useRef<Range>({ first: 0, last: 0 });
  const pumpRef = useRef<() => void>(() => {});
  const show = useCallback((r: Range) => {
    const cur = rangeRef.current;
    if (cur.first === r.first && cur.last === r.last) return;
    rangeRef.current = r;
    pumpRef.current();
  }, []);

  useEffect(() => live.onGap(() => setGaps((n) => n + 1)), []);

  useEffect(() => {
    const q = queryRef.current;
    if (!q) return;
    let cancelled = false;
    const shown = shownRef.current;
    let held: Held | null = shown && queryKey(shown.store.query) === queryKey(q) ? shown : null;
    // Read the window on screen again: the table asked (re-load), or a patch
    // may have shifted rows held from an offset (debounced).
    let reread = held !== null;
    let stale = false;
    let recount = false;
    let unsureTimer: ReturnType<typeof setTimeout> | null = null;
    let streamedMore = false;
    // The sync finished: count now, not after RECOUNT_MS.
    let countNow = false;
    let reading = false;
    let ready = false;
    // Far jumps read from the oldest days, until that once saves nothing (rows all of a few days).
    let tailHelps = true;
    let heard: Heard[] = [];
    let queue: PatchBatch[] = [];
    let applyTimer: ReturnType<typeof setTimeout> | null = null;
    setState((s) => ({ ...s, held, loading: true, error: null }));

    const publish = () => setState({ held, loading: held === null || reread, error: null });
    const later = () => {
      if (unsureTimer !== null) return;
      unsureTimer = setTimeout(() => {
        unsureTimer = null;
        pump();
      }, RECOUNT_MS);
    };
    const onUnsure = (h: Held) => {
      if (h.offset > 0) stale = true;
      else recount = true;
      later();
    };
    const flush = () => {
      for (const b of queue) {
        if (!held) {
          heard.push({ batch: b, delta: 0, unsure: false });
          continue;
        }
        const r = applyCounted(held, b);
        held = r.held;
        if (reading) heard.push({ batch: b, delta: r.delta, unsure: r.unsure });
        if (r.unsure) onUnsure(held);
      }
      queue = [];
    };

    const next = (): Job | null => {
      const range = rangeRef.current;
      if (!held) return { kind: "read", read: firstRead(range) };
      if (reread || (stale && unsureTimer === null)) return { kind: "read", read: firstRead(range) };
      const r = plan(held, range);
      if (r) return { kind: "read", read: r };
      if (isWhole(held)) recount = false; // its count is its rows
      if (recount && (countNow || unsureTimer === null)) {
        countNow = false;
        return { kind: "count" };
      }
      return null;
    };

    const landed = (job: Job, page: RowPage) => {
      const since = heard.filter((e) => e.batch.seq >= page.seq);
      if (job.kind === "count") {
        recount = false;
        if (!held) return;
        let total = (page.total ?? held.total) + since.reduce((n, e) => n + (e.batch.seq > page.seq ? e.delta : 0), 0);
        // A batch of the read's own seq may or may not be in the count: count again.
        if (since.some((e) => e.unsure || (e.batch.seq === page.seq && e.delta !== 0))) {
          recount = true;
          later();
        }
        const n = held.store.sorted.length;
        total = isWhole(held) ? n : Math.max(total, held.offset + n);
        held = { ...held, total };
        return;
      }
      const read = job.read;
      if (read.kind === "window") {
        let h = fromWindow(q, read, page);
        reread = false;
        stale = false;
        if (h.offset === 0) recount = false; // a first page is counted
        for (const e of since) {
          const r = applyCounted(h, e.batch);
          h = r.held;
          if (r.unsure) onUnsure(h);
        }
        held = h;
      } else if (held) {
        let h = withPage(held, page);
        let store = h.store;
        for (const e of since) store = applyPatches(store, e.batch.patches, Math.max(store.seq, e.batch.seq));
        const n = store.sorted.length;
        h = { ...h, store, total: isWhole(h) ? n : Math.max(h.total, h.offset + n) };
        held = h;
      }
      if (held) held = trim(held, rangeRef.current);
    };

    const pump = () => {
      if (cancelled || reading || !ready) return;
      if (streamedMore && held) {
        held = moreMayFollow(held);
        streamedMore = false;
        recount = true;
        if (!countNow) later();
      }
      const job = next();
      if (!job) return;
      reading = true;
      heard = [];
      const { limit: _l, offset: _o, after: _a, ...filters } = q;
      const read =
        job.kind === "count"
          ? ipc.listRows({ ...filters, limit: 1 })
          : job.read.kind === "window" && held && tailHelps && !recount && !stale && !reread
            ? windowPage(q, job.read, held, () => (tailHelps = false))
            : ipc.listRows(queryOf(q, job.read));
      read.then(
        (page) => {
          if (cancelled) return;
          flush();
          reading = false;
          landed(job, page);
          heard = [];
          publish();
          pump();
        },
        (e) => {
          reading = false;
          if (!cancelled) setState((s) => ({ ...s, loading: false, error: ipc.toCommandError(e) }));
        },
      );
    };
    pumpRef.current = pump;

    const apply = () => {
      applyTimer = null;
      if (cancelled) return;
      flush();
      if (held) publish();
      pump();
    };
    const offSync = ipc.effectListener(
      ipc.onSyncProgress((p) => {
        if (!p.streamed || p.error) return;
        // The sync wrote more rows after the cache's last: the held rows may not reach the end.
        streamedMore = true;
        if (p.finished) countNow = true;
        pump();
      }),
    );
    const off = live.onBatch((b) => {
      queue.push(b);
      if (applyTimer === null) applyTimer = setTimeout(apply, APPLY_EVERY_MS);
    });

    live.ready().then(
      () => {
        ready = true;
        pump();
      },
      (e) => {
        if (!cancelled) setState((s) => ({ ...s, loading: false, error: ipc.toCommandError(e) }));
      },
    );
    return () => {
      cancelled = true;
      pumpRef.current = () => {};
      off();
      offSync();
      if (applyTimer !== null) clearTimeout(applyTimer);
      if (unsureTimer !== null) clearTimeout(unsureTimer);
    };
  }, [key, reloadToken, gaps]);

  return { ...state, show };
}

/** `n` days after `day` (YYYY-MM-DD). */
function daysAfter(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

const dayAfter = (day: string) => daysAfter(day, 1);

/** Days from `a` to `b` (YYYY-MM-DD). */
function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

/**
 * A window in the far half of `query`'s list, read cheaper than its offset
 * page (which counts every row and walks every row it skips): the list's
 * tail of the oldest days that holds the window is counted (one page of
 * one row), then the window read by offset within that tail — both
 * proportional to the tail, not to the list. Only when `held`'s total is
 * of the cache's seq (no patch since left it unsure) and both reads are of
 * that seq; else, or when a guess of the tail's first day falls short, the
 * plain offset page. `useless` is called when the tail was most of the list
 * (the rows are of a few days): the count was spent for little.
 */
async function windowPage(query: RowQuery, read: Read & { kind: "window" }, held: Held, useless: () => void): Promise<RowPage> {
  const { limit: _l, offset: _o, after: _a, ...filters } = query;
  const plain = () => ipc.listRows(queryOf(query, read));
  const total = held.total;
  if (filters.from === undefined || filters.to === undefined || read.offset < total / 2) return plain();
  // The oldest days, as many as the window's share of the list from its start, and one more.
  const days = daysBetween(filters.from, filters.to) + 1;
  const share = (total - read.offset) / total;
  const last = daysAfter(filters.from, Math.min(days - 1, Math.ceil(share * days)));
  const tail = await ipc.listRows({ ...filters, to: last, limit: 1 });
  const before = total - (tail.total ?? 0); // rows of later days
  if (before < read.offset / 2) useless();
  if (tail.total === null || tail.seq !== held.store.seq || before < 0 || before > read.offset) return plain();
  const page = await ipc.listRows({ ...filters, to: last, offset: read.offset - before, limit: read.limit });
  if (page.seq !== tail.seq || page.total !== tail.total) return plain();
  return { ...page, total };
}

/**
 * Where a row with `key` sits in `query`'s list (how many rows sort before
 * it), e.g. to bring a new entry into view when it sorts far from the held
 * rows: the rows of later days counted (one count), then that day's rows
 * read by keyset up to it.
 */
export async function listIndex(query: RowQuery, key: RowKey): Promise<number> {
  const { limit: _l, offset: _o, after: _a, ...filters } = query;
  const later = dayAfter(key.occurred_on);
  let before = 0;
  if (filters.to === undefined || later <= filters.to) {
    const from = filters.from !== undefined && filters.from > later ? filters.from : later;
    before = (await ipc.listRows({ ...filters, from, limit: 1 })).total ?? 0;
  }
  const day: RowQuery = { ...filters, from: key.occurred_on, to: key.occurred_on };
  let after: RowKey | null = null;
  for (;;) {
    const page: RowPage = await ipc.listRows(after ? { ...day, limit: 5000, after } : { ...day, limit: 5000 });
    for (const r of page.rows) {
      if (compareRows(r, key) >= 0) return before;
      before += 1;
    }
    if (!page.next) return before;
    after = page.next;
  }
}
