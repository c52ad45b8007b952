import { describe, expect, it } from "vitest";
import { compareRows, keyOf } from "./rows";
import type { Patch, Row, RowPage, RowQuery } from "./types";
import { applyCounted, fromWindow, MARGIN, MAX_HELD, PAGE, plan, rowAt, trim, withPage, type Held } from "./window";

const Q: RowQuery = { kind: "revenue" };
const row = (i: number, over: Partial<Row> = {}): Row => ({
  id: `r${String(i).padStart(6, "0")}`, kind: "revenue", property_id: "p1", amount_minor: 100, currency: "USD",
  category: "Rooms", memo: "", occurred_on: "2026-11-10", status: "pending", version: 1, client_mutation_id: null,
  created_by: "u", created_at: "2026-11-10T10:00:00Z", updated_at: "2026-11-10T10:00:00Z", pending_sync: false,
  sync_error: null, ...over,
});
/** The list: ids descending, so r009999 first. */
const all = Array.from({ length: 10_000 }, (_, i) => row(9_999 - i));
const page = (offset: number, limit: number, seq = 5): RowPage => {
  const rows = all.slice(offset, offset + limit);
  const last = rows[rows.length - 1];
  return { rows, total: all.length, seq, next: rows.length === limit && last ? keyOf(last) : null };
};
const at = (offset: number, limit: number): Held => fromWindow(Q, { kind: "window", offset, limit }, page(offset, limit));
const up = (r: Row): Patch => ({ op: "upsert", row: r });

describe("the held run", () => {
  it("is read on by keyset near its end, by one window far below or above it, and let go far from the screen", () => {
    const h = at(0, 200);
    expect(h.total).toBe(10_000);
    expect(plan(h, { first: 0, last: 40 })).toEqual({ kind: "after", after: keyOf(all[199]!), limit: PAGE });
    expect(plan(withPage(h, { ...page(200, PAGE), total: null }), { first: 0, last: 40 })).toBeNull();
    const far = plan(h, { first: 9_960, last: 9_999 });
    expect(far).toMatchObject({ kind: "window" });
    const jumped = fromWindow(Q, far as { kind: "window"; offset: number; limit: number }, page((far as { offset: number }).offset, (far as { limit: number }).limit));
    expect(jumped.end).toBe(true);
    expect(rowAt(jumped, 9_999)?.id).toBe(all[9_999]!.id);
    expect(plan(jumped, { first: 9_960, last: 9_999 })).toBeNull();
    // Scrolled up above it: a window there.
    expect(plan(jumped, { first: 5_000, last: 5_040 })).toMatchObject({ kind: "window" });

    const big = at(0, 5000);
    const kept = trim(big, { first: 4_000, last: 4_040 });
    expect(kept.store.sorted.length).toBeLessThanOrEqual(MAX_HELD);
    expect(kept.offset).toBe(4_000 - MARGIN);
    for (let i = kept.offset; i < kept.offset + kept.store.sorted.length; i++) expect(rowAt(kept, i)?.id).toBe(all[i]!.id);
    expect(kept.end).toBe(false);
    expect(kept.total).toBe(10_000);
  });

  it("moves the total only where certain, and says when it is not", () => {
    const h = at(0, 200);
    // A held row removed, or leaving the query: the total follows.
    let r = applyCounted(h, { seq: 6, patches: [{ op: "remove", id: all[3]!.id }] });
    expect([r.delta, r.unsure, r.held.total]).toEqual([-1, false, 9_999]);
    r = applyCounted(r.held, { seq: 7, patches: [up({ ...all[4]!, kind: "expense" })] });
    expect([r.delta, r.unsure, r.held.total]).toEqual([-1, false, 9_998]);
    // A held row edited in place.
    r = applyCounted(r.held, { seq: 8, patches: [up({ ...all[5]!, memo: "x" })] });
    expect([r.delta, r.unsure]).toEqual([0, false]);
    // About rows not held: unsure (new? moved? never in the query?).
    for (const p of [{ op: "remove", id: all[5_000]!.id } as Patch, up(row(20_000)), up({ ...all[6_000]!, occurred_on: "2026-11-30" }), up(row(20_001, { kind: "expense" }))]) {
      const u = applyCounted(r.held, { seq: 9, patches: [p] });
      expect(u.unsure).toBe(true);
      expect(u.held.total).toBe(9_998);
    }
    // A held row moving past the held rows: it is still counted.
    const moved = applyCounted(r.held, { seq: 9, patches: [up({ ...all[6]!, occurred_on: "2026-11-01" })] });
    expect(moved.unsure).toBe(true);
    expect(moved.held.store.byId.has(all[6]!.id)).toBe(false);
    expect(moved.held.total).toBe(9_998);
    // A confirmed row taking its optimistic row's place: the same entry.
    const local = row(30_000, { id: "local-m", client_mutation_id: "m", pending_sync: true, occurred_on: "2026-11-12" });
    const withLocal = applyCounted(r.held, { seq: 9, patches: [up(local)] });
    expect(withLocal.unsure).toBe(true); // a row not held before (new, most likely)
    const confirmed = applyCounted(withLocal.held, {
      seq: 10,
      patches: [{ op: "remove", id: "local-m" }, up({ ...local, id: "real-m", pending_sync: false })],
    });
    expect([confirmed.delta, confirmed.unsure]).toEqual([0, false]);
    expect(confirmed.held.store.sorted.filter((x) => x.client_mutation_id === "m").map((x) => x.id)).toEqual(["real-m"]);
  });

  it("counts a whole list by its rows", () => {
    const small = all.slice(0, 50).sort(compareRows);
    const h = fromWindow(Q, { kind: "window", offset: 0, limit: 200 }, { rows: small, total: 50, seq: 5, next: null });
    const r = applyCounted(h, { seq: 6, patches: [up(row(50_000)), { op: "remove", id: "nobody" }] });
    expect([r.delta, r.unsure, r.held.total]).toEqual([1, false, 51]);
  });
});
