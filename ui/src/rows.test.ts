import { describe, expect, it } from "vitest";
import { applyBatch, applyPatches, compareRows, emptyStore, fromSnapshot, keyOf, matchesQuery, mergePage, type RowStore } from "./rows";
import type { PatchBatch } from "./types";
import type { Row, RowQuery } from "./types";

let n = 0;
function row(over: Partial<Row> = {}): Row {
  n += 1;
  return {
    id: `t${n}`,
    kind: "revenue",
    property_id: "p1",
    amount_minor: 1000,
    currency: "USD",
    category: "Rooms",
    memo: "",
    occurred_on: "2026-11-10",
    status: "pending",
    version: 1,
    client_mutation_id: null,
    created_by: "u1",
    created_at: `2026-11-10T10:00:${String(n % 60).padStart(2, "0")}Z`,
    updated_at: "2026-11-10T10:00:00Z",
    pending_sync: false,
    sync_error: null,
    ...over,
  };
}
const ids = (s: RowStore) => s.sorted.map((r) => r.id);
const up = (r: Row) => ({ op: "upsert" as const, row: r });
const rm = (id: string) => ({ op: "remove" as const, id });

const Q: RowQuery = { kind: "revenue", from: "2026-11-01", to: "2026-11-30" };

describe("ordering", () => {
  it("sorts by occurred_on desc, then id desc (the cache's keyset order; created_at plays no part)", () => {
    const a = row({ id: "a", occurred_on: "2026-11-05", created_at: "2026-11-05T23:00:00Z" });
    const b = row({ id: "b", occurred_on: "2026-11-07", created_at: "2026-11-01T00:00:00Z" });
    const c = row({ id: "c", occurred_on: "2026-11-05", created_at: "2026-11-05T12:00:00Z" });
    const d = row({ id: "d", occurred_on: "2026-11-05", created_at: "2026-11-05T12:00:00Z" });
    const s = fromSnapshot(Q, [a, b, c, d], 3);
    expect(ids(s)).toEqual(["b", "d", "c", "a"]);
    expect(compareRows(c, c)).toBe(0);
  });

  it("keeps the order as rows are upserted one by one or in bulk", () => {
    const rows = Array.from({ length: 200 }, (_, i) =>
      row({ id: `r${String(i).padStart(3, "0")}`, occurred_on: `2026-11-${String((i * 7) % 28 + 1).padStart(2, "0")}` }),
    );
    let oneByOne = emptyStore(Q);
    for (const r of rows) oneByOne = applyBatch(oneByOne, { seq: 1, patches: [up(r)] });
    const bulk = applyBatch(emptyStore(Q), { seq: 1, patches: rows.map(up) });
    const expected = [...rows].sort(compareRows).map((r) => r.id);
    expect(ids(oneByOne)).toEqual(expected);
    expect(ids(bulk)).toEqual(expected);
  });
});

describe("upsert and remove", () => {
  it("upserts new rows and replaces existing ones by id", () => {
    const a = row();
    let s = fromSnapshot(Q, [a], 5);
    const b = row();
    s = applyBatch(s, { seq: 6, patches: [up(b)] });
    expect(s.sorted).toHaveLength(2);
    const a2 = { ...a, memo: "edited", version: 2 };
    s = applyBatch(s, { seq: 7, patches: [up(a2)] });
    expect(s.sorted).toHaveLength(2);
    expect(s.byId.get(a.id)?.memo).toBe("edited");
    expect(s.sorted.find((r) => r.id === a.id)).toBe(a2);
    expect(s.seq).toBe(7);
  });

  it("moves a row when its date changes", () => {
    const a = row({ id: "a", occurred_on: "2026-11-02" });
    const b = row({ id: "b", occurred_on: "2026-11-03" });
    let s = fromSnapshot(Q, [a, b], 1);
    expect(ids(s)).toEqual(["b", "a"]);
    s = applyBatch(s, { seq: 2, patches: [up({ ...a, occurred_on: "2026-11-20" })] });
    expect(ids(s)).toEqual(["a", "b"]);
  });

  it("removes by id; removing an unknown id changes nothing", () => {
    const a = row();
    const b = row();
    let s = fromSnapshot(Q, [a, b], 1);
    s = applyBatch(s, { seq: 2, patches: [rm(a.id)] });
    expect(ids(s)).toEqual([b.id]);
    const same = applyPatches(s, [rm("nope")]);
    expect(same).toBe(s);
  });

  it("applies patches in order within a batch", () => {
    const a = row();
    const s = applyBatch(emptyStore(Q), { seq: 1, patches: [up(a), rm(a.id)] });
    expect(s.sorted).toHaveLength(0);
    const t = applyBatch(emptyStore(Q), { seq: 1, patches: [rm(a.id), up(a)] });
    expect(ids(t)).toEqual([a.id]);
  });

  it("returns the same store for a batch that changes nothing but keeps seq current", () => {
    const a = row();
    const s = fromSnapshot(Q, [a], 3);
    expect(applyBatch(s, { seq: 3, patches: [up(a)] })).toBe(s);
    const later = applyBatch(s, { seq: 4, patches: [] });
    expect(later.seq).toBe(4);
    expect(later.sorted).toBe(s.sorted);
  });

  it("does not mutate the input store", () => {
    const a = row();
    const s = fromSnapshot(Q, [a], 1);
    const before = [...s.sorted];
    applyBatch(s, { seq: 2, patches: [rm(a.id), up(row())] });
    expect(s.sorted).toEqual(before);
    expect(s.byId.size).toBe(1);
  });
});

describe("seq", () => {
  it("ignores batches older than the snapshot and applies equal seq", () => {
    const a = row({ memo: "new" });
    const s = fromSnapshot(Q, [a], 10);
    const stale = applyBatch(s, { seq: 9, patches: [up({ ...a, memo: "old" })] });
    expect(stale).toBe(s);
    const local = row({ id: "local-m1", client_mutation_id: "m1", pending_sync: true });
    const t = applyBatch(s, { seq: 10, patches: [up(local)] });
    expect(ids(t)).toContain("local-m1");
  });

  it("catches up with batches buffered before the snapshot", () => {
    const a = row();
    const b = row();
    const c = row();
    const buffered = [
      { seq: 4, patches: [up({ ...a, memo: "stale" })] },
      { seq: 5, patches: [up(b)] },
      { seq: 6, patches: [up(c), rm(a.id)] },
    ];
    const s = buffered.reduce(applyBatch, fromSnapshot(Q, [a, b], 5));
    expect(new Set(ids(s))).toEqual(new Set([b.id, c.id]));
    expect(s.seq).toBe(6);
  });
});

describe("optimistic rows", () => {
  const local = () =>
    row({ id: "local-m1", client_mutation_id: "m1", pending_sync: true, created_at: "2026-11-10T11:00:00Z" });
  const real = () => row({ id: "srv-1", client_mutation_id: "m1", created_at: "2026-11-10T11:00:01Z" });

  it("replaces local by real in one batch (remove + upsert)", () => {
    let s = applyBatch(emptyStore(Q, 1), { seq: 1, patches: [up(local())] });
    expect(s.sorted[0]?.pending_sync).toBe(true);
    s = applyBatch(s, { seq: 2, patches: [rm("local-m1"), up(real())] });
    expect(ids(s)).toEqual(["srv-1"]);
  });

  it("replaces local by real even without an explicit remove", () => {
    let s = applyBatch(emptyStore(Q, 1), { seq: 1, patches: [up(local())] });
    s = applyBatch(s, { seq: 2, patches: [up(real())] });
    expect(ids(s)).toEqual(["srv-1"]);
  });

  it("never shows the local row once the real one is there (other race order)", () => {
    let s = applyBatch(emptyStore(Q, 1), { seq: 2, patches: [up(real())] });
    s = applyBatch(s, { seq: 2, patches: [up(local())] });
    expect(ids(s)).toEqual(["srv-1"]);
    // And within one batch.
    const t = applyBatch(emptyStore(Q, 1), { seq: 2, patches: [up(real()), up(local())] });
    expect(ids(t)).toEqual(["srv-1"]);
  });

  it("a snapshot holding both keeps only the real row", () => {
    const s = fromSnapshot(Q, [local(), real()], 2);
    expect(ids(s)).toEqual(["srv-1"]);
  });

  it("shows a refused optimistic row with its error", () => {
    let s = applyBatch(emptyStore(Q, 1), { seq: 1, patches: [up(local())] });
    s = applyBatch(s, { seq: 1, patches: [up({ ...local(), sync_error: "Amount too large" })] });
    expect(s.sorted).toHaveLength(1);
    expect(s.sorted[0]?.sync_error).toBe("Amount too large");
  });

  it("a local row comes back if its confirmed row was removed in the same batch first", () => {
    const r = real();
    let s = applyBatch(emptyStore(Q, 1), { seq: 2, patches: [up(r)] });
    s = applyBatch(s, { seq: 3, patches: [rm(r.id), up(local())] });
    expect(ids(s)).toEqual(["local-m1"]);
  });
});

describe("filtering by the query", () => {
  it("matches every query field", () => {
    const r = row({ property_id: "p2", kind: "expense", status: "approved", occurred_on: "2026-11-15" });
    expect(matchesQuery(r, {})).toBe(true);
    expect(matchesQuery(r, { property_id: "p2", kind: "expense", status: "approved", from: "2026-11-15", to: "2026-11-15" })).toBe(true);
    expect(matchesQuery(r, { property_id: "p1" })).toBe(false);
    expect(matchesQuery(r, { kind: "revenue" })).toBe(false);
    expect(matchesQuery(r, { status: "pending" })).toBe(false);
    expect(matchesQuery(r, { from: "2026-11-16" })).toBe(false);
    expect(matchesQuery(r, { to: "2026-11-14" })).toBe(false);
  });

  it("drops snapshot rows and upserts that do not match", () => {
    const inRange = row();
    const outside = row({ occurred_on: "2026-10-31" });
    const expense = row({ kind: "expense" });
    let s = fromSnapshot(Q, [inRange, outside, expense], 1);
    expect(ids(s)).toEqual([inRange.id]);
    s = applyBatch(s, { seq: 2, patches: [up(row({ occurred_on: "2026-12-01" }))] });
    expect(ids(s)).toEqual([inRange.id]);
  });

  it("a row that stops matching leaves; one that starts matching arrives", () => {
    const a = row({ id: "a" });
    let s = fromSnapshot({ ...Q, status: "pending" }, [a], 1);
    s = applyBatch(s, { seq: 2, patches: [up({ ...a, status: "approved", version: 2 })] });
    expect(ids(s)).toEqual([]);
    s = applyBatch(s, { seq: 3, patches: [up({ ...a, status: "pending", version: 3 })] });
    expect(ids(s)).toEqual(["a"]);
    let t = fromSnapshot(Q, [a], 1);
    t = applyBatch(t, { seq: 2, patches: [up({ ...a, occurred_on: "2026-10-01" })] });
    expect(ids(t)).toEqual([]);
    let u = fromSnapshot({ ...Q, property_id: "p1" }, [a], 1);
    u = applyBatch(u, { seq: 2, patches: [up({ ...a, property_id: "p9" })] });
    expect(ids(u)).toEqual([]);
  });
});

describe("scale", () => {
  it("patches a 100k-row store quickly without re-sorting everything per row", () => {
    const rows: Row[] = [];
    for (let i = 0; i < 100_000; i++) {
      rows.push(row({ id: `b${i}`, occurred_on: `2026-11-${String((i % 28) + 1).padStart(2, "0")}` }));
    }
    let s = fromSnapshot(Q, rows, 1);
    expect(s.sorted).toHaveLength(100_000);
    for (let i = 0; i < 20; i++) {
      s = applyBatch(s, { seq: 2 + i, patches: [up(row({ occurred_on: "2026-11-15" })), rm(`b${i}`)] });
    }
    expect(s.sorted).toHaveLength(100_000);
    for (let i = 1; i < s.sorted.length; i++) {
      if (compareRows(s.sorted[i - 1]!, s.sorted[i]!) > 0) throw new Error(`out of order at ${i}`);
    }
  });
});

describe("against a naive model", () => {
  it("agrees with filter+sort after thousands of random patches", () => {
    // A tiny deterministic PRNG so failures reproduce.
    let seed = 42;
    const rand = (k: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % k;
    };
    const q: RowQuery = { kind: "expense", property_id: "p1", from: "2026-11-05", to: "2026-11-25" };
    const model = new Map<string, Row>();
    let s = emptyStore(q);
    for (let seq = 1; seq <= 3000; seq++) {
      const patches = [];
      for (let k = 0, m = 1 + rand(4); k < m; k++) {
        const id = `x${rand(400)}`;
        if (rand(5) === 0) {
          patches.push(rm(id));
          model.delete(id);
        } else {
          const r = row({
            id,
            kind: rand(3) === 0 ? "revenue" : "expense",
            property_id: rand(4) === 0 ? "p2" : "p1",
            occurred_on: `2026-11-${String(1 + rand(30)).padStart(2, "0")}`,
            created_at: `2026-11-01T00:00:${String(rand(60)).padStart(2, "0")}Z`,
          });
          patches.push(up(r));
          model.set(id, r);
        }
      }
      s = applyBatch(s, { seq, patches });
    }
    const expected = [...model.values()].filter((r) => matchesQuery(r, q)).sort(compareRows).map((r) => r.id);
    expect(ids(s)).toEqual(expected);
    expect(s.byId.size).toBe(expected.length);
    for (const id of expected) expect(s.byId.get(id)).toBe(model.get(id));
  });
});

describe("mergePage", () => {
  // What tableRows.ts does with a page read on after the held rows: merge
  // it, then apply again the batches heard since the read was sent that are
  // at or after its seq.
  const landPage = (store: RowStore, page: Row[], pageSeq: number, next: Row | undefined, heard: PatchBatch[]) => {
    let s = mergePage(store, page, next ? keyOf(next) : null);
    for (const b of heard) if (b.seq >= pageSeq) s = applyPatches(s, b.patches, Math.max(s.seq, b.seq));
    return s;
  };

  // A cache read by keyset pages while live batches land between (and
  // during) the reads, each reaching the window some time later, in order:
  // once every page and batch is in, the table is exactly the cache.
  it("a table read page by page under live traffic ends equal to the cache, no restarts", () => {
    let seed = 7;
    const rand = (k: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % k);
    const q: RowQuery = { kind: "revenue", from: "2026-11-01", to: "2026-11-30" };
    const day = () => `2026-11-${String(1 + rand(30)).padStart(2, "0")}`;
    const cache = new Map<string, Row>();
    for (let i = 0; i < 600; i++) {
      const r = row({ id: `c${String(i).padStart(4, "0")}`, occurred_on: day() });
      cache.set(r.id, r);
    }
    let seq = 1;
    const list = (after: Row | null, limit: number) => {
      const all = [...cache.values()].filter((r) => matchesQuery(r, q)).sort(compareRows);
      const from = after ? all.findIndex((r) => compareRows(r, after) > 0) : 0;
      return all.slice(from < 0 ? all.length : from, (from < 0 ? all.length : from) + limit);
    };
    const inFlight: PatchBatch[] = [];
    let heard: PatchBatch[] = [];
    const first = list(null, 50);
    let last: Row | undefined = first[first.length - 1];
    // The held rows end at the first page's last key: later rows are not held until read.
    let store = fromSnapshot(q, first, seq, { from: null, to: last ? keyOf(last) : null });
    const deliver = (k: number) => {
      for (const b of inFlight.splice(0, k)) {
        heard.push(b);
        store = applyBatch(store, b);
      }
    };
    let pages = 1;
    while (last) {
      for (let k = rand(4); k > 0; k--) {
        seq += 1;
        const id = `c${String(rand(700)).padStart(4, "0")}`;
        if (rand(4) === 0) {
          cache.delete(id);
          inFlight.push({ seq, patches: [rm(id)] });
        } else {
          const r = row({ id, occurred_on: day(), kind: rand(5) === 0 ? "expense" : "revenue" });
          cache.set(id, r);
          inFlight.push({ seq, patches: [up(r)] });
        }
      }
      deliver(rand(inFlight.length + 1));
      heard = []; // the read is sent
      const page = list(last, 50);
      const pageSeq = seq;
      deliver(rand(inFlight.length + 1));
      const next = page.length === 50 ? page[page.length - 1] : undefined;
      store = landPage(store, page, pageSeq, next, heard);
      last = next;
      pages += 1;
    }
    deliver(inFlight.length);
    expect(pages).toBeGreaterThan(10);
    const expected = [...cache.values()].filter((r) => matchesQuery(r, q)).sort(compareRows);
    expect(ids(store)).toEqual(expected.map((r) => r.id));
    expect(store.byId.size).toBe(expected.length);
    for (const r of expected) expect(store.byId.get(r.id)).toBe(r);
  });

  it("a row a batch removed is not brought back by an older page", () => {
    const a = row({ id: "a" });
    const b = row({ id: "b", occurred_on: "2026-11-28" });
    let s = fromSnapshot(Q, [b], 5, { from: null, to: keyOf(b) });
    const removed: PatchBatch = { seq: 6, patches: [rm("a")] };
    s = applyBatch(s, removed);
    s = landPage(s, [a], 5, undefined, [removed]);
    expect(ids(s)).toEqual(["b"]);
    // A page read after the batch is the cache's word.
    s = landPage(s, [a], 7, undefined, [removed]);
    expect(ids(s)).toEqual(["b", "a"]);
  });

  it("a batch about a row past the held rows, heard while the page was read, lands with it", () => {
    const b = row({ id: "b", occurred_on: "2026-11-29" });
    const late = row({ id: "late", occurred_on: "2026-11-20", memo: "edited" });
    let s = fromSnapshot(Q, [b], 5, { from: null, to: keyOf(b) });
    const edit: PatchBatch = { seq: 6, patches: [up(late)] };
    s = applyBatch(s, edit);
    expect(ids(s)).toEqual(["b"]); // not held yet: it sorts past the held rows
    s = landPage(s, [{ ...late, memo: "old" }], 6, undefined, [edit]);
    expect(s.sorted.map((r) => `${r.id}:${r.memo}`)).toEqual(["b:", "late:edited"]);
  });
});
