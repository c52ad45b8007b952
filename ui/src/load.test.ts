import { describe, expect, it } from "vitest";
import { loadAll } from "./load";
import type { Row, RowPage, RowQuery } from "./types";

const mk = (i: number) => ({ id: `r${i}` }) as Row;
const all = Array.from({ length: 25 }, (_, i) => mk(i));

function shell(cap: number, seqs: number[] = []) {
  const calls: RowQuery[] = [];
  let n = 0;
  const listRows = async (q: RowQuery): Promise<RowPage> => {
    calls.push(q);
    const off = q.offset ?? 0;
    return { rows: all.slice(off, off + cap), total: all.length, seq: seqs[n++] ?? 7 };
  };
  return { listRows, calls };
}

describe("loadAll", () => {
  it("takes one call when the shell sends everything", async () => {
    const s = shell(1000);
    const snap = await loadAll(s.listRows, { kind: "revenue" });
    expect(snap.rows).toHaveLength(25);
    expect(snap.missing).toBe(0);
    expect(s.calls).toEqual([{ kind: "revenue" }]);
  });

  it("follows with offsets when the shell caps pages", async () => {
    const s = shell(10);
    const snap = await loadAll(s.listRows, { kind: "expense" });
    expect(snap.rows.map((r) => r.id)).toEqual(all.map((r) => r.id));
    expect(s.calls.map((c) => c.offset)).toEqual([undefined, 10, 20]);
    expect(snap.seq).toBe(7);
  });

  it("starts over when the cache moved between pages", async () => {
    const s = shell(10, [5, 6, 6, 6, 6]);
    const snap = await loadAll(s.listRows, {});
    expect(s.calls).toHaveLength(5); // 5,6 → restart → 6,6,6
    expect(snap.rows).toHaveLength(25);
    expect(snap.seq).toBe(6);
  });

  it("gives up restarting after a few tries and reports the oldest seq", async () => {
    const s = shell(10, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const snap = await loadAll(s.listRows, {}, 1);
    expect(snap.seq).toBe(3);
    expect(snap.missing).toBe(5);
  });
});
