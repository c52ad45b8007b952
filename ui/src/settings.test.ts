import { describe, expect, it } from "vitest";
import { parseView } from "./filters";
import { isLocked } from "./settings";

describe("the lock date", () => {
  const locked = { lock_date: "2026-10-31", lock_message: "locked" };
  it("locks rows on and before it, not after", () => {
    expect(isLocked({ occurred_on: "2026-10-31" }, locked)).toBe(true);
    expect(isLocked({ occurred_on: "2025-01-01" }, locked)).toBe(true);
    expect(isLocked({ occurred_on: "2026-11-01" }, locked)).toBe(false);
  });
  it("locks nothing without one", () => {
    expect(isLocked({ occurred_on: "1999-01-01" }, { lock_date: null, lock_message: null })).toBe(false);
  });
  it("opens a row's history as its own view", () => {
    expect(parseView("?view=history&id=t1")).toEqual({ name: "history", id: "t1" });
    expect(parseView("?view=history")).toEqual({ name: "finance" });
  });
});
