// React hooks over ipc.ts and live.ts: watched aggregates, connection
// status, first-sync progress; the rows of a table are tableRows.ts's.

import { useEffect, useRef, useState } from "react";
import { sameRange, rangeKey } from "./filters";
import * as ipc from "./ipc";
import type { Aggregates, CommandError, Diagnostics, ReportRange, Status, SyncProgress } from "./types";

export { useRows, type RowsState, type TableRows } from "./tableRows";

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
