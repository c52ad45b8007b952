// Filter state → IPC queries, date helpers, and a debouncer. Pure apart from
// the timers the debouncer is given.

import type { IsoDate, Kind, ReportRange, RowQuery } from "./types";

export interface Filters {
  /** undefined = all properties */
  propertyId?: string;
  from: IsoDate;
  to: IsoDate;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** The local calendar date of `d` as YYYY-MM-DD. */
export function isoDate(d: Date): IsoDate {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** First to last day of the month `now` is in (local time). */
export function currentMonth(now: Date = new Date()): { from: IsoDate; to: IsoDate } {
  const first = new Date(now.getFullYear(), now.getMonth(), 1);
  const last = new Date(now.getFullYear(), now.getMonth() + 1, 0);
  return { from: isoDate(first), to: isoDate(last) };
}

/** A real calendar date written YYYY-MM-DD. */
export function isIsoDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dt = new Date(Date.UTC(y, mo - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d;
}

/** Plain-words problem with a from/to pair, or null when it is usable. */
export function rangeError(from: string, to: string): { field: "from" | "to"; message: string } | null {
  if (!isIsoDate(from)) return { field: "from", message: "Start date as YYYY-MM-DD" };
  if (!isIsoDate(to)) return { field: "to", message: "End date as YYYY-MM-DD" };
  if (from > to) return { field: "to", message: "End date is before the start date" };
  return null;
}

export function reportRange(f: Filters): ReportRange {
  return f.propertyId ? { property_id: f.propertyId, from: f.from, to: f.to } : { from: f.from, to: f.to };
}

export function rowQuery(kind: Kind, f: Filters): RowQuery {
  const q: RowQuery = { kind, from: f.from, to: f.to };
  if (f.propertyId) q.property_id = f.propertyId;
  return q;
}

/** Same report range? (a missing, null or empty property_id all mean "all"). */
export function sameRange(a: ReportRange, b: ReportRange): boolean {
  return a.from === b.from && a.to === b.to && (a.property_id || undefined) === (b.property_id || undefined);
}

export function rangeKey(r: ReportRange): string {
  return `${r.property_id || "*"}|${r.from}|${r.to}`;
}

export function queryKey(q: RowQuery): string {
  return JSON.stringify([q.property_id ?? null, q.kind ?? null, q.status ?? null, q.from ?? null, q.to ?? null]);
}

/** Every date from..to inclusive (at most `max`, else null). */
export function eachDay(from: IsoDate, to: IsoDate, max = 400): IsoDate[] | null {
  if (!isIsoDate(from) || !isIsoDate(to) || from > to) return [];
  const out: IsoDate[] = [];
  const d = new Date(`${from}T00:00:00Z`);
  const end = new Date(`${to}T00:00:00Z`).getTime();
  while (d.getTime() <= end) {
    if (out.length >= max) return null;
    out.push(d.toISOString().slice(0, 10));
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}

/** The query string of this window: which view, and for which property. */
export type View =
  | { name: "finance" }
  | { name: "property"; id: string }
  | { name: "report" }
  | { name: "approvals" }
  | { name: "history"; id: string };

export function parseView(search: string): View {
  const p = new URLSearchParams(search);
  switch (p.get("view")) {
    case "property": {
      const id = p.get("id");
      return id ? { name: "property", id } : { name: "finance" };
    }
    case "report":
      return { name: "report" };
    case "approvals":
      return { name: "approvals" };
    case "history": {
      const id = p.get("id");
      return id ? { name: "history", id } : { name: "finance" };
    }
    default:
      return { name: "finance" };
  }
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface Debounced<A extends unknown[]> {
  (...args: A): void;
  /** Run the pending call now, if any. */
  flush(): void;
  /** Drop the pending call. */
  cancel(): void;
  pending(): boolean;
}

/** Trailing-edge debounce: `fn` runs once, `ms` after the last call, with its arguments. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number, timers: Timers = realTimers): Debounced<A> {
  let handle: unknown = null;
  let last: A | null = null;
  const run = () => {
    handle = null;
    const args = last;
    last = null;
    if (args) fn(...args);
  };
  const d = ((...args: A) => {
    last = args;
    if (handle !== null) timers.clear(handle);
    handle = timers.set(run, ms);
  }) as Debounced<A>;
  d.flush = () => {
    if (handle !== null) timers.clear(handle);
    run();
  };
  d.cancel = () => {
    if (handle !== null) timers.clear(handle);
    handle = null;
    last = null;
  };
  d.pending = () => handle !== null;
  return d;
}

/** The FIN_DERIVED_DEBOUNCE_MS input: whole milliseconds, 0 … 600000. */
export function parseDebounceMs(s: string): { ok: true; value: number } | { ok: false; error: string } {
  const t = s.trim();
  if (!/^\d+$/.test(t)) return { ok: false, error: "Whole milliseconds, like 1000" };
  const v = Number(t);
  if (v > 600_000) return { ok: false, error: "At most 600000 ms (10 minutes)" };
  return { ok: true, value: v };
}
