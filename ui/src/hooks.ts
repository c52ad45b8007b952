// React hooks over ipc.ts and live.ts: rows of a query, watched aggregates,
// connection status, first-sync progress.

import { useEffect, useRef, useState } from "react";
import { sameRange, queryKey, rangeKey } from "./filters";
import * as ipc from "./ipc";
import * as live from "./live";
import { loadAll } from "./load";
import { catchUp, fromSnapshot, type RowStore } from "./rows";
import type { Aggregates, CommandError, Diagnostics, PatchBatch, ReportRange, RowQuery, Status, SyncProgress } from "./types";

export interface RowsState {
  store: RowStore | null;
  /**
   * Rows list_rows said match (`total`) that could not be loaded, normally 0;
   * the table says so when not.
   */
  notLoaded: number;
  loading: boolean;
  error: CommandError | null;
}

/** How often coalesced batches are applied: many batches → one render. */
const APPLY_EVERY_MS = 16;

/**
 * The rows of `query`, loaded with list_rows and kept current by the patch
 * stream. Re-loads when the query changes or `reloadToken` changes.
 */
export function useRows(query: RowQuery | null, reloadToken = 0): RowsState {
  const [state, setState] = useState<RowsState>({ store: null, notLoaded: 0, loading: true, error: null });
  const key = query ? queryKey(query) : null;
  const queryRef = useRef(query);
  queryRef.current = query;

  useEffect(() => {
    const q = queryRef.current;
    if (!q) return;
    let cancelled = false;
    let store: RowStore | null = null;
    let queue: PatchBatch[] = [];
    let timer: ReturnType<typeof setTimeout> | null = null;
    setState((s) => ({ ...s, loading: true, error: null }));

    const apply = () => {
      timer = null;
      if (!store || cancelled) return;
      const next = catchUp(store, queue);
      queue = [];
      if (next !== store) {
        store = next;
        setState((s) => ({ ...s, store: next }));
      }
    };
    const off = live.onBatch((b) => {
      queue.push(b);
      if (store && timer === null) timer = setTimeout(apply, APPLY_EVERY_MS);
    });

    live
      .ready()
      .then(() => loadAll(ipc.listRows, q))
      .then(
        (snap) => {
          if (cancelled) return;
          // Batches heard while list_rows ran: those older than the snapshot are dropped.
          store = catchUp(fromSnapshot(q, snap.rows, snap.seq), queue);
          queue = [];
          setState({ store, notLoaded: snap.missing, loading: false, error: null });
        },
        (e) => {
          if (!cancelled) setState((s) => ({ ...s, loading: false, error: ipc.toCommandError(e) }));
        },
      );
    return () => {
      cancelled = true;
      off();
      if (timer !== null) clearTimeout(timer);
    };
  }, [key, reloadToken]);

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

/** A number that goes up each time a sync finishes (first sync, or a re-snapshot). */
export function useSyncFinishedToken(): number {
  const [n, setN] = useState(0);
  useEffect(() => ipc.effectListener(ipc.onSyncProgress((p) => p.finished && setN((x) => x + 1))), []);
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
