// @vitest-environment jsdom
// useRows against a scripted shell (Tauri's IPC mocks): the subscription is
// open before list_rows, batches that arrive while list_rows is in flight are
// applied on top of the snapshot when newer, ignored when older; later pages
// come by keyset while batches keep landing; a message whose prev_seq is
// not the last seq heard (one was lost) makes the table read itself again;
// a streamed first sync is followed after the rows read so far.
// Then against a model cache of many rows (tableRows.test.tsx's `Cache`):
// a bounded run held, far rows read when shown, the count kept right.

import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { act } from "react";
import { createRoot } from "react-dom/client";
import { beforeAll, describe, expect, it } from "vitest";
import { useRows } from "./hooks";
import { PAGE } from "./window";
import type { PatchBatch, Row, RowPage, RowQuery } from "./types";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const row = (id: string, over: Partial<Row> = {}): Row => ({
  id, kind: "revenue", property_id: "p1", amount_minor: 100, currency: "USD", category: "Rooms", memo: id,
  occurred_on: "2026-11-10", status: "pending", version: 1, client_mutation_id: null, created_by: "u",
  created_at: `2026-11-10T10:00:00Z`, updated_at: "2026-11-10T10:00:00Z", pending_sync: false, sync_error: null, ...over,
});

const calls: string[] = [];
let channelId = -1;
let index = 0;
let releaseList: ((p: RowPage) => void) | null = null;
const listed: RowQuery[] = [];

function send(b: PatchBatch) {
  (window as unknown as { __TAURI_INTERNALS__: { runCallback(id: number, d: unknown): void } }).__TAURI_INTERNALS__.runCallback(
    channelId,
    { message: b, index: index++ },
  );
}

beforeAll(() => {
  mockIPC((cmd, args) => {
    calls.push(cmd);
    if (cmd === "subscribe") {
      channelId = (args as { onBatch: { id: number } }).onBatch.id;
      return { subscription: 1, seq: 10 };
    }
    if (cmd === "list_rows") {
      listed.push((args as { query: RowQuery }).query);
      return new Promise<RowPage>((r) => (releaseList = r));
    }
    throw { kind: "internal", message: `unexpected ${cmd}` };
  }, { shouldMockEvents: true });
});

let latest: Row[] = [];
function Probe({ query }: { query: RowQuery }) {
  const { held } = useRows(query);
  latest = held ? [...held.store.sorted] : [];
  return null;
}

const settle = () =>
  act(async () => {
    await new Promise((r) => setTimeout(r, 40));
  });

describe("useRows", () => {
  it("subscribes first, then lists, and merges in-flight batches by seq", async () => {
    const host = document.createElement("div");
    const root = createRoot(host);
    await act(async () => root.render(<Probe query={{ kind: "revenue" }} />));
    await settle();
    expect(calls).toEqual(["subscribe", "list_rows"]);

    // While list_rows is in flight: one batch older than the snapshot, one newer.
    send({ seq: 11, prev_seq: 10, patches: [{ op: "upsert", row: row("old", { memo: "stale" }) }] });
    send({ seq: 13, prev_seq: 11, patches: [{ op: "upsert", row: row("new") }, { op: "upsert", row: row("x", { kind: "expense" }) }] });
    await act(async () => releaseList!({ rows: [row("a"), row("old")], total: 2, seq: 12, next: null }));
    await settle();
    expect(latest.map((r) => r.id).sort()).toEqual(["a", "new", "old"]);
    expect(latest.find((r) => r.id === "old")?.memo).toBe("old"); // the seq-11 batch was older than the snapshot

    // Live from here on.
    send({ seq: 14, prev_seq: 13, patches: [{ op: "remove", id: "a" }] });
    send({ seq: 14, prev_seq: 14, patches: [{ op: "upsert", row: row("local-m", { client_mutation_id: "m", pending_sync: true }) }] });
    await settle();
    expect(latest.map((r) => r.id).sort()).toEqual(["local-m", "new", "old"]);
    send({ seq: 15, prev_seq: 14, patches: [{ op: "remove", id: "local-m" }, { op: "upsert", row: row("real-m", { client_mutation_id: "m" }) }] });
    await settle();
    expect(latest.map((r) => r.id).sort()).toEqual(["new", "old", "real-m"]);

    // A message was lost (16 never came): the table reads itself again, and
    // shows its rows until the new read is in.
    listed.length = 0;
    send({ seq: 17, prev_seq: 16, patches: [{ op: "upsert", row: row("b") }] });
    await settle();
    expect(listed).toEqual([{ kind: "revenue", limit: 200 }]);
    expect(latest.map((r) => r.id).sort()).toEqual(["b", "new", "old", "real-m"]);
    await act(async () => releaseList!({ rows: [row("b"), row("lost-one"), row("new")], total: 3, seq: 17, next: null }));
    await settle();
    expect(latest.map((r) => r.id).sort()).toEqual(["b", "lost-one", "new"]);
    await act(async () => root.unmount());
  });

  it("shows the first page at once, then the rest by keyset, with batches applied in between", async () => {
    listed.length = 0;
    const host = document.createElement("div");
    const root = createRoot(host);
    await act(async () => root.render(<Probe query={{ kind: "expense" }} />));
    await settle();
    const r = (id: string, day: string) => row(id, { kind: "expense", occurred_on: day });
    await act(async () =>
      releaseList!({ rows: [r("z", "2026-11-20"), r("y", "2026-11-19")], total: 4, seq: 20, next: { occurred_on: "2026-11-19", id: "y" } }),
    );
    await settle();
    expect(latest.map((x) => x.id)).toEqual(["z", "y"]);
    expect(listed[1]).toEqual({ kind: "expense", limit: PAGE, after: { occurred_on: "2026-11-19", id: "y" } });
    // While the second page is read: "w" (not loaded yet) is edited, "v" removed.
    // (The stream is the window's: it last heard seq 17, in the test above.)
    send({ seq: 21, prev_seq: 17, patches: [{ op: "upsert", row: r("w", "2026-11-25") }, { op: "remove", id: "v" }] });
    await settle();
    expect(latest.map((x) => x.id)).toEqual(["w", "z", "y"]);
    // The page was read before those batches: its w and v are older.
    await act(async () => releaseList!({ rows: [r("w", "2026-11-02"), r("v", "2026-11-01")], total: null, seq: 20, next: null }));
    await settle();
    expect(latest.map((x) => `${x.id}@${x.occurred_on.slice(8)}`)).toEqual(["w@25", "z@20", "y@19"]);
    await act(async () => root.unmount());
  });

  it("follows a streamed first sync after the rows it has read, and does not re-read itself when it ends", async () => {
    listed.length = 0;
    const host = document.createElement("div");
    const root = createRoot(host);
    await act(async () => root.render(<Probe query={{ kind: "revenue" }} />));
    await settle();
    // The cache is empty when the window opens.
    await act(async () => releaseList!({ rows: [], total: 0, seq: 0, next: null }));
    await settle();
    const r = (id: string, day: string) => row(id, { occurred_on: day });
    const progress = (done: number, frontier: { occurred_on: string; id: string }, finished = false) =>
      act(async () => {
        await emit("sync_progress", { done, total: finished ? done : null, finished, streamed: true, frontier });
      });

    // The first page is in: read from the start.
    await progress(2, { occurred_on: "2026-11-20", id: "b" });
    await settle();
    expect(listed.at(-1)).toEqual({ kind: "revenue", limit: 200 });
    // The second page comes while the window reads the first: it waits.
    await progress(4, { occurred_on: "2026-11-19", id: "d" });
    await act(async () => releaseList!({ rows: [r("b", "2026-11-20"), r("a", "2026-11-20")], total: 2, seq: 0, next: null }));
    await settle();
    // …then reads on after the last row it holds.
    expect(listed.at(-1)).toEqual({ kind: "revenue", limit: PAGE, after: { occurred_on: "2026-11-20", id: "a" } });
    await act(async () => releaseList!({ rows: [r("d", "2026-11-19"), r("c", "2026-11-19")], total: null, seq: 0, next: null }));
    await settle();
    expect(latest.map((x) => x.id)).toEqual(["b", "a", "d", "c"]);

    // The end: one last read on after "c", and no re-read of the table.
    await progress(4, { occurred_on: "2026-11-19", id: "d" }, true);
    await settle();
    expect(listed.at(-1)).toEqual({ kind: "revenue", limit: PAGE, after: { occurred_on: "2026-11-19", id: "c" } });
    await act(async () => releaseList!({ rows: [], total: null, seq: 0, next: null }));
    const reads = listed.length;
    await settle();
    expect(listed.length).toBe(reads);
    expect(latest.map((x) => x.id)).toEqual(["b", "a", "d", "c"]);
    await act(async () => root.unmount());
  });
});
