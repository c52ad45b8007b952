// `window.__ledgerline`: what end-to-end tests read that virtualization keeps
// out of the DOM. `rows("revenue")` returns the rows that table holds, in
// display order: those near the screen (tableRows.ts), not only the ones
// scrolled into view — every row of a query of up to a few hundred rows,
// a run of a bigger one. `total("revenue")` is how many rows its query
// matches (its slots), `offset` the list index of the first row held.

import type { Aggregates, Kind, Row, Status } from "./types";

export interface TableView {
  rows: readonly Row[];
  total: number | null;
  offset: number;
}

type Source = () => TableView;

const tables = new Map<string, Source>();
let status: Status | null = null;
let aggregates: Aggregates | null = null;

export function registerTable(name: string, source: Source): () => void {
  tables.set(name, source);
  return () => {
    if (tables.get(name) === source) tables.delete(name);
  };
}

export function reportStatus(s: Status | null) {
  status = s;
}

export function reportAggregates(a: Aggregates | null) {
  aggregates = a;
}

export interface LedgerlineTestHook {
  /** Rows a table holds ("revenue", "expense", "approvals"), or all tables do. */
  rows(table?: Kind | "approvals"): Row[];
  ids(table?: Kind | "approvals"): string[];
  /** How many rows a table's query matches (null before its first read). */
  total(table: Kind | "approvals"): number | null;
  /** The list index of the first row a table holds. */
  offset(table: Kind | "approvals"): number;
  tables(): string[];
  status(): Status | null;
  aggregates(): Aggregates | null;
}

const hook: LedgerlineTestHook = {
  rows(table) {
    if (table) return [...(tables.get(table)?.().rows ?? [])];
    const seen = new Map<string, Row>();
    for (const src of tables.values()) for (const r of src().rows) seen.set(r.id, r);
    return [...seen.values()];
  },
  total: (table) => tables.get(table)?.().total ?? null,
  offset: (table) => tables.get(table)?.().offset ?? 0,
  ids(table) {
    return hook.rows(table).map((r) => r.id);
  },
  tables: () => [...tables.keys()],
  status: () => status,
  aggregates: () => aggregates,
};

declare global {
  interface Window {
    __ledgerline?: LedgerlineTestHook;
  }
}

/**
 * Also mirror the held ids into the DOM for drivers that prefer reading an
 * element: `<script type="application/json" data-testid="loaded-ids">` holding
 * `{"revenue": [ids…], "expense": [ids…], …}` in display order. Rewritten at
 * most every 500 ms, and only when a table's rows changed.
 */
function mirrorLoadedIds() {
  const el = document.createElement("script");
  el.type = "application/json";
  el.dataset.testid = "loaded-ids";
  el.textContent = "{}";
  document.body.appendChild(el);
  let last = new Map<string, readonly Row[]>();
  setInterval(() => {
    const now = new Map<string, readonly Row[]>();
    let changed = last.size !== tables.size;
    for (const [name, src] of tables) {
      const rows = src().rows;
      now.set(name, rows);
      if (last.get(name) !== rows) changed = true;
    }
    if (!changed) return;
    last = now;
    const out: Record<string, string[]> = {};
    for (const [name, rows] of now) out[name] = rows.map((r) => r.id);
    el.textContent = JSON.stringify(out);
  }, 500);
}

export function installTestHook() {
  if (typeof window === "undefined") return;
  window.__ledgerline = hook;
  if (typeof document !== "undefined" && document.body) mirrorLoadedIds();
}
