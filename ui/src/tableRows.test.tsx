// @vitest-environment jsdom
// useRows over a model of the core's cache (Tauri's IPC mocks answer
// `list_rows` from it: first, keyset and offset pages, counted as the core
// counts): a table of a big query holds a bounded run of it, reads the rows
// of a far slot when it is shown there, keeps its total right under patches
// about rows it does not hold, fills in from a streamed first sync, and
// never shows an entry twice when its optimistic and confirmed rows race.

import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { act } from "react";
import { createRoot } from "react-dom/client";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { compareRows, matchesQuery } from "./rows";
import { useRows, type TableRows } from "./tableRows";
import type { Patch, Row, RowPage, RowQuery } from "./types";
import { MAX_HELD, rowAt } from "./window";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const row = (id: string, day: string, over: Partial<Row> = {}): Row => ({
  id, kind: "revenue", property_id: "p1", amount_minor: 100, currency: "USD", category: "Rooms", memo: id,
  occurred_on: day, status: "pending", version: 1, client_mutation_id: null, created_by: "u",
  created_at: "2026-11-10T10:00:00Z", updated_at: "2026-11-10T10:00:00Z", pending_sync: false, sync_error: null, ...over,
});

/** The cache: rows by id, its seq, and what each `list_rows` asked. */
const cache = new Map<string, Row>();
let seq = 10;
const asked: RowQuery[] = [];
let channelId = -1;
let index = 0;
let heardSeq = 10;

function listRows(q: RowQuery): RowPage {
  asked.push(q);
  const all = [...cache.values()].filter((r) => matchesQuery(r, q)).sort(compareRows);
  const limit = q.limit ?? 100;
  const start = q.after ? all.findIndex((r) => compareRows(r, q.after!) > 0) : (q.offset ?? 0);
  const from = start < 0 ? all.length : start;
  const rows = all.slice(from, from + limit);
  const last = rows[rows.length - 1];
  return {
    rows,
    total: q.after ? null : all.length,
    seq,
    next: rows.length === limit && last ? { occurred_on: last.occurred_on, id: last.id } : null,
  };
}

/** The cache changes (the seq moves unless `optimistic`) and tells the window. */
function change(patches: Patch[], optimistic = false) {
  for (const p of patches) {
    if (p.op === "remove") cache.delete(p.id);
    else cache.set(p.row.id, p.row);
  }
  if (!optimistic) seq += 1;
  const b = { seq, prev_seq: heardSeq, patches };
  heardSeq = seq;
  (window as unknown as { __TAURI_INTERNALS__: { runCallback(id: number, d: unknown): void } }).__TAURI_INTERNALS__.runCallback(
    channelId,
    { message: b, index: index++ },
  );
}

beforeAll(() => {
  mockIPC((cmd, args) => {
    if (cmd === "subscribe") {
      channelId = (args as { onBatch: { id: number } }).onBatch.id;
      return { subscription: 1, seq };
    }
    if (cmd === "list_rows") return listRows((args as { query: RowQuery }).query);
    throw { kind: "internal", message: `unexpected ${cmd}` };
  }, { shouldMockEvents: true });
});

let table: TableRows | null = null;
function Probe({ query }: { query: RowQuery }) {
  table = useRows(query);
  return null;
}

/** Waits (in real time, up to 3 s) until `cond` holds. */
async function until(what: string, cond: () => boolean) {
  const deadline = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await act(async () => {
      await new Promise((r) => setTimeout(r, 10));
    });
  }
}

const Q: RowQuery = { kind: "revenue", from: "2026-11-01", to: "2026-11-30" };
/** The list of Q in display order, as the cache has it. */
const list = () => [...cache.values()].filter((r) => matchesQuery(r, Q)).sort(compareRows);
const day = (i: number) => `2026-11-${String(30 - (i % 30)).padStart(2, "0")}`;
/** `n` revenue rows and some expense ones over the month. */
function seedCache(n: number) {
  cache.clear();
  for (let i = 0; i < n; i++) {
    const r = row(`r${String(i).padStart(6, "0")}`, day(i));
    cache.set(r.id, r);
  }
  for (let i = 0; i < n / 10; i++) {
    const r = row(`x${String(i).padStart(6, "0")}`, day(i), { kind: "expense" });
    cache.set(r.id, r);
  }
}

const held = () => table!.held!;
const heldCount = () => held().store.sorted.length;
/** The table shows slots [first, last]: are the held rows there the cache's? */
const showsListAt = (first: number, last: number) => {
  const all = list();
  for (let i = first; i <= Math.min(last, all.length - 1); i++) if (rowAt(held(), i)?.id !== all[i]!.id) return false;
  return true;
};
const show = (first: number, last: number) => act(async () => table!.show({ first, last }));

let unmount: (() => Promise<void>) | null = null;
async function open(query = Q) {
  const root = createRoot(document.createElement("div"));
  await act(async () => root.render(<Probe query={query} />));
  unmount = () => act(async () => root.unmount());
  await until("the first read", () => table?.held != null);
}
afterEach(async () => {
  await unmount?.();
  unmount = null;
  table = null;
});

describe("a table of a big query", () => {
  it("holds a bounded run, and the rows of a far slot once it is shown there", async () => {
    seedCache(20_000);
    await open();
    await until("the total", () => held().total === 20_000);
    expect(heldCount()).toBeLessThanOrEqual(1000);
    expect(showsListAt(0, 40)).toBe(true);

    // The scrollbar dragged to the end: one window read there.
    const before = asked.length;
    await show(19_960, 19_999);
    await until("the last rows", () => showsListAt(19_960, 19_999));
    // …of the oldest days only (the tail that holds it, counted first), not of the whole month.
    const jump = asked.slice(before).filter((q) => q.offset !== undefined);
    expect(jump).toHaveLength(1);
    expect(jump[0]!.to! < Q.to!).toBe(true);
    expect(jump[0]!.offset!).toBeLessThan(2000);
    expect(heldCount()).toBeLessThanOrEqual(MAX_HELD);

    // …then to the middle, and scrolled down from there a screen at a time.
    await show(10_000, 10_040);
    await until("the middle rows", () => showsListAt(10_000, 10_040));
    for (let first = 10_000; first < 16_000; first += 40) {
      await show(first, first + 40);
      await until(`rows at ${first}`, () => showsListAt(first, first + 40));
      expect(heldCount()).toBeLessThanOrEqual(MAX_HELD + 1000);
    }
    // …and back up to the top.
    await show(0, 40);
    await until("the top rows", () => showsListAt(0, 40));
    expect(held().total).toBe(20_000);
  });

  it("keeps its total right when patches are about rows it does not hold", async () => {
    seedCache(6000);
    await open();
    await until("the total", () => held().total === 6000);
    expect(held().end).toBe(false);
    const last = list()[5999]!;
    // A new row dated at the month's start (sorts past the held rows), one
    // removed there, one moved from there to the top, an expense edited.
    change([{ op: "upsert", row: row("new-old", "2026-11-01") }, { op: "upsert", row: row("new-old-2", "2026-11-01") }]);
    change([{ op: "remove", id: last.id }]);
    const moved = list()[5000]!;
    change([{ op: "upsert", row: { ...moved, occurred_on: "2026-11-30", memo: "moved" } }]);
    change([{ op: "upsert", row: row("x000001", "2026-11-29", { kind: "expense", memo: "edited" }) }]);
    expect(list().length).toBe(6001);
    await until("the recount", () => held().total === 6001);
    expect(showsListAt(0, 40)).toBe(true);
    expect(held().store.byId.get(moved.id)?.memo).toBe("moved");
    // A held row removed: the total moves at once, no read.
    const n = asked.length;
    change([{ op: "remove", id: list()[3]!.id }]);
    await until("the removal", () => held().total === 6000);
    expect(asked.length).toBe(n);
    expect(showsListAt(0, 40)).toBe(true);

    // Scrolled to the middle: a row added above the held rows shifts them.
    await show(3000, 3040);
    await until("the middle rows", () => showsListAt(3000, 3040));
    change([{ op: "upsert", row: row("top-new", "2026-11-30") }]);
    await until("the shifted rows", () => held().total === 6001 && showsListAt(3000, 3040));
    expect(asked.length).toBeGreaterThan(n);

    // A jump to the end as the cache moves, and once it is quiet: the cache's rows.
    change([{ op: "upsert", row: row("newest", "2026-11-30") }]);
    await show(5962, 6001);
    await until("the end rows", () => held().total === 6002 && showsListAt(5962, 6001));
    await show(3000, 3040);
    await until("the middle rows", () => showsListAt(3000, 3040));
    await show(5962, 6001);
    await until("the end rows again", () => showsListAt(5962, 6001) && rowAt(held(), 6001) !== undefined);
  });

  it("reads a far jump from the whole list when its rows are all of one day", async () => {
    cache.clear();
    for (let i = 0; i < 8000; i++) cache.set(`d${i}`, row(`d${String(i).padStart(6, "0")}`, "2026-11-03"));
    await open();
    await until("the total", () => held().total === 8000);
    await show(7960, 7999);
    await until("the last rows", () => showsListAt(7960, 7999));
    // The oldest days were the whole list: the next jump there is the plain offset page.
    await show(100, 140);
    await until("the top rows", () => showsListAt(100, 140));
    const before = asked.length;
    await show(7000, 7040);
    await until("rows at 7000", () => showsListAt(7000, 7040));
    const reads = asked.slice(before);
    expect(reads.filter((q) => q.limit === 1)).toHaveLength(0);
    expect(reads.filter((q) => q.offset !== undefined).every((q) => q.to === Q.to)).toBe(true);
  });

  it("fills in from a streamed first sync", async () => {
    cache.clear();
    await open();
    expect(held().total).toBe(0);
    // The sync writes the month page by page, in list order.
    const all: Row[] = [];
    for (let i = 0; i < 9000; i++) all.push(row(`s${String(i).padStart(6, "0")}`, day(i)));
    all.sort(compareRows);
    for (let done = 0; done < all.length; ) {
      const page = all.slice(done, done + 2000);
      for (const r of page) cache.set(r.id, r);
      done += page.length;
      const frontier = { occurred_on: page[page.length - 1]!.occurred_on, id: page[page.length - 1]!.id };
      await act(async () => {
        await emit("sync_progress", { done, total: null, finished: done === all.length, streamed: true, frontier });
      });
    }
    await until("the whole month counted", () => held().total === 9000);
    await until("the top rows", () => showsListAt(0, 40));
    await show(8960, 8999);
    await until("the last rows", () => showsListAt(8960, 8999));
  });

  it("shows an entry once when its optimistic and confirmed rows race", async () => {
    seedCache(3000);
    await open();
    await until("the total", () => held().total === 3000);
    const local = row("local-m1", "2026-11-30", { client_mutation_id: "m1", pending_sync: true });
    const real = row("real-m1", "2026-11-30", { client_mutation_id: "m1" });
    // In order: optimistic, then its confirmation replacing it.
    change([{ op: "upsert", row: local }], true);
    await until("the optimistic row", () => held().store.byId.has("local-m1"));
    change([{ op: "remove", id: "local-m1" }, { op: "upsert", row: real }]);
    // Out of order: a confirmation, then a stale optimistic row for it.
    const real2 = row("real-m2", "2026-11-30", { client_mutation_id: "m2" });
    change([{ op: "upsert", row: real2 }]);
    change([{ op: "upsert", row: row("local-m2", "2026-11-30", { client_mutation_id: "m2", pending_sync: true }) }], true);
    cache.delete("local-m2");
    await until("the count", () => held().total === list().length);
    const ids = held().store.sorted.map((r) => r.id);
    expect(ids.filter((id) => id.endsWith("m1") || id.endsWith("m2")).sort()).toEqual(["real-m1", "real-m2"]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(held().total).toBe(3002);
  });
});
