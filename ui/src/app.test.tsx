// @vitest-environment jsdom
// The whole app in jsdom against the dev backend (Tauri's IPC mocks): sign in,
// load (the rows near the screen; far rows when scrolled there), live
// patches, inline entry, edit, export, diagnostics. Catches wiring
// mistakes the pure-module tests cannot.

import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { App } from "./App";
import { installDevBackend, type DevBackend } from "./devbackend";
import * as ipc from "./ipc";
import { installTestHook } from "./testhook";
import { ROW_HEIGHT } from "./components";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: Root;
let backend: DevBackend;
let host: HTMLDivElement;
const $ = <T extends Element = HTMLElement>(sel: string) => host.querySelector<T & HTMLElement>(sel);
const tid = (id: string, within: ParentNode = host) => within.querySelector<HTMLElement>(`[data-testid="${id}"]`);

async function waitFor<T>(fn: () => T | null | undefined | false, what: string, ms = 4000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${host.innerHTML.slice(0, 2000)}`);
    await act(async () => {
      await new Promise((r) => setTimeout(r, 20));
    });
  }
}

/** Type into a React-controlled input. */
async function type(el: HTMLElement | null, value: string) {
  if (!el) throw new Error("no input");
  const proto = el instanceof HTMLSelectElement ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
  await act(async () => {
    Object.getOwnPropertyDescriptor(proto, "value")!.set!.call(el, value);
    el.dispatchEvent(new Event(el instanceof HTMLSelectElement ? "change" : "input", { bubbles: true }));
  });
}
/** Every row of the month's `kind` table, as the (dev) cache lists them. */
async function monthOf(kind: "revenue" | "expense") {
  const from = (tid("filter-from") as HTMLInputElement).value;
  const to = (tid("filter-to") as HTMLInputElement).value;
  return (await ipc.listRows({ kind, from, to, limit: 5000 })).rows;
}
/** A confirmed revenue row that is currently rendered (virtualization). */
function renderedRow() {
  const el = tid("table-revenue")!.querySelector<HTMLElement>('.tbody [data-pending="false"]')!;
  return window.__ledgerline!.rows("revenue").find((r) => r.id === el.dataset.id)!;
}

async function key(el: HTMLElement | null, k: string) {
  await act(async () => {
    el!.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
  });
}
async function click(el: HTMLElement | null) {
  if (!el) throw new Error("nothing to click");
  await act(async () => el.click());
}

beforeAll(async () => {
  // jsdom lays nothing out: give scroll containers a size so rows virtualize.
  Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 520 });
  Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 900 });
  Object.defineProperty(HTMLElement.prototype, "scrollHeight", { configurable: true, get: () => 10_000_000 });
  // …and let them scroll, so "bring the new row into view" can be checked.
  const tops = new WeakMap<Element, number>();
  Object.defineProperty(HTMLElement.prototype, "scrollTop", {
    configurable: true,
    get() {
      return tops.get(this) ?? 0;
    },
    set(v: number) {
      tops.set(this, v);
      this.dispatchEvent(new Event("scroll"));
    },
  });
  HTMLElement.prototype.scrollTo = function (this: HTMLElement, opts?: ScrollToOptions | number) {
    if (typeof opts === "object" && opts.top !== undefined) this.scrollTop = opts.top;
  } as typeof HTMLElement.prototype.scrollTo;
  Object.assign(URL, { createObjectURL: () => "blob:x", revokeObjectURL: () => {} });
  HTMLAnchorElement.prototype.click = () => {};
  installTestHook();
  backend = installDevBackend();
  host = document.createElement("div");
  document.body.appendChild(host);
  await act(async () => {
    root = createRoot(host);
    root.render(<App />);
  });
});
afterAll(() => act(() => root.unmount()));

describe("the app against the dev backend", () => {
  it("shows sign-in, explains a wrong password, then signs in", async () => {
    await waitFor(() => tid("signin-submit"), "sign-in form");
    expect((tid("signin-server") as HTMLInputElement).value).toBe("http://127.0.0.1:8787");
    await type(tid("signin-email"), "owner@demo.test");
    await type(tid("signin-password"), "nope");
    await click(tid("signin-submit"));
    const err = await waitFor(() => tid("signin-error"), "sign-in error");
    expect(err.textContent).toMatch(/Wrong email or password/);
    await type(tid("signin-password"), "demo");
    await click(tid("signin-submit"));
    await waitFor(() => tid("table-revenue"), "finance page");
    expect(tid("org-name")?.textContent).toBe("Demo Hotels");
  });

  it("loads the rows near the screen, a slot for every row, and reads far rows when scrolled there", async () => {
    const count = await waitFor(() => {
      const v = Number(tid("row-count-revenue")?.dataset.value);
      return v > 0 ? v : null;
    }, "revenue rows");
    const whole = await monthOf("revenue");
    expect(count).toBe(whole.length);
    expect(window.__ledgerline!.total("revenue")).toBe(count);
    // The month is bigger than what a table holds: it holds the top of it.
    const held = window.__ledgerline!.rows("revenue");
    expect(held.length).toBeLessThan(count);
    expect(held.map((r) => r.id)).toEqual(whole.slice(0, held.length).map((r) => r.id));
    const inDom = tid("table-revenue")!.querySelectorAll('.tbody [data-testid^="row-"]');
    expect(inDom.length).toBeGreaterThan(0);
    expect(inDom.length).toBeLessThan(held.length);
    await act(async () => {
      await new Promise((r) => setTimeout(r, 600));
    });
    const mirrored = JSON.parse(document.querySelector('[data-testid="loaded-ids"]')!.textContent!);
    expect(mirrored.revenue).toEqual(held.map((r) => r.id));
    const first = inDom[0] as HTMLElement;
    expect(first.dataset.id).toBe(whole[0]!.id);
    expect(first.dataset.pending).toBe("false");

    // Scrolled to the end (a scrollbar drag): the last row is read and shown.
    const body = tid("table-revenue")!.querySelector<HTMLElement>(".tbody")!;
    await act(async () => {
      body.scrollTop = count * ROW_HEIGHT;
    });
    const last = await waitFor(() => body.querySelector<HTMLElement>(`[data-index="${count - 1}"]`), "the last row on screen");
    expect(last.dataset.id).toBe(whole[count - 1]!.id);
    expect(window.__ledgerline!.offset("revenue")).toBeGreaterThan(0);
    // …and back to the top.
    await act(async () => {
      body.scrollTop = 0;
    });
    const top = await waitFor(() => body.querySelector<HTMLElement>('[data-index="0"]'), "the first row again");
    expect(top.dataset.id).toBe(whole[0]!.id);
  });

  it("moves the keyboard focus to the month's last row with End, and back with Home", async () => {
    const whole = await monthOf("revenue");
    const body = tid("table-revenue")!.querySelector<HTMLElement>(".tbody")!;
    const first = await waitFor(() => body.querySelector<HTMLElement>('[data-index="0"]'), "the first row");
    await act(async () => first.focus());
    await key(first, "End");
    const last = await waitFor(() => {
      const el = document.activeElement as HTMLElement | null;
      return el?.dataset.index === String(whole.length - 1) ? el : null;
    }, "the last row focused");
    expect(last.dataset.id).toBe(whole[whole.length - 1]!.id);
    await key(last, "Home");
    const top = await waitFor(() => {
      const el = document.activeElement as HTMLElement | null;
      return el?.dataset.index === "0" ? el : null;
    }, "the first row focused");
    expect(top.dataset.id).toBe(whole[0]!.id);
  });

  it("shows Live and KPIs that agree with the rows", async () => {
    await waitFor(() => tid("status-badge")?.textContent === "Live", "Live badge");
    const revenue = await waitFor(() => tid("kpi-revenue")?.dataset.value, "kpi-revenue");
    const expected = (await monthOf("revenue")).filter((r) => r.status !== "rejected").reduce((s, r) => s + r.amount_minor, 0);
    expect(Number(revenue)).toBe(expected);
    for (const k of ["kpi-expense", "kpi-net", "kpi-today-pending-count", "kpi-today-pending-amount", "kpi-daily-pending", "kpi-daily-approved", "kpi-daily-rejected"]) {
      expect(tid(k)?.dataset.value, k).toMatch(/^-?\d+$/);
    }
  });

  it("refuses a bad amount next to the field, then adds a row optimistically, replaced once", async () => {
    const form = tid("new-row-revenue")!;
    await type(tid("new-category", form), "Rooms");
    await type(tid("new-memo", form), "smoke test row");
    await type(tid("new-amount", form), "12.345");
    await key(tid("new-amount", form), "Enter");
    expect(tid("new-error-amount", form)?.textContent).toMatch(/2 decimals/);

    await type(tid("new-amount", form), "1,234.50");
    backend.hold(); // the server "answers" only when released
    await key(tid("new-amount", form), "Enter");
    const mine = () => window.__ledgerline!.rows("revenue").filter((r) => r.memo === "smoke test row");
    const local = await waitFor(() => mine()[0], "optimistic row");
    expect(local.pending_sync).toBe(true);
    expect(local.amount_minor).toBe(123450);
    expect(local.id.startsWith("local-")).toBe(true);
    const localEl = await waitFor(() => tid(`row-${local.id}`), "optimistic row on screen");
    expect(localEl.dataset.pending).toBe("true");
    expect(tid(`syncing-${local.id}`)?.textContent).toMatch(/syncing/);
    backend.release();
    const real = await waitFor(() => mine().find((r) => !r.pending_sync), "confirmed row");
    expect(mine()).toHaveLength(1);
    expect(real.id.startsWith("local-")).toBe(false);
    expect((tid("new-amount", form) as HTMLInputElement).value).toBe("");
  });

  it("edits a row inline with Enter and the row's version", async () => {
    const target = renderedRow();
    const rowEl = await waitFor(() => tid(`row-${target.id}`), "row in DOM");
    await act(async () => {
      rowEl.dispatchEvent(new MouseEvent("dblclick", { bubbles: true }));
    });
    const amount = await waitFor(() => tid("edit-amount"), "edit inputs");
    await type(amount, "99.99");
    await key(amount, "Enter");
    await waitFor(() => {
      const r = window.__ledgerline!.rows("revenue").find((x) => x.id === target.id);
      return r && r.amount_minor === 9999 && !r.pending_sync && r.version === target.version + 1;
    }, "edited row confirmed");
  });

  it("shows a conflict on the row when someone else edited it first", async () => {
    const target = renderedRow();
    const rowEl = await waitFor(() => tid(`row-${target.id}`), "row in DOM");
    await act(async () => {
      rowEl.dispatchEvent(new MouseEvent("dblclick", { bubbles: true }));
    });
    const memo = await waitFor(() => tid("edit-memo"), "edit inputs");
    // Another user changes the row while this one is being edited.
    await act(async () => {
      await ipc.updateTransaction(target.id, { version: target.version, memo: "changed elsewhere" });
      await new Promise((r) => setTimeout(r, 800));
    });
    await type(memo, "my edit");
    await key(memo, "Enter");
    const err = await waitFor(() => tid(`error-${target.id}`), "conflict on the row");
    expect(err.textContent).toMatch(/someone changed this row first/);
    expect(window.__ledgerline!.rows("revenue").find((r) => r.id === target.id)?.memo).toBe("changed elsewhere");
  });

  it("shows a refused entry in red on its row and lets it be discarded", async () => {
    const form = tid("new-row-revenue")!;
    await type(tid("new-category", form), "fail");
    await type(tid("new-amount", form), "5");
    await key(tid("new-amount", form), "Enter");
    const bad = await waitFor(() => window.__ledgerline!.rows("revenue").find((r) => r.category === "fail" && r.sync_error), "refused row");
    // Scrolled into view even though it sorts far below the top.
    expect(window.__ledgerline!.ids("revenue").indexOf(bad.id)).toBeGreaterThan(40);
    const el = await waitFor(() => tid(`error-${bad.id}`), "inline error");
    expect(el.textContent).toMatch(/refused/);
    expect(tid(`row-${bad.id}`)?.dataset.pending).toBe("true");
    await click(tid(`delete-${bad.id}`));
    await click(tid(`confirm-delete-${bad.id}`));
    await waitFor(() => !window.__ledgerline!.ids("revenue").includes(bad.id), "discarded");
  });

  it("exports every loaded row as CSV and shows where it went", async () => {
    await click(tid("export-revenue"));
    const msg = await waitFor(() => tid("export-result-revenue"), "export result");
    // Every row of the query, not the few the table holds.
    const n = window.__ledgerline!.total("revenue")!;
    expect(n).toBeGreaterThan(window.__ledgerline!.rows("revenue").length);
    expect(msg.textContent).toContain(`Saved ${n.toLocaleString()} rows to ~/Downloads/ledgerline-revenue-all-`);
  });

  it("opens diagnostics and flips a flag", async () => {
    await click(tid("diagnostics-toggle"));
    const box = await waitFor(() => tid("flag-leader") as HTMLInputElement | null, "diagnostics panel");
    expect(box.checked).toBe(true);
    expect(tid("diag-events_applied")?.dataset.value).toMatch(/^\d+$/);
    await click(box);
    await waitFor(() => !(tid("flag-leader") as HTMLInputElement).checked, "flag off");
    expect((tid("flag-debounce") as HTMLInputElement).value).toBe("1000");
  });

  it("filters by property: rows of other properties leave", async () => {
    await type(tid("filter-property"), "p2");
    await waitFor(() => {
      const rows = window.__ledgerline!.rows("revenue");
      return rows.length > 0 && rows.every((r) => r.property_id === "p2");
    }, "only p2 rows");
    expect(Number(tid("row-count-revenue")?.dataset.value)).toBe(window.__ledgerline!.rows("revenue").length);
  });

  it("goes back to sign-in when the session ends", async () => {
    await click(tid("sign-out"));
    await waitFor(() => tid("signin-submit"), "sign-in form again");
    expect($("[data-testid='table-revenue']")).toBeNull();
  });
});
