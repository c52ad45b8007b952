// `window.__ledgerline`: what end-to-end tests read that virtualization keeps
// out of the DOM. `rows("revenue")` returns every loaded row of that table in
// display order (not only the ones scrolled into view).

import type { Aggregates, Kind, Row, Status } from "./types";

type Source = () => readonly Row[];

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
  /** Loaded rows of a table ("revenue", "expense", "approvals"), or of all tables. */
  rows(table?: Kind | "approvals"): Row[];
  ids(table?: Kind | "approvals"): string[];
  tables(): string[];
  status(): Status | null;
  aggregates(): Aggregates | null;
}

const hook: LedgerlineTestHook = {
  rows(table) {
    if (table) return [...(tables.get(table)?.() ?? [])];
    const seen = new Map<string, Row>();
    for (const src of tables.values()) for (const r of src()) seen.set(r.id, r);
    return [...seen.values()];
  },
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

export function installTestHook() {
  if (typeof window !== "undefined") window.__ledgerline = hook;
}
