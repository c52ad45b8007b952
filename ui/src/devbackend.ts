// `npm run dev` in a plain browser has no Tauri shell. This installs an
// in-memory stand-in behind Tauri's own IPC mocks, so ipc.ts runs unchanged:
// demo users (owner@demo.test / demo, …), generated rows (?rows=100000 for a
// big table), optimistic writes confirmed after a delay, debounced aggregates.
// Never bundled in production builds (main.tsx imports it only in dev).

import { emit } from "@tauri-apps/api/event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import { matchesQuery, compareRows } from "./rows";
import { rowsToCsv } from "./csv";
import { currentMonth, eachDay, sameRange } from "./filters";
import type {
  Aggregates, CommandError, Diagnostics, NewTransaction, Patch, ReportRange, Row, RowQuery, SessionView, TransactionPatch,
} from "./types";

const PROPS = ["Harbour View", "Old Mill", "Station Inn", "Lakeside", "Hilltop"].map((name, i) => ({ id: `p${i + 1}`, name }));
const USERS: Record<string, SessionView["user"]> = {
  "owner@demo.test": { id: "u1", name: "Olivia Owner", email: "owner@demo.test", role: "owner" },
  "manager@demo.test": { id: "u2", name: "Max Manager", email: "manager@demo.test", role: "manager" },
  "accountant@demo.test": { id: "u3", name: "Ada Accountant", email: "accountant@demo.test", role: "accountant" },
  "staff@demo.test": { id: "u4", name: "Sam Staff", email: "staff@demo.test", role: "staff" },
};
const REV = ["Rooms", "Food", "Bar", "Spa", "Events"];
const EXP = ["Payroll", "Supplies", "Repairs", "Utilities", "Laundry"];

export interface DevBackend {
  /** Hold server confirmations (optimistic rows stay pending) until `release()`. */
  hold(): void;
  release(): void;
  /** How many times `retry_sync` was called. */
  syncRetries(): number;
}

export function installDevBackend(): DevBackend {
  mockWindows("main");
  let session: SessionView | null = null;
  let seq = 0;
  const rows = new Map<string, Row>();
  const channels = new Map<number, { id: number; index: number; seq: number }>();
  let nextSub = 1;
  const watched: ReportRange[] = [];
  const flags = { FIN_LEADER_ENABLED: true, FIN_DERIVED_DEBOUNCE_MS: 1000 };
  let retrySyncs = 0;
  const counters = {
    leader_acquired: 1, leader_lost: 0, follower_suppressed_polls: 0, derived_debounce_fired: 0, polls: 0,
    events_applied: 0, aggregate_fetches: 0, outbox_depth: 0, events_skipped: 0, cache_write_failures: 0, lag_behind_head: 0,
  };
  const status = { state: "live" as const, since: new Date().toISOString() };
  const now = () => new Date().toISOString();
  const internals = () => (window as unknown as { __TAURI_INTERNALS__: { runCallback(id: number, d: unknown): void } }).__TAURI_INTERNALS__;

  // Seed rows over this month and the last one.
  const count = Number(new URLSearchParams(location.search).get("rows") ?? 5000);
  const m = currentMonth();
  const start = new Date(`${m.from}T00:00:00Z`);
  start.setUTCMonth(start.getUTCMonth() - 1);
  const days = eachDay(start.toISOString().slice(0, 10), m.to) ?? [];
  let rnd = 7;
  const rand = (k: number) => ((rnd = (rnd * 1103515245 + 12345) & 0x7fffffff), rnd % k);
  for (let i = 0; i < count; i++) {
    const kind = rand(3) === 0 ? "expense" : "revenue";
    const day = days[rand(days.length)]!;
    const id = `t${String(i).padStart(7, "0")}`;
    rows.set(id, {
      id, kind, property_id: PROPS[rand(5)]!.id, amount_minor: 500 + rand(250000), currency: "USD",
      category: (kind === "revenue" ? REV : EXP)[rand(5)]!, memo: `Demo ${i}`, occurred_on: day,
      status: (["pending", "approved", "approved", "rejected"] as const)[rand(4)]!, version: 1, client_mutation_id: null,
      created_by: "u1", created_at: `${day}T${String(rand(24)).padStart(2, "0")}:00:00Z`, updated_at: now(),
      pending_sync: false, sync_error: null,
    });
  }

  const send = (patches: Patch[]) => {
    for (const c of channels.values()) {
      internals().runCallback(c.id, { message: { seq, prev_seq: c.seq, patches }, index: c.index++ });
      c.seq = seq;
    }
  };
  const fail = (kind: CommandError["kind"], message: string, field?: string): never => {
    throw field ? { kind, message, field } : { kind, message };
  };
  const visible = (r: Row) => session !== null && session.properties.some((p) => p.id === r.property_id);

  const aggregates = (range: ReportRange): Aggregates => {
    counters.aggregate_fetches++;
    const today = new Date().toISOString().slice(0, 10);
    const inScope = [...rows.values()].filter((r) => visible(r) && (!range.property_id || r.property_id === range.property_id));
    const counted = inScope.filter((r) => r.status !== "rejected" && r.occurred_on >= range.from && r.occurred_on <= range.to);
    const byDay = new Map<string, { date: string; revenue_minor: number; expense_minor: number }>();
    const byCat = new Map<string, { kind: Row["kind"]; category: string; amount_minor: number }>();
    let revenue = 0;
    let expense = 0;
    for (const r of counted) {
      const d = byDay.get(r.occurred_on) ?? { date: r.occurred_on, revenue_minor: 0, expense_minor: 0 };
      if (r.kind === "revenue") (revenue += r.amount_minor), (d.revenue_minor += r.amount_minor);
      else (expense += r.amount_minor), (d.expense_minor += r.amount_minor);
      byDay.set(r.occurred_on, d);
      const k = `${r.kind}/${r.category}`;
      const c = byCat.get(k) ?? { kind: r.kind, category: r.category, amount_minor: 0 };
      c.amount_minor += r.amount_minor;
      byCat.set(k, c);
    }
    const todays = inScope.filter((r) => r.occurred_on === today);
    const pend = todays.filter((r) => r.status === "pending");
    return {
      range,
      profit_loss: {
        from: range.from, to: range.to, revenue_minor: revenue, expense_minor: expense, net_minor: revenue - expense, currency: "USD",
        by_day: [...byDay.values()].sort((a, b) => (a.date < b.date ? -1 : 1)),
        by_category: [...byCat.values()].sort((a, b) => (a.kind + a.category < b.kind + b.category ? -1 : 1)),
        as_of_seq: seq,
      },
      daily_approval: {
        date: today, pending: pend.length, approved: todays.filter((r) => r.status === "approved").length,
        rejected: todays.filter((r) => r.status === "rejected").length, pending_amount_minor: pend.reduce((s, r) => s + r.amount_minor, 0),
        as_of_seq: seq,
      },
      today_pending: { date: today, count: pend.length, amount_minor: pend.reduce((s, r) => s + r.amount_minor, 0), as_of_seq: seq },
      fetched_at: now(),
      as_of_seq: seq,
      catching_up: false,
    };
  };
  let aggTimer: ReturnType<typeof setTimeout> | null = null;
  const changed = () => {
    if (aggTimer) return;
    aggTimer = setTimeout(() => {
      aggTimer = null;
      counters.derived_debounce_fired++;
      for (const r of watched) void emit("aggregates", aggregates(r));
    }, flags.FIN_DERIVED_DEBOUNCE_MS);
  };
  /** An optimistic row now, the server's answer after a delay. */
  let held: (() => void)[] | null = null;
  const confirmLater = (optimistic: Row, confirmed: () => Patch[] | string) => {
    counters.outbox_depth++;
    send([{ op: "upsert", row: optimistic }]);
    const later = (fn: () => void) => setTimeout(() => (held ? held.push(fn) : fn()), 700);
    later(() => {
      counters.outbox_depth--;
      const out = confirmed();
      if (typeof out === "string") {
        const bad = { ...optimistic, sync_error: out };
        rows.set(bad.id, bad);
        send([{ op: "upsert", row: bad }]);
        return;
      }
      seq++;
      counters.events_applied++;
      send(out);
      changed();
    });
  };

  const handlers: Record<string, (a: Record<string, unknown>) => unknown> = {
    session: () => session,
    sign_in: (a) => {
      const user = USERS[String(a.email)];
      if (!user || a.password !== "demo") fail("unauthorized", "Wrong email or password.");
      session = { id: `dev--${user!.id}`, server_url: String(a.serverUrl), user: user!, org: { id: "o1", name: "Demo Hotels" }, properties: user!.role === "staff" ? PROPS.slice(0, 1) : PROPS };
      void emit("session", session);
      return session;
    },
    needs_attention: () => [],
    sessions: () => (session ? [session] : []),
    notices: () => [],
    // No lock date and no recorded history in the browser preview.
    org_settings: () => ({ lock_date: null, lock_message: null }),
    set_lock_date: () => fail("network", "the browser preview has no server to hold a lock date"),
    row_history: () => ({ items: [], fetched_at: now(), offline: true }),
    switch_session: () => session,
    retry_write: () => {
      throw { kind: "not_found", message: "nothing to resend" };
    },
    discard_write: () => null,
    sign_out: () => {
      session = null;
      channels.clear();
      void emit("session", null);
      return null;
    },
    subscribe: (a) => {
      const ch = a.onBatch as { id: number };
      const sub = nextSub++;
      channels.set(sub, { id: ch.id, index: 0, seq });
      return { subscription: sub, seq };
    },
    unsubscribe: (a) => (channels.delete(Number(a.subscription)), null),
    list_rows: (a) => {
      const q = a.query as RowQuery;
      const out = [...rows.values()].filter((r) => visible(r) && matchesQuery(r, q)).sort(compareRows);
      const after = q.after;
      const from = after
        ? out.findIndex((r) => r.occurred_on < after.occurred_on || (r.occurred_on === after.occurred_on && r.id < after.id))
        : (q.offset ?? 0);
      const start = from < 0 ? out.length : from;
      const page = out.slice(start, start + (q.limit ?? 100));
      const last = page[page.length - 1];
      const next = page.length === (q.limit ?? 100) && last ? { occurred_on: last.occurred_on, id: last.id } : null;
      return { rows: page, total: after ? null : out.length, seq, next };
    },
    create_transaction: (a) => {
      const input = a.input as NewTransaction;
      const cmid = input.client_mutation_id ?? crypto.randomUUID();
      const local: Row = {
        ...input, memo: input.memo ?? "", id: `local-${cmid}`, client_mutation_id: cmid, status: "pending", version: 1,
        created_by: session!.user.id, created_at: now(), updated_at: now(), pending_sync: true, sync_error: null,
      };
      rows.set(local.id, local);
      confirmLater(local, () => {
        if (input.category.toLowerCase() === "fail") return "The server refused this row: category \"fail\" is not allowed";
        rows.delete(local.id);
        const real = { ...local, id: `t-${cmid.slice(0, 8)}`, pending_sync: false };
        rows.set(real.id, real);
        return [{ op: "remove", id: local.id }, { op: "upsert", row: real }];
      });
      return local;
    },
    update_transaction: (a) => {
      const cur = rows.get(String(a.id)) ?? fail("not_found", "No such transaction");
      const patch = a.patch as TransactionPatch;
      if (patch.version !== cur.version) fail("conflict", `It is at version ${cur.version}, you edited version ${patch.version}`);
      const { version: _v, ...fields } = patch;
      const optimistic = { ...cur, ...fields, pending_sync: true };
      rows.set(cur.id, optimistic);
      confirmLater(optimistic, () => {
        const real = { ...optimistic, version: cur.version + 1, pending_sync: false, updated_at: now() };
        rows.set(real.id, real);
        return [{ op: "upsert", row: real }];
      });
      return optimistic;
    },
    delete_transaction: (a) => {
      const id = String(a.id);
      if (!rows.delete(id)) fail("not_found", "No such transaction");
      seq++;
      send([{ op: "remove", id }]);
      changed();
      return null;
    },
    approve_transaction: (a) => decide(String(a.id), "approved"),
    reject_transaction: (a) => decide(String(a.id), "rejected"),
    watch_report: (a) => {
      const r = a.range as ReportRange;
      watched.push(r);
      return aggregates(r);
    },
    unwatch_report: (a) => {
      const i = watched.findIndex((w) => sameRange(w, a.range as ReportRange));
      if (i >= 0) watched.splice(i, 1);
      return null;
    },
    window_focused: () => null,
    retry_sync: () => {
      retrySyncs++;
      return null;
    },
    diagnostics: (): Diagnostics => ({ status, seq, counters: { ...counters, polls: ++counters.polls }, flags: { ...flags } }),
    set_flag: (a) => {
      if (a.name === "FIN_LEADER_ENABLED") flags.FIN_LEADER_ENABLED = Boolean(a.value);
      else if (a.name === "FIN_DERIVED_DEBOUNCE_MS") flags.FIN_DERIVED_DEBOUNCE_MS = Number(a.value);
      else fail("invalid", `Unknown flag ${String(a.name)}`, "name");
      return { status, seq, counters: { ...counters }, flags: { ...flags } };
    },
    open_window: (a) => {
      const t = String(a.target);
      const q = t.startsWith("property:") ? `?view=property&id=${encodeURIComponent(t.slice(9))}` : t === "approvals" ? "?view=approvals" : "?view=report";
      window.open(`${location.pathname}${q}`, "_blank");
      return null;
    },
    "plugin:dialog|save": (a) => String((a.options as { defaultPath?: string }).defaultPath ?? "export.csv"),
    export_location: (a) => `~/Downloads/${String(a.filename)}`,
    export_csv: (a) => {
      const q = a.query as RowQuery;
      const out = [...rows.values()].filter((r) => visible(r) && matchesQuery(r, q)).sort(compareRows);
      const progress = a.onProgress as { id: number };
      const name = String(a.path).split("/").pop() ?? "export.csv";
      const url = URL.createObjectURL(new Blob([rowsToCsv(out, session?.properties ?? [])], { type: "text/csv" }));
      const link = Object.assign(document.createElement("a"), { href: url, download: name });
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
      internals().runCallback(progress.id, { message: { written: out.length, total: out.length, finished: true }, index: 0 });
      return { path: String(a.path), rows: out.length };
    },
    save_csv: (a) => {
      const url = URL.createObjectURL(new Blob([String(a.contents)], { type: "text/csv" }));
      const link = Object.assign(document.createElement("a"), { href: url, download: String(a.filename) });
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
      return `~/Downloads/${String(a.filename)}`;
    },
  };
  function decide(id: string, to: "approved" | "rejected") {
    const cur = rows.get(id) ?? fail("not_found", "No such transaction");
    const optimistic = { ...cur, status: to, pending_sync: true };
    rows.set(id, optimistic);
    confirmLater(optimistic, () => {
      const real = { ...optimistic, version: cur.version + 1, pending_sync: false };
      rows.set(id, real);
      return [{ op: "upsert", row: real }];
    });
    return optimistic;
  }

  mockIPC(
    (cmd, payload) => {
      const h = handlers[cmd];
      if (!h) fail("internal", `The dev backend has no command ${cmd}`);
      return h!((payload ?? {}) as Record<string, unknown>);
    },
    { shouldMockEvents: true },
  );
  setTimeout(() => void emit("status", status), 50);
  console.info("[ledgerline] dev backend: sign in as owner@demo.test / demo");
  return {
    hold: () => {
      held ??= [];
    },
    release: () => {
      const fns = held ?? [];
      held = null;
      for (const fn of fns) fn();
    },
    syncRetries: () => retrySyncs,
  };
}
