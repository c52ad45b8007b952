// React hooks over ipc.ts and live.ts: rows of a query (loaded by keyset pages), watched aggregates,
// connection status, first-sync progress.

import { useEffect, useRef, useState } from "react";
import { sameRange, queryKey, rangeKey } from "./filters";
import * as ipc from "./ipc";
import * as live from "./live";
import { loadAfter, loadPages } from "./load";
import { catchUp, fromSnapshot, mergePage, patchId, type RowStore } from "./rows";
import type { Aggregates, CommandError, Diagnostics, PatchBatch, ReportRange, RowKey, RowQuery, Status, SyncProgress } from "./types";

export interface RowsState {
  store: RowStore | null;
  /**
   * How many rows the query matched when its first page was read: while
   * the rest loads, the table keeps room for them (null before that).
   */
  total: number | null;
  loading: boolean;
  error: CommandError | null;
}

/** How often coalesced batches are applied: many batches → one render. */
const APPLY_EVERY_MS = 16;

/**
 * The rows of `query`: its first page at once, then the rest page by page
 * (load.ts), kept current by the patch stream all along — batches apply
 * while pages still come, and a page never undoes a newer batch. Re-loads
 * when the query changes, `reloadToken` changes, or the stream had a gap;
 * a re-load of a table already showing rows keeps showing (and patching)
 * them until the new read is complete.
 */
export function useRows(query: RowQuery | null, reloadToken = 0): RowsState {
  const [state, setState] = useState<RowsState>({ store: null, total: null, loading: true, error: null });
  const [gaps, setGaps] = useState(0);
  const key = query ? queryKey(query) : null;
  const queryRef = useRef(query);
  queryRef.current = query;
  const shownRef = useRef<RowStore | null>(null);
  shownRef.current = state.store;

  useEffect(() => live.onGap(() => setGaps((n) => n + 1)), []);

  useEffect(() => {
    const q = queryRef.current;
    if (!q) return;
    let cancelled = false;
    // The rows being read, and (on a re-load) the ones still on screen.
    let store: RowStore | null = null;
    // (An empty table — e.g. before the first sync — fills in page by page instead.)
    const shown = shownRef.current;
    let old = shown && shown.sorted.length > 0 && queryKey(shown.query) === queryKey(q) ? shown : null;
    let total: number | null = null;
    let done = false;
    // Batches heard before the first page (applied on top of it by seq) and
    // since (applied as they come); ids they named, with their seq.
    let early: PatchBatch[] = [];
    let queue: PatchBatch[] = [];
    const touched = new Map<string, number>();
    let timer: ReturnType<typeof setTimeout> | null = null;
    setState((s) => ({ ...s, loading: true, error: null }));

    const show = () => {
      const shown = old && !done ? old : store;
      setState({ store: shown, total, loading: !done, error: null });
    };
    const flush = () => {
      if (store) store = catchUp(store, queue);
      if (old) old = catchUp(old, queue);
      queue = [];
    };
    const apply = () => {
      timer = null;
      if (cancelled) return;
      flush();
      show();
    };
    // A streamed first sync: once loaded, the table reads on after the
    // frontier it has read up to whenever the sync has written more.
    let base: RowKey | null = null;
    let pending: SyncProgress | null = null;
    let streaming = false;
    let reading = false;
    const follow = () => {
      if (cancelled || reading || !done || !store || !pending) return;
      const target = pending;
      pending = null;
      reading = true;
      loadAfter(ipc.listRows, q, base, (page) => {
        if (cancelled || !store) return false;
        flush();
        store = mergePage(store, page.rows, page.seq, touched);
        return true;
      }).then(
        () => {
          reading = false;
          if (cancelled) return;
          // Every row up to it was in the cache before this read began.
          base = target.frontier ?? base;
          if (target.finished) {
            streaming = false;
            touched.clear();
          }
          show();
          follow();
        },
        (e) => {
          reading = false;
          if (!cancelled) setState((s) => ({ ...s, error: ipc.toCommandError(e) }));
        },
      );
    };
    const offSync = ipc.effectListener(
      ipc.onSyncProgress((p) => {
        if (!p.streamed || p.error) return;
        streaming = !p.finished;
        pending = p;
        follow();
      }),
    );
    const off = live.onBatch((b) => {
      if (!done || streaming || reading) for (const p of b.patches) touched.set(patchId(p), b.seq);
      if (!store) early.push(b);
      queue.push(b);
      if ((store || old) && timer === null) timer = setTimeout(apply, APPLY_EVERY_MS);
    });

    live
      .ready()
      .then(() =>
        loadPages(ipc.listRows, q, (page, first) => {
          if (cancelled) return false;
          if (first) {
            flush(); // the old rows only: there is no `store` yet
            store = catchUp(fromSnapshot(q, page.rows, page.seq), early);
            early = [];
            total = page.total;
          } else if (store) {
            flush();
            store = mergePage(store, page.rows, page.seq, touched);
          }
          if (!page.next) {
            done = true;
            if (!streaming && !pending) touched.clear();
            old = null;
          }
          // The first read of a table shows page by page; a re-load, when complete.
          if (!old || done) show();
          return true;
        }),
      )
      .then(
        () => {
          if (!cancelled && !done) {
            done = true;
            show();
          }
          follow();
        },
        (e) => {
          if (!cancelled) setState((s) => ({ ...s, loading: false, error: ipc.toCommandError(e) }));
        },
      );
    return () => {
      cancelled = true;
      off();
      offSync();
      if (timer !== null) clearTimeout(timer);
    };
  }, [key, reloadToken, gaps]);

  return state;
}

/** Keep the newer of two aggregates for the same range. */
function newer(a: Aggregates | null, b: Aggregates): Aggregates {
  return a && sameRange(a.range, b.range) && a.fetched_at > b.fetched_at ? a : b;
}

/** Watch a report range: current aggregates, then every `aggregates` event for it. */
export function useAggregates(range: ReportRange | null): { data: Aggregates | null; error: CommandError | null } {
  const [data, setData] = useState<Aggregates | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const key = range ? rangeKey(range) : null;
  const rangeRef = useRef(range);
  rangeRef.current = range;

  useEffect(() => {
    const r = rangeRef.current;
    if (!r) return;
    let cancelled = false;
    setData((d) => (d && sameRange(d.range, r) ? d : null));
    setError(null);
    const stop = ipc.effectListener(
      ipc.onAggregates((a) => {
        if (!cancelled && sameRange(a.range, r)) setData((d) => newer(d, a));
      }),
    );
    ipc.watchReport(r).then(
      (a) => {
        if (!cancelled) setData((d) => newer(d, a));
      },
      (e) => {
        if (!cancelled) setError(ipc.toCommandError(e));
      },
    );
    return () => {
      cancelled = true;
      stop();
      ipc.unwatchReport(r).catch(() => {});
    };
  }, [key]);

  return { data, error };
}

/** Live / reconnecting / offline: initial from `diagnostics`, then `status` events. */
export function useStatus(): Status | null {
  const [status, setStatus] = useState<Status | null>(null);
  useEffect(() => {
    let cancelled = false;
    const keepLatest = (s: Status) => setStatus((cur) => (cur && cur.since > s.since ? cur : s));
    const stop = ipc.effectListener(ipc.onStatus((s) => !cancelled && keepLatest(s)));
    ipc.diagnostics().then(
      (d) => !cancelled && keepLatest(d.status),
      () => {},
    );
    return () => {
      cancelled = true;
      stop();
    };
  }, []);
  return status;
}

/**
 * A number that goes up each time a sync finishes that tables must re-read
 * for (a re-snapshot; a streamed first sync is followed by `useRows`).
 */
export function useSyncFinishedToken(): number {
  const [n, setN] = useState(0);
  useEffect(
    () => ipc.effectListener(ipc.onSyncProgress((p) => p.finished && !p.streamed && setN((x) => x + 1))),
    [],
  );
  return n;
}

export function useSyncProgress(): SyncProgress | null {
  const [p, setP] = useState<SyncProgress | null>(null);
  useEffect(() => ipc.effectListener(ipc.onSyncProgress(setP)), []);
  return p;
}

/** Diagnostics refreshed every second while `open`. */
export function useDiagnostics(open: boolean): {
  data: Diagnostics | null;
  error: CommandError | null;
  set: (d: Diagnostics) => void;
} {
  const [data, setData] = useState<Diagnostics | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  useEffect(() => {
    if (!open) return;
    let cancelled = false;
    const load = () =>
      ipc.diagnostics().then(
        (d) => {
          if (!cancelled) {
            setData(d);
            setError(null);
          }
        },
        (e) => !cancelled && setError(ipc.toCommandError(e)),
      );
    void load();
    const t = setInterval(load, 1000);
    return () => {
      cancelled = true;
      clearInterval(t);
    };
  }, [open]);
  return { data, error, set: setData };
}
