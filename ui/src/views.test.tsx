// @vitest-environment jsdom
// The approvals and report windows, and the first-sync bar, against the dev backend.

import { emit } from "@tauri-apps/api/event";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { App } from "./App";
import { installDevBackend } from "./devbackend";
import * as ipc from "./ipc";
import { installTestHook } from "./testhook";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: Root | null = null;
let host: HTMLDivElement;
const tid = (id: string) => host.querySelector<HTMLElement>(`[data-testid="${id}"]`);

async function waitFor<T>(fn: () => T | null | undefined | false, what: string, ms = 4000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${host.innerHTML.slice(0, 1500)}`);
    await act(async () => {
      await new Promise((r) => setTimeout(r, 20));
    });
  }
}
async function press(k: string) {
  await act(async () => {
    window.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
  });
}
async function mount(search: string) {
  window.history.replaceState(null, "", `/${search}`);
  host = document.createElement("div");
  document.body.appendChild(host);
  await act(async () => {
    root = createRoot(host);
    root.render(<App />);
  });
}

let backend: ReturnType<typeof installDevBackend>;

beforeAll(async () => {
  Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 520 });
  Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 900 });
  installTestHook();
  backend = installDevBackend();
  await ipc.signIn("http://127.0.0.1:8787", "manager@demo.test", "demo");
});
afterEach(async () => {
  await act(async () => root?.unmount());
  host.remove();
});

describe("approvals window", () => {
  it("lists pending rows; j/k move, a approves, r rejects", async () => {
    await mount("?view=approvals");
    const n = await waitFor(() => Number(tid("row-count-approvals")?.dataset.value) || null, "pending rows");
    // The list is longer than a table holds: it holds its top, and counts it all.
    const rows = window.__ledgerline!.rows("approvals");
    expect(window.__ledgerline!.total("approvals")).toBe(n);
    expect(rows.length).toBeGreaterThan(20);
    expect(rows.length).toBeLessThan(n);
    expect(rows.every((r) => r.status === "pending")).toBe(true);

    await waitFor(() => tid(`row-${rows[0]!.id}`)?.dataset.selected === "true", "first selected");
    await press("j");
    await press("j");
    await press("k");
    expect(tid(`row-${rows[1]!.id}`)?.dataset.selected).toBe("true");

    await press("a");
    // Optimistically approved: it leaves the pending list at once, and for good.
    await waitFor(() => !window.__ledgerline!.ids("approvals").includes(rows[1]!.id), "approved row gone");
    expect(tid(`row-${rows[2]!.id}`)?.dataset.selected).toBe("true");
    await press("r");
    await waitFor(() => !window.__ledgerline!.ids("approvals").includes(rows[2]!.id), "rejected row gone");
    await act(async () => {
      await new Promise((r) => setTimeout(r, 800)); // confirmations arrive
    });
    const after = window.__ledgerline!.ids("approvals");
    expect(after).not.toContain(rows[1]!.id);
    expect(after).not.toContain(rows[2]!.id);
    expect(new Set(after).size).toBe(after.length);
    await waitFor(() => window.__ledgerline!.total("approvals") === n - 2, "two fewer pending");
    expect(Number(tid("row-count-approvals")?.dataset.value)).toBe(n - 2);
  });
});

describe("report window", () => {
  it("says which changes the totals include and when they are catching up", async () => {
    await mount("?view=report");
    await waitFor(() => tid("as-of"), "the as-of stamp");
    const shown = window.__ledgerline!.aggregates()!;
    expect(tid("as-of")!.dataset.catchingUp).toBe("false");
    expect(tid("as-of")!.textContent).toContain(`#${shown.as_of_seq}`);
    // The core says the rows beside these totals are ahead of them.
    await act(async () => {
      await emit("aggregates", { ...shown, as_of_seq: 41, catching_up: true });
    });
    await waitFor(() => tid("as-of")?.dataset.catchingUp === "true", "catching up shown");
    expect(tid("as-of")!.textContent).toContain("#41");
    expect(tid("as-of")!.textContent).toContain("catching up");
    await act(async () => {
      await emit("aggregates", { ...shown, as_of_seq: 42, catching_up: false });
    });
    await waitFor(() => tid("as-of")?.dataset.catchingUp === "false", "caught up");
    expect(tid("as-of")!.textContent).toContain("#42");
  });

  it("shows totals, the chart and the by-category table", async () => {
    await mount("?view=report");
    const rev = await waitFor(() => tid("kpi-revenue")?.dataset.value, "report totals");
    const net = Number(tid("kpi-net")!.dataset.value);
    expect(net).toBe(Number(rev) - Number(tid("kpi-expense")!.dataset.value));
    expect(Number(tid("pl-chart")!.dataset.days)).toBeGreaterThanOrEqual(28);
    const cats = host.querySelectorAll('[data-testid^="category-revenue-"]');
    const sum = [...cats].reduce((s, el) => s + Number((el as HTMLElement).dataset.value), 0);
    expect(sum).toBe(Number(rev));
  });
});

describe("first sync", () => {
  it("shows a progress bar until the sync finishes", async () => {
    await mount("");
    await waitFor(() => tid("table-revenue"), "finance page");
    expect(tid("sync-progress")).toBeNull();
    await act(async () => {
      await emit("sync_progress", { done: 200, total: 1000, finished: false });
    });
    const bar = await waitFor(() => tid("sync-progress"), "progress bar");
    expect(bar.dataset.done).toBe("200");
    expect(bar.textContent).toMatch(/200 of 1,000/);
    await act(async () => {
      await emit("sync_progress", { done: 1000, total: 1000, finished: true });
    });
    await waitFor(() => tid("sync-progress") === null, "bar gone");
  });

  it("says when a sync failed and retries it on demand", async () => {
    await mount("");
    await waitFor(() => tid("table-revenue"), "finance page");
    await act(async () => {
      await emit("sync_progress", { done: 0, total: null, finished: false, error: "server unreachable: connection refused" });
    });
    const error = await waitFor(() => tid("sync-error"), "the failure");
    expect(error.textContent).toMatch(/server unreachable/);
    const before = backend.syncRetries();
    await act(async () => tid("sync-retry")!.click());
    await waitFor(() => tid("sync-error"), "still shown until a sync moves");
    expect(backend.syncRetries()).toBe(before + 1);
    await act(async () => {
      await emit("sync_progress", { done: 100, total: null, finished: false });
    });
    await waitFor(() => tid("sync-error") === null, "the failure gone once the retry moves");
    await act(async () => {
      await emit("sync_progress", { done: 100, total: 100, finished: true });
    });
    await waitFor(() => tid("sync-progress") === null, "bar gone");
  });

  it("follows status events on the badge", async () => {
    await mount("");
    await waitFor(() => tid("status-badge")?.textContent === "Live", "Live");
    await act(async () => {
      await emit("status", { state: "reconnecting", since: new Date(Date.now() + 1000).toISOString() });
    });
    await waitFor(() => tid("status-badge")?.textContent === "Reconnecting", "Reconnecting");
    await act(async () => {
      await emit("status", { state: "offline", since: new Date(Date.now() + 2000).toISOString() });
    });
    await waitFor(() => tid("status-badge")?.textContent === "Offline", "Offline");
  });
});
