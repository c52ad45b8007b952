import { describe, expect, it } from "vitest";
import { FIRST_PAGE, loadPages, PAGE } from "./load";
import type { Row, RowPage, RowQuery } from "./types";

const mk = (i: number) => ({ id: `r${String(99_999 - i).padStart(5, "0")}`, occurred_on: "2026-03-01" }) as Row;

/** A shell over `n` rows answering keyset pages, at seq 7 + the page number. */
function shell(n: number) {
  const all = Array.from({ length: n }, (_, i) => mk(i));
  const calls: RowQuery[] = [];
  const listRows = async (q: RowQuery): Promise<RowPage> => {
    calls.push(q);
    const from = q.after ? all.findIndex((r) => r.id < q.after!.id) : 0;
    const rows = all.slice(from < 0 ? n : from, (from < 0 ? n : from) + (q.limit ?? 100));
    const last = rows[rows.length - 1];
    const next = rows.length === q.limit && last ? { occurred_on: last.occurred_on, id: last.id } : null;
    return { rows, total: q.after ? null : n, seq: 7 + calls.length, next };
  };
  return { listRows, calls };
}

describe("loadPages", () => {
  it("reads a screenful first, then keyset pages after the last row, until none is left", async () => {
    const s = shell(FIRST_PAGE + 2 * PAGE + 3);
    const pages: RowPage[] = [];
    await loadPages(s.listRows, { kind: "revenue", offset: 40 }, (p) => (pages.push(p), true));
    expect(s.calls[0]).toEqual({ kind: "revenue", limit: FIRST_PAGE });
    expect(s.calls.slice(1).map((c) => [c.limit, c.after?.id, c.offset])).toEqual([
      [PAGE, mk(FIRST_PAGE - 1).id, undefined],
      [PAGE, mk(FIRST_PAGE + PAGE - 1).id, undefined],
      [PAGE, mk(FIRST_PAGE + 2 * PAGE - 1).id, undefined],
    ]);
    expect(pages.map((p) => p.total)).toEqual([FIRST_PAGE + 2 * PAGE + 3, null, null, null]);
    const ids = pages.flatMap((p) => p.rows.map((r) => r.id));
    expect(new Set(ids).size).toBe(FIRST_PAGE + 2 * PAGE + 3);
  });

  it("takes one call for a small table", async () => {
    const s = shell(25);
    let n = 0;
    await loadPages(s.listRows, {}, (p, first) => (expect(first).toBe(true), (n += p.rows.length), true));
    expect([s.calls.length, n]).toEqual([1, 25]);
  });

  it("stops when told to", async () => {
    const s = shell(FIRST_PAGE * 3);
    await loadPages(s.listRows, {}, () => false);
    expect(s.calls).toHaveLength(1);
  });
});
